package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/h2attack"
	"github.com/msg-gateway/msg/internal/pki"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The floods subcommand runs the gateway binary as a child process and
// floods it, one attack at a time, while a legitimate client keeps calling:
//
//	msgbench floods -gateway BIN [-only LIST] [-duration 10s] [-settle 15s] [-sockets 3000] [-keep] [-legacy-config]
//
// Every flood is bounded in count and time, uses loopback addresses only,
// and stops by itself. For each it prints the legitimate calls that
// succeeded and failed, the gateway's peak RSS growth during the flood, and
// its RSS, heap and goroutines once the flood has been over for -settle.
// `make floods` runs it (scripts/floods.sh builds the binaries).

// floodHost is the internal host of the flood runs.
const floodHost = "floods.internal"

const floodConfig = `# Written by msgbench floods.
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
admin:
  tokens: [{name: msgbench, sha256: %q, role: ADMIN_ROLE_VIEWER}]   # /metrics needs a token
data_dir: %q
tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
log: {level: info, format: json}
# Production defaults, except: the timeouts that end what an attacker holds
# after its request, shortened so that a run takes minutes (first message,
# and a response the client does not read), and max_connections, below the
# silent sockets of the flood so that they could fill it if nothing else
# stopped them.
limits:
  max_connections: %d
%shosts:
  - name: %s
    upstream: http://%s
    allowed_cidrs: [127.0.0.0/8]
rules:
  - id: apps
    effect: allow
    principals: [{id: legit}, {id: thief}]
    hosts: [%s]
`

const (
	forwardMethod = "/msg.gateway.v1.GatewayService/Forward"
	streamMethod  = "/msg.gateway.v1.GatewayService/ForwardStream"
)

// floodPKI is the run's CA and the client identities: legit and thief are
// allowed by the policy (thief stands for a stolen certificate), mallory is
// denied everything.
type floodPKI struct {
	caFile, serverCert, serverKey string
	roots                         *x509.CertPool
	ids                           map[string]tls.Certificate
}

