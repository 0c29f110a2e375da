package io.github.msggateway.sdk

import com.sun.net.httpserver.HttpServer
import io.github.msggateway.sdk.example.enrollAndCall
import java.io.File
import java.math.BigInteger
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.MessageDigest
import java.security.cert.X509Certificate
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.Date
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.Future
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import javax.net.ssl.SSLContext
import javax.net.ssl.SSLServerSocket
import okhttp3.OkHttpClient
import okhttp3.Request
import org.bouncycastle.asn1.x500.X500Name
import org.bouncycastle.asn1.x509.BasicConstraints
import org.bouncycastle.asn1.x509.ExtendedKeyUsage
import org.bouncycastle.asn1.x509.Extension
import org.bouncycastle.asn1.x509.GeneralName
import org.bouncycastle.asn1.x509.GeneralNames
import org.bouncycastle.asn1.x509.KeyPurposeId
import org.bouncycastle.asn1.x509.KeyUsage
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows

/**
 * Enrollment and renewal against the real gateway (`msg-gateway serve` on dev mode's config, with
 * its enroll section): a bundle from POST /v1/enrollmentTokens, [Enrollment.enroll],
 * then a call through OkHttp; a used secret and wrong pins refused; a loop of calls across renewals
 * of a short-lived certificate with no failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class EnrollmentTest {
    private lateinit var dev: DevGateway
    private lateinit var upstream: HttpServer
    private val enrollPort = ServerSocket(0).use { it.localPort }
    private val dirs = CopyOnWriteArrayList<File>()

    /** What reached the upstream: each request's path and the client certificate the gateway saw. */
    private val seen = CopyOnWriteArrayList<Pair<String, String>>()

    /** Paths whose responses wait until released. */
    private val holds = ConcurrentHashMap<String, CountDownLatch>()

    @BeforeAll
    fun start() {
        dev = DevGateway(
            // Dev mode's config already has an enroll section (its enrollment CA, a free port):
            // beforeServe puts the listener on a port the test knows and raises the limits.
            serveConfig = "# The renewal test's loop of calls runs as fast as it can.\nlimits:\n  rate_per_second: 100000\n  burst: 100000",
            beforeServe = { dir ->
                val config = File(dir, "gateway.yaml")
                val section = Regex("(?m)^enroll:\\n  listen: .*$")
                check(section.containsMatchIn(config.readText())) { "dev mode's gateway.yaml has no enroll section" }
                // The tests enroll and renew more often than one source address may by default.
                config.writeText(
                    config.readText().replace(
                        section,
                        "enroll:\n  listen: \"127.0.0.1:$enrollPort\"\n  rate_per_source: 1000\n  burst_per_source: 1000",
                    ),
                )
            },
        )
        upstream = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
            createContext("/") { ex ->
                val path = ex.requestURI.path
                seen += path to (ex.requestHeaders.getFirst("X-Msg-Client-Cert-Sha256") ?: "")
                holds[path]?.await(60, TimeUnit.SECONDS)
                val body = "hello".toByteArray()
                ex.sendResponseHeaders(200, body.size.toLong())
                ex.responseBody.use { it.write(body) }
            }
            // Held responses must not hold the others up.
            executor = Executors.newCachedThreadPool()
            start()
        }
        dev.post(
            "/v1/hosts",
            """{"name":"enrolled.internal","upstream":"http://127.0.0.1:${upstream.address.port}","allowedCidrs":["127.0.0.0/8"]}""",
        )
        for (cn in listOf("carol", "dave", "erin", "frank", "gina")) {
            dev.post("/v1/rules", """{"id":"$cn-enrolled","effect":"EFFECT_ALLOW","principals":[{"id":"$cn"}],"hosts":["enrolled.internal"]}""")
        }
    }

    @AfterAll
    fun stop() {
        if (::upstream.isInitialized) upstream.stop(0)
        if (::dev.isInitialized) dev.close()
        dirs.forEach { it.deleteRecursively() }
    }

    private fun storeDir(): File = Files.createTempDirectory("msg-kt-identity").toFile().also { dirs += it }

    /** A bundle from POST /v1/enrollmentTokens. */
    private fun bundle(body: String): String {
        val resp = dev.post("/v1/enrollmentTokens", body)
        return Regex("\"bundle\"\\s*:\\s*\"([^\"]+)\"").find(resp)?.groupValues?.get(1) ?: error("no bundle in $resp")
    }

    private fun client(gateway: Gateway) = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()

    private fun get(c: OkHttpClient, url: String) = c.newCall(Request.Builder().url(url).build())

    @Test
    fun enrollThenCallThenTheSameSecretIsRefused() {
        val bundle = bundle("""{"identity":{"commonName":"carol"}}""")
        val store = FileIdentityStore(storeDir())
        val t0 = System.nanoTime()
        val id = Enrollment.enroll(bundle, store)
        println("# enrollment took ${(System.nanoTime() - t0) / 100_000 / 10.0} ms (key, CSR, pinned handshake, Enroll, save)")
        assertTrue(id.deviceId.isNotEmpty())
        assertEquals("${dev.grpcHost}:${dev.grpcPort}", id.gatewayAddress)
        assertEquals("CN=carol", id.leaf.subjectX500Principal.name.split(',').first { it.startsWith("CN=") })
        assertEquals(TlsMaterial.certificates(File(dev.dir, "ca.pem")).single(), id.trustAnchor)
        val mode = Files.getPosixFilePermissions(File(store.dir, FileIdentityStore.IDENTITY_FILE).toPath())
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(mode))

        val gateway = Gateway.Builder().identityStore(store).routeHost("enrolled.internal").build()
        try {
            get(client(gateway), "https://enrolled.internal/hello").execute().use { resp ->
                assertEquals(200, resp.code)
                assertEquals("hello", resp.body.string())
            }
        } finally {
            gateway.close()
        }

        val e = assertThrows<GatewayException> { Enrollment.enroll(bundle, FileIdentityStore(storeDir())) }
        assertEquals(GatewayCode.UNAUTHENTICATED, e.code)
        assertEquals("ENROLLMENT_REFUSED", e.reason)
    }

    @Test
    fun wrongPinsAreRefusedBeforeTheSecretIsSent() {
        val bundle = bundle("""{"identity":{"commonName":"dave"}}""")
        val secret = Regex("[?&]s=([^&]+)").find(bundle)!!.groupValues[1]
        val pin = Regex("[?&]pin=([^&]+)").find(bundle)!!.groupValues[1]
        val devCA = TlsMaterial.certificates(File(dev.dir, "ca.pem")).single()

        // An impostor that knows the gateway's trust anchor (it is public) and presents it after a
        // certificate of its own, valid for 127.0.0.1.
        val rogueCA = Minted.ca("rogue CA")
        val rogue = Minted.leaf(rogueCA)
        Impostor(rogue.keys, listOf(rogue.cert, rogueCA.cert, devCA)).use { impostor ->
            val e = assertThrows<EnrollmentPinException> {
                Enrollment.enroll("msg-enroll://127.0.0.1:${impostor.port}/?s=$secret&pin=$pin", FileIdentityStore(storeDir()))
            }
            // Past the pin (the anchor was in the chain): the verification against it refused the listener.
            assertFalse("no certificate of the presented chain" in e.message!!, e.message)
            val noPin = "sha256:" + Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256").digest(byteArrayOf(1)))
            assertThrows<EnrollmentPinException> {
                Enrollment.enroll("msg-enroll://127.0.0.1:${impostor.port}/?s=$secret&pin=$noPin", FileIdentityStore(storeDir()))
            }
            assertEquals(0, impostor.applicationBytes.get(), "bytes of a call reached the impostor")
            assertTrue(impostor.handshakes.get() >= 2, "the impostor saw ${impostor.handshakes.get()} handshakes")
        }
        // The real gateway, a pin of another CA.
        val otherPin = "sha256:" + Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256").digest(rogueCA.cert.encoded))
        assertThrows<EnrollmentPinException> {
            Enrollment.enroll("msg-enroll://127.0.0.1:$enrollPort/?s=$secret&pin=$otherPin", FileIdentityStore(storeDir()))
        }
        // The secret was never sent: it still enrolls.
        assertTrue(Enrollment.enroll(bundle, FileIdentityStore(storeDir())).deviceId.isNotEmpty())
    }

    @Test
    fun renewalsUnderALoopOfCallsFailNone() {
        val store = FileIdentityStore(storeDir())
        Enrollment.enroll(bundle("""{"identity":{"commonName":"erin"},"certLifetime":"6s"}"""), store)
        val first = store.load().leaf
        val attempts = AtomicInteger()
        val issuedBefore = dev.metric("msg_renew_total", "result=\"issued\"")
        val gateway = Gateway.Builder().identityStore(store) { attempts.incrementAndGet() }.routeHost("enrolled.internal").build()
        val c = client(gateway)
        var calls = 0
        var failed = 0
        val errors = mutableListOf<String>()
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150)
        try {
            // Until three renewals happened, counted by the SDK, not by the clock.
            while (gateway.renewalStatus()!!.renewals < 3 && System.nanoTime() < deadline) {
                calls++
                try {
                    get(c, "https://enrolled.internal/loop").execute().use { resp ->
                        val body = resp.body.string()
                        if (resp.code != 200 || body != "hello") {
                            failed++
                            errors += "${resp.code} $body"
                        }
                    }
                } catch (e: java.io.IOException) {
                    failed++
                    errors += e.toString()
                }
            }
        } finally {
            gateway.close()
        }
        val st = gateway.renewalStatus()!!
        println("# renewals ${st.renewals}, calls $calls, failed $failed, renewal attempts ${attempts.get()}")
        assertTrue(st.renewals >= 3, "only ${st.renewals} renewals before the deadline: $st")
        assertEquals(0, failed, errors.take(5).joinToString("\n"))
        assertTrue(calls > st.renewals)
        assertTrue(dev.metric("msg_renew_total", "result=\"issued\"") - issuedBefore >= 3)
        assertNotEquals(first, store.load().leaf)
    }

    /**
     * A renewal retires the current link: the calls that start afterwards go out on a new one
     * whose handshake presents the new certificate, a call
     * in flight finishes on the old link and is not sent again, and a network change afterwards
     * still moves such a call, onto a connection with the new certificate.
     */
    @Test
    fun aRenewalSendsNewCallsWithTheNewCertificateAndLeavesCallsInFlight() {
        val store = FileIdentityStore(storeDir())
        Enrollment.enroll(bundle("""{"identity":{"commonName":"gina"},"certLifetime":"9s"}"""), store)
        val first = sha256(store.load().leaf)
        val gateway = Gateway.Builder().identityStore(store).routeHost("enrolled.internal").build()
        val c = client(gateway)
        val pool = Executors.newCachedThreadPool()
        val slow = "/rotate-in-flight"
        val moving = "/rotate-then-network-change"
        val release = CountDownLatch(1)
        val releaseMoving = CountDownLatch(1)
        holds[slow] = release
        holds[moving] = releaseMoving
        fun call(path: String): Future<String> = pool.submit<String> {
            get(c, "https://enrolled.internal$path").execute().use { "${it.code} ${it.body.string()}" }
        }
        fun seenAt(path: String) = seen.filter { it.first == path }.map { it.second }
        try {
            // Idempotent GETs: the kind of call a network change would move.
            val inFlight = call(slow)
            val movable = call(moving)
            waitFor("the calls in flight reached the upstream") { seenAt(slow).isNotEmpty() && seenAt(moving).isNotEmpty() }
            // A call now opens a connection that the idle timeout has not closed: its TLS session
            // is in the cache when the renewal comes.
            assertEquals("200 hello", call("/rotate-before").get(30, TimeUnit.SECONDS))
            assertEquals(first, seenAt("/rotate-before").single())
            waitFor("a renewal", 60) { gateway.renewalStatus()!!.renewals >= 1 }
            assertNotEquals(first, sha256(store.load().leaf))
            assertEquals("200 hello", call("/rotate-after").get(30, TimeUnit.SECONDS))
            val after = seenAt("/rotate-after").single()
            // The renewal may have happened twice by now: any certificate but the first.
            assertNotEquals(first, after, "a call after the renewal presented the old certificate")
            assertTrue(after.matches(Regex("[0-9a-f]{64}")), after)
            release.countDown()
            assertEquals("200 hello", inFlight.get(30, TimeUnit.SECONDS))
            assertEquals(listOf(first), seenAt(slow), "the call in flight was sent again after the renewal")
            gateway.networkChanged()
            waitFor("the movable call sent again") { seenAt(moving).size == 2 }
            assertNotEquals(first, seenAt(moving)[1])
            releaseMoving.countDown()
            assertEquals("200 hello", movable.get(30, TimeUnit.SECONDS))
        } finally {
            release.countDown()
            releaseMoving.countDown()
            gateway.close()
            pool.shutdownNow()
        }
    }

    private fun sha256(cert: X509Certificate): String =
        MessageDigest.getInstance("SHA-256").digest(cert.encoded).joinToString("") { "%02x".format(it) }

    private fun waitFor(what: String, seconds: Long = 30, cond: () -> Boolean) {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds)
        while (!cond()) {
            check(System.nanoTime() < deadline) { "timed out waiting for $what" }
            Thread.sleep(20)
        }
    }

    @Test
    fun readmeShowsTheEnrollmentExampleThatRuns() {
        val source = File(DevGateway.root, "sdk/kotlin/src/test/kotlin/io/github/msggateway/sdk/example/EnrollExample.kt")
        val readme = File(DevGateway.root, "sdk/kotlin/README.md").readText()
        val block = Regex("<!-- example: EnrollExample.kt -->\\s*```kotlin\\n(.*?)```", RegexOption.DOT_MATCHES_ALL)
            .find(readme)?.groupValues?.get(1) ?: error("README.md has no enrollment example block")
        assertEquals(source.readText().substringAfter("\n\n"), block)

        val bundle = bundle("""{"identity":{"commonName":"frank"}}""")
        val dir = storeDir()
        assertEquals("enrolled, 200 hello", enrollAndCall(bundle, dir))
        assertEquals("200 hello", enrollAndCall(bundle, dir)) // the saved identity, the secret not needed again
    }
}

