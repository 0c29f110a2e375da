package server

import "maps"

// This file gives the external tests (package server_test) two ways to
// change a revocation source the way the server does, minus the sweep of
// open connections that always follows in production. With the sweep out
// of the way, a test can tell the per-request revocation check from the
// closing of revoked connections: each has its own test.

// RevokeInStoreStateWithoutClosing adds revocation ids ("fp-<sha256 hex>" or
// "sn-...") to the state the data plane serves, as followStore does after a
// committed revocation, but does not close any connection.
func RevokeInStoreStateWithoutClosing(s *Server, ids ...string) {
	cur := s.state.Load()
	next := *cur
	next.revoked = maps.Clone(cur.revoked)
	if next.revoked == nil {
		next.revoked = map[string]bool{}
	}
	for _, id := range ids {
		next.revoked[id] = true
	}
	s.state.Store(&next)
}

// ReloadCRLsWithoutClosing reloads the TLS files (certificate, client CAs,
// CRLs) as Server.ReloadTLS does, but does not close any connection.
func ReloadCRLsWithoutClosing(s *Server) error {
	return s.tls.reload()
}
