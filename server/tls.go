package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
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

// Session ticket keys: a new key every ticketKeyRotation, the previous ones
// kept for decryption, so a ticket is accepted for up to
// ticketKeyRotation*ticketKeysKept after it was issued (and never after the
// client certificate in it expires: crypto/tls checks that on resumption).
const (
	ticketKeyRotation = 12 * time.Hour
	ticketKeysKept    = 3
)

// tlsMaterial is one consistent load of the TLS files. It is immutable.
type tlsMaterial struct {
	cert      tls.Certificate
	clientCAs *x509.CertPool
	// caCerts are the certificates of clientCAs, for the admin API, which
	// checks that a revocation's issuer is one of them.
	caCerts []*x509.Certificate
	crls    *crlSet
}

// tlsSnapshot is the material in force and the tls.Config built from it,
// which every new handshake uses.
type tlsSnapshot struct {
	material *tlsMaterial
	config   *tls.Config
}

// tlsManager owns the data-plane TLS state: it loads the files, swaps in a
// new snapshot when they change (without touching open connections, which
// keep the config they were handshaken with) and rotates session ticket
// keys. A load that fails keeps the previous snapshot.
type tlsManager struct {
	files      *configv1.ServerTLS
	minVersion uint16
	log        *slog.Logger
	// revoked is the composed revocation check (CRLs and whatever else the
	// server plugs in); it is consulted in every handshake.
	revoked authz.RevocationChecker

	cur atomic.Pointer[tlsSnapshot]

	mu         sync.Mutex // serializes loads and key rotations
	ticketKeys [][32]byte
	stamps     map[string]fileStamp // of the last load attempt
}

// fileStamp identifies one version of a file's content.
type fileStamp struct {
	size    int64
	modTime time.Time
	sum     [sha256.Size]byte
	err     string
}

// newTLSManager loads the TLS files named in t. Errors are *fieldpath.Error
// naming the key at fault.
func newTLSManager(t *configv1.ServerTLS, revoked authz.RevocationChecker, log *slog.Logger) (*tlsManager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &tlsManager{files: t, minVersion: tls.VersionTLS12, log: log, revoked: revoked}
	if t.GetMinVersion() == "1.3" {
		m.minVersion = tls.VersionTLS13
	}
	key, err := newTicketKey()
	if err != nil {
		return nil, err
	}
	m.ticketKeys = [][32]byte{key}
	if _, err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

// serverConfig returns the tls.Config to hand to the gRPC credentials. It
// carries the fixed posture; the certificate, the client CAs and the
// revocation check come from the snapshot in force at each handshake.
func (m *tlsManager) serverConfig() *tls.Config {
	base := m.postureConfig()
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return m.cur.Load().config, nil
	}
	return base
}

// postureConfig is the protocol posture shared by every snapshot: TLS 1.2
// (ECDHE + AEAD only) or 1.3, strong curves, h2, client certs required. Go's
// server never renegotiates.
func (m *tlsManager) postureConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       m.minVersion,
		CipherSuites:     tls12Suites,
		CurvePreferences: curves,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		NextProtos:       []string{"h2"},
	}
}

// reload loads the files again, unconditionally, and swaps the snapshot in
// when they are valid. On error the previous snapshot stays in force.
func (m *tlsManager) reload() error {
	changed, err := m.load()
	if err != nil {
		m.log.Error("tls reload failed: keeping the previous certificate, client CAs and CRLs", "error", err.Error())
		return err
	}
	if changed {
		m.logLoaded("tls reloaded")
	}
	return nil
}

// poll reloads when a file's size, mtime or content changed since the last
// attempt. A broken state is reported once, not on every poll.
func (m *tlsManager) poll() (reloaded bool) {
	m.mu.Lock()
	stamps := m.stampFiles()
	same := maps.Equal(stamps, m.stamps)
	m.mu.Unlock()
	if same {
		return false
	}
	changed, err := m.load()
	if err != nil {
		m.log.Error("tls files changed but do not load: keeping the previous certificate, client CAs and CRLs", "error", err.Error())
		return false
	}
	if changed {
		m.logLoaded("tls files changed: reloaded")
	}
	return changed
}

