package admin

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Validator checks a would-be snapshot completely (hosts compile, rules
// compile, rules name known hosts). Errors name the key, e.g.
// "rules[2].hosts[0]: ...".
type Validator func(*store.Snapshot) error

// ServiceOptions configure a [Service].
type ServiceOptions struct {
	Store     store.Store
	Validate  Validator
	Resources ResourceValidator
	// Lifecycles are the kinds whose create or delete does more than the
	// standard methods (enrollment tokens, devices).
	Lifecycles Lifecycles
	// EnrollmentEnabled reports whether the gateway enrolls devices, for
	// the status.
	EnrollmentEnabled bool
	// DataPlane is the live state the policy tester decides with and the
	// status reports as serving; nil: the tester is unavailable.
	DataPlane DataPlane
	Version   string
	StartTime time.Time
	Logger    *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// ClientCAs returns the CAs that sign the data plane's client
	// certificates, as in force now. A revocation by serial number must name
	// one of them as its issuer. nil: none, so only revocations by
	// fingerprint are accepted.
	ClientCAs func() []*x509.Certificate
}

// Service implements msg.admin.v1.AdminService.
type Service struct {
	adminv1.UnimplementedAdminServiceServer
	o ServiceOptions
}

// NewService returns the admin service.
func NewService(o ServiceOptions) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StartTime.IsZero() {
		o.StartTime = o.Now()
	}
	return &Service{o: o}
}

// ---- audit and status

// ListAuditRecords implements AdminService.
func (s *Service) ListAuditRecords(ctx context.Context, req *adminv1.ListAuditRecordsRequest) (*adminv1.ListAuditRecordsResponse, error) {
	q := store.AuditQuery{
		Principal: req.GetPrincipal(),
		Host:      req.GetHost(),
		Decision:  req.GetDecision(),
		Kind:      req.GetKind(),
		PageSize:  pageSize(req.GetPageSize()),
		PageToken: req.GetPageToken(),
	}
	if req.GetStartTime() != nil {
		if err := req.GetStartTime().CheckValid(); err != nil {
			return nil, invalid("start_time", "not a valid time")
		}
		q.Start = req.GetStartTime().AsTime()
	}
	if req.GetEndTime() != nil {
		if err := req.GetEndTime().CheckValid(); err != nil {
			return nil, invalid("end_time", "not a valid time")
		}
		q.End = req.GetEndTime().AsTime()
	}
	recs, next, err := s.o.Store.QueryAudit(ctx, q)
	if err != nil {
		if errors.Is(err, store.ErrInvalidPageToken) {
			return nil, invalid("page_token", "invalid")
		}
		return nil, s.internal(ctx, "query audit", err)
	}
	return &adminv1.ListAuditRecordsResponse{Records: recs, NextPageToken: next}, nil
}

// GetStatus implements AdminService.
func (s *Service) GetStatus(ctx context.Context, _ *adminv1.GetStatusRequest) (*adminv1.GetStatusResponse, error) {
	snap := s.o.Store.Snapshot()
	now := s.o.Now()
	resp := &adminv1.GetStatusResponse{
		Version:              s.o.Version,
		StartTime:            timestamppb.New(s.o.StartTime),
		UptimeSeconds:        int64(now.Sub(s.o.StartTime) / time.Second),
		Revision:             snap.Revision,
		HostCount:            int32(snap.Len(resource.Host)),
		RuleCount:            int32(snap.Len(resource.Rule)),
		RevocationCount:      int32(snap.Len(resource.Revocation)),
		EnrollmentTokenCount: int32(snap.Len(resource.EnrollmentToken)),
		DeviceCount:          int32(snap.Len(resource.Device)),
		EnrollmentEnabled:    s.o.EnrollmentEnabled,
	}
	s.describeStore(ctx, resp)
	return resp, nil
}

// apply commits one write of kind k, with the further mutations more of its
// Lifecycle, after validating the would-be snapshot, records it (or its
// refusal) in the audit trail, and maps store errors to statuses.
// Validation errors about the written resource name the request's field
// ("rule.hosts[0]") instead of its position in the snapshot
// ("rules[2].hosts[0]").
func (s *Service) apply(ctx context.Context, k resource.Kind, v resource.Verb, m store.Mutation, more ...store.Mutation) (*store.Snapshot, error) {
	action, target := k.MethodName(v), k.String()+"/"+m.Key
	var verr error
	snap, err := s.o.Store.Apply(ctx, append([]store.Mutation{m}, more...), func(next *store.Snapshot) error {
		if s.o.Validate == nil {
			return nil
		}
		err := s.o.Validate(next)
		verr = err
		if i, ok := next.Position(k, m.Key); ok && err != nil {
			verr = fieldpath.Reroot(err, fieldpath.Path(k.Collection()).Index(i), fieldpath.Path(k.Singular()))
		}
		return err
	})
	rec := &adminv1.AuditRecord{
		Time:        timestamppb.New(s.o.Now()),
		RequestId:   requestid.FromContext(ctx),
		Kind:        adminv1.RecordKind_RECORD_KIND_ADMIN,
		Principal:   IdentityFromContext(ctx).Name,
		AdminAction: action,
		AdminTarget: target,
		Decision:    adminv1.Decision_DECISION_ALLOW,
		Code:        codes.OK.String(),
	}
	defer func() { s.o.Store.AppendAudit(rec) }()
	if err != nil {
		st := s.writeError(ctx, action, err, verr, m.Value == nil)
		rec.Decision = adminv1.Decision_DECISION_DENY
		rec.Code = status.Code(st).String()
		rec.Reason = status.Convert(st).Message()
		return nil, st
	}
	rec.Revision = snap.Revision
	s.o.Logger.InfoContext(ctx, "admin write", "request_id", requestid.FromContext(ctx),
		"admin", rec.Principal, "action", action, "target", target, "revision", snap.Revision)
	return snap, nil
}

// writeError maps a refused write to its status: verr is the validation
// error (a delete the snapshot still needs is a failed precondition), err
// the store's.
func (s *Service) writeError(ctx context.Context, action string, err, verr error, deletion bool) error {
	switch {
	case verr != nil && deletion:
		return status.Error(codes.FailedPrecondition, "still referenced: "+verr.Error())
	case verr != nil:
		return status.Error(codes.InvalidArgument, verr.Error())
	case errors.Is(err, store.ErrExists):
		return status.Error(codes.AlreadyExists, "already exists")
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, "not found")
	case errors.Is(err, store.ErrConflict):
		return status.Error(codes.Aborted, "etag mismatch: the resource was changed by someone else; read it again")
	case errors.Is(err, store.ErrUnavailable):
		s.o.Logger.WarnContext(ctx, "admin: store unavailable", "request_id", requestid.FromContext(ctx), "action", action, "error", err)
		return status.Error(codes.Unavailable, "the configuration store is unavailable; read the resource again before retrying")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return s.internal(ctx, action, err)
}

func (s *Service) internal(ctx context.Context, op string, err error) error {
	s.o.Logger.ErrorContext(ctx, "admin: "+op, "request_id", requestid.FromContext(ctx), "error", err)
	return status.Error(codes.Internal, "internal error")
}
