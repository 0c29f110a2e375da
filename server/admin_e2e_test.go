package server_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// adminCall sends one admin REST request and decodes the JSON answer.
func adminCall(t *testing.T, adminAddr, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestAdminLiveUpdates is the admin API's promise end to end: a rule added
// through REST admits the next request without a restart, a revocation makes
// the revoked certificate's next request fail on its already-open connection,
// and both are in the audit trail.
func TestAdminLiveUpdates(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)

	code, hosts := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/hosts", "")
	if code != 200 || !strings.Contains(mustJSON(hosts), `"demo.internal"`) {
		t.Fatalf("GET /v1/hosts: %d %v", code, hosts)
	}
	if code, _ := adminCall(t, g.adminAddr, "", "GET", "/v1/hosts", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/hosts without a token: %d, want 401", code)
	}

	// mallory is denied, then admitted by a new rule on the same connection.
	mallory := g.as(t, "mallory")
	if _, err := forward(t, mallory, get("demo.internal", "/hello")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("mallory before the rule: %v, want PermissionDenied", err)
	}
	code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/rules",
		`{"id":"mallory-hello","effect":"EFFECT_ALLOW","principals":[{"id":"mallory"}],"hosts":["demo.internal"],"paths":[{"exact":"/hello"}]}`)
	if code != 200 {
		t.Fatalf("create rule: %d %v", code, body)
	}
	eventually(t, "mallory's request after the rule was added", 10*time.Second, func() bool {
		_, err := forward(t, mallory, get("demo.internal", "/hello"))
		return err == nil
	})

	// alice works, then her certificate is revoked by fingerprint: her next
	// request on the same, already-open connection fails, refused by the
	// per-request check (Unauthenticated) or because the revocation closed
	// the connection first (Unavailable). Each of the two has a test of its
	// own: TestPerRequestRevocationCheck and
	// TestStoreRevocationClosesConnections.
	aliceCert := g.identity(t, "alice")
	alice := g.dial(t, aliceCert)
	if _, err := forward(t, alice, get("demo.internal", "/hello")); err != nil {
		t.Fatalf("alice before the revocation: %v", err)
	}
	sum := sha256.Sum256(aliceCert.Leaf.Raw)
	code, body = adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/revocations",
		`{"fingerprintSha256":"`+hex.EncodeToString(sum[:])+`","reason":"phone lost"}`)
	if code != 200 {
		t.Fatalf("revoke: %d %v", code, body)
	}
	eventually(t, "alice's request after her certificate was revoked", 10*time.Second, func() bool {
		_, err := forward(t, alice, get("demo.internal", "/hello"))
		c := status.Code(err)
		return c == codes.Unauthenticated || c == codes.Unavailable
	})
	// A new connection with the revoked certificate fails in the handshake.
	if _, err := forward(t, g.dial(t, aliceCert), get("demo.internal", "/hello")); status.Code(err) != codes.Unavailable {
		t.Errorf("new connection with a revoked cert: %v, want a handshake failure (Unavailable)", err)
	}

	// The data plane reports the store revision it serves: seed (1), the
	// rule (2), the revocation (3).
	if got, ok := metricValue(g.scrape(t), "msg_config_revision"); !ok || got != 3 {
		t.Errorf("msg_config_revision = %v, want 3", got)
	}

	// The audit trail has the decisions and the admin writes.
	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body = adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?principal=mallory&decision=DECISION_DENY", "")
	if code != 200 || len(records(body)) == 0 {
		t.Fatalf("audit for mallory's denials: %d %v", code, body)
	}
	rec := records(body)[0]
	if id, _ := rec["requestId"].(string); rec["ruleId"] != "" || rec["reason"] != "no_matching_rule" || rec["host"] != "demo.internal" || len(id) != 32 {
		t.Errorf("mallory's denial record = %v", rec)
	}
	_, body = adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?kind=RECORD_KIND_ADMIN", "")
	var actions []string
	for _, r := range records(body) {
		actions = append(actions, r["principal"].(string)+":"+r["adminAction"].(string))
	}
	if got := strings.Join(actions, ","); got != "test-editor:CreateRevocation,test-editor:CreateRule" {
		t.Errorf("admin records = %s", got)
	}
}

