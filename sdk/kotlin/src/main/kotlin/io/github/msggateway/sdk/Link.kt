package io.github.msggateway.sdk

import io.grpc.CallOptions
import io.grpc.ClientCall
import io.grpc.ClientStreamTracer
import io.grpc.ConnectivityState
import io.grpc.ManagedChannel
import io.grpc.Metadata
import io.grpc.MethodDescriptor
import io.grpc.Status
import java.io.ByteArrayInputStream
import java.io.InputStream
import java.util.concurrent.CountDownLatch
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * One ForwardStream call of a request; a request that is sent again has two. The link's stream
 * tracer marks what happened to it.
 */
internal class Attempt(
    /** When the call was started, on its link's clock. */
    val sentAt: Long,
) {
    /**
     * The request's headers were handed to a connection. Conservative, as the Go client: a stream
     * on a connection that then died counts as sent, even one the gateway refused unprocessed.
     * After a GOAWAY, grpc-okhttp ends a stream above its last-stream-id and a stream the gateway
     * took but whose connection then died with the same status ("Received Goaway"), and only the
     * second may have reached the internal host.
     */
    @Volatile
    var sent = false

    /** The gateway answered: response headers, or a status, arrived. */
    @Volatile
    var answered = false

    companion object {
        val KEY: CallOptions.Key<Attempt> = CallOptions.Key.create("msg-gateway attempt")
    }
}

/**
 * One gRPC channel to the gateway and what the SDK knows about the network connection under it
 * (as `client/link.go` in Go). New calls go out on the current link; when the app reports a
 * network change, or the link stops answering, a new link takes over and the old one is retired:
 * calls that may be sent twice move to the new link, the others finish where they are, and the
 * old channel shuts down when its last call has ended.
 *
 * What arrives on the link is seen through a stream tracer on every call rather than on the
 * socket: Android's TLS sockets read their file descriptor natively, past any Java stream.
 */