/** A certificate the test minted with BouncyCastle, and its key pair. */
class Minted(val cert: X509Certificate, val keys: KeyPair) {
    fun certPem(): String = pem("CERTIFICATE", cert.encoded)

    fun keyPem(): String = pem("PRIVATE KEY", keys.private.encoded)

    companion object {
        private fun pem(type: String, der: ByteArray) =
            "-----BEGIN $type-----\n" + Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(der) + "\n-----END $type-----\n"

        private fun p256(): KeyPair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()

        private fun build(subject: X500Name, issuer: X500Name, keys: KeyPair, signer: KeyPair, extensions: JcaX509v3CertificateBuilder.() -> Unit): X509Certificate {
            val now = System.currentTimeMillis()
            val b = JcaX509v3CertificateBuilder(issuer, BigInteger(64, java.security.SecureRandom()), Date(now - 60_000), Date(now + 86_400_000), subject, keys.public)
            b.extensions()
            return JcaX509CertificateConverter().getCertificate(b.build(JcaContentSignerBuilder("SHA256withECDSA").build(signer.private)))
        }

        fun ca(cn: String): Minted {
            val keys = p256()
            val name = X500Name("CN=$cn")
            return Minted(build(name, name, keys, keys) {
                addExtension(Extension.basicConstraints, true, BasicConstraints(true))
                addExtension(Extension.keyUsage, true, KeyUsage(KeyUsage.keyCertSign or KeyUsage.cRLSign))
            }, keys)
        }

        /** A server certificate for 127.0.0.1 signed by [issuer]. */
        fun leaf(issuer: Minted): Minted {
            val keys = p256()
            return Minted(build(X500Name("CN=127.0.0.1"), X500Name(issuer.cert.subjectX500Principal.name), keys, issuer.keys) {
                addExtension(Extension.keyUsage, true, KeyUsage(KeyUsage.digitalSignature))
                addExtension(Extension.extendedKeyUsage, false, ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                addExtension(Extension.subjectAlternativeName, false, GeneralNames(GeneralName(GeneralName.iPAddress, "127.0.0.1")))
            }, keys)
        }
    }
}

/** A TLS listener on loopback that presents [chain] and counts what arrives after a handshake. */
class Impostor(keys: KeyPair, chain: List<X509Certificate>) : AutoCloseable {
    private val server: SSLServerSocket
    val handshakes = AtomicInteger()
    val applicationBytes = AtomicInteger()
    val port: Int

