package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// openStore opens the store (the embedded one in data_dir, or etcd when
// store.etcd is set), seeds it from the config file when it was never
// written, and compiles its snapshot into the data plane's first state.
//
// Precedence: the config file's hosts and rules only seed an empty store.
// From then on the store is authoritative and admin API writes win; later
// edits of hosts and rules in the file are ignored, with a warning. In a
// fleet the first instance to start seeds the shared prefix; the others
// find it written.
func (s *Server) openStore() error {
	cfg := s.cfg
	opts := store.Options{
		AuditMaxAge:     cfg.GetAudit().GetMaxAge().AsDuration(),
		AuditMaxRecords: int(cfg.GetAudit().GetMaxRecords()),
		Logger:          s.log,
	}
	if f := cfg.GetAudit().GetJsonlFile(); f != "" {
		sink, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return &fieldpath.Error{Path: "audit.jsonl_file", Msg: "cannot open: " + pathErr(err)}
		}
		s.auditSink = sink
		opts.AuditSink = sink
	}
	st, err := s.newStore(opts)
	if err != nil {
		s.closeStore()
		return err
	}
	s.store = st
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seeded, err := st.Seed(ctx, cfg.GetHosts(), cfg.GetRules(), s.validateSnapshot)
	if err != nil {
		s.closeStore()
		return fmt.Errorf("seeding the store from the config file: %w", err)
	}
	snap := st.Snapshot()
	if seeded {
		s.log.Info("store seeded from the config file", "revision", snap.Revision,
			"hosts", len(snap.Hosts), "rules", len(snap.Rules))
	} else if !sameEntries(resource.Host, cfg.GetHosts(), snap.Hosts) || !sameEntries(resource.Rule, cfg.GetRules(), snap.Rules) {
		s.log.Warn("the config file's hosts or rules differ from the store's; the store is authoritative "+
			"(change them through the admin API, or start with an empty data_dir, or etcd prefix, to re-seed)",
			"revision", snap.Revision, "data_dir", cfg.GetDataDir(), "etcd_prefix", cfg.GetStore().GetEtcd().GetPrefix())
	}
	first, err := s.compileSnapshot(snap)
	if err != nil {
		s.closeStore()
		return &fieldpath.Error{Path: "data_dir", Msg: "the store's hosts and rules do not compile: " + err.Error()}
	}
	s.state.Store(first)
	s.metrics.configRevision.Set(float64(first.revision))
	watchCtx, stop := context.WithCancel(context.Background())
	s.watch, s.stopWatch = st.Watch(watchCtx), stop
	return nil
}

// newStore opens the store the config selects. With store.etcd, data_dir
// keeps this instance's audit trail and etcd everything else.
func (s *Server) newStore(opts store.Options) (store.Store, error) {
	ec := s.cfg.GetStore().GetEtcd()
	if ec == nil {
		st, err := store.Open(s.cfg.GetDataDir(), opts)
		if err != nil {
			return nil, &fieldpath.Error{Path: "data_dir", Msg: err.Error()}
		}
		return st, nil
	}
	tlsConf, err := etcdTLSConfig(ec)
	if err != nil {
		return nil, err
	}
	dial := ec.GetDialTimeout().AsDuration()
	if dial <= 0 {
		dial = store.DefaultEtcdDialTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*dial)
	defer cancel()
	st, err := store.OpenEtcd(ctx, store.EtcdOptions{
		Endpoints:   ec.GetEndpoints(),
		Prefix:      ec.GetPrefix(),
		DialTimeout: dial,
		TLS:         tlsConf,
		DataDir:     s.cfg.GetDataDir(),
		Audit:       opts,
		Logger:      s.log,
		OnConnected: func(up bool) {
			if up {
				s.metrics.storeConnected.Set(1)
			} else {
				s.metrics.storeConnected.Set(0)
			}
		},
	})
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return nil, fmt.Errorf("store.etcd: cannot read the configuration: %w", err)
	case err != nil:
		return nil, &fieldpath.Error{Path: "data_dir", Msg: err.Error()}
	}
	return st, nil
}

