package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/h2attack"
	"github.com/msg-gateway/msg/server"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	forwardMethod = "/msg.gateway.v1.GatewayService/Forward"
	streamMethod  = "/msg.gateway.v1.GatewayService/ForwardStream"
)

var gzipEncoding = hpack.HeaderField{Name: "grpc-encoding", Value: "gzip"}

// attacker opens a raw HTTP/2 connection with cn's certificate.
func (g *gateway) attacker(t *testing.T, cn string, settings ...http2.Setting) *h2attack.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h2attack.Dial(ctx, g.addr, g.clientConf(t, cn), settings...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stream is one call an attacker opened.
type stream struct {
	c  *h2attack.Conn
	id uint32
}

// outcome waits (generously) for how s ended.
func (s stream) outcome(t *testing.T) h2attack.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := s.c.Wait(ctx, s.id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bombRequest is a gzip-compressed ForwardRequest whose body is n zero
// bytes: about n/1000 bytes on the wire.
func bombRequest(t *testing.T, n int) []byte {
	head := mustMarshal(t, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/bomb"})
	head = protowire.AppendTag(head, 5, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(n))
	return h2attack.GzipBomb(head, n)
}

// liveHeapMiB collects garbage and returns the live heap.
func liveHeapMiB() float64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}

// waitGoroutines waits until the process is back to at most baseline+slack
// goroutines.
func waitGoroutines(t *testing.T, baseline, slack int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > baseline+slack {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d, baseline %d: the attack left goroutines behind", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCompressedRequestsRefused: gzip bombs (16 KiB that inflate to almost
// 16 MiB, under limits.max_message_bytes) from a certificate the policy
// denies are refused with Unimplemented before gRPC inflates them, and the
// heap stays flat; the same for an allowed caller, for ForwardStream, and
// for the admin listener's gRPC server, before any credential is checked.
// It does not run in parallel: it measures the process's heap.
func TestCompressedRequestsRefused(t *testing.T) {
	g := startGateway(t, nil)
	bomb := bombRequest(t, 16<<20-64<<10)
	heap := startPeakHeap()
	var sent []stream
	for range 4 {
		c := g.attacker(t, "mallory")
		for range 25 {
			id, err := c.Headers(forwardMethod, false, gzipEncoding)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Message(id, true, bomb, true); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, stream{c, id})
		}
	}
	codesSeen := map[int]int{}
	for _, s := range sent {
		codesSeen[s.outcome(t).GRPCStatus]++
	}
	growth := heap.growthMiB()
	if codesSeen[int(codes.Unimplemented)] != len(sent) {
		t.Errorf("%d gzip bombs ended with grpc-status %v, want all Unimplemented (%d)", len(sent), codesSeen, codes.Unimplemented)
	}
	if growth > 64 {
		t.Errorf("the heap grew by %.0f MiB under %d gzip bombs of 16 MiB, want under 64 MiB", growth, len(sent))
	}
	t.Logf("%d gzip bombs of %d bytes (16 MiB inflated): peak heap growth %.1f MiB", len(sent), len(bomb), growth)

	small := bombRequest(t, 10)
	alice := g.attacker(t, "alice")
	for _, m := range []string{forwardMethod, streamMethod} {
		id, err := alice.Headers(m, false, gzipEncoding)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.Message(id, true, small, true); err != nil {
			t.Fatal(err)
		}
		if o := (stream{alice, id}).outcome(t); o.GRPCStatus != int(codes.Unimplemented) {
			t.Errorf("%s from alice, compressed: %+v, want Unimplemented", m, o)
		}
	}

	// The admin listener (plain HTTP/2 here), without any credential.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm, err := h2attack.Dial(ctx, g.adminAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	id, err := adm.Headers("/msg.admin.v1.AdminService/GetStatus", false, gzipEncoding)
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.Message(id, true, h2attack.GzipBomb(nil, 1<<20), true); err != nil {
		t.Fatal(err)
	}
	if o := (stream{adm, id}).outcome(t); o.GRPCStatus != int(codes.Unimplemented) {
		t.Errorf("admin GetStatus, compressed, no token: %+v, want Unimplemented", o)
	}
	g.waitMetric(t, float64(len(sent)+2), "msg_calls_refused_total", "reason", "compressed")
	if n := len(g.log.all()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

// TestUnreadResponsesDropped: a client that sets SETTINGS_INITIAL_WINDOW_SIZE
// to 0 and asks for large Forward responses cannot make the gateway hold
// them: each call stays in flight until its response has been written, so
// the principal's in-flight cap holds over both of its connections although
// the handlers returned long ago, and a connection that does not take its
// responses within limits.response_write_timeout is closed, which frees
// them. Another principal is served meanwhile. It does not run in parallel:
// it measures the process's heap.
func TestUnreadResponsesDropped(t *testing.T) {
	const size, inFlight = 2 << 20, 8
	big := bytes.Repeat([]byte("r"), size)
	g := startGatewayWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, _ = w.Write(big)
	}, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Limits.MaxInFlightPerIdentity = inFlight
		// Long enough that no admitted call's connection is closed (and its
		// slots freed) before the attacker has sent all 40 calls, on a
		// loaded box too; with 2 s, a second connection's late calls were
		// admitted into the freed slots.
		c.Limits.ResponseWriteTimeout = durationpb.New(10 * time.Second)
		c.Hosts[0].MaxResponseBodyBytes = 4 << 20
	})
	bob := g.as(t, "bob")
	if _, err := forward(t, bob, get("demo.internal", "/warm")); err != nil {
		t.Fatal(err)
	}
	g.log.reset()
	base := liveHeapMiB()

	req := mustMarshal(t, get("demo.internal", "/big"))
	var conns []*h2attack.Conn
	var sent []stream
	for range 2 {
		c := g.attacker(t, "alice", http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		conns = append(conns, c)
		for range 20 {
			id, err := c.Headers(forwardMethod, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Message(id, false, req, true); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, stream{c, id})
		}
	}
	// The calls over the cap are refused at once (trailers need no window);
	// a connection that holds an admitted call's unsent response is closed.
	closed := func(c *h2attack.Conn) bool {
		select {
		case <-c.Closed():
			return true
		default:
			return false
		}
	}
	if _, err := forward(t, bob, get("demo.internal", "/during")); err != nil {
		t.Errorf("bob during the attack: %v", err)
	}
	closedConns := 0
	for _, c := range conns {
		eventually(t, "every call refused or its connection closed", 30*time.Second, func() bool {
			return c.Ended() == 20 || closed(c)
		})
		if closed(c) {
			closedConns++
		}
	}
	if closedConns == 0 {
		t.Fatal("no connection that never opened its window was closed")
	}
	refused := 0
	for _, s := range sent {
		if o, ok := s.c.Outcome(s.id); ok && o.GRPCStatus == int(codes.ResourceExhausted) {
			refused++
		}
	}
	if refused != len(sent)-inFlight {
		t.Errorf("%d calls refused with ResourceExhausted, want %d", refused, len(sent)-inFlight)
	}
	alices := 0
	for _, r := range g.log.all() {
		if strings.HasSuffix(r.URL.Path, "/big") {
			alices++
		}
	}
	if alices != inFlight {
		t.Errorf("the upstream saw %d of alice's calls, want %d (limits.max_in_flight_per_identity): unsent responses must hold their slot", alices, inFlight)
	}
	g.waitMetric(t, float64(closedConns), "msg_connections_closed_total", "reason", "response_write_timeout")
	var after float64
	deadline := time.Now().Add(20 * time.Second)
	for after = liveHeapMiB(); after > base+size/(1<<20); after = liveHeapMiB() {
		if time.Now().After(deadline) {
			t.Fatalf("live heap %.1f MiB after the connections closed, %.1f MiB before the attack: responses still held", after, base)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("live heap %.1f MiB before the attack, %.1f MiB after", base, after)
	if _, err := forward(t, g.as(t, "alice"), get("demo.internal", "/after")); err != nil {
		t.Errorf("alice after the dropped connections: %v (her in-flight slots must be free)", err)
	}
}

// TestHeldStreamsEnded: calls that send their headers and never their
// first message (Forward and ForwardStream alike) end with DeadlineExceeded
// after limits.first_message_timeout, one principal cannot hold more of
// them than its in-flight cap, all principals together no more than
// limits.max_pending_streams (beyond: ResourceExhausted before any
// goroutine starts), a legitimate caller is served meanwhile, and the
// goroutines return to their baseline. It does not run in parallel: it
// counts the process's goroutines.
func TestHeldStreamsEnded(t *testing.T) {
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.FirstMessageTimeout = durationpb.New(3 * time.Second)
		l.MaxInFlightPerIdentity = 30
		l.MaxPendingStreams = 60
	}))
	alice := g.as(t, "alice")
	if _, err := forward(t, alice, get("demo.internal", "/warm")); err != nil {
		t.Fatal(err)
	}
	baseline := runtime.NumGoroutine()

	hold := func(legit bool, cns ...string) map[int]int {
		var sent []stream
		for _, cn := range cns {
			for range 2 {
				c := g.attacker(t, cn)
				for i := range 20 {
					m := forwardMethod
					if i%2 == 1 {
						m = streamMethod
					}
					id, err := c.Headers(m, false)
					if err != nil {
						t.Fatal(err)
					}
					sent = append(sent, stream{c, id})
				}
			}
		}
		// Meanwhile, a caller within its budgets is served, as long as the
		// attackers' principals together stay under max_pending_streams.
		if legit {
			if _, err := forward(t, alice, get("demo.internal", "/during")); err != nil {
				t.Errorf("alice while %v hold streams: %v", cns, err)
			}
		}
		seen := map[int]int{}
		for _, s := range sent {
			seen[s.outcome(t).GRPCStatus]++
		}
		return seen
	}

	// One principal, 40 held calls over two connections: 30 wait until the
	// timeout, 10 are refused at once.
	seen := hold(true, "mallory")
	if seen[int(codes.DeadlineExceeded)] != 30 || seen[int(codes.ResourceExhausted)] != 10 {
		t.Errorf("one principal's 40 held calls ended with %v, want 30 DeadlineExceeded and 10 ResourceExhausted", seen)
	}
	// Three principals, 120 held calls: at most 60 wait, the others are
	// refused.
	seen = hold(false, "eve", "trudy", "oscar")
	if seen[int(codes.DeadlineExceeded)]+seen[int(codes.ResourceExhausted)] != 120 || seen[int(codes.ResourceExhausted)] < 60 {
		t.Errorf("120 held calls of three principals ended with %v, want all DeadlineExceeded or ResourceExhausted, at least 60 of them refused", seen)
	}
	g.waitMetric(t, 0, "msg_pending_streams")
	waitGoroutines(t, baseline, 40) // the attackers' own readers and connections
	if n := len(g.log.all()); n != 2 {
		t.Errorf("upstream saw %d requests, want alice's 2", n)
	}
}

// TestHTTP2FloodsCloseConnection: a SETTINGS flood and a rapid reset flood
// (HEADERS then RST_STREAM, over and over) each end the offending
// connection long before the attacker runs out of frames, while a
// legitimate client on another connection is served.
func TestHTTP2FloodsCloseConnection(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	alice := g.as(t, "alice")
	if _, err := forward(t, alice, get("demo.internal", "/before")); err != nil {
		t.Fatal(err)
	}
	const frames = 300_000
	tests := []struct {
		name, reason string
		flood        func(c *h2attack.Conn) (int, error)
	}{
		{"settings", "settings_flood", func(c *h2attack.Conn) (int, error) { return c.SettingsFlood(frames) }},
		{"rapid reset", "reset_flood", func(c *h2attack.Conn) (int, error) { return c.RapidReset(forwardMethod, frames) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := g.attacker(t, "mallory")
			done := make(chan int, 1)
			go func() {
				n, _ := tt.flood(c)
				done <- n
			}()
			select {
			case <-c.Closed():
			case <-time.After(30 * time.Second):
				t.Fatalf("%s flood: the connection is still open", tt.name)
			}
			n := <-done
			if n >= frames {
				t.Errorf("%s flood: the attacker sent all %d frames", tt.name, n)
			}
			if ga := c.GoAway(); ga == nil || ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
				t.Logf("%s flood: GOAWAY %v (the connection was closed without one)", tt.name, ga)
			}
			t.Logf("%s flood: closed after the attacker had written %d frames", tt.name, n)
			g.waitMetric(t, 1, "msg_connections_closed_total", "reason", tt.reason)
			if _, err := forward(t, alice, get("demo.internal", "/after-"+tt.reason)); err != nil {
				t.Errorf("alice after the %s flood: %v", tt.name, err)
			}
		})
	}
}

// floodSockets is how many silent sockets TestSilentSocketFlood opens:
// MSG_TEST_FLOOD_SOCKETS, default 600 (small enough for CI).
func floodSockets(t *testing.T) int {
	n := 600
	if v := os.Getenv("MSG_TEST_FLOOD_SOCKETS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("MSG_TEST_FLOOD_SOCKETS=%q: want a positive number", v)
		}
	}
	return n
}

