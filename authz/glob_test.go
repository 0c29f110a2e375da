package authz

// These tests are in package authz, not authz_test, because they exercise the
// unexported glob compilers and matchers directly; the exported behaviour is
// tested through Policy in policy_test.go.

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHostGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		host    string
		want    bool
	}{
		{"literal", "demo.internal", "demo.internal", true},
		{"literal folds case", "Demo.Internal", "DEMO.internal", true},
		{"literal other", "demo.internal", "demo.internal.evil", false},
		{"literal no port vs port", "demo.internal", "demo.internal:443", false},
		{"literal port", "demo.internal:8443", "demo.internal:8443", true},
		{"literal port other", "demo.internal:8443", "demo.internal:8444", false},
		{"star one label", "*.internal", "a.internal", true},
		{"star not two labels", "*.internal", "a.b.internal", false},
		{"star not zero labels", "*.internal", "internal", false},
		{"star not suffix trick", "*.internal", "a.internal.evil", false},
		{"star middle", "api.*.corp", "api.eu.corp", true},
		{"double star two labels", "**.internal", "a.b.internal", true},
		{"double star one label", "**.internal", "a.internal", true},
		{"double star not zero", "**.internal", "internal", false},
		{"double star middle", "a.**.z", "a.b.c.z", true},
		{"double star middle needs one", "a.**.z", "a.z", false},
		{"two double stars", "**.b.**", "a.b.c", true},
		{"two double stars miss", "**.b.**", "b.c", false},
		{"glob no port vs port", "*.internal", "a.internal:8443", false},
		{"glob exact port", "*.internal:8443", "a.internal:8443", true},
		{"glob any port", "*.internal:*", "a.internal:1", true},
		{"glob any port needs port", "*.internal:*", "a.internal", false},
		{"lone double star", "**", "anything.at.all:99", true},
		{"lone double star ipv6", "**", "[::1]:8443", true},
		{"lone star", "*", "localhost", true},
		{"lone star not dotted", "*", "a.b", false},
		{"lone star not port", "*", "localhost:80", false},
		{"lone star not ipv6", "*", "[::1]", false},
		{"empty label", "**.internal", "a..internal", false},
		{"trailing dot", "**.internal", "a.internal.", false},
		{"ipv6", "[::1]", "[::1]", true},
		{"ipv6 port", "[2001:db8::1]:8443", "[2001:DB8::1]:8443", true},
		{"ipv6 any port", "[::1]:*", "[::1]:9", true},
		{"ipv6 any port needs port", "[::1]:*", "[::1]", false},
		{"empty host", "**", "", false},
		{"malformed host", "*.internal:*", "a.internal:1:2", false},
		{"empty port", "*.internal:*", "a.internal:", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileHostGlob(tt.pattern)
			if err != nil {
				t.Fatalf("compileHostGlob(%q): %v", tt.pattern, err)
			}
			if got := g.match(tt.host); got != tt.want {
				t.Errorf("%q matches %q: got %v, want %v", tt.pattern, tt.host, got, tt.want)
			}
		})
	}
}

func TestHostGlobErrors(t *testing.T) {
	t.Parallel()
	for _, pattern := range []string{
		"", "a**b", "a*.internal", "***", "a..b", ".a", "a.", "a_b", "a b",
		"a:0", "a:65536", "a:08", "a:", "a:x", "::1", "[::1", "[::1]x", "[0:0::1]",
		"[127.0.0.1]", "[fe80::1%eth0]", "[*]", "a[b]", "é.internal",
		strings.Repeat("a", 64) + ".internal",
	} {
		if _, err := compileHostGlob(pattern); err == nil {
			t.Errorf("compileHostGlob(%q): got nil error, want one", pattern)
		}
	}
}

func TestPathGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/", "/a", false},
		{"/users/*/profile", "/users/42/profile", true},
		{"/users/*/profile", "/users/4/2/profile", false},
		{"/users/*/profile", "/users//profile", true}, // never canonical; "*" may be empty
		{"/data/*.json", "/data/x.json", true},
		{"/data/*.json", "/data/x.jsonp", false},
		{"/data/*.json", "/data/a/x.json", false},
		{"/files/**", "/files", true},
		{"/files/**", "/files/", true},
		{"/files/**", "/files/a/b/c", true},
		{"/files/**", "/filesx", false},
		{"/a/**/z", "/a/z", true},
		{"/a/**/z", "/a/b/c/z", true},
		{"/a/**/z", "/a/b/c/z/y", false},
		{"/**/z", "/z", true},
		{"/**/*.png", "/img/x/y.png", true},
		{"/**", "/", true},
		{"/**", "", false},
		{"/**", "relative", false},
		{"/a/**/**/b", "/a/x/b", true},
		{"/Case", "/case", false},
	}
	for _, tt := range tests {
		g, err := compilePathGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compilePathGlob(%q): %v", tt.pattern, err)
		}
		if got := g.match(tt.path); got != tt.want {
			t.Errorf("%q matches %q: got %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestPathGlobErrors(t *testing.T) {
	t.Parallel()
	for _, pattern := range []string{
		"", "a/b", "/a/**b", "/a/b**", "/***", "/a//b", "/a/./b", "/a/../b", "/..",
		"/a?b", "/a#b", "/a b", "/a\x00",
	} {
		if _, err := compilePathGlob(pattern); err == nil {
			t.Errorf("compilePathGlob(%q): got nil error, want one", pattern)
		}
	}
}

func TestCNGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, cn string
		want        bool
	}{
		{"alice", "alice", true},
		{"alice", "Alice", false},
		{"alice", "alice2", false},
		{"ali*", "alice", true},
		{"*-ios", "team-a-ios", true},
		{"*.example.org", "a.b.example.org", true}, // no separator: "*" crosses dots
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*", "", false}, // no common name, nothing to match
		{"*", "x", true},
	}
	for _, tt := range tests {
		g, err := compileCNGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileCNGlob(%q): %v", tt.pattern, err)
		}
		if got := g.match(tt.cn); got != tt.want {
			t.Errorf("%q matches %q: got %v, want %v", tt.pattern, tt.cn, got, tt.want)
		}
	}
}

