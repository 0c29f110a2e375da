package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Defaults for [EtcdOptions].
const (
	// DefaultEtcdPrefix is the key prefix of a fleet's configuration.
	DefaultEtcdPrefix = "/msg"
	// DefaultEtcdDialTimeout bounds the connection and every request.
	DefaultEtcdDialTimeout = 5 * time.Second
	// DefaultEtcdProbeInterval is how often the connection is checked.
	DefaultEtcdProbeInterval = time.Second
)

// maxApplyAttempts bounds how often Apply re-reads the store and tries
// again when another instance committed a write first.
const maxApplyAttempts = 5

// Reload backoff after a failed watch or read.
const (
	minReloadBackoff = 100 * time.Millisecond
	maxReloadBackoff = 2 * time.Second
	// maxReconnectBackoff bounds the wait between connection attempts.
	maxReconnectBackoff = 2 * time.Second
)

// writtenKey is the marker under the prefix that every write (Seed or Apply)
// puts. Its presence means the store was written; comparing its mod revision
// in each transaction serializes configuration writes across the fleet.
// Items under a prefix without it are not a configuration (the leftovers of
// a seed in progress or interrupted): no snapshot shows them.
const writtenKey = "/written"

// seedingKey is the guard an instance holds, under a lease, while it seeds
// the prefix in several transactions; see [Etcd.Seed].
const seedingKey = "/seeding"

// Seeding in several transactions: etcd refuses a transaction with more than
// --max-txn-ops operations (default 128) or a request over
// --max-request-bytes (default 1.5 MiB), so a config with more hosts and
// rules is written in chunks well below both.
const (
	maxSeedChunkOps   = 64
	maxSeedChunkBytes = 512 << 10
	// seedLeaseTTL bounds how long a seeder that died holds the guard
	// before another instance may seed instead.
	seedLeaseTTL = 10 // seconds
)

// EtcdOptions configures [OpenEtcd].
type EtcdOptions struct {
	// Endpoints are the cluster's client URLs ("https://etcd-1:2379") or
	// host:port pairs. Required.
	Endpoints []string
	// Prefix is the key prefix of this fleet's configuration: hosts live
	// under Prefix+"/hosts/", rules under "/rules/", revocations under
	// "/revocations/". Default [DefaultEtcdPrefix]. It must start with "/"
	// and not end with one.
	Prefix string
	// DialTimeout bounds the connection, every request to the cluster and
	// the health probe. Default [DefaultEtcdDialTimeout].
	DialTimeout time.Duration
	// TLS is the client TLS configuration; nil talks plaintext.
	TLS *tls.Config
	// DataDir is the directory of the local store that keeps this
	// instance's audit trail (a [Bolt], whose configuration stays empty).
	// Required.
	DataDir string
	// Audit configures the local audit store (retention, queue, JSON-lines
	// sink). Its Logger defaults to Logger.
	Audit Options
	// ProbeInterval is how often the connection to the cluster is checked
	// with a quorum read. Default [DefaultEtcdProbeInterval].
	ProbeInterval time.Duration
	// OnConnected, when set, is called with the new state every time the
	// store loses or regains the cluster, from the store's goroutines.
	OnConnected func(connected bool)
	// Logger receives connection changes, reloads and errors. Nil discards.
	Logger *slog.Logger
}

// Health is what an [Etcd] store knows about its connection.
type Health struct {
	// Connected is false while the cluster cannot be reached (or has no
	// quorum): the snapshot is the last one seen and writes fail with
	// [ErrUnavailable].
	Connected bool
	// Since is when Connected last changed.
	Since time.Time
	// Revision is the current snapshot's revision.
	Revision int64
	// LastError is the error that made the store disconnected, if any.
	LastError string
}

