package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/config"
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

// serverTLSConfig builds the data-plane TLS config: client certificates are
// required and verified against the configured CA bundle.
func serverTLSConfig(t *configv1.ServerTLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.GetCertFile(), t.GetKeyFile())
	if err != nil {
		return nil, &config.Error{Path: "tls.cert_file", Msg: "cannot load key pair: " + pathErr(err)}
	}
	caPEM, err := os.ReadFile(t.GetClientCaFile())
	if err != nil {
		return nil, &config.Error{Path: "tls.client_ca_file", Msg: "cannot read: " + pathErr(err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, &config.Error{Path: "tls.client_ca_file", Msg: "no PEM certificates found"}
	}
	minVersion := uint16(tls.VersionTLS12)
	if t.GetMinVersion() == "1.3" {
		minVersion = tls.VersionTLS13
	}
	return &tls.Config{
		MinVersion:       minVersion,
		CipherSuites:     tls12Suites,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        pool,
		NextProtos:       []string{"h2"},
	}, nil
}

func pathErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}
