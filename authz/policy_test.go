package authz_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
)

// Builders for rules and matchers, to keep the tables readable.

func allow(id string, principals []*adminv1.PrincipalMatcher, hosts []string, methods []string, paths ...*adminv1.PathMatcher) *adminv1.Rule {
	return &adminv1.Rule{Id: id, Effect: adminv1.Effect_EFFECT_ALLOW, Principals: principals, Hosts: hosts, Methods: methods, Paths: paths}
}

func deny(id string, principals []*adminv1.PrincipalMatcher, hosts []string, methods []string, paths ...*adminv1.PathMatcher) *adminv1.Rule {
	r := allow(id, principals, hosts, methods, paths...)
	r.Effect = adminv1.Effect_EFFECT_DENY
	return r
}

func who(m ...*adminv1.PrincipalMatcher) []*adminv1.PrincipalMatcher { return m }
func hosts(h ...string) []string                                     { return h }
func methods(m ...string) []string                                   { return m }

func anyone() *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_Any{Any: true}}
}
func id(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_Id{Id: s}}
}
func cn(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_CommonName{CommonName: s}}
}
func spiffe(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_SpiffeId{SpiffeId: s}}
}
func trustDomain(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_TrustDomain{TrustDomain: s}}
}
func org(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_Organization{Organization: s}}
}
func ou(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_OrganizationalUnit{OrganizationalUnit: s}}
}
func fingerprint(s string) *adminv1.PrincipalMatcher {
	return &adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_FingerprintSha256{FingerprintSha256: s}}
}

func exact(s string) *adminv1.PathMatcher {
	return &adminv1.PathMatcher{Kind: &adminv1.PathMatcher_Exact{Exact: s}}
}
func prefix(s string) *adminv1.PathMatcher {
	return &adminv1.PathMatcher{Kind: &adminv1.PathMatcher_Prefix{Prefix: s}}
}
func glob(s string) *adminv1.PathMatcher {
	return &adminv1.PathMatcher{Kind: &adminv1.PathMatcher_Glob{Glob: s}}
}

const aliceFP = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

var (
	alice = &authz.Principal{
		ID: "alice", CommonName: "alice",
		Organizations: []string{"Acme"}, OrganizationalUnits: []string{"mobile", "sales"},
		FingerprintSHA256: aliceFP,
	}
	mallory = &authz.Principal{
		ID: "mallory", CommonName: "mallory", Organizations: []string{"Evil"},
		FingerprintSHA256: strings.Repeat("0", 64),
	}
	iosApp = &authz.Principal{
		ID: "spiffe://example.org/app/ios", SPIFFEID: "spiffe://example.org/app/ios",
		TrustDomain: "example.org", CommonName: "team-ios",
	}
	spiffeOnly = &authz.Principal{
		ID: "spiffe://other.org/batch", SPIFFEID: "spiffe://other.org/batch", TrustDomain: "other.org",
	}
)

func req(method, host, path string) *authz.Request {
	return &authz.Request{Method: method, Host: host, Path: path}
}

// override is a POST-like request whose method-override header names
// another method.
func override(method, to string) *authz.Request {
	return &authz.Request{Method: method, MethodOverride: to, Host: "demo.internal", Path: "/"}
}

func allowed(ruleID string) authz.Decision {
	return authz.Decision{Allowed: true, RuleID: ruleID, Reason: authz.ReasonAllowed}
}

func denied(ruleID string) authz.Decision {
	return authz.Decision{RuleID: ruleID, Reason: authz.ReasonDeniedByRule}
}

var noMatch = authz.Decision{Reason: authz.ReasonNoMatchingRule}

