package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
)

// defaultMaxResponseBytes bounds one message the transport accepts from the
// gateway; see [WithMaxResponseBytes].
const defaultMaxResponseBytes = 64 << 20

// The defaults of [WithKeepalive] and [WithIdleTimeout], chosen for phones
// behind carrier NATs that forget a connection after as little as 30
// seconds of silence (see the package documentation's "Mobile networks").
const (
	// DefaultKeepaliveInterval is how long a call may wait in silence
	// before the transport pings the gateway. The gateway accepts pings
	// this often (its keepalive.min_client_ping_interval default).
	DefaultKeepaliveInterval = 15 * time.Second
	// DefaultKeepaliveTimeout is how long the transport waits for the
	// answer to a ping before it gives the connection up.
	DefaultKeepaliveTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long a connection without calls stays
	// open: shorter than the idle timeouts of carrier NATs, so that an idle
	// app reconnects (cheaply, resuming its TLS session) instead of sending
	// its next request into a mapping the NAT forgot, and never pings.
	DefaultIdleTimeout = 20 * time.Second
)

// minKeepaliveInterval is gRPC's floor for client pings.
const minKeepaliveInterval = 10 * time.Second

// An Option configures a [Transport]. The set of options is closed: only the
// constructors in this package return one.
type Option interface {
	applyToTransport(*transportConfig)
}

// transportConfig collects the options. Certificate material is loaded in
// [New], after all options have been applied, so that a later option simply
// replaces an earlier one and a bad file is reported once, by New.
type transportConfig struct {
	certificate         func() (tls.Certificate, error)
	rootCAs             func() (*x509.CertPool, error)
	serverName          string
	maxResponseBytes    int
	maxRequestBodyBytes int64 // 0: no limit of the transport's own
	maxRequestBodySet   bool
	keepaliveInterval   time.Duration
	keepaliveTimeout    time.Duration
	idleTimeout         time.Duration
	dialOptions         []grpc.DialOption
	identityStore       IdentityStore
	renewalHandler      func(RenewalStatus)
}

func newTransportConfig(opts []Option) *transportConfig {
	cfg := &transportConfig{
		maxResponseBytes:  defaultMaxResponseBytes,
		keepaliveInterval: DefaultKeepaliveInterval,
		keepaliveTimeout:  DefaultKeepaliveTimeout,
		idleTimeout:       DefaultIdleTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o.applyToTransport(cfg)
		}
	}
	return cfg
}

// WithCertificateFiles loads the app's client certificate and private key
// from PEM files, as [crypto/tls.LoadX509KeyPair] does. The certificate file
// may hold intermediates after the leaf. The files are read once, by [New].
//
// A client certificate is required: the gateway accepts mutual TLS only.
// This option and [WithCertificate] replace each other; the last one wins.
func WithCertificateFiles(certFile, keyFile string) Option {
	return &certificateOption{load: func() (tls.Certificate, error) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("WithCertificateFiles(%q, %q): %w", certFile, keyFile, err)
		}
		return cert, nil
	}}
}

// WithCertificate sets the app's client certificate and private key, for
// apps that keep them in a platform key store rather than in files.
//
// A client certificate is required: the gateway accepts mutual TLS only.
// This option and [WithCertificateFiles] replace each other; the last one
// wins.
func WithCertificate(cert tls.Certificate) Option {
	return &certificateOption{load: func() (tls.Certificate, error) {
		if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
			return tls.Certificate{}, errors.New("WithCertificate: the certificate needs at least one DER certificate and a private key")
		}
		return cert, nil
	}}
}

type certificateOption struct {
	load func() (tls.Certificate, error)
}

func (o *certificateOption) applyToTransport(cfg *transportConfig) {
	cfg.certificate = o.load
}

