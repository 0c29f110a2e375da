package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/server/assertion"
	"github.com/msg-gateway/msg/server/relay"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// newGRPCServer assembles the data plane's gRPC server: the intake in front
// of everything, the TLS credentials, the interceptor chain (the data flow
// of DESIGN.md), the relay and the health service.
func (s *Server) newGRPCServer(in *intake, rec recovery.Option, logOpts []logging.Option) *grpc.Server {
	lim := s.cfg.GetLimits()
	limits := newIdentityLimits(lim.GetRatePerSecond(), int(lim.GetBurst()), int(lim.GetMaxInFlightPerIdentity()))
	limits.onReject = s.metrics.rateLimited
	ic := s.authzInterceptors()
	srv := grpc.NewServer(append(s.serverOptions(in),
		grpc.ChainUnaryInterceptor(
			requestIDUnary,
			recovery.UnaryServerInterceptor(rec),
			logging.UnaryServerInterceptor(slogAdapter(s.log), logOpts...),
			s.metrics.grpc.UnaryServerInterceptor(),
			s.auditUnary,
			auth.UnaryServerInterceptor(s.authenticate),
			limits.unaryInterceptor(),
			ic.CanonicalizeUnary(),
			ic.AuthorizeUnary(),
		),
		grpc.ChainStreamInterceptor(
			in.streamGuard, // unary calls: guardDesc
			requestIDStream,
			recovery.StreamServerInterceptor(rec),
			logging.StreamServerInterceptor(slogAdapter(s.log), logOpts...),
			s.metrics.grpc.StreamServerInterceptor(),
			s.auditStream,
			auth.StreamServerInterceptor(s.authenticate),
			limits.streamInterceptor(),
			ic.AuthorizeStream(),
		),
	)...)
	// Every method is registered through the intake's guard, which refuses
	// compressed requests before gRPC reads them.
	srv.RegisterService(in.guardDesc(&gatewayv1.GatewayService_ServiceDesc), relay.New(func() *relay.Table { return s.served.load().table }, relay.Options{
		IdentityHeader:    s.cfg.GetRelayHeaders().GetIdentity(),
		FingerprintHeader: s.cfg.GetRelayHeaders().GetFingerprint(),
		Assertions:        s.assertions,
		AssertionHeader:   cmp.Or(s.cfg.GetAssertion().GetHeader(), assertion.DefaultHeader),
		Logger:            s.log,
		Observer:          s.metrics,
	}))
	srv.RegisterService(in.guardDesc(&healthpb.Health_ServiceDesc), s.health)
	// Every method's series exist from the start (services registered
	// later are counted once called).
	s.metrics.grpc.InitializeMetrics(srv)
	return srv
}

// serverOptions are the data plane's gRPC server options besides the
// interceptors: the intake, the TLS credentials and the limits.
func (s *Server) serverOptions(in *intake) []grpc.ServerOption {
	lim := s.cfg.GetLimits()
	maxMsg := int(lim.GetMaxMessageBytes())
	opts := []grpc.ServerOption{
		grpc.StatsHandler(connCounter{open: s.metrics.openConnections}),
		grpc.StatsHandler(in),
		grpc.InTapHandle(in.tapHandle),
	}
	if s.tracing.enabled() {
		opts = append(opts, grpc.StatsHandler(s.tracing.serverHandler()))
	}
	opts = append(opts, streamServerOptions()...) // ForwardStream windows and buffers: stream_options.go
	opts = append(opts, keepaliveOptions(s.cfg.GetKeepalive())...)
	creds := &dataCredentials{TransportCredentials: credentials.NewTLS(s.tls.Config()), tls: s.tls, in: in}
	return append(opts,
		grpc.Creds(&countingCreds{TransportCredentials: creds, failures: s.metrics.handshakeFailures, log: s.log}),
		grpc.ConnectionTimeout(lim.GetHandshakeTimeout().AsDuration()),
		grpc.MaxRecvMsgSize(maxMsg),
		grpc.MaxSendMsgSize(maxMsg),
		grpc.MaxConcurrentStreams(lim.GetMaxConcurrentStreams()),
		grpc.MaxHeaderListSize(uint32(lim.GetMaxHeaderBytes())+16<<10),
	)
}

// authzInterceptors are the canonicalization and authorization steps of the
// chain, deciding on the state in force.
func (s *Server) authzInterceptors() *authz.Interceptors {
	return &authz.Interceptors{
		Policy: func() *authz.Policy { return s.served.load().policy },
		// A host's options decide which spellings reach the rules; the
		// relay checks them again against the entry it uses.
		HostOptions: func(host string) authz.HostOptions { return s.served.load().table.HostOptions(host) },
		Limits:      innerLimits(s.cfg),
		Exempt: map[string]bool{
			healthpb.Health_Check_FullMethodName: true,
			healthpb.Health_Watch_FullMethodName: true,
			healthpb.Health_List_FullMethodName:  true,
		},
		Logger: s.log,
		OnDecision: func(ctx context.Context, d authz.Decision) {
			s.metrics.observeDecision(ctx, d)
			noteDecision(ctx, d)
		},
	}
}

// innerLimits bound an inner request's head, for the data plane and the
// policy tester alike.
func innerLimits(cfg *configv1.Config) authz.Limits {
	lim := cfg.GetLimits()
	return authz.Limits{MaxHeaderCount: int(lim.GetMaxHeaderCount()), MaxHeaderBytes: int(lim.GetMaxHeaderBytes())}
}

// dataListener wraps the data plane's listener: TCP_USER_TIMEOUT on every
// accepted socket, then the connection and handshake budgets.
func (s *Server) dataListener(lis net.Listener) net.Listener {
	lim := s.cfg.GetLimits()
	lis = userTimeoutListener(lis, pingTimeout(s.cfg.GetKeepalive()), s.log)
	return dataListener(lis, int(lim.GetMaxConnections()), int(lim.GetMaxHandshakes()), int(lim.GetMaxHandshakesPerSource()), s.metrics, s.log)
}

// rpcRecovery turns a panic in an RPC handler into Internal, logged with its
// stack. The data plane and the admin API share it.
func rpcRecovery(log *slog.Logger) recovery.Option {
	return recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in RPC handler", "request_id", requestid.FromContext(ctx),
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
}

// rpcLogging logs one line per finished call with the request id, the
// trace id and the principal. The data plane and the admin API share it.
func rpcLogging() []logging.Option {
	logFields := func(ctx context.Context) logging.Fields {
		f := make(logging.Fields, 0, 6) // one allocation for every field below
		f = append(f, "request_id", requestid.FromContext(ctx))
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			f = append(f, "trace_id", sc.TraceID().String())
		}
		if p, ok := authz.PrincipalFromContext(ctx); ok {
			f = append(f, "principal", p.ID)
		}
		return f
	}
	return []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(logFields),
	}
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(requestid.NewContext(ctx, requestid.New()), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ws := middleware.WrapServerStream(ss)
	ws.WrappedContext = requestid.NewContext(ss.Context(), requestid.New())
	return handler(srv, ws)
}

// slogAdapter lets go-grpc-middleware's logging interceptor write to slog.
// It hands the record to the handler as slog.Logger.Log would, without the
// caller's program counter: finding it walked the stack once per call, and
// the caller would be the middleware anyway (the log has no source field).
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		h := l.Handler()
		if !h.Enabled(ctx, slog.Level(lvl)) {
			return
		}
		r := slog.NewRecord(time.Now(), slog.Level(lvl), msg, 0)
		r.Add(fields...)
		_ = h.Handle(ctx, r)
	})
}
