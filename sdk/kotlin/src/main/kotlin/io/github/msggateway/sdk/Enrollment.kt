package io.github.msggateway.sdk

import com.google.protobuf.ByteString
import io.grpc.ManagedChannel
import io.grpc.StatusRuntimeException
import io.grpc.TlsChannelCredentials
import io.grpc.okhttp.OkHttpChannelBuilder
import java.io.ByteArrayInputStream
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyPair
import java.security.MessageDigest
import java.security.cert.CertificateException
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import javax.net.ssl.X509TrustManager
import msg.enroll.v1.Enroll.EnrollRequest
import msg.enroll.v1.Enroll.RenewRequest
import msg.enroll.v1.EnrollmentServiceGrpc
import org.bouncycastle.asn1.x500.X500Name
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder

/**
 * The enrollment listener is not the gateway the bundle pins: its certificate does not chain to the
 * trust anchor whose SHA-256 the bundle carries (someone else answered at the bundle's address, or
 * the bundle is for another gateway). Nothing was sent, the secret least of all.
 */
public class EnrollmentPinException internal constructor(message: String, cause: Throwable? = null) : IOException(message, cause)

/** Device enrollment: from a bundle to an [Identity] in an [IdentityStore] (the Go client's `client.Enroll`). */
public object Enrollment {
    /** The longest an enrollment or renewal call may take. */
    private const val CALL_TIMEOUT_SECONDS = 30L

    /**
     * Enrolls this device with the gateway that [bundle] describes (the `msg-enroll://...` string from
     * the admin, as text or QR code) and saves the identity it gets in [store], which it also returns.
     *
     * The key pair comes from [IdentityStore.generateKeyPair] (on Android, one made in the Keystore)
     * and the private key never leaves the device: the gateway gets a PKCS#10 certificate request,
     * built and signed with BouncyCastle through the JCA. Before the secret is sent, the enrollment
     * listener's certificate must chain to the CA the bundle pins, within the TLS handshake, and be
     * valid for the bundle's host; otherwise this throws [EnrollmentPinException] and the secret
     * stays unused.
     *
     * A refused secret (used up, expired, revoked, or never issued: the gateway does not say which)
     * is a [GatewayException] with code UNAUTHENTICATED and reason `ENROLLMENT_REFUSED`. If the
     * connection breaks after the gateway issued the certificate but before it arrived, the secret may
     * be spent: ask the admin for a new bundle. Blocks; call it off the main thread.
     *
     * Then build the [Gateway] with [Gateway.Builder.identityStore], which keeps the certificate renewed.
     *
     * @throws IllegalArgumentException when [bundle] does not parse.
     */
    @JvmStatic
    @Throws(IOException::class)
    public fun enroll(bundle: String, store: IdentityStore): Identity {
        val b = EnrollmentBundle.parse(bundle)
        val keys = newKeyPair(store)
        val csr = certificateRequest(keys)
        val pin = PinningTrustManager(b.pin)
        val channel = channel(b.host, b.port, TlsChannelCredentials.newBuilder().trustManager(pin).build())
        val resp = try {
            EnrollmentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .enroll(EnrollRequest.newBuilder().setSecret(b.secret).setCsr(ByteString.copyFrom(csr)).build())
        } catch (e: StatusRuntimeException) {
            val pinError = pin.error.get()
            if (pin.anchor.get() == null && pinError != null) {
                throw EnrollmentPinException("the enrollment listener is not the gateway the bundle pins: ${pinError.message}", pinError)
            }
            throw GatewayException.from(e.status, e.trailers)
        } finally {
            channel.shutdownNow()
        }
        val anchor = pin.anchor.get() ?: throw EnrollmentPinException("the enrollment listener is not the gateway the bundle pins")
        val id = try {
            Identity(certificates(resp.certificateChainList), keys.private, anchor, resp.gatewayAddress, b.address, resp.deviceId)
                .also { check(it, keys) }
        } catch (e: Exception) {
            throw IOException("the gateway's answer: ${e.message}", e)
        }
        store.save(id)
        return id
    }

