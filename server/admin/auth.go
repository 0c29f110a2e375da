package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Role is what an admin may do.
type Role int

// The roles, in increasing power.
const (
	RoleNone Role = iota
	RoleViewer
	RoleEditor
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleEditor:
		return "editor"
	}
	return "none"
}

// Identity is an authenticated admin.
type Identity struct {
	Name string
	Role Role
}

type identityKey struct{}

// IdentityFromContext returns the authenticated admin, or a zero Identity.
func IdentityFromContext(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

type token struct {
	name string
	hash [sha256.Size]byte
	role Role
}

// Authenticator checks admin bearer tokens against their configured hashes.
type Authenticator struct {
	tokens []token
}

// NewAuthenticator compiles the configured tokens. Errors name the key, e.g.
// "admin.tokens[1].sha256".
func NewAuthenticator(cfg *configv1.Admin) (*Authenticator, error) {
	a := &Authenticator{}
	seen := map[string]bool{}
	for i, t := range cfg.GetTokens() {
		key := fmt.Sprintf("admin.tokens[%d]", i)
		if t.GetName() == "" {
			return nil, fmt.Errorf("%s.name: required", key)
		}
		if seen[t.GetName()] {
			return nil, fmt.Errorf("%s.name: duplicate name %q", key, t.GetName())
		}
		seen[t.GetName()] = true
		raw, err := hex.DecodeString(strings.ToLower(t.GetSha256()))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("%s.sha256: must be 64 hex digits (the SHA-256 of the token)", key)
		}
		var role Role
		switch t.GetRole() {
		case configv1.AdminRole_ADMIN_ROLE_VIEWER:
			role = RoleViewer
		case configv1.AdminRole_ADMIN_ROLE_EDITOR:
			role = RoleEditor
		default:
			return nil, fmt.Errorf("%s.role: required (viewer or editor)", key)
		}
		tok := token{name: t.GetName(), role: role}
		copy(tok.hash[:], raw)
		a.tokens = append(a.tokens, tok)
	}
	return a, nil
}

// HashToken returns the hex SHA-256 of a token, the form the config keeps.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// authenticate finds the identity for the "authorization" metadata. Every
// configured hash is compared in constant time, so timing does not reveal
// which token (or how much of one) matched.
func (a *Authenticator) authenticate(ctx context.Context) (Identity, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) != 1 {
		return Identity{}, false
	}
	const prefix = "bearer "
	if len(vals[0]) <= len(prefix) || !strings.EqualFold(vals[0][:len(prefix)], prefix) {
		return Identity{}, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(vals[0][len(prefix):])))
	var found Identity
	ok := false
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			found, ok = Identity{Name: t.name, Role: t.role}, true
		}
	}
	return found, ok
}

// readOnly lists the methods a viewer may call.
var readOnly = map[string]bool{
	adminv1.AdminService_ListHosts_FullMethodName:        true,
	adminv1.AdminService_GetHost_FullMethodName:          true,
	adminv1.AdminService_ListRules_FullMethodName:        true,
	adminv1.AdminService_GetRule_FullMethodName:          true,
	adminv1.AdminService_ListRevocations_FullMethodName:  true,
	adminv1.AdminService_ListAuditRecords_FullMethodName: true,
	adminv1.AdminService_GetStatus_FullMethodName:        true,
}

// UnaryInterceptor authenticates the caller and checks its role: viewer for
// reads, editor for everything else. Missing or unknown credentials are
// Unauthenticated (HTTP 401), a too-weak role PermissionDenied (403); refused
// writes are audited.
func (a *Authenticator) UnaryInterceptor(audit func(*adminv1.AuditRecord), log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		id, ok := a.authenticate(ctx)
		if !ok {
			a.refused(ctx, audit, log, info.FullMethod, "", codes.Unauthenticated)
			return nil, status.Error(codes.Unauthenticated, "admin credentials required")
		}
		need := RoleEditor
		if readOnly[info.FullMethod] {
			need = RoleViewer
		}
		if id.Role < need {
			a.refused(ctx, audit, log, info.FullMethod, id.Name, codes.PermissionDenied)
			return nil, status.Error(codes.PermissionDenied, "role "+id.Role.String()+" may not call this method")
		}
		return handler(context.WithValue(ctx, identityKey{}, id), req)
	}
}

func (a *Authenticator) refused(ctx context.Context, audit func(*adminv1.AuditRecord), log *slog.Logger, method, who string, code codes.Code) {
	action := method[strings.LastIndex(method, "/")+1:]
	log.InfoContext(ctx, "admin: refused", "request_id", requestid.FromContext(ctx), "admin", who, "action", action, "code", code.String())
	if audit == nil || readOnly[method] {
		return
	}
	audit(&adminv1.AuditRecord{
		Time:        timestamppb.New(time.Now()),
		RequestId:   requestid.FromContext(ctx),
		Kind:        adminv1.RecordKind_RECORD_KIND_ADMIN,
		Principal:   who,
		AdminAction: action,
		Decision:    adminv1.Decision_DECISION_DENY,
		Code:        code.String(),
	})
}