// FuzzGlob checks that no glob dialect panics, that every valid glob matches
// its own text, that a glob without wildcards matches exactly itself, and
// that each dialect agrees with an independent regexp translation.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"demo.internal", "demo.internal"},
		{"*.internal", "a.internal"},
		{"**.internal", "a.b.internal"},
		{"a.**.z", "a.b.c.z"},
		{"**", "x:1"},
		{"*.internal:*", "a.internal:8443"},
		{"[::1]:8443", "[::1]:8443"},
		{"/users/*/profile", "/users/1/profile"},
		{"/files/**", "/files/a/b"},
		{"/a/**/b/**/c", "/a/x/b/y/z/c"},
		{"/**/*.png", "/i/x.png"},
		{"/", "/"},
		{"ali*", "alice"},
		{"*a*a*a*a*", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"},
		{"a**b", "ab"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		wild := strings.Contains(pattern, "*")

		if g, err := compileCNGlob(pattern); err == nil {
			got := g.match(subject)
			if !g.match(pattern) {
				t.Errorf("cn glob %q does not match itself", pattern)
			}
			if !wild && got != (subject == pattern) {
				t.Errorf("cn glob %q matches %q: got %v, want %v", pattern, subject, got, !got)
			}
			if utf8.ValidString(pattern) && utf8.ValidString(subject) {
				want := subject != "" && regexpFor(pattern, "(?s)", ".*").MatchString(subject)
				if got != want {
					t.Errorf("cn glob %q matches %q: got %v, regexp says %v", pattern, subject, got, want)
				}
			}
		}

		if g, err := compileHostGlob(pattern); err == nil {
			got := g.match(subject)
			if !g.match(pattern) || !g.match(strings.ToUpper(pattern)) {
				t.Errorf("host glob %q does not match itself", pattern)
			}
			if want := lowerASCII(subject) == strings.ToLower(pattern); !wild && got != want {
				t.Errorf("host glob %q matches %q: got %v, want %v", pattern, subject, got, want)
			}
			if !strings.ContainsAny(pattern, ":[") && onlyBytes(subject, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") {
				want := subject != ""
				if pattern != "**" {
					want = hostRegexp(strings.ToLower(pattern)).MatchString(lowerASCII(subject))
				}
				if got != want {
					t.Errorf("host glob %q matches %q: got %v, regexp says %v", pattern, subject, got, want)
				}
			}
		}

		if g, err := compilePathGlob(pattern); err == nil {
			got := g.match(subject)
			if !g.match(pattern) {
				t.Errorf("path glob %q does not match itself", pattern)
			}
			if !wild && got != (subject == pattern) {
				t.Errorf("path glob %q matches %q: got %v, want %v", pattern, subject, got, !got)
			}
			if strings.HasPrefix(subject, "/") && utf8.ValidString(pattern) && utf8.ValidString(subject) {
				if want := pathRegexp(pattern).MatchString(subject); got != want {
					t.Errorf("path glob %q matches %q: got %v, regexp says %v", pattern, subject, got, want)
				}
			}
		}
	})
}

// regexpFor translates a glob in which star stands for any run (its regexp is
// star) and everything else is literal.
func regexpFor(glob, flags, star string) *regexp.Regexp {
	parts := strings.Split(glob, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(flags + "^" + strings.Join(parts, star) + "$")
}

func hostRegexp(glob string) *regexp.Regexp {
	labels := strings.Split(glob, ".")
	for i, l := range labels {
		switch l {
		case "*":
			labels[i] = `[^.]+`
		case "**":
			labels[i] = `[^.]+(?:\.[^.]+)*`
		default:
			labels[i] = regexp.QuoteMeta(l)
		}
	}
	return regexp.MustCompile(`^` + strings.Join(labels, `\.`) + `$`)
}

func pathRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, seg := range strings.Split(glob[1:], "/") {
		if seg == "**" {
			b.WriteString(`(?:/[^/]*)*`)
			continue
		}
		b.WriteString("/")
		parts := strings.Split(seg, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		b.WriteString(strings.Join(parts, `[^/]*`))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func onlyBytes(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}
