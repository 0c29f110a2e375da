package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/config"
)

const enrollBase = base + "enroll: {listen: 127.0.0.1:8444, ca_cert_file: e.pem, ca_key_file: e-key.pem"

// TestEnrollSettings: an enroll section gets its defaults; every bad value
// is an error naming its key.
func TestEnrollSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(enrollBase + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.GetEnroll()
	if e.GetCertLifetime().AsDuration() != 7*24*time.Hour || e.GetMaxTokenTtl().AsDuration() != 24*time.Hour ||
		e.GetRatePerSource() != 1 || e.GetBurstPerSource() != 20 || e.GetAdvertiseAddress() != "" {
		t.Errorf("defaults: %v", e)
	}
	if cfg, err := config.Parse([]byte(base)); err != nil || cfg.GetEnroll() != nil {
		t.Errorf("no enroll section: %v %v, want none", cfg.GetEnroll(), err)
	}
	for _, tc := range []struct{ yaml, key string }{
		{base + "enroll: {ca_cert_file: e.pem, ca_key_file: k.pem}\n", "enroll.listen"},
		{enrollBase + ", listen: 127.0.0.1:8443}\n", "enroll.listen"},
		{base + "enroll: {listen: 0.0.0.0:8444, ca_cert_file: e.pem, ca_key_file: k.pem}\n", "enroll.advertise_address"},
		{enrollBase + ", advertise_address: 0.0.0.0:8444}\n", "enroll.advertise_address"},
		{enrollBase + ", advertise_address: gw.example.com}\n", "enroll.advertise_address"},
		{enrollBase + ", gateway_address: gw.example.com:0}\n", "enroll.gateway_address"},
		{base + "enroll: {listen: 127.0.0.1:8444, ca_key_file: k.pem}\n", "enroll.ca_cert_file"},
		{base + "enroll: {listen: 127.0.0.1:8444, ca_cert_file: e.pem}\n", "enroll.ca_key_file"},
		{enrollBase + ", cert_lifetime: 1s}\n", "enroll.cert_lifetime"},
		{enrollBase + ", cert_lifetime: 2400h}\n", "enroll.cert_lifetime"},
		{enrollBase + ", max_token_ttl: 10s}\n", "enroll.max_token_ttl"},
		{enrollBase + ", rate_per_source: -1}\n", "enroll.rate_per_source"},
		{enrollBase + ", rate_per_source: .nan}\n", "enroll.rate_per_source"},
		{enrollBase + ", burst_per_source: 100000}\n", "enroll.burst_per_source"},
		{enrollBase + ", ca_file: x}\n", "enroll.ca_file"},
	} {
		_, err := config.Parse([]byte(tc.yaml))
		var fe *fieldpath.Error
		if !errors.As(err, &fe) || string(fe.Path) != tc.key || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: %v, want an error naming %s", tc.yaml[len(base):], err, tc.key)
		}
	}
}
