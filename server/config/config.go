package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/protoyaml"
	"github.com/msg-gateway/msg/server/assertion"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults for optional settings.
const (
	DefaultAdminListen          = "127.0.0.1:8080"
	DefaultMaxMessageBytes      = 16 << 20
	DefaultMaxConcurrentStreams = 100
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultMaxHeaderCount       = 100
	DefaultMaxHeaderBytes       = 64 << 10
	DefaultIdentityHeader       = "X-Msg-Principal"
	DefaultFingerprintHeader    = "X-Msg-Client-Cert-Sha256"
	DefaultDrainTimeout         = 10 * time.Second
	DefaultTraceSampleRatio     = 1.0
	maxDrainTimeout             = 10 * time.Minute
)

// Defaults for the hardening settings: TLS reload and abuse limits.
const (
	DefaultTLSReloadInterval      = 5 * time.Second
	DefaultMaxConnections         = 10000
	DefaultRatePerSecond          = 100.0
	DefaultBurst                  = 200
	DefaultMaxInFlightPerIdentity = 100
	DefaultMaxHandshakes          = 1024
	DefaultMaxHandshakesPerSource = 64
	DefaultFirstMessageTimeout    = 10 * time.Second
	DefaultMaxPendingStreams      = 2048
	DefaultMaxPendingBytes        = 128 << 20
	DefaultResponseWriteTimeout   = 60 * time.Second
	minTLSReloadInterval          = 100 * time.Millisecond
	maxTLSReloadInterval          = time.Hour
	maxConnectionsLimit           = 1 << 20
	maxRatePerSecond              = 1e6
	maxInFlightPerIdentityLimit   = 1 << 20
	maxFirstMessageTimeout        = 10 * time.Minute
	maxPendingBytesLimit          = 1 << 40
	maxResponseWriteTimeout       = time.Hour
)

// Defaults and bounds of device enrollment (the enroll section).
const (
	DefaultEnrollCertLifetime   = 7 * 24 * time.Hour
	DefaultEnrollMaxTokenTTL    = 24 * time.Hour
	DefaultEnrollRatePerSource  = 1.0
	DefaultEnrollBurstPerSource = 20
	minEnrollCertLifetime       = 5 * time.Second
	maxEnrollCertLifetime       = 90 * 24 * time.Hour
	minEnrollTokenTTL           = time.Minute
	maxEnrollTokenTTL           = 30 * 24 * time.Hour
	maxEnrollRatePerSource      = 1e4
)

// Defaults for the data plane's HTTP/2 keepalive. DefaultMinClientPingInterval
// must not exceed the Go client's ping interval (client.DefaultKeepaliveInterval),
// and DefaultPingInterval should exceed it and the client's idle timeout, so
// that the gateway never pings a healthy phone: see the README's "Mobile
// networks" and TestKeepaliveDefaultsMatchTheClient.
const (
	DefaultPingInterval          = 30 * time.Second
	DefaultPingTimeout           = 20 * time.Second
	DefaultMinClientPingInterval = 15 * time.Second
	DefaultMaxConnectionIdle     = 60 * time.Second
)

