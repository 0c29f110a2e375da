package store

import (
	"context"
	"errors"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"
)

// Errors returned by [Store] methods. They are wrapped with the resource
// they concern ("rules/alice-demo: ..."); test them with [errors.Is].
var (
	// ErrNotFound means an update or delete named a key that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a create (IfAbsent) named a key that already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict means the IfEtag precondition named a stale etag: someone
	// else wrote the resource since it was read.
	ErrConflict = errors.New("etag mismatch")
	// ErrInvalidPageToken means an audit query carried a page token that this
	// store did not issue.
	ErrInvalidPageToken = errors.New("invalid page token")
	// ErrLocked means another process holds the store's database open.
	ErrLocked = errors.New("store is locked by another process")
	// ErrClosed means the store was used after Close.
	ErrClosed = errors.New("store is closed")
	// ErrUnavailable means a distributed store's backend could not be
	// reached: a write was not made, or (when the connection broke while it
	// was being committed) its outcome is unknown; read again before
	// retrying. Reads keep serving the last snapshot.
	ErrUnavailable = errors.New("store unavailable")
)

// Snapshot is an immutable view of the hosts, rules, revocations,
// enrollment tokens and devices at one revision. Every slice and message in it is shared by all readers: never
// mutate any of it; clone a message (proto.Clone) before editing it. Each
// kind of package resource has a typed field here (see kinds.go); Items,
// Get and Len reach any kind's.
type Snapshot struct {
	// Revision grows with every committed write. In [Bolt] it counts the
	// writes (0: never written); in [Etcd] it is the etcd revision the
	// snapshot reflects.
	Revision int64
	// Hosts sorted by name, each with its etag.
	Hosts []*adminv1.Host
	// Rules sorted by id, each with its etag.
	Rules []*adminv1.Rule
	// Revocations sorted by id, each with its etag.
	Revocations []*adminv1.Revocation
	// EnrollmentTokens sorted by id, each with its etag.
	EnrollmentTokens []*adminv1.EnrollmentToken
	// Devices sorted by id, each with its etag.
	Devices []*adminv1.Device
}

// Host returns the host with the given name, or nil.
func (s *Snapshot) Host(name string) *adminv1.Host {
	h, _ := s.Get(KindHost, name).(*adminv1.Host)
	return h
}

// Rule returns the rule with the given id, or nil.
func (s *Snapshot) Rule(id string) *adminv1.Rule {
	r, _ := s.Get(KindRule, id).(*adminv1.Rule)
	return r
}

// Revocation returns the revocation with the given id, or nil.
func (s *Snapshot) Revocation(id string) *adminv1.Revocation {
	r, _ := s.Get(KindRevocation, id).(*adminv1.Revocation)
	return r
}

// EnrollmentToken returns the enrollment token with the given id, or nil.
func (s *Snapshot) EnrollmentToken(id string) *adminv1.EnrollmentToken {
	t, _ := s.Get(KindEnrollmentToken, id).(*adminv1.EnrollmentToken)
	return t
}

// Device returns the device with the given id, or nil.
func (s *Snapshot) Device(id string) *adminv1.Device {
	d, _ := s.Get(KindDevice, id).(*adminv1.Device)
	return d
}

// Mutation is one put or delete in an [Store.Apply] batch. A batch names
// each (Kind, Key) at most once.
type Mutation struct {
	// Kind selects the collection.
	Kind Kind
	// Key is the host name, rule id or revocation id. It must equal the name
	// or id inside Value.
	Key string
	// Value is the new resource (its etag is ignored and replaced), or nil to
	// delete Key. The store clones it; the caller keeps ownership.
	Value proto.Message
	// IfAbsent makes the mutation a create: it fails with [ErrExists] when
	// Key exists.
	IfAbsent bool
	// IfEtag makes the mutation an update or delete based on this etag: it
	// fails with [ErrNotFound] when Key does not exist and with [ErrConflict]
	// when its etag differs. With neither IfAbsent nor IfEtag a put is
	// unconditional and a delete still needs Key to exist.
	IfEtag string
}

