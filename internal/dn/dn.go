// Package dn parses X.509 distinguished names as people write them and
// compares them with the names in certificates. An issuer an admin types and
// the issuer a certificate carries are compared in one canonical form, so
// that "CN = msg dev CA", "cn=msg dev CA" and "/CN=msg dev CA" all name the
// CA whose subject is CN=msg dev CA.
package dn

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds the distinguished names [Parse] reads, in bytes.
const MaxLen = 4096

// Error is the error [Parse] and [FromDER] return. Reason never quotes the
// input.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func fail(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Attribute is one attribute type and value of a name.
type Attribute struct {
	// Type is the attribute type's OID in dotted form, e.g. "2.5.4.3".
	Type string
	// Value is the value as written, unescaped.
	Value string
}

// Name is a distinguished name: relative distinguished names (RDNs) in the
// order of the certificate's encoding, most general first (C, O, ..., CN).
// Each RDN holds one or more attributes.
type Name struct {
	rdns [][]Attribute
}

// attributeTypes are the short names [Parse] accepts, upper-cased, and the
// ones [Name.String] writes (the first name listed for an OID).
var attributeTypes = []struct {
	names []string
	oid   string
}{
	{[]string{"CN", "COMMONNAME"}, "2.5.4.3"},
	{[]string{"SURNAME"}, "2.5.4.4"},
	{[]string{"SERIALNUMBER"}, "2.5.4.5"},
	{[]string{"C", "COUNTRYNAME"}, "2.5.4.6"},
	{[]string{"L", "LOCALITYNAME"}, "2.5.4.7"},
	{[]string{"ST", "S", "STATEORPROVINCENAME"}, "2.5.4.8"},
	{[]string{"STREET", "STREETADDRESS"}, "2.5.4.9"},
	{[]string{"O", "ORGANIZATIONNAME"}, "2.5.4.10"},
	{[]string{"OU", "ORGANIZATIONALUNITNAME"}, "2.5.4.11"},
	{[]string{"TITLE"}, "2.5.4.12"},
	{[]string{"POSTALCODE"}, "2.5.4.17"},
	{[]string{"GIVENNAME", "GN"}, "2.5.4.42"},
	{[]string{"INITIALS"}, "2.5.4.43"},
	{[]string{"GENERATIONQUALIFIER"}, "2.5.4.44"},
	{[]string{"DNQUALIFIER"}, "2.5.4.46"},
	{[]string{"PSEUDONYM"}, "2.5.4.65"},
	{[]string{"ORGANIZATIONIDENTIFIER"}, "2.5.4.97"},
	{[]string{"DC", "DOMAINCOMPONENT"}, "0.9.2342.19200300.100.1.25"},
	{[]string{"UID", "USERID"}, "0.9.2342.19200300.100.1.1"},
	{[]string{"EMAILADDRESS", "E"}, "1.2.840.113549.1.9.1"},
}

// Parse reads a distinguished name in one of two spellings:
//
//   - RFC 4514, as Go, OpenSSL's "-nameopt RFC2253" and most LDAP tools
//     print it: RDNs separated by ',', most specific first
//     ("CN=msg dev CA,O=Example"); attributes of one RDN joined by '+'.
//   - OpenSSL's slash form, as "openssl x509 -subject -nameopt compat"
//     prints it and "openssl req -subj" reads it: every RDN introduced by
//     '/', most general first ("/O=Example/CN=msg dev CA").
//
// Attribute types are short names (CN, O, OU, C, ST, L, DC, UID, ...,
// case-insensitive) or dotted OIDs. Spaces around '=', ',', '+' and '/' and
// around a value are ignored (so OpenSSL's "CN = msg dev CA" reads as well).
// In a value, '\' escapes the next character or writes a byte as two hex
// digits; a '+' always joins attributes of one RDN, so a '+' (or, in the
// RFC 4514 form, a ',') inside a value must be escaped. Refused, with a
// reason: an empty name, an unknown attribute type, a value that is empty,
// a quoted string or BER-encoded ('#...'), an unescaped ';', '"', '<' or
// '>' (RFC 4514 requires them escaped, and ';' separated RDNs in older
// spellings), and input over [MaxLen] bytes or not UTF-8.
func Parse(s string) (Name, error) {
	switch {
	case len(s) > MaxLen:
		return Name{}, fail("distinguished name is longer than %d bytes", MaxLen)
	case !utf8.ValidString(s):
		return Name{}, fail("distinguished name is not UTF-8")
	}
	s = trimSpace(s)
	if s == "" {
		return Name{}, fail("empty distinguished name")
	}
	if s[0] == '/' {
		rdns, err := parseRDNs(s[1:], '/')
		if err != nil {
			return Name{}, err
		}
		return Name{rdns: rdns}, nil
	}
	rdns, err := parseRDNs(s, ',')
	if err != nil {
		return Name{}, err
	}
	slices.Reverse(rdns)
	return Name{rdns: rdns}, nil
}