// WithRootCAFile reads the PEM certificates that verify the gateway's server
// certificate from file. The file is read once, by [New], and must hold at
// least one certificate.
//
// Without this option or [WithRootCAs] the transport verifies the gateway
// against the operating system's roots; it never skips verification. The two
// options replace each other; the last one wins.
func WithRootCAFile(file string) Option {
	return &rootCAsOption{load: func() (*x509.CertPool, error) {
		pemBytes, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("WithRootCAFile(%q): %w", file, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("WithRootCAFile(%q): no PEM certificate found", file)
		}
		return pool, nil
	}}
}

// WithRootCAs sets the pool of certificates that verify the gateway's server
// certificate. A nil pool is an error rather than a request for the system
// roots, so that a pool that failed to load cannot widen trust by accident.
//
// Without this option or [WithRootCAFile] the transport verifies the gateway
// against the operating system's roots; it never skips verification. The two
// options replace each other; the last one wins.
func WithRootCAs(pool *x509.CertPool) Option {
	return &rootCAsOption{load: func() (*x509.CertPool, error) {
		if pool == nil {
			return nil, errors.New("WithRootCAs: nil certificate pool")
		}
		return pool, nil
	}}
}

type rootCAsOption struct {
	load func() (*x509.CertPool, error)
}

func (o *rootCAsOption) applyToTransport(cfg *transportConfig) {
	cfg.rootCAs = o.load
}

// WithServerName sets the name that the gateway's server certificate must be
// valid for. By default it is the host part of the address given to [New];
// set it when the gateway is dialled by IP address or through an alias its
// certificate does not name.
func WithServerName(name string) Option {
	return &serverNameOption{name: name}
}

type serverNameOption struct {
	name string
}

func (o *serverNameOption) applyToTransport(cfg *transportConfig) {
	cfg.serverName = o.name
}

// WithMaxResponseBytes sets the largest single message the transport accepts
// from the gateway: the response head with its headers, or one body chunk;
// the default is 64 MiB. A larger message fails the request, or the read of
// its body, with an [*Error] whose code is ResourceExhausted. n must be
// positive.
//
// It does not bound the response body as a whole, which streams in chunks of
// at most 32 KiB; the gateway enforces a per-host limit on it, and an app
// that wants a smaller one wraps resp.Body, e.g. with [io.LimitReader].
func WithMaxResponseBytes(n int) Option {
	return &maxResponseBytesOption{n: n}
}

type maxResponseBytesOption struct {
	n int
}

func (o *maxResponseBytesOption) applyToTransport(cfg *transportConfig) {
	cfg.maxResponseBytes = o.n
}

// WithMaxRequestBodyBytes sets the largest request body the transport
// forwards. A body whose declared length (req.ContentLength) is larger fails
// with an [*Error] whose code is ResourceExhausted before anything is sent; a
// body of unknown length that grows past n fails the same way as soon as it
// does, and the gateway cancels the upstream request. n must be positive.
//
// By default the transport sets no limit of its own: bodies stream in
// constant memory, and the gateway enforces its per-host limit.
func WithMaxRequestBodyBytes(n int64) Option {
	return &maxRequestBodyBytesOption{n: n}
}

type maxRequestBodyBytesOption struct {
	n int64
}

func (o *maxRequestBodyBytesOption) applyToTransport(cfg *transportConfig) {
	cfg.maxRequestBodyBytes = o.n
	cfg.maxRequestBodySet = true
}

// WithKeepalive sets how the transport notices that its connection to the
// gateway died without being closed, as when a phone leaves a network: when
// a call has received nothing for interval (default 15s), the transport
// sends the gateway an HTTP/2 ping, and when no answer comes within timeout
// (default 10s) it closes the connection; the call fails, or is sent again on
// a new connection when that is safe (see the package documentation). The
// operating system also gives the connection up when data it sent stays
// unacknowledged for timeout (TCP_USER_TIMEOUT).
//
// The transport pings only while calls are in flight: an idle app costs no
// radio wake-ups (see [WithIdleTimeout]). A call that waits in silence for a
// long time, such as a server-sent event stream with no events, costs one
// wake-up of the phone's radio per interval; a longer interval saves
// battery, but an interval longer than the carrier's NAT timeout (often 30s
// to a few minutes) loses quiet streams, and a dead connection takes up to
// interval+timeout to notice. Calls still waiting for their response are
// also checked sooner, with a health check after one second of silence.
//
// interval must be at least 10s (gRPC's floor) and timeout positive. The
// gateway refuses pings more often than its keepalive.min_client_ping_interval
// (default 15s) with a GOAWAY "too_many_pings": lower that first.
func WithKeepalive(interval, timeout time.Duration) Option {
	return &keepaliveOption{interval: interval, timeout: timeout}
}

