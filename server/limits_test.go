package server_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
	"golang.org/x/net/http2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/durationpb"
)

func withLimits(mod func(l *configv1.Limits)) func(*configv1.Config) {
	return func(c *configv1.Config) { mod(c.Limits) }
}

// TestInnerRequestHeadLimits: the inner request's header count and bytes
// are bounded, end to end, and nothing over them reaches the upstream.
func TestInnerRequestHeadLimits(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxHeaderCount, l.MaxHeaderBytes = 10, 1024
	}))
	alice := g.as(t, "alice")
	headers := func(n, size int) []*gatewayv1.Header {
		var hs []*gatewayv1.Header
		for i := range n {
			hs = append(hs, &gatewayv1.Header{Name: fmt.Sprintf("X-H%d", i), Value: strings.Repeat("v", size)})
		}
		return hs
	}
	tests := []struct {
		name    string
		headers []*gatewayv1.Header
		want    codes.Code
	}{
		{"at the count limit", headers(10, 1), codes.OK},
		{"over the count limit", headers(11, 1), codes.InvalidArgument},
		{"at the byte limit", headers(1, 1024-len("X-H0")), codes.OK},
		{"over the byte limit", headers(1, 1025-len("X-H0")), codes.InvalidArgument},
		{"over the byte limit in many headers", headers(5, 210), codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/h", Headers: tt.headers})
			st := wantCode(t, err, tt.want)
			if tt.want != codes.OK && !strings.HasPrefix(st.Message(), "headers") {
				t.Errorf("message %q does not name the headers field", st.Message())
			}
		})
	}
	if n := len(g.log.all()); n != 2 {
		t.Errorf("upstream saw %d requests, want the 2 within the limits", n)
	}
}

// TestMaxMessageSize: a gRPC message over limits.max_message_bytes is
// refused by the transport before any interceptor runs.
func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxMessageBytes = 2048
	}))
	alice := g.as(t, "alice")
	_, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/m", Body: make([]byte, 4096)})
	wantCode(t, err, codes.ResourceExhausted)
	if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/m", Body: make([]byte, 1024)}); err != nil {
		t.Fatalf("a message under the limit: %v", err)
	}
	if n := len(g.log.all()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

// blockingUpstream holds every request until released and records the
// highest number it held at once.
type blockingUpstream struct {
	release chan struct{}
	cur     atomic.Int64
	max     atomic.Int64
}

func newBlockingUpstream() *blockingUpstream { return &blockingUpstream{release: make(chan struct{})} }

func (b *blockingUpstream) handler(w http.ResponseWriter, r *http.Request) {
	n := b.cur.Add(1)
	defer b.cur.Add(-1)
	for {
		m := b.max.Load()
		if n <= m || b.max.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-b.release:
	case <-r.Context().Done():
	}
	_, _ = io.WriteString(w, "done")
}

// TestMaxConcurrentStreams: one connection never has more than
// limits.max_concurrent_streams calls running; the rest wait and then
// succeed.
func TestMaxConcurrentStreams(t *testing.T) {
	t.Parallel()
	up := newBlockingUpstream()
	g := startGatewayWith(t, up.handler, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxConcurrentStreams = 2
	}))
	alice := g.as(t, "alice") // one connection
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := forward(t, alice, get("demo.internal", "/slow"))
			errs <- err
		}()
	}
	eventually(t, "two calls at the upstream", 10*time.Second, func() bool { return up.cur.Load() == 2 })
	// What holds the third call back is the limit the gateway announces in
	// its HTTP/2 SETTINGS; read it as a raw HTTP/2 client sees it rather
	// than wait for a third call that must never come.
	if got, ok := announcedMaxConcurrentStreams(t, g, "alice"); !ok || got != 2 {
		t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (announced %v), want 2", got, ok)
	}
	close(up.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a queued call failed: %v", err)
		}
	}
	if m := up.max.Load(); m != 2 {
		t.Errorf("the upstream saw %d calls at once on one connection, want at most 2", m)
	}
}

