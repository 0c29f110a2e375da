package enroll

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/enrollment"
	"github.com/msg-gateway/msg/internal/qrcode"
	"github.com/msg-gateway/msg/internal/revocation"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Bounds of what an enrollment token may say.
const (
	// maxNameLength is X.509's upper bound for a common name (ub-common-name)
	// and, here, for each organization and unit.
	maxNameLength = 64
	maxNames      = 16
	maxDescLength = 1024
)

// CreateToken is the enrollment tokens' create (an admin Lifecycle): it
// checks the request, fills in the defaults, makes the secret and returns
// the token to store; once stored, respond puts the secret, the bundle and
// (when asked) its QR code into the response. Only the secret's hash (the
// token's id) is stored. Errors are InvalidArgument statuses naming the
// field.
func (s *Service) CreateToken(_ context.Context, caller string, req proto.Message) (proto.Message, func(stored, resp proto.Message) error, error) {
	r := req.(*adminv1.CreateEnrollmentTokenRequest)
	in := r.GetEnrollmentToken()
	if in == nil {
		return nil, nil, invalid("enrollment_token", "required")
	}
	if in.GetId() != "" || in.GetUses() != 0 || in.GetCreator() != "" || in.GetCreateTime() != nil || in.GetEtag() != "" {
		return nil, nil, invalid("enrollment_token", "id, uses, creator, create_time and etag are output only")
	}
	if err := checkIdentityText(in.GetIdentity()); err != nil {
		return nil, nil, err
	}
	if err := s.o.Issuer.checkIdentity(in.GetIdentity()); err != nil {
		return nil, nil, invalid("enrollment_token.identity", "no certificate with it would be accepted: "+err.Error())
	}
	now := s.o.Now()
	tok := &adminv1.EnrollmentToken{
		Identity:     proto.Clone(in.GetIdentity()).(*adminv1.DeviceIdentity),
		ExpireTime:   in.GetExpireTime(),
		MaxUses:      in.GetMaxUses(),
		CertLifetime: in.GetCertLifetime(),
		Creator:      caller,
		CreateTime:   timestamppb.New(now),
		Description:  strings.TrimSpace(in.GetDescription()),
	}
	if tok.ExpireTime == nil {
		tok.ExpireTime = timestamppb.New(now.Add(min(DefaultMaxTokenTTL, s.o.MaxTokenTTL)))
	}
	switch exp := tok.GetExpireTime(); {
	case exp.CheckValid() != nil || !exp.AsTime().After(now):
		return nil, nil, invalid("enrollment_token.expire_time", "must be in the future")
	case exp.AsTime().After(now.Add(s.o.MaxTokenTTL)):
		return nil, nil, invalid("enrollment_token.expire_time", fmt.Sprintf("at most %v from now (enroll.max_token_ttl)", s.o.MaxTokenTTL))
	}
	if tok.MaxUses == 0 {
		tok.MaxUses = 1
	}
	if tok.MaxUses < 1 || tok.MaxUses > MaxTokenUses {
		return nil, nil, invalid("enrollment_token.max_uses", fmt.Sprintf("must be between 1 and %d", MaxTokenUses))
	}
	if tok.CertLifetime == nil {
		tok.CertLifetime = durationpb.New(s.o.CertLifetime)
	}
	if d := tok.GetCertLifetime(); d.CheckValid() != nil || d.AsDuration() < MinCertLifetime || d.AsDuration() > s.o.CertLifetime {
		return nil, nil, invalid("enrollment_token.cert_lifetime", fmt.Sprintf("must be between %v and %v (enroll.cert_lifetime)", MinCertLifetime, s.o.CertLifetime))
	}
	if len(tok.Description) > maxDescLength || !utf8.ValidString(tok.Description) {
		return nil, nil, invalid("enrollment_token.description", fmt.Sprintf("at most %d bytes of UTF-8", maxDescLength))
	}
	secret, err := enrollment.NewSecret()
	if err != nil {
		return nil, nil, status.Error(codes.Internal, "internal error")
	}
	tok.Id = enrollment.TokenID(secret)
	respond := func(_, resp proto.Message) error {
		out := resp.(*adminv1.CreateEnrollmentTokenResponse)
		out.Secret = secret
		out.Bundle = s.Bundle(secret).String()
		if r.GetQrCodePng() {
			png, err := qrcode.PNG(out.Bundle)
			if err != nil {
				return status.Error(codes.Internal, "rendering the QR code: "+err.Error())
			}
			out.QrCodePng = png
		}
		return nil
	}
	return tok, respond, nil
}

