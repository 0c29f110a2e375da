package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/assertion"
	"google.golang.org/protobuf/types/known/durationpb"
)

// verdict is the Node verifier's answer (testdata/verifier/verify.mjs).
type verdict struct {
	OK     bool           `json:"ok"`
	Reason string         `json:"reason"`
	Kid    string         `json:"kid"`
	Claims map[string]any `json:"claims"`
	Token  string         `json:"token"`
}

// nodeVerifier is an internal host in Node verifying assertions with the
// stock jose library.
type nodeVerifier struct {
	url   string
	stdin io.WriteCloser
}

// startNodeVerifier starts verify.mjs, installed by `make
// assertion-verifier`, as a child process.
func startNodeVerifier(t *testing.T, env ...string) *nodeVerifier {
	t.Helper()
	dir, err := filepath.Abs("assertion/testdata/verifier")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Node verifier is not installed (make assertion-verifier): %v", err)
		}
		t.Skipf("the Node verifier is not installed; run make assertion-verifier (%v)", err)
	}
	cmd := exec.Command("node", "verify.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the verifier exits when stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var port int
	if _, scanErr := fmt.Sscanf(line, "listening %d", &port); err != nil || scanErr != nil {
		t.Fatalf("verifier said %q: %v %v", line, err, scanErr)
	}
	return &nodeVerifier{url: fmt.Sprintf("http://127.0.0.1:%d", port), stdin: stdin}
}

