package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"
)

// FileName is the database file Open creates inside its directory.
const FileName = "msg.db"

// Defaults for [Options].
const (
	// DefaultAuditMaxAge keeps a month of audit records.
	DefaultAuditMaxAge = 30 * 24 * time.Hour
	// DefaultAuditMaxRecords keeps at most a million records, a few hundred
	// MB of database.
	DefaultAuditMaxRecords = 1_000_000
	// DefaultAuditQueueSize lets about 16 flush batches wait for the disk,
	// so a slow fsync stalls nothing for several seconds at 1000 calls/s.
	DefaultAuditQueueSize = 8192
)

// lockTimeout bounds the wait for the database's file lock, so that a second
// gateway on the same directory fails fast instead of hanging.
const lockTimeout = time.Second

var (
	bucketMeta  = []byte("meta")
	bucketAudit = []byte("audit")
	keyRevision = []byte("revision")
	keySchema   = []byte("schema")
)

// schemaVersion 2 added the audit log (auditlog.go); a schema 1 store is
// migrated when it is opened. An older gateway refuses a schema 2 store
// rather than write records outside the log.
const schemaVersion = 2

// Options configures [Open]. The zero value is usable.
type Options struct {
	// AuditMaxAge prunes audit records older than this. 0 means
	// [DefaultAuditMaxAge]; negative keeps records of any age.
	AuditMaxAge time.Duration
	// AuditMaxRecords prunes the oldest audit records beyond this many. 0
	// means [DefaultAuditMaxRecords]; negative keeps any number.
	AuditMaxRecords int
	// AuditQueueSize is how many records may wait for the audit writer
	// before AppendAudit drops. 0 means [DefaultAuditQueueSize].
	AuditQueueSize int
	// AuditSink, when set, also receives every audit record as one protojson
	// line (proto field names). It is written only by the audit writer
	// goroutine, after each batch, and is not closed by the store.
	AuditSink io.Writer
	// AuditCheckpointInterval is how often the audit log signs a checkpoint
	// while it grows. 0 means [DefaultAuditCheckpointInterval]. Close signs
	// one too.
	AuditCheckpointInterval time.Duration
	// OnAuditCheckpoint, when set, receives every signed checkpoint (a
	// signed note) once it is stored, from the audit writer's goroutine; it
	// must not block.
	OnAuditCheckpoint func(note []byte)
	// Logger receives dropped-record counts and write errors. Nil discards.
	Logger *slog.Logger
}

// Bolt is the embedded [Store]: one bbolt file, fsynced on every commit.
// Configuration writes are serialized; reads use the current [Snapshot]
// without locks.
type Bolt struct {
	db   *bolt.DB
	log  *slog.Logger
	snap atomic.Pointer[Snapshot]

	// writer is a one-slot semaphore serializing Apply, Seed and Close, so
	// that preconditions are checked against the snapshot being replaced.
	writer chan struct{}
	closed atomic.Bool

	hub watchHub

	audit *auditWriter
}

var _ Store = (*Bolt)(nil)

// Open opens or creates the store in dir (created with mode 0700; the
// database file dir/msg.db gets mode 0600, and the audit log's key
// dir/audit-key too). Only one process may have a store open: a second
// Open fails after about a second with [ErrLocked].
func Open(dir string, opts Options) (*Bolt, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w (is another msg-gateway using this directory?)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if created {
		// bbolt fsyncs the file, not the directory entry that names it.
		if err := syncDir(dir); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	b := &Bolt{
		db:     db,
		log:    opts.Logger,
		writer: make(chan struct{}, 1),
		hub:    watchHub{watchers: make(map[*watcher]struct{})},
	}
	snap, err := b.init()
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b.snap.Store(snap)
	if b.audit, err = startAuditWriter(db, dir, opts); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return b, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// init creates the buckets and loads the snapshot.
func (b *Bolt) init() (*Snapshot, error) {
	err := b.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySchema); v == nil {
			if err := meta.Put(keySchema, encodeInt(schemaVersion)); err != nil {
				return err
			}
		} else if got, ok := decodeInt(v); !ok || got < 1 || got > schemaVersion {
			// Schema 1 is migrated by the audit writer (auditlog.go).
			return fmt.Errorf("unsupported schema version %x (this build reads 1 to %d)", v, schemaVersion)
		}
		for _, k := range kinds() {
			if _, err := tx.CreateBucketIfNotExists(bucket(k)); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bucketAudit, bucketAuditIndex, bucketAuditHashes, bucketAuditCheckpoints} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{keyAuditSize, keyAuditFirst} {
			if meta.Get(k) == nil {
				if err := meta.Put(k, encodeInt(0)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{}
	err = b.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyRevision); v != nil {
			rev, ok := decodeInt(v)
			if !ok {
				return errors.New("corrupt revision")
			}
			snap.Revision = rev
		}
		for _, k := range kinds() {
			items, err := load(tx, k)
			if err != nil {
				return err
			}
			collections[k].set(snap, items)
		}
		return nil
	})
	return snap, err
}

// bucket is the bbolt bucket of a kind: its collection name.
func bucket(k Kind) []byte { return []byte(k.String()) }

// load decodes one bucket.
func load(tx *bolt.Tx, k Kind) (map[string]proto.Message, error) {
	out := map[string]proto.Message{}
	err := tx.Bucket(bucket(k)).ForEach(func(key, v []byte) error {
		m, err := decodeItem(k, string(key), v)
		if err != nil {
			return err
		}
		out[string(key)] = m
		return nil
	})
	return out, err
}

// decodeItem decodes a stored item and checks that it is stored under its
// own key.
func decodeItem(k Kind, key string, data []byte) (proto.Message, error) {
	m := k.New()
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", k, key, err)
	}
	if got := k.KeyOf(m); got != key {
		return nil, fmt.Errorf("%s/%s: stored under the wrong key (%q)", k, key, got)
	}
	return m, nil
}