func writeFloodPKI(dir string) (*floodPKI, error) {
	ca, err := pki.NewCA("msgbench floods CA")
	if err != nil {
		return nil, err
	}
	p := &floodPKI{caFile: filepath.Join(dir, "ca.pem"), roots: ca.Pool(), ids: map[string]tls.Certificate{}}
	if err := os.WriteFile(p.caFile, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	srv, err := ca.Issue(pki.Localhost())
	if err != nil {
		return nil, err
	}
	if p.serverCert, p.serverKey, err = srv.WriteFiles(dir, "server"); err != nil {
		return nil, err
	}
	for _, cn := range []string{"legit", "thief", "mallory"} {
		l, err := ca.Issue(pki.Options{CommonName: cn})
		if err != nil {
			return nil, err
		}
		p.ids[cn] = l.TLSCertificate()
	}
	return p, nil
}

func (p *floodPKI) tls(cn string) *tls.Config {
	return &tls.Config{RootCAs: p.roots, Certificates: []tls.Certificate{p.ids[cn]}, ServerName: "localhost"}
}

// flood is one attack: run floods addr until ctx is done and says what it
// did.
type flood struct {
	name string
	run  func(ctx context.Context, f *floodRun) string
}

// floodRun is what a flood needs: the gateway and the identities. A flood
// stops attacking when its context ends, but its connections stay open
// until hold ends (after the gateway was measured), as an attacker's
// would: what the gateway does not end itself shows in the "after"
// columns.
type floodRun struct {
	addr    string
	pki     *floodPKI
	sockets int
	hold    context.Context
}

var floods = []flood{
	{"compression", compressionFlood},
	{"zero-window", zeroWindowFlood},
	{"silent-sockets", silentSocketFlood},
	{"held-streams", heldStreamFlood},
	{"settings", settingsFlood},
	{"rapid-reset", rapidResetFlood},
}

// floodResult is one row of the table.
type floodResult struct {
	name, did            string
	ok, failed           int64
	firstErr             string
	peakRSS, rssAfter    float64 // MiB over the baseline
	heapAfter            float64 // MiB over the baseline
	goBefore, goAfter    float64
	goLeft               float64       // once the attacker closed its connections
	slowest              time.Duration // the slowest legitimate call
	counters             map[string]float64
	baseRSS, baseHeapMiB float64
}

func runFloods(args []string) error {
	fs := flag.NewFlagSet("floods", flag.ExitOnError)
	gatewayBin := fs.String("gateway", "", "the msg-gateway binary (required)")
	only := fs.String("only", "", "comma-separated floods to run (compression,zero-window,silent-sockets,held-streams,settings,rapid-reset); default all")
	dur := fs.Duration("duration", 10*time.Second, "how long each flood runs")
	settle := fs.Duration("settle", 15*time.Second, "how long after a flood the gateway's RSS, heap and goroutines are read")
	sockets := fs.Int("sockets", 3000, "silent sockets, from four source addresses (127.0.0.2-5)")
	keep := fs.Bool("keep", false, "keep the work directory (logs, config) after the run")
	legacy := fs.Bool("legacy-config", false, "leave out the limits keys older gateways do not know, to measure a build from before them")
	_ = fs.Parse(args)
	if *gatewayBin == "" {
		return errors.New("-gateway BIN is required")
	}
	work, err := os.MkdirTemp("", "msgfloods-")
	if err != nil {
		return err
	}
	var children []*child
	defer func() {
		for i := len(children) - 1; i >= 0; i-- {
			children[i].stop()
		}
		if !*keep {
			os.RemoveAll(work)
		}
	}()
	raiseFileLimit()
	progress := func(msg string) { fmt.Fprintf(os.Stderr, "[floods %s] %s\n", time.Now().Format("15:04:05"), msg) }

	p, err := writeFloodPKI(work)
	if err != nil {
		return err
	}
	backend, backendAddr, err := startBackend(work)
	if err != nil {
		return err
	}
	children = append(children, backend)
	sum := sha256.Sum256([]byte(metricsToken))
	newLimits := "  first_message_timeout: 5s\n  response_write_timeout: 5s\n"
	if *legacy {
		newLimits = ""
	}
	var results []floodResult
	for _, fl := range floods {
		if *only != "" && !strings.Contains(","+*only+",", ","+fl.name+",") {
			continue
		}
		// A gateway of its own for every flood: one flood's leftovers (RSS
		// not yet returned, pools) never count against the next.
		cfg := filepath.Join(work, fl.name+".yaml")
		text := fmt.Sprintf(floodConfig, hex.EncodeToString(sum[:]), filepath.Join(work, fl.name+"-data"), p.serverCert, p.serverKey, p.caFile,
			max(*sockets*2/3, 100), newLimits, floodHost, backendAddr, floodHost)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			return err
		}
		gw, addr, adminAddr, err := startGateway(work, *gatewayBin, cfg)
		if err != nil {
			return err
		}
		children = append(children, gw)
		if scrapeAll(adminAddr)["go_goroutines"] == 0 {
			return errors.New("cannot read the gateway's /metrics")
		}
		fr := &floodRun{addr: addr, pki: p, sockets: *sockets}
		nudge, err := newNudger(fr)
		if err != nil {
			return err
		}
		// The baseline is a gateway that has served legitimate concurrency:
		// its stream workers started and its pool of idle upstream
		// connections (two goroutines each) as large as a flood makes it.
		if err := nudge.warm(100); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		progress(fmt.Sprintf("%s: gateway pid %d on %s; flooding for %s", fl.name, gw.cmd.Process.Pid, addr, dur))
		r := measureFlood(fl, fr, gw, adminAddr, nudge, *dur, *settle)
		nudge.close()
		progress(fmt.Sprintf("%s: %s; legit %d ok, %d failed; peak RSS +%.1f MiB", fl.name, r.did, r.ok, r.failed, r.peakRSS))
		if gw.exited() {
			return errors.New("the gateway exited: " + gw.logTail())
		}
		gw.stop()
		results = append(results, r)
	}
	printFloods(os.Stdout, results, *dur, *settle)
	for _, r := range results {
		if r.failed > 0 {
			return fmt.Errorf("%s: %d legitimate calls failed (first: %s)", r.name, r.failed, r.firstErr)
		}
	}
	return nil
}

