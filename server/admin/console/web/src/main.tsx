// The console's shell: sign-in, navigation and routing (by the URL's hash,
// so the gateway serves one page and nothing else under /console/).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, credentials, rpc } from "./api";
import { GetStatusResponseSchema } from "@gen/msg/admin/v1/admin_pb";
import { ResourceEditor, ResourceList } from "./resource";
import { kinds } from "./resources";
import { SessionContext, type Session } from "./session";
import { DeviceDetail, DevicesView, TokenCreate, TokensView } from "./enrollment";
import { AuditView, PolicyView, RevocationsView, StatusView } from "./views";
import { ErrorBanner } from "./widgets";
import "./styles.css";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

/** Checks credentials with GET /v1/status, which every role may call. */
async function whoAmI(): Promise<{ caller: string; role: string }> {
  const st = await rpc(GetStatusResponseSchema, "GET", "/v1/status");
  return { caller: st.caller, role: st.callerRole };
}

function Login({ onIn }: { onIn: (who: { caller: string; role: string }) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const attempt = async (tok: string | null) => {
    setBusy(true);
    credentials.set(tok);
    try {
      onIn(await whoAmI());
    } catch (e) {
      credentials.set(null);
      setError(
        e instanceof ApiError && e.status === 401
          ? new Error(tok ? "The token was not accepted." : "No admin client certificate was accepted: sign in with a token.")
          : e,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form
        class="panel"
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          void attempt(token.trim());
        }}
      >
        <h1>msg admin console</h1>
        <p class="muted">Sign in with an admin token (for dev mode: the admin-token file). It is kept in this tab only.</p>
        <ErrorBanner error={error} />
        <div class="field">
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </div>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={busy || !token.trim()}>
            Sign in
          </button>
          {location.protocol === "https:" && (
            <button type="button" disabled={busy} onClick={() => void attempt(null)}>
              Use my client certificate
            </button>
          )}
        </div>
      </form>
    </main>
  );
}

const nav: [string, string][] = [
  ["#/status", "Status"],
  ...kinds.map((k): [string, string] => [`#/${k.id}`, k.title]),
  ["#/enrollment-tokens", "Enrollment tokens"],
  ["#/devices", "Devices"],
  ["#/policy", "Policy tester"],
  ["#/revocations", "Revocations"],
  ["#/audit", "Audit"],
];

function Route({ hash }: { hash: string }) {
  const [path, q] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(q ?? "");
  const saved = params.get("saved");
  const kind = kinds.find((k) => k.id === parts[0]);
  if (kind) {
    if (parts[1] === "new") return <ResourceEditor key={`${kind.id}-new`} kind={kind} />;
    if (parts[1] === "edit" && parts[2]) return <ResourceEditor key={`${kind.id}-${parts[2]}`} kind={kind} itemKey={parts[2]} />;
    return <ResourceList key={kind.id} kind={kind} flash={saved ? `Saved ${kind.singular} ${saved}.` : undefined} />;
  }
  switch (parts[0]) {
    case "enrollment-tokens":
      return parts[1] === "new" ? <TokenCreate key="token-new" /> : <TokensView key="tokens" />;
    case "devices":
      return parts[1] ? <DeviceDetail key={`device-${parts[1]}`} id={parts[1]} /> : <DevicesView key="devices" />;
    case "policy":
      return <PolicyView key={`policy-${params.get("device") ?? ""}`} device={params.get("device") ?? ""} />;
    case "revocations":
      return <RevocationsView />;
    case "audit":
      return <AuditView />;
    default:
      return <StatusView />;
  }
}

function App() {
  const hash = useHash();
  const [who, setWho] = useState<{ caller: string; role: string } | null>(null);
  const [checking, setChecking] = useState(credentials.token !== null);
  useEffect(() => {
    if (credentials.token === null) return;
    whoAmI()
      .then(setWho, () => credentials.set(null))
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="muted">Signing in…</p>;
  if (!who) return <Login onIn={setWho} />;
  const session: Session = {
    ...who,
    canWrite: who.role === "editor",
    signOut: () => {
      credentials.set(null);
      setWho(null);
      location.hash = "";
    },
  };
  const current = "#/" + (hash.replace(/^#\/?/, "").split(/[/?]/)[0] || "status");
  return (
    <SessionContext.Provider value={session}>
      <header class="top">
        <span class="brand">msg admin</span>
        <nav aria-label="Views">
          {nav.map(([href, label]) => (
            <a href={href} aria-current={current === href ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who" data-role={who.role}>
          {who.caller} <span class={`badge role-${who.role}`}>{who.role}</span>
        </span>
        <button type="button" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      {!session.canWrite && (
        <p class="viewer-banner" role="note">
          Read-only: your role is viewer.
        </p>
      )}
      <main>
        <Route hash={hash} />
      </main>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById("app") as HTMLElement);
