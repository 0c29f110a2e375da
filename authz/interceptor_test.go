package authz_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeStream is a grpc.ServerStream that hands out queued messages and then
// a final error (io.EOF when none is set).
type fakeStream struct {
	ctx   context.Context
	queue []*gatewayv1.ForwardStreamRequest
	err   error
	recvd int
}

func (s *fakeStream) SetHeader(metadata.MD) error  { return nil }
func (s *fakeStream) SendHeader(metadata.MD) error { return nil }
func (s *fakeStream) SetTrailer(metadata.MD)       {}
func (s *fakeStream) Context() context.Context     { return s.ctx }
func (s *fakeStream) SendMsg(any) error            { return nil }
func (s *fakeStream) RecvMsg(m any) error {
	if len(s.queue) == 0 {
		if s.err != nil {
			return s.err
		}
		return io.EOF
	}
	s.recvd++
	proto.Merge(m.(*gatewayv1.ForwardStreamRequest), s.queue[0])
	s.queue = s.queue[1:]
	return nil
}

func headMsg(host, method, path string, headers ...*gatewayv1.Header) *gatewayv1.ForwardStreamRequest {
	return &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_Head{Head: &gatewayv1.RequestHead{
		Host: host, Method: method, Path: path, Headers: headers,
	}}}
}

func chunkMsg(b string) *gatewayv1.ForwardStreamRequest {
	return &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_BodyChunk{BodyChunk: []byte(b)}}
}

