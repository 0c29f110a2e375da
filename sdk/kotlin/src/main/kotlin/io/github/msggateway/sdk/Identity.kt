package io.github.msggateway.sdk

import java.io.File
import java.io.FileOutputStream
import java.io.IOException
import java.net.Socket
import java.security.GeneralSecurityException
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Principal
import java.security.PrivateKey
import java.security.cert.X509Certificate
import java.security.spec.ECGenParameterSpec
import javax.net.ssl.X509KeyManager
import okio.ByteString.Companion.toByteString

/**
 * What a device holds once it has enrolled: its certificate chain and private key, the trust anchor
 * it verifies the gateway with, and where to reach the gateway (the Go client's `client.Identity`).
 */
public class Identity(
    /** The certificate chain, leaf first, as the gateway issued it. */
    public val certificateChain: List<X509Certificate>,
    /** The leaf's private key: made on the device, possibly a handle to a key in the Android Keystore. */
    public val privateKey: PrivateKey,
    /** The CA that signs the gateway's server certificate: the one the bundle pinned, and the only one trusted. */
    public val trustAnchor: X509Certificate,
    /** The gateway's data plane, "host:port". */
    public val gatewayAddress: String,
    /** The enrollment listener, "host:port", where renewals go. */
    public val enrollAddress: String,
    /** The device record's id in the gateway's admin API. */
    public val deviceId: String,
) {
    init {
        require(certificateChain.isNotEmpty()) { "identity has no certificate" }
        require(gatewayAddress.isNotEmpty()) { "the identity names no gateway address" }
    }

    /** The leaf certificate. */
    public val leaf: X509Certificate get() = certificateChain[0]

    internal fun withCertificate(chain: List<X509Certificate>, key: PrivateKey): Identity =
        Identity(chain, key, trustAnchor, gatewayAddress, enrollAddress, deviceId)

    /** A key manager that presents this identity and nothing else. */
    internal fun keyManager(): X509KeyManager = FixedKeyManager(certificateChain.toTypedArray(), privateKey)

    override fun toString(): String = "Identity(${leaf.subjectX500Principal}, device $deviceId, gateway $gatewayAddress)"
}

/** Thrown by [IdentityStore.load] when nothing has been saved yet: the device must enroll. */
public class NoIdentityException(message: String) : IOException(message)

/**
 * Keeps a device's [Identity]: [FileIdentityStore] in files on the JVM, or an app's own over a
 * platform key store. On Android, implement it over the `AndroidKeyStore`: [generateKeyPair] makes
 * the key there (`KeyPairGenerator.getInstance("EC", "AndroidKeyStore")` with a
 * `KeyGenParameterSpec` for `PURPOSE_SIGN`, digest SHA-256), so that the private key never leaves the
 * device's secure hardware; [save] stores the certificate chain under that key's alias and the
 * addresses in app storage. The SDK signs the certificate request and the TLS handshakes with the
 * key through the JCA, which works with such key handles.
 *
 * [save] replaces the whole identity at once (a crash during it leaves the old or the new one). It
 * is called by [Enrollment.enroll] and by the renewal of a [Gateway] built with
 * [Gateway.Builder.identityStore], from its renewal thread.
 */
public interface IdentityStore {
    /**
     * Returns the saved identity.
     *
     * @throws NoIdentityException when nothing was saved yet.
     */
    @Throws(IOException::class)
    public fun load(): Identity

    /** Replaces the saved identity. */
    @Throws(IOException::class)
    public fun save(identity: Identity)

    /**
     * Makes the key pair of the next certificate request (enrollment and every renewal); only a
     * later [save] makes it current. ECDSA P-256 (the default, from the platform's
     * `KeyPairGenerator`), Ed25519 and RSA of 2048 bits or more are what the gateway accepts.
     */
    @Throws(GeneralSecurityException::class)
    public fun generateKeyPair(): KeyPair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
}

/**
 * An [IdentityStore] in a directory, in the files of the Go client's `client.FileStore` (and of
 * `msg-enroll`), so either reads what the other wrote:
 *
 * - `identity.pem`: the certificate chain, then the PKCS#8 private key, mode 0600;
 * - `ca.pem`: the trust anchor;
 * - `gateway.json`: the addresses and the device id.
 *
 * Each file is replaced atomically (written beside it, synced, renamed). The certificate and its
 * key share one file, so that no crash pairs a new certificate with an old key. The keys are
 * software keys: for the JVM (a laptop, a CI job, a test client), not for a phone.
 */
