package server

import (
	"sync"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/server/relay"
	"github.com/prometheus/client_golang/prometheus"
)

// The data plane's series, resolved once per label set. Looking a child up
// by label values hashes every value and takes the vector's lock on every
// request; these caches hold the children themselves, keyed by values that
// are bounded the same way the labels are (host table names, rule ids,
// fixed reasons), so they grow no further than the vectors do.

// hostSeries are one host's relay series.
type hostSeries struct {
	requests []prometheus.Counter // by statusClasses index
	errors   map[relay.ErrorKind]prometheus.Counter
	duration prometheus.Observer
	sent     prometheus.Counter
	received prometheus.Counter
}

// seriesCache holds the resolved children of a metrics value.
type seriesCache struct {
	hosts     sync.Map // host name -> *hostSeries
	decisions sync.Map // decisionKey -> prometheus.Counter
}

type decisionKey struct {
	allowed bool
	reason  authz.Reason
	rule    string
}

// hostSeries returns host's series, resolving them on first use.
func (m *metrics) hostSeries(host string) *hostSeries {
	if s, ok := m.series.hosts.Load(host); ok {
		return s.(*hostSeries)
	}
	s := &hostSeries{
		errors:   make(map[relay.ErrorKind]prometheus.Counter, len(relay.ErrorKinds)),
		duration: m.relayDuration.WithLabelValues(host),
		sent:     m.relaySent.WithLabelValues(host),
		received: m.relayReceived.WithLabelValues(host),
	}
	for _, c := range statusClasses {
		s.requests = append(s.requests, m.relayRequests.WithLabelValues(host, c))
	}
	for _, k := range relay.ErrorKinds {
		s.errors[k] = m.upstreamErrors.WithLabelValues(host, string(k))
	}
	actual, _ := m.series.hosts.LoadOrStore(host, s)
	return actual.(*hostSeries)
}

// statusClassIndex is the index in statusClasses of an exchange's class:
// its status code's hundreds, or "error" for no complete response.
func statusClassIndex(e relay.Exchange) int {
	if e.Err == "" && e.StatusCode >= 100 && e.StatusCode < 600 {
		return e.StatusCode/100 - 1
	}
	return len(statusClasses) - 1
}

// decisionCounter returns the counter of a decision's labels.
func (m *metrics) decisionCounter(d authz.Decision) prometheus.Counter {
	key := decisionKey{allowed: d.Allowed, reason: d.Reason, rule: d.RuleID}
	if c, ok := m.series.decisions.Load(key); ok {
		return c.(prometheus.Counter)
	}
	result := "deny"
	if d.Allowed {
		result = "allow"
	}
	c := m.decisions.WithLabelValues(result, string(d.Reason), d.RuleID)
	actual, _ := m.series.decisions.LoadOrStore(key, c)
	return actual.(prometheus.Counter)
}
