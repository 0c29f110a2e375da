package admin

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/dn"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/internal/revocation"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Validator checks a would-be snapshot completely (hosts compile, rules
// compile, rules name known hosts). Errors name the key, e.g.
// "rules[2].hosts[0]: ...".
type Validator func(*store.Snapshot) error

// ResourceValidator checks single resources before the whole snapshot, so
// errors can name the request's own fields ("host.upstream").
type ResourceValidator struct {
	Host func(*adminv1.Host) error
	Rule func(*adminv1.Rule) error
}

// ServiceOptions configure a [Service].
type ServiceOptions struct {
	Store     store.Store
	Validate  Validator
	Resources ResourceValidator
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

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// ---- hosts

// ListHosts implements AdminService.
func (s *Service) ListHosts(_ context.Context, req *adminv1.ListHostsRequest) (*adminv1.ListHostsResponse, error) {
	snap := s.o.Store.Snapshot()
	page, next, err := paginate(snap.Hosts, func(h *adminv1.Host) string { return h.GetName() }, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListHostsResponse{Hosts: cloneAll(page), NextPageToken: next, Revision: snap.Revision}, nil
}

// GetHost implements AdminService.
func (s *Service) GetHost(_ context.Context, req *adminv1.GetHostRequest) (*adminv1.GetHostResponse, error) {
	h := s.o.Store.Snapshot().Host(req.GetName())
	if h == nil {
		return nil, status.Error(codes.NotFound, "host not found")
	}
	return &adminv1.GetHostResponse{Host: proto.Clone(h).(*adminv1.Host)}, nil
}

// CreateHost implements AdminService.
func (s *Service) CreateHost(ctx context.Context, req *adminv1.CreateHostRequest) (*adminv1.CreateHostResponse, error) {
	h := req.GetHost()
	if h == nil {
		return nil, invalid("host", "required")
	}
	if h.GetEtag() != "" {
		return nil, invalid("host.etag", "must be empty on create")
	}
	if err := s.checkHost(h); err != nil {
		return nil, err
	}
	snap, err := s.apply(ctx, "CreateHost", "hosts/"+h.GetName(), []store.Mutation{{Kind: store.KindHost, Key: h.GetName(), Value: h, IfAbsent: true}}, "host", hostIndex(h.GetName()))
	if err != nil {
		return nil, err
	}
	return &adminv1.CreateHostResponse{Host: clone(snap.Host(h.GetName()))}, nil
}

// UpdateHost implements AdminService.
func (s *Service) UpdateHost(ctx context.Context, req *adminv1.UpdateHostRequest) (*adminv1.UpdateHostResponse, error) {
	in := req.GetHost()
	if in == nil || in.GetName() == "" {
		return nil, invalid("host.name", "required")
	}
	if in.GetEtag() == "" {
		return nil, invalid("host.etag", "required: send the etag you read")
	}
	cur := s.o.Store.Snapshot().Host(in.GetName())
	if cur == nil {
		return nil, status.Error(codes.NotFound, "host not found")
	}
	merged, err := applyMask(cur, in, req.GetUpdateMask(), "host", "name", "etag")
	if err != nil {
		return nil, err
	}
	h := merged.(*adminv1.Host)
	h.Etag = ""
	if err := s.checkHost(h); err != nil {
		return nil, err
	}
	snap, err := s.apply(ctx, "UpdateHost", "hosts/"+h.GetName(), []store.Mutation{{Kind: store.KindHost, Key: h.GetName(), Value: h, IfEtag: in.GetEtag()}}, "host", hostIndex(h.GetName()))
	if err != nil {
		return nil, err
	}
	return &adminv1.UpdateHostResponse{Host: clone(snap.Host(h.GetName()))}, nil
}

// DeleteHost implements AdminService.
func (s *Service) DeleteHost(ctx context.Context, req *adminv1.DeleteHostRequest) (*adminv1.DeleteHostResponse, error) {
	if req.GetName() == "" {
		return nil, invalid("name", "required")
	}
	if req.GetEtag() == "" {
		return nil, invalid("etag", "required: send the etag you read")
	}
	snap, err := s.apply(ctx, "DeleteHost", "hosts/"+req.GetName(), []store.Mutation{{Kind: store.KindHost, Key: req.GetName(), IfEtag: req.GetEtag()}}, "", nil)
	if err != nil {
		return nil, err
	}
	return &adminv1.DeleteHostResponse{Revision: snap.Revision}, nil
}

// ---- rules

// ListRules implements AdminService.
func (s *Service) ListRules(_ context.Context, req *adminv1.ListRulesRequest) (*adminv1.ListRulesResponse, error) {
	snap := s.o.Store.Snapshot()
	page, next, err := paginate(snap.Rules, func(r *adminv1.Rule) string { return r.GetId() }, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListRulesResponse{Rules: cloneAll(page), NextPageToken: next, Revision: snap.Revision}, nil
}

// GetRule implements AdminService.
func (s *Service) GetRule(_ context.Context, req *adminv1.GetRuleRequest) (*adminv1.GetRuleResponse, error) {
	r := s.o.Store.Snapshot().Rule(req.GetId())
	if r == nil {
		return nil, status.Error(codes.NotFound, "rule not found")
	}
	return &adminv1.GetRuleResponse{Rule: clone(r)}, nil
}

// CreateRule implements AdminService.
func (s *Service) CreateRule(ctx context.Context, req *adminv1.CreateRuleRequest) (*adminv1.CreateRuleResponse, error) {
	r := req.GetRule()
	if r == nil {
		return nil, invalid("rule", "required")
	}
	if r.GetEtag() != "" {
		return nil, invalid("rule.etag", "must be empty on create")
	}
	if err := s.checkRule(r); err != nil {
		return nil, err
	}
	snap, err := s.apply(ctx, "CreateRule", "rules/"+r.GetId(), []store.Mutation{{Kind: store.KindRule, Key: r.GetId(), Value: r, IfAbsent: true}}, "rule", ruleIndex(r.GetId()))
	if err != nil {
		return nil, err
	}
	return &adminv1.CreateRuleResponse{Rule: clone(snap.Rule(r.GetId()))}, nil
}

// UpdateRule implements AdminService.
func (s *Service) UpdateRule(ctx context.Context, req *adminv1.UpdateRuleRequest) (*adminv1.UpdateRuleResponse, error) {
	in := req.GetRule()
	if in == nil || in.GetId() == "" {
		return nil, invalid("rule.id", "required")
	}
	if in.GetEtag() == "" {
		return nil, invalid("rule.etag", "required: send the etag you read")
	}
	cur := s.o.Store.Snapshot().Rule(in.GetId())
	if cur == nil {
		return nil, status.Error(codes.NotFound, "rule not found")
	}
	merged, err := applyMask(cur, in, req.GetUpdateMask(), "rule", "id", "etag")
	if err != nil {
		return nil, err
	}
	r := merged.(*adminv1.Rule)
	r.Etag = ""
	if err := s.checkRule(r); err != nil {
		return nil, err
	}
	snap, err := s.apply(ctx, "UpdateRule", "rules/"+r.GetId(), []store.Mutation{{Kind: store.KindRule, Key: r.GetId(), Value: r, IfEtag: in.GetEtag()}}, "rule", ruleIndex(r.GetId()))
	if err != nil {
		return nil, err
	}
	return &adminv1.UpdateRuleResponse{Rule: clone(snap.Rule(r.GetId()))}, nil
}

// DeleteRule implements AdminService.
func (s *Service) DeleteRule(ctx context.Context, req *adminv1.DeleteRuleRequest) (*adminv1.DeleteRuleResponse, error) {
	if req.GetId() == "" {
		return nil, invalid("id", "required")
	}
	if req.GetEtag() == "" {
		return nil, invalid("etag", "required: send the etag you read")
	}
	snap, err := s.apply(ctx, "DeleteRule", "rules/"+req.GetId(), []store.Mutation{{Kind: store.KindRule, Key: req.GetId(), IfEtag: req.GetEtag()}}, "", nil)
	if err != nil {
		return nil, err
	}
	return &adminv1.DeleteRuleResponse{Revision: snap.Revision}, nil
}

// ---- revocations

// ListRevocations implements AdminService.
func (s *Service) ListRevocations(_ context.Context, req *adminv1.ListRevocationsRequest) (*adminv1.ListRevocationsResponse, error) {
	snap := s.o.Store.Snapshot()
	page, next, err := paginate(snap.Revocations, func(r *adminv1.Revocation) string { return r.GetId() }, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListRevocationsResponse{Revocations: cloneAll(page), NextPageToken: next, Revision: snap.Revision}, nil
}

// CreateRevocation implements AdminService.
func (s *Service) CreateRevocation(ctx context.Context, req *adminv1.CreateRevocationRequest) (*adminv1.CreateRevocationResponse, error) {
	in := req.GetRevocation()
	if in == nil {
		return nil, invalid("revocation", "required")
	}
	var cas []*x509.Certificate
	if s.o.ClientCAs != nil {
		cas = s.o.ClientCAs()
	}
	rev, err := NormalizeRevocation(in, cas)
	if err != nil {
		return nil, err
	}
	rev.CreateTime = timestamppb.New(s.o.Now())
	rev.Creator = IdentityFromContext(ctx).Name
	snap, err := s.apply(ctx, "CreateRevocation", "revocations/"+rev.GetId(), []store.Mutation{{Kind: store.KindRevocation, Key: rev.GetId(), Value: rev, IfAbsent: true}}, "revocation", nil)
	if err != nil {
		return nil, err
	}
	return &adminv1.CreateRevocationResponse{Revocation: clone(snap.Revocation(rev.GetId()))}, nil
}

// DeleteRevocation implements AdminService.
func (s *Service) DeleteRevocation(ctx context.Context, req *adminv1.DeleteRevocationRequest) (*adminv1.DeleteRevocationResponse, error) {
	if req.GetId() == "" {
		return nil, invalid("id", "required")
	}
	if req.GetEtag() == "" {
		return nil, invalid("etag", "required: send the etag you read")
	}
	snap, err := s.apply(ctx, "DeleteRevocation", "revocations/"+req.GetId(), []store.Mutation{{Kind: store.KindRevocation, Key: req.GetId(), IfEtag: req.GetEtag()}}, "", nil)
	if err != nil {
		return nil, err
	}
	return &adminv1.DeleteRevocationResponse{Revision: snap.Revision}, nil
}

// NormalizeRevocation validates a revocation request and returns the stored
// form with its derived id (see package internal/revocation): by
// fingerprint, or by serial number and issuer. The issuer is read as a
// distinguished name (RFC 4514, "CN=msg dev CA,O=Example", or OpenSSL's
// "/O=Example/CN=msg dev CA"; see [dn.Parse]) and must name one of cas, the
// configured client CAs: a revocation that could never match a certificate
// the gateway accepts is refused rather than stored. The stored issuer is
// that CA's subject as RFC 4514 writes it, so every spelling of one issuer
// gives one revocation. Errors are InvalidArgument naming the field.
func NormalizeRevocation(in *adminv1.Revocation, cas []*x509.Certificate) (*adminv1.Revocation, error) {
	if in.GetId() != "" || in.GetEtag() != "" || in.GetCreator() != "" || in.GetCreateTime() != nil {
		return nil, invalid("revocation", "id, etag, creator and create_time are output only")
	}
	out := &adminv1.Revocation{Reason: strings.TrimSpace(in.GetReason())}
	if out.Reason == "" || len(out.Reason) > 1024 {
		return nil, invalid("revocation.reason", "required, at most 1024 bytes")
	}
	fp := strings.ToLower(strings.ReplaceAll(in.GetFingerprintSha256(), ":", ""))
	switch {
	case fp != "" && (in.GetSerialHex() != "" || in.GetIssuer() != ""):
		return nil, invalid("revocation.fingerprint_sha256", "use either fingerprint_sha256 or serial_hex with issuer, not both")
	case fp != "":
		if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
			return nil, invalid("revocation.fingerprint_sha256", "must be 64 hex digits")
		}
		out.FingerprintSha256 = fp
		out.Id = revocation.FingerprintID(fp)
	case in.GetSerialHex() == "":
		return nil, invalid("revocation.serial_hex", "required unless fingerprint_sha256 is set")
	case strings.TrimSpace(in.GetIssuer()) == "":
		return nil, invalid("revocation.issuer", "required with serial_hex")
	default:
		serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(strings.ReplaceAll(in.GetSerialHex(), ":", "")), "0x"), 16)
		if !ok || serial.Sign() < 0 || len(in.GetSerialHex()) > 128 {
			return nil, invalid("revocation.serial_hex", "must be a hex number")
		}
		issuer, err := issuerCA(in.GetIssuer(), cas)
		if err != nil {
			return nil, err
		}
		out.SerialHex = serial.Text(16)
		out.Issuer = issuer.String()
		out.Id = revocation.SerialID(issuer, serial)
	}
	return out, nil
}

// issuerCA parses a revocation's issuer and returns the subject of the
// client CA it names.
func issuerCA(issuer string, cas []*x509.Certificate) (dn.Name, error) {
	name, err := dn.Parse(issuer)
	if err != nil {
		return dn.Name{}, invalid("revocation.issuer", "not a distinguished name: "+err.Error())
	}
	var reversed *dn.Name
	for _, ca := range cas {
		subject, err := dn.FromDER(ca.RawSubject)
		if err != nil {
			continue
		}
		if subject.Equal(name) {
			return subject, nil
		}
		if subject.Equal(name.Reversed()) && reversed == nil {
			reversed = &subject
		}
	}
	if reversed != nil {
		// OpenSSL prints names most general first with commas; RFC 4514
		// (and this API) reads them most specific first.
		return dn.Name{}, invalid("revocation.issuer", fmt.Sprintf(
			"names no configured client CA; its RDNs are in reverse order: RFC 4514 writes the most specific first, %q", reversed.String()))
	}
	return dn.Name{}, invalid("revocation.issuer", "names no configured client CA")
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
		Version:         s.o.Version,
		StartTime:       timestamppb.New(s.o.StartTime),
		UptimeSeconds:   int64(now.Sub(s.o.StartTime) / time.Second),
		Revision:        snap.Revision,
		HostCount:       int32(len(snap.Hosts)),
		RuleCount:       int32(len(snap.Rules)),
		RevocationCount: int32(len(snap.Revocations)),
	}
	s.describeStore(ctx, resp)
	return resp, nil
}

// ---- helpers

// apply commits muts after validating the would-be snapshot, records the
// write in the audit trail, and maps store errors to statuses. field and
// index let validation errors about the written resource name the request's
// field ("rule.hosts[0]") instead of its position in the snapshot.
func (s *Service) apply(ctx context.Context, action, target string, muts []store.Mutation, field fieldpath.Path, index func(*store.Snapshot) fieldpath.Path) (*store.Snapshot, error) {
	var verr error
	snap, err := s.o.Store.Apply(ctx, muts, func(next *store.Snapshot) error {
		if s.o.Validate == nil {
			return nil
		}
		if err := s.o.Validate(next); err != nil {
			verr = err
			if index != nil {
				verr = fieldpath.Reroot(err, index(next), field)
			}
			return err
		}
		return nil
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
		rec.Decision = adminv1.Decision_DECISION_DENY
		var st error
		switch {
		case verr != nil:
			msg := verr.Error()
			if len(muts) == 1 && muts[0].Value == nil {
				st = status.Error(codes.FailedPrecondition, "still referenced: "+msg)
			} else {
				st = status.Error(codes.InvalidArgument, msg)
			}
		case errors.Is(err, store.ErrExists):
			st = status.Error(codes.AlreadyExists, "already exists")
		case errors.Is(err, store.ErrNotFound):
			st = status.Error(codes.NotFound, "not found")
		case errors.Is(err, store.ErrConflict):
			st = status.Error(codes.Aborted, "etag mismatch: the resource was changed by someone else; read it again")
		case errors.Is(err, store.ErrUnavailable):
			s.o.Logger.WarnContext(ctx, "admin: store unavailable", "request_id", requestid.FromContext(ctx), "action", action, "error", err)
			st = status.Error(codes.Unavailable, "the configuration store is unavailable; read the resource again before retrying")
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			st = status.FromContextError(err).Err()
		default:
			st = s.internal(ctx, action, err)
		}
		rec.Code = status.Code(st).String()
		rec.Reason = status.Convert(st).Message()
		return nil, st
	}
	rec.Revision = snap.Revision
	s.o.Logger.InfoContext(ctx, "admin write", "request_id", requestid.FromContext(ctx),
		"admin", rec.Principal, "action", action, "target", target, "revision", snap.Revision)
	return snap, nil
}

func (s *Service) internal(ctx context.Context, op string, err error) error {
	s.o.Logger.ErrorContext(ctx, "admin: "+op, "request_id", requestid.FromContext(ctx), "error", err)
	return status.Error(codes.Internal, "internal error")
}

func (s *Service) checkHost(h *adminv1.Host) error {
	if s.o.Resources.Host == nil {
		return nil
	}
	if err := s.o.Resources.Host(h); err != nil {
		return status.Error(codes.InvalidArgument, fieldpath.Reroot(err, "hosts[0]", "host").Error())
	}
	return nil
}

func (s *Service) checkRule(r *adminv1.Rule) error {
	if s.o.Resources.Rule == nil {
		return nil
	}
	if err := s.o.Resources.Rule(r); err != nil {
		return status.Error(codes.InvalidArgument, fieldpath.Reroot(err, "rules[0]", "rule").Error())
	}
	return nil
}

// hostIndex and ruleIndex return a function that names the written
// resource's position in a snapshot, e.g. "hosts[3]", so that a snapshot
// validation error about it can be reported with the request's field name.
func hostIndex(name string) func(*store.Snapshot) fieldpath.Path {
	return func(s *store.Snapshot) fieldpath.Path {
		for i, h := range s.Hosts {
			if h.GetName() == name {
				return fieldpath.Path("hosts").Index(i)
			}
		}
		return ""
	}
}

func ruleIndex(id string) func(*store.Snapshot) fieldpath.Path {
	return func(s *store.Snapshot) fieldpath.Path {
		for i, r := range s.Rules {
			if r.GetId() == id {
				return fieldpath.Path("rules").Index(i)
			}
		}
		return ""
	}
}

func invalid(field, msg string) error {
	return status.Error(codes.InvalidArgument, field+": "+msg)
}

func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }

func cloneAll[T proto.Message](in []T) []T {
	out := make([]T, len(in))
	for i, m := range in {
		out[i] = clone(m)
	}
	return out
}

func pageSize(n int32) int {
	switch {
	case n <= 0:
		return defaultPageSize
	case n > maxPageSize:
		return maxPageSize
	}
	return int(n)
}

// paginate returns the page of a key-sorted list after the key in token.
func paginate[T any](items []T, key func(T) string, size int32, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", invalid("page_token", "invalid")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	n := pageSize(size)
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

// applyMask returns cur with the fields named in mask copied from in; an
// empty mask replaces every field. The immutable fields (the key and etag)
// are never copied.
func applyMask(cur, in proto.Message, mask *fieldmaskpb.FieldMask, prefix string, immutable ...string) (proto.Message, error) {
	if len(mask.GetPaths()) == 0 {
		out := proto.Clone(in)
		return out, nil
	}
	out := proto.Clone(cur)
	src, dst := in.ProtoReflect(), out.ProtoReflect()
	fields := dst.Descriptor().Fields()
	for _, p := range mask.GetPaths() {
		fd := fields.ByName(protoreflect.Name(p))
		if fd == nil {
			fd = fields.ByJSONName(p)
		}
		if fd == nil {
			return nil, invalid("update_mask", fmt.Sprintf("unknown field %q (top-level fields of %s only)", p, prefix))
		}
		if slices.Contains(immutable, string(fd.Name())) {
			// The key selects the resource and the etag is the precondition;
			// grpc-gateway puts both into a mask it derives from a PATCH
			// body, so they are skipped rather than refused.
			continue
		}
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	return out, nil
}
