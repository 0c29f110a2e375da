package enrollment_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/enrollment"
)

// bundleVector is one case of testdata/bundles.json, the cases that the
// Kotlin and TypeScript SDKs' bundle parsers are tested with too: this test
// keeps them true to ParseBundle.
type bundleVector struct {
	Name    string `json:"name"`
	Bundle  string `json:"bundle"`
	Error   string `json:"error"`
	Address string `json:"address"`
	Secret  string `json:"secret"`
	Pin     string `json:"pin"`
}

func TestParseBundleVectors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/bundles.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []bundleVector `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 40 {
		t.Fatalf("%d cases: the file lost some", len(file.Cases))
	}
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			b, err := enrollment.ParseBundle(tc.Bundle)
			if tc.Error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("ParseBundle(%q) error %v, want one containing %q", tc.Bundle, err, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBundle(%q): %v", tc.Bundle, err)
			}
			if b.Address != tc.Address || b.Secret != tc.Secret || b.Pin.String() != tc.Pin {
				t.Errorf("got %+v (pin %s), want %s %s %s", b, b.Pin, tc.Address, tc.Secret, tc.Pin)
			}
		})
	}
}