// Etcd is the [Store] of a fleet: hosts, rules and revocations live in an
// etcd v3 cluster shared by every gateway instance, and each instance keeps
// its own audit trail in a local [Bolt] store.
//
// Each item is one key (Prefix/hosts/<name>, Prefix/rules/<id>,
// Prefix/revocations/<id>) whose value is the proto encoding of the
// resource without its etag; the etag is the key's mod revision. A
// [Snapshot]'s Revision is the etcd revision it reflects, so it does not
// count this fleet's writes only and starts above 0 even on an empty prefix.
//
// A watch on the prefix applies every change to the snapshot within
// milliseconds; when the watch breaks, is compacted away or the connection
// comes back, the store reloads the whole prefix. While the cluster cannot be
// reached the last snapshot stays in force (the data plane keeps serving)
// and writes fail with [ErrUnavailable].
//
// Writes are transactions guarded by the items' mod revisions and by the mod
// revision of a marker key every write updates: validate always sees the
// complete state the write is committed on top of, even with other
// instances writing at the same time. When another instance wins the race,
// Apply re-reads the prefix and checks the preconditions and validate again
// (a few times at most, then [ErrConflict]), so a write whose own etags are
// still current succeeds, as it would on the embedded store.
type Etcd struct {
	cli     *clientv3.Client
	prefix  string
	marker  string
	seeding string // the seed guard's key
	timeout time.Duration
	probe   time.Duration
	log     *slog.Logger
	onConn  func(bool)
	local   *Bolt

	state atomic.Pointer[etcdState]
	// pubMu serializes publishing; changed is closed and replaced on every
	// published snapshot.
	pubMu   sync.Mutex
	changed chan struct{}
	hub     watchHub

	// writer serializes this instance's Apply, Seed and Close.
	writer chan struct{}
	closed atomic.Bool

	connMu sync.Mutex
	health Health // guarded by connMu; Revision unused

	resync chan struct{}
	// pause is for tests: a request to stop following the watch until the
	// sent channel is closed (see export_test.go).
	pause   chan chan struct{}
	reloads atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ Store = (*Etcd)(nil)

// etcdState is a snapshot, the marker's mod revision at that snapshot and
// the id of the cluster it was read from. raw holds every item under the
// prefix; snap is what the store shows: raw, or nothing at raw's revision
// while the prefix has no marker (a seed in progress, or what an
// interrupted one left). seeding says whether an instance holds the seed
// guard.
type etcdState struct {
	raw     *Snapshot
	snap    *Snapshot
	marker  int64
	cluster uint64
	seeding bool
}

// newEtcdState derives what the store shows from raw.
func newEtcdState(raw *Snapshot, marker int64, cluster uint64, seeding bool) *etcdState {
	st := &etcdState{raw: raw, snap: raw, marker: marker, cluster: cluster, seeding: seeding}
	if marker == 0 {
		// Not a configuration (yet): showing part of a rule set could
		// allow what the rest of it denies.
		st.snap = &Snapshot{Revision: raw.Revision}
	}
	return st
}

// pending is how many items the state hides for want of a marker.
func (st *etcdState) pending() int {
	if st.marker != 0 {
		return 0
	}
	return st.raw.count()
}

// OpenEtcd connects to the cluster, loads the prefix and starts following
// it, and opens the local audit store in DataDir. It fails when the cluster
// cannot be read within DialTimeout: a gateway does not start without a
// configuration.
func OpenEtcd(ctx context.Context, o EtcdOptions) (*Etcd, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	local, err := Open(o.DataDir, o.Audit)
	if err != nil {
		return nil, err
	}
	cli, err := newEtcdClient(o)
	if err != nil {
		_ = local.Close()
		return nil, fmt.Errorf("store: etcd: %w", err)
	}
	e := &Etcd{
		cli:     cli,
		prefix:  o.Prefix,
		marker:  o.Prefix + writtenKey,
		seeding: o.Prefix + seedingKey,
		timeout: o.DialTimeout,
		probe:   o.ProbeInterval,
		log:     o.Logger,
		onConn:  o.OnConnected,
		local:   local,
		changed: make(chan struct{}),
		hub:     watchHub{watchers: make(map[*watcher]struct{})},
		writer:  make(chan struct{}, 1),
		resync:  make(chan struct{}, 1),
		pause:   make(chan chan struct{}),
		health:  Health{Connected: true, Since: time.Now()},
	}
	st, err := e.load(ctx)
	if err != nil {
		_ = cli.Close()
		_ = local.Close()
		return nil, fmt.Errorf("store: etcd at %s: %w", strings.Join(o.Endpoints, ","), e.unavailable(ctx, err))
	}
	e.state.Store(st)
	if e.onConn != nil {
		e.onConn(true)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(2)
	go e.run()
	go e.probeLoop()
	return e, nil
}

// check fills in o's defaults and refuses what cannot work.
func (o *EtcdOptions) check() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Audit.Logger == nil {
		o.Audit.Logger = o.Logger
	}
	if len(o.Endpoints) == 0 {
		return errors.New("store: etcd: no endpoints")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultEtcdPrefix
	}
	if err := CheckEtcdPrefix(o.Prefix); err != nil {
		return fmt.Errorf("store: etcd: %w", err)
	}
	if o.DataDir == "" {
		return errors.New("store: etcd: no directory for the audit trail")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultEtcdDialTimeout
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultEtcdProbeInterval
	}
	return nil
}

// newEtcdClient connects to the cluster o names.
func newEtcdClient(o EtcdOptions) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		DialTimeout: o.DialTimeout,
		TLS:         o.TLS,
		// Detect a dead connection (a partition drops packets, it does not
		// reset connections) in seconds rather than at the TCP timeout.
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		PermitWithoutStream:  true,
		// gRPC's default reconnect backoff grows to two minutes: after a
		// long outage an instance would keep serving a stale configuration
		// that long after etcd is back.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: maxReconnectBackoff},
			MinConnectTimeout: o.DialTimeout,
		})},
		// The client logs every retry; the store logs state changes.
		Logger: zap.NewNop(),
	})
}

