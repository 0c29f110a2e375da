package server

import "maps"

// This file gives the external tests (package server_test) a way to change
// a revocation source the way the server does, minus the sweep of open
// connections that always follows in production. With the sweep out of the
// way, a test can tell the per-request revocation check from the closing of
// revoked connections: each has its own test.

// RevokeInStoreStateWithoutClosing adds revocation ids ("fp-<sha256 hex>" or
// "sn-...") to the state the data plane serves, as followStore does after a
// committed revocation, but does not close any connection.
func RevokeInStoreStateWithoutClosing(s *Server, ids ...string) {
	cur := s.served.load()
	next := *cur
	next.revoked = maps.Clone(cur.revoked)
	if next.revoked == nil {
		next.revoked = map[string]bool{}
	}
	for _, id := range ids {
		next.revoked[id] = true
	}
	// Not served.apply: that closes the previous state's host table, which
	// next shares.
	s.served.cur.Store(&next)
}
