package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminWriteSurvivesKill9 runs the real gateway as a child process,
// acknowledges admin writes through REST, kills the process with SIGKILL right
// after the last acknowledgement, starts it again on the same data directory
// and finds every acknowledged write.
func TestAdminWriteSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	t.Parallel()
	f := newServeFixture(t, func(w http.ResponseWriter, r *http.Request) {})
	const token = fixtureToken

	call := func(adminAddr, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	child, logs, _ := startServe(t, f.cfgPath)
	adminAddr, _ := logs.find("gateway listening", logWait)["admin"].(string)
	writes := []struct{ path, body string }{
		{"/v1/hosts", `{"name":"kept.internal","upstream":"http://kept.corp:8080"}`},
		{"/v1/rules", `{"id":"kept-rule","effect":"EFFECT_ALLOW","principals":[{"id":"alice"}],"hosts":["kept.internal"]}`},
		{"/v1/revocations", `{"fingerprintSha256":"` + strings.Repeat("ab", 32) + `","reason":"kept"}`},
	}
	for _, w := range writes {
		if code, body := call(adminAddr, "POST", w.path, w.body); code != 200 {
			t.Fatalf("POST %s: %d %s", w.path, code, body)
		}
	}
	// The last write was acknowledged: kill at once, no chance to flush.
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	_, logs, _ = startServe(t, f.cfgPath)
	adminAddr, _ = logs.find("gateway listening", logWait)["admin"].(string)
	for _, path := range []string{"/v1/hosts/kept.internal", "/v1/rules/kept-rule", "/v1/revocations"} {
		code, body := call(adminAddr, "GET", path, "")
		if code != 200 || (path == "/v1/revocations" && !strings.Contains(body, strings.Repeat("ab", 32))) {
			t.Errorf("after kill -9, GET %s: %d %s", path, code, body)
		}
	}
}
