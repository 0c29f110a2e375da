package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msg-gateway/msg/client"
)

// target is one way to reach the backend: its HTTP client, the base URL to
// put in front of a path, and the proxy processes whose CPU and memory are
// measured (none for direct access).
type target struct {
	name   string
	client *http.Client
	base   string
	proxy  *child
	close  func()
	// For a baseline gateway: its address and the harness binary (built
	// from the baseline checkout) that drives it; see runLoad.
	addr, harness string
	// call, when set, makes one GET /1k without net/http (the floor's bare
	// gRPC stub) and returns the body's length.
	call func(path string) (int64, error)
	// only, when set, lists the workloads the target takes part in.
	only map[string]bool
}

// takes reports whether the target takes part in a workload.
func (t *target) takes(workload string) bool {
	return t.only == nil || t.only[workload]
}

func (t *target) pids() []int {
	if t.proxy == nil {
		return nil
	}
	return t.proxy.pids
}

func directTarget(backend string) *target {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	return &target{name: "direct", client: &http.Client{Transport: tr}, base: "http://" + backend, close: tr.CloseIdleConnections}
}

// nginxTarget is Go's HTTP/2 client with the client certificate, over one
// connection, for nginx and the other anchors (name).
func nginxTarget(name, addr string, f *pkiFiles, proxy *child) *target {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{f.client},
			RootCAs:      f.roots,
			ServerName:   "localhost",
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 256,
		DisableCompression:  true,
	}
	return &target{name: name, client: &http.Client{Transport: tr}, base: "https://" + addr, proxy: proxy, close: tr.CloseIdleConnections}
}

func gatewayTarget(addr string, f *pkiFiles, proxy *child) (*target, error) {
	tr, err := client.New(addr, client.WithCertificate(f.client), client.WithRootCAs(f.roots), client.WithServerName("localhost"))
	if err != nil {
		return nil, err
	}
	return &target{name: "gateway", client: &http.Client{Transport: tr}, base: "https://" + benchHost, proxy: proxy, close: func() { tr.Close() }}, nil
}

// request builds the request of a workload for a target.
type request func(t *target) (*http.Request, error)

func getPath(path string) request {
	return func(t *target) (*http.Request, error) {
		return http.NewRequest(http.MethodGet, t.base+path, nil)
	}
}

func postBody(path string, body []byte) request {
	return func(t *target) (*http.Request, error) {
		return http.NewRequest(http.MethodPost, t.base+path, bytes.NewReader(body))
	}
}

// sample is what one repetition of one cell measured.
type sample struct {
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	ReqPerSec  float64 `json:"req_per_s"`
	MBPerSec   float64 `json:"mb_per_s,omitempty"`
	P50us      float64 `json:"p50_us"`
	P90us      float64 `json:"p90_us"`
	P99us      float64 `json:"p99_us"`
	CPUus      float64 `json:"proxy_cpu_us_per_req,omitempty"`
	ClientCPU  float64 `json:"client_cpu_us_per_req,omitempty"`
	CPUnsPerB  float64 `json:"proxy_cpu_ns_per_byte,omitempty"`
	RSSGrowth  float64 `json:"proxy_rss_growth_mib,omitempty"`
	FirstError string  `json:"first_error,omitempty"`
}

// sink counts what it is given. Wrapped as a plain io.Writer, it makes
// io.CopyBuffer use the caller's buffer: every mode reads bodies alike.
type sink struct{ n int64 }

func (s *sink) Write(p []byte) (int, error) { s.n += int64(len(p)); return len(p), nil }

