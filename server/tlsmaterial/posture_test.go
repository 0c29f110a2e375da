package tlsmaterial_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server/tlsmaterial"
)

// TestAdminConfig: admin.tls is read the same way as the data plane's files,
// every error names the key at fault, and admin client certificates are
// verified only when a CA bundle is given.
func TestAdminConfig(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("admin ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := leaf.WriteFiles(dir, "admin")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("ca.pem", ca.CertPEM())
	notPEM := write("not.pem", []byte("not a certificate"))
	// A good certificate followed by a block that does not parse: refused,
	// not silently shortened.
	broken := write("broken.pem", append(ca.CertPEM(), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")...))
	missing := filepath.Join(dir, "missing.pem")

	for _, tt := range []struct {
		name    string
		tls     *configv1.AdminTLS
		errPath fieldpath.Path // "": valid
	}{
		{"no cert", &configv1.AdminTLS{CertFile: missing, KeyFile: key}, "admin.tls.cert_file"},
		{"no key", &configv1.AdminTLS{CertFile: cert, KeyFile: missing}, "admin.tls.key_file"},
		{"key is not the cert's", &configv1.AdminTLS{CertFile: cert, KeyFile: cert}, "admin.tls.cert_file"},
		{"no CA", &configv1.AdminTLS{CertFile: cert, KeyFile: key, ClientCaFile: missing}, "admin.tls.client_ca_file"},
		{"CA not PEM", &configv1.AdminTLS{CertFile: cert, KeyFile: key, ClientCaFile: notPEM}, "admin.tls.client_ca_file"},
		{"CA with a broken block", &configv1.AdminTLS{CertFile: cert, KeyFile: key, ClientCaFile: broken}, "admin.tls.client_ca_file"},
		{"tokens only", &configv1.AdminTLS{CertFile: cert, KeyFile: key}, ""},
		{"client certificates", &configv1.AdminTLS{CertFile: cert, KeyFile: key, ClientCaFile: caFile}, ""},
	} {
		conf, err := tlsmaterial.AdminConfig(tt.tls)
		if tt.errPath != "" {
			var fe *fieldpath.Error
			if !errors.As(err, &fe) || fe.Path != tt.errPath {
				t.Errorf("%s: error %v, want one naming %s", tt.name, err, tt.errPath)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		want := tls.NoClientCert
		if tt.tls.GetClientCaFile() != "" {
			want = tls.VerifyClientCertIfGiven
		}
		if conf.ClientAuth != want || conf.MinVersion != tls.VersionTLS12 || len(conf.Certificates) != 1 {
			t.Errorf("%s: ClientAuth %v, MinVersion %x, %d certificates; want %v, TLS 1.2, 1",
				tt.name, conf.ClientAuth, conf.MinVersion, len(conf.Certificates), want)
		}
	}
}
