package rankstore

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// recycler is the Arrow allocator of one save: it hands the buffers that the save's
// batches and their compression released back to the next batches, where Arrow's
// GoAllocator leaves each to the collector. A save of `complete` at 5.6M entries
// built and compressed ~4 GB of batches that way, each one garbage once written, and a
// final cycle's Flush grew the Go heap by what the collector let accumulate (~0.3 GB:
// the node's peak; BenchmarkFinalCycle). It is dropped with its save.
//
// Buffers come in power-of-two classes from 4 KiB (larger ones are left to the
// collector) and are zeroed when handed out, as fresh Go memory is, and aligned to 64
// bytes, as GoAllocator aligns them. At most keep bytes wait for reuse.
type recycler struct {
	mu   sync.Mutex
	free [recycleMaxClass + 1][][]byte
	held int // bytes in free
	keep int
}

const (
	recycleMinClass = 12 // 4 KiB
	recycleMaxClass = 28 // 256 MiB: a batch's buffers are a few MB
	recycleAlign    = 64
)

var _ memory.Allocator = (*recycler)(nil)

func newRecycler(keep int) *recycler { return &recycler{keep: keep} }

// class is the power of two of the smallest class that holds size bytes.
func recycleClass(size int) int {
	return max(recycleMinClass, bits.Len(uint(size-1)))
}

// Allocate returns size zeroed bytes, aligned to 64, of capacity their class's.
func (r *recycler) Allocate(size int) []byte {
	c := recycleClass(size)
	if size <= 0 || c > recycleMaxClass {
		return memory.DefaultAllocator.Allocate(size)
	}
	r.mu.Lock()
	if l := r.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		r.free[c] = l[:len(l)-1]
		r.held -= cap(b)
		r.mu.Unlock()
		clear(b[:cap(b)]) // zeroed to its capacity, as a fresh buffer: Reallocate may grow into it
		return b[:size]
	}
	r.mu.Unlock()
	n := 1 << c
	buf := make([]byte, n+recycleAlign)
	shift := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & (recycleAlign - 1))
	return buf[shift : shift+size : shift+n]
}

// Reallocate returns b grown or shrunk to size, its bytes kept: in place if its
// capacity holds size, else in a new buffer, and b freed.
func (r *recycler) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := r.Allocate(size)
	copy(nb, b)
	r.Free(b)
	return nb
}

// Free keeps b for reuse if it is one of this recycler's classes and there is room.
func (r *recycler) Free(b []byte) {
	n := cap(b)
	if n < 1<<recycleMinClass || n > 1<<recycleMaxClass || n&(n-1) != 0 {
		return // not one of ours (DefaultAllocator's): the collector's
	}
	c := bits.Len(uint(n)) - 1
	r.mu.Lock()
	if r.held+n <= r.keep {
		r.free[c] = append(r.free[c], b[:0])
		r.held += n
	}
	r.mu.Unlock()
}
