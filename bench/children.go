package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a process the harness started. It is stopped by its own PID only.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   string // file with its stderr
	done  chan struct{}
	// pids are the processes whose CPU and memory count as this child's:
	// itself, and for nginx its workers.
	pids []int
}

func startChild(name, logFile string, stdout io.Writer, bin string, args ...string) (*child, error) {
	return startChildEnv(name, logFile, stdout, nil, bin, args...)
}

// startChildEnv is startChild with env added to the harness's environment.
func startChildEnv(name, logFile string, stdout io.Writer, env []string, bin string, args ...string) (*child, error) {
	cmd := exec.Command(bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = lf
	cmd.Stdout = stdout
	if stdout == nil {
		cmd.Stdout = lf
	}
	// The child dies with the harness even when the harness is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, log: logFile, done: make(chan struct{}), pids: []int{cmd.Process.Pid}}
	go func() {
		_ = cmd.Wait()
		lf.Close()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after a grace period.
func (c *child) stop() {
	if c == nil || c.exited() {
		return
	}
	_ = c.stdin.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// logTail returns the end of the child's log, for error messages.
func (c *child) logTail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// startBackend runs the harness binary's backend subcommand.
func startBackend(dir string) (*child, string, error) {
	return startSelf(dir, "backend")
}

// startSelf runs one of the harness binary's own server subcommands
// (backend, floor), which prints its address on its first line of stdout.
func startSelf(dir, name string, args ...string) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	pr, pw := io.Pipe()
	c, err := startChild(name, filepath.Join(dir, name+".log"), pw, self, append([]string{name}, args...)...)
	if err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			addr <- strings.TrimSpace(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		return c, a, nil
	case <-time.After(10 * time.Second):
		c.stop()
		return nil, "", errors.New(name + " did not start: " + c.logTail())
	}
}

// startGateway runs msg-gateway serve with cfgFile and waits for its
// "gateway listening" log line, which names the addresses.
func startGateway(dir, bin, cfgFile string) (*child, string, string, error) {
	name := strings.TrimSuffix(filepath.Base(cfgFile), ".yaml")
	c, err := startChild(name, filepath.Join(dir, name+".log"), nil, bin, "serve", "--config", cfgFile)
	if err != nil {
		return nil, "", "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c.exited() {
			return nil, "", "", errors.New("gateway exited: " + c.logTail())
		}
		if grpcAddr, adminAddr, ok := listeningLine(c.log); ok {
			return c, grpcAddr, adminAddr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return nil, "", "", errors.New("gateway did not start: " + c.logTail())
}

// listeningLine finds the gateway's JSON "gateway listening" line.
func listeningLine(file string) (grpcAddr, adminAddr string, ok bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg   string `json:"msg"`
			GRPC  string `json:"grpc"`
			Admin string `json:"admin"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "gateway listening" {
			return l.GRPC, l.Admin, true
		}
	}
	return "", "", false
}

// nginxVersion returns the version "nginx -v" prints, e.g. "1.22.1".
func nginxVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -v: %v: %s", bin, err, out)
	}
	m := regexp.MustCompile(`nginx/([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s -v: unexpected output %q", bin, out)
	}
	return string(m[1]), nil
}

// versionAtLeast compares dotted versions numerically.
func versionAtLeast(v string, want ...int) bool {
	parts := strings.Split(v, ".")
	for i, w := range want {
		n := 0
		if i < len(parts) {
			n, _ = strconv.Atoi(parts[i])
		}
		if n != w {
			return n > w
		}
	}
	return true
}

// startNginx runs nginx from a private prefix under dir as an mTLS reverse
// proxy in front of backend: one worker, HTTP/2, client certificates
// required and verified, keep-alive connections to the backend, bodies
// streamed both ways (no buffering to disk), an access log like the
// gateway's per-call log line.
func startNginx(dir, bin, version, backend string, f *pkiFiles) (*child, string, error) {
	prefix := filepath.Join(dir, "nginx")
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, "", err
		}
	}
	// The worker may run as an unprivileged user: it must reach the prefix.
	_ = os.Chmod(dir, 0o755)
	_ = os.Chmod(prefix, 0o755)
	_ = os.Chmod(filepath.Join(prefix, "tmp"), 0o777)
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	listen := fmt.Sprintf("listen %s ssl;\n    http2 on;", addr)
	if !versionAtLeast(version, 1, 25, 1) {
		listen = fmt.Sprintf("listen %s ssl http2;", addr)
	}
	tmp := filepath.Join(prefix, "tmp")
	conf := fmt.Sprintf(`# Written by msgbench.
worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http {
  access_log %[1]s/logs/access.log;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream backend {
    server %[3]s;
    keepalive 128;
  }
  server {
    %[4]s
    ssl_certificate %[5]s;
    ssl_certificate_key %[6]s;
    ssl_client_certificate %[7]s;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
    client_max_body_size 0;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`, prefix, tmp, backend, listen, f.serverCert, f.serverKey, f.ca)
	confFile := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	c, err := startChild("nginx", filepath.Join(prefix, "logs", "stderr.log"), nil, bin,
		"-p", prefix, "-c", confFile, "-e", filepath.Join(prefix, "logs", "error.log"))
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c.exited() {
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			return nil, "", fmt.Errorf("nginx exited: %s %s", c.logTail(), b)
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			if workers := childrenOf(c.cmd.Process.Pid); len(workers) > 0 {
				c.pids = append(c.pids, workers...)
				return c, addr, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return nil, "", errors.New("nginx did not start: " + c.logTail())
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
