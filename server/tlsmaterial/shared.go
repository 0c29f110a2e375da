package tlsmaterial

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"sync/atomic"
)

// This file lends the data plane's material to another listener of the
// gateway, the device enrollment listener (package server/enroll), which
// serves with the same certificate and posture but does not require a
// client certificate.

// CheckClientChain reports whether a verified client chain (leaf first,
// anchor last) is weaker than the data plane's posture, as the handshake
// checks it: the enrollment CA's certificates must pass, or no device it
// enrolls could connect.
func CheckClientChain(chain []*x509.Certificate) error { return checkClientChain(chain) }

// Certificate returns the gateway's certificate in force (tls.cert_file):
// its chain, leaf first, and key.
func (d *DataPlane) Certificate() tls.Certificate { return *d.cur.Load().material.cert }

// OptionalClientCertConfig returns the TLS config of a listener that
// presents the data plane's certificate in force, followed by the extra
// DER certificates it lacks (a trust anchor a client pins), with the data
// plane's protocol posture, HTTP/2 and HTTP/1.1, and verifies a client
// certificate against the client CAs in force when one is offered, without
// requiring one. Reloaded material applies to new handshakes.
func (d *DataPlane) OptionalClientCertConfig(extra ...[]byte) *tls.Config {
	type built struct {
		snap *snapshot
		conf *tls.Config
	}
	var cache atomic.Pointer[built]
	base := dataPlanePosture(d.minVersion)
	base.ClientAuth = tls.VerifyClientCertIfGiven
	base.NextProtos = []string{"h2", "http/1.1"}
	out := base.Clone()
	out.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		snap := d.cur.Load()
		if b := cache.Load(); b != nil && b.snap == snap {
			return b.conf, nil
		}
		cert := *snap.material.cert
		cert.Certificate = slices.Clone(cert.Certificate)
		for _, der := range extra {
			if !slices.ContainsFunc(cert.Certificate, func(c []byte) bool { return string(c) == string(der) }) {
				cert.Certificate = append(cert.Certificate, der)
			}
		}
		conf := base.Clone()
		conf.Certificates = []tls.Certificate{cert}
		conf.ClientCAs = snap.material.pool
		cache.Store(&built{snap: snap, conf: conf})
		return conf, nil
	}
	return out
}