    /**
     * Asks the enrollment listener for a certificate for a new key, authenticated by [id]'s current
     * certificate, and returns the new identity (not yet saved).
     */
    @Throws(IOException::class)
    internal fun renew(id: Identity, store: IdentityStore, timeoutMillis: Long): Identity {
        val keys = newKeyPair(store)
        val csr = certificateRequest(keys)
        val host = if (id.enrollAddress.startsWith("[")) id.enrollAddress.substring(1, id.enrollAddress.indexOf(']')) else id.enrollAddress.substringBeforeLast(':')
        val port = id.enrollAddress.substringAfterLast(':').toIntOrNull() ?: throw IOException("identity: bad enroll address ${id.enrollAddress}")
        val credentials = TlsChannelCredentials.newBuilder()
            .keyManager(id.keyManager())
            .trustManager(TlsMaterial.trustManager(listOf(id.trustAnchor)))
            .build()
        val channel = channel(host, port, credentials)
        val resp = try {
            EnrollmentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                .renew(RenewRequest.newBuilder().setCsr(ByteString.copyFrom(csr)).build())
        } catch (e: StatusRuntimeException) {
            throw GatewayException.from(e.status, e.trailers)
        } finally {
            channel.shutdownNow()
        }
        return try {
            id.withCertificate(certificates(resp.certificateChainList), keys.private).also { check(it, keys) }
        } catch (e: Exception) {
            throw IOException("the gateway's answer: ${e.message}", e)
        }
    }

    private fun channel(host: String, port: Int, credentials: io.grpc.ChannelCredentials): ManagedChannel =
        OkHttpChannelBuilder.forAddress(host, port, credentials).directExecutor().build()

    private fun newKeyPair(store: IdentityStore): KeyPair = try {
        store.generateKeyPair()
    } catch (e: GeneralSecurityException) {
        throw IOException("generating a key pair: $e", e)
    }

    /**
     * A DER PKCS#10 request for [keys], signed with the private key (proof of possession). The
     * subject is empty: the gateway takes the identity from the enrollment token, never from the
     * request.
     */
    internal fun certificateRequest(keys: KeyPair): ByteArray {
        val algorithm = when (keys.private.algorithm) {
            "EC" -> "SHA256withECDSA"
            "RSA" -> "SHA256withRSA"
            "Ed25519", "EdDSA" -> "Ed25519"
            else -> throw IOException("a ${keys.private.algorithm} key: the gateway accepts ECDSA P-256, Ed25519 and RSA keys")
        }
        return try {
            JcaPKCS10CertificationRequestBuilder(X500Name(arrayOf()), keys.public)
                .build(JcaContentSignerBuilder(algorithm).build(keys.private))
                .encoded
        } catch (e: Exception) {
            throw IOException("certificate request: $e", e)
        }
    }

    private fun certificates(der: List<ByteString>): List<X509Certificate> {
        val cf = CertificateFactory.getInstance("X.509")
        return der.map { cf.generateCertificate(ByteArrayInputStream(it.toByteArray())) as X509Certificate }
    }

    /** Checks that the certificate is for the key the request was made with. */
    private fun check(id: Identity, keys: KeyPair) {
        if (id.leaf.publicKey != keys.public && !id.leaf.publicKey.encoded.contentEquals(keys.public.encoded)) {
            throw CertificateException("the certificate is not for the key of the request")
        }
    }
}

/**
 * The TLS verification of a first enrollment: the device trusts no CA yet, so it takes the
 * certificate whose SHA-256 is [pin] from the chain the listener presents (the gateway appends it)
 * and verifies the chain against that one alone (PKIX; the host name is checked by the transport).
 * It records the anchor it found, or why it found none. All of it happens inside the handshake, so
 * a listener that fails it never gets a byte of the call.
 */
internal class PinningTrustManager(private val pin: ByteArray) : X509TrustManager {
    val anchor = AtomicReference<X509Certificate?>()
    val error = AtomicReference<Exception?>()

    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String) {
        try {
            val a = chain.drop(1).firstOrNull {
                it.basicConstraints >= 0 && MessageDigest.isEqual(MessageDigest.getInstance("SHA-256").digest(it.encoded), pin)
            } ?: throw CertificateException("no certificate of the presented chain has the pinned SHA-256")
            (TlsMaterial.trustManager(listOf(a)) as X509TrustManager).checkServerTrusted(chain, authType)
            anchor.set(a)
        } catch (e: Exception) {
            error.set(e)
            throw e as? CertificateException ?: CertificateException(e)
        }
    }

    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String): Unit =
        throw CertificateException("not a server")

    override fun getAcceptedIssuers(): Array<X509Certificate> = arrayOf()
}
