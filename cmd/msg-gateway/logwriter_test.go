package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that the batch writer's timer and the test
// may use at once; writes counts the batches.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBatchWriterKeepsEveryLineInOrder: lines from many goroutines arrive
// whole, each exactly once, each goroutine's in its order, in fewer writes
// than lines; the timer writes a batch without a Close.
func TestBatchWriterKeepsEveryLineInOrder(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	w := newBatchWriter(out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", i%300))
			}
		}()
	}
	wg.Wait()
	// The timer flushes a batch by itself: wait for the last line.
	last := fmt.Sprintf("\"i\":%d,", lines-1)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), last) < writers {
		if time.Now().After(deadline) {
			t.Fatalf("the pending lines were not written without a Close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	for n, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g, i int
		if _, err := fmt.Sscanf(line, "{\"g\":%d,\"i\":%d,", &g, &i); err != nil {
			t.Fatalf("line %d is not whole: %q", n, line)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d lines arrived, want %d", g, n, lines)
		}
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.writes >= writers*lines {
		t.Errorf("%d writes for %d lines: not batched", out.writes, writers*lines)
	}
}

// TestBatchWriterCloseWritesPending: what is pending when serve returns
// reaches the output.
func TestBatchWriterCloseWritesPending(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	w := newBatchWriter(out)
	fmt.Fprintln(w, `{"msg":"gateway stopped"}`)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "{\"msg\":\"gateway stopped\"}\n" {
		t.Errorf("after Close: %q", got)
	}
}

// BenchmarkBatchWriter is the cost of one log line on the caller's side.
func BenchmarkBatchWriter(b *testing.B) {
	w := newBatchWriter(io.Discard)
	defer w.Close()
	line := []byte(`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"finished call","grpc.code":"OK"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = w.Write(line)
	}
}
