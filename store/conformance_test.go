package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/protobuf/proto"
)

// opener opens a fresh, empty store for one test; the test closes it.
type opener func(t *testing.T) store.Store

// TestConformanceBolt runs the behaviour every Store promises against the
// embedded store; TestConformanceEtcd (etcd_test.go) runs the same against
// etcd. Revisions differ between the two (etcd's count every write of the
// cluster), so the checks compare etags with revisions rather than with
// fixed numbers.
func TestConformanceBolt(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T) store.Store {
		return openStore(t, t.TempDir(), store.Options{})
	})
}

func runConformance(t *testing.T, open opener) {
	t.Run("preconditions", func(t *testing.T) { t.Parallel(); conformPreconditions(t, open(t)) })
	t.Run("malformed batches", func(t *testing.T) { t.Parallel(); conformMalformed(t, open(t)) })
	t.Run("validate", func(t *testing.T) { t.Parallel(); conformValidate(t, open(t)) })
	t.Run("batch is atomic", func(t *testing.T) { t.Parallel(); conformAtomic(t, open(t)) })
	t.Run("values and order", func(t *testing.T) { t.Parallel(); conformValues(t, open(t)) })
	t.Run("watch", func(t *testing.T) { t.Parallel(); conformWatch(t, open(t)) })
	t.Run("seed", func(t *testing.T) { t.Parallel(); conformSeed(t, open) })
	t.Run("concurrent apply", func(t *testing.T) { t.Parallel(); conformConcurrent(t, open(t)) })
	t.Run("closed", func(t *testing.T) { t.Parallel(); conformClosed(t, open(t)) })
}

func etagOf(s *store.Snapshot) string { return strconv.FormatInt(s.Revision, 10) }

func conformPreconditions(t *testing.T, s store.Store) {
	ctx := context.Background()
	var etag1, etag2 string
	steps := []struct {
		name    string
		mut     func() store.Mutation
		wantErr error
		after   func(*store.Snapshot)
	}{
		{"create", func() store.Mutation {
			return store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.1"), IfAbsent: true}
		}, nil, func(s *store.Snapshot) { etag1 = s.Host("a.internal").GetEtag() }},
		{"create twice", func() store.Mutation {
			return store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.2"), IfAbsent: true}
		}, store.ErrExists, nil},
		{"update", func() store.Mutation {
			return store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.3"), IfEtag: etag1}
		}, nil, func(s *store.Snapshot) { etag2 = s.Host("a.internal").GetEtag() }},
		{"update stale", func() store.Mutation {
			return store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.4"), IfEtag: etag1}
		}, store.ErrConflict, nil},
		{"update with a junk etag", func() store.Mutation {
			return store.Mutation{Kind: store.KindHost, Key: "a.internal", Value: host("a.internal", "http://10.0.0.4"), IfEtag: "W/x"}
		}, store.ErrConflict, nil},
		{"update missing", func() store.Mutation {
			return store.Mutation{Kind: store.KindHost, Key: "b.internal", Value: host("b.internal", "http://10.0.0.5"), IfEtag: etag1}
		}, store.ErrNotFound, nil},
		{"delete stale", func() store.Mutation { return store.Mutation{Kind: store.KindHost, Key: "a.internal", IfEtag: etag1} }, store.ErrConflict, nil},
		{"delete", func() store.Mutation { return store.Mutation{Kind: store.KindHost, Key: "a.internal", IfEtag: etag2} }, nil, nil},
		{"delete missing", func() store.Mutation { return store.Mutation{Kind: store.KindHost, Key: "a.internal", IfEtag: etag2} }, store.ErrNotFound, nil},
		{"unconditional delete missing", func() store.Mutation { return store.Mutation{Kind: store.KindHost, Key: "a.internal"} }, store.ErrNotFound, nil},
		{"unconditional put", func() store.Mutation { return put(store.KindRule, "r1", rule("r1", "x")) }, nil, nil},
		{"create revocation", func() store.Mutation {
			return store.Mutation{Kind: store.KindRevocation, Key: "fp-1", Value: &adminv1.Revocation{Id: "fp-1", Reason: "lost"}, IfAbsent: true}
		}, nil, nil},
	}
	for _, st := range steps {
		before := s.Snapshot()
		mut := st.mut()
		snap, err := s.Apply(ctx, []store.Mutation{mut}, nil)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if err != nil {
			if want := fmt.Sprintf("%s/%s: ", mut.Kind, mut.Key); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: error %q does not start with %q", st.name, err, want)
			}
			if snap != nil {
				t.Errorf("%s: failed Apply returned a snapshot", st.name)
			}
			if got := s.Snapshot().Revision; got != before.Revision {
				t.Errorf("%s: revision moved from %d to %d on a failed Apply", st.name, before.Revision, got)
			}
			continue
		}
		if snap.Revision <= before.Revision || snap.Revision != s.Snapshot().Revision {
			t.Errorf("%s: Apply returned revision %d (before %d, current %d)", st.name, snap.Revision, before.Revision, s.Snapshot().Revision)
		}
		if st.after != nil {
			st.after(snap)
		}
	}
	if etag1 == "" || etag2 == "" || etag1 == etag2 {
		t.Fatalf("etags %q then %q", etag1, etag2)
	}
	snap := s.Snapshot()
	if len(snap.Hosts) != 0 {
		t.Errorf("hosts = %v, want none", snap.Hosts)
	}
	if r := snap.Revocation("fp-1"); r.GetEtag() != etagOf(snap) || r.GetReason() != "lost" {
		t.Errorf("revocation = %v, want etag %s, reason lost", r, etagOf(snap))
	}
	if r := snap.Rule("r1"); r == nil || r.GetEtag() == etagOf(snap) {
		t.Errorf("rule r1 = %v, want the etag of the write before the last", r)
	}
}

