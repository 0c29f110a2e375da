package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
)

// BenchmarkRequestPath is the per-request path of a small GET with the
// production defaults (the JSON log line per call at info, the audit trail,
// metrics, authn, limits, canonicalization and authz), all in one process:
// the app library or a bare unary stub, the gateway and a 1 KiB upstream.
// Its figure is allocs/op, which a loaded machine does not move; make
// bench-go runs it and docs/benchmarks/profiles.md records what each part
// of a request allocates. ns/op includes the client and the upstream.
func BenchmarkRequestPath(b *testing.B) {
	body := make([]byte, 1024)
	g := startGatewayWith(b, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "1024")
		_, _ = w.Write(body)
	}, server.Options{DrainTimeout: time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))},
		func(cfg *configv1.Config) {
			cfg.Limits.RatePerSecond, cfg.Limits.Burst = 1e6, 1e6 // measure the path, not the rate limit
		})
	library := g.streamClient(b, "alice")
	unary := g.dial(b, g.identity(b, "alice"))
	buf := make([]byte, 4096)
	modes := []struct {
		name string
		do   func() error
	}{
		{"client-stream", func() error {
			resp, err := library.Get("https://demo.internal/1k")
			if err != nil {
				return err
			}
			_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
			resp.Body.Close()
			return err
		}},
		{"forward-unary", func() error {
			_, err := unary.Forward(context.Background(), &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/1k"})
			return err
		}},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			for range 100 { // connections, pools and the inline announcement
				if err := m.do(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := m.do(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
