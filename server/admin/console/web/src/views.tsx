// The views that are not plain resource lists: status, revocations, audit
// search and the policy tester.
import { create, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "preact/hooks";
import { rpc, seg } from "./api";
import {
  CreateRevocationResponseSchema,
  DeleteRevocationResponseSchema,
  EvaluatePolicyRequestSchema,
  EvaluatePolicyResponseSchema,
  GetStatusResponseSchema,
  ListAuditRecordsRequestSchema,
  ListAuditRecordsResponseSchema,
  ListHostsResponseSchema,
  ListRevocationsResponseSchema,
  type EvaluatePolicyResponse,
  type GetStatusResponse,
  type ListAuditRecordsRequest,
} from "@gen/msg/admin/v1/admin_pb";
import {
  AuditRecordSchema,
  Decision,
  DecisionSchema,
  RecordKind,
  RecordKindSchema,
  RevocationSchema,
  type AuditRecord,
  type Device,
  type Revocation,
} from "@gen/msg/admin/v1/resources_pb";
import { identityText, listDevices } from "./enrollment";
import { useSession, viewerNote } from "./session";
import { ErrorBanner } from "./widgets";

const when = (ts?: Timestamp) => (ts ? timestampDate(ts).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

function duration(secs: bigint): string {
  let s = Number(secs);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  return [d ? `${d}d` : "", h ? `${h}h` : "", `${m}m`, `${s - m * 60}s`].filter(Boolean).join(" ");
}

// ---- status

export function StatusView() {
  const [st, setSt] = useState<GetStatusResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    rpc(GetStatusResponseSchema, "GET", "/v1/status").then(setSt, setError);
  }, []);
  if (!st) return <ErrorBanner error={error} />;
  const cards: [string, string, string?][] = [
    ["Version", st.version || "dev"],
    ["Uptime", duration(st.uptimeSeconds), `since ${when(st.startTime)}`],
    ["Store revision", String(st.revision), `data plane serves ${st.servingRevision}`],
    ["Hosts", String(st.hostCount)],
    ["Rules", String(st.ruleCount)],
    ["Revocations", String(st.revocationCount)],
    ["Store", `${st.store} · ${st.storeConnected ? "connected" : "unreachable"}`, st.storeConnectedChangeTime ? `since ${when(st.storeConnectedChangeTime)}` : undefined],
  ];
  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Status</h1>
      </header>
      <dl class="cards">
        {cards.map(([k, v, sub]) => (
          <div class={`card${k === "Store" && !st.storeConnected ? " bad" : ""}`} data-card={k}>
            <dt>{k}</dt>
            <dd>
              {v}
              {sub && <small>{sub}</small>}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

// ---- revocations

/** The SHA-256 fingerprint of the first certificate in a PEM text, as 64 hex digits. */
export async function pemFingerprint(pem: string): Promise<string> {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file");
  const der = Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  if (!crypto.subtle) throw new Error("the browser computes fingerprints only over HTTPS or on loopback; paste the fingerprint instead");
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function RevocationsView() {
  const { canWrite } = useSession();
  const [items, setItems] = useState<Revocation[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const [mode, setMode] = useState<"cert" | "fingerprint" | "serial">("cert");
  const [fp, setFp] = useState("");
  const [serial, setSerial] = useState("");
  const [issuer, setIssuer] = useState("");
  const [reason, setReason] = useState("");
  const load = () =>
    rpc(ListRevocationsResponseSchema, "GET", "/v1/revocations", { query: { pageSize: 1000 } }).then((r) => {
      setItems(r.revocations);
    }, setError);
  useEffect(() => void load(), []);

  const onFile = async (ev: Event) => {
    const file = (ev.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      setFp(await pemFingerprint(await file.text()));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  const revoke = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    const rev =
      mode === "serial" ? create(RevocationSchema, { serialHex: serial, issuer, reason }) : create(RevocationSchema, { fingerprintSha256: fp, reason });
    try {
      const resp = await rpc(CreateRevocationResponseSchema, "POST", "/v1/revocations", { body: toJson(RevocationSchema, rev) });
      setNote(`Revoked: ${resp.revocation?.id}. Its connections are closed.`);
      setFp("");
      setSerial("");
      setIssuer("");
      setReason("");
    } catch (e) {
      setError(e);
    }
    void load();
  };
  const lift = async (r: Revocation) => {
    try {
      await rpc(DeleteRevocationResponseSchema, "DELETE", `/v1/revocations/${seg(r.id)}`, { query: { etag: r.etag } });
      setNote(`Lifted: ${r.id}.`);
    } catch (e) {
      setError(e);
    }
    void load();
  };

  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Revocations</h1>
      </header>
      {note && (
        <p class="flash" role="status">
          {note}
        </p>
      )}
      <ErrorBanner error={error} />
      <form class="panel" onSubmit={revoke} aria-label="Revoke a certificate">
        <fieldset disabled={!canWrite}>
          <legend>Revoke a client certificate</legend>
          <div class="tabs" role="radiogroup" aria-label="Revoke by">
            {(
              [
                ["cert", "Certificate file"],
                ["fingerprint", "Fingerprint"],
                ["serial", "Serial and issuer"],
              ] as const
            ).map(([m, l]) => (
              <label class={mode === m ? "on" : ""}>
                <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} /> {l}
              </label>
            ))}
          </div>
          {mode === "cert" && (
            <div class="field">
              <label for="rev-file">Certificate (PEM)</label>
              <input id="rev-file" type="file" accept=".pem,.crt,.cer" onChange={onFile} />
              <p class="help">Read in the browser; only its SHA-256 fingerprint is sent.</p>
            </div>
          )}
          {mode !== "serial" && (
            <div class="field">
              <label for="rev-fp">SHA-256 fingerprint</label>
              <input id="rev-fp" type="text" spellcheck={false} value={fp} onInput={(e) => setFp(e.currentTarget.value)} placeholder="64 hex digits" />
            </div>
          )}
          {mode === "serial" && (
            <>
              <div class="field">
                <label for="rev-serial">Serial (hex)</label>
                <input id="rev-serial" type="text" value={serial} onInput={(e) => setSerial(e.currentTarget.value)} />
              </div>
              <div class="field">
                <label for="rev-issuer">Issuer DN</label>
                <input id="rev-issuer" type="text" value={issuer} onInput={(e) => setIssuer(e.currentTarget.value)} placeholder="CN=msg dev CA" />
              </div>
            </>
          )}
          <div class="field">
            <label for="rev-reason">Reason</label>
            <input id="rev-reason" type="text" value={reason} onInput={(e) => setReason(e.currentTarget.value)} placeholder="phone lost" />
          </div>
          <div class="form-actions">
            <button type="submit" class="danger" title={canWrite ? "" : viewerNote}>
              Revoke
            </button>
          </div>
        </fieldset>
      </form>
      {items && items.length === 0 && <p class="muted">No revocations.</p>}
      {items && items.length > 0 && (
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Certificate</th>
              <th scope="col">Reason</th>
              <th scope="col">By</th>
              <th scope="col">When</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr data-key={r.id}>
                <th scope="row" class="mono">
                  {r.fingerprintSha256 ? `SHA-256 ${r.fingerprintSha256}` : `serial ${r.serialHex} of ${r.issuer}`}
                </th>
                <td>{r.reason}</td>
                <td>{r.creator}</td>
                <td>{when(r.createTime)}</td>
                <td class="actions">
                  <button type="button" disabled={!canWrite} title={canWrite ? "" : viewerNote} onClick={() => void lift(r)}>
                    Lift
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// ---- audit

/** Flattens a request message's protojson into query parameters. */
function query(req: ListAuditRecordsRequest): Record<string, string> {
  const json = toJson(ListAuditRecordsRequestSchema, req) as JsonObject;
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, String(v)]));
}

const enumLabel = (name: string) => name.replace(/^(DECISION|RECORD_KIND)_/, "").toLowerCase();

export function AuditView() {
  const [principal, setPrincipal] = useState("");
  const [host, setHost] = useState("");
  const [decision, setDecision] = useState(Decision.UNSPECIFIED);
  const [kind, setKind] = useState(RecordKind.UNSPECIFIED);
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [pageSize, setPageSize] = useState(50);
  // Tokens of the pages before the current one, for "Previous".
  const [pages, setPages] = useState<string[]>([]);
  const [token, setToken] = useState("");
  const [records, setRecords] = useState<AuditRecord[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<AuditRecord | null>(null);

  const search = async (pageToken: string) => {
    const req = create(ListAuditRecordsRequestSchema, {
      principal,
      host,
      decision,
      kind,
      pageSize,
      pageToken,
      startTime: start ? timestampFromDate(new Date(start)) : undefined,
      endTime: end ? timestampFromDate(new Date(end)) : undefined,
    });
    try {
      const resp = await rpc(ListAuditRecordsResponseSchema, "GET", "/v1/audit", { query: query(req) });
      setRecords(resp.records);
      setNext(resp.nextPageToken);
      setToken(pageToken);
      setError(null);
      setOpen(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void search(""), []);

  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Audit trail</h1>
      </header>
      <form
        class="panel filters"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPages([]);
          void search("");
        }}
      >
        <label>
          Principal
          <input name="principal" type="text" value={principal} onInput={(e) => setPrincipal(e.currentTarget.value)} />
        </label>
        <label>
          Host
          <input name="host" type="text" value={host} onInput={(e) => setHost(e.currentTarget.value)} />
        </label>
        <label>
          Decision
          <select name="decision" value={decision} onChange={(e) => setDecision(Number(e.currentTarget.value))}>
            {DecisionSchema.values.map((v) => (
              <option value={v.number}>{v.number === 0 ? "any" : enumLabel(v.name)}</option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select name="kind" value={kind} onChange={(e) => setKind(Number(e.currentTarget.value))}>
            {RecordKindSchema.values.map((v) => (
              <option value={v.number}>{v.number === 0 ? "any" : enumLabel(v.name)}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input name="start" type="datetime-local" value={start} onInput={(e) => setStart(e.currentTarget.value)} />
        </label>
        <label>
          Until
          <input name="end" type="datetime-local" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
        </label>
        <label>
          Per page
          <select name="pageSize" value={pageSize} onChange={(e) => setPageSize(Number(e.currentTarget.value))}>
            {[10, 50, 100, 500].map((n) => (
              <option value={n}>{n}</option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorBanner error={error} />
      {records && records.length === 0 && <p class="muted">No records match.</p>}
      {records && records.length > 0 && (
        <table class="data audit">
          <thead>
            <tr>
              {["Time", "Kind", "Principal", "Host", "Method", "Path / action", "Decision", "Rule", "Reason", "Code"].map((h) => (
                <th scope="col">{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr class={`${r.decision === Decision.DENY ? "deny" : "allow"}${open === r ? " open" : ""}`} onClick={() => setOpen(r)}>
                <th scope="row">
                  <button type="button" class="link" onClick={() => setOpen(r)}>
                    {when(r.time)}
                  </button>
                </th>
                <td>{r.kind === RecordKind.ADMIN ? "admin" : "forward"}</td>
                <td>{r.principal}</td>
                <td>{r.host}</td>
                <td>{r.method}</td>
                <td class="mono">{r.kind === RecordKind.ADMIN ? `${r.adminAction} ${r.adminTarget}` : r.path}</td>
                <td>
                  <span class={`badge ${r.decision === Decision.DENY ? "deny" : "allow"}`}>{enumLabel(DecisionSchema.value[r.decision]?.name ?? "")}</span>
                </td>
                <td>{r.ruleId}</td>
                <td>{r.reason}</td>
                <td>{r.code}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Audit pages">
        <button
          type="button"
          disabled={pages.length === 0}
          onClick={() => {
            const prev = pages[pages.length - 1];
            setPages(pages.slice(0, -1));
            void search(prev);
          }}
        >
          Newer
        </button>
        <span class="muted">page {pages.length + 1}</span>
        <button
          type="button"
          disabled={!next}
          onClick={() => {
            setPages([...pages, token]);
            void search(next);
          }}
        >
          Older
        </button>
      </nav>
      {open && (
        <aside class="details" aria-labelledby="details-title">
          <h2 id="details-title">Record {open.requestId}</h2>
          <dl>
            {Object.entries(toJson(AuditRecordSchema, open) as Record<string, JsonValue>).map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd class="mono">{typeof v === "string" ? v : JSON.stringify(v)}</dd>
              </>
            ))}
          </dl>
          <button type="button" onClick={() => setOpen(null)}>
            Close
          </button>
        </aside>
      )}
    </section>
  );
}

// ---- policy tester

const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const splitList = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** The identity fields a device's certificate presents. */
const deviceIdentity = (d: Device) => ({
  principalId: d.identity?.spiffeId || d.identity?.commonName || "",
  commonName: d.identity?.commonName ?? "",
  organizations: d.identity?.organizations.join(", ") ?? "",
  organizationalUnits: d.identity?.organizationalUnits.join(", ") ?? "",
  spiffeId: d.identity?.spiffeId ?? "",
  fingerprintSha256: d.certificate?.fingerprintSha256 ?? "",
});

/** The policy tester; device, when set, is the id of the device whose identity it starts with. */
export function PolicyView({ device = "" }: { device?: string }) {
  const [id, setId] = useState({ principalId: "", commonName: "", organizations: "", organizationalUnits: "", spiffeId: "", fingerprintSha256: "" });
  const [devices, setDevices] = useState<Device[]>([]);
  const [picked, setPicked] = useState(device);
  const [req, setReq] = useState({ host: "", method: "GET", path: "/" });
  const [hosts, setHosts] = useState<string[]>([]);
  const [result, setResult] = useState<EvaluatePolicyResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    rpc(ListHostsResponseSchema, "GET", "/v1/hosts", { query: { pageSize: 1000 } }).then(
      (r) => setHosts(r.hosts.map((h) => h.name)),
      () => {},
    );
    // Without enrollment, or for a caller who may not list devices, the
    // picker simply stays empty.
    listDevices().then(
      (ds) => {
        setDevices(ds);
        const d = ds.find((x) => x.id === device);
        if (d) setId(deviceIdentity(d));
      },
      () => {},
    );
  }, []);
  const pick = (devId: string) => {
    setPicked(devId);
    const d = devices.find((x) => x.id === devId);
    if (d) setId(deviceIdentity(d));
  };
  const evaluate = async (ev: Event) => {
    ev.preventDefault();
    const msg = create(EvaluatePolicyRequestSchema, {
      identity: {
        principalId: id.principalId.trim(),
        commonName: id.commonName.trim(),
        organizations: splitList(id.organizations),
        organizationalUnits: splitList(id.organizationalUnits),
        spiffeId: id.spiffeId.trim(),
        fingerprintSha256: id.fingerprintSha256.trim(),
      },
      request: req,
    });
    try {
      setResult(await rpc(EvaluatePolicyResponseSchema, "POST", "/v1/policy:evaluate", { body: toJson(EvaluatePolicyRequestSchema, msg) }));
      setError(null);
    } catch (e) {
      setResult(null);
      setError(e);
    }
  };
  const idField = (key: keyof typeof id, label: string, help?: string) => (
    <div class="field">
      <label for={`pt-${key}`}>{label}</label>
      <input id={`pt-${key}`} name={key} type="text" spellcheck={false} value={id[key]} onInput={(e) => setId({ ...id, [key]: e.currentTarget.value })} />
      {help && <p class="help">{help}</p>}
    </div>
  );
  const allowed = result?.decision === Decision.ALLOW;
  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Policy tester</h1>
      </header>
      <p class="muted">
        Asks the running gateway how it would decide a request now: the same canonicalization, rules and host table as a real call. Nothing is sent to the host.
      </p>
      <form class="panel two" onSubmit={evaluate} aria-label="Policy test">
        <fieldset>
          <legend>Caller (from its client certificate)</legend>
          <div class="field">
            <label for="pt-device">Device</label>
            <select id="pt-device" name="device" value={picked} onChange={(e) => pick(e.currentTarget.value)} aria-describedby="pt-device-help">
              <option value="">none: enter the identity</option>
              {devices.map((d) => (
                <option value={d.id}>
                  {d.id} · {identityText(d.identity)}
                  {d.description ? ` · ${d.description}` : ""}
                </option>
              ))}
            </select>
            <p class="help" id="pt-device-help">
              An enrolled device's identity and current certificate fill the fields below.
            </p>
          </div>
          {idField("principalId", "Principal id", "The SPIFFE ID when there is one, else the CN; or fill in the fields below.")}
          {idField("commonName", "Common name (CN)")}
          {idField("organizations", "Organizations (O)", "Comma-separated.")}
          {idField("organizationalUnits", "Organizational units (OU)", "Comma-separated.")}
          {idField("spiffeId", "SPIFFE ID")}
          {idField("fingerprintSha256", "Certificate SHA-256")}
        </fieldset>
        <fieldset>
          <legend>Request</legend>
          <div class="field">
            <label for="pt-host">Host</label>
            <input id="pt-host" name="host" type="text" list="pt-hosts" value={req.host} onInput={(e) => setReq({ ...req, host: e.currentTarget.value })} />
            <datalist id="pt-hosts">
              {hosts.map((h) => (
                <option value={h} />
              ))}
            </datalist>
          </div>
          <div class="field">
            <label for="pt-method">Method</label>
            <select id="pt-method" name="method" value={req.method} onChange={(e) => setReq({ ...req, method: e.currentTarget.value })}>
              {methods.map((m) => (
                <option value={m}>{m}</option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="pt-path">Path</label>
            <input id="pt-path" name="path" type="text" spellcheck={false} value={req.path} onInput={(e) => setReq({ ...req, path: e.currentTarget.value })} />
          </div>
          <div class="form-actions">
            <button type="submit" class="primary">
              Evaluate
            </button>
          </div>
        </fieldset>
      </form>
      <ErrorBanner error={error} />
      {result && (
        <div class={`verdict ${allowed ? "allow" : "deny"}`} role="status" aria-label="Decision" data-decision={allowed ? "allow" : "deny"} data-code={result.code}>
          <p class="big">{allowed ? "Allowed" : "Denied"}</p>
          <dl>
            <dt>Reason</dt>
            <dd data-field="reason">{result.reason}</dd>
            <dt>Deciding rule</dt>
            <dd data-field="rule">{result.ruleId ? <a href={`#/rules/edit/${seg(result.ruleId)}`}>{result.ruleId}</a> : "none"}</dd>
            <dt>App would get</dt>
            <dd data-field="code">
              {result.code}
              {result.message ? ` — ${result.message}` : ""}
            </dd>
            <dt>Principal id</dt>
            <dd>{result.principalId}</dd>
            <dt>Canonical request</dt>
            <dd class="mono" data-field="canonical">
              {result.canonicalMethod} {result.canonicalHost}
              {result.canonicalPath}
              {result.canonicalQuery ? `?${result.canonicalQuery}` : ""}
            </dd>
            <dt>Revision</dt>
            <dd>{String(result.revision)}</dd>
          </dl>
        </div>
      )}
    </section>
  );
}
