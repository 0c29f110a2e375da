package enroll

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// TestSourceLimiter: one bucket per IPv4 address and per IPv6 /64; a
// refusal says how long until the next token.
func TestSourceLimiter(t *testing.T) {
	l := newSourceLimiter(1, 2)
	now := time.Unix(1000, 0)
	a := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}
	aOtherPort := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 2}
	b := &net.TCPAddr{IP: net.ParseIP("192.0.2.2"), Port: 1}
	v6 := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}
	v6SamePrefix := &net.TCPAddr{IP: net.ParseIP("2001:db8::ffff:1"), Port: 1}
	v6Other := &net.TCPAddr{IP: net.ParseIP("2001:db8:0:1::1"), Port: 1}
	for i, src := range []*net.TCPAddr{a, aOtherPort} {
		if ok, _ := l.allow(src, now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	if ok, wait := l.allow(a, now); ok || wait <= 0 || wait > time.Second {
		t.Errorf("third request from one address: allowed %v, wait %v; want refused with a wait up to 1s", ok, wait)
	}
	if ok, _ := l.allow(b, now); !ok {
		t.Error("another address shares the bucket")
	}
	if ok, _ := l.allow(a, now.Add(time.Second)); !ok {
		t.Error("no token after a second")
	}
	l.allow(v6, now)
	l.allow(v6SamePrefix, now)
	if ok, _ := l.allow(v6, now); ok {
		t.Error("two addresses of one IPv6 /64 have separate buckets")
	}
	if ok, _ := l.allow(v6Other, now); !ok {
		t.Error("another /64 shares the bucket")
	}
}

// TestRateLimitedBeforeAnything: over the limit, a request is refused with
// ResourceExhausted before its secret or CSR is looked at.
func TestRateLimitedBeforeAnything(t *testing.T) {
	s, _ := newTestService(t)
	s.limiter = newSourceLimiter(1, 1)
	req := request{protocol: protocolGRPC, source: testSource, secret: "not even a secret", csr: []byte("not a csr")}
	if _, ref := s.enroll(context.Background(), req); ref == nil || ref.code != codes.InvalidArgument {
		t.Fatalf("first request: %+v, want InvalidArgument (the CSR)", ref)
	}
	_, ref := s.enroll(context.Background(), req)
	if ref == nil || ref.code != codes.ResourceExhausted || ref.reason != reasonRateLimited || ref.retryAfter <= 0 {
		t.Fatalf("second request: %+v, want ResourceExhausted with a retry delay", ref)
	}
}
