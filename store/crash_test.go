package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/store"
)

// crashChildEnv makes the test binary act as the crash test's writer.
const crashChildEnv = "MSG_STORE_CRASH_CHILD_DIR"

// TestMain lets the test binary run as a child process that writes to a
// store until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

// crashChild applies batches of a host and a rule, printing "ack <rev>"
// once each is acknowledged, until killed (or after 10000 batches).
func crashChild(dir string) int {
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	for i := 1; i <= 10_000; i++ {
		key := fmt.Sprintf("%05d", i)
		snap, err := s.Apply(ctx, []store.Mutation{
			{Kind: store.KindHost, Key: "h" + key, Value: &adminv1.Host{Name: "h" + key, Upstream: "http://127.0.0.1:9"}, IfAbsent: true},
			{Kind: store.KindRule, Key: "r" + key, Value: &adminv1.Rule{Id: "r" + key, Description: strings.Repeat("x", 200)}, IfAbsent: true},
		}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s.AppendAudit(&adminv1.AuditRecord{RequestId: key, Revision: snap.Revision})
		fmt.Printf("ack %d\n", snap.Revision)
	}
	return 0
}

// TestCrashKeepsAcknowledgedWrites kills a writing process with SIGKILL and
// checks that every write it acknowledged is there after reopening, that
// no batch is half applied, and that the store still accepts writes. The
// kill follows the 20th ack immediately or after a short delay, so that it
// lands at different points of the next commits.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	for _, delay := range []time.Duration{0, time.Millisecond, 4 * time.Millisecond} {
		t.Run(fmt.Sprintf("kill %v after ack", delay), func(t *testing.T) {
			crashOnce(t, 20, delay)
		})
	}
}

func crashOnce(t *testing.T, killAfter int, delay time.Duration) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
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
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	acks := make(chan int64)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			rev, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "ack "), 10, 64)
			if err == nil {
				acks <- rev
			}
		}
	}()
	var acked int64
	timeout := time.After(2 * time.Minute)
	for n := 0; n < killAfter; n++ {
		select {
		case rev, ok := <-acks:
			if !ok {
				t.Fatalf("child exited after %d acks: %s", n, stderr.String())
			}
			acked = rev
		case <-timeout:
			t.Fatalf("only %d acks within 2 minutes", n)
		}
	}
	// The child is already inside its next Apply.
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acks printed before the kill landed still count.
	for rev := range acks {
		acked = rev
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child was not killed by the signal: %v (stderr %s)", cmd.ProcessState, stderr.String())
	}

	s := openStore(t, dir, store.Options{})
	snap := s.Snapshot()
	t.Logf("acknowledged revision %d, found revision %d", acked, snap.Revision)
	if snap.Revision < acked {
		t.Fatalf("revision %d after the crash, but %d was acknowledged", snap.Revision, acked)
	}
	// Every batch up to the revision is complete; none after it exists.
	if len(snap.Hosts) != int(snap.Revision) || len(snap.Rules) != int(snap.Revision) {
		t.Fatalf("revision %d with %d hosts and %d rules: a batch was split", snap.Revision, len(snap.Hosts), len(snap.Rules))
	}
	for i := int64(1); i <= snap.Revision; i++ {
		key := fmt.Sprintf("%05d", i)
		etag := strconv.FormatInt(i, 10)
		if h := snap.Host("h" + key); h.GetEtag() != etag {
			t.Errorf("host h%s: %v, want etag %s", key, h, etag)
		}
		if r := snap.Rule("r" + key); r.GetEtag() != etag {
			t.Errorf("rule r%s: %v, want etag %s", key, r, etag)
		}
	}
	next, err := s.Apply(context.Background(), []store.Mutation{{Kind: store.KindHost, Key: "after", Value: &adminv1.Host{Name: "after"}, IfAbsent: true}}, nil)
	if err != nil || next.Revision != snap.Revision+1 {
		t.Fatalf("Apply after recovery: %v, %v", next, err)
	}
}
