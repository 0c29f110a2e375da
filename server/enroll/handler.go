package enroll

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	enrollv1 "github.com/msg-gateway/msg/gen/msg/enroll/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// maxMessageBytes bounds a gRPC request on the enrollment listener: a CSR
// and a secret.
const maxMessageBytes = maxCSRBytes + 4096

// Handler serves the enrollment listener: the gRPC EnrollmentService
// (HTTP/2 with content-type application/grpc) and EST under
// /.well-known/est/. Every other request gets 404 (gRPC: Unimplemented):
// a caller without a client certificate reaches nothing else of the
// gateway here.
type Handler struct {
	http.Handler
	grpc *grpc.Server
}

// Handler returns the listener's handler. interceptors run first on gRPC
// calls (request id, recovery, logging: the server passes the data plane's).
func (s *Service) Handler(interceptors ...grpc.UnaryServerInterceptor) *Handler {
	g := grpc.NewServer(grpc.ChainUnaryInterceptor(interceptors...), grpc.MaxRecvMsgSize(maxMessageBytes))
	enrollv1.RegisterEnrollmentServiceServer(g, &grpcService{s: s})
	est := s.estHandler()
	h := &Handler{grpc: g}
	h.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			if compressed(r.Header) {
				// gRPC would inflate the message before any check.
				w.Header().Set("Content-Type", "application/grpc")
				w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.Unimplemented)))
				w.Header().Set("Grpc-Message", "compressed requests are not accepted")
				w.WriteHeader(http.StatusOK)
				return
			}
			g.ServeHTTP(w, r)
			return
		}
		est.ServeHTTP(w, r)
	})
	return h
}

// Close stops the gRPC server: calls in flight end.
func (h *Handler) Close() { h.grpc.Stop() }

// Shutdown lets gRPC calls in flight finish, or stops them when ctx ends.
func (h *Handler) Shutdown(ctx context.Context) {
	done := make(chan struct{})
	go func() { h.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		h.grpc.Stop()
	}
}

func compressed(h http.Header) bool {
	for _, v := range h.Values("Grpc-Encoding") {
		if v != "" && v != "identity" {
			return true
		}
	}
	return false
}
