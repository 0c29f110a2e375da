package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/pki"
)

// waitLong bounds waits that only time out when the code under test hangs.
const waitLong = 30 * time.Second

func hdr(name, value string) *gatewayv1.Header {
	return &gatewayv1.Header{Name: name, Value: value}
}

func TestRoundTripThroughHTTPClient(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	hc := &http.Client{Transport: newTransport(t, gw)}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		"https://demo.internal/api/items?limit=10", strings.NewReader("hello, gateway"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("X-Multi", "first")
	req.Header.Add("X-Multi", "second")
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Accept", "*/*")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	calls := gw.Calls()
	if len(calls) != 1 {
		t.Fatalf("gateway got %d calls, want 1", len(calls))
	}
	want := &gatewayv1.ForwardRequest{
		Host:   "demo.internal",
		Method: "POST",
		Path:   "/api/items?limit=10",
		Headers: []*gatewayv1.Header{
			hdr("Accept", "*/*"),
			hdr("Content-Type", "text/plain"),
			hdr("X-Multi", "first"),
			hdr("X-Multi", "second"),
		},
		Body: []byte("hello, gateway"),
	}
	if got := calls[0].req; !proto.Equal(got, want) {
		t.Errorf("ForwardRequest:\n got %v\nwant %v", got, want)
	}
	if got, want := calls[0].peerCN, "alice"; got != want {
		t.Errorf("gateway saw client certificate %q, want %q", got, want)
	}
	if got, want := calls[0].tlsVersion, uint16(tls.VersionTLS13); got != want {
		t.Errorf("TLS version %s, want %s", tls.VersionName(got), tls.VersionName(want))
	}

	if resp.StatusCode != 200 || resp.Status != "200 OK" {
		t.Errorf("status %d %q, want 200 %q", resp.StatusCode, resp.Status, "200 OK")
	}
	if got, want := resp.Header.Values("X-Multi"), []string{"first", "second"}; !slices.Equal(got, want) {
		t.Errorf("X-Multi %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Echo-Path"), "/api/items?limit=10"; got != want {
		t.Errorf("X-Echo-Path %q, want %q", got, want)
	}
	if got, want := string(body), "hello, gateway"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	// The echo gateway announces no length: the body streams.
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength %d, want -1 (not announced)", resp.ContentLength)
	}
	if !calls[0].stream || calls[0].contentLength != "14" {
		t.Errorf("call streamed %v with Content-Length %q, want a stream declaring 14", calls[0].stream, calls[0].contentLength)
	}
}

