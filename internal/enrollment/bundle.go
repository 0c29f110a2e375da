package enrollment

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Scheme is the bundle's URI scheme. A later, incompatible form of the
// bundle gets a new scheme (or a "v" parameter this version refuses), so
// an old app says it cannot read the bundle instead of misreading it.
const Scheme = "msg-enroll"

// MaxBundleLength bounds what ParseBundle reads: a bundle is about 130
// bytes; a DNS name may take 253 of them.
const MaxBundleLength = 512

// SecretBytes is the length of a new secret: 256 random bits.
const SecretBytes = 32

// minSecretBytes is the least a secret must carry to be accepted: 128 bits.
const minSecretBytes = 16

// maxSecretLength bounds a secret's encoded length.
const maxSecretLength = 128

// pinPrefix names the pin's hash; the only one for now.
const pinPrefix = "sha256:"

// Pin is the SHA-256 of a trust anchor's DER certificate.
type Pin [sha256.Size]byte

// PinOf returns the pin of a certificate.
func PinOf(c *x509.Certificate) Pin { return sha256.Sum256(c.Raw) }

// String returns the pin as a bundle writes it: "sha256:" and the unpadded
// base64url of the hash.
func (p Pin) String() string { return pinPrefix + base64.RawURLEncoding.EncodeToString(p[:]) }

// Matches reports whether c is the pinned certificate.
func (p Pin) Matches(c *x509.Certificate) bool { return c != nil && PinOf(c) == p }

// Bundle is everything a device needs to enroll.
type Bundle struct {
	// Address is the enrollment listener, "host:port" ("[v6]:port" for an
	// IPv6 address).
	Address string
	// Secret is the one-time enrollment secret (see [NewSecret]).
	Secret string
	// Pin identifies the CA that signs the gateway's server certificate:
	// the device trusts that CA and nothing else.
	Pin Pin
}

// String returns the bundle as one URI:
// "msg-enroll://HOST:PORT/?s=SECRET&pin=sha256:PIN". Every part is in a
// character set that needs no escaping.
func (b Bundle) String() string {
	return Scheme + "://" + b.Address + "/?s=" + b.Secret + "&pin=" + b.Pin.String()
}

// ParseBundle reads a bundle as [Bundle.String] writes it, with surrounding
// white space ignored (a bundle pasted from a mail). Anything else is an
// error naming the part at fault: another scheme, a missing or malformed
// address, path, parameter, secret or pin, a parameter given twice or one
// this version does not know, user info or a fragment. The error never
// quotes the secret.
func ParseBundle(s string) (Bundle, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxBundleLength {
		return Bundle{}, fmt.Errorf("enrollment bundle: longer than %d bytes", MaxBundleLength)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.EqualFold(scheme, Scheme) {
		return Bundle{}, fmt.Errorf("enrollment bundle: must start with %s://", Scheme)
	}
	if strings.ContainsAny(rest, "#@\\ \t\r\n") {
		return Bundle{}, errors.New("enrollment bundle: user info, fragments, backslashes and white space are not allowed")
	}
	authority, query, ok := strings.Cut(rest, "?")
	if !ok {
		return Bundle{}, errors.New("enrollment bundle: no parameters (want ?s=SECRET&pin=sha256:PIN)")
	}
	authority, path, _ := strings.Cut(authority, "/")
	if path != "" {
		return Bundle{}, errors.New("enrollment bundle: unexpected path after the address")
	}
	addr, err := checkAddress(authority)
	if err != nil {
		return Bundle{}, fmt.Errorf("enrollment bundle: address: %w", err)
	}
	b := Bundle{Address: addr}
	var haveSecret, havePin bool
	for _, param := range strings.Split(query, "&") {
		name, value, _ := strings.Cut(param, "=")
		switch name {
		case "s":
			if haveSecret {
				return Bundle{}, errors.New("enrollment bundle: parameter s given twice")
			}
			if err := CheckSecret(value); err != nil {
				return Bundle{}, fmt.Errorf("enrollment bundle: parameter s: %w", err)
			}
			b.Secret, haveSecret = value, true
		case "pin":
			if havePin {
				return Bundle{}, errors.New("enrollment bundle: parameter pin given twice")
			}
			if b.Pin, err = parsePin(value); err != nil {
				return Bundle{}, fmt.Errorf("enrollment bundle: parameter pin: %w", err)
			}
			havePin = true
		default:
			return Bundle{}, fmt.Errorf("enrollment bundle: unknown parameter %q (a newer gateway's bundle? update the app)", clip(name))
		}
	}
	switch {
	case !haveSecret:
		return Bundle{}, errors.New("enrollment bundle: parameter s (the secret) is missing")
	case !havePin:
		return Bundle{}, errors.New("enrollment bundle: parameter pin is missing")
	}
	return b, nil
}

// checkAddress checks "host:port" and returns it as given: a DNS name or an
// IP address (IPv6 in brackets), and a port from 1 to 65535.
func checkAddress(a string) (string, error) {
	if a == "" {
		return "", errors.New("missing (want HOST:PORT)")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", errors.New("not HOST:PORT")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || port[0] == '0' || port[0] == '+' {
		return "", errors.New("port must be a number from 1 to 65535")
	}
	if strings.HasPrefix(a, "[") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", errors.New("not an IPv6 address in brackets")
		}
		return a, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.Is4() {
			return "", errors.New("an IPv6 address must be in brackets")
		}
		return a, nil
	}
	if !validDNSName(host) {
		return "", errors.New("host is neither a DNS name nor an IP address")
	}
	return a, nil
}

// validDNSName accepts letters, digits, '-' and '.' in labels of 1 to 63
// characters, at most 253 in all, no label starting or ending with '-'.
func validDNSName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func parsePin(v string) (Pin, error) {
	enc, ok := strings.CutPrefix(v, pinPrefix)
	if !ok {
		return Pin{}, errors.New(`must start with "sha256:"`)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(raw) != sha256.Size {
		return Pin{}, errors.New("want 43 characters of unpadded base64url (a SHA-256)")
	}
	var p Pin
	copy(p[:], raw)
	return p, nil
}

// NewSecret returns a new secret: [SecretBytes] bytes from crypto/rand in
// unpadded base64url.
func NewSecret() (string, error) {
	var raw [SecretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("enrollment secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// CheckSecret checks a secret's form: unpadded base64url of at least 16
// bytes. The error never quotes the secret.
func CheckSecret(s string) error {
	if len(s) > maxSecretLength {
		return fmt.Errorf("longer than %d characters", maxSecretLength)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return errors.New("not unpadded base64url")
	}
	if len(raw) < minSecretBytes {
		return fmt.Errorf("shorter than %d bytes", minSecretBytes)
	}
	return nil
}

// TokenIDPrefix starts every enrollment token id.
const TokenIDPrefix = "et-"

// TokenID returns the id of the enrollment token of a secret: "et-" and the
// first 16 bytes of the secret's SHA-256 in hex. The gateway stores only
// this; finding a token by its secret is a lookup by id, whose timing
// reveals nothing an attacker could not learn by guessing 128-bit hash
// preimages.
func TokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return TokenIDPrefix + hex.EncodeToString(sum[:16])
}

// clip shortens what an error quotes (with %q) from untrusted input.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
