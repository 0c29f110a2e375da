package relay

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestDeclaredLength(t *testing.T) {
	t.Parallel()
	cl := func(v string) authz.Header { return authz.Header{Name: "Content-Length", Value: v} }
	other := authz.Header{Name: "X-Other", Value: "12"}
	tests := []struct {
		name    string
		headers []authz.Header
		want    int64
		wantErr bool
	}{
		{name: "none", headers: []authz.Header{other}, want: -1},
		{name: "zero", headers: []authz.Header{cl("0")}, want: 0},
		{name: "plain", headers: []authz.Header{other, cl("1048576")}, want: 1 << 20},
		{name: "leading zeros", headers: []authz.Header{cl("007")}, want: 7},
		{name: "eighteen digits", headers: []authz.Header{cl("999999999999999999")}, want: 999999999999999999},
		{name: "nineteen digits", headers: []authz.Header{cl("1000000000000000000")}, wantErr: true},
		{name: "overflow", headers: []authz.Header{cl("99999999999999999999999")}, wantErr: true},
		{name: "empty", headers: []authz.Header{cl("")}, wantErr: true},
		{name: "negative", headers: []authz.Header{cl("-1")}, wantErr: true},
		{name: "plus", headers: []authz.Header{cl("+5")}, wantErr: true},
		{name: "list", headers: []authz.Header{cl("5, 5")}, wantErr: true},
		{name: "inner space", headers: []authz.Header{cl("5 5")}, wantErr: true},
		{name: "hex", headers: []authz.Header{cl("0x10")}, wantErr: true},
		{name: "twice, same value", headers: []authz.Header{cl("5"), cl("5")}, wantErr: true},
		{name: "twice, different values", headers: []authz.Header{cl("5"), cl("6")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := declaredLength(tt.headers)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("declaredLength = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestStreamLimits(t *testing.T) {
	t.Parallel()
	host := func(mod func(h *adminv1.Host)) []*adminv1.Host {
		h := &adminv1.Host{Name: "a.internal", Upstream: "http://127.0.0.1:1", AllowedCidrs: []string{"127.0.0.0/8"}}
		mod(h)
		return []*adminv1.Host{h}
	}
	tests := []struct {
		name     string
		mod      func(h *adminv1.Host)
		want     StreamLimits
		wantPath string // the key a config error names
	}{
		{name: "defaults", mod: func(*adminv1.Host) {},
			want: StreamLimits{IdleTimeout: time.Minute, MaxDuration: time.Hour, MaxRequestBodyBytes: 1 << 30, MaxResponseBodyBytes: 1 << 30}},
		{name: "all set", mod: func(h *adminv1.Host) {
			h.StreamIdleTimeout = durationpb.New(5 * time.Second)
			h.MaxStreamDuration = durationpb.New(2 * time.Hour)
			h.MaxStreamRequestBodyBytes = 1 << 40
			h.MaxStreamResponseBodyBytes = 5
		}, want: StreamLimits{IdleTimeout: 5 * time.Second, MaxDuration: 2 * time.Hour, MaxRequestBodyBytes: 1 << 40, MaxResponseBodyBytes: 5}},
		{name: "idle zero", mod: func(h *adminv1.Host) { h.StreamIdleTimeout = durationpb.New(0) }, wantPath: "hosts[0].stream_idle_timeout"},
		{name: "idle negative", mod: func(h *adminv1.Host) { h.StreamIdleTimeout = durationpb.New(-time.Second) }, wantPath: "hosts[0].stream_idle_timeout"},
		{name: "idle too long", mod: func(h *adminv1.Host) { h.StreamIdleTimeout = durationpb.New(2 * time.Hour) }, wantPath: "hosts[0].stream_idle_timeout"},
		{name: "idle invalid", mod: func(h *adminv1.Host) { h.StreamIdleTimeout = &durationpb.Duration{Seconds: 1, Nanos: -1} }, wantPath: "hosts[0].stream_idle_timeout"},
		{name: "duration too long", mod: func(h *adminv1.Host) { h.MaxStreamDuration = durationpb.New(25 * time.Hour) }, wantPath: "hosts[0].max_stream_duration"},
		{name: "duration below 1ms", mod: func(h *adminv1.Host) { h.MaxStreamDuration = durationpb.New(time.Microsecond) }, wantPath: "hosts[0].max_stream_duration"},
		{name: "request bytes negative", mod: func(h *adminv1.Host) { h.MaxStreamRequestBodyBytes = -1 }, wantPath: "hosts[0].max_stream_request_body_bytes"},
		{name: "response bytes over 1 TiB", mod: func(h *adminv1.Host) { h.MaxStreamResponseBodyBytes = 1<<40 + 1 }, wantPath: "hosts[0].max_stream_response_body_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := NewTable(host(tt.mod))
			if tt.wantPath != "" {
				var te *fieldpath.Error
				if !errors.As(err, &te) || string(te.Path) != tt.wantPath {
					t.Fatalf("NewTable error = %v, want one naming %s", err, tt.wantPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer table.Close()
			up, _ := table.Lookup("a.internal")
			if up.Stream != tt.want {
				t.Errorf("Stream = %+v, want %+v", up.Stream, tt.want)
			}
		})
	}
}

// FuzzStreamHead drives a stream's request head through what the gateway
// does with it before any body byte is relayed: canonicalization, the
// declared body length and the header filter. Whatever the head, nothing may
// panic, an accepted length must be exactly what the single Content-Length
// header says, and the relayed headers never carry the app's framing.
func FuzzStreamHead(f *testing.F) {
	f.Add("demo.internal", "PUT", "/upload?x=1", "Content-Length", "1024", "X-A", "b")
	f.Add("demo.internal", "post", "/a/%2e%2e/b", "content-length", " 7 ", "Content-Length", "7")
	f.Add("demo.internal", "GET", "/", "Transfer-Encoding", "chunked", "Content-Length", "-1")
	f.Add("demo.internal:8080", "PATCH", "/x", "Content-Length", "99999999999999999999", "Connection", "Content-Length")
	f.Fuzz(func(t *testing.T, host, method, path, n1, v1, n2, v2 string) {
		head := &gatewayv1.RequestHead{Host: host, Method: method, Path: path, Headers: []*gatewayv1.Header{
			{Name: n1, Value: v1}, {Name: n2, Value: v2},
		}}
		creq, err := authz.Canonicalize(authz.HeadRequest(head), authz.Limits{MaxHeaderCount: 100, MaxHeaderBytes: 65536}, nil)
		if err != nil {
			return
		}
		if creq.Body != nil {
			t.Fatal("a head produced a body")
		}
		n, err := declaredLength(creq.Headers)
		var values []string
		for _, h := range creq.Headers {
			if h.Name == "Content-Length" {
				values = append(values, h.Value)
			}
		}
		switch {
		case err != nil:
			if n != 0 {
				t.Fatalf("declaredLength = %d with error %v", n, err)
			}
		case len(values) == 0:
			if n != -1 {
				t.Fatalf("declaredLength = %d without a Content-Length header", n)
			}
		default:
			if len(values) != 1 {
				t.Fatalf("declaredLength accepted %d Content-Length headers", len(values))
			}
			if n < 0 || strings.TrimLeft(values[0], "0") != strings.TrimLeft(strconv.FormatInt(n, 10), "0") {
				t.Fatalf("declaredLength(%q) = %d", values[0], n)
			}
		}
		out := FilterRequestHeaders(creq.Headers, authz.HostOptions{}, "X-Msg-Principal")
		for _, name := range []string{"Content-Length", "Transfer-Encoding", "Host", "Connection"} {
			if _, ok := out[name]; ok {
				t.Fatalf("the relayed headers carry the app's %s", name)
			}
		}
	})
}
