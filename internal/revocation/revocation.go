// Package revocation names the certificates that admins revoke: the store id
// of a revocation, and the ids a presented certificate is looked up under.
// The admin API (which writes revocations) and the data plane (which checks
// certificates) both use it, so that the two always compute one canonical
// form of "this issuer, this serial number".
package revocation

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"math/big"

	"github.com/msg-gateway/msg/internal/dn"
)

// FingerprintID is the id of a revocation by the SHA-256 fingerprint of the
// DER certificate, given as 64 lower-case hex digits.
func FingerprintID(fingerprintHex string) string { return "fp-" + fingerprintHex }

// SerialID is the id of a revocation by issuer and serial number: a hash of
// the issuer's canonical form ([dn.Name.Key], so every spelling of one name
// gives one id) and the serial in lower-case hex.
func SerialID(issuer dn.Name, serial *big.Int) string {
	sum := sha256.Sum256([]byte(issuer.Key() + "\x00" + serial.Text(16)))
	return "sn-" + hex.EncodeToString(sum[:16])
}

// IDs returns the ids under which cert may have been revoked: by
// fingerprint, and by issuer and serial number. serial is "" when the
// certificate's issuer name cannot be read (a value that is not a string):
// such a certificate can only be revoked by fingerprint.
func IDs(cert *x509.Certificate) (fingerprint, serial string) {
	sum := sha256.Sum256(cert.Raw)
	fingerprint = FingerprintID(hex.EncodeToString(sum[:]))
	if issuer, err := dn.FromDER(cert.RawIssuer); err == nil && cert.SerialNumber != nil {
		serial = SerialID(issuer, cert.SerialNumber)
	}
	return fingerprint, serial
}
