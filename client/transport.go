package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// A Transport is a [net/http.RoundTripper] that sends every request through
// the gateway as one ForwardStream call. Use it as the Transport of an
// [net/http.Client]. A Transport is safe for concurrent use; create one per
// gateway and identity and reuse it, since it holds a gRPC connection and
// the TLS session that makes reconnecting cheap.
type Transport struct {
	maxRequestBodyBytes int64
	dial                func(connect bool) (*link, error)
	// tlsConfig is what new connections use. A renewed certificate swaps
	// in a copy with a session cache of its own (see rotate).
	tlsConfig atomic.Pointer[tls.Config]
	// renewer keeps an identity store's certificate renewed; nil without
	// one.
	renewer *renewer

	mu     sync.Mutex // serializes link changes
	cur    atomic.Pointer[link]
	links  map[*link]struct{} // open links: the current one and retired ones still in use
	closed bool
}

// probeAfter is how long a call may wait for its response with nothing
// arriving on its connection before the transport checks the connection
// with a health check; probeWait is how long that check may take. A slow
// internal host costs one small health check per slow request; a dead
// connection is noticed about four seconds after the call was sent, sooner
// than the keepalive pings, which gRPC does not allow under ten seconds.
const (
	probeAfter = time.Second
	probeWait  = 3 * time.Second
)

// preflightAfter is how long a connection may have been silent before a
// request that cannot be sent twice (a POST without an idempotency key, a
// body that cannot be replayed) waits for a health check of it: one round
// trip, paid only after such a silence, and only for such requests.
const preflightAfter = 5 * time.Second

// reconnectWait bounds how long a request that is sent again waits for a
// connection to the gateway, when its context has no earlier deadline.
const reconnectWait = 20 * time.Second

// New returns a [Transport] for the gateway at addr, a gRPC target such as
// "gateway.example.com:8443". It does not connect: the connection is made on
// the first request and re-made as needed, so New fails only on bad options
// or unreadable certificate files.
//
// The connection uses TLS 1.2 or later (TLS 1.3 when the gateway offers it)
// and presents the app's client certificate, which is required: set it with
// [WithCertificateFiles] or [WithCertificate]. The gateway's certificate is
// verified against [WithRootCAFile] or [WithRootCAs], or the system roots if
// neither is given.
func New(addr string, opts ...Option) (*Transport, error) {
	cfg := newTransportConfig(opts)
	var id *Identity
	if cfg.identityStore != nil {
		if cfg.certificate != nil {
			return nil, errors.New("client: WithIdentityStore and WithCertificate or WithCertificateFiles exclude each other")
		}
		var err error
		if id, err = cfg.identityStore.Load(context.Background()); err != nil {
			return nil, err
		}
		if addr == "" {
			addr = id.GatewayAddress
		}
	}
	if addr == "" {
		return nil, errors.New("client: empty gateway address")
	}
	if cfg.certificate == nil && id == nil {
		return nil, errors.New("client: no client certificate: the gateway requires mutual TLS; use WithCertificateFiles, WithCertificate or WithIdentityStore")
	}
	if cfg.maxResponseBytes <= 0 {
		return nil, fmt.Errorf("client: WithMaxResponseBytes(%d): must be positive", cfg.maxResponseBytes)
	}
	if cfg.maxRequestBodySet && cfg.maxRequestBodyBytes <= 0 {
		return nil, fmt.Errorf("client: WithMaxRequestBodyBytes(%d): must be positive", cfg.maxRequestBodyBytes)
	}
	if cfg.keepaliveInterval < minKeepaliveInterval || cfg.keepaliveTimeout <= 0 {
		return nil, fmt.Errorf("client: WithKeepalive(%v, %v): the interval must be at least %v and the timeout positive",
			cfg.keepaliveInterval, cfg.keepaliveTimeout, minKeepaliveInterval)
	}
	if cfg.idleTimeout < 0 {
		return nil, fmt.Errorf("client: WithIdleTimeout(%v): must not be negative", cfg.idleTimeout)
	}
	var cert atomic.Pointer[tls.Certificate]
	if id != nil {
		c, err := id.tlsCertificate()
		if err != nil {
			return nil, err
		}
		cert.Store(c)
	} else {
		c, err := cfg.certificate()
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		cert.Store(&c)
	}
	tlsConfig := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: cfg.serverName,
		// Always present the certificate. With tls.Config.Certificates, Go
		// silently sends none when the gateway's list of acceptable CAs does
		// not name the app's issuer, and the app would see a vague handshake
		// failure instead of the gateway's verdict on its certificate. A
		// renewal swaps the certificate for the connections made after it.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert.Load(), nil
		},
		// One cache for every connection this transport makes: a reconnect
		// after a network change or an idle close resumes the session, so
		// neither side sends or verifies certificates again.
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
	}
	var err error
	switch {
	case cfg.rootCAs != nil:
		if tlsConfig.RootCAs, err = cfg.rootCAs(); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	case id != nil:
		// The enrolled device trusts the anchor its bundle pinned, and
		// nothing else.
		if tlsConfig.RootCAs, err = id.anchorPool(); err != nil {
			return nil, err
		}
	}
	dialOptions := append([]grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.maxResponseBytes)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    cfg.keepaliveInterval,
			Timeout: cfg.keepaliveTimeout,
			// No pings without calls: an idle phone's radio stays asleep,
			// and the idle timeout closes the connection before a NAT
			// forgets it.
			PermitWithoutStream: false,
		}),
		grpc.WithIdleTimeout(cfg.idleTimeout),
	}, cfg.dialOptions...)
	t := &Transport{
		maxRequestBodyBytes: cfg.maxRequestBodyBytes,
		links:               map[*link]struct{}{},
	}
	t.tlsConfig.Store(tlsConfig)
	t.dial = func(connect bool) (*link, error) {
		return newLink(addr, credentials.NewTLS(t.tlsConfig.Load()), dialOptions, probeAfter, probeWait, connect)
	}
	l, err := t.dial(false)
	if err != nil {
		return nil, fmt.Errorf("client: gateway address %q: %w", addr, err)
	}
	t.cur.Store(l)
	t.links[l] = struct{}{}
	if id != nil {
		t.renewer = startRenewer(id, cfg.identityStore, &cert, t.rotate, cfg.renewalHandler)
	}
	return t, nil
}

