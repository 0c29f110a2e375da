package canon_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/canon"
)

// reason returns err's reason, failing the test when err is not an
// [*canon.Error].
func reason(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ce *canon.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *canon.Error", err, err)
	}
	return ce.Reason
}

// Fixed reasons, spelled once so the tables stay readable.
const (
	errEmpty      = "empty request target"
	errTooLong    = "request target is too long"
	errAsterisk   = "asterisk-form request target is not allowed"
	errAbsolute   = "absolute-form or authority-form request target is not allowed"
	errNoSlash    = "request target must start with /"
	errNetPath    = "network-path reference (//) is not allowed"
	errByte       = "control, space or non-ASCII byte in request target must be percent-encoded"
	errFragment   = "fragment (#) is not allowed in a request target"
	errQueryPct   = "malformed percent-encoding in query"
	errPathPct    = "malformed percent-encoding in path"
	errBackslash  = "backslash in path is not allowed"
	errEmptySeg   = "empty path segment (//)"
	errEncSlash   = "encoded slash (%2F) is not allowed"
	errEncBack    = "encoded backslash (%5C) is not allowed"
	errEncNUL     = "encoded NUL (%00) is not allowed"
	errUTF8       = "percent-encoded bytes in path are not valid UTF-8"
	errDotParams  = "dot segment with parameters (;) is not allowed"
	errParams     = "path parameter (;) is not allowed"
	errTrailDot   = "path segment ending in a dot is not allowed"
	errTrailSpace = "path segment ending in a space is not allowed"
	errStream     = "NTFS stream name (:$) in path is not allowed"
	errDoubleEnc  = "double percent-encoding (%25 before an escape) is not allowed"
	errEncCtl     = "encoded control character in path is not allowed"
	errAboveRoot  = "path climbs above the root"
	errHostIPv4   = "invalid IPv4 literal in host"
	errHostIPv6   = "invalid IPv6 literal in host"
	errHostLabel  = "empty label in host name"
	errHostHyphen = "host name label starts or ends with a hyphen"
	errHostChar   = "invalid character in host"
	errHostPort   = "invalid port in host"
	errHostRange  = "port in host is out of range"
)

func TestTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		target    string
		wantPath  string
		wantQuery string
		wantErr   string // the expected reason; "" when the target is valid
		params    bool   // PathOptions.AllowParameters
	}{
		// Accepted as given.
		{name: "root", target: "/", wantPath: "/"},
		{name: "plain", target: "/a/b", wantPath: "/a/b"},
		{name: "trailing slash kept", target: "/a/", wantPath: "/a/"},
		{name: "query with malformed escape after valid ones", target: "/a?x=1&y=%2f&z=%zZ0", wantErr: errQueryPct},
		{name: "query kept", target: "/a?x=1&y=%2f&z=a+b", wantPath: "/a", wantQuery: "x=1&y=%2f&z=a+b"},
		{name: "query not decoded", target: "/a?%41=%7e", wantPath: "/a", wantQuery: "%41=%7e"},
		{name: "empty query dropped", target: "/a?", wantPath: "/a"},
		{name: "question mark inside query", target: "/a?b?c", wantPath: "/a", wantQuery: "b?c"},
		{name: "sub-delims colon and at kept", target: "/a:b@c!$&'()*+,=", wantPath: "/a:b@c!$&'()*+,="},
		{name: "colon then dollar apart kept", target: "/v1/a:b$c", wantPath: "/v1/a:b$c"},
		{name: "dot inside name kept", target: "/a/b.json", wantPath: "/a/b.json"},
		{name: "encoded percent kept", target: "/100%25", wantPath: "/100%25"},
		{name: "encoded percent before non-hex kept", target: "/a%25zz", wantPath: "/a%25zz"},
		{name: "max length", target: "/" + strings.Repeat("a", canon.MaxTargetLen-1), wantPath: "/" + strings.Repeat("a", canon.MaxTargetLen-1)},

		// Percent-decoding of unreserved characters, upper-case hex for the rest.
		{name: "unreserved decoded", target: "/%41%62c", wantPath: "/Abc"},
		{name: "tilde decoded", target: "/a%7E%7e", wantPath: "/a~~"},
		{name: "dot decoded inside name", target: "/a/b%2e%2ex", wantPath: "/a/b..x"},
		{name: "space stays encoded", target: "/a%20b", wantPath: "/a%20b"},
		{name: "utf-8 upper-cased", target: "/caf%c3%a9", wantPath: "/caf%C3%A9"},
		{name: "euro sign upper-cased", target: "/%e2%82%ac", wantPath: "/%E2%82%AC"},
		{name: "colon upper-cased", target: "/a%3a", wantPath: "/a%3A"},
		{name: "encoded question mark stays", target: "/a%3fb?c", wantPath: "/a%3Fb", wantQuery: "c"},
		{name: "quote encoded", target: `/a"b`, wantPath: "/a%22b"},
		{name: "brackets and braces encoded", target: "/a[b]{c}|^`<>", wantPath: "/a%5Bb%5D%7Bc%7D%7C%5E%60%3C%3E"},

		// Dot segments.
		{name: "dot-dot removes previous", target: "/a/../private", wantPath: "/private"},
		{name: "encoded dot-dot removes previous", target: "/a/%2e%2e/private", wantPath: "/private"},
		{name: "mixed encoded dot-dot", target: "/a/.%2e/b", wantPath: "/b"},
		{name: "upper-case encoded dot-dot", target: "/a/%2E%2E/b", wantPath: "/b"},
		{name: "dot dropped", target: "/a/./b", wantPath: "/a/b"},
		{name: "encoded dot dropped", target: "/a/%2e/b", wantPath: "/a/b"},
		{name: "trailing dot leaves slash", target: "/a/.", wantPath: "/a/"},
		{name: "trailing encoded dot leaves slash", target: "/a/%2E", wantPath: "/a/"},
		{name: "trailing dot-dot leaves slash", target: "/a/b/..", wantPath: "/a/"},
		{name: "dot-dot to root", target: "/a/..", wantPath: "/"},
		{name: "lone dot", target: "/.", wantPath: "/"},
		{name: "round trip through private", target: "/private/../private/x", wantPath: "/private/x"},
		{name: "mixed dots", target: "/a/b/../c/./d?q", wantPath: "/a/c/d", wantQuery: "q"},
		{name: "dot then trailing slash", target: "/a/./", wantPath: "/a/"},

		// Climbing above the root.
		{name: "dot-dot at root", target: "/..", wantErr: errAboveRoot},
		{name: "encoded dot-dot at root", target: "/%2E%2E/x", wantErr: errAboveRoot},
		{name: "climb after descent", target: "/a/../../b", wantErr: errAboveRoot},
		{name: "climb at end", target: "/a/b/../../..", wantErr: errAboveRoot},

		// Encoded separators, NUL and backslash.
		{name: "encoded slash segment", target: "/a/%2F/b", wantErr: errEncSlash},
		{name: "encoded slash lower-case", target: "/a%2fb", wantErr: errEncSlash},
		{name: "encoded slash after dot-dot", target: "/..%2f", wantErr: errEncSlash},
		{name: "encoded backslash", target: "/a%5cb", wantErr: errEncBack},
		{name: "encoded backslash upper-case", target: "/%5C", wantErr: errEncBack},
		{name: "literal backslash", target: `/a\b`, wantErr: errBackslash},
		{name: "literal backslash dot-dot", target: `/a\..\private`, wantErr: errBackslash},
		{name: "encoded NUL", target: "/a%00", wantErr: errEncNUL},
		{name: "overlong slash", target: "/a%c0%afb", wantErr: errUTF8},
		{name: "lone continuation byte", target: "/a%80", wantErr: errUTF8},
		{name: "dot-dot with parameters", target: "/public/..;/private", wantErr: errDotParams},
		{name: "encoded dot-dot with parameters", target: "/public/%2e%2e;x=1/private", wantErr: errDotParams},
		{name: "dot-dot with parameters even when allowed", target: "/public/..;/private", wantErr: errDotParams, params: true},
		{name: "dot-dot with encoded parameters", target: "/public/..%3bx/private", wantErr: errDotParams, params: true},
		{name: "encoded control", target: "/private%09", wantErr: errEncCtl},
		{name: "encoded LF", target: "/a%0Ab", wantErr: errEncCtl},
		{name: "encoded DEL", target: "/a%7f", wantErr: errEncCtl},

		// Path parameters: servlet containers strip ";params" from every
		// segment before routing (finding 6 of issue 11).
		{name: "jsessionid", target: "/private;jsessionid=1/secret", wantErr: errParams},
		{name: "empty parameters", target: "/private;/secret", wantErr: errParams},
		{name: "encoded name with parameters", target: "/%70rivate;a=b/secret", wantErr: errParams},
		{name: "parameters on last segment", target: "/private;x", wantErr: errParams},
		{name: "encoded semicolon", target: "/private%3bx/secret", wantErr: errParams},
		{name: "encoded semicolon upper-case", target: "/private%3B/secret", wantErr: errParams},
		{name: "semicolon in query kept", target: "/a?x=1;y=2", wantPath: "/a", wantQuery: "x=1;y=2"},
		{name: "parameters allowed", target: "/private;jsessionid=1/secret", wantPath: "/private;jsessionid=1/secret", params: true},
		{name: "encoded semicolon allowed", target: "/a%3bx", wantPath: "/a%3Bx", params: true},
		{name: "parameters allowed with dot-dot after", target: "/a;x/../b", wantPath: "/b", params: true},

		// Windows and IIS: trailing dots and spaces, NTFS streams; and
		// escapes that a second decoding would turn into something else.
		{name: "trailing dot", target: "/private./secret", wantErr: errTrailDot},
		{name: "encoded trailing dot", target: "/private%2e/secret", wantErr: errTrailDot},
		{name: "three dots", target: "/a/...", wantErr: errTrailDot},
		{name: "dots before trailing slash", target: "/private../", wantErr: errTrailDot},
		{name: "trailing space", target: "/private%20/secret", wantErr: errTrailSpace},
		{name: "trailing space on last segment", target: "/private%20", wantErr: errTrailSpace},
		{name: "dot then space", target: "/private.%20", wantErr: errTrailSpace},
		{name: "ntfs index allocation", target: "/private::$INDEX_ALLOCATION/secret", wantErr: errStream},
		{name: "ntfs data stream", target: "/private/x.aspx::$DATA", wantErr: errStream},
		{name: "ntfs stream encoded", target: "/private%3a%3a%24DATA", wantErr: errStream},
		{name: "double-encoded dot-dot", target: "/%252e%252e/x", wantErr: errDoubleEnc},
		{name: "double-encoded slash", target: "/a%252Fb", wantErr: errDoubleEnc},
		{name: "double encoding built from escapes", target: "/a%25%32%65", wantErr: errDoubleEnc},

		// Malformed percent-encoding.
		{name: "not hex", target: "/a%zz", wantErr: errPathPct},
		{name: "one digit", target: "/a%4", wantErr: errPathPct},
		{name: "lone percent", target: "/a%", wantErr: errPathPct},
		{name: "iis unicode escape", target: "/%u002e%u002e/x", wantErr: errPathPct},
		{name: "query not hex", target: "/a?x=%zz", wantErr: errQueryPct},
		{name: "query one digit", target: "/a?x=%2", wantErr: errQueryPct},

		// Empty segments.
		{name: "double slash", target: "/a//b", wantErr: errEmptySeg},
		{name: "double slash at end", target: "/a//", wantErr: errEmptySeg},

		// Forms other than origin form.
		{name: "empty", target: "", wantErr: errEmpty},
		{name: "network-path reference", target: "//evil.com/x", wantErr: errNetPath},
		{name: "network-path with userinfo", target: "//user@host/", wantErr: errNetPath},
		{name: "bare double slash", target: "//", wantErr: errNetPath},
		{name: "absolute form", target: "http://x/y", wantErr: errAbsolute},
		{name: "other scheme", target: "mailto:a@b", wantErr: errAbsolute},
		{name: "authority form", target: "host:443", wantErr: errAbsolute},
		{name: "relative path", target: "x/y", wantErr: errNoSlash},
		{name: "asterisk form", target: "*", wantErr: errAsterisk},

		// Bytes that must be percent-encoded, and fragments.
		{name: "fragment", target: "/a#frag", wantErr: errFragment},
		{name: "fragment in query", target: "/a?x=1#f", wantErr: errFragment},
		{name: "raw space", target: "/a b", wantErr: errByte},
		{name: "raw space in query", target: "/a?x y", wantErr: errByte},
		{name: "raw high byte", target: "/a\xff", wantErr: errByte},
		{name: "raw utf-8", target: "/café", wantErr: errByte},
		{name: "raw DEL", target: "/a\x7f", wantErr: errByte},
		{name: "raw tab", target: "/a\tb", wantErr: errByte},
		{name: "raw CRLF", target: "/a\r\nX-Evil: 1", wantErr: errByte},
		{name: "raw NUL", target: "/a\x00", wantErr: errByte},

		// Length.
		{name: "too long", target: "/" + strings.Repeat("a", canon.MaxTargetLen), wantErr: errTooLong},
		{name: "too long after encoding", target: "/" + strings.Repeat(`"`, 3000), wantErr: errTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := canon.PathOptions{AllowParameters: tt.params}
			path, query, err := canon.Target(tt.target, opts)
			if got := reason(t, err); got != tt.wantErr {
				t.Fatalf("Target(%q) error = %q, want %q", tt.target, got, tt.wantErr)
			}
			if path != tt.wantPath || query != tt.wantQuery {
				t.Fatalf("Target(%q) = (%q, %q), want (%q, %q)", tt.target, path, query, tt.wantPath, tt.wantQuery)
			}
			if err == nil {
				checkTarget(t, path, query, opts)
			}
		})
	}
}