// measureFlood runs one flood beside the legitimate client and samples the
// gateway; the attacker's connections stay open until it has been measured.
func measureFlood(fl flood, fr *floodRun, gw *child, adminAddr string, nudge *nudger, dur, settle time.Duration) floodResult {
	r := floodResult{name: fl.name}
	collectGarbage(adminAddr, nudge, 30*time.Second)
	before := scrapeAll(adminAddr)
	r.goBefore = before["go_goroutines"]
	r.baseHeapMiB = liveHeapMiB(before)
	r.baseRSS = float64(readMemory(gw.pids).RSS) / (1 << 20)

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var peak atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if m := readMemory(gw.pids).RSS; m > peak.Load() {
				peak.Store(m)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	hold, release := context.WithCancel(context.Background())
	defer release()
	fr.hold = hold
	lg := &legitClient{}
	legitDone := make(chan struct{})
	go func() { defer close(legitDone); lg.run(ctx, fr) }()
	r.did = fl.run(ctx, fr)
	<-legitDone
	<-sampled
	r.ok, r.failed = lg.ok.Load(), lg.failed.Load()
	r.slowest = time.Duration(lg.slowest.Load())
	if e, ok := lg.firstErr.Load().(string); ok {
		r.firstErr = e
	}
	r.peakRSS = float64(peak.Load())/(1<<20) - r.baseRSS

	// The attacker stays connected: what the gateway holds now, it holds
	// for as long as the attacker wants.
	time.Sleep(settle)
	collectGarbage(adminAddr, nudge, 30*time.Second)
	time.Sleep(rssSettle)
	after := scrapeAll(adminAddr)
	r.goAfter = after["go_goroutines"]
	r.heapAfter = liveHeapMiB(after) - r.baseHeapMiB
	r.rssAfter = float64(readMemory(gw.pids).RSS)/(1<<20) - r.baseRSS
	// Then it leaves.
	release()
	r.goLeft = r.goAfter
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(250 * time.Millisecond) {
		if r.goLeft = scrapeAll(adminAddr)["go_goroutines"]; r.goLeft <= r.goBefore {
			break
		}
	}
	r.counters = map[string]float64{}
	for k, v := range after {
		if strings.HasPrefix(k, "msg_calls_refused_total") || strings.HasPrefix(k, "msg_connections_closed_total") ||
			strings.HasPrefix(k, "msg_connections_refused_total") || strings.HasPrefix(k, "msg_ratelimit_rejections_total") {
			if d := v - before[k]; d > 0 {
				r.counters[k] = d
			}
		}
	}
	return r
}

// rssSettle is how long after the garbage collections the RSS is read:
// the runtime returns freed pages to the system in the background.
const rssSettle = 5 * time.Second

func printFloods(w io.Writer, rs []floodResult, dur, settle time.Duration) {
	fmt.Fprintf(w, "\nFloods of %s each, against a gateway of its own, beside a legitimate client (a call every 100 ms,\n", dur)
	fmt.Fprintf(w, "and one on a new connection every 500 ms). Growth is over the gateway at the flood's start, after\n")
	fmt.Fprintf(w, "legitimate calls made it collect garbage twice. \"After\": the attacker stopped but kept its connections\n")
	fmt.Fprintf(w, "open for %s, then legitimate calls made the gateway collect garbage twice, and %s later the gateway\n", settle, rssSettle)
	fmt.Fprintf(w, "was read; then the attacker closed its connections (\"left\"). Live heap: what the last collection\n")
	fmt.Fprintf(w, "found live (go_memstats_next_gc_bytes / 2). An open idle connection costs the gateway 3 goroutines.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "flood\tlegit ok\tlegit failed\tslowest legit\tpeak RSS growth\tRSS growth after\tlive heap growth after\tgoroutines before / after / left\tattacker")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%+.1f MiB\t%+.1f MiB\t%+.1f MiB\t%.0f / %.0f / %.0f\t%s\n",
			r.name, r.ok, r.failed, r.slowest.Round(time.Millisecond), r.peakRSS, r.rssAfter, r.heapAfter, r.goBefore, r.goAfter, r.goLeft, r.did)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nGateway counters during each flood:")
	for _, r := range rs {
		keys := make([]string, 0, len(r.counters))
		for k := range r.counters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, r.counters[k]))
		}
		fmt.Fprintf(w, "  %s: %s\n", r.name, strings.Join(parts, ", "))
	}
}

