package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file attacks deny rules and identity headers through the spellings
// upstream families read differently from the gateway (issue 11, findings 6
// and 7, and the override headers and methods of its hardening list). Each
// test runs a real gateway in front of real upstreams that behave like the
// stacks the attacks target.

// lenientUpstreamPath is the path an upstream routes a request on when it
// does everything the lenient stacks do, each of which alone turns one of
// the spellings below into /private/...: a Java servlet container (Tomcat,
// Jetty) and Spring strip ";parameters" from every raw segment; a proxy in
// front that decodes once more, and then the application, decode twice;
// Windows and IIS drop trailing dots and spaces and NTFS stream suffixes
// ("::$INDEX_ALLOCATION"); Java's String.trim drops trailing controls. Dot
// segments are resolved last, as a servlet container does.
func lenientUpstreamPath(raw string) string {
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		for range 2 {
			if d, err := url.PathUnescape(s); err == nil {
				s = d
			}
		}
		s, _, _ = strings.Cut(s, ";")
		if j := strings.Index(s, ":$"); j >= 0 {
			s = strings.TrimRight(s[:j], ":")
		}
		if s != "." && s != ".." {
			s = strings.TrimRight(s, ". \t\r\n\x00")
		}
		segs[i] = s
	}
	return path.Clean("/" + strings.Join(segs, "/"))
}

// privateHits records the requests a lenient upstream routed to its
// private area.
type privateHits struct {
	mu   sync.Mutex
	uris []string
}

func (p *privateHits) add(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.uris = append(p.uris, uri)
}

func (p *privateHits) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.uris)
}

// lenientUpstream answers every path it routes under /private with the
// private area (and records it), everything else with the echo handler.
func lenientUpstream(hits *privateHits) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		route := lenientUpstreamPath(strings.TrimPrefix(r.URL.EscapedPath(), "/base"))
		if route == "/private" || strings.HasPrefix(route, "/private/") {
			hits.add(r.RequestURI)
			fmt.Fprint(w, "demo-private-area")
			return
		}
		echoHandler(w, r)
	}
}

// upstreamHost returns a host entry for a new upstream running handler.
func upstreamHost(t *testing.T, name string, handler http.HandlerFunc) *adminv1.Host {
	t.Helper()
	up := httptest.NewServer(handler)
	t.Cleanup(up.Close)
	return &adminv1.Host{Name: name, Upstream: up.URL, AllowedCidrs: []string{"127.0.0.0/8"}}
}

// withHostsAndRules adds hosts to the test gateway's table and replaces its
// rules.
func withHostsAndRules(hosts []*adminv1.Host, rules ...*adminv1.Rule) func(*configv1.Config) {
	return func(c *configv1.Config) {
		c.Hosts = append(c.Hosts, hosts...)
		c.Rules = rules
	}
}

func rule(id string, effect adminv1.Effect, principal string, methods []string, pathPrefix string) *adminv1.Rule {
	r := &adminv1.Rule{Id: id, Effect: effect, Hosts: []string{"**"}, Methods: methods,
		Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: principal}}}}
	if pathPrefix != "" {
		r.Paths = []*adminv1.PathMatcher{{Kind: &adminv1.PathMatcher_Prefix{Prefix: pathPrefix}}}
	}
	return r
}

// wantInvalid checks that err is InvalidArgument naming field.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	got := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			got = info.GetMetadata()["field"]
		}
	}
	if st.Code() != codes.InvalidArgument || got != field {
		t.Errorf("%s: %v (field %q), want InvalidArgument naming %q", what, err, got, field)
	}
}

// streamHead sends one ForwardStream request head (with end) and returns
// the call's status.
func streamHead(t *testing.T, g *gateway, cn, host, method, target string, headers ...*gatewayv1.Header) *status.Status {
	t.Helper()
	s := rawStream(t, g, cn)
	head := &gatewayv1.RequestHead{Host: host, Method: method, Path: target, Headers: headers, End: true}
	if err := s.Send(&gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_Head{Head: head}}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseSend()
	return finish(s)
}