// Load reads, decodes, defaults and validates the config file at path.
func Load(path string) (*configv1.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse decodes (strictly: see package protoyaml), defaults and validates a
// YAML config document. Host and rule entries are checked for shape here;
// the relay and the policy compile them and report their own errors with the
// same key paths. Every error is a [*fieldpath.Error].
func Parse(data []byte) (*configv1.Config, error) {
	cfg := &configv1.Config{}
	if err := protoyaml.Unmarshal(data, cfg, protoyaml.Options{}); err != nil {
		return nil, err
	}
	ApplyDefaults(cfg)
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ApplyDefaults fills unset optional settings with their defaults.
func ApplyDefaults(cfg *configv1.Config) {
	if cfg.AdminListen == "" {
		cfg.AdminListen = DefaultAdminListen
	}
	if cfg.Tls == nil {
		cfg.Tls = &configv1.ServerTLS{}
	}
	if cfg.Tls.MinVersion == "" {
		cfg.Tls.MinVersion = "1.2"
	}
	if cfg.Tls.ReloadInterval == nil {
		cfg.Tls.ReloadInterval = durationpb.New(DefaultTLSReloadInterval)
	}
	applyLimitsDefaults(cfg)
	if cfg.Log == nil {
		cfg.Log = &configv1.Log{}
	}
	if cfg.Log.Level == "" {
		cfg.Log.Level = "info"
	}
	if cfg.Log.Format == "" {
		cfg.Log.Format = "json"
	}
	if cfg.RelayHeaders == nil {
		cfg.RelayHeaders = &configv1.RelayHeaders{}
	}
	if cfg.RelayHeaders.Identity == "" {
		cfg.RelayHeaders.Identity = DefaultIdentityHeader
	}
	if cfg.RelayHeaders.Fingerprint == "" {
		cfg.RelayHeaders.Fingerprint = DefaultFingerprintHeader
	}
	if cfg.DrainTimeout == nil {
		cfg.DrainTimeout = durationpb.New(DefaultDrainTimeout)
	}
	applyKeepaliveDefaults(cfg)
	applyAssertionDefaults(cfg)
	applyEnrollDefaults(cfg.GetEnroll())
	if cfg.Tracing == nil {
		cfg.Tracing = &configv1.Tracing{}
	}
	if cfg.Tracing.SampleRatio == nil {
		cfg.Tracing.SampleRatio = proto.Float64(DefaultTraceSampleRatio)
	}
}

// applyLimitsDefaults fills the unset limits; some defaults follow others
// (max_handshakes stays within max_connections).
func applyLimitsDefaults(cfg *configv1.Config) {
	if cfg.Limits == nil {
		cfg.Limits = &configv1.Limits{}
	}
	l := cfg.Limits
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if l.HandshakeTimeout == nil {
		l.HandshakeTimeout = durationpb.New(DefaultHandshakeTimeout)
	}
	if l.MaxHeaderCount == 0 {
		l.MaxHeaderCount = DefaultMaxHeaderCount
	}
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.RatePerSecond == 0 {
		l.RatePerSecond = DefaultRatePerSecond
	}
	if l.Burst == 0 {
		l.Burst = DefaultBurst
	}
	if l.MaxInFlightPerIdentity == 0 {
		l.MaxInFlightPerIdentity = DefaultMaxInFlightPerIdentity
	}
	if l.MaxHandshakes == 0 {
		l.MaxHandshakes = min(DefaultMaxHandshakes, l.MaxConnections)
	}
	if l.MaxHandshakesPerSource == 0 {
		l.MaxHandshakesPerSource = min(DefaultMaxHandshakesPerSource, l.MaxHandshakes)
	}
	if l.FirstMessageTimeout == nil {
		l.FirstMessageTimeout = durationpb.New(DefaultFirstMessageTimeout)
	}
	if l.MaxPendingStreams == 0 {
		l.MaxPendingStreams = DefaultMaxPendingStreams
	}
	if l.MaxPendingBytes == 0 {
		l.MaxPendingBytes = max(DefaultMaxPendingBytes, l.MaxMessageBytes)
	}
	if l.ResponseWriteTimeout == nil {
		l.ResponseWriteTimeout = durationpb.New(DefaultResponseWriteTimeout)
	}
}

// Validate checks the settings that are not hosts or rules. Every error is an
// [*fieldpath.Error] naming the key.
func Validate(cfg *configv1.Config) error {
	if err := validateAddr("listen", cfg.GetListen()); err != nil {
		return err
	}
	if err := validateAddr("admin_listen", cfg.GetAdminListen()); err != nil {
		return err
	}
	if err := noEtags(cfg); err != nil {
		return err
	}
	if a := cfg.GetAudit(); a != nil {
		if a.GetMaxAge() != nil && a.GetMaxAge().AsDuration() < time.Minute {
			return &fieldpath.Error{Path: "audit.max_age", Msg: "must be at least 1m"}
		}
		if a.GetMaxRecords() < 0 {
			return &fieldpath.Error{Path: "audit.max_records", Msg: "must not be negative"}
		}
		if err := validateAuditLog(a); err != nil {
			return err
		}
	}
	t := cfg.GetTls()
	for _, f := range []struct {
		key fieldpath.Path
		val string
	}{
		{"tls.cert_file", t.GetCertFile()},
		{"tls.key_file", t.GetKeyFile()},
		{"tls.client_ca_file", t.GetClientCaFile()},
	} {
		if f.val == "" {
			return &fieldpath.Error{Path: f.key, Msg: "required"}
		}
	}
	if v := t.GetMinVersion(); v != "1.2" && v != "1.3" {
		return &fieldpath.Error{Path: "tls.min_version", Msg: fmt.Sprintf(`must be "1.2" or "1.3", got %q`, v)}
	}
	l := cfg.GetLimits()
	if l.GetMaxMessageBytes() < 1024 || l.GetMaxMessageBytes() > 1<<30 {
		return &fieldpath.Error{Path: "limits.max_message_bytes", Msg: "must be between 1024 and 1073741824"}
	}
	if l.GetMaxConcurrentStreams() > 10000 {
		return &fieldpath.Error{Path: "limits.max_concurrent_streams", Msg: "must be at most 10000"}
	}
	if d := l.GetHandshakeTimeout().AsDuration(); d <= 0 || d > 2*time.Minute {
		return &fieldpath.Error{Path: "limits.handshake_timeout", Msg: "must be between 1ns and 2m"}
	}
	if l.GetMaxHeaderCount() > 10000 {
		return &fieldpath.Error{Path: "limits.max_header_count", Msg: "must be at most 10000"}
	}
	if l.GetMaxHeaderBytes() < 0 || l.GetMaxHeaderBytes() > 16<<20 {
		return &fieldpath.Error{Path: "limits.max_header_bytes", Msg: "must be at most 16777216"}
	}
	if err := validateHardening(cfg); err != nil {
		return err
	}
	switch cfg.GetLog().GetLevel() {
	case "debug", "info", "warn", "error":
	default:
		return &fieldpath.Error{Path: "log.level", Msg: fmt.Sprintf("must be debug, info, warn or error, got %q", cfg.GetLog().GetLevel())}
	}
	switch cfg.GetLog().GetFormat() {
	case "json", "text":
	default:
		return &fieldpath.Error{Path: "log.format", Msg: fmt.Sprintf("must be json or text, got %q", cfg.GetLog().GetFormat())}
	}
	if d := cfg.GetDrainTimeout().AsDuration(); d <= 0 || d > maxDrainTimeout {
		return &fieldpath.Error{Path: "drain_timeout", Msg: "must be between 1ns and 10m"}
	}
	if err := validateTracing(cfg.GetTracing()); err != nil {
		return err
	}
	if err := validateKeepalive(cfg.GetKeepalive()); err != nil {
		return err
	}
	if err := validateAssertion(cfg); err != nil {
		return err
	}
	if cfg.GetDataDir() == "" {
		return &fieldpath.Error{Path: "data_dir", Msg: "required: the directory of the embedded store"}
	}
	if err := validateEnroll(cfg); err != nil {
		return err
	}
	return validateStore(cfg.GetStore())
}

// applyEnrollDefaults fills the unset enrollment settings of a present
// enroll section. The addresses that default to others are left empty:
// the server derives them from the listeners it opened.
func applyEnrollDefaults(e *configv1.Enroll) {
	if e == nil {
		return
	}
	if e.CertLifetime == nil {
		e.CertLifetime = durationpb.New(DefaultEnrollCertLifetime)
	}
	if e.MaxTokenTtl == nil {
		e.MaxTokenTtl = durationpb.New(DefaultEnrollMaxTokenTTL)
	}
	if e.RatePerSource == 0 {
		e.RatePerSource = DefaultEnrollRatePerSource
	}
	if e.BurstPerSource == 0 {
		e.BurstPerSource = DefaultEnrollBurstPerSource
	}
}

// validateEnroll checks the enroll section's settings; its files are
// checked where they are loaded (server.Check and the start).
func validateEnroll(cfg *configv1.Config) error {
	e := cfg.GetEnroll()
	if e == nil {
		return nil
	}
	if err := validateAddr("enroll.listen", e.GetListen()); err != nil {
		return err
	}
	if _, port, _ := net.SplitHostPort(e.GetListen()); port != "0" && (e.GetListen() == cfg.GetListen() || e.GetListen() == cfg.GetAdminListen()) {
		return &fieldpath.Error{Path: "enroll.listen", Msg: "must differ from listen and admin_listen: devices without a certificate must reach nothing but enrollment"}
	}
	if a := e.GetAdvertiseAddress(); a != "" {
		if err := validatePublicAddr("enroll.advertise_address", a); err != nil {
			return err
		}
	} else if host, _, _ := net.SplitHostPort(e.GetListen()); wildcardHost(host) {
		return &fieldpath.Error{Path: "enroll.advertise_address", Msg: fmt.Sprintf("required: enroll.listen %q names no host that devices could reach", e.GetListen())}
	}
	if a := e.GetGatewayAddress(); a != "" {
		if err := validatePublicAddr("enroll.gateway_address", a); err != nil {
			return err
		}
	}
	if e.GetCaCertFile() == "" {
		return &fieldpath.Error{Path: "enroll.ca_cert_file", Msg: "required: the CA that issues the devices' certificates"}
	}
	if e.GetCaKeyFile() == "" {
		return &fieldpath.Error{Path: "enroll.ca_key_file", Msg: "required: the private key of enroll.ca_cert_file"}
	}
	if d := e.GetCertLifetime().AsDuration(); d < minEnrollCertLifetime || d > maxEnrollCertLifetime {
		return &fieldpath.Error{Path: "enroll.cert_lifetime", Msg: fmt.Sprintf("must be between %v and %v", minEnrollCertLifetime, maxEnrollCertLifetime)}
	}
	if d := e.GetMaxTokenTtl().AsDuration(); d < minEnrollTokenTTL || d > maxEnrollTokenTTL {
		return &fieldpath.Error{Path: "enroll.max_token_ttl", Msg: fmt.Sprintf("must be between %v and %v", minEnrollTokenTTL, maxEnrollTokenTTL)}
	}
	if r := e.GetRatePerSource(); !(r > 0 && r <= maxEnrollRatePerSource) { // NaN fails too
		return &fieldpath.Error{Path: "enroll.rate_per_source", Msg: fmt.Sprintf("must be between 0 (default) and %v", maxEnrollRatePerSource)}
	}
	if b := e.GetBurstPerSource(); b > 10000 {
		return &fieldpath.Error{Path: "enroll.burst_per_source", Msg: "must be at most 10000"}
	}
	return nil
}

// validatePublicAddr checks an address devices are told: host:port with a
// DNS name or IP address that is not a wildcard, and a port from 1.
func validatePublicAddr(key fieldpath.Path, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("not a host:port address: %q", addr)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("invalid port %q", port)}
	}
	if wildcardHost(host) {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("%q is a wildcard address, not one devices can reach", host)}
	}
	if net.ParseIP(host) == nil && strings.ContainsAny(host, "/?#@ ") {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("not a host name or IP address: %q", host)}
	}
	return nil
}