// CheckEtcdPrefix reports whether p is a usable key prefix: it starts with
// "/", does not end with one and has no empty segment.
func CheckEtcdPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || len(p) > 256 {
		return fmt.Errorf("prefix %q must start with /, not end with / and have no empty segment", p)
	}
	return nil
}

// Snapshot implements [Store].
func (e *Etcd) Snapshot() *Snapshot { return e.state.Load().snap }

// Health returns the connection state and the current revision.
func (e *Etcd) Health() Health {
	e.connMu.Lock()
	h := e.health
	e.connMu.Unlock()
	h.Revision = e.Snapshot().Revision
	return h
}

// Apply implements [Store]. validate may be called more than once: again
// after another instance committed first. An Apply that fails with
// [ErrUnavailable] after the transaction was sent may still have been
// committed.
func (e *Etcd) Apply(ctx context.Context, muts []Mutation, validate func(*Snapshot) error) (*Snapshot, error) {
	if len(muts) == 0 {
		return nil, errors.New("store: empty batch")
	}
	if err := e.lock(ctx); err != nil {
		return nil, err
	}
	defer e.unlock()
	// While disconnected the snapshot may be stale: its preconditions would
	// answer wrongly.
	if !e.connected() {
		return nil, fmt.Errorf("store: etcd: %w: %s", ErrUnavailable, e.Health().LastError)
	}
	base := e.state.Load()
	for attempt := 1; ; attempt++ {
		if base.marker == 0 && base.seeding {
			return nil, fmt.Errorf("store: etcd: %w: an instance is seeding the prefix", ErrUnavailable)
		}
		if base.pending() > 0 && attempt < maxApplyAttempts {
			// What an interrupted seed left is no configuration: clear it
			// (unless a seed started meanwhile) and write on an empty prefix.
			if _, _, err := e.txn(ctx, []clientv3.Cmp{
				clientv3.Compare(clientv3.CreateRevision(e.marker), "=", 0),
				clientv3.Compare(clientv3.CreateRevision(e.seeding), "=", 0),
			}, e.clearItems()); err != nil {
				return nil, err
			}
			var err error
			if base, err = e.reload(ctx, false); err != nil {
				return nil, fmt.Errorf("store: etcd read: %w", e.unavailable(ctx, err))
			}
			continue
		}
		next, writes, err := plan(base.snap, muts, base.snap.Revision+1)
		if err != nil {
			return nil, err
		}
		if validate != nil {
			if err := validate(next); err != nil {
				return nil, err
			}
		}
		cmps, ops, err := e.batchTxn(base, muts, writes)
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithTimeout(ctx, e.timeout)
		resp, err := e.cli.Txn(rctx).If(cmps...).Then(ops...).Commit()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("store: etcd commit: %w", e.unavailable(ctx, err))
		}
		if resp.Succeeded {
			return e.committed(ctx, resp.Header.Revision, next, muts, writes), nil
		}
		// Someone else wrote first: re-read and check everything again.
		if attempt == maxApplyAttempts {
			return nil, fmt.Errorf("store: the etcd prefix kept changing during %d attempts: %w", attempt, ErrConflict)
		}
		if base, err = e.reload(ctx, false); err != nil {
			return nil, fmt.Errorf("store: etcd read: %w", e.unavailable(ctx, err))
		}
	}
}

