package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/durationpb"
)

// handshake does a bare TLS handshake with the gateway and returns the
// connection state. The client reads once after the handshake, so that a
// server that refuses the client's certificate (which TLS 1.3 reports
// after the client's side is done) fails the call too.
func handshake(t *testing.T, addr string, conf *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if conf.ServerName == "" {
		conf.ServerName = "localhost"
	}
	if conf.NextProtos == nil {
		conf.NextProtos = []string{"h2"}
	}
	tc := tls.Client(conn, conf)
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	// The gateway speaks first after the handshake (HTTP/2 SETTINGS); a
	// refusal arrives as an alert instead.
	if _, err := tc.Read(make([]byte, 1)); err != nil {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}

func (g *gateway) clientConf(t *testing.T, cn string) *tls.Config {
	t.Helper()
	return &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(t, cn)}}
}

// TestTLSPosture: only TLS 1.2 and 1.3, forward-secret AEAD suites, strong
// curves and h2 get through.
func TestTLSPosture(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	tests := []struct {
		name   string
		mod    func(*tls.Config)
		ok     bool
		verify func(*testing.T, tls.ConnectionState)
	}{
		{"TLS 1.3", func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }, true, func(t *testing.T, cs tls.ConnectionState) {
			if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != "h2" {
				t.Errorf("version %x, ALPN %q; want TLS 1.3 and h2", cs.Version, cs.NegotiatedProtocol)
			}
		}},
		{"TLS 1.2 ECDHE AES-GCM", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, true, func(t *testing.T, cs tls.ConnectionState) {
			if cs.Version != tls.VersionTLS12 || cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
				t.Errorf("version %x suite %s", cs.Version, tls.CipherSuiteName(cs.CipherSuite))
			}
		}},
		{"TLS 1.2 ChaCha20", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
		}, true, nil},
		{"X25519 only", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} }, true, nil},
		{"P-256 only", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }, true, nil},
		{"TLS 1.1", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, false, nil},
		{"TLS 1.0", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS10 }, false, nil},
		{"TLS 1.2 CBC", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
		}, false, nil},
		{"TLS 1.2 static RSA (no forward secrecy)", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}
		}, false, nil},
		{"TLS 1.2 3DES and RC4", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}
		}, false, nil},
		{"P-384 only", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP384} }, false, nil},
		{"P-521 only", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP521} }, false, nil},
		{"HTTP/1.1 ALPN", func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := g.clientConf(t, "alice")
			tt.mod(conf)
			cs, err := handshake(t, g.addr, conf)
			if (err == nil) != tt.ok {
				t.Fatalf("handshake err = %v, want ok=%v", err, tt.ok)
			}
			if tt.verify != nil {
				tt.verify(t, cs)
			}
		})
	}
}

func TestTLSMinVersion13(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Tls.MinVersion = "1.3"
	})
	conf := g.clientConf(t, "alice")
	conf.MaxVersion = tls.VersionTLS12
	if _, err := handshake(t, g.addr, conf); err == nil {
		t.Error("TLS 1.2 handshake succeeded with min_version 1.3")
	}
	cs, err := handshake(t, g.addr, g.clientConf(t, "alice"))
	if err != nil || cs.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 handshake: version %x, err %v", cs.Version, err)
	}
}

// TestSessionResumption: a reconnecting client resumes its TLS session (no
// full handshake), over gRPC with TLS 1.3 and bare with TLS 1.2, and the
// resumed connection is authenticated like the first one.
func TestSessionResumption(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	t.Run("gRPC TLS 1.3", func(t *testing.T) {
		conf := g.clientConf(t, "alice")
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(8)
		for i, wantResume := range []bool{false, true} {
			conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
			if err != nil {
				t.Fatal(err)
			}
			var p peer.Peer
			_, err = forwardOpts(t, gatewayv1.NewGatewayServiceClient(conn), get("demo.internal", "/hello"), grpc.Peer(&p))
			conn.Close()
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			st := p.AuthInfo.(credentials.TLSInfo).State
			if st.DidResume != wantResume {
				t.Fatalf("call %d: DidResume = %v, want %v", i, st.DidResume, wantResume)
			}
		}
	})
	t.Run("TLS 1.2", func(t *testing.T) {
		conf := g.clientConf(t, "alice")
		conf.MaxVersion = tls.VersionTLS12
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(8)
		for i, wantResume := range []bool{false, true} {
			cs, err := handshake(t, g.addr, conf)
			if err != nil {
				t.Fatal(err)
			}
			if cs.DidResume != wantResume {
				t.Fatalf("handshake %d: DidResume = %v, want %v", i, cs.DidResume, wantResume)
			}
		}
	})
}