// do sends one request and reads the whole body. It returns the body bytes.
func do(t *target, mk request, buf []byte) (int64, error) {
	if t.call != nil {
		return t.call("/1k") // the only workload such a target takes
	}
	req, err := mk(t)
	if err != nil {
		return 0, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	var s sink
	_, err = io.CopyBuffer(&s, struct{ io.Reader }{resp.Body}, buf)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return s.n, err
}

// closedLoop runs conc workers that each send a request as soon as the
// previous one finished, for warm+dur. Only requests that start after the
// warm-up and end before its deadline count; the proxy's CPU time is read at
// both ends of that window.
func closedLoop(t *target, mk request, conc int, warm, dur time.Duration) sample {
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		lat        []time.Duration
		errs       atomic.Int64
		firstErr   atomic.Value
		bytesTotal atomic.Int64
	)
	start := time.Now()
	measureFrom := start.Add(warm)
	measureTo := measureFrom.Add(dur)
	ctx, cancel := context.WithDeadline(context.Background(), measureTo)
	defer cancel()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				n, err := do(t, mk, buf)
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(measureTo) {
					continue
				}
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				bytesTotal.Add(n)
				mine = append(mine, t1.Sub(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	self := []int{os.Getpid()}
	time.Sleep(time.Until(measureFrom))
	cpu0, own0 := cpuSeconds(t.pids()), cpuSeconds(self)
	time.Sleep(time.Until(measureTo))
	cpu1, own1 := cpuSeconds(t.pids()), cpuSeconds(self)
	wg.Wait()
	s := summarize(lat, dur.Seconds())
	s.Errors = int(errs.Load())
	if e, ok := firstErr.Load().(string); ok {
		s.FirstError = e
	}
	s.MBPerSec = float64(bytesTotal.Load()) / dur.Seconds() / 1e6
	if t.proxy != nil && s.Requests > 0 {
		s.CPUus = (cpu1 - cpu0) * 1e6 / float64(s.Requests)
	}
	// The load generator's own CPU: the client library of the mode, plus
	// the generator's bookkeeping, which is the same for every mode.
	if s.Requests > 0 {
		s.ClientCPU = (own1 - own0) * 1e6 / float64(s.Requests)
	}
	return s
}

func summarize(lat []time.Duration, seconds float64) sample {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	return sample{
		Requests:  len(lat),
		Seconds:   seconds,
		ReqPerSec: float64(len(lat)) / seconds,
		P50us:     pct(.50),
		P90us:     pct(.90),
		P99us:     pct(.99),
	}
}

// transfers downloads size bytes n times in a row and reports MB/s over the
// transfers, the proxy's CPU per byte and the proxy's resident-set growth:
// its peak during the transfers (VmHWM after a reset, or VmRSS sampled every
// 5 ms where the reset is not allowed) less its RSS before.
func transfers(t *target, mk request, size int64, n int) sample {
	pids := t.pids()
	before := readMemory(pids)
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	reset := pids != nil && resetPeak(pids)
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if pids != nil {
					if m := readMemory(pids); m.RSS > peak.Load() {
						peak.Store(m.RSS)
					}
				}
			}
		}
	}()
	buf := make([]byte, 64<<10)
	var lat []time.Duration
	var total int64
	errs := 0
	var firstErr string
	cpu0 := cpuSeconds(pids)
	for range n {
		t0 := time.Now()
		got, err := do(t, mk, buf)
		d := time.Since(t0)
		if err == nil && got != size {
			err = fmt.Errorf("got %d bytes, want %d", got, size)
		}
		if err != nil {
			errs++
			if firstErr == "" {
				firstErr = err.Error()
			}
			continue
		}
		lat = append(lat, d)
		total += got
	}
	cpu1 := cpuSeconds(pids)
	close(stopSampling)
	<-sampled
	var secs float64
	for _, d := range lat {
		secs += d.Seconds()
	}
	s := summarize(lat, secs)
	s.Errors, s.FirstError = errs, firstErr
	if secs > 0 {
		s.MBPerSec = float64(total) / secs / 1e6
	}
	if pids != nil {
		if total > 0 {
			s.CPUnsPerB = (cpu1 - cpu0) * 1e9 / float64(total)
			s.CPUus = (cpu1 - cpu0) * 1e6 / float64(len(lat))
		}
		p := peak.Load()
		if reset {
			p = max(p, readMemory(pids).HWM)
		}
		s.RSSGrowth = float64(max(p-before.RSS, 0)) / (1 << 20)
	}
	return s
}
