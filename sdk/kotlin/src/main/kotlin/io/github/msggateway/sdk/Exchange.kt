package io.github.msggateway.sdk

import io.grpc.Attributes
import io.grpc.CallOptions
import io.grpc.Channel
import io.grpc.ClientCall
import io.grpc.Metadata
import io.grpc.Status
import java.io.IOException
import java.io.InterruptedIOException
import java.net.SocketTimeoutException
import java.util.ArrayDeque
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import msg.gateway.v1.Gateway.ForwardStreamRequest
import msg.gateway.v1.Gateway.ForwardStreamResponse
import msg.gateway.v1.GatewayServiceGrpc

/**
 * One ForwardStream call with blocking, flow-controlled access for one reader and one writer.
 *
 * Messages are requested from gRPC only when the reader needs one ([next]), and at most one is
 * outstanding, so a response of any size is held in memory one message (32 KiB) at a time plus
 * the HTTP/2 window; the gateway and the internal host are held back by flow control. [send] waits
 * until gRPC is ready for more, which bounds an upload the same way.
 *
 * The listener runs on the transport's thread (the channel has a direct executor), so it only
 * queues and signals; and this class never calls into gRPC while holding [lock], because gRPC
 * delivers to the listener while holding its own locks.
 */
internal class Exchange(
    channel: Channel,
    callOptions: CallOptions,
    /** Called once when the call has ended, for the link it holds. */
    private val onEnd: () -> Unit,
) : ClientCall.Listener<ForwardStreamResponse>() {
    private val call: ClientCall<ForwardStreamRequest, ForwardStreamResponse> =
        channel.newCall(GatewayServiceGrpc.getForwardStreamMethod(), callOptions)

    private val lock = ReentrantLock()
    private val changed = lock.newCondition()
    private val messages = ArrayDeque<ForwardStreamResponse>(2)
    private var outstanding = 0
    private var readyCount = 0L
    private var status: Status? = null
    private var trailers: Metadata? = null
    private var failure: IOException? = null // why this side ended the call, reported instead of CANCELLED

    fun start() {
        call.start(this, Metadata())
    }

    /** The connection's attributes (peer address, TLS session) once the call has a transport. */
    val attributes: Attributes get() = call.attributes

    /**
     * The next message, or null when the call ended with OK after the last one. A call that ended
     * otherwise throws its [GatewayException] (or the local failure that ended it); no message
     * within [timeoutMillis] (0: no limit) cancels the call and throws [SocketTimeoutException],
     * as OkHttp's read timeout does.
     */
    fun next(timeoutMillis: Long): ForwardStreamResponse? {
        val deadline = deadline(timeoutMillis)
        while (true) {
            var request = false
            var expired = false
            interruptible {
                lock.withLock {
                    while (true) {
                        messages.pollFirst()?.let { return it }
                        status?.let { st ->
                            if (st.isOk) return null
                            throw failure ?: GatewayException.from(st, trailers)
                        }
                        if (outstanding == 0) {
                            outstanding = 1
                            request = true
                            break
                        }
                        if (!awaitUntil(deadline)) {
                            expired = true
                            break
                        }
                    }
                }
            }
            if (request) call.request(1)
            if (expired) throw timeout("timeout")
        }
    }

    /**
     * Sends [message] once gRPC is ready for it. Returns false when the call is over (the reader
     * reports why); throws [SocketTimeoutException] after [timeoutMillis] (0: no limit) without
     * progress, having cancelled the call.
     */
    fun send(message: ForwardStreamRequest, timeoutMillis: Long): Boolean {
        val deadline = deadline(timeoutMillis)
        while (true) {
            val seen = lock.withLock {
                if (status != null || failure != null) return false
                readyCount
            }
            if (call.isReady) break
            var expired = false
            interruptible {
                lock.withLock {
                    while (readyCount == seen && status == null && failure == null) {
                        if (!awaitUntil(deadline)) {
                            expired = true
                            break
                        }
                    }
                }
            }
            if (expired) throw timeout("timeout writing the request body")
        }
        try {
            call.sendMessage(message)
        } catch (_: IllegalStateException) {
            return false // cancelled in between
        }
        return true
    }

    /**
     * Sends [message] without waiting for flow control: for the head and the end marker, which
     * gRPC may buffer until the stream exists (waiting for onReady would cost each call a thread
     * wake-up). Returns false when the call is already over.
     */
    fun sendNow(message: ForwardStreamRequest): Boolean {
        if (lock.withLock { status != null || failure != null }) return false
        try {
            call.sendMessage(message)
        } catch (_: IllegalStateException) {
            return false
        }
        return true
    }

    fun halfClose() {
        try {
            call.halfClose()
        } catch (_: IllegalStateException) {
            // Already cancelled: the reader reports why.
        }
    }

    /** Ends the call; [cause], when given, is what the reader reports rather than CANCELLED. */
    fun cancel(cause: IOException?) {
        lock.withLock {
            if (status == null && failure == null) failure = cause
            changed.signalAll()
        }
        call.cancel(cause?.message ?: "cancelled by the app", cause)
    }

    /** Whether the call was ended for [cause] (see [cancel]). */
    fun endedFor(cause: IOException): Boolean = lock.withLock { failure === cause }

    /** Whether the call has ended, one way or another. */
    val isOver: Boolean get() = lock.withLock { status != null }

    override fun onMessage(message: ForwardStreamResponse) {
        lock.withLock {
            messages.addLast(message)
            outstanding--
            changed.signalAll()
        }
    }

    override fun onClose(status: Status, trailers: Metadata) {
        lock.withLock {
            this.status = status
            this.trailers = trailers
            changed.signalAll()
        }
        onEnd()
    }

    override fun onReady() {
        lock.withLock {
            readyCount++
            changed.signalAll()
        }
    }

    private fun deadline(timeoutMillis: Long): Long =
        if (timeoutMillis > 0) System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis) else 0L

    /** Waits under [lock] for a change; false once [deadline] (0: none) has passed. */
    private fun awaitUntil(deadline: Long): Boolean {
        if (deadline == 0L) {
            changed.await()
            return true
        }
        val left = deadline - System.nanoTime()
        if (left <= 0) return false
        changed.awaitNanos(left)
        return true
    }

    private fun timeout(message: String): SocketTimeoutException {
        val e = SocketTimeoutException(message)
        cancel(e)
        return e
    }

    /** Runs [block]; an interrupt of the waiting thread cancels the call, as it would a socket read. */
    private inline fun interruptible(block: () -> Unit) {
        try {
            block()
        } catch (_: InterruptedException) {
            Thread.currentThread().interrupt()
            val e = InterruptedIOException("interrupted")
            cancel(e)
            throw e
        }
    }
}
