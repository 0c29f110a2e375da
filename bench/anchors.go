package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// The anchors beside nginx: HAProxy (C, event loop, like nginx) and Caddy (a
// Go net/http reverse proxy, the closest relative of the gateway). Each runs
// as its own process from a private directory, listens on loopback only,
// requires and verifies a client certificate from the run's CA, speaks
// HTTP/2 to the load generator and keep-alive HTTP/1.1 to the backend,
// streams bodies both ways and writes an access log line per request, as
// nginx does. scripts/bench.sh installs both from Debian, pinned.

// anchorVersion returns the version a binary prints, or an error saying why
// the anchor is left out.
func anchorVersion(bin string, args []string, re string) (string, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %v: %v: %s", path, args, err, out)
	}
	m := regexp.MustCompile(re).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s %v: unexpected output %q", path, args, out)
	}
	return string(m[1]), nil
}

func haproxyVersion(bin string) (string, error) {
	return anchorVersion(bin, []string{"-v"}, `HAProxy version ([0-9][0-9.]*)`)
}

func caddyVersion(bin string) (string, error) {
	return anchorVersion(bin, []string{"version"}, `v?([0-9]+\.[0-9]+\.[0-9]+)`)
}

// waitListening waits until addr accepts connections or c exits.
func waitListening(c *child, addr string, logFile string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c.exited() {
			b, _ := os.ReadFile(logFile)
			return fmt.Errorf("%s exited: %s", c.name, tail(b))
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return errors.New(c.name + " did not start: " + c.logTail())
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// startHAProxy runs HAProxy in the foreground (-db) with one thread, like
// nginx's one worker: TLS 1.2/1.3 with a required client certificate,
// HTTP/2 and HTTP/1.1 from clients, connections to the backend kept and
// shared (http-reuse always), bodies streamed, one log line per request
// (option httplog) to its stdout.
func startHAProxy(dir, bin, backend string, f *pkiFiles) (*child, string, error) {
	prefix := filepath.Join(dir, "haproxy")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, "", err
	}
	// HAProxy wants the key in the certificate's file.
	pem := filepath.Join(prefix, "server.pem")
	cert, err := os.ReadFile(f.serverCert)
	if err != nil {
		return nil, "", err
	}
	key, err := os.ReadFile(f.serverKey)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(pem, append(cert, key...), 0o600); err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := fmt.Sprintf(`# Written by msgbench.
global
  nbthread 1
  maxconn 4096
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  http-reuse always
frontend bench
  bind %s ssl crt %s ca-file %s verify required alpn h2,http/1.1 ssl-min-ver TLSv1.2
  default_backend backend
backend backend
  server b1 %s
`, addr, pem, f.ca, backend)
	confFile := filepath.Join(prefix, "haproxy.cfg")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	logFile := filepath.Join(prefix, "haproxy.log")
	c, err := startChild("haproxy", logFile, nil, bin, "-db", "-f", confFile)
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(c, addr, logFile); err != nil {
		return nil, "", err
	}
	return c, addr, nil
}

// startCaddy runs Caddy with a JSON config: its admin endpoint off, its
// storage under dir, automatic HTTPS off, the run's certificate, client
// certificates required and verified, reverse_proxy to the backend with
// responses flushed as they come (flush_interval -1, like nginx's
// proxy_buffering off), and its access log on (JSON lines to stderr).
func startCaddy(dir, bin, backend string, f *pkiFiles) (*child, string, error) {
	prefix := filepath.Join(dir, "caddy")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	type obj = map[string]any
	conf := obj{
		"admin":   obj{"disabled": true},
		"storage": obj{"module": "file_system", "root": filepath.Join(prefix, "data")},
		"apps": obj{
			"tls": obj{"certificates": obj{"load_files": []obj{{
				"certificate": f.serverCert, "key": f.serverKey, "tags": []string{"bench"},
			}}}},
			"http": obj{"servers": obj{"bench": obj{
				"listen": []string{addr},
				"routes": []obj{{"handle": []obj{{
					"handler":        "reverse_proxy",
					"upstreams":      []obj{{"dial": backend}},
					"flush_interval": -1,
				}}}},
				"tls_connection_policies": []obj{{
					"certificate_selection": obj{"any_tag": []string{"bench"}},
					"client_authentication": obj{
						"trusted_ca_certs_pem_files": []string{f.ca},
						"mode":                       "require_and_verify",
					},
				}},
				"automatic_https": obj{"disable": true},
				// The load generator names the server localhost in SNI and
				// dials 127.0.0.1; with client authentication Caddy would
				// otherwise refuse the mismatch (421).
				"strict_sni_host": false,
				"logs":            obj{},
			}}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, "", err
	}
	confFile := filepath.Join(prefix, "caddy.json")
	if err := os.WriteFile(confFile, b, 0o644); err != nil {
		return nil, "", err
	}
	logFile := filepath.Join(prefix, "caddy.log")
	c, err := startChildEnv("caddy", logFile, nil, []string{
		"HOME=" + prefix, "XDG_DATA_HOME=" + filepath.Join(prefix, "data"), "XDG_CONFIG_HOME=" + filepath.Join(prefix, "config"),
	}, bin, "run", "--config", confFile)
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(c, addr, logFile); err != nil {
		return nil, "", err
	}
	return c, addr, nil
}

// anchors records the versions of HAProxy and Caddy, or why each is left
// out (empty binary name: left out on purpose).
func (e *env) anchors(haproxyBin, caddyBin string) {
	if haproxyBin == "" {
		e.HAProxyNote = "disabled with -haproxy ''"
	} else if v, err := haproxyVersion(haproxyBin); err != nil {
		e.HAProxyNote = err.Error()
	} else {
		e.HAProxy = v
	}
	if caddyBin == "" {
		e.CaddyNote = "disabled with -caddy ''"
	} else if v, err := caddyVersion(caddyBin); err != nil {
		e.CaddyNote = err.Error()
	} else {
		e.Caddy = v
	}
}

// startAnchors starts the floor, HAProxy and Caddy (those not left out)
// and returns their targets. On an error the targets started so far are
// returned too, so that the caller stops their processes.
func startAnchors(work, haproxyBin, caddyBin string, noFloor bool, backend string, f *pkiFiles, e *env, progress func(string)) ([]*target, error) {
	var out []*target
	if !noFloor {
		fl, addr, err := startFloor(work, f)
		if err != nil {
			return out, err
		}
		t, err := floorTarget(addr, f, fl)
		if err != nil {
			fl.stop()
			return out, err
		}
		out = append(out, t)
		progress(fmt.Sprintf("floor (bare grpc-go) pid %d on %s", fl.cmd.Process.Pid, addr))
	}
	if e.HAProxy != "" {
		hp, addr, err := startHAProxy(work, haproxyBin, backend, f)
		if err != nil {
			return out, err
		}
		out = append(out, nginxTarget("haproxy", addr, f, hp))
		progress(fmt.Sprintf("haproxy %s pid %d on %s", e.HAProxy, hp.cmd.Process.Pid, addr))
	} else {
		progress("haproxy left out: " + e.HAProxyNote)
	}
	if e.Caddy != "" {
		cd, addr, err := startCaddy(work, caddyBin, backend, f)
		if err != nil {
			return out, err
		}
		out = append(out, nginxTarget("caddy", addr, f, cd))
		progress(fmt.Sprintf("caddy %s pid %d on %s", e.Caddy, cd.cmd.Process.Pid, addr))
	} else {
		progress("caddy left out: " + e.CaddyNote)
	}
	return out, nil
}
