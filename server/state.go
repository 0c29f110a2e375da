package server

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync/atomic"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/dn"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/revocation"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/store"
	"github.com/prometheus/client_golang/prometheus"
)

// state is one compiled store snapshot: the host table, the policy and the
// revocations the data plane uses. It is immutable and swapped atomically as
// a whole on every committed change.
type state struct {
	revision int64
	// hosts and rules are the snapshot's slices that table and policy were
	// compiled from: a later snapshot sharing them (a write of other kinds,
	// such as a device's renewal) reuses both.
	hosts  []*adminv1.Host
	rules  []*adminv1.Rule
	table  *relay.Table
	policy *authz.Policy
	// revoked holds the ids of the store's revocations ("fp-..." and
	// "sn-..."), as package revocation computes them.
	revoked map[string]bool
}

// served is what the data plane serves from: the compiled state of the
// store's latest snapshot, read without locks by every request. It is also
// the revocation source of the admin store's revocations.
type served struct {
	cur       atomic.Pointer[state]
	tableOpts []relay.TableOption
	revision  prometheus.Gauge // msg_config_revision
	log       *slog.Logger
}

// load returns the state in force.
func (v *served) load() *state { return v.cur.Load() }

// apply puts next in force; requests that hold the previous state finish
// with it.
func (v *served) apply(next *state) {
	old := v.cur.Swap(next)
	v.revision.Set(float64(next.revision))
	if old != nil && old.table != next.table {
		old.table.Close()
	}
}

// compile builds the data plane's state from a store snapshot. When the
// snapshot has the hosts and rules of the state in force, it reuses that
// state's host table and policy: the store replaces only the slices of the
// kinds a write touches, and recompiling would needlessly drop the
// upstreams' pooled connections on every enrollment and renewal.
func (v *served) compile(snap *store.Snapshot) (*state, error) {
	var table *relay.Table
	var policy *authz.Policy
	if prev := v.load(); prev != nil && sameSlice(prev.hosts, snap.Hosts) && sameSlice(prev.rules, snap.Rules) {
		table, policy = prev.table, prev.policy
	} else {
		var err error
		if table, policy, err = compile(snap.Hosts, snap.Rules, v.tableOpts...); err != nil {
			return nil, err
		}
	}
	st := &state{revision: snap.Revision, hosts: snap.Hosts, rules: snap.Rules, table: table, policy: policy,
		revoked: make(map[string]bool, len(snap.Revocations))}
	for _, r := range snap.Revocations {
		st.revoked[v.revocationID(r)] = true
	}
	return st, nil
}

// validate is the admin API's whole-snapshot check: everything that compile
// needs to succeed.
func (v *served) validate(snap *store.Snapshot) error {
	table, _, err := compile(snap.Hosts, snap.Rules, v.tableOpts...)
	if err != nil {
		return err
	}
	table.Close()
	return nil
}

// compile validates and compiles hosts and rules, from the config file or
// from a store snapshot. Errors name the key, e.g. "rules[2].hosts[0]".
func compile(hosts []*adminv1.Host, rules []*adminv1.Rule, opts ...relay.TableOption) (*relay.Table, *authz.Policy, error) {
	table, err := relay.NewTable(hosts, opts...)
	if err != nil {
		return nil, nil, err
	}
	policy, err := authz.NewPolicy(rules)
	if err != nil {
		table.Close()
		return nil, nil, err
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
				return nil, nil, &fieldpath.Error{Path: fieldpath.Path("rules").Index(i).Field("hosts").Index(j), Msg: fmt.Sprintf("unknown host %q (not in hosts)", h)}
			}
		}
	}
	return table, policy, nil
}

// revocationID is the id a stored revocation is checked under. A revocation
// by serial number is keyed again from its issuer and serial rather than
// trusted by its stored id: revocations written before issuers were
// canonicalized keep working, and so do issuers spelled in a way the old
// key missed.
func (v *served) revocationID(r *adminv1.Revocation) string {
	if r.GetSerialHex() == "" {
		return r.GetId()
	}
	issuer, err := dn.Parse(r.GetIssuer())
	serial, ok := new(big.Int).SetString(r.GetSerialHex(), 16)
	if err != nil || !ok {
		v.log.Warn("store revocation names no readable issuer and serial; it matches no certificate",
			"revocation", r.GetId(), "issuer", r.GetIssuer(), "serial_hex", r.GetSerialHex())
		return r.GetId()
	}
	return revocation.SerialID(issuer, serial)
}

// Revoked checks a certificate against the revocations of the state in
// force, by fingerprint and by issuer and serial. It makes served the
// [authz.RevocationChecker] of the admin store.
func (v *served) Revoked(cert *x509.Certificate) (bool, string) {
	st := v.load()
	if st == nil || len(st.revoked) == 0 {
		return false, ""
	}
	fp, sn := revocation.IDs(cert)
	if st.revoked[fp] {
		return true, "revoked by an admin (fingerprint)"
	}
	if sn != "" && st.revoked[sn] {
		return true, "revoked by an admin (issuer and serial)"
	}
	return false, ""
}

// sameSlice reports whether a and b are the same slice: same length and
// backing array.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
