package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msg-gateway/msg/client"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// waitFor bounds waits that only time out when the code under test hangs.
const waitFor = 30 * time.Second

// bigTransfer is the size of the large upload and download tests: 256 MiB,
// or 64 MiB under the race detector, which slows bulk copies several times.
// BenchmarkStreamTransfer moves 256 MiB in every mode.
func bigTransfer(t *testing.T) int64 {
	t.Helper()
	if testing.Short() {
		t.Skip("large transfer: skipped with -short")
	}
	if raceEnabled {
		return 64 << 20
	}
	return 256 << 20
}

// prng returns n deterministic pseudo-random bytes, generated as they are
// read, so that no test holds a whole body in memory.
func prng(seed byte, n int64) io.Reader {
	var s [32]byte
	s[0] = seed
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// streamClient returns an http.Client that goes through the gateway with the
// app library, as cn.
func (g *gateway) streamClient(t testing.TB, cn string) *http.Client {
	t.Helper()
	tr, err := client.New(g.addr, client.WithCertificate(g.identity(t, cn)), client.WithRootCAs(g.ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr}
}

func newRequest(t testing.TB, ctx context.Context, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// wantClientCode checks that err carries a gateway error with code.
func wantClientCode(t *testing.T, err error, code codes.Code) *client.Error {
	t.Helper()
	var cerr *client.Error
	if !errors.As(err, &cerr) || cerr.Code != code {
		t.Fatalf("err = %v, want a client.Error with code %v", err, code)
	}
	return cerr
}

// waitClosed waits for ch to be closed, or fails the test with what.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting: %s", what)
	}
}

func TestStreamLargeDownload(t *testing.T) {
	t.Parallel()
	size := bigTransfer(t)
	sent := make(chan string, 1)
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		if _, err := io.Copy(w, io.TeeReader(prng(1, size), h)); err != nil {
			sent <- "upstream write failed: " + err.Error()
			return
		}
		sent <- hex.EncodeToString(h.Sum(nil))
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	resp, err := g.streamClient(t, "alice").Do(newRequest(t, ctx, "GET", "https://demo.internal/big", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
		t.Errorf("status %d, ContentLength %d; want 200, %d", resp.StatusCode, resp.ContentLength, size)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("reading the body after %d bytes: %v", n, err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), <-sent; n != size || got != want {
		t.Errorf("received %d bytes with SHA-256 %s; upstream sent %d bytes with %s", n, got, size, want)
	}
}

func TestStreamLargeUpload(t *testing.T) {
	t.Parallel()
	size := bigTransfer(t)
	g := startGateway(t, hashingUpstream)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	h := sha256.New()
	// An io.Reader of unknown length: the body goes chunked.
	body := io.NopCloser(io.TeeReader(prng(2, size), h))
	resp, err := g.streamClient(t, "alice").Do(newRequest(t, ctx, "PUT", "https://demo.internal/upload", body))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, resp)
	want := fmt.Sprintf("%d %x -1 chunked", size, h.Sum(nil))
	if resp.StatusCode != http.StatusOK || got != want {
		t.Errorf("upstream answered %d %q, want 200 %q", resp.StatusCode, got, want)
	}
}

// hashingUpstream reads the request body and answers with its length, its
// SHA-256, the declared ContentLength and the transfer coding.
func hashingUpstream(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d %x %d %s", n, h.Sum(nil), r.ContentLength, strings.Join(r.TransferEncoding, ","))
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}

// TestStreamFraming covers the framings the large tests do not: a declared
// request length, a chunked response, trailers, bodies that a status or
// method rules out, and an empty body.
func TestStreamFraming(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/base/upload":
			hashingUpstream(w, r)
		case "/base/chunked":
			h := sha256.New()
			w.Header().Set("Trailer", "X-Checksum")
			bw := bufio.NewWriterSize(w, 1000) // flushes in odd sizes
			if _, err := io.Copy(bw, io.TeeReader(prng(4, 3<<20+17), h)); err == nil && bw.Flush() == nil {
				w.Header().Set("X-Checksum", hex.EncodeToString(h.Sum(nil)))
			}
		case "/base/head":
			w.Header().Set("Content-Length", "1234")
		case "/base/nocontent":
			w.WriteHeader(http.StatusNoContent)
		default:
			echoHandler(w, r)
		}
	})
	hc := g.streamClient(t, "alice")

	t.Run("declared request length", func(t *testing.T) {
		const size = 3<<20 + 5
		h := sha256.New()
		req := newRequest(t, t.Context(), "POST", "https://demo.internal/upload", io.NopCloser(io.TeeReader(prng(3, size), h)))
		req.ContentLength = size
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readAll(t, resp), fmt.Sprintf("%d %x %d ", size, h.Sum(nil), size); got != want {
			t.Errorf("upstream saw %q, want %q", got, want)
		}
	})
	t.Run("chunked response with trailers", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "GET", "https://demo.internal/chunked", nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != -1 {
			t.Errorf("ContentLength = %d, want -1", resp.ContentLength)
		}
		h := sha256.New()
		if _, err := io.Copy(h, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.Trailer.Get("X-Checksum"), hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("trailer X-Checksum = %q, want the body's SHA-256 %q", got, want)
		}
		if resp.Header.Get("Trailer") != "" {
			t.Error("the hop-by-hop Trailer header reached the app")
		}
	})
	t.Run("HEAD announces a length without a body", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "HEAD", "https://demo.internal/head", nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "" || resp.ContentLength != 1234 {
			t.Errorf("body %q, ContentLength %d; want none, 1234", got, resp.ContentLength)
		}
	})
	t.Run("204", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "GET", "https://demo.internal/nocontent", nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "" || resp.StatusCode != http.StatusNoContent {
			t.Errorf("%d %q, want 204 without a body", resp.StatusCode, got)
		}
	})
	t.Run("empty body of unknown length", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "POST", "https://demo.internal/upload", io.NopCloser(strings.NewReader(""))))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readAll(t, resp), fmt.Sprintf("0 %x 0 ", sha256.Sum256(nil)); got != want {
			t.Errorf("upstream saw %q, want %q", got, want)
		}
	})
	t.Run("canonical target and gateway-owned headers", func(t *testing.T) {
		req := newRequest(t, t.Context(), "GET", "https://demo.internal/a/%7e1?x=%2F", nil)
		req.Header.Set(config.DefaultIdentityHeader, "admin")
		req.Header.Set("X-Forwarded-For", "10.0.0.1")
		req.Header.Set("X-Request-Id", "chosen-by-app")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readAll(t, resp), "GET /base/a/~1?x=%2F "; got != want {
			t.Errorf("upstream saw %q, want %q", got, want)
		}
		if resp.Header.Get("X-Hop") != "" {
			t.Error("a hop-by-hop response header reached the app")
		}
		last := g.log.all()[len(g.log.all())-1]
		if last.Header.Get(config.DefaultIdentityHeader) != "alice" || last.Header.Get("X-Forwarded-For") != "127.0.0.1" ||
			last.Header.Get("X-Request-Id") == "chosen-by-app" {
			t.Errorf("upstream headers %v: the app's spoofed headers survived", last.Header)
		}
	})
}

