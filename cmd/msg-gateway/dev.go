package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
)

// devConfig is the dev mode's config file. It is written to DIR/gateway.yaml
// and then loaded like any other config, so it doubles as an example.
const devConfig = `# Written by "msg-gateway dev"; regenerated on every start.
listen: %q
admin_listen: %q
# The embedded store. The hosts and rules below seed it on the first start;
# after that the store (and the admin API) is authoritative.
data_dir: %q
admin:
  tokens:
    # The tokens themselves are in admin-token and viewer-token next to this
    # file; only their hashes are here.
    - {name: dev-admin, sha256: %q, role: editor}
    - {name: dev-viewer, sha256: %q, role: viewer}
tls:
  cert_file: %q
  key_file: %q
  client_ca_file: %q
log:
  level: info
  format: text
hosts:
  - name: demo.internal
    upstream: %q
    timeout: 10s
    # The demo host listens on loopback, which the relay refuses unless a
    # host allows it explicitly (SSRF protection).
    allowed_cidrs: [127.0.0.0/8]
rules:
  # alice may use any method on demo.internal ...
  - id: alice-demo
    effect: allow
    principals: [{id: alice}]
    hosts: [demo.internal]
  # ... except under /private/ (deny overrides allow).
  - id: alice-no-private
    effect: deny
    principals: [{id: alice}]
    hosts: [demo.internal]
    paths: [{prefix: /private}]
  # carol enrolls herself with the bundle dev mode prints (issue 14).
  - id: carol-demo
    effect: allow
    principals: [{id: carol}]
    hosts: [demo.internal]
# mallory has a valid certificate but no rule: default deny.
`

// devEnroll is the dev config's enroll section: devices enroll on listen
// and get day-long certificates from the dev enrollment CA, an
// intermediate of the dev CA.
const devEnroll = `enroll:
  listen: %q
  ca_cert_file: %q
  ca_key_file: %q
  cert_lifetime: 24h
`

func cmdDev(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".dev", "directory for the throwaway PKI and config")
	listen := fs.String("listen", "127.0.0.1:8443", "gRPC (mTLS) listen address")
	adminListen := fs.String("admin-listen", "127.0.0.1:8080", "admin HTTP listen address")
	enrollListen := fs.String("enroll-listen", "127.0.0.1:8444", "device enrollment listen address (TLS, gRPC and EST); empty: none; a free port when --listen's port is 0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Callers that ask for a free data-plane port (tests, SDK harnesses)
	// run side by side: they must not all reach for 8444.
	if !flagSet(fs, "enroll-listen") {
		if host, port, err := net.SplitHostPort(*listen); err == nil && port == "0" {
			*enrollListen = net.JoinHostPort(host, "0")
		}
	}
	if fs.NArg() > 0 {
		return errors.New("dev: unexpected arguments")
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o700); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	files, err := devPKI(absDir)
	if err != nil {
		return fmt.Errorf("dev: writing PKI: %w", err)
	}
	token, err := devToken(absDir, "admin-token")
	if err != nil {
		return fmt.Errorf("dev: admin token: %w", err)
	}
	viewerToken, err := devToken(absDir, "viewer-token")
	if err != nil {
		return fmt.Errorf("dev: viewer token: %w", err)
	}

	// The demo internal host, on loopback. Its port changes on every start.
	demoLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dev: demo host: %w", err)
	}
	defer demoLis.Close()
	demoURL := "http://" + demoLis.Addr().String()

	cfgPath := filepath.Join(absDir, "gateway.yaml")
	cfgText := fmt.Sprintf(devConfig, *listen, *adminListen, filepath.Join(absDir, "data"),
		server.HashAdminToken(token), server.HashAdminToken(viewerToken), files.serverCert, files.serverKey, files.clientCAs, demoURL)
	if *enrollListen != "" {
		cfgText += fmt.Sprintf(devEnroll, *enrollListen, files.enrollCert, files.enrollKey)
	}
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	cfg, err := server.LoadConfig(cfgPath)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	demo := &http.Server{Handler: demoHandler(cfg.GetRelayHeaders().GetIdentity()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = demo.Serve(demoLis) }()
	defer demo.Close()
	level := new(slog.LevelVar)
	logger, err := newLogger(cfg, stderr, level)
	if err != nil {
		return err
	}
	return serve(cfgPath, cfg, server.Options{
		Logger:   logger,
		LogLevel: level,
		Version:  version,
		OnListening: func(grpcAddr, adminAddr net.Addr) {
			printDevBanner(stdout, absDir, grpcAddr.String(), adminAddr.String())
			if *enrollListen != "" {
				go printEnrollBanner(stdout, absDir, grpcAddr.String(), adminAddr.String(), token, logger)
			}
		},
		// The config seeds the store once; after that the stored demo host
		// is pointed at this run's port like an admin write, audited.
		PinUpstreams: map[string]string{"demo.internal": demoURL},
	})
}

// devFiles are the dev PKI's files: ca is the dev CA (it signs the
// server's, alice's and mallory's certificates), clientCAs the client CA
// bundle (the dev CA and the enrollment CA).
type devFiles struct{ ca, clientCAs, serverCert, serverKey, enrollCert, enrollKey string }

// devPKI reuses the PKI of an earlier run in dir while its certificates are
// valid for at least another day, so that revocations and app setups survive
// restarts; otherwise it writes a new one.
func devPKI(dir string) (devFiles, error) {
	files := devFiles{ca: filepath.Join(dir, "ca.pem"), clientCAs: filepath.Join(dir, "client-cas.pem"), serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server-key.pem"),
		enrollCert: filepath.Join(dir, "enroll-ca.pem"), enrollKey: filepath.Join(dir, "enroll-ca-key.pem")}
	reuse := true
	for _, name := range []string{"server", "alice", "mallory", "enroll-ca"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil || pair.Leaf == nil || time.Until(pair.Leaf.NotAfter) < 24*time.Hour {
			reuse = false
			break
		}
	}
	for _, f := range []string{files.ca, files.clientCAs} {
		if _, err := os.Stat(f); err != nil {
			reuse = false
		}
	}
	if reuse {
		return files, nil
	}
	return writeDevPKI(dir)
}

