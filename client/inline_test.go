package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// inlineGateway answers every call with a response whose head carries the
// whole body ("echo: " and the request body), announcing inline requests
// unless old is set, in which case it also refuses an inline request the
// way gateways that predate it do (UNKNOWN "EOF", nothing relayed).
type inlineGateway struct {
	announce, old bool

	mu    sync.Mutex
	heads []*gatewayv1.RequestHead // as received, body included
}

func (g *inlineGateway) serve(s gatewayStream) error {
	first, err := s.Recv()
	if err != nil {
		return err
	}
	head := first.GetHead()
	g.mu.Lock()
	g.heads = append(g.heads, head)
	g.mu.Unlock()
	body := head.GetBody()
	if !head.GetEnd() || g.old {
		for {
			msg, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return status.Error(codes.Unknown, "EOF")
			}
			if err != nil {
				return err
			}
			if msg.GetEnd() != nil {
				break
			}
			body = append(body, msg.GetBodyChunk()...)
		}
	}
	answer := append([]byte("echo: "), body...)
	if !head.GetAcceptInlineResponse() {
		return sendResponse(s, &gatewayv1.ForwardResponse{StatusCode: 200, Body: answer})
	}
	return s.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: &gatewayv1.ResponseHead{
		StatusCode: 200, Body: answer, End: true,
		Trailers:              []*gatewayv1.Header{{Name: "X-Done", Value: "yes"}},
		AcceptsInlineRequests: g.announce,
	}}})
}

func (g *inlineGateway) received() []*gatewayv1.RequestHead {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*gatewayv1.RequestHead(nil), g.heads...)
}

func post(t *testing.T, hc *http.Client, body string) string {
	t.Helper()
	var rd io.Reader
	method := "GET"
	if body != "" {
		method, rd = "POST", strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "https://demo.internal/x", rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %q: %v", method, body, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %q: reading the body: %v", method, body, err)
	}
	if resp.Trailer.Get("X-Done") != "yes" && !strings.Contains(t.Name(), "classic") {
		t.Errorf("%s %q: trailer X-Done %q, want yes", method, body, resp.Trailer.Get("X-Done"))
	}
	return string(b)
}

func TestInlineRequests(t *testing.T) {
	t.Parallel()
	large := strings.Repeat("x", 20<<10) // over the inline limit: streamed
	for _, tc := range []struct {
		name     string
		gw       *inlineGateway
		bodies   []string
		wantEnds []bool // per call received: was the head the whole request?
	}{
		{name: "announced", gw: &inlineGateway{announce: true},
			bodies: []string{"", "small", "", large, "again"}, wantEnds: []bool{false, true, true, false, true}},
		{name: "never announced", gw: &inlineGateway{},
			bodies: []string{"", "small", "again"}, wantEnds: []bool{false, false, false}},
		// A gateway that announces but refuses (a fleet whose connection
		// moved to an old version): each inline try is sent again the
		// classic way, and the app sees only the answers.
		{name: "refused", gw: &inlineGateway{announce: true, old: true},
			bodies: []string{"", "small", ""}, wantEnds: []bool{false, true, false, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, gatewaySetup{stream: tc.gw.serve})
			hc := &http.Client{Transport: newTransport(t, gw)}
			for _, body := range tc.bodies {
				if got, want := post(t, hc, body), "echo: "+body; got != want {
					t.Errorf("body %.30q, want %.30q", got, want)
				}
			}
			var ends []bool
			for _, h := range tc.gw.received() {
				ends = append(ends, h.GetEnd())
				if !h.GetAcceptInlineResponse() {
					t.Errorf("a head without accept_inline_response")
				}
			}
			if len(ends) != len(tc.wantEnds) {
				t.Fatalf("heads with end %v, want %v", ends, tc.wantEnds)
			}
			for i := range ends {
				if ends[i] != tc.wantEnds[i] {
					t.Fatalf("heads with end %v, want %v", ends, tc.wantEnds)
				}
			}
		})
	}
}

func TestInlineResponseErrors(t *testing.T) {
	t.Parallel()
	cl := &gatewayv1.Header{Name: "Content-Length", Value: "10"}
	for _, tc := range []struct {
		name string
		head *gatewayv1.ResponseHead
	}{
		{name: "body shorter than Content-Length", head: &gatewayv1.ResponseHead{StatusCode: 200, Headers: []*gatewayv1.Header{cl}, Body: []byte("short"), End: true}},
		{name: "body without end", head: &gatewayv1.ResponseHead{StatusCode: 200, Body: []byte("partial")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := startGateway(t, gatewaySetup{stream: func(s gatewayStream) error {
				if err := drainRequest(s); err != nil {
					return err
				}
				return s.Send(&gatewayv1.ForwardStreamResponse{Kind: &gatewayv1.ForwardStreamResponse_Head{Head: tc.head}})
			}})
			hc := &http.Client{Transport: newTransport(t, gw)}
			resp, err := hc.Get("https://demo.internal/x")
			if err == nil {
				resp.Body.Close()
				t.Fatal("got a response, want a protocol error")
			}
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Code != codes.Internal {
				t.Fatalf("err = %v, want a client.Error with code Internal", err)
			}
		})
	}
}
