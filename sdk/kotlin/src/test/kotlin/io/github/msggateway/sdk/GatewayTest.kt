package io.github.msggateway.sdk

import java.io.File
import java.io.IOException
import java.lang.management.ManagementFactory
import java.security.MessageDigest
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okio.BufferedSink
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.parallel.Isolated

/**
 * The SDK through OkHttp against the real gateway in dev mode, with an internal host the test
 * controls for the streaming cases.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
// Alone: the heap growth the 64 MiB tests measure must be this class's own.
@Isolated
class GatewayTest {
    private lateinit var dev: DevGateway
    private lateinit var upstream: Upstream
    private lateinit var gateway: Gateway
    private lateinit var client: OkHttpClient

    @BeforeAll
    fun start() {
        dev = DevGateway()
        upstream = Upstream()
        dev.addHost("up.internal", upstream.url)
        dev.addHost("trailers.internal", upstream.rawUrl)
        gateway = dev.builder().build()
        client = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()
    }

    @AfterAll
    fun stop() {
        if (::gateway.isInitialized) gateway.close()
        if (::upstream.isInitialized) upstream.close()
        if (::dev.isInitialized) dev.close()
    }

    private fun get(url: String, c: OkHttpClient = client) = c.newCall(Request.Builder().url(url).build())

    @Test
    fun aliceGetsTheDemoHost() {
        get("https://demo.internal/hello?x=1").execute().use { resp ->
            assertEquals(200, resp.code)
            assertEquals("application/json", resp.body.contentType()?.toString())
            val body = resp.body.string()
            assertTrue("hello from the demo internal host" in body, body)
            assertTrue("\"principal\":\"alice\"" in body, body)
            assertTrue("\"path\":\"/hello?x=1\"" in body, body)
            // The gateway's certificate, as OkHttp reports a handshake.
            assertTrue(resp.handshake!!.peerCertificates.isNotEmpty())
        }
    }

    @Test
    fun malloryIsRefusedWithTheStableReason() {
        dev.builder("mallory").build().use { g ->
            val c = OkHttpClient.Builder().addInterceptor(g.interceptor).build()
            val e = assertThrows<GatewayException> { get("https://demo.internal/hello", c).execute() }
            assertEquals(GatewayCode.PERMISSION_DENIED, e.code)
            assertEquals("POLICY_DENIED", e.reason)
            assertEquals(0L, e.retryAfterMillis)
        }
    }

    @Test
    fun alicePrivateIsRefusedWithTheStableReason() {
        val e = assertThrows<GatewayException> { get("https://demo.internal/private/x").execute() }
        assertEquals(GatewayCode.PERMISSION_DENIED, e.code)
        assertEquals("POLICY_DENIED", e.reason)
        assertTrue("demo-private-area" !in e.message!!)
    }

    @Test
    fun hostsThatAreNotRoutedGoThroughOkHttp() {
        // The admin listener is plain HTTP on loopback: OkHttp reaches it itself.
        dev.builder(routes = arrayOf("demo.internal")).build().use { g ->
            val c = OkHttpClient.Builder().addInterceptor(g.interceptor).build()
            get("${dev.adminUrl}/healthz", c).execute().use { assertEquals(200, it.code) }
        }
    }

    @Test
    fun aGatewayWithAnotherTrustAnchorIsRefused() {
        // mallory's certificate is no CA of the gateway's: the handshake must fail. (With the
        // system roots, or no verification, the call would succeed.)
        val wrong = dev.builder().trustedCertificates(File(dev.dir, "mallory.pem")).build()
        wrong.use { g ->
            val c = OkHttpClient.Builder().addInterceptor(g.interceptor).build()
            val e = assertThrows<GatewayException> { get("https://demo.internal/hello", c).execute() }
            assertEquals(GatewayCode.UNAVAILABLE, e.code)
        }
    }

    @Test
    fun smallRequestsTravelAsOneMessageOnceTheGatewayAnnouncedIt() {
        dev.builder().build().use { g ->
            val c = OkHttpClient.Builder().addInterceptor(g.interceptor).build()
            val received = { dev.metric("grpc_server_msg_received_total", "grpc_method=\"ForwardStream\"") }
            // The first call on a new connection is the classic form: head, then end.
            var before = received()
            get("https://demo.internal/one", c).execute().use { assertEquals(200, it.code) }
            assertEquals(2.0, received() - before)
            // Later ones are one message, a small body included.
            before = received()
            get("https://demo.internal/two", c).execute().use { assertEquals(200, it.code) }
            val post = Request.Builder().url("https://demo.internal/echo")
                .post("x".repeat(1000).toRequestBody("text/plain".toMediaType())).build()
            c.newCall(post).execute().use { resp ->
                val body = resp.body.string()
                assertTrue("\"body_bytes\":1000" in body, body)
                assertTrue("\"method\":\"POST\"" in body, body)
            }
            assertEquals(2.0, received() - before)
        }
    }

    @Test
    fun trailersAreExposedAfterTheBody() {
        get("https://trailers.internal/t").execute().use { resp ->
            assertEquals(200, resp.code)
            assertNull(resp.peekTrailers())
            assertEquals("hello", resp.body.string())
            assertEquals("abc123", resp.trailers()["X-Checksum"])
        }
    }

    @Test
    fun aBodyCutShortEndsInAnErrorNotAnEndOfStream() {
        // The internal host announces 100000 bytes, sends 50000 and hangs up. (A response that
        // fits one message fails before its head instead: the gateway reads it whole first.)
        get("https://trailers.internal/short").execute().use { resp ->
            assertEquals(200, resp.code)
            assertEquals(100000, resp.body.contentLength())
            // Read with the source: ResponseBody.bytes() would check the length itself.
            val e = assertThrows<IOException> { resp.body.source().readByteString() }
            assertTrue(e is GatewayException && e.code == GatewayCode.UNAVAILABLE, e.toString())
        }
    }

    @Test
    fun theBuilderRefusesAGatewayWithoutIdentityOrTrust() {
        val noIdentity = Gateway.Builder().address("127.0.0.1", 1).trustedCertificates(File(dev.dir, "ca.pem")).routeHost("a.internal")
        assertTrue("client identity" in assertThrows<IllegalStateException> { noIdentity.build() }.message!!)
        val noTrust = Gateway.Builder().address("127.0.0.1", 1).clientPem(File(dev.dir, "alice.pem"), File(dev.dir, "alice-key.pem"))
            .routeHost("a.internal")
        assertTrue("trusted certificates" in assertThrows<IllegalStateException> { noTrust.build() }.message!!)
        val badKey = dev.builder().clientPem(File(dev.dir, "alice.pem"), File(dev.dir, "alice.pem"))
        assertTrue("PRIVATE KEY" in assertThrows<IOException> { badKey.build() }.message!!)
    }

    /*
     * The two 64 MiB tests also stall one side for a moment (the app stops reading; the upstream
     * stops reading) and take a heap sample then: a transport without flow control would take in
     * the rest of the body meanwhile, and the upstream would finish writing (or the app's
     * writeTo would return). The stall ends when that happens or after STALL_MILLIS; a pass never
     * depends on its length, which only gives a transport that buffers the time to show it.
     */

    @Test
    fun download64MiBInConstantMemory() {
        val n = 64L shl 20
        upstream.bigDone = CountDownLatch(1)
        val baseline = usedHeapAfterGc()
        var peak = 0L
        val md = MessageDigest.getInstance("SHA-256")
        get("https://up.internal/big?n=$n").execute().use { resp ->
            assertEquals(200, resp.code)
            assertEquals(n, resp.body.contentLength())
            val source = resp.body.source()
            val buf = ByteArray(64 * 1024)
            var total = 0L
            var nextSample = 8L shl 20
            while (true) {
                val r = source.read(buf)
                if (r < 0) break
                md.update(buf, 0, r)
                total += r
                if (total >= nextSample) {
                    if (nextSample == 8L shl 20) {
                        val finished = upstream.bigDone.await(STALL_MILLIS, TimeUnit.MILLISECONDS)
                        report("download 64 MiB: after reading 8 MiB and stalling, the upstream had written " +
                            "${upstream.bigWritten.get() shr 20} MiB (finished: $finished)")
                    }
                    peak = maxOf(peak, usedHeapAfterGc() - baseline)
                    nextSample += 8L shl 20
                }
            }
            assertEquals(n, total)
        }
        assertEquals(Upstream.patternSha256(n), Upstream.hex(md.digest()))
        report("download 64 MiB: heap growth after GC, largest of 8 samples: ${peak / 1024} KiB")
        assertTrue(peak < HEAP_BOUND, "heap grew by $peak bytes during the download; bound $HEAP_BOUND")
    }

    @Test
    fun upload64MiBInConstantMemory() {
        val n = 64L shl 20
        upstream.uploadHeld = CountDownLatch(1)
        upstream.uploadRelease = CountDownLatch(1)
        val baseline = usedHeapAfterGc()
        val peak = AtomicLong()
        val writtenAll = CountDownLatch(1)
        val body = object : RequestBody() {
            override fun contentType() = "application/octet-stream".toMediaType()
            override fun contentLength() = n
            override fun writeTo(sink: BufferedSink) {
                var written = 0L
                var nextSample = 16L shl 20
                Upstream.writePattern(n) { b, len ->
                    sink.write(b, 0, len)
                    written += len
                    if (written >= nextSample) {
                        peak.accumulateAndGet(usedHeapAfterGc() - baseline, ::maxOf)
                        nextSample += 16L shl 20
                    }
                }
                writtenAll.countDown()
            }
        }
        val req = Request.Builder().url("https://up.internal/upload?hold=${8L shl 20}").put(body).build()
        val answer = CompletableFuture.supplyAsync {
            client.newCall(req).execute().use { resp -> resp.code to resp.body.string() }
        }
        assertTrue(upstream.uploadHeld.await(120, TimeUnit.SECONDS), "the upload never reached the upstream")
        val finished = writtenAll.await(STALL_MILLIS, TimeUnit.MILLISECONDS)
        report("upload 64 MiB: with the upstream stalled after 8 MiB, writeTo returned: $finished")
        peak.accumulateAndGet(usedHeapAfterGc() - baseline, ::maxOf)
        upstream.uploadRelease.countDown()
        val (code, text) = answer.get(120, TimeUnit.SECONDS)
        assertEquals(200, code)
        assertEquals("$n ${Upstream.patternSha256(n)}", text)
        report("upload 64 MiB: heap growth after GC, largest of 5 samples: ${peak.get() / 1024} KiB")
        assertTrue(peak.get() < HEAP_BOUND, "heap grew by ${peak.get()} bytes during the upload; bound $HEAP_BOUND")
    }

    @Test
    fun cancelMidDownloadReachesTheUpstream() {
        upstream.endlessAborted = CountDownLatch(1)
        val call = get("https://up.internal/endless")
        val resp = call.execute()
        val source = resp.body.source()
        source.require(1L shl 20) // the download is under way
        call.cancel()
        assertTrue(upstream.endlessAborted.await(120, TimeUnit.SECONDS), "the upstream never saw its request aborted")
        // The body does not end as if it were complete.
        val e = assertThrows<IOException> {
            while (!source.exhausted()) source.skip(source.buffer.size)
        }
        assertTrue(e is GatewayException && e.code == GatewayCode.CANCELLED, e.toString())
        resp.close()
    }

    @Test
    fun serverSentEventsArriveEventByEvent() {
        upstream.sseRelease = CountDownLatch(1)
        get("https://up.internal/sse").execute().use { resp ->
            assertEquals("text/event-stream", resp.body.contentType()?.toString())
            val source = resp.body.source()
            // The upstream holds the second event until we have read the first: this read
            // returns only if the first event was relayed on its own.
            val first = CompletableFuture.supplyAsync { source.readUtf8Line() + "|" + source.readUtf8Line() }
            assertEquals("data: one|", first.get(120, TimeUnit.SECONDS))
            upstream.sseRelease.countDown()
            assertEquals("data: two", source.readUtf8Line())
            assertEquals("", source.readUtf8Line())
            assertTrue(source.exhausted())
        }
    }

    @Test
    fun bytecodeIsJava8() {
        for (name in listOf("io/github/msggateway/sdk/Gateway.class", "msg/gateway/v1/GatewayServiceGrpc.class")) {
            val bytes = javaClass.classLoader.getResourceAsStream(name)!!.use { it.readBytes() }
            val major = ((bytes[6].toInt() and 0xff) shl 8) or (bytes[7].toInt() and 0xff)
            assertEquals(52, major, name)
        }
    }

    companion object {
        /** The SDK's heap growth allowed during a 64 MiB transfer: a fraction of the body. */
        const val HEAP_BOUND = 16L shl 20

        /** How long a 64 MiB test stalls one side at most; see above. */
        const val STALL_MILLIS = 5000L

        fun usedHeapAfterGc(): Long {
            repeat(2) { System.gc() }
            return ManagementFactory.getMemoryMXBean().heapMemoryUsage.used
        }

        fun report(line: String) {
            println("[msg-sdk] $line")
            File(DevGateway.root, "sdk/kotlin/target").mkdirs()
            File(DevGateway.root, "sdk/kotlin/target/measurements.txt").appendText(line + "\n")
        }
    }
}
