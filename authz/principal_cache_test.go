package authz_test

import (
	"crypto/x509"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/internal/pki"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestAuthenticatorRemembersOnlyTheIdentity: one Authenticator serves every
// call of a connection, and it remembers the principal of a certificate it
// has seen, but expiry and revocation are still checked on every call: a
// certificate revoked, or expired, after calls that succeeded is refused on
// the next one. A different certificate object (another connection) with
// other content gets its own principal.
func TestAuthenticatorRemembersOnlyTheIdentity(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("ca")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	alice, err := ca.Issue(pki.Options{CommonName: "alice", NotAfter: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := ca.Issue(pki.Options{CommonName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	var revoked atomic.Bool
	var now atomic.Pointer[time.Time]
	now.Store(&start)
	a := &authz.Authenticator{
		Revocation: authz.RevocationFunc(func(c *x509.Certificate) (bool, string) {
			return revoked.Load() && c.SerialNumber.Cmp(alice.Cert.SerialNumber) == 0, "test"
		}),
		Now: func() time.Time { return *now.Load() },
	}
	aliceConn := peerContext(alice.Cert, ca.Cert)
	principal := func(ctx, want string) *authz.Principal {
		t.Helper()
		out, err := a.Authenticate(aliceConn)
		if ctx == "bob" {
			out, err = a.Authenticate(peerContext(bob.Cert, ca.Cert))
		}
		if err != nil {
			t.Fatalf("Authenticate(%s) = %v", ctx, err)
		}
		p, _ := authz.PrincipalFromContext(out)
		if p.ID != want {
			t.Fatalf("Authenticate(%s): principal %q, want %q", ctx, p.ID, want)
		}
		return p
	}
	first := principal("alice", "alice")
	if again := principal("alice", "alice"); again != first {
		t.Errorf("the second call on the same certificate derived the principal again")
	}
	principal("bob", "bob")

	revoked.Store(true)
	if _, err := a.Authenticate(aliceConn); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after the revocation: %v, want Unauthenticated", err)
	}
	revoked.Store(false)
	principal("alice", "alice")
	later := start.Add(2 * time.Hour)
	now.Store(&later)
	if _, err := a.Authenticate(aliceConn); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after NotAfter: %v, want Unauthenticated", err)
	}
}

// BenchmarkAuthenticate is authentication's cost per call on an open
// connection: expiry and revocation checks, the remembered principal and
// the context that carries it. The figure is allocs/op.
func BenchmarkAuthenticate(b *testing.B) {
	ca, err := pki.NewCA("ca")
	if err != nil {
		b.Fatal(err)
	}
	alice, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		b.Fatal(err)
	}
	a := &authz.Authenticator{Revocation: authz.RevocationCheckers{
		authz.RevocationFunc(func(*x509.Certificate) (bool, string) { return false, "" }),
	}}
	conn := peerContext(alice.Cert, ca.Cert)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(conn); err != nil {
			b.Fatal(err)
		}
	}
}
