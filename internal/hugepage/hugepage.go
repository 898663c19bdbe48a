// Package hugepage asks the kernel to back large, randomly accessed arrays with
// transparent huge pages. The engine's per-entry gather reads a team table of tens of
// megabytes at random: with 4 KiB pages nearly every read misses the TLB, and a profile
// at 56M entries showed that miss, not the cache, dominating the cycle. With 2 MiB pages
// a 20 MB table needs ten TLB entries.
//
// Advise is best effort: where the kernel has no transparent huge pages (or another
// OS), it does nothing and the program is merely slower.
package hugepage

import "unsafe"

// minBytes is the smallest slice worth advising: below a huge page there is nothing to gain.
const minBytes = 2 << 20

// Advise marks the memory behind s for huge pages. Call it right after allocating s and
// before writing it, so the first touch faults in huge pages. It never changes s.
func Advise[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	n := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if n < minBytes {
		return
	}
	advise(uintptr(unsafe.Pointer(unsafe.SliceData(s))), n)
}