// batchTxn returns the conditions and operations of a planned batch on top
// of base: the marker and every precondition unchanged since base, then the
// writes and a new marker.
func (e *Etcd) batchTxn(base *etcdState, muts []Mutation, writes []proto.Message) ([]clientv3.Cmp, []clientv3.Op, error) {
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(e.marker), "=", base.marker),
		clientv3.Compare(clientv3.CreateRevision(e.seeding), "=", 0),
	}
	ops := make([]clientv3.Op, 0, len(muts)+1)
	for i, m := range muts {
		key := e.key(m.Kind, m.Key)
		switch {
		case m.IfAbsent:
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		case m.IfEtag != "":
			// plan found the etag on the item: it is a revision.
			rev, _ := strconv.ParseInt(m.IfEtag, 10, 64)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
		}
		if writes[i] == nil {
			ops = append(ops, clientv3.OpDelete(key))
			continue
		}
		data, err := marshalWithoutEtag(m.Kind, writes[i])
		if err != nil {
			return nil, nil, fmt.Errorf("%s/%s: %w", m.Kind, m.Key, err)
		}
		ops = append(ops, clientv3.OpPut(key, string(data)))
	}
	return cmps, append(ops, clientv3.OpPut(e.marker, "")), nil
}

// committed stamps the written items of next with the commit's revision and
// waits until the watch has published that revision, so that the returned
// snapshot is the current one. Should the watch lag (or break) past the
// timeout, it returns next: the write is durable either way.
func (e *Etcd) committed(ctx context.Context, rev int64, next *Snapshot, muts []Mutation, writes []proto.Message) *Snapshot {
	etag := strconv.FormatInt(rev, 10)
	for i, w := range writes {
		if w != nil {
			muts[i].Kind.SetEtag(w, etag)
		}
	}
	next.Revision = rev
	timer := time.NewTimer(e.timeout)
	defer timer.Stop()
	for {
		e.pubMu.Lock()
		cur, changed := e.state.Load(), e.changed
		e.pubMu.Unlock()
		switch {
		case cur.snap.Revision == rev:
			return cur.snap
		case cur.snap.Revision > rev:
			return next
		}
		select {
		case <-changed:
		case <-timer.C:
			return next
		case <-ctx.Done():
			return next
		case <-e.ctx.Done():
			return next
		}
	}
}

// Seed implements [Store]: it writes only into a prefix that was never
// written (no marker), and of several instances starting at once exactly one
// seeds while the others wait for it and then read what it wrote.
//
// A config too large for one etcd transaction is written in chunks, as one
// unit: the seeder first claims a guard key under a lease (in a transaction
// that also clears what an interrupted seed left), then writes the chunks,
// each on the condition that it still holds the guard and the prefix is
// still unwritten; the last chunk also puts the marker and drops the guard.
// Until the marker is there no instance shows any of it, so nobody ever
// serves half a rule set. A seeder that dies loses the guard when its lease
// expires (seedLeaseTTL); an instance waiting then seeds instead.
func (e *Etcd) Seed(ctx context.Context, hosts []*adminv1.Host, rules []*adminv1.Rule, validate func(*Snapshot) error) (bool, error) {
	if err := e.lock(ctx); err != nil {
		return false, err
	}
	defer e.unlock()
	muts := seedBatch(hosts, rules)
	for {
		cur := e.state.Load()
		s := cur.snap
		if cur.marker != 0 || s.count() > 0 || len(muts) == 0 {
			return false, nil
		}
		if cur.seeding {
			// Another instance is seeding: wait for its marker (or for
			// its guard to expire), then look again.
			if err := e.awaitChange(ctx, cur); err != nil {
				return false, err
			}
			continue
		}
		seeded, err := e.seed(ctx, s, muts, validate)
		if err != nil || seeded {
			return seeded, err
		}
		// Another instance claimed the prefix first.
		if _, err := e.reload(ctx, false); err != nil {
			return false, fmt.Errorf("store: etcd read: %w", e.unavailable(ctx, err))
		}
	}
}

