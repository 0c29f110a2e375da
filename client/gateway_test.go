package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
)

// handlerFunc is what the fake gateway does with a Forward call.
type handlerFunc func(context.Context, *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error)

// echo answers 200 with the request's headers, preceded by the host, method
// and path it saw, and the request's body.
func echo(_ context.Context, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	headers := []*gatewayv1.Header{
		{Name: "X-Echo-Host", Value: req.GetHost()},
		{Name: "X-Echo-Method", Value: req.GetMethod()},
		{Name: "X-Echo-Path", Value: req.GetPath()},
	}
	return &gatewayv1.ForwardResponse{
		StatusCode: 200,
		Headers:    append(headers, req.GetHeaders()...),
		Body:       req.GetBody(),
	}, nil
}

// call is one Forward or ForwardStream call as the fake gateway received
// it. A stream's head and body are collected into req; its Content-Length
// header, which frames the body, is recorded apart.
type call struct {
	req           *gatewayv1.ForwardRequest
	peerCN        string // common name of the verified client certificate
	tlsVersion    uint16
	stream        bool
	contentLength string // the stream head's Content-Length, if any
	bodyChunks    int    // body_chunk messages in the stream
}

// fakeGateway is a GatewayServiceServer that records its calls and hands
// them to a handler.
type fakeGateway struct {
	gatewayv1.UnimplementedGatewayServiceServer
	handle handlerFunc
	stream streamFunc // nil: ForwardStream collects the request for handle

	mu    sync.Mutex
	calls []call
}

func (g *fakeGateway) Forward(ctx context.Context, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	g.record(ctx, call{req: req})
	return g.handle(ctx, req)
}

func (g *fakeGateway) record(ctx context.Context, c call) {
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			c.tlsVersion = info.State.Version
			if certs := info.State.PeerCertificates; len(certs) > 0 {
				c.peerCN = certs[0].Subject.CommonName
			}
		}
	}
	g.mu.Lock()
	g.calls = append(g.calls, c)
	g.mu.Unlock()
}

// streamFunc serves a ForwardStream call itself, for tests of how the client
// copes with what a gateway sends.
type streamFunc func(gatewayStream) error

type gatewayStream = grpc.BidiStreamingServer[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]

// ForwardStream follows the gateway's protocol: it collects the head and the
// body into a ForwardRequest, has handle answer it, and streams the answer
// back as head, body chunks of at most 32 KiB, and end.
func (g *fakeGateway) ForwardStream(s gatewayStream) error {
	if g.stream != nil {
		return g.stream(s)
	}
	ctx := s.Context()
	first, err := s.Recv()
	if err != nil {
		return err
	}
	head := first.GetHead()
	if head == nil {
		return status.Error(codes.InvalidArgument, "head: missing")
	}
	c := call{stream: true, req: &gatewayv1.ForwardRequest{Host: head.GetHost(), Method: head.GetMethod(), Path: head.GetPath()}}
	for _, h := range head.GetHeaders() {
		if h.GetName() == "Content-Length" {
			c.contentLength = h.GetValue()
			continue
		}
		c.req.Headers = append(c.req.Headers, h)
	}
	for done := false; !done; {
		msg, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return status.Error(codes.InvalidArgument, "end: missing")
		}
		if err != nil {
			return err
		}
		switch k := msg.GetKind().(type) {
		case *gatewayv1.ForwardStreamRequest_BodyChunk:
			c.req.Body = append(c.req.Body, k.BodyChunk...)
			c.bodyChunks++
		case *gatewayv1.ForwardStreamRequest_End:
			done = true
		default:
			return status.Error(codes.InvalidArgument, "unexpected message")
		}
	}
	if c.contentLength != "" && c.contentLength != strconv.Itoa(len(c.req.Body)) {
		return status.Error(codes.InvalidArgument, "body_chunk: length differs from Content-Length")
	}
	g.record(ctx, c)
	resp, err := g.handle(ctx, c.req)
	if err != nil {
		return err
	}
	return sendResponse(s, resp)
}

