package server

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// Stable ErrorInfo reasons of the intake's refusals.
const (
	// ErrorReasonTooManyPending: the principal already has
	// limits.max_in_flight_per_identity calls that have not delivered their
	// first message.
	ErrorReasonTooManyPending = "TOO_MANY_PENDING"
	// ErrorReasonBusy: the gateway holds limits.max_pending_streams calls
	// that have not delivered their first message, over all callers.
	ErrorReasonBusy = "GATEWAY_BUSY"
)

// Why the intake refused a call: the label values of
// msg_calls_refused_total.
const (
	refusedCompressed         = "compressed"
	refusedFirstMessageLate   = "first_message_timeout"
	refusedPendingStreams     = "pending_streams"
	refusedPendingPerIdentity = "pending_streams_per_identity"
)

var refusedReasons = []string{refusedCompressed, refusedFirstMessageLate, refusedPendingStreams, refusedPendingPerIdentity}

// busyRetryDelay is the retry hint when a pending budget is full: calls that
// hold it end within limits.first_message_timeout at the latest.
const busyRetryDelay = time.Second

// intake bounds what callers can make the data plane hold before their
// request is authorized, and what a response the app does not read can
// hold after it:
//
//   - a call must deliver its first message (the whole Forward request, the
//     ForwardStream head) within first_message_timeout of its headers, or it
//     ends with DeadlineExceeded;
//   - at most max_pending_streams calls, and max_in_flight_per_identity of
//     one principal, may be waiting for their first message; further calls
//     are refused before gRPC starts their goroutine;
//   - the first messages still arriving hold at most max_pending_bytes over
//     all callers: past it, the connection holding the most is closed;
//   - compressed requests are refused before a byte is inflated;
//   - once a call's handler has handed over all of its response, the
//     connection must take it within response_write_timeout, or it is
//     closed, which frees the buffers gRPC still holds for it.
//
// It is gRPC's tap handle (a call is admitted before its goroutine starts),
// a stats handler (it learns of the first message and of the handler's end)
// and a guard around every method handler; each data-plane connection is an
// [h2Conn] that tells it what happens on the wire.
type intake struct {
	log                  *slog.Logger
	metrics              *metrics
	firstMessageTimeout  time.Duration
	responseWriteTimeout time.Duration
	maxPendingStreams    int64
	maxPendingBytes      int64
	maxPendingPerID      int

	pendingStreams atomic.Int64
	pendingBytes   atomic.Int64
	shedding       sync.Mutex // one connection closed at a time over max_pending_bytes

	mu        sync.Mutex
	conns     map[string]*h2Conn // by remote address
	pendingID map[string]int     // calls waiting for their first message, by principal
}

func newIntake(l *configv1.Limits, m *metrics, log *slog.Logger) *intake {
	in := &intake{
		log:                  log,
		metrics:              m,
		firstMessageTimeout:  l.GetFirstMessageTimeout().AsDuration(),
		responseWriteTimeout: l.GetResponseWriteTimeout().AsDuration(),
		maxPendingStreams:    int64(l.GetMaxPendingStreams()),
		maxPendingBytes:      l.GetMaxPendingBytes(),
		maxPendingPerID:      int(l.GetMaxInFlightPerIdentity()),
		conns:                map[string]*h2Conn{},
		pendingID:            map[string]int{},
	}
	m.pendingStreams = in.pendingStreams.Load
	m.pendingBytes = in.pendingBytes.Load
	return in
}

// track wraps an established connection; principal keys its per-identity
// budgets.
func (in *intake) track(conn net.Conn, principal string) *h2Conn {
	c := newH2Conn(in, conn, principal)
	in.mu.Lock()
	in.conns[conn.RemoteAddr().String()] = c
	in.mu.Unlock()
	return c
}

func (in *intake) forget(c *h2Conn) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if key := c.RemoteAddr().String(); in.conns[key] == c {
		delete(in.conns, key)
	}
}

func (in *intake) closedFor(reason string) {
	in.metrics.connectionsClosed.WithLabelValues(reason).Inc()
}

func (in *intake) refused(reason string) {
	in.metrics.callsRefused.WithLabelValues(reason).Inc()
}

type (
	h2ConnKey struct{}
	callKey   struct{}
)

