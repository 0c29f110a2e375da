package authz

import (
	"encoding/hex"
	"errors"
	"slices"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
)

// Policy is a compiled, immutable set of rules. It is built once by
// [NewPolicy], shares nothing with the rules it was built from, and is safe
// for concurrent use; a new rule set means a new Policy, swapped in whole.
//
// Matching semantics, beyond those in the package documentation:
//
//   - Principal matchers compare exactly and case-sensitively, except that
//     trust_domain and fingerprint_sha256 values are lower-cased when the
//     policy is compiled (both are lower case in a [Principal]). A
//     common_name glob never matches a certificate without a common name.
//   - Hosts are globs over DNS labels, matched ASCII case-insensitively;
//     wildcards must be whole labels. "*" matches exactly one label and "**"
//     one or more, so "*.internal" covers "a.internal", "**.internal" also
//     covers "a.b.internal", and neither covers "internal". The port is part
//     of the host: "demo.internal" does not match "demo.internal:8443"; write
//     "demo.internal:8443" or "demo.internal:*" (any explicit port). The lone
//     host "**" matches every host, with or without a port; the lone host "*"
//     matches every single-label host without a port. IPv6 literals are
//     written in brackets in canonical form, e.g. "[::1]:8443".
//   - Methods are upper-cased when compiled and compared ASCII
//     case-insensitively; an empty list matches every method. "GET" does not
//     imply "HEAD".
//   - Paths are compared case-sensitively with the canonical path (no query).
//     exact is equality; prefix works on segment boundaries ("/api" covers
//     "/api" and "/api/x" but not "/apix"; "/api/" covers "/api/" and below
//     but not "/api"); in a glob "*" matches within one segment and "**", as a
//     whole segment, zero or more segments.
type Policy struct {
	deny  []compiledRule // in rule order
	allow []compiledRule // in rule order
}

type compiledRule struct {
	id         string
	principals []principalMatcher
	hosts      []hostGlob
	methods    []string // upper case; empty: any
	paths      []pathMatcher
}

type principalKind uint8

const (
	principalAny principalKind = iota
	principalID
	principalCommonName
	principalSPIFFEID
	principalTrustDomain
	principalOrganization
	principalOrganizationalUnit
	principalFingerprint
)

type principalMatcher struct {
	kind  principalKind
	value string
	cn    cnGlob
}

type pathKind uint8

const (
	pathKindExact pathKind = iota
	pathKindPrefix
	pathKindGlob
)

type pathMatcher struct {
	kind  pathKind
	value string
	glob  pathGlob
}

