//go:build !(linux || darwin)

package rankstore

// newOffheap returns a heap of Go memory where there is no mmap: its chunks are the
// collector's once the heap is.
func newOffheap() *offheap { return &offheap{} }

func mapChunk(size int) []byte { return make([]byte, size) }

func unmapChunk([]byte) {}
