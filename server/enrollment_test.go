package server_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/client"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	enrollv1 "github.com/msg-gateway/msg/gen/msg/enroll/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/enroll"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// enrollGateway is a test gateway with device enrollment. Its enrollment CA
// is a root of its own, added to the client CA bundle next to the test CA
// (which signs the server certificate: the trust anchor bundles pin).
type enrollGateway struct {
	*gateway
	enrollAddr string
	enrollCA   *pki.CA
}

// enrollConfig adds an enroll section to a test gateway's config: listen
// on a port of the listener the test passes in, the CA in dir.
func enrollConfig(t testing.TB, dir string, ca *pki.CA, more ...func(*configv1.Enroll)) func(*configv1.Config) {
	return func(cfg *configv1.Config) {
		caCert, caKey, err := ca.WriteFiles(dir, "enroll-ca")
		if err != nil {
			t.Fatal(err)
		}
		// The client CA bundle: the test CA and the enrollment CA.
		bundle, err := os.ReadFile(cfg.GetTls().GetClientCaFile())
		if err != nil {
			t.Fatal(err)
		}
		clientCAs := filepath.Join(dir, "client-cas.pem")
		if err := os.WriteFile(clientCAs, append(bundle, ca.CertPEM()...), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.Tls.ClientCaFile = clientCAs
		cfg.Enroll = &configv1.Enroll{
			Listen:         "127.0.0.1:0",
			CaCertFile:     caCert,
			CaKeyFile:      caKey,
			CertLifetime:   durationpb.New(time.Hour),
			MaxTokenTtl:    durationpb.New(24 * time.Hour),
			RatePerSource:  1000,
			BurstPerSource: 1000,
		}
		for _, m := range more {
			m(cfg.Enroll)
		}
	}
}

func startEnrollGateway(t testing.TB, opts server.Options, mutate ...func(*configv1.Config)) *enrollGateway {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("test enrollment CA")
	if err != nil {
		t.Fatal(err)
	}
	opts.EnrollListener = lis
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = time.Second
	}
	mutate = append([]func(*configv1.Config){enrollConfig(t, t.TempDir(), ca)}, mutate...)
	g := startGatewayWith(t, nil, opts, mutate...)
	return &enrollGateway{gateway: g, enrollAddr: lis.Addr().String(), enrollCA: ca}
}

// token creates an enrollment token through REST and returns the create
// response.
func (g *enrollGateway) token(t testing.TB, body string) *adminv1.CreateEnrollmentTokenResponse {
	t.Helper()
	code, out := adminCall(t.(*testing.T), g.adminAddr, testEditorToken, "POST", "/v1/enrollmentTokens", body)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/enrollmentTokens %s: %d %v", body, code, out)
	}
	resp := &adminv1.CreateEnrollmentTokenResponse{}
	unmarshalJSON(t, mustJSON(out), resp)
	return resp
}

