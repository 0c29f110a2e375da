package server

import (
	"context"
	"time"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/server/config"
)

// hardening is the server's part that keeps its TLS material fresh and
// bounds what callers can make it do.
type hardening struct {
	tls   *tlsManager
	conns *connRegistry
	// revocation composes every revocation source; it is consulted in the
	// handshake and on every request. The CRL files come first; further
	// sources (the admin store's revocations) are appended in New, before
	// the server serves.
	revocation authz.RevocationCheckers
	authn      *authz.Authenticator
	limits     *identityLimits
	intake     *intake
}

// initHardening wires the TLS manager, the connection registry, the
// per-request authentication and the abuse limits.
func (s *Server) initHardening(tlsm *tlsManager) {
	s.tls = tlsm
	s.conns = newConnRegistry(s.log)
	s.revocation = authz.RevocationCheckers{tlsm}
	tlsm.revoked = &s.revocation
	s.authn = &authz.Authenticator{Revocation: &s.revocation, Logger: s.log}
	lim := s.cfg.GetLimits()
	s.limits = newIdentityLimits(lim.GetRatePerSecond(), int(lim.GetBurst()), int(lim.GetMaxInFlightPerIdentity()))
	s.intake = newIntake(lim, s.metrics, s.log)
}

// ReloadTLS reads the certificate, key, client CA bundle and CRL files again
// and applies them to new handshakes. Open connections are not dropped; those
// whose client certificate a new CRL revokes are closed. When a file does not
// load, the previous material stays in force and the error (naming the key)
// is logged and returned. `msg-gateway serve` calls it on SIGHUP; the files
// are also polled every tls.reload_interval.
func (s *Server) ReloadTLS() error {
	if err := s.tls.reload(); err != nil {
		return err
	}
	s.conns.closeRevoked(&s.revocation)
	return nil
}

// CloseRevokedConnections closes every open connection whose client
// certificate chain the revocation sources now refuse. Call it after a
// revocation source changed (the CRL reload does).
func (s *Server) CloseRevokedConnections() int {
	return s.conns.closeRevoked(&s.revocation)
}

// watchTLS polls the TLS files and rotates the session ticket keys until
// ctx is done.
func (s *Server) watchTLS(ctx context.Context) {
	every := s.cfg.GetTls().GetReloadInterval().AsDuration()
	if every <= 0 {
		every = config.DefaultTLSReloadInterval
	}
	poll := time.NewTicker(every)
	defer poll.Stop()
	rotate := time.NewTicker(ticketKeyRotation)
	defer rotate.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if s.tls.poll() {
				s.conns.closeRevoked(&s.revocation)
			}
		case <-rotate.C:
			if err := s.tls.rotateTicketKeys(); err != nil {
				s.log.Error("tls: rotating session ticket keys", "error", err.Error())
			}
		}
	}
}
