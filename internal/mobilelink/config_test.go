package mobilelink_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/mobilelink"
)

var baseConfig = mobilelink.Config{Target: "127.0.0.1:8443"}

func TestUpdateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		want      mobilelink.Config
		wantField string // the field the error names; "" when it succeeds
	}{
		{name: "empty object keeps everything", body: `{}`, want: baseConfig},
		{
			name: "the phone's link",
			body: `{"rtt":"150ms","jitter":"20ms","uplink_bps":1000000,"downlink_bps":5000000,"nat_idle_timeout":"30s","queue_bytes":65536}`,
			want: mobilelink.Config{Target: "127.0.0.1:8443", RTT: mobilelink.Duration(150 * time.Millisecond),
				Jitter: mobilelink.Duration(20 * time.Millisecond), UplinkBPS: 1e6, DownlinkBPS: 5e6,
				NATIdleTimeout: mobilelink.Duration(30 * time.Second), QueueBytes: 65536},
		},
		{name: "ipv6 loopback target", body: `{"target":"[::1]:9"}`, want: mobilelink.Config{Target: "[::1]:9"}},
		{name: "localhost target", body: `{"target":"localhost:9"}`, want: mobilelink.Config{Target: "localhost:9"}},
		{name: "unknown field", body: `{"rtt":"1s","latency":"1s"}`, wantField: "latency"},
		{name: "not a duration", body: `{"rtt":150}`, wantField: "rtt"},
		{name: "bad duration", body: `{"jitter":"soon"}`, wantField: "jitter"},
		{name: "negative rtt", body: `{"rtt":"-1s"}`, wantField: "rtt"},
		{name: "rtt too long", body: `{"rtt":"11s"}`, wantField: "rtt"},
		{name: "jitter above rtt", body: `{"rtt":"10ms","jitter":"20ms"}`, wantField: "jitter"},
		{name: "negative rate", body: `{"uplink_bps":-1}`, wantField: "uplink_bps"},
		{name: "rate as string", body: `{"downlink_bps":"5M"}`, wantField: "downlink_bps"},
		{name: "tiny queue", body: `{"queue_bytes":10}`, wantField: "queue_bytes"},
		{name: "remote target", body: `{"target":"192.0.2.1:443"}`, wantField: "target"},
		{name: "mapped loopback is fine", body: `{"target":"[::ffff:127.0.0.1]:443"}`, want: mobilelink.Config{Target: "[::ffff:127.0.0.1]:443"}},
		{name: "zoned target", body: `{"target":"[::1%lo]:443"}`, wantField: "target"},
		{name: "hostname target", body: `{"target":"gateway.internal:443"}`, wantField: "target"},
		{name: "target without port", body: `{"target":"127.0.0.1"}`, wantField: "target"},
		{name: "not an object", body: `[1,2]`, wantField: "body"},
		{name: "null", body: `null`, wantField: "body"},
		{name: "two objects", body: `{} {}`, wantField: "body"},
		{name: "too large", body: `{"target":"` + strings.Repeat("x", 70<<10) + `"}`, wantField: "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mobilelink.UpdateConfig(baseConfig, strings.NewReader(tt.body))
			if tt.wantField != "" {
				fe, ok := errors.AsType[*mobilelink.FieldError](err)
				if !ok || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want a FieldError naming %q", err, tt.wantField)
				}
				if got != baseConfig {
					t.Errorf("a refused update returned %+v, want the base config", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzUpdateConfig(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"rtt":"150ms","jitter":"20ms"}`, `{"target":"[::1]:1"}`, `{"uplink_bps":1e20}`,
		`{"queue_bytes":4096}`, `{"nat_idle_timeout":"2s"}`, `[]`, `{"rtt":null}`, `{"a":1}`, `"x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := mobilelink.UpdateConfig(baseConfig, strings.NewReader(body))
		if err != nil {
			if _, ok := errors.AsType[*mobilelink.FieldError](err); !ok {
				t.Fatalf("UpdateConfig(%q): %v is not a FieldError", body, err)
			}
			if got != baseConfig {
				t.Fatalf("UpdateConfig(%q) failed but changed the config to %+v", body, got)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("UpdateConfig(%q) accepted %+v, which Validate refuses: %v", body, got, err)
		}
	})
}