func conformMalformed(t *testing.T, s store.Store) {
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
	before := s.Snapshot().Revision
	for _, tt := range tests {
		_, err := s.Apply(context.Background(), tt.muts, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if rev := s.Snapshot().Revision; rev != before {
		t.Errorf("revision = %d after rejected batches, want %d", rev, before)
	}
}

func conformValidate(t *testing.T, s store.Store) {
	ctx := context.Background()
	first, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, "a.internal", host("a.internal", "http://a"))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	errInvalid := errors.New("rules[0]: unknown host")
	var seen *store.Snapshot
	_, err = s.Apply(ctx, []store.Mutation{
		{Kind: store.KindRule, Key: "r1", Value: rule("r1", ""), IfAbsent: true},
		{Kind: store.KindHost, Key: "b.internal", Value: host("b.internal", "http://b"), IfAbsent: true},
	}, func(next *store.Snapshot) error {
		seen = next
		return errInvalid
	})
	if err != errInvalid {
		t.Fatalf("err = %v, want validate's error unchanged", err)
	}
	// validate saw the complete would-be state: old and new items, a newer
	// revision, the new items' etags being that revision.
	if seen.Revision <= first.Revision || len(seen.Hosts) != 2 || len(seen.Rules) != 1 ||
		seen.Hosts[0].GetName() != "a.internal" || seen.Hosts[0].GetEtag() != etagOf(first) ||
		seen.Hosts[1].GetName() != "b.internal" || seen.Hosts[1].GetEtag() != etagOf(seen) ||
		seen.Rules[0].GetEtag() != etagOf(seen) {
		t.Errorf("validate saw %v", seen)
	}
	if got := s.Snapshot(); got.Revision != first.Revision || len(got.Hosts) != 1 || len(got.Rules) != 0 {
		t.Errorf("snapshot after a rejected Apply: %v", got)
	}
}

func conformAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	first, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, "old", rule("old", "v1"))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last mutation's precondition fails: the first two must not land.
	_, err = s.Apply(ctx, []store.Mutation{
		{Kind: store.KindHost, Key: "h", Value: host("h", "http://h"), IfAbsent: true},
		{Kind: store.KindRule, Key: "new", Value: rule("new", ""), IfAbsent: true},
		{Kind: store.KindRule, Key: "old", Value: rule("old", "v2"), IfEtag: "7" + etagOf(first)},
	}, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if snap := s.Snapshot(); snap.Revision != first.Revision || len(snap.Hosts) != 0 || len(snap.Rules) != 1 {
		t.Fatalf("after failed batch: %v", snap)
	}
	snap, err := s.Apply(ctx, []store.Mutation{
		{Kind: store.KindHost, Key: "h", Value: host("h", "http://h"), IfAbsent: true},
		{Kind: store.KindRule, Key: "new", Value: rule("new", ""), IfAbsent: true},
		{Kind: store.KindRule, Key: "old", IfEtag: etagOf(first)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Host("h").GetEtag() != etagOf(snap) || snap.Rule("new").GetEtag() != etagOf(snap) || snap.Rule("old") != nil {
		t.Errorf("after batch: %v", snap)
	}
}

func conformValues(t *testing.T, s store.Store) {
	ctx := context.Background()
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
	if got := snap.Rule("r"); got.GetDescription() != "original" || got.GetEtag() != etagOf(snap) {
		t.Errorf("stored rule = %v", got)
	}
	for _, name := range []string{"m", "b", "z", "a"} {
		if _, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, name, host(name, "http://x")), put(store.KindRevocation, name, &adminv1.Revocation{Id: name})}, nil); err != nil {
			t.Fatal(err)
		}
	}
	snap = s.Snapshot()
	var hosts, revs []string
	for i := range snap.Hosts {
		hosts = append(hosts, snap.Hosts[i].GetName())
		revs = append(revs, snap.Revocations[i].GetId())
	}
	if got := strings.Join(hosts, ","); got != "a,b,m,z" {
		t.Errorf("hosts = %s, want a,b,m,z", got)
	}
	if got := strings.Join(revs, ","); got != "a,b,m,z" {
		t.Errorf("revocations = %s, want a,b,m,z", got)
	}
	if snap.Host("a").GetEtag() != etagOf(snap) || snap.Host("m").GetEtag() == etagOf(snap) || snap.Host("c") != nil {
		t.Errorf("lookups wrong: %v", snap.Hosts)
	}
}

