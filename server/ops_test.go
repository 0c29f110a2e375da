package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// scrape fetches and parses the gateway's /metrics, with a viewer token.
func (g *gateway) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+g.adminAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testViewerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// metricValue returns the value of the series of name whose labels include
// labels (name=value pairs), and whether it exists.
func metricValue(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if v, ok := have[labels[i]]; !ok || v != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// waitMetric polls /metrics until the series has the wanted value.
func (g *gateway) waitMetric(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	var got float64
	var ok bool
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, ok = metricValue(g.scrape(t), name, labels...); ok && got == want {
			return
		}
	}
	t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
}

// TestAdminExposure: /metrics needs admin credentials (any role) unless
// admin.metrics_unauthenticated is set; /healthz, /readyz and /openapi.json
// stay open. A non-loopback admin_listen without admin.tls is logged as
// unsafe at start.
func TestAdminExposure(t *testing.T) {
	t.Parallel()
	fetch := func(addr, path, token string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header
	}
	var logs syncBuffer
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second, Logger: slog.New(slog.NewJSONHandler(&logs, nil))},
		func(c *configv1.Config) { c.AdminListen = "0.0.0.0:8080" }) // only logged: the test serves on 127.0.0.1
	if code, h := fetch(g.adminAddr, "/metrics", ""); code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("/metrics without credentials: %d %v, want 401 with WWW-Authenticate", code, h)
	}
	if code, _ := fetch(g.adminAddr, "/metrics", "wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with an unknown token: %d, want 401", code)
	}
	for _, tok := range []string{testViewerToken, testEditorToken} {
		if code, _ := fetch(g.adminAddr, "/metrics", tok); code != http.StatusOK {
			t.Errorf("/metrics with a token: %d, want 200", code)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
		if code, _ := fetch(g.adminAddr, path, ""); code != http.StatusOK {
			t.Errorf("%s without credentials: %d, want 200", path, code)
		}
	}
	warned := false
	for _, l := range logs.lines(t) {
		msg, _ := l["msg"].(string)
		warned = warned || l["level"] == "WARN" && strings.HasPrefix(msg, "UNSAFE CONFIG: admin_listen 0.0.0.0:8080 is not a loopback address and admin.tls is not set")
	}
	if !warned {
		t.Error("no warning about the plain-HTTP admin listener in the log")
	}

	open := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second},
		func(c *configv1.Config) { c.Admin.MetricsUnauthenticated = true })
	if code, _ := fetch(open.adminAddr, "/metrics", ""); code != http.StatusOK {
		t.Errorf("/metrics with metrics_unauthenticated: %d, want 200", code)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		listen  string
		tls     bool
		metrics bool
		want    int
	}{
		{"loopback v4", "127.0.0.1:8080", false, true, 0},
		{"loopback v6", "[::1]:8080", false, true, 0},
		{"localhost", "localhost:8080", false, false, 0},
		{"default", "", false, false, 0},
		{"all interfaces", "0.0.0.0:8080", false, false, 1},
		{"all interfaces, empty host", ":8080", false, false, 1},
		{"management address with tls", "10.0.0.5:8080", true, false, 0},
		{"management address, metrics open", "10.0.0.5:8080", true, true, 1},
		{"plain and open", "[::]:8080", false, true, 2},
	} {
		cfg := &configv1.Config{AdminListen: tt.listen, Admin: &configv1.Admin{MetricsUnauthenticated: tt.metrics}}
		if tt.tls {
			cfg.Admin.Tls = &configv1.AdminTLS{CertFile: "a", KeyFile: "b"}
		}
		if got := server.Warnings(cfg); len(got) != tt.want {
			t.Errorf("%s: Warnings = %q, want %d", tt.name, got, tt.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	// The series exist before any traffic.
	before := g.scrape(t)
	for _, s := range []struct {
		name   string
		labels []string
	}{
		{"msg_ratelimit_rejections_total", nil},
		{"msg_config_revision", nil},
		{"msg_config_reloads_total", []string{"result", "failure"}},
		{"msg_tls_handshake_failures_total", []string{"reason", "revoked"}},
		{"msg_relay_upstream_errors_total", []string{"host", "demo.internal", "kind", "dial"}},
		{"msg_authz_decisions_total", []string{"result", "deny", "rule_id", "alice-no-private"}},
		{"grpc_server_handled_total", []string{"grpc_method", "Forward", "grpc_code", "OK"}},
		{"msg_grpc_open_connections", nil},
		{"msg_build_info", nil},
		{"go_goroutines", nil},
	} {
		if _, ok := metricValue(before, s.name, s.labels...); !ok {
			t.Errorf("series %s%v missing before traffic", s.name, s.labels)
		}
	}

	alice := g.as(t, "alice")
	if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/items", Body: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	_, err := forward(t, alice, get("demo.internal", "/private/x"))
	wantCode(t, err, codes.PermissionDenied)
	_, err = forward(t, g.as(t, "mallory"), get("demo.internal", "/x"))
	wantCode(t, err, codes.PermissionDenied)

	mfs := g.scrape(t)
	for _, c := range []struct {
		want   float64
		name   string
		labels []string
	}{
		{1, "grpc_server_handled_total", []string{"grpc_method", "Forward", "grpc_code", "OK"}},
		{2, "grpc_server_handled_total", []string{"grpc_method", "Forward", "grpc_code", "PermissionDenied"}},
		{1, "msg_relay_requests_total", []string{"host", "demo.internal", "status_class", "2xx"}},
		{1, "msg_relay_request_duration_seconds", []string{"host", "demo.internal"}},
		{5, "msg_relay_sent_bytes_total", []string{"host", "demo.internal"}},
		{float64(len("POST /base/items hello")), "msg_relay_received_bytes_total", []string{"host", "demo.internal"}},
		{1, "msg_authz_decisions_total", []string{"result", "allow", "reason", "allowed", "rule_id", "alice-demo"}},
		{1, "msg_authz_decisions_total", []string{"result", "deny", "reason", "denied_by_rule", "rule_id", "alice-no-private"}},
		{1, "msg_authz_decisions_total", []string{"result", "deny", "reason", "no_matching_rule", "rule_id", ""}},
		{2, "msg_grpc_open_connections", nil},
		{0, "msg_ratelimit_rejections_total", nil},
		{1, "msg_config_revision", nil},
	} {
		if got, ok := metricValue(mfs, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// No identity, path or app-chosen value is ever a label value.
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v := lp.GetValue(); strings.Contains(v, "alice") && !strings.HasPrefix(v, "alice-") || strings.Contains(v, "mallory") || strings.Contains(v, "/") && name != "msg_build_info" {
					t.Errorf("%s has label %s=%q", name, lp.GetName(), v)
				}
			}
		}
	}

	g.upstream.Close()
	_, err = forward(t, alice, get("demo.internal", "/down"))
	wantCode(t, err, codes.Unavailable)
	g.waitMetric(t, 1, "msg_relay_upstream_errors_total", "host", "demo.internal", "kind", "dial")
	g.waitMetric(t, 1, "msg_relay_requests_total", "host", "demo.internal", "status_class", "error")
}

func TestHandshakeFailureMetrics(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	otherCA, err := pki.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *pki.CA, o pki.Options) []tls.Certificate {
		leaf, err := ca.Issue(o)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{leaf.TLSCertificate()}
	}
	now := time.Now()
	// handshake runs one TLS handshake and reads until the server's verdict
	// arrives (with TLS 1.3 the client only learns it after its Finished).
	handshake := func(conf *tls.Config) {
		conn, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Client(conn, conf)
		if err := tc.Handshake(); err == nil {
			_, _ = tc.Read(make([]byte, 1))
		}
	}
	base := func(certs []tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: g.ca.Pool(), Certificates: certs, NextProtos: []string{"h2"}, ServerName: "localhost"}
	}
	tests := []struct {
		reason string
		run    func()
	}{
		{"no_certificate", func() { handshake(base(nil)) }},
		{"unknown_ca", func() {
			// A Go client only offers a certificate that the server's list of
			// acceptable CAs names; other clients send theirs regardless.
			cert := issue(otherCA, pki.Options{CommonName: "alice"})[0]
			conf := base(nil)
			conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
			handshake(conf)
		}},
		{"expired", func() {
			handshake(base(issue(g.ca, pki.Options{CommonName: "alice", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})))
		}},
		{"bad_certificate", func() { handshake(base(issue(g.ca, pki.Localhost()))) }}, // no clientAuth usage
		{"client_rejected", func() {
			conf := base(issue(g.ca, pki.Options{CommonName: "alice"}))
			conf.RootCAs = otherCA.Pool()
			handshake(conf)
		}},
		{"protocol", func() {
			conn, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.Copy(io.Discard, conn)
		}},
		{"closed", func() {
			conn, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
		}},
	}
	for _, tt := range tests {
		tt.run()
		g.waitMetric(t, 1, "msg_tls_handshake_failures_total", "reason", tt.reason)
	}
	if n := len(g.log.all()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// TestRequestIDInLogAndUpstream: the one log line of a Forward call carries
// the request id that the upstream received as X-Request-Id.
func TestRequestIDInLogAndUpstream(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	g := startGatewayWith(t, nil, server.Options{
		DrainTimeout: time.Second,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if _, err := forward(t, g.as(t, "alice"), get("demo.internal", "/hello")); err != nil {
		t.Fatal(err)
	}
	upstreamID := g.log.all()[0].Header.Get("X-Request-Id")
	if upstreamID == "" {
		t.Fatal("the upstream got no X-Request-Id")
	}
	var rpcLines []map[string]any
	// The RPC's log line is written after the response went out: poll.
	for deadline := time.Now().Add(waitFor); len(rpcLines) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range logs.lines(t) {
			if l["grpc.method"] == "Forward" && l["msg"] == "finished call" {
				rpcLines = append(rpcLines, l)
			}
		}
	}
	if len(rpcLines) != 1 {
		t.Fatalf("got %d finished-call lines for Forward, want 1", len(rpcLines))
	}
	if got := rpcLines[0]["request_id"]; got != upstreamID {
		t.Errorf("logged request_id = %v, upstream X-Request-Id = %q", got, upstreamID)
	}
	if rpcLines[0]["grpc.code"] != "OK" {
		t.Errorf("logged grpc.code = %v, want OK", rpcLines[0]["grpc.code"])
	}
}

// TestTracingSpansRPCAndUpstream: one trace covers the RPC and the upstream
// call, the upstream receives its traceparent, and a trace context sent by
// the app is not trusted.
func TestTracingSpansRPCAndUpstream(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second, TracerProvider: tp})

	const appTraceID = "0af7651916cd43dd8448eb211c80319c"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", "00-"+appTraceID+"-b7ad6b7169203331-01")
	if _, err := g.as(t, "alice").Forward(ctx, get("demo.internal", "/traced")); err != nil {
		t.Fatal(err)
	}
	traceparent := g.log.all()[0].Header.Get("Traceparent")
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || parts[0] != "00" {
		t.Fatalf("upstream traceparent = %q, want a W3C traceparent", traceparent)
	}

	var server, client tracetest.SpanStub
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, s := range exp.GetSpans() {
			switch s.SpanKind {
			case oteltrace.SpanKindServer:
				server = s
			case oteltrace.SpanKindClient:
				client = s
			}
		}
		if server.SpanContext.IsValid() && client.SpanContext.IsValid() {
			break
		}
	}
	if !server.SpanContext.IsValid() || !client.SpanContext.IsValid() {
		t.Fatalf("spans = %v, want a server and a client span", exp.GetSpans())
	}
	if server.Name != "msg.gateway.v1.GatewayService/Forward" {
		t.Errorf("server span name = %q", server.Name)
	}
	traceID := server.SpanContext.TraceID()
	if client.SpanContext.TraceID() != traceID {
		t.Errorf("client span trace %s, server span trace %s: want one trace", client.SpanContext.TraceID(), traceID)
	}
	if client.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("client span's parent = %s, want the server span %s", client.Parent.SpanID(), server.SpanContext.SpanID())
	}
	if parts[1] != traceID.String() || parts[2] != client.SpanContext.SpanID().String() {
		t.Errorf("upstream traceparent = %q, want trace %s and the client span %s", traceparent, traceID, client.SpanContext.SpanID())
	}
	if traceID.String() == appTraceID || server.Parent.IsValid() {
		t.Errorf("the server span continued the app's trace (parent %v): apps are untrusted", server.Parent)
	}
}

