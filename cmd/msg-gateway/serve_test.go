package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// serveFixture is a config file for "msg-gateway serve" with a real PKI and
// an httptest upstream, and the client certificate the policy allows.
type serveFixture struct {
	dir     string
	cfgPath string
	ca      *pki.CA
	alice   tls.Certificate
	config  func(level string) string // the config text with log.level set
}

func newServeFixture(t *testing.T, upstream http.HandlerFunc) *serveFixture {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	f := &serveFixture{dir: t.TempDir()}
	f.cfgPath = filepath.Join(f.dir, "gateway.yaml")
	ca, err := pki.NewCA("serve test CA")
	if err != nil {
		t.Fatal(err)
	}
	f.ca = ca
	caFile := filepath.Join(f.dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := srv.WriteFiles(f.dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	f.alice = leaf.TLSCertificate()
	f.config = func(level string) string {
		return fmt.Sprintf(`
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
drain_timeout: 10s
data_dir: %q
tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
admin: {tokens: [{name: serve-test, sha256: %q, role: editor}]}
log: {level: %s, format: json}
hosts:
  - name: slow.internal
    upstream: %q
    allowed_cidrs: ["127.0.0.0/8"] # the test upstream is on loopback
rules:
  - id: alice-slow
    effect: allow
    principals: [{id: alice}]
    hosts: [slow.internal]
`, filepath.Join(f.dir, "data"), certFile, keyFile, caFile, hex.EncodeToString(fixtureTokenHash[:]), level, up.URL)
	}
	f.write(t, f.config("info"))
	return f
}

// fixtureToken is the serve fixture's admin token (role editor): tests
// read /metrics and write through the admin API with it.
const fixtureToken = "serve-test-editor-token"

var fixtureTokenHash = sha256.Sum256([]byte(fixtureToken))

func (f *serveFixture) write(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(f.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// logLines collects a child's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   []string
}

func (l *logLines) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		_ = json.Unmarshal(sc.Bytes(), &m)
		l.mu.Lock()
		l.lines = append(l.lines, m)
		l.raw = append(l.raw, sc.Text())
		l.mu.Unlock()
	}
}

// logWait bounds every wait for a log line: generous, because the child is
// a race-enabled gateway on a shared machine (a debug line has taken 4 s to
// appear), and free when the line comes, as the wait ends at once.
const logWait = 30 * time.Second

// find returns the first line whose msg is msg, waiting up to wait.
func (l *logLines) find(msg string, wait time.Duration) map[string]any {
	return l.findWith(msg, nil, wait)
}

// findWith returns the first line whose msg is msg and for which ok (when
// set) holds, waiting up to wait.
func (l *logLines) findWith(msg string, ok func(map[string]any) bool, wait time.Duration) map[string]any {
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		for _, m := range l.lines {
			if m != nil && m["msg"] == msg && (ok == nil || ok(m)) {
				l.mu.Unlock()
				return m
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			return nil
		}
	}
}

// waitHandshakeFailures waits until the gateway's /metrics count at least n
// failed handshakes.
func waitHandshakeFailures(t *testing.T, adminAddr string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", "http://"+adminAddr+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+fixtureToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("GET /metrics: %s", resp.Status)
		}
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			total := 0.0
			for _, line := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(line, "msg_tls_handshake_failures_total{") {
					var v float64
					if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
						total += v
					}
				}
			}
			if total >= float64(n) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not count %d failed handshakes within 30s (last error %v)", n, err)
		}
	}
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.raw, "\n")
}

// startServe runs "msg-gateway serve" as a child process and returns its
// gRPC address once it logs that it listens.
func startServe(t *testing.T, cfgPath string) (*exec.Cmd, *logLines, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "MSG_GATEWAY_BE_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	go logs.scan(stderr)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", logs)
		}
	})
	m := logs.find("gateway listening", 2*logWait)
	if m == nil {
		t.Fatal("serve did not log that it listens")
	}
	addr, _ := m["grpc"].(string)
	return cmd, logs, addr
}

