package relay_test

import (
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server/relay"
)

// neverRelayed are the request headers that must not reach an upstream
// from the app, whatever it sends (README "Relay").
var neverRelayed = []string{
	"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Host", "Content-Length", "Forwarded", "X-Real-Ip", "X-Request-Id",
}

func mustDrop(name string, named map[string]bool, owned []string) bool {
	if slices.Contains(neverRelayed, name) || named[name] ||
		strings.HasPrefix(name, "Proxy-") || strings.HasPrefix(name, "X-Forwarded-") {
		return true
	}
	for _, o := range owned {
		if textproto.CanonicalMIMEHeaderKey(o) == name {
			return true
		}
	}
	return false
}

// FuzzFilterRequestHeaders feeds headers through the same path as the
// gateway (Canonicalize, then FilterRequestHeaders): hop-by-hop headers,
// headers a Connection header names, and gateway-owned headers never
// survive; every other header survives with its values in order.
func FuzzFilterRequestHeaders(f *testing.F) {
	f.Add("Connection: X-Secret, keep-alive\nX-Secret: 1\nKeep-Alive: 5\nX-App: a\nX-App: b", "X-Msg-Principal", "X-Msg-Client-Cert-Sha256")
	f.Add("x-msg-principal: admin\nX-Forwarded-For: 10.0.0.1\nX-Forwarded-Client-Cert: Hash=00\nforwarded: for=x\nX-Real-IP: 1", "X-Msg-Principal", "X-Msg-Client-Cert-Sha256")
	f.Add("Proxy-Authorization: Basic eA==\nProxy-Foo: 1\nTE: trailers\nUpgrade: h2c\nTransfer-Encoding: chunked\nTrailer: X", "", "")
	f.Add("Host: evil\nContent-Length: 3\nX-Request-Id: mine\nContent-Type: text/plain", "X-Id", "")
	f.Add("Connection: content-type\nContent-Type: text/plain\nconnection: ,,x-a ,\nX-A: 1", "", "")
	f.Fuzz(func(t *testing.T, raw, owned1, owned2 string) {
		req := &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/"}
		for _, line := range strings.Split(raw, "\n") {
			name, value, _ := strings.Cut(line, ":")
			req.Headers = append(req.Headers, &gatewayv1.Header{Name: name, Value: strings.TrimSpace(value)})
		}
		creq, err := authz.Canonicalize(req, authz.Limits{MaxHeaderCount: 1000, MaxHeaderBytes: 1 << 20})
		if err != nil {
			return // refused before the relay
		}
		owned := []string{owned1, owned2}
		out := relay.FilterRequestHeaders(creq.Headers, owned...)

		named := map[string]bool{}
		for _, h := range creq.Headers {
			if h.Name == "Connection" {
				for _, tok := range strings.Split(h.Value, ",") {
					if tok = strings.TrimSpace(tok); tok != "" {
						named[textproto.CanonicalMIMEHeaderKey(tok)] = true
					}
				}
			}
		}
		want := map[string][]string{}
		for _, h := range creq.Headers {
			if !mustDrop(h.Name, named, owned) {
				want[h.Name] = append(want[h.Name], h.Value)
			}
		}
		for name, vs := range out {
			if mustDrop(name, named, owned) {
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
