package enrollment_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/enrollment"
)

const (
	testSecret = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80"
	testPin    = "sha256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
)

func TestBundleRoundTrip(t *testing.T) {
	t.Parallel()
	secret, err := enrollment.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"gw.example.com:8444", "127.0.0.1:8444", "[::1]:8444", "localhost:1"} {
		b := enrollment.Bundle{Address: addr, Secret: secret, Pin: sha256.Sum256([]byte("anchor"))}
		got, err := enrollment.ParseBundle(b.String())
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got != b {
			t.Errorf("round trip: got %+v, want %+v", got, b)
		}
	}
}

func TestParseBundle(t *testing.T) {
	t.Parallel()
	good := "msg-enroll://gw.example.com:8444/?s=" + testSecret + "&pin=" + testPin
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"canonical", good, ""},
		{"white space around", "  " + good + "\n", ""},
		{"scheme in upper case", strings.Replace(good, "msg-enroll", "MSG-Enroll", 1), ""},
		{"no slash before the query", strings.Replace(good, "/?", "?", 1), ""},
		{"parameters swapped", "msg-enroll://gw.example.com:8444/?pin=" + testPin + "&s=" + testSecret, ""},
		{"other scheme", strings.Replace(good, "msg-enroll", "https", 1), "must start with msg-enroll://"},
		{"no scheme", "gw.example.com:8444/?s=x", "must start with"},
		{"empty", "", "must start with"},
		{"user info", strings.Replace(good, "gw.", "u:p@gw.", 1), "user info"},
		{"fragment", good + "#x", "fragments"},
		{"space inside", strings.Replace(good, "&", " &", 1), "white space"},
		{"path", strings.Replace(good, "/?", "/enroll?", 1), "unexpected path"},
		{"no query", "msg-enroll://gw.example.com:8444/", "no parameters"},
		{"no port", strings.Replace(good, ":8444", "", 1), "address: not HOST:PORT"},
		{"port 0", strings.Replace(good, ":8444", ":0", 1), "port must be"},
		{"port too big", strings.Replace(good, ":8444", ":65536", 1), "port must be"},
		{"port with leading zero", strings.Replace(good, ":8444", ":08444", 1), "port must be"},
		{"bad host", strings.Replace(good, "gw.example.com", "gw_x.example.com", 1), "neither a DNS name"},
		{"label starting with a dash", strings.Replace(good, "gw.", "-gw.", 1), "neither a DNS name"},
		{"empty label", strings.Replace(good, "gw.", "gw..", 1), "neither a DNS name"},
		{"bare IPv6", "msg-enroll://::1:8444/?s=" + testSecret + "&pin=" + testPin, "address"},
		{"IPv6 with zone", "msg-enroll://[fe80::1%25eth0]:8444/?s=" + testSecret + "&pin=" + testPin, "address"},
		{"IPv4 in brackets", "msg-enroll://[127.0.0.1]:8444/?s=" + testSecret + "&pin=" + testPin, "not an IPv6 address"},
		{"no secret", "msg-enroll://gw.example.com:8444/?pin=" + testPin, "parameter s (the secret) is missing"},
		{"no pin", "msg-enroll://gw.example.com:8444/?s=" + testSecret, "parameter pin is missing"},
		{"secret twice", good + "&s=" + testSecret, "parameter s given twice"},
		{"pin twice", good + "&pin=" + testPin, "parameter pin given twice"},
		{"unknown parameter", good + "&v=2", `unknown parameter "v"`},
		{"empty parameter", good + "&", `unknown parameter ""`},
		{"short secret", strings.Replace(good, testSecret, "q83vEjRWeJq83vEjRWeJ", 1), "shorter than 16 bytes"},
		{"padded secret", strings.Replace(good, testSecret, testSecret+"=", 1), "not unpadded base64url"},
		{"secret in std base64", strings.Replace(good, testSecret, strings.Replace(testSecret, "8", "+", 1), 1), "not unpadded base64url"},
		{"long secret", strings.Replace(good, testSecret, strings.Repeat("A", 200), 1), "longer than 128"},
		{"pin without hash name", strings.Replace(good, "sha256:", "", 1), `must start with "sha256:"`},
		{"pin of other hash", strings.Replace(good, "sha256:", "sha1:", 1), `must start with "sha256:"`},
		{"short pin", strings.Replace(good, testPin, testPin[:40], 1), "43 characters"},
		{"pin with non-canonical last char", strings.Replace(good, testPin, testPin[:len(testPin)-1]+"V", 1), "43 characters"},
		{"too long", good + strings.Repeat("x", 600), "longer than 512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := enrollment.ParseBundle(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseBundle: %v", err)
				}
				if b.Secret != testSecret || b.Pin.String() != testPin || b.Address != "gw.example.com:8444" {
					t.Errorf("got %+v", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseBundle(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}

func TestTokenID(t *testing.T) {
	t.Parallel()
	id := enrollment.TokenID(testSecret)
	if !strings.HasPrefix(id, "et-") || len(id) != 3+32 {
		t.Fatalf("TokenID = %q", id)
	}
	if id == enrollment.TokenID(testSecret[:len(testSecret)-1]+"1") {
		t.Error("two secrets have one id")
	}
	if strings.Contains(id, testSecret[:8]) {
		t.Error("the id shows the secret")
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, err := enrollment.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := enrollment.NewSecret()
	if a == b || enrollment.CheckSecret(a) != nil || len(a) != 43 {
		t.Errorf("NewSecret: %q, %q", a, b)
	}
}
