package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// TestDeployUnitBoundsResources keeps deploy/msg-gateway.service's memory
// and thread bounds (issue 11): MemoryMax above MemoryHigh above the Go
// runtime's GOMEMLIMIT, and a TasksMax.
func TestDeployUnitBoundsResources(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "msg-gateway.service"))
	if err != nil {
		t.Fatal(err)
	}
	service := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, _ := strings.Cut(line, "=")
			if k == "Environment" {
				k, v, _ = strings.Cut(v, "=")
			}
			service[k] = v
		}
	}
	size := func(key string, units map[string]int64) int64 {
		t.Helper()
		v := service[key]
		for suffix, mult := range units {
			if n, err := strconv.ParseInt(strings.TrimSuffix(v, suffix), 10, 64); strings.HasSuffix(v, suffix) && err == nil && n > 0 {
				return n * mult
			}
		}
		t.Fatalf("%s=%q is not a size", key, v)
		return 0
	}
	systemd := map[string]int64{"M": 1 << 20, "G": 1 << 30}
	high, hard := size("MemoryHigh", systemd), size("MemoryMax", systemd)
	gomem := size("GOMEMLIMIT", map[string]int64{"MiB": 1 << 20, "GiB": 1 << 30})
	if !(gomem < high && high < hard) {
		t.Errorf("want GOMEMLIMIT (%d) < MemoryHigh (%d) < MemoryMax (%d)", gomem, high, hard)
	}
	if hard < 1<<30 {
		t.Errorf("MemoryMax %d is below the ~400 MiB that 10000 idle connections need plus bodies in flight", hard)
	}
	if n, err := strconv.Atoi(service["TasksMax"]); err != nil || n < 64 || n > 4096 {
		t.Errorf("TasksMax=%q, want a number between 64 and 4096", service["TasksMax"])
	}
}
