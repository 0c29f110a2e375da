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
 */
class DevGateway : AutoCloseable {
    val dir: File = Files.createTempDirectory("msg-dev").toFile()
    val process: Process
    val grpcHost: String
    val grpcPort: Int
    val adminUrl: String
    val adminToken: String
    private val admin = OkHttpClient()

    init {
        val stderr = File(dir, "dev.stderr")
        process = ProcessBuilder(
            binary.path, "dev", "--dir", dir.path, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        ).directory(root).redirectError(stderr).start()
        // The banner is printed once both listeners are up.
        val grpc = CompletableFuture<String>()
        val adminAddr = CompletableFuture<String>()
        Thread({
            process.inputStream.bufferedReader().forEachLine { line ->
                Regex("""gRPC \(mTLS\)\s+(\S+)""").find(line)?.let { grpc.complete(it.groupValues[1]) }
                Regex("""admin HTTP\s+http://(\S+)""").find(line)?.let { adminAddr.complete(it.groupValues[1]) }
            }
            grpc.completeExceptionally(IllegalStateException("dev mode exited: ${stderr.readText()}"))
            adminAddr.completeExceptionally(IllegalStateException("dev mode exited"))
        }, "dev-stdout").apply { isDaemon = true }.start()
        val addr = grpc.get(120, TimeUnit.SECONDS)
        grpcHost = addr.substringBeforeLast(':')
        grpcPort = addr.substringAfterLast(':').toInt()
        adminUrl = "http://" + adminAddr.get(120, TimeUnit.SECONDS)
        adminToken = File(dir, "admin-token").readText().trim()
    }

    /** A builder for alice's (or [who]'s) identity from dev mode's files, routing [routes]. */
    fun builder(who: String = "alice", vararg routes: String = arrayOf("*.internal")): Gateway.Builder =
        Gateway.Builder()
            .address(grpcHost, grpcPort)
            .clientPem(File(dir, "$who.pem"), File(dir, "$who-key.pem"))
            .trustedCertificates(File(dir, "ca.pem"))
            .apply { routes.forEach { routeHost(it) } }

    /** Registers [name] as an internal host on loopback [upstream] and lets alice use it, through the admin REST API. */
    fun addHost(name: String, upstream: String) {
        post("/v1/hosts", """{"name":"$name","upstream":"$upstream","allowedCidrs":["127.0.0.0/8"]}""")
        post(
            "/v1/rules",
            """{"id":"alice-$name","effect":"EFFECT_ALLOW","principals":[{"id":"alice"}],"hosts":["$name"]}""",
        )
    }

    private fun post(path: String, json: String) {
        val req = Request.Builder().url(adminUrl + path)
            .header("Authorization", "Bearer $adminToken")
            .post(json.toRequestBody("application/json".toMediaType()))
            .build()
        admin.newCall(req).execute().use { check(it.isSuccessful) { "POST $path: ${it.code} ${it.body.string()}" } }
    }

    /** The value of a Prometheus counter on the admin listener's /metrics, summed over the lines that contain all of [labels]. */
    fun metric(name: String, vararg labels: String): Double {
        val req = Request.Builder().url("$adminUrl/metrics").build()
        val text = admin.newCall(req).execute().use { it.body.string() }
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

    override fun close() {
        process.destroy() // SIGTERM to this PID: dev mode drains and exits
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor(30, TimeUnit.SECONDS)
        }
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
