package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
)

// defaultMaxResponseBytes bounds one message the transport accepts from the
// gateway; see [WithMaxResponseBytes].
const defaultMaxResponseBytes = 64 << 20

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
	dialOptions         []grpc.DialOption
}

func newTransportConfig(opts []Option) *transportConfig {
	cfg := &transportConfig{
		maxResponseBytes: defaultMaxResponseBytes,
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
