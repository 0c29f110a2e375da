package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/msg-gateway/msg/server/assertion"
)

// assertionKeyDirectory is a store that shares the fleet's assertion public
// keys (store.Etcd); the embedded store is one instance's and has none.
type assertionKeyDirectory interface {
	PublishAssertionKeys(ctx context.Context, instance string, jwks []byte, ttl time.Duration) error
	AssertionKeys(ctx context.Context) ([][]byte, error)
}

// fleetKeys publishes this instance's public assertion keys into the
// fleet's store and keeps the other instances' copies, so that every
// instance serves a JWKS with every key the fleet signs with. Private keys
// never leave the Signer.
type fleetKeys struct {
	signer   *assertion.Signer
	dir      assertionKeyDirectory
	instance string
	log      *slog.Logger

	mu     sync.Mutex
	others [][]byte // guarded by mu: the last read of the directory
}

func newFleetKeys(signer *assertion.Signer, dir assertionKeyDirectory, log *slog.Logger) *fleetKeys {
	id := make([]byte, 16)
	_, _ = rand.Read(id) // never fails (crypto/rand)
	return &fleetKeys{signer: signer, dir: dir, instance: hex.EncodeToString(id), log: log}
}

// handler serves the union of the fleet's keys.
func (f *fleetKeys) handler() http.Handler {
	return &assertion.Union{Signer: f.signer, Others: func() [][]byte {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.others
	}}
}

// run publishes and reads the fleet's keys until ctx ends: often enough
// against the rotation period that a key published a period before it
// signs is in every instance's JWKS well before its first token.
func (f *fleetKeys) run(ctx context.Context) {
	every := min(f.signer.RotationPeriod()/4, 5*time.Second)
	// The lease outlives this instance's last token by a margin, and is
	// renewed well before it lapses.
	lease := max(f.signer.RotationPeriod()+f.signer.TTL()+4*every, 10*time.Second)
	var published []byte
	var publishedAt time.Time
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		own := f.signer.JWKS()
		if !bytes.Equal(own, published) || time.Since(publishedAt) > lease/3 {
			if err := f.dir.PublishAssertionKeys(ctx, f.instance, own, lease); err != nil {
				f.log.Warn("assertion: publishing this instance's keys to the fleet", "err", err)
			} else {
				published, publishedAt = own, time.Now()
			}
		}
		if sets, err := f.dir.AssertionKeys(ctx); err != nil {
			f.log.Warn("assertion: reading the fleet's keys; serving the last read", "err", err)
		} else {
			f.mu.Lock()
			f.others = sets
			f.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