// wildcardHost reports whether a listen host binds every address.
func wildcardHost(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

func applyKeepaliveDefaults(cfg *configv1.Config) {
	if cfg.Keepalive == nil {
		cfg.Keepalive = &configv1.Keepalive{}
	}
	k := cfg.Keepalive
	for _, d := range []struct {
		field **durationpb.Duration
		def   time.Duration
	}{
		{&k.PingInterval, DefaultPingInterval},
		{&k.PingTimeout, DefaultPingTimeout},
		{&k.MinClientPingInterval, DefaultMinClientPingInterval},
		{&k.MaxConnectionIdle, DefaultMaxConnectionIdle},
	} {
		if *d.field == nil {
			*d.field = durationpb.New(d.def)
		}
	}
}

// validateKeepalive checks the keepalive section. gRPC would silently raise
// a ping interval under a second; the gateway refuses it instead.
func validateKeepalive(k *configv1.Keepalive) error {
	for _, d := range []struct {
		key      fieldpath.Path
		v        *durationpb.Duration
		min, max time.Duration
	}{
		{"keepalive.ping_interval", k.GetPingInterval(), time.Second, 2 * time.Hour},
		{"keepalive.ping_timeout", k.GetPingTimeout(), time.Second, 10 * time.Minute},
		{"keepalive.min_client_ping_interval", k.GetMinClientPingInterval(), time.Second, 2 * time.Hour},
		{"keepalive.max_connection_idle", k.GetMaxConnectionIdle(), time.Second, 24 * time.Hour},
	} {
		if v := d.v.AsDuration(); d.v == nil || v < d.min || v > d.max {
			return &fieldpath.Error{Path: d.key, Msg: fmt.Sprintf("must be between %v and %v", d.min, d.max)}
		}
	}
	return nil
}

// noEtags refuses etags on the config file's hosts and rules: the store
// sets them.
func noEtags(cfg *configv1.Config) error {
	for i, h := range cfg.GetHosts() {
		if h.GetEtag() != "" {
			return &fieldpath.Error{Path: fieldpath.Path("hosts").Index(i).Field("etag"), Msg: "set by the store; not allowed in the config file"}
		}
	}
	for i, r := range cfg.GetRules() {
		if r.GetEtag() != "" {
			return &fieldpath.Error{Path: fieldpath.Path("rules").Index(i).Field("etag"), Msg: "set by the store; not allowed in the config file"}
		}
	}
	return nil
}

// validateStore checks the store section. Plaintext to etcd needs an
// explicit insecure: true: whoever can write to the cluster sets the policy.
func validateStore(st *configv1.Store) error {
	e := st.GetEtcd()
	if e == nil {
		return nil
	}
	if len(e.GetEndpoints()) == 0 {
		return &fieldpath.Error{Path: "store.etcd.endpoints", Msg: "required: the cluster's client URLs"}
	}
	for i, ep := range e.GetEndpoints() {
		key := fieldpath.Path("store.etcd.endpoints").Index(i)
		scheme, addr, found := strings.Cut(ep, "://")
		if !found {
			scheme, addr = "", ep
		}
		if scheme != "" && scheme != "http" && scheme != "https" {
			return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("scheme must be http or https, got %q", ep)}
		}
		if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
			return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("not a host:port or http(s)://host:port address: %q", ep)}
		}
		if scheme == "https" && e.GetInsecure() {
			return &fieldpath.Error{Path: key, Msg: "https endpoint with store.etcd.insecure set"}
		}
		if scheme == "http" && !e.GetInsecure() {
			return &fieldpath.Error{Path: key, Msg: "plaintext endpoint: use https, or set store.etcd.insecure: true"}
		}
	}
	if p := e.GetPrefix(); p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || len(p) > 256) {
		return &fieldpath.Error{Path: "store.etcd.prefix", Msg: fmt.Sprintf("must start with /, not end with / and have no empty segment, got %q", p)}
	}
	if d := e.GetDialTimeout(); d != nil && (d.AsDuration() < 100*time.Millisecond || d.AsDuration() > time.Minute) {
		return &fieldpath.Error{Path: "store.etcd.dial_timeout", Msg: "must be between 100ms and 1m"}
	}
	t := e.GetTls()
	switch {
	case e.GetInsecure() && t != nil:
		return &fieldpath.Error{Path: "store.etcd.insecure", Msg: "set together with store.etcd.tls"}
	case !e.GetInsecure() && t == nil:
		return &fieldpath.Error{Path: "store.etcd.tls", Msg: "required (or set store.etcd.insecure: true for a plaintext cluster)"}
	case (t.GetCertFile() == "") != (t.GetKeyFile() == ""):
		return &fieldpath.Error{Path: "store.etcd.tls.key_file", Msg: "cert_file and key_file go together"}
	}
	return nil
}

