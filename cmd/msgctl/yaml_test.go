package main

import (
	"strings"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestDecodeResource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want proto.Message
	}{
		{
			name: "config file keys",
			in:   "name: a.internal\nupstream: http://x\ntimeout: 1m30s\nmax_response_body_bytes: 0x100\ntls: {ca_file: ca.pem}\n",
			want: &adminv1.Host{Name: "a.internal", Upstream: "http://x", Timeout: durationpb.New(90 * time.Second),
				MaxResponseBodyBytes: 256, Tls: &adminv1.BackendTLS{CaFile: "ca.pem"}},
		},
		{
			name: "JSON names and protojson forms",
			in:   `{"name": "a.internal", "maxRequestBodyBytes": "1024", "timeout": "1.500s", "tls": null, "etag": "7"}`,
			want: &adminv1.Host{Name: "a.internal", MaxRequestBodyBytes: 1024, Timeout: durationpb.New(1500 * time.Millisecond), Etag: "7"},
		},
		{
			name: "get -o json wrapper",
			in:   `{"host": {"name": "a.internal", "streamIdleTimeout": "250ms"}}`,
			want: &adminv1.Host{Name: "a.internal", StreamIdleTimeout: durationpb.New(250 * time.Millisecond)},
		},
		{
			name: "rule with short enum",
			in:   "id: r\neffect: deny\nprincipals: [{any: true}, {spiffe_id: 'spiffe://example.org/app'}]\nhosts: ['*.internal']\npaths: [{exact: /health}]\n",
			want: &adminv1.Rule{Id: "r", Effect: adminv1.Effect_EFFECT_DENY,
				Principals: []*adminv1.PrincipalMatcher{
					{Kind: &adminv1.PrincipalMatcher_Any{Any: true}},
					{Kind: &adminv1.PrincipalMatcher_SpiffeId{SpiffeId: "spiffe://example.org/app"}},
				},
				Hosts: []string{"*.internal"},
				Paths: []*adminv1.PathMatcher{{Kind: &adminv1.PathMatcher_Exact{Exact: "/health"}}}},
		},
		{
			name: "enum full name and number",
			in:   "id: r\neffect: 1\n",
			want: &adminv1.Rule{Id: "r", Effect: adminv1.Effect_EFFECT_ALLOW},
		},
		{
			name: "explicit nulls leave fields unset",
			in:   "id: r\neffect: EFFECT_ALLOW\nmethods: null\ndescription: ~\n",
			want: &adminv1.Rule{Id: "r", Effect: adminv1.Effect_EFFECT_ALLOW},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.want.ProtoReflect().New().Interface()
			wrapper := "host"
			if _, ok := tc.want.(*adminv1.Rule); ok {
				wrapper = "rule"
			}
			if err := decodeResource([]byte(tc.in), "f.yaml", got, wrapper); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecodeResourceErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown key", "name: a\nupstram: x\n", "f.yaml:2: upstram: unknown key"},
		{"unknown nested key", "tls:\n  ca: x\n", "f.yaml:2: tls.ca: unknown key"},
		{"unknown key after wrapper", `{"host": {"bogus": 1}}`, "f.yaml:1: host.bogus: unknown key"},
		{"wrapper with siblings is not a wrapper", "host: {}\nname: a\n", "f.yaml:1: host: unknown key"},
		{"proto and JSON name both", "max_request_body_bytes: 1\nmaxRequestBodyBytes: 2\n", "f.yaml:2: maxRequestBodyBytes: duplicate key (max_request_body_bytes at line 1 is the same field)"},
		{"alias", "name: &n a\nupstream: *n\n", "f.yaml:2: upstream: YAML aliases are not allowed"},
		{"merge key", "tls: {<<: {ca_file: x}}\n", "f.yaml:1: tls: keys must be plain strings"},
		{"two documents", "name: a\n---\nname: b\n", "f.yaml:2: expected exactly one document"},
		{"not a mapping", "- a\n- b\n", "f.yaml:1: expected a mapping of Host fields"},
		{"number for a string", "name: 42\n", "f.yaml:1: name: expected a string (quote 42)"},
		{"list for a string", "name: [a]\n", "f.yaml:1: name: expected a single value, not a list"},
		{"bad duration", "timeout: soon\n", `f.yaml:1: timeout: expected a duration string such as "30s", got "soon"`},
		{"number for a duration", "timeout: 30\n", `f.yaml:1: timeout: expected a duration string such as "30s"`},
		{"int64 overflow", "max_request_body_bytes: 99999999999999999999\n", "f.yaml:1: max_request_body_bytes: expected"},
		{"invalid YAML", "name: [a\n", "f.yaml: not valid YAML or JSON:"},
		{"too deep", strings.Repeat("tls: {", 40) + strings.Repeat("}", 40), "tls.tls: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeResource([]byte(tc.in), "f.yaml", &adminv1.Host{}, "host")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"two oneof members", "principals: [{id: a, any: true}]\n", "f.yaml:1: principals[0].any: only one of any, id, common_name"},
		{"list expected", "hosts: demo.internal\n", "f.yaml:1: hosts: expected a list"},
		{"null list item", "hosts: [a, null]\n", "f.yaml:1: hosts[1]: list items must not be null"},
		{"unknown enum number", "effect: 7\n", "f.yaml:1: effect: unknown value 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeResource([]byte(tc.in), "f.yaml", &adminv1.Rule{}, "rule")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeResource checks that no file makes the decoder panic or accept
// something protojson would not round-trip.
func FuzzDecodeResource(f *testing.F) {
	f.Add([]byte(hostYAML))
	f.Add([]byte(ruleYAML))
	f.Add([]byte(`{"rule": {"id": "r", "principals": [{"commonName": "a*"}], "effect": 2}}`))
	f.Add([]byte("timeout: -1.5s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&adminv1.Host{}, &adminv1.Rule{}} {
			if err := decodeResource(data, "fuzz", m, "host"); err != nil {
				continue
			}
			b, err := proto.Marshal(m)
			if err != nil {
				t.Fatalf("decoded %v does not marshal: %v", m, err)
			}
			again := m.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, again); err != nil || !proto.Equal(m, again) {
				t.Fatalf("round trip of %v: %v", m, err)
			}
		}
	})
}
