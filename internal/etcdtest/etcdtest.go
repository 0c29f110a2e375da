// Package etcdtest runs a single-member etcd server inside a test process, on
// 127.0.0.1 ports of its own with its data in the test's temporary
// directory, so that the etcd store and fleet tests talk to a real cluster.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startTimeout bounds the wait for the server to serve clients.
const startTimeout = 30 * time.Second

// TLS names the server's TLS files. With CAFile set, clients must present
// a certificate signed by it.
type TLS struct {
	CertFile, KeyFile, CAFile string
}

// Server is a running (or stopped) etcd member.
type Server struct {
	t        testing.TB
	mu       sync.Mutex
	cfg      *embed.Config
	etcd     *embed.Etcd
	endpoint string
}

// Start starts a member and stops it when the test ends. tlsFiles may be nil
// for plaintext.
func Start(t testing.TB, tlsFiles *TLS) *Server {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	scheme := "http"
	if tlsFiles != nil {
		scheme = "https"
		cfg.ClientTLSInfo = transport.TLSInfo{
			CertFile:       tlsFiles.CertFile,
			KeyFile:        tlsFiles.KeyFile,
			TrustedCAFile:  tlsFiles.CAFile,
			ClientCertAuth: tlsFiles.CAFile != "",
		}
	}
	client := mustURL(t, scheme+"://"+freeAddr(t))
	peer := mustURL(t, "http://"+freeAddr(t))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	// Nothing in the tests needs metrics or the v3 HTTP gateway.
	cfg.EnableGRPCGateway = false
	s := &Server{t: t, cfg: cfg, endpoint: client.String()}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Endpoint returns the client URL.
func (s *Server) Endpoint() string { return s.endpoint }

// Stop stops the member; its data stays for Restart. Stopping a stopped
// member does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etcd != nil {
		s.etcd.Close()
		s.etcd = nil
	}
}

// Restart starts the member again on the same ports and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etcd != nil {
		return
	}
	var e *embed.Etcd
	var err error
	// The ports were free a moment ago; after a Stop the kernel may need a
	// moment to release them.
	for deadline := time.Now().Add(startTimeout); ; {
		e, err = embed.StartEtcd(s.cfg)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("etcdtest: start: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(startTimeout):
		e.Close()
		s.t.Fatalf("etcdtest: not ready within %v", startTimeout)
	}
	s.etcd = e
}

// Replace stops the member, deletes its data and starts a new, empty
// cluster on the same ports, as an operator rebuilding etcd would: its
// revisions start again from 1.
func (s *Server) Replace() {
	s.t.Helper()
	s.Stop()
	if err := os.RemoveAll(s.cfg.Dir); err != nil {
		s.t.Fatal(err)
	}
	s.Restart()
}

// Client returns a plaintext client of the member, closed when the test
// ends.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Compact compacts the member's history up to its current revision and
// returns that revision.
func (s *Server) Compact(t testing.TB) int64 {
	t.Helper()
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, "compaction-probe")
	if err != nil {
		t.Fatal(err)
	}
	rev := resp.Header.Revision
	if _, err := c.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	return rev
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mustURL(t testing.TB, s string) url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(fmt.Errorf("etcdtest: %w", err))
	}
	return *u
}