func TestGRPCHealth(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(t, "mallory")}}
	conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Any authenticated caller may ask, even one the policy allows nothing.
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("status = %v, want SERVING", resp.GetStatus())
	}
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound)
}

func adminGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestDrain: once the gateway is told to stop, /readyz answers 503 while an
// in-flight Forward runs to completion; new connections are refused.
func TestDrain(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	g := startGatewayWith(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/base/slow" {
			close(arrived)
			// Watch the request too: if the gateway cut the call, the test
			// fails below instead of hanging here.
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "done")
	}, server.Options{DrainTimeout: 10 * time.Second})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := adminGet(t, g.adminAddr, p); code != http.StatusOK {
			t.Fatalf("%s before drain = %d %q, want 200", p, code, body)
		}
	}
	alice := g.as(t, "alice")
	type result struct {
		resp *gatewayv1.ForwardResponse
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := forward(t, alice, get("demo.internal", "/slow"))
		inflight <- result{resp, err}
	}()
	select {
	case <-arrived:
	case <-time.After(waitFor):
		t.Fatal("the slow request never reached the upstream")
	}

	g.drain()
	deadline := time.Now().Add(waitFor)
	for {
		code, _ := adminGet(t, g.adminAddr, "/readyz")
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d while draining, want 503", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := adminGet(t, g.adminAddr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while draining = %d, want 200 (alive)", code)
	}
	// The listener closes right after readiness flips: new connections get
	// nowhere.
	for deadline := time.Now().Add(waitFor); ; time.Sleep(10 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", g.addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the gRPC listener still accepts connections while draining")
		}
	}

	close(release)
	r := <-inflight
	if r.err != nil || string(r.resp.GetBody()) != "done" {
		t.Fatalf("in-flight Forward during drain: %v, %v; want it to complete", r.resp, r.err)
	}
	if err := g.wait(); err != nil {
		t.Fatalf("Serve after drain: %v", err)
	}
}