// announcedMaxConcurrentStreams opens a raw HTTP/2 connection as cn and
// returns the SETTINGS_MAX_CONCURRENT_STREAMS of the gateway's first
// SETTINGS frame.
func announcedMaxConcurrentStreams(t *testing.T, g *gateway, cn string) (uint32, bool) {
	t.Helper()
	conf := g.clientConf(t, cn)
	conf.ServerName, conf.NextProtos = "localhost", []string{"h2"}
	conn, err := tls.Dial("tcp", g.addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the gateway's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			return sf.Value(http2.SettingMaxConcurrentStreams)
		}
	}
}

func retryInfo(t *testing.T, err error, wantReason string) time.Duration {
	t.Helper()
	st := wantCode(t, err, codes.ResourceExhausted)
	var reason string
	var delay time.Duration = -1
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RetryInfo:
			delay = d.GetRetryDelay().AsDuration()
		}
	}
	if reason != wantReason || delay <= 0 {
		t.Fatalf("details: reason %q, retry delay %v; want %s and a positive delay", reason, delay, wantReason)
	}
	return delay
}

// TestRateLimitPerIdentity: each principal has its own token bucket, shared
// by all its connections; over it, ResourceExhausted with RetryInfo. The
// bucket refills one token every 1000 s, so however slow the machine, no
// token comes back during the test.
func TestRateLimitPerIdentity(t *testing.T) {
	t.Parallel()
	const rate = 0.001
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.RatePerSecond, l.Burst = rate, 3
	}))
	a1, a2 := g.as(t, "alice"), g.as(t, "alice")
	for i, c := range []gatewayv1.GatewayServiceClient{a1, a2, a1} {
		if _, err := forward(t, c, get("demo.internal", "/r")); err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
	}
	_, err := forward(t, a2, get("demo.internal", "/r")) // a second connection: same bucket
	if d, perToken := retryInfo(t, err, server.ErrorReasonRateLimited), time.Duration(float64(time.Second)/rate); d > perToken {
		t.Errorf("retry delay %v, want at most 1/rate = %v", d, perToken)
	}
	if _, err := forward(t, g.as(t, "bob"), get("demo.internal", "/r")); err != nil {
		t.Errorf("bob is limited by alice's bucket: %v", err)
	}
	if n := len(g.log.all()); n != 4 {
		t.Errorf("upstream saw %d requests, want 4", n)
	}
}

// TestInFlightPerIdentity: a principal's concurrent requests are bounded
// over all its connections; others are not affected.
func TestInFlightPerIdentity(t *testing.T) {
	t.Parallel()
	up := newBlockingUpstream()
	g := startGatewayWith(t, up.handler, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxInFlightPerIdentity = 2
	}))
	var wg sync.WaitGroup
	for _, c := range []gatewayv1.GatewayServiceClient{g.as(t, "alice"), g.as(t, "alice")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := forward(t, c, get("demo.internal", "/slow")); err != nil {
				t.Errorf("held call: %v", err)
			}
		}()
	}
	eventually(t, "alice's two calls at the upstream", 10*time.Second, func() bool { return up.cur.Load() == 2 })
	_, err := forward(t, g.as(t, "alice"), get("demo.internal", "/third"))
	retryInfo(t, err, server.ErrorReasonTooManyInFlight)

	bobDone := make(chan error, 1)
	bob := g.as(t, "bob")
	go func() {
		_, err := forward(t, bob, get("demo.internal", "/bob"))
		bobDone <- err
	}()
	eventually(t, "bob's call at the upstream", 10*time.Second, func() bool { return up.cur.Load() == 3 })
	close(up.release)
	wg.Wait()
	if err := <-bobDone; err != nil {
		t.Errorf("bob: %v", err)
	}
	if _, err := forward(t, g.as(t, "alice"), get("demo.internal", "/after")); err != nil {
		t.Errorf("alice after her calls finished: %v", err)
	}
}

