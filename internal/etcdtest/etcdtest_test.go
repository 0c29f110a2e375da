package etcdtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/etcdtest"
)

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := etcdtest.Start(t, nil)
	t.Logf("started in %v", time.Since(start))
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	start = time.Now()
	s.Restart()
	t.Logf("restarted in %v", time.Since(start))
	resp, err := c.Get(ctx, "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart: %v %v", resp, err)
	}
}