// RoundTrip sends req through the gateway and returns the internal host's
// response, as [net/http.RoundTripper] requires: an HTTP error status from
// the host is a response, not an error.
//
// The request's host (req.Host, or else req.URL.Host), method ("GET" if
// empty), path and query in origin form, headers and body are forwarded; the
// URL's scheme is not, because the gateway decides how to reach each internal
// host. Headers are sent sorted by name, each name's values in order; a
// Content-Length header is sent for a body of known length (req.ContentLength
// > 0) and never copied from req.Header. The request's context bounds the
// call: its cancellation and deadline reach the gateway and the internal host.
//
// Every request is one ForwardStream call (see the package documentation for
// why): the request body is streamed from req.Body as the gateway takes it and
// always closed, and RoundTrip returns as soon as the response head has
// arrived. The response body streams too; read it to the end or close it.
//
// A request whose connection died before any of the response arrived is sent
// once more, on a new connection, when that is safe: it was never sent, or it
// is idempotent and its body can be sent again (see the package
// documentation's "Mobile networks").
//
// Errors from the gateway or the connection to it are [*Error] values, also
// when they happen while the response body is being read.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req)
}

// NetworkChanged tells the transport that the device's network changed (it
// moved from Wi-Fi to mobile data, or back, or its address changed). The
// next request goes out on a new connection at once, instead of on one that
// may be dead without knowing it; requests already waiting for a response
// on the old connection that can safely be sent again move to the new one
// now. Calls that cannot move, such as a POST without an idempotency key or
// a response being read, continue on the old connection, which is closed
// once they have ended (or the keepalive gives it up).
//
// Call it from the platform's network callbacks (Android's
// ConnectivityManager.NetworkCallback, iOS's NWPathMonitor); without it the
// transport notices a dead connection by itself, a few seconds later. It is
// cheap: the new connection resumes the TLS session.
func (t *Transport) NetworkChanged() {
	if l := t.cur.Load(); l != nil {
		t.replace(l, true)
	}
}

// rotate makes new calls go out on new connections with the certificate
// just renewed, and a TLS session cache of their own (a resumed session
// would carry the old certificate). Calls in flight finish on the old
// connection, which the old certificate keeps valid for a third of its
// lifetime: it closes once they have.
func (t *Transport) rotate() {
	c := t.tlsConfig.Load().Clone()
	c.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	t.tlsConfig.Store(c)
	if l := t.cur.Load(); l != nil {
		t.swap(l, false, false)
	}
}