// TestAdminWritesSurviveRestart stops a gateway and starts another on the
// same data directory: hosts, rules and revocations written through the API
// are all there, and the config file does not overwrite them.
func TestAdminWritesSurviveRestart(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	for _, w := range []struct{ path, body string }{
		{"/v1/hosts", `{"name":"new.internal","upstream":"http://new.corp:8080"}`},
		{"/v1/rules", `{"id":"bob-new","effect":"EFFECT_ALLOW","principals":[{"id":"bob"}],"hosts":["new.internal"]}`},
		{"/v1/revocations", `{"serialHex":"1f","issuer":"CN=test CA","reason":"test"}`},
	} {
		if code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", w.path, w.body); code != 200 {
			t.Fatalf("POST %s: %d %v", w.path, code, body)
		}
	}
	g.drain()
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}

	cfg, err := config.Parse([]byte(g.yaml))
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg, server.Options{DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, adminAddr := serveOnFreePorts(t, s)

	for _, path := range []string{"/v1/hosts/new.internal", "/v1/rules/bob-new", "/v1/rules/alice-demo"} {
		if code, body := adminCall(t, adminAddr, testViewerToken, "GET", path, ""); code != 200 {
			t.Errorf("after restart GET %s: %d %v", path, code, body)
		}
	}
	_, body := adminCall(t, adminAddr, testViewerToken, "GET", "/v1/status", "")
	if body["revocationCount"] != float64(1) || body["hostCount"] != float64(3) {
		t.Errorf("status after restart = %v", body)
	}
}

func records(body map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := body["records"].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any))
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestStreamWithoutHeadTimesOut: a ForwardStream that never sends its request
// head is ended after limits.first_message_timeout instead of holding a
// stream slot and an in-flight slot forever. The call has no deadline of its
// own, so only the gateway can end it.
func TestStreamWithoutHeadTimesOut(t *testing.T) {
	t.Parallel()
	const headTimeout = 300 * time.Millisecond
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Limits.FirstMessageTimeout = durationpb.New(headTimeout)
	})
	alice := g.as(t, "alice")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	stream, err := alice.ForwardStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := stream.Recv()
		ended <- err
	}()
	select {
	case err := <-ended:
		// The call has no deadline: DeadlineExceeded can only be the
		// gateway's.
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Recv on a stream without a head: %v, want the gateway's DeadlineExceeded", err)
		}
		if took := time.Since(start); took < headTimeout {
			t.Errorf("ended after %v, before the head timeout %v", took, headTimeout)
		}
	case <-time.After(waitFor):
		t.Fatal("a stream without a head is still open")
	}
	if n := len(g.log.all()); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

// TestAdminClientCertificates: with admin.tls the admin listener speaks HTTPS
// and admin client certificates authenticate REST and gRPC calls; a client
// cannot claim a certificate it did not present through a forged header.
func TestAdminClientCertificates(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Admin.Tls = &configv1.AdminTLS{CertFile: c.Tls.CertFile, KeyFile: c.Tls.KeyFile, ClientCaFile: c.Tls.ClientCaFile}
		c.Admin.Clients = []*configv1.AdminClient{{Name: "ops-cert", CommonName: "ops", Role: configv1.AdminRole_ADMIN_ROLE_EDITOR}}
	})
	httpsClient := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: g.ca.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12},
		}}
	}
	do := func(c *http.Client, method, path, body string, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+g.adminAddr+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ops := g.identity(t, "ops")
	rule := `{"id":"cert-made","effect":"EFFECT_ALLOW","principals":[{"id":"bob"}],"hosts":["demo.internal"]}`
	if code, body := do(httpsClient(ops), "POST", "/v1/rules", rule); code != 200 {
		t.Fatalf("POST with the ops certificate: %d %s", code, body)
	}
	if code, _ := do(httpsClient(g.identity(t, "nobody")), "GET", "/v1/status", ""); code != http.StatusUnauthorized {
		t.Errorf("unknown certificate: %d, want 401", code)
	}
	// /metrics takes the same credentials as the API.
	if code, body := do(httpsClient(ops), "GET", "/metrics", ""); code != 200 || !strings.Contains(body, "msg_build_info") {
		t.Errorf("/metrics with the ops certificate: %d", code)
	}
	if code, _ := do(httpsClient(g.identity(t, "nobody")), "GET", "/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics with an unknown certificate: %d, want 401", code)
	}
	if code, _ := do(httpsClient(), "GET", "/v1/status", "", "Authorization", "Bearer "+testViewerToken); code != 200 {
		t.Errorf("token over HTTPS without a certificate: %d, want 200", code)
	}
	sum := sha256.Sum256(ops.Leaf.Raw)
	if code, _ := do(httpsClient(), "GET", "/v1/status", "",
		"Grpc-Metadata-X-Msg-Admin-Client-Cert-Sha256", hex.EncodeToString(sum[:]),
		"Grpc-Metadata-X-Msg-Admin-Client-Cert-Cn", "ops"); code != http.StatusUnauthorized {
		t.Errorf("forged certificate headers: %d, want 401", code)
	}

	// gRPC AdminService on the same HTTPS listener, authenticated by the
	// certificate directly.
	conn, err := grpc.NewClient(g.adminAddr, grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{ops}, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := adminv1.NewAdminServiceClient(conn).GetStatus(context.Background(), &adminv1.GetStatusRequest{})
	if err != nil || st.GetRuleCount() != 4 {
		t.Errorf("gRPC GetStatus with the ops certificate: %v %v", st, err)
	}

	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := do(httpsClient(ops), "GET", "/v1/audit?kind=RECORD_KIND_ADMIN", "")
	if code != 200 || !strings.Contains(body, `"principal":"ops-cert"`) {
		t.Errorf("audit of the certificate's write: %d %s", code, body)
	}
}

