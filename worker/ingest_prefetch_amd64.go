//go:build amd64

package worker

import "unsafe"

// prefetch asks the CPU to bring the cache line at p into its caches (PREFETCHT0). Unlike
// a load, it waits for nothing: a load that misses holds up every instruction after it
// from retiring, so the loads of touchAhead overlapped only as many misses as the reorder
// buffer holds events' work; prefetches of a whole span are in flight at once.
//
//go:noescape
func prefetch(p unsafe.Pointer)
