package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/httpmsg"
)

// chunkSize is the most request body bytes sent in one message. Like the
// gateway's response chunks it is 32 KiB less 16 bytes, so that an encoded
// message fits gRPC's 32 KiB buffer-pool tier instead of taking (and
// zeroing) a 1 MiB buffer; that measured best for throughput.
const chunkSize = 32<<10 - 16

type forwardStream = grpc.BidiStreamingClient[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]

// inlineBodyMax is the largest request body (of known length) that goes
// inside the request head, so that the whole request is one message, when the
// gateway accepts that (see [inlineState]). Larger bodies stream in chunks.
const inlineBodyMax = 16 << 10

// roundTrip sends req as a ForwardStream call, and as a second one when
// the first failed in a way that makes sending it again safe (see
// retryDelay).
//
// When the gateway has announced on the connection that it accepts it, a
// request without a body or with a small one of known length is sent as one
// message: the head carries the body and the end marker, which saves the
// gateway a goroutine per direction and the messages' round through the
// interceptors. A gateway that predates this refuses such a call with
// UNKNOWN before anything reaches the internal host (it never announces it,
// but a connection may have moved to one since the announcement); the
// request is then sent again the usual way, within the same attempt.
func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	head, err := t.requestHead(req)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	head.AcceptInlineResponse = true
	rb := &requestBody{declared: -1, getBody: req.GetBody}
	switch {
	case body == nil:
		rb.inMem = true
	case req.ContentLength > 0:
		rb.declared = req.ContentLength
		if t.maxRequestBodyBytes > 0 && rb.declared > t.maxRequestBodyBytes {
			body.Close()
			return nil, t.bodyTooLarge()
		}
		head.Headers = append(head.Headers, &gatewayv1.Header{Name: "Content-Length", Value: strconv.FormatInt(rb.declared, 10)})
		if rb.declared <= inlineBodyMax {
			// Small enough to keep: it can go inline, and be sent again.
			if rb.mem, err = readInline(body, rb.declared); err != nil {
				return nil, err
			}
			rb.inMem = true
		} else {
			rb.first = body
		}
	default:
		rb.first = body
	}
	ctx := req.Context()
	for n := 0; ; n++ {
		l := t.hold()
		movable := n == 0 && rb.replayable() && idempotent(req)
		if !movable {
			l = t.preflight(ctx, l)
		}
		resp, a, moved, err := t.attempt(req, head, rb, l, movable)
		if err == nil {
			return resp, nil
		}
		delay, again := retryDelay(ctx, req, rb, l, a, err, moved)
		if n > 0 || !again || sleep(ctx, delay) != nil {
			rb.close()
			return nil, err
		}
		// Wait, within reason, for a connection: a restarting gateway or a
		// new network may take a moment.
		wctx, cancel := context.WithTimeout(ctx, reconnectWait)
		werr := t.cur.Load().waitReady(wctx)
		cancel()
		if werr != nil {
			rb.close()
			return nil, err
		}
	}
}

// preflight checks a connection that has been silent for preflightAfter
// before a request that cannot be sent twice goes out on it, and returns
// the link to use, held: l, or a new one when l did not answer. Such a
// request must not vanish into a connection that died unnoticed (a NAT that
// forgot it, a network change the app did not report), since it could not
// be sent again.
func (t *Transport) preflight(ctx context.Context, l *link) *link {
	if l.silentFor() < preflightAfter || l.conn.GetState() != connectivity.Ready {
		return l
	}
	start := l.clock()
	pctx, cancel := context.WithTimeout(ctx, l.probeWait)
	_, _ = l.health.Check(pctx, &healthpb.HealthCheckRequest{})
	cancel()
	if l.readSince(start) || ctx.Err() != nil {
		return l
	}
	t.replace(l, true)
	l.release()
	return t.hold()
}

