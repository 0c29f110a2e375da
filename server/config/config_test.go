package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/assertion"
	"github.com/msg-gateway/msg/server/config"
)

const base = `
listen: 127.0.0.1:8443
data_dir: /var/lib/msg-gateway
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
		{"missing data_dir", "listen: 127.0.0.1:1\ntls: {cert_file: a, key_file: b, client_ca_file: c}\n", "data_dir"},
		{"etag in config", base + "hosts: [{name: a.internal, upstream: 'http://x', etag: '3'}]\n", "hosts[0].etag"},
		{"missing client CA", "listen: :8443\ntls: {cert_file: a, key_file: b}\n", "tls.client_ca_file"},
		{"bad min version", base + "tls: {min_version: '1.1'}\n", "tls"},
		{"bad min version value", "listen: :1\ntls: {cert_file: a, key_file: b, client_ca_file: c, min_version: '1.0'}\n", "tls.min_version"},
		{"bad log level", base + "log: {level: loud}\n", "log.level"},
		{"alias", base + "hosts: [&h {name: a}, *h]\n", "hosts[1]"},
		{"message too small", base + "limits: {max_message_bytes: 10}\n", "limits.max_message_bytes"},
		{"reload interval too short", "listen: 127.0.0.1:8443\ntls: {cert_file: s, key_file: k, client_ca_file: c, reload_interval: 1ms}\n", "tls.reload_interval"},
		{"empty crl file", "listen: 127.0.0.1:8443\ntls: {cert_file: s, key_file: k, client_ca_file: c, crl_files: ['']}\n", "tls.crl_files[0]"},
		{"negative rate", base + "limits: {rate_per_second: -1}\n", "limits.rate_per_second"},
		{"rate too high", base + "limits: {rate_per_second: 1e9}\n", "limits.rate_per_second"},
		{"too many connections", base + "limits: {max_connections: 2000000}\n", "limits.max_connections"},
		{"in flight too high", base + "limits: {max_in_flight_per_identity: 2000000}\n", "limits.max_in_flight_per_identity"},
		{"burst not a number", base + "limits: {burst: many}\n", "limits.burst"},
		{"handshakes over connections", base + "limits: {max_connections: 100, max_handshakes: 200}\n", "limits.max_handshakes"},
		{"per-source handshakes over handshakes", base + "limits: {max_handshakes: 10, max_handshakes_per_source: 20}\n", "limits.max_handshakes_per_source"},
		{"zero first message timeout", base + "limits: {first_message_timeout: 0s}\n", "limits.first_message_timeout"},
		{"long first message timeout", base + "limits: {first_message_timeout: 11m}\n", "limits.first_message_timeout"},
		{"too many pending streams", base + "limits: {max_pending_streams: 2000000}\n", "limits.max_pending_streams"},
		{"pending bytes under the message size", base + "limits: {max_message_bytes: 1048576, max_pending_bytes: 1024}\n", "limits.max_pending_bytes"},
		{"zero response write timeout", base + "limits: {response_write_timeout: 0s}\n", "limits.response_write_timeout"},
		{"long response write timeout", base + "limits: {response_write_timeout: 2h}\n", "limits.response_write_timeout"},
		{"zero drain timeout", base + "drain_timeout: 0s\n", "drain_timeout"},
		{"long drain timeout", base + "drain_timeout: 11m\n", "drain_timeout"},
		{"drain timeout as number", base + "drain_timeout: 10\n", "drain_timeout"},
		{"tracing endpoint without port", base + "tracing: {endpoint: collector}\n", "tracing.endpoint"},
		{"tracing endpoint bad port", base + "tracing: {endpoint: 'collector:0'}\n", "tracing.endpoint"},
		{"tracing ratio above 1", base + "tracing: {endpoint: 'collector:4317', sample_ratio: 1.5}\n", "tracing.sample_ratio"},
		{"tracing ratio not a number", base + "tracing: {endpoint: 'collector:4317', sample_ratio: half}\n", "tracing.sample_ratio"},
		{"tracing ratio NaN", base + "tracing: {endpoint: 'collector:4317', sample_ratio: .nan}\n", "tracing.sample_ratio"},
		{"assertion ttl too short", base + "assertion: {ttl: 500ms}\n", "assertion.ttl"},
		{"assertion ttl too long", base + "assertion: {ttl: 2h}\n", "assertion.ttl"},
		{"assertion rotation too short", base + "assertion: {rotation_period: 10ms}\n", "assertion.rotation_period"},
		{"assertion header not a token", base + "assertion: {header: 'X Assertion'}\n", "assertion.header"},
		{"assertion header is the identity header", base + "assertion: {header: x_msg_principal}\n", "assertion.header"},
		{"assertion header is X-Request-Id", base + "assertion: {header: X-Request-ID}\n", "assertion.header"},
		{"assertion jwks_listen not host:port", base + "assertion: {jwks_listen: jwks}\n", "assertion.jwks_listen"},
		{"assertion unknown key", base + "assertion: {algorithm: RS256}\n", "assertion.algorithm"},
		{"tracing insecure without endpoint", base + "tracing: {insecure: true}\n", "tracing.insecure"},
		{"tracing unknown key", base + "tracing: {endpiont: 'collector:4317'}\n", "tracing.endpiont"},
		{"keepalive unknown key", base + "keepalive: {time: 10s}\n", "keepalive.time"},
		{"keepalive ping under a second", base + "keepalive: {ping_interval: 500ms}\n", "keepalive.ping_interval"},
		{"keepalive ping interval too long", base + "keepalive: {ping_interval: 3h}\n", "keepalive.ping_interval"},
		{"keepalive zero timeout", base + "keepalive: {ping_timeout: 0s}\n", "keepalive.ping_timeout"},
		{"keepalive client pings too often", base + "keepalive: {min_client_ping_interval: 100ms}\n", "keepalive.min_client_ping_interval"},
		{"keepalive idle as number", base + "keepalive: {max_connection_idle: 60}\n", "keepalive.max_connection_idle"},
		{"audit checkpoint interval under a second", base + "audit: {checkpoint_interval: 500ms}\n", "audit.checkpoint_interval"},
		{"audit checkpoint interval over an hour", base + "audit: {checkpoint_interval: 2h}\n", "audit.checkpoint_interval"},
		{"audit witness empty", base + "audit: {witness: {}}\n", "audit.witness"},
		{"audit witness unknown key", base + "audit: {witness: {path: /w}}\n", "audit.witness.path"},
		{"audit witness url not http", base + "audit: {witness: {url: 'ftp://w.corp/x'}}\n", "audit.witness.url"},
		{"audit witness url without host", base + "audit: {witness: {url: 'https:///x'}}\n", "audit.witness.url"},
		{"audit witness url with credentials", base + "audit: {witness: {url: 'https://u:p@w.corp/x'}}\n", "audit.witness.url"},
		{"audit witness ftp url with credentials", base + "audit: {witness: {url: 'ftp://u:p@w.corp/x'}}\n", "audit.witness.url"},
		{"not yaml", "listen: [\n", "(file)"},
		{"top level list", "- a\n", "(top level)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml))
			var ce *fieldpath.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *fieldpath.Error", err)
			}
			got := string(ce.Path)
			if got == "" && strings.HasPrefix(err.Error(), tt.wantPath) {
				got = tt.wantPath // the document as a whole: no key, the message says where
			}
			if got != tt.wantPath {
				t.Errorf("path = %q (%v), want %q", ce.Path, err, tt.wantPath)
			}
			if strings.Contains(err.Error(), "u:p@") {
				t.Errorf("message %q repeats the URL's credentials", err.Error())
			}
			if !strings.Contains(err.Error(), tt.wantPath) {
				t.Errorf("message %q does not name %q", err.Error(), tt.wantPath)
			}
		})
	}
}

func TestKeepaliveSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.GetKeepalive()
	for _, d := range []struct {
		key       string
		got, want time.Duration
	}{
		{"ping_interval", k.GetPingInterval().AsDuration(), config.DefaultPingInterval},
		{"ping_timeout", k.GetPingTimeout().AsDuration(), config.DefaultPingTimeout},
		{"min_client_ping_interval", k.GetMinClientPingInterval().AsDuration(), config.DefaultMinClientPingInterval},
		{"max_connection_idle", k.GetMaxConnectionIdle().AsDuration(), config.DefaultMaxConnectionIdle},
	} {
		if d.got != d.want {
			t.Errorf("default keepalive.%s = %v, want %v", d.key, d.got, d.want)
		}
	}
	cfg, err = config.Parse([]byte(base + "keepalive: {ping_interval: 2s, ping_timeout: 1s, min_client_ping_interval: 10s, max_connection_idle: 5m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k := cfg.GetKeepalive(); k.GetPingInterval().AsDuration() != 2*time.Second || k.GetPingTimeout().AsDuration() != time.Second ||
		k.GetMinClientPingInterval().AsDuration() != 10*time.Second || k.GetMaxConnectionIdle().AsDuration() != 5*time.Minute {
		t.Errorf("keepalive = %v, want the file's values", k)
	}
}

func TestAssertionSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.GetAssertion()
	if a.GetIssuer() != assertion.DefaultIssuer || a.GetHeader() != assertion.DefaultHeader ||
		a.GetTtl().AsDuration() != assertion.DefaultTTL || a.GetRotationPeriod().AsDuration() != assertion.DefaultRotationPeriod || a.GetJwksListen() != "" {
		t.Errorf("default assertion = %v", a)
	}
	cfg, err = config.Parse([]byte(base + "assertion: {issuer: fleet-eu, header: X-Gw-Jwt, ttl: 30s, rotation_period: 1h, jwks_listen: '127.0.0.1:8081'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.GetAssertion(); a.GetIssuer() != "fleet-eu" || a.GetHeader() != "X-Gw-Jwt" || a.GetTtl().AsDuration() != 30*time.Second ||
		a.GetRotationPeriod().AsDuration() != time.Hour || a.GetJwksListen() != "127.0.0.1:8081" {
		t.Errorf("assertion = %v, want the file's values", a)
	}
}

func TestOperationsSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.GetDrainTimeout().AsDuration(); got != config.DefaultDrainTimeout {
		t.Errorf("default drain_timeout = %v, want %v", got, config.DefaultDrainTimeout)
	}
	if cfg.GetTracing().GetEndpoint() != "" || cfg.GetTracing().GetSampleRatio() != 1 {
		t.Errorf("default tracing = %v, want off with sample ratio 1", cfg.GetTracing())
	}
	cfg, err = config.Parse([]byte(base + `
