package io.github.msggateway.sdk.example

import io.github.msggateway.sdk.Enrollment
import io.github.msggateway.sdk.FileIdentityStore
import io.github.msggateway.sdk.Gateway
import io.github.msggateway.sdk.NoIdentityException
import java.io.File
import okhttp3.OkHttpClient
import okhttp3.Request

// On first start, enroll from the bundle the admin handed out (pasted, or scanned from its QR code);
// afterwards the identity is in dir, and the Gateway keeps its certificate renewed.
fun enrollAndCall(bundle: String, dir: File): String {
    val store = FileIdentityStore(dir) // on Android: your IdentityStore over the AndroidKeyStore
    val enrolled = try {
        store.load()
        ""
    } catch (e: NoIdentityException) {
        Enrollment.enroll(bundle, store) // blocks: off the main thread
        "enrolled, "
    }
    val gateway = Gateway.Builder()
        .identityStore(store) { status -> status.error?.let { System.err.println("renewal failed: $it") } }
        .routeHost("enrolled.internal")
        .build()
    val client = OkHttpClient.Builder().addInterceptor(gateway.interceptor).build()
    try {
        val request = Request.Builder().url("https://enrolled.internal/hello").build()
        client.newCall(request).execute().use { response ->
            return "$enrolled${response.code} ${response.body.string()}"
        }
    } finally {
        gateway.close()
    }
}
