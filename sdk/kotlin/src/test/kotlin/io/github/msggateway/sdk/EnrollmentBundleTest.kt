package io.github.msggateway.sdk

import java.io.File
import java.util.Base64
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows

/**
 * The bundle parser against the cases the gateway's Go parser is tested with
 * (internal/enrollment/testdata/bundles.json): both must read every bundle alike.
 */
class EnrollmentBundleTest {
    @TestFactory
    fun sharedCases(): List<DynamicTest> {
        @Suppress("UNCHECKED_CAST")
        val file = Json(File(DevGateway.root, "internal/enrollment/testdata/bundles.json").readText()).value() as Map<String, Any?>
        @Suppress("UNCHECKED_CAST")
        val cases = file["cases"] as List<Map<String, String>>
        assertTrue(cases.size >= 40, "${cases.size} cases")
        return cases.map { tc ->
            DynamicTest.dynamicTest(tc.getValue("name")) {
                val want = tc["error"]
                if (want != null) {
                    val e = assertThrows<IllegalArgumentException> { EnrollmentBundle.parse(tc.getValue("bundle")) }
                    assertTrue(e.message!!.contains(want), "error ${e.message}, want one containing \"$want\"")
                    assertFalse(e.message!!.contains("q83vEjRWeJq83vEjRWeJ"), "the error quotes the secret")
                } else {
                    val b = EnrollmentBundle.parse(tc.getValue("bundle"))
                    assertEquals(tc["address"], b.address)
                    assertEquals(tc["secret"], b.secret)
                    assertArrayEquals(Base64.getUrlDecoder().decode(tc.getValue("pin").removePrefix("sha256:")), b.pin)
                }
            }
        }
    }
}

/** A small JSON reader for the test data (objects, arrays, strings, numbers, literals). */
class Json(private val s: String) {
    private var i = 0

    fun value(): Any? {
        ws()
        return when (s[i]) {
            '{' -> {
                i++
                val m = LinkedHashMap<String, Any?>()
                ws()
                if (s[i] == '}') {
                    i++
                    return m
                }
                while (true) {
                    ws()
                    val k = string()
                    ws()
                    expect(':')
                    m[k] = value()
                    ws()
                    if (s[i++] == '}') return m
                }
                @Suppress("UNREACHABLE_CODE")
                m
            }
            '[' -> {
                i++
                val l = ArrayList<Any?>()
                ws()
                if (s[i] == ']') {
                    i++
                    return l
                }
                while (true) {
                    l += value()
                    ws()
                    if (s[i++] == ']') return l
                }
                @Suppress("UNREACHABLE_CODE")
                l
            }
            '"' -> string()
            else -> {
                val start = i
                while (i < s.length && s[i] !in ",]} \n\r\t") i++
                when (val lit = s.substring(start, i)) {
                    "true" -> true
                    "false" -> false
                    "null" -> null
                    else -> lit.toDouble()
                }
            }
        }
    }

    private fun ws() {
        while (i < s.length && s[i].isWhitespace()) i++
    }

    private fun expect(c: Char) {
        check(s[i++] == c) { "JSON: want '$c' at ${i - 1}" }
    }

    private fun string(): String {
        expect('"')
        val b = StringBuilder()
        while (true) {
            val c = s[i++]
            when (c) {
                '"' -> return b.toString()
                '\\' -> when (val e = s[i++]) {
                    'u' -> {
                        b.append(s.substring(i, i + 4).toInt(16).toChar())
                        i += 4
                    }
                    'n' -> b.append('\n')
                    't' -> b.append('\t')
                    'r' -> b.append('\r')
                    'b' -> b.append('\b')
                    'f' -> b.append('\u000c')
                    else -> b.append(e)
                }
                else -> b.append(c)
            }
        }
    }
}