func validateTracing(t *configv1.Tracing) error {
	if r := t.GetSampleRatio(); r < 0 || r > 1 {
		return &fieldpath.Error{Path: "tracing.sample_ratio", Msg: fmt.Sprintf("must be between 0 and 1, got %v", r)}
	}
	ep := t.GetEndpoint()
	if ep == "" {
		if t.GetInsecure() {
			return &fieldpath.Error{Path: "tracing.insecure", Msg: "set without tracing.endpoint (tracing is off)"}
		}
		return nil
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" {
		return &fieldpath.Error{Path: "tracing.endpoint", Msg: fmt.Sprintf("not a host:port address: %q", ep)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return &fieldpath.Error{Path: "tracing.endpoint", Msg: fmt.Sprintf("invalid port %q", port)}
	}
	return nil
}

func validateAddr(key fieldpath.Path, addr string) error {
	if addr == "" {
		return &fieldpath.Error{Path: key, Msg: "required (host:port)"}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("not a host:port address: %q", addr)}
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("host must be an IP address or localhost, got %q", host)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &fieldpath.Error{Path: key, Msg: fmt.Sprintf("invalid port %q", port)}
	}
	return nil
}

// validateHardening checks the TLS reload and abuse-limit settings.
func validateHardening(cfg *configv1.Config) error {
	t := cfg.GetTls()
	for i, f := range t.GetCrlFiles() {
		if f == "" {
			return &fieldpath.Error{Path: fieldpath.Path("tls.crl_files").Index(i), Msg: "empty file name"}
		}
	}
	if d := t.GetReloadInterval().AsDuration(); d < minTLSReloadInterval || d > maxTLSReloadInterval {
		return &fieldpath.Error{Path: "tls.reload_interval", Msg: "must be between 100ms and 1h"}
	}
	l := cfg.GetLimits()
	if l.GetMaxConnections() > maxConnectionsLimit {
		return &fieldpath.Error{Path: "limits.max_connections", Msg: fmt.Sprintf("must be at most %d", maxConnectionsLimit)}
	}
	if r := l.GetRatePerSecond(); !(r >= 0 && r <= maxRatePerSecond) { // NaN fails too
		return &fieldpath.Error{Path: "limits.rate_per_second", Msg: "must be between 0 (default) and 1000000"}
	}
	if l.GetBurst() > maxConnectionsLimit {
		return &fieldpath.Error{Path: "limits.burst", Msg: fmt.Sprintf("must be at most %d", maxConnectionsLimit)}
	}
	if l.GetMaxInFlightPerIdentity() > maxInFlightPerIdentityLimit {
		return &fieldpath.Error{Path: "limits.max_in_flight_per_identity", Msg: fmt.Sprintf("must be at most %d", maxInFlightPerIdentityLimit)}
	}
	return validatePreAuth(l)
}

