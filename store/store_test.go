package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/protobuf/proto"
)

func openStore(t testing.TB, dir string, opts store.Options) *store.Bolt {
	t.Helper()
	s, err := store.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func host(name, upstream string) *adminv1.Host {
	return &adminv1.Host{Name: name, Upstream: upstream}
}

func rule(id, desc string) *adminv1.Rule {
	return &adminv1.Rule{Id: id, Effect: adminv1.Effect_EFFECT_ALLOW, Hosts: []string{"demo.internal"}, Description: desc}
}

func put(k store.Kind, key string, v proto.Message) store.Mutation {
	return store.Mutation{Kind: k, Key: key, Value: v}
}

func TestApplyPreconditions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir(), store.Options{})

	steps := []struct {
		name    string
		mut     store.Mutation
		wantErr error
		wantRev int64
	}{
		{"create", store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.1"), IfAbsent: true}, nil, 1},
		{"create twice", store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.2"), IfAbsent: true}, store.ErrExists, 1},
		{"update", store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.3"), IfEtag: "1"}, nil, 2},
		{"update stale", store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.4"), IfEtag: "1"}, store.ErrConflict, 2},
		{"update missing", store.Mutation{Kind: store.KindHost, Key: "b.internal", Value: host("b.internal", "http://10.0.0.5"), IfEtag: "1"}, store.ErrNotFound, 2},
		{"delete stale", store.Mutation{Kind: store.KindHost, Key: "a.internal", IfEtag: "1"}, store.ErrConflict, 2},
		{"delete", store.Mutation{Kind: store.KindHost, Key: "a.internal", IfEtag: "2"}, nil, 3},
		{"delete missing", store.Mutation{Kind: store.KindHost, Key: "a.internal", IfEtag: "3"}, store.ErrNotFound, 3},
		{"unconditional delete missing", store.Mutation{Kind: store.KindHost, Key: "a.internal"}, store.ErrNotFound, 3},
		{"unconditional put", put(store.KindRule, "r1", rule("r1", "x")), nil, 4},
		{"create revocation", store.Mutation{Kind: store.KindRevocation, Key: "fp-1", Value: &adminv1.Revocation{Id: "fp-1", Reason: "lost"}, IfAbsent: true}, nil, 5},
		{"delete revocation stale", store.Mutation{Kind: store.KindRevocation, Key: "fp-1", IfEtag: "4"}, store.ErrConflict, 5},
	}
	for _, st := range steps {
		snap, err := s.Apply(ctx, []store.Mutation{st.mut}, nil)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if err != nil {
			want := fmt.Sprintf("%s/%s: ", st.mut.Kind, st.mut.Key)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: error %q does not start with %q", st.name, err, want)
			}
			if snap != nil {
				t.Errorf("%s: failed Apply returned a snapshot", st.name)
			}
		} else if snap != s.Snapshot() {
			t.Errorf("%s: Apply's snapshot is not the current one", st.name)
		}
		if got := s.Snapshot().Revision; got != st.wantRev {
			t.Fatalf("%s: revision = %d, want %d", st.name, got, st.wantRev)
		}
	}
	snap := s.Snapshot()
	if len(snap.Hosts) != 0 {
		t.Errorf("hosts = %v, want none", snap.Hosts)
	}
	if r := snap.Rule("r1"); r.GetEtag() != "4" {
		t.Errorf("rule r1 etag = %q, want 4", r.GetEtag())
	}
	if r := snap.Revocation("fp-1"); r.GetEtag() != "5" || r.GetReason() != "lost" {
		t.Errorf("revocation = %v, want etag 5, reason lost", r)
	}
}

func TestApplyRejectsMalformedBatches(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{})
	tests := []struct {
		name string
		muts []store.Mutation
		want string
	}{
		{"empty batch", nil, "empty batch"},
		{"unknown kind", []store.Mutation{{Kind: 9, Key: "x", Value: host("x", "")}}, "unknown kind"},
		{"empty key", []store.Mutation{{Kind: store.KindHost, Value: host("", "")}}, "empty key"},
		{"key differs from value", []store.Mutation{put(store.KindHost, "a", host("b", ""))}, `value names "b"`},
		{"wrong type", []store.Mutation{put(store.KindHost, "a", rule("a", ""))}, "value is a *adminv1.Rule"},
		{"both preconditions", []store.Mutation{{Kind: store.KindHost, Key: "a", Value: host("a", ""), IfAbsent: true, IfEtag: "1"}}, "both IfAbsent and IfEtag"},
		{"create as delete", []store.Mutation{{Kind: store.KindHost, Key: "a", IfAbsent: true}}, "IfAbsent on a delete"},
		{"key twice", []store.Mutation{put(store.KindRule, "a", rule("a", "")), put(store.KindRule, "a", rule("a", ""))}, "named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Apply(context.Background(), tt.muts, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if rev := s.Snapshot().Revision; rev != 0 {
		t.Errorf("revision = %d after rejected batches, want 0", rev)
	}
}

func TestApplyValidateRejectsWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, store.Options{})
	if _, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, "a.internal", host("a.internal", "http://a"))}, nil); err != nil {
		t.Fatal(err)
	}
	before := s.Snapshot()

	errInvalid := errors.New("rules[0]: unknown host")
	var seen *store.Snapshot
	_, err := s.Apply(ctx, []store.Mutation{
		{Kind: store.KindRule, Key: "r1", Value: rule("r1", ""), IfAbsent: true},
		{Kind: store.KindHost, Key: "b.internal", Value: host("b.internal", "http://b"), IfAbsent: true},
	}, func(next *store.Snapshot) error {
		seen = next
		return errInvalid
	})
	if err != errInvalid {
		t.Fatalf("err = %v, want validate's error unchanged", err)
	}
	// validate saw the complete would-be state: old and new items, new
	// revision and etags.
	if seen.Revision != 2 || len(seen.Hosts) != 2 || len(seen.Rules) != 1 ||
		seen.Hosts[0].GetName() != "a.internal" || seen.Hosts[0].GetEtag() != "1" ||
		seen.Hosts[1].GetName() != "b.internal" || seen.Hosts[1].GetEtag() != "2" ||
		seen.Rules[0].GetEtag() != "2" {
		t.Errorf("validate saw %v", seen)
	}
	if s.Snapshot() != before {
		t.Errorf("snapshot changed after a rejected Apply")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir, store.Options{})
	if got := s2.Snapshot(); got.Revision != 1 || len(got.Hosts) != 1 || len(got.Rules) != 0 {
		t.Errorf("after reopen: %v, want revision 1 with one host", got)
	}
}

func TestApplyBatchIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir(), store.Options{})
	if _, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, "old", rule("old", "v1"))}, nil); err != nil {
		t.Fatal(err)
	}
	// The last mutation's precondition fails: the first two must not land.
	_, err := s.Apply(ctx, []store.Mutation{
		{Kind: store.KindHost, Key: "h", Value: host("h", "http://h"), IfAbsent: true},
		{Kind: store.KindRule, Key: "new", Value: rule("new", ""), IfAbsent: true},
		{Kind: store.KindRule, Key: "old", Value: rule("old", "v2"), IfEtag: "7"},
	}, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if snap := s.Snapshot(); snap.Revision != 1 || len(snap.Hosts) != 0 || len(snap.Rules) != 1 {
		t.Fatalf("after failed batch: %v", snap)
	}
	snap, err := s.Apply(ctx, []store.Mutation{
		{Kind: store.KindHost, Key: "h", Value: host("h", "http://h"), IfAbsent: true},
		{Kind: store.KindRule, Key: "new", Value: rule("new", ""), IfAbsent: true},
		{Kind: store.KindRule, Key: "old", IfEtag: "1"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != 2 || snap.Host("h").GetEtag() != "2" || snap.Rule("new").GetEtag() != "2" || snap.Rule("old") != nil {
		t.Errorf("after batch: %v", snap)
	}
}

func TestSnapshotDoesNotShareCallerValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir(), store.Options{})
	in := rule("r", "original")
	in.Etag = "ignored"
	snap, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, "r", in)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in.Description = "changed by caller"
	if in.Etag != "ignored" {
		t.Errorf("Apply set the caller's etag to %q", in.Etag)
	}
	if got := snap.Rule("r"); got.GetDescription() != "original" || got.GetEtag() != "1" {
		t.Errorf("stored rule = %v", got)
	}
}

