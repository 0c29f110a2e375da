package client

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ErrCertificateExpired is a [RenewalStatus] error: the certificate expired
// before a renewal succeeded. Only a new enrollment helps.
var ErrCertificateExpired = errors.New("client: the certificate expired before it could be renewed: enroll again")

// RenewalStatus is where the certificate renewal of a transport built
// [WithIdentityStore] stands.
type RenewalStatus struct {
	// NotAfter is when the certificate in use expires.
	NotAfter time.Time
	// NextAttempt is when the transport tries to renew next (zero once the
	// certificate has expired).
	NextAttempt time.Time
	// LastRenewal is when a renewal last succeeded; zero before the first.
	LastRenewal time.Time
	// Renewals counts the renewals that succeeded since [New].
	Renewals int
	// Err is the last attempt's error: nil after a success. An [*Error]
	// with code PermissionDenied (reason RENEWAL_REFUSED) means the gateway
	// no longer knows the device (an admin deleted it).
	Err error
	// Failures counts the attempts that failed since the last success.
	Failures int
}

// RenewalStatus returns where the certificate renewal stands; the zero
// value for a transport without [WithIdentityStore].
func (t *Transport) RenewalStatus() RenewalStatus {
	if t.renewer == nil {
		return RenewalStatus{}
	}
	t.renewer.mu.Lock()
	defer t.renewer.mu.Unlock()
	return t.renewer.status
}

// Renewal timing. A certificate is renewed at two thirds of its lifetime
// (notBefore to notAfter); a failed attempt is retried after a delay that
// starts at a fiftieth of the lifetime and doubles up to a tenth, within
// the bounds below, with ±20% jitter so that a fleet does not retry in step.
const (
	minRetry     = 100 * time.Millisecond
	maxFirstTry  = 30 * time.Second
	minMaxRetry  = time.Second
	maxRetry     = 30 * time.Minute
	maxAttempt   = 30 * time.Second
	minAttempt   = time.Second
	maxSleepStep = time.Minute
)

// renewer is a transport's renewal goroutine.
type renewer struct {
	store    IdentityStore
	cert     *atomic.Pointer[tls.Certificate]
	rotate   func()
	handler  func(RenewalStatus)
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	identity *Identity // owned by run

	mu     sync.Mutex
	status RenewalStatus
}

func startRenewer(id *Identity, store IdentityStore, cert *atomic.Pointer[tls.Certificate], rotate func(), handler func(RenewalStatus)) *renewer {
	ctx, cancel := context.WithCancel(context.Background())
	r := &renewer{store: store, cert: cert, rotate: rotate, handler: handler, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), identity: id}
	leaf := cert.Load().Leaf
	// After a restart the certificate's own dates say when: a clock that
	// runs ahead renews early, once, and the renewed certificate is then
	// timed from its arrival.
	at := leaf.NotBefore.Add(renewAfter(leaf.NotAfter.Sub(leaf.NotBefore)))
	r.status = RenewalStatus{NotAfter: leaf.NotAfter, NextAttempt: at}
	go r.run(at)
	return r
}

func (r *renewer) close() {
	r.cancel()
	<-r.done
}

// renewAfter is two thirds of a lifetime.
func renewAfter(lifetime time.Duration) time.Duration { return lifetime / 3 * 2 }

// run renews at the given time and after each renewal, until closed. It
// compares wall-clock times and sleeps at most a minute at a time, so that
// a phone that slept through the renewal time renews when it wakes.
func (r *renewer) run(at time.Time) {
	defer close(r.done)
	failures := 0
	for {
		if wait := at.Sub(time.Now().Round(0)); wait > 0 {
			t := time.NewTimer(min(wait, maxSleepStep))
			select {
			case <-r.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		leaf := r.cert.Load().Leaf
		lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
		if !time.Now().Before(leaf.NotAfter) {
			r.report(func(s *RenewalStatus) { s.Err, s.NextAttempt = ErrCertificateExpired, time.Time{} })
			<-r.ctx.Done()
			return
		}
		ctx, cancel := context.WithTimeout(r.ctx, min(max(lifetime/4, minAttempt), maxAttempt))
		next, err := renewIdentity(ctx, r.identity, r.store)
		if err == nil {
			err = r.store.Save(ctx, next)
		}
		cancel()
		if r.ctx.Err() != nil {
			return
		}
		now := time.Now().Round(0)
		if err != nil {
			failures++
			at = now.Add(renewalRetryDelay(lifetime, failures))
			r.report(func(s *RenewalStatus) { s.Err, s.Failures, s.NextAttempt = err, failures, at })
			continue
		}
		c, err := next.tlsCertificate()
		if err != nil { // unreachable: renewIdentity checked it
			continue
		}
		failures = 0
		r.identity = next
		r.cert.Store(c)
		r.rotate()
		at = now.Add(renewAfter(c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)))
		r.report(func(s *RenewalStatus) {
			*s = RenewalStatus{NotAfter: c.Leaf.NotAfter, NextAttempt: at, LastRenewal: now, Renewals: s.Renewals + 1}
		})
	}
}

// report changes the status and hands a copy to the handler.
func (r *renewer) report(change func(*RenewalStatus)) {
	r.mu.Lock()
	change(&r.status)
	st := r.status
	r.mu.Unlock()
	if r.handler != nil {
		r.handler(st)
	}
}

// renewalRetryDelay is the wait after the n-th failed renewal in a row.
func renewalRetryDelay(lifetime time.Duration, n int) time.Duration {
	first := min(max(lifetime/50, minRetry), maxFirstTry)
	limit := min(max(lifetime/10, minMaxRetry), maxRetry)
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
