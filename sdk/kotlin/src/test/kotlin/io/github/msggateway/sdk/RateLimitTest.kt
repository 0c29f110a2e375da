package io.github.msggateway.sdk

import okhttp3.OkHttpClient
import okhttp3.Request
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/**
 * The gateway's per-identity rate limit (dev mode: 100/s, burst 200) reaches the app as a
 * GatewayException with the stable reason and the RetryInfo delay. A gateway of its own, so that
 * the spent budget cannot refuse other tests' requests.
 */
@Timeout(180)
class RateLimitTest {
    @Test
    fun aRateLimitCarriesItsReasonAndRetryDelay() {
        DevGateway().use { dev ->
            dev.builder().build().use { gateway ->
                val client = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()
                val request = Request.Builder().url("https://demo.internal/burst").build()
                var refused: GatewayException? = null
                // Bounded: the burst is 200, so a refusal comes long before the last request.
                for (i in 1..5000) {
                    try {
                        client.newCall(request).execute().use { assertEquals(200, it.code) }
                    } catch (e: GatewayException) {
                        refused = e
                        break
                    }
                }
                val e = refused ?: error("5000 requests and no rate limit")
                assertEquals(GatewayCode.RESOURCE_EXHAUSTED, e.code)
                assertEquals("RATE_LIMITED", e.reason)
                assertTrue(e.retryAfterMillis > 0, e.toString())
            }
        }
    }
}
