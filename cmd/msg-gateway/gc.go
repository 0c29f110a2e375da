package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The garbage collector's pace. Go's default (GOGC=100) lets the heap grow
// by as much as is live before collecting again. A gateway relaying small
// requests has little live heap (a few MiB) and allocates a few KiB per
// request, so the default collected every few thousand requests and GC was
// an eighth of the gateway's CPU (docs/benchmarks/profiles.md). With many
// idle connections the live heap is large and the default slack is already
// generous, and there a higher GOGC would only cost memory.
//
// So the pace follows the live heap: GOGC is the default 100, raised so
// that the heap may grow by at least gcHeadroom over what is live, up to
// gcMaxPercent. It is checked every gcRetune. An operator who sets GOGC in
// the environment keeps it.
const (
	gcHeadroom   = 48 << 20
	gcMaxPercent = 800
	gcRetune     = time.Second
)

// gcPercentFor is the GOGC for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	p := int(min(uint64(gcMaxPercent), gcHeadroom*100/live))
	return max(100, p)
}

// paceGC sets the GC percent from the live heap until ctx is done.
func paceGC(ctx context.Context, log *slog.Logger) {
	if os.Getenv("GOGC") != "" {
		log.Info("gc: GOGC set in the environment; pace left to it", "GOGC", os.Getenv("GOGC"))
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := -1
	t := time.NewTicker(gcRetune)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			// Move only on a change of more than a tenth: each call takes
			// the heap lock.
			if p := gcPercentFor(sample[0].Value.Uint64()); current < 0 || p > current*11/10 || p < current*9/10 {
				debug.SetGCPercent(p)
				current = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
