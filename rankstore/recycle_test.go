package rankstore

import (
	"sync"
	"testing"
	"unsafe"
)

// TestRecycler: buffers are zeroed to their capacity and 64-byte aligned, as
// GoAllocator's, whether fresh or reused; a freed buffer is handed out again; Reallocate
// keeps the bytes; at most keep bytes wait; a buffer too large for a class is left to
// the collector.
func TestRecycler(t *testing.T) {
	r := newRecycler(64 << 10)
	check := func(b []byte, size int) {
		t.Helper()
		if len(b) != size {
			t.Fatalf("len %d, want %d", len(b), size)
		}
		if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 != 0 {
			t.Fatalf("a buffer of %d bytes is not aligned to 64", size)
		}
		for i, c := range b[:cap(b)] {
			if c != 0 {
				t.Fatalf("byte %d of a buffer of %d bytes (capacity %d) is %d, want zero", i, size, cap(b), c)
			}
		}
	}
	a := r.Allocate(5000)
	check(a, 5000)
	if cap(a) != 8192 {
		t.Fatalf("capacity %d for 5000 bytes, want its class's 8192", cap(a))
	}
	full := a[:cap(a)]
	for i := range full {
		full[i] = 0xff
	}
	r.Free(a)
	b := r.Allocate(7000)
	check(b, 7000)
	if unsafe.SliceData(b) != unsafe.SliceData(a) {
		t.Fatal("a freed buffer of the class was not handed out again")
	}
	b[0], b[6999] = 1, 2
	c := r.Reallocate(20000, b)
	if len(c) != 20000 || uintptr(unsafe.Pointer(unsafe.SliceData(c)))%64 != 0 {
		t.Fatalf("Reallocate(20000) gave %d bytes, at %p", len(c), unsafe.SliceData(c))
	}
	for i, v := range c[7000:cap(c)] {
		if v != 0 {
			t.Fatalf("byte %d past the copied ones is %d, want zero", 7000+i, v)
		}
	}
	if c[0] != 1 || c[6999] != 2 {
		t.Fatal("Reallocate lost the buffer's bytes")
	}
	if d := r.Reallocate(100, c); unsafe.SliceData(d) != unsafe.SliceData(c) || d[0] != 1 {
		t.Fatal("Reallocate to fewer bytes moved the buffer")
	}
	r.Free(c)
	// keep: 64 KiB wait at most.
	var bufs [][]byte
	for range 10 {
		bufs = append(bufs, r.Allocate(16<<10))
	}
	for _, b := range bufs {
		r.Free(b)
	}
	if r.held > r.keep {
		t.Fatalf("%d bytes kept, more than %d", r.held, r.keep)
	}
	big := r.Allocate(1<<recycleMaxClass + 1)
	r.Free(big)
	if r.held > r.keep || len(big) != 1<<recycleMaxClass+1 {
		t.Fatal("a buffer over the largest class was kept")
	}
	if z := r.Allocate(0); len(z) != 0 {
		t.Fatalf("Allocate(0) = %d bytes", len(z))
	}
}

// TestRecyclerConcurrent: buffers handed out at once never share memory (run with -race).
func TestRecyclerConcurrent(t *testing.T) {
	r := newRecycler(1 << 20)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				b := r.Allocate(4096 + i*37)
				for k := range b {
					b[k] = byte(g + 1)
				}
				for k := range b {
					if b[k] != byte(g+1) {
						t.Errorf("goroutine %d: byte %d changed under it", g, k)
						return
					}
				}
				r.Free(b)
			}
		})
	}
	wg.Wait()
}