func TestSnapshotSorted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, store.Options{})
	for _, name := range []string{"m", "b", "z", "a"} {
		if _, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, name, host(name, "http://x")), put(store.KindRule, name, rule(name, ""))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	check := func(snap *store.Snapshot) {
		t.Helper()
		var hosts, rules []string
		for i := range snap.Hosts {
			hosts = append(hosts, snap.Hosts[i].GetName())
			rules = append(rules, snap.Rules[i].GetId())
		}
		if got := strings.Join(hosts, ","); got != "a,b,m,z" {
			t.Errorf("hosts = %s, want a,b,m,z", got)
		}
		if got := strings.Join(rules, ","); got != "a,b,m,z" {
			t.Errorf("rules = %s, want a,b,m,z", got)
		}
		if snap.Host("m").GetEtag() != "1" || snap.Host("a").GetEtag() != "4" || snap.Host("c") != nil {
			t.Errorf("lookups wrong: %v", snap.Hosts)
		}
	}
	check(s.Snapshot())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openStore(t, dir, store.Options{}).Snapshot())
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, store.Options{})
	for i := range 5 {
		id := fmt.Sprintf("r%d", i)
		if _, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, id, rule(id, "d"))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Apply(ctx, []store.Mutation{
		put(store.KindHost, "demo.internal", host("demo.internal", "http://127.0.0.1:9")),
		put(store.KindRevocation, "fp-aa", &adminv1.Revocation{Id: "fp-aa", FingerprintSha256: strings.Repeat("aa", 32), Reason: "lost phone", Creator: "admin"}),
		{Kind: store.KindRule, Key: "r2", IfEtag: "3"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	want := s.Snapshot()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	got := openStore(t, dir, store.Options{}).Snapshot()
	if got.Revision != want.Revision || !equalAll(got.Hosts, want.Hosts) || !equalAll(got.Rules, want.Rules) || !equalAll(got.Revocations, want.Revocations) {
		t.Errorf("after reopen:\n got %v\nwant %v", got, want)
	}
	if got.Revision != 6 || len(got.Rules) != 4 {
		t.Errorf("revision %d with %d rules, want 6 with 4", got.Revision, len(got.Rules))
	}
}

func equalAll[T proto.Message](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	t.Parallel()
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), []store.Mutation{put(store.KindHost, "a", host("a", ""))}, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply after Close: %v, want ErrClosed", err)
	}
	if err := s.FlushAudit(context.Background()); !errors.Is(err, store.ErrClosed) {
		t.Errorf("FlushAudit after Close: %v, want ErrClosed", err)
	}
	if _, _, err := s.QueryAudit(context.Background(), store.AuditQuery{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("QueryAudit after Close: %v, want ErrClosed", err)
	}
	if _, ok := <-s.Watch(context.Background()); ok {
		t.Error("Watch after Close delivered a snapshot")
	}
}

func TestApplyHonoursContext(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, "a", host("a", ""))}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if rev := s.Snapshot().Revision; rev != 0 {
		t.Errorf("revision = %d, want 0", rev)
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir(), store.Options{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := s.Watch(wctx)
	select {
	case snap := <-ch:
		t.Fatalf("received %v before any write", snap)
	default:
	}

	snap, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, "a", host("a", "http://a"))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := receive(t, ch); got != snap {
		t.Errorf("received revision %d, want the applied snapshot (revision %d)", got.Revision, snap.Revision)
	}

	// A reader that falls behind gets the newest snapshot, not a backlog.
	for i := range 3 {
		if _, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, fmt.Sprint(i), rule(fmt.Sprint(i), ""))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := receive(t, ch); got.Revision != 4 {
		t.Errorf("received revision %d, want 4", got.Revision)
	}
	select {
	case got := <-ch:
		t.Errorf("received a stale snapshot %d after the newest", got.Revision)
	default:
	}

	cancel()
	waitClosed(t, ch)

	// Close closes the channels of live watchers too.
	ch2 := s.Watch(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch2)
}

func receive(t *testing.T, ch <-chan *store.Snapshot) *store.Snapshot {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot within 10s")
	}
	return nil
}

