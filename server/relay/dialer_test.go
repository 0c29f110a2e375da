package relay_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/relay"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestAddrPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		addr    string
		ok      bool
	}{
		// Default: anything but the special ranges.
		{"default public v4", nil, "192.0.2.10", true},
		{"default private v4", nil, "10.1.2.3", true},
		{"default public v6", nil, "2001:db8::1", true},
		{"default loopback", nil, "127.0.0.1", false},
		{"default loopback high", nil, "127.255.0.9", false},
		{"default loopback v6", nil, "::1", false},
		{"default metadata", nil, "169.254.169.254", false},
		{"default link-local v6", nil, "fe80::1", false},
		{"default link-local v6 with zone", nil, "fe80::1%eth0", false},
		{"default unspecified v4", nil, "0.0.0.0", false},
		{"default this network", nil, "0.1.2.3", false},
		{"default unspecified v6", nil, "::", false},
		{"default multicast v4", nil, "224.0.0.1", false},
		{"default multicast v6", nil, "ff02::1", false},
		{"default broadcast", nil, "255.255.255.255", false},
		{"default aws metadata v6", nil, "fd00:ec2::254", false},
		{"mapped loopback", nil, "::ffff:127.0.0.1", false},
		{"mapped metadata", nil, "::ffff:169.254.169.254", false},
		{"nat64 loopback", nil, "64:ff9b::7f00:1", false},
		{"nat64 metadata", nil, "64:ff9b::a9fe:a9fe", false},
		{"v4-compatible loopback", nil, "::127.0.0.1", false},
		{"mapped public", nil, "::ffff:192.0.2.10", true},
		{"nat64 public", nil, "64:ff9b::c000:20a", true},
		// An explicit allow-list.
		{"in allowed", []string{"10.20.0.0/16"}, "10.20.3.4", true},
		{"outside allowed", []string{"10.20.0.0/16"}, "10.21.0.1", false},
		{"mapped in allowed", []string{"10.20.0.0/16"}, "::ffff:10.20.3.4", true},
		{"nat64 in allowed", []string{"10.20.0.0/16"}, "64:ff9b::a14:304", true},
		{"v6 allowed", []string{"2001:db8::/32"}, "2001:db8::5", true},
		{"loopback explicitly allowed", []string{"127.0.0.0/8"}, "127.0.0.1", true},
		{"mapped loopback explicitly allowed", []string{"127.0.0.0/8"}, "::ffff:127.0.0.1", true},
		{"one loopback address allowed", []string{"127.0.0.1/32"}, "127.0.0.2", false},
		{"everything does not unlock loopback", []string{"0.0.0.0/0"}, "127.0.0.1", false},
		{"everything does not unlock metadata", []string{"0.0.0.0/0"}, "169.254.169.254", false},
		{"everything does not unlock v6 loopback", []string{"::/0"}, "::1", false},
		{"everything allows public", []string{"0.0.0.0/0"}, "192.0.2.10", true},
		{"loopback allowed is not metadata", []string{"127.0.0.0/8"}, "169.254.169.254", false},
		{"v4 list refuses v6", []string{"127.0.0.0/8"}, "::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := relay.NewAddrPolicy(tt.allowed)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Check(netip.MustParseAddr(tt.addr))
			if (err == nil) != tt.ok {
				t.Errorf("Check(%s) with %v = %v, want ok=%v", tt.addr, tt.allowed, err, tt.ok)
			}
		})
	}
}

func TestAddrPolicyRejectsBadCIDRs(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"10.0.0.1/8", "10.0.0.0", "banana", "::ffff:10.0.0.0/104", "64:ff9b::/96", "fe80::%eth0/64"} {
		if _, err := relay.NewAddrPolicy([]string{c}); err == nil {
			t.Errorf("NewAddrPolicy(%q) = nil error, want one", c)
		}
	}
}

// stubResolver answers a fixed sequence, one answer per lookup (the last one
// repeats), like a DNS server that rebinds a name after the first answer.
type stubResolver struct {
	mu      sync.Mutex
	answers [][]string
	calls   int
}

