package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/config"
)

func TestStoreSection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		store   string
		wantErr string // the key the error names; empty: valid
	}{
		{"none", "", ""},
		{"etcd over TLS", "store: {etcd: {endpoints: ['https://etcd-1:2379', 'etcd-2:2379'], prefix: /msg/prod, dial_timeout: 3s, tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}}}", ""},
		{"etcd with system roots", "store: {etcd: {endpoints: ['https://etcd:2379'], tls: {}}}", ""},
		{"plaintext etcd made explicit", "store: {etcd: {endpoints: ['http://127.0.0.1:2379'], insecure: true}}", ""},
		{"no endpoints", "store: {etcd: {tls: {}}}", "store.etcd.endpoints"},
		{"bad scheme", "store: {etcd: {endpoints: ['unix:///run/etcd'], tls: {}}}", "store.etcd.endpoints[0]"},
		{"no port", "store: {etcd: {endpoints: ['https://etcd'], tls: {}}}", "store.etcd.endpoints[0]"},
		{"plaintext without insecure", "store: {etcd: {endpoints: ['http://etcd:2379'], tls: {}}}", "store.etcd.endpoints[0]"},
		{"no tls and no insecure", "store: {etcd: {endpoints: ['etcd:2379']}}", "store.etcd.tls"},
		{"https with insecure", "store: {etcd: {endpoints: ['https://etcd:2379'], insecure: true}}", "store.etcd.endpoints[0]"},
		{"tls with insecure", "store: {etcd: {endpoints: ['etcd:2379'], insecure: true, tls: {}}}", "store.etcd.insecure"},
		{"cert without key", "store: {etcd: {endpoints: ['etcd:2379'], tls: {cert_file: c.pem}}}", "store.etcd.tls.key_file"},
		{"relative prefix", "store: {etcd: {endpoints: ['etcd:2379'], tls: {}, prefix: msg}}", "store.etcd.prefix"},
		{"prefix with trailing slash", "store: {etcd: {endpoints: ['etcd:2379'], tls: {}, prefix: /msg/}}", "store.etcd.prefix"},
		{"dial timeout too long", "store: {etcd: {endpoints: ['etcd:2379'], tls: {}, dial_timeout: 2m}}", "store.etcd.dial_timeout"},
		{"unknown key", "store: {etcd: {endpoints: ['etcd:2379'], tls: {}, username: x}}", "store.etcd.username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(base + tt.store + "\n"))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			var ce *fieldpath.Error
			if !errors.As(err, &ce) || !strings.HasPrefix(string(ce.Path), tt.wantErr) {
				t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}
