package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"syscall"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/msg-gateway/msg/server/tlsmaterial"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/stats"
)

// metrics are one server's Prometheus metrics, on a registry of its own: two
// servers in one process (tests) never share a series.
//
// Label values are bounded by config (host names, rule ids) or by code (kinds,
// reasons, classes). Identities, paths and hosts as apps spell them never
// become label values: they would be unbounded and would leak into dashboards.
type metrics struct {
	reg  *prometheus.Registry
	grpc *grpcprom.ServerMetrics

	relayRequests  *prometheus.CounterVec   // host, status_class
	relayDuration  *prometheus.HistogramVec // host
	relaySent      *prometheus.CounterVec   // host
	relayReceived  *prometheus.CounterVec   // host
	upstreamErrors *prometheus.CounterVec   // host, kind

	decisions          *prometheus.CounterVec // result, reason, rule_id
	handshakeFailures  *prometheus.CounterVec // reason
	openConnections    prometheus.Gauge
	rateLimitRejection *prometheus.CounterVec // reason

	configRevision    prometheus.Gauge
	configReloads     *prometheus.CounterVec // result
	configLastSuccess prometheus.Gauge

	storeConnected prometheus.Gauge

	// Before authorization: the intake and the handshake budget.
	callsRefused        *prometheus.CounterVec // reason
	connectionsClosed   *prometheus.CounterVec // reason
	connectionsRefused  *prometheus.CounterVec // reason
	pendingStreams      func() int64           // set by the intake
	pendingBytes        func() int64           // set by the intake
	handshakesInProcess func() int64           // set by the listener

	series seriesCache // resolved children of the data plane's series
}

// Handshake failure reasons: the label values of
// msg_tls_handshake_failures_total.
const (
	hsNoCertificate  = "no_certificate"   // the client sent no certificate
	hsUnknownCA      = "unknown_ca"       // not signed by the client CA
	hsExpired        = "expired"          // expired or not yet valid
	hsRevoked        = "revoked"          // on a CRL (refused by the TLS config's VerifyConnection)
	hsBadCertificate = "bad_certificate"  // any other verification failure, e.g. no clientAuth usage
	hsClientRejected = "client_rejected"  // the client refused the gateway's certificate
	hsProtocol       = "protocol"         // not TLS, no common version, cipher or ALPN
	hsTimeout        = "timeout"          // limits.handshake_timeout passed
	hsClosed         = "closed"           // the client hung up mid-handshake (e.g. TCP probes)
	hsWeak           = "weak_certificate" // a chain weaker than the TLS posture (refused by VerifyConnection)
	hsOther          = "other"
)

var handshakeReasons = []string{
	hsNoCertificate, hsUnknownCA, hsExpired, hsRevoked, hsBadCertificate,
	hsClientRejected, hsProtocol, hsTimeout, hsClosed, hsWeak, hsOther,
}

// relayBuckets span fast internal calls to the longest host timeouts.
var relayBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// statusClasses are the values of msg_relay_requests_total's status_class.
var statusClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "error"}

func newMetrics(cfg *configv1.Config, version string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			grpcprom.WithHistogramBuckets(relayBuckets))),
	}
	m.newRelayMetrics()
	m.newGatewayMetrics()
	gaugeOf := func(f *func() int64) func() float64 {
		return func() float64 {
			if *f == nil {
				return 0
			}
			return float64((*f)())
		}
	}
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "msg_pending_streams",
		Help: "Calls that have not delivered their first request message yet.",
	}, gaugeOf(&m.pendingStreams))
	pendingBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "msg_pending_bytes",
		Help: "Bytes received of first request messages that are still arriving.",
	}, gaugeOf(&m.pendingBytes))
	handshaking := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "msg_tls_handshakes_in_progress",
		Help: "Accepted data-plane connections whose TLS handshake has not finished.",
	}, gaugeOf(&m.handshakesInProcess))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "msg_build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "go_version"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.grpc, m.relayRequests, m.relayDuration, m.relaySent, m.relayReceived, m.upstreamErrors,
		m.decisions, m.handshakeFailures, m.openConnections, m.rateLimitRejection,
		m.configRevision, m.configReloads, m.configLastSuccess, buildInfo, m.storeConnected,
		m.callsRefused, m.connectionsClosed, m.connectionsRefused, pending, pendingBytes, handshaking,
	)
	m.initSeries(cfg)
	m.storeConnected.Set(1)
	m.configLastSuccess.SetToCurrentTime()
	return m
}

