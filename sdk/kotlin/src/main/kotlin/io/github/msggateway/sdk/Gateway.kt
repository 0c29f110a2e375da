package io.github.msggateway.sdk

import io.grpc.ManagedChannel
import io.grpc.TlsChannelCredentials
import io.grpc.okhttp.OkHttpChannelBuilder
import java.io.Closeable
import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.cert.X509Certificate
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.ThreadFactory
import java.util.concurrent.atomic.AtomicInteger
import javax.net.ssl.X509KeyManager
import okhttp3.Interceptor

/**
 * A connection to one mobile secure gateway for one app identity. Its [interceptor], added to an
 * `OkHttpClient` with `addInterceptor`, sends every request for a routed host through the gateway
 * as one ForwardStream call over gRPC with mutual TLS (grpc-java's OkHttp transport); requests
 * for other hosts go on through OkHttp unchanged.
 *
 * ```
 * val gateway = Gateway.Builder()
 *     .address("gateway.example.com", 8443)
 *     .clientPem(File("alice.pem"), File("alice-key.pem"))
 *     .trustedCertificates(File("ca.pem"))
 *     .routeHost("*.internal")
 *     .build()
 * val client = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()
 * ```
 *
 * A `Gateway` is immutable and safe for concurrent use. Create one per gateway and identity,
 * share it, and [close] it when the app no longer needs it: it holds the gRPC connection, which
 * is made on the first request and made again as needed.
 *
 * Request and response bodies stream in constant memory, `Call.cancel()` cancels the upstream
 * request, the internal host's trailers are `Response.trailers()` once the body has been read, and
 * a refusal by the gateway is a [GatewayException]. See the README for the details.
 */
