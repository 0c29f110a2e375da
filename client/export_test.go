package client

import "crypto/tls"

// LastHandshake returns the TLS state of the latest handshake on the
// transport's current connection, or nil before the first.
func LastHandshake(t *Transport) *tls.ConnectionState {
	return t.cur.Load().lastTLS.Load()
}
