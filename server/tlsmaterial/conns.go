package tlsmaterial

import (
	"crypto/x509"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/msg-gateway/msg/authz"
)

// connections knows every open data-plane connection and the client chain
// it was authenticated with, so that a connection can be closed when its
// certificate expires (a timer per connection) or is revoked (a sweep after
// the revocations change). Per-request checks refuse such a caller anyway;
// closing the connection also ends its streams and idle keep-alive.
type connections struct {
	log *slog.Logger

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnections(log *slog.Logger) *connections {
	return &connections{log: log, conns: map[*trackedConn]struct{}{}}
}

// closeRevoked closes every connection whose chain has a certificate that
// checker now reports revoked, and returns how many it closed.
func (r *connections) closeRevoked(checker authz.RevocationChecker) int {
	r.mu.Lock()
	var victims []*trackedConn
	var reasons []string
	for c := range r.conns {
		for _, cert := range c.chain {
			if revoked, reason := checker.Revoked(cert); revoked {
				victims = append(victims, c)
				reasons = append(reasons, reason)
				break
			}
		}
	}
	r.mu.Unlock()
	for i, c := range victims {
		r.log.Info("closing a connection: client certificate revoked", "remote", c.RemoteAddr().String(),
			"subject", c.chain[0].Subject.String(), "serial", c.chain[0].SerialNumber.Text(16), "reason", reasons[i])
		_ = c.Close()
	}
	return len(victims)
}

// trackedConn closes itself when the first certificate of its chain
// expires.
type trackedConn struct {
	net.Conn
	chain []*x509.Certificate
	reg   *connections
	timer *time.Timer
	once  sync.Once
	err   error
}

func (r *connections) track(conn net.Conn, chain []*x509.Certificate) *trackedConn {
	tc := &trackedConn{Conn: conn, chain: chain, reg: r}
	expiry := chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotAfter.Before(expiry) {
			expiry = c.NotAfter
		}
	}
	// The timer is set with mu held, and Close takes mu: a timer that fires
	// at once (an already expired chain) cannot race with its assignment.
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns[tc] = struct{}{}
	// x509 treats NotAfter itself as still valid: close just after it.
	tc.timer = time.AfterFunc(time.Until(expiry)+time.Millisecond, func() {
		r.log.Info("closing a connection: client certificate expired", "remote", conn.RemoteAddr().String(),
			"subject", chain[0].Subject.String(), "serial", chain[0].SerialNumber.Text(16),
			"not_after", expiry.UTC().Format(time.RFC3339))
		_ = tc.Close()
	})
	return tc
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.reg.mu.Lock()
		c.timer.Stop()
		delete(c.reg.conns, c)
		c.reg.mu.Unlock()
		c.err = c.Conn.Close()
	})
	return c.err
}
