package io.github.msggateway.sdk

import java.io.IOException
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.ThreadLocalRandom
import java.util.concurrent.TimeUnit

/** Where the certificate renewal of a [Gateway] built with [Gateway.Builder.identityStore] stands (the Go client's `RenewalStatus`). */
public class RenewalStatus internal constructor(
    /** When the certificate in use expires, in milliseconds since the epoch. */
    public val notAfterMillis: Long,
    /** When the next renewal attempt is due, in milliseconds since the epoch; 0 once the certificate has expired. */
    public val nextAttemptMillis: Long,
    /** When a renewal last succeeded, in milliseconds since the epoch; 0 before the first. */
    public val lastRenewalMillis: Long,
    /** The renewals that succeeded since the [Gateway] was built. */
    public val renewals: Int,
    /**
     * The last attempt's error, null after a success. A [GatewayException] with code
     * PERMISSION_DENIED and reason `RENEWAL_REFUSED` means the gateway no longer knows the device (an
     * admin deleted it); a [CertificateExpiredException] that only a new enrollment helps.
     */
    public val error: Exception?,
    /** The attempts that failed since the last success. */
    public val failures: Int,
) {
    override fun toString(): String =
        "RenewalStatus(renewals=$renewals, failures=$failures, notAfter=$notAfterMillis, nextAttempt=$nextAttemptMillis, error=$error)"
}

/** The certificate expired before a renewal succeeded: enroll again. */
public class CertificateExpiredException internal constructor(message: String) : IOException(message)

/**
 * Renews an enrolled identity at about two thirds of its certificate's lifetime, on a thread of its
 * own, with the Go client's timing (client/renew.go): a failed attempt is retried after a fiftieth
 * of the lifetime, doubling up to a tenth, within the bounds below and with ±20% jitter so that a
 * fleet does not retry in step. Each new identity is saved in the store and handed to [rotate].
 */
internal class Renewer(
    private val store: IdentityStore,
    @Volatile private var identity: Identity,
    private val onRenewal: ((RenewalStatus) -> Unit)?,
    private val rotate: (Identity) -> Unit,
) {
    private val timer: ScheduledExecutorService = Executors.newSingleThreadScheduledExecutor { r ->
        Thread(r, "msg-gateway renewal").apply { isDaemon = true }
    }

    @Volatile
    var status: RenewalStatus
        private set
    private var pending: ScheduledFuture<*>? = null

    @Volatile
    private var closed = false

    init {
        val leaf = identity.leaf
        // After a restart the certificate's own dates say when.
        status = RenewalStatus(leaf.notAfter.time, leaf.notBefore.time + renewAfter(lifetime(identity)), 0, 0, null, 0)
    }

    /** Starts the renewals, once the owner is ready for [rotate]. */
    fun start() {
        synchronized(this) { schedule() }
    }

    /** Schedules the next step: at most a minute of sleep at a time, so that a device that slept through the renewal time renews when it wakes. */
    private fun schedule() {
        if (closed || status.nextAttemptMillis == 0L) return
        val wait = status.nextAttemptMillis - System.currentTimeMillis()
        pending = if (wait > 0) {
            timer.schedule(Runnable { synchronized(this) { schedule() } }, minOf(wait, MAX_SLEEP_STEP_MILLIS), TimeUnit.MILLISECONDS)
        } else {
            timer.schedule(Runnable { renew() }, 0, TimeUnit.MILLISECONDS)
        }
    }

    private fun renew() {
        val current = identity
        val life = lifetime(current)
        val s = status
        if (System.currentTimeMillis() > current.leaf.notAfter.time) {
            report(RenewalStatus(s.notAfterMillis, 0, s.lastRenewalMillis, s.renewals, CertificateExpiredException("the certificate expired before it could be renewed: enroll again"), s.failures))
            return
        }
        try {
            val next = Enrollment.renew(current, store, clamp(life / 4, MIN_ATTEMPT_MILLIS, MAX_ATTEMPT_MILLIS))
            store.save(next)
            if (closed) return
            identity = next
            rotate(next)
            val now = System.currentTimeMillis()
            report(RenewalStatus(next.leaf.notAfter.time, now + renewAfter(lifetime(next)), now, s.renewals + 1, null, 0))
        } catch (e: Exception) {
            if (closed) return
            val failures = s.failures + 1
            report(RenewalStatus(s.notAfterMillis, System.currentTimeMillis() + retryDelay(life, failures), s.lastRenewalMillis, s.renewals, e, failures))
        }
        synchronized(this) { schedule() }
    }

    private fun report(s: RenewalStatus) {
        status = s
        try {
            onRenewal?.invoke(s)
        } catch (_: RuntimeException) {
            // The app's callback failing must not stop the renewals.
        }
    }

    fun close() {
        closed = true
        synchronized(this) { pending?.cancel(false) }
        timer.shutdownNow()
    }

    internal companion object {
        const val MIN_RETRY_MILLIS = 100L
        const val MAX_FIRST_TRY_MILLIS = 30_000L
        const val MIN_MAX_RETRY_MILLIS = 1_000L
        const val MAX_RETRY_MILLIS = 30 * 60_000L
        const val MIN_ATTEMPT_MILLIS = 1_000L
        const val MAX_ATTEMPT_MILLIS = 30_000L
        const val MAX_SLEEP_STEP_MILLIS = 60_000L

        fun lifetime(id: Identity): Long = id.leaf.notAfter.time - id.leaf.notBefore.time

        fun renewAfter(lifetimeMillis: Long): Long = lifetimeMillis / 3 * 2

        fun retryDelay(lifetimeMillis: Long, n: Int): Long {
            val first = clamp(lifetimeMillis / 50, MIN_RETRY_MILLIS, MAX_FIRST_TRY_MILLIS)
            val limit = clamp(lifetimeMillis / 10, MIN_MAX_RETRY_MILLIS, MAX_RETRY_MILLIS)
            var d = first
            var i = 1
            while (i < n && d < limit) {
                d *= 2
                i++
            }
            return (minOf(d, limit) * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble())).toLong()
        }

        fun clamp(v: Long, lo: Long, hi: Long): Long = minOf(maxOf(v, lo), hi)
    }
}