// TestSilentSocketFlood: TCP connections that never send a TLS byte, from
// several source addresses and more of them than limits.max_connections,
// hold only their share of the handshake budget (the rest are closed at
// once), so established and new legitimate connections keep being served;
// once they are gone, no goroutine is left behind. It does not run in
// parallel: it counts the process's goroutines.
func TestSilentSocketFlood(t *testing.T) {
	const sources, perSource = 4, 32
	n := floodSockets(t)
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxConnections = uint32(n*2/3 + 1)
		l.MaxHandshakes = 200
		l.MaxHandshakesPerSource = perSource
		l.HandshakeTimeout = durationpb.New(time.Minute)
	}))
	alice := g.as(t, "alice")
	if _, err := forward(t, alice, get("demo.internal", "/warm")); err != nil {
		t.Fatal(err)
	}
	baseline := runtime.NumGoroutine()

	var mu sync.Mutex
	var flood []net.Conn
	var wg sync.WaitGroup
	for s := range sources {
		local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+s))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
			for range n / sources {
				c, err := d.Dial("tcp", g.addr)
				if err != nil {
					t.Errorf("flood dial from %v: %v", local, err)
					return
				}
				mu.Lock()
				flood = append(flood, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	eventually(t, "the flood's sockets in their handshakes", 30*time.Second, func() bool {
		v, _ := metricValue(g.scrape(t), "msg_tls_handshakes_in_progress")
		return v >= sources*perSource
	})
	// Established and new connections are served during the flood.
	for i := range 5 {
		if _, err := forward(t, alice, get("demo.internal", "/established")); err != nil {
			t.Fatalf("an established client during the flood: %v", err)
		}
		conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(g.clientConf(t, "bob"))))
		if err != nil {
			t.Fatal(err)
		}
		_, err = forward(t, gatewayv1.NewGatewayServiceClient(conn), get("demo.internal", fmt.Sprintf("/new-%d", i)))
		conn.Close()
		if err != nil {
			t.Fatalf("a new client during the flood: %v", err)
		}
	}
	over := float64(len(flood) - sources*perSource)
	eventually(t, "the flood's sockets over the per-source budget closed at accept", 30*time.Second, func() bool {
		v, _ := metricValue(g.scrape(t), "msg_connections_refused_total", "reason", "handshakes_per_source")
		return v >= over
	})
	if v, _ := metricValue(g.scrape(t), "msg_tls_handshakes_in_progress"); v > sources*perSource {
		t.Errorf("%v handshakes in progress, want at most %d", v, sources*perSource)
	}
	for _, c := range flood {
		c.Close()
	}
	g.waitMetric(t, 0, "msg_tls_handshakes_in_progress")
	waitGoroutines(t, baseline, 4)
}

