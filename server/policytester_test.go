package server_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestPolicyTesterMatchesDataPlane asks the policy tester
// (POST /v1/policy:evaluate) about a table of identities and requests, then
// makes each request for real with a certificate carrying that identity, and
// checks that the tester's answer is what the data plane did: the same gRPC
// code for the app, and the same decision, rule and reason in the audit
// record of the real call.
func TestPolicyTesterMatchesDataPlane(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)

	ios, err := g.ca.Issue(pki.Options{CommonName: "phone-17", Organization: []string{"Example"}, OrganizationalUnit: []string{"ios"}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := g.ca.Issue(pki.Options{CommonName: "ignored-cn", URIs: []string{"spiffe://example.org/app/android"}})
	if err != nil {
		t.Fatal(err)
	}
	contractor, err := g.ca.Issue(pki.Options{CommonName: "carol", Organization: []string{"Contractors"}, OrganizationalUnit: []string{"ios"}})
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := g.ca.Issue(pki.Options{CommonName: "kiosk"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pinned.TLSCertificate().Leaf.Raw)
	pinnedFP := hex.EncodeToString(sum[:])

	for _, rule := range []string{
		`{"id":"ios-api-read","effect":"EFFECT_ALLOW","principals":[{"organizationalUnit":"ios"}],"hosts":["demo.internal"],"methods":["GET","HEAD"],"paths":[{"prefix":"/api"}]}`,
		`{"id":"android-profiles","effect":"EFFECT_ALLOW","principals":[{"spiffeId":"spiffe://example.org/app/android"}],"hosts":["*.internal"],"paths":[{"glob":"/users/*/profile"}]}`,
		`{"id":"no-contractor-admin","effect":"EFFECT_DENY","principals":[{"organization":"Contractors"}],"hosts":["**"],"paths":[{"prefix":"/api/admin"}]}`,
		`{"id":"kiosk-pinned","effect":"EFFECT_ALLOW","principals":[{"fingerprintSha256":"` + pinnedFP + `"}],"hosts":["small.internal"]}`,
	} {
		if code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/rules", rule); code != 200 {
			t.Fatalf("create rule: %d %v", code, body)
		}
	}

	type identity struct {
		cert tls.Certificate
		who  *adminv1.PolicyIdentity
	}
	alice := identity{g.identity(t, "alice"), &adminv1.PolicyIdentity{CommonName: "alice"}}
	mallory := identity{g.identity(t, "mallory"), &adminv1.PolicyIdentity{PrincipalId: "mallory"}}
	bob := identity{g.identity(t, "bob"), &adminv1.PolicyIdentity{CommonName: "bob"}}
	iosID := identity{ios.TLSCertificate(), &adminv1.PolicyIdentity{CommonName: "phone-17", Organizations: []string{"Example"}, OrganizationalUnits: []string{"ios"}}}
	appID := identity{app.TLSCertificate(), &adminv1.PolicyIdentity{CommonName: "ignored-cn", SpiffeId: "spiffe://example.org/app/android"}}
	carol := identity{contractor.TLSCertificate(), &adminv1.PolicyIdentity{CommonName: "carol", Organizations: []string{"Contractors"}, OrganizationalUnits: []string{"ios"}}}
	kiosk := identity{pinned.TLSCertificate(), &adminv1.PolicyIdentity{CommonName: "kiosk", FingerprintSha256: strings.ToUpper(pinnedFP)}}

	tests := []struct {
		name     string
		id       identity
		method   string
		host     string
		path     string
		wantCode string
		wantRule string
	}{
		{"alice allowed", alice, "GET", "demo.internal", "/hello", "OK", "alice-demo"},
		{"alice private denied", alice, "GET", "demo.internal", "/private/x", "PermissionDenied", "alice-no-private"},
		{"alice private by dot segments", alice, "GET", "demo.internal", "/a/../private/%78", "PermissionDenied", "alice-no-private"},
		{"alice encoded unreserved", alice, "post", "DEMO.internal", "/%7ehome?x=1", "OK", "alice-demo"},
		{"alice malformed path", alice, "GET", "demo.internal", "/a%2Fb", "InvalidArgument", ""},
		{"alice malformed host", alice, "GET", "demo internal", "/", "InvalidArgument", ""},
		{"mallory no rule", mallory, "GET", "demo.internal", "/hello", "PermissionDenied", ""},
		{"bob host not in table", bob, "GET", "ghost.internal", "/", "PermissionDenied", "bob-everything"},
		{"bob allowed", bob, "DELETE", "small.internal", "/x", "OK", "bob-everything"},
		{"ios read", iosID, "GET", "demo.internal", "/api/orders", "OK", "ios-api-read"},
		{"ios write denied", iosID, "POST", "demo.internal", "/api/orders", "PermissionDenied", ""},
		{"ios prefix boundary", iosID, "GET", "demo.internal", "/apix", "PermissionDenied", ""},
		{"spiffe profile", appID, "PUT", "demo.internal", "/users/42/profile", "OK", "android-profiles"},
		{"spiffe not by cn", identity{g.identity(t, "ignored-cn"), &adminv1.PolicyIdentity{CommonName: "ignored-cn"}}, "PUT", "demo.internal", "/users/42/profile", "PermissionDenied", ""},
		{"contractor read", carol, "GET", "demo.internal", "/api/orders", "OK", "ios-api-read"},
		{"contractor admin denied", carol, "GET", "demo.internal", "/api/admin/users", "PermissionDenied", "no-contractor-admin"},
		{"fingerprint pinned", kiosk, "GET", "small.internal", "/", "OK", "kiosk-pinned"},
		{"fingerprint other host", kiosk, "GET", "demo.internal", "/", "PermissionDenied", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &adminv1.EvaluatePolicyRequest{Identity: tc.id.who, Request: &adminv1.PolicyRequest{Host: tc.host, Method: tc.method, Path: tc.path}}
			body, err := protojson.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			code, raw := adminCall(t, g.adminAddr, testViewerToken, "POST", "/v1/policy:evaluate", string(body))
			if code != 200 {
				t.Fatalf("evaluate: %d %v", code, raw)
			}
			got := &adminv1.EvaluatePolicyResponse{}
			if err := protojson.Unmarshal([]byte(mustJSON(raw)), got); err != nil {
				t.Fatal(err)
			}
			if got.GetCode() != tc.wantCode || got.GetRuleId() != tc.wantRule {
				t.Errorf("tester: code %s rule %q (%v), want code %s rule %q", got.GetCode(), got.GetRuleId(), got, tc.wantCode, tc.wantRule)
			}

			_, ferr := forward(t, g.dial(t, tc.id.cert), &gatewayv1.ForwardRequest{Host: tc.host, Method: tc.method, Path: tc.path})
			if real := status.Code(ferr).String(); real != got.GetCode() {
				t.Errorf("data plane: %s (%v), tester said %s", real, ferr, got.GetCode())
			}
			rec := lastForwardRecord(t, g)
			if rec.GetDecision() != got.GetDecision() || rec.GetRuleId() != got.GetRuleId() || rec.GetReason() != got.GetReason() ||
				rec.GetPrincipal() != got.GetPrincipalId() {
				t.Errorf("audit of the real call: %v %q %q %q; tester: %v %q %q %q", rec.GetDecision(), rec.GetRuleId(), rec.GetReason(), rec.GetPrincipal(),
					got.GetDecision(), got.GetRuleId(), got.GetReason(), got.GetPrincipalId())
			}
			if got.GetCode() != "InvalidArgument" && (rec.GetHost() != got.GetCanonicalHost() || rec.GetPath() != got.GetCanonicalPath() || rec.GetMethod() != got.GetCanonicalMethod()) {
				t.Errorf("audit canonical request %s %s %s; tester %s %s %s", rec.GetMethod(), rec.GetHost(), rec.GetPath(),
					got.GetCanonicalMethod(), got.GetCanonicalHost(), got.GetCanonicalPath())
			}
		})
	}
}

