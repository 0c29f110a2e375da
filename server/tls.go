package server

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/server/tlsmaterial"
	"google.golang.org/grpc/credentials"
)

// ReloadTLS reads the certificate, key, client CA bundle and CRL files again
// and applies them to new handshakes. Open connections are not dropped; those
// whose client certificate a new CRL revokes are closed. When a file does not
// load, the previous material stays in force and the error (naming the key)
// is logged and returned. `msg-gateway serve` calls it on SIGHUP; the files
// are also polled every tls.reload_interval.
func (s *Server) ReloadTLS() error {
	return s.tls.Reload()
}

// CloseRevokedConnections closes every open connection whose client
// certificate chain the revocation sources now refuse. Call it after a
// revocation source changed (the CRL reload does).
func (s *Server) CloseRevokedConnections() int {
	return s.tls.CloseRevoked()
}

// dataCredentials are the data plane's transport credentials: the TLS
// handshake, after which every connection is tracked by the intake (its
// HTTP/2 frames and per-identity budgets) and by the TLS material (closed
// when its client certificate expires or is revoked).
type dataCredentials struct {
	credentials.TransportCredentials
	tls *tlsmaterial.DataPlane
	in  *intake
}

func (c *dataCredentials) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
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
	conn = c.in.track(conn, budgetKey(chain))
	if len(chain) == 0 {
		return conn, info, nil // authn refuses every request on it
	}
	return c.tls.Track(conn, chain), info, nil
}

func (c *dataCredentials) Clone() credentials.TransportCredentials {
	return &dataCredentials{TransportCredentials: c.TransportCredentials.Clone(), tls: c.tls, in: c.in}
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
