package io.github.msggateway.sdk

import java.io.ByteArrayInputStream
import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyFactory
import java.security.KeyStore
import java.security.PrivateKey
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import java.security.spec.PKCS8EncodedKeySpec
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.TrustManager
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509KeyManager
import okio.ByteString.Companion.decodeBase64

/**
 * Loads the TLS material the builder was given: every way in ends in a key manager for the app's
 * identity and a trust manager that knows only the pinned anchors. The one place that reads files.
 */
internal object TlsMaterial {
    fun keyManager(keyStore: KeyStore, password: CharArray?): X509KeyManager {
        val kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm())
        kmf.init(keyStore, password)
        return kmf.keyManagers.filterIsInstance<X509KeyManager>().firstOrNull()
            ?: throw GeneralSecurityException("the key store holds no X.509 key")
    }

    fun pkcs12(file: File, password: CharArray): X509KeyManager {
        val ks = KeyStore.getInstance("PKCS12")
        file.inputStream().use { ks.load(it, password) }
        return keyManager(ks, password)
    }

    /** A key manager for a PEM certificate chain (leaf first) and a PKCS#8 PEM private key. */
    fun pem(certificateChain: File, privateKey: File): X509KeyManager {
        val chain = certificates(certificateChain)
        val key = privateKey(privateKey)
        val password = CharArray(0)
        val ks = KeyStore.getInstance(KeyStore.getDefaultType())
        ks.load(null, null)
        ks.setKeyEntry("identity", key, password, chain.toTypedArray())
        return keyManager(ks, password)
    }

    /** A trust manager that trusts [anchors] and nothing else: never the system's roots. */
    fun trustManager(anchors: List<X509Certificate>): TrustManager {
        if (anchors.isEmpty()) throw GeneralSecurityException("no trusted certificate")
        val ks = KeyStore.getInstance(KeyStore.getDefaultType())
        ks.load(null, null)
        anchors.forEachIndexed { i, c -> ks.setCertificateEntry("anchor-$i", c) }
        val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
        tmf.init(ks)
        return tmf.trustManagers.single()
    }

    fun certificates(file: File): List<X509Certificate> {
        val blocks = pemBlocks(file, "CERTIFICATE")
        if (blocks.isEmpty()) throw IOException("$file: no PEM CERTIFICATE block")
        val cf = CertificateFactory.getInstance("X.509")
        return blocks.map { cf.generateCertificate(ByteArrayInputStream(it)) as X509Certificate }
    }

    fun privateKey(file: File): PrivateKey {
        val der = pemBlocks(file, "PRIVATE KEY").singleOrNull()
            ?: throw IOException(
                "$file: want exactly one PEM \"PRIVATE KEY\" (PKCS#8) block; convert others with " +
                    "`openssl pkcs8 -topk8 -nocrypt`",
            )
        val spec = PKCS8EncodedKeySpec(der)
        for (algorithm in listOf("EC", "RSA", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec)
            } catch (_: GeneralSecurityException) {
                // Not this algorithm (or not available on this platform); try the next one.
            }
        }
        throw IOException("$file: not an EC, RSA or Ed25519 PKCS#8 private key")
    }

    private fun pemBlocks(file: File, type: String): List<ByteArray> {
        val begin = "-----BEGIN $type-----"
        val end = "-----END $type-----"
        val out = mutableListOf<ByteArray>()
        var body: StringBuilder? = null
        for (raw in file.readLines()) {
            val line = raw.trim()
            when {
                line == begin -> body = StringBuilder()
                line == end && body != null -> {
                    // okio rather than java.util.Base64, which Android has only from API 26.
                    out += body.toString().decodeBase64()?.toByteArray()
                        ?: throw IOException("$file: bad base64 in a PEM $type block")
                    body = null
                }
                body != null -> body.append(line)
            }
        }
        return out
    }
}