// NewPolicy validates and compiles rules. It fails closed: if any rule is
// invalid it returns a nil Policy and an error listing every problem, each a
// [*fieldpath.Error] naming the field at fault, joined with [errors.Join].
// The text quotes rule content, so it is meant for admins and logs, never for
// apps. An empty rule set is valid and
// denies everything. The rules are not retained.
func NewPolicy(rules []*adminv1.Rule) (*Policy, error) {
	c := ruleCompiler{ids: make(map[string]int, len(rules))}
	p := &Policy{}
	for i, r := range rules {
		cr, deny, ok := c.rule(i, r)
		if !ok {
			continue
		}
		if deny {
			p.deny = append(p.deny, cr)
		} else {
			p.allow = append(p.allow, cr)
		}
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return p, nil
}

// Len returns the number of rules in the policy; 0 for a nil policy.
func (p *Policy) Len() int {
	if p == nil {
		return 0
	}
	return len(p.deny) + len(p.allow)
}

// Decide says whether principal pr may send request r. It is a pure function
// of its arguments and does not allocate. A nil policy, principal or request
// is denied with [ReasonNoPolicy]. Otherwise the first matching deny rule (in
// rule order) denies with [ReasonDeniedByRule]; failing that the first
// matching allow rule allows with [ReasonAllowed]; failing that the request is
// denied with [ReasonNoMatchingRule].
//
// Decide matches r.Host, r.Method and r.Path as given; they are expected to be
// canonical already. When r.MethodOverride is set, r is decided for that
// method too and the first denial wins.
func (p *Policy) Decide(pr *Principal, r *Request) Decision {
	if p == nil || pr == nil || r == nil {
		return Decision{Reason: ReasonNoPolicy}
	}
	d := p.decide(pr, r, r.Method)
	if !d.Allowed || r.MethodOverride == "" || r.MethodOverride == r.Method {
		return d
	}
	// The upstream may act on either method: both must be allowed.
	return p.decide(pr, r, r.MethodOverride)
}

func (p *Policy) decide(pr *Principal, r *Request, method string) Decision {
	for i := range p.deny {
		if p.deny[i].matches(pr, r, method) {
			return Decision{RuleID: p.deny[i].id, Reason: ReasonDeniedByRule}
		}
	}
	for i := range p.allow {
		if p.allow[i].matches(pr, r, method) {
			return Decision{Allowed: true, RuleID: p.allow[i].id, Reason: ReasonAllowed}
		}
	}
	return Decision{Reason: ReasonNoMatchingRule}
}

func (ru *compiledRule) matches(pr *Principal, r *Request, method string) bool {
	if len(ru.methods) > 0 {
		ok := false
		for _, m := range ru.methods {
			if methodEqualFold(m, method) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	ok := false
	for i := range ru.hosts {
		if ru.hosts[i].match(r.Host) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	ok = false
	for i := range ru.principals {
		if ru.principals[i].match(pr) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	if len(ru.paths) == 0 {
		return true
	}
	for i := range ru.paths {
		if ru.paths[i].match(r.Path) {
			return true
		}
	}
	return false
}

func (m *principalMatcher) match(pr *Principal) bool {
	switch m.kind {
	case principalAny:
		return true
	case principalID:
		return pr.ID == m.value
	case principalCommonName:
		return m.cn.match(pr.CommonName)
	case principalSPIFFEID:
		return pr.SPIFFEID == m.value
	case principalTrustDomain:
		return pr.TrustDomain == m.value
	case principalOrganization:
		for _, o := range pr.Organizations {
			if o == m.value {
				return true
			}
		}
	case principalOrganizationalUnit:
		for _, ou := range pr.OrganizationalUnits {
			if ou == m.value {
				return true
			}
		}
	case principalFingerprint:
		return globEqualFold(m.value, pr.FingerprintSHA256)
	}
	return false
}

func (m *pathMatcher) match(path string) bool {
	switch m.kind {
	case pathKindExact:
		return path == m.value
	case pathKindPrefix:
		if !strings.HasPrefix(path, m.value) {
			return false
		}
		// On a segment boundary: the prefix ends in '/', or the path ends
		// where the prefix does, or continues with '/'.
		return m.value[len(m.value)-1] == '/' || len(path) == len(m.value) || path[len(m.value)] == '/'
	case pathKindGlob:
		return m.glob.match(path)
	}
	return false
}

// methodEqualFold reports whether s equals upper, which is upper case, when
// ASCII letters in s are folded to upper case.
func methodEqualFold(upper, s string) bool {
	if len(upper) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// ruleCompiler collects the errors of one NewPolicy call.
type ruleCompiler struct {
	ids  map[string]int // rule id -> index of its first use
	errs []error
}

func (c *ruleCompiler) fail(field fieldpath.Path, format string, a ...any) {
	c.errs = append(c.errs, fieldpath.Errorf(field, format, a...))
}

// rule compiles one rule; ok is false when it had any error.
func (c *ruleCompiler) rule(i int, r *adminv1.Rule) (cr compiledRule, deny, ok bool) {
	field := fieldpath.Path("rules").Index(i)
	before := len(c.errs)
	if r == nil {
		c.fail(field, "missing rule")
		return compiledRule{}, false, false
	}

	cr.id = r.GetId()
	switch {
	case cr.id == "":
		c.fail(field+".id", "required")
	case !validRuleID(cr.id):
		c.fail(field+".id", "invalid id %q: use 1-128 letters, digits, '.', '_' or '-'", cr.id)
	default:
		if first, dup := c.ids[cr.id]; dup {
			c.fail(field+".id", "duplicate id %q (also rules[%d].id)", cr.id, first)
		} else {
			c.ids[cr.id] = i
		}
	}

	switch r.GetEffect() {
	case adminv1.Effect_EFFECT_ALLOW:
	case adminv1.Effect_EFFECT_DENY:
		deny = true
	case adminv1.Effect_EFFECT_UNSPECIFIED:
		c.fail(field+".effect", "required: EFFECT_ALLOW or EFFECT_DENY")
	default:
		c.fail(field+".effect", "unknown effect %d", int32(r.GetEffect()))
	}

	if len(r.GetPrincipals()) == 0 {
		c.fail(field+".principals", "at least one principal matcher is required (use {any: true} for every caller)")
	}
	for j, m := range r.GetPrincipals() {
		if pm, ok := c.principal(field.Field("principals").Index(j), m); ok {
			cr.principals = append(cr.principals, pm)
		}
	}

	if len(r.GetHosts()) == 0 {
		c.fail(field+".hosts", `at least one host is required (use "**" for every host)`)
	}
	for j, h := range r.GetHosts() {
		g, err := compileHostGlob(h)
		if err != nil {
			c.fail(field.Field("hosts").Index(j), "%v", err)
			continue
		}
		cr.hosts = append(cr.hosts, g)
	}

	for j, m := range r.GetMethods() {
		f := field.Field("methods").Index(j)
		switch {
		case m == "":
			c.fail(f, "empty method")
		case m == "*":
			c.fail(f, `"*" is not a wildcard: leave methods empty to match every method`)
		case !ruleMethodToken(m):
			c.fail(f, "invalid method %q: not an HTTP token", m)
		default:
			if up := strings.ToUpper(m); !slices.Contains(cr.methods, up) {
				cr.methods = append(cr.methods, up)
			}
		}
	}

	for j, m := range r.GetPaths() {
		if pm, ok := c.path(field.Field("paths").Index(j), m); ok {
			cr.paths = append(cr.paths, pm)
		}
	}

	return cr, deny, len(c.errs) == before
}

func (c *ruleCompiler) principal(field fieldpath.Path, m *adminv1.PrincipalMatcher) (principalMatcher, bool) {
	var pm principalMatcher
	switch k := m.GetKind().(type) {
	case nil:
		c.fail(field, "no matcher set: set exactly one of any, id, common_name, spiffe_id, trust_domain, organization, organizational_unit, fingerprint_sha256")
		return pm, false
	case *adminv1.PrincipalMatcher_Any:
		if !k.Any {
			c.fail(field+".any", "must be true when set")
			return pm, false
		}
		pm.kind = principalAny
		return pm, true
	case *adminv1.PrincipalMatcher_Id:
		pm.kind, pm.value, field = principalID, k.Id, field+".id"
	case *adminv1.PrincipalMatcher_CommonName:
		pm.kind, pm.value, field = principalCommonName, k.CommonName, field+".common_name"
	case *adminv1.PrincipalMatcher_SpiffeId:
		pm.kind, pm.value, field = principalSPIFFEID, k.SpiffeId, field+".spiffe_id"
	case *adminv1.PrincipalMatcher_TrustDomain:
		pm.kind, pm.value, field = principalTrustDomain, strings.ToLower(k.TrustDomain), field+".trust_domain"
	case *adminv1.PrincipalMatcher_Organization:
		pm.kind, pm.value, field = principalOrganization, k.Organization, field+".organization"
	case *adminv1.PrincipalMatcher_OrganizationalUnit:
		pm.kind, pm.value, field = principalOrganizationalUnit, k.OrganizationalUnit, field+".organizational_unit"
	case *adminv1.PrincipalMatcher_FingerprintSha256:
		pm.kind, pm.value, field = principalFingerprint, strings.ToLower(k.FingerprintSha256), field+".fingerprint_sha256"
	default:
		c.fail(field, "unknown matcher kind %T", k)
		return pm, false
	}
	if pm.value == "" {
		c.fail(field, "empty value")
		return pm, false
	}
	switch pm.kind {
	case principalCommonName:
		g, err := compileCNGlob(pm.value)
		if err != nil {
			c.fail(field, "%v", err)
			return pm, false
		}
		pm.cn = g
	case principalSPIFFEID:
		if _, err := parseSPIFFEID(pm.value); err != nil {
			c.fail(field, "%v", err)
			return pm, false
		}
	case principalTrustDomain:
		if err := checkTrustDomain(pm.value); err != nil {
			c.fail(field, "invalid trust domain %q: %v", pm.value, err)
			return pm, false
		}
	case principalFingerprint:
		if b, err := hex.DecodeString(pm.value); err != nil || len(b) != 32 {
			c.fail(field, "invalid fingerprint %q: want 64 hex digits (SHA-256 of the DER certificate)", pm.value)
			return pm, false
		}
	}
	return pm, true
}

func (c *ruleCompiler) path(field fieldpath.Path, m *adminv1.PathMatcher) (pathMatcher, bool) {
	var pm pathMatcher
	switch k := m.GetKind().(type) {
	case nil:
		c.fail(field, "no matcher set: set exactly one of exact, prefix, glob")
		return pm, false
	case *adminv1.PathMatcher_Exact:
		pm.kind, pm.value, field = pathKindExact, k.Exact, field+".exact"
	case *adminv1.PathMatcher_Prefix:
		pm.kind, pm.value, field = pathKindPrefix, k.Prefix, field+".prefix"
	case *adminv1.PathMatcher_Glob:
		g, err := compilePathGlob(k.Glob)
		if err != nil {
			c.fail(field+".glob", "%v", err)
			return pm, false
		}
		pm.kind, pm.value, pm.glob = pathKindGlob, k.Glob, g
		return pm, true
	default:
		c.fail(field, "unknown matcher kind %T", k)
		return pm, false
	}
	if err := checkRulePath(pm.value, false); err != nil {
		c.fail(field, "invalid path %q: %v", pm.value, err)
		return pm, false
	}
	return pm, true
}

// validRuleID reports whether id matches ^[A-Za-z0-9._-]{1,128}$.
func validRuleID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !ruleAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ruleMethodToken reports whether s is an RFC 9110 token.
func ruleMethodToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ruleAlnum(c) {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
