package io.github.msggateway.sdk

import java.util.concurrent.TimeUnit
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.parallel.Execution
import org.junit.jupiter.api.parallel.ExecutionMode

/**
 * The gateway's per-identity rate limit, here one request per 4 s, refuses with
 * RESOURCE_EXHAUSTED, the stable reason and a RetryInfo delay. The SDK sends such a request again
 * after the delay, whatever its method (the gateway's limits refuse before relaying anything), when
 * the delay ends within the call timeout; otherwise the app gets the GatewayException at once. A
 * gateway of its own, so that the spent budget cannot refuse other tests' requests.
 */
@Execution(ExecutionMode.CONCURRENT)
@Timeout(180)
class RateLimitTest {
    @Test
    fun aRateLimitRefusalIsSentAgainAfterItsDelayOrReportedWithIt() {
        PhoneUpstream().use { upstream ->
            DevGateway("limits: {rate_per_second: 0.25, burst: 1}").use { dev ->
                dev.addHost("up.internal", upstream.url)
                dev.builder().build().use { gateway ->
                    val client = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()
                    fun send(method: String, seq: String, timeoutMillis: Long): String {
                        val body = if (method == "POST") "x".toRequestBody() else null
                        val call = client.newCall(Request.Builder().url("https://up.internal/$seq").method(method, body).header("X-Seq", seq).build())
                        call.timeout().timeout(timeoutMillis, TimeUnit.MILLISECONDS)
                        return call.execute().use { it.body.string() }
                    }
                    for (method in listOf("GET", "POST")) {
                        assertEquals("ok first-$method", send(method, "first-$method", 30_000))
                        // The bucket is empty now: this one is refused, waits and goes again.
                        assertEquals("ok again-$method", send(method, "again-$method", 30_000))
                        assertEquals(1, upstream.count("again-$method"))
                    }
                    // A call timeout shorter than the delay: the refusal is reported at once, not waited out.
                    val e = assertThrows<GatewayException> { send("GET", "short", 2000) }
                    assertEquals(GatewayCode.RESOURCE_EXHAUSTED, e.code)
                    assertEquals("RATE_LIMITED", e.reason)
                    assertTrue(e.retryAfterMillis > 2000, e.toString())
                    assertEquals(0, upstream.count("short"))
                }
            }
        }
    }
}