func TestRoundTripRequestMapping(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	tr := newTransport(t, gw)

	newRequest := func(method, target string) *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want *gatewayv1.ForwardRequest
	}{
		{
			name: "query preserved",
			req:  func() *http.Request { return newRequest("GET", "https://demo.internal/search?q=a%20b&q=c&empty=") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/search?q=a%20b&q=c&empty="},
		},
		{
			name: "escaped path kept",
			req:  func() *http.Request { return newRequest("GET", "https://demo.internal/a%2Fb/c%20d") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/a%2Fb/c%20d"},
		},
		{
			name: "empty path is slash",
			req:  func() *http.Request { return newRequest("GET", "https://demo.internal") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/"},
		},
		{
			name: "empty query kept",
			req:  func() *http.Request { return newRequest("GET", "https://demo.internal/x?") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x?"},
		},
		{
			name: "fragment dropped",
			req:  func() *http.Request { return newRequest("GET", "https://demo.internal/x#top") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x"},
		},
		{
			name: "port kept",
			req:  func() *http.Request { return newRequest("DELETE", "https://demo.internal:8443/items/1") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal:8443", Method: "DELETE", Path: "/items/1"},
		},
		{
			name: "request host overrides URL host",
			req: func() *http.Request {
				req := newRequest("GET", "https://demo.internal/x")
				req.Host = "other.internal"
				return req
			},
			want: &gatewayv1.ForwardRequest{Host: "other.internal", Method: "GET", Path: "/x"},
		},
		{
			name: "http scheme ignored",
			req:  func() *http.Request { return newRequest("GET", "http://demo.internal/x") },
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x"},
		},
		{
			name: "empty method is GET",
			req: func() *http.Request {
				req := newRequest("GET", "https://demo.internal/x")
				req.Method = ""
				return req
			},
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/x"},
		},
		{
			name: "opaque URL sent in origin form",
			req: func() *http.Request {
				req := newRequest("GET", "https://demo.internal/")
				req.URL.Opaque = "//demo.internal/raw%2Fpath"
				req.URL.RawQuery = "a=1"
				return req
			},
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "GET", Path: "/raw%2Fpath?a=1"},
		},
		{
			name: "headers sorted by name, values in order",
			req: func() *http.Request {
				req := newRequest("PUT", "https://demo.internal/x")
				req.Header = http.Header{
					"Zeta":        {"z"},
					"X-Dup":       {"3", "1", "2"},
					"Alpha":       {"a"},
					"lower-case":  {"kept as given"},
					"Content-Md5": {""},
				}
				return req
			},
			want: &gatewayv1.ForwardRequest{Host: "demo.internal", Method: "PUT", Path: "/x", Headers: []*gatewayv1.Header{
				hdr("Alpha", "a"),
				hdr("Content-Md5", ""),
				hdr("X-Dup", "3"),
				hdr("X-Dup", "1"),
				hdr("X-Dup", "2"),
				hdr("Zeta", "z"),
				hdr("lower-case", "kept as given"),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(gw.Calls())
			resp, err := tr.RoundTrip(tt.req())
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			resp.Body.Close()
			calls := gw.Calls()
			if len(calls) != before+1 {
				t.Fatalf("gateway got %d new calls, want 1", len(calls)-before)
			}
			if got := calls[before].req; !proto.Equal(got, tt.want) {
				t.Errorf("ForwardRequest:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestRoundTripRejectsUnsendableRequests(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	tr := newTransport(t, gw)

	tests := []struct {
		name    string
		req     *http.Request
		wantErr string
	}{
		{
			name:    "no host",
			req:     &http.Request{Method: "GET", URL: &url.URL{Path: "/x"}, Header: http.Header{}},
			wantErr: "no host",
		},
		{
			name:    "relative path",
			req:     &http.Request{Method: "GET", URL: &url.URL{Host: "demo.internal", Path: "x"}, Header: http.Header{}},
			wantErr: "not an absolute path",
		},
		{
			name:    "asterisk form",
			req:     &http.Request{Method: "OPTIONS", URL: &url.URL{Host: "demo.internal", Path: "*"}, Header: http.Header{}},
			wantErr: "not an absolute path",
		},
		{
			name:    "no URL",
			req:     &http.Request{Method: "GET", Host: "demo.internal", Header: http.Header{}},
			wantErr: "no URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &trackingBody{Reader: strings.NewReader("x")}
			tt.req.Body = body
			_, err := tr.RoundTrip(tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("RoundTrip error %v, want one containing %q", err, tt.wantErr)
			}
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
		})
	}
	if n := len(gw.Calls()); n != 0 {
		t.Errorf("gateway got %d calls, want 0", n)
	}
}

func TestRoundTripResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       int32
		wantStatus string
	}{
		{name: "ok", code: 200, wantStatus: "200 OK"},
		{name: "upstream not found is a response", code: 404, wantStatus: "404 Not Found"},
		{name: "upstream unavailable is a response", code: 503, wantStatus: "503 Service Unavailable"},
		{name: "status without text", code: 599, wantStatus: "599 status code 599"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, gatewaySetup{handle: func(context.Context, *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
				return &gatewayv1.ForwardResponse{
					StatusCode: tt.code,
					Headers: []*gatewayv1.Header{
						hdr("Set-Cookie", "a=1"),
						hdr("content-type", "text/plain"),
						hdr("Set-Cookie", "b=2"),
						hdr("Content-Length", "13"),
					},
					Body: []byte("upstream body"),
				}, nil
			}})
			tr := newTransport(t, gw)
			req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			if resp.StatusCode != int(tt.code) || resp.Status != tt.wantStatus {
				t.Errorf("status %d %q, want %d %q", resp.StatusCode, resp.Status, tt.code, tt.wantStatus)
			}
			if resp.Proto != "HTTP/1.1" || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
				t.Errorf("proto %q %d.%d, want HTTP/1.1 1.1", resp.Proto, resp.ProtoMajor, resp.ProtoMinor)
			}
			if got, want := resp.Header.Values("Set-Cookie"), []string{"a=1", "b=2"}; !slices.Equal(got, want) {
				t.Errorf("Set-Cookie %q, want %q", got, want)
			}
			if got, want := resp.Header.Get("Content-Type"), "text/plain"; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			if resp.Request != req {
				t.Error("response's Request is not the request")
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Errorf("Body.Close: %v", err)
			}
			if got, want := string(body), "upstream body"; got != want {
				t.Errorf("body %q, want %q", got, want)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("ContentLength %d, want %d", resp.ContentLength, len(body))
			}
		})
	}
}

func TestRoundTripInvalidStatusCode(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{handle: func(context.Context, *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
		return &gatewayv1.ForwardResponse{StatusCode: 0}, nil
	}})
	tr := newTransport(t, gw)
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("RoundTrip accepted status code 0")
	}
}

// mustStatus attaches details to a status, failing the test if it cannot.
func mustStatus(t *testing.T, code codes.Code, msg string, details ...protoadapt.MessageV1) *status.Status {
	t.Helper()
	st, err := status.New(code, msg).WithDetails(details...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestGatewayErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       func(*testing.T) *status.Status
		wantCode     codes.Code
		wantMessage  string
		wantReason   string
		wantRetry    time.Duration
		wantDeadline bool // errors.Is(err, context.DeadlineExceeded)
	}{
		{
			name: "permission denied with reason",
			status: func(t *testing.T) *status.Status {
				return mustStatus(t, codes.PermissionDenied, "access denied",
					&errdetails.ErrorInfo{Reason: "POLICY_DENIED", Domain: "msg.gateway"})
			},
			wantCode:    codes.PermissionDenied,
			wantMessage: "access denied",
			wantReason:  "POLICY_DENIED",
		},
		{
			name: "rate limited with retry delay",
			status: func(t *testing.T) *status.Status {
				return mustStatus(t, codes.ResourceExhausted, "rate limited",
					&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: "msg.gateway"},
					&errdetails.RetryInfo{RetryDelay: durationpb.New(2 * time.Second)})
			},
			wantCode:    codes.ResourceExhausted,
			wantMessage: "rate limited",
			wantReason:  "RATE_LIMITED",
			wantRetry:   2 * time.Second,
		},
		{
			name: "unavailable without details",
			status: func(t *testing.T) *status.Status {
				return status.New(codes.Unavailable, "upstream unreachable")
			},
			wantCode:    codes.Unavailable,
			wantMessage: "upstream unreachable",
		},
		{
			// The gateway's own deadline (an upstream timeout) is not the
			// caller's context expiring.
			name: "gateway deadline is not the caller's",
			status: func(t *testing.T) *status.Status {
				return status.New(codes.DeadlineExceeded, "upstream timed out")
			},
			wantCode:    codes.DeadlineExceeded,
			wantMessage: "upstream timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := tt.status(t)
			gw := startGateway(t, gatewaySetup{handle: func(context.Context, *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
				return nil, st.Err()
			}})
			hc := &http.Client{Transport: newTransport(t, gw)}
			req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/private/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("Do succeeded with status %q, want an error", resp.Status)
			}
			if _, ok := errors.AsType[*url.Error](err); !ok {
				t.Errorf("error %T is not wrapped in a *url.Error", err)
			}
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("errors.As(%v, *client.Error) = false", err)
			}
			if ce.Code != tt.wantCode || ce.Message != tt.wantMessage || ce.Reason != tt.wantReason || ce.RetryAfter != tt.wantRetry {
				t.Errorf("Error{%v, %q, %q, %v}, want {%v, %q, %q, %v}",
					ce.Code, ce.Message, ce.Reason, ce.RetryAfter,
					tt.wantCode, tt.wantMessage, tt.wantReason, tt.wantRetry)
			}
			if got := client.CodeOf(err); got != tt.wantCode {
				t.Errorf("CodeOf = %v, want %v", got, tt.wantCode)
			}
			if got := status.Code(err); got != tt.wantCode {
				t.Errorf("status.Code = %v, want %v", got, tt.wantCode)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v matches a context error, but the context is live", err)
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	serverSaw := make(chan error, 1)
	gw := startGateway(t, gatewaySetup{handle: func(ctx context.Context, _ *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
		close(started)
		<-ctx.Done()
		serverSaw <- ctx.Err()
		return nil, status.FromContextError(ctx.Err()).Err()
	}})
	hc := &http.Client{Transport: newTransport(t, gw)}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://demo.internal/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("Do succeeded, want an error")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
	if got := client.CodeOf(err); got != codes.Canceled {
		t.Errorf("CodeOf = %v, want Canceled", got)
	}
	select {
	case err := <-serverSaw:
		if err == nil {
			t.Error("gateway's context ended without an error")
		}
	case <-time.After(waitLong):
		t.Fatal("cancellation did not reach the gateway")
	}
}

func TestContextCanceledBeforeSend(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	tr := newTransport(t, gw)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) || client.CodeOf(err) != codes.Canceled {
		t.Errorf("RoundTrip error %v (code %v), want context.Canceled with code Canceled", err, client.CodeOf(err))
	}
	if n := len(gw.Calls()); n != 0 {
		t.Errorf("gateway got %d calls, want 0", n)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	serverDeadline := make(chan bool, 1)
	gw := startGateway(t, gatewaySetup{handle: func(ctx context.Context, r *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
		if r.GetPath() == "/warm" {
			return &gatewayv1.ForwardResponse{StatusCode: http.StatusOK}, nil
		}
		_, ok := ctx.Deadline()
		serverDeadline <- ok
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}})
	hc := &http.Client{Transport: newTransport(t, gw)}
	// The connection (and its TLS handshake) is up before the deadline
	// starts: the deadline only has to cover the call.
	warm, err := hc.Get("https://demo.internal/warm")
	if err != nil {
		t.Fatal(err)
	}
	warm.Body.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://demo.internal/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("Do succeeded, want an error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
	}
	if _, ok := errors.AsType[*client.Error](err); !ok {
		t.Errorf("errors.As(%v, *client.Error) = false", err)
	}
	if got := client.CodeOf(err); got != codes.DeadlineExceeded {
		t.Errorf("CodeOf = %v, want DeadlineExceeded", got)
	}
	select {
	case ok := <-serverDeadline:
		if !ok {
			t.Error("the gateway's context has no deadline")
		}
	case <-time.After(waitLong):
		t.Fatal("the call never reached the gateway")
	}
}

// trackingBody is a request body that records whether it was closed. It is
// not one of the types http.NewRequest recognises, so its length is unknown.
type trackingBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackingBody) Close() error {
	b.closed.Store(true)
	return nil
}

