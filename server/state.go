package server

import (
	"context"
	"crypto/x509"
	"math/big"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/dn"
	"github.com/msg-gateway/msg/internal/revocation"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/store"
)

// state is one compiled store snapshot: the host table, the policy and the
// revocations the data plane uses. It is immutable and swapped atomically as
// a whole on every committed change.
type state struct {
	revision int64
	table    *relay.Table
	policy   *authz.Policy
	// revoked holds the ids of the store's revocations ("fp-..." and
	// "sn-..."), as package revocation computes them.
	revoked map[string]bool
}

// compileSnapshot builds the data plane's state from a store snapshot.
func (s *Server) compileSnapshot(snap *store.Snapshot) (*state, error) {
	c, err := compileParts(snap.Hosts, snap.Rules, s.tableOpts...)
	if err != nil {
		return nil, err
	}
	st := &state{revision: snap.Revision, table: c.table, policy: c.policy, revoked: make(map[string]bool, len(snap.Revocations))}
	for _, r := range snap.Revocations {
		st.revoked[s.revocationID(r)] = true
	}
	return st, nil
}

// revocationID is the id a stored revocation is checked under. A revocation
// by serial number is keyed again from its issuer and serial rather than
// trusted by its stored id: revocations written before issuers were
// canonicalized keep working, and so do issuers spelled in a way the old
// key missed.
func (s *Server) revocationID(r *adminv1.Revocation) string {
	if r.GetSerialHex() == "" {
		return r.GetId()
	}
	issuer, err := dn.Parse(r.GetIssuer())
	serial, ok := new(big.Int).SetString(r.GetSerialHex(), 16)
	if err != nil || !ok {
		s.log.Warn("store revocation names no readable issuer and serial; it matches no certificate",
			"revocation", r.GetId(), "issuer", r.GetIssuer(), "serial_hex", r.GetSerialHex())
		return r.GetId()
	}
	return revocation.SerialID(issuer, serial)
}

// validateSnapshot is the admin API's whole-snapshot check: everything that
// compileSnapshot needs to succeed.
func (s *Server) validateSnapshot(snap *store.Snapshot) error {
	c, err := compileParts(snap.Hosts, snap.Rules, s.tableOpts...)
	if err != nil {
		return err
	}
	c.table.Close()
	return nil
}

// innerLimits bound an inner request's head, for the data plane and the
// policy tester alike.
func (s *Server) innerLimits() authz.Limits {
	lim := s.cfg.GetLimits()
	return authz.Limits{MaxHeaderCount: int(lim.GetMaxHeaderCount()), MaxHeaderBytes: int(lim.GetMaxHeaderBytes())}
}

// storeRevocations checks a certificate against the current state's
// revocations, by fingerprint and by issuer and serial.
func (s *Server) storeRevoked(cert *x509.Certificate) (bool, string) {
	st := s.state.Load()
	if st == nil || len(st.revoked) == 0 {
		return false, ""
	}
	fp, sn := revocation.IDs(cert)
	if st.revoked[fp] {
		return true, "revoked by an admin (fingerprint)"
	}
	if sn != "" && st.revoked[sn] {
		return true, "revoked by an admin (issuer and serial)"
	}
	return false, ""
}

// followStore applies every committed store change to the data plane until
// ctx is done: a new rule applies to the next request, a revocation closes the
// revoked certificate's open connections.
func (s *Server) followStore(ctx context.Context, ch <-chan *store.Snapshot) {
	for snap := range ch {
		next, err := s.compileSnapshot(snap)
		if err != nil {
			// Writes are validated before commit, so this means the store
			// was changed behind the gateway's back: keep serving the last
			// good state.
			s.log.Error("store snapshot does not compile; keeping the previous state",
				"revision", snap.Revision, "error", err.Error())
			continue
		}
		old := s.state.Swap(next)
		s.metrics.configRevision.Set(float64(next.revision))
		s.log.Info("applied store change", "revision", next.revision,
			"hosts", len(snap.Hosts), "rules", len(snap.Rules), "revocations", len(snap.Revocations))
		if old != nil {
			old.table.Close()
		}
		if n := s.CloseRevokedConnections(); n > 0 {
			s.log.Info("closed connections of revoked certificates", "connections", n)
		}
		if ctx.Err() != nil {
			return
		}
	}
}
