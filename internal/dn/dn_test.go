package dn_test

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/dn"
)

// der encodes name the way a certificate carries it.
func der(t testing.TB, name pkix.Name) []byte {
	t.Helper()
	b, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fromDER(t testing.TB, name pkix.Name) dn.Name {
	t.Helper()
	n, err := dn.FromDER(der(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestParseMatchesCertificateNames is finding 5 of issue 11 at its root:
// every way an admin writes the issuer names the same CA as the certificate.
func TestParseMatchesCertificateNames(t *testing.T) {
	t.Parallel()
	devCA := fromDER(t, pkix.Name{CommonName: "msg dev CA"})
	orgCA := fromDER(t, pkix.Name{CommonName: "msg dev CA", Organization: []string{"Example"}, Country: []string{"DE"}})
	multi, err := dn.FromDER(func() []byte {
		b, err := asn1.Marshal(pkix.RDNSequence{
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Example"}},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "ca"}, {Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "ops"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		want  dn.Name
	}{
		{"go string", "CN=msg dev CA", devCA},
		{"openssl spaces", "CN = msg dev CA", devCA},
		{"lower-case type", "cn=msg dev CA", devCA},
		{"openssl slash", "/CN=msg dev CA", devCA},
		{"long type name", "commonName=msg dev CA", devCA},
		{"dotted oid", "2.5.4.3=msg dev CA", devCA},
		{"value case and spaces", "  CN=  MSG   dev\tca  ", devCA},
		{"escaped space inside", `CN=msg\ dev CA`, devCA},
		{"hex escape", `CN=msg\20dev CA`, devCA},
		{"rfc 4514 order", "CN=msg dev CA,O=Example,C=DE", orgCA},
		{"rfc 4514 with spaces", "CN = msg dev CA, O = Example, C = DE", orgCA},
		{"slash order", "/C=DE/O=Example/CN=msg dev CA", orgCA},
		{"multi-valued", "CN=ca+OU=ops,O=Example", multi},
		{"multi-valued other order", "OU=ops + CN=ca, O=Example", multi},
		{"multi-valued slash", "/O=Example/OU=ops+CN=ca", multi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := dn.Parse(tt.input)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.input, err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("Parse(%q) = %q (key %q), want %q (key %q)", tt.input, got, got.Key(), tt.want, tt.want.Key())
			}
		})
	}
	for _, other := range []string{
		"C=DE,O=Example,CN=msg dev CA", // OpenSSL's default order, written with commas
		"CN=msg dev CA,O=Example",      // an RDN short
		"CN=msg dev CA2,O=Example,C=DE",
		"OU=msg dev CA,O=Example,C=DE",
	} {
		got, err := dn.Parse(other)
		if err != nil {
			t.Fatalf("Parse(%q): %v", other, err)
		}
		if got.Equal(orgCA) {
			t.Errorf("Parse(%q) equals %q", other, orgCA)
		}
	}
	if r, _ := dn.Parse("C = DE, O = Example, CN = msg dev CA"); r.Equal(orgCA) || !r.Reversed().Equal(orgCA) {
		t.Errorf("Reversed does not turn the other convention's order around")
	}
}

func TestParseValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input string
		want  string // String() of the result
	}{
		{`CN=Acme\, Inc.`, `CN=Acme\, Inc.`},
		{`CN=Acme\2C Inc.`, `CN=Acme\, Inc.`},
		{`/O=Acme, Inc./CN=x`, `CN=x,O=Acme\, Inc.`},
		{`/CN=a\/b`, `CN=a/b`},
		{`CN=a\+b`, `CN=a\+b`},
		{`CN=x=y`, `CN=x\=y`},
		{`CN=\#hash`, `CN=\#hash`},
		{`CN=caf\C3\A9`, `CN=café`},
		{`CN=café`, `CN=café`},
		{`CN=trailing\ `, `CN=trailing\ `},
		{`1.2.3.4=x,DC=example,DC=org`, `1.2.3.4=x,DC=example,DC=org`},
		{`E=a@b.c,ST=Bayern,L=München,STREET=x,UID=u,SERIALNUMBER=1`, `EMAILADDRESS=a@b.c,ST=Bayern,L=München,STREET=x,UID=u,SERIALNUMBER=1`},
	}
	for _, tt := range tests {
		got, err := dn.Parse(tt.input)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.input, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.input, got.String(), tt.want)
		}
		again, err := dn.Parse(got.String())
		if err != nil || !again.Equal(got) || again.String() != got.String() {
			t.Errorf("Parse(%q) = %q, %v; want the round trip of %q", got.String(), again, err, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input string
		want  string // a part of the reason
	}{
		{"", "empty distinguished name"},
		{"   ", "empty distinguished name"},
		{"/", "without '='"},
		{"CN", "without '='"},
		{"msg dev CA", "without '='"},
		{"=x", "empty attribute type"},
		{"XX=a", "unknown attribute type"},
		{"1.2=a,2.5.4.03=b", "unknown attribute type"},
		{"CN=", "empty attribute value"},
		{"CN=  ,O=x", "empty attribute value"},
		{"CN=a,", "without '='"},
		{"CN=a,,O=b", "two separators in a row"},
		{"CN=a+b", "without '='"},
		{"CN=#0403616263", "BER-encoded"},
		{`CN="quoted"`, "quoted values"},
		{"CN=a;O=b", `unescaped ';'`},
		{"/CN=a<b", `unescaped '<'`},
		{`CN=a\`, "unfinished escape"},
		{`CN=\ff`, "not UTF-8"},
		{"CN=\xff", "not UTF-8"},
		{"CN=" + strings.Repeat("a", dn.MaxLen), "longer than"},
	}
	for _, tt := range tests {
		_, err := dn.Parse(tt.input)
		var de *dn.Error
		if !errors.As(err, &de) || !strings.Contains(de.Reason, tt.want) {
			t.Errorf("Parse(%q) error = %v, want a *dn.Error containing %q", tt.input, err, tt.want)
		}
		if err != nil && len(tt.input) > 8 && strings.Contains(err.Error(), tt.input) {
			t.Errorf("Parse(%q) error %q quotes the input", tt.input, err)
		}
	}
	if _, err := dn.FromDER([]byte("garbage")); err == nil {
		t.Error("FromDER(garbage) succeeded")
	}
}

// FuzzParse: Parse never panics, fails with a *dn.Error, and every name it
// accepts prints (String) as a name it reads back as equal, with the same
// canonical key.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CN=msg dev CA", "CN = msg dev CA", "cn=msg dev CA", "/CN=msg dev CA", "CN=msg dev CA,O=Example",
		"/O=Example/CN=msg dev CA", "CN=a+OU=b,O=c", `CN=a\,b\+c\2Cd`, `CN=\#x`, "CN=#00", `CN="a"`, "CN=a;O=b",
		"2.5.4.3=x", "E=a@b", "CN=café", `CN=\C3\A9`, `CN=\ff`, "CN=a,", "", "/", "=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := dn.Parse(s)
		if err != nil {
			var de *dn.Error
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("Parse(%q) error %v (%T) is not a *dn.Error with a reason", s, err, err)
			}
			return
		}
		if n.IsZero() {
			t.Fatalf("Parse(%q) accepted an empty name", s)
		}
		printed := n.String()
		again, err := dn.Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, printed, err)
		}
		if again.Key() != n.Key() || again.String() != printed {
			t.Fatalf("Parse(%q) = %q (key %q), read back as %q (key %q)", s, printed, n.Key(), again, again.Key())
		}
	})
}
