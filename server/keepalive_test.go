package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/msg-gateway/msg/client"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/mobilelink"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
)

// withKeepalive sets the keepalive settings that k sets, and gives
// demo.internal a timeout that outlasts the test's silent calls.
func withKeepalive(k *configv1.Keepalive) func(*configv1.Config) {
	return func(c *configv1.Config) {
		proto.Merge(c.Keepalive, k)
		c.Hosts[0].Timeout = durationpb.New(2 * time.Minute)
	}
}

// hangUpstream answers /hang... only when the request is cancelled (and
// then reports it), /silent... after silentFor, and anything else at once.
func hangUpstream(cancelled chan<- struct{}, silentFor time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/hang"):
			<-r.Context().Done()
			cancelled <- struct{}{}
		case strings.Contains(r.URL.Path, "/silent"):
			select {
			case <-time.After(silentFor):
				_, _ = io.WriteString(w, "finally")
			case <-r.Context().Done():
			}
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}
}

// TestGatewayDropsVanishedClients: a client whose network goes silent in the
// middle of a call (a phone that left its network) is noticed by the
// gateway's pings: the connection closes, msg_grpc_open_connections drops
// and the upstream request is cancelled. Scaled down: ping after 1s of
// silence, give up 1s later (the defaults are 30s and 20s).
func TestGatewayDropsVanishedClients(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{}, 1)
	const interval, timeout = time.Second, time.Second
	g := startGatewayWith(t, hangUpstream(cancelled, 0), server.Options{DrainTimeout: time.Second},
		withKeepalive(&configv1.Keepalive{PingInterval: durationpb.New(interval), PingTimeout: durationpb.New(timeout)}))
	link, err := mobilelink.Listen("127.0.0.1:0", mobilelink.Config{Target: g.addr, RTT: mobilelink.Duration(20 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })

	conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(t, "alice")}, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(link.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	gw := gatewayv1.NewGatewayServiceClient(conn)
	go func() {
		_, _ = gw.Forward(context.Background(), get("demo.internal", "/hang"))
	}()
	g.waitMetric(t, 1, "msg_grpc_open_connections")
	deadline := time.Now().Add(waitGateway)
	for len(g.log.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(g.log.all()) == 0 {
		t.Fatal("the call never reached the upstream")
	}

	silenced := time.Now()
	link.NetworkChange()
	select {
	case <-cancelled:
	case <-time.After(waitGateway):
		t.Fatalf("the upstream request of the vanished client was not cancelled within %v", waitGateway)
	}
	for time.Now().Before(silenced.Add(waitGateway)) {
		if v, _ := metricValue(g.scrape(t), "msg_grpc_open_connections"); v == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, _ := metricValue(g.scrape(t), "msg_grpc_open_connections"); v != 0 {
		t.Fatalf("msg_grpc_open_connections = %v after the client vanished, want 0", v)
	}
	t.Logf("the gateway dropped the silent client %v after its network went (configured: ping after %v, give up %v later)",
		time.Since(silenced).Round(10*time.Millisecond), interval, timeout)
}

// waitGateway bounds waits for the gateway's own timers in these tests; it
// is generous, so only a missing mechanism hits it.
const waitGateway = 20 * time.Second

// h2Conn is a raw HTTP/2 connection to the gateway with alice's
// certificate, for tests that speak frames rather than gRPC.
func h2Conn(t *testing.T, g *gateway) *http2.Framer {
	t.Helper()
	conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(t, "alice")},
		MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	c, err := tls.Dial("tcp", g.addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(waitGateway))
	// Acknowledge the gateway's settings now, so that afterwards only the
	// test writes to the framer.
	err = readUntil(fr, func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && !sf.IsAck()
	})
	if err == nil {
		err = fr.WriteSettingsAck()
	}
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// readUntil reads frames until stop reports done, or the connection ends.
func readUntil(fr *http2.Framer, stop func(http2.Frame) bool) error {
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		if stop(f) {
			return nil
		}
	}
}

