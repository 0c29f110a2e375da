package admin

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/dn"
	"github.com/msg-gateway/msg/internal/revocation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// newRevocation is how a create request becomes a stored revocation: the
// request names a certificate, the service derives the id and records when
// and by whom.
func (s *Service) newRevocation(ctx context.Context, in proto.Message) (proto.Message, error) {
	var cas []*x509.Certificate
	if s.o.ClientCAs != nil {
		cas = s.o.ClientCAs()
	}
	rev, err := NormalizeRevocation(in.(*adminv1.Revocation), cas)
	if err != nil {
		return nil, err
	}
	rev.CreateTime = timestamppb.New(s.o.Now())
	rev.Creator = IdentityFromContext(ctx).Name
	return rev, nil
}

// NormalizeRevocation validates a revocation request and returns the stored
// form with its derived id (see package internal/revocation): by
// fingerprint, or by serial number and issuer. The issuer is read as a
// distinguished name (RFC 4514, "CN=msg dev CA,O=Example", or OpenSSL's
// "/O=Example/CN=msg dev CA"; see [dn.Parse]) and must name one of cas, the
// configured client CAs: a revocation that could never match a certificate
// the gateway accepts is refused rather than stored. The stored issuer is
// that CA's subject as RFC 4514 writes it, so every spelling of one issuer
// gives one revocation. Errors are InvalidArgument naming the field.
func NormalizeRevocation(in *adminv1.Revocation, cas []*x509.Certificate) (*adminv1.Revocation, error) {
	if in.GetId() != "" || in.GetEtag() != "" || in.GetCreator() != "" || in.GetCreateTime() != nil {
		return nil, invalid("revocation", "id, etag, creator and create_time are output only")
	}
	out := &adminv1.Revocation{Reason: strings.TrimSpace(in.GetReason())}
	if out.Reason == "" || len(out.Reason) > 1024 {
		return nil, invalid("revocation.reason", "required, at most 1024 bytes")
	}
	fp := strings.ToLower(strings.ReplaceAll(in.GetFingerprintSha256(), ":", ""))
	switch {
	case fp != "" && (in.GetSerialHex() != "" || in.GetIssuer() != ""):
		return nil, invalid("revocation.fingerprint_sha256", "use either fingerprint_sha256 or serial_hex with issuer, not both")
	case fp != "":
		if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
			return nil, invalid("revocation.fingerprint_sha256", "must be 64 hex digits")
		}
		out.FingerprintSha256 = fp
		out.Id = revocation.FingerprintID(fp)
	case in.GetSerialHex() == "":
		return nil, invalid("revocation.serial_hex", "required unless fingerprint_sha256 is set")
	case strings.TrimSpace(in.GetIssuer()) == "":
		return nil, invalid("revocation.issuer", "required with serial_hex")
	default:
		serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(strings.ReplaceAll(in.GetSerialHex(), ":", "")), "0x"), 16)
		if !ok || serial.Sign() < 0 || len(in.GetSerialHex()) > 128 {
			return nil, invalid("revocation.serial_hex", "must be a hex number")
		}
		issuer, err := issuerCA(in.GetIssuer(), cas)
		if err != nil {
			return nil, err
		}
		out.SerialHex = serial.Text(16)
		out.Issuer = issuer.String()
		out.Id = revocation.SerialID(issuer, serial)
	}
	return out, nil
}

// issuerCA parses a revocation's issuer and returns the subject of the
// client CA it names.
func issuerCA(issuer string, cas []*x509.Certificate) (dn.Name, error) {
	name, err := dn.Parse(issuer)
	if err != nil {
		return dn.Name{}, invalid("revocation.issuer", "not a distinguished name: "+err.Error())
	}
	var reversed *dn.Name
	for _, ca := range cas {
		subject, err := dn.FromDER(ca.RawSubject)
		if err != nil {
			continue
		}
		if subject.Equal(name) {
			return subject, nil
		}
		if subject.Equal(name.Reversed()) && reversed == nil {
			reversed = &subject
		}
	}
	if reversed != nil {
		// OpenSSL prints names most general first with commas; RFC 4514
		// (and this API) reads them most specific first.
		return dn.Name{}, invalid("revocation.issuer", fmt.Sprintf(
			"names no configured client CA; its RDNs are in reverse order: RFC 4514 writes the most specific first, %q", reversed.String()))
	}
	return dn.Name{}, invalid("revocation.issuer", "names no configured client CA")
}