// TestRevocationByIssuerSpellings is finding 5 of issue 11 end to end: a
// revocation by serial number with the issuer written as OpenSSL or people
// write it ("CN = test CA", "cn=test CA", "/CN=test CA") revokes the real
// certificate: its next request on an open connection fails and a new
// handshake is refused. Every spelling is stored as one canonical issuer
// and id, and an issuer that names no configured client CA is a 400 naming
// the field.
func TestRevocationByIssuerSpellings(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	spellings := []string{"CN = test CA", "cn=test CA", "/CN=test CA", "CN=test CA"}
	var ids []string
	for _, issuer := range spellings {
		cert := g.identity(t, "alice")
		alice := g.dial(t, cert)
		if _, err := forward(t, alice, get("demo.internal", "/hello")); err != nil {
			t.Fatalf("alice before the revocation: %v", err)
		}
		code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/revocations",
			mustJSON(map[string]string{"serialHex": cert.Leaf.SerialNumber.Text(16), "issuer": issuer, "reason": "stolen"}))
		if code != http.StatusOK {
			t.Fatalf("revoke with issuer %q: %d %v", issuer, code, body)
		}
		rev := body["revocation"].(map[string]any)
		if rev["issuer"] != "CN=test CA" {
			t.Errorf("issuer %q stored as %q, want the CA's canonical subject", issuer, rev["issuer"])
		}
		ids = append(ids, rev["id"].(string))
		eventually(t, "the revoked certificate's next request to fail", 10*time.Second, func() bool {
			_, err := forward(t, alice, get("demo.internal", "/hello"))
			c := status.Code(err)
			return c == codes.Unauthenticated || c == codes.Unavailable
		})
		if _, err := forward(t, g.dial(t, cert), get("demo.internal", "/hello")); status.Code(err) != codes.Unavailable {
			t.Errorf("issuer %q: new connection with the revoked certificate: %v, want a handshake failure", issuer, err)
		}
		// Another spelling of the same issuer and serial is the same
		// revocation.
		code, body = adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/revocations",
			mustJSON(map[string]string{"serialHex": "0x" + strings.ToUpper(cert.Leaf.SerialNumber.Text(16)), "issuer": "  commonName = TEST ca ", "reason": "again"}))
		if code != http.StatusConflict {
			t.Errorf("the same revocation spelled differently: %d %v, want 409", code, body)
		}
	}
	// Other identities are unaffected.
	if _, err := forward(t, g.as(t, "alice"), get("demo.internal", "/hello")); err != nil {
		t.Errorf("a fresh alice certificate: %v", err)
	}

	for _, issuer := range []string{"CN=msg dev CA", "CN=test", "O=test CA"} {
		code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/revocations",
			mustJSON(map[string]string{"serialHex": "1f", "issuer": issuer, "reason": "typo"}))
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "revocation.issuer: names no configured client CA") {
			t.Errorf("issuer %q naming no CA: %d %v, want 400 naming revocation.issuer", issuer, code, body)
		}
	}
	code, body := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/revocations", "")
	if code != http.StatusOK {
		t.Fatalf("list: %d %v", code, body)
	}
	var listed []string
	for _, r := range body["revocations"].([]any) {
		listed = append(listed, r.(map[string]any)["id"].(string))
	}
	slices.Sort(ids)
	if !slices.Equal(listed, ids) {
		t.Errorf("store holds %q, want exactly one id per certificate %q", listed, ids)
	}
}