// attempt makes one ForwardStream call of req on l, which it releases when
// the call ends. With movable set, the call is cancelled and moved reports
// true when the transport retires l before the gateway answered.
func (t *Transport) attempt(req *http.Request, head *gatewayv1.RequestHead, rb *requestBody, l *link, movable bool) (*http.Response, *attempt, bool, error) {
	h := &gatewayv1.RequestHead{Host: head.GetHost(), Method: head.GetMethod(), Path: head.GetPath(),
		Headers: head.GetHeaders(), AcceptInlineResponse: head.GetAcceptInlineResponse()}
	gen, inline := l.inline.allowed()
	if !inline || !rb.inMem {
		body, err := rb.stream()
		if err != nil {
			l.release()
			return nil, &attempt{}, false, err
		}
		return t.call(req, l, h, body, rb.declared, movable)
	}
	h.Body, h.End = rb.mem, true
	resp, a, moved, err := t.call(req, l, h, nil, rb.declared, movable)
	if e, ok := errors.AsType[*Error](err); ok && e.Code == codes.Unknown && e.Message == "EOF" {
		l.inline.forget(gen)
		if !l.hold() {
			// Retired meanwhile: the gateway relayed nothing, so the
			// request moves like any other.
			return nil, a, true, err
		}
		h.Body, h.End = nil, false
		body, _ := rb.stream() // from memory: no error
		return t.call(req, l, h, body, rb.declared, movable)
	}
	return resp, a, moved, err
}

// readInline reads a body of declared length into memory and closes it,
// with the errors upload reports for a body that does not match its length.
func readInline(body io.ReadCloser, declared int64) ([]byte, error) {
	defer body.Close()
	buf := make([]byte, declared+1)
	n, err := io.ReadFull(body, buf)
	switch {
	case n > int(declared):
		return nil, localError(codes.InvalidArgument, fmt.Sprintf("client: request body longer than its ContentLength %d", declared))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if int64(n) < declared {
			return nil, localError(codes.InvalidArgument, fmt.Sprintf("client: request body shorter than its ContentLength %d", declared))
		}
		return buf[:n], nil
	default:
		return nil, &Error{Code: codes.Unknown, Message: "client: read request body: " + err.Error(), cause: err}
	}
}

// errMoved cancels a call whose link the transport retired, so that it is
// sent again on the new link.
var errMoved = errors.New("client: call moved to a new connection")

// call makes one ForwardStream call on l for head and body (nil when the
// head ends the request or there is no body) and releases l when the call
// has ended: at once when it fails, or when its response body is done.
//
// While the call waits for the response head, nothing arriving on l for
// probeAfter has the link checked (see link.probe); a dead link is replaced,
// and with movable set this call moves. A call whose deadline passes with
// nothing read on l since it was sent also has l replaced: the next call
// should not wait on the same silence.
func (t *Transport) call(req *http.Request, l *link, head *gatewayv1.RequestHead, body io.ReadCloser, declared int64, movable bool) (*http.Response, *attempt, bool, error) {
	closeBody := func() {
		if body != nil {
			body.Close()
		}
	}
	reqCtx := req.Context()
	a := &attempt{sentAt: l.clock()}
	ctx, cancel := context.WithCancelCause(context.WithValue(reqCtx, attemptKey{}, a))
	stopMove := func() {}
	if movable {
		stopMove = l.onRetire(func() {
			if !a.answered.Load() {
				cancel(errMoved)
			}
		})
	}
	probe := time.AfterFunc(l.probeAfter, func() {
		if !a.answered.Load() {
			l.probe(a.sentAt, func() { t.replace(l, true) })
		}
	})
	var endOnce sync.Once
	end := func() { endOnce.Do(l.release) }
	// fail ends a call that produced no response.
	fail := func(cause, err error) (*http.Response, *attempt, bool, error) {
		probe.Stop()
		stopMove()
		moved := errors.Is(context.Cause(ctx), errMoved) && reqCtx.Err() == nil
		cancel(cause)
		if a.answered.Load() {
			l.reached.Store(true)
		}
		if !moved && !a.answered.Load() && errors.Is(reqCtx.Err(), context.DeadlineExceeded) && !l.readSince(a.sentAt) {
			t.replace(l, true)
		}
		end()
		return nil, a, moved, err
	}

	stream, err := l.forwardStream(ctx, head.GetEnd())
	if err != nil {
		closeBody()
		return fail(nil, errorFromRPC(reqCtx, err))
	}
	// A failed Send means the call is over; Recv below reports why.
	if err := stream.Send(&gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_Head{Head: head}}); err == nil {
		switch {
		case head.GetEnd():
			_ = stream.CloseSend()
		case body == nil:
			if err := stream.Send(endMessage); err == nil {
				_ = stream.CloseSend()
			}
		default:
			go t.upload(stream, body, declared, cancel)
		}
	} else {
		closeBody()
	}

	msg, err := stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err := protocolError("the call ended without a response")
			return fail(err, err)
		}
		return fail(nil, streamError(ctx, reqCtx, err))
	}
	probe.Stop()
	stopMove()
	l.reached.Store(true)
	rh := msg.GetHead()
	if rh == nil {
		err := protocolError("the response did not start with a head")
		return fail(err, err)
	}
	if rh.GetAcceptsInlineRequests() {
		l.inline.learn()
	}
	resp, err := httpResponseHead(req, rh.GetStatusCode(), rh.GetHeaders())
	if err != nil {
		return fail(err, err)
	}
	resp.ContentLength = responseLength(req, resp)
	b := &streamBody{stream: stream, ctx: ctx, reqCtx: reqCtx, cancel: cancel, end: end, resp: resp, want: resp.ContentLength}
	if !httpmsg.BodyAllowed(req.Method, resp.StatusCode) {
		b.want = -1 // a HEAD, 1xx, 204 or 304 response announces a length it does not carry
	}
	resp.Body = b
	resp.Trailer = http.Header{}
	switch {
	case rh.GetEnd():
		// The whole response came in the head.
		b.rest, b.read, b.ended = rh.GetBody(), int64(len(rh.GetBody())), true
		if b.want >= 0 && b.read != b.want {
			err := protocolError("the response body does not match its Content-Length")
			return fail(err, err)
		}
		for _, h := range rh.GetTrailers() {
			resp.Trailer.Add(h.GetName(), h.GetValue())
		}
	case len(rh.GetBody()) > 0 || len(rh.GetTrailers()) > 0:
		err := protocolError("a body in the response head without its end")
		return fail(err, err)
	}
	return resp, a, false, nil
}

