import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";

export { Code };

/**
 * A GatewayError is a failed exchange with the gateway: the gateway refused or
 * could not relay the request (policy, limits, an unreachable internal host),
 * the connection to the gateway failed, or the SDK refused the request before
 * sending it. An HTTP error status from the internal host (a 404 or a 503) is
 * not a GatewayError: it arrives as a Response with that status.
 *
 * The same error also ends a response body that did not arrive completely,
 * so reading `response.body` (or `text()`, `json()`, ...) rejects with it
 * rather than returning a short body that looks whole.
 *
 * When the request's `AbortSignal` ends the exchange, `fetch` rejects with the
 * signal's reason (an `AbortError` or `TimeoutError` DOMException by
 * default) as the platform's `fetch` does, not with a GatewayError.
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  /**
   * The gRPC status code, e.g. `Code.PermissionDenied` when policy refused the
   * request or `Code.Unavailable` when the gateway or the internal host could
   * not be reached. The numbers are gRPC's; `Code[err.code]` is its name.
   */
  readonly code: Code;
  /**
   * The status message. The gateway keeps it generic on purpose; the details
   * of a refusal are in its log and audit trail.
   */
  readonly rawMessage: string;
  /**
   * The stable reason from the gateway's `google.rpc.ErrorInfo`, e.g.
   * `"POLICY_DENIED"`, `"RATE_LIMITED"`, `"INVALID_REQUEST"`; empty when the
   * error carries none (connection failures, errors of the SDK itself).
   */
  readonly reason: string;
  /**
   * How long to wait before retrying, in milliseconds, from the gateway's
   * `google.rpc.RetryInfo`; undefined when a retry is not suggested.
   */
  readonly retryAfterMs: number | undefined;

  constructor(code: Code, rawMessage: string, reason = "", retryAfterMs?: number, options?: { cause?: unknown }) {
    super(describe(code, rawMessage, reason, retryAfterMs), options);
    this.code = code;
    this.rawMessage = rawMessage;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

function describe(code: Code, message: string, reason: string, retryAfterMs: number | undefined): string {
  let s = Code[code] ?? `Code(${code})`;
  if (message !== "") s += `: ${message}`;
  if (reason !== "") s += ` (reason ${reason})`;
  if (retryAfterMs !== undefined) s += ` (retry after ${retryAfterMs} ms)`;
  return s;
}

/**
 * gatewayErrorFrom converts an error of the gRPC layer. The details are
 * decoded from grpc-status-details-bin by Connect; the first ErrorInfo and the
 * first valid RetryInfo count, as in the Go client.
 */
export function gatewayErrorFrom(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const ce = ConnectError.from(err);
  let reason = "";
  let retryAfterMs: number | undefined;
  try {
    reason = ce.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
    for (const r of ce.findDetails(RetryInfoSchema)) {
      const d = r.retryDelay;
      if (d !== undefined && d.seconds >= 0n && d.nanos >= 0 && d.nanos < 1e9) {
        // Rounded up: never suggest retrying sooner than the gateway said.
        retryAfterMs = Number(d.seconds) * 1000 + Math.ceil(d.nanos / 1e6);
        break;
      }
    }
  } catch {
    // A detail that does not decode is ignored, as the Go client does; the
    // code and message still stand.
  }
  const e = new GatewayError(connectionCode(ce), ce.rawMessage, reason, retryAfterMs, { cause: err });
  fromCalls.add(e);
  return e;
}

// The errors that came from a call (the gateway's status, or the connection
// under the call), as opposed to the SDK's own verdicts on a request: only
// those can be worth sending the request again.
const fromCalls = new WeakSet<GatewayError>();

/** fromCall reports whether err is a call's outcome rather than the SDK's own verdict. */
export function fromCall(err: unknown): err is GatewayError {
  return err instanceof GatewayError && fromCalls.has(err);
}

/**
 * connectionCode is Unavailable for a failure of the connection itself (TLS
 * handshake, reset, refused): Connect reports those as Internal or Aborted,
 * the Go client and the gateway's contract as Unavailable, which tells the
 * app that the gateway never answered. A status that the gateway sent keeps
 * its code.
 */
function connectionCode(ce: ConnectError): Code {
  if (ce.code !== Code.Internal && ce.code !== Code.Aborted && ce.code !== Code.Unknown) return ce.code;
  for (let e: unknown = ce.cause, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "ERR_STREAM_WRITE_AFTER_END") return Code.Unavailable;
  }
  return ce.code;
}

/**
 * protocolError is the error for a gateway that broke the ForwardStream
 * message order. The body did not arrive completely.
 */
export function protocolError(message: string): GatewayError {
  return new GatewayError(Code.Internal, `client: gateway protocol error: ${message}`);
}