func forwardOpts(t *testing.T, c gatewayv1.GatewayServiceClient, req *gatewayv1.ForwardRequest, opts ...grpc.CallOption) (*gatewayv1.ForwardResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Forward(ctx, req, opts...)
}

// writeAtomic replaces path's content the way deployment tools do: write a
// temporary file, then rename it over the old one.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// servedSerial returns the serial of the certificate a new connection is
// shown.
func (g *gateway) servedSerial(t *testing.T) string {
	t.Helper()
	cs, err := handshake(t, g.addr, g.clientConf(t, "alice"))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return cs.PeerCertificates[0].SerialNumber.Text(16)
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fastReload(c *configv1.Config) {
	c.Tls.ReloadInterval = durationpb.New(100 * time.Millisecond)
	c.Limits.RatePerSecond, c.Limits.Burst, c.Limits.MaxInFlightPerIdentity = 1e5, 1e5, 1e4
}

// TestTLSReloadUnderLoad replaces the server certificate and then the
// client CA bundle while clients keep forwarding, over old and new
// connections: no request fails, new connections see the new certificate,
// and a client of the new CA gets in once the bundle has it.
func TestTLSReloadUnderLoad(t *testing.T) {
	t.Parallel()
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, fastReload)
	oldSerial := g.servedSerial(t)

	var stop atomic.Bool
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; !stop.Load() && round < 1000; round++ {
				// Every few requests a new connection, so handshakes happen
				// throughout the reloads.
				client := g.as(t, "alice")
				for i := 0; i < 5 && !stop.Load(); i++ {
					if _, err := forward(t, client, get("demo.internal", "/load")); err != nil {
						failed.Add(1)
						errMu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						errMu.Unlock()
						continue
					}
					ok.Add(1)
				}
			}
		}()
	}
	eventually(t, "load to start", 10*time.Second, func() bool { return ok.Load() > 20 })

	// 1. A new server certificate from the same CA.
	newLeaf, err := g.ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, g.keyFile, newLeaf.KeyPEM())
	writeAtomic(t, g.certFile, newLeaf.CertPEM())
	newSerial := newLeaf.Cert.SerialNumber.Text(16)
	eventually(t, "the new server certificate", 10*time.Second, func() bool { return g.servedSerial(t) == newSerial })
	if newSerial == oldSerial {
		t.Fatal("test bug: same serial")
	}

	// 2. A client CA bundle with the old and a new CA.
	newCA, err := pki.NewCA("new client CA")
	if err != nil {
		t.Fatal(err)
	}
	newClient, err := newCA.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	newConf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{newClient.TLSCertificate()}}
	if _, err := handshake(t, g.addr, newConf.Clone()); err == nil {
		t.Fatal("a client of the new CA got in before the bundle had it")
	}
	writeAtomic(t, g.caFile, append(g.ca.CertPEM(), newCA.CertPEM()...))
	eventually(t, "the new client CA", 10*time.Second, func() bool {
		_, err := handshake(t, g.addr, newConf.Clone())
		return err == nil
	})
	before := ok.Load()
	eventually(t, "more load after the reloads", 10*time.Second, func() bool { return ok.Load() > before+20 })
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the reloads; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr)
	}
	t.Logf("%d requests, none failed", ok.Load())
}