// callFromContext returns the intake's record of the call whose context (or
// a context derived from it) ctx is.
func callFromContext(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// tapHandle admits a new call before gRPC starts its goroutine, or refuses
// it at once with ResourceExhausted when a pending budget is full. It runs
// on the connection's reader goroutine. The context it returns is the
// call's transport context: gRPC's reads of the request end with it.
func (in *intake) tapHandle(ctx context.Context, _ *tap.Info) (context.Context, error) {
	c := &call{in: in}
	if w, ok := ctx.Value(h2ConnKey{}).(*h2Conn); ok {
		c.principal = w.principal
		if id, ok := w.headerBlockStream(); ok {
			c.conn, c.stream = w, id
		}
	}
	if err := in.admitPending(c.principal); err != nil {
		return nil, err
	}
	inner, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	c.mu.Lock()
	c.pending = true
	c.timer = time.AfterFunc(in.firstMessageTimeout, c.firstMessageLate)
	c.mu.Unlock()
	if c.conn != nil && !c.conn.watch(c.stream, c) {
		c.wireDone()
	}
	return &callContext{Context: inner, call: c}, nil
}

// callContext is a call's transport context. When the intake ends a call
// whose first message is late, its Err is DeadlineExceeded, which gRPC
// turns into the call's status. Done and Value are those of the
// cancellable context it wraps, so contexts derived from it attach to that
// one (no goroutine each).
type callContext struct {
	context.Context
	call *call
}

func (c *callContext) Err() error {
	err := c.Context.Err()
	if err != nil && c.call.late.Load() {
		return context.DeadlineExceeded
	}
	return err
}

func (c *callContext) Value(key any) any {
	if key == (callKey{}) {
		return c.call
	}
	return c.Context.Value(key)
}

func (in *intake) admitPending(principal string) error {
	if in.pendingStreams.Add(1) > in.maxPendingStreams {
		in.pendingStreams.Add(-1)
		in.refused(refusedPendingStreams)
		return limitError("the gateway is busy", ErrorReasonBusy, busyRetryDelay)
	}
	if principal == "" {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.pendingID[principal] >= in.maxPendingPerID {
		in.pendingStreams.Add(-1)
		in.refused(refusedPendingPerIdentity)
		return limitError("too many calls waiting for their request", ErrorReasonTooManyPending, busyRetryDelay)
	}
	in.pendingID[principal]++
	return nil
}

func (in *intake) releasePending(principal string, bytes int64) {
	in.pendingStreams.Add(-1)
	in.pendingBytes.Add(-bytes)
	if principal == "" {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.pendingID[principal] <= 1 {
		delete(in.pendingID, principal)
		return
	}
	in.pendingID[principal]--
}

// TagConn implements [stats.Handler]: the connection's calls find its
// [h2Conn] in their context.
func (in *intake) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	if info.RemoteAddr == nil {
		return ctx
	}
	in.mu.Lock()
	c := in.conns[info.RemoteAddr.String()]
	in.mu.Unlock()
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, h2ConnKey{}, c)
}

// HandleConn implements [stats.Handler].
func (in *intake) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC implements [stats.Handler].
func (in *intake) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

// HandleRPC implements [stats.Handler]: it learns whether the request is
// compressed, when its first message arrived and when its handler returned
// (gRPC has then queued the whole response, not necessarily written it).
func (in *intake) HandleRPC(ctx context.Context, s stats.RPCStats) {
	c := callFromContext(ctx)
	if c == nil {
		return
	}
	switch s := s.(type) {
	case *stats.InHeader:
		if s.Compression != "" && s.Compression != encoding.Identity {
			c.mu.Lock()
			c.compressed = true
			c.mu.Unlock()
		}
	case *stats.InPayload:
		c.firstMessage()
	case *stats.End:
		c.handlerDone()
	}
}

// guardDesc returns sd with every unary handler guarded: the guard runs
// before gRPC reads the request message, which the generated handler does
// before any unary interceptor. Streams are guarded by streamGuard, the
// first stream interceptor.
func (in *intake) guardDesc(sd *grpc.ServiceDesc) *grpc.ServiceDesc {
	d := *sd
	d.Methods = slices.Clone(sd.Methods)
	for i := range d.Methods {
		h := d.Methods[i].Handler
		d.Methods[i].Handler = func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			if err := callFromContext(ctx).admitMessages(); err != nil {
				return nil, err
			}
			return h(srv, ctx, dec, ic)
		}
	}
	return &d
}

// streamGuard does for streams what guardDesc does for unary calls.
func (in *intake) streamGuard(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := callFromContext(ss.Context()).admitMessages(); err != nil {
		return err
	}
	return handler(srv, ss)
}

