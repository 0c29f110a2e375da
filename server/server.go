package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/store"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Options are the parts of a server that do not come from the config file.
type Options struct {
	// Logger receives every log line. Default: discard.
	Logger *slog.Logger
	// OnListening, when set, is called once both listeners are open, with
	// their actual addresses.
	OnListening func(grpcAddr, adminAddr net.Addr)
	// DrainTimeout bounds how long in-flight calls may run after the context
	// is cancelled. Default: the config's drain_timeout.
	DrainTimeout time.Duration
	// LogLevel, when set, is the level of Logger's handler: [Server.Reload]
	// sets it from the reloaded config's log.level.
	LogLevel *slog.LevelVar
	// TracerProvider, when set, traces every RPC and upstream request
	// instead of the exporter the config's tracing section describes (tests
	// pass an in-memory one). The server never shuts it down.
	TracerProvider trace.TracerProvider
	// Version is the build's version, reported in msg_build_info and in
	// traces.
	Version string
	// PinUpstreams maps host names to the upstream URL each must have while
	// this server runs: at start, a stored host of that name with another
	// upstream is updated through the admin API's write path (validated,
	// audited under [PinnedPrincipal]). Hosts the store does not hold are
	// left alone. Dev mode pins its demo host, whose port changes on every
	// start.
	PinUpstreams map[string]string
}

// Server is an assembled gateway. It is created by [New] and started by
// [Server.Serve].
type Server struct {
	cfg    *configv1.Config
	opts   Options
	log    *slog.Logger
	grpc   *grpc.Server
	health *health.Server
	// state is the compiled store snapshot the data plane serves from,
	// swapped as a whole on every committed change.
	state     atomic.Pointer[state]
	tableOpts []relay.TableOption
	store     store.Store
	auditSink *os.File
	watch     <-chan *store.Snapshot
	stopWatch context.CancelFunc
	adminH    *admin.Handler
	closeOnce sync.Once
	adminTLS  *tls.Config // nil: plain HTTP admin listener
	ready     atomic.Bool

	metrics *metrics
	tracing *tracing

	reloadMu   sync.Mutex
	lastLoaded *configv1.Config // guarded by reloadMu

	hardening
}