// validatePreAuth checks the limits on what a caller may hold before it is
// authorized: handshakes, and calls that have not sent their first message.
func validatePreAuth(l *configv1.Limits) error {
	if n := l.GetMaxHandshakes(); n > l.GetMaxConnections() && l.GetMaxConnections() > 0 {
		return &fieldpath.Error{Path: "limits.max_handshakes", Msg: fmt.Sprintf("must be at most limits.max_connections (%d), got %d", l.GetMaxConnections(), n)}
	}
	if n := l.GetMaxHandshakesPerSource(); n > l.GetMaxHandshakes() {
		return &fieldpath.Error{Path: "limits.max_handshakes_per_source", Msg: fmt.Sprintf("must be at most limits.max_handshakes (%d), got %d", l.GetMaxHandshakes(), n)}
	}
	if d := l.GetFirstMessageTimeout().AsDuration(); d <= 0 || d > maxFirstMessageTimeout {
		return &fieldpath.Error{Path: "limits.first_message_timeout", Msg: "must be between 1ns and 10m"}
	}
	if n := l.GetMaxPendingStreams(); n > maxConnectionsLimit {
		return &fieldpath.Error{Path: "limits.max_pending_streams", Msg: fmt.Sprintf("must be at most %d", maxConnectionsLimit)}
	}
	if n := l.GetMaxPendingBytes(); n < l.GetMaxMessageBytes() || n > maxPendingBytesLimit {
		return &fieldpath.Error{Path: "limits.max_pending_bytes", Msg: fmt.Sprintf("must be between limits.max_message_bytes (%d) and %d, got %d", l.GetMaxMessageBytes(), int64(maxPendingBytesLimit), n)}
	}
	if d := l.GetResponseWriteTimeout().AsDuration(); d <= 0 || d > maxResponseWriteTimeout {
		return &fieldpath.Error{Path: "limits.response_write_timeout", Msg: "must be between 1ns and 1h"}
	}
	return nil
}

