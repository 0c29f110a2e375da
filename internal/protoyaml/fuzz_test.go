package protoyaml_test

import (
	"errors"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/protoyaml"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzUnmarshal decodes any document into the config and the admin
// resources, strictly and with protojson forms: it never panics, every
// refusal is a *fieldpath.Error, and what it accepts is a valid message
// that comes back unchanged through protojson (so msgctl can print a
// resource and read it back).
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{
		"listen: 127.0.0.1:8443\ntls: {cert_file: s.pem, key_file: k.pem, client_ca_file: ca.pem}\ndata_dir: /d\n",
		"hosts: [{name: a.internal, upstream: 'http://x', timeout: 1m30s, allowed_cidrs: [10.0.0.0/8]}]\n",
		"rules: [{id: a, effect: allow, principals: [{any: true}], hosts: ['**'], paths: [{glob: '/a/**'}]}]\n",
		`{"host": {"name": "a.internal", "maxRequestBodyBytes": "1024", "timeout": "1.500s"}}`,
		`{"rule": {"id": "r", "principals": [{"commonName": "a*"}], "effect": 2}}`,
		"name: &n a\nupstream: *n\n",
		"a: &x [*x]\n",
		"reason: lost\ncreate_time: 2026-01-02T15:04:05Z\n",
		"limits: {burst: 0x10, rate_per_second: 1e3}\n",
		"name: a\n---\nname: b\n",
	} {
		f.Add([]byte(seed))
	}
	targets := []proto.Message{&configv1.Config{}, &adminv1.Host{}, &adminv1.Rule{}, &adminv1.Revocation{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range targets {
			for _, opts := range []protoyaml.Options{{}, {ProtoJSON: true, Wrapper: "host"}} {
				m := target.ProtoReflect().New().Interface()
				err := protoyaml.Unmarshal(data, m, opts)
				if err != nil {
					var fe *fieldpath.Error
					if !errors.As(err, &fe) || fe.Msg == "" {
						t.Fatalf("error %v (%T) is not a *fieldpath.Error saying what is wrong", err, err)
					}
					continue
				}
				js, err := protojson.Marshal(m)
				if err != nil {
					t.Fatalf("decoded %v does not marshal: %v", m, err)
				}
				again := target.ProtoReflect().New().Interface()
				if err := protoyaml.Unmarshal(js, again, protoyaml.Options{ProtoJSON: true}); err != nil {
					t.Fatalf("protojson of %v (%s) does not decode again: %v", m, js, err)
				}
				if !proto.Equal(m, again) {
					t.Fatalf("round trip through protojson: %v became %v", m, again)
				}
			}
		}
	})
}
