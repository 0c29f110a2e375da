package mobilelink

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A Link relays every connection accepted on its listener to the target,
// shaped as [Config] says. Create it with [Listen]; it is safe for
// concurrent use.
type Link struct {
	lis  net.Listener
	cfg  atomic.Pointer[Config]
	up   *bottleneck // client to target
	down *bottleneck // target to client

	mu       sync.Mutex
	conns    map[*conn]struct{} // open or silenced
	recent   []*conn            // the latest connections, for Stats
	nextID   int64
	accepted int64
	closed   bool

	bytesUp, bytesDown atomic.Int64 // delivered
	wg                 sync.WaitGroup
}

// maxRecentConns bounds the connections [Link.Stats] lists.
const maxRecentConns = 256

// Listen opens a link on addr (e.g. "127.0.0.1:0") that relays to
// cfg.Target.
func Listen(addr string, cfg Config) (*Link, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Link{lis: lis, up: &bottleneck{}, down: &bottleneck{}, conns: map[*conn]struct{}{}}
	l.cfg.Store(&cfg)
	l.wg.Go(l.serve)
	return l, nil
}

// Addr is the address clients connect to instead of the target.
func (l *Link) Addr() string { return l.lis.Addr().String() }

// Config returns the link's current shape.
func (l *Link) Config() Config { return *l.cfg.Load() }

// SetConfig changes the link's shape. Delays and rates apply to the bytes
// that enter the link from now on, the target and the queue size to new
// connections.
func (l *Link) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.cfg.Store(&cfg)
	return nil
}

// NetworkChange models a phone that moved to another network: every
// connection open now goes silent for good (nothing more is delivered
// either way, and neither end is told), while connections made afterwards
// work. It returns how many connections it silenced.
func (l *Link) NetworkChange() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c := range l.conns {
		if c.silence() {
			n++
		}
	}
	return n
}

// Reset resets every open connection, silenced ones included, as a crashed
// gateway or a middlebox that lost its state would: both ends get a TCP
// reset. It returns how many connections it reset.
func (l *Link) Reset() int {
	l.mu.Lock()
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.reset()
	}
	return len(conns)
}

// Stats are counters of a link.
type Stats struct {
	// Accepted counts the connections accepted so far; Open those not yet
	// closed, silenced ones included; Silenced those a network change or
	// the NAT timeout blackholed.
	Accepted int64 `json:"accepted"`
	Open     int   `json:"open"`
	Silenced int   `json:"silenced"`
	// UpBytes and DownBytes count the bytes delivered to the target and to
	// the clients.
	UpBytes   int64 `json:"up_bytes"`
	DownBytes int64 `json:"down_bytes"`
	// Conns are the latest connections, oldest first.
	Conns []ConnStats `json:"conns"`
}

// ConnStats describe one relayed connection.
type ConnStats struct {
	ID        int64     `json:"id"`
	Opened    time.Time `json:"opened"`
	UpBytes   int64     `json:"up_bytes"`
	DownBytes int64     `json:"down_bytes"`
	Silenced  bool      `json:"silenced"`
	Closed    bool      `json:"closed"`
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Accepted: l.accepted, Open: len(l.conns), UpBytes: l.bytesUp.Load(), DownBytes: l.bytesDown.Load()}
	for c := range l.conns {
		if c.silenced.Load() {
			s.Silenced++
		}
	}
	for _, c := range l.recent {
		s.Conns = append(s.Conns, c.stats())
	}
	return s
}

// Close stops accepting and closes every connection, silenced ones too.
func (l *Link) Close() error {
	err := l.lis.Close()
	l.mu.Lock()
	l.closed = true
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	l.wg.Wait()
	return err
}