// validateAuditLog checks the audit log's checkpoint interval and witness.
func validateAuditLog(a *configv1.Audit) error {
	if d := a.GetCheckpointInterval(); d != nil && (d.AsDuration() < time.Second || d.AsDuration() > time.Hour) {
		return &fieldpath.Error{Path: "audit.checkpoint_interval", Msg: "must be between 1s and 1h"}
	}
	w := a.GetWitness()
	if w == nil {
		return nil
	}
	if w.GetFile() == "" && w.GetUrl() == "" {
		return &fieldpath.Error{Path: "audit.witness", Msg: "set file, url or both (or leave the section out)"}
	}
	if raw := w.GetUrl(); raw != "" {
		u, err := url.Parse(raw)
		// Credentials first: the other message quotes the URL.
		switch {
		case err == nil && u.User != nil:
			return &fieldpath.Error{Path: "audit.witness.url", Msg: "must not carry credentials"}
		case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
			return &fieldpath.Error{Path: "audit.witness.url", Msg: fmt.Sprintf("want an http or https URL, got %q", raw)}
		}
	}
	return nil
}

func applyAssertionDefaults(cfg *configv1.Config) {
	if cfg.Assertion == nil {
		cfg.Assertion = &configv1.Assertion{}
	}
	a := cfg.Assertion
	if a.Issuer == "" {
		a.Issuer = assertion.DefaultIssuer
	}
	if a.Header == "" {
		a.Header = assertion.DefaultHeader
	}
	if a.Ttl == nil {
		a.Ttl = durationpb.New(assertion.DefaultTTL)
	}
	if a.RotationPeriod == nil {
		a.RotationPeriod = durationpb.New(assertion.DefaultRotationPeriod)
	}
}

