package server

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2 frames a client may send that cost the gateway work of its own
// (SETTINGS are acknowledged, RST_STREAM ends a call whose handler already
// started) are allowed in bursts and at a steady rate; a connection that
// sends more is closed with GOAWAY ENHANCE_YOUR_CALM, as gRPC closes one that
// pings too often. Legitimate clients send one SETTINGS frame per connection
// (a few more when gRPC's BDP estimation grows its window) and reset only
// the calls they cancel, at most at the rate the per-principal limits allow.
const (
	settingsBurst     = 64
	settingsPerSecond = 2
	resetBurst        = 1000
	resetsPerSecond   = 200
)

// Reasons an h2Conn closes its connection: the label values of
// msg_connections_closed_total.
const (
	closeSettingsFlood        = "settings_flood"
	closeResetFlood           = "reset_flood"
	closeResponseWriteTimeout = "response_write_timeout"
	closePendingBytes         = "pending_bytes"
)

var closeReasons = []string{closeSettingsFlood, closeResetFlood, closeResponseWriteTimeout, closePendingBytes}

// errHTTP2Flood ends the connection's reader: gRPC closes the transport.
var errHTTP2Flood = errors.New("msg-gateway: too many HTTP/2 control frames")

const (
	frameHeaderLen = 9
	clientPreface  = len(http2.ClientPreface)
)

// h2Conn is an established data-plane connection whose HTTP/2 frames the
// gateway watches in both directions, without changing a byte: it closes the
// connection on a SETTINGS or RST_STREAM flood, tells the call that owns a
// stream when the stream has ended on the wire (its last frame was handed
// to the connection, or either side reset it), counts the request bytes of
// calls that have not delivered their first message, and names the stream
// whose header block gRPC is processing.
//
// The last needs gRPC to read one frame at a time: Read never returns bytes
// past the end of the current frame, so that gRPC's reader, which runs the
// tap handle while processing a HEADERS frame, cannot have read ahead.
type h2Conn struct {
	net.Conn
	in        *intake
	log       *slog.Logger
	principal string // the client certificate's principal id, for per-identity budgets

	// Read side: only the goroutine that reads touches these.
	rd struct {
		preface int // client preface bytes still to pass
		hdr     [frameHeaderLen]byte
		hdrN    int
		typ     http2.FrameType
		flags   http2.Flags
		stream  uint32
		left    int // payload bytes of the current frame still to read
		// headerBlock is the stream whose header block ended with the
		// frame read last, or 0.
		headerBlock uint32
		settings    tokenBucket
		resets      tokenBucket
	}

	// Write side: guarded by wmu, which every write holds.
	wmu sync.Mutex
	wr  struct {
		hdr  [frameHeaderLen]byte
		hdrN int
		left int
	}
	ended []uint32 // scratch, guarded by wmu

	// pendingBytes is what its calls hold of first messages still arriving.
	pendingBytes atomic.Int64
	closing      atomic.Bool // closeFor ran: counted once

	mu     sync.Mutex
	calls  map[uint32]*call // watched streams
	closed bool
	once   sync.Once
	err    error
}

func newH2Conn(in *intake, conn net.Conn, principal string) *h2Conn {
	c := &h2Conn{Conn: conn, in: in, log: in.log, principal: principal, calls: map[uint32]*call{}}
	c.rd.preface = clientPreface
	now := time.Now()
	c.rd.settings = tokenBucket{tokens: settingsBurst, burst: settingsBurst, perSecond: settingsPerSecond, last: now}
	c.rd.resets = tokenBucket{tokens: resetBurst, burst: resetBurst, perSecond: resetsPerSecond, last: now}
	return c
}

// Read reads at most up to the end of the current frame header or payload.
func (c *h2Conn) Read(p []byte) (int, error) {
	r := &c.rd
	if r.preface > 0 {
		n, err := c.Conn.Read(p[:min(len(p), r.preface)])
		r.preface -= n
		return n, err
	}
	if r.hdrN < frameHeaderLen {
		r.headerBlock = 0
		n, err := c.Conn.Read(p[:min(len(p), frameHeaderLen-r.hdrN)])
		copy(r.hdr[r.hdrN:], p[:n])
		r.hdrN += n
		if r.hdrN == frameHeaderLen {
			if ferr := c.frameHeader(); ferr != nil {
				return n, ferr
			}
		}
		return n, err
	}
	n, err := c.Conn.Read(p[:min(len(p), r.left)])
	r.left -= n
	if r.typ == http2.FrameData && n > 0 {
		c.dataIn(r.stream, n)
	}
	if r.left == 0 {
		c.frameEnd()
	}
	return n, err
}

