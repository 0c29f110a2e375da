package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// A link is one gRPC client connection to the gateway and what the transport
// knows about the network connection under it. The transport sends new calls
// on its current link; when that link stops answering, or the app reports a
// network change, it swaps in a new link and retires the old one, which is
// closed as soon as its last call has ended (see [Transport.NetworkChanged]).
type link struct {
	conn    *grpc.ClientConn
	gateway gatewayv1.GatewayServiceClient
	health  healthpb.HealthClient
	inline  *inlineState

	// lastRead is when a byte last arrived on the link's connection (see
	// clock; 0: never): a call that has waited with nothing read since it
	// was sent may be stuck on a connection that died.
	lastRead atomic.Int64
	born     time.Time
	// lastTLS is the state of the latest handshake, for tests.
	lastTLS atomic.Pointer[tls.ConnectionState]
	// reached is set once the gateway answered a call on the link: it
	// accepts this app, so a later failure to reach it is worth waiting out.
	reached atomic.Bool

	// isRetired is set when the transport stops sending new calls here;
	// movers, the calls that can safely be sent again, move to the new
	// link then.
	isRetired  atomic.Bool
	mu         sync.Mutex
	movers     map[uint64]func() // guarded by mu; nil once retired
	nextMover  uint64            // guarded by mu
	active     atomic.Int64      // calls that hold the link
	closeOnce  sync.Once
	probing    atomic.Bool
	probeAfter time.Duration
	probeWait  time.Duration
}

// newLink wraps the credentials so that the link learns about its
// connections, and creates the client connection (which connects on first
// use, or at once when connect is set).
func newLink(addr string, creds credentials.TransportCredentials, opts []grpc.DialOption, probeAfter, probeWait time.Duration, connect bool) (*link, error) {
	l := &link{inline: new(inlineState), probeAfter: probeAfter, probeWait: probeWait, born: time.Now(),
		movers: map[uint64]func(){}}
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(&linkCreds{TransportCredentials: creds, l: l}),
		grpc.WithStatsHandler(attemptStats{}),
	}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, err
	}
	l.conn = conn
	l.gateway = gatewayv1.NewGatewayServiceClient(conn)
	l.health = healthpb.NewHealthClient(conn)
	if connect {
		conn.Connect()
	}
	return l, nil
}

// hold counts a call on the link. It fails on a retired link, whose calls
// must go to the transport's current one.
func (l *link) hold() bool {
	l.active.Add(1)
	if l.isRetired.Load() {
		l.release()
		return false
	}
	return true
}

// release ends a call that hold counted; the last call on a retired link
// closes it.
func (l *link) release() {
	if l.active.Add(-1) == 0 && l.isRetired.Load() {
		l.close()
	}
}

// retireNow stops new calls on the link, moves the calls that may move and
// closes the link once no call holds it. The order of isRetired and active
// here and in hold makes sure one of the two sides sees the other.
func (l *link) retireNow() {
	l.mu.Lock()
	l.isRetired.Store(true)
	movers := l.movers
	l.movers = nil
	l.mu.Unlock()
	for _, move := range movers {
		move()
	}
	if l.active.Load() == 0 {
		l.close()
	}
}

// drain stops new calls on the link and closes it once no call holds it.
// Unlike retireNow it moves nothing: the link is healthy, only no longer
// the one new calls should use.
func (l *link) drain() {
	l.isRetired.Store(true)
	if l.active.Load() == 0 {
		l.close()
	}
}

// onRetire has move called when the link retires, at once if it has; stop
// undoes that.
func (l *link) onRetire(move func()) (stop func()) {
	l.mu.Lock()
	if l.movers == nil {
		l.mu.Unlock()
		move()
		return func() {}
	}
	id := l.nextMover
	l.nextMover++
	l.movers[id] = move
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.movers, id)
		l.mu.Unlock()
	}
}

func (l *link) close() {
	l.closeOnce.Do(func() { _ = l.conn.Close() })
}

// clock is the link's monotonic time, in nanoseconds since it was created
// (plus one, so that it is never 0), immune to wall-clock jumps such as a
// phone's network time sync.
func (l *link) clock() int64 {
	return int64(time.Since(l.born)) + 1
}

// readSince reports whether a byte has arrived on the link since t (a clock
// reading).
func (l *link) readSince(t int64) bool {
	return l.lastRead.Load() >= t
}

// silentFor is how long nothing has arrived on the link, or 0 before the
// first connection.
func (l *link) silentFor() time.Duration {
	last := l.lastRead.Load()
	if last == 0 {
		return 0
	}
	return time.Duration(l.clock() - last)
}

// waitReady waits until the link has a connection ready for calls, or ctx
// ends, so that a retried call is sent rather than failed at once while
// the gateway is restarting.
func (l *link) waitReady(ctx context.Context) error {
	l.conn.Connect()
	for {
		s := l.conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Shutdown:
			return errors.New("client: transport closed")
		case connectivity.Idle:
			l.conn.Connect()
		}
		if !l.conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

// probe asks the gateway for its health on this link when nothing has been
// read on it since sentAt, and calls dead if no byte arrives within the
// probe's wait: the connection is presumed gone (the phone changed
// networks, a NAT forgot it). Any answer, even an error status, proves the
// connection alive. One probe runs at a time.
func (l *link) probe(sentAt int64, dead func()) {
	if l.readSince(sentAt) || l.isRetired.Load() || !l.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer l.probing.Store(false)
		start := l.clock()
		ctx, cancel := context.WithTimeout(context.Background(), l.probeWait)
		_, err := l.health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if status.Code(err) == codes.DeadlineExceeded && !l.readSince(start) {
			dead()
		}
	}()
}

// linkCreds wraps the transport credentials so that every connection of
// the link reports its reads and its start and end.
type linkCreds struct {
	credentials.TransportCredentials
	l *link
}

func (c *linkCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return conn, info, err
	}
	if ti, ok := info.(credentials.TLSInfo); ok {
		st := ti.State
		c.l.lastTLS.Store(&st)
	}
	c.l.lastRead.Store(c.l.clock())
	c.l.inline.started()
	return &linkConn{Conn: conn, l: c.l}, info, nil
}

func (c *linkCreds) Clone() credentials.TransportCredentials {
	return &linkCreds{TransportCredentials: c.TransportCredentials.Clone(), l: c.l}
}

// linkConn records when it last read something and counts its Close as the
// connection's end.
type linkConn struct {
	net.Conn
	l    *link
	once sync.Once
}

func (c *linkConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.l.lastRead.Store(c.l.clock())
	}
	return n, err
}

func (c *linkConn) Close() error {
	c.once.Do(c.l.inline.ended)
	return c.Conn.Close()
}

// An attempt is one ForwardStream call of a request; a request that is
// retried has two. The stats handler marks what happened to it.
type attempt struct {
	sentAt   int64       // when the call was started, on its link's clock
	sent     atomic.Bool // the request's headers were handed to a connection
	answered atomic.Bool // the gateway answered: response headers or a status
}

type attemptKey struct{}

// attemptStats is a gRPC stats handler that marks the attempt in a call's
// context. "Sent" is conservative: headers queued on a connection that then
// died count as sent.
type attemptStats struct{}

func (attemptStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (attemptStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (attemptStats) HandleConn(context.Context, stats.ConnStats)                       {}

func (attemptStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	a, ok := ctx.Value(attemptKey{}).(*attempt)
	if !ok {
		return
	}
	switch s.(type) {
	case *stats.OutHeader:
		a.sent.Store(true)
	case *stats.InHeader, *stats.InTrailer:
		a.answered.Store(true)
	}
}
