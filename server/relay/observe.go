package relay

import "time"

// Observer is told about every upstream exchange the relay makes, so that the
// server can count them without the relay depending on a metrics library.
// Implementations must be safe for concurrent use and must not block.
type Observer interface {
	// ObserveExchange is called once per exchange, after the response body
	// was read or the exchange failed. host is the host table name, never
	// the app's spelling of it.
	ObserveExchange(host string, e Exchange)
}

// Exchange describes one finished upstream exchange.
type Exchange struct {
	// StatusCode is the upstream's HTTP status, or 0 when there was no
	// response.
	StatusCode int
	// Err is the kind of upstream failure, or "" when the body was read
	// completely. A response over the body limit is not an upstream failure.
	// It comes from the same failure value as the status the app gets.
	Err ErrorKind
	// Duration runs from sending the request to the end of the response body.
	Duration time.Duration
	// RequestBytes and ResponseBytes count the bodies sent and received.
	RequestBytes, ResponseBytes int64
}

// ErrorKind classifies an upstream failure. The values are stable: they are
// metric label values.
type ErrorKind string

// The kinds of upstream failure.
const (
	// ErrorTimeout: the RPC deadline or the host's timeout passed during a
	// Forward call, or a ForwardStream call reached its idle or duration
	// limit.
	ErrorTimeout ErrorKind = "timeout"
	// ErrorCanceled: the app cancelled the RPC (or, for ForwardStream, its
	// call ended in any way before the exchange did).
	ErrorCanceled ErrorKind = "canceled"
	// ErrorDial: no connection (refused, unreachable, name not resolved, or
	// every address refused by the host's address policy).
	ErrorDial ErrorKind = "dial"
	// ErrorTLS: the TLS handshake with the upstream failed.
	ErrorTLS ErrorKind = "tls"
	// ErrorOther: anything else, e.g. the upstream closed the connection
	// mid-response.
	ErrorOther ErrorKind = "other"
)

// ErrorKinds lists every [ErrorKind], for pre-registering metric series.
var ErrorKinds = []ErrorKind{ErrorTimeout, ErrorCanceled, ErrorDial, ErrorTLS, ErrorOther}

type nopObserver struct{}

func (nopObserver) ObserveExchange(string, Exchange) {}
