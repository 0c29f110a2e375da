package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// modeResult is one mode's repetitions of one cell and their medians.
type modeResult struct {
	Samples []sample `json:"samples"`
	Median  sample   `json:"median"`
	// Transfer is set for the large downloads, whose headline number is
	// MB/s; for the others it is req/s.
	Transfer bool `json:"transfer"`
	// Min and Max of the cell's headline number over the repetitions.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// summarize takes the median of every field over the repetitions.
func (m *modeResult) summarize() {
	med := func(get func(s sample) float64) float64 {
		vs := make([]float64, 0, len(m.Samples))
		for _, s := range m.Samples {
			vs = append(vs, get(s))
		}
		return median(vs)
	}
	m.Median = sample{
		ReqPerSec: med(func(s sample) float64 { return s.ReqPerSec }),
		MBPerSec:  med(func(s sample) float64 { return s.MBPerSec }),
		P50us:     med(func(s sample) float64 { return s.P50us }),
		P90us:     med(func(s sample) float64 { return s.P90us }),
		P99us:     med(func(s sample) float64 { return s.P99us }),
		CPUus:     med(func(s sample) float64 { return s.CPUus }),
		ClientCPU: med(func(s sample) float64 { return s.ClientCPU }),
		CPUnsPerB: med(func(s sample) float64 { return s.CPUnsPerB }),
		RSSGrowth: med(func(s sample) float64 { return s.RSSGrowth }),
	}
	for _, s := range m.Samples {
		m.Median.Requests += s.Requests
		m.Median.Errors += s.Errors
	}
	m.Min, m.Max = -1, 0
	for _, s := range m.Samples {
		v := m.headline(s)
		if m.Min < 0 || v < m.Min {
			m.Min = v
		}
		m.Max = max(m.Max, v)
	}
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cellResult is one workload at one concurrency, for every mode.
type cellResult struct {
	ID          string                 `json:"id"`
	Workload    string                 `json:"workload"`
	Title       string                 `json:"title"`
	Concurrency int                    `json:"concurrency"`
	Size        int64                  `json:"size_bytes"`
	Modes       map[string]*modeResult `json:"modes"`
}

// check is one target of an issue, evaluated on this run.
type check struct {
	Issue   int     `json:"issue"`
	Name    string  `json:"name"`
	Gateway float64 `json:"gateway"`
	Nginx   float64 `json:"nginx,omitempty"`
	Goal    string  `json:"goal"`
	Held    bool    `json:"held"`
	Unit    string  `json:"unit"`
	Missing bool    `json:"missing,omitempty"`
}

type report struct {
	Generated  time.Time                               `json:"generated"`
	Plan       plan                                    `json:"plan"`
	Env        env                                     `json:"environment"`
	Cells      []*cellResult                           `json:"cells"`
	Idle       []idleResult                            `json:"idle_connections"`
	Handshakes map[string]map[string][]handshakeResult `json:"handshakes"`
	Checks     []check                                 `json:"targets"`
}

func (r *report) cell(id string) *cellResult {
	for _, c := range r.Cells {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// med returns a mode's median sample of a cell, or nil.
func (r *report) med(id, mode string) *sample {
	c := r.cell(id)
	if c == nil || c.Modes[mode] == nil {
		return nil
	}
	return &c.Modes[mode].Median
}

func (r *report) idleMedian() (perConn float64, ok bool) {
	var vs []float64
	for _, ir := range r.Idle {
		vs = append(vs, ir.RSSPerConnKiB)
	}
	return median(vs), len(vs) > 0
}

func (r *report) handshakeMedian(mode, kind string) (perCore, perSec float64, ok bool) {
	hs := r.Handshakes[mode][kind]
	var a, b []float64
	for _, h := range hs {
		a = append(a, h.PerCoreSecond)
		b = append(b, h.PerSecond)
	}
	return median(a), median(b), len(hs) > 0
}

// evaluate checks the targets of issues 17 and 7. Ratios are of medians
// in this run; the RSS growth is the largest repetition's.
func (r *report) evaluate() {
	ratio := func(id, mode, ref string, get func(*sample) float64) (float64, bool) {
		m, d := r.med(id, mode), r.med(id, ref)
		if m == nil || d == nil || get(d) == 0 {
			return 0, false
		}
		return get(m) / get(d), true
	}
	rps := func(s *sample) float64 { return s.ReqPerSec }
	mbps := func(s *sample) float64 { return s.MBPerSec }
	proxyCPU := func(s *sample) float64 { return s.CPUus }
	add := func(issue int, name, unit, goal string, held func(v float64) bool, get func(mode string) (float64, bool)) {
		c := check{Issue: issue, Name: name, Unit: unit, Goal: goal}
		v, ok := get("gateway")
		c.Gateway, c.Missing = v, !ok
		c.Held = ok && held(v)
		if n, ok := get("nginx"); ok {
			c.Nginx = n
		}
		r.Checks = append(r.Checks, c)
	}
	below := func(limit float64) func(float64) bool { return func(v float64) bool { return v <= limit } }
	above := func(limit float64) func(float64) bool { return func(v float64) bool { return v >= limit } }
	addedP50 := func(mode string) (float64, bool) {
		m, d := r.med("get1k-c1", mode), r.med("get1k-c1", "direct")
		if m == nil || d == nil {
			return 0, false
		}
		return m.P50us - d.P50us, true
	}

	add(17, "proxy CPU per GET 1 KiB at c=64", "µs/req", "<= 40", below(40),
		func(mode string) (float64, bool) {
			m := r.med("get1k-c64", mode)
			if m == nil || m.CPUus == 0 {
				return 0, false
			}
			return proxyCPU(m), true
		})
	add(17, "GET 1 KiB req/s at c=64, / nginx's", "ratio", ">= 0.75", above(0.75),
		func(mode string) (float64, bool) { return ratio("get1k-c64", mode, "nginx", rps) })
	add(17, "added p50 latency at c=1, minus direct", "µs", "<= 100", below(100), addedP50)
	for _, c := range []int{64, 1} {
		add(17, fmt.Sprintf("client CPU per GET 1 KiB at c=%d, / bare grpc-go client's", c), "ratio", "<= 1.3", below(1.3),
			func(mode string) (float64, bool) {
				return ratio(fmt.Sprintf("get1k-c%d", c), mode, "floor", func(s *sample) float64 { return s.ClientCPU })
			})
	}
	add(17, "16 MiB GET MB/s, / nginx's", "ratio", ">= 1.00", above(1),
		func(mode string) (float64, bool) { return ratio("get16m", mode, "nginx", mbps) })

	add(7, "1 KiB GET req/s at c=64, / direct", "ratio", ">= 0.60", above(0.60),
		func(mode string) (float64, bool) { return ratio("get1k-c64", mode, "direct", rps) })
	add(7, "added p50 latency at c=1, minus direct", "µs", "<= 80", below(80), addedP50)
	add(7, "16 MiB GET MB/s, / direct", "ratio", ">= 0.35", above(0.35),
		func(mode string) (float64, bool) { return ratio("get16m", mode, "direct", mbps) })
	add(7, "RSS growth during a 256 MiB transfer (largest repetition)", "MiB", "<= 32", below(32),
		func(mode string) (float64, bool) {
			c := r.cell("get256m")
			if c == nil || c.Modes[mode] == nil {
				return 0, false
			}
			worst := 0.0
			for _, s := range c.Modes[mode].Samples {
				worst = max(worst, s.RSSGrowth)
			}
			return worst, true
		})
	add(7, "RSS per idle mTLS connection at 10k connections", "KiB", "<= 40", below(40),
		func(mode string) (float64, bool) {
			if mode != "gateway" {
				return 0, false
			}
			return r.idleMedian()
		})
	add(7, "full mTLS handshakes (ECDSA P-256) per second, per core", "/s", ">= 3000", above(3000),
		func(mode string) (float64, bool) {
			v, _, ok := r.handshakeMedian(mode, "full")
			return v, ok
		})
}

func (s sample) line(transfer bool) string {
	errs := ""
	if s.Errors > 0 {
		errs = fmt.Sprintf(" ERRORS %d (%s)", s.Errors, s.FirstError)
	}
	if transfer {
		return fmt.Sprintf("%8.1f MB/s  cpu %5.2f ns/B  rss +%5.1f MiB%s", s.MBPerSec, s.CPUnsPerB, s.RSSGrowth, errs)
	}
	return fmt.Sprintf("%8.0f req/s  p50 %6.0f  p90 %6.0f  p99 %6.0f µs  cpu %6.1f µs/req%s", s.ReqPerSec, s.P50us, s.P90us, s.P99us, s.CPUus, errs)
}

func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	return r.chart(filepath.Join(dir, "chart.png"))
}

var modeNames = map[string]string{
	"direct": "direct", "floor": "floor (bare grpc-go)", "nginx": "nginx mTLS", "haproxy": "HAProxy mTLS",
	"caddy": "Caddy mTLS", "gateway": "gateway", "before": "gateway (baseline)",
}

// modeOrder is the order of the modes in tables and charts.
var modeOrder = []string{"direct", "floor", "nginx", "haproxy", "caddy", "gateway", "before"}

// modes returns the modes this run measured, in modeOrder.
func (r *report) modes() []string {
	seen := map[string]bool{}
	for _, c := range r.Cells {
		for m := range c.Modes {
			seen[m] = true
		}
	}
	var out []string
	for _, m := range modeOrder {
		if seen[m] {
			out = append(out, m)
		}
	}
	return out
}

func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 100:
		return commas(int64(v + 0.5))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func spread(m *modeResult) string {
	if len(m.Samples) < 2 {
		return num(m.headline(m.Median))
	}
	return fmt.Sprintf("%s [%s–%s]", num(m.headline(m.Median)), num(m.Min), num(m.Max))
}

// headline is the number a cell is about: MB/s for a transfer, else req/s.
func (m *modeResult) headline(s sample) float64 {
	if m.Transfer {
		return s.MBPerSec
	}
	return s.ReqPerSec
}

// targetsTable is the targets of issues 17 and 7 as a Markdown table.
func (r *report) targetsTable() string {
	var b strings.Builder
	b.WriteString("| issue | target | gateway | nginx mTLS | goal | held |\n| ---: | --- | ---: | ---: | --- | --- |\n")
	for _, c := range r.Checks {
		held := "yes"
		if !c.Held {
			held = "**no**"
		}
		g := fmtCheck(c.Gateway, c.Unit)
		if c.Missing {
			g, held = "not measured", "–"
		}
		n := "–"
		if c.Nginx != 0 {
			n = fmtCheck(c.Nginx, c.Unit)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", c.Issue, c.Name, g, n, c.Goal, held)
	}
	return b.String()
}

func fmtCheck(v float64, unit string) string {
	switch unit {
	case "ratio":
		return fmt.Sprintf("%.2f", v)
	case "µs":
		return fmt.Sprintf("%+.0f µs", v)
	case "/s":
		return commas(int64(v+0.5)) + "/s"
	default:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
}

func (r *report) markdown() string {
	var b strings.Builder
	kind := "full run"
	if r.Plan.Quick {
		kind = "quick run (BENCH_QUICK=1: shorter windows, fewer repetitions)"
	}
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (`bench/`, see the README's Benchmarks section) on %s, %s.\n",
		r.Generated.Format("2006-01-02 15:04 UTC"), kind)
	fmt.Fprintf(&b, "Commit %s; %d cores (%s), Linux %s, %s, nginx %s, HAProxy %s, Caddy %s. Load average %.2f before the run, %.2f after.\n\n",
		orNA(r.Env.Commit), r.Env.Cores, r.Env.CPU, r.Env.Kernel, r.Env.GoVersion, orNA(r.Env.Nginx), orNA(r.Env.HAProxy), orNA(r.Env.Caddy), r.Env.LoadBefore, r.Env.LoadAfter)
	fmt.Fprintf(&b, "Every cell ran %d times with the modes interleaved (order rotated each time); numbers are medians, "+
		"[min–max] over the repetitions. Closed-loop windows are %s after a %s warm-up. The load generator, the backend and the proxy share the machine, unpinned.\n\n",
		r.Plan.Reps, r.Plan.Window, r.Plan.Warm)

	b.WriteString("## Targets\n\n")
	b.WriteString(r.targetsTable())

	ms := r.modes()
	if cs := r.cellsOf("get1k"); len(cs) > 0 {
		b.WriteString("\n## GET 1 KiB, closed loop\n\nProxy CPU is the proxy's (for the floor: the bare server's); client CPU is the load generator's process, whose client library differs by mode (see What runs).\n\n" +
			"| concurrency | mode | req/s | p50 µs | p90 µs | p99 µs | proxy CPU µs/req | client CPU µs/req |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, c := range cs {
			for _, m := range ms {
				mr := c.Modes[m]
				if mr == nil {
					continue
				}
				s := mr.Median
				fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", c.Concurrency, modeNames[m], spread(mr), num(s.P50us), num(s.P90us), num(s.P99us), num(s.CPUus), num(s.ClientCPU))
			}
		}
	}
	if c := r.cell("post64k-c16"); c != nil {
		b.WriteString("\n## POST 64 KiB, echoed, closed loop at concurrency 16\n\n| mode | req/s | MB/s each way | p50 µs | p99 µs | proxy CPU µs/req |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, m := range ms {
			if mr := c.Modes[m]; mr != nil {
				s := mr.Median
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", modeNames[m], spread(mr), num(s.MBPerSec), num(s.P50us), num(s.P99us), num(s.CPUus))
			}
		}
	}
	if cs := append(r.cellsOf("get16m"), r.cellsOf("get256m")...); len(cs) > 0 {
		b.WriteString("\n## Large downloads, one at a time\n\n| size | mode | MB/s | proxy CPU ns/B | proxy RSS growth MiB (largest) |\n| --- | --- | ---: | ---: | ---: |\n")
		for _, c := range cs {
			for _, m := range ms {
				mr := c.Modes[m]
				if mr == nil {
					continue
				}
				worst := 0.0
				for _, s := range mr.Samples {
					worst = max(worst, s.RSSGrowth)
				}
				rss := "–"
				if m != "direct" {
					rss = fmt.Sprintf("%.1f", worst)
				}
				fmt.Fprintf(&b, "| %d MiB | %s | %s | %s | %s |\n", c.Size>>20, modeNames[m], spread(mr), num(mr.Median.CPUnsPerB), rss)
			}
		}
	}
	if len(r.Idle) > 0 {
		b.WriteString("\n## Idle mTLS connections to the gateway\n\nEach connection completes a full handshake and the HTTP/2 preface and SETTINGS exchange, then stays idle; measured on a fresh gateway process 2 s after the last one opened.\n\n")
		b.WriteString("| connections | opened in | gateway RSS before | after | RSS per connection | Go heap in use per connection | stacks per connection | goroutines per connection |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, ir := range r.Idle {
			fmt.Fprintf(&b, "| %s | %.1f s | %.0f MiB | %.0f MiB | %.1f KiB | %.1f KiB | %.1f KiB | %.1f |\n",
				commas(int64(ir.Connections)), ir.OpenSeconds, ir.RSSBeforeMiB, ir.RSSAfterMiB, ir.RSSPerConnKiB, ir.HeapPerConnKiB, ir.StackPerConnKiB, ir.GoroutinesAfter)
		}
	}
	if len(r.Handshakes) > 0 {
		b.WriteString("\n## mTLS handshakes (ECDSA P-256 on both sides)\n\nFour client goroutines make new connections (TCP, TLS with a client certificate, HTTP/2 preface and SETTINGS) and close them; \"per core\" is handshakes per second of the proxy's CPU time. Resumed handshakes use TLS 1.3 session tickets.\n\n")
		b.WriteString("| mode | handshake | per second | per core (proxy CPU-second) | proxy CPU µs each |\n| --- | --- | ---: | ---: | ---: |\n")
		for _, m := range ms {
			for _, kind := range []string{"full", "resumed"} {
				hs := r.Handshakes[m][kind]
				if len(hs) == 0 {
					continue
				}
				var a, b2, c []float64
				for _, h := range hs {
					a, b2, c = append(a, h.PerSecond), append(b2, h.PerCoreSecond), append(c, h.ProxyCPUus)
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", modeNames[m], kind, num(median(a)), num(median(b2)), num(median(c)))
			}
		}
	}
	b.WriteString(`
## What runs

- **backend**: a Go net/http server in its own process (` + "`msgbench backend`" + `): ` + "`GET /1k`" + `, ` + "`GET /bytes?n=N`" + ` (streamed, with Content-Length), ` + "`POST /echo`" + `.
- **direct**: Go's http.Client over HTTP/1.1 keep-alive connections straight to the backend.
- **floor (bare grpc-go)**: the floor of the gateway's design, in its own process (` + "`msgbench floor`" + `): a grpc-go server with mutual TLS and no interceptors whose ` + "`Forward`" + ` answers every call with a static 1 KiB body, called by a bare grpc-go unary stub over one connection. GET 1 KiB only.
- **nginx mTLS**: Debian's nginx, one worker, TLS 1.2/1.3 with ` + "`ssl_verify_client on`" + `, HTTP/2 from the client, keep-alive HTTP/1.1 to the backend, request and response bodies streamed (no buffering), access log on; the client is Go's http.Client over one HTTP/2 connection with a client certificate.
- **HAProxy mTLS**: Debian's HAProxy, one thread (` + "`nbthread 1`" + `), ` + "`verify required`" + `, HTTP/2 from the client, ` + "`http-reuse always`" + ` to the backend, bodies streamed, ` + "`option httplog`" + ` to stdout; the same client as nginx's.
- **Caddy mTLS**: Debian's Caddy (Go's net/http reverse proxy), ` + "`require_and_verify`" + ` client certificates, ` + "`reverse_proxy`" + ` with ` + "`flush_interval -1`" + `, access log on; the same client as nginx's.
- **gateway (baseline)**, when the run has one (` + "`-baseline-gateway`" + `): another checkout's ` + "`msg-gateway`" + ` with the same config, driven by a harness built in that checkout (so with that checkout's client library), interleaved with the others.
- Proxy CPU is utime+stime from /proc/<pid>/stat (nginx: master and worker); RSS from /proc/<pid>/status (VmHWM after a clear_refs reset, or VmRSS sampled every 5 ms). Client CPU is the load generator's own utime+stime over the same window: the mode's client library (Go's HTTP/1.1 client for direct, the bare unary stub for the floor, Go's HTTP/2 client for the anchors, ` + "`client.Transport`" + ` for the gateway) plus the generator's bookkeeping, which is the same in every mode.
`)
	return b.String()
}

func (r *report) cellsOf(workload string) []*cellResult {
	var out []*cellResult
	for _, c := range r.Cells {
		if c.Workload == workload {
			out = append(out, c)
		}
	}
	return out
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}
