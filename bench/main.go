// Command msgbench puts the gateway beside direct access and an nginx mTLS
// reverse proxy in one run, with the same closed-loop load generator, and
// writes a Markdown table, a JSON file and a PNG chart. `make bench` runs it
// (see scripts/bench.sh, which builds the gateway and installs nginx).
//
//	msgbench -gateway BIN [-nginx BIN] [-out DIR] [-quick] [-only LIST] [-conc LIST] [-keep]
//	msgbench ... -baseline-gateway BIN -baseline-harness BIN
//	msgbench floods -gateway BIN [-only LIST] [-duration D] [-settle D] [-sockets N]
//
// The second form adds a "gateway (baseline)" mode: another checkout's
// msg-gateway, driven by a msgbench built in that checkout (its "load"
// subcommand, so with that checkout's client library), in the same run, for
// before-and-after numbers of a change.
//
// The third form floods the gateway with the attacks of docs/SECURITY.md,
// one at a time, beside a legitimate client (see floods.go).
//
// Three processes sit behind the load generator, each its own: the backend
// (this binary's "backend" subcommand), the gateway (msg-gateway serve, so
// its CPU time and memory come from /proc/<pid>) and nginx (one worker).
// Every cell runs each mode in turn, repetition after repetition, with the
// order rotated, so that drift on a shared machine spreads over all modes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		if err := runLoad(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "floods" {
		if err := runFloods(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "floods:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		if err := runFloor(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "backend" {
		if err := runBackend(); err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "msgbench:", err)
		os.Exit(1)
	}
}

// plan is what a run measures and for how long.
type plan struct {
	Quick       bool          `json:"quick"`
	Reps        int           `json:"repetitions"`
	Warm        time.Duration `json:"warm_up_ns"`
	Window      time.Duration `json:"window_ns"`
	Downloads16 int           `json:"downloads_16mib_per_rep"`
	Downloads   int           `json:"downloads_256mib_per_rep"`
	IdleConns   int           `json:"idle_connections"`
	IdleReps    int           `json:"idle_repetitions"`
	Handshake   time.Duration `json:"handshake_window_ns"`
	HSReps      int           `json:"handshake_repetitions"`
}

func newPlan(quick bool) plan {
	if quick {
		return plan{Quick: true, Reps: 2, Warm: 300 * time.Millisecond, Window: time.Second,
			Downloads16: 8, Downloads: 1, IdleConns: 10000, IdleReps: 1, Handshake: 1500 * time.Millisecond, HSReps: 1}
	}
	return plan{Reps: 5, Warm: 500 * time.Millisecond, Window: 4 * time.Second,
		Downloads16: 24, Downloads: 2, IdleConns: 10000, IdleReps: 3, Handshake: 4 * time.Second, HSReps: 3}
}

