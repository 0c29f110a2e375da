package io.github.msggateway.sdk

import java.io.File
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * The emulated mobile link of `internal/mobilelink` in front of [target], as a child process (the
 * command `mobilelink`, built from this checkout once per JVM) steered over its control endpoint on
 * loopback. [args] are its flags, e.g. `-rtt 150ms`. [close] stops it by its PID.
 */
class MobileLink(target: String, vararg args: String) : AutoCloseable {
    private val process: Process = ProcessBuilder(listOf(binary.path, "-target", target) + args)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start()
    private val control = OkHttpClient()

    /** Where clients connect instead of the gateway. */
    val host: String
    val port: Int
    private val controlUrl: String

    init {
        val line = CompletableFuture<String>()
        Thread({
            val out = process.inputStream.bufferedReader()
            line.complete(out.readLine() ?: "")
            out.forEachLine { }
        }, "mobilelink-output").apply { isDaemon = true }.start()
        val json = line.get(60, TimeUnit.SECONDS)
        val listen = Regex(""""listen":"([^"]+)"""").find(json)?.groupValues?.get(1) ?: error("mobilelink printed $json")
        controlUrl = "http://" + (Regex(""""control":"([^"]+)"""").find(json)?.groupValues?.get(1) ?: error("mobilelink printed $json"))
        host = listen.substringBeforeLast(':')
        port = listen.substringAfterLast(':').toInt()
    }

    /** Silences every open connection for good; new ones work. */
    fun networkChange() = post("/network-change", "")

    /** Resets every open connection. */
    fun reset() = post("/reset", "")

    /** Sets link settings from a JSON object, e.g. `{"target":"127.0.0.1:9443"}`. */
    fun configure(json: String) = post("/config", json)

    /** The link's counters. */
    fun stats(): Stats {
        val text = control.newCall(Request.Builder().url("$controlUrl/stats").build()).execute().use { it.body.string() }
        fun number(name: String) = Regex(""""$name":(\d+)""").find(text)!!.groupValues[1].toLong()
        return Stats(
            accepted = number("accepted"),
            open = number("open"),
            silenced = number("silenced"),
            upBytes = number("up_bytes"),
            firstSilenced = Regex(""""conns":\[\{[^}]*"silenced":(true|false)""").find(text)?.groupValues?.get(1) == "true",
        )
    }

    /** Stats of the link: connections accepted, open, and blackholed (by a network change or the NAT); bytes up. */
    data class Stats(val accepted: Long, val open: Long, val silenced: Long, val upBytes: Long, val firstSilenced: Boolean)

    private fun post(path: String, json: String): String {
        val req = Request.Builder().url(controlUrl + path).post(json.toRequestBody("application/json".toMediaType())).build()
        return control.newCall(req).execute().use {
            val body = it.body.string()
            check(it.isSuccessful) { "mobilelink POST $path: ${it.code} $body" }
            body
        }
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly()
        control.dispatcher.executorService.shutdown()
        control.connectionPool.evictAll()
    }

    companion object {
        /** Links close to server/mobile_test.go's: 150 ms round trips with jitter, 1 Mbit/s up, 5 Mbit/s down. */
        val PHONE = arrayOf("-rtt", "150ms", "-jitter", "20ms", "-uplink-bps", "1000000", "-downlink-bps", "5000000")

        /** A quicker link for the scenarios that only need silence, as client/mobile_test.go's. */
        val QUICK = arrayOf("-rtt", "40ms", "-jitter", "10ms", "-uplink-bps", "0", "-downlink-bps", "0")

        /** mobilelink built from this checkout, once per JVM. */
        val binary: File by lazy {
            val out = File(DevGateway.root, "sdk/kotlin/target/mobilelink")
            val go = System.getProperty("msg.go", "go")
            val build = ProcessBuilder(go, "build", "-o", out.path, "./internal/mobilelink/cmd/mobilelink")
                .directory(DevGateway.root).redirectErrorStream(true).start()
            val log = build.inputStream.bufferedReader().readText()
            check(build.waitFor() == 0) { "go build ./internal/mobilelink/cmd/mobilelink failed:\n$log" }
            out
        }
    }
}
