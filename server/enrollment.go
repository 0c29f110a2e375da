package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/enroll"
	"github.com/msg-gateway/msg/server/tlsmaterial"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxEnrollConnections bounds the enrollment listener's open connections,
// handshakes included; further ones wait in the kernel's accept queue.
const maxEnrollConnections = 1024

// enrollment is the server's part that enrolls devices (package enroll),
// when the config has an enroll section.
type enrollment struct {
	svc     *enroll.Service
	handler *enroll.Handler
	anchor  *x509.Certificate
	// advertise and gateway are the addresses devices are told; those the
	// config leaves empty are derived from the listeners once they are
	// open.
	advertise, gateway atomic.Pointer[string]
	// srv is the listener's HTTP server once it serves.
	srv atomic.Pointer[http.Server]
}

// enrollListener opens enroll.listen, unless Options brings a listener;
// nil without enrollment.
func (s *Server) enrollListener() (net.Listener, error) {
	if s.enroll == nil {
		return nil, nil
	}
	if s.opts.EnrollListener != nil {
		return s.opts.EnrollListener, nil
	}
	lis, err := net.Listen("tcp", s.cfg.GetEnroll().GetListen())
	if err != nil {
		return nil, fmt.Errorf("enroll.listen: %w", err)
	}
	return lis, nil
}

// shutdown stops the enrollment listener and its calls; a no-op without
// enrollment.
func (en *enrollment) shutdown(ctx context.Context) {
	if en == nil {
		return
	}
	if srv := en.srv.Load(); srv != nil {
		_ = srv.Shutdown(ctx)
	}
	en.handler.Close()
}

// loadEnrollment loads the enrollment CA and the trust anchor the bundles
// pin, as New and Check do; the CA must chain to the client CAs in force
// and the anchor must verify the gateway's certificate for the advertised
// host. Errors name the key.
func loadEnrollment(e *configv1.Enroll, d *tlsmaterial.DataPlane) (*enroll.Issuer, *x509.Certificate, error) {
	iss, err := enroll.LoadIssuer(e.GetCaCertFile(), e.GetCaKeyFile(), d.ClientCAs(), tlsmaterial.CheckClientChain)
	if err != nil {
		return nil, nil, err
	}
	cert := d.Certificate()
	anchor, err := enroll.TrustAnchor(cert.Certificate, d.ClientCAs(), e.GetServerCaFile())
	if err != nil {
		return nil, nil, err
	}
	if a := e.GetAdvertiseAddress(); a != "" && cert.Leaf != nil {
		host, _, _ := net.SplitHostPort(a)
		if err := cert.Leaf.VerifyHostname(host); err != nil {
			return nil, nil, &fieldpath.Error{Path: "enroll.advertise_address", Msg: "the gateway's certificate (tls.cert_file) is not valid for it, so devices would refuse the enrollment listener: " + err.Error()}
		}
	}
	return iss, anchor, nil
}

// checkEnrollment is Check's part for the enroll section: its CA and trust
// anchor load and fit the TLS files.
func checkEnrollment(cfg *configv1.Config) error {
	e := cfg.GetEnroll()
	if e == nil {
		return nil
	}
	d, err := tlsmaterial.NewDataPlane(cfg.GetTls(), nil, nil)
	if err != nil {
		return err
	}
	_, _, err = loadEnrollment(e, d)
	return err
}

