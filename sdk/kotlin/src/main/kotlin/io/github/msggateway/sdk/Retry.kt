package io.github.msggateway.sdk

import java.io.IOException
import okhttp3.Request

/**
 * Whether the SDK may send [request] a second time after its connection died without an answer:
 * its method is idempotent by RFC 9110 (GET, HEAD, OPTIONS, PUT, DELETE; the gateway refuses
 * TRACE), or the app marked it with an `Idempotency-Key` or `X-Idempotency-Key` header, as the Go
 * client does.
 */
internal fun idempotent(request: Request): Boolean = when (request.method) {
    "GET", "HEAD", "OPTIONS", "PUT", "DELETE" -> true
    else -> request.header("Idempotency-Key") != null || request.header("X-Idempotency-Key") != null
}

/**
 * Whether a failed attempt of [request] is sent again and after how many milliseconds (null: not
 * at all), as `client/retry.go` decides. Only one retry is made (the caller's business), and only
 * with a body that can be sent again ([replayable]: none, one kept in memory, or one whose
 * `RequestBody.isOneShot()` is false):
 *
 * - The SDK [moved] the call off a link it retired (a network change, a connection that stopped
 *   answering): at once.
 * - The connection failed before the gateway answered anything, on a link the gateway has
 *   answered before (so the failure is news, not a gateway that is unreachable or refuses the
 *   certificate): at once if the request never reached a connection, or is idempotent.
 * - The gateway refused the request with a RetryInfo: after its delay, when the request is
 *   idempotent or the refusal is one of the gateway's limits (RESOURCE_EXHAUSTED), which refuse
 *   before anything is relayed, and when the delay ends within [limitMillis] (the call timeout
 *   left, or the reconnect wait without one).
 */
internal fun retryDelay(
    request: Request,
    replayable: Boolean,
    link: Link,
    a: Attempt,
    error: IOException,
    moved: Boolean,
    limitMillis: Long,
): Long? {
    if (!replayable) return null
    if (moved) return 0
    // The SDK's own verdict, or a timeout: the request is at fault, or out of time.
    if (error !is GatewayException || !error.fromCall) return null
    if (!a.answered) {
        return if (error.code == GatewayCode.UNAVAILABLE && link.reached.get() && (!a.sent || idempotent(request))) 0 else null
    }
    val after = error.retryAfterMillis
    if (after <= 0 || !(error.code == GatewayCode.RESOURCE_EXHAUSTED || idempotent(request))) return null
    return if (after < limitMillis) after else null
}
