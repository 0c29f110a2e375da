package io.github.msggateway.sdk

import com.google.protobuf.InvalidProtocolBufferException
import io.grpc.Metadata
import io.grpc.Status
import java.io.IOException
import msg.thirdparty.google.rpc.ErrorInfo
import msg.thirdparty.google.rpc.RetryInfo

/**
 * A request that the gateway refused or could not relay, that failed on the way to or from the
 * gateway, or that the SDK refused before sending it. OkHttp reports it from `Call.execute()`, from
 * `Callback.onFailure`, or from a read of the response body, as for any other I/O failure.
 *
 * An HTTP error from the internal host (a 404 or a 503) is not a `GatewayException`: it arrives as
 * an ordinary [okhttp3.Response] with that code.
 *
 * The gateway keeps [message] generic on purpose; what it denied and why is in its audit log.
 * Branch on [code] and [reason], never on the message text.
 */
public class GatewayException internal constructor(
    /** The gRPC status code, for example [GatewayCode.PERMISSION_DENIED] when policy refused the request. */
    public val code: GatewayCode,
    /** The status message, without the code and the reason. */
    public val statusMessage: String,
    /**
     * The stable reason from the gateway's `google.rpc.ErrorInfo` detail, for example
     * `POLICY_DENIED`, `RATE_LIMITED` or `INVALID_REQUEST`, or null when there was none.
     */
    public val reason: String? = null,
    /**
     * The delay from a `google.rpc.RetryInfo` detail in milliseconds, or 0 when there was none.
     * It is set when a retry makes sense, for example after a rate limit.
     */
    public val retryAfterMillis: Long = 0,
    cause: Throwable? = null,
    /** The outcome of a call (the gateway's status, or the connection under the call), not the SDK's own verdict. */
    internal val fromCall: Boolean = false,
) : IOException(describe(code, statusMessage, reason, retryAfterMillis), cause) {

    internal companion object {
        private val DETAILS_KEY: Metadata.Key<ByteArray> =
            Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER)

        /** The exception for a call that ended with [status], reading the details from [trailers]. */
        fun from(status: Status, trailers: Metadata?): GatewayException {
            var reason: String? = null
            var retryAfterMillis = 0L
            val details = trailers?.get(DETAILS_KEY)
            if (details != null) {
                val any = try {
                    msg.thirdparty.google.rpc.Status.parseFrom(details).detailsList
                } catch (_: InvalidProtocolBufferException) {
                    emptyList()
                }
                for (d in any) {
                    // Any's type URL is "<prefix>/<full message name>"; the prefix is not fixed.
                    try {
                        when (d.typeUrl.substringAfterLast('/')) {
                            "google.rpc.ErrorInfo" ->
                                if (reason == null) reason = ErrorInfo.parseFrom(d.value).reason.ifEmpty { null }
                            "google.rpc.RetryInfo" ->
                                if (retryAfterMillis == 0L) retryAfterMillis = millis(RetryInfo.parseFrom(d.value))
                        }
                    } catch (_: InvalidProtocolBufferException) {
                        // A malformed detail is ignored like an unknown one: the code still stands.
                    }
                }
            }
            return GatewayException(
                GatewayCode.of(status.code), status.description ?: "", reason, retryAfterMillis, status.cause, fromCall = true,
            )
        }

        private fun millis(info: RetryInfo): Long {
            if (!info.hasRetryDelay()) return 0
            val d = info.retryDelay
            if (d.seconds < 0 || d.nanos < 0 || d.seconds > Long.MAX_VALUE / 1000 - 1) return 0
            // Rounded up: never suggest retrying sooner than the gateway said.
            return d.seconds * 1000 + (d.nanos + 999_999) / 1_000_000
        }

        fun local(code: GatewayCode, message: String, cause: Throwable? = null): GatewayException =
            GatewayException(code, message, cause = cause)

        /** A gateway that broke the ForwardStream message order: the body did not arrive completely. */
        fun protocol(message: String): GatewayException =
            local(GatewayCode.INTERNAL, "gateway protocol error: $message")

        private fun describe(code: GatewayCode, message: String, reason: String?, retryAfterMillis: Long): String =
            buildString {
                append(code.name)
                if (message.isNotEmpty()) append(": ").append(message)
                if (reason != null) append(" (reason ").append(reason).append(')')
                if (retryAfterMillis > 0) append(" (retry after ").append(retryAfterMillis).append(" ms)")
            }
    }
}

/**
 * The gRPC status codes, as [GatewayException.code] reports them. The gateway's README lists which
 * ones it returns and when.
 */
public enum class GatewayCode {
    OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS,
    PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED,
    INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED;

    internal companion object {
        // The enum's order is gRPC's numbering, as is Status.Code's.
        fun of(code: Status.Code): GatewayCode = entries[code.value()]
    }
}
