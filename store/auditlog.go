package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"
)

// The audit log: every record the writer stores is also the next leaf of
// this instance's Merkle tree (package auditlog). Beside the records, keyed
// by time for queries, the store keeps:
//
//   - audit_index: the record's index (8 bytes, big endian) -> its key in
//     the audit bucket, so the log can be walked in index order;
//   - audit_hashes: the tree's hashes at their tlog stored-hash indexes
//     (8 bytes) -> 32 bytes; the leaf hash of record n is at
//     tlog.StoredHashIndex(0, n);
//   - audit_checkpoints: the tree size (8 bytes) -> the signed checkpoint.
//
// The meta bucket holds the log's size, the index of its oldest kept record
// and the verifier key of the instance key that signs it (the key itself is
// the file auditlog.KeyFileName in the store's directory).
var (
	bucketAuditIndex       = []byte("audit_index")
	bucketAuditHashes      = []byte("audit_hashes")
	bucketAuditCheckpoints = []byte("audit_checkpoints")
	keyAuditSize           = []byte("audit_size")
	keyAuditFirst          = []byte("audit_first")
	keyAuditVerifier       = []byte("audit_verifier")
	// keyAuditMigrated is the last audit key a schema 1 store's migration
	// gave an index, while it runs.
	keyAuditMigrated = []byte("audit_migrated")
)

// DefaultAuditCheckpointInterval is how often the audit log signs a
// checkpoint while it grows.
const DefaultAuditCheckpointInterval = 10 * time.Second

// maxAuditHashes bounds one AuditHashes answer.
const maxAuditHashes = 100_000

// migrateChunk is how many records of a schema 1 store get their index per
// transaction.
const migrateChunk = 10_000

// ErrAuditRange means a request named records or a tree size the audit log
// does not hold (pruned, not yet written, or no checkpoint of that size).
var ErrAuditRange = errors.New("outside the audit log")

// AuditLogInfo describes an instance's audit log.
type AuditLogInfo struct {
	// Instance is the id every record carries.
	Instance string
	// Origin names the log in its checkpoints and is its key's name.
	Origin string
	// VerifierKey verifies the checkpoints (signed note verifier key).
	VerifierKey string
	// Size is the number of records written so far.
	Size int64
	// First is the index of the oldest record kept.
	First int64
	// Latest is the latest checkpoint; nil before the first.
	Latest *AuditCheckpoint
}

// AuditCheckpoint is a signed checkpoint.
type AuditCheckpoint struct {
	auditlog.Checkpoint
	// Note is the signed note.
	Note []byte
}

// AuditProof proves that one record is in a signed tree.
type AuditProof struct {
	// Record is the record, decoded from Leaf.
	Record *adminv1.AuditRecord
	// Leaf is the record's leaf, as hashed.
	Leaf []byte
	// Checkpoint signs the tree the proof leads to.
	Checkpoint AuditCheckpoint
	// Proof is the RFC 6962 inclusion proof (tlog.CheckRecord checks it).
	Proof tlog.RecordProof
}

func u64key(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func keyU64(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

func metaInt(meta *bolt.Bucket, key []byte) (int64, error) {
	v, ok := decodeInt(meta.Get(key))
	if !ok {
		return 0, fmt.Errorf("corrupt %s", key)
	}
	return v, nil
}

// hashReader reads stored hashes inside a transaction (which sees its own
// writes).
func hashReader(hb *bolt.Bucket) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			v := hb.Get(u64key(x))
			if len(v) != tlog.HashSize {
				return nil, fmt.Errorf("audit log: stored hash %d is missing", x)
			}
			copy(out[i][:], v)
		}
		return out, nil
	})
}

// appendLeaf stores the tree hashes that leaf n adds.
func appendLeaf(hb *bolt.Bucket, n int64, leaf []byte) error {
	hs, err := tlog.StoredHashes(n, leaf, hashReader(hb))
	if err != nil {
		return err
	}
	at := tlog.StoredHashIndex(0, n)
	for j := range hs {
		if err := hb.Put(u64key(at+int64(j)), hs[j][:]); err != nil {
			return err
		}
	}
	return nil
}

