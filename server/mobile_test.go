package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msg-gateway/msg/client"
	"github.com/msg-gateway/msg/internal/mobilelink"
	"github.com/msg-gateway/msg/server"
)

// The tests in this file put the emulated mobile link of issue 16 between
// the Go client and the real gateway: 150ms round trips with jitter, a
// 1 Mbit/s uplink and a 5 Mbit/s downlink.
var mobileLink = mobilelink.Config{
	RTT:         mobilelink.Duration(150 * time.Millisecond),
	Jitter:      mobilelink.Duration(20 * time.Millisecond),
	UplinkBPS:   1_000_000,
	DownlinkBPS: 5_000_000,
}

// onMobile starts a link in front of g and a client transport through it.
func onMobile(t testing.TB, g *gateway, cfg mobilelink.Config, opts ...client.Option) (*client.Transport, *mobilelink.Link) {
	t.Helper()
	cfg.Target = g.addr
	link, err := mobilelink.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	base := []client.Option{client.WithCertificate(g.identity(t, "alice")), client.WithRootCAs(g.ca.Pool())}
	tr, err := client.New(link.Addr(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, link
}

// loopRequest is one request of a loop, as the app saw it.
type loopRequest struct {
	start, end time.Time
	err        error
}

// TestNetworkChangeInARequestLoop replays issue 16's report: an app sends a
// request every 200ms with a 5s timeout, and the phone moves to another
// network (every open connection goes silent for good). With the app's
// NetworkChanged call, and without it, the loop must recover, losing at
// most one request; an idempotent request in flight at the change moves to
// the new connection, a POST cannot and waits for its deadline. The test
// logs the time to recover and the failures in the window.
func TestNetworkChangeInARequestLoop(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method    string
		appCall   bool
		maxFailed int
	}{
		{"GET", true, 1},
		{"GET", false, 1},
		{"POST", true, 1},
		{"POST", false, 1},
	} {
		name := tt.method + " without NetworkChanged"
		if tt.appCall {
			name = tt.method + " with NetworkChanged"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second})
			tr, link := onMobile(t, g, mobileLink)
			const every, timeout = 200 * time.Millisecond, 5 * time.Second
			var reqs []loopRequest
			var changed time.Time
			successesAfter := 0
			for i := 0; successesAfter < 5; i++ {
				if !changed.IsZero() && time.Since(changed) > 40*time.Second {
					t.Fatalf("no recovery within 40s of the network change: %d successes", successesAfter)
				}
				if changed.IsZero() && len(reqs) >= 10 {
					// Mid-loop, like the report's t=3s: the change lands
					// while a request is on its way.
					go func() {
						time.Sleep(50 * time.Millisecond)
						link.NetworkChange()
						if tt.appCall {
							tr.NetworkChanged()
						}
					}()
					changed = time.Now().Add(50 * time.Millisecond)
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				var body io.Reader
				if tt.method == "POST" {
					body = strings.NewReader("item " + strconv.Itoa(i))
				}
				req, _ := http.NewRequestWithContext(ctx, tt.method, "https://demo.internal/loop/"+strconv.Itoa(i), body)
				r := loopRequest{start: time.Now()}
				resp, err := tr.RoundTrip(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				cancel()
				r.end, r.err = time.Now(), err
				reqs = append(reqs, r)
				if err == nil && !changed.IsZero() && r.end.After(changed) {
					successesAfter++
				}
				time.Sleep(every)
			}
			failed, recovered := 0, time.Duration(0)
			var firstAfter time.Duration
			for _, r := range reqs {
				if r.end.Before(changed) {
					if r.err != nil {
						t.Errorf("a request before the change failed: %v", r.err)
					}
					continue
				}
				if r.err != nil {
					failed++
					t.Logf("failed in the window: %v after the change: %v", r.end.Sub(changed).Round(time.Millisecond), r.err)
					continue
				}
				if recovered == 0 {
					recovered = r.end.Sub(changed)
				}
				if firstAfter == 0 && r.start.After(changed) {
					firstAfter = r.end.Sub(r.start)
				}
			}
			t.Logf("%s: first success %v after the change, first request begun after it took %v, %d failed in the window",
				name, recovered.Round(time.Millisecond), firstAfter.Round(time.Millisecond), failed)
			if failed > tt.maxFailed {
				t.Errorf("%d requests failed after the change, want at most %d", failed, tt.maxFailed)
			}
		})
	}
}