// etcdTLSConfig builds the client TLS config of store.etcd; nil for none
// (no etcd, or insecure).
func etcdTLSConfig(ec *configv1.Etcd) (*tls.Config, error) {
	t := ec.GetTls()
	if t == nil {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.GetServerName()}
	if f := t.GetCaFile(); f != "" {
		data, err := readTLSFile(f)
		if err != nil {
			return nil, &fieldpath.Error{Path: "store.etcd.tls.ca_file", Msg: "cannot read: " + pathErr(err)}
		}
		certs, err := parseCertificatesPEM(data)
		if err != nil {
			return nil, &fieldpath.Error{Path: "store.etcd.tls.ca_file", Msg: err.Error()}
		}
		conf.RootCAs = x509.NewCertPool()
		for _, c := range certs {
			conf.RootCAs.AddCert(c)
		}
	}
	if t.GetCertFile() != "" {
		cert, err := tls.LoadX509KeyPair(t.GetCertFile(), t.GetKeyFile())
		if err != nil {
			return nil, &fieldpath.Error{Path: "store.etcd.tls.cert_file", Msg: "cannot load key pair: " + pathErr(err)}
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// storeStatus is the /readyz line about a distributed store: whether it is
// reachable and which revision the data plane serves. The embedded store
// has nothing to say. An unreachable etcd does not make the instance
// unready: it keeps serving its last snapshot, as every other instance
// does, and taking the fleet out of the load balancer would turn a
// control-plane outage into a full one.
func (s *Server) storeStatus() string {
	e, ok := s.store.(*store.Etcd)
	if !ok {
		return ""
	}
	h, serving := e.Health(), s.state.Load().revision
	if !h.Connected {
		return fmt.Sprintf("store: etcd unreachable since %s, serving revision %d; admin writes fail\n",
			h.Since.UTC().Format(time.RFC3339), serving)
	}
	return fmt.Sprintf("store: etcd connected, serving revision %d\n", serving)
}

// sameEntries reports whether the config file's entries of kind k equal the
// store's, ignoring order and etags.
func sameEntries[T proto.Message](k resource.Kind, file, stored []T) bool {
	if len(file) != len(stored) {
		return false
	}
	index := make(map[string]bool, len(stored))
	for _, m := range stored {
		c := proto.Clone(m)
		k.SetEtag(c, "")
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
		index[string(b)] = true
	}
	for _, m := range file {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if !index[string(b)] {
			return false
		}
	}
	return true
}

// closeStore stops following the store, flushes the audit queue and closes
// the database and the JSON-lines sink. It may be called more than once.
func (s *Server) closeStore() {
	s.closeOnce.Do(s.doCloseStore)
}

func (s *Server) doCloseStore() {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.store.FlushAudit(ctx); err != nil {
			s.log.Warn("flushing the audit trail", "error", err.Error())
		}
		cancel()
		if err := s.store.Close(); err != nil {
			s.log.Warn("closing the store", "error", err.Error())
		}
	}
	if s.auditSink != nil {
		_ = s.auditSink.Close()
	}
}

// newAdmin assembles the admin API on the store. Its gRPC server runs the same
// request id, recovery and logging interceptors as the data plane, then admin
// authentication and roles.
func (s *Server) newAdmin(rec recovery.Option, logOpts []logging.Option) error {
	auth, err := admin.NewAuthenticator(s.cfg.GetAdmin())
	if err != nil {
		return err
	}
	if t := s.cfg.GetAdmin().GetTls(); t != nil {
		if s.adminTLS, err = adminTLSConfig(t); err != nil {
			return err
		}
	}
	st := s.store
	svc := admin.NewService(admin.ServiceOptions{
		Store:    st,
		Validate: s.validateSnapshot,
		Resources: admin.ResourceValidator{
			resource.Host: admin.Check(func(h *adminv1.Host) error {
				t, err := relay.NewTable([]*adminv1.Host{h}, s.tableOpts...)
				t.Close()
				return err
			}),
			resource.Rule: admin.Check(func(r *adminv1.Rule) error {
				_, err := authz.NewPolicy([]*adminv1.Rule{r})
				return err
			}),
		},
		DataPlane: admin.DataPlaneFunc(s.liveState),
		Version:   s.opts.Version,
		Logger:    s.log,
		// Read at each call, so a reloaded client CA bundle applies.
		ClientCAs: s.tls.clientCAs,
	})
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
		return err
	}
	if err := s.pinUpstreams(svc); err != nil {
		h.Close()
		return err
	}
	s.adminH = h
	return nil
}

// FlushAudit writes every audit record queued so far to the store.
func (s *Server) FlushAudit(ctx context.Context) error {
	return s.store.FlushAudit(ctx)
}

// adminTLSConfig builds the HTTPS admin listener's TLS config: admin client
// certificates are verified against client_ca_file when a client offers one;
// callers without one must bring a bearer token.
func adminTLSConfig(t *configv1.AdminTLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.GetCertFile(), t.GetKeyFile())
	if err != nil {
		return nil, &fieldpath.Error{Path: "admin.tls.cert_file", Msg: "cannot load key pair: " + pathErr(err)}
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12Suites,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.NoClientCert,
	}
	if f := t.GetClientCaFile(); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, &fieldpath.Error{Path: "admin.tls.client_ca_file", Msg: "cannot read: " + pathErr(err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &fieldpath.Error{Path: "admin.tls.client_ca_file", Msg: "no PEM certificates found"}
		}
		conf.ClientCAs, conf.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return conf, nil
}

// liveState is the policy tester's view of the state the data plane serves:
// the same compiled policy, host table and inner-request limits.
func (s *Server) liveState() admin.LiveState {
	st := s.state.Load()
	return admin.LiveState{
		Revision: st.revision,
		Policy:   st.policy,
		HasHost: func(host string) bool {
			_, ok := st.table.Lookup(host)
			return ok
		},
		HostOptions: st.table.HostOptions,
		Limits:      s.innerLimits(),
	}
}
