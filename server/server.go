package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/assertion"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/server/tlsmaterial"
	"github.com/msg-gateway/msg/store"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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
	// Reload, when set, makes [Run] read the config again (ReloadConfig,
	// see [Server.Reload]) and the TLS files ([Server.ReloadTLS]) on every
	// value received: `msg-gateway serve` passes its SIGHUP channel.
	Reload <-chan os.Signal
	// ReloadConfig reads the config file again on Reload. Nil: Reload
	// re-reads only the TLS files.
	ReloadConfig func() (*configv1.Config, error)
	// EnrollListener, when set, is the enrollment listener Serve uses
	// instead of opening the config's enroll.listen (tests pass one bound
	// to a free port). Ignored without an enroll section.
	EnrollListener net.Listener
}

// withDefaults fills in the defaults that depend on cfg.
func (o Options) withDefaults(cfg *configv1.Config) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = cfg.GetDrainTimeout().AsDuration()
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = config.DefaultDrainTimeout
	}
	return o
}

// Server is an assembled gateway. It is created by [New] and started by
// [Server.Serve]. Its parts are grouped by what they serve.
type Server struct {
	cfg  *configv1.Config
	opts Options
	log  *slog.Logger

	// The data plane: the mTLS gRPC server and what it serves from.
	served *served                // the compiled store snapshot
	tls    *tlsmaterial.DataPlane // TLS material, revocation sources, the connections it authenticated
	authn  *authz.Authenticator
	grpc   *grpc.Server
	health *health.Server
	// assertions signs the identity assertion of every relayed request and
	// publishes its public keys.
	assertions *assertion.Signer
	jwks       http.Handler             // the signer's keys, or in a fleet the union (fleetKeys)
	fleetKeys  *fleetKeys               // nil without a shared store
	jwksAddr   atomic.Pointer[net.Addr] // assertion.jwks_listen, once Serve opened it

	// The admin listener, and the store it writes to, which the data plane
	// follows.
	admin   *adminPlane
	store   store.Store
	session *storeSession // the store's lifetime

	// Device enrollment (package enroll), nil without an enroll section.
	enroll *enrollment

	// Operations.
	metrics *metrics
	tracing *tracing
	ready   atomic.Bool
	reload  configReload
}

// configReload is the state of [Server.Reload].
type configReload struct {
	mu         sync.Mutex
	lastLoaded *configv1.Config // guarded by mu
}

// New validates cfg, loads its TLS material, compiles hosts and rules and
// assembles the gRPC server. It opens no socket.
func New(cfg *configv1.Config, opts Options) (*Server, error) {
	opts = opts.withDefaults(cfg)
	for _, w := range Warnings(cfg) {
		opts.Logger.Warn("UNSAFE CONFIG: " + w)
	}
	s := &Server{cfg: cfg, opts: opts, log: opts.Logger, health: health.NewServer(), metrics: newMetrics(cfg, opts.Version)}
	s.reload.lastLoaded = cfg
	s.served = &served{revision: s.metrics.configRevision, log: s.log}
	// The revocation sources, composed once and in this order: the CRL
	// files, then the admin store's revocations. The handshake, every request
	// and the sweep of open connections consult them.
	var err error
	if s.tls, err = tlsmaterial.NewDataPlane(cfg.GetTls(), s.served, s.log); err != nil {
		return nil, err
	}
	if s.tracing, err = newTracing(cfg.GetTracing(), opts); err != nil {
		return nil, err
	}
	if s.tracing.enabled() {
		s.served.tableOpts = append(s.served.tableOpts, relay.WithTransportWrapper(s.tracing.wrapTransport))
	}
	a := cfg.GetAssertion()
	if s.assertions, err = assertion.New(assertion.Config{
		Issuer:         a.GetIssuer(),
		TTL:            a.GetTtl().AsDuration(),
		RotationPeriod: a.GetRotationPeriod().AsDuration(),
	}); err != nil {
		s.tracing.flush(s.log)
		return nil, err
	}
	if err := s.assemble(); err != nil {
		s.tracing.flush(s.log)
		return nil, err
	}
	return s, nil
}

// assemble opens the store and builds the data plane's gRPC server and the
// admin listener's handler.
func (s *Server) assemble() error {
	// The config file's hosts and rules must be valid even when the store
	// already holds others: a broken file fails closed.
	table, _, err := compile(s.cfg.GetHosts(), s.cfg.GetRules(), s.served.tableOpts...)
	if err != nil {
		return err
	}
	table.Close()
	if err := s.initStore(); err != nil {
		return err
	}
	s.jwks = s.assertions
	if dir, ok := s.store.(assertionKeyDirectory); ok {
		s.fleetKeys = newFleetKeys(s.assertions, dir, s.log)
		s.jwks = s.fleetKeys.handler()
	}
	rec, logOpts := rpcRecovery(s.log), rpcLogging()
	s.authn = &authz.Authenticator{Revocation: s.tls.Revocation(), Logger: s.log}
	s.grpc = s.newGRPCServer(newIntake(s.cfg.GetLimits(), s.metrics, s.log), rec, logOpts)
	if s.enroll, err = s.newEnrollment(rec, logOpts); err != nil {
		s.session.close()
		return err
	}
	if s.admin, err = s.newAdmin(rec, logOpts); err != nil {
		s.session.close()
		return err
	}
	return nil
}

