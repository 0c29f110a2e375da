package auditlog_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"
)

// memLog is a log kept as tlog stored hashes in memory, the way the store
// keeps it on disk.
type memLog struct {
	leaves [][]byte
	hashes []tlog.Hash
}

func (m *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memLog) add(t *testing.T, leaf []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(int64(len(m.leaves)), leaf, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
	m.leaves = append(m.leaves, leaf)
}

func TestFrontierMatchesTreeHash(t *testing.T) {
	t.Parallel()
	m := &memLog{}
	f, err := auditlog.NewFrontier(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(0); n < 300; n++ {
		want, err := tlog.TreeHash(n, m)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Root(); got != want {
			t.Fatalf("size %d: Root %v, TreeHash %v", n, got, want)
		}
		// A frontier read from storage is the same tree.
		stored, err := m.ReadHashes(auditlog.FrontierIndexes(n))
		if err != nil {
			t.Fatal(err)
		}
		g, err := auditlog.NewFrontier(n, stored)
		if err != nil {
			t.Fatal(err)
		}
		if g.Root() != want {
			t.Fatalf("size %d: frontier from storage has root %v, want %v", n, g.Root(), want)
		}
		leaf := []byte(fmt.Sprintf("leaf %d", n))
		m.add(t, leaf)
		f.Append(auditlog.LeafHash(leaf))
	}
	if _, err := auditlog.NewFrontier(5, make([]tlog.Hash, 1)); err == nil {
		t.Error("NewFrontier accepted 1 hash for a tree of 5 (binary 101 needs 2)")
	}
}

func testKey(t testing.TB, instance string) *auditlog.Key {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, auditlog.Origin(instance))
	if err != nil {
		t.Fatal(err)
	}
	k, err := auditlog.ParseKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckpointSignOpen(t *testing.T) {
	t.Parallel()
	k := testKey(t, "gw-1")
	c := auditlog.Checkpoint{Origin: auditlog.Origin("gw-1"), Size: 42, Root: tlog.RecordHash([]byte("x")), Time: time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)}
	signed, err := auditlog.Sign(c, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := auditlog.Open(signed, k.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("Open = %+v, want %+v", got, c)
	}
	other := testKey(t, "gw-2")
	for _, tc := range []struct {
		name, want string
		msg        []byte
		v          note.Verifier
	}{
		{"another instance's key", "not signed by the key of msg-gateway/audit/gw-2", signed, other.Verifier},
		{"a changed size", "invalid signature", []byte(strings.Replace(string(signed), "\n42\n", "\n43\n", 1)), k.Verifier},
		{"no signature", "malformed", []byte(c.Text()), k.Verifier},
		{"garbage", "malformed", []byte("hello\x00"), k.Verifier},
	} {
		if _, err := auditlog.Open(tc.msg, tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Open error %v, want %q", tc.name, err, tc.want)
		}
	}
	// A note signed by the right key over another log's origin is refused.
	wrongOrigin := c
	wrongOrigin.Origin = auditlog.Origin("gw-2")
	if _, err := auditlog.Sign(wrongOrigin, k.Signer); err == nil {
		t.Error("Sign signed a checkpoint of another log")
	}
}

func TestParseText(t *testing.T) {
	t.Parallel()
	good := "msg-gateway/audit/gw\n7\n" + strings.Repeat("A", 43) + "=\ntime 2026-03-04T05:06:07Z\n"
	if _, err := auditlog.ParseText(good); err != nil {
		t.Fatalf("good text: %v", err)
	}
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"no time", "o\n7\n" + strings.Repeat("A", 43) + "=\n"},
		{"leading zero", strings.Replace(good, "\n7\n", "\n07\n", 1)},
		{"negative", strings.Replace(good, "\n7\n", "\n-7\n", 1)},
		{"short root", strings.Replace(good, strings.Repeat("A", 43)+"=", "AAAA", 1)},
		{"bad time", strings.Replace(good, "2026", "20x6", 1)},
		{"extra line", good + "x\n"},
		{"space in origin", strings.Replace(good, "msg-gateway", "msg gateway", 1)},
	} {
		if _, err := auditlog.ParseText(tc.text); err == nil {
			t.Errorf("%s: ParseText accepted %q", tc.name, tc.text)
		}
	}
}

