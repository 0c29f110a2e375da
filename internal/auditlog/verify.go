package auditlog

import (
	"fmt"
	"slices"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyOptions describe the log a [Verification] checks.
type VerifyOptions struct {
	// Instance is the log's instance: every record must name it.
	Instance string
	// Start is the index of the first record that will be added: 0, or the
	// first one kept after pruning (or in a rotated file).
	Start int64
	// Frontier is the frontier of the records before Start (see
	// [FrontierIndexes]); empty when Start is 0. It comes from the store and
	// is not trusted: if it is wrong, no root matches.
	Frontier []tlog.Hash
	// Checkpoints are the signed checkpoints to compare with, already
	// opened with the log's key ([Open]); order and duplicates do not
	// matter.
	Checkpoints []Checkpoint
	// LeafHashes, when set, returns a second copy's leaf hashes of the
	// records start to end-1: the store's, when checking a JSON-lines file or
	// the stored records themselves. A copy is used only to name the first
	// bad record of a stretch whose root is wrong, and only once it
	// reproduces the signed root of that stretch.
	LeafHashes func(start, end int64) ([]tlog.Hash, error)
}

// Result is the outcome of a [Verification].
type Result struct {
	// OK reports that every record checked hashes to what the checkpoints
	// signed, and that none a checkpoint covers is missing.
	OK bool
	// Start and End bound the records checked: Start to End-1.
	Start, End int64
	// VerifiedSize: every record below it is covered by a checkpoint that
	// matched.
	VerifiedSize int64
	// Checkpoints is how many checkpoints were compared with the records.
	Checkpoints int
	// FirstBad is the index of the first record found wrong or missing,
	// when not OK.
	FirstBad int64
	// Problem says what is wrong, when not OK.
	Problem string
	// Notes are remarks that do not fail the verification.
	Notes []string
}

// A Verification checks a log's records, fed in index order with
// [Verification.Add], against signed checkpoints. A changed record changes
// the root of every checkpoint from its index on; a deleted, inserted or
// moved one breaks the run of indexes the records carry; missing newest
// records leave a checkpoint larger than the log.
type Verification struct {
	o     VerifyOptions
	cps   []Checkpoint // by size
	next  int          // the next checkpoint to compare
	tree  *Frontier    // over every record so far
	good  *Frontier    // at the last checkpoint that matched
	since []tlog.Hash  // leaf hashes added after good
	res   Result
	done  bool
}

// NewVerification starts a verification.
func NewVerification(o VerifyOptions) (*Verification, error) {
	tree, err := NewFrontier(o.Start, o.Frontier)
	if err != nil {
		return nil, fmt.Errorf("the hashes before record %d: %w", o.Start, err)
	}
	v := &Verification{o: o, tree: tree, good: tree.Clone(), res: Result{OK: true, Start: o.Start, End: o.Start, VerifiedSize: o.Start}}
	cps := slices.Clone(o.Checkpoints)
	slices.SortFunc(cps, func(a, b Checkpoint) int { return int(a.Size - b.Size) })
	cps = slices.CompactFunc(cps, func(a, b Checkpoint) bool { return a.Size == b.Size && a.Root == b.Root })
	for len(cps) > 0 && cps[0].Size < o.Start {
		v.res.Notes = append(v.res.Notes, fmt.Sprintf("checkpoint of %d records (%s) predates the oldest record kept (%d): not compared",
			cps[0].Size, stamp(cps[0].Time), o.Start))
		cps = cps[1:]
	}
	v.cps = cps
	v.compare()
	return v, nil
}

// Add checks the next record: rec decoded, and leaf the bytes that are
// hashed (the stored bytes, or [Leaf] of a record read from JSON). It
// returns false once a problem is found; the rest need not be added.
func (v *Verification) Add(rec *adminv1.AuditRecord, leaf []byte) bool {
	if v.done {
		return false
	}
	want := v.tree.Size()
	switch {
	case rec.Index == nil:
		v.fail(want, true, fmt.Sprintf("record %d has no index: it is not part of the log", want))
		return false
	case rec.GetIndex() != want:
		v.fail(want, true, fmt.Sprintf("expected record %d, found record %d: a record was deleted, inserted or moved", want, rec.GetIndex()))
		return false
	case rec.GetInstance() != v.o.Instance:
		v.fail(want, true, fmt.Sprintf("record %d names instance %q, not %q", want, rec.GetInstance(), v.o.Instance))
		return false
	}
	h := LeafHash(leaf)
	v.tree.Append(h)
	v.since = append(v.since, h)
	v.res.End = v.tree.Size()
	v.compare()
	return !v.done
}

// Fail records that the next record cannot be read (a line that is not a
// record, a stored value that does not decode); problem says why.
func (v *Verification) Fail(problem string) {
	if !v.done {
		v.fail(v.tree.Size(), true, problem)
	}
}

// Finish ends the verification: a checkpoint larger than the records added
// means the newest ones are missing.
func (v *Verification) Finish() Result {
	if !v.done && v.next < len(v.cps) {
		c := v.cps[len(v.cps)-1]
		end := v.tree.Size()
		v.fail(end, true, fmt.Sprintf("the log ends before record %d, but the checkpoint signed %s covers %d records: records %d to %d are missing",
			end, stamp(c.Time), c.Size, end, c.Size-1))
	}
	if v.res.OK {
		switch {
		case v.res.Checkpoints == 0 && v.res.End > v.res.Start:
			v.res.Notes = append(v.res.Notes, "no checkpoint covers these records yet")
		case v.res.VerifiedSize < v.res.End:
			v.res.Notes = append(v.res.Notes, fmt.Sprintf("records %d to %d were written after the last checkpoint; no signature covers them yet",
				v.res.VerifiedSize, v.res.End-1))
		}
	}
	v.done = true
	return v.res
}

// compare checks every checkpoint of the current size.
func (v *Verification) compare() {
	for !v.done && v.next < len(v.cps) && v.cps[v.next].Size == v.tree.Size() {
		c := v.cps[v.next]
		v.next++
		if v.tree.Root() != c.Root {
			v.fail(v.good.Size(), false, fmt.Sprintf("records %d to %d do not hash to the root the checkpoint signed %s holds: one of them was changed",
				v.good.Size(), c.Size-1, stamp(c.Time)))
			return
		}
		v.res.Checkpoints++
		v.res.VerifiedSize = c.Size
		v.good = v.tree.Clone()
		v.since = v.since[:0]
	}
}

// fail ends the verification with a problem at index at: exactly there
// (a record missing or unreadable), or, when not exact, somewhere from at
// on (a root that does not match). Records after the last matching
// checkpoint may have been changed too; a second copy of their leaf hashes
// that reproduces a signed root tells which one was first.
func (v *Verification) fail(at int64, exact bool, problem string) {
	v.res.OK, v.res.FirstBad, v.res.Problem = false, at, problem
	v.done = true
	if i, ok := v.firstDifference(); ok && (i < at || !exact) {
		v.res.FirstBad = i
		v.res.Problem = fmt.Sprintf("record %d differs from the record the checkpoints signed (%s)", i, problem)
	}
}

// firstDifference finds the first record after the last matching
// checkpoint whose leaf hash differs from an authenticated second copy.
func (v *Verification) firstDifference() (int64, bool) {
	if v.o.LeafHashes == nil {
		return 0, false
	}
	from := v.good.Size()
	// The smallest checkpoint beyond the matching stretch authenticates the
	// copy.
	i, _ := slices.BinarySearchFunc(v.cps, from+1, func(c Checkpoint, size int64) int { return int(c.Size - size) })
	if i == len(v.cps) {
		return 0, false
	}
	c := v.cps[i]
	copyHashes, err := v.o.LeafHashes(from, c.Size)
	if err != nil || int64(len(copyHashes)) != c.Size-from {
		return 0, false
	}
	t := v.good.Clone()
	for _, h := range copyHashes {
		t.Append(h)
	}
	if t.Root() != c.Root {
		return 0, false
	}
	for j, h := range v.since {
		if j >= len(copyHashes) || h != copyHashes[j] {
			return from + int64(j), true
		}
	}
	if int64(len(v.since)) < c.Size-from {
		// Everything added matches; the first missing record is next.
		return from + int64(len(v.since)), true
	}
	return 0, false
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
