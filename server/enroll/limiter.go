package enroll

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxSources bounds how many source addresses the limiter tracks at once.
// When it is full of sources that are still limited, new sources are
// refused too: an attacker with many addresses can slow enrollment down,
// but not make the gateway hold unbounded state.
const maxSources = 16384

// sourceLimiter is a token bucket per source address: an IPv4 address, or
// an IPv6 /64 (one subscriber's usual allocation, from which an attacker
// could use any address).
type sourceLimiter struct {
	every rate.Limit
	burst int

	mu      sync.Mutex
	sources map[netip.Prefix]*rate.Limiter
}

func newSourceLimiter(perSecond float64, burst int) *sourceLimiter {
	return &sourceLimiter{every: rate.Limit(perSecond), burst: burst, sources: map[netip.Prefix]*rate.Limiter{}}
}

// allow takes a token of src's bucket, or says how long until one is
// there.
func (l *sourceLimiter) allow(src net.Addr, now time.Time) (bool, time.Duration) {
	key := sourcePrefix(src)
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.sources[key]
	if lim == nil {
		if len(l.sources) >= maxSources {
			l.prune(now)
		}
		if len(l.sources) >= maxSources {
			return false, time.Second
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.sources[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// prune forgets sources whose bucket is full again: they are no different
// from a new source.
func (l *sourceLimiter) prune(now time.Time) {
	for k, lim := range l.sources {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.sources, k)
		}
	}
}

// sourcePrefix is the bucket of an address: its IPv4 address or IPv6 /64.
// Addresses that are not IP (in-memory listeners) share one bucket.
func sourcePrefix(a net.Addr) netip.Prefix {
	var ap netip.AddrPort
	switch t := a.(type) {
	case *net.TCPAddr:
		ap = t.AddrPort()
	case nil:
		return netip.Prefix{}
	default:
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return netip.Prefix{}
		}
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p
	}
	p, _ := ip.Prefix(32)
	return p
}
