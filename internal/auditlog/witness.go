package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// witnessTimeout bounds one POST to a witness.
const witnessTimeout = 10 * time.Second

// witnessQueue is how many checkpoints may wait for a slow witness; beyond
// it the oldest waiting ones are dropped, since each checkpoint covers
// everything the earlier ones did.
const witnessQueue = 16

// Witness hands every checkpoint the log signs to copies outside the
// gateway's data directory, which an attacker who can rewrite that
// directory does not control: a file the checkpoints are appended to, and
// a URL they are POSTed to. Delivery runs on its own goroutine, so a slow
// witness never holds up the audit writer.
type Witness struct {
	file   *os.File
	url    string
	client *http.Client
	log    *slog.Logger
	notes  chan []byte
	done   chan struct{}
}

// NewWitness opens the witness file (created 0600, appended to) and
// prepares the URL; either may be empty. Nil when both are.
func NewWitness(file, url string, log *slog.Logger) (*Witness, error) {
	if file == "" && url == "" {
		return nil, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Witness{url: url, log: log, notes: make(chan []byte, witnessQueue), done: make(chan struct{})}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		w.file = f
	}
	if url != "" {
		// Like the relay, the witness never goes through an environment
		// proxy: the config names where checkpoints go.
		w.client = &http.Client{Timeout: witnessTimeout, Transport: &http.Transport{Proxy: nil, TLSHandshakeTimeout: witnessTimeout}}
	}
	go w.run()
	return w, nil
}

// Checkpoint queues a signed checkpoint for delivery. It never blocks.
func (w *Witness) Checkpoint(note []byte) {
	for {
		select {
		case w.notes <- note:
			return
		default:
		}
		select {
		case old := <-w.notes:
			w.log.Warn("audit witness: behind; an older checkpoint was not delivered", "note_bytes", len(old))
		default:
		}
	}
}

// Close delivers what is queued (within ctx) and closes the file.
func (w *Witness) Close(ctx context.Context) error {
	if w == nil {
		return nil
	}
	close(w.notes)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.log.Warn("audit witness: checkpoints left undelivered at shutdown")
	}
	if w.file != nil {
		return w.file.Close()
	}
	return nil
}

func (w *Witness) run() {
	defer close(w.done)
	for note := range w.notes {
		if w.file != nil {
			if err := w.append(note); err != nil {
				w.log.Error("audit witness: appending to the file failed", "error", err.Error())
			}
		}
		if w.client != nil {
			if err := w.post(note); err != nil {
				w.log.Warn("audit witness: POST failed; the next checkpoint will be sent", "url", w.url, "error", err.Error())
			}
		}
	}
}

// append writes the note and a blank line, durably: the file is the copy
// that outlives a rewritten data directory.
func (w *Witness) append(note []byte) error {
	if _, err := w.file.Write(append(append([]byte(nil), note...), '\n')); err != nil {
		return err
	}
	return w.file.Sync()
}

func (w *Witness) post(note []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), witnessTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(note))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