// auditRecords returns the audit trail's records for principal, newest
// first.
func auditRecords(t *testing.T, g *gateway, principal string) []map[string]any {
	t.Helper()
	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?pageSize=1000&principal="+principal, "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/audit: %d %v", code, body)
	}
	return records(body)
}

// TestPathParameterBypass is finding 6 of issue 11: behind a deny rule on
// /private, an upstream that strips ";parameters" (a servlet container)
// and folds other spellings (IIS, double decoding) must never be reached at
// /private through a spelling the rule does not see as /private. Each
// spelling is refused as InvalidArgument naming the path, on Forward and
// ForwardStream, and the audit trail records it as a refused invalid
// request. A host that opts in to path parameters gets them, and its rules
// decide on the path with its parameters, which is what such an upstream
// routes on.
func TestPathParameterBypass(t *testing.T) {
	t.Parallel()
	hits := &privateHits{}
	// An upstream that keeps ";" in the segment, as Go's net/http does.
	var paramsSeen []string
	var paramsMu sync.Mutex
	params := upstreamHost(t, "params.internal", func(w http.ResponseWriter, r *http.Request) {
		paramsMu.Lock()
		paramsSeen = append(paramsSeen, r.RequestURI)
		paramsMu.Unlock()
		echoHandler(w, r)
	})
	params.AllowPathParameters = true
	g := startGatewayWith(t, lenientUpstream(hits), server.Options{DrainTimeout: time.Second},
		withHostsAndRules([]*adminv1.Host{params},
			rule("alice-all", adminv1.Effect_EFFECT_ALLOW, "alice", nil, ""),
			rule("alice-no-private", adminv1.Effect_EFFECT_DENY, "alice", nil, "/private")))
	alice := g.as(t, "alice")

	// The emulation works: an honest request for the private area reaches
	// it when nothing stands in the way, which is what the deny rule is for.
	if got := lenientUpstreamPath("/%70rivate;a=b/secret"); got != "/private/secret" {
		t.Fatalf("lenientUpstreamPath = %q, the emulation does not strip parameters", got)
	}
	if _, err := forward(t, alice, get("demo.internal", "/private/secret")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("alice at /private/secret: %v, want PermissionDenied", err)
	}
	if resp, err := forward(t, alice, get("demo.internal", "/public/x")); err != nil || resp.GetStatusCode() != http.StatusCreated {
		t.Fatalf("alice at /public/x: %v %v", resp, err)
	}

	bypasses := []string{
		// Servlet path parameters, as the review sent them.
		"/private;jsessionid=1/secret",
		"/private;/secret",
		"/%70rivate;a=b/secret",
		"/private;x",
		"/private%3Bx/secret",
		"/private%3b/secret",
		"/x/..;/private/secret",
		// IIS and Windows: trailing dots and spaces, NTFS streams.
		"/private./secret",
		"/private%2e/secret",
		"/private%20/secret",
		"/private::$INDEX_ALLOCATION/secret",
		"/private%3A%3A%24INDEX_ALLOCATION/secret",
		// A second decoding, and trimming.
		"/%2570rivate/secret",
		"/x/%252e%252e/private/secret",
		"/private%09/secret",
	}
	for _, target := range bypasses {
		_, err := forward(t, alice, get("demo.internal", target))
		wantInvalid(t, "Forward "+target, err, "path")
		st := streamHead(t, g, "alice", "demo.internal", "GET", target)
		wantInvalid(t, "ForwardStream "+target, st.Err(), "path")
	}
	if got := hits.all(); len(got) != 0 {
		t.Errorf("the private area was reached at %q", got)
	}

	// The audit trail has every one of them as a refused invalid request,
	// and no allowed request for demo.internal's private area.
	invalid := 0
	var allowedPrivate []string
	for _, r := range auditRecords(t, g, "alice") {
		if r["reason"] == "invalid_request" && r["decision"] == "DECISION_DENY" && r["code"] == "InvalidArgument" {
			invalid++
		}
		if r["decision"] == "DECISION_ALLOW" && r["host"] == "demo.internal" && strings.HasPrefix(fmt.Sprint(r["path"]), "/private") {
			allowedPrivate = append(allowedPrivate, fmt.Sprint(r["path"]))
		}
	}
	if len(allowedPrivate) > 0 {
		t.Errorf("audit records allowed requests for the private area: %q", allowedPrivate)
	}
	if want := 2 * len(bypasses); invalid != want {
		t.Errorf("audit has %d invalid_request refusals, want %d", invalid, want)
	}

	// The opted-in host: its upstream keeps ";" in the segment, and the rule
	// decided on exactly the path it received.
	for _, target := range []string{"/public;v=2/x", "/private;x/secret"} {
		if _, err := forward(t, alice, get("params.internal", target)); err != nil {
			t.Errorf("params.internal %s: %v", target, err)
		}
	}
	if _, err := forward(t, alice, get("params.internal", "/private/secret")); status.Code(err) != codes.PermissionDenied {
		t.Errorf("params.internal /private/secret: %v, want PermissionDenied", err)
	}
	paramsMu.Lock()
	defer paramsMu.Unlock()
	if !slices.Equal(paramsSeen, []string{"/public;v=2/x", "/private;x/secret"}) {
		t.Errorf("the opted-in upstream saw %q", paramsSeen)
	}
}