drain_timeout: 30s
tracing: {endpoint: "otel-collector.corp:4317", insecure: true, sample_ratio: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.GetDrainTimeout().AsDuration(); got != 30*time.Second {
		t.Errorf("drain_timeout = %v, want 30s", got)
	}
	tr := cfg.GetTracing()
	if tr.GetEndpoint() != "otel-collector.corp:4317" || !tr.GetInsecure() || tr.SampleRatio == nil || tr.GetSampleRatio() != 0 {
		t.Errorf("tracing = %v, want the configured values with an explicit 0 ratio", tr)
	}
	cfg, err = config.Parse([]byte(base + "tracing: {endpoint: 'c:4317', sample_ratio: 0.25}\n"))
	if err != nil || cfg.GetTracing().GetSampleRatio() != 0.25 {
		t.Errorf("sample_ratio 0.25: cfg %v, err %v", cfg.GetTracing(), err)
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
			var ce *fieldpath.Error
			if !errors.As(err, &ce) || ce.Msg == "" {
				t.Fatalf("error %v is not a *fieldpath.Error saying what is wrong where", err)
			}
			return
		}
		if cfg.GetListen() == "" || cfg.GetTls().GetClientCaFile() == "" {
			t.Fatalf("accepted a config without required settings: %v", cfg)
		}
	})
}

func TestHardeningSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.GetLimits()
	if l.GetMaxConnections() != config.DefaultMaxConnections || l.GetRatePerSecond() != config.DefaultRatePerSecond ||
		l.GetBurst() != config.DefaultBurst || l.GetMaxInFlightPerIdentity() != config.DefaultMaxInFlightPerIdentity {
		t.Errorf("default limits = %v", l)
	}
	if l.GetMaxHandshakes() != config.DefaultMaxHandshakes || l.GetMaxHandshakesPerSource() != config.DefaultMaxHandshakesPerSource ||
		l.GetFirstMessageTimeout().AsDuration() != config.DefaultFirstMessageTimeout || l.GetMaxPendingStreams() != config.DefaultMaxPendingStreams ||
		l.GetMaxPendingBytes() != config.DefaultMaxPendingBytes || l.GetResponseWriteTimeout().AsDuration() != config.DefaultResponseWriteTimeout {
		t.Errorf("default pre-authorization limits = %v", l)
	}
	if got := cfg.GetTls().GetReloadInterval().AsDuration(); got != config.DefaultTLSReloadInterval {
		t.Errorf("default tls.reload_interval = %v, want %v", got, config.DefaultTLSReloadInterval)
	}
	cfg, err = config.Parse([]byte(`
listen: 127.0.0.1:8443
data_dir: /tmp/x
tls: {cert_file: s.pem, key_file: s-key.pem, client_ca_file: ca.pem, crl_files: [a.crl, b.crl], reload_interval: 30s}
limits: {max_connections: 50, rate_per_second: 2.5, burst: 10, max_in_flight_per_identity: 4}
hosts: [{name: a.internal, upstream: "http://10.0.0.1", allowed_cidrs: [10.0.0.0/24]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	l = cfg.GetLimits()
	if l.GetMaxConnections() != 50 || l.GetRatePerSecond() != 2.5 || l.GetBurst() != 10 || l.GetMaxInFlightPerIdentity() != 4 {
		t.Errorf("limits = %v", l)
	}
	// Defaults that would exceed a smaller setting they depend on follow it.
	if l.GetMaxHandshakes() != 50 || l.GetMaxHandshakesPerSource() != 50 {
		t.Errorf("handshake limits under max_connections 50 = %d, %d; want 50, 50", l.GetMaxHandshakes(), l.GetMaxHandshakesPerSource())
	}
	if tl := cfg.GetTls(); len(tl.GetCrlFiles()) != 2 || tl.GetReloadInterval().AsDuration() != 30*time.Second {
		t.Errorf("tls = %v", tl)
	}
	if got := cfg.GetHosts()[0].GetAllowedCidrs(); len(got) != 1 || got[0] != "10.0.0.0/24" {
		t.Errorf("allowed_cidrs = %v", got)
	}
	cfg, err = config.Parse([]byte(base + "limits: {max_message_bytes: 268435456, max_handshakes: 8, max_handshakes_per_source: 2, first_message_timeout: 3s, max_pending_streams: 9, response_write_timeout: 5s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	l = cfg.GetLimits()
	if l.GetMaxPendingBytes() != 256<<20 || l.GetMaxHandshakes() != 8 || l.GetMaxHandshakesPerSource() != 2 ||
		l.GetFirstMessageTimeout().AsDuration() != 3*time.Second || l.GetMaxPendingStreams() != 9 || l.GetResponseWriteTimeout().AsDuration() != 5*time.Second {
		t.Errorf("pre-authorization limits = %v", l)
	}
}