func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	tr := newTransport(t, gw, client.WithMaxRequestBodyBytes(8))

	tests := []struct {
		name          string
		body          string
		contentLength int64      // 0: unknown
		wantCode      codes.Code // OK: no error
	}{
		{name: "at the limit", body: "12345678"},
		{name: "at the limit with length", body: "12345678", contentLength: 8},
		{name: "over the limit, length unknown", body: "123456789", wantCode: codes.ResourceExhausted},
		{name: "over the limit, length declared", body: "123456789", contentLength: 9, wantCode: codes.ResourceExhausted},
		{name: "declared length too large", body: "1", contentLength: 1 << 30, wantCode: codes.ResourceExhausted},
		// As net/http does, a body that disagrees with its declared length
		// is an error of its own.
		{name: "declared length understated", body: "123456789", contentLength: 3, wantCode: codes.InvalidArgument},
		{name: "declared length overstated", body: "1234", contentLength: 6, wantCode: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &trackingBody{Reader: strings.NewReader(tt.body)}
			req, err := http.NewRequestWithContext(t.Context(), "POST", "https://demo.internal/upload", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.contentLength
			before := len(gw.Calls())
			resp, err := tr.RoundTrip(req)
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
			calls := len(gw.Calls()) - before
			if tt.wantCode == codes.OK {
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(got) != tt.body {
					t.Errorf("echoed body %q, want %q", got, tt.body)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("RoundTrip succeeded, want an error")
			}
			if got := client.CodeOf(err); got != tt.wantCode {
				t.Errorf("CodeOf(%v) = %v, want %v", err, got, tt.wantCode)
			}
			// The fake gateway records a call once its body is complete.
			if calls != 0 {
				t.Errorf("gateway got %d complete calls, want 0", calls)
			}
		})
	}
}

