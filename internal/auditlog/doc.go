// Package auditlog makes a gateway instance's audit trail tamper-evident:
// every record is a leaf of an append-only Merkle tree (RFC 6962, as
// golang.org/x/mod/sumdb/tlog computes it), and the instance signs
// checkpoints of that tree (C2SP tlog-checkpoint signed notes, Ed25519).
// It holds what the store, the gateway and msgctl share: a record's leaf
// encoding, the checkpoint format, the instance's key file, the witness
// that hands checkpoints elsewhere, and the verification of a sequence of
// records against checkpoints that names the first bad record.
package auditlog
