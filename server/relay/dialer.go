package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Resolver looks up the IP addresses of an upstream host name. A
// [*net.Resolver] implements it; tests pass a stub.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection to address, which the [Dialer] has already
// checked: always an IP literal and a port, never a name.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// specialRange is an address range an upstream may reach only when its host
// names the range explicitly in allowed_cidrs.
type specialRange struct {
	prefix netip.Prefix
	what   string
}

// specialRanges are refused by default: they reach the gateway itself, the
// cloud metadata service or nobody in particular. Addresses are compared in
// their effective form (see effectiveAddr), so IPv4 ranges also cover the
// IPv4-mapped, IPv4-compatible and NAT64 spellings.
var specialRanges = []specialRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
}

var (
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")
	v4CompatPref = netip.MustParsePrefix("::/96")
)

// effectiveAddr returns the address a connection to a really reaches, for
// the purpose of the checks: the IPv4 address inside an IPv4-mapped
// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::a.b.c.d)
// address, and a without its zone otherwise.
func effectiveAddr(a netip.Addr) netip.Addr {
	a = a.WithZone("")
	switch {
	case a.Is4In6():
		return a.Unmap()
	case a.Is6() && (nat64Prefix.Contains(a) || (v4CompatPref.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback())):
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[12:16]))
	}
	return a
}

func special(a netip.Addr) (specialRange, bool) {
	for _, r := range specialRanges {
		if r.prefix.Contains(a) {
			return r, true
		}
	}
	return specialRange{}, false
}

// AddrPolicy decides which IP addresses one host's upstream may be reached
// at. The zero value and nil allow every address outside the special ranges
// (loopback, link-local, unspecified, multicast, broadcast, cloud metadata).
type AddrPolicy struct {
	allowed []netip.Prefix
}

// NewAddrPolicy compiles a host's allowed_cidrs. Empty means the default:
// anything but the special ranges. Otherwise an address must lie in one of
// the CIDRs; an address in a special range must lie in a CIDR that is itself
// inside that special range (so "0.0.0.0/0" does not unlock loopback, but
// "127.0.0.0/8" does). Entries must be written canonically (no host bits)
// and in IPv4 form for IPv4 networks.
func NewAddrPolicy(cidrs []string) (*AddrPolicy, error) {
	p := &AddrPolicy{}
	for i, c := range cidrs {
		pre, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, &cidrError{index: i, msg: fmt.Sprintf("not a CIDR such as 10.0.0.0/8: %q", c)}
		}
		if pre.Addr().Zone() != "" {
			return nil, &cidrError{index: i, msg: "zones are not allowed"}
		}
		if pre.Masked() != pre {
			return nil, &cidrError{index: i, msg: fmt.Sprintf("has host bits set; write %s", pre.Masked())}
		}
		if a := pre.Addr(); a.Is4In6() || (nat64Prefix.Contains(a) && pre.Bits() >= nat64Prefix.Bits()) {
			return nil, &cidrError{index: i, msg: "IPv4-mapped and NAT64 addresses are checked as IPv4: write the IPv4 network"}
		}
		p.allowed = append(p.allowed, pre)
	}
	return p, nil
}

type cidrError struct {
	index int
	msg   string
}

func (e *cidrError) Error() string { return e.msg }

// RefusedAddrError says why the dialer refused an address. It goes to the
// log only; the app sees Unavailable.
type RefusedAddrError struct {
	// Addr is the address as resolved or written.
	Addr netip.Addr
	// Reason says which rule refused it.
	Reason string
}

func (e *RefusedAddrError) Error() string {
	return fmt.Sprintf("address %s refused: %s", e.Addr, e.Reason)
}

// Check returns nil when a may be dialled, or a [*RefusedAddrError].
func (p *AddrPolicy) Check(a netip.Addr) error {
	if !a.IsValid() {
		return &RefusedAddrError{Addr: a, Reason: "invalid address"}
	}
	e := effectiveAddr(a)
	sr, isSpecial := special(e)
	if p == nil || len(p.allowed) == 0 {
		if isSpecial {
			return &RefusedAddrError{Addr: a, Reason: sr.what + " (not in allowed_cidrs)"}
		}
		return nil
	}
	for _, q := range p.allowed {
		if !q.Contains(e) {
			continue
		}
		if isSpecial && !(q.Bits() >= sr.prefix.Bits() && sr.prefix.Contains(q.Addr())) {
			continue // a broad entry does not unlock a special range
		}
		return nil
	}
	if isSpecial {
		return &RefusedAddrError{Addr: a, Reason: sr.what + " (not in allowed_cidrs)"}
	}
	return &RefusedAddrError{Addr: a, Reason: "not in allowed_cidrs"}
}

// Dialer is the relay's only way out: it dials exactly the addresses its
// host may reach. The upstream name is resolved once per dial, every
// resolved address is checked against the policy, and a checked address is
// what gets dialled, so a second lookup (DNS rebinding) cannot redirect the
// connection. Addresses that fail the check are skipped; when none passes,
// the dial fails with a [*RefusedAddrError].
type Dialer struct {
	// Policy decides which addresses may be dialled. nil: the default policy.
	Policy *AddrPolicy
	// Resolver looks up names. nil: net.DefaultResolver.
	Resolver Resolver
	// Dial connects to a checked "ip:port". nil: a net.Dialer with a 10s
	// timeout.
	Dial DialFunc
}

// DialContext resolves, checks and dials address ("host:port"). It has the
// shape of http.Transport.DialContext.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("relay dialer: %w", err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("relay dialer: port %q is not a number", portStr)
	}
	addrs, err := d.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var refused []string
	var firstRefusal error
	var lastErr error
	for _, a := range addrs {
		if err := d.Policy.Check(a); err != nil {
			if firstRefusal == nil {
				firstRefusal = err
			}
			refused = append(refused, err.Error())
			continue
		}
		dial := d.Dial
		if dial == nil {
			dial = (&net.Dialer{Timeout: defaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext
		}
		conn, err := dial(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if len(refused) == 1 {
		return nil, firstRefusal
	}
	return nil, fmt.Errorf("%w (and: %s)", firstRefusal, strings.Join(refused[1:], "; "))
}

// resolve returns the addresses of host: the literal itself, or one lookup.
func (d *Dialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	r := d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("relay dialer: resolving %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, errors.New("relay dialer: resolving " + host + ": no addresses")
	}
	return addrs, nil
}

// defaultDialTimeout bounds one TCP connect to an upstream.
const defaultDialTimeout = 10 * time.Second
