package enroll

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net"
	"sync/atomic"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/enrollment"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// laggingStore is a real store whose snapshot can be frozen: what a fleet
// member sees between another instance's write and its watch delivering
// it. Writes go to the real store, with their preconditions.
type laggingStore struct {
	store.Store
	frozen atomic.Pointer[store.Snapshot]
}

func (l *laggingStore) Snapshot() *store.Snapshot {
	if s := l.frozen.Load(); s != nil {
		return s
	}
	return l.Store.Snapshot()
}

func newTestService(t *testing.T) (*Service, *laggingStore) {
	t.Helper()
	b, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ca, err := pki.NewCA("enrollment CA")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := ca.WriteFiles(t.TempDir(), "ca")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := LoadIssuer(certFile, keyFile, []*x509.Certificate{ca.Cert}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &laggingStore{Store: b}
	s := New(Options{Store: st, Issuer: iss, Anchor: ca.Cert, CertLifetime: time.Hour, RatePerSource: 1000, BurstPerSource: 1000})
	s.catchUpWait = time.Millisecond // the frozen snapshot never catches up
	return s, st
}

func testCSR(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

var testSource = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}

// putToken stores a token for secret as the admin API would.
func putToken(t *testing.T, st store.Store, secret string, maxUses int32) {
	t.Helper()
	now := time.Now()
	id := enrollment.TokenID(secret)
	tok := &adminv1.EnrollmentToken{Id: id, Identity: &adminv1.DeviceIdentity{CommonName: "carol"}, MaxUses: maxUses,
		ExpireTime: timestamppb.New(now.Add(time.Hour)), CertLifetime: durationpb.New(time.Hour), CreateTime: timestamppb.New(now)}
	if _, err := st.Apply(context.Background(), []store.Mutation{{Kind: store.KindEnrollmentToken, Key: id, Value: tok, IfAbsent: true}}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestStaleSnapshotCannotOverspend: an instance whose snapshot still shows
// a token's earlier use count cannot use it beyond max_uses, because the
// write is conditional on the token as read.
func TestStaleSnapshotCannotOverspend(t *testing.T) {
	s, st := newTestService(t)
	secret, _ := enrollment.NewSecret()
	putToken(t, st, secret, 2)
	st.frozen.Store(st.Store.Snapshot()) // uses 0 of 2, forever
	var issued int
	for range 3 {
		if _, ref := s.enroll(context.Background(), request{protocol: protocolGRPC, source: testSource, secret: secret, csr: testCSR(t)}); ref == nil {
			issued++
		}
	}
	// The first write succeeds; the stale token's etag fails every later
	// one (the real instance would read again and see uses 1 of 2).
	if issued != 1 {
		t.Fatalf("%d certificates from a stale snapshot of a token, want 1", issued)
	}
	st.frozen.Store(nil)
	for range 3 {
		if _, ref := s.enroll(context.Background(), request{protocol: protocolGRPC, source: testSource, secret: secret, csr: testCSR(t)}); ref == nil {
			issued++
		}
	}
	if issued != 2 {
		t.Fatalf("%d certificates from a token of 2 uses", issued)
	}
}

// TestStaleSnapshotCannotRenewDeletedDevice: a device deleted through
// another instance cannot renew here even while this instance's snapshot
// still shows it: the device write is conditional on its etag.
func TestStaleSnapshotCannotRenewDeletedDevice(t *testing.T) {
	s, st := newTestService(t)
	secret, _ := enrollment.NewSecret()
	putToken(t, st, secret, 1)
	got, ref := s.enroll(context.Background(), request{protocol: protocolGRPC, source: testSource, secret: secret, csr: testCSR(t)})
	if ref != nil {
		t.Fatalf("enroll: %v", ref.detail)
	}
	st.frozen.Store(st.Store.Snapshot()) // still has the device
	// Another instance deletes it (the admin API's write, without the
	// revocations, so that only the device record speaks).
	if _, err := st.Apply(context.Background(), []store.Mutation{{Kind: store.KindDevice, Key: got.deviceID}}, nil); err != nil {
		t.Fatal(err)
	}
	_, ref = s.renew(context.Background(), request{protocol: protocolGRPC, source: testSource, peer: []*x509.Certificate{got.leaf}, csr: testCSR(t)})
	if ref == nil {
		t.Fatal("a deleted device renewed through an instance that had not seen the deletion")
	}
	if ref.code != codes.Unavailable {
		t.Errorf("refusal %v %s, want Unavailable (store_conflict) while the snapshot lags", ref.code, ref.reason)
	}
	if st.Store.Snapshot().Device(got.deviceID) != nil {
		t.Error("the refused renewal recreated the deleted device")
	}
}