func TestSplitNotes(t *testing.T) {
	t.Parallel()
	k := testKey(t, "gw")
	var file []byte
	var want []string
	for i := range 3 {
		n, err := auditlog.Sign(auditlog.Checkpoint{Origin: k.Signer.Name(), Size: int64(i), Time: time.Now()}, k.Signer)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, string(n))
		file = append(append(file, n...), '\n')
	}
	notes, err := auditlog.SplitNotes(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 3 {
		t.Fatalf("got %d notes, want 3", len(notes))
	}
	for i, n := range notes {
		if string(n) != want[i] {
			t.Errorf("note %d = %q, want %q", i, n, want[i])
		}
		if _, err := auditlog.Open(n, k.Verifier); err != nil {
			t.Errorf("note %d: %v", i, err)
		}
	}
	// Notes without the blank line between them split too.
	if notes, err := auditlog.SplitNotes([]byte(want[0] + want[1])); err != nil || len(notes) != 2 {
		t.Errorf("two notes back to back: %d notes, %v", len(notes), err)
	}
	for _, bad := range []string{"just text\n", "text\n\nno signature\n", want[0][:len(want[0])-1]} {
		if _, err := auditlog.SplitNotes([]byte(bad)); err == nil {
			t.Errorf("SplitNotes accepted %q", bad)
		}
	}
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), auditlog.KeyFileName)
	k, err := auditlog.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := auditlog.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.VerifierKey != k.VerifierKey || again.Instance != k.Instance || k.Instance == "" {
		t.Errorf("reloaded key %q (%s), created %q (%s)", again.VerifierKey, again.Instance, k.VerifierKey, k.Instance)
	}
	signed, err := auditlog.Sign(auditlog.Checkpoint{Origin: auditlog.Origin(k.Instance), Size: 1}, again.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auditlog.Open(signed, k.Verifier); err != nil {
		t.Errorf("the reloaded key's checkpoint does not verify with the created key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := auditlog.LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key file: %v, want a refusal", err)
	}
}

// trail is a log of n records with checkpoints, and the ways to tamper with
// a copy of it.
type trail struct {
	key     *auditlog.Key
	records []*adminv1.AuditRecord
	log     *memLog
	cps     []auditlog.Checkpoint
}

func newTrail(t *testing.T, n int, checkpointEvery int) *trail {
	t.Helper()
	tr := &trail{key: testKey(t, "gw-a"), log: &memLog{}}
	for i := range n {
		r := &adminv1.AuditRecord{Index: proto.Int64(int64(i)), Instance: "gw-a", Principal: fmt.Sprintf("p%d", i), Kind: adminv1.RecordKind_RECORD_KIND_FORWARD}
		leaf, err := auditlog.Leaf(r)
		if err != nil {
			t.Fatal(err)
		}
		tr.records = append(tr.records, r)
		tr.log.add(t, leaf)
		if (i+1)%checkpointEvery == 0 || i == n-1 {
			root, err := tlog.TreeHash(int64(i+1), tr.log)
			if err != nil {
				t.Fatal(err)
			}
			tr.cps = append(tr.cps, auditlog.Checkpoint{Origin: auditlog.Origin("gw-a"), Size: int64(i + 1), Root: root, Time: time.Now()})
		}
	}
	return tr
}

// storedLeafHashes is the second copy a store keeps.
func (tr *trail) storedLeafHashes(start, end int64) ([]tlog.Hash, error) {
	var idx []int64
	for i := start; i < end; i++ {
		idx = append(idx, tlog.StoredHashIndex(0, i))
	}
	return tr.log.ReadHashes(idx)
}

func (tr *trail) verify(t *testing.T, recs []*adminv1.AuditRecord, start int64, cps []auditlog.Checkpoint, second bool) auditlog.Result {
	t.Helper()
	frontier, err := tr.log.ReadHashes(auditlog.FrontierIndexes(start))
	if err != nil {
		t.Fatal(err)
	}
	o := auditlog.VerifyOptions{Instance: "gw-a", Start: start, Frontier: frontier, Checkpoints: cps}
	if second {
		o.LeafHashes = tr.storedLeafHashes
	}
	v, err := auditlog.NewVerification(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		leaf, err := auditlog.Leaf(r)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Add(r, leaf) {
			break
		}
	}
	return v.Finish()
}

