package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/httpmsg"
	"google.golang.org/grpc"
)

// ChunkSize is the most response body bytes the relay reads from an upstream
// and sends in one ForwardStreamResponse. A chunk is sent as soon as a read
// returns, so chunks are often smaller: what the upstream flushed is what the
// app gets.
//
// It is 32 KiB less 16 bytes so that an encoded message (the chunk plus a
// 4-byte field header) fits gRPC's 32 KiB buffer-pool tier: one byte more
// and every message takes, and zeroes, a buffer from the 1 MiB tier, which
// cost a third of the gateway's CPU in BenchmarkStreamTransfer. Measured in
// CPU-ns per byte relayed (lower is better): 32 KiB-16 3.2–3.7, 16 KiB-16
// 3.5–4.2 (more messages), 64 KiB-16 3.4–4.4 with twice the heap (1 MiB
// tier), 32 KiB exactly 4.2–4.7.
const ChunkSize = 32<<10 - 16

// The causes that end a stream's exchange context early. A *failure or a
// status set by the receiving side (a body over the limit, a protocol
// violation) is a cause too; see streamCall.ended.
var (
	errStreamIdle     = errors.New("stream idle timeout")
	errStreamDuration = errors.New("stream duration limit")
	errCallDone       = errors.New("call returned")
	errResponseDone   = errors.New("response finished")
)

// ForwardStream relays one canonical inner request with streamed bodies. The
// interceptor chain has already received the head, canonicalized it and
// authorized it; as with Forward, the wire head is ignored and only the
// canonical form is sent. See the package doc and the proto for the message
// order and the errors.
func (r *Relay) ForwardStream(stream grpc.BidiStreamingServer[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]) error {
	if err := r.forwardStream(stream); err != nil {
		return r.callError(stream.Context(), err)
	}
	return nil
}

// forwardStream is ForwardStream until its error becomes a status.
func (r *Relay) forwardStream(stream grpc.BidiStreamingServer[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]) error {
	ctx := stream.Context()
	creq, principal, err := r.admit(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return &failure{kind: failAppStream, op: "receiving the request head", err: err}
	}
	head := first.GetHead()
	if head == nil {
		return authz.InvalidArgumentError("head", "the first message must be the request head")
	}
	up, err := r.upstream(ctx, creq)
	if err != nil {
		return err
	}
	declared, err := declaredLength(creq.Headers)
	if err != nil {
		return authz.InvalidArgumentError("headers", err.Error())
	}
	if declared > up.Stream.MaxRequestBodyBytes {
		return &failure{kind: failRequestTooLarge, host: up.Name, op: "request head", err: overLimit(declared, up.Stream.MaxRequestBodyBytes)}
	}
	c := &streamCall{r: r, up: up, creq: creq, principal: principal, stream: stream, declared: declared,
		inlineResponse: head.GetAcceptInlineResponse()}
	if head.GetEnd() {
		return c.runInline(head.GetBody())
	}
	if len(head.GetBody()) > 0 {
		return authz.InvalidArgumentError("head.body", "a body in the head needs end")
	}
	return c.run()
}

// declaredLength returns the body length a request head declares with its
// Content-Length header, or -1 when it declares none. The header must appear
// at most once, with a value that [httpmsg.ParseLength] accepts: the app
// library reads the gateway's responses by the same rule.
func declaredLength(hs []authz.Header) (int64, error) {
	n := int64(-1)
	for _, h := range hs {
		if h.Name != "Content-Length" {
			continue
		}
		if n >= 0 {
			return 0, errors.New("more than one Content-Length")
		}
		v, ok := httpmsg.ParseLength(h.Value)
		if !ok {
			return 0, errors.New("invalid Content-Length")
		}
		n = v
	}
	return n, nil
}

