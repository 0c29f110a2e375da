package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/httpmsg"
	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// The causes that end a stream's exchange context early. Statuses set by the
// receiving side (a body over the limit, a protocol violation) are causes
// too; see streamCall.status.
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
	ctx := stream.Context()
	creq, principal, err := r.admit(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return status.Convert(err).Err()
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
		r.opts.Logger.InfoContext(ctx, "relay: stream request body over limit", "request_id", requestid.FromContext(ctx),
			"host", up.Name, "content_length", declared, "limit", up.Stream.MaxRequestBodyBytes)
		return status.Error(codes.ResourceExhausted, "request body too large")
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
	// stop (idle, duration, a status from the receiving side, the app gone).
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   *time.Timer

	requestBytes  atomic.Int64
	responseBytes atomic.Int64
	statusCode    atomic.Int32
	upstreamKind  atomic.Value // ErrorKind of an upstream failure
}

func (c *streamCall) run() error {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(c.stream.Context())
	defer cancel(errCallDone)
	ctx, stop := context.WithTimeoutCause(ctx, c.up.Stream.MaxDuration, errStreamDuration)
	defer stop()
	c.ctx, c.cancel = ctx, cancel
	c.idle = time.AfterFunc(c.up.Stream.IdleTimeout, func() { cancel(errStreamIdle) })
	defer c.idle.Stop()

	body := make(chan *io.PipeReader, 1)
	done := make(chan error, 1)
	go c.receive(body)
	go func() {
		var pr *io.PipeReader
		select {
		case pr = <-body:
		case <-c.ctx.Done():
			done <- c.status("waiting for the request body", c.ctx.Err())
			return
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
		if err == nil {
			err = c.relayResponse(resp)
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = c.status("stream", ctx.Err())
	}
	c.observe(start, err)
	return err
}

// runInline relays a request whose head carried the whole request
// (RequestHead.end): nothing more is read from the app. The upstream
// exchange runs on the handler's goroutine; only a response too large to
// send without blocking on the app's flow-control window is relayed from a
// goroutine of its own, so that the idle and duration limits can still end
// the call while a Send waits.
func (c *streamCall) runInline(body []byte) error {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(c.stream.Context())
	defer cancel(errCallDone)
	ctx, stop := context.WithTimeoutCause(ctx, c.up.Stream.MaxDuration, errStreamDuration)
	defer stop()
	c.ctx, c.cancel = ctx, cancel
	c.idle = time.AfterFunc(c.up.Stream.IdleTimeout, func() { cancel(errStreamIdle) })
	defer c.idle.Stop()

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
		c.r.opts.Logger.InfoContext(c.ctx, "relay: stream request body over limit", "request_id", requestid.FromContext(c.ctx),
			"host", c.up.Name, "limit", c.up.Stream.MaxRequestBodyBytes)
		return status.Error(codes.ResourceExhausted, "request body too large")
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
		err = c.status("stream", c.ctx.Err())
	}
	return err
}

// smallResponse reports whether resp announces a body that fits in one
// message, so that relaying it sends at most a head, a chunk and an end.
func (c *streamCall) smallResponse(resp *http.Response) bool {
	return resp.ContentLength >= 0 && resp.ContentLength <= ChunkSize
}

// progress records that a body chunk moved, restarting the idle timer.
func (c *streamCall) progress() {
	if c.ctx.Err() == nil { // a stopped timer stays stopped
		c.idle.Reset(c.up.Stream.IdleTimeout)
	}
}

// fail ends the exchange with err, a status for the app.
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
			c.fail(c.recvError(err))
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
				c.r.opts.Logger.InfoContext(c.ctx, "relay: stream request body over limit", "request_id", requestid.FromContext(c.ctx),
					"host", c.up.Name, "limit", limit)
				fail(status.Error(codes.ResourceExhausted, "request body too large"))
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
			fail(c.recvError(err))
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
		c.fail(c.recvError(err))
	default:
		c.fail(authz.InvalidArgumentError("end", "no message may follow the end marker"))
	}
}

// recvError is the status for a failed Recv: the app cancelled the call, its
// deadline passed, or it sent a message over the size limit.
func (c *streamCall) recvError(err error) error {
	return status.Convert(err).Err()
}

// roundTrip makes the upstream request with body (nil for none) of
// contentLength (-1: chunked). On error the status is the call's.
func (c *streamCall) roundTrip(body io.Reader, contentLength int64) (*http.Response, error) {
	req, err := c.r.newUpstreamRequest(c.ctx, c.up, c.creq, c.principal, body, contentLength)
	if err != nil {
		return nil, err
	}
	resp, err := c.up.roundTripper.RoundTrip(req)
	if err != nil {
		return nil, c.upstreamStatus("round trip", err)
	}
	return resp, nil
}

// chunkBuffers holds the buffers response bodies are read into, so that a
// call does not allocate (and zero) ChunkSize bytes.
var chunkBuffers = sync.Pool{New: func() any { return new([ChunkSize]byte) }}