// waitExit waits for the child to exit and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, wait time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(wait):
		t.Fatalf("the gateway did not exit within %v", wait)
		return -1
	}
}

// sentRecorder is a client stats handler that records when each call's
// request went out on a connection (its HTTP/2 stream was created and its
// headers queued): from then on the gateway has it and must not drop it.
type sentRecorder struct{}

type sentAtKey struct{}

func (sentRecorder) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (sentRecorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (sentRecorder) HandleConn(context.Context, stats.ConnStats)                       {}
func (sentRecorder) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.OutHeader); ok && h.Client {
		if at, ok := ctx.Value(sentAtKey{}).(*atomic.Int64); ok {
			at.CompareAndSwap(0, time.Now().UnixNano())
		}
	}
}

// TestServeDrainsOnSIGTERM runs the real gateway under load from several
// goroutines against a slow upstream (300 ms a request) and sends SIGTERM
// mid-load: every request that started before the signal succeeds, and the
// process exits 0. Requests that start after it may fail (Unavailable).
//
// "Started" means sent: a call the client began a moment before the signal
// but had not yet put on a connection when the gateway closed its listener
// and sent GOAWAY never reached the gateway; it fails with Unavailable, and
// the test checks that this is all that happens to such calls.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway as a child process")
	}
	t.Parallel()
	f := newServeFixture(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "slow ok")
	})
	child, logs, addr := startServe(t, f.cfgPath)

	conf := &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{f.alice}, MinVersion: tls.VersionTLS12}
	var conns []gatewayv1.GatewayServiceClient
	for range 2 {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)),
			grpc.WithStatsHandler(sentRecorder{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns = append(conns, gatewayv1.NewGatewayServiceClient(conn))
	}

	type call struct {
		start, sent, end time.Time // sent is zero when the request never went out
		err              error
	}
	var (
		mu      sync.Mutex
		calls   []call
		sigTime time.Time // zero until SIGTERM is sent
		wg      sync.WaitGroup
	)
	const workers, maxCallsPerWorker = 6, 40
	okBefore := make(chan struct{}, workers*maxCallsPerWorker)
	for w := range workers {
		wg.Go(func() {
			c := conns[w%len(conns)]
			for range maxCallsPerWorker {
				start := time.Now()
				var sentAt atomic.Int64
				ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), sentAtKey{}, &sentAt), 10*time.Second)
				resp, err := c.Forward(ctx, &gatewayv1.ForwardRequest{Host: "slow.internal", Method: "GET", Path: "/work"})
				cancel()
				if err == nil && string(resp.GetBody()) != "slow ok" {
					err = fmt.Errorf("body %q", resp.GetBody())
				}
				var sent time.Time
				if ns := sentAt.Load(); ns != 0 {
					sent = time.Unix(0, ns)
				}
				mu.Lock()
				calls = append(calls, call{start, sent, time.Now(), err})
				signalled := !sigTime.IsZero()
				mu.Unlock()
				if err == nil {
					okBefore <- struct{}{}
				}
				if signalled && err != nil {
					return // the gateway is gone: stop loading it
				}
			}
		})
	}
	// Let the load run for a while (a few rounds of successful calls).
	for i := 0; i < 2*workers; i++ {
		select {
		case <-okBefore:
		case <-time.After(20 * time.Second):
			t.Fatal("no load got through before the signal")
		}
	}
	mu.Lock()
	sigTime = time.Now()
	mu.Unlock()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, child, 20*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	wg.Wait()

	var before, inFlight, unsent, after, afterFailed int
	for _, c := range calls {
		switch {
		case !c.sent.IsZero() && c.sent.Before(sigTime):
			before++
			if c.end.After(sigTime) {
				inFlight++
			}
			if c.err != nil {
				t.Errorf("a call sent %v before SIGTERM failed: %v", sigTime.Sub(c.sent), c.err)
			}
		case c.start.Before(sigTime):
			// Begun but not yet sent at the signal: the race with the
			// listener closing. Such a call may only fail as never received.
			unsent++
			if c.err != nil && status.Code(c.err) != codes.Unavailable {
				t.Errorf("a call begun before SIGTERM but sent after it failed with %v, want Unavailable", c.err)
			}
		default:
			after++
			if c.err != nil {
				afterFailed++
			}
		}
	}
	t.Logf("calls sent before SIGTERM: %d (%d in flight at the signal); begun before but sent after: %d; begun after: %d (%d failed)",
		before, inFlight, unsent, after, afterFailed)
	if inFlight == 0 {
		t.Error("no call was in flight at the signal: the test proved nothing")
	}
	for _, msg := range []string{"gateway draining", "gateway stopped"} {
		if logs.find(msg, logWait) == nil {
			t.Errorf("no %q log line", msg)
		}
	}
}

