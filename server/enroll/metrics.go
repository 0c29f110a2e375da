package enroll

import "github.com/prometheus/client_golang/prometheus"

// Protocols: the label values of the metrics' protocol.
const (
	protocolGRPC = "grpc"
	protocolEST  = "est"
)

// Results: the label values of the metrics' result.
const (
	resultIssued  = "issued"
	resultRefused = "refused"
)

// metrics count enrollments and renewals. Every label value is a constant
// of this package: never an identity, a token id or an address.
type metrics struct {
	enroll *prometheus.CounterVec // protocol, result, reason
	renew  *prometheus.CounterVec // protocol, result, reason
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		enroll: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "msg_enroll_total",
			Help: "Enrollment requests (a one-time secret and a CSR) by protocol (grpc, est), result (issued, refused) and reason.",
		}, []string{"protocol", "result", "reason"}),
		renew: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "msg_renew_total",
			Help: "Certificate renewals by protocol (grpc, est), result (issued, refused) and reason.",
		}, []string{"protocol", "result", "reason"}),
	}
	// The series of issued certificates exist from the start, so a rate
	// over them is defined before the first enrollment.
	for _, p := range []string{protocolGRPC, protocolEST} {
		m.enroll.WithLabelValues(p, resultIssued, reasonIssued)
		m.renew.WithLabelValues(p, resultIssued, reasonIssued)
	}
	if reg != nil {
		reg.MustRegister(m.enroll, m.renew)
	}
	return m
}

func (m *metrics) observe(renew bool, protocol string, r *refusal) {
	vec := m.enroll
	if renew {
		vec = m.renew
	}
	if r == nil {
		vec.WithLabelValues(protocol, resultIssued, reasonIssued).Inc()
		return
	}
	vec.WithLabelValues(protocol, resultRefused, r.reason).Inc()
}
