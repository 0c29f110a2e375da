package server_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// fuzzCodes are the only codes a Forward call may end with. Unknown and
// Internal would mean an unmapped error or a panic reached the app.
var fuzzCodes = map[codes.Code]bool{
	codes.OK:                true,
	codes.InvalidArgument:   true,
	codes.PermissionDenied:  true,
	codes.ResourceExhausted: true,
	codes.Unavailable:       true, // e.g. a method the upstream's HTTP stack refuses
	codes.DeadlineExceeded:  true,
}

// FuzzForward sends random inner requests through a real in-process gateway
// (mTLS, the whole interceptor chain, the relay, an upstream): no panic,
// every error is a proper status with a known code, nothing alice's policy
// denies (paths under /private/) reaches the upstream as alice, and the
// upstream sees exactly the caller's identity. The upstream reads paths and
// headers as the most lenient stacks do (lenientUpstreamPath: servlet
// ;params, IIS trailing dots, double decoding; wsgiEnviron: '_' read as
// '-'), so a spelling that one of them would route into /private/ or read
// as a second identity counts as a leak. Paths are case-sensitive:
// /privAte/ is another path, which the policy allows.
func FuzzForward(f *testing.F) {
	var leaked atomic.Value // the first leaked request URI
	g := startGatewayWith(f, func(w http.ResponseWriter, r *http.Request) {
		env := wsgiEnviron(r.Header)
		if who := env["HTTP_X_MSG_PRINCIPAL"]; who != "alice" && who != "bob" {
			leaked.CompareAndSwap(nil, "identity "+who+" at "+r.RequestURI)
		}
		if r.Header.Get(config.DefaultIdentityHeader) == "alice" &&
			strings.HasPrefix(lenientUpstreamPath(strings.TrimPrefix(r.URL.EscapedPath(), "/base")), "/private/") {
			leaked.CompareAndSwap(nil, r.RequestURI)
		}
		if strings.Contains(r.URL.Path, "hangup") { // an upstream that drops the connection
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		echoHandler(w, r)
	}, server.Options{DrainTimeout: time.Second}, func(c *configv1.Config) {
		c.Limits.RatePerSecond, c.Limits.Burst, c.Limits.MaxInFlightPerIdentity = 1e6, 1e6, 1e4
	})
	clients := map[bool]gatewayv1.GatewayServiceClient{}
	for asBob, cn := range map[bool]string{false: "alice", true: "bob"} {
		conf := &tls.Config{RootCAs: g.ca.Pool(), Certificates: []tls.Certificate{g.identity(f, cn)}}
		conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { conn.Close() })
		clients[asBob] = gatewayv1.NewGatewayServiceClient(conn)
	}

	f.Add(false, "demo.internal", "GET", "/hello?x=1", "Accept: */*", []byte(nil))
	f.Add(false, "demo.internal", "get", "/a/%2e%2e/private/x", "", []byte(nil))
	f.Add(false, "DEMO.internal", "POST", "/%70rivate/x", "Content-Type: text/plain\nX-Msg-Principal: bob", []byte("body"))
	f.Add(true, "small.internal", "PUT", "/big", "Connection: close, x-a\nX-A: 1", []byte("0123456789abcdef"))
	f.Add(true, "169.254.169.254", "GET", "/latest/meta-data/", "", []byte(nil))
	f.Add(true, "demo.internal", "CONNECT", "/", "Transfer-Encoding: chunked", []byte("0\r\n\r\n"))
	f.Add(false, "demo.internal:8080", "GET", "//private", "Host: evil", []byte(nil))
	f.Add(true, "demo.internal", "GET", "/hangup", "", []byte(nil))
	f.Fuzz(func(t *testing.T, asBob bool, host, method, path, headerBlob string, body []byte) {
		for _, s := range []string{host, method, path, headerBlob} {
			if !utf8.ValidString(s) {
				// A proto3 string is UTF-8: a gRPC client cannot send this
				// (it fails to marshal before anything is sent).
				return
			}
		}
		req := &gatewayv1.ForwardRequest{Host: host, Method: method, Path: path, Body: body}
		if headerBlob != "" {
			for _, line := range strings.Split(headerBlob, "\n") {
				name, value, _ := strings.Cut(line, ":")
				req.Headers = append(req.Headers, &gatewayv1.Header{Name: name, Value: strings.TrimPrefix(value, " ")})
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := clients[asBob].Forward(ctx, req)
		st, ok := status.FromError(err)
		if !ok {
			t.Fatalf("error without a status: %v", err)
		}
		if !fuzzCodes[st.Code()] {
			t.Fatalf("code %v (%q) for %+v", st.Code(), st.Message(), req)
		}
		if u := leaked.Load(); u != nil {
			t.Fatalf("leaked to the upstream: %q (an alice request it routes under /private/, or another identity)", u)
		}
		if st.Code() == codes.DeadlineExceeded && ctx.Err() != nil {
			t.Fatalf("the gateway did not answer within 10s: %+v", req)
		}
		g.log.reset() // keep memory flat over long runs
	})
}

func (l *upstreamLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}
