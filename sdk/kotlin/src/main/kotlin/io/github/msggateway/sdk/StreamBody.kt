package io.github.msggateway.sdk

import java.io.IOException
import java.util.concurrent.atomic.AtomicBoolean
import msg.gateway.v1.Gateway.ForwardStreamResponse.KindCase
import msg.gateway.v1.Gateway.Header
import okhttp3.Headers
import okhttp3.MediaType
import okhttp3.ResponseBody
import okhttp3.TrailersSource
import okio.Buffer
import okio.BufferedSource
import okio.Source
import okio.Timeout
import okio.buffer

/**
 * The body of a response that streams from its ForwardStream call. Reading pulls one message at a
 * time from the call; [close] before the end cancels the call, and with it the upstream request.
 *
 * Reads return -1 (end of stream) only after the end marker and the call's OK status: a body cut
 * short for any reason ends in an [IOException] (usually a [GatewayException]), never in a short
 * body that looks complete.
 */
internal class StreamBody(
    private val exchange: Exchange,
    private val contentType: MediaType?,
    private val contentLength: Long,
    /** The announced length to check, or -1. */
    private val want: Long,
    /** OkHttp's read timeout for each wait for the next message; 0 for none. */
    private val readTimeoutMillis: Long,
) : ResponseBody(), Source, TrailersSource {
    private var rest: ByteArray = EMPTY
    private var offset = 0
    private var read = 0L
    private var ended = false // the end marker has arrived: only the call's status is left
    private var error: IOException? = null // sticky
    private var eof = false
    private val closed = AtomicBoolean()

    @Volatile
    private var trailers: Headers? = null

    private val buffered: BufferedSource by lazy { (this as Source).buffer() }

    /** The whole body came in the response head (the one-message form), with its trailers. */
    fun inline(body: ByteArray, trailers: List<Header>): StreamBody {
        rest = body
        read = body.size.toLong()
        ended = true
        pendingTrailers = trailers
        return this
    }

    private var pendingTrailers: List<Header> = emptyList()

    override fun contentType(): MediaType? = contentType

    override fun contentLength(): Long = contentLength

    override fun source(): BufferedSource = buffered

    override fun read(sink: Buffer, byteCount: Long): Long {
        check(!closed.get()) { "closed" }
        while (offset == rest.size) {
            error?.let { throw it }
            if (eof) return -1
            if (byteCount == 0L) return 0
            try {
                nextChunk()
            } catch (e: IOException) {
                error = e
                throw e
            }
        }
        val n = minOf(byteCount, (rest.size - offset).toLong()).toInt()
        sink.write(rest, offset, n)
        offset += n
        return n.toLong()
    }

    /** Receives the next message into [rest], or sets [eof] after the end marker and an OK status. */
    private fun nextChunk() {
        if (ended) {
            finish()
            return
        }
        val msg = exchange.next(readTimeoutMillis)
            ?: throw fail(GatewayException.protocol("the response ended without its end marker"))
        when (msg.kindCase) {
            KindCase.BODY_CHUNK -> {
                val chunk = msg.bodyChunk
                read += chunk.size()
                if (want >= 0 && read > want) throw fail(GatewayException.protocol("the response body is longer than its Content-Length"))
                rest = chunk.toByteArray()
                offset = 0
            }
            KindCase.END -> {
                if (want >= 0 && read != want) throw fail(GatewayException.protocol("the response body is shorter than its Content-Length"))
                pendingTrailers = msg.end.trailersList
                ended = true
                finish()
            }
            else -> throw fail(GatewayException.protocol("unexpected message in the response body"))
        }
    }

    /** After the end marker only the call's OK status confirms the exchange. */
    private fun finish() {
        if (exchange.next(readTimeoutMillis) != null) {
            throw fail(GatewayException.protocol("a message followed the response's end marker"))
        }
        trailers = headersOf(pendingTrailers)
        eof = true
        rest = EMPTY
        offset = 0
    }

    private fun fail(e: GatewayException): GatewayException {
        exchange.cancel(e)
        return e
    }

    /** Ends the call if the body was not read to the end, which cancels the upstream request. */
    override fun close() {
        if (closed.compareAndSet(false, true) && !eof) {
            exchange.cancel(IOException("response body closed"))
        }
    }

    override fun timeout(): Timeout = Timeout.NONE

    /** The trailers, once the body has been read to the end; until then, null. */
    override fun peek(): Headers? = trailers

    override fun get(): Headers =
        trailers ?: throw IllegalStateException("trailers are available once the body has been read to the end")

    private companion object {
        val EMPTY = ByteArray(0)
    }
}

internal fun headersOf(list: List<Header>): Headers {
    if (list.isEmpty()) return Headers.EMPTY
    val b = Headers.Builder()
    // addUnsafeNonAscii: the gateway relays values as the internal host sent them.
    for (h in list) b.addUnsafeNonAscii(h.name, h.value)
    return b.build()
}
