package server

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestIdentityLimitsBoundedAndKeyed(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	l := newIdentityLimits(1, 2, 1)
	l.now = func() time.Time { return now }
	l.maxEntries = 100

	busy, err := l.acquire("busy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.acquire("busy"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second in-flight request of busy: %v, want ResourceExhausted", err)
	}
	for i := range 1000 {
		release, err := l.acquire(fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
		if n := l.size(); n > l.maxEntries {
			t.Fatalf("%d entries after %d principals, want at most %d", n, i+1, l.maxEntries)
		}
	}
	// busy was never evicted: its release still counts, and its limit still
	// holds until then.
	if _, err := l.acquire("busy"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("busy after the flood: %v, want still at its in-flight limit", err)
	}
	busy()
	busy() // idempotent
	now = now.Add(time.Hour)
	release, err := l.acquire("busy")
	if err != nil {
		t.Fatalf("busy after release: %v", err)
	}
	release()

	// The bucket: burst 2, then a RetryInfo of about a second.
	fresh := newIdentityLimits(1, 2, 10)
	fresh.now = func() time.Time { return now }
	for i := range 2 {
		r, err := fresh.acquire("alice")
		if err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
		r()
	}
	_, err = fresh.acquire("alice")
	st := status.Convert(err)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	if st.Code() != codes.ResourceExhausted || retry == nil || retry.GetRetryDelay().AsDuration() <= 0 || retry.GetRetryDelay().AsDuration() > time.Second {
		t.Fatalf("over the burst: %v with RetryInfo %v, want ResourceExhausted and a delay in (0, 1s]", st, retry)
	}
	if r, err := fresh.acquire("bob"); err != nil {
		t.Fatalf("bob is limited by alice's bucket: %v", err)
	} else {
		r()
	}
	now = now.Add(time.Second)
	if r, err := fresh.acquire("alice"); err != nil {
		t.Fatalf("alice after her retry delay: %v", err)
	} else {
		r()
	}
}
