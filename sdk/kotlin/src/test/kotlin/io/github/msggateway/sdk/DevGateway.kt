package io.github.msggateway.sdk

import java.io.File
import java.nio.file.Files
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * The real gateway in dev mode, as a child process on free loopback ports in a temporary
 * directory: `msg-gateway dev --dir DIR --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0`. The
 * binary is built from this checkout once per test JVM. [close] stops it by its PID.
 *
 * With [serveConfig], dev mode runs once to write its PKI, config and store, and the gateway then
 * runs as `msg-gateway serve` on that config with [serveConfig] appended (dev mode's demo host is
 * gone then: register an upstream with [addHost]).
 */
class DevGateway(serveConfig: String? = null, beforeServe: (File) -> Unit = {}) : AutoCloseable {
    val dir: File = Files.createTempDirectory("msg-dev").toFile()
    var process: Process
    var grpcHost: String
    var grpcPort: Int
    var adminUrl: String
    val adminToken: String
    private val admin = OkHttpClient()

    init {
        var (p, addrs) = startDev()
        if (serveConfig != null) {
            stop(p)
            beforeServe(dir)
            File(dir, "gateway.yaml").appendText("\n" + serveConfig + "\n")
            p = ProcessBuilder(binary.path, "serve", "--config", File(dir, "gateway.yaml").path)
                .directory(root).redirectErrorStream(true).start()
            addrs = listening(p, Regex("""gateway listening.*grpc=(\S+).*admin=(\S+)"""))
        }
        process = p
        val addr = addrs.first
        grpcHost = addr.substringBeforeLast(':')
        grpcPort = addr.substringAfterLast(':').toInt()
        adminUrl = "http://" + addrs.second
        adminToken = File(dir, "admin-token").readText().trim()
    }

    /** The gRPC address, host:port. */
    val grpcAddress: String get() = "$grpcHost:$grpcPort"

    /** Stops the gateway (SIGTERM: it drains) and waits for it to exit; returns its exit status. */
    fun stop(): Int = stop(process)

    /**
     * Starts `msg-gateway serve` again on the same config and data after [stop] (a gateway made
     * with a serve config only), as a restart would; it listens on new ports.
     */
    fun restart() {
        val p = ProcessBuilder(binary.path, "serve", "--config", File(dir, "gateway.yaml").path)
            .directory(root).redirectErrorStream(true).start()
        val addrs = listening(p, Regex("""gateway listening.*grpc=(\S+).*admin=(\S+)"""))
        process = p
        grpcHost = addrs.first.substringBeforeLast(':')
        grpcPort = addrs.first.substringAfterLast(':').toInt()
        adminUrl = "http://" + addrs.second
    }

    private fun startDev(): Pair<Process, Pair<String, String>> {
        val p = ProcessBuilder(
            binary.path, "dev", "--dir", dir.path, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        ).directory(root).redirectError(File(dir, "dev.stderr")).start()
        // The banner is printed once both listeners are up.
        return p to listening(p, Regex("""gRPC \(mTLS\)\s+(\S+)"""), Regex("""admin HTTP\s+http://(\S+)"""))
    }

    /** The gRPC and admin addresses, from the output lines that [grpc] and [admin] (or [grpc] alone, two groups) match. */
    private fun listening(p: Process, grpc: Regex, admin: Regex? = null): Pair<String, String> {
        val g = CompletableFuture<String>()
        val a = CompletableFuture<String>()
        val seen = StringBuffer()
        Thread({
            try {
                p.inputStream.bufferedReader().forEachLine { line ->
                    if (!g.isDone) seen.append(line).append('\n')
                    grpc.find(line)?.let {
                        g.complete(it.groupValues[1])
                        if (admin == null) a.complete(it.groupValues[2])
                    }
                    admin?.find(line)?.let { a.complete(it.groupValues[1]) }
                }
            } catch (_: java.io.IOException) {
                // The JVM closes the pipe of a process that exited (a gateway the test stopped).
            }
            val err = IllegalStateException("the gateway exited: $seen${File(dir, "dev.stderr").takeIf { it.exists() }?.readText() ?: ""}")
            g.completeExceptionally(err)
            a.completeExceptionally(err)
        }, "gateway-output").apply { isDaemon = true }.start()
        return g.get(120, TimeUnit.SECONDS) to a.get(120, TimeUnit.SECONDS)
    }