// streamCall is one ForwardStream exchange. Three goroutines work on it: the
// handler, which waits for the outcome or for the exchange context to end;
// receive, which owns stream.Recv and feeds the request body into a pipe that
// the upstream request reads; and respond, which owns stream.Send, makes the
// upstream request and relays the response. Backpressure is end to end: the
// pipe hands one chunk at a time to the upstream transport, and a Send blocks
// while the app's flow-control window is full.
//
// The handler does not wait for the other two once the exchange context has
// ended: a Send blocked on an app that stopped reading only returns when the
// call is over, which is exactly what returning from the handler achieves.
//
// Whatever goes wrong is a *failure (or an authz status) made where it
// happens; ForwardStream turns it into the app's status when it returns.
type streamCall struct {
	r         *Relay
	up        *Upstream
	creq      *authz.Request
	principal *authz.Principal
	stream    grpc.BidiStreamingServer[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]
	declared  int64 // the request's Content-Length, or -1
	// inlineResponse: the app accepts a small response as one message.
	inlineResponse bool

	// ctx is the exchange context: it ends with a cause when the call must
	// stop (idle, duration, a failure from the receiving side, the app gone).
	ctx    context.Context
	cancel context.CancelCauseFunc
	// One timer enforces both the idle and the duration limit (see
	// checkLimits): start is when the call began, moved when a chunk last
	// moved (or the call began), as time since start. A chunk moving only
	// stores the time; resetting a timer per chunk took the timer heap's
	// lock twice per chunk.
	start time.Time
	moved atomic.Int64
	limit atomic.Pointer[time.Timer]

	requestBytes  atomic.Int64
	responseBytes atomic.Int64
	statusCode    atomic.Int32
}

// begin starts the exchange context with its idle and duration limits.
func (c *streamCall) begin() {
	c.ctx, c.cancel = context.WithCancelCause(c.stream.Context())
	c.start = time.Now()
	t := time.AfterFunc(time.Hour, c.checkLimits)
	c.limit.Store(t)
	t.Reset(min(c.up.Stream.IdleTimeout, c.up.Stream.MaxDuration))
}

// checkLimits runs when the earlier of the two limits may have been
// reached: it ends the exchange with that limit as the cause, or sets the
// timer again for the next time one may be reached (a chunk moved since).
func (c *streamCall) checkLimits() {
	if c.ctx.Err() != nil {
		return
	}
	lim := c.up.Stream
	now := time.Since(c.start)
	if now >= lim.MaxDuration {
		c.cancel(errStreamDuration)
		return
	}
	idleAt := time.Duration(c.moved.Load()) + lim.IdleTimeout
	if now >= idleAt {
		c.cancel(errStreamIdle)
		return
	}
	c.limit.Load().Reset(min(idleAt, lim.MaxDuration) - now)
}

// end releases what begin started.
func (c *streamCall) end() {
	c.limit.Load().Stop()
	c.cancel(errCallDone)
}

func (c *streamCall) run() error {
	start := time.Now()
	c.begin()
	defer c.end()

	body := make(chan *io.PipeReader, 1)
	done := make(chan error, 1)
	go c.receive(body)
	go func() { done <- c.respond(body) }()
	var err error
	select {
	case err = <-done:
	case <-c.ctx.Done():
		err = c.ended("stream")
	}
	c.observe(start, err)
	return err
}

// respond waits for the request body to start (or for the request to turn
// out to have none), makes the upstream request and relays the response.
func (c *streamCall) respond(body <-chan *io.PipeReader) error {
	var pr *io.PipeReader
	select {
	case pr = <-body:
	case <-c.ctx.Done():
		return c.ended("waiting for the request body")
	}
	var rd io.Reader
	contentLength := int64(0)
	if pr != nil {
		// Unblocks a pump whose upstream stopped reading, once the
		// response is over.
		defer pr.CloseWithError(errResponseDone)
		rd, contentLength = pr, c.declared // -1: chunked
	}
	resp, err := c.roundTrip(rd, contentLength)
	if err != nil {
		return err
	}
	return c.relayResponse(resp)
}