// Snapshot implements [Store].
func (b *Bolt) Snapshot() *Snapshot { return b.snap.Load() }

// Apply implements [Store].
func (b *Bolt) Apply(ctx context.Context, muts []Mutation, validate func(*Snapshot) error) (*Snapshot, error) {
	if len(muts) == 0 {
		return nil, errors.New("store: empty batch")
	}
	if err := b.lock(ctx); err != nil {
		return nil, err
	}
	defer b.unlock()
	return b.apply(muts, validate)
}

// Seed implements [Store].
func (b *Bolt) Seed(ctx context.Context, hosts []*adminv1.Host, rules []*adminv1.Rule, validate func(*Snapshot) error) (bool, error) {
	if err := b.lock(ctx); err != nil {
		return false, err
	}
	defer b.unlock()
	if b.snap.Load().Revision != 0 {
		return false, nil
	}
	muts := seedBatch(hosts, rules)
	if len(muts) == 0 {
		return false, nil
	}
	if _, err := b.apply(muts, validate); err != nil {
		return false, err
	}
	return true, nil
}

func (b *Bolt) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case b.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if b.closed.Load() {
		<-b.writer
		return ErrClosed
	}
	return nil
}

func (b *Bolt) unlock() { <-b.writer }

// apply runs with the writer lock held: b.snap is the committed state.
func (b *Bolt) apply(muts []Mutation, validate func(*Snapshot) error) (*Snapshot, error) {
	cur := b.snap.Load()
	rev := cur.Revision + 1
	next, writes, err := plan(cur, muts, rev)
	if err != nil {
		return nil, err
	}
	if validate != nil {
		if err := validate(next); err != nil {
			return nil, err
		}
	}

	err = b.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		// The file is locked to this process and writes are serialized, so
		// this only fails if the database was changed behind our back.
		if stored, _ := decodeInt(meta.Get(keyRevision)); stored != cur.Revision {
			return fmt.Errorf("stored revision %d, expected %d", stored, cur.Revision)
		}
		for i, m := range muts {
			bk := tx.Bucket(bucket(m.Kind))
			if writes[i] == nil {
				if err := bk.Delete([]byte(m.Key)); err != nil {
					return err
				}
				continue
			}
			data, err := proto.Marshal(writes[i])
			if err != nil {
				return fmt.Errorf("%s/%s: %w", m.Kind, m.Key, err)
			}
			if err := bk.Put([]byte(m.Key), data); err != nil {
				return fmt.Errorf("%s/%s: %w", m.Kind, m.Key, err)
			}
		}
		return meta.Put(keyRevision, encodeInt(rev))
	})
	if err != nil {
		// After a failed commit the database is unchanged (bbolt rolls
		// back); the snapshot stays as it was.
		return nil, fmt.Errorf("store: commit revision %d: %w", rev, err)
	}
	b.snap.Store(next)
	b.notify(next)
	return next, nil
}

// Watch implements [Store].
func (b *Bolt) Watch(ctx context.Context) <-chan *Snapshot { return b.hub.add(ctx) }

// notify hands s to every watcher. notify runs under the writer lock, so
// snapshots arrive in revision order.
func (b *Bolt) notify(s *Snapshot) { b.hub.notify(s) }

// Close implements [Store]. It waits for a running Apply, flushes the audit
// queue and closes every Watch channel. Records appended after Close are
// dropped. Close is idempotent.
func (b *Bolt) Close() error {
	b.writer <- struct{}{}
	defer b.unlock()
	if b.closed.Swap(true) {
		return nil
	}
	flushErr := b.audit.close()
	b.hub.close()
	return errors.Join(flushErr, b.db.Close())
}

func encodeInt(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func decodeInt(b []byte) (int64, bool) {
	if len(b) != 8 {
		return 0, b == nil
	}
	return int64(binary.BigEndian.Uint64(b)), true
}