// newEnrollment assembles the enrollment service on the store, when the
// config enables it. Its gRPC calls run the data plane's request id,
// recovery and logging interceptors.
func (s *Server) newEnrollment(rec recovery.Option, logOpts []logging.Option) (*enrollment, error) {
	e := s.cfg.GetEnroll()
	if e == nil {
		return nil, nil
	}
	iss, anchor, err := loadEnrollment(e, s.tls)
	if err != nil {
		return nil, err
	}
	en := &enrollment{anchor: anchor}
	en.advertise.Store(proto.String(e.GetAdvertiseAddress()))
	en.gateway.Store(proto.String(e.GetGatewayAddress()))
	if e.GetAdvertiseAddress() == "" {
		en.advertise.Store(proto.String(e.GetListen()))
	}
	st := s.store
	en.svc = enroll.New(enroll.Options{
		Store:          st,
		Issuer:         iss,
		Anchor:         anchor,
		ClientCAs:      s.tls.ClientCAs,
		Revoked:        s.tls.Revocation().Revoked,
		Advertise:      func() string { return *en.advertise.Load() },
		GatewayAddress: func() string { return *en.gateway.Load() },
		CertLifetime:   e.GetCertLifetime().AsDuration(),
		MaxTokenTTL:    e.GetMaxTokenTtl().AsDuration(),
		RatePerSource:  e.GetRatePerSource(),
		BurstPerSource: int(e.GetBurstPerSource()),
		Audit:          func(r *adminv1.AuditRecord) { st.AppendAudit(r) },
		Registerer:     s.metrics.reg,
		Logger:         s.log,
	})
	en.handler = en.svc.Handler(
		requestIDUnary,
		recovery.UnaryServerInterceptor(rec),
		logging.UnaryServerInterceptor(slogAdapter(s.log), logOpts...),
	)
	return en, nil
}

// lifecycles are the admin API's enrollment tokens and devices: tokens are
// made by the enrollment service (refused without one), and deleting a
// device revokes its certificates whether or not enrollment is configured.
func (s *Server) lifecycles() admin.Lifecycles {
	tokens := admin.Lifecycle{Create: func(context.Context, string, proto.Message) (proto.Message, func(proto.Message, proto.Message) error, error) {
		return nil, nil, status.Error(codes.FailedPrecondition, "device enrollment is not configured (the config has no enroll section)")
	}}
	if s.enroll != nil {
		tokens.Create = s.enroll.svc.CreateToken
	}
	return admin.Lifecycles{
		resource.EnrollmentToken: tokens,
		resource.Device:          {Delete: enroll.DeviceDeleter(s.store, time.Now)},
	}
}

// serveEnrollment serves the enrollment listener until its shutdown: TLS,
// at most maxEnrollConnections, HTTP timeouts that bound what a caller
// without a certificate may hold, and the enrollment handler (nothing else
// of the gateway). errc receives the serve error.
func (s *Server) serveEnrollment(lis net.Listener, grpcAddr net.Addr, errc chan<- error) {
	e := s.cfg.GetEnroll()
	if e.GetAdvertiseAddress() == "" {
		s.enroll.advertise.Store(proto.String(advertisable(lis.Addr(), e.GetListen())))
	}
	if e.GetGatewayAddress() == "" {
		host, _, _ := net.SplitHostPort(*s.enroll.advertise.Load())
		_, port, _ := net.SplitHostPort(grpcAddr.String())
		s.enroll.gateway.Store(proto.String(net.JoinHostPort(host, port)))
	}
	h := s.enroll.handler
	srv := &http.Server{
		Handler: h,
		// The data plane's certificate and posture, with the trust anchor
		// appended, so that a device finds the certificate its bundle pins.
		TLSConfig:         s.tls.OptionalClientCertConfig(s.enroll.anchor.Raw),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          nil,
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	s.enroll.srv.Store(srv)
	go func() {
		err := srv.ServeTLS(netutil.LimitListener(lis, maxEnrollConnections), "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("enroll.listen: %w", err)
		}
		errc <- err
	}()
	s.log.Info("enrollment listening", "addr", lis.Addr().String(), "advertised", *s.enroll.advertise.Load(),
		"gateway_address", *s.enroll.gateway.Load(), "trust_anchor", s.enroll.anchor.Subject.String())
}

// advertisable is the address bundles carry when the config names none:
// the listener's actual address (its port may have been 0), with the
// configured host.
func advertisable(bound net.Addr, listen string) string {
	host, _, _ := net.SplitHostPort(listen)
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return listen
	}
	return net.JoinHostPort(host, port)
}
