package hugepage

import "testing"

// TestAdvise: advising slices of every size and element type leaves them usable and
// their contents intact (the advice is a hint; there is nothing else to observe
// portably).
func TestAdvise(t *testing.T) {
	Advise([]uint16(nil))
	small := make([]byte, 100)
	Advise(small)
	big := make([]uint64, 1<<20) // 8 MiB
	Advise(big)
	for i := range big {
		big[i] = uint64(i)
	}
	Advise(big[1:1000]) // an unaligned inner slice
	for i, v := range big {
		if v != uint64(i) {
			t.Fatalf("element %d changed to %d", i, v)
		}
	}
}
