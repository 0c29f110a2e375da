package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"sync"
	"time"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// auditCall collects what the inner interceptors learn about one data-plane
// call, so the audit interceptor (which runs outside them) can record it.
type auditCall struct {
	mu        sync.Mutex
	principal *authz.Principal // nil: not authenticated
	req       *authz.Request
	decision  authz.Decision
	decided   bool
	// For streams: what went through.
	status   int32
	bytesIn  int64
	bytesOut int64
}

type auditKey struct{}

// noteDecision is called by the authz interceptors with every decision.
func noteDecision(ctx context.Context, d authz.Decision) {
	c, ok := ctx.Value(auditKey{}).(*auditCall)
	if !ok {
		return
	}
	creq, _ := authz.RequestFromContext(ctx)
	c.mu.Lock()
	c.req, c.decision, c.decided = creq, d, true
	c.mu.Unlock()
}

// authenticate is the chain's authn step: it proves the caller's identity
// (see [authz.Authenticator]) and tells the audit record who it is.
func (s *Server) authenticate(ctx context.Context) (context.Context, error) {
	ctx, err := s.authn.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if c, ok := ctx.Value(auditKey{}).(*auditCall); ok {
		p, _ := authz.PrincipalFromContext(ctx)
		c.mu.Lock()
		c.principal = p
		c.mu.Unlock()
	}
	return ctx, nil
}

// auditUnary records every Forward call: its decision, what was relayed and
// how it ended. It sits before authn in the chain, so that a caller refused
// as Unauthenticated (a certificate without a usable identity, or revoked
// or expired since the handshake) is recorded like every other refusal.
func (s *Server) auditUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	fr, ok := req.(*gatewayv1.ForwardRequest)
	if !ok || s.store == nil {
		return handler(ctx, req)
	}
	start := time.Now()
	call := &auditCall{}
	resp, err := handler(context.WithValue(ctx, auditKey{}, call), req)
	if fresp, ok := resp.(*gatewayv1.ForwardResponse); ok && err == nil {
		call.status = fresp.GetStatusCode()
		call.bytesOut = int64(len(fresp.GetBody()))
		call.bytesIn = int64(len(fr.GetBody()))
	}
	s.store.AppendAudit(s.auditRecord(ctx, call, fr.GetHost(), fr.GetMethod(), start, err))
	return resp, err
}

// auditStream does for ForwardStream what auditUnary does for Forward,
// counting the body bytes that pass through the stream.
func (s *Server) auditStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != gatewayv1.GatewayService_ForwardStream_FullMethodName || s.store == nil {
		return handler(srv, ss)
	}
	start := time.Now()
	call := &auditCall{}
	cs := &countingStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), auditKey{}, call), call: call}
	err := handler(srv, cs)
	s.store.AppendAudit(s.auditRecord(ss.Context(), call, cs.host, cs.method, start, err))
	return err
}

type countingStream struct {
	grpc.ServerStream
	ctx          context.Context
	call         *auditCall
	host, method string
}

func (c *countingStream) Context() context.Context { return c.ctx }

func (c *countingStream) RecvMsg(m any) error {
	err := c.ServerStream.RecvMsg(m)
	if r, ok := m.(*gatewayv1.ForwardStreamRequest); ok && err == nil {
		h := r.GetHead()
		if h != nil && c.host == "" {
			c.host, c.method = h.GetHost(), h.GetMethod()
		}
		c.call.mu.Lock()
		c.call.bytesIn += int64(len(r.GetBodyChunk()) + len(h.GetBody()))
		c.call.mu.Unlock()
	}
	return err
}

func (c *countingStream) SendMsg(m any) error {
	if r, ok := m.(*gatewayv1.ForwardStreamResponse); ok {
		c.call.mu.Lock()
		h := r.GetHead()
		if h != nil {
			c.call.status = h.GetStatusCode()
		}
		c.call.bytesOut += int64(len(r.GetBodyChunk()) + len(h.GetBody()))
		c.call.mu.Unlock()
	}
	return c.ServerStream.SendMsg(m)
}

func (s *Server) auditRecord(ctx context.Context, call *auditCall, rawHost, rawMethod string, start time.Time, err error) *adminv1.AuditRecord {
	now := time.Now()
	code := status.Code(err)
	rec := &adminv1.AuditRecord{
		Time:      timestamppb.New(now),
		RequestId: requestid.FromContext(ctx),
		Kind:      adminv1.RecordKind_RECORD_KIND_FORWARD,
		Duration:  durationpb.New(now.Sub(start)),
		Code:      code.String(),
		Decision:  adminv1.Decision_DECISION_DENY,
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	if p := call.principal; p != nil {
		rec.Principal = p.ID
		rec.CertSerialHex = p.SerialHex
		rec.CertFingerprintSha256 = p.FingerprintSHA256
	} else if leaf := peerLeaf(ctx); leaf != nil {
		// Unauthenticated: which certificate tried is what the audit is for.
		sum := sha256.Sum256(leaf.Raw)
		rec.CertSerialHex = leaf.SerialNumber.Text(16)
		rec.CertFingerprintSha256 = hex.EncodeToString(sum[:])
	}
	if call.req != nil {
		rec.Host, rec.Method, rec.Path = call.req.Host, call.req.Method, call.req.Path
	} else {
		// Malformed: keep a bounded excerpt of what was asked, never the path.
		rec.Host, rec.Method = truncate(rawHost, 255), truncate(rawMethod, 32)
	}
	rec.UpstreamStatus = call.status
	rec.BytesIn, rec.BytesOut = call.bytesIn, call.bytesOut
	switch {
	case call.principal == nil && code == codes.Unauthenticated:
		rec.Reason = "unauthenticated"
	case !call.decided && code == codes.InvalidArgument:
		rec.Reason = "invalid_request"
	case !call.decided:
		rec.Reason = "not_decided"
	case !call.decision.Allowed:
		rec.RuleId, rec.Reason = call.decision.RuleID, string(call.decision.Reason)
	case code == codes.PermissionDenied:
		// Allowed by policy but refused by the relay: the host is not in the
		// host table.
		rec.RuleId, rec.Reason = call.decision.RuleID, "host_not_allowlisted"
	default:
		rec.Decision = adminv1.Decision_DECISION_ALLOW
		rec.RuleId, rec.Reason = call.decision.RuleID, string(call.decision.Reason)
	}
	return rec
}

// peerLeaf returns the client certificate the TLS stack verified for the
// call's connection, or nil.
func peerLeaf(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return ti.State.VerifiedChains[0][0]
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
