package enroll

import (
	"crypto/x509"
	"errors"

	"github.com/msg-gateway/msg/internal/fieldpath"
)

// TrustAnchor returns the CA certificate that signs the gateway's server
// certificate, which enrollment bundles pin and enrolled devices trust:
// the one in serverCAFile (enroll.server_ca_file) when it is set, else the
// issuer of serverChain's leaf (tls.cert_file, DER, leaf first), looked up in
// serverChain and then in clientCAs (tls.client_ca_file; a small
// deployment's one CA often signs both). The leaf must verify against it
// for server authentication. Errors are [*fieldpath.Error] naming the key.
func TrustAnchor(serverChain [][]byte, clientCAs []*x509.Certificate, serverCAFile string) (*x509.Certificate, error) {
	if len(serverChain) == 0 {
		return nil, &fieldpath.Error{Path: "tls.cert_file", Msg: "no certificate"}
	}
	certs := make([]*x509.Certificate, 0, len(serverChain))
	for _, der := range serverChain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, &fieldpath.Error{Path: "tls.cert_file", Msg: err.Error()}
		}
		certs = append(certs, c)
	}
	leaf := certs[0]
	key := fieldpath.Path("enroll.server_ca_file")
	var candidates []*x509.Certificate
	if serverCAFile != "" {
		data, err := readFile(serverCAFile)
		if err != nil {
			return nil, &fieldpath.Error{Path: key, Msg: "cannot read: " + err.Error()}
		}
		if candidates, err = parseCertificates(data); err != nil {
			return nil, &fieldpath.Error{Path: key, Msg: err.Error()}
		}
		if len(candidates) != 1 {
			return nil, &fieldpath.Error{Path: key, Msg: "must hold exactly one certificate: the one that bundles pin"}
		}
	} else {
		candidates = append(append(candidates, certs[1:]...), clientCAs...)
	}
	for _, ca := range candidates {
		if !ca.IsCA || leaf.CheckSignatureFrom(ca) != nil {
			continue
		}
		if err := verifyServer(leaf, certs[1:], ca); err != nil {
			return nil, &fieldpath.Error{Path: key, Msg: "tls.cert_file does not verify against it: " + err.Error()}
		}
		return ca, nil
	}
	if serverCAFile != "" {
		return nil, &fieldpath.Error{Path: key, Msg: "is not the CA that signed tls.cert_file's certificate"}
	}
	return nil, &fieldpath.Error{Path: key, Msg: "required: neither tls.cert_file nor tls.client_ca_file holds the CA that signed the gateway's certificate"}
}

// verifyServer checks the gateway's certificate against anchor alone, as a
// device will.
func verifyServer(leaf *x509.Certificate, intermediates []*x509.Certificate, anchor *x509.Certificate) error {
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil // an expired server certificate is the TLS reload's to report
		}
	}
	return err
}
