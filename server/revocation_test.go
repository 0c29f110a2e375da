package server_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// dialConn connects with cert and returns the connection itself, so that a
// test can watch its state.
func (g *gateway) dialConn(t *testing.T, cert tls.Certificate) (*grpc.ClientConn, gatewayv1.GatewayServiceClient) {
	t.Helper()
	conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, gatewayv1.NewGatewayServiceClient(conn)
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// TestPerRequestRevocationCheck: every request re-checks the revocation
// sources, on a connection that was opened before the revocation and that
// nothing closes. The sources change here the way the server changes them,
// without the sweep of open connections that follows in production (that
// sweep has its own test, TestStoreRevocationClosesConnections), so the
// only thing that can refuse the call is the per-request check, and its
// answer must be Unauthenticated on a connection that stays up.
func TestPerRequestRevocationCheck(t *testing.T) {
	t.Parallel()
	t.Run("admin store revocation", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, nil)
		aliceCert := g.identity(t, "alice")
		conn, alice := g.dialConn(t, aliceCert)
		_, bob := g.dialConn(t, g.identity(t, "bob"))
		if _, err := forward(t, alice, get("demo.internal", "/before")); err != nil {
			t.Fatalf("alice before the revocation: %v", err)
		}
		server.RevokeInStoreStateWithoutClosing(g.srv, "fp-"+fingerprint(aliceCert.Leaf))
		assertRefusedPerRequest(t, g, conn, alice, bob)
	})
}

// assertRefusedPerRequest checks that alice, revoked, is refused with
// Unauthenticated on her open connection, twice (so the first refusal did
// not close it), that the connection is still up, and that bob is not
// affected.
func assertRefusedPerRequest(t *testing.T, g *gateway, conn *grpc.ClientConn, alice, bob gatewayv1.GatewayServiceClient) {
	t.Helper()
	for i := range 2 {
		_, err := forward(t, alice, get("demo.internal", fmt.Sprintf("/after-%d", i)))
		if got := status.Code(err); got != codes.Unauthenticated {
			t.Fatalf("alice's request %d after the revocation: %v, want exactly Unauthenticated (the per-request check)", i, err)
		}
	}
	if s := conn.GetState(); s != connectivity.Ready {
		t.Errorf("alice's connection is %v, want it still Ready: nothing but the per-request check may refuse her here", s)
	}
	if _, err := forward(t, bob, get("demo.internal", "/bob")); err != nil {
		t.Errorf("bob after alice's revocation: %v", err)
	}
	for _, r := range g.log.all() {
		if r.URL.Path != "/base/before" && r.URL.Path != "/base/bob" {
			t.Errorf("the upstream received %s after alice's revocation", r.URL.Path)
		}
	}
}

// TestStoreRevocationClosesConnections: a revocation committed through the
// admin API closes the revoked certificate's open connections, so a
// long-lived stream that was authorized before the revocation ends (the
// per-request check never sees it again) and an idle connection goes away.
func TestStoreRevocationClosesConnections(t *testing.T) {
	t.Parallel()
	upstreamCancelled := make(chan struct{})
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/base/forever" {
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("first chunk"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(upstreamCancelled)
	})
	aliceCert := g.identity(t, "alice")
	idle, idleClient := g.dialConn(t, aliceCert)
	if _, err := forward(t, idleClient, get("demo.internal", "/hello")); err != nil {
		t.Fatalf("alice before the revocation: %v", err)
	}
	_, streamClient := g.dialConn(t, aliceCert)
	stream, err := streamClient.ForwardStream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*gatewayv1.ForwardStreamRequest{headOf("GET", "/forever"), endOf} {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	// The head and the first chunk: the stream is authorized and relaying.
	for got := 0; got < 2; got++ {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("stream before the revocation: %v", err)
		}
	}
	ended := make(chan error, 1)
	go func() { ended <- finish(stream).Err() }()

	code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/revocations",
		`{"fingerprintSha256":"`+fingerprint(aliceCert.Leaf)+`","reason":"phone lost"}`)
	if code != http.StatusOK {
		t.Fatalf("revoke: %d %v", code, body)
	}
	select {
	case err := <-ended:
		if status.Code(err) != codes.Unavailable {
			t.Errorf("the stream ended with %v, want Unavailable (its connection was closed)", err)
		}
	case <-time.After(15 * time.Second): // the sweep follows the commit at once; this bound only stops a broken build
		t.Fatal("the revoked certificate's stream is still open: its connection was not closed")
	}
	waitClosed(t, upstreamCancelled, "the upstream request to be cancelled with the stream")
	eventually(t, "the idle connection to close", waitFor, func() bool { return idle.GetState() != connectivity.Ready })
}