// inlineCallDesc describes a ForwardStream call whose one request message
// is the whole request (RequestHead.end) to gRPC's client: with
// ClientStreams false, gRPC sends that message with END_STREAM set, where a
// call that may stream needs a second, empty DATA frame to half-close.
// The wire call is the same one ForwardStream call, one frame shorter,
// which both ends read and parse once less per small request.
var inlineCallDesc = &grpc.StreamDesc{StreamName: "ForwardStream", ServerStreams: true}

// forwardStream starts a ForwardStream call on the link; inline says that
// the head carries the whole request.
func (l *link) forwardStream(ctx context.Context, inline bool) (forwardStream, error) {
	if !inline {
		return l.gateway.ForwardStream(ctx)
	}
	cs, err := l.conn.NewStream(ctx, inlineCallDesc, gatewayv1.GatewayService_ForwardStream_FullMethodName)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]{ClientStream: cs}, nil
}

var endMessage = &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_End{End: &gatewayv1.RequestEnd{}}}

// upload sends the request body in chunks and then the end marker, and
// always closes body. Send blocks while the gateway's window is full, so at
// most one chunk is held here. A failure of the body or of its declared
// length cancels the call with an [*Error] saying so.
func (t *Transport) upload(stream forwardStream, body io.ReadCloser, declared int64, cancel context.CancelCauseFunc) {
	// The body is closed before the outcome is signalled (the end marker or
	// the cancellation), so it is closed by the time RoundTrip reports it.
	closed := false
	closeBody := func() {
		if !closed {
			closed = true
			body.Close()
		}
	}
	defer closeBody()
	fail := func(err *Error) {
		closeBody()
		cancel(err)
	}
	buf := make([]byte, chunkSize)
	chunk := &gatewayv1.ForwardStreamRequest_BodyChunk{}
	msg := &gatewayv1.ForwardStreamRequest{Kind: chunk}
	var total int64
	for {
		n, err := body.Read(buf)
		if n > 0 {
			total += int64(n)
			switch {
			case declared >= 0 && total > declared:
				fail(localError(codes.InvalidArgument, fmt.Sprintf("client: request body longer than its ContentLength %d", declared)))
				return
			case t.maxRequestBodyBytes > 0 && total > t.maxRequestBodyBytes:
				fail(t.bodyTooLarge())
				return
			}
			chunk.BodyChunk = buf[:n]
			// Send has marshalled the message when it returns: buf is free.
			if stream.Send(msg) != nil {
				return // the call is over; the response side reports why
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(&Error{Code: codes.Unknown, Message: "client: read request body: " + err.Error(), cause: err})
			return
		}
	}
	if declared >= 0 && total != declared {
		fail(localError(codes.InvalidArgument, fmt.Sprintf("client: request body shorter than its ContentLength %d", declared)))
		return
	}
	closeBody()
	if stream.Send(endMessage) == nil {
		_ = stream.CloseSend()
	}
}

// streamBody is the body of a streamed response. Read and Close may be called
// from different goroutines; Read from one at a time, as for any
// [net/http.Response] body.
type streamBody struct {
	stream forwardStream
	ctx    context.Context // the call's
	reqCtx context.Context // the request's, to attribute cancellation
	cancel context.CancelCauseFunc
	end    func()         // the call is over: releases its link; idempotent
	resp   *http.Response // receives the trailers
	want   int64          // the announced length to check, or -1

	rest   []byte // unread part of the last chunk
	read   int64
	ended  bool  // the end marker has arrived; only the call's status is left
	err    error // sticky: io.EOF after a complete body
	closed atomic.Bool
}

// Read returns the body as the gateway relays it. A body that did not arrive
// completely, for whatever reason, ends in an error, never in io.EOF.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	for len(b.rest) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		b.err = b.next()
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// next receives one message. It returns nil after a body chunk, io.EOF after
// the end marker and the call's OK status, and an error otherwise.
func (b *streamBody) next() error {
	if b.ended {
		return b.finish()
	}
	msg, err := b.stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return b.fail(protocolError("the response ended without its end marker"))
		}
		return b.fail(streamError(b.ctx, b.reqCtx, err))
	}
	switch k := msg.GetKind().(type) {
	case *gatewayv1.ForwardStreamResponse_BodyChunk:
		b.read += int64(len(k.BodyChunk))
		if b.want >= 0 && b.read > b.want {
			return b.fail(protocolError("the response body is longer than its Content-Length"))
		}
		b.rest = k.BodyChunk
		return nil
	case *gatewayv1.ForwardStreamResponse_End:
		if b.want >= 0 && b.read != b.want {
			return b.fail(protocolError("the response body is shorter than its Content-Length"))
		}
		for _, h := range k.End.GetTrailers() {
			b.resp.Trailer.Add(h.GetName(), h.GetValue())
		}
		return b.finish()
	default:
		return b.fail(protocolError("unexpected message in the response body"))
	}
}