// devToken returns the admin token in dir/name, creating a random one (mode
// 0600) when there is none: admin-token (editor) and viewer-token (viewer).
func devToken(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

func writeDevPKI(dir string) (devFiles, error) {
	ca, err := pki.NewCA("msg dev CA")
	if err != nil {
		return devFiles{}, err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		return devFiles{}, err
	}
	srv, err := ca.Issue(pki.Localhost())
	if err != nil {
		return devFiles{}, err
	}
	sc, sk, err := srv.WriteFiles(dir, "server")
	if err != nil {
		return devFiles{}, err
	}
	// The enrollment CA is a root of its own (the dev CA may not sign
	// CAs), trusted for client certificates next to the dev CA.
	enrollCA, err := pki.NewCA("msg dev enrollment CA")
	if err != nil {
		return devFiles{}, err
	}
	ec, ek, err := enrollCA.WriteFiles(dir, "enroll-ca")
	if err != nil {
		return devFiles{}, err
	}
	clientCAs := filepath.Join(dir, "client-cas.pem")
	if err := os.WriteFile(clientCAs, append(ca.CertPEM(), enrollCA.CertPEM()...), 0o644); err != nil {
		return devFiles{}, err
	}
	for _, id := range []struct{ cn, ou string }{{"alice", "mobile"}, {"mallory", "mobile"}} {
		leaf, err := ca.Issue(pki.Options{
			CommonName:         id.cn,
			Organization:       []string{"Example Corp"},
			OrganizationalUnit: []string{id.ou},
			NotAfter:           time.Now().Add(30 * 24 * time.Hour),
		})
		if err != nil {
			return devFiles{}, err
		}
		if _, _, err := leaf.WriteFiles(dir, id.cn); err != nil {
			return devFiles{}, err
		}
	}
	return devFiles{ca: caFile, clientCAs: clientCAs, serverCert: sc, serverKey: sk, enrollCert: ec, enrollKey: ek}, nil
}

// demoHandler is the demo internal host. Everything under /private/ answers
// with a marker body so that a policy leak is easy to see. It echoes the
// caller's identity from identityHeader, which the gateway sets.
func demoHandler(identityHeader string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private/") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "demo-private-area: you should not see this unless policy allows it\n")
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"host":       "demo.internal",
			"method":     r.Method,
			"path":       r.URL.RequestURI(),
			"principal":  r.Header.Get(identityHeader),
			"request_id": r.Header.Get("X-Request-Id"),
			"body_bytes": len(body),
			"message":    "hello from the demo internal host",
		})
	})
}

func printDevBanner(w io.Writer, dir, grpcAddr, adminAddr string) {
	protoDir := "proto"
	grpcurl := "grpcurl"
	msgctl := "msgctl"
	if wd, err := os.Getwd(); err == nil {
		if _, err := os.Stat(filepath.Join(wd, "cmd", "msgctl")); err == nil {
			msgctl = "go -C " + wd + " run ./cmd/msgctl"
		}
		if _, err := os.Stat(filepath.Join(wd, "proto", "msg", "gateway", "v1", "gateway.proto")); err == nil {
			protoDir = filepath.Join(wd, "proto")
			if _, err := os.Stat(filepath.Join(wd, "tools", "go.mod")); err == nil {
				// go -C: the command works when pasted in any directory.
				grpcurl = "go -C " + wd + " tool -modfile=tools/go.mod grpcurl"
			}
		}
	}
	call := func(who, path string) string {
		return fmt.Sprintf("%s \\\n  -cacert %s/ca.pem -cert %s/%s.pem -key %s/%s-key.pem \\\n  -import-path %s -proto msg/gateway/v1/gateway.proto \\\n  -d '{\"host\":\"demo.internal\",\"method\":\"GET\",\"path\":\"%s\"}' \\\n  %s msg.gateway.v1.GatewayService/Forward",
			grpcurl, dir, dir, who, dir, who, protoDir, path, grpcAddr)
	}
	fmt.Fprintf(w, `
msg-gateway dev mode
  gRPC (mTLS)  %s
  admin HTTP   http://%s  (/v1/... and /metrics with the admin token; /openapi.json, /healthz, /readyz)
  console      http://%s/console/  (sign in with admin-token, or viewer-token to look only)
  files        %s  (ca.pem, alice*.pem allowed, mallory*.pem denied, admin-token, viewer-token, gateway.yaml, data/)

Forward as alice (allowed; the body field is base64):

%s

As mallory (PermissionDenied), or alice under /private/ (PermissionDenied):

%s

Admin API (REST; the same token works for msgctl):

curl -H "Authorization: Bearer $(cat %s/admin-token)" http://%s/v1/hosts
%s --addr http://%s --token-file %s/admin-token rules list

From Go:

	t, _ := client.New(%q,
		client.WithCertificateFiles(%q, %q),
		client.WithRootCAFile(%q))
	resp, _ := (&http.Client{Transport: t}).Get("https://demo.internal/hello")

`, grpcAddr, adminAddr, adminAddr, dir, call("alice", "/hello"), call("mallory", "/hello"),
		dir, adminAddr, msgctl, adminAddr, dir,
		grpcAddr, dir+"/alice.pem", dir+"/alice-key.pem", dir+"/ca.pem")
}

// flagSet reports whether the command line set the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
