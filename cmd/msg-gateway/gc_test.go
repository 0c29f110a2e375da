package main

import "testing"

// TestGCPercentFor: the default pace for a large live heap, at least
// gcHeadroom of growth for a small one, never more than gcMaxPercent.
func TestGCPercentFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		live uint64
		want int
	}{
		{"nothing live yet", 0, gcMaxPercent},
		{"tiny heap: capped", 1 << 20, gcMaxPercent},
		{"headroom is twice the live heap", gcHeadroom / 2, 200},
		{"headroom equals the live heap", gcHeadroom, 100},
		{"large heap (idle connections): the default", 400 << 20, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gcPercentFor(tt.live); got != tt.want {
				t.Errorf("gcPercentFor(%d) = %d, want %d", tt.live, got, tt.want)
			}
		})
	}
}
