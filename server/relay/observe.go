package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"time"
)

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
	// ErrorTimeout: the RPC deadline or the host's timeout passed.
	ErrorTimeout ErrorKind = "timeout"
	// ErrorCanceled: the app cancelled the RPC.
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

// classify says what kind of failure err is. ctx is the exchange's context:
// its error takes precedence, because a cancelled request surfaces as
// whatever the transport was doing at the time.
func classify(ctx context.Context, err error) ErrorKind {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return ErrorTimeout
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return ErrorCanceled
	}
	var (
		ne       net.Error
		opErr    *net.OpError
		dnsErr   *net.DNSError
		rhErr    tls.RecordHeaderError
		verErr   *tls.CertificateVerificationError
		alertErr tls.AlertError
		uaErr    x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return ErrorTimeout
	case errors.As(err, &dnsErr), errors.As(err, &opErr) && opErr.Op == "dial",
		errors.As(err, new(*RefusedAddrError)):
		return ErrorDial
	case errors.As(err, &rhErr), errors.As(err, &verErr), errors.As(err, &alertErr),
		errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr),
		errors.As(err, &opErr) && opErr.Op == "remote error":
		return ErrorTLS
	}
	return ErrorOther
}

type nopObserver struct{}

func (nopObserver) ObserveExchange(string, Exchange) {}
