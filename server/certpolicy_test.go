package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/pki"
)

// issueWith signs a client certificate for key with the test CA; ca makes it
// a CA certificate (basic constraints CA:TRUE) that also has clientAuth
// usage.
func issueWith(t *testing.T, ca *pki.CA, cn string, key crypto.Signer, isCA bool) tls.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestWeakClientCertificatesRefused: a client certificate that the client
// CA signed but that is weaker than the TLS posture (a CA certificate used
// as a leaf, an RSA key under 2048 bits, an ECDSA key on P-521) is refused
// in the handshake and counted as weak_certificate; RSA 2048, P-384 and
// Ed25519 keys get in.
func TestWeakClientCertificatesRefused(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	rsaKey := func(bits int) crypto.Signer {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecKey := func(c elliptic.Curve) crypto.Signer {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert tls.Certificate
		weak bool
	}{
		{"CA certificate as a leaf", issueWith(t, g.ca, "alice", ecKey(elliptic.P256()), true), true},
		{"RSA 1024", issueWith(t, g.ca, "alice", rsaKey(1024), false), true},
		{"ECDSA P-521", issueWith(t, g.ca, "alice", ecKey(elliptic.P521()), false), true},
		{"RSA 2048", issueWith(t, g.ca, "alice", rsaKey(2048), false), false},
		{"ECDSA P-384", issueWith(t, g.ca, "alice", ecKey(elliptic.P384()), false), false},
		{"Ed25519", issueWith(t, g.ca, "alice", edKey, false), false},
	}
	weak := 0
	for _, tt := range tests {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{tt.cert}, MinVersion: version, MaxVersion: version}
			_, err := handshake(t, g.addr, conf)
			if tt.weak && err == nil {
				t.Errorf("%s over TLS %x: the handshake succeeded, want it refused", tt.name, version)
			}
			if !tt.weak && err != nil {
				t.Errorf("%s over TLS %x: %v, want a handshake", tt.name, version, err)
			}
			if tt.weak {
				weak++
				g.waitMetric(t, float64(weak), "msg_tls_handshake_failures_total", "reason", "weak_certificate")
			}
		}
	}
}
