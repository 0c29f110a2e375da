package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The audit writer commits one transaction (one fsync) per batch: at most
// auditBatchSize records, at least every auditFlushInterval.
const (
	auditBatchSize     = 512
	auditFlushInterval = time.Second
	// auditPruneLimit bounds the deletions per transaction, so that lowering
	// the retention does not produce one huge transaction.
	auditPruneLimit = 10_000
	// sinkErrorInterval rate-limits the log line about a failing sink.
	sinkErrorInterval = 10 * time.Second
)

// auditScanLimit bounds how many records one QueryAudit decodes, so that a
// filter matching little cannot walk the whole trail in one request. A
// variable so that tests can lower it.
var auditScanLimit = 100_000

// auditKey is 8 bytes of the record's time (Unix nanoseconds, big endian)
// and 8 bytes of the bucket's sequence: keys sort by time, ties by arrival.
const auditKeyLen = 16

var sinkJSON = protojson.MarshalOptions{UseProtoNames: true}

// auditWriter owns the audit buckets' writes: the records and the Merkle
// log over them (auditlog.go). Everything below the channels is touched only
// by its goroutine.
type auditWriter struct {
	db           *bolt.DB
	log          *slog.Logger
	sink         io.Writer
	maxAge       time.Duration
	maxRecords   int
	key          *auditlog.Key
	interval     time.Duration
	onCheckpoint func([]byte)

	queue    chan *adminv1.AuditRecord
	flushReq chan chan error
	stop     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	dropped  atomic.Uint64

	count       int    // records in the bucket
	oldest      uint64 // time part of the first record's key, when count > 0
	pruneMore   bool   // the last prune hit auditPruneLimit
	size        int64  // the log's size: the next record's index
	first       int64  // the index of the oldest record kept
	lastCP      int64  // the size of the latest checkpoint
	lastCPAt    time.Time
	loggedDrops uint64
	lastSinkErr time.Time
	closeErr    error
	sinkBuf     bytes.Buffer
	marshalled  [][]byte
}

