package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/qrcode"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const fakeBundle = "msg-enroll://gw.example.com:8444/?s=c2VjcmV0LXNlY3JldC1zZWNyZXQ&pin=sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func (f *fakeAdmin) CreateEnrollmentToken(ctx context.Context, req *adminv1.CreateEnrollmentTokenRequest) (*adminv1.CreateEnrollmentTokenResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	tok := proto.Clone(req.GetEnrollmentToken()).(*adminv1.EnrollmentToken)
	if tok.GetIdentity().GetCommonName() == "" {
		return nil, status.Error(codes.InvalidArgument, "enrollment_token.identity.common_name: required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tok.Id = "et-0123456789abcdef0123456789abcdef"
	tok.Creator = "test-admin"
	if tok.MaxUses == 0 {
		tok.MaxUses = 1
	}
	tok.Etag = f.bump()
	f.tokens[tok.Id] = tok
	resp := &adminv1.CreateEnrollmentTokenResponse{EnrollmentToken: proto.Clone(tok).(*adminv1.EnrollmentToken),
		Secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ", Bundle: fakeBundle}
	if req.GetQrCodePng() {
		var err error
		if resp.QrCodePng, err = qrcode.PNG(fakeBundle); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func (f *fakeAdmin) ListEnrollmentTokens(ctx context.Context, req *adminv1.ListEnrollmentTokensRequest) (*adminv1.ListEnrollmentTokensResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	items, next, err := page(sortedValues(f.tokens), req.GetPageSize(), f.pageMax, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListEnrollmentTokensResponse{EnrollmentTokens: items, NextPageToken: next, Revision: f.rev}, nil
}

func (f *fakeAdmin) ListDevices(ctx context.Context, req *adminv1.ListDevicesRequest) (*adminv1.ListDevicesResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	items, next, err := page(sortedValues(f.devices), req.GetPageSize(), f.pageMax, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &adminv1.ListDevicesResponse{Devices: items, NextPageToken: next, Revision: f.rev}, nil
}

func (f *fakeAdmin) GetDevice(ctx context.Context, req *adminv1.GetDeviceRequest) (*adminv1.GetDeviceResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.devices[req.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	return &adminv1.GetDeviceResponse{Device: proto.Clone(d).(*adminv1.Device)}, nil
}

func (f *fakeAdmin) DeleteDevice(ctx context.Context, req *adminv1.DeleteDeviceRequest) (*adminv1.DeleteDeviceResponse, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.devices[req.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "not found")
	}
	if cur.GetEtag() != req.GetEtag() {
		return nil, errStale()
	}
	delete(f.devices, req.GetId())
	f.bump()
	return &adminv1.DeleteDeviceResponse{Revision: f.rev}, nil
}

// TestEnrollmentTokens: create from flags prints the secret, the bundle
// and its QR code once and writes the PNG (0600); list never shows a
// secret; usage errors send nothing.
func TestEnrollmentTokens(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	pngFile := filepath.Join(t.TempDir(), "carol.png")
	r := ctl(t, s, "enrollment-tokens", "create", "--cn", "carol", "--ou", "mobile, ios", "--org", "Example",
		"--ttl", "2h", "--max-uses", "3", "--cert-lifetime", "24h", "--description", "Carol's phone", "--png", pngFile).ok(t)
	wantRequests(t, s, `POST /v1/enrollmentTokens\?qrCodePng=true`)
	want, _ := qrcode.Terminal(fakeBundle)
	for _, part := range []string{"et-0123456789abcdef0123456789abcdef", "carol/O=Example/OU=mobile/OU=ios", "0/3", "24h0m0s",
		"2026-03-04T14:00:00Z", "secret: c2VjcmV0LXNlY3JldC1zZWNyZXQ\n", "bundle: " + fakeBundle + "\n", want, "QR code written to " + pngFile} {
		if !strings.Contains(r.stdout, part) {
			t.Errorf("create output lacks %q:\n%s", part, r.stdout)
		}
	}
	data, err := os.ReadFile(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("--png wrote no PNG: %v", err)
	}
	if fi, _ := os.Stat(pngFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("PNG mode %v, want 0600 (it carries the secret)", fi.Mode().Perm())
	}
	f := s.fake
	f.mu.Lock()
	got := f.tokens["et-0123456789abcdef0123456789abcdef"]
	f.mu.Unlock()
	if got.GetDescription() != "Carol's phone" || got.GetMaxUses() != 3 || !got.GetExpireTime().AsTime().Equal(testNow.Add(2*time.Hour)) {
		t.Errorf("sent token %v", got)
	}

	r = ctl(t, s, "enrollment-tokens", "list").ok(t)
	if strings.Contains(r.stdout, "c2VjcmV0") || !strings.Contains(r.stdout, "et-0123456789abcdef0123456789abcdef") {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = ctl(t, s, "enrollment-tokens", "create", "--cn", "dave", "-o", "json").ok(t)
	var created adminv1.CreateEnrollmentTokenResponse
	decodeJSON(t, r.stdout, &created)
	if created.GetBundle() != fakeBundle || len(created.GetQrCodePng()) != 0 {
		t.Errorf("create -o json = %v", &created)
	}

	s.log.take()
	ctl(t, s, "enrollment-tokens", "create").fails(t, 2, regexp.QuoteMeta("--cn (or --spiffe-id) is required"))
	ctl(t, s, "enrollment-tokens", "create", "--cn", "x", "--ttl", "-1h").fails(t, 2, "must not be negative")
	ctl(t, s, "enrollment-tokens", "create", "-f", "x.yaml").fails(t, 2, "flag provided but not defined: -f")
	ctl(t, s, "enrollment-tokens", "update").fails(t, 2, `unknown verb "update"`)
	wantRequests(t, s)
}

// TestDevices: list and get show the certificate, delete reads the etag.
func TestDevices(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	s.fake.mu.Lock()
	s.fake.devices["dv-00000000000000aa"] = &adminv1.Device{Id: "dv-00000000000000aa", Etag: "7",
		Identity:     &adminv1.DeviceIdentity{CommonName: "carol", OrganizationalUnits: []string{"mobile"}},
		Certificate:  &adminv1.DeviceCertificate{SerialHex: "1f2e", NotAfter: timestamppb.New(testNow.Add(time.Hour))},
		CertLifetime: durationpb.New(time.Hour)}
	s.fake.mu.Unlock()
	r := ctl(t, s, "devices", "list").ok(t)
	wantRows(t, r.stdout, []string{"ID", "IDENTITY", "SERIAL", "EXPIRES", "RENEWED", "ETAG"},
		[]string{"dv-00000000000000aa", "carol/OU=mobile", "1f2e", "2026-03-04T13:00:00Z", "never", "7"})
	ctl(t, s, "devices", "get", "dv-00000000000000aa").ok(t)
	s.log.take()
	r = ctl(t, s, "devices", "delete", "dv-00000000000000aa").ok(t)
	wantRequests(t, s, `GET /v1/devices/dv-00000000000000aa`, `DELETE /v1/devices/dv-00000000000000aa\?etag=7`)
	if r.stdout != "deleted device dv-00000000000000aa (revision 1)\n" {
		t.Errorf("delete printed %q", r.stdout)
	}
	ctl(t, s, "devices", "create").fails(t, 2, `unknown verb "create"`)
}