internal class Link(
    val channel: ManagedChannel,
    val inline: InlineState,
    private val timer: ScheduledExecutorService,
    private val probeWaitMillis: Long,
) {
    private val born = System.nanoTime()

    /** When something last arrived on the link ([clock]; 0: never). */
    private val lastRead = AtomicLong()

    /** The gateway answered a call on this link: it accepts this app, so a later failure to reach it is worth waiting out. */
    val reached = AtomicBoolean()

    private val retired = AtomicBoolean()
    private val lock = Any()
    private var movers: HashMap<Long, () -> Unit>? = HashMap() // guarded by lock; null once retired
    private var nextMover = 0L // guarded by lock
    private val active = AtomicLong() // calls that hold the link
    private val closed = AtomicBoolean()
    private val probing = AtomicBoolean()

    /** The tracers of every call on the link: they record what arrives, and mark the call's [Attempt]. */
    val tracers: ClientStreamTracer.Factory = object : ClientStreamTracer.Factory() {
        override fun newClientStreamTracer(info: ClientStreamTracer.StreamInfo, headers: Metadata): ClientStreamTracer {
            val a = info.callOptions.getOption(Attempt.KEY)
            return object : ClientStreamTracer() {
                override fun outboundHeaders() {
                    a?.sent = true
                }

                override fun inboundHeaders() {
                    touch()
                    a?.answered = true
                }

                override fun inboundTrailers(trailers: Metadata) {
                    touch()
                    a?.answered = true
                }

                override fun inboundMessage(seqNo: Int) {
                    touch()
                }
            }
        }
    }

    init {
        watch(ConnectivityState.IDLE)
    }

    /** A new connection counts as something arriving: its handshake just came back. */
    private fun watch(seen: ConnectivityState) {
        channel.notifyWhenStateChanged(seen) {
            val s = channel.getState(false)
            if (s == ConnectivityState.READY) touch()
            if (s != ConnectivityState.SHUTDOWN) watch(s)
        }
    }

    /** The link's monotonic time in nanoseconds (plus one, so that it is never 0). */
    fun clock(): Long = System.nanoTime() - born + 1

    fun touch() = lastRead.set(clock())

    /** Whether something arrived on the link since [t], a [clock] reading. */
    fun readSince(t: Long): Boolean = lastRead.get() >= t

    /** How long nothing has arrived on the link, in nanoseconds; 0 before its first connection. */
    fun silentForNanos(): Long {
        val last = lastRead.get()
        return if (last == 0L) 0 else clock() - last
    }

    /** Whether the link has a connection up. */
    fun connected(): Boolean = channel.getState(false) == ConnectivityState.READY

    /** Opens the link's connection now rather than on the first call. */
    fun connect() {
        channel.getState(true)
    }

    /** Counts a call on the link; false on a retired link, whose calls belong on the current one. */
    fun hold(): Boolean {
        active.incrementAndGet()
        if (retired.get()) {
            release()
            return false
        }
        return true
    }

    /** Ends a call that [hold] counted; the last call on a retired link closes it. */
    fun release() {
        if (active.decrementAndGet() == 0L && retired.get()) close()
    }

    /**
     * Stops new calls on the link, moves the calls that may move and closes the link once no call
     * holds it. The order of [retired] and [active] here and in [hold] makes sure one of the two
     * sides sees the other.
     */
    fun retireNow() {
        retired.set(true)
        moveAway()
        if (active.get() == 0L) close()
    }

    /**
     * Stops new calls on the link and closes it once no call holds it, leaving its calls where
     * they are (a renewed certificate: the connection itself is fine); a later [moveAway] still
     * moves those that may move.
     */
    fun retire() {
        retired.set(true)
        if (active.get() == 0L) close()
    }

    /** Moves the calls on a retired link that may move; on the current link it does nothing. */
    fun moveAway() {
        val moving = synchronized(lock) {
            if (!retired.get()) return
            movers.also { movers = null }
        }
        moving?.values?.forEach { it() }
    }

    /** Has [move] called when the link retires, at once if it has; the function returned undoes that. */
    fun onRetire(move: () -> Unit): () -> Unit {
        val id = synchronized(lock) { movers?.let { m -> nextMover++.also { m[it] = move } } }
        if (id == null) {
            move()
            return {}
        }
        return { synchronized(lock) { movers?.remove(id) } }
    }

    /** Shuts the channel down, letting calls that still run on it finish (they hold it, so there are none when retired). */
    fun close() {
        if (!closed.compareAndSet(false, true)) return
        // Not on the transport thread that may have called release.
        try {
            timer.execute { channel.shutdown() }
        } catch (_: RejectedExecutionException) {
            channel.shutdown() // the Gateway is closed
        }
    }

    /**
     * Waits until the link has a connection, for a call that is sent again: a restarting gateway
     * or a new network may take a moment. False when [timeoutNanos] passed, [canceled] turned
     * true or the link shut down first.
     */
    fun awaitReady(timeoutNanos: Long, canceled: () -> Boolean): Boolean {
        val deadline = System.nanoTime() + timeoutNanos
        while (true) {
            val s = channel.getState(true)
            if (s == ConnectivityState.READY) return true
            if (s == ConnectivityState.SHUTDOWN || canceled()) return false
            val left = deadline - System.nanoTime()
            if (left <= 0) return false
            val changed = CountDownLatch(1)
            channel.notifyWhenStateChanged(s) { changed.countDown() }
            // Bounded, to see a cancellation of the OkHttp call in time.
            changed.await(minOf(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS)
        }
    }

    /** What a health check of the link's connection found. */
    enum class Check { ANSWERED, SILENT, FAILED }

    /**
     * Asks the gateway for its health on this link (a `grpc.health.v1` Check, which the gateway
     * answers without authorization) and reports to [done], on a gRPC thread: [Check.ANSWERED] when
     * any response arrives, even an error status, which proves the connection alive;
     * [Check.SILENT] when nothing does within [timeoutMillis]; [Check.FAILED] when the connection
     * failed, which its calls see by themselves.
     */
    fun check(timeoutMillis: Long, done: (Check) -> Unit) {
        val a = Attempt(clock())
        val call = channel.newCall(
            HEALTH_CHECK,
            CallOptions.DEFAULT.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                .withOption(Attempt.KEY, a).withStreamTracerFactory(tracers),
        )
        call.start(object : ClientCall.Listener<ByteArray>() {
            override fun onClose(status: Status, trailers: Metadata) {
                done(
                    when {
                        a.answered -> Check.ANSWERED
                        status.code == Status.Code.DEADLINE_EXCEEDED -> Check.SILENT
                        else -> Check.FAILED
                    },
                )
            }
        }, Metadata())
        call.request(1)
        call.sendMessage(EMPTY) // an empty HealthCheckRequest: the server's overall health
        call.halfClose()
    }

    /** [check], waiting for its result. */
    fun checkNow(timeoutMillis: Long): Check {
        var result = Check.FAILED
        val done = CountDownLatch(1)
        check(timeoutMillis) {
            result = it
            done.countDown()
        }
        // The call's deadline ends it; the margin is for a stalled gRPC thread.
        done.await(timeoutMillis + 1000, TimeUnit.MILLISECONDS)
        return result
    }

    /**
     * Checks the link when nothing has arrived on it since [sentAt], and calls [dead] (on the
     * timer thread) when the check goes unanswered and still nothing arrived: the connection is
     * presumed gone (the phone changed networks, a NAT forgot it). One probe runs at a time.
     *
     * A link still connecting is not probed: its silence is a handshake under way, which gRPC's
     * connect timeout bounds, and replacing it would start the handshake over (on a slow device,
     * again and again).
     */
    fun probe(sentAt: Long, dead: () -> Unit) {
        if (readSince(sentAt) || retired.get() || !connected() || !probing.compareAndSet(false, true)) return
        val start = clock()
        check(probeWaitMillis) { r ->
            probing.set(false)
            if (r == Check.SILENT && !readSince(start)) {
                try {
                    timer.execute(dead)
                } catch (_: RejectedExecutionException) {
                    // The Gateway is closed.
                }
            }
        }
    }

    private companion object {
        val EMPTY = ByteArray(0)

        /** Bytes in, bytes out: the check needs no message types, only an answer. */
        val RAW = object : MethodDescriptor.Marshaller<ByteArray> {
            override fun stream(value: ByteArray): InputStream = ByteArrayInputStream(value)
            override fun parse(stream: InputStream): ByteArray = stream.readBytes()
        }

        val HEALTH_CHECK: MethodDescriptor<ByteArray, ByteArray> = MethodDescriptor.newBuilder(RAW, RAW)
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("grpc.health.v1.Health/Check")
            .build()
    }
}
