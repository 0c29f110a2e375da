package tlsmaterial

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
)

// DataPlane is the data plane's TLS: the material of the config's tls
// section, the handshake that checks client chains against it, and the
// connections it authenticated. It loads the files, swaps in a new snapshot
// when they change (without touching open connections, which keep the
// config they were handshaken with) and rotates session ticket keys. A load
// that fails keeps the previous snapshot.
type DataPlane struct {
	files      files
	minVersion uint16
	log        *slog.Logger
	// revocation is every revocation source, composed once: the CRLs in
	// force, then the sources given to NewDataPlane. It is consulted in
	// every handshake and when open connections are swept.
	revocation authz.RevocationCheckers
	conns      *connections

	cur atomic.Pointer[snapshot]

	mu         sync.Mutex // serializes loads and key rotations
	ticketKeys [][32]byte
	stamps     map[string]fileStamp // of the last load attempt
}

// snapshot is the material in force and the tls.Config built from it, which
// every new handshake uses.
type snapshot struct {
	material *material
	config   *tls.Config
}

// NewDataPlane loads the files of the config's tls section. Handshakes and
// [DataPlane.Revocation] consult its CRL files first, then revoked (nil:
// nothing else). Errors are *fieldpath.Error naming the key at fault; log
// (nil: discard) receives reloads and refused handshakes.
func NewDataPlane(t *configv1.ServerTLS, revoked authz.RevocationChecker, log *slog.Logger) (*DataPlane, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DataPlane{
		files: files{at: "tls", cert: t.GetCertFile(), key: t.GetKeyFile(), ca: t.GetClientCaFile(), caKey: "client_ca_file",
			crls: t.GetCrlFiles(), keyPairRequired: true, caRequired: true},
		minVersion: tls.VersionTLS12,
		log:        log,
		conns:      newConnections(log),
	}
	d.revocation = authz.RevocationCheckers{crlsInForce{d}, revoked}
	if t.GetMinVersion() == "1.3" {
		d.minVersion = tls.VersionTLS13
	}
	key, err := newTicketKey()
	if err != nil {
		return nil, err
	}
	d.ticketKeys = [][32]byte{key}
	if _, err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// Config returns the tls.Config to hand to the gRPC credentials. It carries
// the fixed posture; the certificate, the client CAs and the handshake's
// checks come from the snapshot in force at each handshake.
func (d *DataPlane) Config() *tls.Config {
	base := dataPlanePosture(d.minVersion)
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return d.cur.Load().config, nil
	}
	return base
}

// snapshotConfig builds the per-handshake config for m. Called with mu
// held.
func (d *DataPlane) snapshotConfig(m *material) *tls.Config {
	c := dataPlanePosture(d.minVersion)
	c.Certificates = []tls.Certificate{*m.cert}
	c.ClientCAs = m.pool
	c.VerifyConnection = d.verifyConnection
	c.SetSessionTicketKeys(d.ticketKeys)
	return c
}

// verifyConnection runs after crypto/tls verified the client's chain, on
// full and resumed handshakes alike: a chain weaker than the posture, or a
// revoked certificate anywhere in it, ends the handshake.
func (d *DataPlane) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("msg-gateway: no verified client certificate chain")
	}
	if err := checkClientChain(cs.VerifiedChains[0]); err != nil {
		leaf := cs.VerifiedChains[0][0]
		d.log.Info("tls: refused a weak client certificate",
			"subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16), "error", err.Error())
		return err
	}
	for _, c := range cs.VerifiedChains[0] {
		if revoked, reason := d.revocation.Revoked(c); revoked {
			d.log.Info("tls: refused a revoked client certificate",
				"subject", c.Subject.String(), "serial", c.SerialNumber.Text(16), "reason", reason)
			return errors.New("msg-gateway: client certificate revoked")
		}
	}
	return nil
}

// Revocation is every revocation source the handshake consults, in order:
// the CRLs in force, then those given to [NewDataPlane]. The per-request
// authentication consults the same.
func (d *DataPlane) Revocation() authz.RevocationChecker { return d.revocation }

// crlsInForce is the revocation source of the CRL files: those of the
// snapshot in force at each call.
type crlsInForce struct{ d *DataPlane }

func (c crlsInForce) Revoked(cert *x509.Certificate) (bool, string) {
	return c.d.cur.Load().material.crls.Revoked(cert)
}

// ClientCAs returns the client CA certificates in force.
func (d *DataPlane) ClientCAs() []*x509.Certificate {
	return d.cur.Load().material.cas
}

// Track makes conn, just handshaken with the verified client chain, one of
// the connections that close when a certificate of chain expires or is
// revoked. chain must not be empty.
func (d *DataPlane) Track(conn net.Conn, chain []*x509.Certificate) net.Conn {
	return d.conns.track(conn, chain)
}

// CloseRevoked closes every tracked connection whose client chain a
// revocation source now refuses, and returns how many it closed. Call it
// after a revocation source changed; a reload of the CRLs does it itself.
func (d *DataPlane) CloseRevoked() int {
	return d.conns.closeRevoked(d.revocation)
}

// Reload reads the files again, unconditionally, and applies them to new
// handshakes when they are valid; open connections whose client certificate
// a new CRL revokes are closed. On error the previous snapshot stays in
// force, and the error, naming the key at fault, is logged and returned.
func (d *DataPlane) Reload() error {
	changed, err := d.load()
	if err != nil {
		d.log.Error("tls reload failed: keeping the previous certificate, client CAs and CRLs", "error", err.Error())
		return err
	}
	if changed {
		d.logLoaded("tls reloaded")
	}
	d.CloseRevoked()
	return nil
}

// Watch polls the files every `every` and rotates the session ticket keys
// until ctx is done. Files that changed are reloaded as [DataPlane.Reload]
// does; files that do not load are reported once, not on every poll.
func (d *DataPlane) Watch(ctx context.Context, every time.Duration) {
	poll := time.NewTicker(every)
	defer poll.Stop()
	rotate := time.NewTicker(ticketKeyRotation)
	defer rotate.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if d.poll() {
				d.CloseRevoked()
			}
		case <-rotate.C:
			if err := d.rotateTicketKeys(); err != nil {
				d.log.Error("tls: rotating session ticket keys", "error", err.Error())
			}
		}
	}
}
