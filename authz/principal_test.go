package authz_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/internal/pki"
)

func TestPrincipalFromCertificate(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()

	tests := []struct {
		name string
		opts pki.Options
		want authz.Principal // fingerprint, serial and NotAfter are checked separately
	}{
		{
			name: "common name only",
			opts: pki.Options{CommonName: "alice"},
			want: authz.Principal{ID: "alice", CommonName: "alice"},
		},
		{
			name: "spiffe id wins over common name",
			opts: pki.Options{CommonName: "team-ios", URIs: []string{"spiffe://example.org/app/ios"}},
			want: authz.Principal{
				ID: "spiffe://example.org/app/ios", CommonName: "team-ios",
				URIs:     []string{"spiffe://example.org/app/ios"},
				SPIFFEID: "spiffe://example.org/app/ios", TrustDomain: "example.org",
			},
		},
		{
			name: "spiffe id without common name",
			opts: pki.Options{URIs: []string{"spiffe://ops.example.org/batch/nightly-job_2"}},
			want: authz.Principal{
				ID:       "spiffe://ops.example.org/batch/nightly-job_2",
				URIs:     []string{"spiffe://ops.example.org/batch/nightly-job_2"},
				SPIFFEID: "spiffe://ops.example.org/batch/nightly-job_2", TrustDomain: "ops.example.org",
			},
		},
		{
			name: "trust domain id without path",
			opts: pki.Options{URIs: []string{"spiffe://example.org"}},
			want: authz.Principal{
				ID: "spiffe://example.org", URIs: []string{"spiffe://example.org"},
				SPIFFEID: "spiffe://example.org", TrustDomain: "example.org",
			},
		},
		{
			name: "other URI SANs are kept and ignored",
			opts: pki.Options{CommonName: "bob", URIs: []string{"https://example.org/bob", "spiffe://example.org/bob", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"}},
			want: authz.Principal{
				ID: "spiffe://example.org/bob", CommonName: "bob",
				URIs:     []string{"https://example.org/bob", "spiffe://example.org/bob", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"},
				SPIFFEID: "spiffe://example.org/bob", TrustDomain: "example.org",
			},
		},
		{
			name: "subject and SAN attributes",
			opts: pki.Options{
				CommonName:         "carol",
				Organization:       []string{"Acme", "Acme EU"},
				OrganizationalUnit: []string{"mobile", "sales"},
				DNSNames:           []string{"carol.devices.example.org"},
				Emails:             []string{"carol@example.org"},
			},
			want: authz.Principal{
				ID: "carol", CommonName: "carol",
				Organizations:       []string{"Acme", "Acme EU"},
				OrganizationalUnits: []string{"mobile", "sales"},
				DNSNames:            []string{"carol.devices.example.org"},
				Emails:              []string{"carol@example.org"},
			},
		},
		{
			name: "non-spiffe URI only falls back to common name",
			opts: pki.Options{CommonName: "dave", URIs: []string{"https://example.org/dave"}},
			want: authz.Principal{ID: "dave", CommonName: "dave", URIs: []string{"https://example.org/dave"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.NotAfter = notAfter
			leaf, err := ca.Issue(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := authz.PrincipalFromCertificate(leaf.Cert)
			if err != nil {
				t.Fatalf("PrincipalFromCertificate: %v", err)
			}

			sum := sha256.Sum256(leaf.Cert.Raw)
			want := tt.want
			want.FingerprintSHA256 = hex.EncodeToString(sum[:])
			want.SerialHex = leaf.Cert.SerialNumber.Text(16)
			want.NotAfter = notAfter
			if !principalsEqual(*got, want) {
				t.Errorf("PrincipalFromCertificate:\n got %+v\nwant %+v", *got, want)
			}
			if got.FingerprintSHA256 != strings.ToLower(got.FingerprintSHA256) || len(got.FingerprintSHA256) != 64 {
				t.Errorf("FingerprintSHA256: got %q, want 64 lower-case hex digits", got.FingerprintSHA256)
			}
			if got.SerialHex == "" || got.SerialHex != strings.ToLower(got.SerialHex) {
				t.Errorf("SerialHex: got %q, want lower-case hex", got.SerialHex)
			}
		})
	}
}

func TestPrincipalFromCertificateErrors(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts pki.Options
		text string // a fragment the error must contain
	}{
		{"no identity", pki.Options{Organization: []string{"Acme"}, DNSNames: []string{"x.example.org"}}, "neither a SPIFFE ID nor a subject common name"},
		{"two spiffe URIs", pki.Options{CommonName: "x", URIs: []string{"spiffe://example.org/a", "spiffe://example.org/b"}}, "more than one spiffe URI"},
		{"userinfo", pki.Options{URIs: []string{"spiffe://user@example.org/a"}}, "userinfo"},
		{"port", pki.Options{URIs: []string{"spiffe://example.org:8443/a"}}, "port"},
		{"query", pki.Options{URIs: []string{"spiffe://example.org/a?x=1"}}, "invalid character '?'"},
		{"query on trust domain", pki.Options{URIs: []string{"spiffe://example.org?x=1"}}, "query"},
		{"fragment", pki.Options{URIs: []string{"spiffe://example.org/a#frag"}}, "invalid character '#'"},
		{"empty trust domain", pki.Options{CommonName: "x", URIs: []string{"spiffe:///a"}}, "empty trust domain"},
		{"upper-case trust domain", pki.Options{URIs: []string{"spiffe://Example.org/a"}}, "lower case"},
		{"dot segment", pki.Options{URIs: []string{"spiffe://example.org/a/../b"}}, "dot segment"},
		{"empty segment", pki.Options{URIs: []string{"spiffe://example.org/a//b"}}, "empty path segment"},
		{"trailing slash", pki.Options{URIs: []string{"spiffe://example.org/a/"}}, "empty path segment"},
		{"percent-encoding", pki.Options{URIs: []string{"spiffe://example.org/a%41"}}, "invalid character '%'"},
		{"opaque", pki.Options{CommonName: "x", URIs: []string{"spiffe:example.org/a"}}, `must start with "spiffe://"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := ca.Issue(tt.opts)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			p, err := authz.PrincipalFromCertificate(leaf.Cert)
			if err == nil {
				t.Fatalf("PrincipalFromCertificate: got %+v, want an error containing %q", p, tt.text)
			}
			if p != nil {
				t.Errorf("PrincipalFromCertificate: got a principal with the error %q", err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("PrincipalFromCertificate error: got %q, want it to contain %q", err, tt.text)
			}
		})
	}

	// URI SANs that pki.Options cannot express, because url.Parse would
	// normalise them first. x509.Certificate.URIs normalises them the same
	// way, so these also check that the SAN extension itself is read.
	rawTests := []struct {
		name string
		uris []*url.URL
		text string
	}{
		{"upper-case scheme", []*url.URL{{Scheme: "SPIFFE", Host: "example.org", Path: "/a"}}, `must start with "spiffe://"`},
		{"second spiffe id in upper case", []*url.URL{{Scheme: "spiffe", Host: "example.org", Path: "/a"}, {Scheme: "Spiffe", Host: "evil.org", Path: "/b"}}, "more than one spiffe URI"},
		{"empty fragment", []*url.URL{{Scheme: "spiffe", Opaque: "//example.org/a#"}}, "invalid character '#'"},
		{"empty query", []*url.URL{{Scheme: "spiffe", Host: "example.org", Path: "/a", ForceQuery: true}}, "invalid character '?'"},
	}
	for _, tt := range rawTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := issueWithURIs(t, ca, tt.uris)
			p, err := authz.PrincipalFromCertificate(c)
			if err == nil {
				t.Fatalf("PrincipalFromCertificate: got %+v, want an error containing %q", p, tt.text)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("PrincipalFromCertificate error: got %q, want it to contain %q", err, tt.text)
			}
		})
	}

	t.Run("nil certificate", func(t *testing.T) {
		t.Parallel()
		if p, err := authz.PrincipalFromCertificate(nil); err == nil {
			t.Errorf("PrincipalFromCertificate(nil): got %+v, want an error", p)
		}
	})
	t.Run("certificate without DER", func(t *testing.T) {
		t.Parallel()
		c := &x509.Certificate{}
		c.Subject.CommonName = "alice"
		if p, err := authz.PrincipalFromCertificate(c); err == nil {
			t.Errorf("PrincipalFromCertificate: got %+v, want an error", p)
		}
	})
}

// TestPrincipalDoesNotAliasCertificate checks that the principal owns its
// slices: changing the certificate afterwards changes nothing.
func TestPrincipalDoesNotAliasCertificate(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "alice", Organization: []string{"Acme"}, OrganizationalUnit: []string{"mobile"}, DNSNames: []string{"a.example.org"}, Emails: []string{"a@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := authz.PrincipalFromCertificate(leaf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	leaf.Cert.Subject.Organization[0] = "Evil"
	leaf.Cert.Subject.OrganizationalUnit[0] = "admins"
	leaf.Cert.DNSNames[0] = "evil.example.org"
	leaf.Cert.EmailAddresses[0] = "evil@example.org"
	if p.Organizations[0] != "Acme" || p.OrganizationalUnits[0] != "mobile" || p.DNSNames[0] != "a.example.org" || p.Emails[0] != "a@example.org" {
		t.Errorf("principal changed with the certificate: got %+v", *p)
	}
}

// issueWithURIs signs a client certificate with CN "x" and exactly these URI
// SANs, spelled as url.URL.String spells them.
func issueWithURIs(t *testing.T, ca *pki.CA, uris []*url.URL) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "x"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:         uris,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// principalsEqual compares two principals. Organizations and organizational
// units compare as sets: several values of one attribute are encoded as a DER
// SET OF, which sorts them, so a certificate need not keep the issuer's order.
func principalsEqual(a, b authz.Principal) bool {
	return a.ID == b.ID && a.CommonName == b.CommonName &&
		slices.Equal(slices.Sorted(slices.Values(a.Organizations)), slices.Sorted(slices.Values(b.Organizations))) &&
		slices.Equal(slices.Sorted(slices.Values(a.OrganizationalUnits)), slices.Sorted(slices.Values(b.OrganizationalUnits))) &&
		slices.Equal(a.DNSNames, b.DNSNames) &&
		slices.Equal(a.URIs, b.URIs) &&
		slices.Equal(a.Emails, b.Emails) &&
		a.SPIFFEID == b.SPIFFEID && a.TrustDomain == b.TrustDomain &&
		a.SerialHex == b.SerialHex && a.FingerprintSHA256 == b.FingerprintSHA256 &&
		a.NotAfter.Equal(b.NotAfter)
}
