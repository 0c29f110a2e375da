package canon_test

import (
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/canon"
)

// targetSeeds are the Target table inputs plus a few shapes the table does
// not spell out, so the fuzzer starts from every branch.
var targetSeeds = []string{
	"/", "/a/b", "/a/", "/a?x=1&y=%2f&z=a+b", "/a?x=1&y=%2f&z=%zZ0", "/a?%41=%7e", "/a?", "/a?b?c",
	"/a:b@c!$&'()*+,;=", "/a/...", "/%41%62c", "/a%7E%7e", "/a/b%2e%2e", "/a%20b", "/caf%c3%a9",
	"/%e2%82%ac", "/a%3a", "/%252e%252e/x", "/a%3fb?c", `/a"b`, "/a[b]{c}|^`<>",
	"/a/../private", "/a/%2e%2e/private", "/a/.%2e/b", "/a/%2E%2E/b", "/a/./b", "/a/%2e/b", "/a/.",
	"/a/%2E", "/a/b/..", "/a/..", "/.", "/private/../private/x", "/a/b/../c/./d?q", "/a/./",
	"/..", "/%2E%2E/x", "/a/../../b", "/a/b/../../..", "/a/%2F/b", "/a%2fb", "/..%2f", "/a%5cb",
	"/%5C", `/a\b`, `/a\..\private`, "/a%00", "/a%c0%afb", "/a%80", "/public/..;/private",
	"/public/%2e%2e;x=1/private", "/a%zz", "/a%4", "/a%", "/%u002e%u002e/x", "/a?x=%zz", "/a?x=%2",
	"/a//b", "/a//", "", "//evil.com/x", "//user@host/", "//", "http://x/y", "mailto:a@b",
	"host:443", "x/y", "*", "/a#frag", "/a?x=1#f", "/a b", "/a?x y", "/a\xff", "/café", "/a\x7f",
	"/a\tb", "/a\r\nX-Evil: 1", "/a\x00", "/.;/x", "/x/..;", "/%2e;", "/a/%2e%2e%3b/b",
	"/private;jsessionid=1/secret", "/private;/secret", "/%70rivate;a=b/secret", "/private;x", "/private%3Bx/secret",
	"/private./secret", "/private%20/secret", "/private::$INDEX_ALLOCATION/x", "/%252e%252e/x", "/a%25%32%65",
	"/private%09", "/a/b.json", "/100%25",
}

// FuzzTarget checks every accepted target's properties (see checkTarget),
// with and without path parameters allowed. More seeds, one file per bypass
// spelling, are in testdata/fuzz/FuzzTarget.
func FuzzTarget(f *testing.F) {
	for _, s := range targetSeeds {
		f.Add(s, false)
	}
	f.Add("/private;jsessionid=1/secret", true)
	f.Add("/a;x/../b", true)
	f.Fuzz(func(t *testing.T, target string, allowParameters bool) {
		opts := canon.PathOptions{AllowParameters: allowParameters}
		path, query, err := canon.Target(target, opts)
		if err != nil {
			if path != "" || query != "" {
				t.Fatalf("Target(%q) = (%q, %q, %v), want empty results with the error", target, path, query, err)
			}
			if reason(t, err) == "" {
				t.Fatalf("Target(%q) returned an error without a reason", target)
			}
			return
		}
		checkTarget(t, path, query, opts)
		if _, q, ok := strings.Cut(target, "?"); ok && q != query || !ok && query != "" {
			t.Fatalf("Target(%q) query = %q, want the input's query byte for byte", target, query)
		}
	})
}

var hostSeeds = []string{
	"Demo.Internal", "localhost", "demo.internal:8080", "host:65535", "a-1.b2", "XN--caf-dma.internal",
	"1.2.3.a", "127.0.0.1:1", "169.254.169.254", "[::1]:443", "[::1]", "[0:0:0:0:0:0:0:1]",
	"[FE80::A]:8443", "[::FFFF:127.0.0.1]", "", "user@host", "u:p@host:80", "host:0", "host:65536",
	"host:080", "host:+80", "host:100000", "host:", "[::1]:", ":80", "host:1:2", "::1", "a..b", ".a",
	"demo.internal.", "-a.b", "a-.b", "_srv.x", "h/x", "h?x", "h#x", "h%2ex", `h\x`, "[fe80::1%25eth0]",
	"h x", "café.internal", "[127.0.0.1]", "[demo.internal]", "[::1", "[::1]x", "2130706433",
	"0x7f.1", "127.1", "010.0.0.1", "256.0.0.1", "a.0XFF", "[::ffff:1.2.3.4]:1",
}

func FuzzHost(f *testing.F) {
	for _, s := range hostSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got, err := canon.Host(host)
		if err != nil {
			if got != "" {
				t.Fatalf("Host(%q) = (%q, %v), want an empty result with the error", host, got, err)
			}
			reason(t, err)
			return
		}
		if got != strings.ToLower(host) && !strings.HasPrefix(host, "[") {
			t.Fatalf("Host(%q) = %q, want the input in lower case", host, got)
		}
		if got != strings.ToLower(got) {
			t.Fatalf("Host(%q) = %q, which is not lower-case", host, got)
		}
		if strings.ContainsAny(got, "@/?#%\\ ") {
			t.Fatalf("Host(%q) = %q, which holds a character a host may not", host, got)
		}
		again, err := canon.Host(got)
		if err != nil || again != got {
			t.Fatalf("Host(%q) = (%q, %v), want the fixed point %q", got, again, err, got)
		}
	})
}

func FuzzHeader(f *testing.F) {
	f.Add("content-type", "text/plain")
	f.Add("X-Foo", "  a b  ")
	f.Add("x_y", "\ta\t")
	f.Add("X Foo", "a\r\nX-Evil: 1")
	f.Add(":authority", "a\nb")
	f.Add("X-Foo\r\nX-Evil", "a\x00")
	f.Add("X-Föö", "caf\xc3\xa9")
	f.Add("", "")
	f.Add("GET", "a\x7f")
	f.Fuzz(func(t *testing.T, name, value string) {
		if n, err := canon.HeaderName(name); err == nil {
			if n == "" || len(n) > canon.MaxHeaderNameLen || strings.ContainsAny(n, "\r\n\x00 :") {
				t.Fatalf("HeaderName(%q) = %q, not a valid token", name, n)
			}
			if again, err := canon.HeaderName(n); err != nil || again != n {
				t.Fatalf("HeaderName(%q) = (%q, %v), want the fixed point %q", n, again, err, n)
			}
		} else {
			reason(t, err)
		}
		if v, err := canon.HeaderValue(value); err == nil {
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("HeaderValue(%q) = %q, which holds CR, LF or NUL", value, v)
			}
			if !strings.Contains(value, v) || strings.Trim(v, " \t") != v {
				t.Fatalf("HeaderValue(%q) = %q, want the input trimmed of SP and HTAB", value, v)
			}
		} else {
			reason(t, err)
		}
	})
}