// runInline relays a request whose head carried the whole request
// (RequestHead.end): nothing more is read from the app. The upstream
// exchange runs on the handler's goroutine; only a response too large to
// send without blocking on the app's flow-control window is relayed from a
// goroutine of its own, so that the idle and duration limits can still end
// the call while a Send waits.
func (c *streamCall) runInline(body []byte) error {
	start := time.Now()
	c.begin()
	defer c.end()

	err := c.inline(body)
	c.observe(start, err)
	return err
}

func (c *streamCall) inline(body []byte) error {
	n := int64(len(body))
	switch {
	case c.declared >= 0 && n > c.declared:
		return authz.InvalidArgumentError("head.body", "the body is longer than its Content-Length")
	case c.declared >= 0 && n < c.declared:
		return authz.InvalidArgumentError("head.body", "the body is shorter than its Content-Length")
	case n > c.up.Stream.MaxRequestBodyBytes:
		return c.failure(failRequestTooLarge, "request head", overLimit(n, c.up.Stream.MaxRequestBodyBytes))
	}
	c.requestBytes.Store(n)
	var rd io.Reader
	if n > 0 {
		rd = bytes.NewReader(body)
	}
	resp, err := c.roundTrip(rd, n)
	if err != nil {
		return err
	}
	if c.smallResponse(resp) {
		// At most a head, a chunk and an end: they fit in gRPC's 64 KiB
		// per-stream write quota, so no Send waits for the app to read.
		return c.relayResponse(resp)
	}
	done := make(chan error, 1)
	go func() { done <- c.relayResponse(resp) }()
	select {
	case err = <-done:
	case <-c.ctx.Done():
		err = c.ended("stream")
	}
	return err
}

// smallResponse reports whether resp announces a body that fits in one
// message, so that relaying it sends at most a head, a chunk and an end.
func (c *streamCall) smallResponse(resp *http.Response) bool {
	return resp.ContentLength >= 0 && resp.ContentLength <= ChunkSize
}

// progress records that a body chunk moved, which restarts the idle limit.
func (c *streamCall) progress() {
	c.moved.Store(int64(time.Since(c.start)))
}

// fail ends the exchange with err, a *failure or a status for the app.
func (c *streamCall) fail(err error) {
	c.cancel(err)
}

// receive reads the app's messages after the head. It sends on body exactly
// once, unless the exchange fails first: nil when the request has no body, or
// the pipe the body will flow through.
func (c *streamCall) receive(body chan<- *io.PipeReader) {
	for {
		msg, err := c.stream.Recv()
		if err != nil {
			c.fail(c.failure(failAppStream, "receiving the request body", err))
			return
		}
		switch k := msg.GetKind().(type) {
		case *gatewayv1.ForwardStreamRequest_BodyChunk:
			if len(k.BodyChunk) == 0 {
				continue // the body may still be empty: keep looking
			}
			if c.declared == 0 {
				c.fail(authz.InvalidArgumentError("body_chunk", "the body is longer than its Content-Length"))
				return
			}
			pr, pw := io.Pipe()
			body <- pr
			c.pump(pw, k.BodyChunk)
			return
		case *gatewayv1.ForwardStreamRequest_End:
			if c.declared > 0 {
				c.fail(authz.InvalidArgumentError("body_chunk", "the body is shorter than its Content-Length"))
				return
			}
			c.progress()
			body <- nil
			c.expectEOF()
			return
		default:
			c.fail(authz.InvalidArgumentError("head", "only the first message may be a request head"))
			return
		}
	}
}