// direct sends the verifier a request as anything on the backend network
// could, bypassing the gateway.
func (v *nodeVerifier) direct(t *testing.T, method, path, token string) verdict {
	t.Helper()
	req, err := http.NewRequest(method, v.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(assertion.DefaultHeader, token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out verdict
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func viaGateway(t *testing.T, c gatewayv1.GatewayServiceClient, req *gatewayv1.ForwardRequest) verdict {
	t.Helper()
	resp, err := forward(t, c, req)
	if err != nil {
		t.Fatalf("%s %s %s: %v", req.GetMethod(), req.GetHost(), req.GetPath(), err)
	}
	var out verdict
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil {
		t.Fatalf("verifier body %q: %v", resp.GetBody(), err)
	}
	return out
}

// assertionHosts points a test gateway's demo.internal (with assertions)
// and plain.internal (without) at the verifier, with keys rotating every
// period and the JWKS on a plain listener.
func assertionHosts(v *nodeVerifier, ttl, period time.Duration) func(*configv1.Config) {
	return func(cfg *configv1.Config) {
		cfg.Hosts[0] = &adminv1.Host{Name: "demo.internal", Upstream: v.url, AllowedCidrs: []string{"127.0.0.0/8"}}
		cfg.Hosts = append(cfg.Hosts, &adminv1.Host{Name: "plain.internal", Upstream: v.url, AllowedCidrs: []string{"127.0.0.0/8"}, DisableAssertion: true})
		cfg.Assertion.Ttl = durationpb.New(ttl)
		cfg.Assertion.RotationPeriod = durationpb.New(period)
		cfg.Assertion.JwksListen = "127.0.0.1:0"
		cfg.Limits.RatePerSecond, cfg.Limits.Burst = 1e6, 1e6 // the rotation loop is not a flood
	}
}

// useJWKSOf tells the verifier to fetch g's JWKS from its jwks_listen.
func (v *nodeVerifier) useJWKSOf(t *testing.T, g *gateway) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for g.srv.JWKSAddr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("assertion.jwks_listen never opened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := fmt.Fprintf(v.stdin, "http://%s%s\n", g.srv.JWKSAddr(), assertion.JWKSPath); err != nil {
		t.Fatal(err)
	}
}

// startAssertionGateway runs a gateway in front of a Node verifier that
// uses its JWKS.
func startAssertionGateway(t *testing.T, ttl, period time.Duration) (*gateway, *nodeVerifier) {
	t.Helper()
	v := startNodeVerifier(t, "CACHE_MAX_AGE_MS=300")
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, assertionHosts(v, ttl, period))
	v.useJWKSOf(t, g)
	return g, v
}

// callThroughRotations calls demo.internal through c from two workers
// until wantKeys signing keys were seen (or a minute passed) and checks
// that the verifier accepted every assertion.
func callThroughRotations(t *testing.T, c gatewayv1.GatewayServiceClient, wantKeys int) {
	t.Helper()
	var (
		mu       sync.Mutex
		kids     = map[string]bool{}
		calls    atomic.Int64
		failures atomic.Int64
		first    bytes.Buffer
	)
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				mu.Lock()
				done := len(kids) >= wantKeys
				mu.Unlock()
				if done {
					return
				}
				resp, err := forward(t, c, get("demo.internal", fmt.Sprintf("/items/%d/%d", w, i)))
				if err != nil {
					t.Errorf("call: %v", err)
					return
				}
				var r verdict
				_ = json.Unmarshal(resp.GetBody(), &r)
				if r.Reason == "no JWKS yet" {
					continue
				}
				calls.Add(1)
				mu.Lock()
				if !r.OK {
					failures.Add(1)
					if first.Len() == 0 {
						fmt.Fprintf(&first, "%+v", r)
					}
				} else {
					kids[r.Kid] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d calls, %d keys, %d failed", calls.Load(), len(kids), failures.Load())
	if len(kids) < wantKeys {
		t.Errorf("saw %d signing keys before the deadline, want %d", len(kids), wantKeys)
	}
	if failures.Load() != 0 {
		t.Errorf("%d of %d verifications failed across rotations; first: %s", failures.Load(), calls.Load(), first.String())
	}
}

// TestAssertionVerifiedByNode: an internal host in Node verifies the
// assertion with the stock jose library and the gateway's JWKS; a replay on
// another endpoint, an expired assertion, one signed by an unknown key and
// one the app sends are all rejected.
func TestAssertionVerifiedByNode(t *testing.T) {
	g, v := startAssertionGateway(t, 3*time.Second, time.Hour)
	alice := g.as(t, "alice")

	// Valid, once the verifier has read the JWKS URL.
	var ok verdict
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok = viaGateway(t, alice, get("demo.internal", "/items/1?q=2"))
		if ok.Reason != "no JWKS yet" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !ok.OK {
		t.Fatalf("a relayed request's assertion was rejected: %+v", ok)
	}
	c := ok.Claims
	if c["sub"] != "alice" || c["aud"] != "demo.internal" || c["iss"] != assertion.DefaultIssuer ||
		c["htm"] != "GET" || c["path"] != "/items/1" || c["jti"] == "" || len(fmt.Sprint(c["cert_sha256"])) != 64 {
		t.Errorf("claims = %v", c)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3 {
		t.Errorf("exp - iat = %v, want the configured ttl 3s", exp-iat)
	}

	// The published JWKS is the same on the admin listener, without
	// credentials.
	code, adminJWKS := adminGet(t, g.adminAddr, assertion.JWKSPath)
	_, plainJWKS := adminGet(t, g.srv.JWKSAddr().String(), assertion.JWKSPath)
	if code != http.StatusOK || adminJWKS != plainJWKS || !strings.Contains(adminJWKS, ok.Kid) {
		t.Errorf("admin JWKS %d %s, jwks_listen %s, want both with %s", code, adminJWKS, plainJWKS, ok.Kid)
	}
	if strings.Contains(adminJWKS, `"d"`) {
		t.Error("the JWKS holds a private key")
	}

	// Replayed against another endpoint of the same host, straight to it.
	if r := v.direct(t, "GET", "/admin/delete-all", ok.Token); r.OK || r.Reason != "binding" {
		t.Errorf("replay on another path: %+v, want rejected for the binding", r)
	}
	if r := v.direct(t, "DELETE", "/items/1", ok.Token); r.OK || r.Reason != "binding" {
		t.Errorf("replay with another method: %+v, want rejected for the binding", r)
	}

	// Signed by a key the gateway never published, with the right claims.
	rogue, err := assertion.New(assertion.Config{})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := rogue.Sign(assertion.Request{Audience: "demo.internal", Subject: "admin", RequestID: "x", Method: "GET", Path: "/items/1"})
	if err != nil {
		t.Fatal(err)
	}
	if r := v.direct(t, "GET", "/items/1", forged); r.OK || r.Reason != "ERR_JWKS_NO_MATCHING_KEY" {
		t.Errorf("unknown key: %+v, want ERR_JWKS_NO_MATCHING_KEY", r)
	}

	// Sent by the app: to a host without assertions the header never
	// arrives, whatever its spelling; to one with, the gateway's replaces it.
	bob := g.as(t, "bob")
	forgedHeaders := []*gatewayv1.Header{
		{Name: assertion.DefaultHeader, Value: ok.Token},
		{Name: strings.ToLower(assertion.DefaultHeader), Value: ok.Token},
	}
	r := viaGateway(t, bob, &gatewayv1.ForwardRequest{Host: "plain.internal", Method: "GET", Path: "/items/1", Headers: forgedHeaders})
	if r.OK || r.Reason != "missing" {
		t.Errorf("app's assertion to a host without assertions: %+v, want none to arrive", r)
	}
	r = viaGateway(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/items/1",
		Headers: []*gatewayv1.Header{{Name: assertion.DefaultHeader, Value: forged}}})
	if !r.OK || r.Token == forged || r.Claims["sub"] != "alice" {
		t.Errorf("app's assertion to a host with assertions: %+v, want the gateway's own for alice", r)
	}

	// Expired: the same token, on its own endpoint, once its exp has
	// passed. Until then the verifier may accept it (jti lets a backend
	// refuse a second use).
	exp := time.Unix(int64(c["exp"].(float64)), 0)
	deadline = time.Now().Add(30 * time.Second)
	for {
		r := v.direct(t, "GET", "/items/1", ok.Token)
		if r.OK && time.Now().After(exp.Add(time.Second)) {
			t.Fatalf("accepted %v after its exp %v", time.Now(), exp)
		}
		if !r.OK {
			if r.Reason != "ERR_JWT_EXPIRED" {
				t.Fatalf("rejected for %q before expiring, want ERR_JWT_EXPIRED", r.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never expired")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAssertionRotationUnderLoad: while keys rotate every second, a loop of
// relayed calls sees no failed verification: the next key is published
// before it signs and the last one stays until its tokens expired. The
// verifier refetches the JWKS after 300 ms and never on an unknown key (jose's
// 30 s cooldown), so only publication ahead keeps it verifying.
func TestAssertionRotationUnderLoad(t *testing.T) {
	g, _ := startAssertionGateway(t, 2*time.Second, time.Second)
	callThroughRotations(t, g.as(t, "alice"), 4)
}

// TestAssertionFleetJWKS: two instances on one etcd; a backend that knows
// only b's JWKS verifies every assertion a signs, across a's rotations: each
// instance publishes its public keys into the store and serves the union.
func TestAssertionFleetJWKS(t *testing.T) {
	f := startFleetEtcd(t, false)
	v := startNodeVerifier(t, "CACHE_MAX_AGE_MS=300")
	opts := server.Options{DrainTimeout: time.Second}
	hosts := assertionHosts(v, 2*time.Second, 2*time.Second)
	a := startGatewayWith(t, nil, opts, hosts, f.member(""))
	b := startGatewayWith(t, nil, opts, hosts, f.member(a.caFile))
	v.useJWKSOf(t, b)
	callThroughRotations(t, a.as(t, "alice"), 3)

	// b's JWKS holds both instances' keys and no private one.
	_, bJWKS := adminGet(t, b.adminAddr, assertion.JWKSPath)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(bJWKS), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) < 4 || strings.Contains(bJWKS, `"d"`) {
		t.Errorf("b's JWKS = %s, want a's and b's public keys (at least two each)", bJWKS)
	}
}

// BenchmarkForwardAssertion is the relay's cost per request of the
// assertion: the same unary Forward to two hosts on one upstream, one with
// assertions (the default), one that opted out (the relay before them).
func BenchmarkForwardAssertion(b *testing.B) {
	g := startGatewayWith(b, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, small world")
	}, server.Options{DrainTimeout: time.Second}, func(cfg *configv1.Config) {
		cfg.Limits.RatePerSecond, cfg.Limits.Burst = 1e6, 1e6
		cfg.Hosts = append(cfg.Hosts, &adminv1.Host{Name: "plain.internal", Upstream: cfg.Hosts[0].GetUpstream(),
			AllowedCidrs: []string{"127.0.0.0/8"}, DisableAssertion: true})
	})
	c := g.dial(b, g.identity(b, "bob"))
	for _, host := range []string{"plain.internal", "demo.internal"} {
		name := map[string]string{"plain.internal": "without", "demo.internal": "with"}[host]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Forward(context.Background(), &gatewayv1.ForwardRequest{Host: host, Method: "GET", Path: "/small"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