// thinHashes deletes the stored hashes that no longer matter once the
// records from to first are pruned: a subtree entirely before first is
// kept only while it is one of the largest such subtrees (its parent
// reaches past first). Those few (one per set bit of first) and every
// hash over kept records still give every root, proof and new leaf from
// first on; the rest would grow the store by two hashes per record forever.
func thinHashes(hb *bolt.Bucket, from, first int64) error {
	for level := 0; level < 62 && int64(1)<<(level+1) <= first; level++ {
		for k := 2 * (from >> (level + 1)); k < 2*(first>>(level+1)); k++ {
			if err := hb.Delete(u64key(tlog.StoredHashIndex(level, k))); err != nil {
				return err
			}
		}
	}
	return nil
}

// pruneCheckpoints deletes the checkpoints of trees smaller than first,
// which cover no kept record, except the latest one.
func pruneCheckpoints(cb *bolt.Bucket, first int64) error {
	last, _ := cb.Cursor().Last()
	var dead [][]byte
	c := cb.Cursor()
	for k, _ := c.First(); k != nil && keyU64(k) < first && !bytes.Equal(k, last); k, _ = c.Next() {
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := cb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// loadAuditKey returns the instance key of the store in dir: the one the
// log was started with, or a new one for a new log. A log whose key file is
// missing or holds another key does not open: checkpoints signed by a new
// key would prove nothing about the records before it.
func loadAuditKey(db *bolt.DB, dir string) (*auditlog.Key, error) {
	var want string
	if err := db.View(func(tx *bolt.Tx) error {
		want = string(tx.Bucket(bucketMeta).Get(keyAuditVerifier))
		return nil
	}); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, auditlog.KeyFileName)
	if want != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("the audit log's key %s is missing (its checkpoints verify with %s): restore it, or move the data directory aside to start a new log", path, want)
		}
	}
	key, err := auditlog.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if want != "" && key.VerifierKey != want {
		return nil, fmt.Errorf("%s is not the key of this audit log (its checkpoints verify with %s): restore the right key, or move the data directory aside to start a new log", path, want)
	}
	return key, nil
}

// startLog records the key of a new log, gives the records of a schema 1
// store their indexes, and loads the log's state into a.
func (a *auditWriter) startLog() error {
	err := a.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyAuditVerifier) == nil {
			return meta.Put(keyAuditVerifier, []byte(a.key.VerifierKey))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.migrate(); err != nil {
		return fmt.Errorf("giving the audit records their log indexes: %w", err)
	}
	return a.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var err error
		if a.size, err = metaInt(meta, keyAuditSize); err != nil {
			return err
		}
		if a.first, err = metaInt(meta, keyAuditFirst); err != nil {
			return err
		}
		a.count = int(a.size - a.first)
		if k := tx.Bucket(bucketAuditIndex).Get(u64key(a.first)); k != nil {
			a.oldest = keyTime(k)
		}
		if k, v := tx.Bucket(bucketAuditCheckpoints).Cursor().Last(); k != nil {
			a.lastCP = keyU64(k)
			if c, err := auditlog.Open(v, a.key.Verifier); err == nil {
				a.lastCPAt = c.Time
			}
		}
		a.checkLastCheckpoint(tx)
		return nil
	})
}

// checkLastCheckpoint compares the stored log with its latest checkpoint at
// start. A mismatch means the data directory was changed while the gateway
// was not running; it is logged loudly, and the gateway goes on recording
// (refusing to start would stop the recording too). `msgctl audit verify`
// names the record.
func (a *auditWriter) checkLastCheckpoint(tx *bolt.Tx) {
	k, v := tx.Bucket(bucketAuditCheckpoints).Cursor().Last()
	if k == nil {
		return
	}
	c, err := auditlog.Open(v, a.key.Verifier)
	switch {
	case err != nil:
		a.log.Error("AUDIT LOG TAMPERED: its latest stored checkpoint does not verify", "error", err.Error())
	case c.Size > a.size:
		a.log.Error("AUDIT LOG TAMPERED: records are missing at its end", "records", a.size, "checkpoint_records", c.Size)
	case c.Size >= a.first:
		root, err := tlog.TreeHash(c.Size, hashReader(tx.Bucket(bucketAuditHashes)))
		if err != nil || root != c.Root {
			a.log.Error("AUDIT LOG TAMPERED: its hashes do not match its latest checkpoint", "checkpoint_records", c.Size)
		}
	}
}

