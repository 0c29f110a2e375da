package auditlog

import (
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"
)

// leafEncoding is the one encoding of a record that is hashed. Deterministic
// marshalling writes the known fields in field-number order; a record decoded
// from its JSON-lines form and marshalled again gives the same bytes.
var leafEncoding = proto.MarshalOptions{Deterministic: true}

// Leaf returns the record's leaf: its deterministic protobuf encoding. The
// record must already carry its index and instance, which the leaf commits
// to.
func Leaf(rec *adminv1.AuditRecord) ([]byte, error) {
	return leafEncoding.Marshal(rec)
}

// LeafHash returns the RFC 6962 leaf hash of a leaf: SHA-256 of 0x00 and
// the leaf.
func LeafHash(leaf []byte) tlog.Hash { return tlog.RecordHash(leaf) }
