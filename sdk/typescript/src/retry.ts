import { Code } from "@connectrpc/connect";
import { fromCall } from "./error.js";
import type { Attempt, Link } from "./link.js";

/**
 * idempotent reports whether the SDK may send request a second time after
 * its connection died without an answer: its method is idempotent by
 * RFC 9110 (GET, HEAD, OPTIONS, PUT, DELETE; the gateway refuses TRACE), or
 * the app marked it with an Idempotency-Key or X-Idempotency-Key header, as
 * the Go client does.
 */
export function idempotent(request: Request): boolean {
  switch (request.method) {
    case "GET":
    case "HEAD":
    case "OPTIONS":
    case "PUT":
    case "DELETE":
      return true;
  }
  return request.headers.has("idempotency-key") || request.headers.has("x-idempotency-key");
}

/** What a failed attempt of a request is. */
export interface Failure {
  request: Request;
  /** the request's body can be sent again: none, or one kept in memory */
  replayable: boolean;
  link: Link;
  attempt: Attempt;
  err: unknown;
  /** the SDK moved the call off a link it retired */
  moved: boolean;
  /** the most a retry may wait for its delay */
  limitMs: number;
}

/**
 * retryDelay decides whether a failed attempt of a request is sent again
 * and after how many milliseconds (undefined: not at all), as
 * client/retry.go does. Only one retry is made (the caller's business), only
 * while the request's signal lives, and only with a body that can be sent
 * again:
 *
 * - The SDK moved the call off a link it retired (a network change, a
 *   connection that stopped answering): at once.
 * - The connection failed before the gateway answered anything, on a link
 *   the gateway has answered before (so the failure is news, not a gateway
 *   that is unreachable or refuses the certificate): at once if the request
 *   never reached a connection, or is idempotent.
 * - The gateway refused the request with a RetryInfo: after its delay, when
 *   the request is idempotent or the refusal is one of the gateway's limits
 *   (ResourceExhausted), which refuse before anything is relayed, and when
 *   the delay is below limitMs.
 */
export function retryDelay(f: Failure): number | undefined {
  if (f.request.signal.aborted || !f.replayable) return undefined;
  if (f.moved) return 0;
  const e = f.err;
  if (!fromCall(e)) return undefined; // the SDK's own verdict: the request is at fault, not the network
  if (!f.attempt.answered) {
    return e.code === Code.Unavailable && f.link.reached && (!f.attempt.sent || idempotent(f.request)) ? 0 : undefined;
  }
  const after = e.retryAfterMs;
  if (after === undefined || after <= 0 || !(e.code === Code.ResourceExhausted || idempotent(f.request))) return undefined;
  return after < f.limitMs ? after : undefined;
}
