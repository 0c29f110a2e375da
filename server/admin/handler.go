package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/gen/openapi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxBodyBytes bounds an admin REST request body.
const maxBodyBytes = 1 << 20

// HandlerOptions configure [NewHandler].
type HandlerOptions struct {
	Service *Service
	Auth    *Authenticator
	// Audit records refused writes.
	Audit func(*adminv1.AuditRecord)
	// Interceptors run before authentication (request id, recovery,
	// logging): the server passes the same ones the data plane uses.
	Interceptors []grpc.UnaryServerInterceptor
	// Routes are extra plain HTTP routes, e.g. "GET /healthz".
	Routes map[string]http.Handler
	Logger *slog.Logger
}

// Handler serves the admin listener: REST under /v1/ through grpc-gateway,
// gRPC AdminService (HTTP/2 with content-type application/grpc), the OpenAPI
// document at /openapi.json, the web console under /console/, and the extra
// routes.
type Handler struct {
	http.Handler
	grpc *grpc.Server
	lis  *bufconn.Listener
	conn *grpc.ClientConn
}

// NewHandler assembles the admin gRPC server and the REST mux in front of it.
// The mux calls the gRPC server over a real (in-memory) gRPC connection, so
// REST calls run the same interceptors as gRPC calls.
func NewHandler(ctx context.Context, o HandlerOptions) (*Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	chain := append(append([]grpc.UnaryServerInterceptor(nil), o.Interceptors...), o.Auth.UnaryInterceptor(o.Audit, o.Logger))
	h := &Handler{
		grpc: grpc.NewServer(grpc.ChainUnaryInterceptor(chain...), grpc.MaxRecvMsgSize(maxBodyBytes)),
		lis:  bufconn.Listen(1 << 20),
	}
	adminv1.RegisterAdminServiceServer(h.grpc, o.Service)
	go func() { _ = h.grpc.Serve(h.lis) }()

	conn, err := grpc.NewClient("passthrough:///admin",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		h.grpc.Stop()
		return nil, fmt.Errorf("admin: in-process connection: %w", err)
	}
	h.conn = conn

	gw := runtime.NewServeMux(
		// Only the mux may speak for a client certificate: a client's own
		// Grpc-Metadata-X-Msg-* headers are never forwarded.
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			if strings.HasPrefix(strings.ToLower(key), "grpc-metadata-x-msg-") {
				return "", false
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
			if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
				return nil
			}
			leaf := r.TLS.VerifiedChains[0][0]
			sum := sha256.Sum256(leaf.Raw)
			return metadata.Pairs(CertMetadataKey, hex.EncodeToString(sum[:]), certCNMetadataKey, leaf.Subject.CommonName)
		}),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false}, // unknown JSON fields are 400
			},
		}),
	)
	if err := adminv1.RegisterAdminServiceHandler(ctx, gw, conn); err != nil {
		h.Close()
		return nil, fmt.Errorf("admin: REST handlers: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", apiHeaders(http.MaxBytesHandler(gw, maxBodyBytes)))
	mountConsole(mux)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.AdminJSON)
	})
	for pattern, handler := range o.Routes {
		mux.Handle(pattern, handler)
	}
	web := sameOriginWrites(mux)
	h.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			if compressed(r.Header) {
				refuseCompressed(w)
				return
			}
			h.grpc.ServeHTTP(w, r)
			return
		}
		web.ServeHTTP(w, r)
	})
	return h, nil
}

// Close stops the admin gRPC server and its in-process connection.
func (h *Handler) Close() {
	if h.conn != nil {
		_ = h.conn.Close()
	}
	h.grpc.Stop()
}

// compressed reports whether a gRPC request says its messages are
// compressed. gRPC would inflate them (up to the message size limit) before
// any interceptor, so before the caller is authenticated.
func compressed(h http.Header) bool {
	for _, v := range h.Values("Grpc-Encoding") {
		if v != "" && v != "identity" {
			return true
		}
	}
	return false
}

// refuseCompressed answers a gRPC call with Unimplemented in a
// trailers-only response, before its request is read.
func refuseCompressed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.Unimplemented)))
	w.Header().Set("Grpc-Message", "compressed requests are not accepted: send messages uncompressed")
	w.WriteHeader(http.StatusOK)
}