// TestTLSReloadKeepsPreviousOnError: a broken certificate, key, CA or CRL
// file keeps the material in force, and both the poll's log line and
// ReloadTLS's error name the key at fault.
func TestTLSReloadKeepsPreviousOnError(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))}, fastReload)
	serial := g.servedSerial(t)
	mismatched, err := g.ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(g.caFile)
	certPEM, _ := os.ReadFile(g.certFile)
	pollFailures := func() []string {
		var errs []string
		for _, l := range logs.lines(t) {
			if l["msg"] == "tls files changed but do not load: keeping the previous certificate, client CAs and CRLs" {
				e, _ := l["error"].(string)
				errs = append(errs, e)
			}
		}
		return errs
	}
	tests := []struct {
		name string
		file string
		data []byte
		key  string
	}{
		{"garbage certificate", g.certFile, []byte("not a certificate"), "tls.cert_file"},
		{"certificate without its key", g.certFile, mismatched.CertPEM(), "tls.cert_file"},
		{"empty CA bundle", g.caFile, []byte(""), "tls.client_ca_file"},
		{"truncated CA bundle", g.caFile, caPEM[:len(caPEM)/2], "tls.client_ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := map[string][]byte{g.certFile: certPEM, g.caFile: caPEM}[tt.file]
			seen := len(pollFailures())
			writeAtomic(t, tt.file, tt.data)
			defer writeAtomic(t, tt.file, orig)
			// The poll notices the change, refuses it and says why.
			eventually(t, "the poll to refuse the broken file", waitFor, func() bool { return len(pollFailures()) > seen })
			if got := pollFailures()[seen]; !strings.HasPrefix(got, tt.key+":") {
				t.Errorf("poll log error = %q, want it to name %s", got, tt.key)
			}
			if err := g.srv.ReloadTLS(); err == nil || !strings.HasPrefix(err.Error(), tt.key+":") {
				t.Errorf("ReloadTLS = %v, want an error naming %s", err, tt.key)
			}
			if got := g.servedSerial(t); got != serial {
				t.Errorf("served serial %s, want the previous %s", got, serial)
			}
			if _, err := forward(t, g.as(t, "alice"), get("demo.internal", "/x")); err != nil {
				t.Errorf("Forward after a broken reload: %v", err)
			}
		})
	}
}

// TestCRLRevocation: a certificate on its CA's CRL is refused in the
// handshake; a CRL change reaches open connections (they are closed and
// cannot come back), whether ReloadTLS (SIGHUP) or the poll picks it up;
// PEM and DER CRLs both work. Each way of picking the change up runs alone
// (the other is off), so each has to close the connections itself.
func TestCRLRevocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ format, trigger string }{{"PEM", "ReloadTLS"}, {"DER", "poll"}} {
		format := tc.format
		t.Run(tc.format+" via "+tc.trigger, func(t *testing.T) {
			t.Parallel()
			ca, err := pki.NewCA("crl test CA")
			if err != nil {
				t.Fatal(err)
			}
			crlFile := filepath.Join(t.TempDir(), "client.crl")
			writeCRL := func(number int64, revoked ...*x509.Certificate) {
				t.Helper()
				der, err := ca.CRL(number, revoked...)
				if err != nil {
					t.Fatal(err)
				}
				if format == "PEM" {
					der = pki.CRLPEM(der)
				}
				writeAtomic(t, crlFile, der)
			}
			bob, err := ca.Issue(pki.Options{CommonName: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			alice, err := ca.Issue(pki.Options{CommonName: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			writeCRL(1, bob.Cert)
			g := startGatewayWithCA(t, ca, func(c *configv1.Config) {
				fastReload(c)
				if tc.trigger != "poll" {
					c.Tls.ReloadInterval = durationpb.New(time.Hour)
				}
				c.Tls.CrlFiles = []string{crlFile}
			})
			if _, err := forward(t, g.dial(t, bob.TLSCertificate()), get("demo.internal", "/x")); err == nil {
				t.Fatal("revoked bob got through")
			} else {
				wantCode(t, err, codes.Unavailable) // refused in the handshake
			}

			conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(
				&tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()}})))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			client := gatewayv1.NewGatewayServiceClient(conn)
			if _, err := forward(t, client, get("demo.internal", "/x")); err != nil {
				t.Fatalf("alice before her revocation: %v", err)
			}
			// A TLS session of alice's from before the revocation, to resume.
			resume := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()},
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			if _, err := handshake(t, g.addr, resume); err != nil {
				t.Fatal(err)
			}
			if cs, err := handshake(t, g.addr, resume); err != nil || !cs.DidResume {
				t.Fatalf("resumption before the revocation: resumed %v, err %v", cs.DidResume, err)
			}
			// Revoke alice while her connection is open.
			writeCRL(2, bob.Cert, alice.Cert)
			if tc.trigger == "ReloadTLS" {
				if err := g.srv.ReloadTLS(); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "alice's connection to close", 10*time.Second, func() bool {
				return conn.GetState() != connectivity.Ready
			})
			if _, err := forward(t, client, get("demo.internal", "/x")); err == nil {
				t.Fatal("revoked alice got through on her connection")
			}
			if _, err := handshake(t, g.addr, resume); err == nil {
				t.Fatal("revoked alice resumed her TLS session")
			}
			if n := len(g.log.all()); n != 1 {
				t.Errorf("upstream saw %d requests, want 1 (alice before her revocation)", n)
			}
		})
	}
}

