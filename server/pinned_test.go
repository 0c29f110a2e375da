package server_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
)

// TestPinnedUpstreamIsAnAuditedAdminWrite restarts a gateway on its data
// directory with Options.PinUpstreams, as dev mode does for its demo host: the
// stored host is pointed at the pinned upstream through the admin write path,
// so the change is validated against the whole configuration, audited, and
// served from the first request on; an invalid pin fails the start and
// changes nothing.
func TestPinnedUpstreamIsAnAuditedAdminWrite(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	g.drain()
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("moved"))
	}))
	t.Cleanup(moved.Close)
	cfg, err := config.Parse([]byte(g.yaml))
	if err != nil {
		t.Fatal(err)
	}

	// An upstream the host table refuses is refused here too.
	_, err = server.New(cfg, server.Options{PinUpstreams: map[string]string{"demo.internal": "ftp://moved.corp"}})
	if err == nil || !strings.Contains(err.Error(), "host.upstream: scheme must be http or https") {
		t.Fatalf("pinning an invalid upstream: %v, want the admin API's validation error", err)
	}

	s, err := server.New(cfg, server.Options{DrainTimeout: time.Second, PinUpstreams: map[string]string{
		"demo.internal": moved.URL,
		"gone.internal": "http://gone.corp", // not stored: left alone
	}})
	if err != nil {
		t.Fatal(err)
	}
	var adminAddr string
	g.addr, adminAddr = serveOnFreePorts(t, s)

	resp, err := forward(t, g.as(t, "alice"), get("demo.internal", "/hello"))
	if err != nil || string(resp.GetBody()) != "moved" {
		t.Fatalf("alice's first request after the restart: %v, body %q; want the pinned upstream's answer", err, resp.GetBody())
	}
	if err := s.FlushAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body := adminCall(t, adminAddr, testViewerToken, "GET", "/v1/audit?kind=RECORD_KIND_ADMIN", "")
	var writes []string
	for _, r := range records(body) {
		writes = append(writes, r["principal"].(string)+":"+r["adminAction"].(string)+":"+r["adminTarget"].(string)+":"+r["code"].(string))
	}
	if got, want := strings.Join(writes, ","), "msg-gateway:UpdateHost:hosts/demo.internal:OK"; got != want {
		t.Errorf("admin records = %s, want %s", got, want)
	}
	_, body = adminCall(t, adminAddr, testViewerToken, "GET", "/v1/hosts", "")
	if got := mustJSON(body); !strings.Contains(got, `"upstream":"`+moved.URL+`"`) || strings.Contains(got, "gone.internal") {
		t.Errorf("hosts after pinning = %s", got)
	}
}

// serveOnFreePorts serves s on two free loopback ports until the test ends
// and returns the gRPC and admin addresses.
func serveOnFreePorts(t *testing.T, s *server.Server) (addr, adminAddr string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis, adminLis) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String(), adminLis.Addr().String()
}