func conformWatch(t *testing.T, s store.Store) {
	ctx := context.Background()
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
	if got := receive(t, ch); got.Revision != snap.Revision {
		t.Errorf("received revision %d, want the applied snapshot's %d", got.Revision, snap.Revision)
	}
	// A reader that falls behind gets the newest snapshot, not a backlog.
	for i := range 3 {
		if snap, err = s.Apply(ctx, []store.Mutation{put(store.KindRule, fmt.Sprint(i), rule(fmt.Sprint(i), ""))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for got := receive(t, ch); got.Revision != snap.Revision; got = receive(t, ch) {
		if got.Revision > snap.Revision {
			t.Fatalf("received revision %d after the last write's %d", got.Revision, snap.Revision)
		}
	}
	if got := s.Snapshot(); len(got.Rules) != 3 {
		t.Errorf("rules = %v", got.Rules)
	}
	cancel()
	waitClosed(t, ch)
	ch2 := s.Watch(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch2)
}

func conformSeed(t *testing.T, open opener) {
	ctx := context.Background()
	hosts := []*adminv1.Host{host("demo.internal", "http://127.0.0.1:9")}
	rules := []*adminv1.Rule{rule("alice-demo", "")}

	s := open(t)
	var validated bool
	ok, err := s.Seed(ctx, hosts, rules, func(next *store.Snapshot) error {
		validated = len(next.Hosts) == 1 && len(next.Rules) == 1
		return nil
	})
	if err != nil || !ok || !validated {
		t.Fatalf("Seed = %v, %v (validated %v), want true, nil, validated", ok, err, validated)
	}
	snap := s.Snapshot()
	if snap.Host("demo.internal").GetEtag() != etagOf(snap) || snap.Rule("alice-demo") == nil {
		t.Errorf("after Seed: %v", snap)
	}
	if ok, err := s.Seed(ctx, nil, []*adminv1.Rule{rule("other", "")}, nil); ok || err != nil {
		t.Errorf("second Seed = %v, %v, want false, nil", ok, err)
	}

	// A store written by Apply is not seeded, even once its items are all
	// deleted again: an admin's deletion must survive a restart.
	s2 := open(t)
	w, err := s2.Apply(ctx, []store.Mutation{put(store.KindRule, "x", rule("x", ""))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "x", IfEtag: etagOf(w)}}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := s2.Seed(ctx, hosts, rules, nil); ok || err != nil {
		t.Errorf("Seed after Apply = %v, %v, want false, nil", ok, err)
	}

	s3 := open(t)
	before := s3.Snapshot().Revision
	bad := errors.New("bad seed")
	if ok, err := s3.Seed(ctx, hosts, rules, func(*store.Snapshot) error { return bad }); ok || err != bad {
		t.Errorf("Seed with failing validation = %v, %v, want false, %v", ok, err, bad)
	}
	if got := s3.Snapshot(); got.Revision != before || len(got.Hosts) != 0 {
		t.Errorf("after a rejected Seed: %v", got)
	}
	if ok, err := s3.Seed(ctx, nil, nil, nil); ok || err != nil {
		t.Errorf("empty Seed = %v, %v, want false, nil", ok, err)
	}
}

// conformConcurrent runs read-modify-write loops on one counter from several
// goroutines: etags must turn every lost update into ErrConflict.
func conformConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "counter", Value: rule("counter", "0"), IfAbsent: true}}, nil); err != nil {
		t.Fatal(err)
	}
	const workers, increments = 4, 15
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
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.Snapshot().Rule("counter").GetDescription(); got != strconv.Itoa(workers*increments) {
		t.Errorf("counter = %s, want %d (lost updates)", got, workers*increments)
	}
}

func conformClosed(t *testing.T, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Apply(context.Background(), []store.Mutation{put(store.KindHost, "a", host("a", ""))}, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Seed(context.Background(), []*adminv1.Host{host("a", "")}, nil, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Seed after Close: %v, want ErrClosed", err)
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
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, "a", host("a", ""))}, nil); !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply with a cancelled context: %v", err)
	}
}