// seed writes muts into the empty snapshot s in chunks under the seed guard.
// It returns false without error when another instance claimed the prefix
// first.
func (e *Etcd) seed(ctx context.Context, s *Snapshot, muts []Mutation, validate func(*Snapshot) error) (bool, error) {
	next, writes, err := plan(s, muts, s.Revision+1)
	if err != nil {
		return false, err
	}
	if validate != nil {
		if err := validate(next); err != nil {
			return false, err
		}
	}
	ops := make([]clientv3.Op, 0, len(muts))
	for i, m := range muts {
		data, err := marshalWithoutEtag(m.Kind, writes[i])
		if err != nil {
			return false, fmt.Errorf("%s/%s: %w", m.Kind, m.Key, err)
		}
		ops = append(ops, clientv3.OpPut(e.key(m.Kind, m.Key), string(data)))
	}

	rctx, cancel := context.WithTimeout(ctx, e.timeout)
	lease, err := e.cli.Grant(rctx, seedLeaseTTL)
	cancel()
	if err != nil {
		return false, fmt.Errorf("store: etcd seed: %w", e.unavailable(ctx, err))
	}
	defer func() {
		// The guard is gone after a commit; after a failure this frees it
		// for another instance at once rather than at expiry.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
		_, _ = e.cli.Revoke(rctx, lease.ID)
		cancel()
	}()
	token := strconv.FormatInt(int64(lease.ID), 16)
	unwritten := clientv3.Compare(clientv3.CreateRevision(e.marker), "=", 0)
	held := clientv3.Compare(clientv3.Value(e.seeding), "=", token)

	// Claim, clearing what an interrupted seed left behind.
	claim := append(e.clearItems(), clientv3.OpPut(e.seeding, token, clientv3.WithLease(lease.ID)))
	ok, _, err := e.txn(ctx, []clientv3.Cmp{unwritten, clientv3.Compare(clientv3.CreateRevision(e.seeding), "=", 0)}, claim)
	if err != nil || !ok {
		return false, err
	}
	rev, err := e.writeChunks(ctx, ops, lease.ID, unwritten, held)
	if err != nil {
		return false, err
	}
	// Wait for the watch to show the seed, so that the caller's snapshot is
	// this one (the items' etags are their chunks' revisions, which only
	// etcd knows); should the watch lag past the timeout, read it back.
	if e.awaitRevision(ctx, rev) {
		return true, nil
	}
	if _, err := e.reload(ctx, false); err != nil {
		return true, fmt.Errorf("store: etcd seeded but cannot read it back: %w", e.unavailable(ctx, err))
	}
	return true, nil
}

// writeChunks writes the seed's ops in transactions small enough for etcd,
// each on the conditions that the prefix is still unwritten and this
// instance still holds the seed guard, and returns the last one's revision.
func (e *Etcd) writeChunks(ctx context.Context, ops []clientv3.Op, lease clientv3.LeaseID, unwritten, held clientv3.Cmp) (int64, error) {
	var rev int64
	for start := 0; start < len(ops); {
		end, size := start, 0
		for end < len(ops) && end-start < maxSeedChunkOps && (end == start || size+len(ops[end].ValueBytes())+len(ops[end].KeyBytes()) <= maxSeedChunkBytes) {
			size += len(ops[end].ValueBytes()) + len(ops[end].KeyBytes())
			end++
		}
		chunk := ops[start:end:end]
		if end == len(ops) {
			// The last chunk puts the marker and drops the guard: from
			// this revision on the whole seed is in force.
			chunk = append(chunk, clientv3.OpPut(e.marker, ""), clientv3.OpDelete(e.seeding))
		}
		ok, r, err := e.txn(ctx, []clientv3.Cmp{unwritten, held}, chunk)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, errLostSeedGuard
		}
		rev, start = r, end
		if start < len(ops) {
			kctx, cancel := context.WithTimeout(ctx, e.timeout)
			_, _ = e.cli.KeepAliveOnce(kctx, lease) // a failure shows in the next chunk's condition
			cancel()
		}
	}
	return rev, nil
}

// awaitRevision waits until the published snapshot is at rev or later and
// reports whether it got there within the request timeout.
func (e *Etcd) awaitRevision(ctx context.Context, rev int64) bool {
	timer := time.NewTimer(e.timeout)
	defer timer.Stop()
	for {
		e.pubMu.Lock()
		cur, changed := e.state.Load(), e.changed
		e.pubMu.Unlock()
		if cur.snap.Revision >= rev {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		case <-e.ctx.Done():
			return false
		}
	}
}

var errLostSeedGuard = errors.New("store: etcd seed: lost the seed guard (its lease expired?) before finishing; nothing is in force, start again")

// clearItems are the operations that delete every host, rule and
// revocation under the prefix (not the marker or the guard).
func (e *Etcd) clearItems() []clientv3.Op {
	ops := make([]clientv3.Op, 0, len(kinds()))
	for _, k := range kinds() {
		ops = append(ops, clientv3.OpDelete(e.prefix+"/"+k.String()+"/", clientv3.WithPrefix()))
	}
	return ops
}

