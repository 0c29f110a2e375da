// Package pki mints X.509 certificates for tests and for the dev mode's
// throwaway PKI. It is not a production CA: keys are ECDSA P-256 and live in
// memory until written out.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority that signs leaf certificates.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Leaf is a signed certificate with its key.
type Leaf struct {
	Cert  *x509.Certificate
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate // issuers, leaf first excluded
}

// Options describe a leaf certificate. Zero values give a one-day client
// certificate valid from an hour ago.
type Options struct {
	CommonName         string
	Organization       []string
	OrganizationalUnit []string
	DNSNames           []string
	IPAddresses        []net.IP
	URIs               []string // e.g. "spiffe://example.org/app"
	Emails             []string
	NotBefore          time.Time
	NotAfter           time.Time
	Server             bool // server auth usage instead of client auth
}

// NewCA creates a self-signed root CA with the given common name.
func NewCA(commonName string) (*CA, error) {
	return NewCAWithSubject(pkix.Name{CommonName: commonName})
}

// NewCAWithSubject creates a self-signed root CA with the given subject.
func NewCAWithSubject(subject pkix.Name) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// IssueCA signs an intermediate CA certificate with the given common name,
// valid as long as ca; the intermediate may sign leaves only.
func (ca *CA) IssueCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              ca.Cert.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// KeyPEM returns the CA's private key in PKCS#8 PEM form.
func (ca *CA) KeyPEM() []byte { return keyPEM(ca.Key) }

// WriteFiles writes the CA's certificate and key as dir/name.pem and
// dir/name-key.pem (mode 0600) and returns both paths.
func (ca *CA) WriteFiles(dir, name string) (certFile, keyFile string, err error) {
	return writePair(dir, name, ca.CertPEM(), ca.KeyPEM())
}

// Issue signs a new leaf certificate.
func (ca *CA) Issue(o Options) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().Add(24 * time.Hour)
	}
	usage := x509.ExtKeyUsageClientAuth
	if o.Server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         o.CommonName,
			Organization:       o.Organization,
			OrganizationalUnit: o.OrganizationalUnit,
		},
		NotBefore:      nb,
		NotAfter:       na,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{usage},
		DNSNames:       o.DNSNames,
		IPAddresses:    o.IPAddresses,
		EmailAddresses: o.Emails,
	}
	for _, s := range o.URIs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("uri %q: %w", s, err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// Localhost returns options for a server certificate valid for localhost,
// 127.0.0.1 and ::1.
func Localhost() Options {
	return Options{
		CommonName:  "localhost",
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		Server:      true,
	}
}

// Pool returns a certificate pool holding only the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// CertPEM returns the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte { return CertPEM(ca.Cert) }

// TLSCertificate returns the leaf as a tls.Certificate.
func (l *Leaf) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}
}

// CertPEM returns the leaf certificate in PEM form.
func (l *Leaf) CertPEM() []byte { return CertPEM(l.Cert) }

// KeyPEM returns the leaf's private key in PKCS#8 PEM form.
func (l *Leaf) KeyPEM() []byte { return keyPEM(l.Key) }

// WriteFiles writes the leaf's certificate and key as dir/name.pem and
// dir/name-key.pem (mode 0600) and returns both paths.
func (l *Leaf) WriteFiles(dir, name string) (certFile, keyFile string, err error) {
	return writePair(dir, name, l.CertPEM(), l.KeyPEM())
}

// keyPEM returns key in PKCS#8 PEM form.
func keyPEM(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // an ECDSA key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writePair writes certPEM as dir/name.pem and keyPEM as dir/name-key.pem
// (mode 0600) and returns both paths.
func writePair(dir, name string, certPEM, keyPEM []byte) (certFile, keyFile string, err error) {
	certFile = filepath.Join(dir, name+".pem")
	keyFile = filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// CertPEM encodes a certificate as PEM.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	if s.Sign() == 0 {
		return nil, errors.New("zero serial")
	}
	return s, nil
}
