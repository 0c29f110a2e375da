package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// failureKind says why a relayed call failed. Each kind has one status for
// the app and one metric label (see failureKinds); the cause and the
// circumstances go to the log only.
type failureKind uint8

// The kinds of failure.
const (
	// failInternal: the relay could not do its part (a misconfigured
	// interceptor chain, an upstream request that cannot be built).
	failInternal failureKind = iota
	// failTimeout: the host's timeout or the app's deadline passed while the
	// relay talked to the upstream, or the transport timed out.
	failTimeout
	// failCanceled: the app cancelled a Forward call while the relay talked
	// to the upstream.
	failCanceled
	// failDial: no connection to the upstream (refused, unreachable, name
	// not resolved, or no address the host's allowed_cidrs admit).
	failDial
	// failTLS: the TLS handshake with the upstream failed.
	failTLS
	// failBadResponse: no response head, e.g. the upstream closed the
	// connection or did not speak HTTP.
	failBadResponse
	// failMidBody: the response body broke off, or ran past its
	// Content-Length.
	failMidBody
	// failRequestTooLarge and failResponseTooLarge: a body over the host's
	// limit for Forward or for ForwardStream.
	failRequestTooLarge
	failResponseTooLarge
	// failStreamIdle: no body chunk moved for the host's stream_idle_timeout.
	failStreamIdle
	// failStreamDuration: the call reached the host's max_stream_duration.
	failStreamDuration
	// failAppCanceled and failAppDeadline: the app's ForwardStream call ended
	// (cancelled, or its deadline passed) before the exchange did.
	failAppCanceled
	failAppDeadline
	// failAppStream: receiving from the app's stream failed, e.g. it
	// half-closed early or sent a message over the size limit. The status is
	// the one gRPC gave the receive, so the app reads what its own stream
	// did; it never carries upstream text.
	failAppStream
	// failSend: sending to the app failed while its call was still on, e.g. a
	// response head over the message size limit.
	failSend

	numFailureKinds
)

// failureKinds is the one mapping from a failure to what the app reads and
// what the metrics count. Messages are fixed: never a host name, a limit or
// upstream text. label is "" for a failure that is not the upstream's (a
// limit, the app's own call), as [Exchange] promises.
var failureKinds = [numFailureKinds]struct {
	name  string // in the log
	code  codes.Code
	msg   string
	label ErrorKind
	level slog.Level
}{
	failInternal:         {"internal error", codes.Internal, "internal error", "", slog.LevelError},
	failTimeout:          {"upstream timed out", codes.DeadlineExceeded, "upstream timed out", ErrorTimeout, slog.LevelWarn},
	failCanceled:         {"request canceled", codes.Canceled, "request canceled", ErrorCanceled, slog.LevelWarn},
	failDial:             {"upstream unreachable", codes.Unavailable, "upstream unavailable", ErrorDial, slog.LevelWarn},
	failTLS:              {"upstream TLS handshake failed", codes.Unavailable, "upstream unavailable", ErrorTLS, slog.LevelWarn},
	failBadResponse:      {"no upstream response", codes.Unavailable, "upstream unavailable", ErrorOther, slog.LevelWarn},
	failMidBody:          {"upstream response body broke off", codes.Unavailable, "upstream unavailable", ErrorOther, slog.LevelWarn},
	failRequestTooLarge:  {"request body over limit", codes.ResourceExhausted, "request body too large", "", slog.LevelInfo},
	failResponseTooLarge: {"response body over limit", codes.ResourceExhausted, "response body too large", "", slog.LevelInfo},
	failStreamIdle:       {"stream idle timeout", codes.DeadlineExceeded, "stream idle timeout", ErrorTimeout, slog.LevelInfo},
	failStreamDuration:   {"stream duration limit", codes.DeadlineExceeded, "stream duration limit reached", ErrorTimeout, slog.LevelInfo},
	failAppCanceled:      {"app canceled the call", codes.Canceled, "context canceled", ErrorCanceled, slog.LevelDebug},
	failAppDeadline:      {"app's deadline passed", codes.DeadlineExceeded, "context deadline exceeded", ErrorCanceled, slog.LevelDebug},
	failAppStream:        {"receiving from the app failed", codes.Unknown, "", "", slog.LevelDebug},
	failSend:             {"sending to the app failed", codes.Unavailable, "upstream unavailable", "", slog.LevelWarn},
}

