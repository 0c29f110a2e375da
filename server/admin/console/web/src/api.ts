// The admin REST API as the console uses it: request and response bodies are
// the generated protobuf-es messages (gen/ts), written and read as protojson,
// which is what grpc-gateway speaks. No request shape is written by hand.
import { fromJson, toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";

const tokenKey = "msg-admin-token";

/** Credentials: a bearer token kept for this tab only, or none (the TLS client certificate). */
export const credentials = {
  get token(): string | null {
    return sessionStorage.getItem(tokenKey);
  },
  set(token: string | null) {
    if (token === null) sessionStorage.removeItem(tokenKey);
    else sessionStorage.setItem(tokenKey, token);
  },
};

/**
 * ApiError is a refused call. grpc-gateway answers with a google.rpc.Status
 * as JSON; only its code and message are read. field is the path the
 * message starts with ("host.upstream: scheme must be ..."), when it does.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
  get field(): string | null {
    const m = /^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): /.exec(this.message);
    return m ? m[1] : null;
  }
  /** The message without its leading field path. */
  get problem(): string {
    const f = this.field;
    return f ? this.message.slice(f.length + 2) : this.message;
  }
}

type Query = Record<string, string | number | undefined>;

async function call(method: string, path: string, query?: Query, body?: JsonValue): Promise<unknown> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
  }
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = credentials.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    redirect: "error",
  });
  const text = await resp.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // fall through: not JSON
  }
  if (!resp.ok) {
    const st = (json ?? {}) as { code?: unknown; message?: unknown };
    const msg = typeof st.message === "string" && st.message ? st.message : `HTTP ${resp.status}`;
    throw new ApiError(resp.status, typeof st.code === "number" ? st.code : 0, msg);
  }
  return json;
}

/** Sends a request and parses the answer strictly as the generated message. */
export async function rpc<O extends DescMessage>(
  out: O,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  opts: { query?: Query; body?: JsonValue } = {},
): Promise<MessageShape<O>> {
  const json = await call(method, path, opts.query, opts.body);
  return fromJson(out, (json ?? {}) as JsonValue);
}

/** Writes a message as the protojson body of a request. */
export function body<D extends DescMessage>(schema: D, msg: MessageShape<D>): JsonValue {
  return toJson(schema, msg);
}

/** Encodes one URL path segment (a host name, a rule id). */
export const seg = (s: string) => encodeURIComponent(s);
