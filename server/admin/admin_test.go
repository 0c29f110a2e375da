package admin_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	editorToken = "editor-secret"
	viewerToken = "viewer-secret"
)

type env struct {
	url   string
	store *store.Bolt
	srv   *httptest.Server
}

// validate compiles a whole snapshot the way the server does.
func validate(s *store.Snapshot) error {
	t, err := relay.NewTable(s.Hosts)
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := authz.NewPolicy(s.Rules); err != nil {
		return err
	}
	for i, r := range s.Rules {
		for j, h := range r.GetHosts() {
			if !strings.Contains(h, "*") {
				if _, ok := t.Lookup(h); !ok {
					return fieldpath.Errorf(fieldpath.Path("rules").Index(i).Field("hosts").Index(j), "unknown host %q", h)
				}
			}
		}
	}
	return nil
}

// resourceValidator checks single hosts and rules the way the server does.
var resourceValidator = admin.ResourceValidator{
	resource.Host: admin.Check(func(h *adminv1.Host) error {
		tb, err := relay.NewTable([]*adminv1.Host{h})
		tb.Close()
		return err
	}),
	resource.Rule: admin.Check(func(r *adminv1.Rule) error { _, err := authz.NewPolicy([]*adminv1.Rule{r}); return err }),
}

// clientCAs returns the client CA certificates a test service checks
// revocation issuers against, one CA per common name; the last one also
// carries O=Example and C=DE.
func clientCAs(t testing.TB, names ...string) func() []*x509.Certificate {
	t.Helper()
	var cas []*x509.Certificate
	for i, cn := range names {
		var subject pkix.Name
		subject.CommonName = cn
		if i == len(names)-1 {
			subject.Organization, subject.Country = []string{"Example"}, []string{"DE"}
		}
		ca, err := pki.NewCAWithSubject(subject)
		if err != nil {
			t.Fatal(err)
		}
		cas = append(cas, ca.Cert)
	}
	return func() []*x509.Certificate { return cas }
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	auth, err := admin.NewAuthenticator(&configv1.Admin{Tokens: []*configv1.AdminToken{
		{Name: "ed", Sha256: admin.HashToken(editorToken), Role: configv1.AdminRole_ADMIN_ROLE_EDITOR},
		{Name: "vi", Sha256: admin.HashToken(viewerToken), Role: configv1.AdminRole_ADMIN_ROLE_VIEWER},
	}})
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.NewService(admin.ServiceOptions{
		Store:     st,
		Validate:  validate,
		Resources: resourceValidator,
		Version:   "test",
		ClientCAs: clientCAs(t, "msg dev CA", "other CA"),
	})
	h, err := admin.NewHandler(context.Background(), admin.HandlerOptions{
		Service: svc, Auth: auth, Audit: func(r *adminv1.AuditRecord) { st.AppendAudit(r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{url: srv.URL, store: st, srv: srv}
}

func (e *env) do(t *testing.T, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
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
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func str(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

const hostJSON = `{"name":"demo.internal","upstream":"http://demo.corp:9","timeout":"5s"}`

func TestHostLifecycleAndEtags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	code, body := e.do(t, editorToken, "POST", "/v1/hosts", hostJSON)
	if code != 200 {
		t.Fatalf("create: %d %v", code, body)
	}
	etag := str(body, "host", "etag")
	if etag == "" {
		t.Fatalf("create returned no etag: %v", body)
	}
	if code, _ := e.do(t, editorToken, "POST", "/v1/hosts", hostJSON); code != http.StatusConflict {
		t.Errorf("duplicate create: %d, want 409", code)
	}
	code, body = e.do(t, viewerToken, "GET", "/v1/hosts", "")
	if code != 200 || len(body["hosts"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, body)
	}
	// Update with a field mask: only the timeout changes.
	upd := `{"name":"demo.internal","upstream":"http://ignored:1","timeout":"7s","etag":"` + etag + `"}`
	code, body = e.do(t, editorToken, "PATCH", "/v1/hosts/demo.internal?updateMask=timeout", upd)
	if code != 200 || str(body, "host", "timeout") != "7s" || str(body, "host", "upstream") != "http://demo.corp:9" {
		t.Fatalf("masked update: %d %v", code, body)
	}
	newEtag := str(body, "host", "etag")
	// The old etag is stale now: a second admin cannot overwrite silently.
	code, body = e.do(t, editorToken, "PATCH", "/v1/hosts/demo.internal", upd)
	if code != http.StatusConflict {
		t.Errorf("stale update: %d %v, want 409", code, body)
	}
	if code, _ := e.do(t, editorToken, "DELETE", "/v1/hosts/demo.internal?etag="+etag, ""); code != http.StatusConflict {
		t.Errorf("stale delete: %d, want 409", code)
	}
	if code, _ := e.do(t, editorToken, "DELETE", "/v1/hosts/demo.internal", ""); code != http.StatusBadRequest {
		t.Errorf("delete without etag: %d, want 400", code)
	}
	if code, body := e.do(t, editorToken, "DELETE", "/v1/hosts/demo.internal?etag="+newEtag, ""); code != 200 {
		t.Errorf("delete: %d %v", code, body)
	}
	if code, _ := e.do(t, viewerToken, "GET", "/v1/hosts/demo.internal", ""); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}
}

func TestAuthAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"no token", "", "GET", "/v1/hosts", "", 401},
		{"wrong token", "nope", "GET", "/v1/status", "", 401},
		{"viewer reads", viewerToken, "GET", "/v1/status", "", 200},
		{"viewer writes", viewerToken, "POST", "/v1/hosts", hostJSON, 403},
		{"viewer reads audit", viewerToken, "GET", "/v1/audit", "", 200},
		{"editor writes", editorToken, "POST", "/v1/hosts", hostJSON, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.do(t, tc.token, tc.method, tc.path, tc.body); code != tc.want {
				t.Errorf("%s %s: %d %v, want %d", tc.method, tc.path, code, body, tc.want)
			}
		})
	}
	// Refused writes and accepted writes are both in the audit trail.
	if err := e.store.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, _, err := e.store.QueryAudit(context.Background(), store.AuditQuery{Kind: adminv1.RecordKind_RECORD_KIND_ADMIN})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.GetPrincipal()+":"+r.GetAdminAction()+":"+r.GetDecision().String())
	}
	want := "ed:CreateHost:DECISION_ALLOW,vi:CreateHost:DECISION_DENY"
	if strings.Join(got, ",") != want {
		t.Errorf("admin audit = %v, want %s", got, want)
	}
}

func TestBadInputNamesFieldAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if code, body := e.do(t, editorToken, "POST", "/v1/hosts", hostJSON); code != 200 {
		t.Fatalf("create: %d %v", code, body)
	}
	before := e.store.Snapshot().Revision
	for _, tc := range []struct {
		name, path, body, want string
	}{
		{"invalid URL", "/v1/hosts", `{"name":"a.internal","upstream":"ftp://x"}`, "host.upstream"},
		{"missing upstream", "/v1/hosts", `{"name":"a.internal"}`, "host.upstream"},
		{"bad host name", "/v1/hosts", `{"name":"A B","upstream":"http://x"}`, "host.name"},
		{"unknown JSON field", "/v1/hosts", `{"name":"a.internal","upstream":"http://x","upstrem":"y"}`, "upstrem"},
		{"etag on create", "/v1/hosts", `{"name":"b.internal","upstream":"http://x","etag":"1"}`, "host.etag"},
		{"invalid glob", "/v1/rules", `{"id":"r1","effect":"EFFECT_ALLOW","principals":[{"any":true}],"hosts":["a**b"]}`, "rule.hosts[0]"},
		{"rule for unknown host", "/v1/rules", `{"id":"r2","effect":"EFFECT_ALLOW","principals":[{"any":true}],"hosts":["nope.internal"]}`, "rule.hosts[0]"},
		{"duplicate rule id is 409 not 400", "", "", ""},
		{"revocation without target", "/v1/revocations", `{"reason":"lost"}`, "revocation.serial_hex"},
		{"revocation without reason", "/v1/revocations", `{"fingerprint_sha256":"` + strings.Repeat("a", 64) + `"}`, "revocation.reason"},
		{"oversized body", "/v1/hosts", `{"name":"c.internal","upstream":"http://x","description":"` + strings.Repeat("x", 2<<20) + `"}`, ""},
	} {
		if tc.path == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(t, editorToken, "POST", tc.path, tc.body)
			if code != http.StatusBadRequest && !(tc.want == "" && code == http.StatusRequestEntityTooLarge) {
				t.Fatalf("code = %d %v, want 400", code, body)
			}
			if msg := str(body, "message"); tc.want != "" && !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not name %q", msg, tc.want)
			}
		})
	}
	if after := e.store.Snapshot().Revision; after != before {
		t.Errorf("revision moved from %d to %d: a rejected write changed the store", before, after)
	}
	// Deleting a host that a rule names is refused.
	code, body := e.do(t, editorToken, "POST", "/v1/rules", `{"id":"r","effect":"EFFECT_ALLOW","principals":[{"any":true}],"hosts":["demo.internal"]}`)
	if code != 200 {
		t.Fatalf("create rule: %d %v", code, body)
	}
	_, body = e.do(t, viewerToken, "GET", "/v1/hosts/demo.internal", "")
	if code, body := e.do(t, editorToken, "DELETE", "/v1/hosts/demo.internal?etag="+str(body, "host", "etag"), ""); code != http.StatusBadRequest {
		t.Errorf("delete referenced host: %d %v, want 400 (FailedPrecondition)", code, body)
	}
}

func TestRevocationsAndPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		fp := fmt.Sprintf("%064x", i+1)
		if code, body := e.do(t, editorToken, "POST", "/v1/revocations", `{"fingerprintSha256":"`+fp+`","reason":"lost phone"}`); code != 200 {
			t.Fatalf("revoke: %d %v", code, body)
		}
	}
	code, body := e.do(t, editorToken, "POST", "/v1/revocations", `{"serialHex":"0A:1b","issuer":"CN=msg dev CA","reason":"stolen"}`)
	if code != 200 || str(body, "revocation", "serialHex") != "a1b" || str(body, "revocation", "creator") != "ed" {
		t.Fatalf("revoke by serial: %d %v", code, body)
	}
	if code, body := e.do(t, editorToken, "POST", "/v1/revocations", `{"serialHex":"0A:1b","issuer":"cn = MSG DEV CA","reason":"again"}`); code != http.StatusConflict {
		t.Fatalf("revoke the same serial with another spelling of the issuer: %d %v, want 409 (one canonical id)", code, body)
	}
	var ids []string
	token := ""
	for page := 0; page < 10; page++ {
		_, body := e.do(t, viewerToken, "GET", "/v1/revocations?pageSize=2&pageToken="+token, "")
		for _, r := range body["revocations"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		token = str(body, "nextPageToken")
		if token == "" {
			break
		}
	}
	if len(ids) != 6 {
		t.Errorf("paged through %d revocations, want 6: %v", len(ids), ids)
	}
	_, status := e.do(t, viewerToken, "GET", "/v1/status", "")
	if str(status, "version") != "test" || status["revocationCount"].(float64) != 6 {
		t.Errorf("status = %v", status)
	}
}

// TestRevocationIssuer is finding 5 of issue 11: the issuer of a revocation
// by serial number is read as a distinguished name in the usual spellings,
// must name a configured client CA, and is stored in one canonical form.
func TestRevocationIssuer(t *testing.T) {
	t.Parallel()
	cas := clientCAs(t, "msg dev CA", "ops CA")()
	rev := func(issuer string) *adminv1.Revocation {
		return &adminv1.Revocation{SerialHex: "0a1b", Issuer: issuer, Reason: "stolen"}
	}
	want, err := admin.NormalizeRevocation(rev("CN=msg dev CA"), cas)
	if err != nil {
		t.Fatal(err)
	}
	if want.GetIssuer() != "CN=msg dev CA" || !strings.HasPrefix(want.GetId(), "sn-") {
		t.Fatalf("NormalizeRevocation = %v", want)
	}
	for _, spelling := range []string{"CN = msg dev CA", "cn=msg dev CA", "/CN=msg dev CA", "commonName=MSG  Dev  CA"} {
		got, err := admin.NormalizeRevocation(rev(spelling), cas)
		if err != nil || got.GetId() != want.GetId() || got.GetIssuer() != want.GetIssuer() {
			t.Errorf("issuer %q: %v, %v; want id %s, issuer %q", spelling, got, err, want.GetId(), want.GetIssuer())
		}
	}
	orgCA, err := admin.NormalizeRevocation(rev("CN = ops CA, O = Example, C = DE"), cas)
	if err != nil || orgCA.GetIssuer() != "CN=ops CA,O=Example,C=DE" {
		t.Errorf("multi-RDN issuer: %v, %v", orgCA, err)
	}
	for _, tt := range []struct {
		issuer, want string
	}{
		{"CN=nobody", "revocation.issuer: names no configured client CA"},
		{"CN=msg dev", "revocation.issuer: names no configured client CA"},
		{"CN=ops CA,O=Example", "revocation.issuer: names no configured client CA"},
		{"C = DE, O = Example, CN = ops CA", `reverse order: RFC 4514 writes the most specific first, "CN=ops CA,O=Example,C=DE"`},
		{"msg dev CA", "revocation.issuer: not a distinguished name"},
		{"CN=a;O=b", "revocation.issuer: not a distinguished name"},
	} {
		_, err := admin.NormalizeRevocation(rev(tt.issuer), cas)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.want) {
			t.Errorf("issuer %q: %v, want InvalidArgument containing %q", tt.issuer, err, tt.want)
		}
	}
	if _, err := admin.NormalizeRevocation(rev("CN=msg dev CA"), nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("without client CAs: %v, want InvalidArgument", err)
	}
}

func TestOpenAPIAndGRPCOnAdminListener(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := http.Get(e.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["swagger"] != "2.0" || doc["paths"].(map[string]any)["/v1/hosts"] == nil {
		t.Errorf("openapi.json is not the admin OpenAPI 2 document")
	}

	conn, err := grpc.NewClient(strings.TrimPrefix(e.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := adminv1.NewAdminServiceClient(conn)
	if _, err := c.GetStatus(context.Background(), &adminv1.GetStatusRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC without token: %v, want Unauthenticated", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+viewerToken)
	st, err := c.GetStatus(ctx, &adminv1.GetStatusRequest{})
	if err != nil || st.GetVersion() != "test" {
		t.Errorf("gRPC GetStatus: %v %v", st, err)
	}
	var buf bytes.Buffer
	_ = buf
}
