package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/etcdtest"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

var fleetSeq atomic.Int64

// fleetEtcd is an etcd member for a fleet test, with the client settings a
// gateway needs to use it.
type fleetEtcd struct {
	srv    *etcdtest.Server
	prefix string
	tls    *configv1.EtcdTLS // nil: plaintext
}

// startFleetEtcd starts an etcd member; withTLS serves it over TLS with
// client-certificate authentication, from a CA of its own.
func startFleetEtcd(t *testing.T, withTLS bool) *fleetEtcd {
	t.Helper()
	f := &fleetEtcd{prefix: fmt.Sprintf("/fleet/%d", fleetSeq.Add(1))}
	if !withTLS {
		f.srv = etcdtest.Start(t, nil)
		return f
	}
	dir := t.TempDir()
	ca, err := pki.NewCA("etcd CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "etcd-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := srvLeaf.WriteFiles(dir, "etcd-server")
	if err != nil {
		t.Fatal(err)
	}
	cliLeaf, err := ca.Issue(pki.Options{CommonName: "msg-gateway"})
	if err != nil {
		t.Fatal(err)
	}
	cliCert, cliKey, err := cliLeaf.WriteFiles(dir, "etcd-client")
	if err != nil {
		t.Fatal(err)
	}
	f.srv = etcdtest.Start(t, &etcdtest.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: caFile})
	f.tls = &configv1.EtcdTLS{CaFile: caFile, CertFile: cliCert, KeyFile: cliKey}
	return f
}

// member returns the config change that makes a test gateway a member of
// the fleet. clientCAFile, when set, replaces the gateway's client CA, so
// that one set of client certificates works on every member.
func (f *fleetEtcd) member(clientCAFile string) func(*configv1.Config) {
	return func(c *configv1.Config) {
		c.Store = &configv1.Store{Etcd: &configv1.Etcd{
			Endpoints:   []string{f.srv.Endpoint()},
			Prefix:      f.prefix,
			DialTimeout: durationpb.New(time.Second),
			Tls:         f.tls,
			Insecure:    f.tls == nil,
		}}
		if clientCAFile != "" {
			c.Tls.ClientCaFile = clientCAFile
		}
	}
}

