package relay

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/canon"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults for unset host settings.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxBodyBytes     = 10 << 20
	maxConfiguredBodyBytes  = 1 << 30
	maxConfiguredHostTimout = 10 * time.Minute
)

// Defaults and bounds for a host's ForwardStream settings.
const (
	// DefaultStreamIdleTimeout is a host's stream_idle_timeout when unset.
	DefaultStreamIdleTimeout = 60 * time.Second
	// DefaultMaxStreamDuration is a host's max_stream_duration when unset.
	DefaultMaxStreamDuration = time.Hour
	// DefaultMaxStreamBodyBytes is a host's max_stream_request_body_bytes and
	// max_stream_response_body_bytes when unset.
	DefaultMaxStreamBodyBytes = 1 << 30

	maxConfiguredStreamIdle     = time.Hour
	maxConfiguredStreamDuration = 24 * time.Hour
	maxConfiguredStreamBody     = 1 << 40
)

// Upstream is one compiled host table entry.
type Upstream struct {
	// Name is the name apps use, as in the host table.
	Name string
	// Base is the upstream base URL.
	Base *url.URL
	// Timeout bounds the whole upstream exchange.
	Timeout time.Duration
	// MaxRequestBodyBytes and MaxResponseBodyBytes bound the bodies.
	MaxRequestBodyBytes  int64
	MaxResponseBodyBytes int64
	// Stream bounds ForwardStream calls to this host.
	Stream StreamLimits
	// Options are the host's choices about which requests it accepts
	// beyond the strict defaults (path parameters, extra methods, method
	// overrides, header names with '_').
	Options authz.HostOptions
	// Assert says whether requests carry the signed identity assertion
	// (the host did not set disable_assertion).
	Assert bool

	transport    *http.Transport   // owns the connection pool
	roundTripper http.RoundTripper // transport, possibly wrapped (tracing)
}

// StreamLimits bound a ForwardStream call to one host.
type StreamLimits struct {
	// IdleTimeout is the longest the call may go without a body chunk moving
	// in either direction (and, before the first chunk, without the response
	// head arriving).
	IdleTimeout time.Duration
	// MaxDuration bounds the whole call.
	MaxDuration time.Duration
	// MaxRequestBodyBytes and MaxResponseBodyBytes bound the bodies.
	MaxRequestBodyBytes  int64
	MaxResponseBodyBytes int64
}

// Table is the compiled, immutable host allow-list. It is safe for concurrent
// use.
type Table struct {
	hosts map[string]*Upstream
}

// TableOption configures [NewTable].
type TableOption func(*tableOptions)

type tableOptions struct {
	wrap     func(http.RoundTripper) http.RoundTripper
	resolver Resolver
	dial     DialFunc
}

// WithResolver has the upstreams' names looked up with r instead of
// net.DefaultResolver (tests use a stub).
func WithResolver(r Resolver) TableOption {
	return func(o *tableOptions) { o.resolver = r }
}

// WithDialFunc has the upstreams' checked addresses dialled with dial
// instead of a net.Dialer (tests record instead of connecting).
func WithDialFunc(dial DialFunc) TableOption {
	return func(o *tableOptions) { o.dial = dial }
}

// WithTransportWrapper has every upstream's requests go through
// wrap(transport), for example to add tracing. The relay still owns the
// connection pool underneath.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) TableOption {
	return func(o *tableOptions) { o.wrap = wrap }
}

// NewTable validates and compiles hosts. It fails on the first invalid entry
// and applies nothing (the returned table is nil).
func NewTable(hosts []*adminv1.Host, opts ...TableOption) (*Table, error) {
	var o tableOptions
	for _, opt := range opts {
		opt(&o)
	}
	t := &Table{hosts: make(map[string]*Upstream, len(hosts))}
	for i, h := range hosts {
		up, err := compileHost(fieldpath.Path("hosts").Index(i), h, &o)
		if err != nil {
			t.Close()
			return nil, err
		}
		if o.wrap != nil {
			up.roundTripper = o.wrap(up.transport)
		}
		if _, dup := t.hosts[up.Name]; dup {
			t.Close()
			return nil, &fieldpath.Error{Path: fieldpath.Path("hosts").Index(i).Field("name"), Msg: fmt.Sprintf("duplicate name %q", up.Name)}
		}
		t.hosts[up.Name] = up
	}
	return t, nil
}

