package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/relay"
	"google.golang.org/protobuf/proto"
)

// TestDeployExampleConfig keeps deploy/gateway.example.yaml valid: it parses,
// its rules compile, and its hosts compile once the backend CA files (which
// exist only on a real gateway) are left out.
func TestDeployExampleConfig(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "gateway.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatalf("deploy/gateway.example.yaml: %v", err)
	}
	if cfg.GetTracing().GetEndpoint() == "" || cfg.GetDrainTimeout() == nil || len(cfg.GetRules()) == 0 {
		t.Errorf("the example lost its operations settings: %v", cfg)
	}
	if _, err := authz.NewPolicy(cfg.GetRules()); err != nil {
		t.Errorf("rules: %v", err)
	}
	var hosts []*adminv1.Host
	for _, h := range cfg.GetHosts() {
		h = proto.Clone(h).(*adminv1.Host)
		if h.GetTls() != nil {
			h.Tls.CaFile = ""
		}
		hosts = append(hosts, h)
	}
	table, err := relay.NewTable(hosts)
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	table.Close()
}
