package authz

import (
	"context"
	"errors"
	"io"
	"log/slog"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Authenticate proves the caller's identity from its verified client
// certificate and returns a context carrying the [Principal]. It has the
// shape of go-grpc-middleware's auth.AuthFunc. A caller without a verified
// chain, whose certificate yields no identity or has expired since the
// handshake, gets Unauthenticated. It checks no revocations: the server uses
// an [Authenticator] with its [RevocationChecker]s.
func Authenticate(ctx context.Context) (context.Context, error) {
	return (*Authenticator)(nil).Authenticate(ctx)
}

// Interceptors holds what the canonicalization and authorization interceptors
// need. The zero value denies everything.
type Interceptors struct {
	// Policy returns the current policy; it is called once per request so a
	// swapped policy applies to the next request. nil denies everything.
	Policy func() *Policy
	// Limits bound the inner request's head.
	Limits Limits
	// HostOptions returns a host's choices that change which inner requests
	// it accepts (path parameters, extra methods, method overrides); it is
	// called once per request so a changed host applies to the next one.
	// nil: every host has the strict defaults.
	HostOptions HostOptionsFunc
	// Exempt lists full method names that carry no inner request and need no
	// policy decision (for example the gRPC health check). Every other method
	// that is not Forward or ForwardStream is denied.
	Exempt map[string]bool
	// Logger receives denial details, which never reach the app.
	Logger *slog.Logger
	// OnDecision, when set, is called with every policy decision, allowed
	// or denied, for Forward and ForwardStream alike (the server counts
	// them). It must not block.
	OnDecision func(ctx context.Context, d Decision)
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
		creq, err := Canonicalize(fr, ic.Limits, ic.HostOptions)
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

// AuthorizeStream returns the stream interceptor that does for ForwardStream
// what [Interceptors.CanonicalizeUnary] and [Interceptors.AuthorizeUnary] do
// for Forward, before the handler runs and so before any body byte can reach
// an upstream: it receives the first message, which must be the request head,
// canonicalizes it with [Canonicalize] (failing with InvalidArgument naming
// the field), decides on it with the policy, and stores the canonical
// [Request] and the [Decision] in the stream's context. The handler then sees
// the stream unchanged: its first receive returns the head that was already
// read.
//
// It fails closed: a stream without a principal, a first message that is not
// a head, a denied request and every other streaming method that is not
// exempt are refused.
func (ic *Interceptors) AuthorizeStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if ic.Exempt[info.FullMethod] {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		if info.FullMethod != gatewayv1.GatewayService_ForwardStream_FullMethodName {
			ic.logger().WarnContext(ctx, "authz: denied stream without a policy",
				"request_id", requestid.FromContext(ctx), "method", info.FullMethod)
			return DeniedError()
		}
		// Without a principal nothing is read from the stream at all.
		if _, ok := PrincipalFromContext(ctx); !ok {
			return UnauthenticatedError()
		}
		// How long the head may take is the server's business (its intake
		// bounds the wait for every call's first message).
		first := new(gatewayv1.ForwardStreamRequest)
		if err := ss.RecvMsg(first); err != nil {
			if errors.Is(err, io.EOF) {
				return InvalidArgumentError("head", "missing: the stream ended before the request head")
			}
			return err // the stream's own status: cancelled, deadline, message too large
		}
		head := first.GetHead()
		if head == nil {
			return InvalidArgumentError("head", "the first message must be the request head")
		}
		creq, err := Canonicalize(HeadRequest(head), ic.Limits, ic.HostOptions)
		if err != nil {
			ic.logger().InfoContext(ctx, "authz: malformed inner request",
				"request_id", requestid.FromContext(ctx), "method", info.FullMethod, "error", err.Error())
			return err
		}
		ctx = NewContextWithRequest(ctx, creq)
		d, err := ic.decide(ctx)
		if err != nil {
			return err
		}
		ws := middleware.WrapServerStream(ss)
		ws.WrappedContext = NewContextWithDecision(ctx, d)
		return handler(srv, &replayStream{WrappedServerStream: ws, head: first})
	}
}

// HeadRequest returns the ForwardRequest that a ForwardStream request head
// stands for: the same host, method, path and headers, and no body. It is how
// a stream's head goes through [Canonicalize], so that streams and Forward
// calls share one canonical form.
func HeadRequest(h *gatewayv1.RequestHead) *gatewayv1.ForwardRequest {
	return &gatewayv1.ForwardRequest{
		Host:    h.GetHost(),
		Method:  h.GetMethod(),
		Path:    h.GetPath(),
		Headers: h.GetHeaders(),
	}
}

// replayStream hands the head that the interceptor already received to the
// handler's first RecvMsg, then reads from the stream. The handler calls
// RecvMsg from one goroutine at a time, as gRPC requires, so head needs no
// lock.
type replayStream struct {
	*middleware.WrappedServerStream
	head *gatewayv1.ForwardStreamRequest
}

func (s *replayStream) RecvMsg(m any) error {
	if s.head == nil {
		return s.WrappedServerStream.RecvMsg(m)
	}
	dst, ok := m.(*gatewayv1.ForwardStreamRequest)
	if !ok {
		return status.Error(codes.Internal, "internal error")
	}
	proto.Reset(dst)
	proto.Merge(dst, s.head)
	s.head = nil
	return nil
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
	if ic.OnDecision != nil {
		ic.OnDecision(ctx, d)
	}
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
