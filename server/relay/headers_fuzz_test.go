package relay_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server/relay"
)

// neverRelayed are the request headers that must not reach an upstream
// from the app, whatever it sends (README "Relay"), folded as CGI and WSGI
// stacks fold names: lower case, '_' read as '-'.
var neverRelayed = []string{
	"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
	"host", "content-length", "forwarded", "x-real-ip", "x-request-id",
	"true-client-ip", "x-client-ip", "cf-connecting-ip", "x-cluster-client-ip", "client-ip",
	"x-originating-ip", "x-remote-ip", "x-remote-addr",
	"x-original-url", "x-rewrite-url", "x-envoy-original-path",
}

// methodOverrides are dropped unless the host allows them.
var methodOverrides = []string{"x-http-method-override", "x-http-method", "x-method-override"}

// cgiFold is how a CGI or WSGI upstream names a header: two names that fold
// alike are one header there.
func cgiFold(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

func mustDrop(name string, named map[string]bool, owned []string, opts authz.HostOptions) bool {
	if strings.Contains(name, "_") && !opts.AllowUnderscoreHeaders {
		return true
	}
	f := cgiFold(name)
	if slices.Contains(neverRelayed, f) || named[f] ||
		strings.HasPrefix(f, "proxy-") || strings.HasPrefix(f, "x-forwarded-") {
		return true
	}
	if slices.Contains(methodOverrides, f) && !opts.AllowMethodOverride {
		return true
	}
	for _, o := range owned {
		if o != "" && cgiFold(o) == f {
			return true
		}
	}
	return false
}

// FuzzFilterRequestHeaders feeds headers through the same path as the
// gateway (Canonicalize, then FilterRequestHeaders) for a host with or
// without underscore names and method overrides allowed: hop-by-hop headers,
// headers a Connection header names, gateway-owned headers, client-address
// and URL-override headers never survive, also not spelled with '_' or in
// another case (which a CGI upstream would read as the same header);
// method-override headers survive only where allowed; every other header
// survives with its values in order.
func FuzzFilterRequestHeaders(f *testing.F) {
	f.Add("Connection: X-Secret, keep-alive\nX-Secret: 1\nKeep-Alive: 5\nX-App: a\nX-App: b", "X-Msg-Principal", "X-Msg-Client-Cert-Sha256", false, false)
	f.Add("x-msg-principal: admin\nX-Forwarded-For: 10.0.0.1\nX-Forwarded-Client-Cert: Hash=00\nforwarded: for=x\nX-Real-IP: 1", "X-Msg-Principal", "X-Msg-Client-Cert-Sha256", false, false)
	f.Add("Proxy-Authorization: Basic eA==\nProxy-Foo: 1\nTE: trailers\nUpgrade: h2c\nTransfer-Encoding: chunked\nTrailer: X", "", "", false, false)
	f.Add("Host: evil\nContent-Length: 3\nX-Request-Id: mine\nContent-Type: text/plain", "X-Id", "", false, false)
	f.Add("Connection: content-type\nContent-Type: text/plain\nconnection: ,,x-a ,\nX-A: 1", "", "", false, false)
	f.Add("X_Msg_Principal: admin\nX-Msg_Client-Cert_Sha256: 00\nX_Forwarded_For: 1.2.3.4\nX_App: 1", "X-Msg-Principal", "X-Msg-Client-Cert-Sha256", true, false)
	f.Add("x-msg-assertion: eyJ.forged.sig\nX_Msg_Assertion: eyJ.x.y\nX-App: 1", "X-Msg-Assertion", "X-Msg-Principal", true, false)
	f.Add("X-HTTP-Method-Override: DELETE\nX_HTTP_Method: DELETE\nX-Original-URL: /admin\nTrue-Client-IP: 10.0.0.1", "", "", true, true)
	f.Fuzz(func(t *testing.T, raw, owned1, owned2 string, underscore, override bool) {
		opts := authz.HostOptions{AllowUnderscoreHeaders: underscore, AllowMethodOverride: override}
		req := &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "POST", Path: "/"}
		for _, line := range strings.Split(raw, "\n") {
			name, value, _ := strings.Cut(line, ":")
			req.Headers = append(req.Headers, &gatewayv1.Header{Name: name, Value: strings.TrimSpace(value)})
		}
		creq, err := authz.Canonicalize(req, authz.Limits{MaxHeaderCount: 1000, MaxHeaderBytes: 1 << 20},
			func(string) authz.HostOptions { return opts })
		if err != nil {
			return // refused before the relay
		}
		owned := []string{owned1, owned2}
		out := relay.FilterRequestHeaders(creq.Headers, opts, owned...)

		named := map[string]bool{}
		for _, h := range creq.Headers {
			if cgiFold(h.Name) == "connection" {
				for _, tok := range strings.Split(h.Value, ",") {
					if tok = strings.TrimSpace(tok); tok != "" {
						named[cgiFold(tok)] = true
					}
				}
			}
		}
		want := map[string][]string{}
		for _, h := range creq.Headers {
			if !mustDrop(h.Name, named, owned, opts) {
				want[h.Name] = append(want[h.Name], h.Value)
			}
		}
		for name, vs := range out {
			if mustDrop(name, named, owned, opts) {
				t.Errorf("header %q survived filtering: %q", name, vs)
			}
			if !slices.Equal(vs, want[name]) {
				t.Errorf("header %q = %q, want %q (order kept)", name, vs, want[name])
			}
		}
		for name := range want {
			if _, ok := out[name]; !ok {
				t.Errorf("end-to-end header %q was dropped", name)
			}
		}
	})
}
