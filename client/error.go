package client

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// An Error is a failed Forward call: the gateway refused or could not relay
// the request, the connection to the gateway failed, or the transport refused
// the request before sending it. An upstream HTTP error status (a 404 or a
// 503 from the internal host) is not an Error: it arrives as a
// [net/http.Response] with that status code.
//
// [net/http.Client] wraps errors from [Transport.RoundTrip] in a
// [*net/url.Error]; use [errors.As] or [CodeOf] to reach the Error. When the
// call ended because the request's context was cancelled or its deadline
// passed, the Error also wraps the context's error, so
// errors.Is(err, context.Canceled) and
// errors.Is(err, context.DeadlineExceeded) hold as they would for any
// net/http transport.
type Error struct {
	// Code is the gRPC status code, for example PermissionDenied when policy
	// refused the request or Unavailable when the gateway or the internal
	// host could not be reached.
	Code codes.Code
	// Message is the status message. The gateway keeps it generic on
	// purpose; the details of a denial are in its audit log.
	Message string
	// Reason is the stable reason from a google.rpc.ErrorInfo detail, for
	// example the reason for a policy denial, or empty if there was none.
	Reason string
	// RetryAfter is the delay from a google.rpc.RetryInfo detail, or zero if
	// there was none. It is set when a retry makes sense, for example after a
	// rate limit.
	RetryAfter time.Duration

	status *status.Status // the gateway's status, nil for local errors
	cause  error          // the context's error, if the context ended the call
}

// Error returns the code, the message and, when present, the reason and the
// retry delay.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Reason != "" {
		b.WriteString(" (reason ")
		b.WriteString(e.Reason)
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the request context's error ([context.Canceled] or
// [context.DeadlineExceeded]) when the context ended the call, and nil
// otherwise.
func (e *Error) Unwrap() error {
	return e.cause
}

// GRPCStatus returns the error as a gRPC status, with the gateway's details
// when it came from the gateway, so that [google.golang.org/grpc/status.Code]
// and [google.golang.org/grpc/status.FromError] understand it too.
func (e *Error) GRPCStatus() *status.Status {
	if e.status != nil {
		return e.status
	}
	return status.New(e.Code, e.Message)
}

// CodeOf returns the code of the [*Error] in err's chain: [codes.OK] if err is
// nil and [codes.Unknown] if err holds no [*Error].
func CodeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return codes.Unknown
}

// errorFromRPC converts an error returned by the Forward stub. ctx is the
// request's context: a Canceled or DeadlineExceeded status is attributed to
// it only if it is actually done, so that a deadline the gateway hit on its
// own (an upstream timeout) does not look like the caller's.
func errorFromRPC(ctx context.Context, err error) *Error {
	st := status.Convert(err)
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if e.Reason == "" {
				e.Reason = d.GetReason()
			}
		case *errdetails.RetryInfo:
			if e.RetryAfter == 0 && d.GetRetryDelay().IsValid() {
				e.RetryAfter = d.GetRetryDelay().AsDuration()
			}
		}
	}
	if e.Code == codes.DeadlineExceeded && ctx.Err() == nil {
		// The gateway runs on the deadline this call sent it, which it
		// reaches a moment before ours (transit time): a DeadlineExceeded
		// that arrives right at our own deadline is ours. Wait that moment
		// out, bounded, rather than call it the gateway's.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < deadlineSkew {
			t := time.NewTimer(max(time.Until(dl), 0) + time.Millisecond)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	if e.Code == codes.Canceled || e.Code == codes.DeadlineExceeded {
		e.cause = ctx.Err()
	}
	return e
}

// deadlineSkew is how close to the caller's deadline a DeadlineExceeded
// from the gateway is taken to be the caller's own deadline passing.
const deadlineSkew = 250 * time.Millisecond
