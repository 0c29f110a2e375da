package authz

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PrincipalFromCertificate returns the identity proven by c, the leaf of a
// chain the TLS stack has already verified; it checks no signatures, dates
// or revocations itself.
//
// Every field of [Principal] is filled in. A URI SAN with the spiffe scheme
// (in any letter case) is taken as the certificate's SPIFFE ID; at most one is
// allowed, and it must be valid by the SPIFFE ID specification: "spiffe://",
// a non-empty trust domain of lower-case letters, digits, '.', '-' and '_'
// (so no userinfo, port, query or fragment), then an optional path whose
// segments are non-empty, not "." or "..", and made of letters, digits, '.',
// '-' and '_' (no percent-encoding, no trailing '/'). Other URI SANs are
// kept in URIs and otherwise ignored. The principal's ID is the SPIFFE ID
// when there is one, otherwise the subject common name.
//
// It returns an error, and no principal, when c is nil or has no DER
// encoding, carries more than one spiffe URI or a malformed one, or has
// neither a SPIFFE ID nor a common name. The error text quotes certificate
// content: log it, do not send it to the caller.
func PrincipalFromCertificate(c *x509.Certificate) (*Principal, error) {
	if c == nil {
		return nil, errors.New("authz: no client certificate")
	}
	if len(c.Raw) == 0 {
		return nil, errors.New("authz: client certificate has no DER encoding")
	}
	uris, err := certificateURIs(c)
	if err != nil {
		return nil, fmt.Errorf("authz: client certificate: %w", err)
	}
	sum := sha256.Sum256(c.Raw)
	p := &Principal{
		CommonName:          c.Subject.CommonName,
		Organizations:       slices.Clone(c.Subject.Organization),
		OrganizationalUnits: slices.Clone(c.Subject.OrganizationalUnit),
		DNSNames:            slices.Clone(c.DNSNames),
		URIs:                uris,
		Emails:              slices.Clone(c.EmailAddresses),
		FingerprintSHA256:   hex.EncodeToString(sum[:]),
		NotAfter:            c.NotAfter,
	}
	if c.SerialNumber != nil {
		p.SerialHex = c.SerialNumber.Text(16)
	}
	for _, u := range uris {
		if !isSPIFFEURI(u) {
			continue
		}
		if p.SPIFFEID != "" {
			return nil, errors.New("authz: client certificate has more than one spiffe URI SAN")
		}
		td, err := parseSPIFFEID(u)
		if err != nil {
			return nil, fmt.Errorf("authz: client certificate: %w", err)
		}
		p.SPIFFEID, p.TrustDomain = u, td
	}
	p.ID = p.SPIFFEID
	if p.ID == "" {
		p.ID = p.CommonName
	}
	if p.ID == "" {
		return nil, errors.New("authz: client certificate has neither a SPIFFE ID nor a subject common name")
	}
	return p, nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// certificateURIs returns the URI SANs exactly as the certificate spells
// them. x509.Certificate.URIs has been through url.Parse, which forgets
// details the SPIFFE rules care about (an empty fragment, for one), so the
// extension is read again here.
func certificateURIs(c *x509.Certificate) ([]string, error) {
	for _, ext := range c.Extensions {
		if ext.Id.Equal(oidSubjectAltName) {
			return parseURISANs(ext.Value)
		}
	}
	// No SAN extension: a certificate assembled in memory rather than parsed.
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out, nil
}

// parseURISANs returns the uniformResourceIdentifier entries of a DER
// SubjectAltName extension value (RFC 5280, section 4.2.1.6).
func parseURISANs(der []byte) ([]string, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errors.New("malformed subject alternative name extension")
	}
	var out []string
	for b := seq.Bytes; len(b) > 0; {
		var name asn1.RawValue
		if b, err = asn1.Unmarshal(b, &name); err != nil {
			return nil, errors.New("malformed subject alternative name extension")
		}
		const tagURI = 6
		if name.Class == asn1.ClassContextSpecific && name.Tag == tagURI {
			out = append(out, string(name.Bytes))
		}
	}
	return out, nil
}

// isSPIFFEURI reports whether u has the spiffe scheme in any letter case. A
// "SPIFFE://..." URI counts (and is then rejected as malformed), so that a
// second SPIFFE ID cannot hide behind the spelling of its scheme.
func isSPIFFEURI(u string) bool {
	const scheme = "spiffe:"
	return len(u) >= len(scheme) && strings.EqualFold(u[:len(scheme)], scheme)
}

// parseSPIFFEID validates id as a SPIFFE ID and returns its trust domain.
func parseSPIFFEID(id string) (trustDomain string, err error) {
	const prefix = "spiffe://"
	if len(id) > 2048 {
		return "", errors.New("invalid SPIFFE ID: longer than 2048 bytes")
	}
	if !strings.HasPrefix(id, prefix) {
		return "", fmt.Errorf("invalid SPIFFE ID %q: must start with %q", id, prefix)
	}
	rest := id[len(prefix):]
	td, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		td, path = rest[:i], rest[i:]
	}
	if err := checkTrustDomain(td); err != nil {
		return "", fmt.Errorf("invalid SPIFFE ID %q: %w", id, err)
	}
	if path == "" {
		return td, nil
	}
	for _, seg := range strings.Split(path[1:], "/") {
		switch seg {
		case "":
			return "", fmt.Errorf(`invalid SPIFFE ID %q: empty path segment ("//" or a trailing "/")`, id)
		case ".", "..":
			return "", fmt.Errorf("invalid SPIFFE ID %q: dot segment in path", id)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !ruleAlnum(c) && c != '.' && c != '-' && c != '_' {
				return "", fmt.Errorf("invalid SPIFFE ID %q: invalid character %q in path", id, c)
			}
		}
	}
	return td, nil
}

// checkTrustDomain validates a SPIFFE trust domain name.
func checkTrustDomain(td string) error {
	if td == "" {
		return errors.New("empty trust domain")
	}
	if len(td) > 255 {
		return errors.New("trust domain longer than 255 bytes")
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '.' || c == '-' || c == '_' {
			continue
		}
		switch c {
		case '@':
			return errors.New("userinfo is not allowed")
		case ':':
			return errors.New("a port is not allowed")
		case '?':
			return errors.New("a query is not allowed")
		case '#':
			return errors.New("a fragment is not allowed")
		}
		if 'A' <= c && c <= 'Z' {
			return errors.New("trust domain must be lower case")
		}
		return fmt.Errorf("invalid character %q in trust domain", c)
	}
	return nil
}