// lastForwardRecord returns the newest data-plane audit record.
func lastForwardRecord(t *testing.T, g *gateway) *adminv1.AuditRecord {
	t.Helper()
	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, raw := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?kind=RECORD_KIND_FORWARD&pageSize=1", "")
	if code != 200 {
		t.Fatalf("audit: %d %v", code, raw)
	}
	resp := &adminv1.ListAuditRecordsResponse{}
	if err := protojson.Unmarshal([]byte(mustJSON(raw)), resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.GetRecords()) != 1 {
		t.Fatalf("no audit record: %v", raw)
	}
	return resp.GetRecords()[0]
}

// TestPolicyTesterRoles: the tester is a read (a viewer may use it), and like
// every admin call it needs credentials.
func TestPolicyTesterRoles(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	body := `{"identity":{"commonName":"alice"},"request":{"host":"demo.internal","method":"GET","path":"/"}}`
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong", 401}, {testViewerToken, 200}, {testEditorToken, 200}} {
		if code, raw := adminCall(t, g.adminAddr, tc.token, "POST", "/v1/policy:evaluate", body); code != tc.want {
			t.Errorf("token %q: %d %v, want %d", tc.token, code, raw, tc.want)
		}
	}
	code, raw := adminCall(t, g.adminAddr, testViewerToken, "POST", "/v1/policy:evaluate",
		`{"identity":{"spiffeId":"spiffe://Example.org/x"},"request":{"host":"demo.internal","method":"GET","path":"/"}}`)
	if code != 400 || !strings.HasPrefix(fmt.Sprint(raw["message"]), "identity.spiffe_id:") {
		t.Errorf("bad SPIFFE ID: %d %v, want 400 naming identity.spiffe_id", code, raw)
	}
}
