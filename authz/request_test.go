package authz_test

import (
	"testing"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestCanonicalizeHostOptions checks what a host's options change: which
// methods and paths it accepts, and the method-override headers it lets
// through. Everything refused is InvalidArgument naming the field.
func TestCanonicalizeHostOptions(t *testing.T) {
	t.Parallel()
	opts := map[string]authz.HostOptions{
		"dav.internal":      {ExtraMethods: []string{"PROPFIND", "MKCOL"}},
		"params.internal":   {AllowPathParameters: true},
		"override.internal": {AllowMethodOverride: true, ExtraMethods: []string{"PURGE"}},
	}
	lookup := func(host string) authz.HostOptions { return opts[host] }
	hdr := func(kv ...string) []*gatewayv1.Header {
		var out []*gatewayv1.Header
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, &gatewayv1.Header{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name         string
		host, method string
		path         string
		headers      []*gatewayv1.Header
		wantField    string // "" when accepted
		wantMethod   string
		wantOverride string
		wantPath     string
	}{
		{name: "standard method", host: "demo.internal", method: "delete", path: "/", wantMethod: "DELETE", wantPath: "/"},
		{name: "CONNECT never", host: "demo.internal", method: "CONNECT", path: "/", wantField: "method"},
		{name: "connect lower-case never", host: "dav.internal", method: "connect", path: "/", wantField: "method"},
		{name: "TRACE never", host: "demo.internal", method: "TRACE", path: "/", wantField: "method"},
		{name: "TRACE never even with extra methods", host: "dav.internal", method: "trace", path: "/", wantField: "method"},
		{name: "extension method refused by default", host: "demo.internal", method: "PROPFIND", path: "/", wantField: "method"},
		{name: "made-up method refused", host: "demo.internal", method: "GETS", path: "/", wantField: "method"},
		{name: "extension method for its host", host: "dav.internal", method: "propfind", path: "/", wantMethod: "PROPFIND", wantPath: "/"},
		{name: "unknown host has the defaults", host: "nowhere.internal", method: "PROPFIND", path: "/", wantField: "method"},
		{name: "path parameters refused by default", host: "demo.internal", method: "GET", path: "/private;x/secret", wantField: "path"},
		{name: "path parameters for its host", host: "params.internal", method: "GET", path: "/private;x/secret", wantMethod: "GET", wantPath: "/private;x/secret"},
		{name: "override headers ignored without the option", host: "demo.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method-Override", "DELETE"), wantMethod: "POST", wantPath: "/"},
		{name: "override read", host: "override.internal", method: "POST", path: "/", headers: hdr("x-http-method-override", "delete"), wantMethod: "POST", wantOverride: "DELETE", wantPath: "/"},
		{name: "override spelled with underscores", host: "override.internal", method: "POST", path: "/", headers: hdr("X_HTTP_Method", "PUT"), wantMethod: "POST", wantOverride: "PUT", wantPath: "/"},
		{name: "overrides agree", host: "override.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method", "PATCH", "X-Method-Override", "patch"), wantMethod: "POST", wantOverride: "PATCH", wantPath: "/"},
		{name: "overrides disagree", host: "override.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method", "PATCH", "X-Method-Override", "DELETE"), wantField: "headers[1].value"},
		{name: "override not a token", host: "override.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method-Override", "DELETE, PUT"), wantField: "headers[0].value"},
		{name: "override to TRACE", host: "override.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method-Override", "TRACE"), wantField: "headers[0].value"},
		{name: "override to an unaccepted method", host: "override.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method-Override", "PROPFIND"), wantField: "headers[0].value"},
		{name: "override to an extra method", host: "override.internal", method: "POST", path: "/", headers: hdr("X-HTTP-Method-Override", "PURGE"), wantMethod: "POST", wantOverride: "PURGE", wantPath: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := &gatewayv1.ForwardRequest{Host: tt.host, Method: tt.method, Path: tt.path, Headers: tt.headers}
			got, err := authz.Canonicalize(in, authz.Limits{}, lookup)
			if tt.wantField != "" {
				st := status.Convert(err)
				if st.Code() != codes.InvalidArgument || fieldOf(st) != tt.wantField {
					t.Fatalf("Canonicalize = %v, %v; want InvalidArgument naming %q", got, err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if got.Method != tt.wantMethod || got.MethodOverride != tt.wantOverride || got.Path != tt.wantPath {
				t.Fatalf("Canonicalize = method %q override %q path %q; want %q %q %q",
					got.Method, got.MethodOverride, got.Path, tt.wantMethod, tt.wantOverride, tt.wantPath)
			}
		})
	}
}

func fieldOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()["field"]
		}
	}
	return ""
}

func TestFoldHeaderName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"X_Msg_Principal": "x-msg-principal",
		"X-MSG-principal": "x-msg-principal",
		"Content-Type":    "content-type",
		"a_b-c_":          "a-b-c-",
	} {
		if got := authz.FoldHeaderName(in); got != want {
			t.Errorf("FoldHeaderName(%q) = %q, want %q", in, got, want)
		}
	}
}
