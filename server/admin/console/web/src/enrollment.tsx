// Device enrollment: enrollment tokens (list, create with the one-time
// secret and bundle shown once as a QR code, delete) and the devices that
// enrolled (list, details, delete, which revokes their certificates). Neither
// kind is ever updated, and creating a token answers with more than the
// token, so they have views of their own rather than the generic editor.
import { create, toJson, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "preact/hooks";
import { ApiError, rpc, seg } from "./api";
import {
  CreateEnrollmentTokenResponseSchema,
  DeleteDeviceResponseSchema,
  DeleteEnrollmentTokenResponseSchema,
  GetDeviceResponseSchema,
  ListDevicesResponseSchema,
  ListEnrollmentTokensResponseSchema,
  type CreateEnrollmentTokenResponse,
} from "@gen/msg/admin/v1/admin_pb";
import { EnrollmentTokenSchema, type Device, type DeviceCertificate, type DeviceIdentity, type EnrollmentToken } from "@gen/msg/admin/v1/resources_pb";
import { go, useSession, viewerNote } from "./session";
import { ErrorBanner } from "./widgets";

const when = (ts?: Timestamp) => (ts ? timestampDate(ts).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");
const secs = (d?: Duration) => (d ? `${d.seconds}s` : "");
const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** The identity as one line: CN, O, OU, SPIFFE ID. */
export function identityText(id?: DeviceIdentity): string {
  if (!id) return "";
  return [
    id.commonName && `CN=${id.commonName}`,
    id.organizations.length ? `O=${id.organizations.join("+")}` : "",
    id.organizationalUnits.length ? `OU=${id.organizationalUnits.join("+")}` : "",
    id.spiffeId,
  ]
    .filter(Boolean)
    .join(", ");
}

/** Parses "90s", "15m", "24h" or "7d" into seconds; "" is undefined (the default). */
export function parseDuration(field: string, s: string): number | undefined {
  const t = s.trim();
  if (t === "") return undefined;
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(t);
  if (!m) throw new ApiError(400, 3, `${field}: "${t}" is not a duration such as 90s, 15m, 24h or 7d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"];
}

async function listTokens(): Promise<EnrollmentToken[]> {
  const out: EnrollmentToken[] = [];
  let pageToken = "";
  do {
    const r = await rpc(ListEnrollmentTokensResponseSchema, "GET", "/v1/enrollmentTokens", { query: { pageSize: 1000, pageToken } });
    out.push(...r.enrollmentTokens);
    pageToken = r.nextPageToken;
  } while (pageToken);
  return out;
}

/** Every enrolled device, following pages. */
export async function listDevices(): Promise<Device[]> {
  const out: Device[] = [];
  let pageToken = "";
  do {
    const r = await rpc(ListDevicesResponseSchema, "GET", "/v1/devices", { query: { pageSize: 1000, pageToken } });
    out.push(...r.devices);
    pageToken = r.nextPageToken;
  } while (pageToken);
  return out;
}

/** A delete button that asks once more, disabled for viewers. */
function DeleteButton({ label, confirmLabel, onDelete }: { label: string; confirmLabel: string; onDelete: () => void }) {
  const { canWrite } = useSession();
  const [asking, setAsking] = useState(false);
  if (asking)
    return (
      <>
        <button
          type="button"
          class="danger"
          onClick={() => {
            setAsking(false);
            onDelete();
          }}
        >
          {confirmLabel}
        </button>
        <button type="button" onClick={() => setAsking(false)}>
          Cancel
        </button>
      </>
    );
  return (
    <button type="button" class="danger" disabled={!canWrite} title={canWrite ? "" : viewerNote} onClick={() => setAsking(true)}>
      {label}
    </button>
  );
}

// ---- enrollment tokens

export function TokensView() {
  const { canWrite } = useSession();
  const [items, setItems] = useState<EnrollmentToken[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const load = () =>
    listTokens().then((xs) => {
      setItems(xs);
    }, setError);
  useEffect(() => void load(), []);
  const remove = async (t: EnrollmentToken) => {
    try {
      await rpc(DeleteEnrollmentTokenResponseSchema, "DELETE", `/v1/enrollmentTokens/${seg(t.id)}`, { query: { etag: t.etag } });
      setNote(`Deleted enrollment token ${t.id}: its secret no longer works.`);
      setError(null);
    } catch (e) {
      setError(e);
    }
    void load();
  };
  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Enrollment tokens</h1>
        <button type="button" class="primary" disabled={!canWrite} title={canWrite ? "" : viewerNote} onClick={() => go("#/enrollment-tokens/new")}>
          New enrollment token
        </button>
      </header>
      <p class="muted">
        A token lets devices enroll: whoever holds its secret gets a certificate with the token's identity. The gateway keeps only the secret's hash; it is shown once, when the
        token is created. A token is deleted with its last use.
      </p>
      {note && (
        <p class="flash" role="status">
          {note}
        </p>
      )}
      <ErrorBanner error={error} />
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No enrollment tokens.</p>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Identity</th>
              <th scope="col">Uses</th>
              <th scope="col">Expires</th>
              <th scope="col">Certificate lifetime</th>
              <th scope="col">Created by</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.id} data-key={t.id}>
                <th scope="row" class="mono">
                  {t.id}
                </th>
                <td>{identityText(t.identity)}</td>
                <td>
                  {t.uses} of {t.maxUses}
                </td>
                <td>{when(t.expireTime)}</td>
                <td>{secs(t.certLifetime)}</td>
                <td>
                  {t.creator}
                  <small class="muted"> {when(t.createTime)}</small>
                </td>
                <td>{t.description}</td>
                <td class="actions">
                  <DeleteButton label="Delete" confirmLabel={`Really delete ${t.id}`} onDelete={() => void remove(t)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const emptyToken = { commonName: "", organizations: "", organizationalUnits: "", spiffeId: "", validFor: "", maxUses: "", certLifetime: "", description: "" };

export function TokenCreate() {
  const { canWrite } = useSession();
  const [form, setForm] = useState(emptyToken);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreateEnrollmentTokenResponse | null>(null);
  const [qr, setQr] = useState("");
  // The QR code is a blob: URL of the PNG the API returned (the CSP's
  // img-src allows blob:, nothing else beyond 'self'); it lives as long as
  // this view.
  useEffect(() => () => qr && URL.revokeObjectURL(qr), [qr]);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const validFor = parseDuration("enrollment_token.expire_time", form.validFor);
      const lifetime = parseDuration("enrollment_token.cert_lifetime", form.certLifetime);
      const uses = form.maxUses.trim();
      if (uses !== "" && !/^\d+$/.test(uses)) throw new ApiError(400, 3, `enrollment_token.max_uses: "${uses}" is not a number`);
      const token = create(EnrollmentTokenSchema, {
        identity: {
          commonName: form.commonName.trim(),
          organizations: list(form.organizations),
          organizationalUnits: list(form.organizationalUnits),
          spiffeId: form.spiffeId.trim(),
        },
        expireTime: validFor === undefined ? undefined : timestampFromDate(new Date(Date.now() + validFor * 1000)),
        maxUses: uses === "" ? 0 : Number(uses),
        certLifetime: lifetime === undefined ? undefined : { seconds: BigInt(lifetime), nanos: 0 },
        description: form.description.trim(),
      });
      const resp = await rpc(CreateEnrollmentTokenResponseSchema, "POST", "/v1/enrollmentTokens", {
        body: toJson(EnrollmentTokenSchema, token) as JsonObject,
        query: { qrCodePng: "true" },
      });
      setCreated(resp);
      setQr(resp.qrCodePng.length ? URL.createObjectURL(new Blob([resp.qrCodePng as Uint8Array<ArrayBuffer>], { type: "image/png" })) : "");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    const t = created.enrollmentToken;
    return (
      <section aria-labelledby="view-title">
        <header class="view-head">
          <h1 id="view-title">Enrollment token {t?.id}</h1>
        </header>
        <div class="one-time" role="region" aria-label="Enrollment bundle">
          <p class="warn">
            <strong>Shown once.</strong> The gateway keeps only a hash of the secret: copy the bundle or let the device scan the code now. Whoever has it can enroll as{" "}
            {identityText(t?.identity)} ({t?.maxUses === 1 ? "once" : `${t?.maxUses} times`}, until {when(t?.expireTime)}).
          </p>
          <div class="bundle">
            {qr && <img class="qr" src={qr} alt="The enrollment bundle as a QR code" width={256} height={256} />}
            <dl>
              <dt>Bundle</dt>
              <dd class="mono" data-field="bundle">
                {created.bundle}
              </dd>
              <dt>Secret (EST: Authorization: Bearer)</dt>
              <dd class="mono" data-field="secret">
                {created.secret}
              </dd>
              <dt>Identity</dt>
              <dd>{identityText(t?.identity)}</dd>
              <dt>Certificate lifetime</dt>
              <dd>{secs(t?.certLifetime)}</dd>
            </dl>
          </div>
          <div class="form-actions">
            <button type="button" class="primary" onClick={() => go("#/enrollment-tokens")}>
              Done: forget the secret
            </button>
          </div>
        </div>
      </section>
    );
  }

  const field = (key: keyof typeof emptyToken, label: string, help?: string, placeholder?: string) => (
    <div class="field">
      <label for={`et-${key}`}>{label}</label>
      <input
        id={`et-${key}`}
        name={key}
        type="text"
        spellcheck={false}
        placeholder={placeholder}
        value={form[key]}
        aria-describedby={help ? `et-${key}-help` : undefined}
        onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })}
      />
      {help && (
        <p class="help" id={`et-${key}-help`}>
          {help}
        </p>
      )}
    </div>
  );
  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">New enrollment token</h1>
        <a href="#/enrollment-tokens" class="button">
          Back to enrollment tokens
        </a>
      </header>
      <ErrorBanner error={error} />
      <form class="panel two" onSubmit={submit} aria-label="New enrollment token" novalidate>
        <fieldset disabled={!canWrite || busy}>
          <legend>Identity the device gets</legend>
          {field("commonName", "Common name (CN)", "Required unless a SPIFFE ID is given; rules match it as the principal id.", "carol")}
          {field("organizations", "Organizations (O)", "Comma-separated.", "Example Corp")}
          {field("organizationalUnits", "Organizational units (OU)", "Comma-separated.", "mobile")}
          {field("spiffeId", "SPIFFE ID", "Put into the certificates as their URI SAN; then the principal id.", "spiffe://example.org/app/ios")}
        </fieldset>
        <fieldset disabled={!canWrite || busy}>
          <legend>The token</legend>
          {field("validFor", "Valid for", "How long the secret works: 90s, 15m, 24h or 7d. Empty: 24h (the gateway caps it).", "24h")}
          {field("maxUses", "Uses", "How many devices may enroll with it. Empty: 1.", "1")}
          {field("certLifetime", "Certificate lifetime", "Of the devices' certificates, renewed at about two thirds. Empty: the gateway's default.", "168h")}
          {field("description", "Description", "For people, e.g. Carol's phone; copied to the device.")}
          <div class="form-actions">
            <button type="submit" class="primary" title={canWrite ? "" : viewerNote}>
              Create token
            </button>
          </div>
        </fieldset>
      </form>
    </section>
  );
}

// ---- devices

export function DevicesView() {
  const [items, setItems] = useState<Device[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const load = () => listDevices().then(setItems, setError);
  useEffect(() => void load(), []);
  const remove = async (d: Device) => {
    try {
      await deleteDevice(d);
      setNote(`Deleted device ${d.id}: its certificates are revoked.`);
      setError(null);
    } catch (e) {
      setError(e);
    }
    void load();
  };
  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Devices</h1>
      </header>
      <p class="muted">Devices that enrolled with a token. Deleting one revokes its certificates at once (its open connections close) and refuses its renewals.</p>
      {note && (
        <p class="flash" role="status">
          {note}
        </p>
      )}
      <ErrorBanner error={error} />
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No devices have enrolled.</p>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Identity</th>
              <th scope="col">Enrolled</th>
              <th scope="col">Certificate expires</th>
              <th scope="col">Last renewal</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-key={d.id}>
                <th scope="row" class="mono">
                  {d.id}
                </th>
                <td>{identityText(d.identity)}</td>
                <td>{when(d.enrollTime)}</td>
                <td>{when(d.certificate?.notAfter)}</td>
                <td>{when(d.lastRenewTime) || "never"}</td>
                <td>{d.description}</td>
                <td class="actions">
                  <a href={`#/devices/${seg(d.id)}`} class="button">
                    Details
                  </a>
                  <DeleteButton label="Delete" confirmLabel={`Really delete ${d.id} and revoke it`} onDelete={() => void remove(d)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const deleteDevice = (d: Device) => rpc(DeleteDeviceResponseSchema, "DELETE", `/v1/devices/${seg(d.id)}`, { query: { etag: d.etag } });

function CertRows({ title, c }: { title: string; c?: DeviceCertificate }) {
  if (!c) return null;
  return (
    <>
      <dt>{title}</dt>
      <dd class="mono" data-field={title === "Current certificate" ? "certificate" : undefined}>
        serial {c.serialHex}
        <br />
        SHA-256 {c.fingerprintSha256}
        <br />
        expires {when(c.notAfter)}
      </dd>
    </>
  );
}

export function DeviceDetail({ id }: { id: string }) {
  const [d, setD] = useState<Device | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    rpc(GetDeviceResponseSchema, "GET", `/v1/devices/${seg(id)}`).then((r) => setD(r.device ?? null), setError);
  }, [id]);
  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">Device {id}</h1>
        <a href="#/devices" class="button">
          Back to devices
        </a>
      </header>
      <ErrorBanner error={error} />
      {d && (
        <div class="details">
          <dl>
            <dt>Identity</dt>
            <dd data-field="identity">{identityText(d.identity)}</dd>
            <dt>Description</dt>
            <dd>{d.description}</dd>
            <dt>Enrolled</dt>
            <dd>{when(d.enrollTime)}</dd>
            <dt>Enrollment token</dt>
            <dd class="mono">{d.tokenId}</dd>
            <dt>Last renewal</dt>
            <dd>{when(d.lastRenewTime) || "never"}</dd>
            <dt>Certificate lifetime</dt>
            <dd>{secs(d.certLifetime)}</dd>
            <CertRows title="Current certificate" c={d.certificate} />
            {d.previousCertificates.map((c, i) => (
              <CertRows title={i === 0 ? "Earlier certificates (still valid)" : ""} c={c} />
            ))}
            <dt>Etag</dt>
            <dd>{d.etag}</dd>
          </dl>
          <div class="form-actions">
            <a href={`#/policy?device=${seg(d.id)}`} class="button">
              Test policy as this device
            </a>
            <DeleteButton
              label="Delete"
              confirmLabel={`Really delete ${d.id} and revoke it`}
              onDelete={() =>
                void deleteDevice(d).then(
                  () => go("#/devices"),
                  (e) => setError(e),
                )
              }
            />
          </div>
        </div>
      )}
    </section>
  );
}
