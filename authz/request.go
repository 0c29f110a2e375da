package authz

import (
	"fmt"
	"slices"
	"strings"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/canon"
)

// Limits bound the size of an inner request's head.
type Limits struct {
	// MaxHeaderCount is the most headers a request may carry.
	MaxHeaderCount int
	// MaxHeaderBytes bounds the sum of header name and value lengths.
	MaxHeaderBytes int
}

// HostOptions are one host's choices about the inner requests it accepts
// beyond the strict defaults; the zero value is the default. The fields are
// those of the same names in msg.admin.v1.Host.
type HostOptions struct {
	// AllowPathParameters accepts ';' in path segments; see
	// [canon.PathOptions].
	AllowPathParameters bool
	// ExtraMethods are the upper-case methods the host accepts besides the
	// standard ones (see [StandardMethod]). Never CONNECT or TRACE.
	ExtraMethods []string
	// AllowMethodOverride lets a method-override header through; the request
	// is then decided for both methods (see [Request.MethodOverride]).
	AllowMethodOverride bool
	// AllowUnderscoreHeaders relays header names with '_', except those that
	// collide with a header the gateway sets or strips.
	AllowUnderscoreHeaders bool
}

// HostOptionsFunc returns the options of a canonical host name; a host it
// does not know gets the zero value. A nil HostOptionsFunc gives every host
// the zero value.
type HostOptionsFunc func(host string) HostOptions

// StandardMethod reports whether every host accepts method: GET, HEAD, POST,
// PUT, PATCH, DELETE and OPTIONS. Others need the host's extra_methods: a
// rule that lists methods cannot foresee every token an upstream might treat
// as GET (verb tampering).
func StandardMethod(method string) bool {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return true
	}
	return false
}

// NeverRelayed reports whether method is one the gateway refuses for every
// host: CONNECT asks the upstream to open a tunnel, which would escape the
// canonical request; TRACE echoes the request, identity headers included.
func NeverRelayed(method string) bool {
	return method == "CONNECT" || method == "TRACE"
}

// checkMethod returns the reason a canonical method is refused for a host
// with opts, or "".
func (o HostOptions) checkMethod(method string) string {
	switch {
	case NeverRelayed(method):
		return "CONNECT and TRACE are never relayed"
	case StandardMethod(method) || slices.Contains(o.ExtraMethods, method):
		return ""
	}
	return "method is not accepted for this host"
}

// Admits re-checks a canonical request against the options of the host it
// is about to be relayed to, and returns InvalidArgument naming the field
// when they do not accept it. Canonicalize applied the options in force
// then; the relay calls Admits with the host entry it actually uses, so a
// host changed in between cannot receive what it no longer accepts.
func (o HostOptions) Admits(r *Request) error {
	if reason := o.checkMethod(r.Method); reason != "" {
		return InvalidArgumentError("method", reason)
	}
	if r.MethodOverride != "" && !o.AllowMethodOverride {
		return InvalidArgumentError("headers", "method override is not accepted for this host")
	}
	if !o.AllowPathParameters && (strings.IndexByte(r.Path, ';') >= 0 || strings.Contains(r.Path, "%3B")) {
		return InvalidArgumentError("path", "path parameter (;) is not allowed")
	}
	return nil
}

// IsMethodOverrideHeader reports whether a header name, folded with
// [FoldHeaderName], is one through which frameworks let a POST act as
// another method: X-HTTP-Method-Override, X-HTTP-Method or
// X-Method-Override. The relay drops them unless the host allows method
// overrides; then the request is decided for both methods (see
// [Request.MethodOverride]).
func IsMethodOverrideHeader(folded string) bool {
	switch folded {
	case "x-http-method-override", "x-http-method", "x-method-override":
		return true
	}
	return false
}

// FoldHeaderName returns a header name the way CGI, WSGI and similar stacks
// compare it: lower case, with '_' read as '-'. Two names that fold alike
// are one header to such an upstream.
func FoldHeaderName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}

// Canonicalize validates an inner request and returns its one canonical form.
// It is the only place where the wire request is interpreted: authorization
// decides on the result and the relay sends exactly the result. A malformed
// request, or one its host does not accept (see [HostOptions]), yields an
// InvalidArgument status naming the field. hosts may be nil.
func Canonicalize(in *gatewayv1.ForwardRequest, lim Limits, hosts HostOptionsFunc) (*Request, error) {
	if in == nil {
		return nil, InvalidArgumentError("request", "missing")
	}
	host, err := canon.Host(in.GetHost())
	if err != nil {
		return nil, InvalidArgumentError("host", err.Error())
	}
	var opts HostOptions
	if hosts != nil {
		opts = hosts(host)
	}
	method, err := canon.Method(in.GetMethod())
	if err != nil {
		return nil, InvalidArgumentError("method", err.Error())
	}
	if reason := opts.checkMethod(method); reason != "" {
		return nil, InvalidArgumentError("method", reason)
	}
	path, query, err := canon.Target(in.GetPath(), canon.PathOptions{AllowParameters: opts.AllowPathParameters})
	if err != nil {
		return nil, InvalidArgumentError("path", err.Error())
	}
	hs := in.GetHeaders()
	if lim.MaxHeaderCount > 0 && len(hs) > lim.MaxHeaderCount {
		return nil, InvalidArgumentError("headers", fmt.Sprintf("more than %d headers", lim.MaxHeaderCount))
	}
	out := &Request{Host: host, Method: method, Path: path, RawQuery: query, Body: in.GetBody()}
	if len(hs) > 0 {
		out.Headers = make([]Header, 0, len(hs))
	}
	total := 0
	for i, h := range hs {
		name, err := canon.HeaderName(h.GetName())
		if err != nil {
			return nil, InvalidArgumentError(fmt.Sprintf("headers[%d].name", i), err.Error())
		}
		value, err := canon.HeaderValue(h.GetValue())
		if err != nil {
			return nil, InvalidArgumentError(fmt.Sprintf("headers[%d].value", i), err.Error())
		}
		total += len(name) + len(value)
		if lim.MaxHeaderBytes > 0 && total > lim.MaxHeaderBytes {
			return nil, InvalidArgumentError("headers", fmt.Sprintf("more than %d bytes of headers", lim.MaxHeaderBytes))
		}
		out.Headers = append(out.Headers, Header{Name: name, Value: value})
	}
	if opts.AllowMethodOverride {
		if out.MethodOverride, err = methodOverride(out.Headers, opts); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// methodOverride returns the method that the request's method-override
// headers name (compared as CGI stacks compare names, so "X_HTTP_Method"
// counts), upper-cased, or "" when there are none. All of them must name the
// same method, one the host accepts: an upstream may read any one of them.
func methodOverride(hs []Header, opts HostOptions) (string, error) {
	var found string
	for i, h := range hs {
		if !IsMethodOverrideHeader(FoldHeaderName(h.Name)) {
			continue
		}
		field := fmt.Sprintf("headers[%d].value", i)
		m, err := canon.Method(h.Value)
		if err != nil {
			return "", InvalidArgumentError(field, "method override: "+err.Error())
		}
		if reason := opts.checkMethod(m); reason != "" {
			return "", InvalidArgumentError(field, "method override: "+reason)
		}
		if found != "" && found != m {
			return "", InvalidArgumentError(field, "method override headers disagree")
		}
		found = m
	}
	return found, nil
}
