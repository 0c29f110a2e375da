package server

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/tlsmaterial"
)

// LoadConfig reads, decodes, defaults and validates the config file at path;
// errors name the key and line (see package config).
func LoadConfig(path string) (*configv1.Config, error) { return config.Load(path) }

// HashAdminToken returns the form the config keeps of an admin bearer token
// (admin.tokens[].sha256: its hex SHA-256), for programs that write configs.
func HashAdminToken(token string) string { return admin.HashToken(token) }

// Check validates a config completely without opening any socket: settings,
// TLS files, hosts and rules. It is what `msg-gateway check` runs.
func Check(cfg *configv1.Config) error {
	if err := config.Validate(cfg); err != nil {
		return err
	}
	if _, err := tlsmaterial.NewDataPlane(cfg.GetTls(), nil, nil); err != nil {
		return err
	}
	if err := checkEnrollment(cfg); err != nil {
		return err
	}
	if _, err := tlsmaterial.EtcdConfig(cfg.GetStore().GetEtcd().GetTls()); err != nil {
		return err
	}
	if _, err := admin.NewAuthenticator(cfg.GetAdmin()); err != nil {
		return err
	}
	if t := cfg.GetAdmin().GetTls(); t != nil {
		if _, err := tlsmaterial.AdminConfig(t); err != nil {
			return err
		}
	}
	table, _, err := compile(cfg.GetHosts(), cfg.GetRules())
	if err != nil {
		return err
	}
	table.Close()
	return nil
}

// Warnings returns what is valid but unsafe in cfg, one sentence each.
// `msg-gateway check` prints them and the server logs them at start.
func Warnings(cfg *configv1.Config) []string {
	var out []string
	addr := cfg.GetAdminListen()
	if addr == "" {
		addr = config.DefaultAdminListen
	}
	if loopbackListen(addr) {
		return nil
	}
	if cfg.GetAdmin().GetTls() == nil {
		out = append(out, fmt.Sprintf("admin_listen %s is not a loopback address and admin.tls is not set: "+
			"admin bearer tokens, the admin API and /metrics travel as plain HTTP to anyone who can reach it; "+
			"set admin.tls, or keep admin_listen on 127.0.0.1", addr))
	}
	if cfg.GetAdmin().GetMetricsUnauthenticated() {
		out = append(out, fmt.Sprintf("admin.metrics_unauthenticated is set and admin_listen %s is not a loopback address: "+
			"anyone who can reach it reads /metrics (host names, rule ids, traffic per host) without credentials", addr))
	}
	return out
}

// loopbackListen reports whether a listen address binds loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