// TestCRLMustVerify: a CRL that no client CA signed is a config error at
// start and a failed reload later (the CRLs in force stay).
func TestCRLMustVerify(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("crl test CA")
	if err != nil {
		t.Fatal(err)
	}
	impostor, err := pki.NewCA("crl test CA") // same name, other key
	if err != nil {
		t.Fatal(err)
	}
	bob, err := ca.Issue(pki.Options{CommonName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crlFile := filepath.Join(dir, "client.crl")
	forged, err := impostor.CRL(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crlFile, pki.CRLPEM(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := gatewayConfigWithCA(t, ca, func(c *configv1.Config) { c.Tls.CrlFiles = []string{crlFile} })
	if _, err := server.New(cfg, server.Options{}); err == nil || !strings.Contains(err.Error(), "tls.crl_files[0]") {
		t.Fatalf("New with a forged CRL: %v, want an error naming tls.crl_files[0]", err)
	}

	good, err := ca.CRL(1, bob.Cert)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, crlFile, pki.CRLPEM(good))
	logs := &syncBuffer{}
	g := startGatewayWithCAOpts(t, ca, server.Options{DrainTimeout: time.Second, Logger: slog.New(slog.NewJSONHandler(logs, nil))},
		func(c *configv1.Config) { fastReload(c); c.Tls.CrlFiles = []string{crlFile} })
	// A forged CRL that would "unrevoke" bob is refused by the poll and by
	// ReloadTLS; bob stays out.
	writeAtomic(t, crlFile, pki.CRLPEM(forged))
	eventually(t, "the poll to refuse the forged CRL", waitFor, func() bool {
		for _, l := range logs.lines(t) {
			if e, _ := l["error"].(string); strings.HasPrefix(e, "tls.crl_files[0]:") {
				return true
			}
		}
		return false
	})
	if err := g.srv.ReloadTLS(); err == nil || !strings.HasPrefix(err.Error(), "tls.crl_files[0]:") {
		t.Fatalf("ReloadTLS with a forged CRL = %v, want an error naming tls.crl_files[0]", err)
	}
	if _, err := forward(t, g.dial(t, bob.TLSCertificate()), get("demo.internal", "/x")); err == nil {
		t.Fatal("bob got through after a forged CRL")
	}
}

// shortLivedCert issues alice a certificate that expires lifetime from now
// (in whole seconds, as X.509 counts) and returns it with its NotAfter.
func shortLivedCert(t *testing.T, ca *pki.CA, lifetime time.Duration) (tls.Certificate, time.Time) {
	t.Helper()
	leaf, err := ca.Issue(pki.Options{CommonName: "alice", NotAfter: time.Now().Add(lifetime)})
	if err != nil {
		t.Fatal(err)
	}
	return leaf.TLSCertificate(), leaf.Cert.NotAfter
}

// withLifetimes runs try with certificate lifetimes of 3 s, 6 s, 12 s, ...
// until try reports that the machine was fast enough to finish its setup
// before the certificate expired. A slow machine makes the test slower, never
// skipped.
func withLifetimes(t *testing.T, try func(lifetime time.Duration) (inTime bool)) {
	t.Helper()
	for lifetime := 3 * time.Second; lifetime <= 96*time.Second; lifetime *= 2 {
		if try(lifetime) {
			return
		}
		t.Logf("the setup outlasted a %v certificate; trying a longer one", lifetime)
	}
	t.Fatal("the setup outlasted every certificate lifetime up to 96s")
}

// TestExpiringCertificateClosesConnection: a connection made with a
// short-lived certificate is closed when the certificate expires, without
// any request on it.
func TestExpiringCertificateClosesConnection(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	withLifetimes(t, func(lifetime time.Duration) bool {
		cert, notAfter := shortLivedCert(t, g.ca, lifetime)
		conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{cert}}
		conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := gatewayv1.NewGatewayServiceClient(conn)
		_, err = forward(t, client, get("demo.internal", "/x"))
		if time.Now().After(notAfter) {
			return false
		}
		if err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		eventually(t, "the connection to close at expiry", time.Until(notAfter)+10*time.Second, func() bool {
			return conn.GetState() != connectivity.Ready
		})
		if closedAt := time.Now(); closedAt.Before(notAfter) {
			t.Errorf("connection closed at %v, before the certificate's NotAfter %v", closedAt, notAfter)
		}
		if _, err := forward(t, client, get("demo.internal", "/x")); err == nil {
			t.Fatal("an expired certificate got through")
		}
		return true
	})
}

// tlsVersions are the versions resumption is checked with: TLS 1.3 resumes
// with a PSK, TLS 1.2 with a session ticket; both must re-check the client.
var tlsVersions = map[string]uint16{"TLS 1.3": tls.VersionTLS13, "TLS 1.2": tls.VersionTLS12}

// TestResumptionNotPastCertificateExpiry: a session ticket is never resumed
// once its client certificate has expired, although the ticket itself is
// still young: the client has to make a full handshake, which its expired
// certificate fails.
func TestResumptionNotPastCertificateExpiry(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	for name, version := range tlsVersions {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			withLifetimes(t, func(lifetime time.Duration) bool {
				cert, notAfter := shortLivedCert(t, g.ca, lifetime)
				conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{cert}, MaxVersion: version,
					ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				_, err1 := handshake(t, g.addr, conf)
				cs, err2 := handshake(t, g.addr, conf)
				if time.Now().After(notAfter) {
					return false
				}
				if err1 != nil || err2 != nil || !cs.DidResume {
					t.Fatalf("before expiry: resumed %v, errors %v, %v; want a resumed session", cs.DidResume, err1, err2)
				}
				// Wait for the expiry itself: this is the event under test.
				time.Sleep(time.Until(notAfter) + 1100*time.Millisecond)
				if cs, err := handshake(t, g.addr, conf); err == nil {
					t.Fatalf("a handshake after the certificate's NotAfter succeeded (resumed %v)", cs.DidResume)
				}
				return true
			})
		})
	}
}

