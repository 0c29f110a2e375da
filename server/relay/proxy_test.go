package relay_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server/relay"
)

// proxyChildEnv makes the test binary run the relay side of
// TestEnvironmentProxiesNeverUsed.
const proxyChildEnv = "MSG_RELAY_PROXY_TEST_CHILD"

// TestEnvironmentProxiesNeverUsed runs the relay in a child process whose
// environment names a real, listening proxy in HTTP_PROXY, HTTPS_PROXY and
// their lower-case forms. The upstreams have DNS names (resolved by the stub
// resolver to loopback, which allowed_cidrs permits), so the environment's
// proxy rules would apply to them: net/http exempts only loopback
// addresses and "localhost". The relay must reach both upstreams (plain
// HTTP and HTTPS) directly, and the proxy must never see a connection.
//
// A child process is needed because net/http reads the proxy variables once
// per process.
func TestEnvironmentProxiesNeverUsed(t *testing.T) {
	if os.Getenv(proxyChildEnv) != "" {
		relayWithProxyEnvironment(t)
		return
	}
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	accepted := make(chan string, 64) // remote addresses, in accept order
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c.RemoteAddr().String()
			c.Close() // a proxy that hangs up: any use of it fails the relay
		}
	}()

	proxy := "http://" + lis.Addr().String()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvironmentProxiesNeverUsed$", "-test.v", "-test.timeout=2m")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD":
			continue // REQUEST_METHOD makes net/http ignore HTTP_PROXY (CGI)
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, proxyChildEnv+"=1",
		"HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy, "http_proxy="+proxy, "https_proxy="+proxy, "ALL_PROXY="+proxy)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestEnvironmentProxiesNeverUsed") {
		t.Fatalf("relay child process: %v\n%s", err, out)
	}

	// Every connection the child made is in the accept queue by now; a
	// marker connection made last comes out after all of them.
	marker, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	var used []string
	for addr := range accepted {
		if addr == marker.LocalAddr().String() {
			break
		}
		used = append(used, addr)
	}
	if len(used) != 0 {
		t.Fatalf("the proxy named in the environment saw %d connections from the relay", len(used))
	}
}

// relayWithProxyEnvironment is the child's side: the environment names a
// proxy; the relay forwards to one plain and one HTTPS upstream.
func relayWithProxyEnvironment(t *testing.T) {
	var reached atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, _ = io.WriteString(w, "direct")
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewTLSServer(handler)
	secure.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer secure.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pki.CertPEM(secure.Certificate()), 0o600); err != nil {
		t.Fatal(err)
	}
	port := func(s *httptest.Server) string { return strconv.Itoa(s.Listener.Addr().(*net.TCPAddr).Port) }
	hosts := []*adminv1.Host{
		{Name: "plain.internal", Upstream: "http://backend.example:" + port(plain), AllowedCidrs: []string{"127.0.0.0/8"}},
		{Name: "secure.internal", Upstream: "https://backend.example:" + port(secure), AllowedCidrs: []string{"127.0.0.0/8"},
			Tls: &adminv1.BackendTLS{CaFile: caFile, ServerName: "example.com"}}, // httptest's certificate name
	}
	// The test is only meaningful if the environment's proxy applies to
	// these upstreams.
	for _, h := range hosts {
		u, _ := url.Parse(h.GetUpstream())
		p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
		if err != nil || p == nil {
			t.Fatalf("the environment names no proxy for %s (%v, %v): the test proves nothing", u, p, err)
		}
	}
	table, err := relay.NewTable(hosts, relay.WithResolver(&stubResolver{answers: [][]string{{"127.0.0.1"}}}))
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	r := relay.New(func() *relay.Table { return table }, relay.Options{})
	for _, h := range hosts {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		ctx = authz.NewContextWithPrincipal(ctx, &authz.Principal{ID: "alice"})
		ctx = authz.NewContextWithRequest(ctx, &authz.Request{Host: h.GetName(), Method: "GET", Path: "/x"})
		ctx = authz.NewContextWithDecision(ctx, authz.Decision{Allowed: true, Reason: authz.ReasonAllowed})
		resp, err := r.Forward(ctx, &gatewayv1.ForwardRequest{})
		cancel()
		if err != nil || string(resp.GetBody()) != "direct" {
			t.Errorf("%s: %v, %v; want the upstream's answer, directly", h.GetName(), resp, err)
		}
	}
	if n := reached.Load(); n != 2 {
		t.Errorf("the upstreams were reached %d times, want 2", n)
	}
}