// TestDrainTimeoutCutsLongCalls: a call that would outlive drain_timeout
// is cut when the timeout passes, and Serve returns: the drain waits for
// running calls, but not for longer than configured.
func TestDrainTimeoutCutsLongCalls(t *testing.T) {
	t.Parallel()
	const drainTimeout = time.Second
	logs := &syncBuffer{}
	arrived, released := make(chan struct{}), make(chan struct{})
	g := startGatewayWith(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		// Far longer than the drain timeout; it ends early only when the
		// gateway cuts the call (or the test is over).
		select {
		case <-r.Context().Done():
		case <-released:
		case <-time.After(10 * time.Minute):
		}
	}, server.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, func(c *configv1.Config) {
		c.DrainTimeout = durationpb.New(drainTimeout)
		c.Hosts[0].Timeout = durationpb.New(10 * time.Minute)
	})
	t.Cleanup(func() { close(released) }) // runs before the gateway's cleanup
	alice := g.as(t, "alice")
	callErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_, err := alice.Forward(ctx, get("demo.internal", "/long"))
		callErr <- err
	}()
	select {
	case <-arrived:
	case <-time.After(waitFor):
		t.Fatal("the long call never reached the upstream")
	}

	drainStart := time.Now()
	g.drain()
	served := make(chan error, 1)
	go func() { served <- g.wait() }()
	// The bound is far below the call's own 10 minutes and far above the
	// drain timeout, so only a drain that ignores drain_timeout misses it.
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Serve still draining %v after the drain began, with drain_timeout %v", time.Since(drainStart).Round(time.Second), drainTimeout)
	}
	var draining map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "gateway draining" {
			draining = l
		}
	}
	if draining == nil || draining["timeout"] != drainTimeout.String() {
		t.Errorf("draining log line = %v, want the configured drain_timeout %v", draining, drainTimeout)
	}
	if took := time.Since(drainStart); took < drainTimeout {
		t.Errorf("Serve returned %v after the drain began, before drain_timeout %v: the call was not given its time", took, drainTimeout)
	}
	select {
	case err := <-callErr:
		if status.Code(err) != codes.Unavailable {
			t.Errorf("the cut call ended with %v, want Unavailable", err)
		}
	case <-time.After(waitFor):
		t.Error("the cut call never ended on the client")
	}
}

