package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/authz"
	"github.com/msg-gateway/msg/client"
	"google.golang.org/grpc/codes"
)

// TestClientTransportAgainstGateway drives the real gateway through the app
// library with a plain http.Client, as an app would.
func TestClientTransportAgainstGateway(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	newClient := func(cn string) *http.Client {
		tr, err := client.New(g.addr, client.WithCertificate(g.identity(t, cn)), client.WithRootCAs(g.ca.Pool()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		return &http.Client{Transport: tr}
	}
	alice := newClient("alice")

	resp, err := alice.Post("https://demo.internal/items?q=1", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != "POST /base/items?q=1 payload" {
		t.Errorf("got %d %q, want 201 %q", resp.StatusCode, body, "POST /base/items?q=1 payload")
	}
	if got := resp.Header.Values("X-Multi"); strings.Join(got, ",") != "one,two" {
		t.Errorf("X-Multi = %v", got)
	}

	_, err = alice.Get("https://demo.internal/private/report")
	var cerr *client.Error
	if !errors.As(err, &cerr) || cerr.Code != codes.PermissionDenied || cerr.Reason != authz.ErrorReasonDenied {
		t.Fatalf("alice /private/: err = %v, want PermissionDenied with reason %s", err, authz.ErrorReasonDenied)
	}

	_, err = newClient("mallory").Get("https://demo.internal/hello")
	if client.CodeOf(err) != codes.PermissionDenied {
		t.Errorf("mallory: code = %v, want PermissionDenied", client.CodeOf(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://demo.internal/hello", nil)
	if _, err := alice.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: err = %v, want context.Canceled", err)
	}
}