// TestServeSIGHUPReloadsLogLevel: SIGHUP re-reads the config file and
// applies log.level; a broken file is refused and the gateway keeps running.
func TestServeSIGHUPReloadsLogLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway as a child process")
	}
	t.Parallel()
	f := newServeFixture(t, func(w http.ResponseWriter, r *http.Request) {})
	child, logs, addr := startServe(t, f.cfgPath)
	adminAddr, _ := logs.find("gateway listening", logWait)["admin"].(string)

	// A connection that hangs up before the handshake is logged at debug
	// level only.
	probe := func() {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	probe()
	// Wait until the gateway has handled the probe (it counts the failed
	// handshake, then logs it at debug), then make it log something at info:
	// lines come out in order, so a debug line would be there by then.
	waitHandshakeFailures(t, adminAddr, 1)
	if err := child.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := logs.find("config reloaded", logWait); m == nil || m["log_level"] != "INFO" {
		t.Fatalf("reload line = %v, want log_level INFO", m)
	}
	if logs.find("TLS handshake failed", 0) != nil {
		t.Fatal("a debug line was logged at level info")
	}

	f.write(t, f.config("debug"))
	if err := child.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := logs.findWith("config reloaded", func(m map[string]any) bool { return m["log_level"] == "DEBUG" }, logWait); m == nil {
		t.Fatal("no reload line with log_level DEBUG")
	}
	probe()
	if logs.find("TLS handshake failed", logWait) == nil {
		t.Error("no debug line after reloading with log.level debug")
	}

	f.write(t, "listen: [broken\n")
	if err := child.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if logs.find("config reload failed; keeping the running config", logWait) == nil {
		t.Error("a broken config file was not reported")
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, child, 20*time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0 (a failed reload must not stop the gateway)", code)
	}
}

// TestCheckWarnsAboutPlainHTTPAdmin: check accepts an admin listener on a
// non-loopback address without admin.tls, but says loudly that tokens
// would travel in plain HTTP; a loopback listener gets no warning.
func TestCheckWarnsAboutPlainHTTPAdmin(t *testing.T) {
	t.Parallel()
	f := newServeFixture(t, func(http.ResponseWriter, *http.Request) {})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "--config", f.cfgPath}, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
		t.Fatalf("check of a loopback admin listener: exit %d, stderr %q", code, stderr.String())
	}
	f.write(t, strings.Replace(f.config("info"), "admin_listen: 127.0.0.1:0", "admin_listen: 0.0.0.0:8080", 1))
	stdout.Reset()
	if code := run([]string{"check", "--config", f.cfgPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "WARNING: admin_listen 0.0.0.0:8080 is not a loopback address and admin.tls is not set") {
		t.Errorf("check printed no warning: stderr %q", stderr.String())
	}
	if !strings.Contains(stdout.String(), ": ok (") {
		t.Errorf("check stdout = %q", stdout.String())
	}
}