func TestMaxResponseBytes(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{handle: func(_ context.Context, req *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
		size := 16
		if req.GetPath() == "/big" {
			size = 4096
		}
		return &gatewayv1.ForwardResponse{StatusCode: 200, Body: bytes.Repeat([]byte("x"), size)}, nil
	}})
	tr := newTransport(t, gw, client.WithMaxResponseBytes(1024))

	tests := []struct {
		name     string
		path     string
		wantCode codes.Code
	}{
		{name: "small response", path: "/small", wantCode: codes.OK},
		{name: "response over the limit", path: "/big", wantCode: codes.ResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err == nil {
				// The body streams: a chunk over the limit fails its read.
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if got := client.CodeOf(err); got != tt.wantCode {
				t.Errorf("CodeOf(%v) = %v, want %v", err, got, tt.wantCode)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Options{CommonName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	cert := client.WithCertificate(leaf.TLSCertificate())
	roots := client.WithRootCAs(ca.Pool())
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name    string
		addr    string
		opts    []client.Option
		wantErr string
	}{
		{name: "no client certificate", addr: "127.0.0.1:8443", opts: []client.Option{roots}, wantErr: "no client certificate"},
		{name: "no options", addr: "127.0.0.1:8443", wantErr: "no client certificate"},
		{name: "empty certificate", addr: "127.0.0.1:8443", opts: []client.Option{client.WithCertificate(tls.Certificate{}), roots}, wantErr: "WithCertificate:"},
		{name: "missing certificate files", addr: "127.0.0.1:8443", opts: []client.Option{client.WithCertificateFiles(missing, missing), roots}, wantErr: "WithCertificateFiles"},
		{name: "missing root CA file", addr: "127.0.0.1:8443", opts: []client.Option{cert, client.WithRootCAFile(missing)}, wantErr: "WithRootCAFile"},
		{name: "root CA file without PEM", addr: "127.0.0.1:8443", opts: []client.Option{cert, client.WithRootCAFile(notPEM)}, wantErr: "no PEM certificate"},
		{name: "nil root pool", addr: "127.0.0.1:8443", opts: []client.Option{cert, client.WithRootCAs(nil)}, wantErr: "WithRootCAs"},
		{name: "zero response limit", addr: "127.0.0.1:8443", opts: []client.Option{cert, roots, client.WithMaxResponseBytes(0)}, wantErr: "WithMaxResponseBytes"},
		{name: "negative body limit", addr: "127.0.0.1:8443", opts: []client.Option{cert, roots, client.WithMaxRequestBodyBytes(-1)}, wantErr: "WithMaxRequestBodyBytes"},
		{name: "empty address", addr: "", opts: []client.Option{cert, roots}, wantErr: "empty gateway address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := client.New(tt.addr, tt.opts...)
			if err == nil {
				tr.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error %q, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCertificateFiles(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	dir := t.TempDir()
	leaf, err := gw.CA.Issue(pki.Options{CommonName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := leaf.WriteFiles(dir, "bob")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, gw.CA.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := client.New(gw.Addr, client.WithCertificateFiles(certFile, keyFile), client.WithRootCAFile(caFile))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { tr.Close() })

	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	resp.Body.Close()
	if calls := gw.Calls(); len(calls) != 1 || calls[0].peerCN != "bob" {
		t.Errorf("gateway calls %v, want one from bob", calls)
	}
}

// TestHandshakeFailures is the negative TLS matrix: each way the two sides
// can fail to trust each other fails the request before the gateway sees it.
func TestHandshakeFailures(t *testing.T) {
	t.Parallel()
	otherCA, err := pki.NewCA("unknown CA")
	if err != nil {
		t.Fatal(err)
	}
	strangerLeaf, err := otherCA.Issue(pki.Options{CommonName: "stranger"})
	if err != nil {
		t.Fatal(err)
	}
	gatewayOnlyName := pki.Options{CommonName: "gateway.internal", DNSNames: []string{"gateway.internal"}, Server: true}

	tests := []struct {
		name  string
		setup gatewaySetup
		opts  func(gw *testGateway) []client.Option
	}{
		{
			name:  "gateway certificate from another CA",
			setup: gatewaySetup{untrusted: true},
		},
		{
			name:  "client certificate from another CA",
			setup: gatewaySetup{},
			opts: func(*testGateway) []client.Option {
				return []client.Option{client.WithCertificate(strangerLeaf.TLSCertificate())}
			},
		},
		{
			name:  "gateway certificate for another name",
			setup: gatewaySetup{serverCert: &gatewayOnlyName},
		},
		{
			name:  "server name the gateway certificate does not name",
			setup: gatewaySetup{},
			opts: func(*testGateway) []client.Option {
				return []client.Option{client.WithServerName("gateway.internal")}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, tt.setup)
			var opts []client.Option
			if tt.opts != nil {
				opts = tt.opts(gw)
			}
			tr := newTransport(t, gw, opts...)
			ctx, cancel := context.WithTimeout(t.Context(), waitLong)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", "https://demo.internal/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("RoundTrip succeeded, want a handshake error")
			}
			if got := client.CodeOf(err); got != codes.Unavailable {
				t.Errorf("CodeOf(%v) = %v, want Unavailable", err, got)
			}
			if n := len(gw.Calls()); n != 0 {
				t.Errorf("gateway got %d calls, want 0", n)
			}
		})
	}
}

func TestWithServerName(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{serverCert: &pki.Options{
		CommonName: "gateway.internal",
		DNSNames:   []string{"gateway.internal"},
		Server:     true,
	}})
	tr := newTransport(t, gw, client.WithServerName("gateway.internal"))
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	resp.Body.Close()
}

func TestWithDialOptions(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	var seen atomic.Int32
	count := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if method == gatewayv1.GatewayService_ForwardStream_FullMethodName {
			seen.Add(1)
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
	tr := newTransport(t, gw, client.WithDialOptions(grpc.WithStreamInterceptor(count)))
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	resp.Body.Close()
	if got := seen.Load(); got != 1 {
		t.Errorf("interceptor saw %d ForwardStream calls, want 1", got)
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	hc := &http.Client{Transport: newTransport(t, gw)}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				want := fmt.Sprintf("request %d.%d", i, j)
				req, err := http.NewRequestWithContext(t.Context(), "POST", "https://demo.internal/echo", strings.NewReader(want))
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Errorf("Do: %v", err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != want {
					t.Errorf("body %q (%v), want %q", got, err, want)
				}
			}
		})
	}
	wg.Wait()
	if n := len(gw.Calls()); n != 40 {
		t.Errorf("gateway got %d calls, want 40", n)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, gatewaySetup{})
	tr, err := client.New(gw.Addr, client.WithCertificate(gw.ClientCert), client.WithRootCAs(gw.CA.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://demo.internal/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.RoundTrip(req)
	if got := client.CodeOf(err); got != codes.Canceled {
		t.Errorf("RoundTrip after Close: CodeOf(%v) = %v, want Canceled", err, got)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip after Close: %v matches context.Canceled, but the context is live", err)
	}
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	denied := &client.Error{Code: codes.PermissionDenied, Message: "access denied"}
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{name: "nil", err: nil, want: codes.OK},
		{name: "other error", err: errors.New("boom"), want: codes.Unknown},
		{name: "context error", err: context.Canceled, want: codes.Unknown},
		{name: "Error", err: denied, want: codes.PermissionDenied},
		{name: "wrapped Error", err: fmt.Errorf("fetch: %w", denied), want: codes.PermissionDenied},
		{name: "Error in url.Error", err: &url.Error{Op: "Get", URL: "https://demo.internal/", Err: denied}, want: codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := client.CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *client.Error
		want string
	}{
		{name: "code only", err: &client.Error{Code: codes.Unavailable}, want: "Unavailable"},
		{name: "message", err: &client.Error{Code: codes.Unavailable, Message: "upstream unreachable"}, want: "Unavailable: upstream unreachable"},
		{
			name: "reason and retry",
			err:  &client.Error{Code: codes.ResourceExhausted, Message: "rate limited", Reason: "RATE_LIMITED", RetryAfter: 2 * time.Second},
			want: "ResourceExhausted: rate limited (reason RATE_LIMITED) (retry after 2s)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