func (l *Link) serve() {
	for {
		client, err := l.lis.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		cfg := l.Config()
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			client.Close()
			return
		}
		l.nextID++
		l.accepted++
		c := &conn{id: l.nextID, link: l, client: client, opened: time.Now(), done: make(chan struct{})}
		c.lastActive.Store(c.opened.UnixNano())
		l.conns[c] = struct{}{}
		l.recent = append(l.recent, c)
		if len(l.recent) > maxRecentConns {
			l.recent = l.recent[len(l.recent)-maxRecentConns:]
		}
		l.wg.Add(1)
		l.mu.Unlock()
		go func() {
			defer l.wg.Done()
			c.run(cfg)
		}()
	}
}

func (l *Link) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// conn is one relayed connection: the client's side, the target's side and
// a pipe each way.
type conn struct {
	id     int64
	link   *Link
	client net.Conn
	opened time.Time

	targetMu   sync.Mutex
	target     net.Conn // set by run before the pipes start; guarded by targetMu
	silenced   atomic.Bool
	lastActive atomic.Int64 // unix nanos of the last byte in either direction
	up, down   atomic.Int64 // bytes delivered
	closed     atomic.Bool
	done       chan struct{}
	closeOnce  sync.Once
}

func (c *conn) stats() ConnStats {
	return ConnStats{ID: c.id, Opened: c.opened, UpBytes: c.up.Load(), DownBytes: c.down.Load(),
		Silenced: c.silenced.Load(), Closed: c.closed.Load()}
}

// silence blackholes the connection and reports whether it was not already.
func (c *conn) silence() bool {
	return !c.closed.Load() && c.silenced.CompareAndSwap(false, true)
}

// active records a byte entering the link at now, unless the connection
// was idle past the NAT timeout: then the mapping is gone and the
// connection goes silent instead. It reports whether the byte may pass.
func (c *conn) active(now time.Time, natIdle time.Duration) bool {
	if c.silenced.Load() {
		return false
	}
	if natIdle > 0 && now.Sub(time.Unix(0, c.lastActive.Load())) > natIdle {
		c.silence()
		return false
	}
	c.lastActive.Store(now.UnixNano())
	return true
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.done)
		c.client.Close()
		if t := c.targetConn(); t != nil {
			t.Close()
		}
		c.link.forget(c)
	})
}

func (c *conn) targetConn() net.Conn {
	c.targetMu.Lock()
	defer c.targetMu.Unlock()
	return c.target
}

// reset closes both sides with a TCP reset.
func (c *conn) reset() {
	for _, nc := range []net.Conn{c.client, c.targetConn()} {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	c.close()
}

// run dials the target and relays until both directions have ended, or
// until the link closes a silenced connection.
func (c *conn) run(cfg Config) {
	target, err := net.DialTimeout("tcp", cfg.Target, 10*time.Second)
	if err != nil {
		// Nothing listens there (a gateway restarting): the client's
		// connection fails after the round trip its SYN would have taken.
		c.wait(time.Duration(cfg.RTT))
		c.reset()
		return
	}
	c.targetMu.Lock()
	c.target = target
	c.targetMu.Unlock()
	if c.closed.Load() {
		target.Close()
		return
	}
	// The first byte goes up one round trip after the accept: the relay
	// accepted at once where a real TCP handshake costs that round trip.
	start := c.opened.Add(time.Duration(cfg.RTT))
	up := newPipe(c, c.client, target, c.link.up, &c.up, &c.link.bytesUp, cfg.queueBytes(), start)
	down := newPipe(c, target, c.client, c.link.down, &c.down, &c.link.bytesDown, cfg.queueBytes(), time.Time{})
	var wg sync.WaitGroup
	wg.Go(up.run)
	wg.Go(down.run)
	wg.Wait()
	if c.silenced.Load() {
		// The phone's end must see nothing, not even a close: hold the
		// client's side open until the link closes.
		<-c.done
	}
	c.close()
}

// wait sleeps for d or until the connection is closed.
func (c *conn) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.done:
	}
}

func (c *conn) String() string { return fmt.Sprintf("conn %d", c.id) }
