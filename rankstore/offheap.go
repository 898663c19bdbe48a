package rankstore

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Slab memory outside the Go heap.
//
// The store's slabs are most of a node's memory (~200 B an entry at 5.6M entries, two
// thirds of its live heap), and Go's collector sets its next target in proportion to the
// live heap (GOGC): on the Go heap the slabs bought half their size again of headroom
// (`--gc-percent` 50), and the slabs a cycle's rewrites leave behind were garbage the
// collector had to find. Held here, they are memory the collector neither counts nor
// scans: the heap's target follows the rest of the node, and a cycle's rewrites reuse
// the blocks the last one freed.
//
// A shard's index table of minMappedSlots slots or more is mapped on its own too, and
// unmapped when the table grows (its slots are only read under the shard's lock).
//
// A namespace has one heap. Blocks are powers of two from minSlab to maxSlab (the slab
// sizes table.alloc asks for; a record larger than maxSlab gets a Go slice, as before),
// carved from maxSlab chunks mapped from the OS (mmap: untouched pages cost no memory)
// and kept on a free list per size when dropped. A freed block of blockAdvise bytes or
// more is given back to the OS (madvise DONTNEED: it stays mapped and reads as zeros
// until written again), so a namespace that shrinks (a sweep of expired records, a
// completed match's deletions) returns its memory; smaller ones (the hot class's 4 KiB
// slabs, which the next cycle reuses) stay resident.
//
// Nothing outside the store holds a slab's bytes: every read copies what it returns
// under its shard's lock (Store.GetPacked, Lookup, Mutate), so a block is free to be
// reused the moment its slab is dropped. The mappings are unmapped when the namespace
// is collected (runtime.AddCleanup in newNamespace): no shard of it can then be locked,
// so nothing can read them.
type offheap struct {
	mu     sync.Mutex
	free   [classes][][]byte // free blocks by class (their length is 0, their capacity the class's size)
	chunks [][]byte          // every mapping of blocks, for release
	// tables: the shards' index tables mapped whole (allocSlots), by their first slot.
	tables map[*slot][]byte
	// mapped counts the bytes mapped, inUse those in blocks handed out, tabled those of
	// the mapped index tables (for tests, benchmarks and metrics).
	mapped, inUse, tabled atomic.Int64
	// advise gives a freed block's pages back to the OS: nil where there is no mmap (the
	// blocks are then Go memory, and a dropped one is the collector's).
	advise func([]byte)
	// spill, for a namespace on disk, is the file its chunks are carved from
	// (spill_linux.go); nil: anonymous memory. spillErr is the first failure to grow it
	// (the chunks are then anonymous), reported once by spillFailed.
	spill            *spill
	spillErr         error
	spillErrReported bool
}

const (
	minClassShift = 12 // minSlab
	maxClassShift = 20 // maxSlab
	classes       = maxClassShift - minClassShift + 1
	// blockAdvise: a freed block this large goes back to the OS at once (one system
	// call per 64 KiB or more freed: a compaction's or a sweep's, never a cycle's hot
	// slabs).
	blockAdvise = 64 << 10
)

func init() {
	if minSlab != 1<<minClassShift || maxSlab != 1<<maxClassShift || hotSlab < minSlab {
		panic("BUG: rankstore: the off-heap classes do not match the slab sizes")
	}
}

// class is the block class of a slab of size bytes (1 <= size <= maxSlab).
func class(size int) int {
	c := bits.Len(uint(size-1)) - minClassShift
	return max(c, 0)
}

// alloc returns a block of at least size bytes (length 0), or a Go slice for a size
// over maxSlab.
func (h *offheap) alloc(size int) []byte {
	if size > maxSlab {
		return make([]byte, 0, size)
	}
	c := class(size)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.free[c]) == 0 {
		h.carve(c)
	}
	k := len(h.free[c]) - 1
	b := h.free[c][k]
	h.free[c][k] = nil
	h.free[c] = h.free[c][:k]
	h.inUse.Add(int64(cap(b)))
	return b
}

// held is the bytes of the heap in use: blocks handed out and mapped index tables (free
// blocks are mapped too; the large ones are given back to the OS).
func (h *offheap) held() int64 { return h.inUse.Load() + h.tabled.Load() }

