package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testToken is the admin token the fake accepts.
const testToken = "s3cret-admin-token-7f3a"

// fakeAdmin is an in-memory AdminService with the real one's contract:
// etags are store revisions, a stale etag is ABORTED, every call needs
// "authorization: Bearer <testToken>", lists are sorted and paged.
type fakeAdmin struct {
	adminv1.UnimplementedAdminServiceServer
	pageMax int32 // the largest page the fake returns, to exercise paging

	mu           sync.Mutex
	rev          int64
	hosts        map[string]*adminv1.Host
	rules        map[string]*adminv1.Rule
	revocations  map[string]*adminv1.Revocation
	tokens       map[string]*adminv1.EnrollmentToken
	devices      map[string]*adminv1.Device
	audit        []*adminv1.AuditRecord // newest first
	auditReqs    []*adminv1.ListAuditRecordsRequest
	updateMasks  [][]string
	evaluations  []*adminv1.EvaluatePolicyRequest
	afterGetHost func() // runs after a successful GetHost, outside mu
}

func newFakeAdmin() *fakeAdmin {
	return &fakeAdmin{
		pageMax:     1000,
		hosts:       map[string]*adminv1.Host{},
		rules:       map[string]*adminv1.Rule{},
		revocations: map[string]*adminv1.Revocation{},
		tokens:      map[string]*adminv1.EnrollmentToken{},
		devices:     map[string]*adminv1.Device{},
	}
}

func authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) != 1 || v[0] != "Bearer "+testToken {
		return status.Error(codes.Unauthenticated, "missing or unknown admin credentials")
	}
	return nil
}

// bump advances the revision and returns it as an etag; mu must be held.
func (f *fakeAdmin) bump() string {
	f.rev++
	return strconv.FormatInt(f.rev, 10)
}

// page returns one page of sorted items; tokens are offsets.
func page[T any](items []T, size, max int32, token string) ([]T, string, error) {
	if size <= 0 {
		size = 100
	}
	size = min(size, max, 1000)
	off := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", status.Error(codes.InvalidArgument, "page_token: invalid")
		}
		off = n
	}
	end := min(off+int(size), len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[off:end], next, nil
}

func sortedValues[T proto.Message](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = proto.Clone(m[k]).(T)
	}
	return out
}

// applyMask copies the masked top-level fields from in to a clone of cur;
// an empty mask replaces everything, as the real service does.
func applyMask[T proto.Message](cur, in T, mask *fieldmaskpb.FieldMask, prefix string, key protoreflect.Name) (T, error) {
	if len(mask.GetPaths()) == 0 {
		return proto.Clone(in).(T), nil
	}
	out := proto.Clone(cur).(T)
	src, dst := in.ProtoReflect(), out.ProtoReflect()
	for _, p := range mask.GetPaths() {
		fd := dst.Descriptor().Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			var zero T
			return zero, status.Errorf(codes.InvalidArgument, "update_mask: unknown field %q (top-level fields of %s only)", p, prefix)
		}
		if fd.Name() == key || fd.Name() == "etag" {
			var zero T
			return zero, status.Errorf(codes.InvalidArgument, "update_mask: %s.%s cannot be changed", prefix, fd.Name())
		}
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	return out, nil
}

func validateHost(h *adminv1.Host) error {
	if h.GetName() == "" {
		return status.Error(codes.InvalidArgument, "host.name: required")
	}
	if !strings.HasPrefix(h.GetUpstream(), "http://") && !strings.HasPrefix(h.GetUpstream(), "https://") {
		return status.Error(codes.InvalidArgument, "host.upstream: must be an http:// or https:// URL")
	}
	return nil
}

func validateRule(r *adminv1.Rule) error {
	switch {
	case r.GetId() == "":
		return status.Error(codes.InvalidArgument, "rule.id: required")
	case r.GetEffect() == adminv1.Effect_EFFECT_UNSPECIFIED:
		return status.Error(codes.InvalidArgument, "rule.effect: required")
	case len(r.GetPrincipals()) == 0:
		return status.Error(codes.InvalidArgument, "rule.principals: at least one")
	case len(r.GetHosts()) == 0:
		// With details, as a service may send them.
		st, err := status.New(codes.InvalidArgument, "rule.hosts: at least one").WithDetails(
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "hosts", Description: "at least one"}}},
			&errdetails.ErrorInfo{Reason: "INVALID_RULE", Domain: "msg.admin.v1"})
		if err != nil {
			panic(err)
		}
		return st.Err()
	}
	return nil
}

