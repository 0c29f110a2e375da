// The resource kinds the console lists, creates, edits and deletes, each
// declared once: its REST path, its generated message types, its table
// columns and its form fields. The views in resource.tsx loop over this;
// devices and enrollment tokens become one more entry each.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import {
  CreateHostResponseSchema,
  CreateRuleResponseSchema,
  DeleteHostResponseSchema,
  DeleteRuleResponseSchema,
  GetHostResponseSchema,
  GetRuleResponseSchema,
  ListHostsResponseSchema,
  ListRulesResponseSchema,
  UpdateHostResponseSchema,
  UpdateRuleResponseSchema,
} from "@gen/msg/admin/v1/admin_pb";
import { Effect, HostSchema, RuleSchema, type Host, type PathMatcher, type PrincipalMatcher, type Rule } from "@gen/msg/admin/v1/resources_pb";

/** How a form field is edited; the JSON form is protojson's. */
export type FieldKind =
  | "text" // a string
  | "textarea" // a longer string
  | "duration" // google.protobuf.Duration as "30s"
  | "int64" // a 64-bit number (a JSON string)
  | "strings" // repeated string, one per line
  | "enum" // an enum, by value name
  | "bool" // a checkbox
  | "oneofs" // repeated message with one oneof: one row per entry
  | "message"; // a message of string fields

export interface FieldSpec {
  /** The proto field name, as the API's error messages spell it. */
  name: string;
  label: string;
  kind: FieldKind;
  help?: string;
  placeholder?: string;
  /** Set only on create (the resource's key). */
  key?: boolean;
}

export interface Column<T> {
  label: string;
  value: (item: T) => string;
}

export interface ResourceKind<T extends Message = Message> {
  /** The route and REST collection name, e.g. "hosts". */
  id: string;
  title: string;
  singular: string;
  /** The REST collection, e.g. "/v1/hosts". */
  path: string;
  schema: DescMessage;
  key: (item: T) => string;
  etag: (item: T) => string;
  list: DescMessage;
  items: (resp: Message) => T[];
  get: DescMessage;
  item: (resp: Message) => T | undefined;
  created: DescMessage;
  updated: DescMessage;
  deleted: DescMessage;
  columns: Column<T>[];
  fields: FieldSpec[];
  /** What a new resource's form starts with (protojson). */
  template: Record<string, unknown>;
}

const dur = (d?: Duration) => (d ? `${d.seconds}s` : "");
const oneofText = (m: { kind: { case?: string; value?: unknown } }) =>
  m.kind.case === undefined ? "" : m.kind.case === "any" ? "anyone" : `${m.kind.case}: ${String(m.kind.value)}`;
const pathText = (p: PathMatcher) => (p.kind.case === undefined ? "" : `${p.kind.case} ${p.kind.value}`);

