package authz_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/internal/pki"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

func peerContext(chain ...*x509.Certificate) context.Context {
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{
		State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{chain}},
	}})
}

func revokeSerial(c *x509.Certificate) authz.RevocationFunc {
	return func(x *x509.Certificate) (bool, string) {
		return x.SerialNumber.Cmp(c.SerialNumber) == 0, "test"
	}
}

// TestAuthenticatorPerRequest: what can change while a connection stays
// open (expiry, revocation of the leaf or of an intermediate) is checked on
// every request; several revocation sources compose.
func TestAuthenticatorPerRequest(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("ca")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	alice, err := ca.Issue(pki.Options{CommonName: "alice", NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := ca.Issue(pki.Options{CommonName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	never := authz.RevocationFunc(func(*x509.Certificate) (bool, string) { return false, "" })
	tests := []struct {
		name string
		a    *authz.Authenticator
		ctx  context.Context
		want codes.Code
	}{
		{"no checker", &authz.Authenticator{}, peerContext(alice.Cert, ca.Cert), codes.OK},
		{"nil authenticator", nil, peerContext(alice.Cert, ca.Cert), codes.OK},
		{"not revoked", &authz.Authenticator{Revocation: authz.RevocationCheckers{never, revokeSerial(bob.Cert)}},
			peerContext(alice.Cert, ca.Cert), codes.OK},
		{"leaf revoked by the second source", &authz.Authenticator{Revocation: authz.RevocationCheckers{never, nil, revokeSerial(alice.Cert)}},
			peerContext(alice.Cert, ca.Cert), codes.Unauthenticated},
		{"issuer revoked", &authz.Authenticator{Revocation: revokeSerial(ca.Cert)},
			peerContext(alice.Cert, ca.Cert), codes.Unauthenticated},
		{"expired since the handshake", &authz.Authenticator{Now: func() time.Time { return now.Add(2 * time.Hour) }},
			peerContext(alice.Cert, ca.Cert), codes.Unauthenticated},
		{"at NotAfter still valid", &authz.Authenticator{Now: func() time.Time { return alice.Cert.NotAfter }},
			peerContext(alice.Cert, ca.Cert), codes.OK},
		{"no peer", &authz.Authenticator{}, context.Background(), codes.Unauthenticated},
		{"no verified chain", &authz.Authenticator{}, peerContext(), codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, err := tt.a.Authenticate(tt.ctx)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if tt.want != codes.OK {
				return
			}
			if p, ok := authz.PrincipalFromContext(ctx); !ok || p.ID != "alice" {
				t.Errorf("principal = %v, want alice", p)
			}
		})
	}
	// The package-level Authenticate also refuses an expired chain.
	expired, err := ca.Issue(pki.Options{CommonName: "old", NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authz.Authenticate(peerContext(expired.Cert, ca.Cert)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Authenticate(expired) = %v, want Unauthenticated", err)
	}
}
