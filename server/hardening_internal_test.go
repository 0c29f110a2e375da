package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// testTLSManager returns a manager over fresh files, the CA, and a client
// certificate of that CA.
func testTLSManager(t *testing.T) (*tlsManager, *pki.CA, tls.Certificate, *configv1.ServerTLS) {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA("ca")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	cf, kf, err := srv.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	files := &configv1.ServerTLS{CertFile: cf, KeyFile: kf, ClientCaFile: caFile}
	m, err := newTLSManager(files, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return m, ca, leaf.TLSCertificate(), files
}

// resumes does one handshake with the manager's current config and reports
// whether the session was resumed from cache.
func resumes(t *testing.T, m *tlsManager, ca *pki.CA, cert tls.Certificate, cache tls.ClientSessionCache) bool {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	errc := make(chan error, 1)
	go func() {
		b, err := lis.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer b.Close()
		_ = b.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(b, m.serverConfig())
		if err := s.Handshake(); err != nil {
			errc <- err
			return
		}
		_, err = s.Write([]byte{1}) // after the session tickets
		errc <- err
	}()
	a, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(a, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}, ServerName: "localhost",
		NextProtos: []string{"h2"}, ClientSessionCache: cache})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().DidResume
}

// TestTicketKeyRotation: tickets stay valid across ticketKeysKept-1
// rotations and across a certificate reload, and not beyond.
func TestTicketKeyRotation(t *testing.T) {
	t.Parallel()
	m, ca, cert, files := testTLSManager(t)
	rotate := func(n int) {
		for range n {
			if err := m.rotateTicketKeys(); err != nil {
				t.Fatal(err)
			}
		}
	}

	kept := tls.NewLRUClientSessionCache(4)
	if resumes(t, m, ca, cert, kept) {
		t.Fatal("first handshake resumed")
	}
	rotate(ticketKeysKept - 1)
	if !resumes(t, m, ca, cert, kept) {
		t.Errorf("a ticket from %d rotations ago did not resume", ticketKeysKept-1)
	}

	dropped := tls.NewLRUClientSessionCache(4)
	resumes(t, m, ca, cert, dropped)
	rotate(ticketKeysKept)
	if resumes(t, m, ca, cert, dropped) {
		t.Errorf("a ticket from %d rotations ago resumed: its key should be gone", ticketKeysKept)
	}

	// A reload builds a new snapshot config: it must carry the keys.
	reloaded := tls.NewLRUClientSessionCache(4)
	resumes(t, m, ca, cert, reloaded)
	leaf, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.GetKeyFile(), leaf.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.GetCertFile(), leaf.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if !m.poll() {
		t.Fatal("poll did not reload the changed certificate")
	}
	if !resumes(t, m, ca, cert, reloaded) {
		t.Error("a ticket from before the reload did not resume")
	}
}

// TestPollReloadsOnlyOnChange: an untouched or rewritten-identical file does
// not count as a reload; a changed one does.
func TestPollReloadsOnlyOnChange(t *testing.T) {
	t.Parallel()
	m, ca, _, files := testTLSManager(t)
	if m.poll() {
		t.Error("poll reloaded unchanged files")
	}
	data, _ := os.ReadFile(files.GetClientCaFile())
	if err := os.WriteFile(files.GetClientCaFile(), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if m.poll() {
		t.Error("poll counted an identical rewrite as a change")
	}
	other, _ := pki.NewCA("other")
	if err := os.WriteFile(files.GetClientCaFile(), append(ca.CertPEM(), other.CertPEM()...), 0o644); err != nil {
		t.Fatal(err)
	}
	if !m.poll() {
		t.Error("poll missed a changed CA bundle")
	}
}

func TestIdentityLimitsBoundedAndKeyed(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	l := newIdentityLimits(1, 2, 1)
	l.now = func() time.Time { return now }
	l.maxEntries = 100

	busy, err := l.acquire("busy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.acquire("busy"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second in-flight request of busy: %v, want ResourceExhausted", err)
	}
	for i := range 1000 {
		release, err := l.acquire(fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
		if n := l.size(); n > l.maxEntries {
			t.Fatalf("%d entries after %d principals, want at most %d", n, i+1, l.maxEntries)
		}
	}
	// busy was never evicted: its release still counts, and its limit still
	// holds until then.
	if _, err := l.acquire("busy"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("busy after the flood: %v, want still at its in-flight limit", err)
	}
	busy()
	busy() // idempotent
	now = now.Add(time.Hour)
	release, err := l.acquire("busy")
	if err != nil {
		t.Fatalf("busy after release: %v", err)
	}
	release()

	// The bucket: burst 2, then a RetryInfo of about a second.
	fresh := newIdentityLimits(1, 2, 10)
	fresh.now = func() time.Time { return now }
	for i := range 2 {
		r, err := fresh.acquire("alice")
		if err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
		r()
	}
	_, err = fresh.acquire("alice")
	st := status.Convert(err)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	if st.Code() != codes.ResourceExhausted || retry == nil || retry.GetRetryDelay().AsDuration() <= 0 || retry.GetRetryDelay().AsDuration() > time.Second {
		t.Fatalf("over the burst: %v with RetryInfo %v, want ResourceExhausted and a delay in (0, 1s]", st, retry)
	}
	if r, err := fresh.acquire("bob"); err != nil {
		t.Fatalf("bob is limited by alice's bucket: %v", err)
	} else {
		r()
	}
	now = now.Add(time.Second)
	if r, err := fresh.acquire("alice"); err != nil {
		t.Fatalf("alice after her retry delay: %v", err)
	} else {
		r()
	}
}

// TestPostureConfig pins the TLS posture in the configs themselves, so that
// it does not silently follow a change of crypto/tls's defaults: the base
// config and every snapshot offer TLS 1.2+ only, ECDHE with AEAD only,
// X25519MLKEM768/X25519/P-256 only, h2, and require a verified client
// certificate.
func TestPostureConfig(t *testing.T) {
	t.Parallel()
	m, _, _, _ := testTLSManager(t)
	aead := map[uint16]bool{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: true, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: true,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: true, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: true,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: true, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: true,
	}
	okCurve := map[tls.CurveID]bool{tls.X25519MLKEM768: true, tls.X25519: true, tls.CurveP256: true}
	for name, c := range map[string]*tls.Config{"base": m.serverConfig(), "snapshot": m.cur.Load().config} {
		if c.MinVersion < tls.VersionTLS12 {
			t.Errorf("%s: MinVersion %x", name, c.MinVersion)
		}
		if len(c.CipherSuites) == 0 {
			t.Errorf("%s: no explicit cipher suites (crypto/tls defaults would apply)", name)
		}
		for _, s := range c.CipherSuites {
			if !aead[s] {
				t.Errorf("%s: suite %s offered", name, tls.CipherSuiteName(s))
			}
		}
		if len(c.CurvePreferences) == 0 {
			t.Errorf("%s: no explicit curves (crypto/tls defaults would apply)", name)
		}
		for _, cv := range c.CurvePreferences {
			if !okCurve[cv] {
				t.Errorf("%s: curve %v offered", name, cv)
			}
		}
		if c.ClientAuth != tls.RequireAndVerifyClientCert || len(c.NextProtos) != 1 || c.NextProtos[0] != "h2" {
			t.Errorf("%s: ClientAuth %v, NextProtos %v", name, c.ClientAuth, c.NextProtos)
		}
	}
}
