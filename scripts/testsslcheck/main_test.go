package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestCheck runs the rules on a real report of the dev gateway (testssl.sh
// 3.0.8, `make security`) and on copies with one weakness each: every
// weakness must fail the check.
func TestCheck(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/gateway.json")
	if err != nil {
		t.Fatal(err)
	}
	var good []finding
	if err := json.Unmarshal(data, &good); err != nil {
		t.Fatal(err)
	}
	set := func(id, severity, text string) func([]finding) []finding {
		return func(fs []finding) []finding {
			for i := range fs {
				if fs[i].ID == id {
					fs[i].Severity, fs[i].Finding = severity, text
					return fs
				}
			}
			return append(fs, finding{ID: id, Severity: severity, Finding: text})
		}
	}
	drop := func(prefix string) func([]finding) []finding {
		return func(fs []finding) []finding {
			var out []finding
			for _, f := range fs {
				if !strings.HasPrefix(f.ID, prefix) {
					out = append(out, f)
				}
			}
			return out
		}
	}
	tests := []struct {
		name string
		mod  func([]finding) []finding
		want string // in a problem; "" means the report passes
	}{
		{"the dev gateway", func(fs []finding) []finding { return fs }, ""},
		{"SSLv3", set("SSLv3", "CRITICAL", "offered"), "SSLv3 offered"},
		{"TLS 1.0", set("TLS1", "LOW", "offered"), "TLS1 offered"},
		{"TLS 1.1", set("TLS1_1", "LOW", "offered"), "TLS1_1 offered"},
		{"CBC category", set("cipherlist_AVERAGE", "LOW", "offered"), "cipherlist_AVERAGE"},
		{"3DES category", set("cipherlist_3DES_IDEA", "MEDIUM", "offered"), "cipherlist_3DES_IDEA"},
		{"CBC suite", set("cipher-tls1_2_xc009", "INFO", "TLS 1.2   xc009   ECDHE-ECDSA-AES128-SHA   ECDH 253   AES   128   TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"), "not an allowed AEAD"},
		{"RC4 suite", set("cipher-tls1_2_xc007", "INFO", "TLS 1.2   xc007   ECDHE-ECDSA-RC4-SHA   ECDH 253   RC4   128   TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"), "not an allowed AEAD"},
		{"static RSA suite", set("cipher-tls1_2_x9c", "INFO", "TLS 1.2   x9c   AES128-GCM-SHA256   RSA   AESGCM   128   TLS_RSA_WITH_AES_128_GCM_SHA256"), "no forward secrecy"},
		{"P-384", set("PFS_ECDHE_curves", "OK", "prime256v1 secp384r1 X25519"), "curve secp384r1"},
		{"weak curve", set("PFS_ECDHE_curves", "OK", "secp192r1 prime256v1"), "curve secp192r1"},
		{"DHE", set("PFS_DH_groups", "INFO", "ffdhe2048"), "finite-field DHE"},
		{"client renegotiation", set("secure_client_renego", "MEDIUM", "VULNERABLE, DoS threat"), "client-initiated renegotiation"},
		{"a vulnerability", set("SWEET32", "LOW", "VULNERABLE, uses 64 bit block ciphers"), "SWEET32"},
		{"no forward secrecy", set("PFS", "HIGH", "not offered"), "forward secrecy"},
		{"no cipher list", drop("cipher-"), "no cipher suites"},
		{"nothing reached", func([]finding) []finding {
			return []finding{{ID: "scanProblem", Severity: "FATAL", Finding: "connection refused"}}
		}, "scan error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := tt.mod(append([]finding(nil), good...))
			b, _ := json.Marshal(fs)
			problems, _, err := check(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(problems, "\n")
			if tt.want == "" {
				if len(problems) > 0 {
					t.Fatalf("problems in a good report:\n%s", joined)
				}
				return
			}
			if !strings.Contains(joined, tt.want) {
				t.Fatalf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}
