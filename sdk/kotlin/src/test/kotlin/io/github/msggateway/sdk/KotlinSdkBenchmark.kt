package io.github.msggateway.sdk

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import com.sun.net.httpserver.HttpsConfigurator
import com.sun.net.httpserver.HttpsServer
import java.io.File
import java.lang.management.ManagementFactory
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import javax.net.ssl.SSLContext
import javax.net.ssl.X509TrustManager
import okhttp3.OkHttpClient
import okhttp3.Request
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.condition.EnabledIfSystemProperty

/**
 * Small GETs in one run, at concurrency 1: through the SDK and the gateway to an HTTP server in a
 * second JVM, and with plain OkHttp straight to the same server's HTTPS port. It reports the p50
 * latency and the CPU per request of this (the app's) process, of the gateway and of the server.
 * The gateway runs `serve` on dev mode's config with the per-identity rate limit raised (the
 * default, 100/s, is what the gateway is for, not what a benchmark measures). Not a test: `make bench-kotlin` runs it (the name keeps it out of
 * `mvn test`).
 */
@EnabledIfSystemProperty(named = "msg.bench", matches = "true")
class KotlinSdkBenchmark {
    private val os = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean

    @Test
    fun smallGet() {
        DevGateway(serveConfig = "limits: {rate_per_second: 1000000, burst: 1000000}").use { dev ->
            val server = ProcessBuilder(
                File(System.getProperty("java.home"), "bin/java").path, "-cp", System.getProperty("java.class.path"),
                // Without TCP_NODELAY the JDK's server meets delayed ACKs: 40 ms per response.
                "-Dsun.net.httpserver.nodelay=true",
                HttpsUpstream::class.java.name, File(dev.dir, "server.pem").path, File(dev.dir, "server-key.pem").path,
            ).redirectError(ProcessBuilder.Redirect.INHERIT).start()
            try {
                val (port, plainPort) = server.inputStream.bufferedReader().readLine().split(' ').map { it.toInt() }
                dev.addHost("bench.internal", "http://127.0.0.1:$plainPort")
                val anchors = TlsMaterial.certificates(File(dev.dir, "ca.pem"))
                val tm = TlsMaterial.trustManager(anchors) as X509TrustManager
                val ssl = SSLContext.getInstance("TLS").apply { init(null, arrayOf(tm), null) }
                val direct = OkHttpClient.Builder().sslSocketFactory(ssl.socketFactory, tm).build()
                dev.builder(routes = arrayOf("bench.internal")).build().use { gateway ->
                    val sdk = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()
                    val modes = listOf(
                        Mode("sdk via gateway", sdk, "https://bench.internal/bench") { dev.cpuNanos() + cpuNanos(server.pid()) },
                        Mode("okhttp direct https", direct, "https://127.0.0.1:$port/bench") { cpuNanos(server.pid()) },
                    )
                    for (m in modes) m.run(WARMUP)
                    val results = modes.associateWith { mutableListOf<Result>() }
                    repeat(ROUNDS) { for (m in modes) results.getValue(m) += m.run(N) }
                    for ((m, rs) in results) {
                        val line = "%-20s p50 %5d µs, app CPU %4d µs/req, gateway+server CPU %4d µs/req (median of %d rounds of %d)".format(
                            m.name, median(rs.map { it.p50Micros }), median(rs.map { it.cpuMicros }),
                            median(rs.map { it.serverCpuMicros }), ROUNDS, N,
                        )
                        GatewayTest.report("bench: $line")
                    }
                }
                direct.dispatcher.executorService.shutdown()
            } finally {
                server.destroy()
                server.waitFor(30, TimeUnit.SECONDS)
            }
        }
    }

    private class Result(val p50Micros: Long, val cpuMicros: Long, val serverCpuMicros: Long)

    private inner class Mode(val name: String, val client: OkHttpClient, val url: String, val serverCpu: () -> Long) {
        fun run(n: Int): Result {
            val request = Request.Builder().url(url).build()
            val latencies = LongArray(n)
            val cpu0 = os.processCpuTime
            val server0 = serverCpu()
            for (i in 0 until n) {
                val t0 = System.nanoTime()
                client.newCall(request).execute().use { resp ->
                    resp.body.bytes()
                    assertEquals(200, resp.code)
                }
                latencies[i] = System.nanoTime() - t0
            }
            val cpu = os.processCpuTime - cpu0
            val server = serverCpu() - server0
            latencies.sort()
            return Result(latencies[n / 2] / 1000, cpu / n / 1000, server / n / 1000)
        }
    }

    private fun median(xs: List<Long>) = xs.sorted()[xs.size / 2]

    companion object {
        const val WARMUP = 2000
        const val N = 2000
        const val ROUNDS = 5

        fun cpuNanos(pid: Long): Long {
            val fields = File("/proc/$pid/stat").readText().substringAfterLast(')').trim().split(' ')
            return (fields[11].toLong() + fields[12].toLong()) * 10_000_000L
        }
    }
}

/**
 * The benchmark's internal host, in its own JVM: the same handler on an HTTPS port (for direct
 * access; HTTP/1.1 with keep-alive) and a plain HTTP port (behind the gateway). Prints both ports.
 */
object HttpsUpstream {
    private val body = """{"host":"bench.internal","method":"GET","path":"/bench","message":"hello from the benchmark host"}""".toByteArray()

    private fun handle(ex: HttpExchange) {
        ex.requestBody.readBytes()
        ex.responseHeaders.add("Content-Type", "application/json")
        ex.sendResponseHeaders(200, body.size.toLong())
        ex.responseBody.use { it.write(body) }
    }

    @JvmStatic
    fun main(args: Array<String>) {
        val km = TlsMaterial.pem(File(args[0]), File(args[1]))
        val ssl = SSLContext.getInstance("TLS").apply { init(arrayOf(km), null, null) }
        val server = HttpsServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64)
        server.httpsConfigurator = HttpsConfigurator(ssl)
        server.executor = Executors.newFixedThreadPool(2)
        val plain = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64)
        plain.executor = server.executor
        plain.createContext("/") { ex -> handle(ex) }
        server.createContext("/") { ex -> handle(ex) }
        server.start()
        plain.start()
        println("${server.address.port} ${plain.address.port}")
        System.out.flush()
    }
}
