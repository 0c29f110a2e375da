package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

func respHead(code int32, headers ...*gatewayv1.Header) *gatewayv1.ForwardStreamResponse {
	return &gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: &gatewayv1.ResponseHead{StatusCode: code, Headers: headers}}}
}

func respChunk(s string) *gatewayv1.ForwardStreamResponse {
	return &gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_BodyChunk{BodyChunk: []byte(s)}}
}

func respEnd(trailers ...*gatewayv1.Header) *gatewayv1.ForwardStreamResponse {
	return &gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_End{End: &gatewayv1.ResponseEnd{Trailers: trailers}}}
}

// drainRequest reads the app's messages up to the end marker.
func drainRequest(s gatewayStream) error {
	for {
		msg, err := s.Recv()
		if err != nil {
			return err
		}
		if msg.GetEnd() != nil {
			return nil
		}
	}
}

// replay answers every call with msgs and then status err.
func replay(err error, msgs ...*gatewayv1.ForwardStreamResponse) streamFunc {
	return func(s gatewayStream) error {
		if e := drainRequest(s); e != nil {
			return e
		}
		for _, m := range msgs {
			if e := s.Send(m); e != nil {
				return e
			}
		}
		return err
	}
}

func TestStreamResponseIntegrity(t *testing.T) {
	t.Parallel()
	cl := func(v string) *gatewayv1.Header { return hdr("Content-Length", v) }
	tests := []struct {
		name     string
		method   string
		stream   streamFunc
		wantBody string
		wantLen  int64
		wantCode codes.Code // of the error reading the body; OK: none
		trailer  string     // X-Sum trailer expected after the body
	}{
		{name: "complete with trailers", method: "GET",
			stream:   replay(nil, respHead(200, cl("5")), respChunk("he"), respChunk("llo"), respEnd(hdr("X-Sum", "abc"))),
			wantBody: "hello", wantLen: 5, trailer: "abc"},
		{name: "complete, length not announced", method: "GET",
			stream:   replay(nil, respHead(200), respChunk("hello"), respEnd()),
			wantBody: "hello", wantLen: -1},
		{name: "shorter than announced", method: "GET",
			stream:   replay(nil, respHead(200, cl("10")), respChunk("hello"), respEnd()),
			wantBody: "hello", wantLen: 10, wantCode: codes.Internal},
		{name: "longer than announced", method: "GET",
			stream:  replay(nil, respHead(200, cl("3")), respChunk("hello"), respEnd()),
			wantLen: 3, wantCode: codes.Internal},
		{name: "no end marker", method: "GET",
			stream:   replay(nil, respHead(200), respChunk("hello")),
			wantBody: "hello", wantLen: -1, wantCode: codes.Internal},
		{name: "error status mid-body", method: "GET",
			stream:   replay(status.Error(codes.Unavailable, "upstream unavailable"), respHead(200, cl("10")), respChunk("hello")),
			wantBody: "hello", wantLen: 10, wantCode: codes.Unavailable},
		{name: "error status after the end marker", method: "GET",
			stream:   replay(status.Error(codes.Internal, "late"), respHead(200), respChunk("hello"), respEnd()),
			wantBody: "hello", wantLen: -1, wantCode: codes.Internal},
		{name: "message after the end marker", method: "GET",
			stream:   replay(nil, respHead(200), respChunk("hello"), respEnd(), respChunk("more")),
			wantBody: "hello", wantLen: -1, wantCode: codes.Internal},
		{name: "second head", method: "GET",
			stream:  replay(nil, respHead(200), respHead(500), respEnd()),
			wantLen: -1, wantCode: codes.Internal},
		{name: "HEAD announces a length it does not carry", method: "HEAD",
			stream:  replay(nil, respHead(200, cl("100")), respEnd()),
			wantLen: 100},
		{name: "304 without a body", method: "GET",
			stream:  replay(nil, respHead(304, cl("100")), respEnd()),
			wantLen: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, gatewaySetup{stream: tt.stream})
			req, err := http.NewRequestWithContext(t.Context(), tt.method, "https://demo.internal/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := newTransport(t, gw).RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			defer resp.Body.Close()
			if resp.ContentLength != tt.wantLen {
				t.Errorf("ContentLength = %d, want %d", resp.ContentLength, tt.wantLen)
			}
			body, err := io.ReadAll(resp.Body)
			if got := client.CodeOf(err); got != tt.wantCode {
				t.Fatalf("reading the body: %v (code %v), want code %v", err, got, tt.wantCode)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if got := resp.Trailer.Get("X-Sum"); got != tt.trailer {
				t.Errorf("trailer X-Sum = %q, want %q", got, tt.trailer)
			}
			// The outcome sticks.
			_, again := resp.Body.Read(make([]byte, 1))
			if (tt.wantCode == codes.OK && again != io.EOF) || (tt.wantCode != codes.OK && client.CodeOf(again) != tt.wantCode) {
				t.Errorf("second read: %v, want the same outcome", again)
			}
		})
	}
}

func TestStreamResponseHeadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		stream   streamFunc
		wantCode codes.Code
	}{
		{name: "chunk instead of head", stream: replay(nil, respChunk("x"), respEnd()), wantCode: codes.Internal},
		{name: "no head at all", stream: replay(nil), wantCode: codes.Internal},
		{name: "refused", stream: replay(status.Error(codes.PermissionDenied, "request denied by policy")), wantCode: codes.PermissionDenied},
		{name: "invalid status code", stream: replay(nil, respHead(42), respEnd()), wantCode: codes.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, gatewaySetup{stream: tt.stream})
			req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := newTransport(t, gw).RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("RoundTrip succeeded, want an error")
			}
			if got := client.CodeOf(err); got != tt.wantCode {
				t.Errorf("CodeOf(%v) = %v, want %v", err, got, tt.wantCode)
			}
		})
	}
}

// TestStreamResponseIsIncremental: a chunk reaches the app while the gateway
// is still working on the rest.
func TestStreamResponseIsIncremental(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	gw := startGateway(t, gatewaySetup{stream: func(s gatewayStream) error {
		if err := drainRequest(s); err != nil {
			return err
		}
		s.Send(respHead(200))
		s.Send(respChunk("first"))
		select {
		case <-release:
		case <-s.Context().Done():
			return s.Context().Err()
		}
		s.Send(respChunk("second"))
		return s.Send(respEnd())
	}})
	ctx, cancel := context.WithTimeout(t.Context(), waitLong)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://demo.internal/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newTransport(t, gw).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || string(buf[:n]) != "first" {
		t.Fatalf("first read = %q, %v; want %q", buf[:n], err, "first")
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Errorf("rest = %q, %v; want %q", rest, err, "second")
	}
}

func TestStreamBodyCloseCancelsCall(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	gw := startGateway(t, gatewaySetup{stream: func(s gatewayStream) error {
		if err := drainRequest(s); err != nil {
			return err
		}
		s.Send(respHead(200))
		s.Send(respChunk("partial"))
		<-s.Context().Done()
		ended <- s.Context().Err()
		return nil
	}})
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newTransport(t, gw).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the gateway's call ended with %v, want context.Canceled", err)
		}
	case <-time.After(waitLong):
		t.Fatal("closing the body did not cancel the call")
	}
	if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Errorf("Read after Close: %v, want http.ErrBodyReadAfterClose", err)
	}
}

// gatedReader yields first, then blocks until release is closed, then yields
// rest: a body the app is still producing while the gateway receives it.
type gatedReader struct {
	first, rest io.Reader
	release     <-chan struct{}
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if n, err := r.first.Read(p); n > 0 || !errors.Is(err, io.EOF) {
		return n, err
	}
	<-r.release
	return r.rest.Read(p)
}

func TestStreamUploadIsIncremental(t *testing.T) {
	t.Parallel()
	const firstPart = 100 << 10
	received := make(chan int, 64)
	gw := startGateway(t, gatewaySetup{stream: func(s gatewayStream) error {
		var got bytes.Buffer
		chunks := 0
		for {
			msg, err := s.Recv()
			if err != nil {
				return err
			}
			if msg.GetHead() != nil {
				if len(msg.GetHead().GetHeaders()) != 0 {
					return status.Error(codes.InvalidArgument, "unexpected headers")
				}
				continue
			}
			if c := msg.GetBodyChunk(); len(c) > 0 {
				if len(c) > 32<<10 {
					return status.Errorf(codes.InvalidArgument, "chunk of %d bytes", len(c))
				}
				chunks++
				got.Write(c)
				received <- got.Len()
				continue
			}
			if msg.GetEnd() != nil {
				break
			}
		}
		s.Send(respHead(200))
		s.Send(respChunk(strconv.Itoa(chunks) + ":" + strconv.Itoa(got.Len())))
		return s.Send(respEnd())
	}})
	release := make(chan struct{})
	body := io.NopCloser(&gatedReader{
		first:   bytes.NewReader(make([]byte, firstPart)),
		rest:    bytes.NewReader(make([]byte, 50)),
		release: release,
	})
	req, err := http.NewRequestWithContext(t.Context(), "PUT", "https://demo.internal/up", body)
	if err != nil {
		t.Fatal(err)
	}
	// An app-set Content-Length header is not the body's framing: dropped.
	req.Header.Set("Content-Length", "999")
	done := make(chan struct{})
	var resp *http.Response
	go func() {
		defer close(done)
		resp, err = newTransport(t, gw).RoundTrip(req)
	}()
	deadline := time.After(waitLong)
	for n := 0; n < firstPart; {
		select {
		case n = <-received:
		case <-deadline:
			t.Fatal("the first part of the body never reached the gateway while the app was still producing the rest")
		}
	}
	close(release)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	// 100 KiB in chunks of at most 32 KiB, then the rest.
	if err != nil || string(got) != "5:"+strconv.Itoa(firstPart+50) {
		t.Errorf("gateway saw %q (%v), want 5 chunks and %d bytes", got, err, firstPart+50)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestStreamUploadReadError(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	boom := errors.New("disk on fire")
	body := &trackingBody{Reader: io.MultiReader(strings.NewReader("some"), failingReader{boom})}
	req, err := http.NewRequestWithContext(t.Context(), "POST", "https://demo.internal/up", body)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newTransport(t, gw).RoundTrip(req)
	if !errors.Is(err, boom) {
		t.Errorf("RoundTrip error %v, want one wrapping the body's error", err)
	}
	if !body.closed.Load() {
		t.Error("request body not closed")
	}
	if n := len(gw.Calls()); n != 0 {
		t.Errorf("the gateway saw %d complete calls, want 0", n)
	}
}
