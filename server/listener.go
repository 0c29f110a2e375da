package server

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/netutil"
)

// Why a connection was closed at accept: the label values of
// msg_connections_refused_total.
const (
	refusedHandshakes          = "handshakes"
	refusedHandshakesPerSource = "handshakes_per_source"
)

var refusedConnReasons = []string{refusedHandshakes, refusedHandshakesPerSource}

// dataListener is the data plane's listener: at most maxConns open
// connections (further ones wait in the kernel's accept queue), of which at
// most maxHandshakes may still be in their TLS handshake, and at most
// perSource from one source address. A connection accepted over a
// handshake budget is closed at once rather than queued: sockets that never
// finish a handshake can then hold only the handshake budget, never the
// slots of established connections, and one source only its share of it.
func dataListener(lis net.Listener, maxConns, maxHandshakes, perSource int, m *metrics, log *slog.Logger) net.Listener {
	if maxConns > 0 {
		lis = netutil.LimitListener(lis, maxConns)
	}
	l := &handshakeListener{Listener: lis, max: maxHandshakes, perSource: perSource, metrics: m, log: log,
		bySource: map[netip.Prefix]int{}}
	m.handshakesInProcess = l.inProgress
	return l
}

type handshakeListener struct {
	net.Listener
	max, perSource int
	metrics        *metrics
	log            *slog.Logger

	mu       sync.Mutex
	total    int
	bySource map[netip.Prefix]int
}

// Accept returns the next connection within the handshake budgets, closing
// those over them.
func (l *handshakeListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := sourceOf(c.RemoteAddr())
		reason := ""
		l.mu.Lock()
		switch {
		case l.max > 0 && l.total >= l.max:
			reason = refusedHandshakes
		case l.perSource > 0 && l.bySource[src] >= l.perSource:
			reason = refusedHandshakesPerSource
		default:
			l.total++
			l.bySource[src]++
		}
		l.mu.Unlock()
		if reason == "" {
			return &handshakingConn{Conn: c, l: l, src: src}, nil
		}
		l.metrics.connectionsRefused.WithLabelValues(reason).Inc()
		l.log.Debug("closed a connection at accept: handshake budget full", "remote", c.RemoteAddr().String(), "reason", reason)
		_ = c.Close()
	}
}

func (l *handshakeListener) release(src netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySource[src] <= 1 {
		delete(l.bySource, src)
		return
	}
	l.bySource[src]--
}

func (l *handshakeListener) inProgress() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(l.total)
}

// sourceOf is the key of a source address's handshake budget: the IPv4
// address, or the IPv6 /64 (one subscriber's usual allocation, from which
// an attacker could use any address).
func sourceOf(a net.Addr) netip.Prefix {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, 32)
}

// handshakingConn holds its handshake slot until the TLS handshake ends
// (handshakeDone, called by the credentials) or the connection closes.
type handshakingConn struct {
	net.Conn
	l    *handshakeListener
	src  netip.Prefix
	once sync.Once
}

func (c *handshakingConn) handshakeDone() {
	c.once.Do(func() { c.l.release(c.src) })
}

func (c *handshakingConn) Close() error {
	c.handshakeDone()
	return c.Conn.Close()
}