// silentConnClosed reports whether the gateway closes a TCP connection that
// never says anything, within limit.
func silentConnClosed(t *testing.T, addr string, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	// Timed from before the dial: the gateway's clock for this connection
	// starts at accept, which cannot come earlier.
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return time.Since(start), false
	}
	return time.Since(start), true
}

// TestHandshakeTimeout: a connection that never completes a handshake is
// closed after limits.handshake_timeout.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.HandshakeTimeout = durationpb.New(500 * time.Millisecond)
	}))
	took, closed := silentConnClosed(t, g.addr, 10*time.Second)
	if !closed {
		t.Fatalf("a silent connection was still open after %v", took)
	}
	if took < 500*time.Millisecond {
		t.Errorf("closed after %v, before the handshake timeout", took)
	}
}

// TestConnectionLimit: limits.max_connections counts connections that are
// still handshaking; a client gets in once one of them goes.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxConnections, l.MaxHandshakes, l.MaxHandshakesPerSource = 2, 2, 2
		l.HandshakeTimeout = durationpb.New(time.Minute)
	}))
	var squatters []net.Conn
	for range 2 {
		c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		squatters = append(squatters, c)
		defer c.Close()
	}
	alice := g.as(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	_, err := alice.Forward(ctx, get("demo.internal", "/x"))
	cancel()
	if err == nil {
		t.Fatal("a third connection was served while two held the limit")
	}
	squatters[0].Close()
	if _, err := forward(t, alice, get("demo.internal", "/x")); err != nil {
		t.Fatalf("after a slot freed up: %v", err)
	}
}

// TestHandshakeFlood: dozens of silent and garbage connections do not stop
// real clients, and once they are gone the gateway's goroutines return to
// their baseline (nothing leaks per connection). It does not run in
// parallel: it counts the process's goroutines.
func TestHandshakeFlood(t *testing.T) {
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.HandshakeTimeout = durationpb.New(time.Second)
	}))
	alice := g.as(t, "alice")
	if _, err := forward(t, alice, get("demo.internal", "/warm")); err != nil {
		t.Fatal(err)
	}
	baseline := runtime.NumGoroutine()

	var flood sync.WaitGroup
	for i := range 60 {
		flood.Add(1)
		go func() {
			defer flood.Done()
			c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			// The client's own deadline is only a backstop, far beyond the
			// handshake timeout: running into it means the gateway never
			// closed the connection.
			_ = c.SetDeadline(time.Now().Add(waitFor))
			switch i % 3 {
			case 0: // silent
			case 1: // garbage
				junk := make([]byte, 512)
				_, _ = rand.Read(junk)
				_, _ = c.Write(junk)
			case 2: // a TLS record header that promises more than ever comes
				_, _ = c.Write([]byte{0x16, 0x03, 0x01, 0x40, 0x00, 0x01})
			}
			// Until the gateway closes it: EOF, a reset, or an alert then EOF.
			_, err = io.Copy(io.Discard, c)
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				t.Errorf("flood connection %d (kind %d): still open at the client's deadline; the gateway never closed it", i, i%3)
			}
		}()
	}
	var served atomic.Int64
	for range 20 {
		if _, err := forward(t, alice, get("demo.internal", "/during")); err != nil {
			t.Fatalf("a real client failed during the flood: %v", err)
		}
		served.Add(1)
	}
	bobConn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(g.clientConf(t, "bob"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forward(t, gatewayv1.NewGatewayServiceClient(bobConn), get("demo.internal", "/new-connection")); err != nil {
		t.Fatalf("a new client failed during the flood: %v", err)
	}
	bobConn.Close()
	flood.Wait() // every flood connection was closed by the gateway
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > baseline+2 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d, baseline %d: the flood left goroutines behind", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
