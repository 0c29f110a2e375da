package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/stats"
)

// tracingFlushTimeout bounds the span flush at shutdown.
const tracingFlushTimeout = 2 * time.Second

// tracing is the server's OpenTelemetry wiring. The zero value is off.
type tracing struct {
	tp       trace.TracerProvider
	shutdown func(context.Context) error // flushes an exporter the server built; nil otherwise
}

// newTracing returns the tracing for cfg: the provider from opts when one is
// given (tests), else an OTLP/gRPC exporter when tracing.endpoint is set,
// else off. Nothing is dialled here: the exporter connects on first export.
func newTracing(t *configv1.Tracing, opts Options) (*tracing, error) {
	if opts.TracerProvider != nil {
		return &tracing{tp: opts.TracerProvider}, nil
	}
	if t.GetEndpoint() == "" {
		return &tracing{}, nil
	}
	eopts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(t.GetEndpoint())}
	if t.GetInsecure() {
		eopts = append(eopts, otlptracegrpc.WithInsecure())
	} else {
		eopts = append(eopts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})))
	}
	exp, err := otlptracegrpc.New(context.Background(), eopts...)
	if err != nil {
		return nil, fmt.Errorf("tracing.endpoint: %w", err)
	}
	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.GetSampleRatio()))),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "msg-gateway"),
			attribute.String("service.version", version),
		)),
	)
	return &tracing{tp: tp, shutdown: tp.Shutdown}, nil
}

func (t *tracing) enabled() bool { return t.tp != nil }

// flush shuts down an exporter the server built. Spans still queued get a
// short while to reach the collector: an unreachable one must not hold up
// the exit.
func (t *tracing) flush(log *slog.Logger) {
	if t.shutdown == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	if err := t.shutdown(ctx); err != nil {
		log.Warn("tracing: flushing spans at shutdown", "error", err.Error())
	}
}

// serverHandler is the gRPC stats handler that starts one server span per
// RPC. Apps are untrusted, so the trace context they send is not extracted
// (an empty propagator): every RPC is the root of a new trace, and an app
// cannot force sampling or join the internal traces. Health checks are not
// traced.
func (t *tracing) serverHandler() stats.Handler {
	return otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.tp),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
			return !strings.HasPrefix(info.FullMethodName, "/grpc.health.v1.Health/")
		}),
	)
}

// wrapTransport makes every upstream request a client span and sends the
// W3C traceparent to the upstream.
func (t *tracing) wrapTransport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "upstream " + r.Method }),
	)
}