// TestGatewayRefusesPingFloods: a client that pings more often than
// keepalive.min_client_ping_interval gets GOAWAY ENHANCE_YOUR_CALM
// "too_many_pings"; one that keeps to the interval is answered and kept.
// A hostile client speaks raw frames here: gRPC clients cannot ping more
// often than every 10s. Scaled down: an interval of 1s (default 15s).
func TestGatewayRefusesPingFloods(t *testing.T) {
	t.Parallel()
	const minInterval = time.Second
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second},
		withKeepalive(&configv1.Keepalive{MinClientPingInterval: durationpb.New(minInterval)}))

	t.Run("flood", func(t *testing.T) {
		t.Parallel()
		fr := h2Conn(t, g)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for i := uint64(0); ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(minInterval / 10):
				}
				if fr.WritePing(false, [8]byte{byte(i)}) != nil {
					return
				}
			}
		}()
		var goAway *http2.GoAwayFrame
		err := readUntil(fr, func(f http2.Frame) bool {
			goAway, _ = f.(*http2.GoAwayFrame)
			return goAway != nil
		})
		if goAway == nil {
			t.Fatalf("no GOAWAY for a ping every %v (read: %v)", minInterval/10, err)
		}
		if goAway.ErrCode != http2.ErrCodeEnhanceYourCalm || string(goAway.DebugData()) != "too_many_pings" {
			t.Errorf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", goAway.ErrCode, goAway.DebugData())
		}
	})

	t.Run("polite", func(t *testing.T) {
		t.Parallel()
		fr := h2Conn(t, g)
		const pings = 5
		for i := range pings {
			if i > 0 {
				time.Sleep(minInterval + minInterval/2)
			}
			if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			err := readUntil(fr, func(f http2.Frame) bool {
				if ga, ok := f.(*http2.GoAwayFrame); ok {
					t.Fatalf("ping %d every %v: GOAWAY %v %q", i, minInterval+minInterval/2, ga.ErrCode, ga.DebugData())
				}
				p, ok := f.(*http2.PingFrame)
				return ok && p.IsAck() && p.Data[0] == byte(i)
			})
			if err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
		}
	})
}

// countingDialer counts the writes on the connections it makes, so that a
// test can see the client's pings: during a call that waits in silence they
// are the only thing a client writes.
type countingDialer struct{ writes atomic.Int64 }

func (d *countingDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d}, nil
}

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.d.writes.Add(1)
	return c.Conn.Write(p)
}

// TestClientPingsMeetTheGatewayPolicy: the Go client's keepalive pings
// during a call that waits in silence are what the gateway's policy
// permits when the two intervals agree, and a GOAWAY "too_many_pings" when
// the client pings more often than the gateway allows. The shortest
// interval gRPC clients may use, 10s, makes this a 45s test (the gateway
// tolerates two early pings before the third refuses them).
func TestClientPingsMeetTheGatewayPolicy(t *testing.T) {
	t.Parallel()
	const interval, silent = 10 * time.Second, 45 * time.Second
	for _, tt := range []struct {
		name        string
		gatewayMin  time.Duration
		wantRefused bool
	}{
		{"intervals agree", interval, false},
		{"client pings too often", interval + 5*time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := startGatewayWith(t, hangUpstream(nil, silent), server.Options{DrainTimeout: time.Second},
				withKeepalive(&configv1.Keepalive{MinClientPingInterval: durationpb.New(tt.gatewayMin)}))
			d := &countingDialer{}
			tr, err := client.New(g.addr, client.WithCertificate(g.identity(t, "alice")), client.WithRootCAs(g.ca.Pool()),
				client.WithKeepalive(interval, 5*time.Second), client.WithDialOptions(grpc.WithContextDialer(d.dial)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() })
			hc := &http.Client{Transport: tr}
			// A POST, so that a refused connection is not hidden by a retry.
			quietFrom := time.Now().Add(2 * time.Second) // after the call went out and was checked once
			var before atomic.Int64
			go func() {
				time.Sleep(time.Until(quietFrom))
				before.Store(d.writes.Load())
			}()
			resp, err := hc.Post("https://demo.internal/silent", "text/plain", strings.NewReader("x"))
			pings := d.writes.Load() - before.Load()
			if tt.wantRefused {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("the silent call succeeded after %d pings, want the gateway to refuse the pings", pings)
				}
				if client.CodeOf(err) != codes.Unavailable || !strings.Contains(err.Error(), "too_many_pings") {
					t.Errorf("the silent call failed with %v, want Unavailable after a GOAWAY too_many_pings", err)
				}
				t.Logf("refused after %d client writes in the silence: %v", pings, err)
				return
			}
			if err != nil {
				t.Fatalf("the silent call failed after %d pings: %v", pings, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "finally" {
				t.Errorf("body %q", body)
			}
			if pings < 3 {
				t.Errorf("the client wrote %d times during %v of silence, want at least 3 pings", pings, silent)
			}
		})
	}
}

// TestKeepaliveDefaultsMatchTheClient keeps the gateway's defaults and the
// Go client's in step: the gateway accepts the client's pings, and pings
// only after the client would have pinged or closed an idle connection, so
// a phone running the client is never woken by the gateway.
func TestKeepaliveDefaultsMatchTheClient(t *testing.T) {
	t.Parallel()
	if config.DefaultMinClientPingInterval > client.DefaultKeepaliveInterval {
		t.Errorf("the gateway refuses pings more often than every %v; the client pings every %v",
			config.DefaultMinClientPingInterval, client.DefaultKeepaliveInterval)
	}
	if config.DefaultPingInterval <= client.DefaultKeepaliveInterval || config.DefaultPingInterval <= client.DefaultIdleTimeout {
		t.Errorf("the gateway pings after %v of silence, not after the client's ping interval %v and idle timeout %v",
			config.DefaultPingInterval, client.DefaultKeepaliveInterval, client.DefaultIdleTimeout)
	}
}