// TestUnauthenticatedCallsAudited: calls refused as Unauthenticated (here a
// certificate without a usable identity) are in /v1/audit like every other
// refusal, with the certificate's fingerprint and serial.
func TestUnauthenticatedCallsAudited(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	nobody := g.identity(t, "") // no common name, no SPIFFE ID
	c := g.dial(t, nobody)
	_, err := forward(t, c, get("demo.internal", "/x"))
	wantCode(t, err, codes.Unauthenticated)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.ForwardStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Recv()
	wantCode(t, err, codes.Unauthenticated)
	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nobody.Leaf.Raw)
	fp := hex.EncodeToString(sum[:])
	code, body := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?decision=DECISION_DENY", "")
	if code != 200 {
		t.Fatalf("GET /v1/audit: %d %v", code, body)
	}
	found := 0
	for _, r := range records(body) {
		if r["certFingerprintSha256"] == fp && r["code"] == "Unauthenticated" && r["reason"] == "unauthenticated" &&
			r["certSerialHex"] == nobody.Leaf.SerialNumber.Text(16) && r["principal"] == "" {
			found++
		}
	}
	if found != 2 {
		t.Errorf("%d audit records of the unauthenticated Forward and ForwardStream, want 2: %s", found, strings.TrimSpace(mustJSON(body)))
	}
}

// TestAdminForgedCertMetadataOverGRPC: the metadata that carries a REST
// caller's admin certificate from the mux to the admin service is trusted on
// the in-process connection only. A direct gRPC call to the admin listener
// that forges it, without a certificate or with a certificate that is not an
// admin's, is Unauthenticated and writes nothing.
func TestAdminForgedCertMetadataOverGRPC(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Admin.Tls = &configv1.AdminTLS{CertFile: c.Tls.CertFile, KeyFile: c.Tls.KeyFile, ClientCaFile: c.Tls.ClientCaFile}
		c.Admin.Clients = []*configv1.AdminClient{{Name: "ops-cert", CommonName: "ops", Role: configv1.AdminRole_ADMIN_ROLE_EDITOR}}
	})
	ops := g.identity(t, "ops")
	forged := metadata.Pairs(admin.CertMetadataKey, fingerprint(ops.Leaf), "x-msg-admin-client-cert-cn", "ops")
	allowAll := &adminv1.Rule{Id: "forged", Effect: adminv1.Effect_EFFECT_ALLOW,
		Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Any{Any: true}}}, Hosts: []string{"**"}}
	statusBefore := adminStatus(t, g, ops)

	for name, certs := range map[string][]tls.Certificate{
		"no certificate":            nil,
		"a non-admin's certificate": {g.identity(t, "nobody")},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := grpc.NewClient(g.adminAddr, grpc.WithTransportCredentials(credentials.NewTLS(
				&tls.Config{RootCAs: g.ca.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12})))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), forged), waitFor)
			defer cancel()
			_, err = adminv1.NewAdminServiceClient(conn).CreateRule(ctx, &adminv1.CreateRuleRequest{Rule: allowAll})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("CreateRule with forged certificate metadata: %v, want Unauthenticated", err)
			}
		})
	}
	if after := adminStatus(t, g, ops); after.GetRevision() != statusBefore.GetRevision() || after.GetRuleCount() != statusBefore.GetRuleCount() {
		t.Errorf("status after the forged calls = %v, before %v: something was written", after, statusBefore)
	}
	if _, err := forward(t, g.as(t, "mallory"), get("demo.internal", "/hello")); status.Code(err) != codes.PermissionDenied {
		t.Errorf("mallory after the forged calls: %v, want PermissionDenied", err)
	}
}

// adminStatus asks the admin gRPC service for its status with a real admin
// certificate.
func adminStatus(t *testing.T, g *gateway, cert tls.Certificate) *adminv1.GetStatusResponse {
	t.Helper()
	conn, err := grpc.NewClient(g.adminAddr, grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := adminv1.NewAdminServiceClient(conn).GetStatus(ctx, &adminv1.GetStatusRequest{})
	if err != nil {
		t.Fatalf("GetStatus with an admin certificate: %v", err)
	}
	return st
}
