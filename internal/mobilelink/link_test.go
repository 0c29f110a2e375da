package mobilelink_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/mobilelink"
)

// waitLong bounds waits that only time out when the code under test hangs.
const waitLong = 30 * time.Second

// echoTarget is a TCP server that echoes every byte back and keeps its
// accepted connections, so a test can close them from the target's side.
type echoTarget struct {
	lis   net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startEcho(t *testing.T) *echoTarget {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoTarget{lis: lis}
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, c := range e.conns {
			c.Close()
		}
	})
	return e
}

func (e *echoTarget) conn(i int) net.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conns[i]
}

func startLink(t *testing.T, cfg mobilelink.Config) *mobilelink.Link {
	t.Helper()
	l, err := mobilelink.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t *testing.T, l *mobilelink.Link) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange writes msg and reads it back, returning how long that took.
func exchange(t *testing.T, c net.Conn, msg []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the echo differs from what was sent")
	}
	return time.Since(start)
}

// The link never delivers early: a lower bound on elapsed time is what the
// emulation promises, whatever the machine's load.
func TestRoundTripAndHandshake(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	const rtt, jitter = 200 * time.Millisecond, 40 * time.Millisecond
	l := startLink(t, mobilelink.Config{Target: echo.lis.Addr().String(), RTT: mobilelink.Duration(rtt), Jitter: mobilelink.Duration(jitter)})
	c := dial(t, l)
	if d := exchange(t, c, []byte("hello")); d < 2*rtt-jitter {
		t.Errorf("first exchange took %v, want at least two round trips (%v): the TCP handshake and the echo", d, 2*rtt)
	}
	for range 3 {
		if d := exchange(t, c, []byte("again")); d < rtt-jitter {
			t.Errorf("exchange took %v, want at least the round trip %v", d, rtt)
		}
	}
}