// scrapeAll reads every series of the gateway's /metrics, labels included
// in the key (e.g. `msg_calls_refused_total{reason="compressed"}`).
func scrapeAll(adminAddr string) map[string]float64 {
	out := map[string]float64{}
	req, err := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		return out
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// legitClient is an app with the official client library: a call every
// 100 ms on its long-lived connection, and every 500 ms one on a brand-new
// connection (so a flood that blocks new handshakes shows).
type legitClient struct {
	ok, failed atomic.Int64
	firstErr   atomic.Value
	slowest    atomic.Int64 // nanoseconds
}

func (l *legitClient) call(t *client.Transport) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	defer func() {
		d := int64(time.Since(start))
		for {
			s := l.slowest.Load()
			if d <= s || l.slowest.CompareAndSwap(s, d) {
				return
			}
		}
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+floodHost+"/1k", nil)
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err == nil {
		n, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case rerr != nil:
			err = rerr
		case resp.StatusCode != http.StatusOK || n != 1024:
			err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
	if err != nil {
		l.failed.Add(1)
		l.firstErr.CompareAndSwap(nil, err.Error())
		return
	}
	l.ok.Add(1)
}

func (l *legitClient) newTransport(fr *floodRun) (*client.Transport, error) {
	return client.New(fr.addr, client.WithCertificate(fr.pki.ids["legit"]), client.WithRootCAs(fr.pki.roots), client.WithServerName("localhost"))
}

func (l *legitClient) run(ctx context.Context, fr *floodRun) {
	long, err := l.newTransport(fr)
	if err != nil {
		l.failed.Add(1)
		l.firstErr.CompareAndSwap(nil, err.Error())
		return
	}
	defer long.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		l.call(long)
		if i%5 == 0 {
			fresh, err := l.newTransport(fr)
			if err != nil {
				l.failed.Add(1)
				l.firstErr.CompareAndSwap(nil, err.Error())
				continue
			}
			l.call(fresh)
			fresh.Close()
		}
	}
}

// collectGarbage makes legitimate calls until the gateway has collected
// garbage twice (or for at most max): before that, its heap and RSS still
// count what a flood left behind, as garbage or in buffer pools (sync.Pool
// keeps objects through one collection). Production traffic does the same.
func collectGarbage(adminAddr string, nudge *nudger, max time.Duration) {
	const gcs = "go_gc_duration_seconds_count"
	from := scrapeAll(adminAddr)[gcs]
	for start := time.Now(); time.Since(start) < max; {
		if scrapeAll(adminAddr)[gcs] >= from+2 {
			return
		}
		nudge.call()
	}
}

// liveHeapMiB is the heap that the gateway's last garbage collection found
// live: the collector sets the next goal at twice it (GOGC 100, and at
// least 4 MiB).
func liveHeapMiB(m map[string]float64) float64 {
	return m["go_memstats_next_gc_bytes"] / 2 / (1 << 20)
}

// nudger is the legitimate client's unary side: Forward calls whose 1 MiB
// responses the gateway holds in memory while relaying them.
type nudger struct {
	conn *grpc.ClientConn
	gw   gatewayv1.GatewayServiceClient
}

func newNudger(fr *floodRun) (*nudger, error) {
	conn, err := grpc.NewClient(fr.addr, grpc.WithTransportCredentials(credentials.NewTLS(fr.pki.tls("legit"))))
	if err != nil {
		return nil, err
	}
	return &nudger{conn: conn, gw: gatewayv1.NewGatewayServiceClient(conn)}, nil
}

