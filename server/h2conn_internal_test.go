package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/config"
	"golang.org/x/net/http2"
)

// wireConn is the in-memory side of an h2Conn under test: reads come from
// in, at most chunk bytes per call (0: as many as asked), writes go to out.
type wireConn struct {
	net.Conn
	in     io.Reader
	chunk  int
	out    bytes.Buffer
	closed bool
}

func (w *wireConn) Read(p []byte) (int, error) {
	if w.chunk > 0 && len(p) > w.chunk {
		p = p[:w.chunk]
	}
	return w.in.Read(p)
}
func (w *wireConn) Write(p []byte) (int, error)      { return w.out.Write(p) }
func (w *wireConn) Close() error                     { w.closed = true; return nil }
func (w *wireConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 9} }
func (w *wireConn) SetWriteDeadline(time.Time) error { return nil }

func testIntake(t testing.TB) *intake {
	cfg := &configv1.Config{}
	config.ApplyDefaults(cfg)
	return newIntake(cfg.GetLimits(), newMetrics(cfg, "test"), slog.New(slog.DiscardHandler))
}

// clientFrames returns the client preface followed by frames written with
// an x/net/http2 framer.
func clientFrames(t testing.TB, write func(fr *http2.Framer)) []byte {
	var b bytes.Buffer
	b.WriteString(http2.ClientPreface)
	write(http2.NewFramer(&b, nil))
	return b.Bytes()
}

// TestH2ConnReadsOneFrameAtATime: whatever buffer the reader offers, a Read
// never crosses the end of a frame header or payload, the bytes are passed
// through unchanged, and the stream of the header block just read is known
// until the next frame starts.
func TestH2ConnReadsOneFrameAtATime(t *testing.T) {
	t.Parallel()
	input := clientFrames(t, func(fr *http2.Framer) {
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte("abc"), EndHeaders: true})
		_ = fr.WriteData(1, false, []byte("hello"))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: []byte("a"), EndHeaders: false})
		_ = fr.WriteContinuation(3, true, []byte("bc"))
		_ = fr.WriteDataPadded(3, true, []byte("x"), make([]byte, 7))
		_ = fr.WriteRSTStream(3, http2.ErrCodeCancel)
	})
	for _, bufSize := range []int{1, 2, 9, 10, 64, 1 << 16} {
		for _, chunk := range []int{0, 1, 3} {
			wc := &wireConn{in: bytes.NewReader(input), chunk: chunk}
			c := newH2Conn(testIntake(t), wc, "alice")
			var got bytes.Buffer
			var blocks []uint32
			bounds := boundaries(input)
			buf := make([]byte, bufSize)
			for {
				n, err := c.Read(buf)
				if crosses(bounds, got.Len(), got.Len()+n) {
					t.Fatalf("buffer %d, chunk %d: the read of [%d, %d) crossed the end of a frame", bufSize, chunk, got.Len(), got.Len()+n)
				}
				got.Write(buf[:n])
				if id, ok := c.headerBlockStream(); ok && (len(blocks) == 0 || blocks[len(blocks)-1] != id) {
					blocks = append(blocks, id)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got.Bytes(), input) {
				t.Fatalf("buffer %d, chunk %d: the bytes changed on the way", bufSize, chunk)
			}
			if len(blocks) != 2 || blocks[0] != 1 || blocks[1] != 3 {
				t.Errorf("buffer %d, chunk %d: header blocks seen for streams %v, want [1 3]", bufSize, chunk, blocks)
			}
		}
	}
}

// boundaries returns the offsets in input (preface first) where the
// preface, a frame header or a frame payload ends.
func boundaries(input []byte) map[int]bool {
	b := map[int]bool{len(http2.ClientPreface): true}
	for pos := len(http2.ClientPreface); pos+frameHeaderLen <= len(input); {
		n := int(input[pos])<<16 | int(input[pos+1])<<8 | int(input[pos+2])
		b[pos+frameHeaderLen] = true
		pos += frameHeaderLen + n
		b[pos] = true
	}
	return b
}

// crosses reports whether the read of input[from:to] crossed a boundary.
func crosses(bounds map[int]bool, from, to int) bool {
	for x := from + 1; x < to; x++ {
		if bounds[x] {
			return true
		}
	}
	return false
}

