package main

import (
	"encoding/hex"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
)

// newRevocation checks the create flags: a certificate is named either by
// fingerprint or by serial and issuer, and a reason is required. Hex may be
// written with colons, as openssl prints it.
func newRevocation(serial, issuer, fingerprint, reason string) (*adminv1.Revocation, error) {
	const cmd = "revocations create"
	rev := &adminv1.Revocation{Reason: strings.TrimSpace(reason)}
	switch {
	case fingerprint != "" && (serial != "" || issuer != ""):
		return nil, usagef("%s: use either --fingerprint or --serial with --issuer, not both", cmd)
	case fingerprint != "":
		fp := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
		if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
			return nil, usagef("%s: --fingerprint: want the SHA-256 fingerprint, 64 hex digits", cmd)
		}
		rev.FingerprintSha256 = fp
	case serial != "" && issuer != "":
		sn := strings.ToLower(strings.ReplaceAll(serial, ":", ""))
		sn = strings.TrimPrefix(sn, "0x")
		if sn == "" || len(sn) > 64 || strings.Trim(sn, "0123456789abcdef") != "" {
			return nil, usagef("%s: --serial: want the serial number in hex", cmd)
		}
		rev.SerialHex = sn
		rev.Issuer = strings.TrimSpace(issuer)
	case serial != "" || issuer != "":
		return nil, usagef("%s: --serial and --issuer go together", cmd)
	default:
		return nil, usagef("%s: name the certificate: --fingerprint HEX, or --serial HEX --issuer DN", cmd)
	}
	if rev.Reason == "" {
		return nil, usagef("%s: --reason is required", cmd)
	}
	return rev, nil
}
