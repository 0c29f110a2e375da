package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/msg-gateway/msg/client"
	"github.com/msg-gateway/msg/internal/mobilelink"
	"google.golang.org/grpc/codes"
)

// TestDrainAndRestartBehindMobileLink runs the real gateway as a child
// process behind the emulated mobile link and restarts it (SIGTERM, drain,
// exit, a new process on a new port that the link is pointed at, as a load
// balancer would) while apps loop over GETs and POSTs through the Go client.
// No GET may fail: a call the drain cut off or that found the gateway down
// is sent again once it is back. A POST may fail only with Unavailable and
// only if the internal host never saw it; a POST that succeeded reached it
// exactly once.
func TestDrainAndRestartBehindMobileLink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway as a child process")
	}
	t.Parallel()
	var (
		mu       sync.Mutex
		received = map[string]int{} // X-Seq -> requests the internal host got
	)
	f := newServeFixture(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received[r.Header.Get("X-Seq")]++
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(100 * time.Millisecond) // so that calls are in flight at the signal
		fmt.Fprint(w, "slow ok")
	})
	first, _, addr := startServe(t, f.cfgPath)
	link, err := mobilelink.Listen("127.0.0.1:0", mobilelink.Config{
		Target: addr, RTT: mobilelink.Duration(60 * time.Millisecond), Jitter: mobilelink.Duration(10 * time.Millisecond),
		UplinkBPS: 1_000_000, DownlinkBPS: 5_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	tr, err := client.New(link.Addr(), client.WithCertificate(f.alice), client.WithRootCAs(f.ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })

	type outcome struct {
		seq, method string
		start, end  time.Time
		err         error
	}
	var (
		outcomes  []outcome
		restarted atomic.Bool
		okAfter   atomic.Int64 // successes after the new gateway is up
		okBefore  = make(chan struct{}, 1000)
		wg        sync.WaitGroup
		seq       atomic.Int64
	)
	worker := func(method string) {
		for okAfter.Load() < 30 {
			n := seq.Add(1)
			if n > 2000 {
				t.Error("the loop did not recover")
				return
			}
			id := fmt.Sprintf("%s-%d", method, n)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader("order " + id)
			}
			req, _ := http.NewRequestWithContext(ctx, method, "https://slow.internal/orders", body)
			req.Header.Set("X-Seq", id)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && string(b) != "slow ok" {
					err = fmt.Errorf("body %q", b)
				}
			}
			cancel()
			mu.Lock()
			outcomes = append(outcomes, outcome{id, method, start, time.Now(), err})
			mu.Unlock()
			if err == nil {
				if restarted.Load() {
					okAfter.Add(1)
				} else {
					select {
					case okBefore <- struct{}{}:
					default:
					}
				}
			}
		}
	}
	for _, m := range []string{"GET", "GET", "GET", "POST", "POST"} {
		wg.Go(func() { worker(m) })
	}
	for range 10 {
		select {
		case <-okBefore:
		case <-time.After(30 * time.Second):
			t.Fatal("no load got through before the restart")
		}
	}
	signalled := time.Now()
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, first, 30*time.Second); code != 0 {
		t.Errorf("the first gateway exited with %d, want 0", code)
	}
	// A restart takes a while (a new host, the store to open): requests
	// keep coming meanwhile.
	time.Sleep(time.Second)
	_, _, addr = startServe(t, f.cfgPath)
	cfg := link.Config()
	cfg.Target = addr
	if err := link.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	restarted.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var gets, posts, postsFailed, inFlight, duringOutage int
	for _, o := range outcomes {
		if o.start.Before(signalled) && o.end.After(signalled) {
			inFlight++
		}
		if o.start.After(signalled) && o.start.Before(back) {
			duringOutage++
		}
		n := received[o.seq]
		switch {
		case o.method == "GET":
			gets++
			if o.err != nil {
				t.Errorf("GET %s failed: %v", o.seq, o.err)
			}
		case o.err == nil:
			posts++
			if n != 1 {
				t.Errorf("POST %s succeeded and reached the internal host %d times, want once", o.seq, n)
			}
		default:
			posts++
			postsFailed++
			if client.CodeOf(o.err) != codes.Unavailable || n != 0 {
				t.Errorf("POST %s failed with %v and reached the internal host %d times; want Unavailable and never", o.seq, o.err, n)
			}
		}
	}
	t.Logf("across the restart: %d GETs (none may fail), %d POSTs (%d failed, never sent); %d in flight at SIGTERM, %d begun while the gateway was away (%v)",
		gets, posts, postsFailed, inFlight, duringOutage, back.Sub(signalled).Round(time.Millisecond))
	if inFlight == 0 || duringOutage == 0 {
		t.Errorf("%d calls in flight at the signal and %d begun during the outage: the test proved nothing", inFlight, duringOutage)
	}
}
