package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/mobilelink"
)

// The tests in this file run the transport over an emulated mobile link
// (internal/mobilelink) to a fake gateway. Times are scaled down where the
// real ones would make the suite slow: NAT timeouts of a second or two
// instead of 30s.

// phoneGateway is a fake gateway whose answers depend on the path:
// /slow/... answers only the second time a request (named by its X-Seq
// header) arrives, and blocks the first time until the call ends; /limit/...
// refuses the first arrival with ResourceExhausted and a RetryInfo of
// 300ms; everything else answers at once. It counts the arrivals.
type phoneGateway struct {
	*testGateway
	mu       sync.Mutex
	arrivals map[string]int
	headers  map[string][]*gatewayv1.Header
	seen     chan string // every arrival's X-Seq
}

func startPhoneGateway(t *testing.T) *phoneGateway {
	t.Helper()
	g := &phoneGateway{arrivals: map[string]int{}, headers: map[string][]*gatewayv1.Header{}, seen: make(chan string, 100)}
	g.testGateway = startGateway(t, gatewaySetup{handle: g.handle})
	return g
}

func (g *phoneGateway) handle(ctx context.Context, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	seq := ""
	for _, h := range req.GetHeaders() {
		if h.GetName() == "X-Seq" {
			seq = h.GetValue()
		}
	}
	g.mu.Lock()
	g.arrivals[seq]++
	n := g.arrivals[seq]
	g.headers[seq] = req.GetHeaders()
	g.mu.Unlock()
	g.seen <- seq
	switch {
	case strings.HasPrefix(req.GetPath(), "/slow/") && n == 1:
		<-ctx.Done()
		return nil, ctx.Err()
	case strings.HasPrefix(req.GetPath(), "/limit/") && n == 1:
		st, _ := status.New(codes.ResourceExhausted, "rate limit exceeded").WithDetails(
			&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: "msg.gateway"},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(300 * time.Millisecond)})
		return nil, st.Err()
	}
	return &gatewayv1.ForwardResponse{StatusCode: 200, Body: []byte("ok " + seq)}, nil
}

func (g *phoneGateway) count(seq string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.arrivals[seq]
}

// waitArrival waits until the request seq has reached the gateway.
func (g *phoneGateway) waitArrival(t *testing.T, seq string) {
	t.Helper()
	deadline := time.After(waitLong)
	for g.count(seq) == 0 {
		select {
		case <-g.seen:
		case <-deadline:
			t.Fatalf("request %s never reached the gateway", seq)
		}
	}
}

// phone is a transport to g over an emulated mobile link.
func phone(t *testing.T, g *phoneGateway, cfg mobilelink.Config, opts ...client.Option) (*client.Transport, *mobilelink.Link) {
	t.Helper()
	cfg.Target = g.Addr
	link, err := mobilelink.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	base := []client.Option{client.WithCertificate(g.ClientCert), client.WithRootCAs(g.CA.Pool())}
	tr, err := client.New(link.Addr(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, link
}

// send makes one request and returns its body or error.
func send(ctx context.Context, tr http.RoundTripper, method, path, seq string, header http.Header) (string, error) {
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader("payload " + seq)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://demo.internal"+path, body)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("X-Seq", seq)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

type result struct {
	body string
	err  error
	took time.Duration
}

// sendAsync starts send in a goroutine with its own deadline.
func sendAsync(tr http.RoundTripper, timeout time.Duration, method, path, seq string, header http.Header) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		body, err := send(ctx, tr, method, path, seq, header)
		ch <- result{body, err, time.Since(start)}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(2 * waitLong):
		t.Fatal("the request never ended")
		return result{}
	}
}

var phoneLink = mobilelink.Config{RTT: mobilelink.Duration(40 * time.Millisecond), Jitter: mobilelink.Duration(10 * time.Millisecond)}

// TestNetworkChangedMovesWaitingCalls: after NetworkChanged the next
// request goes out on a new connection, which resumes the TLS session; calls
// that waited on the old connection and may be sent twice (a GET, a POST
// with an Idempotency-Key) move to the new one at once; a plain POST stays
// where it was sent and is never sent twice.
func TestNetworkChangedMovesWaitingCalls(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	tr, link := phone(t, g, phoneLink)
	if _, err := send(t.Context(), tr, "GET", "/warm", "warm", nil); err != nil {
		t.Fatal(err)
	}
	if hs := client.LastHandshake(tr); hs == nil || hs.DidResume {
		t.Fatalf("first handshake %+v, want a full one", hs)
	}

	// Deadlines shorter than the keepalive's 15s+10s: only moving saves
	// the calls that may move.
	get := sendAsync(tr, 10*time.Second, "GET", "/slow/get", "get", nil)
	keyed := sendAsync(tr, 10*time.Second, "POST", "/slow/keyed", "keyed", http.Header{"Idempotency-Key": nil})
	post := sendAsync(tr, 3*time.Second, "POST", "/slow/post", "post", nil)
	for _, seq := range []string{"get", "keyed", "post"} {
		g.waitArrival(t, seq)
	}
	link.NetworkChange()
	tr.NetworkChanged()

	if r := await(t, get); r.err != nil || r.body != "ok get" {
		t.Errorf("GET waiting at the change: %q, %v; want it answered on the new connection", r.body, r.err)
	}
	if r := await(t, keyed); r.err != nil || r.body != "ok keyed" {
		t.Errorf("POST with Idempotency-Key waiting at the change: %q, %v; want it answered on the new connection", r.body, r.err)
	}
	r := await(t, post)
	if r.err == nil || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("plain POST waiting at the change: %q, %v; want its deadline to pass on the old connection", r.body, r.err)
	}
	for seq, want := range map[string]int{"get": 2, "keyed": 2, "post": 1} {
		if got := g.count(seq); got != want {
			t.Errorf("request %s reached the gateway %d times, want %d", seq, got, want)
		}
	}
	for _, h := range g.headers["keyed"] {
		if strings.EqualFold(h.GetName(), "Idempotency-Key") {
			t.Errorf("a nil Idempotency-Key was sent as %q; it only marks the request", h.GetValue())
		}
	}
	if body, err := send(t.Context(), tr, "GET", "/after", "after", nil); err != nil || body != "ok after" {
		t.Fatalf("request after the change: %q, %v", body, err)
	}
	if hs := client.LastHandshake(tr); hs == nil || !hs.DidResume {
		t.Errorf("the new connection's handshake %+v, want a resumed TLS session", hs)
	}
	if s := link.Stats(); s.Accepted != 2 || !s.Conns[0].Silenced {
		t.Errorf("link stats %+v, want 2 connections, the first silenced", s)
	}
}

