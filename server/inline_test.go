package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server/relay"
)

// inlineUpstream echoes the method and the request body with a
// Content-Length, and answers /large with a body that does not fit in one
// message, /nobody with 204 and /trailer with a chunked body and a trailer.
func inlineUpstream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/base/large":
		w.Header().Set("Content-Length", strconv.Itoa(relay.ChunkSize+1))
		w.Write(bytes.Repeat([]byte("L"), relay.ChunkSize+1))
	case "/base/nobody":
		w.WriteHeader(http.StatusNoContent)
	case "/base/trailer":
		w.Header().Set("Trailer", "X-Checksum")
		w.Write([]byte(r.Method + " "))
		w.Write(body)
		w.Header().Set("X-Checksum", "c-"+strconv.Itoa(len(body)))
	default:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+len(r.Method)+1))
		w.Write([]byte(r.Method + " "))
		w.Write(body)
	}
}

type forwardStream = grpc.BidiStreamingClient[gatewayv1.ForwardStreamRequest, gatewayv1.ForwardStreamResponse]

func headMsg(h *gatewayv1.RequestHead) *gatewayv1.ForwardStreamRequest {
	return &gatewayv1.ForwardStreamRequest{Kind: &gatewayv1.ForwardStreamRequest_Head{Head: h}}
}

