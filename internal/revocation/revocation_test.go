package revocation_test

import (
	"math/big"
	"testing"

	"github.com/msg-gateway/msg/internal/dn"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/internal/revocation"
)

// TestIDsMatchWhatAdminsWrite: the id an admin's revocation gets, from any
// spelling of the issuer, is the id the certificate is looked up under.
func TestIDsMatchWhatAdminsWrite(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("msg dev CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	fp, sn := revocation.IDs(leaf.Cert)
	if len(fp) != len("fp-")+64 || sn == "" {
		t.Fatalf("IDs = %q, %q", fp, sn)
	}
	serial := new(big.Int).Set(leaf.Cert.SerialNumber)
	for _, spelling := range []string{"CN=msg dev CA", "CN = msg dev CA", "cn=msg dev CA", "/CN=msg dev CA"} {
		issuer, err := dn.Parse(spelling)
		if err != nil {
			t.Fatal(err)
		}
		if got := revocation.SerialID(issuer, serial); got != sn {
			t.Errorf("SerialID(%q) = %q, want the certificate's %q", spelling, got, sn)
		}
	}
	other, _ := dn.Parse("CN=other CA")
	if revocation.SerialID(other, serial) == sn {
		t.Error("another issuer gives the same id")
	}
	if revocation.SerialID(mustParse(t, "CN=msg dev CA"), big.NewInt(1)) == sn {
		t.Error("another serial gives the same id")
	}
}

func mustParse(t *testing.T, s string) dn.Name {
	t.Helper()
	n, err := dn.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
