package server_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// upstreamLog records what the internal host received.
type upstreamLog struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (l *upstreamLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Clone(context.Background()))
}

func (l *upstreamLog) all() []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*http.Request(nil), l.reqs...)
}

// gateway is a running gateway in front of a real upstream, with a CA that
// signs both the server certificate and the test's client certificates.
type gateway struct {
	addr      string
	adminAddr string
	ca        *pki.CA
	upstream  *httptest.Server
	log       *upstreamLog
	srv       *server.Server
	yaml      string // the config the gateway runs with
	drain     func() // cancels Serve's context: the gateway starts draining
	wait      func() error
	// The TLS files the gateway runs with, in a directory of their own.
	dir, certFile, keyFile, caFile string
}

// The admin tokens every test gateway accepts.
const (
	testEditorToken = "test-editor-token"
	testViewerToken = "test-viewer-token"
)

const testRules = `
rules:
  - id: alice-demo
    effect: allow
    principals: [{id: alice}]
    hosts: [demo.internal, small.internal]
  - id: alice-no-private
    effect: deny
    principals: [{id: alice}]
    hosts: ["**"]
    paths: [{prefix: /private/}]
  - id: bob-everything
    effect: allow
    principals: [{id: bob}]
    hosts: ["**"]
`

// startGateway starts an upstream and a gateway on 127.0.0.1:0. handler may
// be nil for the default upstream, which echoes what it received.
func startGateway(t *testing.T, handler http.HandlerFunc) *gateway {
	t.Helper()
	return startGatewayWith(t, handler, server.Options{DrainTimeout: time.Second})
}

// startGatewayWith is startGateway with server options; each mutate
// function may change the parsed config before the server is built (it is
// validated again afterwards).
func startGatewayWith(t testing.TB, handler http.HandlerFunc, opts server.Options, mutate ...func(*configv1.Config)) *gateway {
	t.Helper()
	g := &gateway{log: &upstreamLog{}}
	if handler == nil {
		handler = echoHandler
	}
	g.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.log.add(r)
		handler(w, r)
	}))
	t.Cleanup(g.upstream.Close)

	dir := t.TempDir()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	g.ca = ca
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := srv.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
data_dir: %q
admin:
  tokens:
    - {name: test-editor, sha256: %q, role: editor}
    - {name: test-viewer, sha256: %q, role: viewer}
tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
hosts:
  - name: demo.internal
    upstream: %q
    timeout: 2s
    max_request_body_bytes: 4096
    max_response_body_bytes: 65536
    allowed_cidrs: [127.0.0.0/8]
  - name: small.internal
    upstream: %q
    max_response_body_bytes: 10
    allowed_cidrs: [127.0.0.0/8]