// shed closes the connection whose calls hold the most bytes of first
// messages still arriving, when those of all connections are over
// max_pending_bytes. The first message is held before its caller is
// authorized: whoever sends many large ones slowly is likely the one to
// stop.
func (in *intake) shed() {
	if !in.shedding.TryLock() {
		return // another goroutine is closing one
	}
	defer in.shedding.Unlock()
	if in.pendingBytes.Load() <= in.maxPendingBytes {
		return
	}
	var worst *h2Conn
	var most int64
	in.mu.Lock()
	for _, c := range in.conns {
		if n := c.pendingBytes.Load(); n > most {
			worst, most = c, n
		}
	}
	in.mu.Unlock()
	if worst == nil {
		return
	}
	in.log.Info("closing a connection: pending request bytes over limits.max_pending_bytes", "remote", worst.RemoteAddr().String(),
		"principal", worst.principal, "pending_bytes", most, "limit", in.maxPendingBytes)
	worst.closeFor(closePendingBytes)
}

// call is the intake's record of one data-plane call, from its HTTP/2
// headers until its stream has ended on the wire.
type call struct {
	in        *intake
	conn      *h2Conn // nil when the stream could not be watched
	stream    uint32
	principal string
	cancel    context.CancelFunc // of the call's transport context
	late      atomic.Bool        // the first message did not arrive in time

	mu           sync.Mutex
	pending      bool  // waiting for its first message, holding pending budget
	pendingBytes int64 // request bytes received while pending
	compressed   bool
	done         bool // the stream ended on the wire, or the connection closed
	timer        *time.Timer
	onDone       []func()
}

// releasePendingLocked gives the call's pending budget back. Called with
// mu held.
func (c *call) releasePendingLocked() {
	if !c.pending {
		return
	}
	c.pending = false
	if c.conn != nil {
		c.conn.pendingBytes.Add(-c.pendingBytes)
	}
	c.in.releasePending(c.principal, c.pendingBytes)
	c.pendingBytes = 0
}

// received counts n request bytes of the call's stream (h2Conn calls it
// from the connection's reader goroutine).
func (c *call) received(n int) {
	c.mu.Lock()
	if !c.pending {
		c.mu.Unlock()
		return
	}
	c.pendingBytes += int64(n)
	c.conn.pendingBytes.Add(int64(n))
	over := c.in.pendingBytes.Add(int64(n)) > c.in.maxPendingBytes
	c.mu.Unlock()
	if over {
		c.in.shed()
	}
}

// firstMessage runs when gRPC has decoded the call's first message.
func (c *call) firstMessage() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending {
		c.releasePendingLocked()
		c.timer.Stop()
	}
}

func (c *call) firstMessageLate() {
	c.mu.Lock()
	if !c.pending {
		c.mu.Unlock()
		return
	}
	c.late.Store(true)
	c.releasePendingLocked()
	c.mu.Unlock()
	c.in.refused(refusedFirstMessageLate)
	c.in.log.Info("ended a call: no request message in time", "principal", c.principal,
		"timeout", c.in.firstMessageTimeout.String())
	c.cancel()
}

// handlerDone runs when gRPC has finished the call's handler: the response
// is queued, and must now reach the app within responseWriteTimeout.
func (c *call) handlerDone() {
	c.mu.Lock()
	c.releasePendingLocked()
	if c.done {
		c.mu.Unlock()
		return
	}
	if c.conn == nil {
		// Nothing tells when the stream ends: it ends now.
		c.mu.Unlock()
		c.wireDone()
		return
	}
	c.timer.Stop()
	c.timer = time.AfterFunc(c.in.responseWriteTimeout, c.writeLate)
	c.mu.Unlock()
}

func (c *call) writeLate() {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done {
		return
	}
	c.in.log.Info("closing a connection: the app did not take a response in time", "remote", c.conn.RemoteAddr().String(),
		"principal", c.principal, "timeout", c.in.responseWriteTimeout.String())
	c.conn.closeFor(closeResponseWriteTimeout)
}

// wireDone runs once when the call's stream has ended on the wire (or its
// connection closed): whatever waited for that runs now.
func (c *call) wireDone() {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	c.releasePendingLocked()
	if c.timer != nil {
		c.timer.Stop()
	}
	fns := c.onDone
	c.onDone = nil
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// whenDone runs f once the call's stream has ended on the wire: a slot the
// call holds stays taken while the app has not taken its response.
func (c *call) whenDone(f func()) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		f()
		return
	}
	c.onDone = append(c.onDone, f)
	c.mu.Unlock()
}

// admitMessages refuses a compressed request before gRPC reads (and would
// inflate) its first message. The official clients never compress requests.
func (c *call) admitMessages() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	compressed := c.compressed
	c.mu.Unlock()
	if compressed {
		c.in.refused(refusedCompressed)
		return status.Error(codes.Unimplemented, "compressed requests are not accepted: send messages uncompressed")
	}
	return nil
}
