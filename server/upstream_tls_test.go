package server_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
	"google.golang.org/grpc/codes"
)

// tlsBackend is an HTTPS upstream with a certificate from its own CA.
type tlsBackend struct {
	srv   *httptest.Server
	mu    sync.Mutex
	seen  map[string]string // path -> the client certificate's CN ("" without one)
	calls int
}

func startTLSBackend(t *testing.T, ca *pki.CA, clientAuth tls.ClientAuthType, clientCAs *pki.CA) *tlsBackend {
	t.Helper()
	b := &tlsBackend{seen: map[string]string{}}
	opts := pki.Localhost()
	opts.DNSNames = append(opts.DNSNames, "backend.corp")
	leaf, err := ca.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		b.mu.Lock()
		b.seen[r.URL.Path] = cn
		b.calls++
		b.mu.Unlock()
		fmt.Fprintf(w, "hello %s", cn)
	}))
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	b.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, ClientAuth: clientAuth, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		b.srv.TLS.ClientCAs = clientCAs.Pool()
	}
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *tlsBackend) saw() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]string{}
	for k, v := range b.seen {
		out[k] = v
	}
	return out
}

// TestUpstreamTLS: an HTTPS upstream is verified against hosts[].tls.ca_file
// (or the system roots without it) under the upstream's name or
// tls.server_name, and the gateway presents hosts[].tls.cert_file to
// backends that ask for a client certificate. A wrong CA, a wrong server
// name or an unverifiable certificate never gets a request: the app sees
// Unavailable with the fixed message.
func TestUpstreamTLS(t *testing.T) {
	t.Parallel()
	backendCA, err := pki.NewCA("backend CA")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	gatewayClientCA, err := pki.NewCA("gateway-to-backend CA")
	if err != nil {
		t.Fatal(err)
	}
	// mtls wants the gateway's client certificate; open does not, so that
	// only the server verification can stop a request to it.
	mtls := startTLSBackend(t, backendCA, tls.RequireAndVerifyClientCert, gatewayClientCA)
	open := startTLSBackend(t, backendCA, tls.NoClientCert, nil)

	dir := t.TempDir()
	writePEM := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	backendCAFile := writePEM("backend-ca.pem", backendCA.CertPEM())
	otherCAFile := writePEM("other-ca.pem", otherCA.CertPEM())
	clientLeaf, err := gatewayClientCA.Issue(pki.Options{CommonName: "msg-gateway"})
	if err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey, err := clientLeaf.WriteFiles(dir, "gateway-client")
	if err != nil {
		t.Fatal(err)
	}
	upstream := func(b *tlsBackend) string { return b.srv.URL } // https://127.0.0.1:port
	hosts := []*adminv1.Host{
		{Name: "mtls.internal", Upstream: upstream(mtls),
			Tls: &adminv1.BackendTLS{CaFile: backendCAFile, CertFile: clientCert, KeyFile: clientKey}},
		{Name: "named.internal", Upstream: upstream(mtls),
			Tls: &adminv1.BackendTLS{CaFile: backendCAFile, CertFile: clientCert, KeyFile: clientKey, ServerName: "backend.corp"}},
		{Name: "nocert.internal", Upstream: upstream(mtls),
			Tls: &adminv1.BackendTLS{CaFile: backendCAFile}},
		{Name: "open.internal", Upstream: upstream(open),
			Tls: &adminv1.BackendTLS{CaFile: backendCAFile}},
		{Name: "wrongca.internal", Upstream: upstream(open),
			Tls: &adminv1.BackendTLS{CaFile: otherCAFile}},
		{Name: "wrongname.internal", Upstream: upstream(open),
			Tls: &adminv1.BackendTLS{CaFile: backendCAFile, ServerName: "other.corp"}},
		{Name: "systemroots.internal", Upstream: upstream(open)},
	}
	for _, h := range hosts {
		h.AllowedCidrs = []string{"127.0.0.0/8"}
	}
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Hosts = append(c.Hosts, hosts...)
	})
	bob := g.as(t, "bob") // bob's rule allows every host in the table

	tests := []struct {
		host   string
		wantCN string // "" with want != OK
		want   codes.Code
	}{
		{"mtls.internal", "msg-gateway", codes.OK},
		{"named.internal", "msg-gateway", codes.OK},
		{"open.internal", "", codes.OK},
		{"nocert.internal", "", codes.Unavailable},
		{"wrongca.internal", "", codes.Unavailable},
		{"wrongname.internal", "", codes.Unavailable},
		{"systemroots.internal", "", codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			path := "/" + strings.TrimSuffix(tt.host, ".internal")
			resp, err := forward(t, bob, get(tt.host, path))
			st := wantCode(t, err, tt.want)
			if tt.want != codes.OK {
				if st.Message() != "upstream unavailable" {
					t.Errorf("message = %q, want the fixed one", st.Message())
				}
				return
			}
			if got, want := string(resp.GetBody()), "hello "+tt.wantCN; got != want {
				t.Errorf("body = %q, want %q (the backend's view of the gateway's client certificate)", got, want)
			}
		})
	}
	// Only the verified exchanges reached a backend's handler.
	if got := mtls.saw(); len(got) != 2 || got["/mtls"] != "msg-gateway" || got["/named"] != "msg-gateway" {
		t.Errorf("the client-certificate backend saw %v, want /mtls and /named with the gateway's certificate", got)
	}
	if got := open.saw(); len(got) != 1 || got["/open"] != "" {
		t.Errorf("the open backend saw %v, want only /open", got)
	}
}

// TestUpstreamTLSConfigErrors: a host's TLS files that do not load fail the
// config, naming the key.
func TestUpstreamTLSConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		host    *adminv1.Host
		wantKey string
	}{
		{"missing CA file", &adminv1.Host{Name: "a.internal", Upstream: "https://a.corp", Tls: &adminv1.BackendTLS{CaFile: filepath.Join(dir, "nope.pem")}}, "hosts[2].tls.ca_file"},
		{"CA file without certificates", &adminv1.Host{Name: "a.internal", Upstream: "https://a.corp", Tls: &adminv1.BackendTLS{CaFile: garbage}}, "hosts[2].tls.ca_file"},
		{"certificate without key", &adminv1.Host{Name: "a.internal", Upstream: "https://a.corp", Tls: &adminv1.BackendTLS{CertFile: garbage}}, "hosts[2].tls.cert_file"},
		{"unloadable key pair", &adminv1.Host{Name: "a.internal", Upstream: "https://a.corp", Tls: &adminv1.BackendTLS{CertFile: garbage, KeyFile: garbage}}, "hosts[2].tls.cert_file"},
		{"TLS settings for plain HTTP", &adminv1.Host{Name: "a.internal", Upstream: "http://a.corp", Tls: &adminv1.BackendTLS{ServerName: "a.corp"}}, "hosts[2].tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := gatewayConfigWithCA(t, mustCA(t), func(c *configv1.Config) {
				c.DataDir = t.TempDir()
				c.Hosts = []*adminv1.Host{
					{Name: "x.internal", Upstream: "http://x.corp"},
					{Name: "y.internal", Upstream: "http://y.corp"},
					tt.host,
				}
			})
			_, err := server.New(cfg, server.Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+":") {
				t.Fatalf("New = %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}
}

func mustCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
