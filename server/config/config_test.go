package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/server/config"
)

const base = `
listen: 127.0.0.1:8443
tls: {cert_file: s.pem, key_file: s-key.pem, client_ca_file: ca.pem}
`

func TestParseValid(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(base + `
admin_listen: 127.0.0.1:9090
limits: {handshake_timeout: 5s, max_header_count: 20}
hosts:
  - name: demo.internal
    upstream: https://10.0.0.5:8443/api
    timeout: 1m30s
    max_request_body_bytes: 1024
    tls: {ca_file: backend-ca.pem, server_name: demo.corp}
rules:
  - id: r1
    effect: allow
    principals: [{id: alice}, {organizational_unit: mobile}]
    hosts: ["*.internal"]
    methods: [GET, HEAD]
    paths: [{prefix: /api/}, {glob: "/files/**"}]
  - id: r2
    effect: EFFECT_DENY
    principals: [{any: true}]
    hosts: [demo.internal]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.GetHosts()[0].GetTimeout().AsDuration(); got != 90*time.Second {
		t.Errorf("timeout = %v, want 1m30s", got)
	}
	if got := cfg.GetRules()[1].GetEffect().String(); got != "EFFECT_DENY" {
		t.Errorf("effect = %v", got)
	}
	if got := cfg.GetRules()[0].GetPaths()[1].GetGlob(); got != "/files/**" {
		t.Errorf("glob = %q", got)
	}
	if cfg.GetAdminListen() != "127.0.0.1:9090" || cfg.GetLimits().GetMaxHeaderCount() != 20 {
		t.Errorf("settings not applied: %v", cfg)
	}
	if cfg.GetLimits().GetMaxMessageBytes() != config.DefaultMaxMessageBytes || cfg.GetLog().GetFormat() != "json" {
		t.Errorf("defaults not applied: %v", cfg)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		yaml     string
		wantPath string
	}{
		{"unknown top-level key", base + "listne: x\n", "listne"},
		{"unknown nested key", base + "limits: {max_headers: 3}\n", "limits.max_headers"},
		{"unknown key in host", base + "hosts: [{name: a, upstrem: http://x}]\n", "hosts[0].upstrem"},
		{"unknown key in rule principal", base + "rules: [{id: a, principals: [{cn: x}]}]\n", "rules[0].principals[0].cn"},
		{"two oneof kinds", base + "rules: [{id: a, principals: [{id: x, any: true}]}]\n", "rules[0].principals[0].any"},
		{"wrong type string", base + "hosts: [{name: [a]}]\n", "hosts[0].name"},
		{"number for string", base + "hosts: [{name: 5}]\n", "hosts[0].name"},
		{"string for number", base + "limits: {max_header_count: many}\n", "limits.max_header_count"},
		{"negative number", base + "limits: {max_header_bytes: -1}\n", "limits.max_header_bytes"},
		{"bad duration", base + "limits: {handshake_timeout: soon}\n", "limits.handshake_timeout"},
		{"duration as number", base + "limits: {handshake_timeout: 10}\n", "limits.handshake_timeout"},
		{"bad enum", base + "rules: [{id: a, effect: maybe}]\n", "rules[0].effect"},
		{"unspecified enum", base + "rules: [{id: a, effect: EFFECT_UNSPECIFIED}]\n", "rules[0].effect"},
		{"duplicate key", base + "listen: 127.0.0.1:1\n", "listen"},
		{"list expected", base + "hosts: {name: a}\n", "hosts"},
		{"mapping expected", base + "limits: 5\n", "limits"},
		{"missing listen", "tls: {cert_file: a, key_file: b, client_ca_file: c}\n", "listen"},
		{"bad listen", "listen: nonsense\ntls: {cert_file: a, key_file: b, client_ca_file: c}\n", "listen"},
		{"listen on a name", "listen: example.com:443\ntls: {cert_file: a, key_file: b, client_ca_file: c}\n", "listen"},
		{"missing client CA", "listen: :8443\ntls: {cert_file: a, key_file: b}\n", "tls.client_ca_file"},
		{"bad min version", base + "tls: {min_version: '1.1'}\n", "tls"},
		{"bad min version value", "listen: :1\ntls: {cert_file: a, key_file: b, client_ca_file: c, min_version: '1.0'}\n", "tls.min_version"},
		{"bad log level", base + "log: {level: loud}\n", "log.level"},
		{"alias", base + "hosts: [&h {name: a}, *h]\n", "hosts[1]"},
		{"message too small", base + "limits: {max_message_bytes: 10}\n", "limits.max_message_bytes"},
		{"not yaml", "listen: [\n", "(file)"},
		{"top level list", "- a\n", "(top level)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if ce.Path != tt.wantPath {
				t.Errorf("path = %q (%v), want %q", ce.Path, err, tt.wantPath)
			}
			if !strings.Contains(err.Error(), tt.wantPath) {
				t.Errorf("message %q does not name %q", err.Error(), tt.wantPath)
			}
		})
	}
}

func TestEmptyFileFailsClosed(t *testing.T) {
	t.Parallel()
	if _, err := config.Parse(nil); err == nil {
		t.Fatal("an empty config was accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "hosts: [{name: a, upstream: 'http://x', timeout: 1s}]\n"))
	f.Add([]byte(base + "rules: [{id: a, effect: allow, principals: [{any: true}], hosts: ['**'], paths: [{glob: '/a/**'}]}]\n"))
	f.Add([]byte("listen: [\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data)
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Path == "" {
				t.Fatalf("error %v is not a *config.Error naming a key", err)
			}
			return
		}
		if cfg.GetListen() == "" || cfg.GetTls().GetClientCaFile() == "" {
			t.Fatalf("accepted a config without required settings: %v", cfg)
		}
	})
}