public class Gateway private constructor(builder: Builder, keyManager: X509KeyManager, anchors: List<X509Certificate>) :
    Closeable {
    /** The gateway's host name or address. */
    public val host: String = builder.host!!

    /** The gateway's port. */
    public val port: Int = builder.port

    /** The host patterns whose requests go through the gateway, as given to [Builder.routeHost]. */
    public val routes: List<String> = builder.routes.toList()

    private val config = builder.copy()
    private val inline = InlineState()
    private val uploads: ExecutorService = Executors.newCachedThreadPool(UploadThreads())
    private val channel: ManagedChannel
    private val forwarder: Forwarder

    init {
        val credentials = TlsChannelCredentials.newBuilder()
            .keyManager(keyManager)
            .trustManager(TlsMaterial.trustManager(anchors))
            .build()
        channel = OkHttpChannelBuilder.forAddress(host, port, credentials)
            .socketFactory(inline.socketFactory)
            // The call listener only queues and signals (see Exchange): no executor hop needed.
            .directExecutor()
            .apply { builder.serverName?.let { overrideAuthority(it) } }
            .build()
        forwarder = Forwarder(channel, inline, uploads)
    }

    /**
     * The OkHttp interceptor to add with `OkHttpClient.Builder.addInterceptor` (an application
     * interceptor: a network interceptor would run after OkHttp had tried to connect to the
     * internal host itself).
     */
    public val interceptor: Interceptor = Interceptor { chain ->
        if (matches(chain.request().url.host)) forwarder.forward(chain) else chain.proceed(chain.request())
    }

    private fun matches(host: String): Boolean = routes.any { route ->
        if (route.startsWith("*.")) host.endsWith(route.substring(1)) else host == route
    }

    /** A builder with this gateway's configuration, for a new, independent [Gateway]. */
    public fun newBuilder(): Builder = config.copy()

    /**
     * Closes the connection to the gateway. Requests in flight fail with a [GatewayException],
     * and so do later ones.
     */
    override fun close() {
        channel.shutdownNow()
        uploads.shutdownNow()
    }

    /** Builds a [Gateway]. The address, the client identity, the trusted certificates and at least one route are required. */
    public class Builder public constructor() {
        internal var host: String? = null
        internal var port: Int = 0
        internal var serverName: String? = null
        private var identity: (() -> X509KeyManager)? = null
        private var identityOption = ""
        private var anchors: (() -> List<X509Certificate>)? = null
        internal val routes = LinkedHashSet<String>()

        /** The gateway's host name or IP address and its gRPC port, for example 8443. */
        public fun address(host: String, port: Int): Builder = apply {
            require(host.isNotEmpty()) { "address: empty host" }
            require(port in 1..65535) { "address: port $port out of range" }
            this.host = host
            this.port = port
        }

        /**
         * The name the gateway's certificate must be valid for, when it is not the host given to
         * [address] (a gateway dialled by IP address, or through an alias its certificate does not
         * name).
         */
        public fun serverName(name: String): Builder = apply {
            require(name.isNotEmpty()) { "serverName: empty" }
            serverName = name
        }

        /**
         * The app's identity from a key manager: on Android, one initialised from the
         * `AndroidKeyStore`, so that the private key never leaves the device's key store. The
         * client identity options replace each other; the last one wins.
         */
        public fun clientKeyManager(keyManager: X509KeyManager): Builder = apply {
            identity = { keyManager }
            identityOption = "clientKeyManager"
        }

        /** The app's identity from the key entry in [keyStore] (for example `AndroidKeyStore`). */
        public fun clientKeyStore(keyStore: KeyStore, password: CharArray?): Builder = apply {
            identity = { TlsMaterial.keyManager(keyStore, password) }
            identityOption = "clientKeyStore"
        }

        /** The app's identity from a PKCS#12 file (certificate chain and private key). */
        public fun clientPkcs12(file: File, password: CharArray): Builder = apply {
            val pw = password.copyOf()
            identity = { TlsMaterial.pkcs12(file, pw) }
            identityOption = "clientPkcs12($file)"
        }

        /**
         * The app's identity from PEM files: the certificate chain, leaf first, and its PKCS#8
         * private key ("BEGIN PRIVATE KEY"; EC, RSA or Ed25519), as `msg-gateway dev` writes them.
         */
        public fun clientPem(certificateChain: File, privateKey: File): Builder = apply {
            identity = { TlsMaterial.pem(certificateChain, privateKey) }
            identityOption = "clientPem($certificateChain, $privateKey)"
        }

        /**
         * The certificates that verify the gateway, from a PEM file: usually the one CA that
         * signed the gateway's certificate. Only these are trusted, never the system's roots.
         */
        public fun trustedCertificates(pem: File): Builder = apply {
            anchors = { TlsMaterial.certificates(pem) }
        }

        /** The certificates that verify the gateway. Only these are trusted, never the system's roots. */
        public fun trustedCertificates(vararg certificates: X509Certificate): Builder = apply {
            val list = certificates.toList()
            anchors = { list }
        }

        /**
         * Sends requests for [pattern] through the gateway: a host name ("orders.internal") or
         * "*." and a domain ("*.internal": every name under it, not the domain itself). Matching is
         * on the URL's host, whatever the scheme and port; the port is forwarded. May be called
         * several times.
         */
        public fun routeHost(pattern: String): Builder = apply {
            val p = pattern.lowercase()
            val name = p.removePrefix("*.")
            require(name.isNotEmpty() && name.none { it == '*' || it == '/' || it == ':' || it.isWhitespace() }) {
                "routeHost: \"$pattern\" is not a host name or *.domain"
            }
            routes += p
        }

        /**
         * Loads the identity and the trusted certificates and returns the [Gateway]. It does not
         * connect: the connection is made on the first request.
         *
         * @throws IllegalStateException when a required option is missing.
         * @throws IOException when a file cannot be read or holds no usable key or certificate.
         */
        @Throws(IOException::class)
        public fun build(): Gateway {
            checkNotNull(host) { "Gateway.Builder: no address" }
            val identity = checkNotNull(identity) {
                "Gateway.Builder: no client identity (the gateway accepts mutual TLS only): use clientPem, clientPkcs12, clientKeyStore or clientKeyManager"
            }
            val anchors = checkNotNull(anchors) { "Gateway.Builder: no trusted certificates: use trustedCertificates" }
            check(routes.isNotEmpty()) { "Gateway.Builder: no routeHost: no request would go through the gateway" }
            val keyManager = try {
                identity()
            } catch (e: GeneralSecurityException) {
                throw IOException("Gateway.Builder.$identityOption: $e", e)
            }
            val certs = try {
                anchors().also { TlsMaterial.trustManager(it) }
            } catch (e: GeneralSecurityException) {
                throw IOException("Gateway.Builder.trustedCertificates: $e", e)
            }
            return Gateway(this, keyManager, certs)
        }

        internal fun copy(): Builder = Builder().also {
            it.host = host
            it.port = port
            it.serverName = serverName
            it.identity = identity
            it.identityOption = identityOption
            it.anchors = anchors
            it.routes += routes
        }
    }

    private class UploadThreads : ThreadFactory {
        private val n = AtomicInteger()

        override fun newThread(r: Runnable): Thread =
            Thread(r, "msg-gateway upload ${n.incrementAndGet()}").apply { isDaemon = true }
    }
}
