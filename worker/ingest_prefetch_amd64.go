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

// prefetchAll is prefetch of every pointer of ps, in one call: touchAhead gathers a
// span's slots first. A call to an assembly function goes through a wrapper and makes
// the caller keep its live values on the stack around it; three calls (and three
// calls of table.touch, too large to inline with one) an event were ~60 ns of it.
//
//go:noescape
func prefetchAll(ps []unsafe.Pointer)