// migrate gives the records of a store written before the log existed
// (schema 1) their indexes in time order, a few thousand per transaction,
// and then marks the store schema 2. An interrupted migration resumes.
func (a *auditWriter) migrate() error {
	for {
		done := false
		err := a.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if v, _ := decodeInt(meta.Get(keySchema)); v == schemaVersion {
				done = true
				return nil
			}
			size, err := metaInt(meta, keyAuditSize)
			if err != nil {
				return err
			}
			ab := tx.Bucket(bucketAudit)
			c := ab.Cursor()
			var k, v []byte
			if after := meta.Get(keyAuditMigrated); after != nil {
				if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
			} else {
				k, v = c.First()
			}
			type item struct{ key, leaf []byte }
			var chunk []item
			for ; k != nil && len(chunk) < migrateChunk; k, v = c.Next() {
				r := new(adminv1.AuditRecord)
				if err := proto.Unmarshal(v, r); err != nil {
					return fmt.Errorf("audit record %x: %w", k, err)
				}
				r.Index, r.Instance = proto.Int64(size+int64(len(chunk))), a.key.Instance
				leaf, err := auditlog.Leaf(r)
				if err != nil {
					return fmt.Errorf("audit record %x: %w", k, err)
				}
				chunk = append(chunk, item{bytes.Clone(k), leaf})
			}
			ib, hb := tx.Bucket(bucketAuditIndex), tx.Bucket(bucketAuditHashes)
			for _, it := range chunk {
				if err := ab.Put(it.key, it.leaf); err != nil {
					return err
				}
				if err := ib.Put(u64key(size), it.key); err != nil {
					return err
				}
				if err := appendLeaf(hb, size, it.leaf); err != nil {
					return err
				}
				size++
			}
			if err := meta.Put(keyAuditSize, encodeInt(size)); err != nil {
				return err
			}
			if len(chunk) == migrateChunk {
				return meta.Put(keyAuditMigrated, chunk[len(chunk)-1].key)
			}
			done = true
			if err := meta.Delete(keyAuditMigrated); err != nil {
				return err
			}
			return meta.Put(keySchema, encodeInt(schemaVersion))
		})
		if err != nil || done {
			return err
		}
	}
}

// checkpoint signs the tree of size records, inside the transaction that
// completes it.
func (a *auditWriter) checkpoint(tx *bolt.Tx, size int64, now time.Time) ([]byte, error) {
	root, err := tlog.TreeHash(size, hashReader(tx.Bucket(bucketAuditHashes)))
	if err != nil {
		return nil, err
	}
	signed, err := auditlog.Sign(auditlog.Checkpoint{Origin: a.key.Signer.Name(), Size: size, Root: root, Time: now}, a.key.Signer)
	if err != nil {
		return nil, err
	}
	return signed, tx.Bucket(bucketAuditCheckpoints).Put(u64key(size), signed)
}

// finalCheckpoint signs the tree at Close, when it grew since the last
// checkpoint.
func (a *auditWriter) finalCheckpoint() error {
	if a.size <= a.lastCP {
		return nil
	}
	now := time.Now()
	var signed []byte
	err := a.db.Update(func(tx *bolt.Tx) error {
		var err error
		signed, err = a.checkpoint(tx, a.size, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit log: signing the last checkpoint: %w", err)
	}
	a.checkpointed(a.size, now, signed)
	return nil
}

// checkpointed records a committed checkpoint and hands it on.
func (a *auditWriter) checkpointed(size int64, at time.Time, signed []byte) {
	a.lastCP, a.lastCPAt = size, at
	if a.onCheckpoint != nil {
		a.onCheckpoint(signed)
	}
}

// view runs fn in a read transaction, mapping a closed database.
func (b *Bolt) view(fn func(*bolt.Tx) error) error {
	err := b.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// AuditLog describes this store's audit log.
func (b *Bolt) AuditLog(ctx context.Context) (AuditLogInfo, error) {
	k := b.audit.key
	info := AuditLogInfo{Instance: k.Instance, Origin: k.Signer.Name(), VerifierKey: k.VerifierKey}
	err := b.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var err error
		if info.Size, err = metaInt(meta, keyAuditSize); err != nil {
			return err
		}
		if info.First, err = metaInt(meta, keyAuditFirst); err != nil {
			return err
		}
		if _, v := tx.Bucket(bucketAuditCheckpoints).Cursor().Last(); v != nil {
			c, err := b.openCheckpoint(v)
			if err != nil {
				return err
			}
			info.Latest = &c
		}
		return nil
	})
	return info, err
}

func (b *Bolt) openCheckpoint(v []byte) (AuditCheckpoint, error) {
	c, err := auditlog.Open(v, b.audit.key.Verifier)
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("stored %w", err)
	}
	return AuditCheckpoint{Checkpoint: c, Note: bytes.Clone(v)}, nil
}

