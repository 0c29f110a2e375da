package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"testing"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/config"
	"github.com/msg-gateway/msg/server/tlsmaterial"
)

// TestHandshakeFailureReasonUnit covers the reasons that a live handshake
// cannot produce quickly (the handshake timeout) or only with odd clients.
// The live ones are in TestHandshakeFailureMetrics.
func TestHandshakeFailureReasonUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, hsTimeout},
		{errors.New("credentials: cannot check peer: missing selected ALPN property"), hsProtocol},
		{errors.New("tls: client offered only unsupported versions: [302 301]"), hsProtocol},
		{errors.New("msg-gateway: client certificate revoked"), hsRevoked},
		{&tlsmaterial.WeakCertificateError{Reason: "RSA key of 1024 bits"}, hsWeak},
		{fmt.Errorf("handshake: %w", &tlsmaterial.WeakCertificateError{Reason: "a CA certificate"}), hsWeak},
		{fmt.Errorf("read: %w", io.EOF), hsClosed},
		{errors.New("something new"), hsOther},
	}
	for _, tt := range tests {
		if got := handshakeFailureReason(tt.err); got != tt.want {
			t.Errorf("handshakeFailureReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestRestartKeys(t *testing.T) {
	t.Parallel()
	const base = "listen: 127.0.0.1:8443\ndata_dir: /tmp/unused\ntls: {cert_file: a, key_file: b, client_ca_file: c}\n"
	parse := func(extra string) *configv1.Config {
		t.Helper()
		cfg, err := config.Parse([]byte(base + extra))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	running := parse("log: {level: info, format: json}\n")
	tests := []struct {
		name  string
		extra string
		want  []string
	}{
		{"only the level", "log: {level: debug, format: json}\n", nil},
		{"format", "log: {level: debug, format: text}\n", []string{"log.format"}},
		{"listener and drain", "admin_listen: 127.0.0.1:9090\ndrain_timeout: 1s\n", []string{"admin_listen", "drain_timeout"}},
	}
	for _, tt := range tests {
		if got := restartKeys(running, parse(tt.extra)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: restartKeys = %v, want %v", tt.name, got, tt.want)
		}
	}
}
