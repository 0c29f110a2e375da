package admin

import (
	"context"
	"errors"
	"fmt"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/store"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The audit log's methods: the Merkle tree over this instance's records,
// its signed checkpoints, and their verification (package auditlog). All
// read, so a viewer may call them.

// GetAuditLog implements AdminService. It writes the queued records first,
// so the size counts the calls made before it, as VerifyAuditLog does.
func (s *Service) GetAuditLog(ctx context.Context, _ *adminv1.GetAuditLogRequest) (*adminv1.GetAuditLogResponse, error) {
	if err := s.o.Store.FlushAudit(ctx); err != nil {
		return nil, s.internal(ctx, "flush audit", err)
	}
	info, err := s.o.Store.AuditLog(ctx)
	if err != nil {
		return nil, s.internal(ctx, "audit log", err)
	}
	resp := &adminv1.GetAuditLogResponse{
		Instance:    info.Instance,
		Origin:      info.Origin,
		VerifierKey: info.VerifierKey,
		TreeSize:    info.Size,
		FirstIndex:  info.First,
	}
	if info.Latest != nil {
		resp.LatestCheckpoint = checkpointProto(*info.Latest)
	}
	return resp, nil
}

// ListAuditCheckpoints implements AdminService.
func (s *Service) ListAuditCheckpoints(ctx context.Context, req *adminv1.ListAuditCheckpointsRequest) (*adminv1.ListAuditCheckpointsResponse, error) {
	cps, next, err := s.o.Store.AuditCheckpoints(ctx, pageSize(req.GetPageSize()), req.GetPageToken())
	if errors.Is(err, store.ErrInvalidPageToken) {
		return nil, invalid("page_token", "invalid")
	}
	if err != nil {
		return nil, s.internal(ctx, "audit checkpoints", err)
	}
	resp := &adminv1.ListAuditCheckpointsResponse{NextPageToken: next}
	for _, c := range cps {
		resp.Checkpoints = append(resp.Checkpoints, checkpointProto(c))
	}
	return resp, nil
}

// VerifyAuditLog implements AdminService. It writes the queued records
// first, so a call made just before is checked too.
func (s *Service) VerifyAuditLog(ctx context.Context, req *adminv1.VerifyAuditLogRequest) (*adminv1.VerifyAuditLogResponse, error) {
	info, err := s.o.Store.AuditLog(ctx)
	if err != nil {
		return nil, s.internal(ctx, "audit log", err)
	}
	v, err := note.NewVerifier(info.VerifierKey)
	if err != nil {
		return nil, s.internal(ctx, "audit log key", err)
	}
	var extra []auditlog.Checkpoint
	for i, text := range req.GetCheckpoints() {
		field := fmt.Sprintf("checkpoints[%d]", i)
		notes, err := auditlog.SplitNotes([]byte(text))
		if err != nil {
			return nil, invalid(field, err.Error())
		}
		for _, n := range notes {
			c, err := auditlog.Open(n, v)
			if err != nil {
				return nil, invalid(field, err.Error())
			}
			extra = append(extra, c)
		}
	}
	if err := s.o.Store.FlushAudit(ctx); err != nil {
		return nil, s.internal(ctx, "flush audit", err)
	}
	res, err := s.o.Store.VerifyAudit(ctx, extra)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, status.FromContextError(err).Err()
		}
		return nil, s.internal(ctx, "verify audit", err)
	}
	if !res.OK {
		s.o.Logger.ErrorContext(ctx, "AUDIT LOG TAMPERED: verification failed", "request_id", requestid.FromContext(ctx),
			"first_bad_index", res.FirstBad, "problem", res.Problem)
	}
	return &adminv1.VerifyAuditLogResponse{
		Ok:                 res.OK,
		FirstIndex:         res.Start,
		TreeSize:           res.End,
		CheckpointsChecked: int64(res.Checkpoints),
		VerifiedSize:       res.VerifiedSize,
		FirstBadIndex:      res.FirstBad,
		Problem:            res.Problem,
		Notes:              res.Notes,
	}, nil
}

// GetAuditProof implements AdminService.
func (s *Service) GetAuditProof(ctx context.Context, req *adminv1.GetAuditProofRequest) (*adminv1.GetAuditProofResponse, error) {
	switch {
	case req.GetIndex() < 0:
		return nil, invalid("index", "must not be negative")
	case req.GetTreeSize() < 0:
		return nil, invalid("tree_size", "must not be negative")
	}
	p, err := s.o.Store.AuditProof(ctx, req.GetIndex(), req.GetTreeSize())
	if errors.Is(err, store.ErrAuditRange) {
		return nil, status.Error(codes.OutOfRange, err.Error())
	}
	if err != nil {
		return nil, s.internal(ctx, "audit proof", err)
	}
	return &adminv1.GetAuditProofResponse{
		Record:     p.Record,
		Leaf:       p.Leaf,
		Checkpoint: checkpointProto(p.Checkpoint),
		Proof:      hashBytes(p.Proof),
	}, nil
}

// GetAuditHashes implements AdminService.
func (s *Service) GetAuditHashes(ctx context.Context, req *adminv1.GetAuditHashesRequest) (*adminv1.GetAuditHashesResponse, error) {
	if req.GetStart() < 0 || req.GetEnd() < req.GetStart() {
		return nil, invalid("end", "must not be before start")
	}
	frontier, leaves, err := s.o.Store.AuditHashes(ctx, req.GetStart(), req.GetEnd())
	if errors.Is(err, store.ErrAuditRange) {
		return nil, status.Error(codes.OutOfRange, err.Error())
	}
	if err != nil {
		return nil, s.internal(ctx, "audit hashes", err)
	}
	return &adminv1.GetAuditHashesResponse{Frontier: hashBytes(frontier), LeafHashes: hashBytes(leaves)}, nil
}

func checkpointProto(c store.AuditCheckpoint) *adminv1.AuditCheckpoint {
	return &adminv1.AuditCheckpoint{
		Note:     string(c.Note),
		TreeSize: c.Size,
		RootHash: c.Root[:],
		Time:     timestamppb.New(c.Time),
	}
}

func hashBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