public class FileIdentityStore(public val dir: File) : IdentityStore {
    override fun load(): Identity {
        val identity = File(dir, IDENTITY_FILE)
        if (!identity.exists()) throw NoIdentityException("no identity saved: enroll first ($dir has no $IDENTITY_FILE)")
        val chain = try {
            TlsMaterial.certificates(identity)
        } catch (e: GeneralSecurityException) {
            throw IOException("$identity: $e", e)
        }
        val key = TlsMaterial.privateKey(identity)
        val anchor = try {
            TlsMaterial.certificates(File(dir, TRUST_ANCHOR_FILE)).single()
        } catch (e: GeneralSecurityException) {
            throw IOException("${File(dir, TRUST_ANCHOR_FILE)}: $e", e)
        }
        val json = File(dir, GATEWAY_FILE).readText()
        return Identity(chain, key, anchor, jsonString(json, "gateway_address"), jsonString(json, "enroll_address"), jsonString(json, "device_id"))
    }

    override fun save(identity: Identity) {
        if (!dir.isDirectory && !dir.mkdirs()) throw IOException("$dir: cannot create the directory")
        val pem = StringBuilder()
        identity.certificateChain.forEach { pem.append(pemBlock("CERTIFICATE", it.encoded)) }
        val keyDer = identity.privateKey.encoded
            ?: throw IOException("FileIdentityStore keeps software keys only: this key cannot be exported")
        pem.append(pemBlock("PRIVATE KEY", keyDer))
        val json = "{\n  \"gateway_address\": ${jsonQuote(identity.gatewayAddress)},\n" +
            "  \"enroll_address\": ${jsonQuote(identity.enrollAddress)},\n" +
            "  \"device_id\": ${jsonQuote(identity.deviceId)}\n}\n"
        // The anchor and the addresses first: they change only with a new enrollment, which writes
        // a new identity.pem too, so a crash in between leaves the old, complete identity in force.
        writeAtomic(TRUST_ANCHOR_FILE, pemBlock("CERTIFICATE", identity.trustAnchor.encoded), private = false)
        writeAtomic(GATEWAY_FILE, json, private = false)
        writeAtomic(IDENTITY_FILE, pem.toString(), private = true)
    }

    private fun writeAtomic(name: String, data: String, private: Boolean) {
        val tmp = File.createTempFile(".$name.tmp-", "", dir)
        try {
            // Owner only before anything is written (File.createTempFile makes 0600 files on Unix
            // already; this keeps it so elsewhere too).
            tmp.setReadable(false, false)
            tmp.setReadable(true, private)
            tmp.setWritable(false, false)
            tmp.setWritable(true, true)
            FileOutputStream(tmp).use {
                it.write(data.toByteArray(Charsets.UTF_8))
                it.fd.sync()
            }
            if (!tmp.renameTo(File(dir, name))) throw IOException("$dir: cannot rename ${tmp.name} to $name")
        } finally {
            tmp.delete() // after a successful rename: nothing to delete
        }
    }

    public companion object {
        public const val IDENTITY_FILE: String = "identity.pem"
        public const val TRUST_ANCHOR_FILE: String = "ca.pem"
        public const val GATEWAY_FILE: String = "gateway.json"

        private fun pemBlock(type: String, der: ByteArray): String =
            "-----BEGIN $type-----\n" + der.toByteString().base64().chunked(64).joinToString("\n") + "\n-----END $type-----\n"

        private fun jsonQuote(s: String): String = buildString {
            append('"')
            for (c in s) {
                when {
                    c == '"' || c == '\\' -> append('\\').append(c)
                    c.code < 0x20 -> append(String.format("\\u%04x", c.code))
                    else -> append(c)
                }
            }
            append('"')
        }

        /** The string value of a top-level key of the small JSON object [FileIdentityStore] writes (and the Go FileStore). */
        private fun jsonString(json: String, key: String): String {
            val m = Regex("\"" + Regex.escape(key) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").find(json) ?: return ""
            return m.groupValues[1].replace(Regex("\\\\(u[0-9a-fA-F]{4}|.)")) {
                val e = it.groupValues[1]
                when {
                    e.startsWith("u") -> e.substring(1).toInt(16).toChar().toString()
                    e == "n" -> "\n"
                    e == "t" -> "\t"
                    e == "r" -> "\r"
                    e == "b" -> "\b"
                    e == "f" -> "\u000c"
                    else -> e
                }
            }
        }
    }
}

/** A key manager with one client identity. */
internal class FixedKeyManager(private val chain: Array<X509Certificate>, private val key: PrivateKey) : X509KeyManager {
    override fun getClientAliases(keyType: String?, issuers: Array<out Principal>?): Array<String> = arrayOf(ALIAS)
    override fun chooseClientAlias(keyType: Array<out String>?, issuers: Array<out Principal>?, socket: Socket?): String = ALIAS
    override fun getServerAliases(keyType: String?, issuers: Array<out Principal>?): Array<String>? = null
    override fun chooseServerAlias(keyType: String?, issuers: Array<out Principal>?, socket: Socket?): String? = null
    override fun getCertificateChain(alias: String?): Array<X509Certificate>? = if (alias == ALIAS) chain.clone() else null
    override fun getPrivateKey(alias: String?): PrivateKey? = if (alias == ALIAS) key else null

    private companion object {
        const val ALIAS = "identity"
    }
}