// wsgiEnviron is the environment a CGI or WSGI server builds from request
// headers: HTTP_ and the name upper-cased with '-' read as '_', so that
// "X-Msg-Principal" and "X_Msg_Principal" are one variable, their values
// joined with commas.
func wsgiEnviron(h http.Header) map[string]string {
	env := map[string]string{}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names) // the gateway's own spelling first, as it is the canonical one
	for _, k := range names {
		key := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		for _, v := range h[k] {
			if env[key] != "" {
				env[key] += ","
			}
			env[key] += v
		}
	}
	return env
}

// TestIdentityHeaderCollision is finding 7 of issue 11: a WSGI-like
// upstream (which folds '_' into '-') sees only the gateway's identity,
// fingerprint, forwarding and request-id headers, whatever the app sends
// with underscores or in other cases. A host that opts in to underscore
// names gets them, but never one that folds into a gateway header.
func TestIdentityHeaderCollision(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var envs []map[string]string
	wsgi := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		envs = append(envs, wsgiEnviron(r.Header))
		mu.Unlock()
		echoHandler(w, r)
	}
	underscores := upstreamHost(t, "underscores.internal", wsgi)
	underscores.AllowUnderscoreHeaders = true
	g := startGatewayWith(t, wsgi, server.Options{DrainTimeout: time.Second},
		withHostsAndRules([]*adminv1.Host{underscores}, rule("alice-all", adminv1.Effect_EFFECT_ALLOW, "alice", nil, "")))
	aliceCert := g.identity(t, "alice")
	alice := g.dial(t, aliceCert)
	sum := sha256.Sum256(aliceCert.Leaf.Raw)
	aliceFP := hex.EncodeToString(sum[:])

	spoof := []*gatewayv1.Header{
		{Name: "X_Msg_Principal", Value: "admin"},
		{Name: "x_msg_principal", Value: "root"},
		{Name: "X-Msg_Principal", Value: "admin2"},
		{Name: "X_MSG_CLIENT_CERT_SHA256", Value: strings.Repeat("0", 64)},
		{Name: "X_Forwarded_For", Value: "10.0.0.1"},
		{Name: "X_Real_IP", Value: "10.0.0.2"},
		{Name: "X_Request_Id", Value: "chosen-by-app"},
		{Name: "Content_Length", Value: "0"},
		{Name: "Transfer_Encoding", Value: "chunked"},
		{Name: "X_Custom", Value: "1"},
	}
	for _, host := range []string{"demo.internal", "underscores.internal"} {
		if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: host, Method: "GET", Path: "/x", Headers: spoof}); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(envs) != 2 {
		t.Fatalf("upstreams saw %d requests, want 2", len(envs))
	}
	for i, env := range envs {
		for key, want := range map[string]string{
			"HTTP_X_MSG_PRINCIPAL":          "alice",
			"HTTP_X_MSG_CLIENT_CERT_SHA256": aliceFP,
			"HTTP_X_FORWARDED_FOR":          "127.0.0.1",
			"HTTP_X_REAL_IP":                "",
			"HTTP_CONTENT_LENGTH":           "",
			"HTTP_TRANSFER_ENCODING":        "",
		} {
			if env[key] != want {
				t.Errorf("request %d: %s = %q, want %q", i, key, env[key], want)
			}
		}
		if id := env["HTTP_X_REQUEST_ID"]; len(id) != 32 {
			t.Errorf("request %d: HTTP_X_REQUEST_ID = %q, want the gateway's id only", i, id)
		}
	}
	// Underscore names: dropped by default, relayed where the host opts in.
	if got := envs[0]["HTTP_X_CUSTOM"]; got != "" {
		t.Errorf("demo.internal got X_Custom = %q, want it dropped by default", got)
	}
	if got := envs[1]["HTTP_X_CUSTOM"]; got != "1" {
		t.Errorf("underscores.internal got X_Custom = %q, want it relayed", got)
	}
}

