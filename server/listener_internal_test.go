package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/config"
	dto "github.com/prometheus/client_model/go"
)

// TestHandshakeBudget: over limits.max_handshakes in progress, or over
// limits.max_handshakes_per_source from one address, an accepted
// connection is closed at once; a slot frees when a handshake ends or its
// connection closes.
func TestHandshakeBudget(t *testing.T) {
	t.Parallel()
	cfg := &configv1.Config{}
	config.ApplyDefaults(cfg)
	m := newMetrics(cfg, "test")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis := dataListener(raw, 100, 3, 2, m, slog.New(slog.DiscardHandler))
	defer lis.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(src byte) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedAtOnce reports whether the gateway closed c without waiting for
	// a handshake.
	closedAtOnce := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout()) && (errors.Is(err, io.EOF) || err != nil)
	}
	take := func() *handshakingConn {
		t.Helper()
		select {
		case c := <-accepted:
			return c.(*handshakingConn)
		case <-time.After(5 * time.Second):
			t.Fatal("no connection accepted")
			return nil
		}
	}
	a1, a2 := dial(2), dial(2)
	h1, _ := take(), take()
	if !closedAtOnce(dial(2)) {
		t.Error("a third handshake from 127.0.0.2 was not closed at once (per source: 2)")
	}
	dial(3)
	h3 := take()
	if !closedAtOnce(dial(4)) {
		t.Error("a fourth handshake in progress was not closed at once (max: 3)")
	}
	if got := m.handshakesInProcess(); got != 3 {
		t.Errorf("%d handshakes in progress, want 3", got)
	}
	h1.handshakeDone() // finished: its slot frees, the connection stays
	h1.handshakeDone() // idempotent
	dial(2)
	take()
	_ = h3.Close() // a connection that closes mid-handshake frees its slot
	dial(4)
	take()
	for _, reason := range refusedConnReasons {
		var d dto.Metric
		if err := m.connectionsRefused.WithLabelValues(reason).Write(&d); err != nil || d.GetCounter().GetValue() != 1 {
			v := d.GetCounter().GetValue()
			t.Errorf("msg_connections_refused_total{reason=%q} = %v, want 1", reason, v)
		}
	}
	_, _ = a1, a2
}

func TestSourceOf(t *testing.T) {
	t.Parallel()
	addr := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	same := [][2]string{
		{"192.0.2.1:1", "192.0.2.1:2"},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1:2"},
		{"[2001:db8::1]:1", "[2001:db8::ffff:2]:2"},
	}
	for _, p := range same {
		if sourceOf(addr(p[0])) != sourceOf(addr(p[1])) {
			t.Errorf("%s and %s have different sources, want the same", p[0], p[1])
		}
	}
	differ := [][2]string{
		{"192.0.2.1:1", "192.0.2.2:1"},
		{"[2001:db8::1]:1", "[2001:db8:0:1::1]:1"},
	}
	for _, p := range differ {
		if sourceOf(addr(p[0])) == sourceOf(addr(p[1])) {
			t.Errorf("%s and %s share a source, want different ones", p[0], p[1])
		}
	}
}
