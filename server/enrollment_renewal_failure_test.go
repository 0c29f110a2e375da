package server_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/msg-gateway/msg/client"
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/enroll"
	"google.golang.org/grpc/codes"
)

// TestRenewalFailureSurfaced: when the gateway refuses a transport's
// renewal (the admin deleted the device), the transport retries with
// growing delays and reports the refusal through RenewalStatus and the
// handler: PermissionDenied with reason RENEWAL_REFUSED, the failures
// counted, the next attempt scheduled.
func TestRenewalFailureSurfaced(t *testing.T) {
	t.Parallel()
	g := startEnrollGateway(t, server.Options{})
	st, id := g.enrolled(t, `{"identity":{"commonName":"carol"},"certLifetime":"5s"}`)
	reports := make(chan client.RenewalStatus, 64)
	tr, err := client.New("", client.WithIdentityStore(st), client.WithRenewalHandler(func(s client.RenewalStatus) {
		select {
		case reports <- s:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, dev := adminCall(t, g.adminAddr, testViewerToken, "GET", "/v1/devices/"+id.DeviceID, "")
	etag := dev["device"].(map[string]any)["etag"].(string)
	if code, body := adminCall(t, g.adminAddr, testEditorToken, "DELETE", "/v1/devices/"+id.DeviceID+"?etag="+etag, ""); code != http.StatusOK {
		t.Fatalf("DELETE device: %d %v", code, body)
	}
	deadline := time.After(60 * time.Second) // a bound: the first attempt is at about 3.7s
	for {
		select {
		case s := <-reports:
			var cerr *client.Error
			if s.Err == nil || !errors.As(s.Err, &cerr) || cerr.Code != codes.PermissionDenied || cerr.Reason != enroll.ErrorReasonRenewalRefused {
				t.Fatalf("renewal report %+v, want PermissionDenied %s", s, enroll.ErrorReasonRenewalRefused)
			}
			if s.Failures >= 2 {
				if got := tr.RenewalStatus(); got.Failures < 2 || got.Err == nil || got.Renewals != 0 {
					t.Errorf("RenewalStatus() = %+v", got)
				}
				if s.NextAttempt.IsZero() && !errors.Is(s.Err, client.ErrCertificateExpired) {
					t.Errorf("no next attempt scheduled: %+v", s)
				}
				return
			}
		case <-deadline:
			t.Fatal("no second failed renewal reported")
		}
	}
}
