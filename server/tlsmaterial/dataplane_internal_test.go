package tlsmaterial

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/pki"
)

// testDataPlane returns a data plane over fresh files, the CA, and a client
// certificate of that CA.
func testDataPlane(t *testing.T) (*DataPlane, *pki.CA, tls.Certificate, *configv1.ServerTLS) {
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
	m, err := NewDataPlane(files, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return m, ca, leaf.TLSCertificate(), files
}

// resumes does one handshake with the data plane's current config and reports
// whether the session was resumed from cache.
func resumes(t *testing.T, m *DataPlane, ca *pki.CA, cert tls.Certificate, cache tls.ClientSessionCache) bool {
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
		s := tls.Server(b, m.Config())
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
	m, ca, cert, files := testDataPlane(t)
	rotate := func(n int) {
		for range n {
			if err := m.rotateTicketKeys(); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The promise (docs/SECURITY.md), not the constant: the current key and
	// the two previous ones, so a ticket lives at most 3 rotations (36 h).
	const promisedKeys = 3
	if ticketKeyRotation != 12*time.Hour {
		t.Errorf("ticket keys rotate every %v, want 12h", ticketKeyRotation)
	}
	kept := tls.NewLRUClientSessionCache(4)
	if resumes(t, m, ca, cert, kept) {
		t.Fatal("first handshake resumed")
	}
	rotate(promisedKeys - 1)
	if !resumes(t, m, ca, cert, kept) {
		t.Errorf("a ticket from %d rotations ago did not resume", promisedKeys-1)
	}

	dropped := tls.NewLRUClientSessionCache(4)
	resumes(t, m, ca, cert, dropped)
	rotate(promisedKeys)
	if resumes(t, m, ca, cert, dropped) {
		t.Errorf("a ticket from %d rotations ago resumed: its key should be gone", promisedKeys)
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
	m, ca, _, files := testDataPlane(t)
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

// TestPostureConfig pins the TLS posture in the configs themselves, so that
// it does not silently follow a change of crypto/tls's defaults: the base
// config and every snapshot offer TLS 1.2+ only, ECDHE with AEAD only,
// X25519MLKEM768/X25519/P-256 only, h2, and require a verified client
// certificate.
func TestPostureConfig(t *testing.T) {
	t.Parallel()
	m, _, _, _ := testDataPlane(t)
	aead := map[uint16]bool{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: true, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: true,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: true, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: true,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: true, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: true,
	}
	okCurve := map[tls.CurveID]bool{tls.X25519MLKEM768: true, tls.X25519: true, tls.CurveP256: true}
	for name, c := range map[string]*tls.Config{"base": m.Config(), "snapshot": m.cur.Load().config} {
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
