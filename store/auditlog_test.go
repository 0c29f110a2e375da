package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"github.com/msg-gateway/msg/store"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// notes collects the checkpoints a store hands on, as a witness would.
type notes struct {
	mu  sync.Mutex
	all [][]byte
}

func (n *notes) add(note []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.all = append(n.all, note)
}

func (n *notes) opened(t *testing.T, v *auditlog.Key) []auditlog.Checkpoint {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []auditlog.Checkpoint
	for _, note := range n.all {
		c, err := auditlog.Open(note, v.Verifier)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// writeTrail writes n records to a new store in dir in batches of ten, each
// committed with a checkpoint, and closes it; the witness gets every
// checkpoint.
func writeTrail(t *testing.T, dir string, n int, witness *notes) {
	t.Helper()
	s, err := store.Open(dir, store.Options{AuditMaxAge: -1, AuditCheckpointInterval: time.Nanosecond, OnAuditCheckpoint: witness.add})
	if err != nil {
		t.Fatal(err)
	}
	recs := auditRecords(n)
	for i := 0; i < n; i += 10 {
		s.AppendAudit(cloneRecords(recs[i:min(i+10, n)])...)
		flush(t, s)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func verifyStore(t *testing.T, dir string, extra []auditlog.Checkpoint) auditlog.Result {
	t.Helper()
	s := openStore(t, dir, store.Options{AuditMaxAge: -1})
	res, err := s.VerifyAudit(context.Background(), extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		// A log changed behind the store's back may fail its last
		// checkpoint; the verification above is what counts.
		t.Logf("Close: %v", err)
	}
	return res
}

func auditKey(t *testing.T, dir string) *auditlog.Key {
	t.Helper()
	k, err := auditlog.LoadOrCreateKey(filepath.Join(dir, auditlog.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawLog is the database as an attacker who can write the data directory
// sees it, with the gateway stopped.
type rawLog struct {
	t  *testing.T
	tx *bolt.Tx
}

func u64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func (r rawLog) bucket(name string) *bolt.Bucket { return r.tx.Bucket([]byte(name)) }

func (r rawLog) key(i int64) []byte { return bytes.Clone(r.bucket("audit_index").Get(u64(i))) }

func (r rawLog) record(i int64) *adminv1.AuditRecord {
	rec := new(adminv1.AuditRecord)
	if err := proto.Unmarshal(r.bucket("audit").Get(r.key(i)), rec); err != nil {
		r.t.Fatal(err)
	}
	return rec
}

func (r rawLog) put(key []byte, rec *adminv1.AuditRecord) {
	data, err := proto.Marshal(rec)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.bucket("audit").Put(key, data); err != nil {
		r.t.Fatal(err)
	}
}

func (r rawLog) must(err error) {
	if err != nil {
		r.t.Fatal(err)
	}
}

func tamper(t *testing.T, dir string, fn func(rawLog)) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { fn(rawLog{t, tx}); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestAuditLogTamperingInTheStore changes a stopped gateway's database the
// ways someone with write access to its data directory could, and checks
// that verification names the first record changed.
func TestAuditLogTamperingInTheStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper func(rawLog)
		// witness: verify with the checkpoints handed to the witness too.
		witness bool
		want    int64 // -1: verifies
	}{
		{name: "untouched", want: -1, tamper: func(rawLog) {}},
		{name: "edited", want: 37, tamper: func(r rawLog) {
			rec := r.record(37)
			rec.Decision = adminv1.Decision_DECISION_ALLOW
			rec.Principal = "someone-else"
			r.put(r.key(37), rec)
		}},
		{name: "deleted", want: 50, tamper: func(r rawLog) {
			r.must(r.bucket("audit").Delete(r.key(50)))
			r.must(r.bucket("audit_index").Delete(u64(50)))
		}},
		{name: "deleted, index entry left", want: 50, tamper: func(r rawLog) {
			r.must(r.bucket("audit").Delete(r.key(50)))
		}},
		{name: "inserted beside the log", want: 20, tamper: func(r rawLog) {
			forged := r.record(20)
			forged.Principal, forged.RequestId = "forged", "req-forged"
			k := r.key(20)
			k[15]++ // a key next to record 20's: queries show it
			r.put(k, forged)
		}},
		{name: "inserted, the log renumbered after it", want: 20, tamper: func(r rawLog) {
			ib := r.bucket("audit_index")
			for i := int64(99); i >= 20; i-- {
				k := r.key(i)
				rec := r.record(i)
				rec.Index = proto.Int64(i + 1)
				r.put(k, rec)
				r.must(ib.Put(u64(i+1), k))
			}
			forged := r.record(21)
			forged.Index, forged.Principal = proto.Int64(20), "forged"
			k := r.key(21)
			k[15]++
			r.put(k, forged)
			r.must(ib.Put(u64(20), k))
			r.must(r.bucket("meta").Put([]byte("audit_size"), u64(101)))
		}},
		{name: "reordered", want: 70, tamper: func(r rawLog) {
			a, b := r.bucket("audit").Get(r.key(70)), r.bucket("audit").Get(r.key(71))
			a, b = bytes.Clone(a), bytes.Clone(b)
			r.must(r.bucket("audit").Put(r.key(70), b))
			r.must(r.bucket("audit").Put(r.key(71), a))
		}},
		{name: "reordered, indexes rewritten", want: 70, tamper: func(r rawLog) {
			a, b := r.record(70), r.record(71)
			a.Index, b.Index = b.Index, a.Index
			ka, kb := r.key(70), r.key(71)
			r.put(ka, b)
			r.put(kb, a)
		}},
		{name: "truncated", want: 90, tamper: func(r rawLog) {
			for i := int64(90); i < 100; i++ {
				r.must(r.bucket("audit").Delete(r.key(i)))
				r.must(r.bucket("audit_index").Delete(u64(i)))
			}
			r.must(r.bucket("meta").Put([]byte("audit_size"), u64(90)))
		}},
		// Deleting the checkpoints that cover the deleted records too leaves
		// a log that agrees with itself: only a copy of the latest
		// checkpoint kept elsewhere tells.
		{name: "truncated with its checkpoints, witness", witness: true, want: 90, tamper: func(r rawLog) {
			for i := int64(90); i < 100; i++ {
				r.must(r.bucket("audit").Delete(r.key(i)))
				r.must(r.bucket("audit_index").Delete(u64(i)))
			}
			r.must(r.bucket("audit_checkpoints").Delete(u64(100)))
			r.must(r.bucket("meta").Put([]byte("audit_size"), u64(90)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var witness notes
			writeTrail(t, dir, 100, &witness)
			tamper(t, dir, tc.tamper)
			var extra []auditlog.Checkpoint
			if tc.witness {
				extra = witness.opened(t, auditKey(t, dir))
			}
			res := verifyStore(t, dir, extra)
			if tc.want < 0 {
				if !res.OK || res.End != 100 || res.VerifiedSize != 100 || res.Checkpoints < 10 {
					t.Fatalf("untouched log: %+v", res)
				}
				return
			}
			if res.OK || res.FirstBad != tc.want {
				t.Fatalf("OK %v, first bad %d (%s); want first bad %d", res.OK, res.FirstBad, res.Problem, tc.want)
			}
		})
	}
}

// TestAuditLogTruncationNeedsTheWitness shows why checkpoints go elsewhere:
// records deleted at the end together with the checkpoints that covered
// them verify against what the store still holds.
func TestAuditLogTruncationNeedsTheWitness(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var witness notes
	writeTrail(t, dir, 30, &witness)
	tamper(t, dir, func(r rawLog) {
		for i := int64(20); i < 30; i++ {
			r.must(r.bucket("audit").Delete(r.key(i)))
			r.must(r.bucket("audit_index").Delete(u64(i)))
		}
		r.must(r.bucket("audit_checkpoints").Delete(u64(30)))
		r.must(r.bucket("meta").Put([]byte("audit_size"), u64(20)))
	})
	if res := verifyStore(t, dir, nil); !res.OK {
		t.Fatalf("without the witness: %+v", res)
	}
	if res := verifyStore(t, dir, witness.opened(t, auditKey(t, dir))); res.OK || res.FirstBad != 20 {
		t.Fatalf("with the witness: %+v", res)
	}
}

// TestAuditLogRetention prunes by count while records keep coming: what is
// kept verifies against the checkpoints, proofs and hashes still work, and
// the stored hashes do not grow with every record ever written.
func TestAuditLogRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir, store.Options{AuditMaxAge: -1, AuditMaxRecords: 50, AuditCheckpointInterval: time.Nanosecond})
	ctx := context.Background()
	recs := auditRecords(1000)
	for i := 0; i < len(recs); i += 25 {
		s.AppendAudit(cloneRecords(recs[i : i+25])...)
		flush(t, s)
	}
	info, err := s.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 1000 || info.First != 950 || info.Latest == nil || info.Latest.Size != 1000 {
		t.Fatalf("log %+v, want 1000 records, the first kept 950, checkpoint at 1000", info)
	}
	res, err := s.VerifyAudit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Start != 950 || res.End != 1000 || res.VerifiedSize != 1000 {
		t.Fatalf("pruned log: %+v", res)
	}
	// A kept record's proof leads to the latest checkpoint's root.
	p, err := s.AuditProof(ctx, 960, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p.Proof, p.Checkpoint.Size, p.Checkpoint.Root, 960, auditlog.LeafHash(p.Leaf)); err != nil {
		t.Errorf("proof of record 960: %v", err)
	}
	if p.Record.GetIndex() != 960 || p.Record.GetRequestId() != "req-960" {
		t.Errorf("proof carries record %v", p.Record)
	}
	if _, err := s.AuditProof(ctx, 10, 0); err == nil {
		t.Error("a proof of a pruned record")
	}
	frontier, leaves, err := s.AuditHashes(ctx, 950, 1000)
	if err != nil {
		t.Fatal(err)
	}
	f, err := auditlog.NewFrontier(950, frontier)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range leaves {
		f.Append(h)
	}
	if f.Root() != info.Latest.Root {
		t.Error("the frontier of the pruned records and the kept leaf hashes do not give the latest root")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// 1000 records stored about 2000 hashes; the pruned ones keep only the
	// few that sum them up.
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte("audit_hashes")).Stats().KeyN; n > 2*50+2*10+64 {
			t.Errorf("%d hashes stored for 50 kept records", n)
		}
		if n := tx.Bucket([]byte("audit_checkpoints")).Stats().KeyN; n > 3 {
			t.Errorf("%d checkpoints kept for 50 records checkpointed every 25", n)
		}
		return nil
	})
}

// TestAuditLogCheckpoints: checkpoints are signed as the log grows and at
// Close, handed on, and a checkpoint of another instance's log is refused.
func TestAuditLogCheckpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var witness notes
	s, err := store.Open(dir, store.Options{AuditCheckpointInterval: time.Hour, OnAuditCheckpoint: witness.add})
	if err != nil {
		t.Fatal(err)
	}
	s.AppendAudit(cloneRecords(auditRecords(3))...)
	flush(t, s) // the first write after start signs at once
	s.AppendAudit(cloneRecords(auditRecords(5)[3:])...)
	flush(t, s) // within the interval: no checkpoint
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	key := auditKey(t, dir)
	cps := witness.opened(t, key)
	if len(cps) != 2 || cps[0].Size != 3 || cps[1].Size != 5 {
		t.Fatalf("checkpoints %+v, want of 3 records, then of 5 at Close", cps)
	}
	s2 := openStore(t, dir, store.Options{})
	page, next, err := s2.AuditCheckpoints(context.Background(), 1, "")
	if err != nil || len(page) != 1 || next == "" || page[0].Size != 3 {
		t.Fatalf("first page %+v, %q, %v", page, next, err)
	}
	page, next, err = s2.AuditCheckpoints(context.Background(), 1, next)
	if err != nil || len(page) != 1 || next != "" || page[0].Size != 5 {
		t.Fatalf("second page %+v, %q, %v", page, next, err)
	}
	if !strings.HasPrefix(string(page[0].Note), auditlog.Origin(key.Instance)+"\n5\n") {
		t.Errorf("note %q", page[0].Note)
	}
}

func TestAuditLogKeyMustMatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTrail(t, dir, 5, &notes{})
	path := filepath.Join(dir, auditlog.KeyFileName)
	if err := os.Rename(path, path+".bak"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(dir, store.Options{}); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("Open without the key: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("Open created a new key for an existing log")
	}
	other := t.TempDir()
	writeTrail(t, other, 1, &notes{})
	data, err := os.ReadFile(filepath.Join(other, auditlog.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(dir, store.Options{}); err == nil || !strings.Contains(err.Error(), "is not the key of this audit log") {
		t.Fatalf("Open with another log's key: %v", err)
	}
}

// TestAuditLogMigratesSchema1 opens a store written before the log
// existed: its records join the log in time order and verify.
func TestAuditLogMigratesSchema1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		_ = meta.Put([]byte("schema"), u64(1))
		ab, _ := tx.CreateBucket([]byte("audit"))
		for i, r := range auditRecords(25) {
			data, _ := proto.Marshal(r)
			k := append(u64(r.GetTime().AsTime().UnixNano()), u64(int64(i+1))...)
			if err := ab.Put(k, data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	s := openStore(t, dir, store.Options{AuditMaxAge: -1})
	s.AppendAudit(&adminv1.AuditRecord{Time: timestamppb.Now(), RequestId: "req-new"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	res := verifyStore(t, dir, nil)
	if !res.OK || res.End != 26 || res.VerifiedSize != 26 {
		t.Fatalf("migrated log: %+v", res)
	}
	s = openStore(t, dir, store.Options{AuditMaxAge: -1})
	got, _ := queryAll(t, s, store.AuditQuery{PageSize: 1000})
	if len(got) != 26 || got[25].GetIndex() != 0 || got[25].GetRequestId() != "req-000" || got[0].GetIndex() != 25 {
		t.Errorf("migrated records: %d, oldest %v", len(got), got[len(got)-1])
	}
}
