package server

import (
	"crypto/x509"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/msg-gateway/msg/authz"
	"google.golang.org/grpc/credentials"
)

// connRegistry knows every open data-plane connection and the client chain
// it was authenticated with, so that a connection can be closed when its
// certificate expires (a timer per connection) or is revoked (a sweep after
// the revocations change). Per-request checks refuse such a caller anyway;
// closing the connection also ends its streams and idle keep-alive.
type connRegistry struct {
	log *slog.Logger

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnRegistry(log *slog.Logger) *connRegistry {
	return &connRegistry{log: log, conns: map[*trackedConn]struct{}{}}
}

// credentials wraps the server's transport credentials so that every
// connection that completes a handshake is tracked.
func (r *connRegistry) credentials(inner credentials.TransportCredentials) credentials.TransportCredentials {
	return &trackingCreds{TransportCredentials: inner, reg: r}
}

// closeRevoked closes every connection whose chain has a certificate that
// checker now reports revoked, and returns how many it closed.
func (r *connRegistry) closeRevoked(checker authz.RevocationChecker) int {
	if checker == nil {
		return 0
	}
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

// open returns the number of tracked connections.
func (r *connRegistry) open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

type trackingCreds struct {
	credentials.TransportCredentials
	reg *connRegistry
}

func (c *trackingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return conn, info, err
	}
	ti, ok := info.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return conn, info, err // authn refuses every request on it
	}
	return c.reg.track(conn, ti.State.VerifiedChains[0]), info, nil
}

func (c *trackingCreds) Clone() credentials.TransportCredentials {
	return &trackingCreds{TransportCredentials: c.TransportCredentials.Clone(), reg: c.reg}
}

// trackedConn closes itself when the first certificate of its chain
// expires.
type trackedConn struct {
	net.Conn
	chain []*x509.Certificate
	reg   *connRegistry
	timer *time.Timer
	once  sync.Once
	err   error
}

func (r *connRegistry) track(conn net.Conn, chain []*x509.Certificate) *trackedConn {
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
