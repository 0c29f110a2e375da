package io.github.msggateway.sdk

import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import javax.net.SocketFactory

/**
 * Remembers whether the gateway at the other end of the current connection has announced
 * (`ResponseHead.accepts_inline_requests`) that it accepts a whole small request in one message.
 * The knowledge is per connection, as in the Go client: behind a load balancer a new connection
 * may reach a gateway of another version, so every connection that opens or closes forgets it and
 * the next call learns it again. The channel's sockets come from [socketFactory], which counts.
 */
internal class InlineState {
    // gen counts connection opens and closes; learned is the gen in which the gateway announced
    // inline requests, 0 when it has not.
    private val gen = AtomicLong()
    private val learned = AtomicLong()

    /** The current generation, and whether inline requests may be sent in it (gen > 0 and learned). */
    fun allowed(): Long {
        val g = gen.get()
        return if (g != 0L && learned.get() == g) g else 0L
    }

    /**
     * Records an announcement that has just arrived, for the connection that is up now. Should the
     * call's connection have been replaced in between by one to an older gateway, that gateway
     * refuses the next inline request before relaying it, and the request is sent again the
     * classic way (see [Forwarder]).
     */
    fun learn() {
        val g = gen.get()
        if (g != 0L && learned.get() != g) learned.set(g)
    }

    /** Drops what was learned in [g], after a gateway refused an inline request. */
    fun forget(g: Long) {
        learned.compareAndSet(g, 0)
    }

    /** Plain sockets for grpc-okhttp, which layers TLS over them; each counts its connect and close. */
    val socketFactory: SocketFactory = object : SocketFactory() {
        override fun createSocket(): Socket = CountingSocket()

        override fun createSocket(host: String, port: Int): Socket =
            CountingSocket().apply { connect(InetSocketAddress(host, port)) }

        override fun createSocket(host: String, port: Int, localHost: InetAddress?, localPort: Int): Socket =
            CountingSocket().apply {
                bind(InetSocketAddress(localHost, localPort))
                connect(InetSocketAddress(host, port))
            }

        override fun createSocket(host: InetAddress, port: Int): Socket =
            CountingSocket().apply { connect(InetSocketAddress(host, port)) }

        override fun createSocket(address: InetAddress, port: Int, localAddress: InetAddress?, localPort: Int): Socket =
            CountingSocket().apply {
                bind(InetSocketAddress(localAddress, localPort))
                connect(InetSocketAddress(address, port))
            }
    }

    // Never created connected: Socket's connecting constructors call connect() before this
    // subclass is initialised.
    private inner class CountingSocket : Socket() {
        private val closed = AtomicBoolean()

        override fun connect(endpoint: java.net.SocketAddress?, timeout: Int) {
            super.connect(endpoint, timeout)
            gen.incrementAndGet()
        }

        override fun close() {
            if (isConnected && closed.compareAndSet(false, true)) gen.incrementAndGet()
            super.close()
        }
    }
}