func startAuditWriter(db *bolt.DB, dir string, opts Options) (*auditWriter, error) {
	key, err := loadAuditKey(db, dir)
	if err != nil {
		return nil, err
	}
	a := &auditWriter{
		db:           db,
		log:          opts.Logger,
		sink:         opts.AuditSink,
		maxAge:       opts.AuditMaxAge,
		maxRecords:   opts.AuditMaxRecords,
		key:          key,
		interval:     opts.AuditCheckpointInterval,
		onCheckpoint: opts.OnAuditCheckpoint,
		flushReq:     make(chan chan error),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	if a.maxAge == 0 {
		a.maxAge = DefaultAuditMaxAge
	}
	if a.maxRecords == 0 {
		a.maxRecords = DefaultAuditMaxRecords
	}
	if a.interval <= 0 {
		a.interval = DefaultAuditCheckpointInterval
	}
	size := opts.AuditQueueSize
	if size <= 0 {
		size = DefaultAuditQueueSize
	}
	a.queue = make(chan *adminv1.AuditRecord, size)
	if err := a.startLog(); err != nil {
		return nil, err
	}
	go a.run()
	return a, nil
}

// AppendAudit implements [Store]. It costs a channel send: no encoding, no
// I/O. A record that finds the queue full is dropped, counted
// ([Bolt.AuditDropped]) and reported in the log by the writer.
func (b *Bolt) AppendAudit(recs ...*adminv1.AuditRecord) {
	a := b.audit
	for _, r := range recs {
		if r == nil {
			continue
		}
		if a.closed.Load() {
			a.dropped.Add(1)
			continue
		}
		select {
		case a.queue <- r:
		default:
			a.dropped.Add(1)
		}
	}
}

// AuditDropped returns how many audit records were dropped since Open
// because the queue was full or the store closed.
func (b *Bolt) AuditDropped() uint64 { return b.audit.dropped.Load() }

// FlushAudit implements [Store].
func (b *Bolt) FlushAudit(ctx context.Context) error {
	a := b.audit
	if a.closed.Load() {
		return ErrClosed
	}
	reply := make(chan error, 1)
	select {
	case a.flushReq <- reply:
	case <-a.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the writer after it has written everything queued.
func (a *auditWriter) close() error {
	if a.closed.Swap(true) {
		return nil
	}
	close(a.stop)
	<-a.done
	return a.closeErr
}

func (a *auditWriter) run() {
	defer close(a.done)
	tick := time.NewTicker(auditFlushInterval)
	defer tick.Stop()
	batch := make([]*adminv1.AuditRecord, 0, auditBatchSize)
	for {
		select {
		case r := <-a.queue:
			batch = append(batch, r)
			if len(batch) < auditBatchSize {
				continue
			}
			a.logError(a.write(batch))
			batch = batch[:0]
		case <-tick.C:
			a.logError(a.write(batch))
			batch = batch[:0]
			a.reportDrops()
		case reply := <-a.flushReq:
			var err error
			batch, err = a.drain(batch)
			reply <- err
		case <-a.stop:
			_, err := a.drain(batch)
			a.reportDrops()
			a.closeErr = errors.Join(err, a.finalCheckpoint())
			return
		}
	}
}

// drain writes batch and everything queued when it is called, in batches.
// Records queued later wait for the next round: a busy gateway cannot keep
// a flush going forever.
func (a *auditWriter) drain(batch []*adminv1.AuditRecord) ([]*adminv1.AuditRecord, error) {
	var errs []error
	for n := len(a.queue); n > 0; n-- {
		batch = append(batch, <-a.queue)
		if len(batch) == auditBatchSize {
			errs = append(errs, a.write(batch))
			batch = batch[:0]
		}
	}
	errs = append(errs, a.write(batch))
	return batch[:0], errors.Join(errs...)
}

func (a *auditWriter) logError(err error) {
	if err != nil {
		a.log.Error("audit: write failed; records lost from the store", "error", err)
	}
}

func (a *auditWriter) reportDrops() {
	if d := a.dropped.Load(); d != a.loggedDrops {
		a.log.Warn("audit: queue full, records dropped", "dropped", d-a.loggedDrops, "total_dropped", d)
		a.loggedDrops = d
	}
}

// pruneDue reports whether retention has work to do even without new
// records.
func (a *auditWriter) pruneDue(now time.Time) bool {
	if a.pruneMore || (a.maxRecords > 0 && a.count > a.maxRecords) {
		return true
	}
	return a.maxAge > 0 && a.count > 0 && a.oldest < timeKey(now.Add(-a.maxAge))
}

// checkpointDue reports whether a log of size records needs a checkpoint.
func (a *auditWriter) checkpointDue(size int64, now time.Time) bool {
	return size > a.lastCP && now.Sub(a.lastCPAt) >= a.interval
}

// write commits batch, the log's hashes over it, retention and, when due, a
// checkpoint in one transaction, then copies the committed records to the
// sink. Hashing happens here, off the calls' path: a record costs its
// callers a channel send. The records' slots in batch are cleared.
func (a *auditWriter) write(batch []*adminv1.AuditRecord) error {
	defer clear(batch)
	now := time.Now()
	if len(batch) == 0 && !a.pruneDue(now) && !a.checkpointDue(a.size, now) {
		return nil
	}
	a.marshalled = a.marshalled[:0]
	var errs []error
	size := a.size
	for _, r := range batch {
		if r.Time == nil {
			r.Time = timestamppb.New(now)
		}
		r.Index, r.Instance = proto.Int64(size), a.key.Instance
		data, err := auditlog.Leaf(r)
		if err != nil {
			// A record that does not encode gets no index: the log has no
			// gaps.
			errs = append(errs, err)
			data = nil
		} else {
			size++
		}
		a.marshalled = append(a.marshalled, data)
	}
	var first int64
	var oldest uint64
	var more bool
	var signed []byte
	err := a.db.Update(func(tx *bolt.Tx) error {
		signed = nil
		bk, ib, hb := tx.Bucket(bucketAudit), tx.Bucket(bucketAuditIndex), tx.Bucket(bucketAuditHashes)
		// Keys arrive almost in order: split full pages, not half-full ones.
		bk.FillPercent, ib.FillPercent, hb.FillPercent = 0.9, 1, 1
		for i, r := range batch {
			leaf := a.marshalled[i]
			if leaf == nil {
				continue
			}
			seq, err := bk.NextSequence()
			if err != nil {
				return err
			}
			key := auditKey(timeKey(r.Time.AsTime()), seq)
			if err := bk.Put(key, leaf); err != nil {
				return err
			}
			if err := ib.Put(u64key(r.GetIndex()), key); err != nil {
				return err
			}
			if err := appendLeaf(hb, r.GetIndex(), leaf); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyAuditSize, encodeInt(size)); err != nil {
			return err
		}
		var err error
		if first, more, err = a.prune(tx, size, now); err != nil {
			return err
		}
		if err := meta.Put(keyAuditFirst, encodeInt(first)); err != nil {
			return err
		}
		oldest = 0
		if k := ib.Get(u64key(first)); k != nil {
			oldest = keyTime(k)
		}
		if a.checkpointDue(size, now) {
			signed, err = a.checkpoint(tx, size, now)
		}
		return err
	})
	if err != nil {
		// Nothing of the batch was stored, and its indexes are given again:
		// the sink, a copy of the log, does not get it either.
		return errors.Join(append(errs, fmt.Errorf("%d records lost from the store and the JSON-lines file: %w", size-a.size, err))...)
	}
	a.size, a.first, a.count, a.oldest, a.pruneMore = size, first, int(size-first), oldest, more
	if signed != nil {
		a.checkpointed(size, now, signed)
	}
	a.writeSink(batch)
	return errors.Join(errs...)
}

// prune deletes the oldest records, in index order, beyond the count limit
// and those older than the age limit, at most auditPruneLimit of them, and
// the hashes and checkpoints that only they needed. It returns the index of
// the oldest record kept. The time limit stops at the first record young
// enough: records reach the writer almost in time order, so a few that
// queued behind a younger one may stay a moment longer.
func (a *auditWriter) prune(tx *bolt.Tx, size int64, now time.Time) (int64, bool, error) {
	from := a.first
	excess := int64(0)
	if a.maxRecords > 0 && size-from > int64(a.maxRecords) {
		excess = size - from - int64(a.maxRecords)
	}
	var cutoff uint64
	if a.maxAge > 0 {
		cutoff = timeKey(now.Add(-a.maxAge))
	}
	bk, ib := tx.Bucket(bucketAudit), tx.Bucket(bucketAuditIndex)
	first, more := from, false
	for ; first < size; first++ {
		ik := u64key(first)
		k := ib.Get(ik)
		if first-from >= excess && (k == nil || keyTime(k) >= cutoff) {
			break
		}
		if first-from == auditPruneLimit {
			more = true
			break
		}
		if k != nil {
			if err := bk.Delete(k); err != nil {
				return 0, false, err
			}
		}
		if err := ib.Delete(ik); err != nil {
			return 0, false, err
		}
	}
	if first == from {
		return first, false, nil
	}
	if err := thinHashes(tx.Bucket(bucketAuditHashes), from, first); err != nil {
		return 0, false, err
	}
	return first, more, pruneCheckpoints(tx.Bucket(bucketAuditCheckpoints), first)
}

// writeSink writes batch to the sink as JSON lines, in one Write call.
func (a *auditWriter) writeSink(batch []*adminv1.AuditRecord) {
	if a.sink == nil || len(batch) == 0 {
		return
	}
	a.sinkBuf.Reset()
	for i, r := range batch {
		if a.marshalled[i] == nil {
			continue // not in the log
		}
		line, err := sinkJSON.Marshal(r)
		if err != nil {
			continue
		}
		a.sinkBuf.Write(line)
		a.sinkBuf.WriteByte('\n')
	}
	if _, err := a.sink.Write(a.sinkBuf.Bytes()); err != nil {
		if now := time.Now(); now.Sub(a.lastSinkErr) >= sinkErrorInterval {
			a.lastSinkErr = now
			a.log.Error("audit: sink write failed", "error", err)
		}
	}
}

// QueryAudit implements [Store]. It reads only records already written (see
// FlushAudit). One call decodes at most a bounded number of records; when a
// sparse filter exhausts that budget it returns the matches found so far,
// possibly none, with a token to continue.
func (b *Bolt) QueryAudit(ctx context.Context, q AuditQuery) ([]*adminv1.AuditRecord, string, error) {
	size := q.PageSize
	if size <= 0 {
		size = 100
	}
	size = min(size, 1000)
	// upper is an exclusive bound: the page token, or End.
	var upper []byte
	if q.PageToken != "" {
		tok, err := base64.RawURLEncoding.DecodeString(q.PageToken)
		if err != nil || len(tok) != auditKeyLen {
			return nil, "", ErrInvalidPageToken
		}
		upper = tok
	}
	if !q.End.IsZero() {
		if end := auditKey(timeKey(q.End), 0); upper == nil || bytes.Compare(end, upper) < 0 {
			upper = end
		}
	}
	var start uint64
	if !q.Start.IsZero() {
		start = timeKey(q.Start)
	}
	var out []*adminv1.AuditRecord
	var next string
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		var k, v []byte
		if upper == nil {
			k, v = c.Last()
		} else if k, _ = c.Seek(upper); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		var last, lastOut []byte // the last key scanned, and returned
		for scanned := 0; k != nil; k, v = c.Prev() {
			if len(k) != auditKeyLen {
				continue
			}
			if keyTime(k) < start {
				break
			}
			if scanned == auditScanLimit {
				next = base64.RawURLEncoding.EncodeToString(last)
				return nil
			}
			scanned++
			if scanned%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			r := new(adminv1.AuditRecord)
			if err := proto.Unmarshal(v, r); err != nil {
				return fmt.Errorf("store: audit record %x: %w", k, err)
			}
			last = k
			if !matches(r, &q) {
				continue
			}
			if len(out) == size {
				// Another match exists: the page is not the last one.
				next = base64.RawURLEncoding.EncodeToString(lastOut)
				return nil
			}
			out = append(out, r)
			lastOut = k
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			err = ErrClosed
		}
		return nil, "", err
	}
	return out, next, nil
}

func matches(r *adminv1.AuditRecord, q *AuditQuery) bool {
	return (q.Principal == "" || r.GetPrincipal() == q.Principal) &&
		(q.Host == "" || r.GetHost() == q.Host) &&
		(q.Decision == adminv1.Decision_DECISION_UNSPECIFIED || r.GetDecision() == q.Decision) &&
		(q.Kind == adminv1.RecordKind_RECORD_KIND_UNSPECIFIED || r.GetKind() == q.Kind)
}

// timeKey maps t to the time part of an audit key, clamped to what fits.
func timeKey(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

func keyTime(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

func auditKey(t, seq uint64) []byte {
	k := make([]byte, 0, auditKeyLen)
	k = binary.BigEndian.AppendUint64(k, t)
	return binary.BigEndian.AppendUint64(k, seq)
}