type keepaliveOption struct {
	interval, timeout time.Duration
}

func (o *keepaliveOption) applyToTransport(cfg *transportConfig) {
	cfg.keepaliveInterval, cfg.keepaliveTimeout = o.interval, o.timeout
}

// WithIdleTimeout sets how long a connection without calls stays open
// (default 20s); 0 keeps it open until the gateway closes it. The next call
// after that opens a new connection, which costs a TCP and a TLS round trip
// but resumes the TLS session (no certificates are sent or verified).
//
// Carrier NATs forget idle connections, silently, after as little as 30s; a
// request sent on such a connection gets no answer until the transport
// notices (see [WithKeepalive]). Closing the connection first is cheaper
// than pinging to keep it: a ping every few seconds wakes the radio of an
// app that is doing nothing. Raise the timeout only on networks known to
// keep idle connections longer.
func WithIdleTimeout(d time.Duration) Option {
	return &idleTimeoutOption{d: d}
}

type idleTimeoutOption struct {
	d time.Duration
}

func (o *idleTimeoutOption) applyToTransport(cfg *transportConfig) {
	cfg.idleTimeout = o.d
}

// WithDialOptions adds gRPC dial options, for example interceptors, a
// keepalive policy or a custom dialer, after the ones the transport sets
// itself. Calls to it accumulate.
//
// Options given here can override the transport's own: take care not to
// replace the transport credentials, which carry the mutual TLS
// configuration, or the response size limit.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return &dialOptionsOption{opts: opts}
}

type dialOptionsOption struct {
	opts []grpc.DialOption
}

func (o *dialOptionsOption) applyToTransport(cfg *transportConfig) {
	cfg.dialOptions = append(cfg.dialOptions, o.opts...)
}

// WithIdentityStore has the transport use the identity an enrolled device
// keeps in store (see [Enroll]): its certificate, its trust anchor as the
// only root (unless [WithRootCAs] or [WithRootCAFile] says otherwise), and
// its gateway address when [New] gets "". [New] loads it once.
//
// The transport then keeps the certificate renewed: at about two thirds of
// its lifetime it asks the gateway's enrollment listener for a new one,
// for a new key, saves it in store, and sends new calls on new connections
// that present it; calls in flight finish on their connection, which the
// old certificate keeps valid until it expires. A failed renewal is retried
// with growing delays until the certificate expires; see
// [Transport.RenewalStatus] and [WithRenewalHandler].
//
// It excludes [WithCertificate] and [WithCertificateFiles].
func WithIdentityStore(store IdentityStore) Option {
	return &identityStoreOption{store: store}
}

type identityStoreOption struct {
	store IdentityStore
}

func (o *identityStoreOption) applyToTransport(cfg *transportConfig) {
	cfg.identityStore = o.store
}

// WithRenewalHandler has h called after every renewal attempt of a
// transport built [WithIdentityStore], with the status it left: a failed
// attempt's Err, or the new certificate's expiry. h runs on the renewal
// goroutine; it must not block for long.
func WithRenewalHandler(h func(RenewalStatus)) Option {
	return &renewalHandlerOption{h: h}
}

type renewalHandlerOption struct {
	h func(RenewalStatus)
}

func (o *renewalHandlerOption) applyToTransport(cfg *transportConfig) {
	cfg.renewalHandler = o.h
}
