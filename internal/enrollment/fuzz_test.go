package enrollment_test

import (
	"testing"

	"github.com/msg-gateway/msg/internal/enrollment"
)

// FuzzParseBundle: whatever a QR code or a paste holds, ParseBundle returns
// an error or a bundle that writes itself back to an input it accepts
// unchanged.
func FuzzParseBundle(f *testing.F) {
	f.Add("msg-enroll://gw.example.com:8444/?s=" + testSecret + "&pin=" + testPin)
	f.Add("msg-enroll://[::1]:8444?pin=" + testPin + "&s=" + testSecret)
	f.Add("msg-enroll://127.0.0.1:65535/?s=AAAAAAAAAAAAAAAAAAAAAA&pin=sha256:")
	f.Fuzz(func(t *testing.T, in string) {
		b, err := enrollment.ParseBundle(in)
		if err != nil {
			return
		}
		again, err := enrollment.ParseBundle(b.String())
		if err != nil {
			t.Fatalf("ParseBundle(%q) accepted, its String %q not: %v", in, b.String(), err)
		}
		if again != b {
			t.Fatalf("round trip changed %+v into %+v", b, again)
		}
	})
}
