package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/assertion"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/server/tlsmaterial"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
)

// adminPlane is the admin listener: the REST API, gRPC AdminService, the
// console, the health endpoints and /metrics.
type adminPlane struct {
	handler *admin.Handler
	tls     *tls.Config // nil: plain HTTP
}

// newAdmin assembles the admin API on the store. Its gRPC server runs the same
// request id, recovery and logging interceptors as the data plane, then admin
// authentication and roles.
func (s *Server) newAdmin(rec recovery.Option, logOpts []logging.Option) (*adminPlane, error) {
	auth, err := admin.NewAuthenticator(s.cfg.GetAdmin())
	if err != nil {
		return nil, err
	}
	a := &adminPlane{}
	if t := s.cfg.GetAdmin().GetTls(); t != nil {
		if a.tls, err = tlsmaterial.AdminConfig(t); err != nil {
			return nil, err
		}
	}
	svc := s.adminService()
	st := s.store
	h, err := admin.NewHandler(context.Background(), admin.HandlerOptions{
		Service: svc,
		Auth:    auth,
		Audit:   func(r *adminv1.AuditRecord) { st.AppendAudit(r) },
		Interceptors: []grpc.UnaryServerInterceptor{
			requestIDUnary,
			recovery.UnaryServerInterceptor(rec),
			logging.UnaryServerInterceptor(slogAdapter(s.log), logOpts...),
		},
		Routes: s.adminRoutes(auth),
		Logger: s.log,
	})
	if err != nil {
		return nil, err
	}
	if err := s.pinUpstreams(svc); err != nil {
		h.Close()
		return nil, err
	}
	a.handler = h
	return a, nil
}

// adminService is AdminService on the store, checking every write against
// what the data plane would compile.
func (s *Server) adminService() *admin.Service {
	tableOpts := s.served.tableOpts
	return admin.NewService(admin.ServiceOptions{
		Store:    s.store,
		Validate: s.served.validate,
		Resources: admin.ResourceValidator{
			resource.Host: admin.Check(func(h *adminv1.Host) error {
				t, err := relay.NewTable([]*adminv1.Host{h}, tableOpts...)
				t.Close()
				return err
			}),
			resource.Rule: admin.Check(func(r *adminv1.Rule) error {
				_, err := authz.NewPolicy([]*adminv1.Rule{r})
				return err
			}),
		},
		Lifecycles:        s.lifecycles(),
		EnrollmentEnabled: s.enroll != nil,
		DataPlane:         admin.DataPlaneFunc(s.liveState),
		Version:           s.opts.Version,
		Logger:            s.log,
		// Read at each call, so a reloaded client CA bundle applies.
		ClientCAs: s.tls.ClientCAs,
	})
}

// liveState is the policy tester's view of the state the data plane serves:
// the same compiled policy, host table and inner-request limits.
func (s *Server) liveState() admin.LiveState {
	st := s.served.load()
	return admin.LiveState{
		Revision: st.revision,
		Policy:   st.policy,
		HasHost: func(host string) bool {
			_, ok := st.table.Lookup(host)
			return ok
		},
		HostOptions: st.table.HostOptions,
		Limits:      innerLimits(s.cfg),
	}
}

// adminRoutes are the admin listener's plain HTTP routes besides the API.
// /healthz and /readyz stay open for load balancers and hold nothing
// secret, nor does the assertion JWKS; /metrics needs admin credentials (any role) unless
// admin.metrics_unauthenticated is set, because its series name the host
// table, the rule ids and the traffic per host.
func (s *Server) adminRoutes(auth *admin.Authenticator) map[string]http.Handler {
	mux := map[string]http.Handler{}
	mux["GET /healthz"] = http.HandlerFunc(healthz)
	mux["GET /readyz"] = http.HandlerFunc(s.readyz)
	// Public keys: a backend verifying assertions needs no credentials.
	mux["GET "+assertion.JWKSPath] = s.jwks
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

// httpServer returns the admin listener's HTTP server.
func (a *adminPlane) httpServer() *http.Server {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1 for REST and plain HTTP/2 (h2c) for gRPC AdminService.
		Protocols: new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	if a.tls != nil {
		// HTTPS: HTTP/1 and HTTP/2 over TLS, admin client certificates
		// verified when offered.
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = a.tls
	}
	return srv
}

// serve serves srv, from httpServer, on lis until it shuts down; that is
// no error.
func (a *adminPlane) serve(srv *http.Server, lis net.Listener) error {
	serve := func() error { return srv.Serve(lis) }
	if a.tls != nil {
		serve = func() error { return srv.ServeTLS(lis, "", "") }
	}
	if err := serve(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