const hosts: ResourceKind<Host> = {
  id: "hosts",
  title: "Hosts",
  singular: "host",
  path: "/v1/hosts",
  schema: HostSchema,
  key: (h) => h.name,
  etag: (h) => h.etag,
  list: ListHostsResponseSchema,
  items: (r) => (r as Message & { hosts: Host[] }).hosts,
  get: GetHostResponseSchema,
  item: (r) => (r as Message & { host?: Host }).host,
  created: CreateHostResponseSchema,
  updated: UpdateHostResponseSchema,
  deleted: DeleteHostResponseSchema,
  columns: [
    { label: "Name", value: (h) => h.name },
    { label: "Upstream", value: (h) => h.upstream },
    { label: "Allowed networks", value: (h) => h.allowedCidrs.join(", ") || "default (no loopback, link-local, ...)" },
    { label: "Timeout", value: (h) => dur(h.timeout) || "30s" },
  ],
  fields: [
    { name: "name", label: "Name", kind: "text", key: true, placeholder: "orders.internal", help: "What apps use in their requests: name or name:port, lower case." },
    { name: "upstream", label: "Upstream URL", kind: "text", placeholder: "https://10.1.2.3:8443/api", help: "http or https; a path is prefixed to every relayed path." },
    { name: "allowed_cidrs", label: "Allowed networks", kind: "strings", placeholder: "10.1.0.0/16", help: "CIDRs the upstream may resolve to, one per line. Empty: anything but loopback, link-local, multicast..." },
    { name: "timeout", label: "Timeout", kind: "duration", placeholder: "30s" },
    { name: "max_request_body_bytes", label: "Max request body (bytes)", kind: "int64", placeholder: "10485760" },
    { name: "max_response_body_bytes", label: "Max response body (bytes)", kind: "int64", placeholder: "10485760" },
    { name: "stream_idle_timeout", label: "Stream idle timeout", kind: "duration", placeholder: "60s" },
    { name: "max_stream_duration", label: "Max stream duration", kind: "duration", placeholder: "3600s" },
    { name: "max_stream_request_body_bytes", label: "Max stream request body (bytes)", kind: "int64" },
    { name: "max_stream_response_body_bytes", label: "Max stream response body (bytes)", kind: "int64" },
    { name: "tls", label: "Backend TLS", kind: "message", help: "Files on the gateway host, for https upstreams." },
    { name: "allow_path_parameters", label: "Allow path parameters (;)", kind: "bool", help: "Only for upstreams that keep ';params' in the segment they route on (not servlet containers)." },
    { name: "extra_methods", label: "Extra methods", kind: "strings", placeholder: "PROPFIND", help: "Methods beyond GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, one per line. Never CONNECT or TRACE." },
    { name: "allow_underscore_headers", label: "Relay header names with '_'", kind: "bool", help: "Names that collide with the gateway's own headers are dropped anyway." },
    { name: "allow_method_override", label: "Relay method-override headers", kind: "bool", help: "X-HTTP-Method-Override and friends; the rules must then allow both methods." },
    { name: "disable_assertion", label: "Send no identity assertion", kind: "bool", help: "Default: every request carries the gateway's signed JWT (X-Msg-Assertion). The header from apps is stripped either way." },
  ],
  template: {},
};

const rules: ResourceKind<Rule> = {
  id: "rules",
  title: "Rules",
  singular: "rule",
  path: "/v1/rules",
  schema: RuleSchema,
  key: (r) => r.id,
  etag: (r) => r.etag,
  list: ListRulesResponseSchema,
  items: (r) => (r as Message & { rules: Rule[] }).rules,
  get: GetRuleResponseSchema,
  item: (r) => (r as Message & { rule?: Rule }).rule,
  created: CreateRuleResponseSchema,
  updated: UpdateRuleResponseSchema,
  deleted: DeleteRuleResponseSchema,
  columns: [
    { label: "Id", value: (r) => r.id },
    { label: "Effect", value: (r) => (r.effect === Effect.DENY ? "deny" : r.effect === Effect.ALLOW ? "allow" : "?") },
    { label: "Principals", value: (r) => r.principals.map((p: PrincipalMatcher) => oneofText(p)).join(", ") },
    { label: "Hosts", value: (r) => r.hosts.join(", ") },
    { label: "Methods", value: (r) => r.methods.join(", ") || "any" },
    { label: "Paths", value: (r) => r.paths.map(pathText).join(", ") || "any" },
  ],
  fields: [
    { name: "id", label: "Id", kind: "text", key: true, placeholder: "ios-orders-read", help: "Letters, digits, '.', '_' and '-'." },
    { name: "effect", label: "Effect", kind: "enum" },
    { name: "principals", label: "Principals", kind: "oneofs", help: "Who the rule is about; any of them matches." },
    { name: "hosts", label: "Hosts", kind: "strings", placeholder: "orders.internal", help: "Host names or globs (*.internal), one per line." },
    { name: "methods", label: "Methods", kind: "strings", placeholder: "GET", help: "One per line. Empty: any method." },
    { name: "paths", label: "Paths", kind: "oneofs", help: "Canonical paths; empty: any path." },
    { name: "description", label: "Description", kind: "textarea" },
  ],
  template: { effect: "EFFECT_ALLOW" },
};

/** Every resource kind with a generic list and editor. */
export const kinds: ResourceKind[] = [hosts as unknown as ResourceKind, rules as unknown as ResourceKind];
