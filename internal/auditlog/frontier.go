package auditlog

import (
	"crypto/sha256"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Frontier is the right edge of a Merkle tree: the roots of the largest
// complete subtrees that cover its records, largest first (one per set bit
// of the size). It is all that is needed to append leaves and compute the
// root, so a verifier walks a log of any length in O(log n) memory, and a
// pruned log keeps these few hashes of its pruned records.
type Frontier struct {
	size   int64
	hashes []tlog.Hash
}

// NewFrontier returns the frontier of a tree of size records from its
// subtree roots, as [FrontierIndexes] lists them.
func NewFrontier(size int64, hashes []tlog.Hash) (*Frontier, error) {
	if size < 0 || len(hashes) != bits.OnesCount64(uint64(size)) {
		return nil, fmt.Errorf("a tree of %d records has %d subtree roots, not %d", size, bits.OnesCount64(uint64(max(size, 0))), len(hashes))
	}
	return &Frontier{size: size, hashes: append([]tlog.Hash(nil), hashes...)}, nil
}

// FrontierIndexes returns the tlog stored-hash indexes of the frontier of a
// tree of size records, largest subtree first.
func FrontierIndexes(size int64) []int64 {
	var out []int64
	var lo int64
	for level := 62; level >= 0; level-- {
		if size&(1<<level) != 0 {
			out = append(out, tlog.StoredHashIndex(level, lo>>level))
			lo += 1 << level
		}
	}
	return out
}

// Size returns the number of records.
func (f *Frontier) Size() int64 { return f.size }

// Hashes returns the subtree roots, largest first.
func (f *Frontier) Hashes() []tlog.Hash { return append([]tlog.Hash(nil), f.hashes...) }

// Append adds the next record's leaf hash.
func (f *Frontier) Append(h tlog.Hash) {
	f.hashes = append(f.hashes, h)
	// Each trailing 1 bit of the old size is a subtree the new leaf completes.
	for n := f.size; n&1 == 1; n >>= 1 {
		last := len(f.hashes) - 1
		f.hashes[last-1] = tlog.NodeHash(f.hashes[last-1], f.hashes[last])
		f.hashes = f.hashes[:last]
	}
	f.size++
}

// Root returns the tree's RFC 6962 root, as [tlog.TreeHash] computes it
// (SHA-256 of nothing for no records).
func (f *Frontier) Root() tlog.Hash {
	if len(f.hashes) == 0 {
		return sha256.Sum256(nil)
	}
	h := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.hashes[i], h)
	}
	return h
}

// Clone returns an independent copy.
func (f *Frontier) Clone() *Frontier {
	return &Frontier{size: f.size, hashes: append([]tlog.Hash(nil), f.hashes...)}
}
