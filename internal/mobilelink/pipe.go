package mobilelink

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// segmentBytes is the unit the link delays and paces: small enough that a
// small message is not held behind a large read, large enough to keep the
// relay's wake-ups few (at 5 Mbit/s a segment takes 6.5 ms).
const segmentBytes = 4 << 10

// bottleneck is one direction of the radio link, shared by every
// connection: a segment departs when the ones before it, from any
// connection, have been sent at the configured rate.
type bottleneck struct {
	mu       sync.Mutex
	nextFree time.Time
}

// depart returns when n bytes that arrive at now have been sent at bps bits
// per second (0: at once), after everything queued before them.
func (b *bottleneck) depart(now time.Time, n int, bps int64) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := now
	if b.nextFree.After(now) {
		start = b.nextFree
	}
	if bps > 0 {
		start = start.Add(time.Duration(int64(n) * 8 * int64(time.Second) / bps))
	}
	b.nextFree = start
	return start
}

// segment is a piece of one direction's byte stream and when it reaches the
// far end. A segment with end set carries no data: the sender closed (err
// nil) or failed.
type segment struct {
	data []byte
	at   time.Time
	end  bool
	err  error
}

// pipe moves one direction of a connection: a reader that takes bytes from
// src as long as the link has room and stamps each segment with its
// arrival time, and a writer that hands them to dst at that time.
type pipe struct {
	c          *conn
	src, dst   net.Conn
	neck       *bottleneck
	delivered  *atomic.Int64 // the connection's counter
	total      *atomic.Int64 // the link's counter
	queue      chan segment
	notBefore  time.Time // nothing departs before this (the emulated TCP handshake)
	lastArrive time.Time // reader only: keeps the byte order under jitter
}

func newPipe(c *conn, src, dst net.Conn, neck *bottleneck, delivered, total *atomic.Int64, queueBytes int, notBefore time.Time) *pipe {
	return &pipe{c: c, src: src, dst: dst, neck: neck, delivered: delivered, total: total,
		queue: make(chan segment, max(queueBytes/segmentBytes, 1)), notBefore: notBefore}
}

func (p *pipe) run() {
	go p.read()
	p.write()
}

// read takes bytes from src until it ends. Bytes of a silenced connection
// are read and dropped, so its sender is never held back: they are lost in
// a network the phone has left.
func (p *pipe) read() {
	buf := make([]byte, 32<<10)
	for {
		n, err := p.src.Read(buf)
		if n > 0 {
			cfg := p.c.link.Config()
			now := time.Now()
			if p.c.active(now, time.Duration(cfg.NATIdleTimeout)) {
				for off := 0; off < n; off += segmentBytes {
					data := append([]byte(nil), buf[off:min(off+segmentBytes, n)]...)
					if !p.push(segment{data: data, at: p.arrival(now, len(data), cfg)}) {
						return
					}
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			p.push(segment{end: true, err: err, at: p.arrival(time.Now(), 0, p.c.link.Config())})
			return
		}
	}
}

// push queues s, waiting while the link is full; it reports false once the
// connection is closed.
func (p *pipe) push(s segment) bool {
	select {
	case p.queue <- s:
		return true
	case <-p.c.done:
		return false
	}
}

// arrival is when n bytes that entered the link at now reach the far end:
// after the bottleneck sent them and half the round trip, give or take the
// jitter, and never before the bytes ahead of them.
func (p *pipe) arrival(now time.Time, n int, cfg Config) time.Time {
	bps := cfg.DownlinkBPS
	if p.neck == p.c.link.up {
		bps = cfg.UplinkBPS
	}
	if now.Before(p.notBefore) {
		now = p.notBefore // sent once the emulated TCP handshake is done
	}
	at := p.neck.depart(now, n, bps).Add(time.Duration(cfg.RTT) / 2)
	if j := time.Duration(cfg.Jitter); j > 0 {
		at = at.Add(rand.N(j) - j/2)
	}
	if at.Before(p.lastArrive) {
		at = p.lastArrive
	}
	p.lastArrive = at
	return at
}

// write delivers the queued segments on time, several at once when they
// are due together. On a silenced connection it delivers nothing and
// closes nothing.
func (p *pipe) write() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []byte
	var pending *segment // taken from the queue while batching, not yet due
	for {
		var s segment
		if pending != nil {
			s, pending = *pending, nil
		} else {
			select {
			case s = <-p.queue:
			case <-p.c.done:
				return
			}
		}
		if d := time.Until(s.at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-p.c.done:
				return
			}
		}
		if s.end {
			if !p.c.silenced.Load() {
				p.finish(s.err)
			}
			return
		}
		batch = append(batch[:0], s.data...)
		for more := true; more; {
			select {
			case next := <-p.queue:
				if next.end || next.at.After(time.Now()) {
					pending, more = &next, false
				} else {
					batch = append(batch, next.data...)
				}
			default:
				more = false
			}
		}
		if p.deliver(batch) != nil {
			return
		}
	}
}

func (p *pipe) deliver(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if p.c.silenced.Load() {
		return nil
	}
	// Counted before the write, so that the counters include every byte
	// the far end has read.
	p.delivered.Add(int64(len(b)))
	p.total.Add(int64(len(b)))
	n, err := p.dst.Write(b)
	if err != nil {
		p.delivered.Add(int64(n - len(b)))
		p.total.Add(int64(n - len(b)))
		p.c.close()
	}
	return err
}

// finish passes the sender's close on: a clean close as a half-close, so
// the other direction can still finish, a failure as closing both sides.
func (p *pipe) finish(err error) {
	if err != nil {
		p.c.close()
		return
	}
	if tc, ok := p.dst.(interface{ CloseWrite() error }); ok {
		if tc.CloseWrite() == nil {
			return
		}
	}
	p.c.close()
}