func errStale() error {
	return status.Error(codes.Aborted, "etag mismatch: the resource was changed by someone else; read it again")
}

func (f *fakeAdmin) ListHosts(ctx context.Context, req *adminv1.ListHostsRequest) (*adminv1.ListHostsResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	items, next, err := page(sortedValues(f.hosts), req.GetPageSize(), f.pageMax, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListHostsResponse{Hosts: items, NextPageToken: next, Revision: f.rev}, nil
}

func (f *fakeAdmin) GetHost(ctx context.Context, req *adminv1.GetHostRequest) (*adminv1.GetHostResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	h, ok := f.hosts[req.GetName()]
	hook := f.afterGetHost
	f.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if hook != nil {
		hook()
	}
	return &adminv1.GetHostResponse{Host: proto.Clone(h).(*adminv1.Host)}, nil
}

func (f *fakeAdmin) CreateHost(ctx context.Context, req *adminv1.CreateHostRequest) (*adminv1.CreateHostResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	h := proto.Clone(req.GetHost()).(*adminv1.Host)
	if h.GetEtag() != "" {
		return nil, status.Error(codes.InvalidArgument, "host.etag: must be empty on create")
	}
	if err := validateHost(h); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hosts[h.GetName()]; ok {
		return nil, status.Error(codes.AlreadyExists, "already exists")
	}
	h.Etag = f.bump()
	f.hosts[h.GetName()] = h
	return &adminv1.CreateHostResponse{Host: proto.Clone(h).(*adminv1.Host)}, nil
}

func (f *fakeAdmin) UpdateHost(ctx context.Context, req *adminv1.UpdateHostRequest) (*adminv1.UpdateHostResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	in := req.GetHost()
	if in.GetEtag() == "" {
		return nil, status.Error(codes.InvalidArgument, "host.etag: required: send the etag you read")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateMasks = append(f.updateMasks, req.GetUpdateMask().GetPaths())
	cur, ok := f.hosts[in.GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if cur.GetEtag() != in.GetEtag() {
		return nil, errStale()
	}
	h, err := applyMask(cur, in, req.GetUpdateMask(), "host", "name")
	if err != nil {
		return nil, err
	}
	if err := validateHost(h); err != nil {
		return nil, err
	}
	h.Etag = f.bump()
	f.hosts[h.GetName()] = h
	return &adminv1.UpdateHostResponse{Host: proto.Clone(h).(*adminv1.Host)}, nil
}

func (f *fakeAdmin) DeleteHost(ctx context.Context, req *adminv1.DeleteHostRequest) (*adminv1.DeleteHostResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	if req.GetEtag() == "" {
		return nil, status.Error(codes.InvalidArgument, "etag: required: send the etag you read")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.hosts[req.GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if cur.GetEtag() != req.GetEtag() {
		return nil, errStale()
	}
	delete(f.hosts, req.GetName())
	f.bump()
	return &adminv1.DeleteHostResponse{Revision: f.rev}, nil
}

func (f *fakeAdmin) ListRules(ctx context.Context, req *adminv1.ListRulesRequest) (*adminv1.ListRulesResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	items, next, err := page(sortedValues(f.rules), req.GetPageSize(), f.pageMax, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListRulesResponse{Rules: items, NextPageToken: next, Revision: f.rev}, nil
}

func (f *fakeAdmin) GetRule(ctx context.Context, req *adminv1.GetRuleRequest) (*adminv1.GetRuleResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rules[req.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	return &adminv1.GetRuleResponse{Rule: proto.Clone(r).(*adminv1.Rule)}, nil
}

func (f *fakeAdmin) CreateRule(ctx context.Context, req *adminv1.CreateRuleRequest) (*adminv1.CreateRuleResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	r := proto.Clone(req.GetRule()).(*adminv1.Rule)
	if r.GetEtag() != "" {
		return nil, status.Error(codes.InvalidArgument, "rule.etag: must be empty on create")
	}
	if err := validateRule(r); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rules[r.GetId()]; ok {
		return nil, status.Error(codes.AlreadyExists, "already exists")
	}
	r.Etag = f.bump()
	f.rules[r.GetId()] = r
	return &adminv1.CreateRuleResponse{Rule: proto.Clone(r).(*adminv1.Rule)}, nil
}

func (f *fakeAdmin) UpdateRule(ctx context.Context, req *adminv1.UpdateRuleRequest) (*adminv1.UpdateRuleResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	in := req.GetRule()
	if in.GetEtag() == "" {
		return nil, status.Error(codes.InvalidArgument, "rule.etag: required: send the etag you read")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateMasks = append(f.updateMasks, req.GetUpdateMask().GetPaths())
	cur, ok := f.rules[in.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if cur.GetEtag() != in.GetEtag() {
		return nil, errStale()
	}
	r, err := applyMask(cur, in, req.GetUpdateMask(), "rule", "id")
	if err != nil {
		return nil, err
	}
	if err := validateRule(r); err != nil {
		return nil, err
	}
	r.Etag = f.bump()
	f.rules[r.GetId()] = r
	return &adminv1.UpdateRuleResponse{Rule: proto.Clone(r).(*adminv1.Rule)}, nil
}

func (f *fakeAdmin) DeleteRule(ctx context.Context, req *adminv1.DeleteRuleRequest) (*adminv1.DeleteRuleResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	if req.GetEtag() == "" {
		return nil, status.Error(codes.InvalidArgument, "etag: required: send the etag you read")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.rules[req.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if cur.GetEtag() != req.GetEtag() {
		return nil, errStale()
	}
	delete(f.rules, req.GetId())
	f.bump()
	return &adminv1.DeleteRuleResponse{Revision: f.rev}, nil
}

func (f *fakeAdmin) ListRevocations(ctx context.Context, req *adminv1.ListRevocationsRequest) (*adminv1.ListRevocationsResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	items, next, err := page(sortedValues(f.revocations), req.GetPageSize(), f.pageMax, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListRevocationsResponse{Revocations: items, NextPageToken: next, Revision: f.rev}, nil
}

func (f *fakeAdmin) CreateRevocation(ctx context.Context, req *adminv1.CreateRevocationRequest) (*adminv1.CreateRevocationResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	r := proto.Clone(req.GetRevocation()).(*adminv1.Revocation)
	if r.GetId() != "" || r.GetEtag() != "" || r.GetCreator() != "" || r.GetCreateTime() != nil {
		return nil, status.Error(codes.InvalidArgument, "revocation: id, etag, creator and create_time are output only")
	}
	if r.GetReason() == "" {
		return nil, status.Error(codes.InvalidArgument, "revocation.reason: required")
	}
	if r.GetFingerprintSha256() != "" {
		r.Id = "fp-" + r.GetFingerprintSha256()
	} else {
		sum := sha256.Sum256([]byte(r.GetIssuer() + "\x00" + strings.TrimLeft(r.GetSerialHex(), "0")))
		r.Id = "sn-" + hex.EncodeToString(sum[:8])
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.revocations[r.GetId()]; ok {
		return nil, status.Error(codes.AlreadyExists, "already exists")
	}
	r.Creator = "test-admin"
	r.CreateTime = timestamppb.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	r.Etag = f.bump()
	f.revocations[r.GetId()] = r
	return &adminv1.CreateRevocationResponse{Revocation: proto.Clone(r).(*adminv1.Revocation)}, nil
}

func (f *fakeAdmin) DeleteRevocation(ctx context.Context, req *adminv1.DeleteRevocationRequest) (*adminv1.DeleteRevocationResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.revocations[req.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if cur.GetEtag() != req.GetEtag() {
		return nil, errStale()
	}
	delete(f.revocations, req.GetId())
	f.bump()
	return &adminv1.DeleteRevocationResponse{Revision: f.rev}, nil
}

func (f *fakeAdmin) ListAuditRecords(ctx context.Context, req *adminv1.ListAuditRecordsRequest) (*adminv1.ListAuditRecordsResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auditReqs = append(f.auditReqs, proto.Clone(req).(*adminv1.ListAuditRecordsRequest))
	var match []*adminv1.AuditRecord
	for _, r := range f.audit {
		t := r.GetTime().AsTime()
		switch {
		case req.GetPrincipal() != "" && r.GetPrincipal() != req.GetPrincipal(),
			req.GetHost() != "" && r.GetHost() != req.GetHost(),
			req.GetDecision() != 0 && r.GetDecision() != req.GetDecision(),
			req.GetKind() != 0 && r.GetKind() != req.GetKind(),
			req.GetStartTime() != nil && t.Before(req.GetStartTime().AsTime()),
			req.GetEndTime() != nil && !t.Before(req.GetEndTime().AsTime()):
			continue
		}
		match = append(match, r)
	}
	items, next, err := page(match, req.GetPageSize(), f.pageMax, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListAuditRecordsResponse{Records: items, NextPageToken: next}, nil
}

func (f *fakeAdmin) GetStatus(ctx context.Context, _ *adminv1.GetStatusRequest) (*adminv1.GetStatusResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &adminv1.GetStatusResponse{
		Version:         "v1.2.3-test",
		StartTime:       timestamppb.New(time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)),
		UptimeSeconds:   3725,
		Revision:        f.rev,
		HostCount:       int32(len(f.hosts)),
		RuleCount:       int32(len(f.rules)),
		RevocationCount: int32(len(f.revocations)),
	}, nil
}

// requestLog records "METHOD /path?query" for every request the server saw.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// take returns the requests seen since the last take.
func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.reqs)
	l.reqs = nil
	return out
}

// adminServer is a real HTTP server on 127.0.0.1 serving grpc-gateway's mux
// in front of a fakeAdmin.
type adminServer struct {
	fake *fakeAdmin
	log  *requestLog
	url  string
}

func newAdminServer(t *testing.T) *adminServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	fake := newFakeAdmin()
	mux := runtime.NewServeMux()
	if err := adminv1.RegisterAdminServiceHandlerServer(ctx, mux, fake); err != nil {
		t.Fatal(err)
	}
	log := &requestLog{}
	srv := httptest.NewServer(log.wrap(mux))
	t.Cleanup(srv.Close)
	return &adminServer{fake: fake, log: log, url: srv.URL}
}

func (s *adminServer) seedHost(t *testing.T, h *adminv1.Host) *adminv1.Host {
	t.Helper()
	s.fake.mu.Lock()
	defer s.fake.mu.Unlock()
	h = proto.Clone(h).(*adminv1.Host)
	h.Etag = s.fake.bump()
	s.fake.hosts[h.GetName()] = h
	return proto.Clone(h).(*adminv1.Host)
}

func (s *adminServer) host(name string) *adminv1.Host {
	s.fake.mu.Lock()
	defer s.fake.mu.Unlock()
	if h, ok := s.fake.hosts[name]; ok {
		return proto.Clone(h).(*adminv1.Host)
	}
	return nil
}

func (s *adminServer) masks() [][]string {
	s.fake.mu.Lock()
	defer s.fake.mu.Unlock()
	return slices.Clone(s.fake.updateMasks)
}

// touchHost rewrites a host, as another admin would, giving it a new etag.
func (s *adminServer) touchHost(name string) {
	s.fake.mu.Lock()
	defer s.fake.mu.Unlock()
	h := proto.Clone(s.fake.hosts[name]).(*adminv1.Host)
	h.Etag = s.fake.bump()
	s.fake.hosts[name] = h
}

func (s *adminServer) String() string { return fmt.Sprintf("admin server at %s", s.url) }

// EvaluatePolicy answers like the policy tester of a gateway whose only
// rule allows alice everywhere; it records what it was asked.
func (f *fakeAdmin) EvaluatePolicy(ctx context.Context, req *adminv1.EvaluatePolicyRequest) (*adminv1.EvaluatePolicyResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.evaluations = append(f.evaluations, proto.Clone(req).(*adminv1.EvaluatePolicyRequest))
	f.mu.Unlock()
	id := req.GetIdentity().GetPrincipalId()
	if id == "" {
		id = req.GetIdentity().GetCommonName()
	}
	resp := &adminv1.EvaluatePolicyResponse{
		PrincipalId: id, Revision: 4, CanonicalHost: req.GetRequest().GetHost(),
		CanonicalMethod: strings.ToUpper(req.GetRequest().GetMethod()), CanonicalPath: req.GetRequest().GetPath(),
		Decision: adminv1.Decision_DECISION_DENY, Reason: "no_matching_rule", Code: "PermissionDenied",
	}
	if id == "alice" {
		resp.Decision, resp.RuleId, resp.Reason, resp.Code = adminv1.Decision_DECISION_ALLOW, "alice-all", "allowed", "OK"
	}
	return resp, nil
}
