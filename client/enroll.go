package client

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	enrollv1 "github.com/msg-gateway/msg/gen/msg/enroll/v1"
	"github.com/msg-gateway/msg/internal/enrollment"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// ErrPinMismatch is the error (wrapped) of [Enroll] when the enrollment
// listener's certificate does not chain to the trust anchor the bundle
// pins: someone else answered at the bundle's address, or the bundle is
// for another gateway. Nothing, the secret least of all, was sent.
var ErrPinMismatch = errors.New("client: the enrollment listener is not the gateway the bundle pins")

// Enroll enrolls this device with the gateway that bundle describes (the
// "msg-enroll://..." string from the admin, by QR code or text) and saves
// the identity it gets in store, which it also returns.
//
// The private key is made on the device (by store when it is a
// [KeyGenerator], else an ECDSA P-256 key in memory) and never leaves it:
// the gateway gets a certificate signing request. Before anything is sent,
// the enrollment listener's certificate must chain to the CA whose SHA-256
// the bundle pins, and be valid for the bundle's host; otherwise Enroll
// fails with [ErrPinMismatch] and the secret stays unused.
//
// The secret works a limited number of times (usually once) and until it
// expires; a refused secret is an [*Error] with code Unauthenticated and
// reason ENROLLMENT_REFUSED. If the connection breaks after the gateway
// issued the certificate but before it arrived, the secret may be spent:
// ask the admin for a new bundle.
//
// Afterwards build the transport with [WithIdentityStore](store), which
// keeps the certificate renewed.
func Enroll(ctx context.Context, bundle string, store IdentityStore) (*Identity, error) {
	b, err := enrollment.ParseBundle(bundle)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	key, err := newKey(ctx, store)
	if err != nil {
		return nil, err
	}
	csr, err := newCSR(key)
	if err != nil {
		return nil, err
	}
	var pin pinCheck
	conn, err := dialEnrollment(b.Address, pin.config(b))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := enrollv1.NewEnrollmentServiceClient(conn).Enroll(ctx, &enrollv1.EnrollRequest{Secret: b.Secret, Csr: csr})
	anchor := pin.anchor.Load()
	if err != nil {
		if perr := pin.err.Load(); perr != nil && anchor == nil {
			return nil, fmt.Errorf("%w: %v", ErrPinMismatch, *perr)
		}
		return nil, errorFromRPC(ctx, err)
	}
	if anchor == nil {
		return nil, ErrPinMismatch // unreachable: the call went over a verified connection
	}
	id := &Identity{
		Certificate:    resp.GetCertificateChain(),
		Key:            key,
		TrustAnchor:    anchor.Raw,
		GatewayAddress: resp.GetGatewayAddress(),
		EnrollAddress:  b.Address,
		DeviceID:       resp.GetDeviceId(),
	}
	if _, err := id.tlsCertificate(); err != nil {
		return nil, fmt.Errorf("client: the gateway's answer: %w", err)
	}
	if id.GatewayAddress == "" {
		return nil, errors.New("client: the gateway's answer names no gateway address")
	}
	if err := store.Save(ctx, id); err != nil {
		return nil, err
	}
	return id, nil
}

// newCSR returns a DER certificate signing request for key. Its subject is
// empty: the gateway takes the identity from the enrollment token.
func newCSR(key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("client: certificate request: %w", err)
	}
	return der, nil
}

// pinCheck is the TLS verification of a first enrollment: the device
// trusts no CA yet, so it takes the certificate the bundle pins from the
// chain the listener presents (the gateway appends it) and verifies the
// listener's certificate against that one alone, for the bundle's host. It
// records the anchor it found, or why it found none.
type pinCheck struct {
	anchor atomic.Pointer[x509.Certificate]
	err    atomic.Pointer[error]
}

func (p *pinCheck) config(b enrollment.Bundle) *tls.Config {
	host, _, _ := net.SplitHostPort(b.Address)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host,
		// crypto/tls cannot verify against a root it does not know yet:
		// VerifyConnection does the whole verification instead.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := verifyPinned(cs.PeerCertificates, b.Pin, host)
			if err != nil {
				p.err.Store(&err)
				return err
			}
			p.anchor.Store(anchorOf(cs.PeerCertificates, b.Pin))
			return nil
		},
	}
}

// anchorOf returns the CA certificate of chain that pin names, or nil.
func anchorOf(chain []*x509.Certificate, pin enrollment.Pin) *x509.Certificate {
	for i, c := range chain {
		if i > 0 && c.IsCA && pin.Matches(c) {
			return c
		}
	}
	return nil
}

// verifyPinned checks a presented chain against the pinned anchor.
func verifyPinned(chain []*x509.Certificate, pin enrollment.Pin, host string) error {
	anchor := anchorOf(chain, pin)
	if anchor == nil {
		return errors.New("no certificate of the presented chain has the pinned SHA-256")
	}
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		DNSName: host, Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// dialEnrollment returns a connection to the enrollment listener.
func dialEnrollment(addr string, conf *tls.Config) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		return nil, fmt.Errorf("client: enrollment address %q: %w", addr, err)
	}
	return conn, nil
}

// renewIdentity asks the enrollment listener for a new certificate for a
// new key, authenticated by id's current certificate, and returns the new
// identity (not yet saved).
func renewIdentity(ctx context.Context, id *Identity, store IdentityStore) (*Identity, error) {
	cert, err := id.tlsCertificate()
	if err != nil {
		return nil, err
	}
	roots, err := id.anchorPool()
	if err != nil {
		return nil, err
	}
	key, err := newKey(ctx, store)
	if err != nil {
		return nil, err
	}
	csr, err := newCSR(key)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(id.EnrollAddress)
	conn, err := dialEnrollment(id.EnrollAddress, &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host,
		RootCAs:    roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		},
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := enrollv1.NewEnrollmentServiceClient(conn).Renew(ctx, &enrollv1.RenewRequest{Csr: csr})
	if err != nil {
		return nil, errorFromRPC(ctx, err)
	}
	next := *id
	next.Certificate, next.Key = resp.GetCertificateChain(), key
	if _, err := next.tlsCertificate(); err != nil {
		return nil, fmt.Errorf("client: the gateway's answer: %w", err)
	}
	return &next, nil
}

// Renew renews the identity in store now, for a new key, and saves it:
// for a command run from cron or a CI job. A [Transport] built
// [WithIdentityStore] renews by itself and needs no call. A device the
// gateway no longer knows (an admin deleted it) gets an [*Error] with code
// PermissionDenied and reason RENEWAL_REFUSED.
func Renew(ctx context.Context, store IdentityStore) (*Identity, error) {
	id, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	next, err := renewIdentity(ctx, id, store)
	if err != nil {
		return nil, err
	}
	if err := store.Save(ctx, next); err != nil {
		return nil, err
	}
	return next, nil
}
