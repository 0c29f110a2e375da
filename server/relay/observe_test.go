package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClassify drives a real transport into each kind of failure and checks
// the kind the relay reports (and so the metric label and the status code).
func TestClassify(t *testing.T) {
	t.Parallel()
	refused := func() string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		return "http://" + addr + "/"
	}()
	tlsServer := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(hangup.Close)

	tests := []struct {
		name    string
		url     string
		tlsConf *tls.Config
		ctx     func() (context.Context, context.CancelFunc)
		want    ErrorKind
	}{
		{"connection refused", refused, nil, nil, ErrorDial},
		{"unknown CA", tlsServer.URL, &tls.Config{MinVersion: tls.VersionTLS12}, nil, ErrorTLS},
		{"wrong server name", tlsServer.URL, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: certPool(tlsServer), ServerName: "other.example"}, nil, ErrorTLS},
		{"deadline", slow.URL, nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, ErrorTimeout},
		{"canceled", slow.URL, nil, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, ErrorCanceled},
		{"upstream hung up", hangup.URL, nil, nil, ErrorOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			tr := newTransport(tt.tlsConf, (&net.Dialer{Timeout: 5 * time.Second}).DialContext)
			defer tr.CloseIdleConnections()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the exchange succeeded")
			}
			if got := classify(ctx, err); got != tt.want {
				t.Errorf("classify(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}
	if got := classify(context.Background(), &RefusedAddrError{}); got != ErrorDial {
		t.Errorf("classify(refused address) = %q, want %q", got, ErrorDial)
	}
	if got := classify(context.Background(), errors.New("something else")); got != ErrorOther {
		t.Errorf("classify(other) = %q, want %q", got, ErrorOther)
	}
}

func certPool(s *httptest.Server) *x509.CertPool {
	return s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
}