func (m *tlsManager) logLoaded(msg string) {
	mat := m.cur.Load().material
	attrs := []any{"crls", mat.crls.count()}
	if leaf := mat.cert.Leaf; leaf != nil {
		attrs = append(attrs, "cert_serial", leaf.SerialNumber.Text(16), "cert_not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	m.log.Info(msg, attrs...)
}

// load reads every file, builds the material and, when it is valid and
// differs from the one in force, swaps in a new snapshot.
func (m *tlsManager) load() (changed bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	stamps := m.stampFiles()
	m.stamps = stamps
	mat, err := loadTLSMaterial(m.files, time.Now(), m.log)
	if err != nil {
		return false, err
	}
	if cur := m.cur.Load(); cur != nil && sameMaterial(cur.material, mat) {
		return false, nil
	}
	m.cur.Store(&tlsSnapshot{material: mat, config: m.snapshotConfig(mat)})
	return true, nil
}

// snapshotConfig builds the per-handshake config for mat. Called with mu
// held.
func (m *tlsManager) snapshotConfig(mat *tlsMaterial) *tls.Config {
	c := m.postureConfig()
	c.Certificates = []tls.Certificate{mat.cert}
	c.ClientCAs = mat.clientCAs
	c.VerifyConnection = m.verifyConnection
	c.SetSessionTicketKeys(m.ticketKeys)
	return c
}

// verifyConnection runs after crypto/tls verified the client's chain, on
// full and resumed handshakes alike: a chain weaker than the posture, or a
// revoked certificate anywhere in it, ends the handshake.
func (m *tlsManager) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("msg-gateway: no verified client certificate chain")
	}
	if err := checkClientChain(cs.VerifiedChains[0]); err != nil {
		leaf := cs.VerifiedChains[0][0]
		m.log.Info("tls: refused a weak client certificate",
			"subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16), "error", err.Error())
		return err
	}
	if m.revoked == nil {
		return nil
	}
	for _, c := range cs.VerifiedChains[0] {
		if revoked, reason := m.revoked.Revoked(c); revoked {
			m.log.Info("tls: refused a revoked client certificate",
				"subject", c.Subject.String(), "serial", c.SerialNumber.Text(16), "reason", reason)
			return errors.New("msg-gateway: client certificate revoked")
		}
	}
	return nil
}

// Revoked reports whether a CRL in force lists c. It makes the manager an
// [authz.RevocationChecker].
func (m *tlsManager) Revoked(c *x509.Certificate) (bool, string) {
	return m.cur.Load().material.crls.Revoked(c)
}

// clientCAs returns the client CA certificates in force.
func (m *tlsManager) clientCAs() []*x509.Certificate {
	return m.cur.Load().material.caCerts
}

// rotateTicketKeys puts a fresh session ticket key first and keeps the
// previous ones for decryption only.
func (m *tlsManager) rotateTicketKeys() error {
	key, err := newTicketKey()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := append([][32]byte{key}, m.ticketKeys...)
	if len(keys) > ticketKeysKept {
		keys = keys[:ticketKeysKept]
	}
	m.ticketKeys = keys
	m.cur.Load().config.SetSessionTicketKeys(keys)
	return nil
}

func newTicketKey() ([32]byte, error) {
	var k [32]byte
	if _, err := io.ReadFull(rand.Reader, k[:]); err != nil {
		return k, fmt.Errorf("session ticket key: %w", err)
	}
	return k, nil
}

// watchedFiles are the files whose change triggers a reload.
func (m *tlsManager) watchedFiles() []string {
	files := []string{m.files.GetCertFile(), m.files.GetKeyFile(), m.files.GetClientCaFile()}
	return append(files, m.files.GetCrlFiles()...)
}

func (m *tlsManager) stampFiles() map[string]fileStamp {
	out := make(map[string]fileStamp, 4)
	for _, f := range m.watchedFiles() {
		out[f] = stampFile(f)
	}
	return out
}

func stampFile(path string) fileStamp {
	f, err := os.Open(path)
	if err != nil {
		return fileStamp{err: err.Error()}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{err: err.Error()}
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxTLSFileBytes)); err != nil {
		return fileStamp{err: err.Error()}
	}
	st := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	h.Sum(st.sum[:0])
	return st
}

// maxTLSFileBytes bounds what is read from one certificate, key, CA or CRL
// file.
const maxTLSFileBytes = 64 << 20

func readTLSFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTLSFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTLSFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxTLSFileBytes)
	}
	return data, nil
}

// loadTLSMaterial reads and checks the TLS files. Errors are *fieldpath.Error
// naming the key at fault.
func loadTLSMaterial(t *configv1.ServerTLS, now time.Time, log *slog.Logger) (*tlsMaterial, error) {
	certPEM, err := readTLSFile(t.GetCertFile())
	if err != nil {
		return nil, &fieldpath.Error{Path: "tls.cert_file", Msg: "cannot read: " + pathErr(err)}
	}
	keyPEM, err := readTLSFile(t.GetKeyFile())
	if err != nil {
		return nil, &fieldpath.Error{Path: "tls.key_file", Msg: "cannot read: " + pathErr(err)}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &fieldpath.Error{Path: "tls.cert_file", Msg: "cannot load key pair: " + err.Error()}
	}
	if cert.Leaf != nil && now.After(cert.Leaf.NotAfter) {
		log.Warn("tls: the gateway's certificate has expired", "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	caPEM, err := readTLSFile(t.GetClientCaFile())
	if err != nil {
		return nil, &fieldpath.Error{Path: "tls.client_ca_file", Msg: "cannot read: " + pathErr(err)}
	}
	cas, err := parseCertificatesPEM(caPEM)
	if err != nil {
		return nil, &fieldpath.Error{Path: "tls.client_ca_file", Msg: err.Error()}
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	crls, err := loadCRLs(t.GetCrlFiles(), cas, now, log)
	if err != nil {
		return nil, err
	}
	return &tlsMaterial{cert: cert, clientCAs: pool, caCerts: cas, crls: crls}, nil
}

// parseCertificatesPEM returns every CERTIFICATE block of a PEM bundle; a
// block that does not parse is an error rather than silently skipped.
func parseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i, block := range pemBlocks(data) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", i+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificates found")
	}
	return out, nil
}

// sameMaterial reports whether two loads carry the same certificate, CAs
// and CRLs, so that a touched but unchanged file does not count as a reload.
func sameMaterial(a, b *tlsMaterial) bool {
	return slices.EqualFunc(a.cert.Certificate, b.cert.Certificate, func(x, y []byte) bool { return string(x) == string(y) }) &&
		a.clientCAs.Equal(b.clientCAs) && a.crls.equal(b.crls)
}

// serverTLSConfig loads t and returns a data-plane TLS config that does not
// reload (for Check).
func serverTLSConfig(t *configv1.ServerTLS) (*tls.Config, error) {
	m, err := newTLSManager(t, nil, nil)
	if err != nil {
		return nil, err
	}
	return m.serverConfig(), nil
}

func pathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}