// TestReload: a reload applies log.level, counts the result, keeps the
// running config when the new one is broken, and names the settings that
// need a restart.
func TestReload(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	level := new(slog.LevelVar)
	g := startGatewayWith(t, nil, server.Options{
		DrainTimeout: time.Second,
		LogLevel:     level,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})),
	})
	load := func(extra string) func() (*configv1.Config, error) {
		return func() (*configv1.Config, error) { return config.Parse([]byte(g.yaml + extra)) }
	}

	if err := g.srv.Reload(load("log: {level: debug}\n")); err != nil {
		t.Fatal(err)
	}
	if level.Level() != slog.LevelDebug {
		t.Errorf("level after reload = %v, want DEBUG", level.Level())
	}
	if err := g.srv.Reload(load("log: {level: loud}\n")); err == nil {
		t.Error("a reload with an invalid log.level succeeded")
	}
	if level.Level() != slog.LevelDebug {
		t.Errorf("level after a failed reload = %v, want DEBUG kept", level.Level())
	}
	if err := g.srv.Reload(load("log: {level: warn}\ndrain_timeout: 3s\n")); err != nil {
		t.Fatal(err)
	}
	if level.Level() != slog.LevelWarn {
		t.Errorf("level = %v, want WARN", level.Level())
	}
	mfs := g.scrape(t)
	for _, c := range []struct {
		want   float64
		name   string
		labels []string
	}{
		{2, "msg_config_reloads_total", []string{"result", "success"}},
		{1, "msg_config_reloads_total", []string{"result", "failure"}},
		{1, "msg_config_revision", nil}, // reloads do not touch hosts and rules: the store's revision stays
	} {
		if got, ok := metricValue(mfs, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	var restart []any
	for _, l := range logs.lines(t) {
		if keys, ok := l["keys"].([]any); ok {
			restart = keys
		}
	}
	if fmt.Sprint(restart) != "[drain_timeout]" {
		t.Errorf("restart-needed keys logged = %v, want [drain_timeout]", restart)
	}
}

// TestTracingToCollector: with tracing.endpoint set the server builds an
// OTLP exporter without dialling at start, and an unreachable collector
// neither fails the RPC nor holds up the shutdown beyond its bound.
func TestTracingToCollector(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil) // for its PKI and upstream
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	collector := lis.Addr().String()
	lis.Close() // nothing listens there: every export fails
	cfg, err := config.Parse([]byte(g.yaml + "tracing: {endpoint: \"" + collector + "\", insecure: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir() // g's server holds the lock on its own store
	s, err := server.New(cfg, server.Options{DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, grpcLis, adminLis) }()
	traced := &gateway{addr: grpcLis.Addr().String(), ca: g.ca}
	if _, err := forward(t, traced.as(t, "alice"), get("demo.internal", "/traced")); err != nil {
		t.Fatal(err)
	}
	if tp := g.log.all()[0].Header.Get("Traceparent"); tp == "" {
		t.Error("the upstream got no traceparent")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
	// The flush is bounded at 2s; the exporter's own timeout is 10s. 8s
	// leaves a loaded machine room and still catches an unbounded flush.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("shutdown took %v with an unreachable collector", d)
	}
}
