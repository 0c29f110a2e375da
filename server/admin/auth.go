package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
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

// WithIdentity returns ctx carrying id as the authenticated admin, for the
// writes the gateway makes itself through the [Service]: they are validated
// and audited like an admin's, under id's name.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

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

type certClient struct {
	name        string
	fingerprint string // lower-case hex, or ""
	commonName  string // or ""
	role        Role
}

// Authenticator checks admin bearer tokens against their configured hashes,
// and admin client certificates against the configured clients.
type Authenticator struct {
	tokens  []token
	clients []certClient
}

// CertMetadataKey carries the fingerprint of the verified admin client
// certificate of a REST call from the REST mux to the admin gRPC server. It is
// trusted only on the in-process connection between the two; the mux never
// forwards a client-supplied header of that name.
const CertMetadataKey = "x-msg-admin-client-cert-sha256"

// certCNMetadataKey carries the same certificate's subject common name.
const certCNMetadataKey = "x-msg-admin-client-cert-cn"

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
	if len(cfg.GetClients()) > 0 && cfg.GetTls().GetClientCaFile() == "" {
		return nil, fmt.Errorf("admin.clients: needs admin.tls.client_ca_file to verify the certificates")
	}
	if t := cfg.GetTls(); t != nil && (t.GetCertFile() == "" || t.GetKeyFile() == "") {
		return nil, fmt.Errorf("admin.tls.cert_file: cert_file and key_file are required with admin.tls")
	}
	for i, c := range cfg.GetClients() {
		key := fmt.Sprintf("admin.clients[%d]", i)
		if c.GetName() == "" {
			return nil, fmt.Errorf("%s.name: required", key)
		}
		if seen[c.GetName()] {
			return nil, fmt.Errorf("%s.name: duplicate name %q", key, c.GetName())
		}
		seen[c.GetName()] = true
		fp := strings.ToLower(c.GetFingerprintSha256())
		if (fp == "") == (c.GetCommonName() == "") {
			return nil, fmt.Errorf("%s: set exactly one of fingerprint_sha256 and common_name", key)
		}
		if raw, err := hex.DecodeString(fp); fp != "" && (err != nil || len(raw) != sha256.Size) {
			return nil, fmt.Errorf("%s.fingerprint_sha256: must be 64 hex digits", key)
		}
		var role Role
		switch c.GetRole() {
		case configv1.AdminRole_ADMIN_ROLE_VIEWER:
			role = RoleViewer
		case configv1.AdminRole_ADMIN_ROLE_EDITOR:
			role = RoleEditor
		default:
			return nil, fmt.Errorf("%s.role: required (viewer or editor)", key)
		}
		a.clients = append(a.clients, certClient{name: c.GetName(), fingerprint: fp, commonName: c.GetCommonName(), role: role})
	}
	return a, nil
}

// HashToken returns the hex SHA-256 of a token, the form the config keeps.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// authenticate finds the caller's identity: a bearer token when the call
// carries an "authorization" header, otherwise a verified admin client
// certificate.
func (a *Authenticator) authenticate(ctx context.Context) (Identity, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("authorization"); len(vals) > 0 {
		return a.authenticateToken(vals)
	}
	return a.authenticateCert(ctx, md)
}

// authenticateCert matches the verified client certificate of a direct gRPC
// call, or the fingerprint the REST mux passed along on the in-process
// connection, against the configured admin clients.
func (a *Authenticator) authenticateCert(ctx context.Context, md metadata.MD) (Identity, bool) {
	if len(a.clients) == 0 {
		return Identity{}, false
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, false
	}
	var fp, cn string
	if p.Addr != nil && p.Addr.Network() == "bufconn" {
		// The in-process hop from the REST mux: the mux put the verified
		// certificate's fingerprint here (and drops any client copy).
		vals := md.Get(CertMetadataKey)
		if len(vals) != 1 {
			return Identity{}, false
		}
		fp = vals[0]
		if v := md.Get(certCNMetadataKey); len(v) == 1 {
			cn = v[0]
		}
	} else {
		info, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
			return Identity{}, false
		}
		leaf := info.State.VerifiedChains[0][0]
		sum := sha256.Sum256(leaf.Raw)
		fp, cn = hex.EncodeToString(sum[:]), leaf.Subject.CommonName
	}
	return a.matchClient(fp, cn)
}

