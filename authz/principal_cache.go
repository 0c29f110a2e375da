package authz

import (
	"crypto/x509"
	"runtime"
	"sync"
	"weak"
)

// principalCache remembers the [Principal] of each verified leaf certificate
// for as long as the certificate itself is alive, which is as long as a
// connection that presented it is open. Deriving a principal hashes the
// certificate and parses its SAN extension again, which made up most of
// authentication's cost per request (docs/benchmarks/profiles.md), while
// the answer cannot change for the same certificate object: the TLS stack
// parses each connection's chain once and hands every call on the
// connection the same *x509.Certificate.
//
// Only the derivation is cached. Expiry and revocation are checked on every
// request, as before, and a new connection with the same certificate bytes
// gets a new certificate object, so a new entry.
//
// The key is a weak pointer, so the cache never keeps a certificate (or its
// connection's chain) alive; a cleanup removes the entry once the
// certificate is collected. The zero value is ready to use.
type principalCache struct {
	m sync.Map // weak.Pointer[x509.Certificate] -> *Principal
}

// principal returns leaf's principal, deriving it on first use.
func (c *principalCache) principal(leaf *x509.Certificate) (*Principal, error) {
	key := weak.Make(leaf)
	if p, ok := c.m.Load(key); ok {
		return p.(*Principal), nil
	}
	p, err := PrincipalFromCertificate(leaf)
	if err != nil {
		return nil, err // not cached: rare, and the caller is refused anyway
	}
	if actual, loaded := c.m.LoadOrStore(key, p); loaded {
		return actual.(*Principal), nil
	}
	runtime.AddCleanup(leaf, func(k weak.Pointer[x509.Certificate]) { c.m.Delete(k) }, key)
	return p, nil
}