// AuditQuery selects audit records; set fields combine with AND, zero fields
// match everything.
type AuditQuery struct {
	// Principal matches AuditRecord.principal exactly.
	Principal string
	// Host matches AuditRecord.host exactly.
	Host string
	// Decision matches AuditRecord.decision.
	Decision adminv1.Decision
	// Kind matches AuditRecord.kind.
	Kind adminv1.RecordKind
	// Start: records at or after this time.
	Start time.Time
	// End: records before this time.
	End time.Time
	// PageSize is the most records returned; 0 means 100, above 1000 means
	// 1000.
	PageSize int
	// PageToken is the token a previous query returned, or empty.
	PageToken string
}

// Store keeps the gateway's configuration and audit trail. Configuration
// changes are atomic batches guarded by preconditions; each one produces a
// new [Snapshot] and revision. An item's etag is the revision that last wrote
// it (like an etcd mod revision), so an etcd implementation can follow.
type Store interface {
	// Snapshot returns the current snapshot. It is cheap (an atomic load)
	// and the result must not be mutated.
	Snapshot() *Snapshot
	// Apply commits muts atomically if every precondition holds and
	// validate (when not nil) accepts the complete would-be snapshot;
	// otherwise nothing is written and the error says why (validate's error
	// is returned as is). It returns the new snapshot only once the write is
	// durable. Written items get the etag strconv.FormatInt(revision, 10).
	Apply(ctx context.Context, muts []Mutation, validate func(*Snapshot) error) (*Snapshot, error)
	// Watch returns a channel that receives the snapshots committed after
	// the call. It holds only the latest one (a slow reader skips
	// intermediate snapshots, never the newest), never blocks writers, and
	// is closed when ctx is done or the store closes.
	Watch(ctx context.Context) <-chan *Snapshot
	// Seed writes hosts and rules as one unit if the store was never
	// written (revision 0) and reports whether it did; validate as in Apply.
	// No snapshot ever shows part of a seed. Items get the revision that
	// wrote them as etag: a store that writes a large seed in several
	// transactions (etcd) gives the first items a lower one than the
	// snapshot's.
	Seed(ctx context.Context, hosts []*adminv1.Host, rules []*adminv1.Rule, validate func(*Snapshot) error) (bool, error)
	// AppendAudit queues records for the audit trail and never blocks: when
	// the queue is full a record is dropped and counted. The store takes
	// ownership of recs; the caller must not modify them afterwards.
	AppendAudit(recs ...*adminv1.AuditRecord)
	// FlushAudit writes every record queued before the call durably.
	FlushAudit(ctx context.Context) error
	// QueryAudit returns the stored records matching q, newest first, and the
	// token of the next page (empty on the last page). A page may hold fewer
	// than PageSize records while a token is returned.
	QueryAudit(ctx context.Context, q AuditQuery) ([]*adminv1.AuditRecord, string, error)
	// AuditLog describes this instance's audit log, the Merkle tree its
	// records form (see package auditlog).
	AuditLog(ctx context.Context) (AuditLogInfo, error)
	// AuditCheckpoints returns the log's signed checkpoints, smallest tree
	// first, and the token of the next page.
	AuditCheckpoints(ctx context.Context, pageSize int, pageToken string) ([]AuditCheckpoint, string, error)
	// VerifyAudit checks the stored log against its checkpoints and extra
	// ones, opened with the log's key.
	VerifyAudit(ctx context.Context, extra []auditlog.Checkpoint) (auditlog.Result, error)
	// AuditProof returns a record and its inclusion proof in the signed tree
	// of treeSize records (0: the latest checkpoint).
	AuditProof(ctx context.Context, index, treeSize int64) (AuditProof, error)
	// AuditHashes returns the frontier of the records before start and the
	// leaf hashes of records start to end-1.
	AuditHashes(ctx context.Context, start, end int64) (frontier, leaves []tlog.Hash, err error)
	// Close flushes the audit queue, signs a last checkpoint, closes every
	// Watch channel and releases the database.
	Close() error
}
