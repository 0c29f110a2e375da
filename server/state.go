package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/server/admin"
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
	// revoked holds the ids of the store's revocations ("fp-..." and "sn-...").
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
		st.revoked[r.GetId()] = true
	}
	return st, nil
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

// liveState is the policy tester's view of the state the data plane serves:
// the same compiled policy, host table and inner-request limits.
func (s *Server) liveState() admin.LiveState {
	st := s.state.Load()
	return admin.LiveState{
		Revision: st.revision,
		Policy:   st.policy,
		HasHost: func(host string) bool {
			_, ok := st.table.Lookup(host)
			return ok
		},
		HostOptions: st.table.HostOptions,
		Limits:      s.innerLimits(),
	}
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
	sum := sha256.Sum256(cert.Raw)
	if st.revoked["fp-"+hex.EncodeToString(sum[:])] {
		return true, "revoked by an admin (fingerprint)"
	}
	if st.revoked["sn-"+admin.SerialKey(cert.Issuer.String(), cert.SerialNumber.Text(16))] {
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
