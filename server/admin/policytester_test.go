package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/server/admin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// testerService is a service whose data plane has one host and a few rules.
func testerService(t testing.TB) *admin.Service {
	t.Helper()
	policy, err := authz.NewPolicy([]*adminv1.Rule{
		{Id: "by-id", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: "spiffe://example.org/app"}}}, Hosts: []string{"**"}},
		{Id: "by-cn", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_CommonName{CommonName: "app-*"}}}, Hosts: []string{"a.internal"}},
		{Id: "by-fp", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_FingerprintSha256{FingerprintSha256: strings.Repeat("ab", 32)}}}, Hosts: []string{"a.internal"}},
		{Id: "no-admin", Effect: adminv1.Effect_EFFECT_DENY, Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Any{Any: true}}}, Hosts: []string{"**"}, Paths: []*adminv1.PathMatcher{{Kind: &adminv1.PathMatcher_Prefix{Prefix: "/admin"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return admin.NewService(admin.ServiceOptions{DataPlane: admin.DataPlaneFunc(func() admin.LiveState {
		return admin.LiveState{Revision: 7, Policy: policy, HasHost: func(h string) bool { return h == "a.internal" }, Limits: authz.Limits{MaxHeaderCount: 10}}
	})})
}

// TestEvaluatePolicy checks how the tester reads an identity (the principal
// id derived as the data plane derives it) and reports each kind of answer.
func TestEvaluatePolicy(t *testing.T) {
	t.Parallel()
	svc := testerService(t)
	fp := strings.Repeat("AB", 32)
	tests := []struct {
		name       string
		id         *adminv1.PolicyIdentity
		host, path string
		wantCode   string
		wantRule   string
		wantReason string
		wantID     string
		wantErr    string // a refused call: InvalidArgument starting with this
	}{
		{name: "spiffe id wins over cn", id: &adminv1.PolicyIdentity{CommonName: "x", SpiffeId: "spiffe://example.org/app"}, host: "b.internal", path: "/",
			wantCode: "PermissionDenied", wantRule: "by-id", wantReason: "host_not_allowlisted", wantID: "spiffe://example.org/app"},
		{name: "principal id alone as spiffe", id: &adminv1.PolicyIdentity{PrincipalId: "spiffe://example.org/app"}, host: "a.internal", path: "/x",
			wantCode: "OK", wantRule: "by-id", wantReason: "allowed", wantID: "spiffe://example.org/app"},
		{name: "principal id alone as cn", id: &adminv1.PolicyIdentity{PrincipalId: "app-7"}, host: "A.INTERNAL", path: "/%7ex",
			wantCode: "OK", wantRule: "by-cn", wantReason: "allowed", wantID: "app-7"},
		{name: "fingerprint with colons and upper case", id: &adminv1.PolicyIdentity{CommonName: "kiosk", FingerprintSha256: fp[:2] + ":" + fp[2:]}, host: "a.internal", path: "/",
			wantCode: "OK", wantRule: "by-fp", wantReason: "allowed", wantID: "kiosk"},
		{name: "deny overrides", id: &adminv1.PolicyIdentity{CommonName: "app-1"}, host: "a.internal", path: "/x/../admin/users",
			wantCode: "PermissionDenied", wantRule: "no-admin", wantReason: "denied_by_rule", wantID: "app-1"},
		{name: "no rule", id: &adminv1.PolicyIdentity{CommonName: "mallory"}, host: "a.internal", path: "/",
			wantCode: "PermissionDenied", wantReason: "no_matching_rule", wantID: "mallory"},
		{name: "invalid path", id: &adminv1.PolicyIdentity{CommonName: "app-1"}, host: "a.internal", path: "/a/../../x",
			wantCode: "InvalidArgument", wantReason: "invalid_request", wantID: "app-1"},
		{name: "no identity", id: &adminv1.PolicyIdentity{}, host: "a.internal", path: "/", wantErr: "identity:"},
		{name: "bad spiffe", id: &adminv1.PolicyIdentity{SpiffeId: "spiffe://Example.org/app"}, host: "a.internal", path: "/", wantErr: "identity.spiffe_id:"},
		{name: "spiffe not a uri", id: &adminv1.PolicyIdentity{SpiffeId: "spiffe://exa mple/%zz"}, host: "a.internal", path: "/", wantErr: "identity.spiffe_id:"},
		{name: "principal id contradicts", id: &adminv1.PolicyIdentity{PrincipalId: "bob", CommonName: "alice"}, host: "a.internal", path: "/", wantErr: "identity.principal_id:"},
		{name: "bad fingerprint", id: &adminv1.PolicyIdentity{CommonName: "a", FingerprintSha256: "abc"}, host: "a.internal", path: "/", wantErr: "identity.fingerprint_sha256:"},
		{name: "huge cn", id: &adminv1.PolicyIdentity{CommonName: strings.Repeat("a", 5000)}, host: "a.internal", path: "/", wantErr: "identity.common_name:"},
		{name: "too many ous", id: &adminv1.PolicyIdentity{CommonName: "a", OrganizationalUnits: make([]string, 100)}, host: "a.internal", path: "/", wantErr: "identity.organizational_units:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := svc.EvaluatePolicy(context.Background(), &adminv1.EvaluatePolicyRequest{Identity: tc.id, Request: &adminv1.PolicyRequest{Host: tc.host, Method: "get", Path: tc.path}})
			if tc.wantErr != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), tc.wantErr) {
					t.Fatalf("err = %v, want InvalidArgument %q...", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GetCode() != tc.wantCode || got.GetRuleId() != tc.wantRule || got.GetReason() != tc.wantReason || got.GetPrincipalId() != tc.wantID || got.GetRevision() != 7 {
				t.Errorf("got %v, want code %s rule %q reason %s id %q revision 7", got, tc.wantCode, tc.wantRule, tc.wantReason, tc.wantID)
			}
			if (got.GetDecision() == adminv1.Decision_DECISION_ALLOW) != (tc.wantCode == "OK") {
				t.Errorf("decision %v with code %s", got.GetDecision(), got.GetCode())
			}
			if tc.wantCode != "InvalidArgument" && got.GetCanonicalMethod() != "GET" {
				t.Errorf("canonical method %q, want GET", got.GetCanonicalMethod())
			}
		})
	}
}

// TestEvaluatePolicyWithoutDataPlane: a service assembled without the data
// plane cannot answer, and says so rather than guessing.
func TestEvaluatePolicyWithoutDataPlane(t *testing.T) {
	t.Parallel()
	svc := admin.NewService(admin.ServiceOptions{})
	_, err := svc.EvaluatePolicy(context.Background(), &adminv1.EvaluatePolicyRequest{Identity: &adminv1.PolicyIdentity{CommonName: "a"}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
}

// FuzzEvaluatePolicy sends random protojson requests to the policy tester:
// it never panics, refuses only with InvalidArgument naming an identity
// field, and otherwise answers one of the data plane's codes consistently.
func FuzzEvaluatePolicy(f *testing.F) {
	for _, seed := range []string{
		`{"identity":{"commonName":"app-1"},"request":{"host":"a.internal","method":"GET","path":"/"}}`,
		`{"identity":{"principalId":"spiffe://example.org/app"},"request":{"host":"b.internal:8443","method":"post","path":"/x?y=1"}}`,
		`{"identity":{"spiffeId":"spiffe://example.org/a/../b"},"request":{"host":"a.internal","method":"GET","path":"/"}}`,
		`{"identity":{"commonName":"x","fingerprintSha256":"AB:CD"},"request":{"host":"a.internal","method":"G T","path":"//x"}}`,
		`{"identity":{"organizations":["O"],"organizationalUnits":["ios"]},"request":{"host":"[::1]:80","method":"GET","path":"/%2e%2e/admin"}}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	svc := testerService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &adminv1.EvaluatePolicyRequest{}
		if protojson.Unmarshal(body, req) != nil {
			return
		}
		got, err := svc.EvaluatePolicy(context.Background(), req)
		if err != nil {
			if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), "identity") {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		switch got.GetCode() {
		case "OK":
			if got.GetDecision() != adminv1.Decision_DECISION_ALLOW || got.GetRuleId() == "" {
				t.Fatalf("OK without an allow decision and rule: %v", got)
			}
		case "PermissionDenied", "InvalidArgument":
			if got.GetDecision() != adminv1.Decision_DECISION_DENY {
				t.Fatalf("%s with decision %v", got.GetCode(), got.GetDecision())
			}
		default:
			t.Fatalf("unexpected code %q", got.GetCode())
		}
	})
}
