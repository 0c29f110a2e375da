package io.github.msggateway.sdk

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import java.io.IOException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.security.MessageDigest
import java.util.Random
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/**
 * An internal host the tests control, on 127.0.0.1: the JDK's HTTP server with the handlers the
 * streaming tests need, and a raw socket server for a response with HTTP trailers (which the JDK
 * server cannot send).
 */
class Upstream : AutoCloseable {
    private val pool: ExecutorService = Executors.newCachedThreadPool { r -> Thread(r, "upstream").apply { isDaemon = true } }
    private val server: HttpServer = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64)
    private val raw = ServerSocket(0, 16, InetAddress.getLoopbackAddress())

    /** Counted down when the SSE handler may send its second event. */
    @Volatile
    var sseRelease = CountDownLatch(1)

    /** Counted down when a write to an /endless response failed: the gateway aborted the request. */
    @Volatile
    var endlessAborted = CountDownLatch(1)

    /** Bytes the last /big response has written so far; [bigDone] is counted down when it wrote them all. */
    val bigWritten = java.util.concurrent.atomic.AtomicLong()

    @Volatile
    var bigDone = CountDownLatch(1)

    /** /upload?hold=N counts [uploadHeld] down after reading N bytes, then waits for [uploadRelease]. */
    @Volatile
    var uploadHeld = CountDownLatch(1)

    @Volatile
    var uploadRelease = CountDownLatch(1)

    val url: String get() = "http://127.0.0.1:${server.address.port}"
    val rawUrl: String get() = "http://127.0.0.1:${raw.localPort}"

    init {
        server.executor = pool
        // /big?n=N: N bytes of [pattern], with Content-Length.
        server.createContext("/big") { ex ->
            ex.use {
                val n = ex.requestURI.query.removePrefix("n=").toLong()
                ex.responseHeaders.add("Content-Type", "application/octet-stream")
                ex.sendResponseHeaders(200, n)
                bigWritten.set(0)
                ex.responseBody.use { out ->
                    writePattern(n) { b, len ->
                        out.write(b, 0, len)
                        bigWritten.addAndGet(len.toLong())
                    }
                }
                bigDone.countDown()
            }
        }
        // /upload[?hold=N]: reads the body, answers "<bytes> <sha256>".
        server.createContext("/upload") { ex ->
            ex.use {
                val hold = ex.requestURI.query?.removePrefix("hold=")?.toLong() ?: -1L
                val md = MessageDigest.getInstance("SHA-256")
                val buf = ByteArray(64 * 1024)
                var total = 0L
                ex.requestBody.use { input ->
                    while (true) {
                        val n = input.read(buf)
                        if (n < 0) break
                        md.update(buf, 0, n)
                        if (total < hold && total + n >= hold) {
                            uploadHeld.countDown()
                            uploadRelease.await(120, TimeUnit.SECONDS)
                        }
                        total += n
                    }
                }
                val sha = hex(md.digest())
                val bytes = "$total $sha".toByteArray()
                ex.sendResponseHeaders(200, bytes.size.toLong())
                ex.responseBody.use { it.write(bytes) }
            }
        }
        // /sse: one event, then waits for sseRelease, then a second event and the end.
        server.createContext("/sse") { ex ->
            ex.use {
                ex.responseHeaders.add("Content-Type", "text/event-stream")
                ex.sendResponseHeaders(200, 0)
                val out = ex.responseBody
                out.write("data: one\n\n".toByteArray())
                out.flush()
                sseRelease.await(120, TimeUnit.SECONDS)
                out.write("data: two\n\n".toByteArray())
                out.close()
            }
        }
        // /endless: writes until the write fails, which is how it sees the request aborted.
        server.createContext("/endless") { ex ->
            ex.use {
                ex.sendResponseHeaders(200, 0)
                val chunk = ByteArray(32 * 1024) { 'x'.code.toByte() }
                try {
                    ex.responseBody.use { out ->
                        while (true) {
                            out.write(chunk)
                            out.flush()
                        }
                    }
                } catch (_: IOException) {
                    endlessAborted.countDown()
                }
            }
        }
        server.start()
        thread(isDaemon = true, name = "upstream-raw") { serveRaw() }
    }

    /**
     * One response per connection. /short announces 100000 bytes, sends 50000 and hangs up; anything
     * else is a chunked body "hello" with the trailer X-Checksum: abc123.
     */
    private fun serveRaw() {
        while (!raw.isClosed) {
            val s = try {
                raw.accept()
            } catch (_: IOException) {
                return
            }
            pool.execute {
                s.use {
                    val input = s.getInputStream().bufferedReader(Charsets.ISO_8859_1)
                    val requestLine = input.readLine() ?: ""
                    while (true) {
                        val line = input.readLine() ?: break
                        if (line.isEmpty()) break
                    }
                    if (requestLine.startsWith("GET /short ")) {
                        s.getOutputStream().write(
                            ("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(50000)).toByteArray(Charsets.ISO_8859_1),
                        )
                        s.getOutputStream().flush()
                        return@execute
                    }
                    s.getOutputStream().write(
                        ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n" +
                            "Trailer: X-Checksum\r\nConnection: close\r\n\r\n" +
                            "5\r\nhello\r\n0\r\nX-Checksum: abc123\r\n\r\n").toByteArray(Charsets.ISO_8859_1),
                    )
                    s.getOutputStream().flush()
                }
            }
        }
    }

    override fun close() {
        sseRelease.countDown()
        uploadRelease.countDown()
        server.stop(0)
        raw.close()
        pool.shutdownNow()
    }

    companion object {
        /** 64 KiB of seeded random bytes, repeated to make any length. */
        private val pattern = ByteArray(64 * 1024).also { Random(42).nextBytes(it) }

        /** Passes [n] bytes of the pattern to [write], in pieces of at most 64 KiB. */
        fun writePattern(n: Long, write: (ByteArray, Int) -> Unit) {
            var left = n
            while (left > 0) {
                val len = minOf(left, pattern.size.toLong()).toInt()
                write(pattern, len)
                left -= len
            }
        }

        fun patternSha256(n: Long): String {
            val md = MessageDigest.getInstance("SHA-256")
            writePattern(n) { b, len -> md.update(b, 0, len) }
            return hex(md.digest())
        }

        fun hex(b: ByteArray): String = b.joinToString("") { "%02x".format(it) }
    }
}

private inline fun HttpExchange.use(block: () -> Unit) {
    try {
        block()
    } finally {
        close()
    }
}
