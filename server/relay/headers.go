package relay

import (
	"net/http"
	"net/textproto"
	"sort"
	"strings"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110 §7.6.1), plus proxy headers that must never cross the gateway.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Connection":    true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// gatewayOwned are request headers only the gateway may set; copies from the
// app are dropped before the gateway adds its own.
var gatewayOwned = map[string]bool{
	"Host":              true,
	"Content-Length":    true,
	"X-Forwarded-For":   true,
	"X-Forwarded-Host":  true,
	"X-Forwarded-Proto": true,
	"X-Forwarded-Port":  true,
	"X-Real-Ip":         true,
	"Forwarded":         true,
	"X-Request-Id":      true,
}

// isGatewayOwned reports whether only the gateway may set a request header:
// the listed ones and the whole X-Forwarded-* family (X-Forwarded-Client-Cert,
// X-Forwarded-Prefix, ... which upstreams behind other proxies may trust).
func isGatewayOwned(name string) bool {
	return gatewayOwned[name] || strings.HasPrefix(name, "X-Forwarded-")
}

// connectionTokens returns the header names listed in Connection headers.
func connectionTokens(values []string) map[string]bool {
	var named map[string]bool
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			if named == nil {
				named = map[string]bool{}
			}
			named[textproto.CanonicalMIMEHeaderKey(tok)] = true
		}
	}
	return named
}

func isHopByHop(name string, named map[string]bool) bool {
	return hopByHop[name] || strings.HasPrefix(name, "Proxy-") || named[name]
}

// FilterRequestHeaders returns the headers to relay upstream: the app's
// headers minus hop-by-hop headers (and those its Connection header names),
// minus the headers the gateway owns (identity, forwarding, Host, length).
// Names are already canonical (see authz.Canonicalize).
func FilterRequestHeaders(in []authz.Header, owned ...string) http.Header {
	var conn []string
	for _, h := range in {
		if h.Name == "Connection" {
			conn = append(conn, h.Value)
		}
	}
	named := connectionTokens(conn)
	extra := make(map[string]bool, len(owned))
	for _, o := range owned {
		extra[textproto.CanonicalMIMEHeaderKey(o)] = true
	}
	out := make(http.Header, len(in)+4)
	for _, h := range in {
		if isHopByHop(h.Name, named) || isGatewayOwned(h.Name) || extra[h.Name] {
			continue
		}
		out[h.Name] = append(out[h.Name], h.Value)
	}
	return out
}

// responseHeaders converts upstream response headers to the wire shape,
// dropping hop-by-hop headers, in a deterministic order.
func responseHeaders(h http.Header) []*gatewayv1.Header {
	named := connectionTokens(h.Values("Connection"))
	names := make([]string, 0, len(h))
	n := 0
	for k, vs := range h {
		if isHopByHop(k, named) {
			continue
		}
		names = append(names, k)
		n += len(vs)
	}
	sort.Strings(names)
	out := make([]*gatewayv1.Header, 0, n)
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, &gatewayv1.Header{Name: k, Value: v})
		}
	}
	return out
}