// matchClient finds the configured admin client of a verified certificate,
// by its fingerprint or its subject common name.
func (a *Authenticator) matchClient(fp, cn string) (Identity, bool) {
	for _, c := range a.clients {
		if (c.fingerprint != "" && c.fingerprint == fp) || (c.commonName != "" && c.commonName == cn) {
			return Identity{Name: c.name, Role: c.role}, true
		}
	}
	return Identity{}, false
}

// RequireRole returns h behind the admin API's authentication, for the
// admin listener's plain HTTP routes (such as /metrics): the caller must
// bring a bearer token or a verified admin client certificate of at least
// role need. Missing or unknown credentials get 401, a too-weak role 403;
// the refusal is logged, and h never runs.
func (a *Authenticator) RequireRole(need Role, h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := a.authenticateHTTP(r)
		switch {
		case !ok:
			log.InfoContext(r.Context(), "admin: refused", "path", r.URL.Path, "code", codes.Unauthenticated.String())
			w.Header().Set("WWW-Authenticate", `Bearer realm="msg-gateway admin"`)
			http.Error(w, "admin credentials required", http.StatusUnauthorized)
		case id.Role < need:
			log.InfoContext(r.Context(), "admin: refused", "path", r.URL.Path, "admin", id.Name, "code", codes.PermissionDenied.String())
			http.Error(w, "role "+id.Role.String()+" may not read this", http.StatusForbidden)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// authenticateHTTP is authenticate for a plain HTTP request: its bearer
// token, else its verified client certificate.
func (a *Authenticator) authenticateHTTP(r *http.Request) (Identity, bool) {
	if vals := r.Header.Values("Authorization"); len(vals) > 0 {
		return a.authenticateToken(vals)
	}
	if len(a.clients) == 0 || r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return Identity{}, false
	}
	leaf := r.TLS.VerifiedChains[0][0]
	sum := sha256.Sum256(leaf.Raw)
	return a.matchClient(hex.EncodeToString(sum[:]), leaf.Subject.CommonName)
}

// authenticateToken checks a bearer token. Every configured hash is compared
// in constant time, so timing does not reveal which token (or how much of
// one) matched.
func (a *Authenticator) authenticateToken(vals []string) (Identity, bool) {
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

// readOnly reports whether a viewer may call method: the list and get
// methods of every resource kind, the audit trail and its log (verifying it
// writes nothing), the status and the policy tester (which writes nothing
// either). Everything else needs an editor.
func readOnly(method string) bool {
	switch method {
	case adminv1.AdminService_ListAuditRecords_FullMethodName,
		adminv1.AdminService_GetAuditLog_FullMethodName,
		adminv1.AdminService_ListAuditCheckpoints_FullMethodName,
		adminv1.AdminService_VerifyAuditLog_FullMethodName,
		adminv1.AdminService_GetAuditProof_FullMethodName,
		adminv1.AdminService_GetAuditHashes_FullMethodName,
		adminv1.AdminService_GetStatus_FullMethodName,
		adminv1.AdminService_EvaluatePolicy_FullMethodName:
		return true
	}
	for _, k := range resource.All() {
		for _, v := range []resource.Verb{resource.List, resource.Get} {
			if k.Method(v) != nil && method == k.FullMethod(v) {
				return true
			}
		}
	}
	return false
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
		if readOnly(info.FullMethod) {
			need = RoleViewer
		}
		if id.Role < need {
			a.refused(ctx, audit, log, info.FullMethod, id.Name, codes.PermissionDenied)
			return nil, status.Error(codes.PermissionDenied, "role "+id.Role.String()+" may not call this method")
		}
		return handler(WithIdentity(ctx, id), req)
	}
}

func (a *Authenticator) refused(ctx context.Context, audit func(*adminv1.AuditRecord), log *slog.Logger, method, who string, code codes.Code) {
	action := method[strings.LastIndex(method, "/")+1:]
	log.InfoContext(ctx, "admin: refused", "request_id", requestid.FromContext(ctx), "admin", who, "action", action, "code", code.String())
	if audit == nil || readOnly(method) {
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
