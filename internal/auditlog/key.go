package auditlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// KeyFileName is the instance key's file in the store's directory.
const KeyFileName = "audit-key"

// Key is an instance's audit log key: it signs the checkpoints, and its
// name is the log's origin, which carries the instance id.
type Key struct {
	// Signer signs checkpoints.
	Signer note.Signer
	// Verifier checks them.
	Verifier note.Verifier
	// VerifierKey is Verifier in text form ("origin+hash+base64"), as
	// verifiers of the log are given it.
	VerifierKey string
	// Instance is the instance id records carry.
	Instance string
}

// LoadOrCreateKey reads the key at path, or creates one (mode 0600) for a
// new instance when there is no file. A key file that others may read is
// refused: whoever holds the key can sign checkpoints of a rewritten trail.
func LoadOrCreateKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit key %s: mode %v lets others read it; chmod 600 it", path, fi.Mode().Perm())
	}
	k, err := ParseKey(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	return k, nil
}

// ParseKey reads a signed note private key ("PRIVATE+KEY+name+hash+key")
// whose name is a log origin.
func ParseKey(skey string) (*Key, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, errors.New("not a signed note private key")
	}
	// The public key is derived from the private one; the file holds only
	// the latter, so the two cannot disagree.
	rest := skey
	for range 4 { // PRIVATE, KEY, the name and the hash; base64 may hold '+'
		_, rest, _ = strings.Cut(rest, "+")
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("not an Ed25519 signed note private key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	instance, ok := strings.CutPrefix(signer.Name(), originPrefix)
	if !ok || instance == "" {
		return nil, fmt.Errorf("key name %q is not an audit log origin (%s...)", signer.Name(), originPrefix)
	}
	return &Key{Signer: signer, Verifier: verifier, VerifierKey: vkey, Instance: instance}, nil
}

func createKey(path string) (*Key, error) {
	skey, _, err := note.GenerateKey(rand.Reader, Origin(newInstanceID()))
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	_, err = f.WriteString(skey + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return ParseKey(skey)
}

// newInstanceID names a new instance: its host name, readable in a fleet's
// files, and random digits, unique when two instances share a host.
func newInstanceID() string {
	host, _ := os.Hostname()
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r == '-' || r == '.' {
			b.WriteRune(r)
		}
		if b.Len() == 40 {
			break
		}
	}
	name := strings.Trim(b.String(), "-.")
	if name == "" {
		name = "gateway"
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return name + "-" + hex.EncodeToString(suffix[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
