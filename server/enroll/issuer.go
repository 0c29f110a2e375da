package enroll

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"time"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits of what the issuer accepts.
const (
	// maxCSRBytes bounds a certificate signing request (an RSA-8192 one is
	// about 2 KB).
	maxCSRBytes = 16 << 10
	minRSABits  = 2048
	// maxRSABits bounds the cost of checking a request's signature.
	maxRSABits = 8192
	// maxBackdate is the most a certificate's notBefore lies before its
	// issuance, for instances of a fleet whose clocks differ a little.
	maxBackdate = time.Minute
	// maxFileBytes bounds a CA file.
	maxFileBytes = 1 << 20
)

// Issuer signs device certificates with the enrollment CA. It is
// immutable.
type Issuer struct {
	// chain is the issuing CA first, then its intermediates as
	// ca_cert_file lists them.
	chain  []*x509.Certificate
	signer crypto.Signer
	// notAfter is the earliest expiry in chain: no certificate outlives
	// it.
	notAfter time.Time
}

// LoadIssuer reads the enrollment CA (enroll.ca_cert_file, enroll.ca_key_file)
// and checks that the key is the certificate's, that it is a CA that may
// sign certificates, and that a certificate it issues verifies against
// clientCAs (tls.client_ca_file) for client authentication and passes
// checkChain (the data plane's weak-certificate policy): otherwise no
// device it enrolls could connect. Errors are [*fieldpath.Error] naming the
// key.
func LoadIssuer(certFile, keyFile string, clientCAs []*x509.Certificate, checkChain func([]*x509.Certificate) error) (*Issuer, error) {
	certPEM, err := readFile(certFile)
	if err != nil {
		return nil, &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: "cannot read: " + err.Error()}
	}
	chain, err := parseCertificates(certPEM)
	if err != nil {
		return nil, &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: err.Error()}
	}
	keyPEM, err := readFile(keyFile)
	if err != nil {
		return nil, &fieldpath.Error{Path: "enroll.ca_key_file", Msg: "cannot read: " + err.Error()}
	}
	signer, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, &fieldpath.Error{Path: "enroll.ca_key_file", Msg: err.Error()}
	}
	ca := chain[0]
	if !publicKeyEqual(ca.PublicKey, signer.Public()) {
		return nil, &fieldpath.Error{Path: "enroll.ca_key_file", Msg: "is not the key of the first certificate in enroll.ca_cert_file"}
	}
	if !ca.BasicConstraintsValid || !ca.IsCA || (ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0) {
		return nil, &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: "the first certificate is not a CA certificate that may sign certificates (basic constraints CA:TRUE, key usage keyCertSign)"}
	}
	iss := &Issuer{chain: chain, signer: signer, notAfter: ca.NotAfter}
	for _, c := range chain[1:] {
		if c.NotAfter.Before(iss.notAfter) {
			iss.notAfter = c.NotAfter
		}
	}
	if time.Now().After(iss.notAfter) {
		return nil, &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: "has expired (" + iss.notAfter.UTC().Format(time.RFC3339) + ")"}
	}
	// A probe certificate goes the way every device's will: issued, then
	// verified as the data plane verifies client certificates.
	probeKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := iss.issue(&probeKey.PublicKey, &adminv1.DeviceIdentity{CommonName: "msg-gateway enrollment probe"}, time.Minute, time.Now())
	if err != nil {
		return nil, &fieldpath.Error{Path: "enroll.ca_key_file", Msg: "cannot sign: " + err.Error()}
	}
	verified, err := iss.verify(leaf, clientCAs)
	if err != nil {
		return nil, &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: "does not chain to tls.client_ca_file, so the gateway would refuse every device it enrolls: " + err.Error()}
	}
	if checkChain != nil {
		if err := checkChain(verified); err != nil {
			return nil, &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: "the certificates it issues would be refused: " + err.Error()}
		}
	}
	return iss, nil
}

// Chain returns the CA certificates a device presents after its own:
// ca_cert_file's certificates.
func (iss *Issuer) Chain() []*x509.Certificate { return iss.chain }