func compileHost(path fieldpath.Path, h *adminv1.Host, o *tableOptions) (*Upstream, error) {
	name, err := canon.Host(h.GetName())
	if err != nil {
		return nil, &fieldpath.Error{Path: path + ".name", Msg: err.Error()}
	}
	if name != h.GetName() {
		return nil, &fieldpath.Error{Path: path + ".name", Msg: fmt.Sprintf("must be written in canonical form %q", name)}
	}
	base, err := url.Parse(h.GetUpstream())
	switch {
	case h.GetUpstream() == "":
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "required"}
	case err != nil:
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "not a valid URL"}
	case base.Scheme != "http" && base.Scheme != "https":
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "scheme must be http or https"}
	case base.Host == "":
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "host required"}
	case base.User != nil:
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "userinfo is not allowed"}
	case base.RawQuery != "" || base.ForceQuery || base.Fragment != "":
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "query and fragment are not allowed"}
	case base.Opaque != "":
		return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "must be an absolute URL with //host"}
	}
	opts, err := compileOptions(path, h)
	if err != nil {
		return nil, err
	}
	if base.Path != "" {
		p, q, err := canon.Target(base.EscapedPath(), canon.PathOptions{AllowParameters: opts.AllowPathParameters})
		if err != nil || q != "" || p != base.EscapedPath() {
			return nil, &fieldpath.Error{Path: path + ".upstream", Msg: "path must be canonical (no dot segments, //, or encoded / \\)"}
		}
	}
	up := &Upstream{
		Name:                 name,
		Base:                 base,
		Timeout:              DefaultTimeout,
		MaxRequestBodyBytes:  DefaultMaxBodyBytes,
		MaxResponseBodyBytes: DefaultMaxBodyBytes,
		Options:              opts,
		Assert:               !h.GetDisableAssertion(),
	}
	if err := compileLimits(path, h, up); err != nil {
		return nil, err
	}
	if up.Stream, err = compileStreamLimits(path, h); err != nil {
		return nil, err
	}
	tlsConf, err := backendTLS(path+".tls", base, h.GetTls())
	if err != nil {
		return nil, err
	}
	dialer, err := compileDialer(path, base, h, o)
	if err != nil {
		return nil, err
	}
	up.transport = newTransport(tlsConf, dialer.DialContext)
	up.roundTripper = up.transport
	return up, nil
}

// compileLimits validates the host's Forward limits into up, which holds the
// defaults.
func compileLimits(path fieldpath.Path, h *adminv1.Host, up *Upstream) error {
	if d := h.GetTimeout(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() <= 0 || d.AsDuration() > maxConfiguredHostTimout {
			return &fieldpath.Error{Path: path + ".timeout", Msg: "must be between 1ns and 10m"}
		}
		up.Timeout = d.AsDuration()
	}
	return setBodyLimits(path, maxConfiguredBodyBytes, "must be between 0 (default) and 1073741824",
		bodyLimit{".max_request_body_bytes", h.GetMaxRequestBodyBytes(), &up.MaxRequestBodyBytes},
		bodyLimit{".max_response_body_bytes", h.GetMaxResponseBodyBytes(), &up.MaxResponseBodyBytes})
}

// compileStreamLimits validates and defaults a host's stream settings. path
// names the host entry, e.g. "hosts[0]".
func compileStreamLimits(path fieldpath.Path, h *adminv1.Host) (StreamLimits, error) {
	lim := StreamLimits{
		IdleTimeout:          DefaultStreamIdleTimeout,
		MaxDuration:          DefaultMaxStreamDuration,
		MaxRequestBodyBytes:  DefaultMaxStreamBodyBytes,
		MaxResponseBodyBytes: DefaultMaxStreamBodyBytes,
	}
	for _, d := range []struct {
		key fieldpath.Path
		v   *durationpb.Duration
		max time.Duration
		msg string
		dst *time.Duration
	}{
		{".stream_idle_timeout", h.GetStreamIdleTimeout(), maxConfiguredStreamIdle, "must be between 1ms and 1h", &lim.IdleTimeout},
		{".max_stream_duration", h.GetMaxStreamDuration(), maxConfiguredStreamDuration, "must be between 1ms and 24h", &lim.MaxDuration},
	} {
		if d.v == nil {
			continue
		}
		if err := d.v.CheckValid(); err != nil || d.v.AsDuration() < time.Millisecond || d.v.AsDuration() > d.max {
			return StreamLimits{}, &fieldpath.Error{Path: path + d.key, Msg: d.msg}
		}
		*d.dst = d.v.AsDuration()
	}
	err := setBodyLimits(path, maxConfiguredStreamBody, "must be between 0 (default: 1073741824) and 1099511627776",
		bodyLimit{".max_stream_request_body_bytes", h.GetMaxStreamRequestBodyBytes(), &lim.MaxRequestBodyBytes},
		bodyLimit{".max_stream_response_body_bytes", h.GetMaxStreamResponseBodyBytes(), &lim.MaxResponseBodyBytes})
	if err != nil {
		return StreamLimits{}, err
	}
	return lim, nil
}

// bodyLimit is a host setting that bounds a body: key names it, v is its
// value (0: keep the default in *dst).
type bodyLimit struct {
	key fieldpath.Path
	v   int64
	dst *int64
}

// setBodyLimits checks each limit against 0..maxBytes (msg says the range)
// and stores the ones that are set.
func setBodyLimits(path fieldpath.Path, maxBytes int64, msg string, limits ...bodyLimit) error {
	for _, b := range limits {
		if b.v < 0 || b.v > maxBytes {
			return &fieldpath.Error{Path: path + b.key, Msg: msg}
		}
		if b.v > 0 {
			*b.dst = b.v
		}
	}
	return nil
}