// txn commits ops if cmps hold, within the request timeout, and returns
// whether they held and the revision of the commit (or of the read).
func (e *Etcd) txn(ctx context.Context, cmps []clientv3.Cmp, ops []clientv3.Op) (bool, int64, error) {
	rctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	resp, err := e.cli.Txn(rctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, 0, fmt.Errorf("store: etcd commit: %w", e.unavailable(ctx, err))
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

// awaitChange waits until a snapshot newer than cur is published, or the
// request timeout passes (then it reads the prefix itself, in case the
// watch lags), or ctx ends.
func (e *Etcd) awaitChange(ctx context.Context, cur *etcdState) error {
	e.pubMu.Lock()
	changed := e.changed
	newer := e.state.Load() != cur
	e.pubMu.Unlock()
	if newer {
		return nil
	}
	timer := time.NewTimer(e.timeout)
	defer timer.Stop()
	select {
	case <-changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-e.ctx.Done():
		return ErrClosed
	case <-timer.C:
		if _, err := e.reload(ctx, false); err != nil {
			return fmt.Errorf("store: etcd read: %w", e.unavailable(ctx, err))
		}
		return nil
	}
}

func (e *Etcd) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case e.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e.closed.Load() {
		<-e.writer
		return ErrClosed
	}
	return nil
}

func (e *Etcd) unlock() { <-e.writer }

// key returns the etcd key of an item.
func (e *Etcd) key(k Kind, name string) string {
	return e.prefix + "/" + k.String() + "/" + name
}

// parseKey splits an etcd key under the prefix into kind and name.
func (e *Etcd) parseKey(key []byte) (Kind, string, bool) {
	rest, ok := strings.CutPrefix(string(key), e.prefix+"/")
	if !ok {
		return 0, "", false
	}
	for _, k := range kinds() {
		if name, ok := strings.CutPrefix(rest, k.String()+"/"); ok && name != "" {
			return k, name, true
		}
	}
	return 0, "", false
}

// decode turns a key-value into the resource, its etag set from the mod
// revision.
func decode(k Kind, name string, kv *mvccpb.KeyValue) (proto.Message, error) {
	m, err := decodeItem(k, name, kv.Value)
	if err != nil {
		return nil, err
	}
	k.SetEtag(m, strconv.FormatInt(kv.ModRevision, 10))
	return m, nil
}

// marshalWithoutEtag encodes v without its etag, which is the key's mod
// revision and so unknown until the commit. v's etag is left empty.
func marshalWithoutEtag(k Kind, v proto.Message) ([]byte, error) {
	k.SetEtag(v, "")
	return proto.Marshal(v)
}

// load reads the whole prefix with a quorum read.
func (e *Etcd) load(ctx context.Context) (*etcdState, error) {
	rctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	resp, err := e.cli.Get(rctx, e.prefix+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	raw := &Snapshot{Revision: resp.Header.Revision}
	var marker int64
	seeding := false
	items := map[Kind]map[string]proto.Message{}
	for _, k := range kinds() {
		items[k] = map[string]proto.Message{}
	}
	for _, kv := range resp.Kvs {
		switch string(kv.Key) {
		case e.marker:
			marker = kv.ModRevision
			continue
		case e.seeding:
			seeding = true
			continue
		}
		k, name, ok := e.parseKey(kv.Key)
		if !ok {
			continue
		}
		m, err := decode(k, name, kv)
		if err != nil {
			return nil, err
		}
		items[k][name] = m
	}
	for k, kindItems := range items {
		collections[k].set(raw, kindItems)
	}
	return newEtcdState(raw, marker, resp.Header.ClusterId, seeding), nil
}

// reload loads the prefix and publishes it; it returns the current state,
// which is the loaded one unless the watch published a newer one meanwhile.
// With force (the follower's resync, while no watch runs) an older revision
// is published too: the cluster was replaced or restored from a backup, and
// what it holds now is the configuration.
func (e *Etcd) reload(ctx context.Context, force bool) (*etcdState, error) {
	st, err := e.load(ctx)
	if err != nil {
		return nil, err
	}
	e.reloads.Add(1)
	e.pubMu.Lock()
	defer e.pubMu.Unlock()
	if st.marker == 0 && e.state.Load().marker != 0 {
		e.log.Error("store: the etcd prefix lost its configuration (cluster rebuilt empty?): every request is denied; "+
			"restore etcd from a backup, or restart one gateway to seed the prefix from its config file", "prefix", e.prefix)
	}
	if cur := e.state.Load().snap.Revision; force && st.snap.Revision < cur {
		e.log.Warn("store: the etcd revision went backwards (cluster replaced or restored?); serving what it holds now",
			"revision", st.snap.Revision, "previous_revision", cur)
		e.publishLocked(st, true)
	} else {
		e.publishLocked(st, false)
	}
	return e.state.Load(), nil
}

// publishLocked makes st current if it is newer than the current state, or
// with force if it differs; e.pubMu is held.
func (e *Etcd) publishLocked(st *etcdState, force bool) {
	if cur := e.state.Load().snap.Revision; st.snap.Revision == cur || st.snap.Revision < cur && !force {
		return
	}
	e.state.Store(st)
	close(e.changed)
	e.changed = make(chan struct{})
	e.hub.notify(st.snap)
}

// applyEvents applies a watch response's events to the current state.
// Events at or below its revision are already in it (a reload can overtake
// the watch).
func (e *Etcd) applyEvents(evs []*clientv3.Event) error {
	e.pubMu.Lock()
	defer e.pubMu.Unlock()
	cur := e.state.Load()
	next := *cur.raw
	raw := &next
	marker, seeding := cur.marker, cur.seeding
	touched := map[Kind]map[string]proto.Message{}
	for _, ev := range evs {
		kv := ev.Kv
		if kv.ModRevision <= cur.raw.Revision {
			continue
		}
		raw.Revision = max(raw.Revision, kv.ModRevision)
		switch string(kv.Key) {
		case e.marker:
			marker = kv.ModRevision
			if ev.Type == clientv3.EventTypeDelete {
				marker = 0
			}
			continue
		case e.seeding:
			seeding = ev.Type != clientv3.EventTypeDelete
			continue
		}
		k, name, ok := e.parseKey(kv.Key)
		if !ok {
			continue
		}
		items := touched[k]
		if items == nil {
			items = cur.raw.index(k)
			touched[k] = items
		}
		if ev.Type == clientv3.EventTypeDelete {
			delete(items, name)
			continue
		}
		m, err := decode(k, name, kv)
		if err != nil {
			return err
		}
		items[name] = m
	}
	for k, items := range touched {
		collections[k].set(raw, items)
	}
	e.publishLocked(newEtcdState(raw, marker, cur.cluster, seeding), false)
	return nil
}

// run follows the prefix until Close: a watch from the current revision;
// when it ends (error, compaction, lost leader, reconnect) a full reload,
// retried with backoff, and a new watch.
func (e *Etcd) run() {
	defer e.wg.Done()
	backoff := minReloadBackoff
	for {
		reload := e.follow()
		if e.ctx.Err() != nil {
			return
		}
		if !reload {
			continue
		}
		for {
			if _, err := e.reload(e.ctx, true); err == nil {
				e.setConnected(true, nil)
				backoff = minReloadBackoff
				break
			} else if e.ctx.Err() != nil {
				return
			} else {
				e.setConnected(false, err)
			}
			select {
			case <-time.After(backoff):
			case <-e.ctx.Done():
				return
			}
			backoff = min(2*backoff, maxReloadBackoff)
		}
	}
}

// follow applies the events of one watch, started after the current
// revision, until it ends. It reports whether a full reload is needed
// before the next watch.
func (e *Etcd) follow() (reload bool) {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(e.ctx))
	defer cancel()
	from := e.Snapshot().Revision + 1
	wch := e.cli.Watch(ctx, e.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(from))
	for {
		select {
		case <-e.ctx.Done():
			return false
		case <-e.resync:
			e.log.Info("store: etcd reachable again; reloading the configuration")
			return true
		case resume := <-e.pause:
			cancel()
			select {
			case <-resume:
			case <-e.ctx.Done():
			}
			return false
		case resp, ok := <-wch:
			if !ok {
				e.log.Warn("store: etcd watch closed; reloading the configuration")
				return true
			}
			if err := resp.Err(); err != nil {
				if resp.CompactRevision != 0 {
					e.log.Warn("store: etcd compacted past the watch; reloading the configuration",
						"watch_revision", from, "compact_revision", resp.CompactRevision)
				} else {
					e.log.Warn("store: etcd watch failed; reloading the configuration", "error", err.Error())
				}
				return true
			}
			if len(resp.Events) == 0 {
				continue
			}
			if err := e.applyEvents(resp.Events); err != nil {
				e.log.Error("store: etcd holds a value this gateway cannot read; keeping the previous configuration",
					"error", err.Error())
				return true
			}
		}
	}
}

// probeLoop checks the connection with a quorum read every probe interval
// and asks run for a full reload when the cluster comes back, or when it is
// another cluster than the one last read (replaced, or restored from a
// backup, possibly within one probe interval): the watch would wait for
// revisions the new cluster may never reach.
func (e *Etcd) probeLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.probe)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.timeout)
		resp, err := e.cli.Get(ctx, e.marker, clientv3.WithCountOnly())
		cancel()
		if e.ctx.Err() != nil {
			return
		}
		was := e.setConnected(err == nil, err)
		if err != nil {
			continue
		}
		if cur := e.state.Load(); !was || resp.Header.ClusterId != cur.cluster || resp.Header.Revision < cur.snap.Revision {
			select {
			case e.resync <- struct{}{}:
			default:
			}
		}
	}
}

