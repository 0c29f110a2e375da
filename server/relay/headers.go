package relay

import (
	"net/http"
	"sort"
	"strings"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110 §7.6.1), plus proxy headers that must never cross the gateway
// (folded with authz.FoldHeaderName).
var hopByHop = map[string]bool{
	"connection":          true,
	"keep-alive":          true,
	"proxy-connection":    true,
	"proxy-authenticate":  true,
	"proxy-authorization": true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
}

// gatewayOwned are request headers only the gateway may set, folded with
// authz.FoldHeaderName; copies from the app are dropped before the gateway
// adds its own.
var gatewayOwned = map[string]bool{
	"host":           true,
	"content-length": true,
	"x-real-ip":      true,
	"forwarded":      true,
	"x-request-id":   true,
}

// neverFromApps are request headers the gateway never sets but that
// upstreams (or proxies in front of them) trust to say who the client is or
// which URL it asked for; no app may send them. Folded.
var neverFromApps = map[string]bool{
	// Client addresses, as CDNs and load balancers set them.
	"true-client-ip":      true,
	"x-client-ip":         true,
	"cf-connecting-ip":    true,
	"x-cluster-client-ip": true,
	"client-ip":           true,
	"x-originating-ip":    true,
	"x-remote-ip":         true,
	"x-remote-addr":       true,
	// URL overrides (IIS URL Rewrite, Symfony, Envoy): the upstream would
	// route on a path that no rule decided on.
	"x-original-url":        true,
	"x-rewrite-url":         true,
	"x-envoy-original-path": true,
}

// isGatewayOwned reports whether only the gateway may set a request header,
// given by its folded name: the listed ones and the whole X-Forwarded-*
// family (X-Forwarded-Client-Cert, X-Forwarded-Prefix, ... which upstreams
// behind other proxies may trust).
func isGatewayOwned(folded string) bool {
	return gatewayOwned[folded] || neverFromApps[folded] || strings.HasPrefix(folded, "x-forwarded-")
}

// connectionTokens returns the header names listed in Connection headers,
// folded with authz.FoldHeaderName.
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
			named[authz.FoldHeaderName(tok)] = true
		}
	}
	return named
}

// isHopByHop reports whether a header, given by its folded name, describes
// one connection rather than the message.
func isHopByHop(folded string, named map[string]bool) bool {
	return hopByHop[folded] || strings.HasPrefix(folded, "proxy-") || named[folded]
}

// FilterRequestHeaders returns the headers to relay upstream: the app's
// headers minus hop-by-hop headers (and those its Connection header names),
// minus the headers the gateway owns (identity, forwarding, Host, length,
// and the owned names given), minus the client-address and URL-override
// headers no app may send, minus method-override headers unless the host
// allows them. Names are compared as CGI and WSGI stacks compare them:
// ignoring case and reading '_' as '-', so "X_Msg_Principal" is the
// identity header. A name with '_' is dropped outright unless the host
// allows such names. Names are already canonical (see authz.Canonicalize).
func FilterRequestHeaders(in []authz.Header, opts authz.HostOptions, owned ...string) http.Header {
	var conn []string
	for _, h := range in {
		if authz.FoldHeaderName(h.Name) == "connection" {
			conn = append(conn, h.Value)
		}
	}
	named := connectionTokens(conn)
	extra := make(map[string]bool, len(owned))
	for _, o := range owned {
		extra[authz.FoldHeaderName(o)] = true
	}
	out := make(http.Header, len(in)+4)
	for _, h := range in {
		if dropRequestHeader(h.Name, opts, named, extra) {
			continue
		}
		out[h.Name] = append(out[h.Name], h.Value)
	}
	return out
}

// dropRequestHeader is FilterRequestHeaders' decision for one name.
func dropRequestHeader(name string, opts authz.HostOptions, named, owned map[string]bool) bool {
	if !opts.AllowUnderscoreHeaders && strings.IndexByte(name, '_') >= 0 {
		return true
	}
	f := authz.FoldHeaderName(name)
	switch {
	case isHopByHop(f, named), isGatewayOwned(f), owned[f]:
		return true
	case authz.IsMethodOverrideHeader(f):
		return !opts.AllowMethodOverride
	}
	return false
}

// responseHeaders converts upstream response headers to the wire shape,
// dropping hop-by-hop headers, in a deterministic order.
func responseHeaders(h http.Header) []*gatewayv1.Header {
	named := connectionTokens(h.Values("Connection"))
	names := make([]string, 0, len(h))
	n := 0
	for k, vs := range h {
		if isHopByHop(authz.FoldHeaderName(k), named) {
			continue
		}
		names = append(names, k)
		n += len(vs)
	}
	sort.Strings(names)
	// One allocation for all the fields rather than one each.
	fields := make([]gatewayv1.Header, n)
	out := make([]*gatewayv1.Header, 0, n)
	for _, k := range names {
		for _, v := range h[k] {
			f := &fields[len(out)]
			f.Name, f.Value = k, v
			out = append(out, f)
		}
	}
	return out
}
