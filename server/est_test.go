package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/server"
)

// tool runs a command in dir and returns its combined output; it fails the
// test when the command fails, unless allowFail.
func tool(t *testing.T, dir string, allowFail bool, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestESTWithOpenSSLAndCurl is issue 14's promise for standard EST
// clients: with nothing but openssl, curl and grpcurl a device gets the CA
// certificates, enrolls with a bearer secret, calls Forward with the
// certificate, re-enrolls with its current certificate for a new key, and
// calls Forward again; a wrong secret gets 401.
func TestESTWithOpenSSLAndCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl, curl and grpcurl")
	}
	for _, bin := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is needed (apt-get install %s): %v", bin, bin, err)
		}
	}
	t.Parallel()
	g := startEnrollGateway(t, server.Options{})
	if code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/rules", carolRule); code != 200 {
		t.Fatalf("create rule: %d %v", code, body)
	}
	tok := g.token(t, `{"identity":{"commonName":"carol"}}`)
	dir := t.TempDir()
	// The device knows the trust anchor (what the bundle pins); here the
	// test CA that signed the gateway's certificate.
	if err := os.WriteFile(filepath.Join(dir, "anchor.pem"), g.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	est := "https://" + g.enrollAddr + "/.well-known/est/"
	curl := func(allowFail bool, args ...string) string {
		return tool(t, dir, allowFail, "curl", append([]string{"--silent", "--show-error", "--cacert", "anchor.pem"}, args...)...)
	}
	// readCerts turns an EST answer (base64 PKCS #7 certs-only) into PEM.
	readCerts := func(b64, pemFile string) string {
		tool(t, dir, false, "openssl", "base64", "-d", "-in", b64, "-out", b64+".der")
		tool(t, dir, false, "openssl", "pkcs7", "-inform", "DER", "-in", b64+".der", "-print_certs", "-out", pemFile)
		return tool(t, dir, false, "openssl", "x509", "-in", pemFile, "-noout", "-subject", "-issuer", "-serial")
	}

	// cacerts: the trust anchor and the enrollment CA.
	curl(false, "--fail", "-o", "cacerts.b64", est+"cacerts")
	tool(t, dir, false, "openssl", "base64", "-d", "-in", "cacerts.b64", "-out", "cacerts.der")
	printed := tool(t, dir, false, "openssl", "pkcs7", "-inform", "DER", "-in", "cacerts.der", "-print_certs", "-noout")
	if !strings.Contains(printed, "subject=CN = test CA") || !strings.Contains(printed, "subject=CN = test enrollment CA") {
		t.Errorf("cacerts:\n%s", printed)
	}

	// simpleenroll: openssl makes the key and a CSR asking for another
	// subject; curl posts it with the secret.
	tool(t, dir, false, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "key.pem", "-subj", "/CN=admin/O=Ops", "-outform", "DER", "-out", "csr.der")
	tool(t, dir, false, "openssl", "base64", "-in", "csr.der", "-out", "csr.b64")
	out := curl(true, "-o", "wrong.txt", "-w", "%{http_code}", "-H", "Authorization: Bearer "+strings.Repeat("A", 43),
		"-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64", est+"simpleenroll")
	if body, _ := os.ReadFile(filepath.Join(dir, "wrong.txt")); out != "401" || !strings.Contains(string(body), "enrollment secret not accepted") {
		t.Errorf("simpleenroll with a wrong secret: %s %q", out, body)
	}
	curl(false, "--fail", "-o", "cert.b64", "-H", "Authorization: Bearer "+tok.GetSecret(),
		"-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64", est+"simpleenroll")
	info := readCerts("cert.b64", "cert.pem")
	if !strings.Contains(info, "subject=CN = carol\n") || !strings.Contains(info, "issuer=CN = test enrollment CA") {
		t.Fatalf("simpleenroll issued:\n%s", info)
	}
	firstSerial := info[strings.Index(info, "serial="):]

	forward := func(cert string) string {
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		return tool(t, dir, true, "go", "-C", root, "tool", "-modfile=tools/go.mod", "grpcurl",
			"-cacert", filepath.Join(dir, "anchor.pem"), "-cert", filepath.Join(dir, cert), "-key", filepath.Join(dir, "key.pem"),
			"-import-path", filepath.Join(root, "proto"), "-proto", "msg/gateway/v1/gateway.proto",
			"-d", `{"host":"demo.internal","method":"GET","path":"/hello"}`,
			g.addr, "msg.gateway.v1.GatewayService/Forward")
	}
	if out := forward("cert.pem"); !strings.Contains(out, `"statusCode": 201`) {
		t.Fatalf("grpcurl Forward with the EST certificate:\n%s", out)
	}

	// simplereenroll: the current certificate authenticates; a new key.
	tool(t, dir, false, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "key2.pem", "-subj", "/CN=carol", "-outform", "DER", "-out", "csr2.der")
	tool(t, dir, false, "openssl", "base64", "-in", "csr2.der", "-out", "csr2.b64")
	curl(false, "--fail", "-o", "cert2.b64", "--cert", "cert.pem", "--key", "key.pem",
		"-H", "Content-Type: application/pkcs10", "--data-binary", "@csr2.b64", est+"simplereenroll")
	info = readCerts("cert2.b64", "cert2.pem")
	if !strings.Contains(info, "subject=CN = carol\n") || strings.Contains(info, firstSerial) {
		t.Fatalf("simplereenroll issued:\n%s", info)
	}
	if err := os.Rename(filepath.Join(dir, "key2.pem"), filepath.Join(dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	if out := forward("cert2.pem"); !strings.Contains(out, `"statusCode": 201`) {
		t.Fatalf("grpcurl Forward with the re-enrolled certificate:\n%s", out)
	}

	// simplereenroll without a certificate is refused.
	out = curl(true, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/pkcs10", "--data-binary", "@csr2.b64", est+"simplereenroll")
	if out != "401" {
		t.Errorf("simplereenroll without a certificate: %s, want 401", out)
	}
}
