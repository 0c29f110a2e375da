package io.github.msggateway.sdk

import io.grpc.okhttp.OkHttpChannelBuilder
import io.grpc.okhttp.SslSocketFactoryChannelCredentials
import java.io.Closeable
import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.cert.X509Certificate
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.ThreadFactory
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import javax.net.ssl.SSLContext
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
 * A `Gateway` is safe for concurrent use. Create one per gateway and identity, share it, and
 * [close] it when the app no longer needs it: it holds the gRPC connection, which is made on the
 * first request and made again as needed, and the TLS session that makes reconnecting cheap.
 *
 * Request and response bodies stream in constant memory, `Call.cancel()` cancels the upstream
 * request, the internal host's trailers are `Response.trailers()` once the body has been read, and
 * a refusal by the gateway is a [GatewayException]. See the README for the details.
 *
 * On a phone, call [networkChanged] whenever the device's network changes (see its
 * documentation for the Android wiring): connections die silently when a phone moves from Wi-Fi to
 * mobile data, and the SDK otherwise notices only a few seconds later.
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
    private val uploads: ExecutorService = Executors.newCachedThreadPool(SdkThreads("upload"))
    private val timer: ScheduledExecutorService = Executors.newSingleThreadScheduledExecutor(SdkThreads("timer"))
    private val trust = TlsMaterial.trustManager(anchors)
    private val keepaliveInterval = builder.keepaliveIntervalMillis
    private val keepaliveTimeout = builder.keepaliveTimeoutMillis
    private val idleTimeout = builder.idleTimeoutMillis
    private val serverName = builder.serverName
    private val tuning = builder.tuning
    private val connection: Connection = Connection(dialer(keyManager), tuning)
    private val forwarder: Forwarder = Forwarder(connection, uploads, timer)
    private val renewer: Renewer? = builder.enrolled?.let { id -> Renewer(builder.identityStore!!, id, builder.onRenewal, ::rotate) }

    init {
        renewer?.start()
    }

    /**
     * What makes the links for one client identity. One SSLContext, and so one TLS session cache,
     * for every connection they make: a reconnect after a network change or an idle close resumes
     * the session. A renewed identity gets a dialer, and so a session cache, of its own (see
     * [rotate]).
     */
    private fun dialer(keyManager: X509KeyManager): () -> Link {
        val tls = try {
            SSLContext.getInstance("TLS").apply { init(arrayOf(keyManager), arrayOf(trust), null) }
        } catch (e: GeneralSecurityException) {
            throw IOException("Gateway.Builder: TLS: $e", e)
        }
        val credentials = SslSocketFactoryChannelCredentials.create(tls.socketFactory)
        return {
            val inline = InlineState()
            val channel = OkHttpChannelBuilder.forAddress(host, port, credentials)
                .socketFactory(inline.socketFactory)
                // The call listener only queues and signals (see Exchange): no executor hop needed.
                .directExecutor()
                // Pings only while calls wait: an idle phone's radio stays asleep, and the idle
                // timeout closes the connection before a NAT forgets it.
                .keepAliveTime(keepaliveInterval, TimeUnit.MILLISECONDS)
                .keepAliveTimeout(keepaliveTimeout, TimeUnit.MILLISECONDS)
                .keepAliveWithoutCalls(false)
                // gRPC lets a connection linger for 5 s after its channel went idle.
                .idleTimeout(if (idleTimeout > 0) maxOf(idleTimeout - IDLE_LINGER_MILLIS, 1000) else TimeUnit.DAYS.toMillis(30), TimeUnit.MILLISECONDS)
                // No retries by gRPC: grpc-okhttp reports the calls of a connection that failed
                // as never processed, and would send a POST that the gateway may have relayed a
                // second time. The Forwarder decides what is sent again.
                .disableRetry()
                .apply { serverName?.let { overrideAuthority(it) } }
                .build()
            Link(channel, inline, timer, tuning.probeWaitMillis)
        }
    }

    /**
     * Sends the calls that start from now on out on a new link with a renewed identity, through a
     * new SSLContext: a session resumed from the old one would carry the certificate it was made
     * with. Calls in flight finish on the old link, which the old certificate keeps valid for the
     * last third of its lifetime, and are not sent again (they were authorized, and may not be
     * safe to repeat); the old link shuts down when the last of them has ended.
     */
    private fun rotate(id: Identity) {
        connection.rotate(dialer(id.keyManager()))
    }

    /**
     * Where the renewal of the certificate stands, for a gateway built with
     * [Builder.identityStore]; null for one built with a fixed identity.
     */
    public fun renewalStatus(): RenewalStatus? = renewer?.status

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
     * Tells the SDK that the device's network changed (Wi-Fi to mobile data or back, a new
     * address, a VPN that came up). The next request goes out on a new connection at once, instead
     * of on one that may be dead without knowing it; requests already waiting for a response on
     * the old connection that can safely be sent again (idempotent, with a body that can be
     * written again) move to the new one now. The others (a POST without an Idempotency-Key, a
     * one-shot body, a response being read) continue on the old connection, which closes once they
     * have ended. It is cheap: the new connection resumes the TLS session.
     *
     * On Android, call it from a `ConnectivityManager.NetworkCallback` registered with
     * `registerDefaultNetworkCallback`, in `onAvailable` for a network that replaces one the
     * callback saw before (as grpc-android's `AndroidChannelBuilder` does), and in `onLost`; see
     * the README. Without it the SDK notices a dead connection by itself, a few seconds later.
     */
    public fun networkChanged() {
        connection.networkChanged()
    }

    /**
     * Closes the connection to the gateway. Requests in flight fail with a [GatewayException],
     * and so do later ones.
     */
    override fun close() {
        renewer?.close()
        connection.close()
        uploads.shutdownNow()
        timer.shutdownNow()
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
        internal var keepaliveIntervalMillis = DEFAULT_KEEPALIVE_INTERVAL_MILLIS
        internal var keepaliveTimeoutMillis = DEFAULT_KEEPALIVE_TIMEOUT_MILLIS
        internal var idleTimeoutMillis = DEFAULT_IDLE_TIMEOUT_MILLIS
        internal var tuning = Tuning()
        internal var identityStore: IdentityStore? = null
        internal var onRenewal: ((RenewalStatus) -> Unit)? = null

        /** The identity [build] loaded from [identityStore]. */
        internal var enrolled: Identity? = null

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

        /**
         * The identity an enrolled device keeps in [store] (see [Enrollment.enroll]): the client
         * certificate, the trust anchor (only it is trusted) and, unless [address] is given too, the
         * gateway's address all come from it. The [Gateway] renews the certificate by itself at about
         * two thirds of its lifetime, saves each new identity in [store], and sends the calls that
         * start afterwards on a new connection with it, while calls in flight finish on the old one.
         * A failed renewal is retried with backoff; [onRenewal] (on the renewal thread) and
         * [Gateway.renewalStatus] tell how it stands. Replaces the other identity options.
         */
        @JvmOverloads
        public fun identityStore(store: IdentityStore, onRenewal: ((RenewalStatus) -> Unit)? = null): Builder = apply {
            identityStore = store
            this.onRenewal = onRenewal
            identity = null
            anchors = null
            identityOption = "identityStore"
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
         * How the SDK notices that its connection to the gateway died while calls wait in silence
         * (a slow internal host, a quiet server-sent event stream): after [interval] without
         * anything arriving it pings the gateway, and gives the connection up when the answer
         * takes longer than [timeout]; the calls on it fail, and those that are safe to send again
         * are sent on a new connection. Default 15 s and 10 s, the Go client's.
         *
         * It never pings an idle connection (see [idleTimeout]). Each ping wakes a phone's radio,
         * which then stays in a high-power state for seconds, so a longer interval saves battery;
         * it must stay below the carrier's NAT timeout, and never below the gateway's
         * `keepalive.min_client_ping_interval` (15 s by default), which answers faster pings with
         * GOAWAY `too_many_pings`. gRPC does not allow intervals under 10 s.
         */
        public fun keepalive(interval: Long, timeout: Long, unit: TimeUnit): Builder = apply {
            require(unit.toMillis(interval) >= MIN_KEEPALIVE_INTERVAL_MILLIS && unit.toMillis(timeout) > 0) {
                "keepalive: the interval must be at least 10 s (gRPC's floor) and the timeout positive"
            }
            keepaliveIntervalMillis = unit.toMillis(interval)
            keepaliveTimeoutMillis = unit.toMillis(timeout)
        }

        /**
         * How long a connection without calls stays open (default 20 s, below the idle timeouts
         * of carrier NATs, 30 s and up). The next request opens a new connection, resuming the TLS
         * session: one round trip more than an open connection, which costs less battery than the
         * pings that would keep it open through a NAT. 0 keeps idle connections open, which a NAT
         * may then silently forget. The shortest is 6 s: gRPC's shortest idle time, a second, and
         * the 5 s for which it lets an idle connection linger.
         */
        public fun idleTimeout(value: Long, unit: TimeUnit): Builder = apply {
            require(value >= 0) { "idleTimeout: must not be negative" }
            idleTimeoutMillis = unit.toMillis(value)
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
            identityStore?.takeIf { identityOption == "identityStore" }?.let { store ->
                val id = store.load()
                enrolled = id
                if (host == null) {
                    val a = id.gatewayAddress
                    address(if (a.startsWith("[")) a.substring(1, a.indexOf(']')) else a.substringBeforeLast(':'), a.substringAfterLast(':').toInt())
                }
                identity = { id.keyManager() }
                val anchor = id.trustAnchor
                anchors = { listOf(anchor) }
            }
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
            it.keepaliveIntervalMillis = keepaliveIntervalMillis
            it.keepaliveTimeoutMillis = keepaliveTimeoutMillis
            it.idleTimeoutMillis = idleTimeoutMillis
            it.tuning = tuning
            it.identityStore = identityStore
            it.onRenewal = onRenewal
        }
    }

    public companion object {
        /** The default keepalive interval of [Builder.keepalive]: the gateway's default policy permits exactly this. */
        public const val DEFAULT_KEEPALIVE_INTERVAL_MILLIS: Long = 15_000

        /** The default keepalive timeout of [Builder.keepalive]. */
        public const val DEFAULT_KEEPALIVE_TIMEOUT_MILLIS: Long = 10_000

        /** The default of [Builder.idleTimeout], below carrier NAT timeouts. */
        public const val DEFAULT_IDLE_TIMEOUT_MILLIS: Long = 20_000

        private const val MIN_KEEPALIVE_INTERVAL_MILLIS: Long = 10_000

        /**
         * How long grpc-java keeps a connection open after its channel went idle
         * (ManagedChannelImpl.SUBCHANNEL_SHUTDOWN_DELAY_SECONDS); [Builder.idleTimeout] counts it in.
         */
        private const val IDLE_LINGER_MILLIS: Long = 5_000
    }

    private class SdkThreads(private val what: String) : ThreadFactory {
        private val n = AtomicInteger()

        override fun newThread(r: Runnable): Thread =
            Thread(r, "msg-gateway $what ${n.incrementAndGet()}").apply { isDaemon = true }
    }
}
