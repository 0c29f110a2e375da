package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/msg-gateway/msg/internal/pki"
)

// benchHost is the internal host name the gateway's host table maps to the
// backend.
const benchHost = "bench.internal"

// pkiFiles is the throwaway PKI of one run: one CA signs the proxies'
// server certificate and the load generator's client certificate (ECDSA
// P-256, as internal/pki mints them).
type pkiFiles struct {
	ca, serverCert, serverKey string
	clientCert, clientKey     string
	client                    tls.Certificate
	roots                     *x509.CertPool
}

func writePKI(dir string) (*pkiFiles, error) {
	ca, err := pki.NewCA("msgbench CA")
	if err != nil {
		return nil, err
	}
	f := &pkiFiles{ca: filepath.Join(dir, "ca.pem"), roots: ca.Pool()}
	if err := os.WriteFile(f.ca, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	srv, err := ca.Issue(pki.Localhost())
	if err != nil {
		return nil, err
	}
	if f.serverCert, f.serverKey, err = srv.WriteFiles(dir, "server"); err != nil {
		return nil, err
	}
	cl, err := ca.Issue(pki.Options{CommonName: "bench-client", Organization: []string{"msgbench"}})
	if err != nil {
		return nil, err
	}
	f.client = cl.TLSCertificate()
	if f.clientCert, f.clientKey, err = cl.WriteFiles(dir, "client"); err != nil {
		return nil, err
	}
	return f, nil
}

// metricsToken is the admin viewer token the harness reads the gateway's
// /metrics with. It only ever travels on loopback.
const metricsToken = "msgbench-metrics-viewer"

// gatewayConfig is the gateway's config for the run: the production
// defaults (JSON log at info, one line per call; the audit trail in the
// embedded store) except for the per-principal rate and in-flight limits,
// which a load generator with one identity would hit, and max_connections,
// which the idle-connection test exceeds.
const gatewayConfig = `# Written by msgbench.
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
admin:
  tokens: [{name: msgbench, sha256: %q, role: ADMIN_ROLE_VIEWER}]   # /metrics needs a token
data_dir: %q
tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
log: {level: info, format: json}
limits:
  max_connections: 15000
  rate_per_second: 1000000
  burst: 1000000
  max_in_flight_per_identity: 10000
hosts:
  - name: %s
    upstream: http://%s
    timeout: 60s
    allowed_cidrs: [127.0.0.0/8]
rules:
  - id: bench
    effect: allow
    principals: [{id: bench-client}]
    hosts: [%s]
`

func writeGatewayConfig(dir, name, backend string, f *pkiFiles) (string, error) {
	data := filepath.Join(dir, name+"-data")
	if err := os.RemoveAll(data); err != nil {
		return "", err
	}
	file := filepath.Join(dir, name+".yaml")
	sum := sha256.Sum256([]byte(metricsToken))
	text := fmt.Sprintf(gatewayConfig, hex.EncodeToString(sum[:]), data, f.serverCert, f.serverKey, f.ca, benchHost, backend, benchHost)
	return file, os.WriteFile(file, []byte(text), 0o600)
}

// loadPool reads a PEM bundle of CA certificates.
func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no certificates", file)
	}
	return pool, nil
}
