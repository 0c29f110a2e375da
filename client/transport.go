package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// A Transport is a [net/http.RoundTripper] that sends every request through
// the gateway as one ForwardStream call. Use it as the Transport of an
// [net/http.Client]. A Transport is safe for concurrent use; create one per
// gateway and identity and reuse it, since it holds a gRPC connection.
type Transport struct {
	conn                *grpc.ClientConn
	gateway             gatewayv1.GatewayServiceClient
	maxRequestBodyBytes int64
	inline              *inlineState
}

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
	if addr == "" {
		return nil, errors.New("client: empty gateway address")
	}
	cfg := newTransportConfig(opts)
	if cfg.certificate == nil {
		return nil, errors.New("client: no client certificate: the gateway requires mutual TLS; use WithCertificateFiles or WithCertificate")
	}
	if cfg.maxResponseBytes <= 0 {
		return nil, fmt.Errorf("client: WithMaxResponseBytes(%d): must be positive", cfg.maxResponseBytes)
	}
	if cfg.maxRequestBodySet && cfg.maxRequestBodyBytes <= 0 {
		return nil, fmt.Errorf("client: WithMaxRequestBodyBytes(%d): must be positive", cfg.maxRequestBodyBytes)
	}
	cert, err := cfg.certificate()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	tlsConfig := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: cfg.serverName,
		// Always present the certificate. With tls.Config.Certificates, Go
		// silently sends none when the gateway's list of acceptable CAs does
		// not name the app's issuer, and the app would see a vague handshake
		// failure instead of the gateway's verdict on its certificate.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
	}
	if cfg.rootCAs != nil {
		if tlsConfig.RootCAs, err = cfg.rootCAs(); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	inline := new(inlineState)
	dialOptions := append([]grpc.DialOption{
		grpc.WithTransportCredentials(inline.credentials(credentials.NewTLS(tlsConfig))),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.maxResponseBytes)),
	}, cfg.dialOptions...)
	conn, err := grpc.NewClient(addr, dialOptions...)
	if err != nil {
		return nil, fmt.Errorf("client: gateway address %q: %w", addr, err)
	}
	return &Transport{
		conn:                conn,
		gateway:             gatewayv1.NewGatewayServiceClient(conn),
		maxRequestBodyBytes: cfg.maxRequestBodyBytes,
		inline:              inline,
	}, nil
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
// Errors from the gateway or the connection to it are [*Error] values, also
// when they happen while the response body is being read.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTripStream(req)
}

// Close closes the connection to the gateway. Requests in flight fail and
// later requests fail with an [*Error] whose code is Canceled.
func (t *Transport) Close() error {
	return t.conn.Close()
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