// New validates cfg, loads its TLS material, compiles hosts and rules and
// assembles the gRPC server. It opens no socket.
func New(cfg *configv1.Config, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = cfg.GetDrainTimeout().AsDuration()
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = config.DefaultDrainTimeout
	}
	for _, w := range Warnings(cfg) {
		opts.Logger.Warn("UNSAFE CONFIG: " + w)
	}
	tlsm, err := newTLSManager(cfg.GetTls(), nil, opts.Logger)
	if err != nil {
		return nil, err
	}
	tr, err := newTracing(cfg.GetTracing(), opts)
	if err != nil {
		return nil, err
	}
	var tableOpts []relay.TableOption
	if tr.enabled() {
		tableOpts = append(tableOpts, relay.WithTransportWrapper(tr.wrapTransport))
	}
	// The config file's hosts and rules must be valid even when the store
	// already holds others: a broken file fails closed.
	c, err := compile(cfg, tableOpts...)
	if err != nil {
		if tr.shutdown != nil {
			_ = tr.shutdown(context.Background())
		}
		return nil, err
	}
	c.table.Close()
	s := &Server{cfg: cfg, opts: opts, log: opts.Logger, health: health.NewServer(),
		metrics: newMetrics(cfg, opts.Version), tracing: tr, lastLoaded: cfg, tableOpts: tableOpts}
	if err := s.openStore(); err != nil {
		if tr.shutdown != nil {
			_ = tr.shutdown(context.Background())
		}
		return nil, err
	}
	s.initHardening(tlsm)
	// The admin store's revocations are checked in the handshake and on
	// every request, after the CRL files.
	s.revocation = append(s.revocation, authz.RevocationFunc(s.storeRevoked))
	s.limits.onReject = s.metrics.rateLimited

	lim := cfg.GetLimits()
	ic := &authz.Interceptors{
		Policy: func() *authz.Policy { return s.state.Load().policy },
		// A host's options decide which spellings reach the rules; the
		// relay checks them again against the entry it uses.
		HostOptions: func(host string) authz.HostOptions { return s.state.Load().table.HostOptions(host) },
		Limits:      s.innerLimits(),
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
	logFields := func(ctx context.Context) logging.Fields {
		f := logging.Fields{"request_id", requestid.FromContext(ctx)}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			f = append(f, "trace_id", sc.TraceID().String())
		}
		if p, ok := authz.PrincipalFromContext(ctx); ok {
			f = append(f, "principal", p.ID)
		}
		return f
	}
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(logFields),
	}
	rec := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		s.log.ErrorContext(ctx, "panic in RPC handler", "request_id", requestid.FromContext(ctx),
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
	maxMsg := int(lim.GetMaxMessageBytes())
	statsHandlers := []grpc.ServerOption{
		grpc.StatsHandler(connCounter{open: s.metrics.openConnections}),
		grpc.StatsHandler(s.intake),
		grpc.InTapHandle(s.intake.tapHandle),
	}
	if tr.enabled() {
		statsHandlers = append(statsHandlers, grpc.StatsHandler(tr.serverHandler()))
	}
	statsHandlers = append(statsHandlers, streamServerOptions()...) // ForwardStream windows and buffers: stream_options.go
	statsHandlers = append(statsHandlers, keepaliveOptions(cfg.GetKeepalive())...)
	s.grpc = grpc.NewServer(append(statsHandlers,
		grpc.Creds(&countingCreds{TransportCredentials: s.conns.credentials(credentials.NewTLS(s.tls.serverConfig()), s.intake), failures: s.metrics.handshakeFailures, log: s.log}),
		grpc.ConnectionTimeout(lim.GetHandshakeTimeout().AsDuration()),
		grpc.MaxRecvMsgSize(maxMsg),
		grpc.MaxSendMsgSize(maxMsg),
		grpc.MaxConcurrentStreams(lim.GetMaxConcurrentStreams()),
		grpc.MaxHeaderListSize(uint32(lim.GetMaxHeaderBytes())+16<<10),
		grpc.ChainUnaryInterceptor(
			requestIDUnary,
			recovery.UnaryServerInterceptor(rec),
			logging.UnaryServerInterceptor(slogAdapter(s.log), logOpts...),
			s.metrics.grpc.UnaryServerInterceptor(),
			s.auditUnary,
			auth.UnaryServerInterceptor(s.authenticate),
			s.limits.unaryInterceptor(),
			ic.CanonicalizeUnary(),
			ic.AuthorizeUnary(),
		),
		grpc.ChainStreamInterceptor(
			s.intake.streamGuard, // unary calls: guardDesc
			requestIDStream,
			recovery.StreamServerInterceptor(rec),
			logging.StreamServerInterceptor(slogAdapter(s.log), logOpts...),
			s.metrics.grpc.StreamServerInterceptor(),
			s.auditStream,
			auth.StreamServerInterceptor(s.authenticate),
			s.limits.streamInterceptor(),
			ic.AuthorizeStream(),
		),
	)...)
	// Every method is registered through the intake's guard, which refuses
	// compressed requests before gRPC reads them.
	s.grpc.RegisterService(s.intake.guardDesc(&gatewayv1.GatewayService_ServiceDesc), relay.New(func() *relay.Table { return s.state.Load().table }, relay.Options{
		IdentityHeader:    cfg.GetRelayHeaders().GetIdentity(),
		FingerprintHeader: cfg.GetRelayHeaders().GetFingerprint(),
		Logger:            s.log,
		Observer:          s.metrics,
	}))
	s.grpc.RegisterService(s.intake.guardDesc(&healthpb.Health_ServiceDesc), s.health)
	// Every method's series exist from the start (services registered
	// later are counted once called).
	s.metrics.grpc.InitializeMetrics(s.grpc)
	if err := s.newAdmin(rec, logOpts); err != nil {
		s.closeStore()
		return nil, err
	}
	return s, nil
}

// Run listens on the config's addresses and serves until ctx is cancelled.
func Run(ctx context.Context, cfg *configv1.Config, opts Options) error {
	s, err := New(cfg, opts)
	if err != nil {
		return err
	}
	return s.ListenAndServe(ctx)
}