    /** A builder for alice's (or [who]'s) identity from dev mode's files, routing [routes]. */
    fun builder(who: String = "alice", vararg routes: String = arrayOf("*.internal")): Gateway.Builder =
        Gateway.Builder()
            .address(grpcHost, grpcPort)
            .clientPem(File(dir, "$who.pem"), File(dir, "$who-key.pem"))
            .trustedCertificates(File(dir, "ca.pem"))
            .apply { routes.forEach { routeHost(it) } }

    /**
     * Registers [name] as an internal host on loopback [upstream] and lets alice use it, through
     * the admin REST API. [timeout] (e.g. "60s") outlasts slow answers.
     */
    fun addHost(name: String, upstream: String, timeout: String? = null) {
        val limits = timeout?.let { ""","timeout":"$it","streamIdleTimeout":"$it"""" } ?: ""
        post("/v1/hosts", """{"name":"$name","upstream":"$upstream","allowedCidrs":["127.0.0.0/8"]$limits}""")
        post(
            "/v1/rules",
            """{"id":"alice-$name","effect":"EFFECT_ALLOW","principals":[{"id":"alice"}],"hosts":["$name"]}""",
        )
    }

    /** POSTs [json] to the admin REST API and returns the response body. */
    fun post(path: String, json: String): String {
        val req = Request.Builder().url(adminUrl + path)
            .header("Authorization", "Bearer $adminToken")
            .post(json.toRequestBody("application/json".toMediaType()))
            .build()
        return admin.newCall(req).execute().use {
            val body = it.body.string()
            check(it.isSuccessful) { "POST $path: ${it.code} $body" }
            body
        }
    }

    /** The value of a Prometheus counter on the admin listener's /metrics, summed over the lines that contain all of [labels]. */
    fun metric(name: String, vararg labels: String): Double {
        val req = Request.Builder().url("$adminUrl/metrics").header("Authorization", "Bearer $adminToken").build()
        val text = admin.newCall(req).execute().use {
            check(it.isSuccessful) { "GET /metrics: ${it.code}" }
            it.body.string()
        }
        return text.lineSequence()
            .filter { it.startsWith("$name{") && labels.all { l -> l in it } }
            .sumOf { it.substringAfterLast(' ').toDouble() }
    }

    /** The gateway's CPU time so far (user + system), from /proc. */
    fun cpuNanos(): Long {
        val fields = File("/proc/${process.pid()}/stat").readText().substringAfterLast(')').trim().split(' ')
        val ticks = fields[11].toLong() + fields[12].toLong() // utime, stime (fields 14 and 15)
        return ticks * 1_000_000_000L / 100 // USER_HZ is 100 on Linux
    }

    private fun stop(p: Process): Int {
        // SIGTERM to this PID: the gateway drains and exits. Through the ProcessHandle, because
        // Process.destroy() also closes the pipe the gateway logs into, and the gateway's next log
        // line (a call that finishes in the drain) then kills it with SIGPIPE, cutting off the
        // calls it was still answering.
        p.toHandle().destroy()
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly()
            p.waitFor(30, TimeUnit.SECONDS)
        }
        return p.exitValue()
    }

    override fun close() {
        stop(process)
        admin.dispatcher.executorService.shutdown()
        admin.connectionPool.evictAll()
        dir.deleteRecursively()
    }

    companion object {
        val root: File = File(System.getProperty("msg.root", "../..")).canonicalFile

        /** msg-gateway built from this checkout, once per JVM. */
        val binary: File by lazy {
            val out = File(root, "sdk/kotlin/target/msg-gateway")
            val go = System.getProperty("msg.go", "go")
            val build = ProcessBuilder(go, "build", "-o", out.path, "./cmd/msg-gateway")
                .directory(root).redirectErrorStream(true).start()
            val log = build.inputStream.bufferedReader().readText()
            check(build.waitFor() == 0) { "go build ./cmd/msg-gateway failed:\n$log" }
            out
        }
    }
}