// TestResumptionAfterClientCABundleShrinks: once a CA is dropped from
// tls.client_ca_file, its clients cannot resume their sessions either; the
// clients of the CA that stays still resume.
func TestResumptionAfterClientCABundleShrinks(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	staying, err := pki.NewCA("staying client CA")
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, g.caFile, append(g.ca.CertPEM(), staying.CertPEM()...))
	if err := g.srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	stayingLeaf, err := staying.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	type client struct{ dropped, staying *tls.Config }
	clients := map[string]client{}
	for name, version := range tlsVersions {
		c := client{
			dropped: &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(t, "alice")},
				MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4)},
			staying: &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{stayingLeaf.TLSCertificate()},
				MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4)},
		}
		for _, conf := range []*tls.Config{c.dropped, c.staying} {
			_, err1 := handshake(t, g.addr, conf)
			cs, err2 := handshake(t, g.addr, conf)
			if err1 != nil || err2 != nil || !cs.DidResume {
				t.Fatalf("%s before the change: resumed %v, errors %v, %v; want a resumed session", name, cs.DidResume, err1, err2)
			}
		}
		clients[name] = c
	}

	writeAtomic(t, g.caFile, staying.CertPEM())
	if err := g.srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	for name, c := range clients {
		if cs, err := handshake(t, g.addr, c.dropped); err == nil {
			t.Errorf("%s: a client of the dropped CA got in after the bundle shrank (resumed %v)", name, cs.DidResume)
		}
		if cs, err := handshake(t, g.addr, c.staying); err != nil || !cs.DidResume {
			t.Errorf("%s: a client of the staying CA: resumed %v, error %v; want a resumed session", name, cs.DidResume, err)
		}
	}
}

// startGatewayWithCA is startGatewayWith whose client CA is ca (the server
// certificate still comes from the gateway's own CA).
func startGatewayWithCA(t *testing.T, ca *pki.CA, mutate func(*configv1.Config)) *gateway {
	t.Helper()
	return startGatewayWithCAOpts(t, ca, server.Options{DrainTimeout: time.Second}, mutate)
}

// startGatewayWithCAOpts is startGatewayWithCA with server options.
func startGatewayWithCAOpts(t *testing.T, ca *pki.CA, opts server.Options, mutate func(*configv1.Config)) *gateway {
	t.Helper()
	var caFile string
	g := startGatewayWith(t, nil, opts, func(c *configv1.Config) {
		caFile = filepath.Join(filepath.Dir(c.Tls.CertFile), "client-ca.pem")
		if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		c.Tls.ClientCaFile = caFile
		mutate(c)
	})
	g.caFile = caFile
	return g
}

// gatewayConfigWithCA returns the config startGatewayWithCA would run, for
// tests of New's errors.
func gatewayConfigWithCA(t *testing.T, ca *pki.CA, mutate func(*configv1.Config)) *configv1.Config {
	t.Helper()
	dir := t.TempDir()
	srvCA, err := pki.NewCA("server CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := srvCA.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := leaf.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "client-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &configv1.Config{Listen: "127.0.0.1:0", Tls: &configv1.ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCaFile: caFile}}
	config.ApplyDefaults(cfg)
	mutate(cfg)
	return cfg
}
