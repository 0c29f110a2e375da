package authz

import (
	"context"
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// RevocationChecker says whether a certificate has been withdrawn. It is
// consulted in the TLS handshake and again on every request, so a
// revocation also reaches connections that were open before it. Revoked must
// be safe for concurrent use, fast (it runs per request) and must not block
// on the network; reason goes to the log only.
type RevocationChecker interface {
	Revoked(cert *x509.Certificate) (revoked bool, reason string)
}

// RevocationFunc adapts a function to a [RevocationChecker].
type RevocationFunc func(cert *x509.Certificate) (revoked bool, reason string)

// Revoked calls f.
func (f RevocationFunc) Revoked(cert *x509.Certificate) (bool, string) { return f(cert) }

// RevocationCheckers composes several checkers (CRL files, the admin store's
// revocations, ...): a certificate is revoked when any of them says so. nil
// entries are skipped.
type RevocationCheckers []RevocationChecker

// Revoked asks each checker in order and returns the first "revoked".
func (cs RevocationCheckers) Revoked(cert *x509.Certificate) (bool, string) {
	for _, c := range cs {
		if c == nil {
			continue
		}
		if revoked, reason := c.Revoked(cert); revoked {
			return true, reason
		}
	}
	return false, ""
}

// Authenticator proves the caller's identity on every request. Besides what
// the TLS handshake checked once, it re-checks what can change while a
// connection stays open: the certificates' expiry and their revocation.
type Authenticator struct {
	// Revocation, when set, is asked about every certificate of the verified
	// chain on every request.
	Revocation RevocationChecker
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives why a caller was refused, which never reaches it.
	Logger *slog.Logger

	principals principalCache
}

// Authenticate has the shape of go-grpc-middleware's auth.AuthFunc. It
// returns a context carrying the [Principal] of the caller's verified client
// certificate, or Unauthenticated when there is no verified chain, the
// certificate yields no identity, a certificate of the chain has expired
// since the handshake, or one has been revoked.
func (a *Authenticator) Authenticate(ctx context.Context) (context.Context, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, UnauthenticatedError()
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil, UnauthenticatedError()
	}
	chain := info.State.VerifiedChains[0]
	now := time.Now
	if a != nil && a.Now != nil {
		now = a.Now
	}
	t := now()
	for _, c := range chain {
		if t.After(c.NotAfter) {
			a.logger().InfoContext(ctx, "authn: certificate expired during the connection",
				"request_id", requestid.FromContext(ctx), "subject", c.Subject.String(),
				"serial", c.SerialNumber.Text(16), "not_after", c.NotAfter.UTC().Format(time.RFC3339))
			return nil, UnauthenticatedError()
		}
	}
	if a != nil && a.Revocation != nil {
		for _, c := range chain {
			if revoked, reason := a.Revocation.Revoked(c); revoked {
				a.logger().InfoContext(ctx, "authn: certificate revoked",
					"request_id", requestid.FromContext(ctx), "subject", c.Subject.String(),
					"serial", c.SerialNumber.Text(16), "reason", reason)
				return nil, UnauthenticatedError()
			}
		}
	}
	var principal *Principal
	var err error
	if a != nil {
		principal, err = a.principals.principal(chain[0])
	} else {
		principal, err = PrincipalFromCertificate(chain[0])
	}
	if err != nil {
		return nil, UnauthenticatedError()
	}
	return NewContextWithPrincipal(ctx, principal), nil
}

func (a *Authenticator) logger() *slog.Logger {
	if a == nil || a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}