// overrideUpstream acts like a framework with method- and URL-override
// support: a POST carrying X-HTTP-Method-Override (or its variants) runs as
// that method, and X-Original-URL (or its variants) replaces the path. It
// records what it acted on.
type overrideUpstream struct {
	mu    sync.Mutex
	acted []string // "METHOD path"
	seen  []http.Header
}

func (o *overrideUpstream) handle(w http.ResponseWriter, r *http.Request) {
	method, route := r.Method, r.URL.Path
	if method == http.MethodPost {
		for _, h := range []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
			if v := r.Header.Get(h); v != "" {
				method = strings.ToUpper(v)
			}
		}
	}
	for _, h := range []string{"X-Original-Url", "X-Rewrite-Url", "X-Envoy-Original-Path"} {
		if v := r.Header.Get(h); v != "" {
			route = v
		}
	}
	o.mu.Lock()
	o.acted = append(o.acted, method+" "+route)
	o.seen = append(o.seen, r.Header.Clone())
	o.mu.Unlock()
	echoHandler(w, r)
}

// TestOverrideHeadersStripped: a POST carrying method-override headers is
// relayed without them, so a framework cannot run it as the DELETE the
// rules deny; URL-override and client-address headers never reach the
// upstream either. A host that opts in to method overrides gets the
// header, and the request is decided for both methods.
func TestOverrideHeadersStripped(t *testing.T) {
	t.Parallel()
	up := &overrideUpstream{}
	opted := upstreamHost(t, "override.internal", up.handle)
	opted.AllowMethodOverride = true
	g := startGatewayWith(t, up.handle, server.Options{DrainTimeout: time.Second},
		withHostsAndRules([]*adminv1.Host{opted},
			rule("alice-all", adminv1.Effect_EFFECT_ALLOW, "alice", nil, ""),
			rule("alice-no-delete", adminv1.Effect_EFFECT_DENY, "alice", []string{"DELETE"}, ""),
			rule("alice-no-private", adminv1.Effect_EFFECT_DENY, "alice", nil, "/private")))
	alice := g.as(t, "alice")
	h := func(kv ...string) []*gatewayv1.Header {
		var out []*gatewayv1.Header
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, &gatewayv1.Header{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "DELETE", Path: "/items/1"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("DELETE: %v, want PermissionDenied", err)
	}
	stripped := []string{
		"X-HTTP-Method-Override", "DELETE", "X-HTTP-Method", "DELETE", "X-Method-Override", "DELETE",
		"X-Original-URL", "/private/secret", "X-Rewrite-URL", "/private/secret", "X-Envoy-Original-Path", "/private/secret",
		"True-Client-IP", "10.9.9.9", "X-Client-IP", "10.9.9.9", "CF-Connecting-IP", "10.9.9.9",
		"X-Cluster-Client-IP", "10.9.9.9", "Client-IP", "10.9.9.9",
	}
	if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/items/1", Headers: h(stripped...)}); err != nil {
		t.Fatalf("POST with override headers: %v", err)
	}
	if st := streamHead(t, g, "alice", "demo.internal", "POST", "/items/2", h(stripped...)...); st.Code() != codes.OK {
		t.Fatalf("ForwardStream POST with override headers: %v", st.Err())
	}

	// Opted in: the override is relayed, and decided on.
	if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "override.internal", Method: "POST", Path: "/items/3",
		Headers: h("X-HTTP-Method-Override", "DELETE")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("opted-in POST overriding to DELETE: %v, want PermissionDenied", err)
	}
	if _, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "override.internal", Method: "POST", Path: "/items/4",
		Headers: h("X-HTTP-Method-Override", "PATCH", "X-Original-URL", "/private/secret")}); err != nil {
		t.Errorf("opted-in POST overriding to PATCH: %v", err)
	}

	up.mu.Lock()
	defer up.mu.Unlock()
	if want := []string{"POST /base/items/1", "POST /base/items/2", "PATCH /items/4"}; !slices.Equal(up.acted, want) {
		t.Errorf("the upstream acted on %q, want %q", up.acted, want)
	}
	for i, hdr := range up.seen[:2] {
		for j := 0; j < len(stripped); j += 2 {
			if v := hdr.Values(stripped[j]); len(v) != 0 {
				t.Errorf("request %d: the upstream got %s: %q", i, stripped[j], v)
			}
		}
	}
}