// pump writes the request body into pw, chunk by chunk, starting with first.
// A write returns once the upstream transport has read the chunk, so at most
// one chunk per call is held here.
func (c *streamCall) pump(pw *io.PipeWriter, chunk []byte) {
	fail := func(err error) {
		c.fail(err) // first, so the transport's error is attributed to err
		pw.CloseWithError(err)
	}
	limit := c.up.Stream.MaxRequestBodyBytes
	for {
		if len(chunk) > 0 {
			n := c.requestBytes.Add(int64(len(chunk)))
			switch {
			case c.declared >= 0 && n > c.declared:
				fail(authz.InvalidArgumentError("body_chunk", "the body is longer than its Content-Length"))
				return
			case n > limit:
				fail(c.failure(failRequestTooLarge, "receiving the request body", overLimit(n, limit)))
				return
			}
			c.progress()
			if _, err := pw.Write(chunk); err != nil {
				return // the upstream request is over; its outcome decides the status
			}
			c.progress()
		}
		msg, err := c.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				fail(authz.InvalidArgumentError("end", "the stream ended without an end marker"))
				return
			}
			fail(c.failure(failAppStream, "receiving the request body", err))
			return
		}
		switch k := msg.GetKind().(type) {
		case *gatewayv1.ForwardStreamRequest_BodyChunk:
			chunk = k.BodyChunk
		case *gatewayv1.ForwardStreamRequest_End:
			if c.declared >= 0 && c.requestBytes.Load() != c.declared {
				fail(authz.InvalidArgumentError("body_chunk", "the body is shorter than its Content-Length"))
				return
			}
			pw.Close()
			c.expectEOF()
			return
		default:
			fail(authz.InvalidArgumentError("head", "only the first message may be a request head"))
			return
		}
	}
}

// expectEOF checks that the app half-closes after its end marker.
func (c *streamCall) expectEOF() {
	_, err := c.stream.Recv()
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		c.fail(c.failure(failAppStream, "receiving the end", err))
	default:
		c.fail(authz.InvalidArgumentError("end", "no message may follow the end marker"))
	}
}

// roundTrip makes the upstream request with body (nil for none) of
// contentLength (-1: chunked).
func (c *streamCall) roundTrip(body io.Reader, contentLength int64) (*http.Response, error) {
	req, err := c.r.newUpstreamRequest(c.ctx, c.up, c.creq, c.principal, body, contentLength)
	if err != nil {
		return nil, err
	}
	resp, err := c.up.roundTripper.RoundTrip(req)
	if err != nil {
		return nil, c.failed(roundTripFailure(c.ctx, c.up.Name, err))
	}
	return resp, nil
}

// chunkBuffers holds the buffers response bodies are read into, so that a
// call does not allocate (and zero) ChunkSize bytes.
var chunkBuffers = sync.Pool{New: func() any { return new([ChunkSize]byte) }}

// relayResponse relays the upstream response to the app and closes its
// body. Its result is the call's.
func (c *streamCall) relayResponse(resp *http.Response) error {
	defer resp.Body.Close()
	c.statusCode.Store(int32(resp.StatusCode))
	limit := c.up.Stream.MaxResponseBodyBytes
	// A HEAD response announces the length of a body it does not carry.
	if resp.ContentLength > limit && c.creq.Method != http.MethodHead {
		return c.failure(failResponseTooLarge, "response head", overLimit(resp.ContentLength, limit))
	}
	bufp := chunkBuffers.Get().(*[ChunkSize]byte)
	defer chunkBuffers.Put(bufp)
	rh := &gatewayv1.ResponseHead{
		StatusCode:            int32(resp.StatusCode),
		Headers:               responseHeaders(resp.Header),
		AcceptsInlineRequests: true, // see runInline
	}
	if c.inlineResponse && c.smallResponse(resp) {
		return c.relayWhole(resp, rh, bufp[:])
	}
	err := c.stream.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: rh}})
	if err != nil {
		return c.failed(c.failure(failSend, "sending the response head", err))
	}
	c.progress()
	if err := c.relayBody(resp, bufp[:]); err != nil {
		return err
	}
	err = c.stream.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_End{End: &gatewayv1.ResponseEnd{
		Trailers: responseHeaders(resp.Trailer),
	}}})
	if err != nil {
		return c.failed(c.failure(failSend, "sending the response end", err))
	}
	return nil
}

