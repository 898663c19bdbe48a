//go:build linux

package worker

import (
	"syscall"
	"unsafe"
)

// adviseHuge backs the n bytes at p (fresh, zero memory of a new table's slots) with
// transparent huge pages where it can: a replay probes its entry and team tables (tens
// to hundreds of MB at 5.6M entries) at random slots, and with 4 KB pages almost every
// probe also misses the TLB (on a virtual machine a miss walks two levels of page
// tables; the node's profile showed the prefetched slots' loads still ~50 ns each).
//
// Kernels set to transparent_hugepage=madvise (the usual default) give huge pages only
// to memory advised so. It advises the range (MADV_HUGEPAGE), writes a zero byte into
// each 2 MB-aligned part of it, so that the page fault maps a huge page there if the
// part is not mapped yet (memory the Go heap reuses is mapped already, in 4 KB pages:
// nothing changes), then advises the range MADV_NOHUGEPAGE: the huge pages stay, but
// once the Go heap frees the slots and reuses their memory for other objects, no later
// fault there maps 2 MB for a few bytes, nor does khugepaged collapse it (Go's own heap
// takes no huge pages on such a kernel either). It costs no memory: the slots are
// probed all over, so every page of them is touched within the first few thousand keys
// anyway. The advice is a hint: an error (an old kernel, a range the kernel refuses)
// changes nothing else and is ignored.
func adviseHuge(p unsafe.Pointer, n uintptr) {
	const page, huge = 4096, 2 << 20
	skip := (page - uintptr(p)%page) % page // madvise wants a page-aligned start
	if n < skip+huge {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, skip)), n-skip)
	if syscall.Madvise(b, syscall.MADV_HUGEPAGE) != nil {
		return
	}
	first := (huge - uintptr(p)%huge) % huge
	for off := first; off+huge <= n; off += huge {
		*(*byte)(unsafe.Add(p, off)) = 0
	}
	_ = syscall.Madvise(b, syscall.MADV_NOHUGEPAGE)
}
