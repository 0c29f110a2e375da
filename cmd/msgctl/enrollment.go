package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/qrcode"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// tokenFlags are "enrollment-tokens create"'s flags.
type tokenFlags struct {
	cn, orgs, units, spiffeID, description string
	ttl, certLifetime                      time.Duration
	maxUses                                int
}

func (f *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cn, "cn", "", "the certificates' common name, e.g. carol")
	fs.StringVar(&f.orgs, "org", "", "organizations (O), comma-separated")
	fs.StringVar(&f.units, "ou", "", "organizational units (OU), comma-separated")
	fs.StringVar(&f.spiffeID, "spiffe-id", "", "a SPIFFE ID for the certificates' URI SAN")
	fs.StringVar(&f.description, "description", "", "for people, e.g. \"Carol's phone\"")
	fs.DurationVar(&f.ttl, "ttl", 0, "how long the secret works (default 24h, at most enroll.max_token_ttl)")
	fs.DurationVar(&f.certLifetime, "cert-lifetime", 0, "lifetime of the devices' certificates (default enroll.cert_lifetime)")
	fs.IntVar(&f.maxUses, "max-uses", 0, "how many devices may enroll with it (default 1)")
}

// token checks the flags and builds the token to create; now is the
// client's clock, which --ttl counts from.
func (f *tokenFlags) token(now time.Time) (*adminv1.EnrollmentToken, error) {
	const cmd = "enrollment-tokens create"
	if f.cn == "" && f.spiffeID == "" {
		return nil, usagef("%s: --cn (or --spiffe-id) is required: the identity the token grants", cmd)
	}
	if f.ttl < 0 || f.certLifetime < 0 || f.maxUses < 0 {
		return nil, usagef("%s: --ttl, --cert-lifetime and --max-uses must not be negative", cmd)
	}
	tok := &adminv1.EnrollmentToken{
		Identity: &adminv1.DeviceIdentity{
			CommonName:          strings.TrimSpace(f.cn),
			Organizations:       splitList(f.orgs),
			OrganizationalUnits: splitList(f.units),
			SpiffeId:            strings.TrimSpace(f.spiffeID),
		},
		MaxUses:     int32(min(f.maxUses, 1<<30)),
		Description: f.description,
	}
	if f.ttl > 0 {
		tok.ExpireTime = timestamppb.New(now.Add(f.ttl))
	}
	if f.certLifetime > 0 {
		tok.CertLifetime = durationpb.New(f.certLifetime)
	}
	return tok, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// printCreatedToken prints what only this response carries: the secret,
// the bundle and its QR code (for the terminal), and writes the PNG.
func (c *cli) printCreatedToken(o *options, resp *adminv1.CreateEnrollmentTokenResponse, pngFile string) error {
	if pngFile != "" {
		if len(resp.GetQrCodePng()) == 0 {
			return fmt.Errorf("--png: the gateway sent no QR code")
		}
		// The PNG carries the secret: readable by its owner only.
		if err := os.WriteFile(pngFile, resp.GetQrCodePng(), 0o600); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
	}
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	if err := writeItems(c.stdout, resource.EnrollmentToken, []proto.Message{resp.GetEnrollmentToken()}); err != nil {
		return err
	}
	qr, err := qrcode.Terminal(resp.GetBundle())
	if err != nil {
		return fmt.Errorf("rendering the QR code: %w", err)
	}
	w := c.stdout
	fmt.Fprintf(w, "\nsecret: %s\nbundle: %s\n\n", clean(resp.GetSecret()), clean(resp.GetBundle()))
	_, err = io.WriteString(w, qr)
	if err == nil {
		_, err = fmt.Fprintln(w, "\nThe secret and the bundle are shown only now. A device enrolls with: msg-enroll --dir DIR 'BUNDLE'")
	}
	if err == nil && pngFile != "" {
		_, err = fmt.Fprintf(w, "QR code written to %s\n", pngFile)
	}
	return err
}

// formatIdentity shows a device identity compactly: "carol/O=Ex/OU=mobile".
func formatIdentity(id *adminv1.DeviceIdentity) string {
	s := id.GetCommonName()
	for _, o := range id.GetOrganizations() {
		s += "/O=" + o
	}
	for _, u := range id.GetOrganizationalUnits() {
		s += "/OU=" + u
	}
	if id.GetSpiffeId() != "" {
		if s != "" {
			s += " "
		}
		s += id.GetSpiffeId()
	}
	return s
}