// TestDeadConnectionNoticedWithoutTheApp: when the app does not report the
// network change, a call waiting in silence has the connection checked and
// moves to a new one once the check goes unanswered, long before its
// deadline.
func TestDeadConnectionNoticedWithoutTheApp(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	tr, link := phone(t, g, phoneLink)
	if _, err := send(t.Context(), tr, "GET", "/warm", "warm", nil); err != nil {
		t.Fatal(err)
	}
	// The deadline is shorter than the keepalive's 15s+10s: only the
	// health check can save the GET in time.
	const deadline = 12 * time.Second
	get := sendAsync(tr, deadline, "GET", "/slow/get", "get", nil)
	g.waitArrival(t, "get")
	changed := time.Now()
	link.NetworkChange()
	r := await(t, get)
	if r.err != nil || r.body != "ok get" {
		t.Fatalf("GET waiting at the change: %q, %v; want it moved to a new connection", r.body, r.err)
	}
	t.Logf("the waiting GET was answered %v after the network change (its deadline: %v)", time.Since(changed).Round(time.Millisecond), deadline)
	if s := link.Stats(); s.Accepted != 2 {
		t.Errorf("link accepted %d connections, want 2", s.Accepted)
	}
}

// TestTimedOutCallReplacesTheConnection: a call whose deadline passed with
// nothing arriving on its connection leaves the next call a new connection.
func TestTimedOutCallReplacesTheConnection(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	tr, link := phone(t, g, phoneLink)
	if _, err := send(t.Context(), tr, "GET", "/warm", "warm", nil); err != nil {
		t.Fatal(err)
	}
	link.NetworkChange()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err := send(ctx, tr, "POST", "/fast", "lost", nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("POST into the silenced connection: %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if body, err := send(ctx, tr, "POST", "/fast", "next", nil); err != nil || body != "ok next" {
		t.Fatalf("the next POST: %q, %v; want it answered on a new connection", body, err)
	}
	if g.count("lost") != 0 {
		t.Error("the POST sent into the silenced connection reached the gateway")
	}
}

// TestRetryAfterConnectionLoss: a connection reset before the answer sends
// an idempotent request again on a new connection; a POST fails with
// Unavailable and reaches the gateway once.
func TestRetryAfterConnectionLoss(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	tr, link := phone(t, g, phoneLink)
	if _, err := send(t.Context(), tr, "GET", "/warm", "warm", nil); err != nil {
		t.Fatal(err)
	}
	put := sendAsync(tr, waitLong, "PUT", "/slow/put", "put", nil)
	post := sendAsync(tr, waitLong, "POST", "/slow/post", "post", nil)
	g.waitArrival(t, "put")
	g.waitArrival(t, "post")
	link.Reset()
	if r := await(t, put); r.err != nil || r.body != "ok put" || g.count("put") != 2 {
		t.Errorf("PUT cut off by a reset: %q, %v, %d arrivals; want it sent again and answered", r.body, r.err, g.count("put"))
	}
	if r := await(t, post); client.CodeOf(r.err) != codes.Unavailable || g.count("post") != 1 {
		t.Errorf("POST cut off by a reset: %v (code %v), %d arrivals; want Unavailable and one arrival",
			r.err, client.CodeOf(r.err), g.count("post"))
	}
}

// TestRetryInfoIsHonoured: a refusal with a RetryInfo is sent again after
// the delay, within the caller's deadline, whatever the method (the gateway's
// limits refuse before relaying); a deadline too short for the delay gets
// the refusal at once.
func TestRetryInfoIsHonoured(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	tr, _ := phone(t, g, mobilelink.Config{})
	for _, method := range []string{"GET", "POST"} {
		start := time.Now()
		body, err := send(t.Context(), tr, method, "/limit/x", "limit-"+method, nil)
		if err != nil || body != "ok limit-"+method {
			t.Errorf("%s refused with RetryInfo: %q, %v; want it sent again and answered", method, body, err)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("%s was sent again after %v, before the gateway's 300ms", method, d)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := send(ctx, tr, "GET", "/limit/y", "short", nil)
	e, ok := errors.AsType[*client.Error](err)
	if !ok || e.Code != codes.ResourceExhausted || e.RetryAfter != 300*time.Millisecond || g.count("short") != 1 {
		t.Errorf("refusal with a deadline shorter than its RetryInfo: %v, %d arrivals; want the ResourceExhausted error with RetryAfter 300ms, not sent again",
			err, g.count("short"))
	}
}

// TestIdleTimeoutBeatsTheNAT: with the idle timeout below the NAT's, the
// transport closes an idle connection itself and the next request opens a
// new one, instead of meeting a connection the NAT forgot. Scaled down:
// NAT 2s, idle timeout 500ms.
func TestIdleTimeoutBeatsTheNAT(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	cfg := phoneLink
	cfg.NATIdleTimeout = mobilelink.Duration(2 * time.Second)
	tr, link := phone(t, g, cfg, client.WithIdleTimeout(500*time.Millisecond))
	if _, err := send(t.Context(), tr, "GET", "/warm", "warm", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the idle connection closed", func() bool { return link.Stats().Open == 0 })
	time.Sleep(time.Duration(cfg.NATIdleTimeout)) // idle past the NAT's timeout
	for _, method := range []string{"GET", "POST"} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		body, err := send(ctx, tr, method, "/fast", "after-"+method, nil)
		cancel()
		if err != nil || body != "ok after-"+method {
			t.Errorf("%s after the idle period: %q, %v", method, body, err)
		}
	}
	if s := link.Stats(); s.Silenced != 0 || s.Accepted != 2 {
		t.Errorf("link stats %+v, want a second connection and none blackholed", s)
	}
}

// TestNATDropNoticedBeforeSending: with no idle timeout, a GET sent on a
// connection the NAT forgot moves to a new one once a health check goes
// unanswered, and a POST is never sent on such a connection: after five
// seconds of silence the connection is checked first. Neither waits for its
// deadline. Scaled down: NAT 1s.
func TestNATDropNoticedBeforeSending(t *testing.T) {
	t.Parallel()
	g := startPhoneGateway(t)
	cfg := phoneLink
	cfg.NATIdleTimeout = mobilelink.Duration(time.Second)
	tr, link := phone(t, g, cfg, client.WithIdleTimeout(0))
	for i, tt := range []struct {
		method string
		idle   time.Duration
	}{
		{"GET", 1500 * time.Millisecond},  // past the NAT's timeout
		{"POST", 5500 * time.Millisecond}, // past the transport's trust in a silent connection
	} {
		if _, err := send(t.Context(), tr, "GET", "/warm", "warm", nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(tt.idle)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		start := time.Now()
		body, err := send(ctx, tr, tt.method, "/fast", "after-"+tt.method, nil)
		cancel()
		if err != nil || body != "ok after-"+tt.method {
			t.Errorf("%s after the NAT dropped the connection: %q, %v; want it answered on a new one", tt.method, body, err)
		}
		t.Logf("%s after the NAT drop took %v", tt.method, time.Since(start).Round(time.Millisecond))
		if s := link.Stats(); s.Silenced != i+1 {
			t.Errorf("link stats %+v, want %d connections blackholed by the NAT", s, i+1)
		}
	}
	if g.count("after-POST") != 1 {
		t.Errorf("the POST reached the gateway %d times, want once", g.count("after-POST"))
	}
}

// waitFor polls cond until it holds, failing the test after waitLong.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
