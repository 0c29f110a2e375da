package io.github.msggateway.sdk.example

import io.github.msggateway.sdk.Gateway
import io.github.msggateway.sdk.GatewayException
import java.io.File
import okhttp3.OkHttpClient
import okhttp3.Request

// `make run` starts the gateway in dev mode on 127.0.0.1:8443 with its PKI in .dev/.
fun callDemo(dir: File = File(".dev"), port: Int = 8443): String {
    val gateway = Gateway.Builder()
        .address("127.0.0.1", port)
        .clientPem(File(dir, "alice.pem"), File(dir, "alice-key.pem"))
        .trustedCertificates(File(dir, "ca.pem")) // the gateway's CA only
        .routeHost("demo.internal") // or "*.internal"; other hosts go through OkHttp as usual
        .build()
    val client = OkHttpClient.Builder()
        .addInterceptor(gateway.interceptor)
        .build()
    try {
        val request = Request.Builder().url("https://demo.internal/hello").build()
        client.newCall(request).execute().use { response ->
            return "${response.code} ${response.body.string()}"
        }
    } catch (e: GatewayException) {
        // For example PERMISSION_DENIED with reason POLICY_DENIED; e.retryAfterMillis after a rate limit.
        return "refused: ${e.code} ${e.reason}"
    } finally {
        gateway.close()
    }
}
