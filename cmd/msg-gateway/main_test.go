package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as msg-gateway in a child process, so
// the dev-mode test runs the real command without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MSG_GATEWAY_BE_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startDev runs "msg-gateway dev" as a child process and returns the gRPC
// address and the banner it printed.
func startDev(t *testing.T, dir string) (addr string, banner *bannerText, child *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "dev", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MSG_GATEWAY_BE_MAIN=1")
	cmd.Dir = repoRoot(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("dev stderr:\n%s", stderr.String())
		}
	})
	found := make(chan string, 1)
	banner = &bannerText{}
	go func() {
		re := regexp.MustCompile(`gRPC \(mTLS\)\s+(\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			banner.add(sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("dev mode did not print its banner")
	}
	return addr, banner, cmd
}

// bannerText collects dev mode's stdout.
type bannerText struct {
	mu    sync.Mutex
	lines []string
}

func (b *bannerText) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
}

// firstCommand returns the first printed shell command (a line starting with
// "go " and its backslash continuations), joined into one line.
func (b *bannerText) firstCommand(t *testing.T, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		var cmd []string
		for _, l := range b.lines {
			if len(cmd) == 0 && !strings.HasPrefix(l, "go ") {
				continue
			}
			cmd = append(cmd, strings.TrimSuffix(strings.TrimSpace(l), "\\"))
			if !strings.HasSuffix(l, "\\") {
				b.mu.Unlock()
				return strings.Join(cmd, " ")
			}
		}
		b.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no complete grpcurl command in the banner")
	return ""
}

func grpcurl(t *testing.T, dir, addr, who, path string) (string, error) {
	t.Helper()
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "-modfile="+filepath.Join(root, "tools", "go.mod"), "grpcurl",
		"-cacert", filepath.Join(dir, "ca.pem"),
		"-cert", filepath.Join(dir, who+".pem"), "-key", filepath.Join(dir, who+"-key.pem"),
		"-import-path", filepath.Join(root, "proto"), "-proto", "msg/gateway/v1/gateway.proto",
		"-d", `{"host":"demo.internal","method":"GET","path":"`+path+`"}`,
		addr, "msg.gateway.v1.GatewayService/Forward")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDevModeWithGrpcurl is the README's promise: dev mode starts, grpcurl
// with alice's certificate gets the demo host's 200, mallory and alice's
// /private/ request get PermissionDenied, and SIGTERM stops it cleanly.
func TestDevModeWithGrpcurl(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes and grpcurl")
	}
	dir := t.TempDir()
	addr, banner, child := startDev(t, dir)

	// The printed command, pasted into a shell in some other directory.
	printed := banner.firstCommand(t, 10*time.Second)
	sh := exec.Command("bash", "-c", printed)
	sh.Dir = t.TempDir()
	if out, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(out), `"statusCode": 200`) {
		t.Fatalf("printed command %q: err=%v\n%s", printed, err, out)
	}

	out, err := grpcurl(t, dir, addr, "alice", "/hello")
	if err != nil || !strings.Contains(out, `"statusCode": 200`) {
		t.Fatalf("alice /hello: err=%v\n%s", err, out)
	}
	for _, c := range []struct{ who, path string }{{"mallory", "/hello"}, {"alice", "/private/secret"}, {"alice", "/x/../private/secret"}} {
		out, err := grpcurl(t, dir, addr, c.who, c.path)
		if err == nil || !strings.Contains(out, "PermissionDenied") {
			t.Errorf("%s %s: err=%v, want PermissionDenied\n%s", c.who, c.path, err, out)
		}
		if strings.Contains(out, "demo-private-area") {
			t.Errorf("%s %s leaked the private area", c.who, c.path)
		}
	}

	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev mode exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev mode did not stop after SIGTERM")
	}

	// The config dev mode wrote is a valid config file.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "--config", filepath.Join(dir, "gateway.yaml")}, &stdout, &stderr); code != 0 {
		t.Errorf("check gateway.yaml: exit %d: %s", code, stderr.String())
	}

	// A second start on the same directory: the store holds the demo host
	// with the first run's port, and dev mode points it at this run's demo
	// server (an audited admin write, see server.Options.PinUpstreams).
	addr, _, _ = startDev(t, dir)
	if out, err := grpcurl(t, dir, addr, "alice", "/hello"); err != nil || !strings.Contains(out, `"statusCode": 200`) {
		t.Fatalf("alice /hello after a restart: err=%v\n%s", err, out)
	}
}

func TestCheckRejectsBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("listen: 127.0.0.1:1\nlisten_typo: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "--config", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "listen_typo") {
		t.Errorf("stderr %q does not name the bad key", stderr.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), runtime.Version()) {
		t.Errorf("version: exit %d, %q", code, stdout.String())
	}
}