func TestAuthorizeStream(t *testing.T) {
	t.Parallel()
	policy, err := authz.NewPolicy([]*adminv1.Rule{
		allow("alice-demo", []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: "alice"}}}, []string{"demo.internal"}, nil),
		deny("no-private", []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Any{Any: true}}}, []string{"**"}, nil,
			&adminv1.PathMatcher{Kind: &adminv1.PathMatcher_Prefix{Prefix: "/private/"}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	const (
		forwardStream = gatewayv1.GatewayService_ForwardStream_FullMethodName
		healthWatch   = "/grpc.health.v1.Health/Watch"
	)
	ic := &authz.Interceptors{
		Policy: func() *authz.Policy { return policy },
		Limits: authz.Limits{MaxHeaderCount: 2},
		Exempt: map[string]bool{healthWatch: true},
	}
	alice := authz.NewContextWithPrincipal(context.Background(), &authz.Principal{ID: "alice"})
	mallory := authz.NewContextWithPrincipal(context.Background(), &authz.Principal{ID: "mallory"})
	tests := []struct {
		name     string
		ctx      context.Context
		method   string
		queue    []*gatewayv1.ForwardStreamRequest
		recvErr  error
		wantCode codes.Code
		wantMsg  string // prefix of the status message, when set
		wantRecv int    // messages the interceptor may read before deciding
	}{
		{name: "allowed", ctx: alice, method: forwardStream,
			queue:    []*gatewayv1.ForwardStreamRequest{headMsg("Demo.Internal", "put", "/a/%7e/b?x=1"), chunkMsg("body")},
			wantCode: codes.OK, wantRecv: 1},
		{name: "exempt method passes untouched", ctx: context.Background(), method: healthWatch, wantCode: codes.OK},
		{name: "other stream method denied unread", ctx: alice, method: "/msg.gateway.v1.GatewayService/Other",
			queue: []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/")}, wantCode: codes.PermissionDenied},
		{name: "no principal", ctx: context.Background(), method: forwardStream,
			queue: []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/")}, wantCode: codes.Unauthenticated},
		{name: "denied principal", ctx: mallory, method: forwardStream,
			queue:    []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/"), chunkMsg("never read")},
			wantCode: codes.PermissionDenied, wantRecv: 1},
		{name: "denied path after canonicalization", ctx: alice, method: forwardStream,
			queue:    []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/x/../%70rivate/report")},
			wantCode: codes.PermissionDenied, wantRecv: 1},
		{name: "body chunk first", ctx: alice, method: forwardStream,
			queue:    []*gatewayv1.ForwardStreamRequest{chunkMsg("body"), headMsg("demo.internal", "GET", "/")},
			wantCode: codes.InvalidArgument, wantMsg: "head:", wantRecv: 1},
		{name: "empty message first", ctx: alice, method: forwardStream,
			queue:    []*gatewayv1.ForwardStreamRequest{{}},
			wantCode: codes.InvalidArgument, wantMsg: "head:", wantRecv: 1},
		{name: "stream ends before the head", ctx: alice, method: forwardStream,
			wantCode: codes.InvalidArgument, wantMsg: "head:"},
		{name: "app cancels before the head", ctx: alice, method: forwardStream,
			recvErr: status.Error(codes.Canceled, "context canceled"), wantCode: codes.Canceled},
		{name: "malformed header names the field", ctx: alice, method: forwardStream,
			queue: []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/",
				&gatewayv1.Header{Name: "X-Ok", Value: "1"}, &gatewayv1.Header{Name: "X-Bad", Value: "a\r\nb"})},
			wantCode: codes.InvalidArgument, wantMsg: "headers[1].value", wantRecv: 1},
		{name: "too many headers", ctx: alice, method: forwardStream,
			queue: []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/",
				&gatewayv1.Header{Name: "A", Value: "1"}, &gatewayv1.Header{Name: "B", Value: "2"}, &gatewayv1.Header{Name: "C", Value: "3"})},
			wantCode: codes.InvalidArgument, wantMsg: "headers:", wantRecv: 1},
		{name: "traversal", ctx: alice, method: forwardStream,
			queue:    []*gatewayv1.ForwardStreamRequest{headMsg("demo.internal", "GET", "/a/%2e%2e/%2e%2e/private")},
			wantCode: codes.InvalidArgument, wantMsg: "path:", wantRecv: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ss := &fakeStream{ctx: tt.ctx, queue: tt.queue, err: tt.recvErr}
			var (
				called  bool
				gotCtx  context.Context
				gotHead *gatewayv1.ForwardStreamRequest
				gotNext *gatewayv1.ForwardStreamRequest
			)
			handler := func(_ any, s grpc.ServerStream) error {
				called = true
				gotCtx = s.Context()
				if tt.method != forwardStream {
					return nil
				}
				gotHead = new(gatewayv1.ForwardStreamRequest)
				if err := s.RecvMsg(gotHead); err != nil {
					t.Errorf("handler's first RecvMsg: %v", err)
				}
				gotNext = new(gatewayv1.ForwardStreamRequest)
				if err := s.RecvMsg(gotNext); err != nil {
					t.Errorf("handler's second RecvMsg: %v", err)
				}
				return nil
			}
			err := ic.AuthorizeStream()(nil, ss, &grpc.StreamServerInfo{FullMethod: tt.method, IsClientStream: true, IsServerStream: true}, handler)
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.wantCode)
			}
			if !strings.HasPrefix(st.Message(), tt.wantMsg) {
				t.Errorf("message = %q, want prefix %q", st.Message(), tt.wantMsg)
			}
			if tt.wantCode != codes.OK {
				if called {
					t.Error("the handler ran for a refused stream")
				}
				if ss.recvd > tt.wantRecv {
					t.Errorf("the interceptor read %d messages, want at most %d", ss.recvd, tt.wantRecv)
				}
				return
			}
			if !called {
				t.Fatal("the handler did not run")
			}
			if tt.method != forwardStream {
				return
			}
			creq, ok := authz.RequestFromContext(gotCtx)
			if !ok {
				t.Fatal("no canonical request in the handler's context")
			}
			if creq.Host != "demo.internal" || creq.Method != "PUT" || creq.Path != "/a/~/b" || creq.RawQuery != "x=1" || creq.Body != nil {
				t.Errorf("canonical request = %+v", creq)
			}
			if d, ok := authz.DecisionFromContext(gotCtx); !ok || !d.Allowed || d.RuleID != "alice-demo" {
				t.Errorf("decision = %+v, %v; want allowed by alice-demo", d, ok)
			}
			if !proto.Equal(gotHead, tt.queue[0]) {
				t.Errorf("first RecvMsg = %v, want the head %v", gotHead, tt.queue[0])
			}
			if !proto.Equal(gotNext, tt.queue[1]) {
				t.Errorf("second RecvMsg = %v, want %v", gotNext, tt.queue[1])
			}
		})
	}
}