// relayResponse relays the upstream response to the app and closes its
// body. Its result is the call's status.
func (c *streamCall) relayResponse(resp *http.Response) error {
	defer resp.Body.Close()
	c.statusCode.Store(int32(resp.StatusCode))
	limit := c.up.Stream.MaxResponseBodyBytes
	// A HEAD response announces the length of a body it does not carry.
	if resp.ContentLength > limit && c.creq.Method != http.MethodHead {
		c.r.opts.Logger.InfoContext(c.ctx, "relay: stream response body over limit", "request_id", requestid.FromContext(c.ctx),
			"host", c.up.Name, "content_length", resp.ContentLength, "limit", limit)
		return status.Error(codes.ResourceExhausted, "response body too large")
	}
	bufp := chunkBuffers.Get().(*[ChunkSize]byte)
	defer chunkBuffers.Put(bufp)
	buf := bufp[:]
	rh := &gatewayv1.ResponseHead{
		StatusCode:            int32(resp.StatusCode),
		Headers:               responseHeaders(resp.Header),
		AcceptsInlineRequests: true, // see runInline
	}
	if c.inlineResponse && c.smallResponse(resp) {
		// The whole response in one message: read the announced body (and
		// the EOF after it, which brings the trailers) first.
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
			return c.upstreamStatus("reading response body", err)
		}
		rh.Body, rh.End, rh.Trailers = buf[:n], true, responseHeaders(resp.Trailer)
		if err := c.stream.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: rh}}); err != nil {
			return c.status("sending the response", err)
		}
		return nil
	}
	err := c.stream.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: rh}})
	if err != nil {
		return c.status("sending the response head", err)
	}
	c.progress()

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
				c.r.opts.Logger.InfoContext(c.ctx, "relay: stream response body over limit", "request_id", requestid.FromContext(c.ctx),
					"host", c.up.Name, "limit", limit)
				return status.Error(codes.ResourceExhausted, "response body too large")
			}
			chunk.BodyChunk = buf[:n]
			if err := c.stream.Send(msg); err != nil {
				return c.status("sending the response body", err)
			}
			c.progress()
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return c.upstreamStatus("reading response body", rerr)
		}
	}
	err = c.stream.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_End{End: &gatewayv1.ResponseEnd{
		Trailers: responseHeaders(resp.Trailer),
	}}})
	if err != nil {
		return c.status("sending the response end", err)
	}
	return nil
}

// upstreamStatus is status for a failure while talking to the upstream, and
// remembers what kind of failure it was when the upstream was at fault.
func (c *streamCall) upstreamStatus(op string, err error) error {
	if c.ctx.Err() == nil {
		c.upstreamKind.Store(classify(c.ctx, err))
	}
	return c.status(op, err)
}

// status maps the end of an exchange to the status the app sees. When the
// exchange context has ended, its cause decides: the idle or duration limit,
// a status the receiving side set, or the app's own cancellation or
// deadline. Otherwise err is an upstream failure, mapped as for Forward.
func (c *streamCall) status(op string, err error) error {
	if c.ctx.Err() == nil {
		return c.r.upstreamError(c.ctx, c.up, op, err)
	}
	cause := context.Cause(c.ctx)
	rid := requestid.FromContext(c.ctx)
	switch {
	case errors.Is(cause, errStreamIdle):
		c.r.opts.Logger.InfoContext(c.ctx, "relay: stream idle timeout", "request_id", rid,
			"host", c.up.Name, "op", op, "idle_timeout", c.up.Stream.IdleTimeout.String())
		return status.Error(codes.DeadlineExceeded, "stream idle timeout")
	case errors.Is(cause, errStreamDuration):
		c.r.opts.Logger.InfoContext(c.ctx, "relay: stream duration limit", "request_id", rid,
			"host", c.up.Name, "op", op, "max_stream_duration", c.up.Stream.MaxDuration.String())
		return status.Error(codes.DeadlineExceeded, "stream duration limit reached")
	}
	if _, ok := cause.(interface{ GRPCStatus() *status.Status }); ok {
		return cause
	}
	if err := c.stream.Context().Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return status.FromContextError(c.ctx.Err()).Err()
}

// observe reports the exchange to the relay's observer.
func (c *streamCall) observe(start time.Time, err error) {
	ex := Exchange{
		StatusCode:    int(c.statusCode.Load()),
		Duration:      time.Since(start),
		RequestBytes:  c.requestBytes.Load(),
		ResponseBytes: c.responseBytes.Load(),
	}
	if err != nil {
		cause := context.Cause(c.ctx)
		switch {
		case errors.Is(cause, errStreamIdle), errors.Is(cause, errStreamDuration):
			ex.Err = ErrorTimeout
		case c.stream.Context().Err() != nil:
			ex.Err = ErrorCanceled
		default:
			if k, ok := c.upstreamKind.Load().(ErrorKind); ok {
				ex.Err = k
			}
		}
	}
	c.r.opts.Observer.ObserveExchange(c.up.Name, ex)
}