func run() error {
	gatewayBin := flag.String("gateway", "", "the msg-gateway binary (required)")
	nginxBin := flag.String("nginx", "nginx", "the nginx binary; empty to leave nginx out")
	haproxyBin := flag.String("haproxy", "haproxy", "the HAProxy binary; empty to leave HAProxy out")
	caddyBin := flag.String("caddy", "caddy", "the Caddy binary; empty to leave Caddy out")
	noFloor := flag.Bool("no-floor", false, "leave out the floor (a bare grpc-go server and client)")
	out := flag.String("out", "docs/benchmarks", "directory for results.md, results.json and chart.png")
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "the short run (about a minute); default from BENCH_QUICK=1")
	only := flag.String("only", "", "comma-separated workloads to run (get1k,post64k,get16m,get256m,idle,handshake); default all")
	concList := flag.String("conc", "1,16,64", "the concurrencies of the GET 1 KiB workload")
	keep := flag.Bool("keep", false, "keep the work directory (logs, configs) after the run")
	baseGateway := flag.String("baseline-gateway", "", "also measure this msg-gateway binary (built from another checkout) as mode \"before\"...")
	baseHarness := flag.String("baseline-harness", "", "... driven by this msgbench binary built from the same checkout (its client library)")
	flag.Parse()
	if *gatewayBin == "" {
		return errors.New("-gateway BIN is required")
	}
	work, err := os.MkdirTemp("", "msgbench-")
	if err != nil {
		return err
	}
	startGW := func(cfgFile string) (*child, string, string, error) {
		return startGateway(work, *gatewayBin, cfgFile)
	}
	p := newPlan(*quick)
	selected := func(name string) bool {
		if *only == "" {
			return true
		}
		for _, w := range strings.Split(*only, ",") {
			if strings.TrimSpace(w) == name {
				return true
			}
		}
		return false
	}
	raiseFileLimit()

	var children []*child
	cleanup := func() {
		for i := len(children) - 1; i >= 0; i-- {
			children[i].stop()
		}
		if !*keep {
			os.RemoveAll(work)
		}
	}
	defer cleanup()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "msgbench: interrupted, stopping the processes it started")
		cleanup()
		os.Exit(130)
	}()

	rep := &report{Plan: p, Env: environment(*nginxBin)}
	rep.Env.anchors(*haproxyBin, *caddyBin)
	progress := func(msg string) {
		fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), msg)
	}
	progress(fmt.Sprintf("work directory %s; load average %.2f; %s", work, rep.Env.LoadBefore, modeLine(p)))

	f, err := writePKI(work)
	if err != nil {
		return err
	}
	backend, backendAddr, err := startBackend(work)
	if err != nil {
		return err
	}
	children = append(children, backend)
	progress("backend on " + backendAddr)

	cfgFile, err := writeGatewayConfig(work, "gateway", backendAddr, f)
	if err != nil {
		return err
	}
	gw, gwAddr, _, err := startGW(cfgFile)
	if err != nil {
		return err
	}
	children = append(children, gw)
	progress(fmt.Sprintf("gateway pid %d on %s", gw.cmd.Process.Pid, gwAddr))

	targets := []*target{directTarget(backendAddr)}
	var ngx *child
	if rep.Env.Nginx != "" {
		var ngxAddr string
		ngx, ngxAddr, err = startNginx(work, *nginxBin, rep.Env.Nginx, backendAddr, f)
		if err != nil {
			return err
		}
		children = append(children, ngx)
		progress(fmt.Sprintf("nginx %s pids %v on %s", rep.Env.Nginx, ngx.pids, ngxAddr))
		targets = append(targets, nginxTarget("nginx", ngxAddr, f, ngx))
	} else {
		progress("nginx left out: " + rep.Env.NginxNote)
	}
	more, err := startAnchors(work, *haproxyBin, *caddyBin, *noFloor, backendAddr, f, &rep.Env, progress)
	for _, t := range more {
		if t.proxy != nil {
			children = append(children, t.proxy)
		}
	}
	if err != nil {
		return err
	}
	targets = append(targets, more...)
	gt, err := gatewayTarget(gwAddr, f, gw)
	if err != nil {
		return err
	}
	targets = append(targets, gt)
	if *baseGateway != "" && *baseHarness != "" {
		bcfg, err := writeGatewayConfig(work, "before", backendAddr, f)
		if err != nil {
			return err
		}
		bgw, baddr, _, err := startGateway(work, *baseGateway, bcfg)
		if err != nil {
			return err
		}
		children = append(children, bgw)
		progress(fmt.Sprintf("baseline gateway pid %d on %s", bgw.cmd.Process.Pid, baddr))
		targets = append(targets, &target{name: "before", proxy: bgw, addr: baddr, harness: *baseHarness, close: func() {}})
	}
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()

	// Warm every path once: connections, TLS sessions, the backend's pool.
	body64k := make([]byte, 64<<10)
	for _, t := range targets {
		if t.harness != "" {
			continue
		}
		buf := make([]byte, 64<<10)
		for range 50 {
			if _, err := do(t, getPath("/1k"), buf); err != nil {
				return fmt.Errorf("%s: warm-up: %w", t.name, err)
			}
			if !t.takes("post64k") {
				continue
			}
			if _, err := do(t, postBody("/echo", body64k), buf); err != nil {
				return fmt.Errorf("%s: warm-up: %w", t.name, err)
			}
		}
	}

	var concs []int
	for _, c := range strings.Split(*concList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-conc %q: want positive integers", *concList)
		}
		concs = append(concs, n)
	}
	for _, c := range cells(p, concs, body64k) {
		if !selected(c.workload) {
			continue
		}
		res := &cellResult{ID: c.id, Workload: c.workload, Title: c.title, Concurrency: c.conc, Size: c.size, Modes: map[string]*modeResult{}}
		for r := range p.Reps {
			for i := range targets {
				t := targets[(i+r)%len(targets)]
				if !t.takes(c.workload) {
					continue
				}
				var s sample
				if t.harness != "" {
					if s, err = remoteSample(t, c, p, f); err != nil {
						return err
					}
				} else if c.downloads > 0 {
					s = transfers(t, c.mk, c.size, c.downloads)
				} else {
					s = closedLoop(t, c.mk, c.conc, p.Warm, p.Window)
				}
				m := res.Modes[t.name]
				if m == nil {
					m = &modeResult{Transfer: c.downloads > 0}
					res.Modes[t.name] = m
				}
				m.Samples = append(m.Samples, s)
				progress(fmt.Sprintf("%-16s rep %d/%d %-7s %s", c.id, r+1, p.Reps, t.name, s.line(c.downloads > 0)))
			}
		}
		for _, m := range res.Modes {
			m.summarize()
		}
		rep.Cells = append(rep.Cells, res)
	}
	for _, t := range targets {
		t.close()
	}

	// Connection tests run on a fresh gateway, so that neither the heap of
	// the transfers nor their garbage hides the connections' memory.
	if selected("idle") || selected("handshake") {
		gw.stop()
		if selected("idle") {
			for r := range p.IdleReps {
				// A fresh store too: opening one full of audit records
				// would page it in and blur the baseline.
				idleCfg, err := writeGatewayConfig(work, fmt.Sprintf("idle-%d", r+1), backendAddr, f)
				if err != nil {
					return err
				}
				fresh, addr, admin, err := startGW(idleCfg)
				if err != nil {
					return err
				}
				children = append(children, fresh)
				ir := idleConnections(addr, admin, f, fresh, p.IdleConns, 2*time.Second, progress)
				progress(fmt.Sprintf("idle rep %d/%d: %d connections in %.1fs, gateway RSS %.0f -> %.0f MiB: %.1f KiB per connection (heap in use %.1f KiB, stacks %.1f KiB, %.1f goroutines)",
					r+1, p.IdleReps, ir.Connections, ir.OpenSeconds, ir.RSSBeforeMiB, ir.RSSAfterMiB, ir.RSSPerConnKiB, ir.HeapPerConnKiB, ir.StackPerConnKiB, ir.GoroutinesAfter))
				if ir.Errors > 0 {
					progress(fmt.Sprintf("idle: %d connections failed, first: %s", ir.Errors, ir.FirstError))
				}
				rep.Idle = append(rep.Idle, ir)
				fresh.stop()
			}
		}
		if selected("handshake") {
			hsCfg, err := writeGatewayConfig(work, "handshakes", backendAddr, f)
			if err != nil {
				return err
			}
			fresh, addr, _, err := startGW(hsCfg)
			if err != nil {
				return err
			}
			children = append(children, fresh)
			type hsTarget struct {
				name  string
				addr  string
				proxy *child
			}
			hts := []hsTarget{{"gateway", addr, fresh}}
			for _, t := range targets {
				if t.name == "nginx" {
					hts = append(hts, hsTarget{"nginx", strings.TrimPrefix(t.base, "https://"), ngx})
				}
			}
			rep.Handshakes = map[string]map[string][]handshakeResult{}
			for r := range p.HSReps {
				for _, ht := range hts {
					for _, resume := range []bool{false, true} {
						kind := "full"
						if resume {
							kind = "resumed"
						}
						hr := handshakes(ht.addr, f, ht.proxy, resume, 4, p.Handshake)
						if rep.Handshakes[ht.name] == nil {
							rep.Handshakes[ht.name] = map[string][]handshakeResult{}
						}
						rep.Handshakes[ht.name][kind] = append(rep.Handshakes[ht.name][kind], hr)
						progress(fmt.Sprintf("handshakes rep %d/%d %-7s %-7s %6.0f/s, %6.0f per proxy CPU-second (%d resumed, %d errors %s)",
							r+1, p.HSReps, ht.name, kind, hr.PerSecond, hr.PerCoreSecond, hr.Resumed, hr.Errors, hr.FirstError))
					}
				}
			}
			fresh.stop()
		}
	}

	rep.Env.LoadAfter = loadAverage()
	rep.Generated = time.Now().UTC()
	rep.evaluate()
	if err := rep.write(*out); err != nil {
		return err
	}
	progress(fmt.Sprintf("load average %.2f; wrote %s", rep.Env.LoadAfter, strings.Join([]string{
		filepath.Join(*out, "results.md"), filepath.Join(*out, "results.json"), filepath.Join(*out, "chart.png")}, ", ")))
	fmt.Println(rep.targetsTable())
	return nil
}