func (n *nudger) close() { n.conn.Close() }

func (n *nudger) forward(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := n.gw.Forward(ctx, &gatewayv1.ForwardRequest{Host: floodHost, Method: "GET", Path: path})
	if err == nil && resp.GetStatusCode() != http.StatusOK {
		err = fmt.Errorf("status %d", resp.GetStatusCode())
	}
	return err
}

func (n *nudger) call() { _ = n.forward("/bytes?n=1048576") }

// warm makes conc calls at once, each held 300 ms by the backend: they
// overlap, so the relay's pool ends up with conc idle upstream connections.
func (n *nudger) warm(conc int) error {
	errs := make(chan error, conc)
	for range conc {
		go func() { errs <- n.forward("/slow?ms=300") }()
	}
	var first error
	for range conc {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// forwardRequest is the wire form of a bodiless ForwardRequest.
func forwardRequest(method, path string) []byte {
	b, _ := proto.Marshal(&gatewayv1.ForwardRequest{Host: floodHost, Method: method, Path: path})
	return b
}

// dialAttacker opens an attacker connection that closes when fr.hold ends.
func dialAttacker(ctx context.Context, fr *floodRun, cn string, settings ...http2.Setting) (*h2attack.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := h2attack.Dial(dctx, fr.addr, fr.pki.tls(cn), settings...)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(fr.hold, func() { c.Close() })
	return c, nil
}

func hpackField(name, value string) hpack.HeaderField {
	return hpack.HeaderField{Name: name, Value: value}
}

// closeUnlessOver closes an attacker connection at the end of a round, but
// keeps it open once the flood is over (fr.hold closes it).
func closeUnlessOver(ctx context.Context, c *h2attack.Conn) {
	if ctx.Err() == nil {
		c.Close()
	}
}

// workers runs n copies of f until ctx is done.
func workers(ctx context.Context, n int, f func(ctx context.Context)) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	wg.Wait()
}

// compressionFlood: a certificate the policy denies sends gzip bombs (about
// 16 KiB each that inflate to 16 MiB, the default max_message_bytes) on
// four connections, 25 at a time on each.
func compressionFlood(ctx context.Context, fr *floodRun) string {
	head := forwardRequest("POST", "/bomb")
	head = protowire.AppendTag(head, 5, protowire.BytesType)
	const inflated = 16<<20 - 64<<10
	head = protowire.AppendVarint(head, inflated)
	bomb := h2attack.GzipBomb(head, inflated)
	gz := hpackField("grpc-encoding", "gzip")
	var sent, refused atomic.Int64
	workers(ctx, 4, func(ctx context.Context) {
		for ctx.Err() == nil {
			c, err := dialAttacker(ctx, fr, "mallory")
			if err != nil {
				return
			}
			var ids []uint32
			for range 25 {
				id, err := c.Headers(forwardMethod, false, gz)
				if err != nil || c.Message(id, true, bomb, true) != nil {
					break
				}
				ids = append(ids, id)
				sent.Add(1)
			}
			for _, id := range ids {
				if o, err := c.Wait(ctx, id); err == nil && o.GRPCStatus == 12 {
					refused.Add(1)
				}
			}
			closeUnlessOver(ctx, c)
		}
	})
	return fmt.Sprintf("%d gzip bombs of %d bytes (16 MiB inflated), %d refused with Unimplemented", sent.Load(), len(bomb), refused.Load())
}

// zeroWindowFlood: an allowed (stolen) certificate asks for 2 MiB Forward
// responses with SETTINGS_INITIAL_WINDOW_SIZE 0 on two connections, 50
// calls each, and never reads; it reconnects when the gateway drops it.
func zeroWindowFlood(ctx context.Context, fr *floodRun) string {
	req := forwardRequest("GET", "/bytes?n=2097152")
	var calls, conns, dropped atomic.Int64
	workers(ctx, 2, func(ctx context.Context) {
		for ctx.Err() == nil {
			c, err := dialAttacker(ctx, fr, "thief", http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
			if err != nil {
				return
			}
			conns.Add(1)
			for range 50 {
				id, err := c.Headers(forwardMethod, false)
				if err != nil || c.Message(id, false, req, true) != nil {
					break
				}
				calls.Add(1)
			}
			select {
			case <-c.Closed():
				dropped.Add(1)
			case <-ctx.Done():
			}
			closeUnlessOver(ctx, c)
		}
	})
	return fmt.Sprintf("%d calls for 2 MiB on %d zero-window connections, %d connections dropped by the gateway", calls.Load(), conns.Load(), dropped.Load())
}

// silentSocketFlood: TCP connections that never send a byte, from four
// source addresses, held until the flood ends.
func silentSocketFlood(ctx context.Context, fr *floodRun) string {
	var mu sync.Mutex
	var held []net.Conn
	var opened, failed atomic.Int64
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+s))}, Timeout: 5 * time.Second}
			for range fr.sockets / 4 {
				if ctx.Err() != nil {
					return
				}
				c, err := d.DialContext(ctx, "tcp", fr.addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				opened.Add(1)
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-ctx.Done()
	closedByGateway := 0
	for _, c := range held {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
			closedByGateway++
		}
		context.AfterFunc(fr.hold, func() { c.Close() })
	}
	return fmt.Sprintf("%d silent sockets from 4 addresses (%d dials failed), %d closed by the gateway", opened.Load(), failed.Load(), closedByGateway)
}