// serveBytes answers /bytes?n=N with N bytes and a Content-Length.
func serveBytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 {
		http.Error(w, "n", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(n))
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

// mobileDownload fetches n bytes through the gateway over the emulated
// mobile link and returns the time from the request to the last byte.
func mobileDownload(t testing.TB, n int) time.Duration {
	t.Helper()
	g := startGatewayWith(t, serveBytes, server.Options{DrainTimeout: time.Second}, withKeepalive(nil))
	tr, _ := onMobile(t, g, mobileLink)
	hc := &http.Client{Transport: tr}
	// Connect first: the measurement is of the transfer, not the handshake.
	if _, err := hc.Get("https://demo.internal/bytes?n=0"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := hc.Get("https://demo.internal/bytes?n=" + strconv.Itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil || got != int64(n) {
		t.Fatalf("downloaded %d of %d bytes: %v", got, n, err)
	}
	return took
}

// linkShare is the fraction of the downlink's rate that n bytes in took
// achieved.
func linkShare(n int, took time.Duration) float64 {
	return float64(n) * 8 / took.Seconds() / float64(mobileLink.DownlinkBPS)
}

// TestMobileDownload is the scaled-down form of BenchmarkMobileDownload:
// 2 MiB over the 5 Mbit/s downlink arrive whole, and never faster than the
// link allows (which shows that the link shapes them). It logs the share of
// the link's rate the transfer reached; `make bench-mobile` measures 16 MiB
// and holds it to 90%.
func TestMobileDownload(t *testing.T) {
	t.Parallel()
	const n = 2 << 20
	took := mobileDownload(t, n)
	if floor := time.Duration(int64(n) * 8 * int64(time.Second) / mobileLink.DownlinkBPS); took < floor {
		t.Errorf("2 MiB took %v, less than the link's %v: the link did not shape the download", took, floor)
	}
	t.Logf("2 MiB in %v: %.1f%% of the 5 Mbit/s downlink", took.Round(time.Millisecond), 100*linkShare(n, took))
}

// BenchmarkMobileDownload downloads 16 MiB through the gateway over the
// emulated 5 Mbit/s, 150ms link (about 27s) and fails below 90% of the
// link's rate: the flow-control windows must cover the link's
// bandwidth-delay product. Run it with `make bench-mobile`.
func BenchmarkMobileDownload(b *testing.B) {
	const n = 16 << 20
	for b.Loop() {
		took := mobileDownload(b, n)
		share := linkShare(n, took)
		b.ReportMetric(share*100, "%link")
		b.ReportMetric(float64(n)/took.Seconds()/1e6, "MB/s")
		if share < 0.9 {
			b.Fatalf("16 MiB in %v: %.1f%% of the link's rate, want at least 90%%", took, 100*share)
		}
	}
}

// BenchmarkMobileUpload uploads 1 MiB through the gateway over the emulated
// 1 Mbit/s, 150ms uplink (about 9s): the gateway's receive windows (1 MiB
// per stream from the first byte, stream_options.go) must cover the
// uplink's bandwidth-delay product. Reported, not held to a floor.
func BenchmarkMobileUpload(b *testing.B) {
	const n = 1 << 20
	g := startGatewayWith(b, func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, strconv.FormatInt(got, 10))
	}, server.Options{DrainTimeout: time.Second})
	tr, _ := onMobile(b, g, mobileLink)
	hc := &http.Client{Transport: tr}
	if _, err := hc.Get("https://demo.internal/warm"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		start := time.Now()
		resp, err := hc.Post("https://demo.internal/up", "application/octet-stream", bytes.NewReader(make([]byte, n)))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if string(body) != strconv.Itoa(n) {
			b.Fatalf("the internal host got %s bytes, want %d", body, n)
		}
		b.ReportMetric(float64(n)*8/took.Seconds()/float64(mobileLink.UplinkBPS)*100, "%link")
	}
}

// TestReconnectCost measures what a new connection costs over the emulated
// link, with a full TLS handshake (a new transport) and with a resumed one
// (after NetworkChanged): the time to the first response and the bytes each
// way. The gateway sends no certificate in a resumed handshake: the
// reconnect must receive at least the gateway certificate's size fewer
// bytes, which only resumption explains. (Uplink bytes barely change: a TLS
// 1.3 ticket carries the client's certificate chain for the gateway to
// restore. The round trips are the same; resumption saves the signatures
// and certificate checks: BenchmarkReconnect.) The times are logged.
func TestReconnectCost(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second})
	gwCert, err := tls.LoadX509KeyPair(g.certFile, g.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tr, link := onMobile(t, g, mobileLink)
	first := func() (time.Duration, mobilelink.ConnStats) {
		t.Helper()
		start := time.Now()
		resp, err := tr.RoundTrip(mustRequest(t, "GET", "https://demo.internal/first"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		s := link.Stats()
		return took, s.Conns[len(s.Conns)-1]
	}
	fullTook, full := first()
	tr.NetworkChanged()
	resumedTook, resumed := first()
	t.Logf("first request on a new connection over the link: full handshake %v (%d bytes up, %d down), resumed %v (%d up, %d down)",
		fullTook.Round(time.Millisecond), full.UpBytes, full.DownBytes, resumedTook.Round(time.Millisecond), resumed.UpBytes, resumed.DownBytes)
	if saved := full.DownBytes - resumed.DownBytes; saved < int64(len(gwCert.Certificate[0])) {
		t.Errorf("the reconnect received %d bytes, %d fewer than the first connection: less than the gateway certificate (%d): not resumed",
			resumed.DownBytes, saved, len(gwCert.Certificate[0]))
	}
}

// BenchmarkReconnect measures the CPU a new connection's TLS handshake
// costs the app and the gateway together (both run in this process, on
// loopback): a full handshake, with both certificates signed and verified,
// against a resumed one, as the client makes after a network change or an
// idle close. Each iteration dials the gateway, completes the handshake
// and hangs up.
func BenchmarkReconnect(b *testing.B) {
	g := startGatewayWith(b, nil, server.Options{DrainTimeout: time.Second})
	conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(b, "alice")},
		MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	dial := func(conf *tls.Config) *tls.Conn {
		c, err := tls.Dial("tcp", g.addr, conf)
		if err != nil {
			b.Fatal(err)
		}
		// The session ticket arrives after the handshake: read until the
		// gateway's HTTP/2 settings, which follow it.
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 64)); err != nil {
			b.Fatal(err)
		}
		return c
	}
	b.Run("full", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			c := dial(conf)
			if c.ConnectionState().DidResume {
				b.Fatal("resumed without a session cache")
			}
			c.Close()
		}
	})
	b.Run("resumed", func(b *testing.B) {
		conf := conf.Clone()
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		dial(conf).Close()
		defer reportCPU(b)()
		for b.Loop() {
			c := dial(conf)
			if !c.ConnectionState().DidResume {
				b.Fatal("did not resume")
			}
			c.Close()
		}
	})
}

// reportCPU reports the process's CPU time per iteration (user and
// system), from when it is called to when the returned function is.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
