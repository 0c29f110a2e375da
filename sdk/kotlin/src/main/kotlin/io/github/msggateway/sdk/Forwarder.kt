package io.github.msggateway.sdk

import com.google.protobuf.ByteString
import com.google.protobuf.UnsafeByteOperations
import io.grpc.Channel
import io.grpc.Grpc
import java.io.IOException
import java.util.concurrent.Executor
import java.util.concurrent.RejectedExecutionException
import javax.net.ssl.SSLPeerUnverifiedException
import msg.gateway.v1.Gateway.ForwardStreamRequest
import msg.gateway.v1.Gateway.Header
import msg.gateway.v1.Gateway.RequestEnd
import msg.gateway.v1.Gateway.RequestHead
import msg.gateway.v1.Gateway.ResponseHead
import okhttp3.Call
import okhttp3.Cookie
import okhttp3.CookieJar
import okhttp3.EventListener
import okhttp3.Handshake.Companion.handshake
import okhttp3.HttpUrl
import okhttp3.Interceptor
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.Protocol
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.Response
import okio.Buffer
import okio.BufferedSink
import okio.ForwardingSink
import okio.Sink
import okio.Timeout
import okio.buffer

/**
 * Sends one OkHttp request as one ForwardStream call, as the Go client's Transport does: the
 * head, the body in chunks from [uploads] as fast as the gateway takes them, then the end marker;
 * the response returns once its head has arrived and its body streams from the call.
 *
 * When the gateway has announced on this connection that it accepts it, a request without a
 * body or with a known-length body of at most 16 KiB is one message: the head carries the body
 * and the end marker. A gateway that predates that refuses such a call with UNKNOWN "EOF" before
 * anything reaches the internal host, and the request is then sent again the classic way.
 */