func waitClosed(t *testing.T, ch <-chan *store.Snapshot) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed within 10s")
		}
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hosts := []*adminv1.Host{host("demo.internal", "http://127.0.0.1:9")}
	rules := []*adminv1.Rule{rule("alice-demo", "")}

	t.Run("empty store", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := openStore(t, dir, store.Options{})
		var validated bool
		ok, err := s.Seed(ctx, hosts, rules, func(next *store.Snapshot) error {
			validated = len(next.Hosts) == 1 && len(next.Rules) == 1
			return nil
		})
		if err != nil || !ok || !validated {
			t.Fatalf("Seed = %v, %v (validated %v), want true, nil, validated", ok, err, validated)
		}
		snap := s.Snapshot()
		if snap.Revision != 1 || snap.Host("demo.internal").GetEtag() != "1" || snap.Rule("alice-demo") == nil {
			t.Errorf("after Seed: %v", snap)
		}
		if ok, err := s.Seed(ctx, nil, []*adminv1.Rule{rule("other", "")}, nil); ok || err != nil {
			t.Errorf("second Seed = %v, %v, want false, nil", ok, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := openStore(t, dir, store.Options{})
		if ok, err := s2.Seed(ctx, nil, []*adminv1.Rule{rule("other", "")}, nil); ok || err != nil {
			t.Errorf("Seed after reopen = %v, %v, want false, nil", ok, err)
		}
		if s2.Snapshot().Rule("other") != nil {
			t.Error("Seed wrote into a written store")
		}
	})
	t.Run("store written by Apply", func(t *testing.T) {
		t.Parallel()
		s := openStore(t, t.TempDir(), store.Options{})
		if _, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, "x", rule("x", ""))}, nil); err != nil {
			t.Fatal(err)
		}
		// Even a store whose items were all deleted again is not re-seeded:
		// an admin's deletion must survive a restart.
		if _, err := s.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "x", IfEtag: "1"}}, nil); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Seed(ctx, hosts, rules, nil); ok || err != nil {
			t.Errorf("Seed = %v, %v, want false, nil", ok, err)
		}
	})
	t.Run("validation fails", func(t *testing.T) {
		t.Parallel()
		s := openStore(t, t.TempDir(), store.Options{})
		bad := errors.New("bad seed")
		ok, err := s.Seed(ctx, hosts, rules, func(*store.Snapshot) error { return bad })
		if ok || err != bad {
			t.Errorf("Seed = %v, %v, want false, %v", ok, err, bad)
		}
		if rev := s.Snapshot().Revision; rev != 0 {
			t.Errorf("revision = %d, want 0", rev)
		}
	})
}

// TestConcurrentApply runs read-modify-write loops on one counter from
// several goroutines: etags must turn every lost update into ErrConflict.
func TestConcurrentApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir(), store.Options{})
	if _, err := s.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "counter", Value: rule("counter", "0"), IfAbsent: true}}, nil); err != nil {
		t.Fatal(err)
	}
	const workers, increments = 4, 25
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			var last int64
			for done := 0; done < increments; {
				cur := s.Snapshot().Rule("counter")
				n, _ := strconv.Atoi(cur.GetDescription())
				next := proto.Clone(cur).(*adminv1.Rule)
				next.Description = strconv.Itoa(n + 1)
				snap, err := s.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "counter", Value: next, IfEtag: cur.GetEtag()}}, nil)
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				if snap.Revision <= last {
					errs <- fmt.Errorf("worker %d: revision %d after %d", w, snap.Revision, last)
					return
				}
				last = snap.Revision
				mu.Lock()
				if seen[snap.Revision] {
					errs <- fmt.Errorf("revision %d returned twice", snap.Revision)
				}
				seen[snap.Revision] = true
				mu.Unlock()
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	final := s.Snapshot()
	if got := final.Rule("counter").GetDescription(); got != strconv.Itoa(workers*increments) {
		t.Errorf("counter = %s, want %d (lost updates)", got, workers*increments)
	}
	if final.Revision != 1+workers*increments {
		t.Errorf("revision = %d, want %d", final.Revision, 1+workers*increments)
	}
}

func TestSecondOpenFailsWhileLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir, store.Options{})
	start := time.Now()
	s2, err := store.Open(dir, store.Options{})
	if err == nil {
		_ = s2.Close()
		t.Fatal("second Open succeeded while the store is open")
	}
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), filepath.Join(dir, store.FileName)) {
		t.Errorf("err = %v, want ErrLocked naming the file", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("second Open took %v to fail", d)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	_ = s3.Close()
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "msg")
	openStore(t, dir, store.Options{})
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, store.FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only remove bits.
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s: mode %v, want at most %v", path, got, want)
		}
	}
}

func TestOpenRejectsForeignFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, store.FileName), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(dir, store.Options{})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open accepted a file that is not a database")
	}
}