// initStore opens the store, seeds it from the config file when it was never
// written, and compiles its snapshot into the data plane's first state.
func (s *Server) initStore() error {
	st, err := openStore(s.cfg, s.log, s.metrics.storeReachable)
	if err != nil {
		return err
	}
	if err := st.seed(s.cfg, s.served.validate); err != nil {
		st.close()
		return err
	}
	// Watching starts before the first snapshot is read, so that no change
	// committed by another instance falls between the two.
	st.startWatch()
	first, err := s.served.compile(st.st.Snapshot())
	if err != nil {
		st.close()
		return &fieldpath.Error{Path: "data_dir", Msg: "the store's hosts and rules do not compile: " + err.Error()}
	}
	s.served.apply(first)
	s.session, s.store = st, st.st
	return nil
}

// Run builds the server, listens on the config's addresses and serves until
// ctx is cancelled, then drains (see [Server.Serve]). It reloads on
// opts.Reload.
func Run(ctx context.Context, cfg *configv1.Config, opts Options) error {
	s, err := New(cfg, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Reload != nil {
		go s.reloadOn(ctx, opts.Reload, opts.ReloadConfig)
	}
	return s.ListenAndServe(ctx)
}

// reloadOn reloads the config and the TLS files on every value of reload
// until ctx is done. Both log their own errors and keep what is in force.
func (s *Server) reloadOn(ctx context.Context, reload <-chan os.Signal, load func() (*configv1.Config, error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			if load != nil {
				_ = s.Reload(load)
			}
			_ = s.ReloadTLS()
		}
	}
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
	// The enrollment listener opens first: when it cannot, nothing has
	// started yet.
	enrollLis, err := s.enrollListener()
	if err != nil {
		return err
	}
	adminSrv := s.admin.httpServer()
	go s.followStore(ctx)
	lis = s.dataListener(lis)
	go s.tls.Watch(ctx, s.tlsReloadInterval())
	jwksSrv, jwksLis, err := s.listenJWKS()
	if err != nil {
		lis.Close()
		adminLis.Close()
		if enrollLis != nil {
			enrollLis.Close()
		}
		return err
	}
	go s.rotateAssertionKeys(ctx)
	if s.fleetKeys != nil {
		go s.fleetKeys.run(ctx)
	}
	// One slot per server: data plane, admin, JWKS, enrollment.
	errc := make(chan error, 4)
	if enrollLis != nil {
		s.serveEnrollment(enrollLis, lis.Addr(), errc)
	}
	go func() { errc <- s.grpc.Serve(lis) }()
	go func() { errc <- s.admin.serve(adminSrv, adminLis) }()
	if jwksSrv != nil {
		go func() {
			if err := jwksSrv.Serve(jwksLis); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("assertion.jwks_listen: %w", err)
			}
		}()
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.ready.Store(true)
	s.log.Info("gateway listening", "grpc", lis.Addr().String(), "admin", adminLis.Addr().String(),
		"hosts", s.served.load().table.Names(), "revision", s.served.load().revision)
	if s.opts.OnListening != nil {
		s.opts.OnListening(lis.Addr(), adminLis.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.shutdown(adminSrv)
	if jwksSrv != nil {
		_ = jwksSrv.Close()
	}
	return serveErr
}

// listenJWKS opens assertion.jwks_listen, when set: plain HTTP serving only
// the public keys, for backends that must not reach the admin listener.
func (s *Server) listenJWKS() (*http.Server, net.Listener, error) {
	addr := s.cfg.GetAssertion().GetJwksListen()
	if addr == "" {
		return nil, nil, nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("assertion.jwks_listen: %w", err)
	}
	a := lis.Addr()
	s.jwksAddr.Store(&a)
	s.log.Info("assertion JWKS listening", "addr", a.String())
	mux := http.NewServeMux()
	mux.Handle("GET "+assertion.JWKSPath, s.jwks)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, lis, nil
}

// JWKSAddr is the address of the assertion.jwks_listen listener, or nil
// when it is not set or Serve has not opened it yet.
func (s *Server) JWKSAddr() net.Addr {
	if a := s.jwksAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// rotateAssertionKeys rotates the assertion keys until ctx ends. A failed
// rotation (the system's randomness failing) keeps the keys in force, and
// the retired key's tokens still verify; the error is logged.
func (s *Server) rotateAssertionKeys(ctx context.Context) {
	if err := s.assertions.Run(ctx); err != nil {
		s.log.Error("assertion: key rotation stopped", "err", err)
	}
}

// shutdown drains the gateway: not ready, no new calls, in-flight calls
// finish within the drain timeout; then everything closes.
func (s *Server) shutdown(adminSrv *http.Server) {
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
	_ = adminSrv.Shutdown(shutdownCtx)
	s.enroll.shutdown(shutdownCtx)
	s.admin.handler.Close()
	s.served.load().table.Close()
	s.session.close()
	s.tracing.flush(s.log)
	s.log.Info("gateway stopped")
}

// tlsReloadInterval is how often the TLS files are polled.
func (s *Server) tlsReloadInterval() time.Duration {
	every := s.cfg.GetTls().GetReloadInterval().AsDuration()
	if every <= 0 {
		every = config.DefaultTLSReloadInterval
	}
	return every
}
