// Command probe calls a gateway the way an app in the field does and prints
// one JSON line per exchange: what came back, without what varies between
// runs (request ids). The wire-compatibility test builds it twice, against
// the client and generated stubs of the last release tag and against the
// current ones, and compares the two outputs. It uses only API that every
// release has, so that it builds against each of them.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/msg-gateway/msg/client"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// result is one exchange's outcome.
type result struct {
	Name   string         `json:"name"`
	Status int            `json:"status,omitempty"`
	Body   map[string]any `json:"body,omitempty"`
	Code   string         `json:"code,omitempty"`
	Reason string         `json:"reason,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "the gateway's gRPC address")
	dir := flag.String("dir", "", "the dev-mode directory (ca.pem, alice*.pem, mallory*.pem)")
	flag.Parse()
	if err := run(*addr, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run(addr, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	emit := func(r result) error { return out.Encode(r) }

	alice, err := transport(addr, dir, "alice")
	if err != nil {
		return err
	}
	defer alice.Close()
	mallory, err := transport(addr, dir, "mallory")
	if err != nil {
		return err
	}
	defer mallory.Close()

	exchanges := []struct {
		name string
		t    *client.Transport
		req  func() (*http.Request, error)
	}{
		{"alice GET /hello", alice, get("/hello")},
		{"mallory GET /hello", mallory, get("/hello")},
		{"alice GET /private/x", alice, get("/private/x")},
		// 256 KiB of unknown length: a streamed, chunked upload.
		{"alice streamed upload", alice, post(io.MultiReader(bytes.NewReader(make([]byte, 256<<10))))},
		// Small bodies of known length; the second goes in one message when
		// the client and the gateway both support that.
		{"alice small POST 1", alice, post(bytes.NewReader([]byte("hello")))},
		{"alice small POST 2", alice, post(bytes.NewReader([]byte("hello again")))},
	}
	for _, x := range exchanges {
		req, err := x.req()
		if err != nil {
			return err
		}
		if err := emit(viaTransport(ctx, x.name, x.t, req)); err != nil {
			return err
		}
	}

	// The generated stubs alone, as an app in another language uses them.
	for _, who := range []string{"alice", "mallory"} {
		r, err := viaStub(ctx, addr, dir, who)
		if err != nil {
			return err
		}
		if err := emit(r); err != nil {
			return err
		}
	}
	return nil
}

func transport(addr, dir, who string) (*client.Transport, error) {
	return client.New(addr,
		client.WithCertificateFiles(filepath.Join(dir, who+".pem"), filepath.Join(dir, who+"-key.pem")),
		client.WithRootCAFile(filepath.Join(dir, "ca.pem")))
}

func get(path string) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		return http.NewRequest(http.MethodGet, "https://demo.internal"+path, nil)
	}
}

func post(body io.Reader) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		return http.NewRequest(http.MethodPost, "https://demo.internal/upload", body)
	}
}

func viaTransport(ctx context.Context, name string, t *client.Transport, req *http.Request) result {
	r := result{Name: name}
	resp, err := (&http.Client{Transport: t}).Do(req.WithContext(ctx))
	if err != nil {
		var cerr *client.Error
		if errors.As(err, &cerr) {
			r.Code, r.Reason = cerr.Code.String(), cerr.Reason
		} else {
			r.Code = "not a client.Error: " + err.Error()
		}
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	r.Body = demoBody(resp.Body)
	return r
}

// demoBody keeps the fields of the demo host's answer that do not vary.
func demoBody(body io.Reader) map[string]any {
	raw, err := io.ReadAll(body)
	if err != nil {
		return map[string]any{"read error": err.Error()}
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return map[string]any{"text": strings.TrimSpace(string(raw))}
	}
	delete(m, "request_id")
	return m
}

func viaStub(ctx context.Context, addr, dir, who string) (result, error) {
	r := result{Name: who + " unary Forward via the generated stub"}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, who+".pem"), filepath.Join(dir, who+"-key.pem"))
	if err != nil {
		return r, err
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return r, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12,
	})))
	if err != nil {
		return r, err
	}
	defer conn.Close()
	resp, err := gatewayv1.NewGatewayServiceClient(conn).Forward(ctx, &gatewayv1.ForwardRequest{
		Host: "demo.internal", Method: "GET", Path: "/hello",
	})
	if err != nil {
		st := status.Convert(err)
		r.Code = st.Code().String()
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				r.Reason = info.GetReason()
			}
		}
		return r, nil
	}
	r.Status = int(resp.GetStatusCode())
	r.Body = demoBody(bytes.NewReader(resp.GetBody()))
	return r, nil
}
