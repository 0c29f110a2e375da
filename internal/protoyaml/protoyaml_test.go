package protoyaml_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/protoyaml"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// jsonForms are the options msgctl reads resource files with.
var jsonForms = protoyaml.Options{ProtoJSON: true, Wrapper: "host"}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		opts protoyaml.Options
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
			opts: jsonForms,
			want: &adminv1.Host{Name: "a.internal", MaxRequestBodyBytes: 1024, Timeout: durationpb.New(1500 * time.Millisecond), Etag: "7"},
		},
		{
			name: "a response wrapper",
			in:   `{"host": {"name": "a.internal", "streamIdleTimeout": "250ms"}}`,
			opts: jsonForms,
			want: &adminv1.Host{Name: "a.internal", StreamIdleTimeout: durationpb.New(250 * time.Millisecond)},
		},
		{
			name: "rule with short enum and oneofs",
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
			name: "enum full name, and by number with protojson forms",
			in:   "id: r\neffect: 1\nprincipals: [{id: a}]\n",
			opts: jsonForms,
			want: &adminv1.Rule{Id: "r", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Id{Id: "a"}}}},
		},
		{
			name: "explicit nulls leave fields unset",
			in:   "id: r\neffect: EFFECT_ALLOW\nmethods: null\ndescription: ~\nprincipals: [{id: ~, any: true}]\n",
			want: &adminv1.Rule{Id: "r", Effect: adminv1.Effect_EFFECT_ALLOW, Principals: []*adminv1.PrincipalMatcher{{Kind: &adminv1.PrincipalMatcher_Any{Any: true}}}},
		},
		{
			name: "config numbers",
			in:   "limits: {max_concurrent_streams: 7, rate_per_second: 2.5, burst: 1_000, max_header_bytes: 65536}\ntracing: {sample_ratio: 0}\n",
			want: &configv1.Config{Limits: &configv1.Limits{MaxConcurrentStreams: 7, RatePerSecond: 2.5, Burst: 1000, MaxHeaderBytes: 65536},
				Tracing: &configv1.Tracing{SampleRatio: proto.Float64(0)}},
		},
		{
			name: "timestamp",
			in:   "reason: lost\ncreate_time: 2026-01-02T15:04:05.5Z\n",
			want: &adminv1.Revocation{Reason: "lost", CreateTime: timestamppb.New(time.Date(2026, 1, 2, 15, 4, 5, 5e8, time.UTC))},
		},
		{
			name: "bytes, standard and URL-safe base64",
			in:   "body: aGk/Pz8=\nheaders: [{name: a, value: b}]\n",
			want: &gatewayv1.ForwardRequest{Body: []byte("hi???"), Headers: []*gatewayv1.Header{{Name: "a", Value: "b"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.want.ProtoReflect().New().Interface()
			if err := protoyaml.Unmarshal([]byte(tc.in), got, tc.opts); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUnmarshalErrors checks that every problem is a *fieldpath.Error naming
// the key path and line the same way.
func TestUnmarshalErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		opts protoyaml.Options
		into proto.Message
		want string
	}{
		{"unknown key", "name: a\nupstram: x\n", protoyaml.Options{}, &adminv1.Host{}, "upstram (line 2): unknown key"},
		{"unknown nested key with a file name", "tls:\n  ca: x\n", protoyaml.Options{File: "f.yaml"}, &adminv1.Host{}, "f.yaml: tls.ca (line 2): unknown key"},
		{"unknown key in a list", "hosts:\n  - {name: a, upstrem: x}\n", protoyaml.Options{}, &configv1.Config{}, "hosts[0].upstrem (line 2): unknown key"},
		{"JSON name without protojson forms", "maxRequestBodyBytes: 1\n", protoyaml.Options{}, &adminv1.Host{}, "maxRequestBodyBytes (line 1): unknown key"},
		{"unknown key after the wrapper", `{"host": {"bogus": 1}}`, jsonForms, &adminv1.Host{}, "host.bogus (line 1): unknown key"},
		{"wrapper with siblings is not a wrapper", "host: {}\nname: a\n", jsonForms, &adminv1.Host{}, "host (line 1): unknown key"},
		{"duplicate key", "name: a\nname: b\n", protoyaml.Options{}, &adminv1.Host{}, "name (line 2): duplicate key (first at line 1)"},
		{"proto and JSON name both", "max_request_body_bytes: 1\nmaxRequestBodyBytes: 2\n", jsonForms, &adminv1.Host{}, "maxRequestBodyBytes (line 2): duplicate key (max_request_body_bytes at line 1 is the same field)"},
		{"alias", "name: &n a\nupstream: *n\n", protoyaml.Options{}, &adminv1.Host{}, "upstream (line 2): YAML aliases are not allowed"},
		{"alias list item", "hosts: [&h {name: a}, *h]\n", protoyaml.Options{}, &configv1.Config{}, "hosts[1] (line 1): YAML aliases are not allowed"},
		{"merge key", "tls: {<<: {ca_file: x}}\n", protoyaml.Options{}, &adminv1.Host{}, "tls (line 1): keys must be plain strings"},
		{"two oneof members", "principals: [{id: a, any: true}]\n", protoyaml.Options{}, &adminv1.Rule{}, "principals[0].any (line 1): only one of any, id, common_name"},
		{"two documents", "name: a\n---\nname: b\n", protoyaml.Options{}, &adminv1.Host{}, "(top level) (line 2): expected exactly one document"},
		{"not a mapping", "- a\n- b\n", protoyaml.Options{}, &adminv1.Host{}, "(top level) (line 1): expected a mapping of Host fields"},
		{"mapping expected", "limits: 5\n", protoyaml.Options{}, &configv1.Config{}, "limits (line 1): expected a mapping of Limits fields"},
		{"list expected", "hosts: demo.internal\n", protoyaml.Options{}, &adminv1.Rule{}, "hosts (line 1): expected a list"},
		{"null list item", "hosts: [a, null]\n", protoyaml.Options{}, &adminv1.Rule{}, "hosts[1] (line 1): list items must not be null"},
		{"number for a string", "name: 42\n", protoyaml.Options{}, &adminv1.Host{}, "name (line 1): expected a string (quote 42)"},
		{"list for a string", "name: [a]\n", protoyaml.Options{}, &adminv1.Host{}, "name (line 1): expected a single value, not a list"},
		{"string for a number", "max_request_body_bytes: lots\n", protoyaml.Options{}, &adminv1.Host{}, "max_request_body_bytes (line 1): expected an integer"},
		{"quoted number without protojson forms", "max_request_body_bytes: '1'\n", protoyaml.Options{}, &adminv1.Host{}, "max_request_body_bytes (line 1): expected an integer"},
		{"string for a number with protojson forms", "max_request_body_bytes: lots\n", jsonForms, &adminv1.Host{}, `max_request_body_bytes (line 1): expected a 64-bit integer, got "lots"`},
		{"int64 overflow", "max_request_body_bytes: 9223372036854775808\n", protoyaml.Options{}, &adminv1.Host{}, `max_request_body_bytes (line 1): expected a 64-bit integer, got "9223372036854775808"`},
		{"int32 overflow", "upstream_status: 2147483648\n", protoyaml.Options{}, &adminv1.AuditRecord{}, `upstream_status (line 1): expected a 32-bit integer, got "2147483648"`},
		{"uint32 overflow", "limits: {burst: 4294967296}\n", protoyaml.Options{}, &configv1.Config{}, `limits.burst (line 1): expected a non-negative 32-bit integer, got "4294967296"`},
		{"negative integer", "max_request_body_bytes: -1\n", protoyaml.Options{}, &adminv1.Host{}, "max_request_body_bytes (line 1): must not be negative"},
		{"negative unsigned", "limits: {burst: -1}\n", protoyaml.Options{}, &configv1.Config{}, `limits.burst (line 1): expected a non-negative 32-bit integer, got "-1"`},
		{"bad duration", "timeout: soon\n", protoyaml.Options{}, &adminv1.Host{}, `timeout (line 1): expected a duration string such as "30s", got "soon"`},
		{"number for a duration", "timeout: 30\n", protoyaml.Options{}, &adminv1.Host{}, `timeout (line 1): expected a duration string such as "30s"`},
		{"negative duration", "timeout: -1.5s\n", protoyaml.Options{}, &adminv1.Host{}, "timeout (line 1): must not be negative"},
		{"bad enum", "effect: maybe\n", protoyaml.Options{}, &adminv1.Rule{}, `effect (line 1): unknown value "maybe" (want one of allow, deny)`},
		{"unspecified enum", "effect: EFFECT_UNSPECIFIED\n", protoyaml.Options{}, &adminv1.Rule{}, `effect (line 1): unknown value "EFFECT_UNSPECIFIED" (want one of allow, deny)`},
		{"enum number without protojson forms", "effect: 1\n", protoyaml.Options{}, &adminv1.Rule{}, "effect (line 1): expected one of allow, deny"},
		{"unknown enum number", "effect: 7\n", jsonForms, &adminv1.Rule{}, "effect (line 1): unknown value 7"},
		{"not a boolean", "allow_path_parameters: yes please\n", protoyaml.Options{}, &adminv1.Host{}, "allow_path_parameters (line 1): expected true or false"},
		{"not a finite number", "limits: {rate_per_second: .nan}\n", protoyaml.Options{}, &configv1.Config{}, "limits.rate_per_second (line 1): expected a finite number"},
		{"bad timestamp", "create_time: yesterday\n", protoyaml.Options{}, &adminv1.Revocation{}, "create_time (line 1): expected an RFC 3339 time"},
		{"bad base64", "body: '***'\n", protoyaml.Options{}, &gatewayv1.ForwardRequest{}, "body (line 1): expected base64 bytes"},
		{"invalid YAML", "name: [a\n", protoyaml.Options{}, &adminv1.Host{}, "(file): not valid YAML:"},
		{"invalid YAML with a file name", "name: [a\n", protoyaml.Options{File: "h.yaml"}, &adminv1.Host{}, "h.yaml: not valid YAML:"},
		{"empty", "", protoyaml.Options{}, &adminv1.Host{}, "(file): empty document"},
		{"only a comment", "# nothing\n", protoyaml.Options{File: "stdin"}, &adminv1.Host{}, "stdin: empty document"},
		{"too deep", strings.Repeat("tls: {", 40) + strings.Repeat("}", 40), protoyaml.Options{}, &adminv1.Host{}, "tls.tls (line 1): unknown key"},
		{"too large", "name: '" + strings.Repeat("a", protoyaml.MaxBytes) + "'\n", protoyaml.Options{}, &adminv1.Host{}, "(file): larger than 4194304 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := protoyaml.Unmarshal([]byte(tc.in), tc.into, tc.opts)
			var fe *fieldpath.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *fieldpath.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to start with %q", err, tc.want)
			}
		})
	}
}

func TestNestingBound(t *testing.T) {
	t.Parallel()
	// None of the gateway's messages nests deeply; a recursive one (here
	// descriptorpb's nested_type) must not let a document exhaust the stack.
	in := strings.Repeat("{nested_type: [", 40) + strings.Repeat("]}", 40)
	err := protoyaml.Unmarshal([]byte(in), &descriptorpb.DescriptorProto{}, protoyaml.Options{})
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("40 levels of nesting: %v, want nested too deeply", err)
	}
	in = strings.Repeat("{nested_type: [", 30) + strings.Repeat("]}", 30)
	if err := protoyaml.Unmarshal([]byte(in), &descriptorpb.DescriptorProto{}, protoyaml.Options{}); err != nil {
		t.Fatalf("30 levels of nesting: %v", err)
	}
}
