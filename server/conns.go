package server

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
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
// connection that completes a handshake is tracked, here and by in.
func (r *connRegistry) credentials(inner credentials.TransportCredentials, in *intake) credentials.TransportCredentials {
	return &trackingCreds{TransportCredentials: inner, reg: r, in: in}
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
	in  *intake
}

func (c *trackingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	// The listener's handshake budget is held until here.
	if hc, ok := raw.(interface{ handshakeDone() }); ok {
		defer hc.handshakeDone()
	}
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return conn, info, err
	}
	var chain []*x509.Certificate
	if ti, ok := info.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
		chain = ti.State.VerifiedChains[0]
	}
	if c.in != nil {
		conn = c.in.track(conn, budgetKey(chain))
	}
	if len(chain) == 0 {
		return conn, info, nil // authn refuses every request on it
	}
	return c.reg.track(conn, chain), info, nil
}

func (c *trackingCreds) Clone() credentials.TransportCredentials {
	return &trackingCreds{TransportCredentials: c.TransportCredentials.Clone(), reg: c.reg, in: c.in}
}

// budgetKey is who a connection's calls count against in per-identity
// budgets: the principal of its client certificate, or the certificate
// itself when it yields no principal (its calls are refused, but only after
// they are read).
func budgetKey(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return ""
	}
	if p, err := authz.PrincipalFromCertificate(chain[0]); err == nil {
		return p.ID
	}
	sum := sha256.Sum256(chain[0].Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
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
