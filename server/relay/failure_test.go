package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// TestFailureKinds checks every kind of relay failure end to end: the status
// the app gets (code and fixed message, never the cause), the metric label,
// and the log line with the details.
func TestFailureKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind  failureKind
		code  codes.Code
		msg   string
		label ErrorKind
	}{
		{failInternal, codes.Internal, "internal error", ""},
		{failTimeout, codes.DeadlineExceeded, "upstream timed out", ErrorTimeout},
		{failCanceled, codes.Canceled, "request canceled", ErrorCanceled},
		{failDial, codes.Unavailable, "upstream unavailable", ErrorDial},
		{failTLS, codes.Unavailable, "upstream unavailable", ErrorTLS},
		{failBadResponse, codes.Unavailable, "upstream unavailable", ErrorOther},
		{failMidBody, codes.Unavailable, "upstream unavailable", ErrorOther},
		{failRequestTooLarge, codes.ResourceExhausted, "request body too large", ""},
		{failResponseTooLarge, codes.ResourceExhausted, "response body too large", ""},
		{failStreamIdle, codes.DeadlineExceeded, "stream idle timeout", ErrorTimeout},
		{failStreamDuration, codes.DeadlineExceeded, "stream duration limit reached", ErrorTimeout},
		// The app's own call ending reads as gRPC's status for its context.
		{failAppCanceled, codes.Canceled, status.FromContextError(context.Canceled).Message(), ErrorCanceled},
		{failAppDeadline, codes.DeadlineExceeded, status.FromContextError(context.DeadlineExceeded).Message(), ErrorCanceled},
		// The status gRPC gave the failed receive passes through.
		{failAppStream, codes.ResourceExhausted, "grpc: received message larger than max (9 vs. 8)", ""},
		{failSend, codes.Unavailable, "upstream unavailable", ""},
	}
	if len(tests) != int(numFailureKinds) {
		t.Fatalf("%d rows for %d kinds: every kind needs a row", len(tests), numFailureKinds)
	}
	for i, tt := range tests {
		if tt.kind != failureKind(i) {
			t.Fatalf("row %d is kind %d: keep the rows in the kinds' order", i, tt.kind)
		}
		t.Run(failureKinds[tt.kind].name, func(t *testing.T) {
			t.Parallel()
			cause := errors.New("dial tcp 10.9.8.7:8443: secret.corp.example refused")
			if tt.kind == failAppStream {
				cause = status.Error(codes.ResourceExhausted, tt.msg)
			}
			var logged bytes.Buffer
			r := New(nil, Options{Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			f := &failure{kind: tt.kind, host: "secret.internal", op: "round trip", err: cause}

			err := r.callError(context.Background(), f)
			st, ok := status.FromError(err)
			if !ok || st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("status = %v, want %v %q", err, tt.code, tt.msg)
			}
			if strings.Contains(st.Message(), "secret") {
				t.Errorf("the app reads the cause: %q", st.Message())
			}
			if got := status.Convert(f); got.Code() != tt.code || got.Message() != tt.msg {
				t.Errorf("an unconverted failure reads %v %q, want %v %q", got.Code(), got.Message(), tt.code, tt.msg)
			}
			if got := failureLabel(f); got != tt.label {
				t.Errorf("metric label = %q, want %q", got, tt.label)
			}
			for _, want := range []string{"host=secret.internal", `op="round trip"`, "code=" + tt.code.String(), "kind=" + string(tt.label), "10.9.8.7:8443"} {
				if tt.kind == failAppStream && want == "10.9.8.7:8443" {
					continue
				}
				if !strings.Contains(logged.String(), want) {
					t.Errorf("the log line lacks %s: %s", want, logged.String())
				}
			}
		})
	}
}

// TestCallErrorPassesStatusesFailsClosed checks what callError does with
// errors that are not failures: a status (authz's) reaches the app as it is,
// anything else becomes an internal error whose text only the log sees.
func TestCallErrorPassesStatusesFailsClosed(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	r := New(nil, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})

	denied := status.Error(codes.PermissionDenied, "permission denied")
	if err := r.callError(context.Background(), denied); err != denied {
		t.Errorf("callError(status) = %v, want it unchanged", err)
	}
	err := r.callError(context.Background(), errors.New("upstream secret.corp.example said no"))
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("callError(plain error) = %v, want Internal \"internal error\"", err)
	}
	if !strings.Contains(logged.String(), "secret.corp.example") {
		t.Errorf("the log lacks the plain error: %s", logged.String())
	}
	eof := &failure{kind: failAppStream, op: "receiving the request body", err: io.EOF}
	if st := status.Convert(r.callError(context.Background(), eof)); st.Code() != codes.Unknown || st.Message() != "EOF" {
		// Clients tell an old gateway by this status (see client/stream.go).
		t.Errorf("a stream that ends early reads %v %q, want Unknown \"EOF\"", st.Code(), st.Message())
	}
}

// TestStatusesBuiltInOneFile keeps the relay's gRPC statuses in failure.go:
// every other file reports a *failure (or passes authz's status on), so that
// how failures reach the app is decided in one place.
func TestStatusesBuiltInOneFile(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "failure.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"google.golang.org/grpc/status"` || imp.Path.Value == `"google.golang.org/grpc/codes"` {
				t.Errorf("%s imports %s: build statuses in failure.go", fset.Position(imp.Pos()), imp.Path.Value)
			}
		}
	}
}