// validateAssertion checks the assertion section. Its header must not be
// one the gateway already sets: the upstream would see two meanings under
// one name.
func validateAssertion(cfg *configv1.Config) error {
	a := cfg.GetAssertion()
	if d := a.GetTtl(); d == nil || d.AsDuration() < time.Second || d.AsDuration() > time.Hour {
		return &fieldpath.Error{Path: "assertion.ttl", Msg: "must be between 1s and 1h"}
	}
	if d := a.GetRotationPeriod(); d == nil || d.AsDuration() < time.Second || d.AsDuration() > 30*24*time.Hour {
		return &fieldpath.Error{Path: "assertion.rotation_period", Msg: "must be between 1s and 720h"}
	}
	h := a.GetHeader()
	if !validHeaderName(h) {
		return &fieldpath.Error{Path: "assertion.header", Msg: fmt.Sprintf("not a header name: %q", h)}
	}
	for _, other := range []string{cfg.GetRelayHeaders().GetIdentity(), cfg.GetRelayHeaders().GetFingerprint(), "X-Request-Id", "X-Forwarded-For"} {
		if authz.FoldHeaderName(h) == authz.FoldHeaderName(other) {
			return &fieldpath.Error{Path: "assertion.header", Msg: fmt.Sprintf("%q is already set by the gateway", h)}
		}
	}
	if l := a.GetJwksListen(); l != "" {
		return validateAddr("assertion.jwks_listen", l)
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
