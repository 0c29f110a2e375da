package io.github.msggateway.sdk

import io.github.msggateway.sdk.example.callDemo
import java.io.File
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** The README's example is example/ReadmeExample.kt, word for word, and it works against dev mode. */
@Timeout(180)
class ReadmeExampleTest {
    private val source = File(DevGateway.root, "sdk/kotlin/src/test/kotlin/io/github/msggateway/sdk/example/ReadmeExample.kt")

    @Test
    fun readmeShowsTheExampleThatRuns() {
        val readme = File(DevGateway.root, "sdk/kotlin/README.md").readText()
        val block = Regex("<!-- example: ReadmeExample.kt -->\\s*```kotlin\\n(.*?)```", RegexOption.DOT_MATCHES_ALL)
            .find(readme)?.groupValues?.get(1) ?: error("README.md has no example block")
        val code = source.readText().substringAfter("\n\n") // without the package line
        assertEquals(code, block)
    }

    @Test
    fun exampleCallsTheDemoHost() {
        DevGateway().use { dev ->
            val out = callDemo(dev.dir, dev.grpcPort)
            assertTrue(out.startsWith("200 ") && "hello from the demo internal host" in out, out)
        }
    }
}