// frameHeader acts on a frame header the client sent.
func (c *h2Conn) frameHeader() error {
	r := &c.rd
	r.left = int(r.hdr[0])<<16 | int(r.hdr[1])<<8 | int(r.hdr[2])
	r.typ = http2.FrameType(r.hdr[3])
	r.flags = http2.Flags(r.hdr[4])
	r.stream = binary.BigEndian.Uint32(r.hdr[5:]) & (1<<31 - 1)
	switch r.typ {
	case http2.FrameSettings:
		if r.flags&http2.FlagSettingsAck == 0 && !r.settings.take(time.Now()) {
			return c.flood(closeSettingsFlood, "too many SETTINGS frames")
		}
	case http2.FrameRSTStream:
		if !r.resets.take(time.Now()) {
			return c.flood(closeResetFlood, "too many RST_STREAM frames")
		}
		c.streamEnded(r.stream)
	}
	if r.left == 0 {
		c.frameEnd()
	}
	return nil
}

func (c *h2Conn) frameEnd() {
	r := &c.rd
	if (r.typ == http2.FrameHeaders || r.typ == http2.FrameContinuation) && r.flags&http2.FlagHeadersEndHeaders != 0 {
		r.headerBlock = r.stream
	}
	r.hdrN = 0
}

// headerBlockStream returns the stream whose HEADERS gRPC is processing. It
// must be called from the goroutine that reads (gRPC's tap handle runs
// there).
func (c *h2Conn) headerBlockStream() (uint32, bool) {
	return c.rd.headerBlock, c.rd.headerBlock != 0
}

// flood closes the connection after a GOAWAY ENHANCE_YOUR_CALM when the
// write side is between frames, and returns the error that ends gRPC's
// reader.
func (c *h2Conn) flood(reason, debug string) error {
	c.log.Warn("closing a connection: HTTP/2 flood", "remote", c.RemoteAddr().String(),
		"principal", c.principal, "reason", reason)
	if c.wmu.TryLock() {
		if c.wr.hdrN == 0 && c.wr.left == 0 {
			fr := http2.NewFramer(c.Conn, nil)
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = fr.WriteGoAway(c.rd.stream, http2.ErrCodeEnhanceYourCalm, []byte(debug))
		}
		c.wmu.Unlock()
	}
	c.closeFor(reason)
	return errHTTP2Flood
}

// Write watches the frames the gateway sends: a stream whose last frame
// (END_STREAM) or RST_STREAM is in p has ended. Its call learns it before
// the bytes are written, so that a slot the call held is free before the app
// can see the response and send the next request.
func (c *h2Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ended = c.ended[:0]
	w := &c.wr
	for b := p; len(b) > 0; {
		if w.left > 0 {
			n := min(len(b), w.left)
			w.left -= n
			b = b[n:]
			continue
		}
		n := copy(w.hdr[w.hdrN:], b)
		w.hdrN += n
		b = b[n:]
		if w.hdrN < frameHeaderLen {
			break
		}
		w.hdrN = 0
		w.left = int(w.hdr[0])<<16 | int(w.hdr[1])<<8 | int(w.hdr[2])
		typ, flags := http2.FrameType(w.hdr[3]), http2.Flags(w.hdr[4])
		stream := binary.BigEndian.Uint32(w.hdr[5:]) & (1<<31 - 1)
		if typ == http2.FrameRSTStream || (typ == http2.FrameHeaders || typ == http2.FrameData) && flags&http2.FlagHeadersEndStream != 0 {
			c.ended = append(c.ended, stream)
		}
	}
	for _, id := range c.ended {
		c.streamEnded(id)
	}
	return c.Conn.Write(p)
}

// watch makes cl the owner of stream id until the stream ends. It reports
// false when the connection is already closed.
func (c *h2Conn) watch(id uint32, cl *call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.calls[id] = cl
	return true
}

func (c *h2Conn) streamEnded(id uint32) {
	c.mu.Lock()
	cl := c.calls[id]
	delete(c.calls, id)
	c.mu.Unlock()
	if cl != nil {
		cl.wireDone()
	}
}

// dataIn counts request bytes of a stream whose call may still be waiting
// for its first message.
func (c *h2Conn) dataIn(id uint32, n int) {
	c.mu.Lock()
	cl := c.calls[id]
	c.mu.Unlock()
	if cl != nil {
		cl.received(n)
	}
}

// closeFor closes the connection for reason (counted); gRPC's reader then
// fails and tears the transport down, which frees everything it still holds
// for the connection's calls.
func (c *h2Conn) closeFor(reason string) {
	if c.closing.CompareAndSwap(false, true) {
		c.in.closedFor(reason)
	}
	_ = c.Close()
}

// Close closes the connection and ends every watched stream.
func (c *h2Conn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		calls := c.calls
		c.calls = nil
		c.mu.Unlock()
		c.in.forget(c)
		for _, cl := range calls {
			cl.wireDone()
		}
		c.err = c.Conn.Close()
	})
	return c.err
}

// tokenBucket allows burst events at once and perSecond on average. It is
// used from one goroutine.
type tokenBucket struct {
	tokens, burst, perSecond float64
	last                     time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.perSecond)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