// AuditCheckpoints returns the stored checkpoints, smallest tree first, a
// page at a time (pageSize 0: 100, at most 1000).
func (b *Bolt) AuditCheckpoints(ctx context.Context, pageSize int, pageToken string) ([]AuditCheckpoint, string, error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	pageSize = min(pageSize, 1000)
	var from []byte
	if pageToken != "" {
		tok, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || len(tok) != 8 {
			return nil, "", ErrInvalidPageToken
		}
		from = tok
	}
	var out []AuditCheckpoint
	var next string
	err := b.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAuditCheckpoints).Cursor()
		k, v := c.First()
		if from != nil {
			k, v = c.Seek(from)
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == pageSize {
				next = base64.RawURLEncoding.EncodeToString(k)
				return nil
			}
			cp, err := b.openCheckpoint(v)
			if err != nil {
				return err
			}
			out = append(out, cp)
		}
		return nil
	})
	return out, next, err
}

// AuditHashes returns the frontier of the records before start and the
// stored leaf hashes of records start to end-1 (at most 100000).
func (b *Bolt) AuditHashes(ctx context.Context, start, end int64) (frontier, leaves []tlog.Hash, err error) {
	err = b.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		size, err := metaInt(meta, keyAuditSize)
		if err != nil {
			return err
		}
		first, err := metaInt(meta, keyAuditFirst)
		if err != nil {
			return err
		}
		if start < first || end > size || start > end || end-start > maxAuditHashes {
			return fmt.Errorf("records %d to %d of a log that keeps %d to %d: %w", start, end-1, first, size-1, ErrAuditRange)
		}
		r := hashReader(tx.Bucket(bucketAuditHashes))
		if frontier, err = r.ReadHashes(auditlog.FrontierIndexes(start)); err != nil {
			return err
		}
		idx := make([]int64, 0, end-start)
		for i := start; i < end; i++ {
			idx = append(idx, tlog.StoredHashIndex(0, i))
		}
		leaves, err = r.ReadHashes(idx)
		return err
	})
	return frontier, leaves, err
}

// AuditProof returns record index with its inclusion proof in the signed
// tree of treeSize records (0: the latest checkpoint).
func (b *Bolt) AuditProof(ctx context.Context, index, treeSize int64) (AuditProof, error) {
	var p AuditProof
	err := b.view(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketAuditCheckpoints)
		var v []byte
		if treeSize == 0 {
			_, v = cb.Cursor().Last()
		} else {
			v = cb.Get(u64key(treeSize))
		}
		if v == nil {
			return fmt.Errorf("no checkpoint of %d records: %w", treeSize, ErrAuditRange)
		}
		cp, err := b.openCheckpoint(v)
		if err != nil {
			return err
		}
		if index < 0 || index >= cp.Size {
			return fmt.Errorf("record %d is not in the checkpoint of %d records: %w", index, cp.Size, ErrAuditRange)
		}
		key := tx.Bucket(bucketAuditIndex).Get(u64key(index))
		if key == nil {
			return fmt.Errorf("record %d is not stored (pruned): %w", index, ErrAuditRange)
		}
		leaf := tx.Bucket(bucketAudit).Get(key)
		if leaf == nil {
			return fmt.Errorf("record %d is missing", index)
		}
		rec := new(adminv1.AuditRecord)
		if err := proto.Unmarshal(leaf, rec); err != nil {
			return fmt.Errorf("record %d: %w", index, err)
		}
		proof, err := tlog.ProveRecord(cp.Size, index, hashReader(tx.Bucket(bucketAuditHashes)))
		if err != nil {
			return err
		}
		p = AuditProof{Record: rec, Leaf: bytes.Clone(leaf), Checkpoint: cp, Proof: proof}
		return nil
	})
	return p, err
}