    init {
        // A key manager of its own: a key store would refuse a chain whose names do not link up.
        val km = object : javax.net.ssl.X509KeyManager {
            override fun getClientAliases(keyType: String?, issuers: Array<out java.security.Principal>?) = null
            override fun chooseClientAlias(keyType: Array<out String>?, issuers: Array<out java.security.Principal>?, socket: java.net.Socket?) = null
            override fun getServerAliases(keyType: String?, issuers: Array<out java.security.Principal>?) = arrayOf("impostor")
            override fun chooseServerAlias(keyType: String?, issuers: Array<out java.security.Principal>?, socket: java.net.Socket?) =
                if (keyType == "EC") "impostor" else null
            override fun getCertificateChain(alias: String?) = chain.toTypedArray()
            override fun getPrivateKey(alias: String?) = keys.private
        }
        val ctx = SSLContext.getInstance("TLS").apply { init(arrayOf(km), null, null) }
        server = ctx.serverSocketFactory.createServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()) as SSLServerSocket
        server.sslParameters = server.sslParameters.apply { applicationProtocols = arrayOf("h2") }
        port = server.localPort
        Thread({
            while (!server.isClosed) {
                val s = try {
                    server.accept()
                } catch (_: java.io.IOException) {
                    break
                }
                Thread({
                    s.use {
                        try {
                            handshakes.incrementAndGet()
                            val input = it.getInputStream()
                            val buf = ByteArray(4096)
                            while (true) {
                                val n = input.read(buf)
                                if (n < 0) break
                                applicationBytes.addAndGet(n)
                            }
                        } catch (_: java.io.IOException) {
                            // The client refused the handshake: what the test wants.
                        }
                    }
                }, "impostor-conn").apply { isDaemon = true }.start()
            }
        }, "impostor").apply { isDaemon = true }.start()
    }

    override fun close() {
        server.close()
    }
}