`, filepath.Join(dir, "data"), admin.HashToken(testEditorToken), admin.HashToken(testViewerToken),
		certFile, keyFile, filepath.Join(dir, "ca.pem"), g.upstream.URL+"/base", g.upstream.URL) + testRules
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	g.dir, g.certFile, g.keyFile, g.caFile = dir, certFile, keyFile, filepath.Join(dir, "ca.pem")
	for _, m := range mutate {
		m(cfg)
	}
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	g.srv, g.yaml = s, yaml
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr, g.adminAddr = lis.Addr().String(), adminLis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis, adminLis) }()
	var once sync.Once
	var serveErr error
	g.drain = cancel
	g.wait = func() error {
		once.Do(func() { serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() {
		cancel()
		if err := g.wait(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return g
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Upstream-Path", r.URL.RawPath+"|"+r.URL.Path)
	w.Header().Add("X-Multi", "one")
	w.Header().Add("X-Multi", "two")
	w.Header().Set("Connection", "X-Hop")
	w.Header().Set("X-Hop", "must not reach the app")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "%s %s %s", r.Method, r.RequestURI, body)
}

// identity issues a client certificate with the given common name.
func (g *gateway) identity(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	leaf, err := g.ca.Issue(pki.Options{CommonName: cn})
	if err != nil {
		t.Fatal(err)
	}
	return leaf.TLSCertificate()
}

// dial connects with the given client certificates (none when empty).
func (g *gateway) dial(t testing.TB, certs ...tls.Certificate) gatewayv1.GatewayServiceClient {
	t.Helper()
	conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return gatewayv1.NewGatewayServiceClient(conn)
}

func (g *gateway) as(t *testing.T, cn string) gatewayv1.GatewayServiceClient {
	return g.dial(t, g.identity(t, cn))
}

func forward(t *testing.T, c gatewayv1.GatewayServiceClient, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Forward(ctx, req)
}

func get(host, path string) *gatewayv1.ForwardRequest {
	return &gatewayv1.ForwardRequest{Host: host, Method: "GET", Path: path}
}

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Fatalf("code = %v (%v), want %v", st.Code(), err, want)
	}
	return st
}

func TestForwardAllowedRoundTrip(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	resp, err := forward(t, g.as(t, "alice"), &gatewayv1.ForwardRequest{
		Host:   "demo.internal",
		Method: "post",
		Path:   "/items/%7e1?limit=10&x=%2F",
		Headers: []*gatewayv1.Header{
			{Name: "content-type", Value: "text/plain"},
			{Name: "X-App", Value: "a"},
			{Name: "X-App", Value: "b"},
		},
		Body: []byte("hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatusCode() != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.GetStatusCode())
	}
	if got, want := string(resp.GetBody()), "POST /base/items/~1?limit=10&x=%2F hello"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	var multi []string
	for _, h := range resp.GetHeaders() {
		switch h.GetName() {
		case "X-Multi":
			multi = append(multi, h.GetValue())
		case "Connection", "X-Hop":
			t.Errorf("hop-by-hop response header %s reached the app", h.GetName())
		}
	}
	if strings.Join(multi, ",") != "one,two" {
		t.Errorf("X-Multi = %v, want [one two]", multi)
	}
	reqs := g.log.all()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if got := r.Header.Values("X-App"); strings.Join(got, ",") != "a,b" {
		t.Errorf("upstream X-App = %v, want [a b]", got)
	}
	if r.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("upstream Content-Type = %q", r.Header.Get("Content-Type"))
	}
	if r.Header.Get(config.DefaultIdentityHeader) != "alice" {
		t.Errorf("identity header = %q, want alice", r.Header.Get(config.DefaultIdentityHeader))
	}
	if len(r.Header.Get(config.DefaultFingerprintHeader)) != 64 {
		t.Errorf("fingerprint header = %q", r.Header.Get(config.DefaultFingerprintHeader))
	}
	if len(r.Header.Get("X-Request-Id")) != 32 {
		t.Errorf("X-Request-Id = %q", r.Header.Get("X-Request-Id"))
	}
	if r.Host != strings.TrimPrefix(g.upstream.URL, "http://") {
		t.Errorf("upstream Host = %q, want the configured upstream host", r.Host)
	}
}

func TestForwardDeniedIdentity(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	_, err := forward(t, g.as(t, "mallory"), get("demo.internal", "/hello"))
	st := wantCode(t, err, codes.PermissionDenied)
	if st.Message() != "request denied by policy" {
		t.Errorf("message = %q, want the fixed message", st.Message())
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	if info == nil || info.GetReason() != authz.ErrorReasonDenied || info.GetDomain() != authz.ErrorDomain {
		t.Fatalf("ErrorInfo = %v, want reason %s", info, authz.ErrorReasonDenied)
	}
	for _, leak := range []string{"alice-demo", "alice-no-private", "127.0.0.1", "rule"} {
		if strings.Contains(fmt.Sprint(st.Proto()), leak) {
			t.Errorf("status %v leaks %q", st.Proto(), leak)
		}
	}
	if n := len(g.log.all()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

func TestHandshakeFailures(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	otherCA, err := pki.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *pki.CA, o pki.Options) tls.Certificate {
		leaf, err := ca.Issue(o)
		if err != nil {
			t.Fatal(err)
		}
		return leaf.TLSCertificate()
	}
	now := time.Now()
	tests := []struct {
		name  string
		certs []tls.Certificate
	}{
		{"no client certificate", nil},
		{"certificate from another CA", []tls.Certificate{issue(otherCA, pki.Options{CommonName: "alice"})}},
		{"expired", []tls.Certificate{issue(g.ca, pki.Options{CommonName: "alice", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})}},
		{"not yet valid", []tls.Certificate{issue(g.ca, pki.Options{CommonName: "alice", NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)})}},
		{"server certificate used as client", []tls.Certificate{issue(g.ca, pki.Localhost())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := forward(t, g.dial(t, tt.certs...), get("demo.internal", "/hello"))
			wantCode(t, err, codes.Unavailable) // the handshake fails: no RPC is ever made
		})
	}
	if n := len(g.log.all()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

func TestHostNotAllowListed(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	// bob's rule allows every host ("**"): only the host table stands between
	// him and these targets, and it must hold.
	bob := g.as(t, "bob")
	upstreamHost := strings.TrimPrefix(g.upstream.URL, "http://")
	for _, host := range []string{
		"unknown.internal", "127.0.0.1:1", "169.254.169.254", "[::1]:80", upstreamHost, "localhost",
		"demo.internal:8080", "demo.internal.",
	} {
		t.Run(host, func(t *testing.T) {
			_, err := forward(t, bob, get(host, "/latest/meta-data/"))
			st, _ := status.FromError(err)
			if st.Code() != codes.PermissionDenied && st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want PermissionDenied or InvalidArgument", st.Code(), err)
			}
			if strings.Contains(st.Message(), host) {
				t.Errorf("message %q echoes the host", st.Message())
			}
		})
	}
	if n := len(g.log.all()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	g.upstream.Close()
	_, err := forward(t, g.as(t, "alice"), get("demo.internal", "/hello"))
	st := wantCode(t, err, codes.Unavailable)
	if st.Message() != "upstream unavailable" {
		t.Errorf("message = %q leaks upstream details", st.Message())
	}
}

func TestUpstreamSlowerThanDeadline(t *testing.T) {
	t.Parallel()
	arrived, cancelled := make(chan struct{}), make(chan struct{})
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			return
		}
		close(arrived)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(time.Minute):
		}
	})
	// small.internal has the default host timeout (30s): only the caller's
	// deadline can end the call. The connection is up before the deadline
	// starts, so the deadline only has to cover the call itself.
	alice := g.as(t, "alice")
	if _, err := forward(t, alice, get("small.internal", "/warm")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := alice.Forward(ctx, get("small.internal", "/slow"))
	wantCode(t, err, codes.DeadlineExceeded)
	select {
	case <-arrived:
	default:
		t.Fatal("the call ended before it reached the upstream: the test proved nothing")
	}
	select {
	case <-cancelled:
	case <-time.After(waitFor):
		t.Fatal("the upstream never saw the cancellation")
	}
}

func TestHostTimeout(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // longer than the host's 2s timeout
	})
	_, err := forward(t, g.as(t, "alice"), get("demo.internal", "/slow"))
	wantCode(t, err, codes.DeadlineExceeded)
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "this body is longer than ten bytes")
	})
	alice := g.as(t, "alice")
	big := &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/upload", Body: make([]byte, 4097)}
	_, err := forward(t, alice, big)
	wantCode(t, err, codes.ResourceExhausted)
	if n := len(g.log.all()); n != 0 {
		t.Errorf("an oversized request body reached the upstream")
	}
	_, err = forward(t, alice, get("small.internal", "/big"))
	wantCode(t, err, codes.ResourceExhausted)
}

// TestChunkedResponseOverLimit: a response without a Content-Length (sent
// chunked) is bounded by max_response_body_bytes as it is read, for the
// unary Forward that holds it in memory.
func TestChunkedResponseOverLimit(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		chunks := []string{"01234", "56789"} // small.internal's limit: 10 bytes
		if r.URL.Path == "/over" {
			chunks = append(chunks, "x")
		}
		for _, c := range chunks {
			_, _ = io.WriteString(w, c)
			w.(http.Flusher).Flush() // no Content-Length: chunked
		}
	})
	bob := g.as(t, "bob")
	resp, err := forward(t, bob, get("small.internal", "/at"))
	if err != nil || string(resp.GetBody()) != "0123456789" {
		t.Fatalf("a chunked body at the limit: %v, %v", resp, err)
	}
	_, err = forward(t, bob, get("small.internal", "/over"))
	if st := wantCode(t, err, codes.ResourceExhausted); st.Message() != "response body too large" {
		t.Errorf("message = %q", st.Message())
	}
}

// TestUpstreamFailsMidBody: an upstream that hangs up in the middle of its
// response body fails a unary Forward with Unavailable; the app never gets
// a truncated body as if it were whole.
func TestUpstreamFailsMidBody(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/base/announced" {
			w.Header().Set("Content-Length", "1000")
		}
		_, _ = io.WriteString(w, strings.Repeat("a", 500))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	})
	alice := g.as(t, "alice")
	for _, path := range []string{"/announced", "/chunked"} {
		t.Run(path, func(t *testing.T) {
			resp, err := forward(t, alice, get("demo.internal", path))
			if err == nil {
				t.Fatalf("Forward returned %d bytes as a whole response", len(resp.GetBody()))
			}
			if st := wantCode(t, err, codes.Unavailable); st.Message() != "upstream unavailable" {
				t.Errorf("message = %q, want the fixed one", st.Message())
			}
		})
	}
}

func TestMalformedAndTraversal(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	alice := g.as(t, "alice")
	tests := []struct {
		name string
		req  *gatewayv1.ForwardRequest
	}{
		{"CRLF in header value", &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x",
			Headers: []*gatewayv1.Header{{Name: "X-A", Value: "1\r\nX-Evil: 1"}}}},
		{"LF in header name", &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x",
			Headers: []*gatewayv1.Header{{Name: "X-A\nB", Value: "1"}}}},
		{"bad method", &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET /private/x HTTP/1.1", Path: "/x"}},
		{"empty method", &gatewayv1.ForwardRequest{Host: "demo.internal", Path: "/x"}},
		{"dot dot", get("demo.internal", "/a/../private/x")},
		{"encoded dot dot", get("demo.internal", "/a/%2e%2e/private/x")},
		{"mixed-case encoded dot dot", get("demo.internal", "/a/%2E%2e/private/x")},
		{"half encoded dot dot", get("demo.internal", "/a/.%2e/private/x")},
		{"encoded slash", get("demo.internal", "/public%2F..%2Fprivate/x")},
		{"double slash", get("demo.internal", "//private/x")},
		{"inner double slash", get("demo.internal", "/a//private/x")},
		{"backslash", get("demo.internal", "/a\\..\\private\\x")},
		{"encoded backslash", get("demo.internal", "/a%5c..%5cprivate/x")},
		{"encoded NUL", get("demo.internal", "/private%00/x")},
		{"absolute form", get("demo.internal", "http://demo.internal/private/x")},
		{"authority form", get("demo.internal", "demo.internal:80")},
		{"userinfo host", get("user@demo.internal", "/x")},
		{"encoded unreserved private", get("demo.internal", "/%70rivate/x")},
		{"climb above root", get("demo.internal", "/../private/x")},
		{"fragment", get("demo.internal", "/x#/../../private")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := forward(t, alice, tt.req)
			st, _ := status.FromError(err)
			if st.Code() != codes.InvalidArgument && st.Code() != codes.PermissionDenied {
				t.Fatalf("code = %v (%v), want InvalidArgument or PermissionDenied", st.Code(), err)
			}
		})
	}
	for _, r := range g.log.all() {
		if strings.Contains(strings.ToLower(r.RequestURI), "private") {
			t.Errorf("upstream received %q for a principal denied /private/", r.RequestURI)
		}
	}
}

func TestInvalidArgumentNamesField(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	_, err := forward(t, g.as(t, "alice"), &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x",
		Headers: []*gatewayv1.Header{{Name: "X-Ok", Value: "1"}, {Name: "X-Bad", Value: "a\rb"}}})
	st := wantCode(t, err, codes.InvalidArgument)
	if !strings.HasPrefix(st.Message(), "headers[1].value") {
		t.Errorf("message = %q, want it to name headers[1].value", st.Message())
	}
}

func TestSpoofedHeadersReplaced(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	aliceCert := g.identity(t, "alice")
	_, err := forward(t, g.dial(t, aliceCert), &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x",
		Headers: []*gatewayv1.Header{
			{Name: config.DefaultIdentityHeader, Value: "admin"},
			{Name: strings.ToLower(config.DefaultIdentityHeader), Value: "admin"},
			{Name: config.DefaultFingerprintHeader, Value: "00"},
			{Name: strings.ToUpper(config.DefaultFingerprintHeader), Value: strings.Repeat("ab", 32)},
			{Name: "X-Forwarded-For", Value: "10.0.0.1"},
			{Name: "X-Forwarded-Host", Value: "admin.corp"},
			{Name: "X-Forwarded-Proto", Value: "https"},
			{Name: "X-Forwarded-Client-Cert", Value: "Hash=00;Subject=\"CN=admin\""},
			{Name: "X-Forwarded-Prefix", Value: "/admin"},
			{Name: "Forwarded", Value: "for=10.0.0.1"},
			{Name: "X-Real-IP", Value: "10.0.0.1"},
			{Name: "X-Request-Id", Value: "chosen-by-app"},
			{Name: "Host", Value: "evil.example"},
			{Name: "Connection", Value: "X-Secret"},
			{Name: "X-Secret", Value: "hop"},
			{Name: "Proxy-Authorization", Value: "Basic eA=="},
			{Name: "Upgrade", Value: "websocket"},
			{Name: "TE", Value: "trailers"},
			{Name: "X-App", Value: "kept"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := g.log.all()[0]
	check := func(name string, want ...string) {
		t.Helper()
		if got := r.Header.Values(name); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	// Exactly the gateway's values: one each, never an app's copy beside them.
	check(config.DefaultIdentityHeader, "alice")
	check(config.DefaultFingerprintHeader, fingerprint(aliceCert.Leaf))
	check("X-Forwarded-For", "127.0.0.1")
	for _, name := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Client-Cert", "X-Forwarded-Prefix",
		"Forwarded", "X-Real-Ip", "X-Secret", "Proxy-Authorization", "Upgrade", "Te"} {
		check(name)
	}
	check("X-App", "kept")
	if ids := r.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "chosen-by-app" {
		t.Errorf("upstream X-Request-Id = %q, want one id chosen by the gateway", ids)
	}
	if r.Host == "evil.example" {
		t.Error("the app chose the upstream Host")
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	resp, err := forward(t, g.as(t, "alice"), get("demo.internal", "/go"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatusCode() != http.StatusFound {
		t.Errorf("status = %d, want 302 returned as-is", resp.GetStatusCode())
	}
	if n := len(g.log.all()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func TestUpstreamErrorStatusIsSuccess(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal detail: db at 10.1.2.3 down", http.StatusBadGateway)
	})
	resp, err := forward(t, g.as(t, "alice"), get("demo.internal", "/x"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatusCode() != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.GetStatusCode())
	}
}
