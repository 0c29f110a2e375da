package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// sourceAddrs are the loopback addresses connections are made from, in turn,
// so that 10,000 idle connections plus the TIME_WAIT left by the handshake
// tests never run out of ephemeral ports on one address.
var sourceAddrs = func() []net.IP {
	var out []net.IP
	for i := 2; i < 42; i++ {
		out = append(out, net.IPv4(127, 0, 0, byte(i)))
	}
	return out
}()

var sourceNext atomic.Uint64

func dialer() *net.Dialer {
	ip := sourceAddrs[sourceNext.Add(1)%uint64(len(sourceAddrs))]
	return &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
}

// connectH2 makes one mTLS connection to addr and brings HTTP/2 up on it:
// the client preface and SETTINGS, then the server's SETTINGS, which it
// sends once it has verified the client certificate, and our ACK. The
// connection is then what an app's idle gRPC connection is to the server.
func connectH2(addr string, cfg *tls.Config) (*tls.Conn, error) {
	conn, err := tls.DialWithDialer(dialer(), "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		conn.Close()
		return nil, err
	}
	fr := http2.NewFramer(conn, bufio.NewReaderSize(conn, 4<<10))
	if err := fr.WriteSettings(); err != nil {
		conn.Close()
		return nil, err
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			conn.Close()
			return nil, err
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			break
		}
	}
	if err := fr.WriteSettingsAck(); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

func clientTLS(f *pkiFiles, cache tls.ClientSessionCache) *tls.Config {
	return &tls.Config{
		Certificates:       []tls.Certificate{f.client},
		RootCAs:            f.roots,
		ServerName:         "localhost",
		NextProtos:         []string{"h2"},
		ClientSessionCache: cache,
	}
}

// idleResult is the idle-connection measurement.
type idleResult struct {
	Connections     int     `json:"connections"`
	OpenSeconds     float64 `json:"open_seconds"`
	RSSBeforeMiB    float64 `json:"rss_before_mib"`
	RSSAfterMiB     float64 `json:"rss_after_mib"`
	RSSPerConnKiB   float64 `json:"rss_per_conn_kib"`
	HeapPerConnKiB  float64 `json:"heap_inuse_per_conn_kib,omitempty"`
	StackPerConnKiB float64 `json:"stack_inuse_per_conn_kib,omitempty"`
	GoroutinesAfter float64 `json:"goroutines_per_conn,omitempty"`
	Errors          int     `json:"errors"`
	FirstError      string  `json:"first_error,omitempty"`
}

// idleConnections opens n connections to the gateway, waits for its memory
// to settle, and reports its resident-set growth per connection. The
// connections are closed before it returns.
func idleConnections(addr, adminAddr string, f *pkiFiles, proxy *child, n int, settle time.Duration, progress func(string)) idleResult {
	res := idleResult{Connections: n}
	time.Sleep(settle)
	before := readMemory(proxy.pids)
	metricsBefore := scrapeMetrics(adminAddr)
	cfg := clientTLS(f, nil)
	conns := make([]*tls.Conn, n)
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := connectH2(addr, cfg)
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				conns[i] = c
				if (i+1)%2500 == 0 {
					progress(fmt.Sprintf("idle connections: %d open", i+1))
				}
			}
		}()
	}
	wg.Wait()
	res.OpenSeconds = time.Since(start).Seconds()
	time.Sleep(settle)
	after := readMemory(proxy.pids)
	metricsAfter := scrapeMetrics(adminAddr)
	open := 0
	for _, c := range conns {
		if c != nil {
			open++
		}
	}
	res.Errors = int(errs.Load())
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	res.RSSBeforeMiB = float64(before.RSS) / (1 << 20)
	res.RSSAfterMiB = float64(after.RSS) / (1 << 20)
	if open > 0 {
		res.RSSPerConnKiB = float64(after.RSS-before.RSS) / 1024 / float64(open)
		if h0, h1 := metricsBefore["go_memstats_heap_inuse_bytes"], metricsAfter["go_memstats_heap_inuse_bytes"]; h1 > 0 {
			res.HeapPerConnKiB = (h1 - h0) / 1024 / float64(open)
		}
		if s0, s1 := metricsBefore["go_memstats_stack_inuse_bytes"], metricsAfter["go_memstats_stack_inuse_bytes"]; s1 > 0 {
			res.StackPerConnKiB = (s1 - s0) / 1024 / float64(open)
		}
		if g0, g1 := metricsBefore["go_goroutines"], metricsAfter["go_goroutines"]; g1 > 0 {
			res.GoroutinesAfter = (g1 - g0) / float64(open)
		}
	}
	res.Connections = open
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return res
}

// scrapeMetrics reads the unlabelled gauges of the gateway's /metrics.
func scrapeMetrics(adminAddr string) map[string]float64 {
	out := map[string]float64{}
	if adminAddr == "" {
		return out
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		return out
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := hc.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// handshakeResult is one handshake-rate measurement.
type handshakeResult struct {
	Handshakes     int     `json:"handshakes"`
	Resumed        int     `json:"resumed"`
	Seconds        float64 `json:"seconds"`
	PerSecond      float64 `json:"per_s"`
	ProxyCPU       float64 `json:"proxy_cpu_s"`
	PerCoreSecond  float64 `json:"per_proxy_cpu_s"`
	ProxyCPUus     float64 `json:"proxy_cpu_us_per_handshake"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	ResumptionUsed bool    `json:"resumption"`
}

// handshakes makes new mTLS connections (ECDSA P-256 certificates on both
// sides) with conc workers for dur, each brought up to HTTP/2 as in
// connectH2 and then closed, and reports the rate: per wall-clock second and
// per second of the proxy's CPU time, which is the rate per core. With
// resume, the workers share a session cache so that, after the first, the
// handshakes resume a TLS session instead of verifying certificates again.
func handshakes(addr string, f *pkiFiles, proxy *child, resume bool, conc int, dur time.Duration) handshakeResult {
	var cache tls.ClientSessionCache
	if resume {
		cache = tls.NewLRUClientSessionCache(64)
		if c, err := connectH2(addr, clientTLS(f, cache)); err == nil {
			c.Close()
		}
	}
	cfg := clientTLS(f, cache)
	var count, resumed, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	cpu0 := cpuSeconds(proxy.pids)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				c, err := connectH2(addr, cfg)
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				count.Add(1)
				if c.ConnectionState().DidResume {
					resumed.Add(1)
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	cpu := cpuSeconds(proxy.pids) - cpu0
	r := handshakeResult{
		Handshakes: int(count.Load()), Resumed: int(resumed.Load()), Seconds: secs,
		ProxyCPU: cpu, Errors: int(errs.Load()), ResumptionUsed: resume,
	}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	r.PerSecond = float64(r.Handshakes) / secs
	if cpu > 0 {
		r.PerCoreSecond = float64(r.Handshakes) / cpu
		r.ProxyCPUus = cpu * 1e6 / float64(r.Handshakes)
	}
	return r
}
