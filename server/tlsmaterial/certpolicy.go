package tlsmaterial

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// minRSABits is the smallest RSA modulus accepted in a client chain.
const minRSABits = 2048

// WeakCertificateError is a client chain that crypto/tls verified but that
// is weaker than the gateway's TLS posture promises. The data plane's
// handshake fails with it; Reason goes to the log only.
type WeakCertificateError struct{ Reason string }

func (e *WeakCertificateError) Error() string {
	return "msg-gateway: weak client certificate: " + e.Reason
}

// strongSignatures are the certificate signature algorithms accepted below
// the trust anchor: SHA-2 with RSA (PKCS #1 v1.5 or PSS) or ECDSA, and
// Ed25519. crypto/x509 already refuses MD5 and SHA-1 signatures; the list
// keeps that promise whatever a GODEBUG setting says.
var strongSignatures = map[x509.SignatureAlgorithm]bool{
	x509.SHA256WithRSA: true, x509.SHA384WithRSA: true, x509.SHA512WithRSA: true,
	x509.SHA256WithRSAPSS: true, x509.SHA384WithRSAPSS: true, x509.SHA512WithRSAPSS: true,
	x509.ECDSAWithSHA256: true, x509.ECDSAWithSHA384: true, x509.ECDSAWithSHA512: true,
	x509.PureEd25519: true,
}

// checkClientChain refuses a verified client chain (leaf first, trust
// anchor last) that is weaker than the TLS posture: a leaf that is a CA
// certificate, and below the anchor any RSA key under 2048 bits, an ECDSA
// key on a curve other than P-256 or P-384, any other kind of key than RSA,
// ECDSA and Ed25519 (DSA), or a signature other than SHA-2 with RSA or
// ECDSA, or Ed25519. The anchor itself is the operator's choice
// (tls.client_ca_file) and is not checked here.
func checkClientChain(chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return &WeakCertificateError{Reason: "no certificate"}
	}
	if chain[0].IsCA {
		return &WeakCertificateError{Reason: "a CA certificate (basic constraints CA:TRUE) used as a client certificate"}
	}
	below := chain
	if len(chain) > 1 {
		below = chain[:len(chain)-1]
	}
	for i, c := range below {
		if err := checkKey(c); err != nil {
			return &WeakCertificateError{Reason: fmt.Sprintf("certificate %d of the chain: %s", i, err)}
		}
		if !strongSignatures[c.SignatureAlgorithm] {
			return &WeakCertificateError{Reason: fmt.Sprintf("certificate %d of the chain: signature algorithm %v", i, c.SignatureAlgorithm)}
		}
	}
	return nil
}

func checkKey(c *x509.Certificate) error {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits {
			return fmt.Errorf("RSA key of %d bits (at least %d)", n, minRSABits)
		}
	case *ecdsa.PublicKey:
		if name := k.Curve.Params().Name; name != "P-256" && name != "P-384" {
			return fmt.Errorf("ECDSA key on %s (P-256 or P-384 only)", name)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("%v key (RSA, ECDSA or Ed25519 only)", c.PublicKeyAlgorithm)
	}
	return nil
}