// Bundle returns the enrollment bundle of a secret.
func (s *Service) Bundle(secret string) enrollment.Bundle {
	return enrollment.Bundle{Address: s.o.Advertise(), Secret: secret, Pin: enrollment.PinOf(s.o.Anchor)}
}

// checkIdentityText checks the identity's strings: a common name or a
// SPIFFE ID, printable UTF-8, within X.509's lengths.
func checkIdentityText(id *adminv1.DeviceIdentity) error {
	const field = "enrollment_token.identity"
	if id == nil {
		return invalid(field, "required")
	}
	if id.GetCommonName() == "" && id.GetSpiffeId() == "" {
		return invalid(field+".common_name", "required unless spiffe_id is set")
	}
	if err := checkName(field+".common_name", id.GetCommonName()); err != nil {
		return err
	}
	for _, list := range []struct {
		name  string
		items []string
	}{{"organizations", id.GetOrganizations()}, {"organizational_units", id.GetOrganizationalUnits()}} {
		if len(list.items) > maxNames {
			return invalid(field+"."+list.name, fmt.Sprintf("at most %d", maxNames))
		}
		for i, v := range list.items {
			f := fmt.Sprintf("%s.%s[%d]", field, list.name, i)
			if v == "" {
				return invalid(f, "empty")
			}
			if err := checkName(f, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkName(field, v string) error {
	if len(v) > maxNameLength {
		return invalid(field, fmt.Sprintf("at most %d bytes", maxNameLength))
	}
	if !utf8.ValidString(v) || strings.TrimSpace(v) != v {
		return invalid(field, "must be UTF-8 without leading or trailing spaces")
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return invalid(field, "must be printable")
		}
	}
	return nil
}

func invalid(field, msg string) error {
	return status.Error(codes.InvalidArgument, field+": "+msg)
}

// DeviceDeleter returns the devices' delete (an admin Lifecycle): the same
// write revokes, by fingerprint, every certificate of the device that has
// not expired, so its open connections close and its renewals are refused.
// It needs no Service: a gateway whose enroll section was removed still
// revokes the certificates of the devices it enrolled.
func DeviceDeleter(st store.Store, now func() time.Time) func(ctx context.Context, caller string, cur proto.Message) ([]store.Mutation, error) {
	return func(_ context.Context, caller string, cur proto.Message) ([]store.Mutation, error) {
		dev := cur.(*adminv1.Device)
		t := now()
		snap := st.Snapshot()
		var muts []store.Mutation
		for _, c := range append([]*adminv1.DeviceCertificate{dev.GetCertificate()}, dev.GetPreviousCertificates()...) {
			if c == nil || !t.Before(c.GetNotAfter().AsTime()) {
				continue
			}
			if m, ok := revokeMutation(snap, c, "device "+dev.GetId()+" deleted", caller, t); ok {
				muts = append(muts, m)
			}
		}
		return muts, nil
	}
}

// revokeMutation returns the write that revokes c by fingerprint, unless a
// revocation of it is already stored. An unconditional put: a revocation of
// the same fingerprint that the snapshot does not show yet is the same
// revocation.
func revokeMutation(snap *store.Snapshot, c *adminv1.DeviceCertificate, reason, creator string, now time.Time) (store.Mutation, bool) {
	fp := c.GetFingerprintSha256()
	id := revocation.FingerprintID(fp)
	if fp == "" || snap.Revocation(id) != nil {
		return store.Mutation{}, false
	}
	return store.Mutation{Kind: store.KindRevocation, Key: id, Value: &adminv1.Revocation{
		Id:                id,
		FingerprintSha256: fp,
		Reason:            reason,
		CreateTime:        timestamppb.New(now),
		Creator:           creator,
	}}, true
}