// newRelayMetrics creates the series of the upstream exchanges.
func (m *metrics) newRelayMetrics() {
	m.relayRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_relay_requests_total",
		Help: "Upstream exchanges by host table name and HTTP status class (error: no complete response).",
	}, []string{"host", "status_class"})
	m.relayDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "msg_relay_request_duration_seconds",
		Help:    "Time from sending the upstream request to the end of its response body.",
		Buckets: relayBuckets,
	}, []string{"host"})
	m.relaySent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_relay_sent_bytes_total",
		Help: "Request body bytes sent to upstreams.",
	}, []string{"host"})
	m.relayReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_relay_received_bytes_total",
		Help: "Response body bytes received from upstreams.",
	}, []string{"host"})
	m.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_relay_upstream_errors_total",
		Help: "Failed upstream exchanges by kind: timeout, canceled, dial, tls, other.",
	}, []string{"host", "kind"})
}

// newGatewayMetrics creates the series of the gateway's own decisions,
// connections and configuration.
func (m *metrics) newGatewayMetrics() {
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_authz_decisions_total",
		Help: "Policy decisions by result (allow, deny), reason and deciding rule id (empty: none matched).",
	}, []string{"result", "reason", "rule_id"})
	m.handshakeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_tls_handshake_failures_total",
		Help: "Failed TLS handshakes on the gRPC listener by reason.",
	}, []string{"reason"})
	m.openConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "msg_grpc_open_connections",
		Help: "Established (handshaken) connections on the gRPC listener.",
	})
	m.rateLimitRejection = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_ratelimit_rejections_total",
		Help: "Requests refused by a per-principal limit, by reason: rate_limited, too_many_in_flight.",
	}, []string{"reason"})
	m.configRevision = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "msg_config_revision",
		Help: "The store revision (hosts, rules, revocations) the data plane is serving, as GET /v1/status reports it.",
	})
	m.configReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_config_reloads_total",
		Help: "Config reloads (SIGHUP) by result: success or failure (the running config is kept).",
	}, []string{"result"})
	m.configLastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "msg_config_last_success_timestamp_seconds",
		Help: "When the config was last loaded successfully, in Unix seconds.",
	})
	m.storeConnected = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "msg_store_connected",
		Help: "1 while the configuration store is reachable (always, for the embedded store); 0 while the gateway serves its last snapshot and admin writes fail.",
	})
	m.callsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_calls_refused_total",
		Help: "Calls refused before their request was read, by reason: compressed, first_message_timeout, pending_streams, pending_streams_per_identity.",
	}, []string{"reason"})
	m.connectionsClosed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_connections_closed_total",
		Help: "Data-plane connections the gateway closed, by reason: settings_flood, reset_flood, response_write_timeout, pending_bytes.",
	}, []string{"reason"})
	m.connectionsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "msg_connections_refused_total",
		Help: "Data-plane connections closed at accept, by reason: handshakes (limits.max_handshakes), handshakes_per_source (limits.max_handshakes_per_source).",
	}, []string{"reason"})
}

// initSeries creates every bounded series up front, so that dashboards and
// alerts see a 0 rather than no data.
func (m *metrics) initSeries(cfg *configv1.Config) {
	for _, h := range cfg.GetHosts() {
		for _, c := range statusClasses {
			m.relayRequests.WithLabelValues(h.GetName(), c)
		}
		for _, k := range relay.ErrorKinds {
			m.upstreamErrors.WithLabelValues(h.GetName(), string(k))
		}
		m.relayDuration.WithLabelValues(h.GetName())
		m.relaySent.WithLabelValues(h.GetName())
		m.relayReceived.WithLabelValues(h.GetName())
	}
	for _, r := range cfg.GetRules() {
		if r.GetEffect() == adminv1.Effect_EFFECT_DENY {
			m.decisions.WithLabelValues("deny", string(authz.ReasonDeniedByRule), r.GetId())
		} else {
			m.decisions.WithLabelValues("allow", string(authz.ReasonAllowed), r.GetId())
		}
	}
	m.decisions.WithLabelValues("deny", string(authz.ReasonNoMatchingRule), "")
	for _, r := range handshakeReasons {
		m.handshakeFailures.WithLabelValues(r)
	}
	for _, r := range refusedReasons {
		m.callsRefused.WithLabelValues(r)
	}
	for _, r := range closeReasons {
		m.connectionsClosed.WithLabelValues(r)
	}
	for _, r := range refusedConnReasons {
		m.connectionsRefused.WithLabelValues(r)
	}
	for _, r := range []string{"success", "failure"} {
		m.configReloads.WithLabelValues(r)
	}
	for _, r := range []string{ErrorReasonRateLimited, ErrorReasonTooManyInFlight} {
		m.rateLimitRejection.WithLabelValues(strings.ToLower(r))
	}
}