// replace swaps a new link in for old, unless old is no longer current, and
// retires old. With connect set the new link connects at once.
func (t *Transport) replace(old *link, connect bool) { t.swap(old, connect, true) }

// swap is replace; without move, old only drains: calls on it stay there
// rather than move to the new link.
func (t *Transport) swap(old *link, connect, move bool) {
	t.mu.Lock()
	if t.closed || t.cur.Load() != old {
		t.mu.Unlock()
		return
	}
	l, err := t.dial(connect)
	if err != nil {
		// The address was accepted by New: only a closed transport fails.
		t.mu.Unlock()
		return
	}
	// The same gateway and identity: if the gateway answered the old link,
	// a failure to reach it on the new one is an outage worth waiting out.
	l.reached.Store(old.reached.Load())
	t.cur.Store(l)
	t.links[l] = struct{}{}
	for o := range t.links {
		if o.isRetired.Load() && o.active.Load() == 0 {
			delete(t.links, o) // closed already
		}
	}
	t.mu.Unlock()
	if move {
		old.retireNow()
	} else {
		old.drain()
	}
}

// hold returns the current link, counted as in use by a call.
func (t *Transport) hold() *link {
	for {
		l := t.cur.Load()
		if l.hold() {
			return l
		}
	}
}

// Close closes the connections to the gateway. Requests in flight fail and
// later requests fail with an [*Error] whose code is Canceled.
func (t *Transport) Close() error {
	if t.renewer != nil {
		t.renewer.close()
	}
	t.mu.Lock()
	t.closed = true
	links := make([]*link, 0, len(t.links))
	for l := range t.links {
		links = append(links, l)
	}
	t.mu.Unlock()
	var err error
	for _, l := range links {
		l.closeOnce.Do(func() { err = errors.Join(err, l.conn.Close()) })
	}
	return err
}

// requestHead maps req to the inner request's head. The app's own
// Content-Length header is dropped: the body's framing is the transport's
// business, and the gateway trusts a declared length.
func (t *Transport) requestHead(req *http.Request) (*gatewayv1.RequestHead, error) {
	if req.URL == nil {
		return nil, errors.New("client: request has no URL")
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if host == "" {
		return nil, errors.New("client: request has no host")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	path, err := originForm(req)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(req.Header))
	n := 0
	for name, values := range req.Header {
		if http.CanonicalHeaderKey(name) == "Content-Length" {
			continue
		}
		names = append(names, name)
		n += len(values)
	}
	slices.Sort(names)
	headers := make([]*gatewayv1.Header, 0, n+1)
	for _, name := range names {
		for _, value := range req.Header[name] {
			headers = append(headers, &gatewayv1.Header{Name: name, Value: value})
		}
	}
	return &gatewayv1.RequestHead{Host: host, Method: method, Path: path, Headers: headers}, nil
}

// originForm returns the request target as an absolute path plus query. The
// gateway rejects absolute-form targets, and URL.RequestURI produces one when
// the URL is opaque with an authority ("//host/path").
func originForm(req *http.Request) (string, error) {
	u := req.URL
	path := u.Opaque
	if path == "" {
		path = u.EscapedPath()
		if path == "" {
			path = "/"
		}
	} else if rest, ok := strings.CutPrefix(path, "//"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		} else {
			path = "/"
		}
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("client: request path %q is not an absolute path", path)
	}
	if u.ForceQuery || u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return path, nil
}

func (t *Transport) bodyTooLarge() *Error {
	return &Error{
		Code:    codes.ResourceExhausted,
		Message: "request body larger than " + strconv.FormatInt(t.maxRequestBodyBytes, 10) + " bytes (WithMaxRequestBodyBytes)",
	}
}

// httpResponseHead builds the response for a status and headers from the
// gateway; the caller sets Body and ContentLength.
func httpResponseHead(req *http.Request, code32 int32, headers []*gatewayv1.Header) (*http.Response, error) {
	code := int(code32)
	if code < 100 || code > 999 {
		return nil, fmt.Errorf("client: gateway returned invalid HTTP status code %d", code)
	}
	text := http.StatusText(code)
	if text == "" {
		// As net/http does for a status line it has no text for.
		text = "status code " + strconv.Itoa(code)
	}
	header := make(http.Header, len(headers))
	for _, h := range headers {
		header.Add(h.GetName(), h.GetValue())
	}
	return &http.Response{
		Status:     strconv.Itoa(code) + " " + text,
		StatusCode: code,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Request:    req,
	}, nil
}
