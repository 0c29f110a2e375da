package io.github.msggateway.sdk

import java.io.IOException
import java.io.InterruptedIOException
import java.util.Collections
import java.util.concurrent.CompletableFuture
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.parallel.Execution
import org.junit.jupiter.api.parallel.ExecutionMode

/**
 * The SDK on an emulated mobile link (`internal/mobilelink`, a child process) in front of real
 * gateways (`msg-gateway serve`): network changes with and without [Gateway.networkChanged], a NAT
 * that forgets idle connections, connections reset under waiting calls, keepalive pings against
 * the gateway's policy, and a gateway drained and restarted behind the link. Times are scaled down
 * where the real ones would make the suite slow (NAT timeouts of 1-2 s instead of 30 s), as in the
 * Go tests (`client/mobile_test.go`, `server/mobile_test.go`); the tests run concurrently, since
 * they mostly wait.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Execution(ExecutionMode.CONCURRENT)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MobileNetworkTest {
    private lateinit var upstream: PhoneUpstream

    /** The gateway most tests use; it permits client pings every 10 s, gRPC's shortest interval. */
    private lateinit var main: DevGateway
    private val closers = Collections.synchronizedList(ArrayList<AutoCloseable>())

    @BeforeAll
    fun start() {
        upstream = PhoneUpstream()
        main = servedGateway("keepalive: {min_client_ping_interval: 10s}")
    }

    @AfterAll
    fun stop() {
        closers.reversed().forEach { runCatching { it.close() } }
        if (::main.isInitialized) main.close()
        if (::upstream.isInitialized) upstream.close()
    }

    /** A gateway running `serve` with [config] appended, and up.internal pointing at the upstream. */
    private fun servedGateway(config: String): DevGateway =
        DevGateway(config).also { it.addHost("up.internal", upstream.url, timeout = "90s") }

    /** A phone: alice's Gateway and OkHttp client through a new mobile link in front of [g]. */
    private inner class Phone(g: DevGateway, linkArgs: Array<String>, configure: Gateway.Builder.() -> Unit = {}) : AutoCloseable {
        val link = MobileLink(g.grpcAddress, *linkArgs)
        val gateway: Gateway = g.builder().address(link.host, link.port).apply(configure).build()

        // Only the call timeout bounds a call: the read timeout would end the silent ones.
        val client: OkHttpClient = OkHttpClient.Builder().addInterceptor(gateway.interceptor).readTimeout(0, TimeUnit.SECONDS).build()

        init {
            closers += this
        }

        /** One request to up.internal with the call timeout [timeoutMillis]: its body, or its exception. */
        fun send(method: String, path: String, seq: String, timeoutMillis: Long, header: Pair<String, String>? = null): Outcome {
            val body = if (method == "POST" || method == "PUT") "payload $seq".toRequestBody() else null
            val req = Request.Builder().url("https://up.internal$path").method(method, body).header("X-Seq", seq)
                .apply { header?.let { header(it.first, it.second) } }.build()
            val call = client.newCall(req)
            call.timeout().timeout(timeoutMillis, TimeUnit.MILLISECONDS)
            return try {
                call.execute().use { Outcome(it.body.string(), null) }
            } catch (e: IOException) {
                Outcome(null, e)
            }
        }

        fun async(method: String, path: String, seq: String, timeoutMillis: Long, header: Pair<String, String>? = null) =
            CompletableFuture.supplyAsync({ send(method, path, seq, timeoutMillis, header) }, pool)

        override fun close() {
            gateway.close()
            link.close()
        }
    }

    data class Outcome(val body: String?, val error: IOException?)

    private val pool = Executors.newCachedThreadPool { r -> Thread(r, "phone").apply { isDaemon = true } }

    private fun seconds(nanos: Long) = String.format("%.2f s", nanos / 1e9)

    /** A test that a timeout ended: OkHttp's call timeout reports an InterruptedIOException "timeout". */
    private fun timedOut(o: Outcome) = o.error is InterruptedIOException || o.error?.cause is InterruptedIOException

    /**
     * Issue 16's report: a request every 200 ms with a 5 s call timeout, and the phone moves to
     * another network mid-loop (every open connection goes silent for good). With the app's
     * networkChanged() and without it, GET and POST loops recover, losing at most one request; an
     * idempotent request in flight at the change moves to a new connection, a POST cannot and
     * waits for its timeout. The time to the first answer after the change is reported.
     */
    @Test
    fun requestLoopsAcrossANetworkChange() {
        val loops = listOf("GET" to true, "GET" to false, "POST" to true, "POST" to false).map { (method, appCall) ->
            CompletableFuture.supplyAsync({ loop(method, appCall) }, pool)
        }
        val failures = loops.map { it.get() }
        failures.forEach { (name, failed) -> assertTrue(failed <= 1, "$name: $failed requests failed after the change, want at most 1") }
        failures.filter { it.first.startsWith("GET") }.forEach { (name, failed) -> assertEquals(0, failed, "$name: an idempotent request failed") }
    }

    private fun loop(method: String, appCall: Boolean): Pair<String, Int> {
        val name = "$method loop ${if (appCall) "with" else "without"} networkChanged()"
        Phone(main, MobileLink.PHONE).use { phone ->
            class Req(val start: Long, val end: Long, val error: IOException?)
            val reqs = ArrayList<Req>()
            var changed = 0L
            var successesAfter = 0
            var i = 0
            while (successesAfter < 5) {
                check(changed == 0L || System.nanoTime() - changed < TimeUnit.SECONDS.toNanos(40)) { "$name: no recovery within 40 s of the change" }
                if (changed == 0L && reqs.size >= 6) {
                    // Mid-request, like the report's: the change lands while a request is on its way.
                    changed = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50)
                    pool.execute {
                        Thread.sleep(50)
                        phone.link.networkChange()
                        if (appCall) phone.gateway.networkChanged()
                    }
                }
                val start = System.nanoTime()
                val o = phone.send(method, "/loop/$i", "loop-$method-$appCall-${i++}", 5000)
                val r = Req(start, System.nanoTime(), o.error)
                reqs += r
                if (o.error == null && changed != 0L && r.end > changed) successesAfter++
                Thread.sleep(200)
            }
            var failed = 0
            var recovered = 0L
            var firstAfter = 0L
            for (r in reqs) {
                if (r.end < changed) {
                    assertNull(r.error, "$name: a request before the change failed")
                    continue
                }
                if (r.error != null) {
                    failed++
                    GatewayTest.report("$name: failed ${seconds(r.end - changed)} after the change: ${r.error}")
                    continue
                }
                if (recovered == 0L) recovered = r.end - changed
                if (firstAfter == 0L && r.start > changed) firstAfter = r.end - r.start
            }
            GatewayTest.report(
                "$name: first answer ${seconds(recovered)} after the change, the first request begun after it took ${seconds(firstAfter)}, $failed failed in the window",
            )
            return name to failed
        }
    }

    /**
     * After networkChanged() the next request goes out on a new connection at once, and calls
     * waiting on the old one move when they may be sent twice (a GET, a POST with an
     * Idempotency-Key); a plain POST stays where it was sent and is never sent twice. The SDK's own
     * health checks are off here, and the timeouts are shorter than the keepalive's 15 s + 10 s:
     * only networkChanged() can save the calls that move.
     */
    @Test
    fun networkChangedMovesWaitingCalls() {
        Phone(main, MobileLink.QUICK, { tuning = Tuning(probeAfterMillis = 0) }).use { phone ->
            assertEquals("ok nc-warm", phone.send("GET", "/warm", "nc-warm", 30_000).body)
            val get = phone.async("GET", "/slow/nc", "nc-get", 12_000)
            val keyed = phone.async("POST", "/slow/nc", "nc-keyed", 12_000, "Idempotency-Key" to "k1")
            val post = phone.async("POST", "/slow/nc", "nc-post", 3000)
            listOf("nc-get", "nc-keyed", "nc-post").forEach { upstream.awaitArrival(it) }
            phone.link.networkChange()
            phone.gateway.networkChanged()
            assertEquals(Outcome("ok nc-get", null), get.get(), "the GET waiting at the change, want it answered on the new connection")
            assertEquals(Outcome("ok nc-keyed", null), keyed.get(), "the POST with an Idempotency-Key waiting at the change")
            // Moved by the call, not by the plain POST's timeout (which replaces a silent
            // connection too): the POST is still waiting.
            assertFalse(post.isDone, "the plain POST ended before the calls that moved were answered")
            val p = post.get()
            assertTrue(timedOut(p), "the plain POST waiting at the change: $p, want its call timeout")
            assertEquals(listOf(2, 2, 1), listOf("nc-get", "nc-keyed", "nc-post").map { upstream.count(it) }, "arrivals at the upstream")
            assertEquals("ok nc-after", phone.send("GET", "/after", "nc-after", 10_000).body)
            val s = phone.link.stats()
            assertEquals(2, s.accepted, "connections through the link")
            assertTrue(s.firstSilenced, "the first connection was silenced")
        }
    }

    /**
     * Without networkChanged(), a call that waits in silence has its connection checked after a
     * second, and moves once three more seconds bring no answer: well within its timeout, which is
     * shorter than the keepalive's.
     */
    @Test
    fun aDeadConnectionIsNoticedWithoutTheApp() {
        Phone(main, MobileLink.QUICK).use { phone ->
            assertEquals("ok dead-warm", phone.send("GET", "/warm", "dead-warm", 30_000).body)
            val get = phone.async("GET", "/slow/dead", "dead-get", 12_000)
            upstream.awaitArrival("dead-get")
            val changed = System.nanoTime()
            phone.link.networkChange()
            assertEquals(Outcome("ok dead-get", null), get.get())
            GatewayTest.report("the waiting GET was answered ${seconds(System.nanoTime() - changed)} after the network change (its timeout: 12 s)")
            // At least: on a loaded machine a slow answer to a check may cost one more connection.
            assertTrue(phone.link.stats().accepted >= 2, "the GET was answered without a new connection")
        }
    }

    /** A call that times out with nothing read on its connection leaves the next call a new connection (health checks off: this alone). */
    @Test
    fun aCallThatTimesOutInSilenceReplacesTheConnection() {
        Phone(main, MobileLink.QUICK, { tuning = Tuning(probeAfterMillis = 0) }).use { phone ->
            assertEquals("ok to-warm", phone.send("GET", "/warm", "to-warm", 30_000).body)
            phone.link.networkChange()
            val lost = phone.send("POST", "/fast", "to-lost", 300)
            assertTrue(timedOut(lost), "POST into the silenced connection: $lost")
            assertEquals(Outcome("ok to-next", null), phone.send("POST", "/fast", "to-next", 10_000), "the next POST, on a new connection")
            assertEquals(0, upstream.count("to-lost"), "the POST sent into the silenced connection reached the upstream")
        }
    }

    /** A connection reset before the answer: the PUT is sent again on a new connection; the POST fails with UNAVAILABLE, having reached the upstream once. */
    @Test
    fun aResetConnectionSendsTheIdempotentRequestAgain() {
        Phone(main, MobileLink.QUICK).use { phone ->
            assertEquals("ok rs-warm", phone.send("GET", "/warm", "rs-warm", 30_000).body)
            val put = phone.async("PUT", "/slow/rs", "rs-put", 30_000)
            val post = phone.async("POST", "/slow/rs", "rs-post", 30_000)
            upstream.awaitArrival("rs-put")
            upstream.awaitArrival("rs-post")
            phone.link.reset()
            assertEquals(Outcome("ok rs-put", null), put.get())
            assertEquals(2, upstream.count("rs-put"))
            val p = post.get().error
            assertTrue(p is GatewayException && p.code == GatewayCode.UNAVAILABLE, "POST cut off by a reset: $p, want UNAVAILABLE")
            assertEquals(1, upstream.count("rs-post"))
        }
    }

    /**
     * With the SDK's idle timeout below the NAT's, the SDK closes an idle connection itself and the
     * next request opens a new one, instead of meeting a connection the NAT forgot. Scaled down:
     * NAT 8 s, idle 6 s (the shortest gRPC allows, see [Gateway.Builder.idleTimeout]).
     */
    @Test
    fun theIdleCloseBeatsTheNat() {
        Phone(main, MobileLink.QUICK + arrayOf("-nat-idle-timeout", "8s"), { idleTimeout(6, TimeUnit.SECONDS) }).use { phone ->
            assertEquals("ok idle-warm", phone.send("GET", "/warm", "idle-warm", 30_000).body)
            val idleFrom = System.nanoTime()
            val deadline = idleFrom + TimeUnit.SECONDS.toNanos(30)
            while (phone.link.stats().open != 0L) {
                check(System.nanoTime() < deadline) { "the idle connection was not closed" }
                Thread.sleep(20)
            }
            GatewayTest.report("idle close: the SDK closed the idle connection ${seconds(System.nanoTime() - idleFrom)} after the last answer (idleTimeout 6 s)")
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(idleFrom + TimeUnit.MILLISECONDS.toNanos(8200) - System.nanoTime())) // idle past the NAT's timeout
            for (method in listOf("GET", "POST")) {
                assertEquals(Outcome("ok idle-$method", null), phone.send(method, "/fast", "idle-$method", 10_000))
            }
            val s = phone.link.stats()
            assertEquals(0L to 2L, s.silenced to s.accepted, "(blackholed, accepted): a second connection and none blackholed")
        }
    }

    /**
     * With no idle timeout, a GET sent on a connection the NAT forgot moves to a new one once a
     * health check goes unanswered, and a POST is never sent on such a connection: after five
     * seconds of silence the connection is checked first. Neither waits for its timeout. Scaled
     * down: NAT 2 s.
     */
    @Test
    fun aNatDropIsNoticedBeforeAGetGoesUnanswered() = natDrop("GET", 2500)

    @Test
    fun aNatDropIsNoticedBeforeAPostIsSent() = natDrop("POST", 5500)

    private fun natDrop(method: String, idleMillis: Long) {
        Phone(main, MobileLink.QUICK + arrayOf("-nat-idle-timeout", "2s"), { idleTimeout(0, TimeUnit.SECONDS) }).use { phone ->
            assertEquals("ok nat-warm-$method", phone.send("GET", "/warm", "nat-warm-$method", 30_000).body)
            Thread.sleep(idleMillis) // past the NAT's timeout (and, for the POST, the SDK's trust in a silent connection)
            val start = System.nanoTime()
            assertEquals(Outcome("ok nat-$method", null), phone.send(method, "/fast", "nat-$method", 20_000))
            GatewayTest.report("$method after ${idleMillis} ms idle, the NAT having dropped the connection, took ${seconds(System.nanoTime() - start)}")
            val s = phone.link.stats()
            assertEquals(1L to 2L, s.silenced to s.accepted, "(blackholed, accepted): the NAT blackholed the first connection")
            assertEquals(1, upstream.count("nat-$method"))
        }
    }

    /**
     * The SDK's keepalive pings during a call that waits in silence are what the gateway's policy
     * permits when the two intervals agree, and earn a GOAWAY "too_many_pings" when the SDK pings
     * more often than the gateway allows. gRPC's shortest interval, 10 s, makes this a 45 s test
     * (the gateway tolerates two early pings before the third refuses them), as the Go client's
     * TestClientPingsMeetTheGatewayPolicy.
     */
    @Test
    fun keepalivePingsMeetTheGatewayPolicy() {
        val strict = servedGateway("keepalive: {min_client_ping_interval: 15s}").also { closers += it }
        fun run(g: DevGateway, name: String) = CompletableFuture.supplyAsync({
            Phone(g, MobileLink.QUICK, { keepalive(10, 5, TimeUnit.SECONDS) }).use { phone ->
                // A POST, so that a refused connection is not hidden by a retry.
                val call = phone.async("POST", "/silent?ms=45000", "ka-$name", 120_000)
                upstream.awaitArrival("ka-$name")
                // From here on the SDK's pings (and one health check after a second) are all that goes up.
                val before = phone.link.stats().upBytes
                val o = call.get()
                val s = phone.link.stats()
                Triple(o, s.accepted, s.upBytes - before)
            }
        }, pool)
        val agree = run(main, "agree")
        val tooOften = run(strict, "often")
        val (o, accepted, up) = agree.get()
        val (refused, _, _) = tooOften.get()
        GatewayTest.report("keepalive: intervals agree: $o, $up bytes up during 45 s of silence; pinging too often: ${refused.error}")
        assertEquals(Outcome("ok ka-agree", null), o, "the silent call on a gateway that permits pings every 10 s")
        assertEquals(1L, accepted, "connections: the pings must not cost the connection")
        val e = refused.error
        // grpc-okhttp reports a GOAWAY ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED, with the debug data.
        assertTrue(
            e is GatewayException && e.code == GatewayCode.RESOURCE_EXHAUSTED && "too_many_pings" in (e.message ?: ""),
            "pinging every 10 s a gateway that permits every 15 s: $refused, want a GOAWAY too_many_pings",
        )
        assertEquals(1, upstream.count("ka-often"), "the POST refused with its connection was sent again")
    }

    /**
     * The gateway as a child process behind the link, restarted (SIGTERM, drain, exit, a new
     * process on a new port that the link is pointed at, as a load balancer would) while loops send
     * GETs and POSTs. No GET may fail; a POST may fail only with UNAVAILABLE and only when it never
     * reached the upstream (the drain answers every stream the gateway took: a POST is lost only
     * when it could not be sent, and the SDK never sends one twice); a POST that succeeded reached
     * it exactly once. The drained gateway must exit cleanly: a gateway that dies in its drain
     * loses calls it had relayed.
     */
    @Test
    fun aGatewayDrainedAndRestartedBehindTheLinkLosesNoIdempotentRequest() {
        val g = servedGateway("").also { closers += it }
        Phone(g, arrayOf("-rtt", "60ms", "-jitter", "10ms", "-uplink-bps", "1000000", "-downlink-bps", "5000000")).use { phone ->
            class Result(val seq: String, val method: String, val start: Long, val end: Long, val error: IOException?)
            val results = Collections.synchronizedList(ArrayList<Result>())
            val restarted = AtomicBoolean()
            val okAfter = AtomicInteger()
            val okBefore = AtomicInteger()
            val n = AtomicInteger()
            val workers = listOf("GET", "GET", "GET", "POST", "POST").map { method ->
                CompletableFuture.runAsync({
                    while (okAfter.get() < 30) {
                        val i = n.incrementAndGet()
                        check(i <= 2000) { "the loop did not recover" }
                        val seq = "drain-$method-$i"
                        val start = System.nanoTime()
                        val o = phone.send(method, "/drain", seq, 45_000)
                        check(o.body == null || o.body == "ok $seq") { "body ${o.body}" }
                        results += Result(seq, method, start, System.nanoTime(), o.error)
                        if (o.error == null) (if (restarted.get()) okAfter else okBefore).incrementAndGet()
                    }
                }, pool)
            }
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
            while (okBefore.get() < 10) {
                check(System.nanoTime() < deadline) { "no load got through before the restart" }
                Thread.sleep(20)
            }
            val signalled = System.nanoTime()
            assertEquals(0, g.stop(), "the drained gateway's exit status")
            // A restart takes a while: requests keep coming meanwhile.
            Thread.sleep(1000)
            g.restart()
            phone.link.configure("""{"target":"${g.grpcAddress}"}""")
            val back = System.nanoTime()
            restarted.set(true)
            workers.forEach { it.get() }

            var gets = 0
            var posts = 0
            var postsFailed = 0
            var inFlight = 0
            var duringOutage = 0
            for (r in results.toList()) {
                if (r.start < signalled && r.end > signalled) inFlight++
                if (r.start > signalled && r.start < back) duringOutage++
                val got = upstream.count(r.seq)
                when {
                    r.method == "GET" -> {
                        gets++
                        assertNull(r.error, "GET ${r.seq} failed")
                    }
                    r.error == null -> {
                        posts++
                        assertEquals(1, got, "POST ${r.seq} succeeded: arrivals at the upstream")
                    }
                    else -> {
                        posts++
                        postsFailed++
                        val e = r.error
                        assertTrue(e is GatewayException && e.code == GatewayCode.UNAVAILABLE, "POST ${r.seq} failed with $e, want UNAVAILABLE")
                        assertEquals(0, got, "POST ${r.seq} failed ($e) but reached the upstream")
                    }
                }
            }
            GatewayTest.report(
                "across the restart: $gets GETs (none may fail), $posts POSTs ($postsFailed failed with UNAVAILABLE, none of them seen by the upstream); $inFlight in flight at SIGTERM, " +
                    "$duringOutage begun while the gateway was away (${seconds(back - signalled)})",
            )
            assertTrue(inFlight > 0, "no request in flight at the signal: the test proved nothing")
        }
    }
}