// TestMethodsRefused: CONNECT and TRACE are never relayed, on Forward and
// ForwardStream, and a method outside the standard set reaches only a host
// that lists it in extra_methods.
func TestMethodsRefused(t *testing.T) {
	t.Parallel()
	dav := upstreamHost(t, "dav.internal", echoHandler)
	dav.ExtraMethods = []string{"PROPFIND"}
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second},
		withHostsAndRules([]*adminv1.Host{dav}, rule("alice-all", adminv1.Effect_EFFECT_ALLOW, "alice", nil, "")))
	alice := g.as(t, "alice")
	for _, c := range []struct{ host, method string }{
		{"demo.internal", "CONNECT"}, {"demo.internal", "connect"}, {"demo.internal", "TRACE"},
		{"dav.internal", "TRACE"}, {"demo.internal", "PROPFIND"}, {"demo.internal", "GETX"},
	} {
		_, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: c.host, Method: c.method, Path: "/"})
		wantInvalid(t, "Forward "+c.method+" "+c.host, err, "method")
		st := streamHead(t, g, "alice", c.host, c.method, "/")
		wantInvalid(t, "ForwardStream "+c.method+" "+c.host, st.Err(), "method")
	}
	if n := len(g.log.all()); n != 0 {
		t.Errorf("the upstream saw %d requests, want none", n)
	}
	resp, err := forward(t, alice, &gatewayv1.ForwardRequest{Host: "dav.internal", Method: "propfind", Path: "/"})
	if err != nil || !strings.HasPrefix(string(resp.GetBody()), "PROPFIND / ") {
		t.Errorf("PROPFIND to dav.internal: %v, %q", err, resp.GetBody())
	}
	refused := 0
	for _, r := range auditRecords(t, g, "alice") {
		if r["reason"] == "invalid_request" && r["code"] == "InvalidArgument" {
			refused++
		}
	}
	if refused != 12 {
		t.Errorf("audit has %d refused invalid requests, want 12", refused)
	}
}
