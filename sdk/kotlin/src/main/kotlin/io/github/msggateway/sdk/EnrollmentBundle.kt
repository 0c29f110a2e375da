package io.github.msggateway.sdk

/**
 * Everything a device needs to enroll, from the `msg-enroll://HOST:PORT/?s=SECRET&pin=sha256:PIN`
 * string an admin hands out (as text or QR code). Read exactly as the gateway's Go parser
 * (internal/enrollment/bundle.go) reads it: both are tested with the cases of
 * internal/enrollment/testdata/bundles.json.
 */
public class EnrollmentBundle private constructor(
    /** The enrollment listener, "host:port" ("[v6]:port" for IPv6). */
    public val address: String,
    /** The one-time secret. */
    public val secret: String,
    pin: ByteArray,
) {
    private val pinBytes = pin.copyOf()

    /** The SHA-256 of the DER certificate of the gateway's trust anchor. */
    public val pin: ByteArray get() = pinBytes.copyOf()

    /** The host of [address], without brackets. */
    internal val host: String get() = if (address.startsWith("[")) address.substring(1, address.indexOf(']')) else address.substringBeforeLast(':')

    /** The port of [address]. */
    internal val port: Int get() = address.substringAfterLast(':').toInt()

    /** Never shows the secret. */
    override fun toString(): String = "EnrollmentBundle($address)"

    public companion object {
        private const val SCHEME = "msg-enroll"
        private const val MAX_BUNDLE_LENGTH = 512
        private const val MIN_SECRET_BYTES = 16
        private const val MAX_SECRET_LENGTH = 128
        private const val PIN_PREFIX = "sha256:"

        /**
         * Parses a bundle, with surrounding white space ignored.
         *
         * @throws IllegalArgumentException naming the part at fault (never quoting the secret).
         */
        @JvmStatic
        public fun parse(input: String): EnrollmentBundle {
            val s = trimSpace(input)
            if (utf8Length(s) > MAX_BUNDLE_LENGTH) fail("longer than $MAX_BUNDLE_LENGTH bytes")
            val sep = s.indexOf("://")
            // Go compares with strings.EqualFold, which folds U+017F (long s) to s.
            if (sep < 0 || s.substring(0, sep).replace('\u017f', 's').lowercase() != SCHEME) fail("must start with $SCHEME://")
            val rest = s.substring(sep + 3)
            if (rest.any { it in "#@\\ \t\r\n" }) fail("user info, fragments, backslashes and white space are not allowed")
            val q = rest.indexOf('?')
            if (q < 0) fail("no parameters (want ?s=SECRET&pin=sha256:PIN)")
            var authority = rest.substring(0, q)
            val query = rest.substring(q + 1)
            val slash = authority.indexOf('/')
            if (slash >= 0) {
                if (authority.substring(slash + 1).isNotEmpty()) fail("unexpected path after the address")
                authority = authority.substring(0, slash)
            }
            checkAddress(authority)?.let { fail("address: $it") }
            var secret: String? = null
            var pin: ByteArray? = null
            for (param in query.split('&')) {
                val eq = param.indexOf('=')
                val name = if (eq < 0) param else param.substring(0, eq)
                val value = if (eq < 0) "" else param.substring(eq + 1)
                when (name) {
                    "s" -> {
                        if (secret != null) fail("parameter s given twice")
                        checkSecret(value)?.let { fail("parameter s: $it") }
                        secret = value
                    }
                    "pin" -> {
                        if (pin != null) fail("parameter pin given twice")
                        if (!value.startsWith(PIN_PREFIX)) fail("parameter pin: must start with \"sha256:\"")
                        val raw = decodeBase64UrlStrict(value.substring(PIN_PREFIX.length))
                        if (raw == null || raw.size != 32) fail("parameter pin: want 43 characters of unpadded base64url (a SHA-256)")
                        pin = raw
                    }
                    else -> fail("unknown parameter ${goQuote(clip(name))} (a newer gateway's bundle? update the app)")
                }
            }
            if (secret == null) fail("parameter s (the secret) is missing")
            if (pin == null) fail("parameter pin is missing")
            return EnrollmentBundle(authority, secret, pin)
        }

        private fun fail(msg: String): Nothing = throw IllegalArgumentException("enrollment bundle: $msg")

        private fun checkSecret(s: String): String? {
            if (utf8Length(s) > MAX_SECRET_LENGTH) return "longer than $MAX_SECRET_LENGTH characters"
            val raw = decodeBase64UrlStrict(s) ?: return "not unpadded base64url"
            if (raw.size < MIN_SECRET_BYTES) return "shorter than $MIN_SECRET_BYTES bytes"
            return null
        }

        /** Checks "host:port" as Go's net.SplitHostPort and the bundle's rules do; returns the error. */
        private fun checkAddress(a: String): String? {
            if (a.isEmpty()) return "missing (want HOST:PORT)"
            val (host, port) = splitHostPort(a) ?: return "not HOST:PORT"
            if (port.isEmpty() || port.length > 5 || port.any { it !in '0'..'9' } || port[0] == '0' || port.toInt() > 65535) {
                return "port must be a number from 1 to 65535"
            }
            if (a.startsWith("[")) return if (isIPv6(host)) null else "not an IPv6 address in brackets"
            // A dotted quad that is no IPv4 address is still a DNS name by these rules, as in Go.
            return if (validDnsName(host)) null else "host is neither a DNS name nor an IP address"
        }

        /** Go's net.SplitHostPort: null where it fails. */
        private fun splitHostPort(hp: String): Pair<String, String>? {
            val i = hp.lastIndexOf(':')
            if (i < 0) return null
            val host: String
            var j = 0
            var k = 0
            if (hp[0] == '[') {
                val end = hp.indexOf(']')
                if (end < 0 || end + 1 == hp.length || end + 1 != i) return null
                host = hp.substring(1, end)
                j = 1
                k = end + 1
            } else {
                host = hp.substring(0, i)
                if (':' in host) return null
            }
            if ('[' in hp.substring(j) || ']' in hp.substring(k)) return null
            return host to hp.substring(i + 1)
        }

        private fun validDnsName(h: String): Boolean {
            if (h.isEmpty() || h.length > 253) return false
            return h.split('.').all { l ->
                l.isNotEmpty() && l.length <= 63 && l[0] != '-' && l[l.length - 1] != '-' &&
                    l.all { it in 'a'..'z' || it in 'A'..'Z' || it in '0'..'9' || it == '-' }
            }
        }

        /** Go's strict dotted quad: four decimal numbers up to 255, no leading zeros. */
        private fun isIPv4(s: String): Boolean {
            val parts = s.split('.')
            return parts.size == 4 && parts.all { p ->
                p.isNotEmpty() && p.length <= 3 && p.all { it in '0'..'9' } && (p == "0" || p[0] != '0') && p.toInt() <= 255
            }
        }

        private fun isHex(c: Char) = c in '0'..'9' || c in 'a'..'f' || c in 'A'..'F'

        /** Go's netip.ParseAddr for an IPv6 address without a zone (an IPv4 address is not one). */
        private fun isIPv6(s: String): Boolean {
            if ('%' in s) return false // a zone, or an empty one: refused either way
            var groups = 0
            var ellipsis = false
            var rest = s
            if (rest.startsWith("::")) {
                ellipsis = true
                rest = rest.substring(2)
                if (rest.isEmpty()) return true
            }
            while (true) {
                var n = 0
                while (n < rest.length && n < 4 && isHex(rest[n])) n++
                if (n == 0) return false
                // An embedded IPv4 address ends the address, in place of two groups.
                if (rest.length > n && rest[n] == '.') {
                    if (groups > 6 || !isIPv4(rest)) return false
                    groups += 2
                    break
                }
                groups++
                rest = rest.substring(n)
                if (rest.isEmpty()) break
                if (rest[0] != ':' || rest.length == 1) return false
                rest = rest.substring(1)
                if (rest[0] == ':') {
                    if (ellipsis) return false
                    ellipsis = true
                    rest = rest.substring(1)
                    if (rest.isEmpty()) break
                }
                if (groups >= 8) return false
            }
            return if (ellipsis) groups < 8 else groups == 8
        }

        private const val B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

        /** Unpadded base64url whose unused bits are zero (Go's RawURLEncoding.Strict). */
        internal fun decodeBase64UrlStrict(s: String): ByteArray? {
            if (s.length % 4 == 1) return null
            val out = ByteArray(s.length * 6 / 8)
            var acc = 0
            var bits = 0
            var n = 0
            for (c in s) {
                val v = B64URL.indexOf(c)
                if (v < 0) return null
                acc = (acc shl 6) or v
                bits += 6
                if (bits >= 8) {
                    bits -= 8
                    out[n++] = (acc shr bits).toByte()
                }
                acc = acc and ((1 shl bits) - 1)
            }
            return if (acc != 0) null else out
        }

        /** Go's unicode.IsSpace, which strings.TrimSpace trims (U+FEFF is not white space). */
        private fun isGoSpace(c: Char): Boolean = when (c) {
            '\t', '\n', '\u000b', '\u000c', '\r', ' ', '\u0085', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000' -> true
            else -> c in '\u2000'..'\u200a'
        }

        private fun trimSpace(s: String): String = s.trim { isGoSpace(it) }

        private fun utf8Length(s: String): Int = s.toByteArray(Charsets.UTF_8).size

        private fun clip(s: String): String {
            val b = s.toByteArray(Charsets.UTF_8)
            return if (b.size > 32) String(b, 0, 32, Charsets.ISO_8859_1) + "..." else s
        }

        /** Quotes as Go's %q does for the ASCII it meets here. */
        private fun goQuote(s: String): String = buildString {
            append('"')
            for (c in s) {
                when {
                    c == '"' || c == '\\' -> append('\\').append(c)
                    c.code < 0x20 || c.code == 0x7f -> append("\\x").append(String.format("%02x", c.code))
                    else -> append(c)
                }
            }
            append('"')
        }
    }
}