// recvAll collects a call's messages until its status.
func recvAll(s forwardStream) ([]*gatewayv1.ForwardStreamResponse, error) {
	var out []*gatewayv1.ForwardStreamResponse
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

// TestStreamInline checks the one-message forms of ForwardStream: a head
// that carries the whole request (RequestHead.end) and, for a client that
// accepts it, a response head that carries the whole response.
func TestStreamInline(t *testing.T) {
	t.Parallel()
	g := startGateway(t, inlineUpstream)
	gw := g.as(t, "alice")
	cl := func(n int) *gatewayv1.Header {
		return &gatewayv1.Header{Name: "Content-Length", Value: strconv.Itoa(n)}
	}
	for _, tc := range []struct {
		name     string
		head     *gatewayv1.RequestHead
		extra    []*gatewayv1.ForwardStreamRequest // sent after the head
		wantCode codes.Code
		// For OK calls: the messages' kinds and the whole body received.
		wantKinds string
		wantBody  string
	}{
		{name: "inline request and response",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "POST", Path: "/echo", Headers: []*gatewayv1.Header{cl(5)}, Body: []byte("hello"), End: true, AcceptInlineResponse: true},
			wantKinds: "head+end", wantBody: "POST hello"},
		{name: "inline request without a body",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "GET", Path: "/x", End: true, AcceptInlineResponse: true},
			wantKinds: "head+end", wantBody: "GET "},
		{name: "inline request, classic response",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "GET", Path: "/x", End: true},
			wantKinds: "head chunk end", wantBody: "GET "},
		{name: "classic request, inline response",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "GET", Path: "/x", AcceptInlineResponse: true},
			extra:     []*gatewayv1.ForwardStreamRequest{{Kind: &gatewayv1.ForwardStreamRequest_End{End: &gatewayv1.RequestEnd{}}}},
			wantKinds: "head+end", wantBody: "GET "},
		{name: "response too large to inline",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "GET", Path: "/large", End: true, AcceptInlineResponse: true},
			wantKinds: "head chunk chunk end", wantBody: strings.Repeat("L", relay.ChunkSize+1)},
		{name: "unknown length: streamed, with trailers",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "POST", Path: "/trailer", Headers: []*gatewayv1.Header{cl(5)}, Body: []byte("hello"), End: true, AcceptInlineResponse: true},
			wantKinds: "head chunk end", wantBody: "POST hello"},
		{name: "no content",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "GET", Path: "/nobody", End: true, AcceptInlineResponse: true},
			wantKinds: "head+end"},
		{name: "HEAD",
			head:      &gatewayv1.RequestHead{Host: "demo.internal", Method: "HEAD", Path: "/x", End: true, AcceptInlineResponse: true},
			wantKinds: "head+end"},
		{name: "inline body shorter than Content-Length",
			head:     &gatewayv1.RequestHead{Host: "demo.internal", Method: "POST", Path: "/echo", Headers: []*gatewayv1.Header{cl(6)}, Body: []byte("hello"), End: true},
			wantCode: codes.InvalidArgument},
		{name: "inline body longer than Content-Length",
			head:     &gatewayv1.RequestHead{Host: "demo.internal", Method: "POST", Path: "/echo", Headers: []*gatewayv1.Header{cl(4)}, Body: []byte("hello"), End: true},
			wantCode: codes.InvalidArgument},
		{name: "body in the head without end",
			head:     &gatewayv1.RequestHead{Host: "demo.internal", Method: "POST", Path: "/echo", Body: []byte("hello")},
			wantCode: codes.InvalidArgument},
		{name: "inline request still authorized",
			head:     &gatewayv1.RequestHead{Host: "demo.internal", Method: "GET", Path: "/private/x", End: true},
			wantCode: codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := gw.ForwardStream(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(headMsg(tc.head)); err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.extra {
				if err := s.Send(m); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CloseSend(); err != nil {
				t.Fatal(err)
			}
			msgs, err := recvAll(s)
			if status.Code(err) != tc.wantCode {
				t.Fatalf("status %v, want %v", err, tc.wantCode)
			}
			if tc.wantCode != codes.OK {
				return
			}
			var kinds []string
			var body []byte
			var trailers []*gatewayv1.Header
			for _, m := range msgs {
				switch k := m.GetKind().(type) {
				case *gatewayv1.ForwardStreamResponse_Head:
					body = append(body, k.Head.GetBody()...)
					if k.Head.GetEnd() {
						kinds = append(kinds, "head+end")
						trailers = k.Head.GetTrailers()
					} else {
						kinds = append(kinds, "head")
					}
				case *gatewayv1.ForwardStreamResponse_BodyChunk:
					body = append(body, k.BodyChunk...)
					kinds = append(kinds, "chunk")
				case *gatewayv1.ForwardStreamResponse_End:
					kinds = append(kinds, "end")
					trailers = k.End.GetTrailers()
				}
			}
			if got := strings.Join(kinds, " "); got != tc.wantKinds {
				t.Errorf("messages %q, want %q", got, tc.wantKinds)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body %.40q (%d bytes), want %.40q (%d bytes)", body, len(body), tc.wantBody, len(tc.wantBody))
			}
			if tc.head.GetPath() == "/trailer" {
				want := "c-" + strconv.Itoa(len(tc.head.GetBody()))
				if len(trailers) != 1 || trailers[0].GetValue() != want {
					t.Errorf("trailers %v, want X-Checksum: %s", trailers, want)
				}
			}
			if !msgs[0].GetHead().GetAcceptsInlineRequests() {
				t.Errorf("the response head does not say accepts_inline_requests")
			}
		})
	}
}

// The app library sends small requests inline once the gateway has
// announced it, and the exchange is the same as the classic one.
func TestStreamInlineThroughClient(t *testing.T) {
	t.Parallel()
	g := startGateway(t, inlineUpstream)
	hc := g.streamClient(t, "alice")
	for i, body := range []string{"", "first", strings.Repeat("b", 20<<10), "trailer", "last"} {
		method := "POST"
		var rd io.Reader = strings.NewReader(body)
		if body == "" {
			method, rd = "GET", nil
		}
		path := "/echo"
		if body == "trailer" {
			path = "/trailer"
		}
		resp, err := hc.Do(newRequest(t, context.Background(), method, "https://demo.internal"+path, rd))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got := readAll(t, resp)
		if want := method + " " + body; got != want {
			t.Errorf("request %d: body %.40q, want %.40q", i, got, want)
		}
		if want := "c-" + strconv.Itoa(len(body)); path == "/trailer" && resp.Trailer.Get("X-Checksum") != want {
			t.Errorf("request %d: trailer %q, want %q", i, resp.Trailer.Get("X-Checksum"), want)
		}
	}
}