// ListenAndServe opens the config's listen and admin_listen addresses and
// calls [Server.Serve].
func (s *Server) ListenAndServe(ctx context.Context) error {
	lis, err := net.Listen("tcp", s.cfg.GetListen())
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	adminLis, err := net.Listen("tcp", s.cfg.GetAdminListen())
	if err != nil {
		lis.Close()
		return fmt.Errorf("admin_listen: %w", err)
	}
	return s.Serve(ctx, lis, adminLis)
}

// Serve serves gRPC on lis and the admin HTTP API on adminLis until ctx is
// cancelled, then stops accepting connections, lets in-flight calls finish
// within the drain timeout and returns.
func (s *Server) Serve(ctx context.Context, lis, adminLis net.Listener) error {
	admin := &http.Server{
		Handler:           s.adminH,
		ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1 for REST and plain HTTP/2 (h2c) for gRPC AdminService.
		Protocols: new(http.Protocols),
	}
	admin.Protocols.SetHTTP1(true)
	admin.Protocols.SetUnencryptedHTTP2(true)
	if s.adminTLS != nil {
		// HTTPS: HTTP/1 and HTTP/2 over TLS, admin client certificates
		// verified when offered.
		admin.Protocols = new(http.Protocols)
		admin.Protocols.SetHTTP1(true)
		admin.Protocols.SetHTTP2(true)
		admin.TLSConfig = s.adminTLS
	}
	go s.followStore(ctx, s.watch)
	lim := s.cfg.GetLimits()
	lis = userTimeoutListener(lis, pingTimeout(s.cfg.GetKeepalive()), s.log)
	lis = dataListener(lis, int(lim.GetMaxConnections()), int(lim.GetMaxHandshakes()), int(lim.GetMaxHandshakesPerSource()), s.metrics, s.log)
	go s.watchTLS(ctx)
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(lis) }()
	go func() {
		serve := func() error { return admin.Serve(adminLis) }
		if s.adminTLS != nil {
			serve = func() error { return admin.ServeTLS(adminLis, "", "") }
		}
		if err := serve(); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.ready.Store(true)
	s.log.Info("gateway listening", "grpc", lis.Addr().String(), "admin", adminLis.Addr().String(),
		"hosts", s.state.Load().table.Names(), "revision", s.state.Load().revision)
	if s.opts.OnListening != nil {
		s.opts.OnListening(lis.Addr(), adminLis.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.ready.Store(false)
	s.health.Shutdown()
	s.log.Info("gateway draining", "timeout", s.opts.DrainTimeout.String())
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(s.opts.DrainTimeout):
		s.log.Warn("drain timeout: closing remaining connections")
		s.grpc.Stop()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = admin.Shutdown(shutdownCtx)
	s.adminH.Close()
	s.state.Load().table.Close()
	s.closeStore()
	if s.tracing.shutdown != nil {
		// Spans still queued get a short while to reach the collector: an
		// unreachable one must not hold up the exit.
		flushCtx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
		defer cancel()
		if err := s.tracing.shutdown(flushCtx); err != nil {
			s.log.Warn("tracing: flushing spans at shutdown", "error", err.Error())
		}
	}
	s.log.Info("gateway stopped")
	return serveErr
}

// adminRoutes are the admin listener's plain HTTP routes besides the API.
// /healthz and /readyz stay open for load balancers and hold nothing
// secret; /metrics needs admin credentials (any role) unless
// admin.metrics_unauthenticated is set, because its series name the host
// table, the rule ids and the traffic per host.
func (s *Server) adminRoutes(auth *admin.Authenticator) map[string]http.Handler {
	mux := map[string]http.Handler{}
	mux["GET /healthz"] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux["GET /readyz"] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n" + s.storeStatus()))
	})
	var metrics http.Handler = promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		MaxRequestsInFlight: 4,
	})
	if !s.cfg.GetAdmin().GetMetricsUnauthenticated() {
		metrics = auth.RequireRole(admin.RoleViewer, metrics, s.log)
	}
	mux["GET /metrics"] = metrics
	return mux
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
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}