// carve maps a chunk and cuts it into blocks of class c.
func (h *offheap) carve(c int) {
	var chunk []byte
	if h.spill != nil && h.spillErr == nil {
		chunk, h.spillErr = h.spill.chunk()
	}
	if chunk == nil {
		chunk = mapChunk(maxSlab)
		h.chunks = append(h.chunks, chunk)
	}
	h.mapped.Add(maxSlab)
	size := 1 << (c + minClassShift)
	for off := maxSlab - size; off >= 0; off -= size {
		h.free[c] = append(h.free[c], chunk[off:off:off+size])
	}
}

// release takes back a block alloc returned; b's bytes must not be used again.
func (h *offheap) release(b []byte) {
	if cap(b) > maxSlab {
		return // a Go slice: the collector's
	}
	b = b[:0:cap(b)]
	c := class(cap(b))
	if 1<<(c+minClassShift) != cap(b) {
		panic(fmt.Sprintf("BUG: rankstore: a block of %d bytes is not one of the heap's", cap(b)))
	}
	if cap(b) >= blockAdvise && h.advise != nil {
		h.advise(b[:cap(b)])
	}
	h.inUse.Add(-int64(cap(b)))
	h.mu.Lock()
	h.free[c] = append(h.free[c], b)
	h.mu.Unlock()
}

// minMappedSlots: an index table this large (64 KiB) or larger is mapped on its own;
// a smaller one is a Go slice.
const minMappedSlots = 8 << 10

// allocSlots returns an index table of n empty slots. The shards' tables are ~15 bytes a
// record (the rest of the store's memory), and each growth leaves the old one behind.
func (h *offheap) allocSlots(n int) []slot {
	if n < minMappedSlots || h.advise == nil {
		return make([]slot, n)
	}
	b := mapChunk(n * int(unsafe.Sizeof(slot(0)))) // zeroed: every slot empty
	t := unsafe.Slice((*slot)(unsafe.Pointer(unsafe.SliceData(b))), n)
	h.mu.Lock()
	if h.tables == nil {
		h.tables = map[*slot][]byte{}
	}
	h.tables[&t[0]] = b
	h.mu.Unlock()
	h.mapped.Add(int64(len(b)))
	h.tabled.Add(int64(len(b)))
	return t
}

// releaseSlots unmaps a table allocSlots returned; its slots must not be used again.
func (h *offheap) releaseSlots(t []slot) {
	if len(t) == 0 {
		return
	}
	h.mu.Lock()
	b, ok := h.tables[&t[0]]
	delete(h.tables, &t[0])
	h.mu.Unlock()
	if ok { // else a Go slice: the collector's
		h.mapped.Add(-int64(len(b)))
		h.tabled.Add(-int64(len(b)))
		unmapChunk(b)
	}
}

// faultAround is what one read of a record in a heap on disk is counted as (touch): a
// read fault maps up to 16 pages around it (the kernel's fault-around).
const faultAround = 64 << 10

// touch counts n bytes written or read in the heap's blocks: a heap on disk drops its
// pages from the process every spillEvict bytes (spill.touch).
func (h *offheap) touch(n int) {
	if h.spill != nil {
		h.spill.touch(n)
	}
}

// dropRead drops the pages of block b, just read whole, from the process, where they
// are a file's (a heap on disk: spill.drop); elsewhere it does nothing.
func (h *offheap) dropRead(b []byte) {
	if h.spill != nil {
		h.spill.drop(b)
	}
}

// readAhead reads block b's pages into the page cache ahead of a read of it whole, where
// they are a file's (spill.readAhead); elsewhere it does nothing.
func (h *offheap) readAhead(b []byte) {
	if h.spill != nil {
		h.spill.readAhead(b)
	}
}

// spillFailed returns, once, why the heap's file could not grow (nil: it could, or
// there is none).
func (h *offheap) spillFailed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.spillErr == nil || h.spillErrReported {
		return nil
	}
	h.spillErrReported = true
	return h.spillErr
}

// unmap releases every mapping: called when nothing can read them any more.
func (h *offheap) unmap() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.spill != nil {
		h.spill.close()
	}
	for _, c := range h.chunks {
		unmapChunk(c)
	}
	for _, b := range h.tables {
		unmapChunk(b)
	}
	h.tables = nil
	h.chunks = nil
	h.free = [classes][][]byte{}
	h.mapped.Store(0)
	h.inUse.Store(0)
	h.tabled.Store(0)
}
