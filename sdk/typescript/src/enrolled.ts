import { Connection, type GatewayFetchOptions } from "./connection.js";
import { renewIdentity } from "./enroll.js";
import { fetchOver, type GatewayFetch } from "./fetch.js";
import { checkIdentity, toPem, type Identity, type IdentityStore } from "./identity.js";

/** Where the certificate renewal of a {@link createEnrolledFetch} fetch stands (as the Go client's `RenewalStatus`). */
export interface RenewalStatus {
  /** When the certificate in use expires. */
  notAfter: Date;
  /** When the next renewal attempt is due; undefined once the certificate has expired. */
  nextAttempt: Date | undefined;
  /** When a renewal last succeeded; undefined before the first. */
  lastRenewal: Date | undefined;
  /** The renewals that succeeded since the fetch was made. */
  renewals: number;
  /**
   * The last attempt's error, undefined after a success. A `GatewayError`
   * with code PermissionDenied and reason `"RENEWAL_REFUSED"` means the
   * gateway no longer knows the device (an admin deleted it); an
   * {@link CertificateExpiredError} that only a new enrollment helps.
   */
  error: Error | undefined;
  /** The attempts that failed since the last success. */
  failures: number;
}

/** The certificate expired before a renewal succeeded: enroll again. */
export class CertificateExpiredError extends Error {
  override readonly name = "CertificateExpiredError";
}

/** Options of {@link createEnrolledFetch}: those of `createGatewayFetch` but the identity, which comes from the store. */
export type EnrolledFetchOptions = Omit<GatewayFetchOptions, "address" | "cert" | "key" | "passphrase" | "ca"> & {
  /** Called after every renewal attempt, with the status it left. */
  onRenewal?: (status: RenewalStatus) => void;
};

/** An EnrolledFetch is a GatewayFetch on an enrolled identity that renews its certificate by itself. */
export type EnrolledFetch = GatewayFetch & {
  /** renewalStatus returns where the certificate renewal stands. */
  renewalStatus(): RenewalStatus;
};

// Renewal timing, as in the Go client (client/renew.go): at two thirds of
// the lifetime (notBefore to notAfter); a failed attempt is retried after a
// fiftieth of the lifetime, doubling up to a tenth, within these bounds and
// with ±20% jitter so that a fleet does not retry in step.
const minRetryMs = 100;
const maxFirstTryMs = 30_000;
const minMaxRetryMs = 1_000;
const maxRetryMs = 30 * 60_000;
const minAttemptMs = 1_000;
const maxAttemptMs = 30_000;
/** The longest single sleep: a machine that slept through the renewal time renews when it wakes. */
const maxSleepStepMs = 60_000;

/**
 * createEnrolledFetch returns a `fetch` through the gateway for the identity
 * saved in `store` (by {@link enroll}): the gateway's address, the client
 * certificate and the trust anchor all come from it.
 *
 * It renews the certificate by itself, at about two thirds of its lifetime,
 * in the background, and saves each new identity in the store. Requests that
 * start after a renewal go out on a new connection with the new certificate;
 * those in flight finish on the old one, which the old certificate keeps
 * valid for the last third of its lifetime. A failed renewal is retried with
 * backoff; see `renewalStatus()` and `onRenewal`.
 *
 * ```ts
 * const store = new FileIdentityStore(dir);
 * await enroll(bundle, store); // once
 * const gatewayFetch = await createEnrolledFetch(store);
 * ```
 */
export async function createEnrolledFetch(store: IdentityStore, options: EnrolledFetchOptions = {}): Promise<EnrolledFetch> {
  const { onRenewal, ...fetchOptions } = options;
  let identity = await store.load();
  const pem = (id: Identity) => ({
    cert: id.certificateChain.map((c) => toPem("CERTIFICATE", c)).join(""),
    key: id.privateKey.export({ type: "pkcs8", format: "pem" }),
  });
  // One connection for the fetch's life, so that networkChanged and the
  // connection checks see every call; a renewal rotates its certificate.
  const conn = new Connection({
    ...fetchOptions,
    address: identity.gatewayAddress,
    ...pem(identity),
    ca: toPem("CERTIFICATE", identity.trustAnchor),
  });
  let closed = false;

  let leaf = checkIdentity(identity);
  const lifetime = () => Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
  const status: RenewalStatus = {
    notAfter: new Date(leaf.validTo),
    // After a restart the certificate's own dates say when.
    nextAttempt: new Date(Date.parse(leaf.validFrom) + renewAfter(lifetime())),
    lastRenewal: undefined,
    renewals: 0,
    error: undefined,
    failures: 0,
  };
  const report = () => onRenewal?.({ ...status });

  let timer: NodeJS.Timeout | undefined;
  let attempt: AbortController | undefined;
  const schedule = () => {
    if (closed || status.nextAttempt === undefined) return;
    const wait = status.nextAttempt.getTime() - Date.now();
    // Unref'd: renewal alone does not keep a script's event loop alive.
    timer = setTimeout(wait > 0 ? schedule : renew, Math.min(Math.max(wait, 0), maxSleepStepMs)).unref();
  };
  const renew = async () => {
    const life = lifetime();
    if (Date.now() >= Date.parse(leaf.validTo)) {
      status.error = new CertificateExpiredError("the certificate expired before it could be renewed: enroll again");
      status.nextAttempt = undefined;
      report();
      return;
    }
    attempt = new AbortController();
    const deadline = setTimeout(() => attempt?.abort(new Error("renewal timed out")), clamp(life / 4, minAttemptMs, maxAttemptMs));
    try {
      const next = await renewIdentity(identity, store, attempt.signal);
      await store.save(next);
      if (closed) return;
      // Calls in flight finish on the old link, which the old certificate
      // keeps valid for the last third of its lifetime; calls that start
      // from now on go out on a new one with the new certificate.
      const { cert, key } = pem(next);
      conn.rotate(cert, key);
      identity = next;
      leaf = checkIdentity(next);
      status.notAfter = new Date(leaf.validTo);
      status.nextAttempt = new Date(Date.now() + renewAfter(lifetime()));
      status.lastRenewal = new Date();
      status.renewals++;
      status.error = undefined;
      status.failures = 0;
    } catch (err) {
      if (closed) return;
      status.failures++;
      status.error = err instanceof Error ? err : new Error(String(err));
      status.nextAttempt = new Date(Date.now() + retryDelay(life, status.failures));
    } finally {
      clearTimeout(deadline);
      attempt = undefined;
    }
    report();
    schedule();
  };
  schedule();

  const f = fetchOver(conn, () => {
    closed = true;
    clearTimeout(timer);
    attempt?.abort(new Error("the gateway fetch is closed"));
    conn.close();
  });
  return Object.assign(f, { renewalStatus: (): RenewalStatus => ({ ...status }) });
}

/** renewAfter is two thirds of a lifetime. */
function renewAfter(lifetimeMs: number): number {
  return (lifetimeMs / 3) * 2;
}

/** retryDelay is the wait after the n-th failed renewal in a row. */
function retryDelay(lifetimeMs: number, n: number): number {
  const first = clamp(lifetimeMs / 50, minRetryMs, maxFirstTryMs);
  const limit = clamp(lifetimeMs / 10, minMaxRetryMs, maxRetryMs);
  let d = first;
  for (let i = 1; i < n && d < limit; i++) d *= 2;
  return Math.min(d, limit) * (0.8 + 0.4 * Math.random());
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