// trimSpace trims white space around s, but not a space escaped with '\'
// at its end.
func trimSpace(s string) string {
	s = strings.TrimLeft(s, " \t\r\n")
	t := strings.TrimRight(s, " \t\r\n")
	if n := len(t) - len(strings.TrimRight(t, `\`)); n%2 == 1 && len(t) < len(s) {
		return s[:len(t)+1]
	}
	return t
}

// parseRDNs reads RDNs separated by sep, in the order written.
func parseRDNs(s string, sep byte) ([][]Attribute, error) {
	var rdns [][]Attribute
	var rdn []Attribute
	for i := 0; ; {
		typ, rest, err := parseType(s[i:])
		if err != nil {
			return nil, err
		}
		i = len(s) - len(rest)
		value, n, err := parseValue(s[i:], sep)
		if err != nil {
			return nil, err
		}
		i += n
		rdn = append(rdn, Attribute{Type: typ, Value: value})
		if i == len(s) {
			return append(rdns, rdn), nil
		}
		switch s[i] {
		case '+':
		case sep:
			rdns, rdn = append(rdns, rdn), nil
		}
		i++
	}
}

// parseType reads "type =" and returns the type's OID and what follows '='.
func parseType(s string) (oid, rest string, err error) {
	name, rest, found := strings.Cut(s, "=")
	if !found {
		return "", "", fail("attribute without '=' (write TYPE=value; escape a '+' or separator inside a value with \\)")
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", "", fail("empty attribute type")
	case strings.ContainsAny(name, ",+/"):
		return "", "", fail("empty RDN or attribute (two separators in a row)")
	}
	if oid, ok := typeOID(name); ok {
		return oid, rest, nil
	}
	return "", "", fail("unknown attribute type (use a short name such as CN, O, OU, C or a dotted OID)")
}

// typeOID returns the OID a short name or dotted OID stands for.
func typeOID(name string) (string, bool) {
	upper := strings.ToUpper(name)
	for _, t := range attributeTypes {
		if slices.Contains(t.names, upper) {
			return t.oid, true
		}
	}
	if isDottedOID(name) {
		return name, true
	}
	return "", false
}

func isDottedOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 1 && p[0] == '0' || len(p) > 9 {
			return false
		}
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// parseValue reads one attribute value up to an unescaped '+' or sep (or the
// end) and returns it unescaped and trimmed, and the bytes consumed.
func parseValue(s string, sep byte) (string, int, error) {
	lead := len(s) - len(strings.TrimLeft(s, " "))
	switch {
	case lead < len(s) && s[lead] == '#':
		return "", 0, fail("BER-encoded values (#...) are not supported; write the value as text")
	case lead < len(s) && s[lead] == '"':
		return "", 0, fail("quoted values are not supported; escape special characters with \\")
	}
	var b []byte
	trailing := 0 // unescaped spaces at the end of b, trimmed at the end
	i := lead
	for ; i < len(s); i++ {
		c := s[i]
		if c == sep || c == '+' {
			break
		}
		switch c {
		case '\\':
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
				i += 2
			} else if i+1 < len(s) {
				b = append(b, s[i+1])
				i++
			} else {
				return "", 0, fail("distinguished name ends in an unfinished escape (\\)")
			}
			trailing = 0
			continue
		case ';', '"', '<', '>':
			return "", 0, fail("unescaped %q in a value (escape it with \\)", c)
		}
		b = append(b, c)
		if c == ' ' {
			trailing++
		} else {
			trailing = 0
		}
	}
	b = b[:len(b)-trailing]
	if len(b) == 0 {
		return "", 0, fail("empty attribute value")
	}
	if !utf8.Valid(b) {
		return "", 0, fail("escaped bytes in a value are not UTF-8")
	}
	return string(b), i, nil
}

// FromDER reads the DER encoding of a name, as in a certificate's
// RawSubject or RawIssuer. Every value must be a string type (PrintableString,
// UTF8String, IA5String, ...).
func FromDER(der []byte) (Name, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) > 0 {
		return Name{}, fail("not a DER-encoded name")
	}
	n := Name{rdns: make([][]Attribute, 0, len(seq))}
	for _, set := range seq {
		rdn := make([]Attribute, 0, len(set))
		for _, atv := range set {
			v, ok := atv.Value.(string)
			if !ok {
				return Name{}, fail("attribute %s has a value that is not a string", atv.Type)
			}
			rdn = append(rdn, Attribute{Type: atv.Type.String(), Value: v})
		}
		n.rdns = append(n.rdns, rdn)
	}
	return n, nil
}

// IsZero reports whether n is the zero Name (no RDNs).
func (n Name) IsZero() bool { return len(n.rdns) == 0 }

// Reversed returns n with its RDNs in the opposite order, which is how a
// name written in the other convention reads.
func (n Name) Reversed() Name {
	r := slices.Clone(n.rdns)
	slices.Reverse(r)
	return Name{rdns: r}
}

// Key returns n's canonical form: equal for two names exactly when they
// name the same entity as RFC 5280 section 7.1 compares names (attribute
// types and RDN order exact; values compared ignoring case and runs of
// white space; the attributes of one RDN in any order). It is unambiguous
// (values are quoted), meant for map keys and hashing, not for people.
func (n Name) Key() string {
	var b strings.Builder
	for i, rdn := range n.rdns {
		if i > 0 {
			b.WriteByte(',')
		}
		atvs := make([]string, len(rdn))
		for j, a := range rdn {
			atvs[j] = a.Type + "=" + strconv.Quote(foldValue(a.Value))
		}
		slices.Sort(atvs)
		b.WriteString(strings.Join(atvs, "+"))
	}
	return b.String()
}

// Equal reports whether n and o name the same entity (see [Name.Key]).
func (n Name) Equal(o Name) bool { return n.Key() == o.Key() }

// foldValue is RFC 4518's caseIgnoreMatch, simplified: lower case, leading
// and trailing white space removed, inner runs of it as one space.
func foldValue(v string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(v), unicode.IsSpace), " ")
}

// String returns n in RFC 4514 form, most specific RDN first, with short
// attribute names where there are ones, as Go prints names. [Parse] reads
// it back as an equal name.
func (n Name) String() string {
	var b strings.Builder
	for i := len(n.rdns) - 1; i >= 0; i-- {
		if i < len(n.rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range n.rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(shortName(a.Type))
			b.WriteByte('=')
			b.WriteString(escape(a.Value))
		}
	}
	return b.String()
}

func shortName(oid string) string {
	for _, t := range attributeTypes {
		if t.oid == oid {
			return t.names[0]
		}
	}
	return oid
}

// escape writes v as an RFC 4514 value: the special characters, a leading
// '#' or space and a trailing space escaped with '\', control characters as
// hex pairs.
func escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(`,+"\<>;=`, c) >= 0,
			i == 0 && (c == '#' || c == ' '),
			i == len(v)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
