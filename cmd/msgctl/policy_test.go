package main

import (
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"google.golang.org/protobuf/proto"
)

func TestPolicyTest(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	r := ctl(t, s, "policy", "test", "--principal", "alice", "get", "demo.internal", "/hello").ok(t)
	want := "decision:  ALLOWED\nreason:    allowed\nrule:      alice-all\napp gets:  OK\nprincipal: alice\n" +
		"canonical: GET demo.internal/hello\nrevision:  4\n"
	if r.stdout != want {
		t.Errorf("policy test printed\n%s\nwant\n%s", r.stdout, want)
	}

	r = ctl(t, s, "policy", "test", "--cn", "mallory", "--org", "Example, Corp", "--ou", "ios", "--spiffe-id", "spiffe://td/x",
		"--fingerprint", "ab", "-o", "json", "DELETE", "demo.internal", "/x").ok(t)
	var got adminv1.EvaluatePolicyResponse
	decodeJSON(t, r.stdout, &got)
	if got.GetDecision() != adminv1.Decision_DECISION_DENY || got.GetCode() != "PermissionDenied" {
		t.Errorf("policy test -o json = %v", &got)
	}
	s.fake.mu.Lock()
	asked := s.fake.evaluations[1]
	s.fake.mu.Unlock()
	wantReq := &adminv1.EvaluatePolicyRequest{
		Identity: &adminv1.PolicyIdentity{CommonName: "mallory", Organizations: []string{"Example", "Corp"}, OrganizationalUnits: []string{"ios"},
			SpiffeId: "spiffe://td/x", FingerprintSha256: "ab"},
		Request: &adminv1.PolicyRequest{Method: "DELETE", Host: "demo.internal", Path: "/x"},
	}
	if !proto.Equal(asked, wantReq) {
		t.Errorf("the tester was asked %v, want %v", asked, wantReq)
	}

	ctl(t, s, "policy", "test", "GET", "demo.internal", "/").fails(t, 2, "name the caller")
	ctl(t, s, "policy", "test", "--principal", "a", "GET", "demo.internal").fails(t, 2, "want METHOD HOST PATH")
	ctl(t, s, "policy", "check").fails(t, 2, `unknown verb "check"`)
}