// adminText fetches a plain-text admin endpoint.
func adminText(t *testing.T, adminAddr, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+adminAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testViewerToken) // /metrics needs it
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestFleetSharesRulesAndRevocations runs two gateways on one etcd (over
// TLS with client certificates): a rule added through A's admin API admits
// a request on B, a revocation written through B cuts the revoked
// certificate off A, and each instance's audit trail holds its own admin
// writes only, in a log of its own that verifies.
func TestFleetSharesRulesAndRevocations(t *testing.T) {
	t.Parallel()
	f := startFleetEtcd(t, true)
	opts := server.Options{DrainTimeout: time.Second}
	a := startGatewayWith(t, nil, opts, f.member(""))
	b := startGatewayWith(t, nil, opts, f.member(a.caFile))
	// Every client certificate comes from a's CA; b trusts it too and is
	// dialled with its own server CA as the root.
	dialB := func(cn string) func() error {
		c := b.dial(t, a.identity(t, cn))
		return func() error { _, err := forward(t, c, get("demo.internal", "/hello")); return err }
	}

	// The rule arrives on b.
	malloryOnB := dialB("mallory")
	if err := malloryOnB(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("mallory on b before the rule: %v, want PermissionDenied", err)
	}
	code, body := adminCall(t, a.adminAddr, testEditorToken, "POST", "/v1/rules",
		`{"id":"mallory-hello","effect":"EFFECT_ALLOW","principals":[{"id":"mallory"}],"hosts":["demo.internal"],"paths":[{"exact":"/hello"}]}`)
	if code != 200 {
		t.Fatalf("create rule on a: %d %v", code, body)
	}
	eventually(t, "mallory's request on b after the rule was added on a", 10*time.Second, func() bool { return malloryOnB() == nil })

	// The revocation arrives on a, on an already open connection.
	aliceCert := a.identity(t, "alice")
	aliceOnA := a.dial(t, aliceCert)
	if _, err := forward(t, aliceOnA, get("demo.internal", "/hello")); err != nil {
		t.Fatalf("alice on a before the revocation: %v", err)
	}
	sum := sha256.Sum256(aliceCert.Leaf.Raw)
	code, body = adminCall(t, b.adminAddr, testEditorToken, "POST", "/v1/revocations",
		`{"fingerprintSha256":"`+hex.EncodeToString(sum[:])+`","reason":"phone lost"}`)
	if code != 200 {
		t.Fatalf("revoke on b: %d %v", code, body)
	}
	start := time.Now()
	eventually(t, "alice's request on a after her certificate was revoked on b", 10*time.Second, func() bool {
		_, err := forward(t, aliceOnA, get("demo.internal", "/hello"))
		c := status.Code(err)
		return c == codes.Unauthenticated || c == codes.Unavailable
	})
	t.Logf("revocation written on b enforced on a after %v", time.Since(start).Round(time.Millisecond))

	// Both serve the same revision and say so.
	_, sa := adminCall(t, a.adminAddr, testViewerToken, "GET", "/v1/status", "")
	eventually(t, "both instances at one revision", 10*time.Second, func() bool {
		_, sb := adminCall(t, b.adminAddr, testViewerToken, "GET", "/v1/status", "")
		_, sa = adminCall(t, a.adminAddr, testViewerToken, "GET", "/v1/status", "")
		return sa["revision"] == sb["revision"] && sb["revocationCount"] == float64(1)
	})
	for _, g := range []*gateway{a, b} {
		code, text := adminText(t, g.adminAddr, "/readyz")
		if code != 200 || !strings.Contains(text, "store: etcd connected, serving revision "+fmt.Sprint(sa["revision"])) {
			t.Errorf("/readyz = %d %q", code, text)
		}
		if _, text := adminText(t, g.adminAddr, "/metrics"); !strings.Contains(text, "\nmsg_store_connected 1\n") {
			t.Errorf("/metrics lacks msg_store_connected 1")
		}
	}

	// Audit trails stay local.
	for _, c := range []struct {
		g    *gateway
		want string
	}{{a, "test-editor:CreateRule"}, {b, "test-editor:CreateRevocation"}} {
		if err := c.g.srv.FlushAudit(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, body := adminCall(t, c.g.adminAddr, testViewerToken, "GET", "/v1/audit?kind=RECORD_KIND_ADMIN", "")
		var actions []string
		for _, r := range records(body) {
			actions = append(actions, r["principal"].(string)+":"+r["adminAction"].(string))
		}
		if got := strings.Join(actions, ","); got != c.want {
			t.Errorf("admin records = %s, want %s", got, c.want)
		}
	}

	// Each instance keeps its own audit log, which verifies (viewer role).
	instances := map[string]bool{}
	for _, g := range []*gateway{a, b} {
		code, log := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit/log", "")
		instance, _ := log["instance"].(string)
		if code != 200 || instance == "" || instances[instance] {
			t.Fatalf("GET /v1/audit/log = %d %v (instances so far %v)", code, log, instances)
		}
		instances[instance] = true
		_, body := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit", "")
		for _, r := range records(body) {
			if r["instance"] != instance {
				t.Errorf("a record of instance %s names %v", instance, r["instance"])
			}
		}
		code, res := adminCall(t, g.adminAddr, testViewerToken, "POST", "/v1/audit:verify", "{}")
		if code != 200 || res["ok"] != true || res["treeSize"] != log["treeSize"] {
			t.Errorf("verify on instance %s: %d %v (log %v)", instance, code, res, log)
		}
	}
}

// TestFleetSurvivesEtcdOutage stops etcd under two gateways: both keep
// serving from their last snapshot and say so, admin writes fail with 503,
// and once etcd is back a write through one shows up on the other.
func TestFleetSurvivesEtcdOutage(t *testing.T) {
	t.Parallel()
	f := startFleetEtcd(t, false)
	opts := server.Options{DrainTimeout: time.Second}
	a := startGatewayWith(t, nil, opts, f.member(""))
	b := startGatewayWith(t, nil, opts, f.member(a.caFile))
	hello := func(c gatewayv1.GatewayServiceClient) error {
		_, err := forward(t, c, get("demo.internal", "/hello"))
		return err
	}
	aliceOnA := a.as(t, "alice")
	aliceOnB := b.dial(t, a.identity(t, "alice"))
	malloryOnB := b.dial(t, a.identity(t, "mallory"))
	if err := errors.Join(hello(aliceOnA), hello(aliceOnB)); err != nil {
		t.Fatalf("alice before the outage: %v", err)
	}

	f.srv.Stop()
	for _, g := range []*gateway{a, b} {
		eventually(t, "/readyz to report the outage", 10*time.Second, func() bool {
			code, text := adminText(t, g.adminAddr, "/readyz")
			return code == 200 && strings.Contains(text, "store: etcd unreachable since ")
		})
		if _, text := adminText(t, g.adminAddr, "/metrics"); !strings.Contains(text, "\nmsg_store_connected 0\n") {
			t.Errorf("/metrics lacks msg_store_connected 0")
		}
		// The console's status view reads this.
		if code, st := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/status", ""); code != 200 || st["store"] != "etcd" || st["storeConnected"] != false || st["storeConnectedChangeTime"] == nil {
			t.Errorf("/v1/status during the outage: %d %v, want store etcd, storeConnected false and the time it changed", code, st)
		}
	}
	// The data plane serves on, new connections included.
	for name, c := range map[string]gatewayv1.GatewayServiceClient{
		"alice on a": aliceOnA, "alice on b": aliceOnB, "alice on a new connection to b": b.dial(t, a.identity(t, "alice")),
	} {
		if err := hello(c); err != nil {
			t.Errorf("%s during the outage: %v", name, err)
		}
	}
	if err := hello(malloryOnB); status.Code(err) != codes.PermissionDenied {
		t.Errorf("mallory during the outage: %v, want PermissionDenied", err)
	}
	rule := `{"id":"mallory-hello","effect":"EFFECT_ALLOW","principals":[{"id":"mallory"}],"hosts":["demo.internal"],"paths":[{"exact":"/hello"}]}`
	if code, body := adminCall(t, a.adminAddr, testEditorToken, "POST", "/v1/rules", rule); code != http.StatusServiceUnavailable {
		t.Errorf("admin write during the outage: %d %v, want 503", code, body)
	}
	if code, _ := adminCall(t, a.adminAddr, testViewerToken, "GET", "/v1/rules/alice-demo", ""); code != 200 {
		t.Errorf("admin read during the outage: %d, want 200 from the last snapshot", code)
	}

	f.srv.Restart()
	eventually(t, "an admin write on a after etcd came back", 110*time.Second, func() bool {
		// A write cut off mid-commit may have landed: then it exists.
		code, _ := adminCall(t, a.adminAddr, testEditorToken, "POST", "/v1/rules", rule)
		return code == 200 || code == http.StatusConflict
	})
	eventually(t, "mallory's request on b after the write on a", 10*time.Second, func() bool { return hello(malloryOnB) == nil })
	for _, g := range []*gateway{a, b} {
		eventually(t, "/readyz to report etcd connected", 10*time.Second, func() bool {
			_, text := adminText(t, g.adminAddr, "/readyz")
			return strings.Contains(text, "store: etcd connected")
		})
		if _, st := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/status", ""); st["storeConnected"] != true {
			t.Errorf("/v1/status after the outage: %v, want storeConnected true", st)
		}
	}
}