// VerifyAudit checks the stored log against its stored checkpoints and
// extra ones (already opened with this log's key, e.g. a witness's); see
// [auditlog.Verification]. It reads what is written: flush first for the
// newest records. Besides the records in index order, it checks that every
// stored record is one of the log's, so a record added to the time-ordered
// records only (what queries show) is found too.
func (b *Bolt) VerifyAudit(ctx context.Context, extra []auditlog.Checkpoint) (auditlog.Result, error) {
	key := b.audit.key
	var res auditlog.Result
	err := b.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		size, err := metaInt(meta, keyAuditSize)
		if err != nil {
			return err
		}
		first, err := metaInt(meta, keyAuditFirst)
		if err != nil {
			return err
		}
		broken := func(at int64, problem string) error {
			res = auditlog.Result{Start: first, End: first, VerifiedSize: first, FirstBad: at, Problem: problem}
			return nil
		}
		cps := append([]auditlog.Checkpoint(nil), extra...)
		if err := tx.Bucket(bucketAuditCheckpoints).ForEach(func(k, v []byte) error {
			c, err := auditlog.Open(v, key.Verifier)
			if err != nil {
				return fmt.Errorf("stored checkpoint of %d records: %w", keyU64(k), err)
			}
			cps = append(cps, c)
			return nil
		}); err != nil {
			return broken(first, err.Error())
		}
		r := hashReader(tx.Bucket(bucketAuditHashes))
		frontier, err := r.ReadHashes(auditlog.FrontierIndexes(first))
		if err != nil {
			return broken(first, "the hashes of the pruned records are missing: "+err.Error())
		}
		v, err := auditlog.NewVerification(auditlog.VerifyOptions{
			Instance: key.Instance, Start: first, Frontier: frontier, Checkpoints: cps,
			// The stored leaf hashes are the second copy that names the
			// first changed record when only the records were edited.
			LeafHashes: func(start, end int64) ([]tlog.Hash, error) {
				idx := make([]int64, 0, end-start)
				for i := start; i < end; i++ {
					idx = append(idx, tlog.StoredHashIndex(0, i))
				}
				return r.ReadHashes(idx)
			},
		})
		if err != nil {
			return broken(first, err.Error())
		}
		ab := tx.Bucket(bucketAudit)
		c := tx.Bucket(bucketAuditIndex).Cursor()
		n := 0
		for k, ak := c.Seek(u64key(first)); k != nil; k, ak = c.Next() {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			leaf := ab.Get(ak)
			if leaf == nil {
				v.Fail(fmt.Sprintf("record %d is listed but missing", keyU64(k)))
				break
			}
			rec := new(adminv1.AuditRecord)
			if err := proto.Unmarshal(leaf, rec); err != nil {
				v.Fail(fmt.Sprintf("record %d does not decode: %v", keyU64(k), err))
				break
			}
			if !v.Add(rec, leaf) {
				break
			}
		}
		res = v.Finish()
		if res.OK && res.End != size {
			res.OK, res.FirstBad = false, min(res.End, size)
			res.Problem = fmt.Sprintf("the log holds %d records, but records %d to %d were found", size, first, res.End-1)
		}
		if stray, ok := strayRecord(tx, first, size); ok && (res.OK || stray < res.FirstBad) {
			res.OK, res.FirstBad = false, stray
			res.Problem = fmt.Sprintf("a stored record claims index %d but is not the log's record %d (inserted)", stray, stray)
		}
		return nil
	})
	return res, err
}

// strayRecord finds the lowest index claimed by a stored record that is
// not the log's record of that index.
func strayRecord(tx *bolt.Tx, first, size int64) (int64, bool) {
	ab, ib := tx.Bucket(bucketAudit), tx.Bucket(bucketAuditIndex)
	if int64(ab.Stats().KeyN) == size-first {
		return 0, false
	}
	lowest, found := int64(0), false
	_ = ab.ForEach(func(k, v []byte) error {
		rec := new(adminv1.AuditRecord)
		idx := size
		if proto.Unmarshal(v, rec) == nil && rec.GetIndex() >= first && rec.GetIndex() < size {
			idx = rec.GetIndex()
		}
		if !bytes.Equal(ib.Get(u64key(idx)), k) && (!found || idx < lowest) {
			lowest, found = idx, true
		}
		return nil
	})
	return lowest, found
}
