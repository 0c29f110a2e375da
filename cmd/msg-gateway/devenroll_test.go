package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// commandAfter returns the first shell command printed after the line
// containing header, with its backslash continuations, joined into one
// line.
func (b *bannerText) commandAfter(t *testing.T, header string, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		var cmd []string
		seen := false
		for _, l := range b.lines {
			switch {
			case !seen:
				seen = strings.Contains(l, header)
				continue
			case len(cmd) == 0 && strings.TrimSpace(l) == "":
				continue
			}
			cmd = append(cmd, strings.TrimSuffix(strings.TrimSpace(l), "\\"))
			if !strings.HasSuffix(l, "\\") {
				b.mu.Unlock()
				return strings.Join(cmd, " ")
			}
		}
		b.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no complete command after %q in the banner", header)
	return ""
}

// TestDevModeEnrollment is the README's enrollment walk-through: dev mode
// prints a single-use bundle for carol; the printed msg-enroll command
// enrolls with it, the printed grpcurl command calls Forward as carol, and
// the same bundle a second time is refused.
func TestDevModeEnrollment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes and grpcurl")
	}
	dir := t.TempDir()
	_, banner, _ := startDev(t, dir)
	enroll := banner.commandAfter(t, "Enroll a device as carol", 60*time.Second)
	forward := banner.commandAfter(t, "Forward as carol", 10*time.Second)
	sh := func(line string) (string, error) {
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir = t.TempDir() // pasted in some other directory
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sh(enroll); err != nil || !strings.Contains(out, "enrolled device dv-") || !strings.Contains(out, "CN=carol") {
		t.Fatalf("printed enroll command %q: err=%v\n%s", enroll, err, out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "carol", "identity.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity.pem: %v %v, want mode 0600", fi, err)
	}
	out, err := sh(forward)
	if err != nil || !strings.Contains(out, `"statusCode": 200`) {
		t.Fatalf("printed Forward command %q: err=%v\n%s", forward, err, out)
	}
	// The demo host echoes the principal the gateway relayed.
	if m := regexp.MustCompile(`"body": "([^"]*)"`).FindStringSubmatch(out); m == nil {
		t.Errorf("no body in %s", out)
	} else if body, _ := base64.StdEncoding.DecodeString(m[1]); !strings.Contains(string(body), `"principal":"carol"`) {
		t.Errorf("the demo host saw %s, want principal carol", body)
	}
	// The bundle is single-use.
	again := strings.Replace(enroll, filepath.Join(dir, "carol"), filepath.Join(dir, "carol2"), 1)
	if out, err := sh(again); err == nil || !strings.Contains(out, "enrollment secret not accepted") {
		t.Errorf("the bundle a second time: err=%v\n%s", err, out)
	}
}