// compileOptions validates the host's choices that widen what it accepts.
func compileOptions(path fieldpath.Path, h *adminv1.Host) (authz.HostOptions, error) {
	opts := authz.HostOptions{
		AllowPathParameters:    h.GetAllowPathParameters(),
		AllowMethodOverride:    h.GetAllowMethodOverride(),
		AllowUnderscoreHeaders: h.GetAllowUnderscoreHeaders(),
	}
	for i, m := range h.GetExtraMethods() {
		key := path.Field("extra_methods").Index(i)
		c, err := canon.Method(m)
		switch {
		case err != nil:
			return authz.HostOptions{}, &fieldpath.Error{Path: key, Msg: err.Error()}
		case c != m:
			return authz.HostOptions{}, &fieldpath.Error{Path: key, Msg: fmt.Sprintf("must be written in upper case %q", c)}
		case authz.NeverRelayed(c):
			return authz.HostOptions{}, &fieldpath.Error{Path: key, Msg: "CONNECT and TRACE are never relayed"}
		case authz.StandardMethod(c):
			return authz.HostOptions{}, &fieldpath.Error{Path: key, Msg: "every host accepts " + c + " already"}
		}
		opts.ExtraMethods = append(opts.ExtraMethods, c)
	}
	return opts, nil
}

func backendTLS(path fieldpath.Path, base *url.URL, bt *adminv1.BackendTLS) (*tls.Config, error) {
	if bt == nil {
		if base.Scheme == "https" {
			return &tls.Config{MinVersion: tls.VersionTLS12}, nil
		}
		return nil, nil
	}
	if base.Scheme != "https" {
		return nil, &fieldpath.Error{Path: path, Msg: "only allowed with an https upstream"}
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: bt.GetServerName()}
	if f := bt.GetCaFile(); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, &fieldpath.Error{Path: path + ".ca_file", Msg: "cannot read: " + errString(err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &fieldpath.Error{Path: path + ".ca_file", Msg: "no PEM certificates found"}
		}
		conf.RootCAs = pool
	}
	if (bt.GetCertFile() == "") != (bt.GetKeyFile() == "") {
		return nil, &fieldpath.Error{Path: path + ".cert_file", Msg: "cert_file and key_file go together"}
	}
	if bt.GetCertFile() != "" {
		cert, err := tls.LoadX509KeyPair(bt.GetCertFile(), bt.GetKeyFile())
		if err != nil {
			return nil, &fieldpath.Error{Path: path + ".cert_file", Msg: "cannot load key pair: " + errString(err)}
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

func errString(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// compileDialer builds the host's SSRF-safe dialer from allowed_cidrs. An
// IP-literal upstream is checked here already, so that a config that could
// never work fails to load instead of failing every request.
func compileDialer(path fieldpath.Path, base *url.URL, h *adminv1.Host, o *tableOptions) (*Dialer, error) {
	policy, err := NewAddrPolicy(h.GetAllowedCidrs())
	if err != nil {
		var ce *cidrError
		if errors.As(err, &ce) {
			return nil, &fieldpath.Error{Path: path.Field("allowed_cidrs").Index(ce.index), Msg: ce.msg}
		}
		return nil, &fieldpath.Error{Path: path + ".allowed_cidrs", Msg: err.Error()}
	}
	if a, err := netip.ParseAddr(base.Hostname()); err == nil {
		if err := policy.Check(a); err != nil {
			var re *RefusedAddrError
			if errors.As(err, &re) {
				return nil, &fieldpath.Error{Path: path + ".upstream", Msg: fmt.Sprintf("address %s is %s", base.Hostname(), re.Reason)}
			}
			return nil, &fieldpath.Error{Path: path + ".upstream", Msg: err.Error()}
		}
	}
	return &Dialer{Policy: policy, Resolver: o.resolver, Dial: o.dial}, nil
}

func newTransport(tlsConf *tls.Config, dial DialFunc) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,  // never an environment proxy: dial only what the table says
		DialContext:           dial, // resolves once, checks, dials the checked IP
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     tlsConf != nil,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 0,
		// Bodies and Content-Encoding pass through untouched.
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// HostOptions returns the options of a canonical host name, or the strict
// defaults for a name that is not in the table. It is an
// [authz.HostOptionsFunc].
func (t *Table) HostOptions(name string) authz.HostOptions {
	if up, ok := t.Lookup(name); ok {
		return up.Options
	}
	return authz.HostOptions{}
}

// Lookup returns the upstream for a canonical host name.
func (t *Table) Lookup(name string) (*Upstream, bool) {
	if t == nil {
		return nil, false
	}
	up, ok := t.hosts[name]
	return up, ok
}

// Names returns the host names in the table, sorted.
func (t *Table) Names() []string {
	if t == nil {
		return nil
	}
	names := make([]string, 0, len(t.hosts))
	for n := range t.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Close releases idle upstream connections. In-flight requests finish.
func (t *Table) Close() {
	if t == nil {
		return
	}
	for _, up := range t.hosts {
		if up.transport != nil {
			up.transport.CloseIdleConnections()
		}
	}
}

// upstreamTarget joins the base path and the canonical request path.
func upstreamTarget(base *url.URL, canonicalPath string) string {
	bp := strings.TrimSuffix(base.EscapedPath(), "/")
	return bp + canonicalPath
}