func TestRatesAreSharedAndDirectional(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	const down = 4_000_000 // bit/s
	l := startLink(t, mobilelink.Config{Target: echo.lis.Addr().String(), DownlinkBPS: down})
	payload := bytes.Repeat([]byte("x"), 256<<10)
	// Two connections at once share the downlink: together they cannot
	// beat its rate.
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		c := dial(t, l)
		wg.Go(func() {
			if _, err := c.Write(payload); err != nil {
				t.Error(err)
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(waitLong))
			if _, err := io.ReadFull(c, make([]byte, len(payload))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	want := time.Duration(2 * int64(len(payload)) * 8 * int64(time.Second) / down)
	if d := time.Since(start); d < want-50*time.Millisecond {
		t.Errorf("512 KiB through a %d bit/s downlink took %v, want at least %v", down, d, want)
	}
	if s := l.Stats(); s.UpBytes != 2*int64(len(payload)) || s.DownBytes != 2*int64(len(payload)) {
		t.Errorf("stats up %d down %d, want %d each", s.UpBytes, s.DownBytes, 2*len(payload))
	}
}

func TestNetworkChangeSilencesOnlyOpenConnections(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	l := startLink(t, mobilelink.Config{Target: echo.lis.Addr().String(), RTT: mobilelink.Duration(20 * time.Millisecond)})
	old := dial(t, l)
	exchange(t, old, []byte("before"))
	if n := l.NetworkChange(); n != 1 {
		t.Fatalf("NetworkChange silenced %d connections, want 1", n)
	}
	if _, err := old.Write([]byte("lost")); err != nil {
		t.Fatalf("a write into the old network fails (%v); it must vanish silently", err)
	}
	// A connection made after the change works; by the time its echo is
	// back, the old connection's bytes would have been too.
	exchange(t, dial(t, l), []byte("new network"))
	// The gateway's side of the old connection closes (its keepalive gave
	// up): the phone must not learn that either.
	echo.conn(0).Close()
	_ = old.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := old.Read(make([]byte, 16))
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Fatalf("old connection: read %d bytes, err %v; want silence (a timeout)", n, err)
	}
	s := l.Stats()
	if s.Silenced != 1 || s.Accepted != 2 || len(s.Conns) != 2 || !s.Conns[0].Silenced || s.Conns[1].Silenced {
		t.Errorf("stats = %+v, want 2 accepted, the first silenced", s)
	}
	if got := s.Conns[0].UpBytes; got != int64(len("before")) {
		t.Errorf("old connection delivered %d bytes up, want only the %d before the change", got, len("before"))
	}
}

func TestNATIdleTimeoutBlackholesIdleConnections(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	const natIdle = 300 * time.Millisecond
	l := startLink(t, mobilelink.Config{Target: echo.lis.Addr().String(), NATIdleTimeout: mobilelink.Duration(natIdle)})
	busy, idle := dial(t, l), dial(t, l)
	exchange(t, idle, []byte("hi"))
	// Keep one connection busy across the timeout; the other stays idle.
	deadline := time.Now().Add(2 * natIdle)
	for time.Now().Before(deadline) {
		exchange(t, busy, []byte("tick"))
		time.Sleep(natIdle / 5)
	}
	if _, err := idle.Write([]byte("after the NAT forgot")); err != nil {
		t.Fatal(err)
	}
	exchange(t, busy, []byte("still mapped"))
	_ = idle.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := idle.Read(make([]byte, 32)); !isTimeout(err) {
		t.Fatalf("idle connection: read %d bytes, err %v; want silence", n, err)
	}
	if s := l.Stats(); s.Silenced != 1 {
		t.Errorf("silenced = %d, want 1 (the idle connection)", s.Silenced)
	}
}

func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func TestTargetDownClosesTheClient(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there any more
	l := startLink(t, mobilelink.Config{Target: addr, RTT: mobilelink.Duration(10 * time.Millisecond)})
	c := dial(t, l)
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read = %v, want the connection closed", err)
	}

	// Pointing the link at a live target fixes new connections.
	echo := startEcho(t)
	cfg := l.Config()
	cfg.Target = echo.lis.Addr().String()
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	exchange(t, dial(t, l), []byte("up again"))
}

func TestControlEndpoint(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	l := startLink(t, mobilelink.Config{Target: echo.lis.Addr().String()})
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	c := dial(t, l)
	exchange(t, c, []byte("x"))

	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	code, m := post("/config", `{"rtt":"150ms","jitter":"20ms","uplink_bps":1000000,"downlink_bps":5000000,"nat_idle_timeout":"2s"}`)
	if code != http.StatusOK || m["rtt"] != "150ms" || m["nat_idle_timeout"] != "2s" || m["target"] != echo.lis.Addr().String() {
		t.Fatalf("POST /config = %d %v", code, m)
	}
	if got := l.Config(); time.Duration(got.RTT) != 150*time.Millisecond || got.DownlinkBPS != 5_000_000 {
		t.Errorf("config after POST = %+v", got)
	}
	code, m = post("/config", `{"rtt":"150ms","target":"10.0.0.1:443"}`)
	if code != http.StatusBadRequest || m["field"] != "target" {
		t.Errorf("POST /config with a non-loopback target = %d %v, want 400 naming target", code, m)
	}
	if got := l.Config(); got.Target != echo.lis.Addr().String() {
		t.Errorf("a refused config changed the target to %q", got.Target)
	}
	code, m = post("/network-change", "")
	if code != http.StatusOK || m["silenced"] != float64(1) {
		t.Errorf("POST /network-change = %d %v, want 1 silenced", code, m)
	}
	resp, err := http.Get(srv.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s mobilelink.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Accepted != 1 || s.Silenced != 1 || s.UpBytes != 1 || s.DownBytes != 1 {
		t.Errorf("GET /stats = %+v", s)
	}
	if resp, err := http.Get(srv.URL + "/network-change"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /network-change = %v %v, want 405", resp.StatusCode, err)
	}
}

func TestResetResetsBothEnds(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	l := startLink(t, mobilelink.Config{Target: echo.lis.Addr().String()})
	c := dial(t, l)
	exchange(t, c, []byte("x"))
	if n := l.Reset(); n != 1 {
		t.Fatalf("Reset = %d, want 1", n)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("client read after Reset = %v, want the connection reset", err)
	}
	target := echo.conn(0)
	_ = target.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := target.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("target read after Reset = %v, want the connection reset", err)
	}
	exchange(t, dial(t, l), []byte("new connections work"))
}