// finish waits for the call's status after the end marker: only OK
// confirms the exchange.
func (b *streamBody) finish() error {
	if _, err := b.stream.Recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			return b.fail(protocolError("a message followed the response's end marker"))
		}
		return b.fail(streamError(b.ctx, b.reqCtx, err))
	}
	b.cancel(nil)
	b.end()
	return io.EOF
}

func (b *streamBody) fail(err error) error {
	b.cancel(err)
	b.end()
	return err
}

// Close ends the call if the body was not read to the end, which cancels the
// upstream request at the gateway.
func (b *streamBody) Close() error {
	if !b.closed.Swap(true) {
		b.cancel(errBodyClosed)
		b.end()
	}
	return nil
}

var errBodyClosed = errors.New("client: response body closed")

// streamError converts the error of a ForwardStream call. When the transport
// itself cancelled the call (a bad request body, a broken protocol), the
// cancellation's cause is the error to report.
func streamError(ctx, reqCtx context.Context, err error) error {
	if ctx.Err() != nil && reqCtx.Err() == nil {
		if e, ok := errors.AsType[*Error](context.Cause(ctx)); ok {
			return e
		}
	}
	return errorFromRPC(reqCtx, err)
}

// protocolError is the error for a gateway that broke the ForwardStream
// message order. The body did not arrive completely.
func protocolError(msg string) *Error {
	return localError(codes.Internal, "client: gateway protocol error: "+msg)
}

func localError(code codes.Code, msg string) *Error {
	return &Error{Code: code, Message: msg}
}

// responseLength is the body length a response head announces in a single
// valid Content-Length header, or -1.
func responseLength(req *http.Request, resp *http.Response) int64 {
	vs := resp.Header.Values("Content-Length")
	if len(vs) != 1 {
		return -1
	}
	n, ok := httpmsg.ParseLength(vs[0])
	if !ok {
		return -1
	}
	if !httpmsg.BodyAllowed(req.Method, resp.StatusCode) && req.Method != http.MethodHead {
		return 0
	}
	return n
}
