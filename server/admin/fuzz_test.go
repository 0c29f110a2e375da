package admin_test

import (
	"context"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// FuzzWriteValidation sends random JSON bodies to every write method of the
// service (as REST would, through protojson) against a real store: a call
// never panics, every refusal is a proper status with a known code, and a
// refused write changes nothing.
func FuzzWriteValidation(f *testing.F) {
	for _, seed := range []string{
		`{"name":"demo.internal","upstream":"http://demo.corp:9","timeout":"5s"}`,
		`{"name":"A B","upstream":"ftp://x"}`,
		`{"id":"r1","effect":"EFFECT_ALLOW","principals":[{"any":true}],"hosts":["demo.internal"],"paths":[{"glob":"/a/**"}]}`,
		`{"id":"r2","effect":"EFFECT_DENY","principals":[{"commonName":"*"}],"hosts":["a**b"]}`,
		`{"fingerprintSha256":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `","reason":"lost"}`,
		`{"serialHex":"0A:1b","issuer":"CN=x","reason":"r"}`,
		`{"serialHex":"1","issuer":"/O=Example/CN=msg dev CA","reason":"r"}`,
		`{"serialHex":"1","issuer":"C = DE, O = Example, CN = msg dev CA","reason":"r"}`,
		`{"name":"x.internal","upstream":"http://[::1]:80","allowedCidrs":["0.0.0.0/0"]}`,
		`{}`, `null`, `{"etag":"1"}`,
	} {
		for op := byte(0); op < 5; op++ {
			f.Add(op, []byte(seed))
		}
	}
	bolt, err := store.Open(f.TempDir(), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { bolt.Close() })
	st := bolt
	svc := admin.NewService(admin.ServiceOptions{Store: st, Validate: validate, Resources: resourceValidator,
		ClientCAs: clientCAs(f, "x", "msg dev CA")})
	// A host for rules and updates to refer to.
	if _, err := svc.CreateHost(context.Background(), &adminv1.CreateHostRequest{Host: &adminv1.Host{Name: "demo.internal", Upstream: "http://demo.corp:9"}}); err != nil {
		f.Fatal(err)
	}
	known := map[codes.Code]bool{codes.InvalidArgument: true, codes.AlreadyExists: true, codes.NotFound: true,
		codes.Aborted: true, codes.FailedPrecondition: true}
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		ctx := context.Background()
		before := st.Snapshot().Revision
		var err error
		switch op % 5 {
		case 0:
			h := &adminv1.Host{}
			if protojson.Unmarshal(body, h) != nil {
				return
			}
			_, err = svc.CreateHost(ctx, &adminv1.CreateHostRequest{Host: h})
		case 1:
			h := &adminv1.Host{}
			if protojson.Unmarshal(body, h) != nil {
				return
			}
			h.Name = "demo.internal"
			h.Etag = st.Snapshot().Host("demo.internal").GetEtag()
			_, err = svc.UpdateHost(ctx, &adminv1.UpdateHostRequest{Host: h})
		case 2:
			r := &adminv1.Rule{}
			if protojson.Unmarshal(body, r) != nil {
				return
			}
			_, err = svc.CreateRule(ctx, &adminv1.CreateRuleRequest{Rule: r})
		case 3:
			r := &adminv1.Revocation{}
			if protojson.Unmarshal(body, r) != nil {
				return
			}
			_, err = svc.CreateRevocation(ctx, &adminv1.CreateRevocationRequest{Revocation: r})
		case 4:
			_, err = svc.DeleteRule(ctx, &adminv1.DeleteRuleRequest{Id: string(body), Etag: "1"})
		}
		if err == nil {
			return
		}
		s, ok := status.FromError(err)
		if !ok || !known[s.Code()] {
			t.Fatalf("op %d: error %v is not a status with a known code", op%5, err)
		}
		if after := bolt.Snapshot().Revision; after != before {
			t.Fatalf("op %d: refused write (%v) moved the revision from %d to %d", op%5, err, before, after)
		}
	})
}
