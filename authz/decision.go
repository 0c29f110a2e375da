package authz

// Reason says why a decision came out as it did. The values are stable: they
// appear in logs, audit records and metrics.
type Reason string

// The reasons a decision can carry.
const (
	// ReasonAllowed: an allow rule matched and no deny rule did.
	ReasonAllowed Reason = "allowed"
	// ReasonDeniedByRule: a deny rule matched.
	ReasonDeniedByRule Reason = "denied_by_rule"
	// ReasonNoMatchingRule: no allow rule matched (default deny).
	ReasonNoMatchingRule Reason = "no_matching_rule"
	// ReasonNoPolicy: there was no policy to decide with (fail closed).
	ReasonNoPolicy Reason = "no_policy"
)

// Decision is the outcome of [Policy.Decide].
type Decision struct {
	// Allowed is true only when the request may be relayed.
	Allowed bool
	// RuleID is the id of the deciding rule: the matching deny rule, or the
	// first matching allow rule; "" when no rule matched.
	RuleID string
	// Reason says why.
	Reason Reason
}
