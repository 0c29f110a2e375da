package tlsmaterial

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/msg-gateway/msg/internal/fieldpath"
)

// crlSet is the revoked serial numbers of every loaded CRL, by issuer. It is
// immutable once built. A nil set revokes nothing.
type crlSet struct {
	// byIssuer maps an issuer's raw subject to the serials (lower-case hex)
	// it revoked and the CRL reason codes.
	byIssuer map[string]map[string]int
	n        int // CRLs loaded
}

// Revoked reports whether c's serial is on a CRL of c's issuer. The CRLs
// were verified against the client CAs when they were loaded, and an issuer
// is identified by its subject as the certificate names it.
func (s *crlSet) Revoked(c *x509.Certificate) (bool, string) {
	if s == nil || c == nil || c.SerialNumber == nil {
		return false, ""
	}
	serials, ok := s.byIssuer[string(c.RawIssuer)]
	if !ok {
		return false, ""
	}
	code, ok := serials[c.SerialNumber.Text(16)]
	if !ok {
		return false, ""
	}
	return true, fmt.Sprintf("on the CRL of %q (reason code %d)", c.Issuer.String(), code)
}

func (s *crlSet) count() int {
	if s == nil {
		return 0
	}
	return s.n
}

func (s *crlSet) equal(o *crlSet) bool {
	if s.count() != o.count() {
		return false
	}
	if s == nil || o == nil {
		return s == o
	}
	return maps.EqualFunc(s.byIssuer, o.byIssuer, func(a, b map[string]int) bool { return maps.Equal(a, b) })
}

// loadCRLs reads the CRL files (PEM with "X509 CRL" blocks, or one DER CRL
// per file); at is their list's key, for errors. Every CRL must be signed by
// one of cas, the bundle at caKey; a CRL past its NextUpdate is still
// applied (its revocations do not become void) and logged. Several CRLs of
// one issuer are merged: a serial on any of them is revoked.
func loadCRLs(at fieldpath.Path, files []string, cas []*x509.Certificate, caKey fieldpath.Path, now time.Time, log *slog.Logger) (*crlSet, error) {
	if len(files) == 0 {
		return nil, nil
	}
	set := &crlSet{byIssuer: map[string]map[string]int{}}
	for i, f := range files {
		key := at.Index(i)
		data, err := readFile(f)
		if err != nil {
			return nil, fieldpath.FileError(key, "cannot read", err)
		}
		ders, err := crlDERs(data)
		if err != nil {
			return nil, &fieldpath.Error{Path: key, Msg: err.Error()}
		}
		for j, der := range ders {
			rl, err := x509.ParseRevocationList(der)
			if err != nil {
				return nil, &fieldpath.Error{Path: key, Msg: fmt.Sprintf("CRL %d: %v", j+1, err)}
			}
			issuer, err := crlIssuer(rl, cas, caKey)
			if err != nil {
				return nil, &fieldpath.Error{Path: key, Msg: fmt.Sprintf("CRL %d: %v", j+1, err)}
			}
			if !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate) {
				log.Warn("tls: CRL is past its next update; still applied", "file", f,
					"issuer", issuer.Subject.String(), "next_update", rl.NextUpdate.UTC().Format(time.RFC3339))
			}
			serials := set.byIssuer[string(issuer.RawSubject)]
			if serials == nil {
				serials = map[string]int{}
				set.byIssuer[string(issuer.RawSubject)] = serials
			}
			for _, e := range rl.RevokedCertificateEntries {
				if e.SerialNumber != nil {
					serials[e.SerialNumber.Text(16)] = e.ReasonCode
				}
			}
			set.n++
		}
	}
	return set, nil
}

// crlIssuer returns the CA among cas, the bundle at caKey, that signed rl.
func crlIssuer(rl *x509.RevocationList, cas []*x509.Certificate, caKey fieldpath.Path) (*x509.Certificate, error) {
	named := false
	for _, ca := range cas {
		if !bytes.Equal(ca.RawSubject, rl.RawIssuer) {
			continue
		}
		named = true
		if err := rl.CheckSignatureFrom(ca); err == nil {
			return ca, nil
		}
	}
	if named {
		return nil, fmt.Errorf("signature does not verify against the client CA %q", rl.Issuer.String())
	}
	return nil, fmt.Errorf("issuer %q is not a CA in %s", rl.Issuer.String(), caKey)
}

// crlDERs returns the DER CRLs in data: every "X509 CRL" PEM block, or data
// itself when it is not PEM.
func crlDERs(data []byte) ([][]byte, error) {
	blocks := pemBlocks(data)
	if len(blocks) == 0 {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fmt.Errorf("empty file")
		}
		return [][]byte{data}, nil // DER
	}
	var out [][]byte
	for _, b := range blocks {
		if b.Type == "X509 CRL" {
			out = append(out, b.Bytes)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf(`no "X509 CRL" PEM blocks found`)
	}
	return out, nil
}
