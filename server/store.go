package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/auditlog"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/server/tlsmaterial"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/protobuf/proto"
)

// storeSession is the store as the server opened it, with the JSON-lines
// audit sink, the audit log's witness and the watch that feeds the data
// plane; close releases all of it.
type storeSession struct {
	st        store.Store
	auditSink *os.File
	witness   *auditlog.Witness // nil: no audit.witness
	watch     <-chan *store.Snapshot
	stopWatch context.CancelFunc
	closeOnce sync.Once
	log       *slog.Logger
}

// openStore opens the store the config selects (the embedded one in
// data_dir, or etcd when store.etcd is set) with its audit sink. connected
// follows whether a distributed store is reachable.
func openStore(cfg *configv1.Config, log *slog.Logger, connected func(bool)) (*storeSession, error) {
	s := &storeSession{log: log}
	opts := store.Options{
		AuditMaxAge:     cfg.GetAudit().GetMaxAge().AsDuration(),
		AuditMaxRecords: int(cfg.GetAudit().GetMaxRecords()),
		Logger:          log,
	}
	if f := cfg.GetAudit().GetJsonlFile(); f != "" {
		sink, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fieldpath.FileError("audit.jsonl_file", "cannot open", err)
		}
		s.auditSink = sink
		opts.AuditSink = sink
	}
	if err := s.openWitness(cfg.GetAudit(), &opts); err != nil {
		s.close()
		return nil, err
	}
	st, err := newStore(cfg, opts, connected)
	if err != nil {
		s.close()
		return nil, err
	}
	s.st = st
	if info, err := st.AuditLog(context.Background()); err == nil {
		// Verifiers should keep this key from here, not fetch it later from
		// a gateway whose disk they are checking.
		log.Info("audit log", "instance", info.Instance, "records", info.Size, "first_kept", info.First,
			"verifier_key", info.VerifierKey)
	}
	return s, nil
}

// openWitness opens where audit.witness sends checkpoints and sets the
// store's checkpoint options.
func (s *storeSession) openWitness(a *configv1.Audit, opts *store.Options) error {
	opts.AuditCheckpointInterval = a.GetCheckpointInterval().AsDuration()
	w, err := auditlog.NewWitness(a.GetWitness().GetFile(), a.GetWitness().GetUrl(), s.log)
	if err != nil {
		return fieldpath.FileError("audit.witness.file", "cannot open", err)
	}
	if w != nil {
		s.witness = w
		opts.OnAuditCheckpoint = w.Checkpoint
	}
	return nil
}

// startWatch starts collecting the snapshots committed from now on, which
// followStore applies once the server serves.
func (s *storeSession) startWatch() {
	ctx, stop := context.WithCancel(context.Background())
	s.watch, s.stopWatch = s.st.Watch(ctx), stop
}

// newStore opens the store the config selects. With store.etcd, data_dir
// keeps this instance's audit trail and etcd everything else.
func newStore(cfg *configv1.Config, opts store.Options, connected func(bool)) (store.Store, error) {
	ec := cfg.GetStore().GetEtcd()
	if ec == nil {
		st, err := store.Open(cfg.GetDataDir(), opts)
		if err != nil {
			return nil, &fieldpath.Error{Path: "data_dir", Msg: err.Error()}
		}
		return st, nil
	}
	tlsConf, err := tlsmaterial.EtcdConfig(ec.GetTls())
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
		DataDir:     cfg.GetDataDir(),
		Audit:       opts,
		Logger:      opts.Logger,
		OnConnected: connected,
	})
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return nil, fmt.Errorf("store.etcd: cannot read the configuration: %w", err)
	case err != nil:
		return nil, &fieldpath.Error{Path: "data_dir", Msg: err.Error()}
	}
	return st, nil
}

// seed writes the config file's hosts and rules into the store when it was
// never written, checking them with validate.
//
// Precedence: the config file's hosts and rules only seed an empty store.
// From then on the store is authoritative and admin API writes win; later
// edits of hosts and rules in the file are ignored, with a warning. In a
// fleet the first instance to start seeds the shared prefix; the others
// find it written.
func (s *storeSession) seed(cfg *configv1.Config, validate func(*store.Snapshot) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seeded, err := s.st.Seed(ctx, cfg.GetHosts(), cfg.GetRules(), validate)
	if err != nil {
		return fmt.Errorf("seeding the store from the config file: %w", err)
	}
	snap := s.st.Snapshot()
	if seeded {
		s.log.Info("store seeded from the config file", "revision", snap.Revision,
			"hosts", len(snap.Hosts), "rules", len(snap.Rules))
	} else if !sameEntries(resource.Host, cfg.GetHosts(), snap.Hosts) || !sameEntries(resource.Rule, cfg.GetRules(), snap.Rules) {
		s.log.Warn("the config file's hosts or rules differ from the store's; the store is authoritative "+
			"(change them through the admin API, or start with an empty data_dir, or etcd prefix, to re-seed)",
			"revision", snap.Revision, "data_dir", cfg.GetDataDir(), "etcd_prefix", cfg.GetStore().GetEtcd().GetPrefix())
	}
	return nil
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

// close stops watching the store, flushes the audit queue and closes the
// database and the JSON-lines sink. It may be called more than once.
func (s *storeSession) close() {
	s.closeOnce.Do(func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
		if s.st != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.st.FlushAudit(ctx); err != nil {
				s.log.Warn("flushing the audit trail", "error", err.Error())
			}
			cancel()
			if err := s.st.Close(); err != nil {
				s.log.Warn("closing the store", "error", err.Error())
			}
		}
		if s.auditSink != nil {
			_ = s.auditSink.Close()
		}
		// After the store: its Close signs the last checkpoint.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.witness.Close(ctx); err != nil {
			s.log.Warn("closing the audit witness file", "error", err.Error())
		}
	})
}

// status is the /readyz line about a distributed store: whether it is
// reachable and which revision the data plane serves. The embedded store
// has nothing to say. An unreachable etcd does not make the instance
// unready: it keeps serving its last snapshot, as every other instance
// does, and taking the fleet out of the load balancer would turn a
// control-plane outage into a full one.
func (s *storeSession) status(serving int64) string {
	e, ok := s.st.(*store.Etcd)
	if !ok {
		return ""
	}
	h := e.Health()
	if !h.Connected {
		return fmt.Sprintf("store: etcd unreachable since %s, serving revision %d; admin writes fail\n",
			h.Since.UTC().Format(time.RFC3339), serving)
	}
	return fmt.Sprintf("store: etcd connected, serving revision %d\n", serving)
}

// followStore applies every committed store change to the data plane until
// ctx is done: a new rule applies to the next request, a revocation closes the
// revoked certificate's open connections.
func (s *Server) followStore(ctx context.Context) {
	for snap := range s.session.watch {
		next, err := s.served.compile(snap)
		if err != nil {
			// Writes are validated before commit, so this means the store
			// was changed behind the gateway's back: keep serving the last
			// good state.
			s.log.Error("store snapshot does not compile; keeping the previous state",
				"revision", snap.Revision, "error", err.Error())
			continue
		}
		s.served.apply(next)
		s.log.Info("applied store change", "revision", next.revision,
			"hosts", len(snap.Hosts), "rules", len(snap.Rules), "revocations", len(snap.Revocations))
		if n := s.CloseRevokedConnections(); n > 0 {
			s.log.Info("closed connections of revoked certificates", "connections", n)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// FlushAudit writes every audit record queued so far to the store.
func (s *Server) FlushAudit(ctx context.Context) error {
	return s.store.FlushAudit(ctx)
}
