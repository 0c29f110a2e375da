package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/server/assertion"
	"google.golang.org/grpc/peer"
)

var errNoRequest = errors.New("no canonical request in context; interceptor chain misconfigured")

// admit returns the canonical request and the principal of a call the
// interceptor chain has allowed, and fails closed otherwise.
func (r *Relay) admit(ctx context.Context) (*authz.Request, *authz.Principal, error) {
	creq, ok := authz.RequestFromContext(ctx)
	if !ok {
		return nil, nil, &failure{kind: failInternal, op: "admission", err: errNoRequest}
	}
	if d, ok := authz.DecisionFromContext(ctx); !ok || !d.Allowed {
		r.opts.Logger.ErrorContext(ctx, "relay: request reached the relay without an allow decision",
			"request_id", requestid.FromContext(ctx))
		return nil, nil, authz.DeniedError()
	}
	principal, ok := authz.PrincipalFromContext(ctx)
	if !ok {
		return nil, nil, authz.UnauthenticatedError()
	}
	return creq, principal, nil
}

// upstream returns the allow-listed upstream for creq's host, once the host
// has said it accepts creq (its path parameters, extra methods and so on).
func (r *Relay) upstream(ctx context.Context, creq *authz.Request) (*Upstream, error) {
	up, ok := r.table().Lookup(creq.Host)
	if !ok {
		r.opts.Logger.InfoContext(ctx, "relay: host not allow-listed",
			"request_id", requestid.FromContext(ctx), "host", creq.Host)
		return nil, authz.DeniedError()
	}
	if err := up.Options.Admits(creq); err != nil {
		return nil, err
	}
	return up, nil
}

// newUpstreamRequest builds the request the relay sends for creq: the
// canonical target under the upstream's base path, the app's headers minus
// hop-by-hop and gateway-owned ones, and the gateway's own forwarding and
// identity headers. contentLength is the body's length, or -1 when unknown.
func (r *Relay) newUpstreamRequest(ctx context.Context, up *Upstream, creq *authz.Request, p *authz.Principal, body io.Reader, contentLength int64) (*http.Request, error) {
	u := *up.Base
	u.Opaque = upstreamTarget(up.Base, creq.Path) // sent as-is: the canonical form
	u.RawPath, u.Path = "", ""
	u.RawQuery = creq.RawQuery
	// The URL is set below as built: formatting it only for
	// NewRequestWithContext to parse it again cost an allocation-heavy
	// round trip per request.
	req, err := http.NewRequestWithContext(ctx, creq.Method, "", body)
	if err != nil {
		return nil, &failure{kind: failInternal, host: up.Name, op: "building the upstream request", err: err}
	}
	req.URL = &u
	req.Host = up.Base.Host
	req.Header = FilterRequestHeaders(creq.Headers, up.Options, r.opts.IdentityHeader, r.opts.FingerprintHeader, r.opts.AssertionHeader)
	if ip := peerIP(ctx); ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	if r.opts.IdentityHeader != "" {
		req.Header.Set(r.opts.IdentityHeader, p.ID)
	}
	if r.opts.FingerprintHeader != "" {
		req.Header.Set(r.opts.FingerprintHeader, p.FingerprintSHA256)
	}
	if id := requestid.FromContext(ctx); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	if err := r.attachAssertion(ctx, req, up, p); err != nil {
		return nil, err
	}
	req.ContentLength = contentLength
	return req, nil
}

// attachAssertion adds the signed identity assertion for req, bound to its
// method and path as sent, unless the host opted out.
func (r *Relay) attachAssertion(ctx context.Context, req *http.Request, up *Upstream, p *authz.Principal) error {
	if r.opts.Assertions == nil || !up.Assert {
		return nil
	}
	token, err := r.opts.Assertions.Sign(assertion.Request{
		Audience:            up.Name,
		Subject:             p.ID,
		CertSHA256:          p.FingerprintSHA256,
		Organizations:       p.Organizations,
		OrganizationalUnits: p.OrganizationalUnits,
		RequestID:           requestid.FromContext(ctx),
		Method:              req.Method,
		Path:                req.URL.Opaque,
	})
	if err != nil {
		return &failure{kind: failInternal, host: up.Name, op: "signing the identity assertion", err: err}
	}
	req.Header.Set(r.opts.AssertionHeader, token)
	return nil
}

func peerIP(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if ta, ok := p.Addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil {
		return ""
	}
	return host
}