func modeLine(p plan) string {
	if p.Quick {
		return "quick run (BENCH_QUICK=1)"
	}
	return "full run"
}

// cell is one workload at one concurrency.
type cell struct {
	id, workload, title string
	conc                int
	size                int64
	downloads           int // > 0: sequential downloads instead of a closed loop
	mk                  request
	path                string // what mk requests, for the baseline harness
	post                bool   // mk posts size bytes
}

func cells(p plan, concs []int, body []byte) []cell {
	var cs []cell
	for _, c := range concs {
		cs = append(cs, cell{id: fmt.Sprintf("get1k-c%d", c), workload: "get1k", title: "GET 1 KiB", conc: c, size: 1024, path: "/1k"})
	}
	cs = append(cs,
		cell{id: "post64k-c16", workload: "post64k", title: "POST 64 KiB echo", conc: 16, size: 64 << 10, path: "/echo", post: true},
		cell{id: "get16m", workload: "get16m", title: "GET 16 MiB", conc: 1, size: 16 << 20, downloads: p.Downloads16, path: fmt.Sprintf("/bytes?n=%d", 16<<20)},
		cell{id: "get256m", workload: "get256m", title: "GET 256 MiB", conc: 1, size: 256 << 20, downloads: p.Downloads, path: fmt.Sprintf("/bytes?n=%d", 256<<20)},
	)
	for i := range cs {
		cs[i].mk = getPath(cs[i].path)
		if cs[i].post {
			cs[i].mk = postBody(cs[i].path, body[:cs[i].size])
		}
	}
	return cs
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit: the idle
// test holds 10,000 connections, and the children inherit the limit.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// env describes the machine and the software measured.
type env struct {
	GoVersion   string  `json:"go_version"`
	Nginx       string  `json:"nginx_version,omitempty"`
	NginxNote   string  `json:"nginx_note,omitempty"`
	HAProxy     string  `json:"haproxy_version,omitempty"`
	HAProxyNote string  `json:"haproxy_note,omitempty"`
	Caddy       string  `json:"caddy_version,omitempty"`
	CaddyNote   string  `json:"caddy_note,omitempty"`
	Kernel      string  `json:"kernel"`
	CPU         string  `json:"cpu"`
	Cores       int     `json:"cores"`
	Commit      string  `json:"commit"`
	LoadBefore  float64 `json:"load_average_before"`
	LoadAfter   float64 `json:"load_average_after"`
	FileLimit   uint64  `json:"rlimit_nofile"`
}

func environment(nginxBin string) env {
	e := env{GoVersion: runtime.Version(), Cores: runtime.NumCPU(), LoadBefore: loadAverage()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		e.Commit = strings.TrimSpace(string(out))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		e.FileLimit = lim.Cur
	}
	switch {
	case nginxBin == "":
		e.NginxNote = "disabled with -nginx ''"
	default:
		path, err := exec.LookPath(nginxBin)
		if err != nil {
			e.NginxNote = err.Error()
			break
		}
		if v, err := nginxVersion(path); err == nil {
			e.Nginx = v
		} else {
			e.NginxNote = err.Error()
		}
	}
	return e
}