// setConnected records the connection state and reports the previous one.
func (e *Etcd) setConnected(up bool, err error) (was bool) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	was = e.health.Connected
	if err != nil {
		e.health.LastError = err.Error()
	}
	if up == was {
		return was
	}
	e.health.Connected, e.health.Since = up, time.Now()
	if up {
		e.health.LastError = ""
		e.log.Info("store: etcd reachable", "revision", e.Snapshot().Revision)
	} else {
		e.log.Warn("store: etcd unreachable; serving the last configuration, admin writes fail",
			"revision", e.Snapshot().Revision, "error", e.health.LastError)
	}
	if e.onConn != nil {
		e.onConn(up)
	}
	return was
}

func (e *Etcd) connected() bool {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	return e.health.Connected
}

// unavailable wraps err with [ErrUnavailable] when it means the cluster
// could not be reached in time; the caller's own cancellation is returned
// as is.
func (e *Etcd) unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var code codes.Code
	var ee rpctypes.EtcdError
	switch {
	case errors.As(err, &ee):
		code = ee.Code()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = codes.Unavailable
	default:
		code = status.Code(err)
	}
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// Watch implements [Store].
func (e *Etcd) Watch(ctx context.Context) <-chan *Snapshot { return e.hub.add(ctx) }

// AppendAudit implements [Store]: records go to the local audit store.
func (e *Etcd) AppendAudit(recs ...*adminv1.AuditRecord) { e.local.AppendAudit(recs...) }