func clone(recs []*adminv1.AuditRecord) []*adminv1.AuditRecord {
	out := make([]*adminv1.AuditRecord, len(recs))
	for i, r := range recs {
		out[i] = proto.Clone(r).(*adminv1.AuditRecord)
	}
	return out
}

func TestVerificationNamesTheFirstBadRecord(t *testing.T) {
	t.Parallel()
	tr := newTrail(t, 100, 16)
	for _, tc := range []struct {
		name   string
		tamper func([]*adminv1.AuditRecord) []*adminv1.AuditRecord
		cps    []auditlog.Checkpoint // default: all
		second bool
		want   int64 // -1: ok
	}{
		{name: "untouched", tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord { return r }, want: -1},
		{name: "edited, second copy", second: true, want: 37, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			r[37].Principal = "alice"
			return r
		}},
		// Without a second copy the stretch between checkpoints is all a
		// verifier can name: 32 to 47 holds the change.
		{name: "edited, no second copy", want: 32, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			r[37].Principal = "alice"
			return r
		}},
		{name: "edited in the unsigned tail", want: -1, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			r[99].Principal = "alice"
			return r
		}, cps: tr.cps[:len(tr.cps)-1]},
		{name: "deleted", want: 50, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			return append(r[:50:50], r[51:]...)
		}},
		{name: "inserted, renumbered after it", second: true, want: 20, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			forged := &adminv1.AuditRecord{Index: proto.Int64(20), Instance: "gw-a", Principal: "forged"}
			out := append(append(r[:20:20], forged), r[20:]...)
			for i := range out {
				out[i].Index = proto.Int64(int64(i))
			}
			return out[:100]
		}},
		{name: "inserted, a second record 20", want: 21, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			return append(append(r[:21:21], &adminv1.AuditRecord{Index: proto.Int64(20), Instance: "gw-a"}), r[21:]...)
		}},
		{name: "reordered", want: 70, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			r[70], r[71] = r[71], r[70]
			return r
		}},
		{name: "reordered, indexes rewritten", second: true, want: 70, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			r[70], r[71] = r[71], r[70]
			r[70].Index, r[71].Index = proto.Int64(70), proto.Int64(71)
			return r
		}},
		{name: "another instance", want: 5, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord {
			r[5].Instance = "gw-b"
			return r
		}},
		{name: "truncated", want: 90, tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord { return r[:90] }},
		{name: "truncated, only the witness's last checkpoint", want: 90, cps: tr.cps[len(tr.cps)-1:],
			tamper: func(r []*adminv1.AuditRecord) []*adminv1.AuditRecord { return r[:90] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cps := tc.cps
			if cps == nil {
				cps = tr.cps
			}
			res := tr.verify(t, tc.tamper(clone(tr.records)), 0, cps, tc.second)
			if tc.want < 0 {
				if !res.OK {
					t.Fatalf("verification failed: %+v", res)
				}
				return
			}
			if res.OK || res.FirstBad != tc.want {
				t.Fatalf("OK %v, first bad %d (%s), want first bad %d", res.OK, res.FirstBad, res.Problem, tc.want)
			}
		})
	}
}

func TestVerificationAfterPruning(t *testing.T) {
	t.Parallel()
	tr := newTrail(t, 100, 16)
	// Records 0 to 40 pruned: what is kept verifies against the checkpoints
	// from 41 on, from the frontier of the pruned ones.
	res := tr.verify(t, clone(tr.records)[41:], 41, tr.cps, false)
	if !res.OK || res.Start != 41 || res.End != 100 || res.VerifiedSize != 100 {
		t.Fatalf("pruned log: %+v", res)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "predates") {
		t.Errorf("notes %q: want the checkpoints before the kept records named", res.Notes)
	}
	recs := clone(tr.records)[41:]
	recs[10].Principal = "x"
	if res := tr.verify(t, recs, 41, tr.cps, true); res.OK || res.FirstBad != 51 {
		t.Errorf("pruned log with record 51 edited: %+v", res)
	}
}
