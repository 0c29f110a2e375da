package authz

import (
	"context"
	"log/slog"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Authenticate proves the caller's identity from its verified client
// certificate and returns a context carrying the [Principal]. It has the
// shape of go-grpc-middleware's auth.AuthFunc. A caller without a verified
// chain, or whose certificate yields no identity, gets Unauthenticated.
func Authenticate(ctx context.Context) (context.Context, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, UnauthenticatedError()
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil, UnauthenticatedError()
	}
	principal, err := PrincipalFromCertificate(info.State.VerifiedChains[0][0])
	if err != nil {
		return nil, UnauthenticatedError()
	}
	return NewContextWithPrincipal(ctx, principal), nil
}

// Interceptors holds what the canonicalization and authorization interceptors
// need. The zero value denies everything.
type Interceptors struct {
	// Policy returns the current policy; it is called once per request so a
	// swapped policy applies to the next request. nil denies everything.
	Policy func() *Policy
	// Limits bound the inner request's head.
	Limits Limits
	// Exempt lists full method names that carry no inner request and need no
	// policy decision (for example the gRPC health check). Every other method
	// that is not Forward is denied.
	Exempt map[string]bool
	// Logger receives denial details, which never reach the app.
	Logger *slog.Logger
}

// CanonicalizeUnary returns the interceptor that turns a ForwardRequest into
// its canonical [Request] and stores it in the context, or fails the call
// with InvalidArgument naming the field.
func (ic *Interceptors) CanonicalizeUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		fr, ok := req.(*gatewayv1.ForwardRequest)
		if !ok {
			return handler(ctx, req)
		}
		creq, err := Canonicalize(fr, ic.Limits)
		if err != nil {
			ic.logger().InfoContext(ctx, "authz: malformed inner request",
				"request_id", requestid.FromContext(ctx), "method", info.FullMethod, "error", err.Error())
			return nil, err
		}
		return handler(NewContextWithRequest(ctx, creq), req)
	}
}

// AuthorizeUnary returns the interceptor that decides on the canonical
// request and lets only allowed requests through. It fails closed: a Forward
// call without a principal or canonical request, or any unknown method, is
// denied.
func (ic *Interceptors) AuthorizeUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if ic.Exempt[info.FullMethod] {
			return handler(ctx, req)
		}
		if _, ok := req.(*gatewayv1.ForwardRequest); !ok {
			ic.logger().WarnContext(ctx, "authz: denied method without a policy",
				"request_id", requestid.FromContext(ctx), "method", info.FullMethod)
			return nil, DeniedError()
		}
		d, err := ic.decide(ctx)
		if err != nil {
			return nil, err
		}
		return handler(NewContextWithDecision(ctx, d), req)
	}
}

// AuthorizeStream returns the stream interceptor. No streaming method is
// authorized yet, so every stream that is not exempt is denied.
func (ic *Interceptors) AuthorizeStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if ic.Exempt[info.FullMethod] {
			return handler(srv, ss)
		}
		ic.logger().WarnContext(ss.Context(), "authz: denied stream without a policy",
			"request_id", requestid.FromContext(ss.Context()), "method", info.FullMethod)
		return DeniedError()
	}
}

func (ic *Interceptors) decide(ctx context.Context) (Decision, error) {
	principal, ok := PrincipalFromContext(ctx)
	if !ok {
		return Decision{}, UnauthenticatedError()
	}
	creq, ok := RequestFromContext(ctx)
	if !ok {
		ic.logger().ErrorContext(ctx, "authz: no canonical request; interceptor chain misconfigured",
			"request_id", requestid.FromContext(ctx))
		return Decision{}, DeniedError()
	}
	var p *Policy
	if ic.Policy != nil {
		p = ic.Policy()
	}
	d := p.Decide(principal, creq)
	if !d.Allowed {
		ic.logger().InfoContext(ctx, "authz: denied",
			"request_id", requestid.FromContext(ctx),
			"principal", principal.ID, "serial", principal.SerialHex,
			"host", creq.Host, "http_method", creq.Method, "path", creq.Path,
			"rule_id", d.RuleID, "reason", string(d.Reason))
		return d, DeniedError()
	}
	return d, nil
}

func (ic *Interceptors) logger() *slog.Logger {
	if ic.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return ic.Logger
}