internal class Forwarder(
    private val channel: Channel,
    private val inline: InlineState,
    private val uploads: Executor,
) {
    fun forward(chain: Interceptor.Chain): Response {
        val call = chain.call()
        val request = chain.request()
        // An empty body is no body (as Go's http.NoBody), but its Content-Type still goes.
        val body = request.body?.takeIf { it.contentLength() != 0L }
        val declared = body?.contentLength() ?: -1L
        val head = requestHead(request, declared, chain.cookieJar)

        val gen = inline.allowed()
        if (gen == 0L || (body != null && (declared < 0 || declared > INLINE_BODY_MAX))) {
            return exchange(chain, call, head.build(), body, declared)
        }
        val bytes = body?.let { readInline(it, declared) }
        if (bytes != null) head.body = UnsafeByteOperations.unsafeWrap(bytes)
        head.end = true
        try {
            return exchange(chain, call, head.build(), null, declared)
        } catch (e: GatewayException) {
            if (e.code != GatewayCode.UNKNOWN || e.statusMessage != "EOF") throw e
            inline.forget(gen)
            head.clearBody().clearEnd()
            return exchange(chain, call, head.build(), bytes?.let { InlineBody(it) }, declared)
        }
    }

    private fun exchange(
        chain: Interceptor.Chain,
        call: Call,
        head: RequestHead,
        body: RequestBody?,
        declared: Long,
    ): Response {
        val sentAt = System.currentTimeMillis()
        val exchange = Exchange(channel)
        // Call.cancel() at any point, from any thread, ends the gRPC call and with it the
        // upstream request at the gateway.
        call.addEventListener(object : EventListener() {
            override fun canceled(call: Call) = exchange.cancel(canceled())
        })
        exchange.start()
        if (call.isCanceled()) exchange.cancel(canceled())

        if (exchange.sendNow(ForwardStreamRequest.newBuilder().setHead(head).build())) {
            when {
                head.end -> exchange.halfClose()
                body == null -> if (exchange.sendNow(END)) exchange.halfClose()
                else -> upload(exchange, body, declared, chain.writeTimeoutMillis().toLong())
            }
        }

        val readTimeout = chain.readTimeoutMillis().toLong()
        val msg = exchange.next(readTimeout)
            ?: throw fail(exchange, GatewayException.protocol("the call ended without a response"))
        if (!msg.hasHead()) throw fail(exchange, GatewayException.protocol("the response did not start with a head"))
        val rh = msg.head
        if (rh.acceptsInlineRequests) inline.learn()
        val request = chain.request()
        val code = rh.statusCode
        if (code !in 100..999) throw fail(exchange, GatewayException.protocol("invalid HTTP status code $code"))
        val headers = try {
            headersOf(rh.headersList)
        } catch (e: IllegalArgumentException) {
            throw fail(exchange, GatewayException.protocol("invalid response header: ${e.message}"))
        }
        val length = responseLength(request.method, code, headers)
        val body = StreamBody(
            exchange,
            headers["Content-Type"]?.toMediaTypeOrNull(),
            length,
            if (bodyAllowed(request.method, code)) length else -1,
            readTimeout,
        )
        when {
            rh.end -> {
                val inlineBody = rh.body.toByteArray()
                if (bodyAllowed(request.method, code) && length >= 0 && inlineBody.size.toLong() != length) {
                    throw fail(exchange, GatewayException.protocol("the response body does not match its Content-Length"))
                }
                body.inline(inlineBody, rh.trailersList)
            }
            !rh.body.isEmpty || rh.trailersCount > 0 ->
                throw fail(exchange, GatewayException.protocol("a body in the response head without its end"))
        }
        saveCookies(chain.cookieJar, request.url, headers)
        return Response.Builder()
            .request(request)
            // The app's hop is HTTP/2, the internal host's may be anything: report what the Go
            // client reports.
            .protocol(Protocol.HTTP_1_1)
            .code(code)
            .message(reasonPhrase(code))
            .headers(headers)
            .handshake(handshake(exchange))
            .body(body)
            .trailers(body)
            .sentRequestAtMillis(sentAt)
            .receivedResponseAtMillis(System.currentTimeMillis())
            .build()
    }

    /**
     * Streams [body] on an upload thread: `RequestBody.writeTo` writes into a sink that cuts
     * messages of [CHUNK_SIZE] and waits for gRPC's flow control, so at most one chunk is held.
     * A body that fails, or does not match its declared length, cancels the call with an error
     * saying so.
     */
    private fun upload(exchange: Exchange, body: RequestBody, declared: Long, writeTimeoutMillis: Long) {
        val task = Runnable {
            val sink = ChunkSink(exchange, writeTimeoutMillis)
            try {
                val buffered = sink.buffer()
                body.writeTo(buffered)
                buffered.flush()
                when {
                    sink.aborted -> return@Runnable
                    declared >= 0 && sink.total > declared -> throw longer(declared)
                    declared >= 0 && sink.total < declared ->
                        throw GatewayException.local(GatewayCode.INVALID_ARGUMENT, "request body shorter than its contentLength $declared")
                }
                if (exchange.send(END, writeTimeoutMillis)) exchange.halfClose()
            } catch (e: IOException) {
                if (!sink.aborted) exchange.cancel(e as? GatewayException ?: GatewayException.local(GatewayCode.UNKNOWN, "request body: $e", e))
            } catch (e: RuntimeException) {
                exchange.cancel(GatewayException.local(GatewayCode.UNKNOWN, "request body: $e", e))
            }
        }
        try {
            uploads.execute(task)
        } catch (e: RejectedExecutionException) {
            exchange.cancel(GatewayException.local(GatewayCode.CANCELLED, "the gateway client is closed", e))
        }
    }

    /** The sink [RequestBody.writeTo] writes into: it sends full chunks, and what it has on flush. */
    private class ChunkSink(private val exchange: Exchange, private val writeTimeoutMillis: Long) : Sink {
        private val pending = Buffer()
        var total = 0L
        var aborted = false // the call ended under the writer; the reader reports why

        override fun write(source: Buffer, byteCount: Long) {
            total += byteCount
            pending.write(source, byteCount)
            while (pending.size >= CHUNK_SIZE) send(CHUNK_SIZE.toLong())
        }

        override fun flush() {
            if (pending.size > 0) send(pending.size)
        }

        private fun send(n: Long) {
            val chunk: ByteString = UnsafeByteOperations.unsafeWrap(pending.readByteArray(n))
            if (!exchange.send(ForwardStreamRequest.newBuilder().setBodyChunk(chunk).build(), writeTimeoutMillis)) {
                aborted = true
                throw IOException("the call is over")
            }
        }

        override fun timeout(): Timeout = Timeout.NONE

        override fun close() {}
    }

    /** A body already read into memory, to send again after an older gateway refused it inline. */
    private class InlineBody(private val bytes: ByteArray) : RequestBody() {
        override fun contentType() = null
        override fun contentLength() = bytes.size.toLong()
        override fun writeTo(sink: BufferedSink) {
            sink.write(bytes)
        }
    }

    companion object {
        /**
         * The most request body bytes in one message. As the gateway's response chunks, 32 KiB less
         * 16 bytes, so that an encoded message fits a 32 KiB buffer.
         */
        const val CHUNK_SIZE = 32 * 1024 - 16

        /** The largest body (of known length) that travels inside the request head. */
        const val INLINE_BODY_MAX = 16 * 1024L

        private val END: ForwardStreamRequest =
            ForwardStreamRequest.newBuilder().setEnd(RequestEnd.getDefaultInstance()).build()

        private fun canceled() = GatewayException.local(GatewayCode.CANCELLED, "Canceled")

        private fun longer(declared: Long) =
            GatewayException.local(GatewayCode.INVALID_ARGUMENT, "request body longer than its contentLength $declared")

        private fun fail(exchange: Exchange, e: GatewayException): GatewayException {
            exchange.cancel(e)
            return e
        }

        /**
         * The inner request's head. The URL's scheme is not sent: the gateway's host table decides
         * how each internal host is reached. The app's Host and Content-Length headers are dropped
         * (the gateway sets Host from the upstream URL, and the body's framing is the SDK's
         * business); Content-Type comes from the body, and the cookie jar's cookies are added, as
         * OkHttp's own bridge would for a network request.
         */
        fun requestHead(request: Request, declared: Long, cookies: CookieJar): RequestHead.Builder {
            val url = request.url
            val head = RequestHead.newBuilder()
                .setHost(authority(url))
                .setMethod(request.method)
                .setPath(url.encodedPath + (url.encodedQuery?.let { "?$it" } ?: ""))
                .setAcceptInlineResponse(true)
            val headers = request.headers
            for (i in 0 until headers.size) {
                val name = headers.name(i)
                if (name.equals("Host", ignoreCase = true) || name.equals("Content-Length", ignoreCase = true)) continue
                head.addHeaders(header(name, headers.value(i)))
            }
            val type = request.body?.contentType()
            if (type != null && headers["Content-Type"] == null) head.addHeaders(header("Content-Type", type.toString()))
            if (headers["Cookie"] == null && cookies !== CookieJar.NO_COOKIES) {
                val jar = cookies.loadForRequest(url)
                if (jar.isNotEmpty()) head.addHeaders(header("Cookie", jar.joinToString("; ") { "${it.name}=${it.value}" }))
            }
            if (declared > 0) head.addHeaders(header("Content-Length", declared.toString()))
            return head
        }

        /** "host" or "host:port" as the app named it: the port only when it is not the scheme's default. */
        fun authority(url: HttpUrl): String {
            val host = if (':' in url.host) "[${url.host}]" else url.host
            return if (url.port == HttpUrl.defaultPort(url.scheme)) host else "$host:${url.port}"
        }

        private fun header(name: String, value: String) = Header.newBuilder().setName(name).setValue(value).build()

        private fun readInline(body: RequestBody, declared: Long): ByteArray {
            val buf = Buffer()
            // A body that writes more than it declared is cut off at once, not held in memory.
            val limited = object : ForwardingSink(buf) {
                override fun write(source: Buffer, byteCount: Long) {
                    if (buf.size + byteCount > declared) throw longer(declared)
                    super.write(source, byteCount)
                }
            }.buffer()
            body.writeTo(limited)
            limited.flush()
            if (buf.size < declared) {
                throw GatewayException.local(GatewayCode.INVALID_ARGUMENT, "request body shorter than its contentLength $declared")
            }
            return buf.readByteArray()
        }

        private fun saveCookies(jar: CookieJar, url: HttpUrl, headers: okhttp3.Headers) {
            if (jar === CookieJar.NO_COOKIES) return
            val cookies = Cookie.parseAll(url, headers)
            if (cookies.isNotEmpty()) jar.saveFromResponse(url, cookies)
        }

        private fun handshake(exchange: Exchange) = try {
            exchange.attributes.get(Grpc.TRANSPORT_ATTR_SSL_SESSION)?.handshake()
        } catch (_: SSLPeerUnverifiedException) {
            null
        } catch (_: IOException) {
            null
        }

        /** The body length a response head announces in one valid Content-Length, or -1. */
        fun responseLength(method: String, code: Int, headers: okhttp3.Headers): Long {
            val values = headers.values("Content-Length")
            if (values.size != 1) return -1
            val v = values[0]
            if (v.isEmpty() || v.length > 18 || v.any { it !in '0'..'9' }) return -1
            if (!bodyAllowed(method, code) && method != "HEAD") return 0
            return v.toLong()
        }

        /** Whether the response can carry a body (RFC 9110 section 6.4.1). */
        fun bodyAllowed(method: String, code: Int): Boolean =
            method != "HEAD" && code !in 100..199 && code != 204 && code != 304

        private fun reasonPhrase(code: Int): String = REASONS[code] ?: ""

        private val REASONS = mapOf(
            100 to "Continue", 101 to "Switching Protocols", 200 to "OK", 201 to "Created", 202 to "Accepted",
            203 to "Non-Authoritative Information", 204 to "No Content", 205 to "Reset Content",
            206 to "Partial Content", 300 to "Multiple Choices", 301 to "Moved Permanently", 302 to "Found",
            303 to "See Other", 304 to "Not Modified", 307 to "Temporary Redirect", 308 to "Permanent Redirect",
            400 to "Bad Request", 401 to "Unauthorized", 403 to "Forbidden", 404 to "Not Found",
            405 to "Method Not Allowed", 406 to "Not Acceptable", 408 to "Request Timeout", 409 to "Conflict",
            410 to "Gone", 411 to "Length Required", 412 to "Precondition Failed", 413 to "Content Too Large",
            415 to "Unsupported Media Type", 416 to "Range Not Satisfiable", 422 to "Unprocessable Content",
            429 to "Too Many Requests", 500 to "Internal Server Error", 501 to "Not Implemented",
            502 to "Bad Gateway", 503 to "Service Unavailable", 504 to "Gateway Timeout",
        )
    }
}