// relayWhole sends the whole response as one message, rh with the body and
// the trailers, reading the announced body into buf first (and the EOF after
// it, which brings the trailers).
func (c *streamCall) relayWhole(resp *http.Response, rh *gatewayv1.ResponseHead, buf []byte) error {
	size := resp.ContentLength
	if !httpmsg.BodyAllowed(c.creq.Method, resp.StatusCode) {
		size = 0
	}
	n, err := io.ReadFull(resp.Body, buf[:size])
	if err == nil {
		var one [1]byte
		var m int
		m, err = resp.Body.Read(one[:])
		if m > 0 || err == nil {
			err = errors.New("response body longer than its Content-Length")
		} else if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	c.responseBytes.Store(int64(n))
	if err != nil {
		return c.failed(bodyFailure(c.ctx, c.up.Name, err))
	}
	rh.Body, rh.End, rh.Trailers = buf[:n], true, responseHeaders(resp.Trailer)
	if err := c.stream.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: rh}}); err != nil {
		return c.failed(c.failure(failSend, "sending the response", err))
	}
	return nil
}

// relayBody sends the response body in chunks of at most len(buf) bytes, as
// the upstream produces it, up to the host's limit.
func (c *streamCall) relayBody(resp *http.Response, buf []byte) error {
	limit := c.up.Stream.MaxResponseBodyBytes
	// One buffer and one message for the whole body: Send has marshalled
	// the message when it returns.
	chunk := &gatewayv1.ForwardStreamResponse_BodyChunk{}
	msg := &gatewayv1.ForwardStreamResponse{Kind: chunk}
	var total int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			total += int64(n)
			c.responseBytes.Store(total)
			if total > limit {
				return c.failure(failResponseTooLarge, "reading response body", overLimit(total, limit))
			}
			chunk.BodyChunk = buf[:n]
			if err := c.stream.Send(msg); err != nil {
				return c.failed(c.failure(failSend, "sending the response body", err))
			}
			c.progress()
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return c.failed(bodyFailure(c.ctx, c.up.Name, rerr))
		}
	}
}

// failure is a failure of this call's exchange with its upstream.
func (c *streamCall) failure(kind failureKind, op string, err error) *failure {
	return &failure{kind: kind, host: c.up.Name, op: op, err: err}
}

// failed is f, the failure of an operation on the upstream or on the app's
// stream, unless the exchange context has ended: that is then why the
// operation failed, and the context's cause decides (see ended).
func (c *streamCall) failed(f *failure) error {
	if c.ctx.Err() != nil {
		return c.ended(f.op)
	}
	return f
}

// ended is the error of a call whose exchange context has ended: its cause
// decides. That is the idle or the duration limit, a failure or status the
// receiving side set, or else the app's own call ending (op is what the
// relay was doing then, for the log).
func (c *streamCall) ended(op string) error {
	cause := context.Cause(c.ctx)
	switch {
	case errors.Is(cause, errStreamIdle):
		return c.failure(failStreamIdle, op, fmt.Errorf("%w: nothing moved for %s", cause, c.up.Stream.IdleTimeout))
	case errors.Is(cause, errStreamDuration):
		return c.failure(failStreamDuration, op, fmt.Errorf("%w of %s reached", cause, c.up.Stream.MaxDuration))
	case endsCall(cause):
		return cause
	}
	err := c.stream.Context().Err()
	if err == nil {
		err = c.ctx.Err()
	}
	kind := failAppCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		kind = failAppDeadline
	}
	return c.failure(kind, op, err)
}

// observe reports the exchange to the relay's observer; err is the call's
// outcome, the same value its status comes from.
func (c *streamCall) observe(start time.Time, err error) {
	c.r.opts.Observer.ObserveExchange(c.up.Name, Exchange{
		StatusCode:    int(c.statusCode.Load()),
		Err:           failureLabel(err),
		Duration:      time.Since(start),
		RequestBytes:  c.requestBytes.Load(),
		ResponseBytes: c.responseBytes.Load(),
	})
}