// heldStreamFlood: a denied certificate opens 100 calls per connection on
// four connections, sends their headers and never a message, and starts
// over when they end.
func heldStreamFlood(ctx context.Context, fr *floodRun) string {
	var opened, ended atomic.Int64
	workers(ctx, 4, func(ctx context.Context) {
		for ctx.Err() == nil {
			c, err := dialAttacker(ctx, fr, "mallory")
			if err != nil {
				return
			}
			var ids []uint32
			for i := range 100 {
				m := forwardMethod
				if i%2 == 1 {
					m = streamMethod
				}
				id, err := c.Headers(m, false)
				if err != nil {
					break
				}
				ids = append(ids, id)
				opened.Add(1)
			}
			for _, id := range ids {
				if _, err := c.Wait(ctx, id); err == nil {
					ended.Add(1)
				}
			}
			closeUnlessOver(ctx, c)
		}
	})
	return fmt.Sprintf("%d calls held without a message, %d ended by the gateway", opened.Load(), ended.Load())
}

// settingsFlood: SETTINGS frames as fast as two connections can write
// them, reconnecting when the gateway closes one.
func settingsFlood(ctx context.Context, fr *floodRun) string {
	var frames, closed atomic.Int64
	workers(ctx, 2, func(ctx context.Context) {
		for ctx.Err() == nil {
			c, err := dialAttacker(ctx, fr, "mallory")
			if err != nil {
				return
			}
			for ctx.Err() == nil {
				n, err := c.SettingsFlood(1000)
				frames.Add(int64(n))
				if errors.Is(err, h2attack.ErrClosed) {
					closed.Add(1)
					break
				}
			}
			closeUnlessOver(ctx, c)
		}
	})
	return fmt.Sprintf("%d SETTINGS frames, %d connections closed by the gateway", frames.Load(), closed.Load())
}

// rapidResetFlood: HEADERS then RST_STREAM, over and over, on two
// connections, reconnecting when the gateway closes one.
func rapidResetFlood(ctx context.Context, fr *floodRun) string {
	var resets, closed atomic.Int64
	workers(ctx, 2, func(ctx context.Context) {
		for ctx.Err() == nil {
			c, err := dialAttacker(ctx, fr, "mallory")
			if err != nil {
				return
			}
			for ctx.Err() == nil {
				n, err := c.RapidReset(forwardMethod, 1000)
				resets.Add(int64(n))
				if errors.Is(err, h2attack.ErrClosed) {
					closed.Add(1)
					break
				}
			}
			closeUnlessOver(ctx, c)
		}
	})
	return fmt.Sprintf("%d streams opened and reset, %d connections closed by the gateway", resets.Load(), closed.Load())
}