// TestPendingBytesBudget: partial first messages (the request is held
// before its caller is authorized) count against limits.max_pending_bytes
// over all connections; past it, the connection holding the most is
// closed, the others and legitimate callers go on.
func TestPendingBytesBudget(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, withLimits(func(l *configv1.Limits) {
		l.MaxMessageBytes = 1 << 20
		l.MaxPendingBytes = 2 << 20
	}))
	alice := g.as(t, "alice")
	if _, err := forward(t, alice, get("demo.internal", "/warm")); err != nil {
		t.Fatal(err)
	}
	// A gRPC message that announces 1 MiB and delivers 600 KiB of it.
	partial := make([]byte, 5+600<<10)
	partial[2] = 0x10 // length 1 MiB: 00 00 10 00 00
	send := func(c *h2attack.Conn, streams int) {
		for range streams {
			id, err := c.Headers(forwardMethod, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Data(id, partial, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	big := g.attacker(t, "mallory")
	send(big, 3)
	eventually(t, "1.8 MiB pending", 10*time.Second, func() bool {
		v, _ := metricValue(g.scrape(t), "msg_pending_bytes")
		return v >= 3*600<<10
	})
	small := g.attacker(t, "eve")
	send(small, 1)
	select {
	case <-big.Closed():
	case <-time.After(30 * time.Second):
		t.Fatal("the connection holding the most pending bytes is still open past limits.max_pending_bytes")
	}
	g.waitMetric(t, 1, "msg_connections_closed_total", "reason", "pending_bytes")
	select {
	case <-small.Closed():
		t.Error("the smaller holder's connection was closed too")
	default:
	}
	if _, err := forward(t, alice, get("demo.internal", "/during")); err != nil {
		t.Errorf("alice after the shedding: %v", err)
	}
	if v, _ := metricValue(g.scrape(t), "msg_pending_bytes"); v > 2<<20 {
		t.Errorf("msg_pending_bytes = %v after the shedding, want at most the budget", v)
	}
}