// devRules is the dev-mode policy from DESIGN.md: alice may use any method on
// demo.internal except paths under /private/; mallory may reach nothing.
func devRules() []*adminv1.Rule {
	return []*adminv1.Rule{
		allow("alice-demo", who(id("alice")), hosts("demo.internal"), nil),
		deny("demo-private", who(anyone()), hosts("demo.internal"), nil, prefix("/private/")),
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	demo := hosts("demo.internal")
	get := func(path string) *authz.Request { return req("GET", "demo.internal", path) }
	tests := []struct {
		name  string
		rules []*adminv1.Rule
		nilP  bool // decide with a nil *Policy
		who   *authz.Principal
		req   *authz.Request
		want  authz.Decision
	}{
		// Fail closed.
		{name: "nil policy", nilP: true, who: alice, req: get("/"), want: authz.Decision{Reason: authz.ReasonNoPolicy}},
		{name: "nil principal", rules: devRules(), who: nil, req: get("/"), want: authz.Decision{Reason: authz.ReasonNoPolicy}},
		{name: "nil request", rules: devRules(), who: alice, req: nil, want: authz.Decision{Reason: authz.ReasonNoPolicy}},
		{name: "empty policy denies", rules: nil, who: alice, req: get("/"), want: noMatch},
		{name: "default deny", rules: devRules(), who: alice, req: req("GET", "other.internal", "/"), want: noMatch},

		// Principal matchers.
		{name: "any", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil)}, who: mallory, req: get("/"), want: allowed("r")},
		{name: "id", rules: []*adminv1.Rule{allow("r", who(id("alice")), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "id other", rules: []*adminv1.Rule{allow("r", who(id("alice")), demo, nil)}, who: mallory, req: get("/"), want: noMatch},
		{name: "id is spiffe id", rules: []*adminv1.Rule{allow("r", who(id("spiffe://example.org/app/ios")), demo, nil)}, who: iosApp, req: get("/"), want: allowed("r")},
		{name: "id is not common name when spiffe", rules: []*adminv1.Rule{allow("r", who(id("team-ios")), demo, nil)}, who: iosApp, req: get("/"), want: noMatch},
		{name: "common name exact", rules: []*adminv1.Rule{allow("r", who(cn("alice")), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "common name case-sensitive", rules: []*adminv1.Rule{allow("r", who(cn("Alice")), demo, nil)}, who: alice, req: get("/"), want: noMatch},
		{name: "common name glob prefix", rules: []*adminv1.Rule{allow("r", who(cn("ali*")), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "common name glob suffix", rules: []*adminv1.Rule{allow("r", who(cn("*-ios")), demo, nil)}, who: iosApp, req: get("/"), want: allowed("r")},
		{name: "common name glob never matches empty", rules: []*adminv1.Rule{allow("r", who(cn("*")), demo, nil)}, who: spiffeOnly, req: get("/"), want: noMatch},
		{name: "spiffe id", rules: []*adminv1.Rule{allow("r", who(spiffe("spiffe://example.org/app/ios")), demo, nil)}, who: iosApp, req: get("/"), want: allowed("r")},
		{name: "spiffe id other path", rules: []*adminv1.Rule{allow("r", who(spiffe("spiffe://example.org/app")), demo, nil)}, who: iosApp, req: get("/"), want: noMatch},
		{name: "spiffe id without spiffe", rules: []*adminv1.Rule{allow("r", who(spiffe("spiffe://example.org/app/ios")), demo, nil)}, who: alice, req: get("/"), want: noMatch},
		{name: "trust domain", rules: []*adminv1.Rule{allow("r", who(trustDomain("example.org")), demo, nil)}, who: iosApp, req: get("/"), want: allowed("r")},
		{name: "trust domain lower-cased", rules: []*adminv1.Rule{allow("r", who(trustDomain("Example.ORG")), demo, nil)}, who: iosApp, req: get("/"), want: allowed("r")},
		{name: "trust domain other", rules: []*adminv1.Rule{allow("r", who(trustDomain("example.org")), demo, nil)}, who: spiffeOnly, req: get("/"), want: noMatch},
		{name: "organization", rules: []*adminv1.Rule{allow("r", who(org("Acme")), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "organization case-sensitive", rules: []*adminv1.Rule{allow("r", who(org("acme")), demo, nil)}, who: alice, req: get("/"), want: noMatch},
		{name: "organizational unit any of several", rules: []*adminv1.Rule{allow("r", who(ou("sales")), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "organizational unit other", rules: []*adminv1.Rule{allow("r", who(ou("sales")), demo, nil)}, who: mallory, req: get("/"), want: noMatch},
		{name: "fingerprint upper-case in rule", rules: []*adminv1.Rule{allow("r", who(fingerprint(strings.ToUpper(aliceFP))), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "fingerprint other", rules: []*adminv1.Rule{allow("r", who(fingerprint(aliceFP)), demo, nil)}, who: mallory, req: get("/"), want: noMatch},
		{name: "principals OR", rules: []*adminv1.Rule{allow("r", who(id("bob"), org("Evil")), demo, nil)}, who: mallory, req: get("/"), want: allowed("r")},

		// Hosts.
		{name: "host exact", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil)}, who: alice, req: get("/"), want: allowed("r")},
		{name: "host case-insensitive", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("Demo.Internal"), nil)}, who: alice, req: req("GET", "DEMO.internal", "/"), want: allowed("r")},
		{name: "host without port does not match port", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil)}, who: alice, req: req("GET", "demo.internal:8443", "/"), want: noMatch},
		{name: "host with port", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("demo.internal:8443"), nil)}, who: alice, req: req("GET", "demo.internal:8443", "/"), want: allowed("r")},
		{name: "host with other port", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("demo.internal:8443"), nil)}, who: alice, req: req("GET", "demo.internal:9443", "/"), want: noMatch},
		{name: "host any port", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("demo.internal:*"), nil)}, who: alice, req: req("GET", "demo.internal:9443", "/"), want: allowed("r")},
		{name: "host star one label", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("*.internal"), nil)}, who: alice, req: req("GET", "api.internal", "/"), want: allowed("r")},
		{name: "host star not two labels", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("*.internal"), nil)}, who: alice, req: req("GET", "a.api.internal", "/"), want: noMatch},
		{name: "host star not suffix of other domain", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("*.internal"), nil)}, who: alice, req: req("GET", "api.internal.evil.com", "/"), want: noMatch},
		{name: "host double star many labels", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("**.internal"), nil)}, who: alice, req: req("GET", "a.b.c.internal", "/"), want: allowed("r")},
		{name: "host double star not bare domain", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("**.internal"), nil)}, who: alice, req: req("GET", "internal", "/"), want: noMatch},
		{name: "host lone double star any host and port", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("**"), nil)}, who: alice, req: req("GET", "x.y.z:8443", "/"), want: allowed("r")},
		{name: "host lone star single label", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("*"), nil)}, who: alice, req: req("GET", "localhost", "/"), want: allowed("r")},
		{name: "host lone star not dotted", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("*"), nil)}, who: alice, req: req("GET", "demo.internal", "/"), want: noMatch},
		{name: "host ipv6 literal", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("[::1]:8080"), nil)}, who: alice, req: req("GET", "[::1]:8080", "/"), want: allowed("r")},
		{name: "hosts OR", rules: []*adminv1.Rule{allow("r", who(anyone()), hosts("a.internal", "b.internal"), nil)}, who: alice, req: req("GET", "b.internal", "/"), want: allowed("r")},

		// Methods.
		{name: "methods empty is any", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil)}, who: alice, req: req("DELETE", "demo.internal", "/"), want: allowed("r")},
		{name: "method listed", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, methods("GET", "POST"))}, who: alice, req: req("POST", "demo.internal", "/"), want: allowed("r")},
		{name: "method not listed", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, methods("GET", "POST"))}, who: alice, req: req("DELETE", "demo.internal", "/"), want: noMatch},
		{name: "method GET does not imply HEAD", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, methods("GET"))}, who: alice, req: req("HEAD", "demo.internal", "/"), want: noMatch},
		{name: "method lower-case in rule", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, methods("get"))}, who: alice, req: get("/"), want: allowed("r")},
		{name: "method deny catches lower-case request", rules: []*adminv1.Rule{allow("a", who(anyone()), demo, nil), deny("d", who(anyone()), demo, methods("DELETE"))}, who: alice, req: req("delete", "demo.internal", "/"), want: denied("d")},
		{name: "method extension token", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, methods("PROPFIND"))}, who: alice, req: req("PROPFIND", "demo.internal", "/"), want: allowed("r")},
		{name: "method override denied", rules: []*adminv1.Rule{allow("a", who(anyone()), demo, nil), deny("d", who(anyone()), demo, methods("DELETE"))}, who: alice, req: override("POST", "DELETE"), want: denied("d")},
		{name: "method override not allowed", rules: []*adminv1.Rule{allow("a", who(anyone()), demo, methods("POST"))}, who: alice, req: override("POST", "DELETE"), want: noMatch},
		{name: "method override allowed for both", rules: []*adminv1.Rule{allow("a", who(anyone()), demo, methods("POST", "PUT"))}, who: alice, req: override("POST", "PUT"), want: allowed("a")},
		{name: "method override own method still decided", rules: []*adminv1.Rule{allow("a", who(anyone()), demo, methods("PUT"))}, who: alice, req: override("POST", "PUT"), want: noMatch},

		// Paths.
		{name: "path exact", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, exact("/health"))}, who: alice, req: get("/health"), want: allowed("r")},
		{name: "path exact not trailing slash", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, exact("/health"))}, who: alice, req: get("/health/"), want: noMatch},
		{name: "path exact case-sensitive", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, exact("/health"))}, who: alice, req: get("/Health"), want: noMatch},
		{name: "path prefix itself", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, prefix("/api"))}, who: alice, req: get("/api"), want: allowed("r")},
		{name: "path prefix below", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, prefix("/api"))}, who: alice, req: get("/api/v1/users"), want: allowed("r")},
		{name: "path prefix segment boundary", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, prefix("/api"))}, who: alice, req: get("/apix"), want: noMatch},
		{name: "path prefix with slash covers slash", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, prefix("/api/"))}, who: alice, req: get("/api/"), want: allowed("r")},
		{name: "path prefix with slash not bare", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, prefix("/api/"))}, who: alice, req: get("/api"), want: noMatch},
		{name: "path prefix root", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, prefix("/"))}, who: alice, req: get("/anything/at/all"), want: allowed("r")},
		{name: "path glob star", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/users/*/profile"))}, who: alice, req: get("/users/42/profile"), want: allowed("r")},
		{name: "path glob star one segment only", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/users/*/profile"))}, who: alice, req: get("/users/4/2/profile"), want: noMatch},
		{name: "path glob star in segment", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/data/*.json"))}, who: alice, req: get("/data/report.json"), want: allowed("r")},
		{name: "path glob double star deep", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/files/**"))}, who: alice, req: get("/files/a/b/c.txt"), want: allowed("r")},
		{name: "path glob double star zero segments", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/files/**"))}, who: alice, req: get("/files"), want: allowed("r")},
		{name: "path glob double star boundary", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/files/**"))}, who: alice, req: get("/filesystem"), want: noMatch},
		{name: "path glob double star middle", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, glob("/a/**/edit"))}, who: alice, req: get("/a/x/y/edit"), want: allowed("r")},
		{name: "paths OR", rules: []*adminv1.Rule{allow("r", who(anyone()), demo, nil, exact("/a"), prefix("/b"))}, who: alice, req: get("/b/c"), want: allowed("r")},

		// Combining rules.
		{name: "dev policy alice allowed", rules: devRules(), who: alice, req: req("PUT", "demo.internal", "/public/x"), want: allowed("alice-demo")},
		{name: "dev policy deny overrides allow", rules: devRules(), who: alice, req: get("/private/secret"), want: denied("demo-private")},
		{name: "dev policy private dir itself", rules: devRules(), who: alice, req: get("/private/"), want: denied("demo-private")},
		{name: "dev policy private lookalike", rules: devRules(), who: alice, req: get("/privateer"), want: allowed("alice-demo")},
		{name: "dev policy mallory nothing", rules: devRules(), who: mallory, req: get("/public"), want: noMatch},
		{name: "dev policy mallory private", rules: devRules(), who: mallory, req: get("/private/x"), want: denied("demo-private")},
		{
			name: "first matching allow rule",
			rules: []*adminv1.Rule{
				allow("narrow", who(id("bob")), demo, nil),
				allow("first", who(anyone()), demo, nil),
				allow("second", who(id("alice")), demo, nil),
			},
			who: alice, req: get("/"), want: allowed("first"),
		},
		{
			name: "first matching deny rule wins wherever allows are",
			rules: []*adminv1.Rule{
				allow("a1", who(anyone()), demo, nil),
				deny("d-other", who(id("bob")), demo, nil),
				deny("d1", who(anyone()), demo, methods("POST")),
				deny("d2", who(anyone()), demo, nil, prefix("/")),
			},
			who: alice, req: req("POST", "demo.internal", "/x"), want: denied("d1"),
		},
		{
			name: "deny not matching leaves allow",
			rules: []*adminv1.Rule{
				deny("d", who(anyone()), demo, methods("DELETE")),
				allow("a", who(anyone()), demo, nil),
			},
			who: alice, req: get("/"), want: allowed("a"),
		},
		{
			name: "deny alone is still default deny",
			rules: []*adminv1.Rule{
				deny("d", who(anyone()), demo, methods("DELETE")),
			},
			who: alice, req: get("/"), want: noMatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p *authz.Policy
			if !tt.nilP {
				var err error
				if p, err = authz.NewPolicy(tt.rules); err != nil {
					t.Fatalf("NewPolicy: %v", err)
				}
			}
			if got := p.Decide(tt.who, tt.req); got != tt.want {
				t.Errorf("Decide: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewPolicyErrors(t *testing.T) {
	t.Parallel()
	ok := func(id string) *adminv1.Rule { return allow(id, who(anyone()), hosts("demo.internal"), nil) }
	with := func(f func(r *adminv1.Rule)) *adminv1.Rule {
		r := ok("r")
		f(r)
		return r
	}
	tests := []struct {
		name  string
		rules []*adminv1.Rule
		field string // the field path the error must name
		text  string // and a fragment of its problem
	}{
		{"nil rule", []*adminv1.Rule{ok("a"), nil}, "rules[1]", "missing rule"},
		{"id missing", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Id = "" })}, "rules[0].id", "required"},
		{"id invalid character", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Id = "alice demo" })}, "rules[0].id", `invalid id "alice demo"`},
		{"id too long", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Id = strings.Repeat("x", 129) })}, "rules[0].id", "invalid id"},
		{"id duplicate", []*adminv1.Rule{ok("x"), ok("y"), ok("x")}, "rules[2].id", `duplicate id "x" (also rules[0].id)`},
		{"effect unspecified", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Effect = adminv1.Effect_EFFECT_UNSPECIFIED })}, "rules[0].effect", "required"},
		{"effect unknown", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Effect = 7 })}, "rules[0].effect", "unknown effect 7"},
		{"principals empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = nil })}, "rules[0].principals", "at least one"},
		{"principal no kind", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(anyone(), &adminv1.PrincipalMatcher{}) })}, "rules[0].principals[1]", "no matcher set"},
		{"principal any false", []*adminv1.Rule{with(func(r *adminv1.Rule) {
			r.Principals = who(&adminv1.PrincipalMatcher{Kind: &adminv1.PrincipalMatcher_Any{}})
		})}, "rules[0].principals[0].any", "must be true"},
		{"principal id empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(id("")) })}, "rules[0].principals[0].id", "empty value"},
		{"principal common name empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(cn("")) })}, "rules[0].principals[0].common_name", "empty value"},
		{"principal spiffe id malformed", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(spiffe("spiffe://Example.org/app")) })}, "rules[0].principals[0].spiffe_id", "invalid SPIFFE ID"},
		{"principal spiffe id wrong scheme", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(spiffe("https://example.org/app")) })}, "rules[0].principals[0].spiffe_id", "invalid SPIFFE ID"},
		{"principal trust domain malformed", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(trustDomain("example.org:443")) })}, "rules[0].principals[0].trust_domain", "invalid trust domain"},
		{"principal fingerprint short", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(fingerprint("abcd")) })}, "rules[0].principals[0].fingerprint_sha256", "64 hex digits"},
		{"principal fingerprint not hex", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(fingerprint(strings.Repeat("zz", 32))) })}, "rules[0].principals[0].fingerprint_sha256", "64 hex digits"},
		{"principal organization empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Principals = who(org("")) })}, "rules[0].principals[0].organization", "empty value"},
		{"hosts empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = nil })}, "rules[0].hosts", "at least one host"},
		{"host double star inside label", []*adminv1.Rule{ok("a"), ok("b"), with(func(r *adminv1.Rule) { r.Hosts = hosts("a**b") })}, "rules[2].hosts[0]", `invalid glob "a**b"`},
		{"host star inside label", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("demo.internal", "api-*.internal") })}, "rules[0].hosts[1]", "whole labels"},
		{"host empty label", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("demo..internal") })}, "rules[0].hosts[0]", "empty label"},
		{"host invalid character", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("demo_internal") })}, "rules[0].hosts[0]", "invalid character"},
		{"host bad port", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("demo.internal:99999") })}, "rules[0].hosts[0]", "invalid port"},
		{"host empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("") })}, "rules[0].hosts[0]", "empty host"},
		{"host ipv6 without brackets", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("::1") })}, "rules[0].hosts[0]", "brackets"},
		{"host ipv6 not canonical", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Hosts = hosts("[0:0::1]") })}, "rules[0].hosts[0]", `canonical form, "[::1]"`},
		{"method empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Methods = methods("GET", "") })}, "rules[0].methods[1]", "empty method"},
		{"method not a token", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Methods = methods("GE T") })}, "rules[0].methods[0]", "not an HTTP token"},
		{"method star", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Methods = methods("*") })}, "rules[0].methods[0]", "leave methods empty"},
		{"path no kind", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{{}} })}, "rules[0].paths[0]", "no matcher set"},
		{"path exact relative", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{exact("health")} })}, "rules[0].paths[0].exact", `must start with "/"`},
		{"path exact empty", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{exact("")} })}, "rules[0].paths[0].exact", "empty path"},
		{"path prefix dot dot", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{prefix("/a/../b")} })}, "rules[0].paths[0].prefix", `".."`},
		{"path prefix double slash", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{exact("/ok"), prefix("/a//b")} })}, "rules[0].paths[1].prefix", `"//"`},
		{"path exact query", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{exact("/a?b=c")} })}, "rules[0].paths[0].exact", `'?'`},
		{"path exact fragment", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{exact("/a#top")} })}, "rules[0].paths[0].exact", `'#'`},
		{"path prefix star", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{prefix("/api/*")} })}, "rules[0].paths[0].prefix", "only a wildcard in a glob"},
		{"path glob double star in segment", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{glob("/files/**.txt")} })}, "rules[0].paths[0].glob", `invalid glob "/files/**.txt"`},
		{"path glob relative", []*adminv1.Rule{with(func(r *adminv1.Rule) { r.Paths = []*adminv1.PathMatcher{glob("**")} })}, "rules[0].paths[0].glob", `must start with "/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := authz.NewPolicy(tt.rules)
			if err == nil {
				t.Fatalf("NewPolicy: got a policy with %d rules and no error, want an error naming %s", p.Len(), tt.field)
			}
			if p != nil {
				t.Errorf("NewPolicy: got a non-nil policy with the error %q", err)
			}
			want := tt.field + ": "
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("NewPolicy error:\n got %q\nwant it to name %q and contain %q", err, tt.field, tt.text)
			}
			var re *fieldpath.Error
			if !errors.As(err, &re) {
				t.Errorf("NewPolicy error %q: got %T, want a *fieldpath.Error inside", err, err)
			}
		})
	}
}

// TestNewPolicyReportsEveryError checks that one call reports every problem,
// each as its own *fieldpath.Error, rather than stopping at the first.
func TestNewPolicyReportsEveryError(t *testing.T) {
	t.Parallel()
	rules := []*adminv1.Rule{
		{Id: "bad id!", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: who(anyone()), Hosts: hosts("demo.internal")},
		{Id: "ok", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: who(anyone()), Hosts: hosts("a**b")},
		{Id: "ok2", Principals: who(anyone()), Hosts: hosts("demo.internal"), Paths: []*adminv1.PathMatcher{glob("/a**")}},
	}
	_, err := authz.NewPolicy(rules)
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("NewPolicy: got %v (%T), want a joined error", err, err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		var re *fieldpath.Error
		if !errors.As(e, &re) {
			t.Fatalf("NewPolicy: got %T in the joined error, want *fieldpath.Error", e)
		}
		got = append(got, string(re.Path))
	}
	want := []string{"rules[0].id", "rules[1].hosts[0]", "rules[2].effect", "rules[2].paths[0].glob"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fields: got %v, want %v", got, want)
	}
}

// TestPolicyDoesNotAliasRules checks that changing the rule messages after
// NewPolicy does not change the compiled policy.
func TestPolicyDoesNotAliasRules(t *testing.T) {
	t.Parallel()
	rules := devRules()
	p, err := authz.NewPolicy(rules)
	if err != nil {
		t.Fatal(err)
	}
	rules[0].Hosts[0] = "**"
	rules[0].Principals[0] = anyone()
	rules[1].Effect = adminv1.Effect_EFFECT_ALLOW
	if got, want := p.Decide(mallory, req("GET", "other.internal", "/")), noMatch; got != want {
		t.Errorf("Decide after mutating the rules: got %+v, want %+v", got, want)
	}
	if got, want := p.Decide(alice, req("GET", "demo.internal", "/private/x")), denied("demo-private"); got != want {
		t.Errorf("Decide after mutating the rules: got %+v, want %+v", got, want)
	}
	if got, want := p.Len(), 2; got != want {
		t.Errorf("Len: got %d, want %d", got, want)
	}
}

// TestDecideConcurrent runs Decide from many goroutines; with -race it checks
// that a Policy is safe for concurrent use.
func TestDecideConcurrent(t *testing.T) {
	t.Parallel()
	p, err := authz.NewPolicy(benchRules())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				if d := p.Decide(alice, req("GET", "demo.internal", "/private/x")); d.Allowed {
					t.Errorf("Decide: got %+v, want a denial", d)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p, err := authz.NewPolicy(benchRules())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range benchRequests() {
		if n := testing.AllocsPerRun(100, func() { p.Decide(r.who, r.req) }); n != 0 {
			t.Errorf("Decide(%s %s%s): got %v allocations, want 0", r.req.Method, r.req.Host, r.req.Path, n)
		}
	}
}

// benchRules is a realistic 20-rule policy: per-team allows across a few
// internal hosts, path-scoped read-only grants and a handful of denies.
func benchRules() []*adminv1.Rule {
	return []*adminv1.Rule{
		deny("block-revoked-device", who(fingerprint(strings.Repeat("ab", 32))), hosts("**"), nil),
		deny("no-admin-paths", who(anyone()), hosts("**.internal", "**.corp"), nil, prefix("/admin"), glob("/**/actuator/**")),
		deny("demo-private", who(anyone()), hosts("demo.internal"), nil, prefix("/private/")),
		deny("no-deletes-on-ledger", who(anyone()), hosts("ledger.finance.internal"), methods("DELETE")),
		allow("alice-demo", who(id("alice")), hosts("demo.internal"), nil),
		allow("ios-app-api", who(spiffe("spiffe://example.org/app/ios")), hosts("api.internal", "api.internal:8443"), methods("GET", "POST", "PUT"), prefix("/v1"), prefix("/v2")),
		allow("android-app-api", who(spiffe("spiffe://example.org/app/android")), hosts("api.internal"), methods("GET", "POST", "PUT"), prefix("/v1")),
		allow("sales-crm", who(ou("sales")), hosts("crm.internal"), nil, glob("/accounts/*/contacts/**"), exact("/search")),
		allow("sales-reports", who(ou("sales"), ou("finance")), hosts("reports.internal"), methods("GET"), glob("/reports/*.pdf")),
		allow("finance-ledger", who(ou("finance")), hosts("ledger.finance.internal"), nil),
		allow("hr-portal", who(org("Acme"), cn("hr-*")), hosts("hr.internal"), methods("GET", "POST"), prefix("/portal")),
		allow("wiki-read", who(trustDomain("example.org"), org("Acme")), hosts("wiki.internal"), methods("GET", "HEAD")),
		allow("chat", who(org("Acme")), hosts("chat.internal", "chat.internal:443"), nil, prefix("/api/v4")),
		allow("maps-tiles", who(anyone()), hosts("*.tiles.internal"), methods("GET"), glob("/tiles/*/*/*.png")),
		allow("eng-git", who(ou("engineering")), hosts("git.corp"), nil, glob("/*/*/**")),
		allow("eng-ci", who(ou("engineering")), hosts("ci.corp"), methods("GET", "POST")),
		allow("support-tickets", who(cn("support-*")), hosts("tickets.internal"), nil, prefix("/tickets")),
		allow("metrics-read", who(trustDomain("ops.example.org")), hosts("**.metrics.internal"), methods("GET")),
		allow("status-page", who(anyone()), hosts("status.internal"), methods("GET"), exact("/"), exact("/status")),
		allow("alice-files", who(id("alice")), hosts("files.internal"), nil, glob("/home/alice/**")),
	}
}

type benchRequest struct {
	name string
	who  *authz.Principal
	req  *authz.Request
}

func benchRequests() []benchRequest {
	return []benchRequest{
		{"allowed_late_rule", alice, req("PUT", "files.internal", "/home/alice/docs/2024/report.txt")},
		{"allowed_early_rule", alice, req("GET", "demo.internal", "/public/index.html")},
		{"denied_by_rule", alice, req("GET", "demo.internal", "/private/secret")},
		{"no_matching_rule", mallory, req("POST", "unknown.internal:8443", "/v1/things/42/children/7")},
	}
}

func BenchmarkDecide(b *testing.B) {
	p, err := authz.NewPolicy(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range benchRequests() {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(r.who, r.req)
			}
		})
	}
}

func ExamplePolicy_Decide() {
	p, err := authz.NewPolicy([]*adminv1.Rule{
		{
			Id:         "alice-demo",
			Effect:     adminv1.Effect_EFFECT_ALLOW,
			Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: "alice"}}},
			Hosts:      []string{"demo.internal"},
		},
		{
			Id:         "demo-private",
			Effect:     adminv1.Effect_EFFECT_DENY,
			Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Any{Any: true}}},
			Hosts:      []string{"demo.internal"},
			Paths:      []*adminv1.PathMatcher{{Kind: &adminv1.PathMatcher_Prefix{Prefix: "/private/"}}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	alice := &authz.Principal{ID: "alice", CommonName: "alice"}
	for _, path := range []string{"/hello", "/private/diary"} {
		d := p.Decide(alice, &authz.Request{Host: "demo.internal", Method: "GET", Path: path})
		fmt.Println(path, d.Allowed, d.RuleID, d.Reason)
	}
	// Output:
	// /hello true alice-demo allowed
	// /private/diary false demo-private denied_by_rule
}
