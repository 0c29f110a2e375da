package main

import (
	"io"
	"sync"
	"time"
)

// Log lines are written in batches: at most logFlushDelay after the first
// line of a batch, or at once when logBatchBytes are pending.
//
// The gateway logs one line per call. Written one by one, each line was a
// write syscall on the call's own goroutine, before gRPC could send the
// call's status: 1 of the 6 syscalls of a relayed small request and 4-6% of
// the gateway's CPU (docs/benchmarks/profiles.md). Batched, a busy gateway
// writes a few times per 50 ms, and the write is off the calls' path.
// Lines keep their order and are never split or dropped; what a crash of the
// process (not a panic in a call, which is recovered and logged) can lose is
// the last 50 ms of lines, less than the audit trail's batch.
const (
	logFlushDelay = 50 * time.Millisecond
	logBatchBytes = 256 << 10
)

// batchWriter buffers whole writes (slog writes one line per call) and
// writes them to out in batches. Close writes what is pending.
type batchWriter struct {
	out io.Writer

	mu      sync.Mutex
	pending []byte
	timer   *time.Timer // armed when a batch starts

	writeMu sync.Mutex // orders the writes to out; guards spare
	spare   []byte
}

func newBatchWriter(out io.Writer) *batchWriter {
	return &batchWriter{out: out}
}

func (w *batchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.pending = append(w.pending, p...)
	n := len(w.pending)
	if n == len(p) { // the first line of a batch
		if w.timer == nil {
			w.timer = time.AfterFunc(logFlushDelay, func() { _ = w.Flush() })
		} else {
			w.timer.Reset(logFlushDelay)
		}
	}
	w.mu.Unlock()
	if n >= logBatchBytes {
		if err := w.Flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes the pending lines.
func (w *batchWriter) Flush() error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	batch := w.pending
	w.pending = w.spare[:0]
	w.mu.Unlock()
	w.spare = batch[:0]
	if len(batch) == 0 {
		return nil
	}
	_, err := w.out.Write(batch)
	return err
}

// Close writes the pending lines and stops the timer. Lines written after
// Close are written at the next Flush.
func (w *batchWriter) Close() error {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	return w.Flush()
}