// TestCheckLoadsEtcdTLSFiles: `msg-gateway check` reads store.etcd's TLS
// files and names the key of a broken one.
func TestCheckLoadsEtcdTLSFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := leaf.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tls, wantKey string
	}{
		{"valid", fmt.Sprintf("{ca_file: %q, cert_file: %q, key_file: %q}", caFile, certFile, keyFile), ""},
		{"missing CA", fmt.Sprintf("{ca_file: %q}", filepath.Join(dir, "nope.pem")), "store.etcd.tls.ca_file"},
		{"CA not PEM", fmt.Sprintf("{ca_file: %q}", notPEM), "store.etcd.tls.ca_file"},
		{"bad key pair", fmt.Sprintf("{cert_file: %q, key_file: %q}", certFile, notPEM), "store.etcd.tls.cert_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
data_dir: %q
tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
store: {etcd: {endpoints: ["https://127.0.0.1:2379"], tls: %s}}
`, filepath.Join(dir, "data"), certFile, keyFile, caFile, tt.tls)))
			if err != nil {
				t.Fatal(err)
			}
			err = server.Check(cfg)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+":") {
				t.Errorf("Check: %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}
}

// TestFleetSeedsLargeConfig: a gateway whose config file has 1000 rules
// seeds an empty etcd prefix (more than one etcd transaction may hold) and
// serves by them; a second instance started on the prefix serves the same
// rules without seeding again.
func TestFleetSeedsLargeConfig(t *testing.T) {
	t.Parallel()
	f := startFleetEtcd(t, false)
	thousandRules := func(c *configv1.Config) {
		for i := range 1000 {
			c.Rules = append(c.Rules, &adminv1.Rule{
				Id: fmt.Sprintf("user-%04d", i), Effect: adminv1.Effect_EFFECT_ALLOW,
				Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: fmt.Sprintf("user-%04d", i)}}},
				Hosts:      []string{"demo.internal"},
			})
		}
	}
	opts := server.Options{DrainTimeout: time.Second}
	a := startGatewayWith(t, nil, opts, f.member(""), thousandRules)
	b := startGatewayWith(t, nil, opts, f.member(a.caFile), thousandRules)
	for name, g := range map[string]*gateway{"a": a, "b": b} {
		code, st := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/status", "")
		if code != 200 || st["ruleCount"] != float64(1003) {
			t.Errorf("%s status: %d %v, want 1003 rules", name, code, st)
		}
	}
	if _, err := forward(t, a.as(t, "user-0999"), get("demo.internal", "/x")); err != nil {
		t.Errorf("the last rule's user on a: %v", err)
	}
	client := b.dial(t, a.identity(t, "user-0999"))
	if _, err := forward(t, client, get("demo.internal", "/x")); err != nil {
		t.Errorf("the last rule's user on b: %v", err)
	}
	if _, err := forward(t, a.as(t, "user-1000"), get("demo.internal", "/x")); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a user no rule names: %v, want PermissionDenied", err)
	}
}
