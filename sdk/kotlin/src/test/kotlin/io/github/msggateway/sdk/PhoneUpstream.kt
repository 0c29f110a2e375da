package io.github.msggateway.sdk

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * The internal host of the mobile-network tests, on 127.0.0.1. It counts the requests it receives
 * by their X-Seq header and answers `ok SEQ`: /slow/... only the second time a request arrives
 * (the first is held until the test ends, long after the gateway gave up on it), /silent?ms=N
 * after N ms, /drain after 100 ms (so that calls are in flight when a gateway drains), anything
 * else at once.
 */
class PhoneUpstream : AutoCloseable {
    private val pool: ExecutorService = Executors.newCachedThreadPool { r -> Thread(r, "phone-upstream").apply { isDaemon = true } }
    private val server: HttpServer = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128)
    private val arrivals = ConcurrentHashMap<String, AtomicInteger>()
    private val held = CountDownLatch(1)

    val url: String get() = "http://127.0.0.1:${server.address.port}"

    init {
        server.executor = pool
        server.createContext("/") { ex -> handle(ex) }
        server.start()
    }

    private fun handle(ex: HttpExchange) {
        ex.use {
            ex.requestBody.readBytes()
            val seq = ex.requestHeaders.getFirst("X-Seq") ?: ""
            val n = arrivals.computeIfAbsent(seq) { AtomicInteger() }.incrementAndGet()
            synchronized(this) { (this as Object).notifyAll() }
            val path = ex.requestURI.path
            when {
                path.startsWith("/slow/") && n == 1 -> {
                    held.await(2, TimeUnit.MINUTES)
                    return
                }
                path == "/silent" -> Thread.sleep(ex.requestURI.query.removePrefix("ms=").toLong())
                path == "/drain" -> Thread.sleep(100)
            }
            val body = "ok $seq".toByteArray()
            ex.sendResponseHeaders(200, body.size.toLong())
            ex.responseBody.write(body)
        }
    }

    /** How many times the request [seq] arrived. */
    fun count(seq: String): Int = arrivals[seq]?.get() ?: 0

    /** Waits until the request [seq] has arrived. */
    fun awaitArrival(seq: String) {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
        synchronized(this) {
            while (count(seq) == 0) {
                val left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())
                check(left > 0) { "request $seq never reached the upstream" }
                (this as Object).wait(left)
            }
        }
    }

    override fun close() {
        held.countDown()
        server.stop(0)
        pool.shutdownNow()
    }
}
