package client

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// An Identity is what a device holds once it has enrolled: its certificate
// chain and private key, the trust anchor it verifies the gateway with, and
// where to reach the gateway.
type Identity struct {
	// Certificate is the certificate chain in DER, leaf first, as the
	// gateway issued it. The transport presents all of it.
	Certificate [][]byte
	// Key is the leaf's private key. Any [crypto.Signer] works, so a key
	// that never leaves a hardware key store fits (see [KeyGenerator]).
	Key crypto.Signer
	// TrustAnchor is the DER certificate of the CA that signs the
	// gateway's server certificate: the one the enrollment bundle pinned.
	// The transport trusts it and nothing else.
	TrustAnchor []byte
	// GatewayAddress is the gateway's data plane ("host:port") and
	// EnrollAddress its enrollment listener, where renewals go.
	GatewayAddress, EnrollAddress string
	// DeviceID is the device record's id in the gateway's admin API.
	DeviceID string
}

// Leaf returns the parsed leaf certificate.
func (id *Identity) Leaf() (*x509.Certificate, error) {
	if id == nil || len(id.Certificate) == 0 {
		return nil, errors.New("client: identity has no certificate")
	}
	return x509.ParseCertificate(id.Certificate[0])
}

// tlsCertificate returns the identity as a TLS client certificate.
func (id *Identity) tlsCertificate() (*tls.Certificate, error) {
	leaf, err := id.Leaf()
	if err != nil {
		return nil, err
	}
	if id.Key == nil {
		return nil, errors.New("client: identity has no private key")
	}
	if k, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(id.Key.Public()) {
		return nil, errors.New("client: the identity's key is not the key of its certificate")
	}
	return &tls.Certificate{Certificate: id.Certificate, PrivateKey: id.Key, Leaf: leaf}, nil
}

// anchorPool returns a pool holding only the trust anchor.
func (id *Identity) anchorPool() (*x509.CertPool, error) {
	c, err := x509.ParseCertificate(id.TrustAnchor)
	if err != nil {
		return nil, fmt.Errorf("client: identity's trust anchor: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool, nil
}

// ErrNoIdentity is what [IdentityStore.Load] returns when nothing has been
// saved yet: the device must enroll.
var ErrNoIdentity = errors.New("client: no identity saved: enroll first")

// An IdentityStore keeps a device's [Identity]: [FileStore] in files, or an
// app's own implementation over a platform key store. Save replaces the
// whole identity at once; a crash during Save must leave either the old or
// the new one. Both are called from the renewal goroutine of a [Transport]
// as well as by [Enroll].
type IdentityStore interface {
	// Load returns the saved identity, or an error wrapping ErrNoIdentity.
	Load(ctx context.Context) (*Identity, error)
	// Save replaces the saved identity.
	Save(ctx context.Context, id *Identity) error
}

// A KeyGenerator is an [IdentityStore] that makes the private keys itself,
// inside a platform key store or a hardware token: [Enroll] and each
// renewal ask it for a new key, which only a later Save makes current. A
// store that is no KeyGenerator gets ECDSA P-256 keys made in memory.
type KeyGenerator interface {
	GenerateKey(ctx context.Context) (crypto.Signer, error)
}

// newKey returns a new private key for a certificate request.
func newKey(ctx context.Context, store IdentityStore) (crypto.Signer, error) {
	if kg, ok := store.(KeyGenerator); ok {
		k, err := kg.GenerateKey(ctx)
		if err != nil {
			return nil, fmt.Errorf("client: generating a key: %w", err)
		}
		return k, nil
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// FileStore is an [IdentityStore] in a directory, in files other tools read
// too:
//
//   - identity.pem: the certificate chain, then the private key (PKCS #8),
//     mode 0600; use it as both certificate and key file (grpcurl -cert
//     identity.pem -key identity.pem, curl --cert identity.pem)
//   - ca.pem: the trust anchor (grpcurl -cacert ca.pem)
//   - gateway.json: the addresses and the device id
//
// Each file is replaced atomically (written beside it, synced, renamed).
// The certificate and its key share one file, so that no crash can pair a
// new certificate with an old key. The keys are software keys.
type FileStore struct {
	dir string
}

// NewFileStore returns a store in dir, which Save creates (mode 0700) when
// it does not exist.
func NewFileStore(dir string) *FileStore { return &FileStore{dir: dir} }

// The FileStore's file names.
const (
	IdentityFile    = "identity.pem"
	TrustAnchorFile = "ca.pem"
	GatewayFile     = "gateway.json"
)

type gatewayFile struct {
	GatewayAddress string `json:"gateway_address"`
	EnrollAddress  string `json:"enroll_address"`
	DeviceID       string `json:"device_id"`
}

// Load implements [IdentityStore].
func (s *FileStore) Load(context.Context) (*Identity, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, IdentityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s has no %s)", ErrNoIdentity, s.dir, IdentityFile)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	id := &Identity{}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			id.Certificate = append(id.Certificate, block.Bytes)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("client: %s: %w", IdentityFile, err)
			}
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("client: %s: a %T cannot sign", IdentityFile, k)
			}
			id.Key = signer
		}
	}
	if len(id.Certificate) == 0 || id.Key == nil {
		return nil, fmt.Errorf("client: %s: want certificates and a PRIVATE KEY", filepath.Join(s.dir, IdentityFile))
	}
	anchor, err := os.ReadFile(filepath.Join(s.dir, TrustAnchorFile))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	block, _ := pem.Decode(anchor)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("client: %s: no certificate", filepath.Join(s.dir, TrustAnchorFile))
	}
	id.TrustAnchor = block.Bytes
	raw, err := os.ReadFile(filepath.Join(s.dir, GatewayFile))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	var gf gatewayFile
	if err := json.Unmarshal(raw, &gf); err != nil {
		return nil, fmt.Errorf("client: %s: %w", filepath.Join(s.dir, GatewayFile), err)
	}
	id.GatewayAddress, id.EnrollAddress, id.DeviceID = gf.GatewayAddress, gf.EnrollAddress, gf.DeviceID
	if _, err := id.tlsCertificate(); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, s.dir)
	}
	return id, nil
}

// Save implements [IdentityStore]. The trust anchor and the addresses are
// written first: they change only with a new enrollment, which also writes
// a new identity.pem, so a crash in between leaves the old, complete
// identity in force.
func (s *FileStore) Save(_ context.Context, id *Identity) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return fmt.Errorf("client: FileStore keeps software keys only: %w", err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	gf, err := json.MarshalIndent(gatewayFile{GatewayAddress: id.GatewayAddress, EnrollAddress: id.EnrollAddress, DeviceID: id.DeviceID}, "", "  ")
	if err != nil {
		return err
	}
	var ident []byte
	for _, der := range id.Certificate {
		ident = append(ident, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	ident = append(ident, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{TrustAnchorFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.TrustAnchor}), 0o644},
		{GatewayFile, append(gf, '\n'), 0o644},
		{IdentityFile, ident, 0o600},
	} {
		if err := writeAtomic(s.dir, f.name, f.data, f.mode); err != nil {
			return fmt.Errorf("client: %w", err)
		}
	}
	return nil
}

// writeAtomic replaces dir/name with data: a temporary file in dir, synced,
// renamed over it, and the directory synced.
func writeAtomic(dir, name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: a no-op
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
