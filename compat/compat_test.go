package compat_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// defaultRelease is the Makefile's LAST_RELEASE, for a plain `go test`;
// make test passes its value in the environment.
const defaultRelease = "v0.1.0"

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// TestLastReleaseClientAgainstCurrentGateway is issue 15's promise that old
// apps stay in the field: the Go client and generated stubs of the last
// release, built from its snapshot, get the same answers from the current
// gateway as the current client does (allowed GET, denials with the same
// code and reason, a streamed upload, small requests, unary Forward).
func TestLastReleaseClientAgainstCurrentGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the last release and runs the gateway as a child process")
	}
	root := repoRoot(t)
	release := os.Getenv("LAST_RELEASE")
	if release == "" {
		release = defaultRelease
	}
	// The release's client, stubs and go.mod, committed as a snapshot made
	// from the tag (make release-snapshot): CI clones carry no tags.
	snapshot := filepath.Join(root, "compat", "testdata", "release-"+release+".tar.gz")

	// The release's tree, with the probe added beside its own packages.
	old := t.TempDir()
	extractRelease(t, snapshot, old)
	probeSrc, err := os.ReadFile(filepath.Join(root, "compat", "testdata", "probe", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(old, "compat", "testdata", "probe"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "compat", "testdata", "probe", "main.go"), probeSrc, 0o644); err != nil {
		t.Fatal(err)
	}

	bin := t.TempDir()
	oldProbe := goBuild(t, old, filepath.Join(bin, "probe-"+release), "./compat/testdata/probe")
	newProbe := goBuild(t, root, filepath.Join(bin, "probe-current"), "./compat/testdata/probe")
	gateway := goBuild(t, root, filepath.Join(bin, "msg-gateway"), "./cmd/msg-gateway")

	addr, dir := startDev(t, gateway)
	want := runProbe(t, newProbe, addr, dir)
	got := runProbe(t, oldProbe, addr, dir)
	if got != want {
		t.Errorf("the %s client and stubs got other answers than the current ones\n%s:\n%s\ncurrent:\n%s", release, release, got, want)
	}
	// The probe's own expectations, so that two equally broken runs fail too.
	for _, line := range []string{
		`{"name":"alice GET /hello","status":200,`,
		`{"name":"mallory GET /hello","code":"PermissionDenied","reason":"POLICY_DENIED"}`,
		`{"name":"alice GET /private/x","code":"PermissionDenied","reason":"POLICY_DENIED"}`,
		`"body_bytes":262144`,
		`{"name":"alice small POST 2","status":200,"body":{"body_bytes":11,`,
		`{"name":"mallory unary Forward via the generated stub","code":"PermissionDenied","reason":"POLICY_DENIED"}`,
	} {
		if !strings.Contains(want, line) {
			t.Errorf("the current client's answers lack %s:\n%s", line, want)
		}
	}
}

// extractRelease writes the tree in the gzipped tar snapshot into dir.
func extractRelease(t *testing.T, snapshot, dir string) {
	t.Helper()
	f, err := os.Open(snapshot)
	if err != nil {
		t.Fatalf("release snapshot (make release-snapshot writes it from the tag): %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", snapshot, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(name, dir+string(filepath.Separator)) {
			t.Fatalf("snapshot entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(name, 0o755)
		case tar.TypeReg:
			err = writeFile(name, tr, os.FileMode(h.Mode).Perm())
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(name string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func goBuild(t *testing.T, moduleDir, out, pkg string) string {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", pkg, moduleDir, err, b)
	}
	return out
}

// startDev runs the current gateway's dev mode on free loopback ports and
// returns its gRPC address and directory. It is killed by PID at the end.
func startDev(t *testing.T, bin string) (addr, dir string) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command(bin, "dev", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", stderr.String())
		}
	})
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`gRPC \(mTLS\)\s+(\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr = <-found:
	case <-time.After(2 * time.Minute):
		t.Fatal("dev mode did not print its banner")
	}
	return addr, dir
}

func runProbe(t *testing.T, bin, addr, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-addr", addr, "-dir", dir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return string(out)
}
