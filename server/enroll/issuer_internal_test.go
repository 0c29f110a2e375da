package enroll

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/pki"
)

// TestIssuedCertificatesAreBoundedLeaves: whatever lifetime a token asks
// for, an issued certificate is a client-authentication leaf that can sign
// no certificate, and it never outlives the issuing CA (SECURITY.md's
// enrollment threat model).
func TestIssuedCertificatesAreBoundedLeaves(t *testing.T) {
	ca, err := pki.NewCA("enrollment CA")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := ca.WriteFiles(t.TempDir(), "ca")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := LoadIssuer(certFile, keyFile, []*x509.Certificate{ca.Cert}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, lifetime := range []time.Duration{time.Minute, 24 * time.Hour, 200 * 365 * 24 * time.Hour} {
		leaf, err := iss.issue(&key.PublicKey, &adminv1.DeviceIdentity{CommonName: "carol"}, lifetime, now)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.IsCA || !leaf.BasicConstraintsValid {
			t.Errorf("lifetime %v: IsCA=%v BasicConstraintsValid=%v, want a leaf (CA:FALSE)", lifetime, leaf.IsCA, leaf.BasicConstraintsValid)
		}
		if leaf.KeyUsage&x509.KeyUsageCertSign != 0 || leaf.KeyUsage&x509.KeyUsageCRLSign != 0 {
			t.Errorf("lifetime %v: key usage %b may sign certificates or CRLs", lifetime, leaf.KeyUsage)
		}
		if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
			t.Errorf("lifetime %v: extended key usage %v, want client authentication only", lifetime, leaf.ExtKeyUsage)
		}
		if leaf.NotAfter.After(ca.Cert.NotAfter) {
			t.Errorf("lifetime %v: the leaf expires %v, after its CA (%v)", lifetime, leaf.NotAfter, ca.Cert.NotAfter)
		}
		if want := now.Add(lifetime); lifetime <= 24*time.Hour && !leaf.NotAfter.Equal(want.Truncate(time.Second)) && leaf.NotAfter.Sub(want).Abs() > time.Second {
			t.Errorf("lifetime %v: the leaf expires %v, want %v", lifetime, leaf.NotAfter, want)
		}
	}
}