// TestStreamIncrementalDelivery: a chunk the upstream flushes reaches the app
// while the upstream is still working, not when the response ends.
func TestStreamIncrementalDelivery(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: two\n\n")
	})
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	resp, err := g.streamClient(t, "alice").Do(newRequest(t, ctx, "GET", "https://demo.internal/events", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var event string
	for !strings.HasSuffix(event, "\n\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("first event: got %q, then %v (the upstream is still holding the response open)", event+line, err)
		}
		event += line
	}
	if event != "data: one\n\n" {
		t.Fatalf("first event = %q", event)
	}
	// Only now may the upstream finish.
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "data: two\n\n" {
		t.Errorf("rest = %q, %v; want the second event", rest, err)
	}
}

// endlessUpstream streams until its request is cancelled, and closes the
// returned channel when the cancellation has reached it.
func endlessUpstream() (http.HandlerFunc, <-chan struct{}) {
	cancelled := make(chan struct{})
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				break
			}
		}
		<-r.Context().Done()
		once.Do(func() { close(cancelled) })
	}, cancelled
}

func TestStreamCancellation(t *testing.T) {
	t.Parallel()
	t.Run("app cancels mid-download", func(t *testing.T) {
		t.Parallel()
		handler, cancelled := endlessUpstream()
		g := startGateway(t, handler)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		resp, err := g.streamClient(t, "alice").Do(newRequest(t, ctx, "GET", "https://demo.internal/endless", nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = io.Copy(io.Discard, resp.Body)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel: %v, want context.Canceled", err)
		}
		waitClosed(t, cancelled, "the upstream request was never cancelled")
	})
	t.Run("app closes the body mid-download", func(t *testing.T) {
		t.Parallel()
		handler, cancelled := endlessUpstream()
		g := startGateway(t, handler)
		resp, err := g.streamClient(t, "alice").Do(newRequest(t, t.Context(), "GET", "https://demo.internal/endless", nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, http.ErrBodyReadAfterClose) {
			t.Errorf("read after Close: %v, want http.ErrBodyReadAfterClose", err)
		}
		waitClosed(t, cancelled, "the upstream request was never cancelled")
	})
	t.Run("app cancels mid-upload", func(t *testing.T) {
		t.Parallel()
		var received atomic.Int64
		started := make(chan struct{})
		upstreamErr := make(chan error, 1)
		g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 32<<10)
			var once sync.Once
			for {
				n, err := r.Body.Read(buf)
				if received.Add(int64(n)) >= 1<<20 {
					once.Do(func() { close(started) })
				}
				if err != nil {
					upstreamErr <- err
					return
				}
			}
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// 1 MiB, then a body that never ends: the app is still uploading.
		body := io.NopCloser(io.MultiReader(prng(5, 1<<20), ctxReader{ctx}))
		errc := make(chan error, 1)
		go func() {
			_, err := g.streamClient(t, "alice").Do(newRequest(t, ctx, "POST", "https://demo.internal/upload", body))
			errc <- err
		}()
		waitClosed(t, started, "the upload never reached the upstream")
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("RoundTrip: %v, want context.Canceled", err)
		}
		select {
		case err := <-upstreamErr:
			if errors.Is(err, io.EOF) {
				t.Errorf("the upstream saw a complete body (%d bytes) from a cancelled upload", received.Load())
			}
		case <-time.After(waitFor):
			t.Fatal("the upstream request was never aborted")
		}
	})
	t.Run("upstream dies mid-body", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
			conn, bw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			switch r.URL.Path {
			case "/base/length":
				bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
				bw.Write(bytes.Repeat([]byte("x"), 500))
			case "/base/chunked":
				bw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n")
				bw.Write(bytes.Repeat([]byte("x"), 500))
				bw.WriteString("\r\n")
			}
			bw.Flush()
		})
		hc := g.streamClient(t, "alice")
		for _, path := range []string{"/length", "/chunked"} {
			t.Run(path, func(t *testing.T) {
				// A response whose Content-Length fits in one message comes
				// whole, in the head, or not at all: then RoundTrip fails.
				resp, err := hc.Do(newRequest(t, t.Context(), "GET", "https://demo.internal"+path, nil))
				if err == nil {
					defer resp.Body.Close()
					var b []byte
					if b, err = io.ReadAll(resp.Body); err == nil {
						t.Fatalf("read %d bytes of a truncated body and then io.EOF, want an error", len(b))
					}
				}
				wantClientCode(t, err, codes.Unavailable)
			})
		}
	})
}

