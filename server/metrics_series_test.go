package server

import (
	"context"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue reads a counter's value.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestResolvedSeries: the cached children are the vectors' own series,
// whatever the host, class, error kind or decision, and a host that was not
// in the config at start gets its series on first use.
func TestResolvedSeries(t *testing.T) {
	t.Parallel()
	m := newMetrics(&configv1.Config{}, "test")
	for range 2 { // the second round goes through the cache
		m.ObserveExchange("a.internal", relay.Exchange{StatusCode: 204, Duration: time.Millisecond, RequestBytes: 3, ResponseBytes: 5})
		m.ObserveExchange("b.internal", relay.Exchange{Err: relay.ErrorDial})
		m.observeDecision(context.Background(), authz.Decision{Allowed: true, Reason: authz.ReasonAllowed, RuleID: "r1"})
		m.observeDecision(context.Background(), authz.Decision{Reason: authz.ReasonNoMatchingRule})
	}
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"a 2xx", counterValue(t, m.relayRequests.WithLabelValues("a.internal", "2xx")), 2},
		{"a error", counterValue(t, m.relayRequests.WithLabelValues("a.internal", "error")), 0},
		{"a sent", counterValue(t, m.relaySent.WithLabelValues("a.internal")), 6},
		{"a received", counterValue(t, m.relayReceived.WithLabelValues("a.internal")), 10},
		{"b error", counterValue(t, m.relayRequests.WithLabelValues("b.internal", "error")), 2},
		{"b dial", counterValue(t, m.upstreamErrors.WithLabelValues("b.internal", "dial")), 2},
		{"allow r1", counterValue(t, m.decisions.WithLabelValues("allow", string(authz.ReasonAllowed), "r1")), 2},
		{"deny none", counterValue(t, m.decisions.WithLabelValues("deny", string(authz.ReasonNoMatchingRule), "")), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

// BenchmarkObserveRequest is what metrics cost one relayed request: its
// exchange and its decision. The figure is allocs/op, which must stay 0.
func BenchmarkObserveRequest(b *testing.B) {
	m := newMetrics(&configv1.Config{}, "bench")
	ex := relay.Exchange{StatusCode: 200, Duration: time.Millisecond, ResponseBytes: 1024}
	d := authz.Decision{Allowed: true, Reason: authz.ReasonAllowed, RuleID: "bench"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveExchange("bench.internal", ex)
		m.observeDecision(ctx, d)
	}
}
