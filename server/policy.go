package server

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/relay"
)

// compiled is one consistent set of host table and policy.
type compiled struct {
	table  *relay.Table
	policy *authz.Policy
}

// compile validates and compiles the hosts and rules of cfg. Nothing is
// applied when any entry is invalid.
func compile(cfg *configv1.Config, opts ...relay.TableOption) (*compiled, error) {
	return compileParts(cfg.GetHosts(), cfg.GetRules(), opts...)
}

// compileParts validates and compiles hosts and rules, from the config file
// or from a store snapshot. Errors name the key, e.g. "rules[2].hosts[0]".
func compileParts(hosts []*adminv1.Host, rules []*adminv1.Rule, opts ...relay.TableOption) (*compiled, error) {
	table, err := relay.NewTable(hosts, opts...)
	if err != nil {
		return nil, err
	}
	policy, err := authz.NewPolicy(rules)
	if err != nil {
		table.Close()
		return nil, err
	}
	// A rule naming an exact host that is not in the table is a typo that
	// would silently never match: refuse it.
	for i, r := range rules {
		for j, h := range r.GetHosts() {
			if strings.Contains(h, "*") {
				continue
			}
			if _, ok := table.Lookup(strings.ToLower(h)); !ok {
				table.Close()
				return nil, &fieldpath.Error{Path: fieldpath.Path("rules").Index(i).Field("hosts").Index(j), Msg: fmt.Sprintf("unknown host %q (not in hosts)", h)}
			}
		}
	}
	return &compiled{table: table, policy: policy}, nil
}

// Check validates a config completely without opening any socket: settings,
// TLS files, hosts and rules. It is what `msg-gateway check` runs.
func Check(cfg *configv1.Config) error {
	if err := config.Validate(cfg); err != nil {
		return err
	}
	if _, err := serverTLSConfig(cfg.GetTls()); err != nil {
		return err
	}
	if _, err := etcdTLSConfig(cfg.GetStore().GetEtcd()); err != nil {
		return err
	}
	if _, err := admin.NewAuthenticator(cfg.GetAdmin()); err != nil {
		return err
	}
	if t := cfg.GetAdmin().GetTls(); t != nil {
		if _, err := adminTLSConfig(t); err != nil {
			return err
		}
	}
	c, err := compile(cfg)
	if err != nil {
		return err
	}
	c.table.Close()
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