// sendResponse streams resp as head, chunks and end.
func sendResponse(s gatewayStream, resp *gatewayv1.ForwardResponse) error {
	err := s.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: &gatewayv1.ResponseHead{
		StatusCode: resp.GetStatusCode(), Headers: resp.GetHeaders(),
	}}})
	if err != nil {
		return err
	}
	for body := resp.GetBody(); len(body) > 0; {
		n := min(len(body), 32<<10)
		if err := s.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_BodyChunk{BodyChunk: body[:n]}}); err != nil {
			return err
		}
		body = body[n:]
	}
	return s.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_End{End: &gatewayv1.ResponseEnd{}}})
}

// Calls returns the calls received so far.
func (g *fakeGateway) Calls() []call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]call(nil), g.calls...)
}

// gatewaySetup describes a fake gateway; the zero value is a well-behaved
// echo gateway on 127.0.0.1 with a certificate from the test CA.
type gatewaySetup struct {
	handle handlerFunc // nil: echo
	stream streamFunc  // nil: ForwardStream collects the request for handle
	// serverCert describes the gateway's certificate; nil: pki.Localhost().
	serverCert *pki.Options
	// untrusted signs the gateway's certificate with a CA the clients do not
	// trust.
	untrusted bool
}

// testGateway is a fake gateway serving gRPC with mutual TLS on 127.0.0.1,
// and the material a client needs to reach it.
type testGateway struct {
	*fakeGateway
	Addr       string
	CA         *pki.CA         // signs the client certificates; verifies the gateway unless untrusted
	ClientCert tls.Certificate // a client certificate for "alice", issued by CA

	srv *grpc.Server
}

// newTestGateway starts a fake gateway; callers must Close it. Tests use
// startGateway, which closes it at cleanup.
func newTestGateway(setup gatewaySetup) (*testGateway, error) {
	ca, err := pki.NewCA("msg test CA")
	if err != nil {
		return nil, err
	}
	serverCA := ca
	if setup.untrusted {
		if serverCA, err = pki.NewCA("another CA"); err != nil {
			return nil, err
		}
	}
	serverOptions := pki.Localhost()
	if setup.serverCert != nil {
		serverOptions = *setup.serverCert
	}
	serverLeaf, err := serverCA.Issue(serverOptions)
	if err != nil {
		return nil, err
	}
	clientLeaf, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		return nil, err
	}
	handle := setup.handle
	if handle == nil {
		handle = echo
	}
	fake := &fakeGateway{handle: handle, stream: setup.stream}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{serverLeaf.TLSCertificate()},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})))
	gatewayv1.RegisterGatewayServiceServer(srv, fake)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			panic(err)
		}
	}()
	return &testGateway{
		fakeGateway: fake,
		Addr:        lis.Addr().String(),
		CA:          ca,
		ClientCert:  clientLeaf.TLSCertificate(),
		srv:         srv,
	}, nil
}

// Close stops the gateway, cancelling the calls in flight.
func (g *testGateway) Close() {
	g.srv.Stop()
}

func startGateway(tb testing.TB, setup gatewaySetup) *testGateway {
	tb.Helper()
	gw, err := newTestGateway(setup)
	if err != nil {
		tb.Fatalf("start gateway: %v", err)
	}
	tb.Cleanup(gw.Close)
	return gw
}

// newTransport returns a transport to gw with alice's certificate, trusting
// gw's CA, plus opts.
func newTransport(tb testing.TB, gw *testGateway, opts ...client.Option) *client.Transport {
	tb.Helper()
	base := []client.Option{
		client.WithCertificate(gw.ClientCert),
		client.WithRootCAs(gw.CA.Pool()),
	}
	t, err := client.New(gw.Addr, append(base, opts...)...)
	if err != nil {
		tb.Fatalf("client.New: %v", err)
	}
	tb.Cleanup(func() {
		if err := t.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return t
}

// demoHost answers like the dev mode's demo.internal would, through the
// gateway: a greeting naming the host and path it was asked for.
func demoHost(_ context.Context, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	return &gatewayv1.ForwardResponse{
		StatusCode: 200,
		Headers:    []*gatewayv1.Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}},
		Body:       []byte("hello from " + req.GetHost() + req.GetPath()),
	}, nil
}
