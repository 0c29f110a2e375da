package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/msg-gateway/msg/client"
	"github.com/msg-gateway/msg/internal/pki"
)

// TestFileStore: Save writes identity.pem with mode 0600 (the key) and
// leaves no temporary files; Load returns what was saved; an empty
// directory is ErrNoIdentity; a certificate paired with another key is
// refused.
func TestFileStore(t *testing.T) {
	ctx := context.Background()
	ca, err := pki.NewCA("anchor")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "id")
	st := client.NewFileStore(dir)
	if _, err := st.Load(ctx); !errors.Is(err, client.ErrNoIdentity) {
		t.Fatalf("Load of nothing: %v, want ErrNoIdentity", err)
	}
	id := &client.Identity{Certificate: [][]byte{leaf.Cert.Raw, ca.Cert.Raw}, Key: leaf.Key, TrustAnchor: ca.Cert.Raw,
		GatewayAddress: "gw.example.com:8443", EnrollAddress: "gw.example.com:8444", DeviceID: "dv-0000000000000001"}
	if err := st.Save(ctx, id); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the store, want 3 (no temporary files left)", len(entries))
	}
	for name, mode := range map[string]os.FileMode{client.IdentityFile: 0o600, client.TrustAnchorFile: 0o644, client.GatewayFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want mode %v", name, fi, err, mode)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
	got, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Certificate) != 2 || got.GatewayAddress != id.GatewayAddress || got.EnrollAddress != id.EnrollAddress ||
		got.DeviceID != id.DeviceID || string(got.TrustAnchor) != string(ca.Cert.Raw) || !got.Key.Public().(*ecdsa.PublicKey).Equal(leaf.Key.Public()) {
		t.Errorf("Load = %+v", got)
	}

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := *id
	bad.Key = other
	if err := st.Save(ctx, &bad); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx); err == nil {
		t.Error("Load accepted a certificate with another key")
	}
}
