package io.github.msggateway.sdk

import java.util.concurrent.TimeUnit

/**
 * The times of the SDK's connection checks (`client/transport.go` has the same); tests shorten or
 * disable them to isolate one mechanism.
 */
internal class Tuning(
    /**
     * How long a call may wait for its response with nothing arriving on its connection before the
     * SDK checks the connection with a health check (0: never). A slow internal host costs one
     * small health check per slow request; a dead connection is noticed about four seconds after
     * the call was sent, well before the keepalive pings would notice.
     */
    val probeAfterMillis: Long = 1000,
    /** How long that check may take before the connection counts as dead. */
    val probeWaitMillis: Long = 3000,
    /**
     * How long a connection may have been silent before a request that cannot be sent twice waits
     * for a health check of it: one round trip, paid only after such a silence and only for such
     * requests.
     */
    val preflightAfterMillis: Long = 5000,
    /** How long a request that is sent again waits for a connection to the gateway. */
    val reconnectWaitMillis: Long = 20_000,
)

/**
 * The SDK's connection to the gateway: the current [Link] that new calls go out on, and the retired
 * links that calls still use.
 */
internal class Connection(
    dial: () -> Link,
    val tuning: Tuning,
) {
    private val lock = Any()
    private var dial = dial // guarded by lock

    @Volatile
    private var cur: Link = dial()
    private val links = HashSet<Link>().apply { add(cur) } // guarded by lock: open links
    private var closed = false // guarded by lock

    /** The link new calls go out on. */
    val current: Link get() = cur

    /** The current link, counted as in use by a call. */
    fun hold(): Link {
        while (true) {
            val l = cur
            if (l.hold()) return l
        }
    }

    /**
     * Puts a new link in place of [old], unless old is no longer current, and retires old. With
     * [connect] set the new link connects at once.
     */
    fun replace(old: Link, connect: Boolean) {
        val l = synchronized(lock) {
            if (closed || cur !== old) return
            val l = dial()
            // The same gateway and identity: if the gateway answered the old link, a failure to
            // reach it on the new one is an outage worth waiting out.
            l.reached.set(old.reached.get())
            cur = l
            links.add(l)
            links.removeAll { it !== l && it.channel.isShutdown }
            l
        }
        old.retireNow()
        if (connect) l.connect()
    }

    /**
     * See [Gateway.networkChanged]. Calls still on a link that a renewal retired move too: that
     * connection is as dead as the current one.
     */
    fun networkChanged() {
        replace(cur, true)
        for (l in synchronized(lock) { links.toList() }) l.moveAway()
    }

    /**
     * Makes [dial] the dialer of new links (a renewed client certificate, with a TLS session cache
     * of its own) and puts a link of it in place of the current one at once. The old link is
     * retired without moving its calls: they finish there, and it shuts down after the last.
     */
    fun rotate(dial: () -> Link) {
        val old = synchronized(lock) {
            if (closed) return
            this.dial = dial
            val old = cur
            val l = dial()
            l.reached.set(old.reached.get())
            cur = l
            links.add(l)
            links.removeAll { it !== l && it.channel.isShutdown }
            old
        }
        old.retire()
    }

    /**
     * Checks a connection that has been silent for [Tuning.preflightAfterMillis] before a request
     * that cannot be sent twice goes out on it, and returns the link to use, held: [l], or a new
     * one when l did not answer. Such a request must not vanish into a connection that died
     * unnoticed (a NAT that forgot it, a network change the app did not report), since it could
     * not be sent again.
     */
    fun preflight(l: Link): Link {
        if (l.silentForNanos() < TimeUnit.MILLISECONDS.toNanos(tuning.preflightAfterMillis) || !l.connected()) return l
        val start = l.clock()
        l.checkNow(tuning.probeWaitMillis)
        if (l.readSince(start)) return l
        replace(l, true)
        l.release()
        return hold()
    }

    /** Shuts every link down at once; calls in flight fail. */
    fun close() {
        val all = synchronized(lock) {
            closed = true
            links.toList().also { links.clear() }
        }
        for (l in all) l.channel.shutdownNow()
    }
}
