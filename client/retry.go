package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
)

// idempotent reports whether the transport may send req a second time after
// its connection died without an answer: its method is idempotent by
// RFC 9110 (GET, HEAD, OPTIONS, PUT, DELETE; the gateway refuses TRACE), or
// the app marked it with an Idempotency-Key or X-Idempotency-Key header, as
// net/http's own transport understands them (a key with a nil value marks
// the request without sending the header).
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	if _, ok := req.Header["Idempotency-Key"]; ok {
		return true
	}
	_, ok := req.Header["X-Idempotency-Key"]
	return ok
}

// requestBody hands each attempt of a request its body: the request's own
// the first time, then a copy, from memory or from req.GetBody. A request
// without a body, or with one of known length up to inlineBodyMax, has it in
// memory and can be sent again whatever the app set.
type requestBody struct {
	declared int64         // the length sent as Content-Length, or -1
	mem      []byte        // the whole body when inMem
	inMem    bool          // mem holds the body (nil: there is none)
	first    io.ReadCloser // the request's body, until the first attempt takes it
	getBody  func() (io.ReadCloser, error)
}

// replayable reports whether a second attempt can have the body.
func (b *requestBody) replayable() bool {
	return b.inMem || b.getBody != nil
}

// stream returns the body for an attempt that streams it, or nil when
// there is none.
func (b *requestBody) stream() (io.ReadCloser, error) {
	switch {
	case b.inMem:
		if len(b.mem) == 0 {
			return nil, nil
		}
		return io.NopCloser(bytes.NewReader(b.mem)), nil
	case b.first != nil:
		first := b.first
		b.first = nil
		return first, nil
	case b.getBody != nil:
		body, err := b.getBody()
		if err != nil {
			return nil, &Error{Code: codes.Unknown, Message: "client: req.GetBody: " + err.Error(), cause: err}
		}
		if body == http.NoBody {
			return nil, nil
		}
		return body, nil
	}
	return nil, nil
}

// close closes a body no attempt took.
func (b *requestBody) close() {
	if b.first != nil {
		b.first.Close()
		b.first = nil
	}
}

// retryDelay decides whether a failed attempt of a request is sent again
// and after how long. Only one retry is made, only while the request's
// context lives, and only with a body that can be sent again:
//
//   - The transport moved the call off a link it retired (a network change,
//     a connection that stopped answering): at once.
//   - The connection failed before the gateway answered anything, on a
//     link the gateway has answered before (so the failure is news, not a
//     gateway that is unreachable or refuses the certificate): at once if
//     the request never reached a connection, or is idempotent.
//   - The gateway refused the request with a RetryInfo: after its delay,
//     when the request is idempotent or the refusal is one of the gateway's
//     limits (ResourceExhausted), which refuse before anything is relayed,
//     and when the delay ends before the request's deadline (or within
//     reconnectWait for a request without one).
func retryDelay(ctx context.Context, req *http.Request, body *requestBody, l *link, a *attempt, err error, moved bool) (time.Duration, bool) {
	if ctx.Err() != nil || !body.replayable() {
		return 0, false
	}
	if moved {
		return 0, true
	}
	e, ok := errors.AsType[*Error](err)
	if !ok || e.status == nil {
		return 0, false // a local error: the request is at fault, not the network
	}
	if !a.answered.Load() {
		return 0, e.Code == codes.Unavailable && l.reached.Load() && (!a.sent.Load() || idempotent(req))
	}
	if e.RetryAfter <= 0 || !(e.Code == codes.ResourceExhausted || idempotent(req)) {
		return 0, false
	}
	limit := reconnectWait
	if dl, ok := ctx.Deadline(); ok {
		limit = time.Until(dl)
	}
	if e.RetryAfter >= limit {
		return 0, false
	}
	return e.RetryAfter, true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
