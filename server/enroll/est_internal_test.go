package enroll

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
)

func TestBearerSecret(t *testing.T) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name    string
		headers []string
		want    string
	}{
		{"bearer", []string{"Bearer abc"}, "abc"},
		{"bearer any case, spaces", []string{"  bEaReR   abc  "}, "abc"},
		{"basic password", []string{basic("device:abc")}, "abc"},
		{"basic password with colon", []string{basic("u:a:b")}, "a:b"},
		{"basic without colon", []string{basic("abc")}, ""},
		{"basic not base64", []string{"Basic !!!"}, ""},
		{"no scheme", []string{"abc"}, ""},
		{"other scheme", []string{"Digest abc"}, ""},
		{"two headers", []string{"Bearer a", "Bearer b"}, ""},
		{"none", nil, ""},
	} {
		h := http.Header{}
		for _, v := range tc.headers {
			h.Add("Authorization", v)
		}
		if got := bearerSecret(h); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDecodeCSRBody(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x05}
	b64 := base64.StdEncoding.EncodeToString(der)
	for _, tc := range []struct {
		name, body string
		want       []byte
		err        bool
	}{
		{"base64", b64, der, false},
		{"unpadded, line breaks", "MAMC\r\nAQU\n", der, false},
		{"surrounding space", "  " + b64 + "\n\n", der, false},
		{"PEM", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), der, false},
		{"PEM of another type", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil, true},
		{"broken PEM", "-----BEGIN CERTIFICATE REQUEST-----\nMAMC", nil, true},
		{"not base64", "MA*C", nil, true},
		{"empty", "", []byte{}, false},
	} {
		got, err := decodeCSRBody([]byte(tc.body))
		if (err != nil) != tc.err || (!tc.err && !bytes.Equal(got, tc.want)) {
			t.Errorf("%s: %x %v, want %x (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// FuzzDecodeCSRBody: any EST body decodes to at most its own size or is
// refused, without a panic.
func FuzzDecodeCSRBody(f *testing.F) {
	f.Add([]byte("MAMCAQU="))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQU=\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte("MAMC\r\nAQU\n===="))
	f.Fuzz(func(t *testing.T, body []byte) {
		der, err := decodeCSRBody(body)
		if err == nil && len(der) > len(body) {
			t.Fatalf("%d bytes decoded from %d", len(der), len(body))
		}
	})
}

// FuzzBearerSecret: any Authorization header yields a secret that is part
// of what was sent (as is or base64-decoded), or nothing.
func FuzzBearerSecret(f *testing.F) {
	f.Add("Bearer abc")
	f.Add("Basic ZGV2aWNlOmFiYw==")
	f.Add("basic Og==")
	f.Fuzz(func(t *testing.T, v string) {
		s := bearerSecret(http.Header{"Authorization": {v}})
		if s == "" || strings.Contains(v, s) {
			return
		}
		_, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if !strings.Contains(string(raw), s) {
			t.Fatalf("secret %q from %q", s, v)
		}
	})
}

// FuzzCheckCSR: any request body is refused with a csrError or yields one
// of the accepted public key types, without a panic.
func FuzzCheckCSR(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add(der[:len(der)/2])
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		pub, err := checkCSR(in)
		if err != nil {
			if _, ok := err.(*csrError); !ok {
				t.Fatalf("error %T %v, want a csrError", err, err)
			}
			return
		}
		switch pub.(type) {
		case *ecdsa.PublicKey:
		default:
			// The fuzzer cannot sign; only the seed (ECDSA) verifies.
			t.Fatalf("accepted a %T key", pub)
		}
	})
}