// TestH2ConnFloods: more SETTINGS or RST_STREAM frames than their burst end
// the connection's reader, with a GOAWAY ENHANCE_YOUR_CALM, and are counted.
func TestH2ConnFloods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		burst int
		write func(fr *http2.Framer, i int)
	}{
		{"settings", settingsBurst, func(fr *http2.Framer, _ int) { _ = fr.WriteSettings() }},
		{"settings acks are free", -1, func(fr *http2.Framer, _ int) { _ = fr.WriteSettingsAck() }},
		{"rst_stream", resetBurst, func(fr *http2.Framer, i int) { _ = fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := clientFrames(t, func(fr *http2.Framer) {
				for i := range 2 * max(tt.burst, 100) {
					tt.write(fr, i)
				}
			})
			wc := &wireConn{in: bytes.NewReader(input)}
			c := newH2Conn(testIntake(t), wc, "mallory")
			read := 0
			buf := make([]byte, 1<<16)
			var err error
			for err == nil {
				var n int
				n, err = c.Read(buf)
				read += n
			}
			size := len(clientFrames(t, func(fr *http2.Framer) { tt.write(fr, 0) })) - len(http2.ClientPreface)
			frames := (read - len(http2.ClientPreface) + size - 1) / size
			if tt.burst < 0 {
				if err != io.EOF {
					t.Fatalf("%v, want the connection to stay up", err)
				}
				return
			}
			if !errors.Is(err, errHTTP2Flood) || !wc.closed {
				t.Fatalf("after %d frames: %v (closed %v), want a flood error and a closed connection", frames, err, wc.closed)
			}
			// The budget refills over time: a few more than the burst pass.
			if frames < tt.burst+1 || frames > tt.burst+10 {
				t.Errorf("closed at frame %d, want just past the burst of %d", frames, tt.burst)
			}
			f, ferr := http2.NewFramer(nil, bytes.NewReader(wc.out.Bytes())).ReadFrame()
			if ga, ok := f.(*http2.GoAwayFrame); ferr != nil || !ok || ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
				t.Errorf("the gateway wrote %v (%v), want GOAWAY ENHANCE_YOUR_CALM", f, ferr)
			}
		})
	}
}

// TestH2ConnSeesStreamsEnd: a stream has ended when the gateway writes a
// frame with END_STREAM or a RST_STREAM for it, or the client resets it,
// however the writes split the frames; other streams are still open.
func TestH2ConnSeesStreamsEnd(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	_ = fr.WriteSettings()
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte("resp"), EndHeaders: true})
	_ = fr.WriteData(1, false, bytes.Repeat([]byte("d"), 1000))
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 7, BlockFragment: []byte("r"), EndHeaders: true})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte("trailers"), EndHeaders: true, EndStream: true})
	_ = fr.WriteRSTStream(3, http2.ErrCodeCancel)
	_ = fr.WriteData(5, true, []byte("last"))
	written := out.Bytes()
	in := clientFrames(t, func(fr *http2.Framer) { _ = fr.WriteRSTStream(9, http2.ErrCodeCancel) })

	for _, split := range []int{1, 2, 5, 9, 10, 17, len(written)} {
		wc := &wireConn{in: bytes.NewReader(in)}
		c := newH2Conn(testIntake(t), wc, "alice")
		calls := map[uint32]*call{}
		for _, id := range []uint32{1, 3, 5, 7, 9} {
			calls[id] = &call{in: c.in, conn: c, stream: id}
			c.watch(id, calls[id])
		}
		for b := written; len(b) > 0; {
			n := min(split, len(b))
			if _, err := c.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wc.out.Bytes(), written) {
			t.Fatalf("split %d: the bytes changed on the way", split)
		}
		for id, cl := range calls {
			if want := id != 7; cl.done != want {
				t.Errorf("split %d: stream %d ended %v, want %v", split, id, cl.done, want)
			}
		}
		_ = c.Close()
		if !calls[7].done {
			t.Errorf("split %d: closing the connection did not end its open stream", split)
		}
	}
}

// FuzzH2ConnRead: whatever a client sends, and however it is cut into
// reads, the frame watcher passes the bytes through unchanged, never reads
// across a frame boundary, and never panics.
func FuzzH2ConnRead(f *testing.F) {
	f.Add(clientFrames(f, func(fr *http2.Framer) {
		_ = fr.WriteSettings()
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte("abc"), EndHeaders: true})
		_ = fr.WriteDataPadded(1, true, []byte("x"), []byte{0, 0})
		_ = fr.WriteRSTStream(1, http2.ErrCodeCancel)
	}), uint8(3), uint16(7))
	f.Add([]byte(http2.ClientPreface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00"), uint8(0), uint16(1))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint8(1), uint16(100))
	in := testIntake(f)
	f.Fuzz(func(t *testing.T, input []byte, chunk uint8, bufSize uint16) {
		wc := &wireConn{in: bytes.NewReader(input), chunk: int(chunk)}
		c := newH2Conn(in, wc, "fuzz")
		c.watch(1, &call{in: c.in, conn: c, stream: 1, pending: true})
		buf := make([]byte, max(int(bufSize), 1))
		bounds := boundaries(input)
		var got bytes.Buffer
		for range len(input) + 2 {
			n, err := c.Read(buf)
			if crosses(bounds, got.Len(), got.Len()+n) {
				t.Fatalf("the read of [%d, %d) crossed the end of a frame", got.Len(), got.Len()+n)
			}
			got.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if !bytes.HasPrefix(input, got.Bytes()) {
			t.Fatal("the bytes changed on the way")
		}
	})
}

// TestCallContextAttachesChildren: contexts derived from a call's
// transport context attach to the cancellable context it wraps, so the
// handler's many derived contexts cost no goroutine each.
func TestCallContextAttachesChildren(t *testing.T) {
	inner, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &callContext{Context: inner, call: &call{}}
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	for range 1000 {
		_, c := context.WithCancel(ctx)
		cancels = append(cancels, c)
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Errorf("deriving 1000 contexts started %d goroutines", n)
	}
	for _, c := range cancels {
		c()
	}
	if callFromContext(ctx) == nil {
		t.Error("the call is not in its context")
	}
	ctx.call.late.Store(true)
	cancel()
	if ctx.Err() != context.DeadlineExceeded {
		t.Errorf("Err of a late call's context = %v, want DeadlineExceeded", ctx.Err())
	}
}
