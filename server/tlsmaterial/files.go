package tlsmaterial

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/msg-gateway/msg/internal/fieldpath"
)

// maxFileBytes bounds what is read from one certificate, key, CA or CRL
// file.
const maxFileBytes = 64 << 20

// files names the files of one TLS config and the config section that names
// them: every error names the key at fault, e.g. "admin.tls.cert_file".
type files struct {
	at        fieldpath.Path // the section: "tls", "admin.tls", "store.etcd.tls"
	cert, key string         // cert_file and key_file
	ca        string         // the CA bundle
	caKey     string         // its key in the section: "client_ca_file" or "ca_file"
	crls      []string       // crl_files, each signed by a CA of the bundle
	// A section whose key pair or CA bundle is required reads it even when
	// the config leaves its name empty (and fails naming the key); other
	// sections do without.
	keyPairRequired, caRequired bool
}

// material is one consistent load of a section's files. It is immutable.
type material struct {
	cert *tls.Certificate // nil: no key pair
	cas  []*x509.Certificate
	pool *x509.CertPool // of cas; nil: no CA bundle
	crls *crlSet
}

// load reads and checks the files. Errors are *fieldpath.Error naming the
// key at fault; log receives what is valid but worth a warning.
func (f files) load(now time.Time, log *slog.Logger) (*material, error) {
	m := &material{}
	if f.cert != "" || f.key != "" || f.keyPairRequired {
		cert, err := f.keyPair()
		if err != nil {
			return nil, err
		}
		if cert.Leaf != nil && now.After(cert.Leaf.NotAfter) {
			log.Warn("tls: the gateway's certificate has expired", "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		m.cert = &cert
	}
	if f.ca != "" || f.caRequired {
		cas, err := f.caBundle()
		if err != nil {
			return nil, err
		}
		m.cas, m.pool = cas, x509.NewCertPool()
		for _, c := range cas {
			m.pool.AddCert(c)
		}
	}
	crls, err := loadCRLs(f.at.Field("crl_files"), f.crls, m.cas, f.at.Field(f.caKey), now, log)
	if err != nil {
		return nil, err
	}
	m.crls = crls
	return m, nil
}

// keyPair reads cert_file and key_file.
func (f files) keyPair() (tls.Certificate, error) {
	certPEM, err := readFile(f.cert)
	if err != nil {
		return tls.Certificate{}, fieldpath.FileError(f.at.Field("cert_file"), "cannot read", err)
	}
	keyPEM, err := readFile(f.key)
	if err != nil {
		return tls.Certificate{}, fieldpath.FileError(f.at.Field("key_file"), "cannot read", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fieldpath.FileError(f.at.Field("cert_file"), "cannot load key pair", err)
	}
	return cert, nil
}

// caBundle reads the CA bundle.
func (f files) caBundle() ([]*x509.Certificate, error) {
	data, err := readFile(f.ca)
	if err != nil {
		return nil, fieldpath.FileError(f.at.Field(f.caKey), "cannot read", err)
	}
	cas, err := parseCertificatesPEM(data)
	if err != nil {
		return nil, &fieldpath.Error{Path: f.at.Field(f.caKey), Msg: err.Error()}
	}
	return cas, nil
}

// same reports whether two loads carry the same key pair, CAs and CRLs, so
// that a touched but unchanged file does not count as a reload.
func (m *material) same(o *material) bool {
	return (m.cert == nil) == (o.cert == nil) &&
		(m.cert == nil || slices.EqualFunc(m.cert.Certificate, o.cert.Certificate, func(x, y []byte) bool { return string(x) == string(y) })) &&
		(m.pool == nil) == (o.pool == nil) && (m.pool == nil || m.pool.Equal(o.pool)) &&
		m.crls.equal(o.crls)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileBytes)
	}
	return data, nil
}

// parseCertificatesPEM returns every CERTIFICATE block of a PEM bundle; a
// block that does not parse is an error rather than silently skipped.
func parseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i, block := range pemBlocks(data) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", i+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificates found")
	}
	return out, nil
}

// pemBlocks decodes every PEM block in data.
func pemBlocks(data []byte) []*pem.Block {
	var out []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		out = append(out, b)
	}
}