// FlushAudit implements [Store].
func (e *Etcd) FlushAudit(ctx context.Context) error { return e.local.FlushAudit(ctx) }

// QueryAudit implements [Store]. It sees this instance's records only.
func (e *Etcd) QueryAudit(ctx context.Context, q AuditQuery) ([]*adminv1.AuditRecord, string, error) {
	return e.local.QueryAudit(ctx, q)
}

// AuditLog implements [Store]: this instance's log, in the local store.
func (e *Etcd) AuditLog(ctx context.Context) (AuditLogInfo, error) { return e.local.AuditLog(ctx) }

// AuditCheckpoints implements [Store].
func (e *Etcd) AuditCheckpoints(ctx context.Context, pageSize int, pageToken string) ([]AuditCheckpoint, string, error) {
	return e.local.AuditCheckpoints(ctx, pageSize, pageToken)
}

// VerifyAudit implements [Store].
func (e *Etcd) VerifyAudit(ctx context.Context, extra []auditlog.Checkpoint) (auditlog.Result, error) {
	return e.local.VerifyAudit(ctx, extra)
}

// AuditProof implements [Store].
func (e *Etcd) AuditProof(ctx context.Context, index, treeSize int64) (AuditProof, error) {
	return e.local.AuditProof(ctx, index, treeSize)
}

// AuditHashes implements [Store].
func (e *Etcd) AuditHashes(ctx context.Context, start, end int64) (frontier, leaves []tlog.Hash, err error) {
	return e.local.AuditHashes(ctx, start, end)
}

// AuditDropped returns how many audit records the local store dropped.
func (e *Etcd) AuditDropped() uint64 { return e.local.AuditDropped() }

// Close implements [Store]. It waits for a running Apply, stops following
// the cluster, closes every Watch channel and the connection, and flushes
// and closes the local audit store. Close is idempotent.
func (e *Etcd) Close() error {
	e.writer <- struct{}{}
	defer e.unlock()
	if e.closed.Swap(true) {
		return nil
	}
	e.cancel()
	e.wg.Wait()
	e.hub.close()
	cliErr := e.cli.Close()
	if errors.Is(cliErr, context.Canceled) {
		cliErr = nil
	}
	return errors.Join(cliErr, e.local.Close())
}