// ctxReader blocks until ctx ends.
type ctxReader struct{ ctx context.Context }

func (r ctxReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

// limitsHost adds limits.internal, a host with small stream limits, on the
// same upstream as demo.internal. bob may use it.
func limitsHost(cfg *configv1.Config) {
	demo := cfg.GetHosts()[0]
	cfg.Hosts = append(cfg.Hosts, &adminv1.Host{
		Name:                       "limits.internal",
		Upstream:                   demo.GetUpstream(),
		AllowedCidrs:               demo.GetAllowedCidrs(),
		StreamIdleTimeout:          durationpb.New(time.Second),
		MaxStreamDuration:          durationpb.New(3 * time.Second),
		MaxStreamRequestBodyBytes:  1 << 20,
		MaxStreamResponseBodyBytes: 1 << 20,
	})
}

func TestStreamLimits(t *testing.T) {
	t.Parallel()
	var upstreamReads sync.Map // path -> error from reading the request body
	g := startGatewayWith(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/base/upload":
			_, err := io.Copy(io.Discard, r.Body)
			upstreamReads.Store(r.URL.Query().Get("id"), err)
		case "/base/big-declared":
			w.Header().Set("Content-Length", strconv.Itoa(2<<20))
			io.Copy(w, prng(6, 2<<20))
		case "/base/big-chunked":
			io.Copy(w, prng(6, 2<<20))
		case "/base/big-head":
			w.Header().Set("Content-Length", strconv.Itoa(2<<20))
		case "/base/silent":
			<-r.Context().Done()
		case "/base/stall":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "/base/trickle":
			for r.Context().Err() == nil {
				io.WriteString(w, ".")
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
		}
	}, server.Options{DrainTimeout: time.Second}, limitsHost)
	hc := g.streamClient(t, "bob")
	url := "https://limits.internal"

	t.Run("upload grows past the limit", func(t *testing.T) {
		_, err := hc.Do(newRequest(t, t.Context(), "POST", url+"/upload?id=grow", io.NopCloser(prng(7, 2<<20))))
		wantClientCode(t, err, codes.ResourceExhausted)
		// The upstream request, if it started, must have been aborted.
		deadline := time.Now().Add(waitFor)
		for time.Now().Before(deadline) {
			if v, ok := upstreamReads.Load("grow"); ok {
				if v == nil {
					t.Error("the upstream read a complete body that was over the limit")
				}
				return
			}
			if len(g.log.all()) == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Error("the upstream request was never aborted")
	})
	t.Run("declared upload over the limit", func(t *testing.T) {
		before := len(g.log.all())
		req := newRequest(t, t.Context(), "POST", url+"/upload?id=declared", io.NopCloser(prng(7, 2<<20)))
		req.ContentLength = 2 << 20
		_, err := hc.Do(req)
		wantClientCode(t, err, codes.ResourceExhausted)
		if n := len(g.log.all()) - before; n != 0 {
			t.Errorf("the upstream saw %d requests, want 0", n)
		}
	})
	t.Run("declared download over the limit", func(t *testing.T) {
		_, err := hc.Do(newRequest(t, t.Context(), "GET", url+"/big-declared", nil))
		wantClientCode(t, err, codes.ResourceExhausted)
	})
	t.Run("HEAD announcing more than the limit", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "HEAD", url+"/big-head", nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "" || resp.ContentLength != 2<<20 {
			t.Errorf("body %q, ContentLength %d; want none, %d", got, resp.ContentLength, 2<<20)
		}
	})
	t.Run("download grows past the limit", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "GET", url+"/big-chunked", nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		wantClientCode(t, err, codes.ResourceExhausted)
		if n > 1<<20 {
			t.Errorf("received %d bytes, more than the 1 MiB limit", n)
		}
	})
	t.Run("idle before the response head", func(t *testing.T) {
		_, err := hc.Do(newRequest(t, t.Context(), "GET", url+"/silent", nil))
		cerr := wantClientCode(t, err, codes.DeadlineExceeded)
		if cerr.Message != "stream idle timeout" {
			t.Errorf("message = %q", cerr.Message)
		}
	})
	t.Run("idle mid-body", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "GET", url+"/stall", nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		cerr := wantClientCode(t, err, codes.DeadlineExceeded)
		if string(b) != "partial" || cerr.Message != "stream idle timeout" {
			t.Errorf("got %q then %q, want %q then the idle timeout", b, cerr.Message, "partial")
		}
	})
	t.Run("stream duration", func(t *testing.T) {
		resp, err := hc.Do(newRequest(t, t.Context(), "GET", url+"/trickle", nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		cerr := wantClientCode(t, err, codes.DeadlineExceeded)
		if cerr.Message != "stream duration limit reached" {
			t.Errorf("message = %q", cerr.Message)
		}
	})
	t.Run("Forward limits stay separate", func(t *testing.T) {
		// demo.internal's unary limit is 4096 bytes; its stream limit is
		// the default.
		resp, err := hc.Do(newRequest(t, t.Context(), "POST", "https://demo.internal/upload", io.NopCloser(prng(8, 64<<10))))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	})
}

// rawStream opens a ForwardStream call as cn, for tests that break the
// message order on purpose.
func rawStream(t *testing.T, g *gateway, cn string) gatewayv1.GatewayService_ForwardStreamClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	s, err := g.as(t, cn).ForwardStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func headOf(method, path string, headers ...*gatewayv1.Header) *gatewayv1.ForwardStreamRequest {
	return &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_Head{Head: &gatewayv1.RequestHead{
		Host: "demo.internal", Method: method, Path: path, Headers: headers,
	}}}
}

