package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/etcdtest"
	"github.com/msg-gateway/msg/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

var prefixSeq atomic.Int64

// newPrefix returns a prefix no other test uses, so tests can share a
// member.
func newPrefix() string { return fmt.Sprintf("/test/%d", prefixSeq.Add(1)) }

// openEtcd opens an etcd store on prefix with fast probes, closed when the
// test ends.
func openEtcd(t *testing.T, srv *etcdtest.Server, prefix string) *store.Etcd {
	t.Helper()
	return openEtcdLogged(t, srv, prefix, nil)
}

// openEtcdLogged is openEtcd with the store's log going to log.
func openEtcdLogged(t *testing.T, srv *etcdtest.Server, prefix string, log *slog.Logger) *store.Etcd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := store.OpenEtcd(ctx, store.EtcdOptions{
		Endpoints:     []string{srv.Endpoint()},
		Prefix:        prefix,
		DialTimeout:   time.Second,
		ProbeInterval: 100 * time.Millisecond,
		DataDir:       t.TempDir(),
		Logger:        log,
	})
	if err != nil {
		t.Fatalf("OpenEtcd: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformanceEtcd(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	runConformance(t, func(t *testing.T) store.Store { return openEtcd(t, srv, newPrefix()) })
}

// waitFor polls cond every 10ms for at most timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEtcdInstancesShareState runs two stores on one prefix, as two gateways
// would: a write through one reaches the other's Watch and Snapshot, both
// keep the same etags, and only one of two simultaneous Seeds writes.
func TestEtcdInstancesShareState(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	a, b := openEtcd(t, srv, prefix), openEtcd(t, srv, prefix)
	ctx := context.Background()

	// Both seed at once: exactly one writes, and both end with its state.
	var seeded atomic.Int32
	var wg sync.WaitGroup
	for i, s := range []*store.Etcd{a, b} {
		wg.Go(func() {
			ok, err := s.Seed(ctx, []*adminv1.Host{host("demo.internal", "http://10.0.0."+strconv.Itoa(i+1))}, nil, nil)
			if err != nil {
				t.Errorf("Seed: %v", err)
			}
			if ok {
				seeded.Add(1)
			}
		})
	}
	wg.Wait()
	if n := seeded.Load(); n != 1 {
		t.Fatalf("%d instances seeded, want 1", n)
	}
	if ha, hb := a.Snapshot().Host("demo.internal"), b.Snapshot().Host("demo.internal"); !proto.Equal(ha, hb) || ha == nil {
		t.Fatalf("after seeding: a has %v, b has %v", ha, hb)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := b.Watch(wctx)
	snap, err := a.Apply(ctx, []store.Mutation{{Kind: store.KindRevocation, Key: "fp-aa", Value: &adminv1.Revocation{Id: "fp-aa", Reason: "lost"}, IfAbsent: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for got := receive(t, ch); got.Revision < snap.Revision; got = receive(t, ch) {
	}
	if got := b.Snapshot().Revocation("fp-aa"); got.GetEtag() != etagOf(snap) {
		t.Errorf("b sees revocation %v, want etag %s", got, etagOf(snap))
	}

	// b writes with the etag it read: a's copy and etag follow.
	rev := proto.Clone(b.Snapshot().Revocation("fp-aa")).(*adminv1.Revocation)
	rev.Reason = "found and lost again"
	snap, err = b.Apply(ctx, []store.Mutation{{Kind: store.KindRevocation, Key: "fp-aa", Value: rev, IfEtag: rev.GetEtag()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to see b's update", 5*time.Second, func() bool {
		return a.Snapshot().Revocation("fp-aa").GetEtag() == etagOf(snap)
	})
	// a's stale etag is refused.
	if _, err := a.Apply(ctx, []store.Mutation{{Kind: store.KindRevocation, Key: "fp-aa", IfEtag: rev.GetEtag()}}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete with a stale etag: %v, want ErrConflict", err)
	}
}

// TestEtcdValidateSeesOtherInstances: validate always judges the state a
// write lands on. Instance a deletes a host while instance b adds rules that
// need it; whatever the interleaving, no committed state breaks the
// invariant "every rule's hosts exist".
func TestEtcdValidateSeesOtherInstances(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	a, b := openEtcd(t, srv, prefix), openEtcd(t, srv, prefix)
	ctx := context.Background()
	hostsExist := func(s *store.Snapshot) error {
		for _, r := range s.Rules {
			for _, h := range r.GetHosts() {
				if s.Host(h) == nil {
					return fmt.Errorf("rule %s: unknown host %s", r.GetId(), h)
				}
			}
		}
		return nil
	}
	for round := range 5 {
		name := fmt.Sprintf("h%d.internal", round)
		if _, err := a.Apply(ctx, []store.Mutation{put(store.KindHost, name, host(name, "http://x"))}, hostsExist); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b to see the host", 5*time.Second, func() bool { return b.Snapshot().Host(name) != nil })
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _ = a.Apply(ctx, []store.Mutation{{Kind: store.KindHost, Key: name}}, hostsExist)
		})
		wg.Go(func() {
			r := &adminv1.Rule{Id: "r" + name, Effect: adminv1.Effect_EFFECT_ALLOW, Hosts: []string{name}}
			_, _ = b.Apply(ctx, []store.Mutation{put(store.KindRule, r.GetId(), r)}, hostsExist)
		})
		wg.Wait()
	}
	c := srv.Client(t)
	resp, err := c.Get(ctx, prefix+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	final := openEtcd(t, srv, prefix).Snapshot()
	if err := hostsExist(final); err != nil {
		t.Errorf("committed state breaks validation: %v (%d keys)", err, len(resp.Kvs))
	}
}

// TestEtcdCompactedWatchReloads: a store whose watch fell behind a
// compaction reloads the whole prefix and ends with the current state.
func TestEtcdCompactedWatchReloads(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	a, b := openEtcd(t, srv, prefix), openEtcd(t, srv, prefix)
	ctx := context.Background()
	snap, err := b.Apply(ctx, []store.Mutation{put(store.KindRule, "gone", rule("gone", ""))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to see the rule", 5*time.Second, func() bool { return a.Snapshot().Revision >= snap.Revision })

	resume := a.PauseWatch()
	reloads := a.Reloads()
	if _, err := b.Apply(ctx, []store.Mutation{
		put(store.KindRule, "new", rule("new", "")),
		{Kind: store.KindRule, Key: "gone", IfEtag: etagOf(snap)},
		put(store.KindRevocation, "fp-1", &adminv1.Revocation{Id: "fp-1"}),
	}, nil); err != nil {
		t.Fatal(err)
	}
	want, err := b.Apply(ctx, []store.Mutation{put(store.KindHost, "h", host("h", "http://h"))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	compacted := srv.Compact(t)
	if a.Snapshot().Revision >= compacted {
		t.Fatalf("a is at revision %d, not behind the compaction at %d", a.Snapshot().Revision, compacted)
	}
	resume()
	waitFor(t, "a to reload after the compaction", 10*time.Second, func() bool { return a.Reloads() > reloads })
	waitFor(t, "a to catch up", 5*time.Second, func() bool { return a.Snapshot().Revision >= want.Revision })
	got := a.Snapshot()
	if got.Rule("gone") != nil || got.Rule("new") == nil || got.Revocation("fp-1") == nil || got.Host("h").GetEtag() != etagOf(want) {
		t.Errorf("after the reload: %v, want b's state %v", got, want)
	}
	// The new watch works.
	snap, err = b.Apply(ctx, []store.Mutation{put(store.KindHost, "h2", host("h2", "http://h"))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to follow the next write", 5*time.Second, func() bool { return a.Snapshot().Host("h2") != nil })
}

// TestEtcdOutage stops etcd under two stores: both keep their snapshot and
// report it, writes fail with ErrUnavailable, and after the restart both
// catch up, including with a write made through the other instance.
func TestEtcdOutage(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	var mu sync.Mutex
	var transitions []bool
	ctx := context.Background()
	a, err := store.OpenEtcd(ctx, store.EtcdOptions{
		Endpoints: []string{srv.Endpoint()}, Prefix: prefix, DataDir: t.TempDir(),
		DialTimeout: 500 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		OnConnected: func(up bool) {
			mu.Lock()
			defer mu.Unlock()
			transitions = append(transitions, up)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b := openEtcd(t, srv, prefix)
	before, err := a.Apply(ctx, []store.Mutation{put(store.KindRule, "r", rule("r", ""))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see the rule", 5*time.Second, func() bool { return b.Snapshot().Rule("r") != nil })

	srv.Stop()
	waitFor(t, "a to notice the outage", 10*time.Second, func() bool { return !a.Health().Connected })
	h := a.Health()
	if h.Revision != before.Revision || h.LastError == "" || a.Snapshot().Rule("r") == nil {
		t.Errorf("while down: health %+v, snapshot %v; want the last snapshot kept", h, a.Snapshot())
	}
	start := time.Now()
	_, err = a.Apply(ctx, []store.Mutation{put(store.KindRule, "x", rule("x", ""))}, nil)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Apply while down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Apply while down took %v", d)
	}
	waitFor(t, "b to notice the outage", 10*time.Second, func() bool { return !b.Health().Connected })
	if _, err := b.Apply(ctx, []store.Mutation{put(store.KindRule, "x", rule("x", ""))}, nil); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Apply on b while down: %v, want ErrUnavailable", err)
	}

	srv.Restart()
	waitFor(t, "b to reconnect", 15*time.Second, func() bool { return b.Health().Connected })
	var snap *store.Snapshot
	waitFor(t, "a write through b after the restart", 15*time.Second, func() bool {
		snap, err = b.Apply(ctx, []store.Mutation{put(store.KindRule, "after", rule("after", ""))}, nil)
		return err == nil
	})
	waitFor(t, "a to catch up", 15*time.Second, func() bool { return a.Snapshot().Revision >= snap.Revision })
	if !a.Health().Connected || a.Snapshot().Rule("after") == nil {
		t.Errorf("after the restart: a %+v has %v", a.Health(), a.Snapshot().Rules)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(transitions) < 3 || !transitions[0] || transitions[1] || !transitions[len(transitions)-1] {
		t.Errorf("OnConnected calls = %v, want true, false, ..., true", transitions)
	}
}

// TestEtcdOpenUnreachable: without a cluster to read, a gateway does not
// start.
func TestEtcdOpenUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	s, err := store.OpenEtcd(context.Background(), store.EtcdOptions{
		Endpoints: []string{"http://" + addr}, DataDir: t.TempDir(), DialTimeout: 300 * time.Millisecond,
	})
	if err == nil {
		s.Close()
		t.Fatal("OpenEtcd succeeded without a cluster")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("OpenEtcd took %v to fail", d)
	}
	for _, p := range []string{"msg", "/msg/", "/a//b"} {
		if _, err := store.OpenEtcd(context.Background(), store.EtcdOptions{Endpoints: []string{"http://" + addr}, Prefix: p, DataDir: t.TempDir()}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

// TestEtcdKeyLayout pins what other tools see in etcd: one key per item
// holding the proto without its etag, the etag being the key's mod revision.
// A value nobody can decode leaves the snapshot as it was until it is fixed.
func TestEtcdKeyLayout(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	var logs syncBuffer
	s := openEtcdLogged(t, srv, prefix, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	snap, err := s.Apply(ctx, []store.Mutation{put(store.KindHost, "a.internal", host("a.internal", "http://a")), put(store.KindRevocation, "fp-1", &adminv1.Revocation{Id: "fp-1"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)
	resp, err := c.Get(ctx, prefix+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int64{}
	for _, kv := range resp.Kvs {
		keys[string(kv.Key)] = kv.ModRevision
		if string(kv.Key) == prefix+"/hosts/a.internal" {
			var h adminv1.Host
			if err := proto.Unmarshal(kv.Value, &h); err != nil || h.GetEtag() != "" || h.GetUpstream() != "http://a" {
				t.Errorf("stored host = %v (%v)", &h, err)
			}
		}
	}
	for _, k := range []string{"/hosts/a.internal", "/revocations/fp-1", "/written"} {
		if keys[prefix+k] != snap.Revision {
			t.Errorf("%s at revision %d, want %d (keys %v)", k, keys[prefix+k], snap.Revision, keys)
		}
	}

	if _, err := c.Put(ctx, prefix+"/rules/broken", "\xff\xff not a proto"); err != nil {
		t.Fatal(err)
	}
	// The store has read the broken value once it says so.
	waitFor(t, "the store to report the unreadable value", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "etcd holds a value this gateway cannot read")
	})
	if got := s.Snapshot(); got.Revision != snap.Revision {
		t.Errorf("an undecodable value changed the snapshot: %v", got)
	}
	fixed, err := c.Delete(ctx, prefix+"/rules/broken")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to recover", 10*time.Second, func() bool { return s.Snapshot().Revision >= fixed.Header.Revision })
	if s.Snapshot().Host("a.internal") == nil {
		t.Errorf("after recovering: %v", s.Snapshot())
	}
}

// TestEtcdAuditIsLocal: each instance keeps its own audit trail.
func TestEtcdAuditIsLocal(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	a, b := openEtcd(t, srv, prefix), openEtcd(t, srv, prefix)
	ctx := context.Background()
	a.AppendAudit(&adminv1.AuditRecord{Principal: "alice", Host: "demo.internal"})
	if err := a.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	ra, _, err := a.QueryAudit(ctx, store.AuditQuery{})
	if err != nil || len(ra) != 1 || ra[0].GetPrincipal() != "alice" {
		t.Errorf("a's audit = %v, %v", ra, err)
	}
	if rb, _, err := b.QueryAudit(ctx, store.AuditQuery{}); err != nil || len(rb) != 0 {
		t.Errorf("b's audit = %v, %v, want none", rb, err)
	}
	resp, err := srv.Client(t).Get(ctx, prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Errorf("audit reached etcd: %d keys under the prefix (%v)", resp.Count, err)
	}
}

// TestEtcdClusterReplaced: when etcd comes back empty, with its revisions
// starting again (rebuilt, or restored from an old backup), the store serves
// what the cluster holds now instead of waiting for revisions to catch up.
func TestEtcdClusterReplaced(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	a, b := openEtcd(t, srv, prefix), openEtcd(t, srv, prefix)
	ctx := context.Background()
	var old *store.Snapshot
	for i := range 20 {
		var err error
		if old, err = a.Apply(ctx, []store.Mutation{put(store.KindRule, fmt.Sprint(i), rule(fmt.Sprint(i), ""))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv.Replace()
	waitFor(t, "a to serve the empty cluster", 15*time.Second, func() bool {
		s := a.Snapshot()
		return s.Revision < old.Revision && len(s.Rules) == 0 && a.Health().Connected
	})
	snap, err := a.Apply(ctx, []store.Mutation{put(store.KindRule, "new", rule("new", ""))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to follow the new cluster", 15*time.Second, func() bool {
		return b.Snapshot().Rule("new").GetEtag() == etagOf(snap)
	})
	if got := b.Snapshot(); len(got.Rules) != 1 {
		t.Errorf("b serves %v, want the new cluster's single rule", got.Rules)
	}
}

// largeConfig is more hosts and rules than one etcd transaction may hold
// (--max-txn-ops, 128 by default, as in the embedded test member): 150 hosts
// and 1000 rules, each rule's description saying who seeded it.
func largeConfig(who string) ([]*adminv1.Host, []*adminv1.Rule) {
	var hosts []*adminv1.Host
	for i := range 150 {
		hosts = append(hosts, host(fmt.Sprintf("h%03d.internal", i), "http://10.0.0.1"))
	}
	var rules []*adminv1.Rule
	for i := range 1000 {
		r := rule(fmt.Sprintf("r%04d", i), who)
		r.Hosts = []string{fmt.Sprintf("h%03d.internal", i%150)}
		rules = append(rules, r)
	}
	return hosts, rules
}

// TestEtcdSeedsLargeConfig: a config of 150 hosts and 1000 rules seeds an
// etcd prefix although etcd refuses transactions of more than 128
// operations; of two instances seeding at once exactly one writes, both
// end with all of its config, and a third instance watching meanwhile
// never sees part of it.
func TestEtcdSeedsLargeConfig(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	prefix := newPrefix()
	a, b, watcher := openEtcd(t, srv, prefix), openEtcd(t, srv, prefix), openEtcd(t, srv, prefix)
	ctx := context.Background()

	wctx, stopWatch := context.WithCancel(ctx)
	ch := watcher.Watch(wctx)
	var partial []string
	var seen sync.WaitGroup
	seen.Go(func() {
		for snap := range ch {
			if n, m := len(snap.Hosts), len(snap.Rules); !(n == 0 && m == 0 || n == 150 && m == 1000) {
				partial = append(partial, fmt.Sprintf("revision %d: %d hosts, %d rules", snap.Revision, n, m))
			}
		}
	})

	var seeders []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for who, s := range map[string]*store.Etcd{"a": a, "b": b} {
		wg.Go(func() {
			hosts, rules := largeConfig(who)
			ok, err := s.Seed(ctx, hosts, rules, nil)
			if err != nil {
				t.Errorf("Seed %s: %v", who, err)
			}
			if ok {
				mu.Lock()
				seeders = append(seeders, who)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seeders) != 1 {
		t.Fatalf("instances that seeded: %q, want exactly one", seeders)
	}
	for name, s := range map[string]*store.Etcd{"a": a, "b": b} {
		snap := s.Snapshot()
		if len(snap.Hosts) != 150 || len(snap.Rules) != 1000 {
			t.Errorf("%s after seeding: %d hosts, %d rules, want 150 and 1000", name, len(snap.Hosts), len(snap.Rules))
			continue
		}
		for _, r := range snap.Rules {
			if r.GetDescription() != seeders[0] || r.GetEtag() == "" {
				t.Errorf("%s: rule %v is not %s's", name, r, seeders[0])
				break
			}
		}
	}
	waitFor(t, "the watching instance to see the seed", 10*time.Second, func() bool {
		return len(watcher.Snapshot().Rules) == 1000
	})
	stopWatch()
	seen.Wait()
	if len(partial) > 0 {
		t.Errorf("the watching instance saw part of the seed: %q", partial)
	}
	// An admin write on top works as usual.
	r := proto.Clone(a.Snapshot().Rule("r0999")).(*adminv1.Rule)
	r.Description = "edited"
	if _, err := b.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "r0999", Value: r, IfEtag: r.GetEtag()}}, nil); err != nil {
		t.Errorf("Apply after the seed: %v", err)
	}
}

// TestEtcdInterruptedSeed: what a seeder that died left under the prefix
// (items without the marker) is never shown, and the next seed, or the
// first admin write, clears it. While another instance holds the seed
// guard, writes are refused and a seed waits until the guard is gone.
func TestEtcdInterruptedSeed(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, nil)
	c := srv.Client(t)
	ctx := context.Background()
	leftover := func(prefix string) {
		t.Helper()
		data, err := proto.Marshal(rule("stale", "half a seed"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Put(ctx, prefix+"/rules/stale", string(data)); err != nil {
			t.Fatal(err)
		}
	}

	// A seed clears the leftovers.
	prefix := newPrefix()
	leftover(prefix)
	s := openEtcd(t, srv, prefix)
	if snap := s.Snapshot(); len(snap.Rules) != 0 {
		t.Fatalf("leftovers of an interrupted seed are shown: %v", snap.Rules)
	}
	hosts, rules := largeConfig("s")
	if ok, err := s.Seed(ctx, hosts, rules, nil); !ok || err != nil {
		t.Fatalf("Seed over leftovers = %v, %v", ok, err)
	}
	if snap := s.Snapshot(); snap.Rule("stale") != nil || len(snap.Rules) != 1000 {
		t.Errorf("after the seed: stale %v, %d rules", snap.Rule("stale"), len(snap.Rules))
	}

	// So does the first admin write.
	prefix = newPrefix()
	leftover(prefix)
	s = openEtcd(t, srv, prefix)
	snap, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, "x", rule("x", ""))}, nil)
	if err != nil {
		t.Fatalf("Apply over leftovers: %v", err)
	}
	if snap.Rule("stale") != nil || snap.Rule("x") == nil {
		t.Errorf("after Apply: %v", snap.Rules)
	}

	// Another instance holds the guard (under a lease, as a seeder does).
	prefix = newPrefix()
	leftover(prefix)
	lease, err := c.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, prefix+"/seeding", "other", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	s = openEtcd(t, srv, prefix)
	if _, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, "x", rule("x", ""))}, nil); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Apply during another instance's seed: %v, want ErrUnavailable", err)
	}
	done := make(chan error, 1)
	go func() {
		ok, err := s.Seed(ctx, hosts, rules, nil)
		if err == nil && !ok {
			err = errors.New("did not seed")
		}
		done <- err
	}()
	// The other seeder dies: its lease goes, and with it the guard.
	if _, err := c.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Seed after the guard expired: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Seed did not take over within 30s of the guard going")
	}
	if snap := s.Snapshot(); snap.Rule("stale") != nil || len(snap.Rules) != 1000 {
		t.Errorf("after taking over: stale %v, %d rules", snap.Rule("stale"), len(snap.Rules))
	}
}