// checkTarget asserts the properties every canonical target has: it is a
// fixed point of [canon.Target], and its path starts with '/', has no empty
// or dot segment, no backslash, no encoded slash, backslash or NUL, no
// encoded unreserved character, no lower-case hex digit in a triplet and
// printable ASCII only. It also asserts that net/url reads the target back
// as the same escaped path and query, so the relay can send it verbatim.
func checkTarget(t *testing.T, path, query string, opts canon.PathOptions) {
	t.Helper()
	target := path
	if query != "" {
		target += "?" + query
	}
	if len(target) > canon.MaxTargetLen {
		t.Fatalf("canonical target is %d bytes, longer than %d", len(target), canon.MaxTargetLen)
	}
	p2, q2, err := canon.Target(target, opts)
	if err != nil || p2 != path || q2 != query {
		t.Fatalf("Target(%q) = (%q, %q, %v), want the fixed point (%q, %q, nil)", target, p2, q2, err, path, query)
	}
	if !strings.HasPrefix(path, "/") {
		t.Fatalf("path %q does not start with /", path)
	}
	if strings.Contains(path, "//") {
		t.Fatalf("path %q contains //", path)
	}
	if strings.ContainsAny(path, `\?#`) {
		t.Fatalf(`path %q contains '\', '?' or '#'`, path)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("path %q has a dot segment", path)
		}
		d, err := url.PathUnescape(seg)
		if err != nil {
			t.Fatalf("segment %q of %q does not decode: %v", seg, path, err)
		}
		if !opts.AllowParameters && strings.Contains(d, ";") {
			t.Fatalf("path %q has a segment with parameters, which a servlet container strips", path)
		}
		if strings.HasSuffix(d, ".") || strings.HasSuffix(d, " ") || strings.Contains(d, ":$") {
			t.Fatalf("path %q has segment %q, which Windows reads as another name", path, d)
		}
		if dd, err := url.PathUnescape(d); err == nil && dd != d && strings.Contains(d, "%") {
			t.Fatalf("path %q has segment %q, which decodes a second time to %q", path, d, dd)
		}
		for i := 0; i < len(d); i++ {
			if c := d[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("path %q encodes control byte %#x", path, c)
			}
		}
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c < 0x21 || c > 0x7e {
			t.Fatalf("target %q has byte %#x outside 0x21..0x7e", target, c)
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil || u.EscapedPath() != path || u.RawQuery != query {
		t.Fatalf("url.ParseRequestURI(%q) = %+v, %v; want escaped path %q and query %q", target, u, err, path, query)
	}
	upper := strings.ToUpper(path)
	for _, bad := range []string{"%2F", "%5C", "%00"} {
		if strings.Contains(upper, bad) {
			t.Fatalf("path %q contains %s", path, bad)
		}
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		if i+2 >= len(path) {
			t.Fatalf("path %q ends in a short triplet", path)
		}
		hex := path[i+1 : i+3]
		if hex != strings.ToUpper(hex) {
			t.Fatalf("path %q has lower-case hex %q", path, hex)
		}
		if c := unhex(t, hex); c < 0x80 && isUnreserved(c) {
			t.Fatalf("path %q keeps unreserved %q encoded", path, c)
		}
	}
}

func unhex(t *testing.T, s string) byte {
	t.Helper()
	var n byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | (c - '0')
		case 'A' <= c && c <= 'F':
			n = n<<4 | (c - 'A' + 10)
		default:
			t.Fatalf("invalid hex %q", s)
		}
	}
	return n
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

func TestMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		want    string
		wantErr bool
	}{
		{name: "GET", method: "GET", want: "GET"},
		{name: "lower-case", method: "get", want: "GET"},
		{name: "mixed case", method: "PoSt", want: "POST"},
		{name: "extension", method: "PROPFIND", want: "PROPFIND"},
		{name: "hyphen", method: "m-search", want: "M-SEARCH"},
		{name: "all tchar punctuation", method: "!#$%&'*+-.^_`|~", want: "!#$%&'*+-.^_`|~"},
		{name: "max length", method: strings.Repeat("A", canon.MaxMethodLen), want: strings.Repeat("A", canon.MaxMethodLen)},
		{name: "too long", method: strings.Repeat("A", canon.MaxMethodLen+1), wantErr: true},
		{name: "empty", method: "", wantErr: true},
		{name: "trailing space", method: "GET ", wantErr: true},
		{name: "inner space", method: "G ET", wantErr: true},
		{name: "CRLF", method: "GET\r\n", wantErr: true},
		{name: "separator", method: "GE(T)", wantErr: true},
		{name: "slash", method: "GET/1", wantErr: true},
		{name: "non-ASCII", method: "GÉT", wantErr: true},
		{name: "NUL", method: "GET\x00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.Method(tt.method)
			if (reason(t, err) != "") != tt.wantErr || got != tt.want {
				t.Fatalf("Method(%q) = (%q, %v), want (%q, error %t)", tt.method, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestHeaderName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		header  string
		want    string
		wantErr bool
	}{
		{name: "lower-case", header: "content-type", want: "Content-Type"},
		{name: "mixed case", header: "x-FOO-bar", want: "X-Foo-Bar"},
		{name: "canonical", header: "Authorization", want: "Authorization"},
		{name: "underscore", header: "x_y", want: "X_y"},
		{name: "max length", header: strings.Repeat("a", canon.MaxHeaderNameLen), want: "A" + strings.Repeat("a", canon.MaxHeaderNameLen-1)},
		{name: "too long", header: strings.Repeat("a", canon.MaxHeaderNameLen+1), wantErr: true},
		{name: "empty", header: "", wantErr: true},
		{name: "space", header: "X Foo", wantErr: true},
		{name: "colon", header: "X-Foo:", wantErr: true},
		{name: "pseudo-header", header: ":authority", wantErr: true},
		{name: "CRLF injection", header: "X-Foo\r\nX-Evil", wantErr: true},
		{name: "NUL", header: "X-Foo\x00", wantErr: true},
		{name: "non-ASCII", header: "X-Föö", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.HeaderName(tt.header)
			if (reason(t, err) != "") != tt.wantErr || got != tt.want {
				t.Fatalf("HeaderName(%q) = (%q, %v), want (%q, error %t)", tt.header, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		want    string
		wantErr bool
	}{
		{name: "plain", value: "text/plain; charset=utf-8", want: "text/plain; charset=utf-8"},
		{name: "empty", value: "", want: ""},
		{name: "surrounding spaces trimmed", value: "  a b  ", want: "a b"},
		{name: "surrounding tabs trimmed", value: "\ta\t", want: "a"},
		{name: "only whitespace", value: " \t ", want: ""},
		{name: "inner tab kept", value: "a\tb", want: "a\tb"},
		{name: "obs-text kept", value: "caf\xc3\xa9", want: "caf\xc3\xa9"},
		{name: "max length", value: strings.Repeat("v", canon.MaxHeaderValueLen), want: strings.Repeat("v", canon.MaxHeaderValueLen)},
		{name: "too long", value: strings.Repeat("v", canon.MaxHeaderValueLen+1), wantErr: true},
		{name: "CRLF injection", value: "a\r\nX-Evil: 1", wantErr: true},
		{name: "bare LF", value: "a\nb", wantErr: true},
		{name: "bare CR", value: "a\rb", wantErr: true},
		{name: "NUL", value: "a\x00", wantErr: true},
		{name: "escape", value: "a\x1b[31m", wantErr: true},
		{name: "DEL", value: "a\x7f", wantErr: true},
		{name: "trailing LF", value: "a\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.HeaderValue(tt.value)
			if (reason(t, err) != "") != tt.wantErr || got != tt.want {
				t.Fatalf("HeaderValue(%q) = (%q, %v), want (%q, error %t)", tt.value, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestHost(t *testing.T) {
	t.Parallel()
	label63 := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label63, label63, label63, strings.Repeat("a", 61)}, ".")
	tests := []struct {
		name    string
		host    string
		want    string
		wantErr string // the expected reason; "" when the host is valid
	}{
		{name: "lower-cased", host: "Demo.Internal", want: "demo.internal"},
		{name: "single label", host: "localhost", want: "localhost"},
		{name: "with port", host: "demo.internal:8080", want: "demo.internal:8080"},
		{name: "max port", host: "host:65535", want: "host:65535"},
		{name: "digits and hyphens", host: "a-1.b2", want: "a-1.b2"},
		{name: "punycode", host: "XN--caf-dma.internal", want: "xn--caf-dma.internal"},
		{name: "numeric inner label", host: "1.2.3.a", want: "1.2.3.a"},
		{name: "label of 63", host: label63 + ".x", want: label63 + ".x"},
		{name: "name of 253", host: name253, want: name253},
		{name: "IPv4 with port", host: "127.0.0.1:1", want: "127.0.0.1:1"},
		{name: "metadata IPv4", host: "169.254.169.254", want: "169.254.169.254"},
		{name: "IPv6 with port", host: "[::1]:443", want: "[::1]:443"},
		{name: "IPv6", host: "[::1]", want: "[::1]"},
		{name: "IPv6 respelled", host: "[0:0:0:0:0:0:0:1]", want: "[::1]"},
		{name: "IPv6 lower-cased", host: "[FE80::A]:8443", want: "[fe80::a]:8443"},
		{name: "IPv4-mapped IPv6", host: "[::FFFF:127.0.0.1]", want: "[::ffff:127.0.0.1]"},

		{name: "empty", host: "", wantErr: "empty host"},
		{name: "userinfo", host: "user@host", wantErr: "userinfo (@) is not allowed in host"},
		{name: "userinfo with password", host: "u:p@host:80", wantErr: "userinfo (@) is not allowed in host"},
		{name: "port zero", host: "host:0", wantErr: errHostRange},
		{name: "port too large", host: "host:65536", wantErr: errHostRange},
		{name: "port leading zero", host: "host:080", wantErr: errHostPort},
		{name: "port sign", host: "host:+80", wantErr: errHostPort},
		{name: "port too many digits", host: "host:100000", wantErr: errHostPort},
		{name: "empty port", host: "host:", wantErr: "empty port in host"},
		{name: "empty IPv6 port", host: "[::1]:", wantErr: "empty port in host"},
		{name: "only port", host: ":80", wantErr: "empty host name"},
		{name: "two colons", host: "host:1:2", wantErr: "IPv6 literal in host must be in brackets"},
		{name: "unbracketed IPv6", host: "::1", wantErr: "IPv6 literal in host must be in brackets"},
		{name: "empty label", host: "a..b", wantErr: errHostLabel},
		{name: "leading dot", host: ".a", wantErr: errHostLabel},
		{name: "trailing dot", host: "demo.internal.", wantErr: "trailing dot in host name is not allowed"},
		{name: "leading hyphen", host: "-a.b", wantErr: errHostHyphen},
		{name: "trailing hyphen", host: "a-.b", wantErr: errHostHyphen},
		{name: "label too long", host: label63 + "a.x", wantErr: "host name label is too long"},
		{name: "name too long", host: name253 + "a", wantErr: "host name is too long"},
		{name: "underscore", host: "_srv.x", wantErr: "invalid character in host name"},
		{name: "slash", host: "h/x", wantErr: errHostChar},
		{name: "query", host: "h?x", wantErr: errHostChar},
		{name: "fragment", host: "h#x", wantErr: errHostChar},
		{name: "percent", host: "h%2ex", wantErr: errHostChar},
		{name: "backslash", host: `h\x`, wantErr: errHostChar},
		{name: "IPv6 zone", host: "[fe80::1%25eth0]", wantErr: errHostChar},
		{name: "space", host: "h x", wantErr: "space, control or non-ASCII byte in host"},
		{name: "non-ASCII", host: "café.internal", wantErr: "space, control or non-ASCII byte in host"},
		{name: "bracketed IPv4", host: "[127.0.0.1]", wantErr: errHostIPv6},
		{name: "bracketed name", host: "[demo.internal]", wantErr: errHostIPv6},
		{name: "unterminated IPv6", host: "[::1", wantErr: "unterminated IPv6 literal in host"},
		{name: "junk after IPv6", host: "[::1]x", wantErr: "invalid character after IPv6 literal in host"},
		{name: "decimal IPv4", host: "2130706433", wantErr: errHostIPv4},
		{name: "hex IPv4 part", host: "0x7f.1", wantErr: errHostIPv4},
		{name: "short IPv4", host: "127.1", wantErr: errHostIPv4},
		{name: "octal IPv4", host: "010.0.0.1", wantErr: errHostIPv4},
		{name: "IPv4 out of range", host: "256.0.0.1", wantErr: errHostIPv4},
		{name: "hex last label", host: "a.0XFF", wantErr: errHostIPv4},
		{name: "too long", host: strings.Repeat("a", 300), wantErr: "host is too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.Host(tt.host)
			if r := reason(t, err); r != tt.wantErr || got != tt.want {
				t.Fatalf("Host(%q) = (%q, %q), want (%q, %q)", tt.host, got, r, tt.want, tt.wantErr)
			}
			if err == nil {
				if again, err := canon.Host(got); err != nil || again != got {
					t.Fatalf("Host(%q) = (%q, %v), want the fixed point %q", got, again, err, got)
				}
			}
		})
	}
}