func TestHeadRequest(t *testing.T) {
	t.Parallel()
	h := &gatewayv1.RequestHead{Host: "h", Method: "GET", Path: "/p", Headers: []*gatewayv1.Header{{Name: "A", Value: "1"}}}
	want := &gatewayv1.ForwardRequest{Host: "h", Method: "GET", Path: "/p", Headers: []*gatewayv1.Header{{Name: "A", Value: "1"}}}
	if got := authz.HeadRequest(h); !proto.Equal(got, want) {
		t.Errorf("HeadRequest = %v, want %v", got, want)
	}
	if got := authz.HeadRequest(nil); !proto.Equal(got, &gatewayv1.ForwardRequest{}) {
		t.Errorf("HeadRequest(nil) = %v, want an empty request", got)
	}
}

// TestAuthorizeUnary: the unary interceptor lets exempt methods through
// untouched, decides Forward calls on their canonical request, and fails
// closed on everything else: any other method is denied, whatever its
// context carries, and so is a Forward call without a principal or without
// a canonical request.
func TestAuthorizeUnary(t *testing.T) {
	t.Parallel()
	policy, err := authz.NewPolicy([]*adminv1.Rule{
		allow("alice-demo", []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: "alice"}}}, []string{"demo.internal"}, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	const healthCheck = "/grpc.health.v1.Health/Check"
	ic := &authz.Interceptors{
		Policy: func() *authz.Policy { return policy },
		Exempt: map[string]bool{healthCheck: true},
	}
	alice := authz.NewContextWithPrincipal(context.Background(), &authz.Principal{ID: "alice"})
	mallory := authz.NewContextWithPrincipal(context.Background(), &authz.Principal{ID: "mallory"})
	allowedReq := &authz.Request{Host: "demo.internal", Method: "GET", Path: "/x"}
	// A context that would pass the policy if it were asked: only the
	// method decides that these calls are refused.
	aliceWithRequest := authz.NewContextWithRequest(alice, allowedReq)
	forward := &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x"}
	tests := []struct {
		name   string
		ctx    context.Context
		method string
		req    any
		want   codes.Code
	}{
		{"allowed Forward", aliceWithRequest, gatewayv1.GatewayService_Forward_FullMethodName, forward, codes.OK},
		{"exempt method", context.Background(), healthCheck, &gatewayv1.ForwardRequest{}, codes.OK},
		{"denied Forward", authz.NewContextWithRequest(mallory, allowedReq), gatewayv1.GatewayService_Forward_FullMethodName, forward, codes.PermissionDenied},
		{"Forward without a principal", authz.NewContextWithRequest(context.Background(), allowedReq), gatewayv1.GatewayService_Forward_FullMethodName, forward, codes.Unauthenticated},
		{"Forward without a canonical request", alice, gatewayv1.GatewayService_Forward_FullMethodName, forward, codes.PermissionDenied},
		{"other method, other message", aliceWithRequest, "/msg.gateway.v1.GatewayService/Other", &adminv1.Rule{}, codes.PermissionDenied},
		{"other service's method", aliceWithRequest, "/grpc.reflection.v1.ServerReflection/Info", &gatewayv1.RequestHead{}, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			var gotCtx context.Context
			handler := func(ctx context.Context, _ any) (any, error) {
				called, gotCtx = true, ctx
				return "answer", nil
			}
			resp, err := ic.AuthorizeUnary()(tt.ctx, tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method}, handler)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if tt.want != codes.OK {
				if called || resp != nil {
					t.Errorf("the handler ran for a refused call (response %v)", resp)
				}
				return
			}
			if !called || resp != "answer" {
				t.Fatal("the handler did not run")
			}
			if tt.method == healthCheck {
				return
			}
			if d, ok := authz.DecisionFromContext(gotCtx); !ok || !d.Allowed || d.RuleID != "alice-demo" {
				t.Errorf("decision = %+v, %v; want allowed by alice-demo", d, ok)
			}
		})
	}
}