// enrollClient returns a gRPC EnrollmentService client on the enrollment
// listener, trusting the test CA, presenting certs when given.
func (g *enrollGateway) enrollClient(t testing.TB, certs ...tls.Certificate) enrollv1.EnrollmentServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(g.enrollAddr, grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{RootCAs: g.ca.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return enrollv1.NewEnrollmentServiceClient(conn)
}

func newCSR(t testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	if tmpl == nil {
		tmpl = &x509.CertificateRequest{}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func p256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func errorReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

const carolRule = `{"id":"carol-demo","effect":"EFFECT_ALLOW","principals":[{"id":"carol"}],"hosts":["demo.internal"]}`

// TestEnrollEndToEnd is issue 14's first promise: a bundle from POST
// /v1/enrollmentTokens, client.Enroll, and Forward allowed by a rule on the
// granted identity; the device and the audit trail record it, and the
// single-use token is gone.
func TestEnrollEndToEnd(t *testing.T) {
	t.Parallel()
	g := startEnrollGateway(t, server.Options{})
	if code, body := adminCall(t, g.adminAddr, testEditorToken, "POST", "/v1/rules", carolRule); code != 200 {
		t.Fatalf("create rule: %d %v", code, body)
	}
	tok := g.token(t, `{"identity":{"commonName":"carol","organizationalUnits":["mobile"]},"description":"Carol's phone"}`)
	if !strings.HasPrefix(tok.GetBundle(), "msg-enroll://"+g.enrollAddr+"/?s="+tok.GetSecret()+"&pin=sha256:") {
		t.Fatalf("bundle %q", tok.GetBundle())
	}
	if et := tok.GetEnrollmentToken(); et.GetMaxUses() != 1 || et.GetCreator() != "test-editor" || et.GetCertLifetime().AsDuration() != time.Hour ||
		et.GetExpireTime().AsTime().Sub(et.GetCreateTime().AsTime()) != 24*time.Hour {
		t.Errorf("stored token = %v", et)
	}
	// The secret is shown once: the stored token never carries it.
	code, listed := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/enrollmentTokens", "")
	if code != 200 || strings.Contains(mustJSON(listed), tok.GetSecret()) || !strings.Contains(mustJSON(listed), tok.GetEnrollmentToken().GetId()) {
		t.Fatalf("GET /v1/enrollmentTokens: %d %v", code, listed)
	}

	store := client.NewFileStore(t.TempDir())
	id, err := client.Enroll(context.Background(), tok.GetBundle(), store)
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if id.GatewayAddress != g.addr || id.EnrollAddress != g.enrollAddr || !strings.HasPrefix(id.DeviceID, "dv-") {
		t.Errorf("identity addresses %q %q, device %q", id.GatewayAddress, id.EnrollAddress, id.DeviceID)
	}
	leaf, _ := id.Leaf()
	if leaf.Subject.CommonName != "carol" || strings.Join(leaf.Subject.OrganizationalUnit, ",") != "mobile" {
		t.Errorf("issued subject %v", leaf.Subject)
	}

	tr, err := client.New("", client.WithIdentityStore(store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://demo.internal/hello")
	if err != nil {
		t.Fatalf("Forward as the enrolled carol: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != "GET /base/hello " {
		t.Errorf("Forward: %d %q", resp.StatusCode, body)
	}

	// The device record, and the single-use token is gone.
	code, dev := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/devices/"+id.DeviceID, "")
	d := &adminv1.GetDeviceResponse{}
	unmarshalJSON(t, mustJSON(dev), d)
	if code != 200 || d.GetDevice().GetTokenId() != tok.GetEnrollmentToken().GetId() || d.GetDevice().GetIdentity().GetCommonName() != "carol" ||
		d.GetDevice().GetCertificate().GetSerialHex() != leaf.SerialNumber.Text(16) || d.GetDevice().GetDescription() != "Carol's phone" {
		t.Errorf("GET /v1/devices/%s: %d %v", id.DeviceID, code, dev)
	}
	if code, _ := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/enrollmentTokens/"+tok.GetEnrollmentToken().GetId(), ""); code != http.StatusNotFound {
		t.Errorf("the spent token: GET %d, want 404", code)
	}

	// The same secret a second time is refused.
	_, err = client.Enroll(context.Background(), tok.GetBundle(), client.NewFileStore(t.TempDir()))
	var cerr *client.Error
	if !errors.As(err, &cerr) || cerr.Code != codes.Unauthenticated || cerr.Reason != enroll.ErrorReasonEnrollmentRefused {
		t.Errorf("the secret again: %v, want Unauthenticated %s", err, enroll.ErrorReasonEnrollmentRefused)
	}

	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, audit := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?kind=RECORD_KIND_ENROLL", "")
	recs := records(audit)
	if len(recs) != 2 || recs[0]["decision"] != "DECISION_DENY" || recs[0]["reason"] != "unknown_token" ||
		recs[1]["decision"] != "DECISION_ALLOW" || recs[1]["principal"] != "carol" || recs[1]["adminTarget"] != "devices/"+id.DeviceID ||
		recs[1]["certSerialHex"] != leaf.SerialNumber.Text(16) || !strings.HasPrefix(recs[1]["sourceAddress"].(string), "127.0.0.1:") {
		t.Errorf("enrollment audit records = %v", recs)
	}
	if got, _ := metricValue(g.scrape(t), "msg_enroll_total", "protocol", "grpc", "result", "issued", "reason", "issued"); got != 1 {
		t.Errorf("msg_enroll_total{issued} = %v, want 1", got)
	}
	if got, _ := metricValue(g.scrape(t), "msg_enroll_total", "protocol", "grpc", "result", "refused", "reason", "unknown_token"); got != 1 {
		t.Errorf("msg_enroll_total{unknown_token} = %v, want 1", got)
	}
}

// TestEnrollRefusals: an expired secret, a deleted token and a wrong pin
// are refused, each before anything is issued; a wrong pin fails before
// the secret is sent, so the secret still works afterwards.
func TestEnrollRefusals(t *testing.T) {
	t.Parallel()
	g := startEnrollGateway(t, server.Options{})

	// Expired: a token valid for a second, used once that second is over.
	expire := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
	short := g.token(t, `{"identity":{"commonName":"carol"},"expireTime":"`+expire+`"}`)
	for time.Now().Before(short.GetEnrollmentToken().GetExpireTime().AsTime().Add(10 * time.Millisecond)) {
		time.Sleep(20 * time.Millisecond)
	}
	wantRefused(t, "an expired secret", enrollWith(g, short.GetBundle()))

	// Deleted.
	del := g.token(t, `{"identity":{"commonName":"carol"}}`)
	if code, body := adminCall(t, g.adminAddr, testEditorToken, "DELETE",
		"/v1/enrollmentTokens/"+del.GetEnrollmentToken().GetId()+"?etag="+del.GetEnrollmentToken().GetEtag(), ""); code != 200 {
		t.Fatalf("delete token: %d %v", code, body)
	}
	wantRefused(t, "a deleted token's secret", enrollWith(g, del.GetBundle()))

	// A secret that never was, of the right form.
	never := strings.Replace(del.GetBundle(), del.GetSecret(), strings.Repeat("A", 43), 1)
	wantRefused(t, "an unknown secret", enrollWith(g, never))

	// A wrong pin: refused before the secret is sent.
	good := g.token(t, `{"identity":{"commonName":"carol"}}`)
	other, _ := pki.NewCA("some other CA")
	u, _ := url.Parse(good.GetBundle())
	q := u.Query()
	q.Set("pin", "sha256:"+base64.RawURLEncoding.EncodeToString(sha256Of(other.Cert.Raw)))
	wrongPin := "msg-enroll://" + u.Host + "/?s=" + q.Get("s") + "&pin=" + q.Get("pin")
	if err := enrollWith(g, wrongPin); !errors.Is(err, client.ErrPinMismatch) {
		t.Errorf("a wrong pin: %v, want ErrPinMismatch", err)
	}
	if err := enrollWith(g, good.GetBundle()); err != nil {
		t.Errorf("the secret after the wrong-pin attempt: %v (the attempt must not have sent it)", err)
	}

	// Every refusal has the one message: no oracle for which tokens exist.
	if err := g.srv.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, audit := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/audit?kind=RECORD_KIND_ENROLL&decision=DECISION_DENY", "")
	var reasons []string
	for _, r := range records(audit) {
		reasons = append(reasons, r["reason"].(string))
	}
	if got := strings.Join(reasons, ","); got != "unknown_token,unknown_token,token_expired" {
		t.Errorf("refusals audited as %s", got)
	}
}

func sha256Of(b []byte) []byte {
	d := crypto.SHA256.New()
	d.Write(b)
	return d.Sum(nil)
}

func enrollWith(g *enrollGateway, bundle string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "enroll-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	_, err = client.Enroll(ctx, bundle, client.NewFileStore(dir))
	return err
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	var cerr *client.Error
	if !errors.As(err, &cerr) || cerr.Code != codes.Unauthenticated || cerr.Reason != enroll.ErrorReasonEnrollmentRefused || cerr.Message != "enrollment secret not accepted" {
		t.Errorf("%s: %v, want Unauthenticated %q (%s)", what, err, "enrollment secret not accepted", enroll.ErrorReasonEnrollmentRefused)
	}
}

// TestEnrollIdentityFromTokenOnly: a CSR asking for another subject and
// SANs gets the token's identity anyway; weak keys and bad signatures are
// refused without spending the token.
func TestEnrollIdentityFromTokenOnly(t *testing.T) {
	t.Parallel()
	g := startEnrollGateway(t, server.Options{})
	c := g.enrollClient(t)
	ctx := context.Background()
	tok := g.token(t, `{"identity":{"commonName":"carol","organizations":["Example"],"spiffeId":"spiffe://example.org/app/carol"},"maxUses":10}`)
	secret := tok.GetSecret()

	admin, _ := url.Parse("spiffe://example.org/admin")
	spoof := &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "admin", Organization: []string{"Ops"}, OrganizationalUnit: []string{"root"}},
		DNSNames:       []string{"gateway.example.org"},
		EmailAddresses: []string{"admin@example.org"},
		IPAddresses:    []net.IP{net.IPv4(10, 0, 0, 1)},
		URIs:           []*url.URL{admin},
		ExtraExtensions: []pkix.Extension{
			{Id: []int{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0x03, 0x01, 0x01, 0xff}}, // basicConstraints CA:TRUE
		},
	}
	resp, err := c.Enroll(ctx, &enrollv1.EnrollRequest{Secret: secret, Csr: newCSR(t, p256(t), spoof)})
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	leaf, err := x509.ParseCertificate(resp.GetCertificateChain()[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "carol" || strings.Join(leaf.Subject.Organization, ",") != "Example" || len(leaf.Subject.OrganizationalUnit) != 0 ||
		len(leaf.DNSNames) != 0 || len(leaf.EmailAddresses) != 0 || len(leaf.IPAddresses) != 0 ||
		len(leaf.URIs) != 1 || leaf.URIs[0].String() != "spiffe://example.org/app/carol" || leaf.IsCA ||
		len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("issued certificate: subject %v, DNS %v, emails %v, IPs %v, URIs %v, CA %v, EKU %v",
			leaf.Subject, leaf.DNSNames, leaf.EmailAddresses, leaf.IPAddresses, leaf.URIs, leaf.IsCA, leaf.ExtKeyUsage)
	}
	if len(resp.GetCertificateChain()) != 2 || !g.enrollCA.Cert.Equal(mustParse(t, resp.GetCertificateChain()[1])) {
		t.Errorf("chain: %d certificates, want the leaf and the enrollment CA", len(resp.GetCertificateChain()))
	}

	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enroll(ctx, &enrollv1.EnrollRequest{Secret: secret, Csr: newCSR(t, edKey, nil)}); err != nil {
		t.Errorf("Ed25519: %v", err)
	}
	if _, err := c.Enroll(ctx, &enrollv1.EnrollRequest{Secret: secret, Csr: newCSR(t, rsa2048, nil)}); err != nil {
		t.Errorf("RSA 2048: %v", err)
	}

	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	badSig := newCSR(t, p256(t), nil)
	badSig[len(badSig)-3] ^= 0xff
	sha1CSR := newCSR(t, rsa2048, &x509.CertificateRequest{SignatureAlgorithm: x509.SHA1WithRSA})
	for _, tc := range []struct {
		name, want string
		csr        []byte
	}{
		{"RSA 1024", "csr: RSA keys must have 2048 to 8192 bits, not 1024", newCSR(t, rsa1024, nil)},
		{"ECDSA P-384", "csr: ECDSA keys must be on P-256", newCSR(t, p384, nil)},
		{"SHA-1 signature", "csr: signature algorithm SHA1-RSA is not accepted", sha1CSR},
		{"bad signature", "csr: the signature does not verify", badSig},
		{"not a CSR", "csr: not a PKCS #10", []byte("hello")},
		{"empty", "csr: required", nil},
	} {
		_, err := c.Enroll(ctx, &enrollv1.EnrollRequest{Secret: secret, Csr: tc.csr})
		if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), tc.want) {
			t.Errorf("%s: %v, want InvalidArgument %q", tc.name, err, tc.want)
		}
	}
	// Refused requests spent nothing: 3 of 10 uses are gone.
	_, got := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/enrollmentTokens/"+tok.GetEnrollmentToken().GetId(), "")
	if uses := got["enrollmentToken"].(map[string]any)["uses"]; uses != float64(3) {
		t.Errorf("uses = %v, want 3", uses)
	}
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEnrollListenerServesNothingElse: a connection without a client
// certificate reaches nothing but enrollment. The data plane refuses it in
// the handshake; on the enrollment listener Forward, the admin API, health
// and the admin HTTP routes do not exist.
func TestEnrollListenerServesNothingElse(t *testing.T) {
	t.Parallel()
	g := startEnrollGateway(t, server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The data plane: no certificate, no handshake.
	raw, err := tls.Dial("tcp", g.addr, &tls.Config{RootCAs: g.ca.Pool(), NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err == nil {
		// TLS 1.3 reports the client's missing certificate on the first read.
		_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = raw.Read(make([]byte, 1))
		raw.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("data plane without a certificate: %v, want the handshake refused (certificate required)", err)
	}
	if _, err := forward(t, g.dial(t), get("demo.internal", "/hello")); status.Code(err) != codes.Unavailable {
		t.Errorf("Forward on the data plane without a certificate: %v, want Unavailable (no connection)", err)
	}

	// The enrollment listener, without a certificate: enrollment only.
	conn, err := grpc.NewClient(g.enrollAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: g.ca.Pool(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = gatewayv1.NewGatewayServiceClient(conn).Forward(ctx, get("demo.internal", "/hello"))
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Forward on the enrollment listener: %v, want Unimplemented", err)
	}
	_, err = adminv1.NewAdminServiceClient(conn).ListHosts(ctx, &adminv1.ListHostsRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("AdminService on the enrollment listener: %v, want Unimplemented", err)
	}
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("health on the enrollment listener: %v, want Unimplemented", err)
	}
	// The same with alice's valid certificate: a certificate opens nothing
	// more here.
	conn2, err := grpc.NewClient(g.enrollAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(t, "alice")}, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := gatewayv1.NewGatewayServiceClient(conn2).Forward(ctx, get("demo.internal", "/hello")); status.Code(err) != codes.Unimplemented {
		t.Errorf("Forward with a certificate on the enrollment listener: %v, want Unimplemented", err)
	}

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.ca.Pool(), MinVersion: tls.VersionTLS12}}}
	for _, path := range []string{"/v1/hosts", "/v1/status", "/metrics", "/healthz", "/readyz", "/openapi.json", "/console/", "/.well-known/est/fullcmc", "/.well-known/est/other/cacerts"} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+g.enrollAddr+path, nil)
		req.Header.Set("Authorization", "Bearer "+testEditorToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the enrollment listener: %d, want 404", path, resp.StatusCode)
		}
	}
}

func unmarshalJSON(t testing.TB, s string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(s), m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
}

// TestEnrollCAMustChainToClientCAs: an issuing CA that tls.client_ca_file
// does not trust fails `check` and the start, naming the key; so does a
// key that is not the CA's.
func TestEnrollCAMustChainToClientCAs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := ca.Issue(pki.Localhost())
	certFile, keyFile, err := srv.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := pki.NewCA("untrusted enrollment CA")
	sCert, sKey, err := stranger.WriteFiles(dir, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	_, caKey, err := ca.WriteFiles(dir, "client-ca")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"not trusted", sCert, sKey, "enroll.ca_cert_file: does not chain to tls.client_ca_file"},
		{"another key", caFile, sKey, "enroll.ca_key_file: is not the key of the first certificate"},
		{"trusted", caFile, caKey, ""},
	} {
		yaml := fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %q\ntls: {cert_file: %q, key_file: %q, client_ca_file: %q}\nenroll: {listen: 127.0.0.1:0, ca_cert_file: %q, ca_key_file: %q}\n",
			filepath.Join(dir, "data-"+strings.ReplaceAll(tc.name, " ", "-")), certFile, keyFile, caFile, tc.cert, tc.key)
		cfg, err := config.Parse([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		err = server.Check(cfg)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: Check: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check: %v, want %q", tc.name, err, tc.want)
		}
		if _, err := server.New(cfg, server.Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New: %v, want %q", tc.name, err, tc.want)
		}
	}
}
