package tlsmaterial

import (
	"crypto/tls"
	"log/slog"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
)

// tls12Suites are the only TLS 1.2 suites offered: ECDHE key exchange (forward
// secrecy) with an AEAD cipher. TLS 1.3 suites are not configurable in Go and
// are all AEAD with forward secrecy.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// curves are the key exchanges offered: the post-quantum hybrid first, then
// X25519 and P-256. Nothing weaker.
var curves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}

// dataPlanePosture is the data plane's protocol posture, shared by every
// snapshot of its material: TLS 1.2 (ECDHE + AEAD only) or 1.3, strong
// curves, h2, client certificates required. Go's server never renegotiates.
func dataPlanePosture(minVersion uint16) *tls.Config {
	return &tls.Config{
		MinVersion:       minVersion,
		CipherSuites:     tls12Suites,
		CurvePreferences: curves,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		NextProtos:       []string{"h2"},
	}
}

// AdminConfig builds the HTTPS admin listener's TLS config from admin.tls:
// admin client certificates are verified against client_ca_file when a
// client offers one; callers without one must bring a bearer token. Errors
// are *fieldpath.Error naming the key at fault.
func AdminConfig(t *configv1.AdminTLS) (*tls.Config, error) {
	f := files{at: "admin.tls", cert: t.GetCertFile(), key: t.GetKeyFile(), ca: t.GetClientCaFile(), caKey: "client_ca_file",
		keyPairRequired: true}
	m, err := f.load(time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12Suites,
		Certificates: []tls.Certificate{*m.cert},
		ClientAuth:   tls.NoClientCert,
	}
	if m.pool != nil {
		conf.ClientCAs, conf.ClientAuth = m.pool, tls.VerifyClientCertIfGiven
	}
	return conf, nil
}

// EtcdConfig builds the etcd client's TLS config from store.etcd.tls; nil for
// none (no etcd, or insecure). Without ca_file the system roots verify the
// cluster. Errors are *fieldpath.Error naming the key at fault.
func EtcdConfig(t *configv1.EtcdTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	f := files{at: "store.etcd.tls", cert: t.GetCertFile(), key: t.GetKeyFile(), ca: t.GetCaFile(), caKey: "ca_file"}
	m, err := f.load(time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.GetServerName(), RootCAs: m.pool}
	if m.cert != nil {
		conf.Certificates = []tls.Certificate{*m.cert}
	}
	return conf, nil
}