func (r *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := min(r.calls, len(r.answers)-1)
	r.calls++
	var out []netip.Addr
	for _, a := range r.answers[i] {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func (r *stubResolver) lookups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// recordingDial records the addresses it is asked to dial and connects to
// none of them: the test never sends a packet to a non-loopback address.
type recordingDial struct {
	mu   sync.Mutex
	addr []string
}

var errNotConnected = errors.New("recorded, not connected")

func (d *recordingDial) dial(_ context.Context, _, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addr = append(d.addr, address)
	return nil, errNotConnected
}

func (d *recordingDial) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addr...)
}

func TestDialerRebinding(t *testing.T) {
	t.Parallel()
	res := &stubResolver{answers: [][]string{{"192.0.2.10"}, {"127.0.0.1"}, {"169.254.169.254"}}}
	rec := &recordingDial{}
	d := &relay.Dialer{Resolver: res, Dial: rec.dial}
	ctx := context.Background()

	// First dial: the public-looking answer is checked and that very
	// address is dialled; the name is looked up once.
	if _, err := d.DialContext(ctx, "tcp", "orders.corp:8443"); !errors.Is(err, errNotConnected) {
		t.Fatalf("first dial: err = %v, want the recorder's", err)
	}
	if got := rec.dialled(); len(got) != 1 || got[0] != "192.0.2.10:8443" {
		t.Fatalf("dialled %v, want exactly [192.0.2.10:8443]", got)
	}
	if res.lookups() != 1 {
		t.Fatalf("lookups = %d after one dial, want 1 (no second lookup between check and dial)", res.lookups())
	}
	// Then the name rebinds to loopback and to the metadata address: both
	// are refused before any dial.
	for _, want := range []string{"127.0.0.1", "169.254.169.254"} {
		_, err := d.DialContext(ctx, "tcp", "orders.corp:8443")
		var re *relay.RefusedAddrError
		if !errors.As(err, &re) || re.Addr.String() != want {
			t.Fatalf("rebound dial: err = %v, want a refusal of %s", err, want)
		}
	}
	if got := rec.dialled(); len(got) != 1 {
		t.Errorf("dialled %v after the rebinding, want nothing more", got)
	}
}

func TestDialerMixedAnswer(t *testing.T) {
	t.Parallel()
	res := &stubResolver{answers: [][]string{{"127.0.0.1", "::ffff:169.254.169.254", "192.0.2.10", "::1"}}}
	rec := &recordingDial{}
	d := &relay.Dialer{Resolver: res, Dial: rec.dial}
	_, _ = d.DialContext(context.Background(), "tcp", "mixed.corp:80")
	if got := rec.dialled(); len(got) != 1 || got[0] != "192.0.2.10:80" {
		t.Errorf("dialled %v, want only the allowed address [192.0.2.10:80]", got)
	}
}

func TestDialerIPLiteral(t *testing.T) {
	t.Parallel()
	res := &stubResolver{answers: [][]string{{"192.0.2.10"}}}
	rec := &recordingDial{}
	d := &relay.Dialer{Resolver: res, Dial: rec.dial}
	for _, addr := range []string{"127.0.0.1:80", "[::ffff:127.0.0.1]:80", "[64:ff9b::a9fe:a9fe]:80", "0.0.0.0:80", "[::]:80"} {
		if _, err := d.DialContext(context.Background(), "tcp", addr); errors.Is(err, errNotConnected) || err == nil {
			t.Errorf("DialContext(%s) was dialled, want a refusal", addr)
		}
	}
	if res.lookups() != 0 || len(rec.dialled()) != 0 {
		t.Errorf("lookups %d, dialled %v: want none for refused literals", res.lookups(), rec.dialled())
	}
	// An allowed literal is dialled as is, never looked up.
	allowed, _ := relay.NewAddrPolicy([]string{"127.0.0.0/8"})
	d.Policy = allowed
	if _, err := d.DialContext(context.Background(), "tcp", "[::ffff:127.0.0.1]:80"); !errors.Is(err, errNotConnected) {
		t.Fatalf("err = %v", err)
	}
	if got := rec.dialled(); len(got) != 1 || got[0] != "127.0.0.1:80" || res.lookups() != 0 {
		t.Errorf("dialled %v with %d lookups, want [127.0.0.1:80] and none", got, res.lookups())
	}
}

func TestTableRefusesSpecialLiteralUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     *adminv1.Host
		wantPath string
	}{
		{"loopback", &adminv1.Host{Name: "a.internal", Upstream: "http://127.0.0.1:8080"}, "hosts[0].upstream"},
		{"metadata", &adminv1.Host{Name: "a.internal", Upstream: "http://169.254.169.254/latest"}, "hosts[0].upstream"},
		{"mapped loopback", &adminv1.Host{Name: "a.internal", Upstream: "http://[::ffff:127.0.0.1]:8080"}, "hosts[0].upstream"},
		{"outside allowed", &adminv1.Host{Name: "a.internal", Upstream: "http://10.9.9.9", AllowedCidrs: []string{"10.1.0.0/16"}}, "hosts[0].upstream"},
		{"bad cidr", &adminv1.Host{Name: "a.internal", Upstream: "http://orders.corp", AllowedCidrs: []string{"10.1.0.0/16", "10.1.0.1/16"}}, "hosts[0].allowed_cidrs[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := relay.NewTable([]*adminv1.Host{tt.host})
			var te *fieldpath.Error
			if !errors.As(err, &te) || string(te.Path) != tt.wantPath {
				t.Fatalf("NewTable error = %v, want one at %s", err, tt.wantPath)
			}
		})
	}
	if _, err := relay.NewTable([]*adminv1.Host{{Name: "a.internal", Upstream: "http://127.0.0.1:8080", AllowedCidrs: []string{"127.0.0.0/8"}}}); err != nil {
		t.Errorf("explicitly allowed loopback: %v", err)
	}
}

// TestForwardDialsOnlyCheckedAddress runs the relay's Forward against a
// host whose name rebinds between lookups: every dial goes to the address
// that was checked, and the rebound answers are never dialled.
func TestForwardDialsOnlyCheckedAddress(t *testing.T) {
	t.Parallel()
	res := &stubResolver{answers: [][]string{{"192.0.2.10"}, {"127.0.0.1"}}}
	rec := &recordingDial{}
	table, err := relay.NewTable([]*adminv1.Host{{Name: "rebind.internal", Upstream: "http://rebind.example:8080"}},
		relay.WithResolver(res), relay.WithDialFunc(rec.dial))
	if err != nil {
		t.Fatal(err)
	}
	var ptr atomic.Pointer[relay.Table]
	ptr.Store(table)
	r := relay.New(ptr.Load, relay.Options{})
	for i := range 2 {
		ctx := authz.NewContextWithPrincipal(context.Background(), &authz.Principal{ID: "alice"})
		ctx = authz.NewContextWithRequest(ctx, &authz.Request{Host: "rebind.internal", Method: "GET", Path: "/x"})
		ctx = authz.NewContextWithDecision(ctx, authz.Decision{Allowed: true, Reason: authz.ReasonAllowed})
		_, err := r.Forward(ctx, &gatewayv1.ForwardRequest{})
		st, _ := status.FromError(err)
		if st.Code() != codes.Unavailable || strings.Contains(st.Message(), "127.0.0.1") || strings.Contains(st.Message(), "192.0.2.10") {
			t.Fatalf("call %d: status %v, want Unavailable without addresses", i, st)
		}
	}
	if got := rec.dialled(); len(got) != 1 || got[0] != "192.0.2.10:8080" {
		t.Errorf("dialled %v, want only the first, checked answer [192.0.2.10:8080]", got)
	}
	if res.lookups() != 2 {
		t.Errorf("lookups = %d, want one per dial (2)", res.lookups())
	}
}
