package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
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
)

// Load reads, decodes, defaults and validates the config file at path.
func Load(path string) (*configv1.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse decodes, defaults and validates a YAML config document. Host and rule
// entries are checked for shape here; the relay and the policy compile them
// and report their own errors with the same key paths.
func Parse(data []byte) (*configv1.Config, error) {
	cfg := &configv1.Config{}
	if err := DecodeYAML(data, cfg); err != nil {
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
}

// Validate checks the settings that are not hosts or rules. Every error is an
// [*Error] naming the key.
func Validate(cfg *configv1.Config) error {
	if err := validateAddr("listen", cfg.GetListen()); err != nil {
		return err
	}
	if err := validateAddr("admin_listen", cfg.GetAdminListen()); err != nil {
		return err
	}
	t := cfg.GetTls()
	for _, f := range []struct{ key, val string }{
		{"tls.cert_file", t.GetCertFile()},
		{"tls.key_file", t.GetKeyFile()},
		{"tls.client_ca_file", t.GetClientCaFile()},
	} {
		if f.val == "" {
			return &Error{Path: f.key, Msg: "required"}
		}
	}
	if v := t.GetMinVersion(); v != "1.2" && v != "1.3" {
		return &Error{Path: "tls.min_version", Msg: fmt.Sprintf(`must be "1.2" or "1.3", got %q`, v)}
	}
	l := cfg.GetLimits()
	if l.GetMaxMessageBytes() < 1024 || l.GetMaxMessageBytes() > 1<<30 {
		return &Error{Path: "limits.max_message_bytes", Msg: "must be between 1024 and 1073741824"}
	}
	if l.GetMaxConcurrentStreams() > 10000 {
		return &Error{Path: "limits.max_concurrent_streams", Msg: "must be at most 10000"}
	}
	if d := l.GetHandshakeTimeout().AsDuration(); d <= 0 || d > 2*time.Minute {
		return &Error{Path: "limits.handshake_timeout", Msg: "must be between 1ns and 2m"}
	}
	if l.GetMaxHeaderCount() > 10000 {
		return &Error{Path: "limits.max_header_count", Msg: "must be at most 10000"}
	}
	if l.GetMaxHeaderBytes() < 0 || l.GetMaxHeaderBytes() > 16<<20 {
		return &Error{Path: "limits.max_header_bytes", Msg: "must be at most 16777216"}
	}
	switch cfg.GetLog().GetLevel() {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Path: "log.level", Msg: fmt.Sprintf("must be debug, info, warn or error, got %q", cfg.GetLog().GetLevel())}
	}
	switch cfg.GetLog().GetFormat() {
	case "json", "text":
	default:
		return &Error{Path: "log.format", Msg: fmt.Sprintf("must be json or text, got %q", cfg.GetLog().GetFormat())}
	}
	return nil
}

func validateAddr(key, addr string) error {
	if addr == "" {
		return &Error{Path: key, Msg: "required (host:port)"}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &Error{Path: key, Msg: fmt.Sprintf("not a host:port address: %q", addr)}
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return &Error{Path: key, Msg: fmt.Sprintf("host must be an IP address or localhost, got %q", host)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &Error{Path: key, Msg: fmt.Sprintf("invalid port %q", port)}
	}
	return nil
}
