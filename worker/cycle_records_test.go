package worker

import (
	"testing"
	"time"
)

// TestInRun: inRun agrees with membership in every slice refreshSlice gives, wrapping
// included, for sizes around the share per cycle.
func TestInRun(t *testing.T) {
	w := &Worker{}
	for _, share := range []time.Duration{1, 3, 7, 20} {
		w.cfg.Interval, w.cfg.Refresh = time.Second, share*time.Second
		for _, n := range []int{1, 2, 5, 13, 64} {
			cursor := 0
			for round := range 3 * n {
				run := w.refreshSlice(&cursor, n)
				in := map[int]bool{}
				for _, i := range run {
					in[i] = true
				}
				for i := range n {
					if got := inRun(run, i, n); got != in[i] {
						t.Fatalf("refresh %v, n %d, round %d: inRun(%v, %d) = %v, want %v", share, n, round, run, i, got, in[i])
					}
				}
			}
		}
	}
	if inRun(nil, 0, 3) {
		t.Fatal("inRun of an empty run is true")
	}
}
