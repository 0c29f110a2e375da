package admin_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/server/admin/console"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`)

// TestConsoleSecurityHeaders: the console's page and assets come with a CSP
// that allows only the gateway's own origin and nothing inline, no framing,
// no sniffing, no referrer; the page has no inline script or style; the
// page itself is never cached and there are no directory listings.
func TestConsoleSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, page := get(t, e.url+"/console/", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkHeaders := func(what string, h http.Header) {
		t.Helper()
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", what, csp, want)
			}
		}
		// blob: images are the enrollment QR code; nothing else beyond 'self'.
		if !strings.Contains(csp, "img-src 'self' blob:;") {
			t.Errorf("%s: CSP %q: img-src is not exactly 'self' blob:", what, csp)
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*", "data:"} {
			if strings.Contains(csp, bad) {
				t.Errorf("%s: CSP %q allows %q", what, csp, bad)
			}
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), v)
			}
		}
	}
	checkHeaders("/console/", resp.Header)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("/console/: Cache-Control %q, want no-store", cc)
	}
	if regexp.MustCompile(`<script(?:[^>]*)>[^<]+</script>|<style|\sstyle=|\son[a-z]+=`).MatchString(page) {
		t.Errorf("the page has inline script or style:\n%s", page)
	}
	refs := assetRef.FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page references %d assets, want the script and the style sheet:\n%s", len(refs), page)
	}
	for _, ref := range refs {
		resp, _ := get(t, e.url+ref[1], nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", ref[1], resp.StatusCode)
			continue
		}
		checkHeaders(ref[1], resp.Header)
		if strings.Contains(ref[1], "/assets/") && !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q, want immutable (content-hashed)", ref[1], resp.Header.Get("Cache-Control"))
		}
	}

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/console", http.StatusMovedPermanently},
		{"/console/index.html", 404},
		{"/console/assets/", 404},
		{"/console/assets", 404},
		{"/console/nope.js", 404},
		{"/console/..%2fopenapi.json", 404},
	} {
		resp, _ := get(t, e.url+tc.path, nil)
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
		if tc.want == 404 {
			checkHeaders(tc.path, resp.Header)
		}
	}
	post, err := http.Post(e.url+"/console/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/: %d, want 405", post.StatusCode)
	}
	if console.Prefix != "/console/" {
		t.Errorf("console.Prefix = %q", console.Prefix)
	}
}

// TestNoDataWithoutCredentials is the console's promise seen with plain HTTP
// requests: the page and its assets carry no data (a host name the store
// holds appears in none of them), and every API route, the policy tester
// included, answers 401 without credentials, uncacheable.
func TestNoDataWithoutCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if code, body := e.do(t, editorToken, "POST", "/v1/hosts", `{"name":"secret-host.internal","upstream":"http://10.9.8.7:80"}`); code != 200 {
		t.Fatalf("create host: %d %v", code, body)
	}
	resp, page := get(t, e.url+"/console/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /console/: %d", resp.StatusCode)
	}
	bodies := []string{page}
	for _, ref := range assetRef.FindAllStringSubmatch(page, -1) {
		_, b := get(t, e.url+ref[1], nil)
		bodies = append(bodies, b)
	}
	for i, b := range bodies {
		if strings.Contains(b, "secret-host") || strings.Contains(b, "10.9.8.7") {
			t.Errorf("console file %d contains store data", i)
		}
	}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/status", ""},
		{"GET", "/v1/hosts", ""},
		{"GET", "/v1/hosts/secret-host.internal", ""},
		{"GET", "/v1/rules", ""},
		{"GET", "/v1/revocations", ""},
		{"GET", "/v1/audit", ""},
		{"POST", "/v1/policy:evaluate", `{"identity":{"commonName":"a"},"request":{"host":"secret-host.internal","method":"GET","path":"/"}}`},
	} {
		for _, token := range []string{"", "not-a-token"} {
			req, err := http.NewRequest(tc.method, e.url+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d, want 401", tc.method, tc.path, token, resp.StatusCode)
			}
			if strings.Contains(string(b), "secret-host") || strings.Contains(string(b), "10.9.8.7") {
				t.Errorf("%s %s: the refusal contains data: %s", tc.method, tc.path, b)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: Cache-Control %q, X-Content-Type-Options %q", tc.method, tc.path,
					resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"))
			}
		}
	}
}

// TestCrossSiteWritesRefused: a write that a browser sends on behalf of
// another site is refused before it reaches the API, even with valid
// credentials (an admin client certificate is sent implicitly, like a
// cookie). Same-origin browser writes (the console's) and non-browser
// clients pass.
func TestCrossSiteWritesRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	write := func(name string, hdr map[string]string) int {
		req, err := http.NewRequest("POST", e.url+"/v1/hosts", strings.NewReader(`{"name":"`+name+`","upstream":"http://10.0.0.1:80"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+editorToken)
		req.Header.Set("Content-Type", "text/plain")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"cross-site.internal", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"same-site.internal", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"old-browser.internal", map[string]string{"Origin": "https://evil.example"}, 403},
		{"console.internal", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"msgctl.internal", nil, 200},
	} {
		if got := write(tc.name, tc.hdr); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
		if tc.want == 403 && e.store.Snapshot().Host(tc.name) != nil {
			t.Errorf("%s: the refused write was applied", tc.name)
		}
	}
}