// ObserveExchange implements [relay.Observer].
func (m *metrics) ObserveExchange(host string, e relay.Exchange) {
	hs := m.hostSeries(host)
	hs.requests[statusClassIndex(e)].Inc()
	hs.duration.Observe(e.Duration.Seconds())
	hs.sent.Add(float64(e.RequestBytes))
	hs.received.Add(float64(e.ResponseBytes))
	if e.Err != "" {
		if c, ok := hs.errors[e.Err]; ok {
			c.Inc()
		} else {
			m.upstreamErrors.WithLabelValues(host, string(e.Err)).Inc()
		}
	}
}

// rateLimited is the identity limits' onReject hook; reason is the
// ErrorInfo reason.
func (m *metrics) rateLimited(reason string) {
	m.rateLimitRejection.WithLabelValues(strings.ToLower(reason)).Inc()
}

// observeDecision is the authz interceptors' OnDecision hook.
func (m *metrics) observeDecision(_ context.Context, d authz.Decision) {
	m.decisionCounter(d).Inc()
}

// handshakeFailureReason classifies a failed server-side TLS handshake.
func handshakeFailureReason(err error) string {
	var (
		ne     net.Error
		verErr *tls.CertificateVerificationError
		opErr  *net.OpError
		rhErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return hsTimeout
	// The revocation check's error from VerifyConnection is untyped.
	case strings.Contains(err.Error(), "certificate revoked"):
		return hsRevoked
	case errors.As(err, new(*tlsmaterial.WeakCertificateError)):
		return hsWeak
	case errors.As(err, &verErr):
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(verErr.Err, new(x509.UnknownAuthorityError)):
			return hsUnknownCA
		case errors.As(verErr.Err, &invalid) && invalid.Reason == x509.Expired:
			return hsExpired
		}
		return hsBadCertificate
	// crypto/tls has no typed error for a missing client certificate.
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		return hsNoCertificate
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return hsClientRejected
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return hsClosed
	case errors.As(err, &rhErr), strings.HasPrefix(err.Error(), "tls: "),
		strings.Contains(err.Error(), "ALPN"):
		return hsProtocol
	}
	return hsOther
}

// countingCreds counts and logs failed server handshakes. Everything else is
// the wrapped credentials' behaviour.
type countingCreds struct {
	credentials.TransportCredentials
	failures *prometheus.CounterVec
	log      *slog.Logger
}

func (c *countingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		reason := handshakeFailureReason(err)
		c.failures.WithLabelValues(reason).Inc()
		c.log.Debug("TLS handshake failed", "reason", reason, "remote", raw.RemoteAddr().String(), "error", err.Error())
	}
	return conn, info, err
}

func (c *countingCreds) Clone() credentials.TransportCredentials {
	return &countingCreds{TransportCredentials: c.TransportCredentials.Clone(), failures: c.failures, log: c.log}
}

// connCounter is a gRPC stats handler that keeps the open-connections gauge.
// gRPC reports ConnBegin after the handshake and ConnEnd when the transport
// closes, once each.
type connCounter struct{ open prometheus.Gauge }

func (c connCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (c connCounter) HandleRPC(context.Context, stats.RPCStats)                         {}
func (c connCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (c connCounter) HandleConn(_ context.Context, s stats.ConnStats) {
	switch s.(type) {
	case *stats.ConnBegin:
		c.open.Inc()
	case *stats.ConnEnd:
		c.open.Dec()
	}
}

// storeReachable is the store's OnConnected hook.
func (m *metrics) storeReachable(up bool) {
	if up {
		m.storeConnected.Set(1)
	} else {
		m.storeConnected.Set(0)
	}
}

// reloadResult records a reload in the metrics.
func (m *metrics) reloadResult(ok bool) {
	if !ok {
		m.configReloads.WithLabelValues("failure").Inc()
		return
	}
	m.configReloads.WithLabelValues("success").Inc()
	m.configLastSuccess.Set(float64(time.Now().Unix()))
}