// verify checks leaf as the data plane checks client certificates: against
// clientCAs, with the issuer's chain as intermediates, for client
// authentication. It returns the verified chain, leaf first.
func (iss *Issuer) verify(leaf *x509.Certificate, clientCAs []*x509.Certificate) ([]*x509.Certificate, error) {
	roots := x509.NewCertPool()
	for _, c := range clientCAs {
		roots.AddCert(c)
	}
	inter := x509.NewCertPool()
	for _, c := range iss.chain {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	return chains[0], nil
}

// issue signs a client certificate for pub with the identity id, valid
// from now (less a little for clock differences) for lifetime, and never
// beyond the CA's own expiry.
func (iss *Issuer) issue(pub crypto.PublicKey, id *adminv1.DeviceIdentity, lifetime time.Duration, now time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	serial.Add(serial, big.NewInt(1)) // never 0
	// Backdating by a tenth of the lifetime (at most a minute) keeps a
	// renewal at two thirds of notBefore..notAfter before the expiry.
	backdate := min(lifetime/10, maxBackdate)
	notAfter := now.Add(lifetime)
	if notAfter.After(iss.notAfter) {
		notAfter = iss.notAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         id.GetCommonName(),
			Organization:       id.GetOrganizations(),
			OrganizationalUnit: id.GetOrganizationalUnits(),
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	if s := id.GetSpiffeId(); s != "" {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("spiffe_id: %w", err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.chain[0], pub, iss.signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// checkIdentity reports whether certificates with id would give the data
// plane a principal, by issuing one for a throwaway key and reading it as
// the data plane does. Errors quote the identity and are meant for admins.
func (iss *Issuer) checkIdentity(id *adminv1.DeviceIdentity) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf, err := iss.issue(&key.PublicKey, id, time.Minute, time.Now())
	if err != nil {
		return err
	}
	p, err := authz.PrincipalFromCertificate(leaf)
	if err != nil {
		return err
	}
	if p.SPIFFEID != id.GetSpiffeId() {
		return fmt.Errorf("spiffe_id %q does not read back as itself", id.GetSpiffeId())
	}
	return nil
}

// csrError is a certificate signing request that is refused; weak says
// whether it is for its key (the metric's reason).
type csrError struct {
	msg  string
	weak bool
}

func (e *csrError) Error() string { return "csr: " + e.msg }

// strongCSRSignatures are the signature algorithms accepted on a request:
// SHA-2 with RSA or ECDSA, and Ed25519. crypto/x509 still verifies SHA-1
// signatures on requests.
var strongCSRSignatures = map[x509.SignatureAlgorithm]bool{
	x509.SHA256WithRSA: true, x509.SHA384WithRSA: true, x509.SHA512WithRSA: true,
	x509.SHA256WithRSAPSS: true, x509.SHA384WithRSAPSS: true, x509.SHA512WithRSAPSS: true,
	x509.ECDSAWithSHA256: true, x509.ECDSAWithSHA384: true, x509.ECDSAWithSHA512: true,
	x509.PureEd25519: true,
}

// checkCSR parses a DER certificate signing request, verifies its signature
// (the requester holds the private key) and returns its public key if it is
// one the gateway issues for: ECDSA P-256, Ed25519, or RSA of 2048 to 8192
// bits. Everything else in the request (subject, SANs, extensions) is
// ignored: the certificate's identity comes from the token.
func checkCSR(der []byte) (crypto.PublicKey, error) {
	if len(der) == 0 {
		return nil, &csrError{msg: "required (PKCS #10, DER)"}
	}
	if len(der) > maxCSRBytes {
		return nil, &csrError{msg: fmt.Sprintf("larger than %d bytes", maxCSRBytes)}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, &csrError{msg: "not a PKCS #10 certificate signing request in DER"}
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, &csrError{msg: "ECDSA keys must be on P-256", weak: true}
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return nil, &csrError{msg: fmt.Sprintf("RSA keys must have %d to %d bits, not %d", minRSABits, maxRSABits, n), weak: true}
		}
	default:
		return nil, &csrError{msg: "the key must be ECDSA P-256, Ed25519 or RSA of at least 2048 bits", weak: true}
	}
	if !strongCSRSignatures[csr.SignatureAlgorithm] {
		return nil, &csrError{msg: fmt.Sprintf("signature algorithm %v is not accepted (SHA-2 or Ed25519)", csr.SignatureAlgorithm), weak: true}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &csrError{msg: "the signature does not verify (proof of possession of the key)"}
	}
	return csr.PublicKey, nil
}

// certificateRef describes an issued certificate for the device record.
func certificateRef(c *x509.Certificate) *adminv1.DeviceCertificate {
	sum := sha256.Sum256(c.Raw)
	return &adminv1.DeviceCertificate{
		SerialHex:         c.SerialNumber.Text(16),
		FingerprintSha256: hex.EncodeToString(sum[:]),
		NotAfter:          timestamppb.New(c.NotAfter),
	}
}

func readFile(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no file named")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileBytes)
	}
	return buf.Bytes(), nil
}

// parseCertificates returns every CERTIFICATE block of a PEM file; one that
// does not parse is an error.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", n, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificates found")
	}
	return out, nil
}

// parsePrivateKey reads the first private key of a PEM file: PKCS #8, SEC 1
// (EC) or PKCS #1 (RSA).
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key found (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", block.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: a %T cannot sign", block.Type, key)
		}
		return s, nil
	}
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
