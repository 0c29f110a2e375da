package authz

import (
	"context"
	"time"
)

// Principal is the identity proven by a verified client certificate. The
// principal in a call's context is shared by every call on the connection
// (see [Authenticator]): treat it as read-only.
type Principal struct {
	// ID is the SPIFFE ID when the certificate has one, otherwise the subject
	// common name. It is what rules' "id" matchers compare and what the relay
	// sends to the upstream in the identity header.
	ID                  string
	CommonName          string
	Organizations       []string
	OrganizationalUnits []string
	DNSNames            []string
	URIs                []string
	Emails              []string
	// SPIFFEID is the certificate's single spiffe:// URI SAN, or "".
	SPIFFEID string
	// TrustDomain is the SPIFFE ID's trust domain, or "".
	TrustDomain string
	// SerialHex is the certificate serial number in lower-case hex.
	SerialHex string
	// FingerprintSHA256 is the SHA-256 of the DER certificate, lower-case hex.
	FingerprintSHA256 string
	// NotAfter is when the certificate expires.
	NotAfter time.Time
}

// Header is one validated header field of an inner request.
type Header struct {
	Name  string // canonical MIME form, e.g. "Content-Type"
	Value string
}

// Request is the canonical form of an inner request. Authorization decides on
// it and the relay sends exactly it; nothing else is ever sent.
type Request struct {
	// Host is the lower-cased "name" or "name:port" the app asked for.
	Host string
	// Method is the upper-case method token.
	Method string
	// MethodOverride is the upper-case method that the request's
	// method-override headers name, when its host allows them (see
	// [HostOptions]), else "". The policy then decides the request for
	// Method and for MethodOverride, and both must be allowed: the upstream
	// may act on either.
	MethodOverride string
	// Path is the canonical path, without the query.
	Path string
	// RawQuery is the validated query without the leading '?', or "".
	RawQuery string
	// Headers are the validated request headers in the app's order.
	Headers []Header
	// Body is the request body.
	Body []byte
}

// Target returns the origin-form request target: Path and, when there is one,
// '?' and RawQuery.
func (r *Request) Target() string {
	if r.RawQuery == "" {
		return r.Path
	}
	return r.Path + "?" + r.RawQuery
}

type principalKey struct{}
type requestKey struct{}
type decisionKey struct{}

// NewContextWithPrincipal returns a context carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the authenticated principal, if any.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// NewContextWithRequest returns a context carrying the canonical request.
func NewContextWithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFromContext returns the canonical request, if the chain produced one.
func RequestFromContext(ctx context.Context) (*Request, bool) {
	r, ok := ctx.Value(requestKey{}).(*Request)
	return r, ok && r != nil
}

// NewContextWithDecision returns a context carrying the policy decision.
func NewContextWithDecision(ctx context.Context, d Decision) context.Context {
	return context.WithValue(ctx, decisionKey{}, d)
}

// DecisionFromContext returns the policy decision, if one was made.
func DecisionFromContext(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	return d, ok
}