// failure is why a relayed call failed. It is created where the failure
// happens and turned into a status once, by [Relay.callError], when Forward or
// ForwardStream returns; its kind decides the status and the metric label,
// the rest is for the log.
type failure struct {
	kind failureKind
	host string // the host table name; "" before the lookup
	op   string // what the relay was doing
	err  error  // the cause
}

func (f *failure) Error() string {
	return fmt.Sprintf("%s: %s: %v", f.op, failureKinds[f.kind].name, f.err)
}

func (f *failure) Unwrap() error { return f.err }

// GRPCStatus is the status the app sees. gRPC would also send it for a
// failure returned unconverted, so that even then the app reads the fixed
// message and never the cause.
func (f *failure) GRPCStatus() *status.Status {
	if f.kind == failAppStream && f.err != nil {
		return status.Convert(f.err)
	}
	k := failureKinds[f.kind]
	return status.New(k.code, k.msg)
}

// callError turns err, which Forward or ForwardStream is about to return,
// into the status the app sees. A *failure is logged with its details and
// becomes its kind's status; a gRPC status (authz's denials, InvalidArgument
// naming a field) passes through; anything else is an internal error,
// because its text was never meant for the app.
func (r *Relay) callError(ctx context.Context, err error) error {
	var f *failure
	if !errors.As(err, &f) {
		if endsCall(err) {
			return err
		}
		f = &failure{kind: failInternal, op: "relay", err: err}
	}
	k := failureKinds[f.kind]
	st := f.GRPCStatus()
	r.opts.Logger.Log(ctx, k.level, "relay: "+k.name, "request_id", requestid.FromContext(ctx),
		"host", f.host, "op", f.op, "kind", string(k.label), "code", st.Code().String(), "error", f.err)
	return st.Err()
}

// endsCall reports whether err says how a call ends: a *failure or a gRPC
// status. The other errors that end an exchange context (the call
// returning, the app's cancellation) say nothing the app should read.
func endsCall(err error) bool {
	_, ok := err.(interface{ GRPCStatus() *status.Status })
	return ok
}

// failureLabel is the metric label for err, which a call ends with: the
// label of its failure's kind, or "" for a call that succeeded or was refused
// before any upstream was involved.
func failureLabel(err error) ErrorKind {
	if err == nil {
		return "" // before errors.As, whose target would cost every call an allocation
	}
	var f *failure
	if errors.As(err, &f) {
		return failureKinds[f.kind].label
	}
	return ""
}

// roundTripFailure is the failure for err, which the transport returned
// instead of a response head. ctx is the exchange's context (see classify).
func roundTripFailure(ctx context.Context, host string, err error) *failure {
	return transportFailure(ctx, host, "round trip", failBadResponse, err)
}

// bodyFailure is the failure for err, which reading the response body
// returned.
func bodyFailure(ctx context.Context, host string, err error) *failure {
	return transportFailure(ctx, host, "reading response body", failMidBody, err)
}

// transportFailure classifies err; other is the kind for a cause that is
// none of the known ones.
func transportFailure(ctx context.Context, host, op string, other failureKind, err error) *failure {
	kind := other
	switch classify(ctx, err) {
	case ErrorTimeout:
		kind = failTimeout
	case ErrorCanceled:
		kind = failCanceled
	case ErrorDial:
		kind = failDial
	case ErrorTLS:
		kind = failTLS
	}
	return &failure{kind: kind, host: host, op: op, err: err}
}

// overLimit describes a body over its limit, for the log: n is the length
// the message announced, or what was counted when the limit was passed.
func overLimit(n, limit int64) error {
	return fmt.Errorf("%d bytes, over the limit of %d", n, limit)
}

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
