package store

import (
	"context"
	"sync"
)

// watcher is one Watch channel.
type watcher struct {
	ch   chan *Snapshot
	stop func() bool
}

// watchHub hands snapshots to Watch channels, latest wins.
type watchHub struct {
	mu       sync.Mutex
	closed   bool
	watchers map[*watcher]struct{}
}

func (h *watchHub) add(ctx context.Context) <-chan *Snapshot {
	w := &watcher{ch: make(chan *Snapshot, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(w.ch)
		return w.ch
	}
	h.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.drop(w)
	})
	return w.ch
}

// drop closes w once; h.mu is held.
func (h *watchHub) drop(w *watcher) {
	if _, ok := h.watchers[w]; !ok {
		return
	}
	delete(h.watchers, w)
	close(w.ch)
}

// notify replaces any unread snapshot of every watcher with s.
func (h *watchHub) notify(s *Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		select {
		case <-w.ch:
		default:
		}
		select {
		case w.ch <- s:
		default:
		}
	}
}

func (h *watchHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		w.stop()
		h.drop(w)
	}
}