func chunkOf(s string) *gatewayv1.ForwardStreamRequest {
	return &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_BodyChunk{BodyChunk: []byte(s)}}
}

var endOf = &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_End{End: &gatewayv1.RequestEnd{}}}

// finish reads the call to its end and returns its status.
func finish(s gatewayv1.GatewayService_ForwardStreamClient) *status.Status {
	for {
		if _, err := s.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return status.New(codes.OK, "")
			}
			return status.Convert(err)
		}
	}
}

func TestStreamProtocol(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reads := map[string]error{}
	g := startGateway(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		mu.Lock()
		reads[r.URL.Path] = err
		mu.Unlock()
		if r.URL.Path == "/base/wait" {
			<-r.Context().Done()
		}
	})
	upstreamRead := func(path string) (error, bool) {
		mu.Lock()
		defer mu.Unlock()
		err, ok := reads["/base"+path]
		return err, ok
	}
	cl := func(v string) *gatewayv1.Header { return &gatewayv1.Header{Name: "Content-Length", Value: v} }
	tests := []struct {
		name     string
		cn       string
		path     string
		msgs     []*gatewayv1.ForwardStreamRequest // after which the client half-closes
		wantCode codes.Code
		wantMsg  string
		// upstream: "none" (never contacted), "aborted" (its body read
		// failed) or "" (not checked).
		upstream string
	}{
		{name: "complete", cn: "alice", path: "/ok", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/ok"), chunkOf("a"), chunkOf(""), chunkOf("b"), endOf}},
		{name: "body before head", cn: "alice", path: "/x", msgs: []*gatewayv1.ForwardStreamRequest{chunkOf("a"), headOf("POST", "/x"), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "head:", upstream: "none"},
		{name: "second head", cn: "alice", path: "/x2", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/x2"), headOf("POST", "/private/x"), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "head:", upstream: "none"},
		{name: "denied head, body sent anyway", cn: "mallory", path: "/d", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/d"), chunkOf("secret"), endOf},
			wantCode: codes.PermissionDenied, upstream: "none"},
		{name: "denied path", cn: "alice", path: "/private/x", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/a/../private/x"), chunkOf("secret"), endOf},
			wantCode: codes.PermissionDenied, upstream: "none"},
		{name: "malformed head", cn: "alice", path: "/m", msgs: []*gatewayv1.ForwardStreamRequest{headOf("GET", "/m", &gatewayv1.Header{Name: "X-A", Value: "1\r\nX-Evil: 1"}), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "headers[0].value", upstream: "none"},
		{name: "no end marker", cn: "alice", path: "/noend", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/noend"), chunkOf("part")},
			wantCode: codes.InvalidArgument, wantMsg: "end:", upstream: "aborted"},
		{name: "message after the end marker", cn: "alice", path: "/wait", msgs: []*gatewayv1.ForwardStreamRequest{headOf("GET", "/wait"), endOf, chunkOf("late")},
			wantCode: codes.InvalidArgument, wantMsg: "end:"},
		{name: "body shorter than Content-Length", cn: "alice", path: "/short", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/short", cl("10")), chunkOf("12345"), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "body_chunk:", upstream: "aborted"},
		{name: "no body with Content-Length", cn: "alice", path: "/short0", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/short0", cl("10")), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "body_chunk:", upstream: "none"},
		{name: "body longer than Content-Length", cn: "alice", path: "/long", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/long", cl("5")), chunkOf("1234567890"), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "body_chunk:"},
		{name: "body with Content-Length 0", cn: "alice", path: "/zero", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/zero", cl("0")), chunkOf(""), chunkOf("x"), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "body_chunk:", upstream: "none"},
		{name: "empty body with Content-Length 0", cn: "alice", path: "/zero-ok", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/zero-ok", cl("0")), chunkOf(""), endOf}},
		{name: "two Content-Length headers", cn: "alice", path: "/two", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/two", cl("5"), cl("5")), chunkOf("12345"), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "headers:", upstream: "none"},
		{name: "invalid Content-Length", cn: "alice", path: "/inv", msgs: []*gatewayv1.ForwardStreamRequest{headOf("POST", "/inv", cl("-5")), endOf},
			wantCode: codes.InvalidArgument, wantMsg: "headers:", upstream: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rawStream(t, g, tt.cn)
			for _, m := range tt.msgs {
				if err := s.Send(m); err != nil {
					break // the gateway ended the call; its status says why
				}
			}
			s.CloseSend()
			st := finish(s)
			if st.Code() != tt.wantCode || !strings.HasPrefix(st.Message(), tt.wantMsg) {
				t.Fatalf("status = %v %q, want %v %q...", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}
			switch tt.upstream {
			case "none":
				if _, ok := upstreamRead(tt.path); ok {
					t.Error("the upstream was contacted")
				}
			case "aborted":
				deadline := time.Now().Add(waitFor)
				for {
					err, ok := upstreamRead(tt.path)
					if ok {
						if err == nil {
							t.Error("the upstream read a complete body")
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the upstream request never ended")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
}

// peakHeap samples the heap while a transfer runs. Heap objects include
// garbage not yet collected: the peak is what the process really needed.
type peakHeap struct {
	base, peak atomic.Uint64
	stop       chan struct{}
	done       chan struct{}
}

func startPeakHeap() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	p.base.Store(sample[0].Value.Uint64())
	p.peak.Store(sample[0].Value.Uint64())
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				metrics.Read(sample)
				if v := sample[0].Value.Uint64(); v > p.peak.Load() {
					p.peak.Store(v)
				}
			}
		}
	}()
	return p
}

// growthMiB stops the sampling and returns the peak growth over the start.
func (p *peakHeap) growthMiB() float64 {
	close(p.stop)
	<-p.done
	return float64(p.peak.Load()-p.base.Load()) / (1 << 20)
}

// repeatReader yields n bytes of block, over and over.
type repeatReader struct {
	block []byte
	n     int64
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.n -= int64(n)
	return n, nil
}

// BenchmarkStreamTransfer moves 16 MiB and 256 MiB bodies down and up through
// the gateway with the app library, and directly to the same upstream with
// net/http for comparison, and reports MB/s. For the gateway it also reports
// peak-heap-MiB, the largest heap growth of the whole process (app library,
// gateway and upstream) during the transfers. Targets: at least half the
// direct MB/s, and less than 32 MiB of heap growth for 256 MiB.
func BenchmarkStreamTransfer(b *testing.B) {
	block := make([]byte, 1<<20)
	var seed [32]byte
	rand.NewChaCha8(seed).Read(block)
	g := startGatewayWith(b, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			io.Copy(w, &repeatReader{block: block, n: n})
			return
		}
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}, server.Options{DrainTimeout: time.Second})
	viaGateway := g.streamClient(b, "alice")
	direct := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(direct.CloseIdleConnections)
	targets := map[string]string{
		"gateway": "https://demo.internal",
		"direct":  g.upstream.URL + "/base",
	}
	clients := map[string]*http.Client{"gateway": viaGateway, "direct": direct}

	for _, size := range []int64{16 << 20, 256 << 20} {
		for _, dir := range []string{"download", "upload"} {
			for _, via := range []string{"gateway", "direct"} {
				b.Run(fmt.Sprintf("%s/%dMiB/%s", dir, size>>20, via), func(b *testing.B) {
					hc := clients[via]
					b.SetBytes(size)
					var heap *peakHeap
					if via == "gateway" {
						heap = startPeakHeap()
					}
					for b.Loop() {
						var req *http.Request
						if dir == "download" {
							req = newRequest(b, context.Background(), "GET", fmt.Sprintf("%s/dl?n=%d", targets[via], size), nil)
						} else {
							req = newRequest(b, context.Background(), "PUT", targets[via]+"/ul", &repeatReader{block: block, n: size})
							req.ContentLength = size
						}
						resp, err := hc.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						n, err := io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || (dir == "download" && n != size) {
							b.Fatalf("read %d bytes: %v", n, err)
						}
					}
					if heap != nil {
						b.ReportMetric(heap.growthMiB(), "peak-heap-MiB")
					}
				})
			}
		}
	}
}

// BenchmarkSmallRequestLatency measures what streaming every request costs
// the app library at concurrency 1: a GET with an 18-byte answer, directly
// to the upstream, as a unary Forward call, and through the app library (one
// ForwardStream call). It reports the median and the 90th percentile.
func BenchmarkSmallRequestLatency(b *testing.B) {
	g := startGatewayWith(b, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, small world")
	}, server.Options{DrainTimeout: time.Second}, func(cfg *configv1.Config) {
		cfg.Limits.RatePerSecond, cfg.Limits.Burst = 1e6, 1e6 // measure latency, not the rate limit
	})
	unary := g.dial(b, g.identity(b, "alice"))
	library := g.streamClient(b, "alice")
	direct := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(direct.CloseIdleConnections)
	get := func(hc *http.Client, url string) func() error {
		return func() error {
			resp, err := hc.Get(url)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		}
	}
	modes := []struct {
		name string
		do   func() error
	}{
		{"direct", get(direct, g.upstream.URL+"/base/small")},
		{"forward-unary", func() error {
			_, err := unary.Forward(context.Background(), &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/small"})
			return err
		}},
		{"client-stream", get(library, "https://demo.internal/small")},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if err := m.do(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*9/10].Nanoseconds())/1e3, "p90-µs")
		})
	}
}
