package tlsmaterial

import (
	"crypto/dsa" // deprecated, and what the check must refuse
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
)

// TestCheckClientChain pins what a verified client chain must be, below its
// trust anchor: keys and signatures as strong as the TLS posture, and a leaf
// that is not a CA.
func TestCheckClientChain(t *testing.T) {
	t.Parallel()
	rsaKey := func(bits int) *rsa.PublicKey {
		return &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), E: 65537}
	}
	ec := func(c elliptic.Curve) *ecdsa.PublicKey { return &ecdsa.PublicKey{Curve: c} }
	cert := func(key any, sig x509.SignatureAlgorithm) *x509.Certificate {
		return &x509.Certificate{PublicKey: key, SignatureAlgorithm: sig}
	}
	root := cert(ec(elliptic.P256()), x509.ECDSAWithSHA256)
	weakRoot := cert(rsaKey(1024), x509.SHA1WithRSA) // the operator's anchor: not checked
	ca := cert(ec(elliptic.P256()), x509.ECDSAWithSHA256)
	ca.IsCA = true
	tests := []struct {
		name  string
		chain []*x509.Certificate
		ok    bool
	}{
		{"P-256 leaf", []*x509.Certificate{cert(ec(elliptic.P256()), x509.ECDSAWithSHA256), root}, true},
		{"P-384 leaf, SHA-384", []*x509.Certificate{cert(ec(elliptic.P384()), x509.ECDSAWithSHA384), root}, true},
		{"RSA 2048 leaf, PSS", []*x509.Certificate{cert(rsaKey(2048), x509.SHA256WithRSAPSS), root}, true},
		{"RSA 4096 leaf", []*x509.Certificate{cert(rsaKey(4096), x509.SHA512WithRSA), root}, true},
		{"Ed25519 leaf", []*x509.Certificate{cert(ed25519.PublicKey(make([]byte, 32)), x509.PureEd25519), root}, true},
		{"weak anchor: the operator's choice", []*x509.Certificate{cert(ec(elliptic.P256()), x509.SHA256WithRSA), weakRoot}, true},
		{"anchor only", []*x509.Certificate{cert(ec(elliptic.P256()), x509.ECDSAWithSHA256)}, true},
		{"P-256 intermediate", []*x509.Certificate{cert(ec(elliptic.P256()), x509.ECDSAWithSHA256), ca, weakRoot}, true},
		{"CA as the leaf", []*x509.Certificate{ca, root}, false},
		{"RSA 1024 leaf", []*x509.Certificate{cert(rsaKey(1024), x509.SHA256WithRSA), root}, false},
		{"RSA 2047 leaf", []*x509.Certificate{cert(rsaKey(2047), x509.SHA256WithRSA), root}, false},
		{"P-224 leaf", []*x509.Certificate{cert(ec(elliptic.P224()), x509.ECDSAWithSHA256), root}, false},
		{"P-521 leaf", []*x509.Certificate{cert(ec(elliptic.P521()), x509.ECDSAWithSHA512), root}, false},
		{"DSA leaf", []*x509.Certificate{cert(&dsa.PublicKey{}, x509.DSAWithSHA256), root}, false},
		{"SHA-1 signature", []*x509.Certificate{cert(ec(elliptic.P256()), x509.ECDSAWithSHA1), root}, false},
		{"MD5 signature", []*x509.Certificate{cert(rsaKey(2048), x509.MD5WithRSA), root}, false},
		{"RSA 1024 intermediate", []*x509.Certificate{cert(ec(elliptic.P256()), x509.ECDSAWithSHA256), cert(rsaKey(1024), x509.SHA256WithRSA), root}, false},
		{"SHA-1 signed intermediate", []*x509.Certificate{cert(ec(elliptic.P256()), x509.ECDSAWithSHA256), cert(rsaKey(2048), x509.SHA1WithRSA), root}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		err := checkClientChain(tt.chain)
		if tt.ok != (err == nil) {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.As(err, new(*WeakCertificateError)) {
			t.Errorf("%s: %T, want a *WeakCertificateError", tt.name, err)
		}
	}
}
