//go:build linux || darwin

package rankstore

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// newOffheap returns a heap whose chunks are anonymous private mappings.
func newOffheap() *offheap {
	return &offheap{advise: func(b []byte) {
		// DONTNEED: the pages are dropped now (the resident set shrinks at once) and read
		// as zeros until written again. An error leaves them resident: nothing is lost.
		_ = unix.Madvise(b, unix.MADV_DONTNEED)
	}}
}

// mapChunk maps size bytes of anonymous memory. A machine out of address space or
// memory is as fatal here as for the Go heap.
func mapChunk(size int) []byte {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("rankstore: cannot map %d bytes of slab memory: %v (the machine is out of memory: give the node more, or fewer entries)", size, err))
	}
	return b
}

func unmapChunk(b []byte) { _ = unix.Munmap(b) }
