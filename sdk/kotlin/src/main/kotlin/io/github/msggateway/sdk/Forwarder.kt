package io.github.msggateway.sdk

import com.google.protobuf.ByteString
import com.google.protobuf.UnsafeByteOperations
import io.grpc.CallOptions
import io.grpc.Grpc
import java.io.IOException
import java.net.SocketTimeoutException
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.TimeUnit
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
 * the response returns once its head has arrived and its body streams from the call. A request
 * whose call failed in a way that makes sending it again safe is sent once more (see
 * [retryDelay]).
 *
 * When the gateway has announced on this connection that it accepts it, a request without a
 * body or with a known-length body of at most 16 KiB is one message: the head carries the body
 * and the end marker. A gateway that predates that refuses such a call with UNKNOWN "EOF" before
 * anything reaches the internal host, and the request is then sent again the classic way.
 */
internal class Forwarder(
    private val connection: Connection,
    private val uploads: Executor,
    private val timer: ScheduledExecutorService,
) {
    fun forward(chain: Interceptor.Chain): Response {
        val call = chain.call()
        val request = chain.request()
        val started = System.nanoTime()
        // An empty body is no body (as Go's http.NoBody), but its Content-Type still goes.
        val body = request.body?.takeIf { it.contentLength() != 0L }
        val declared = body?.contentLength() ?: -1L
        val head = requestHead(request, declared, chain.cookieJar).build()
        // Small enough to keep: it can go inline, and be sent again whatever the body says.
        val mem: ByteArray? = when {
            body == null -> EMPTY
            declared in 1..INLINE_BODY_MAX -> readInline(body, declared)
            else -> null
        }
        val replayable = mem != null || !body!!.isOneShot()
        val state = CallState(call)
        var n = 0
        while (true) {
            if (call.isCanceled()) throw canceled()
            var link = connection.hold()
            val movable = n == 0 && replayable && idempotent(request)
            if (!movable) link = connection.preflight(link)
            val a = Attempt(link.clock())
            val failed = try {
                return attempt(chain, state, link, head, body, mem, declared, movable, a)
            } catch (f: Failed) {
                f
            }
            val limit = remainingNanos(call, started)?.let { TimeUnit.NANOSECONDS.toMillis(it) } ?: connection.tuning.reconnectWaitMillis
            val wait = retryDelay(request, replayable, link, a, failed.error, failed.moved, limit)
            if (n > 0 || wait == null || call.isCanceled()) throw failed.error
            if (wait > 0 && state.awaitCancel(wait)) throw failed.error
            // A body being written for the failed attempt must let go before it is written again.
            state.awaitUpload()
            // Wait, within reason, for a connection: a restarting gateway or a new network may take a moment.
            val reconnect = minOf(TimeUnit.MILLISECONDS.toNanos(connection.tuning.reconnectWaitMillis), remainingNanos(call, started) ?: Long.MAX_VALUE)
            if (!connection.current.awaitReady(reconnect) { call.isCanceled() }) throw failed.error
            n++
        }
    }

    /** The OkHttp call's time left before its call timeout, or null without one. */
    private fun remainingNanos(call: Call, started: Long): Long? {
        val timeout = call.timeout().timeoutNanos()
        return if (timeout > 0) timeout - (System.nanoTime() - started) else null
    }

    /**
     * One ForwardStream call of the request on [link], held by the caller; the call releases it
     * when it ends.
     */
    private fun attempt(
        chain: Interceptor.Chain,
        state: CallState,
        link: Link,
        head: RequestHead,
        body: RequestBody?,
        mem: ByteArray?,
        declared: Long,
        movable: Boolean,
        a: Attempt,
    ): Response {
        val gen = link.inline.allowed()
        if (gen == 0L || mem == null) {
            val b = if (mem == null) body else mem.takeIf { it.isNotEmpty() }?.let { InlineBody(it) }
            return exchange(chain, state, link, head, b, declared, movable, a)
        }
        val whole = head.toBuilder().setBody(UnsafeByteOperations.unsafeWrap(mem)).setEnd(true).build()
        try {
            return exchange(chain, state, link, whole, null, declared, movable, a)
        } catch (f: Failed) {
            val e = f.error
            if (e !is GatewayException || e.code != GatewayCode.UNKNOWN || e.statusMessage != "EOF") throw f
            link.inline.forget(gen)
            // Retired meanwhile: the gateway relayed nothing, so the request moves like any other.
            if (!link.hold()) throw Failed(e, moved = true)
            return exchange(chain, state, link, head, mem.takeIf { it.isNotEmpty() }?.let { InlineBody(it) }, declared, movable, a)
        }
    }

    /**
     * Makes one ForwardStream call on [link] for [head] and [body] (null when the head ends the
     * request or there is no body), and returns once the response head has arrived. A failure
     * before that is a [Failed].
     *
     * While the call waits for the response head, nothing arriving on the link for
     * [Tuning.probeAfterMillis] has the link checked (see [Link.probe]); a dead link is replaced,
     * and with [movable] set this call moves. A call that times out with nothing read on the link
     * since it was sent also has the link replaced: the next call should not wait on the same
     * silence.
     */
    private fun exchange(
        chain: Interceptor.Chain,
        state: CallState,
        link: Link,
        head: RequestHead,
        body: RequestBody?,
        declared: Long,
        movable: Boolean,
        a: Attempt,
    ): Response {
        val call = chain.call()
        val sentAtMillis = System.currentTimeMillis()
        val options = CallOptions.DEFAULT.withOption(Attempt.KEY, a).withStreamTracerFactory(link.tracers)
        val exchange = Exchange(link.channel, options) { link.release() }
        exchange.start()
        // Call.cancel() at any point, from any thread, ends the gRPC call and with it the
        // upstream request at the gateway.
        state.current = exchange
        if (call.isCanceled()) exchange.cancel(canceled())
        val moved = GatewayException.local(GatewayCode.UNAVAILABLE, "call moved to a new connection")
        val stopMove = if (movable) link.onRetire { if (!a.answered) exchange.cancel(moved) } else NOTHING
        val probeAfter = connection.tuning.probeAfterMillis
        val probe = if (probeAfter > 0) {
            timer.schedule({ if (!a.answered) link.probe(a.sentAt) { connection.replace(link, true) } }, probeAfter, TimeUnit.MILLISECONDS)
        } else {
            null
        }

        if (exchange.sendNow(ForwardStreamRequest.newBuilder().setHead(head).build())) {
            when {
                head.end -> exchange.halfClose()
                body == null -> if (exchange.sendNow(END)) exchange.halfClose()
                else -> state.upload = upload(exchange, body, declared, chain.writeTimeoutMillis().toLong())
            }
        }

        val readTimeout = chain.readTimeoutMillis().toLong()
        val msg = try {
            exchange.next(readTimeout) ?: throw fail(exchange, GatewayException.protocol("the call ended without a response"))
        } catch (e: IOException) {
            probe?.cancel(false)
            stopMove()
            val wasMoved = exchange.endedFor(moved) && !call.isCanceled()
            if (a.answered) link.reached.set(true)
            if (!wasMoved && !a.answered && timedOut(e, call, state.started) && !link.readSince(a.sentAt)) {
                connection.replace(link, true)
            }
            throw Failed(e, wasMoved)
        }
        probe?.cancel(false)
        stopMove()
        a.answered = true
        link.reached.set(true)
        if (!msg.hasHead()) throw fail(exchange, GatewayException.protocol("the response did not start with a head"))
        val rh = msg.head
        if (rh.acceptsInlineRequests) link.inline.learn()
        val request = chain.request()
        val code = rh.statusCode
        if (code !in 100..999) throw fail(exchange, GatewayException.protocol("invalid HTTP status code $code"))
        val headers = try {
            headersOf(rh.headersList)
        } catch (e: IllegalArgumentException) {
            throw fail(exchange, GatewayException.protocol("invalid response header: ${e.message}"))
        }
        val length = responseLength(request.method, code, headers)
        val responseBody = StreamBody(
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
                responseBody.inline(inlineBody, rh.trailersList)
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
            .body(responseBody)
            .trailers(responseBody)
            .sentRequestAtMillis(sentAtMillis)
            .receivedResponseAtMillis(System.currentTimeMillis())
            .build()
    }

    /** Whether [e] ended a call because a timeout passed: OkHttp's read timeout, or its call timeout. */
    private fun timedOut(e: IOException, call: Call, started: Long): Boolean =
        e is SocketTimeoutException || remainingNanos(call, started)?.let { it <= 0 } == true

    /**
     * Streams [body] on an upload thread: `RequestBody.writeTo` writes into a sink that cuts
     * messages of [CHUNK_SIZE] and waits for gRPC's flow control, so at most one chunk is held.
     * A body that fails, or does not match its declared length, cancels the call with an error
     * saying so. The latch returned opens when the upload has ended.
     */
    private fun upload(exchange: Exchange, body: RequestBody, declared: Long, writeTimeoutMillis: Long): CountDownLatch {
        val done = CountDownLatch(1)
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
            } finally {
                done.countDown()
            }
        }
        try {
            uploads.execute(task)
        } catch (e: RejectedExecutionException) {
            done.countDown()
            exchange.cancel(GatewayException.local(GatewayCode.CANCELLED, "the gateway client is closed", e))
        }
        return done
    }

    /** An attempt that failed before the response head, and whether its call moved to a new link. */
    private class Failed(val error: IOException, val moved: Boolean) : Exception(error)

    /**
     * What the attempts of one OkHttp call share: the call's cancellation, which ends the current
     * gRPC call or a wait between attempts, and the upload a retry must wait for.
     */
    private class CallState(call: Call) {
        val started = System.nanoTime()

        @Volatile
        var current: Exchange? = null

        @Volatile
        var upload: CountDownLatch? = null
        private val cancelled = CountDownLatch(1)

        init {
            call.addEventListener(object : EventListener() {
                override fun canceled(call: Call) {
                    cancelled.countDown()
                    current?.cancel(canceled())
                }
            })
        }

        /** Waits [millis]; true when the call was cancelled first. */
        fun awaitCancel(millis: Long): Boolean = cancelled.await(millis, TimeUnit.MILLISECONDS)

        /** Waits until the last attempt's body upload ended (it fails fast once its call is over), or the call is cancelled. */
        fun awaitUpload() {
            val u = upload ?: return
            while (!u.await(100, TimeUnit.MILLISECONDS)) {
                if (cancelled.count == 0L) return
            }
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

    /** A body kept in memory, sent as a stream when it does not go inline. */
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

        private val EMPTY = ByteArray(0)

        private val NOTHING: () -> Unit = {}

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
