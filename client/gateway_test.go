package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

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

// call is one Forward call as the fake gateway received it.
type call struct {
	req        *gatewayv1.ForwardRequest
	peerCN     string // common name of the verified client certificate
	tlsVersion uint16
}

// fakeGateway is a GatewayServiceServer that records its calls and hands
// them to a handler.
type fakeGateway struct {
	gatewayv1.UnimplementedGatewayServiceServer
	handle handlerFunc

	mu    sync.Mutex
	calls []call
}

func (g *fakeGateway) Forward(ctx context.Context, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	c := call{req: req}
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
	return g.handle(ctx, req)
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
	fake := &fakeGateway{handle: handle}
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
