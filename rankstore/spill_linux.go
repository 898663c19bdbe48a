//go:build linux

package rankstore

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// spill is the file a disk namespace's slabs are carved from (DESIGN: complete is on
// disk): the heap's chunks are pages of one file in the data dir, mapped shared, rather
// than anonymous memory. The node holds the namespace's index (its tables stay
// anonymous, ~15 bytes a record); the records' bytes are the file's, which the OS caches
// in its page cache as it would any file's and writes back in its own time.
//
// A shared mapping keeps what is written in the page cache when its pages are dropped
// from the process (madvise DONTNEED zaps the page table entries; the dirty pages go back
// to the file), so the store drops them every spillEvict bytes written or read (touch):
// a final cycle that writes a match's standings holds ~spillEvict of them at a time, not
// the match's whole standings beside its live copy. A later read faults its page back in
// from the page cache, or from the disk once the OS has reclaimed it.
//
// The file is not the namespace's persistence (complete.arrow is: persist.go): it is
// unlinked as soon as it is created, so a crash leaves nothing behind, and its space goes
// back to the file system when the namespace is collected. Its segments are reserved
// with fallocate, so that a full disk is an error when the file grows (the heap then
// maps anonymous memory, and the store logs it once) rather than a SIGBUS when a page is
// first written.
type spill struct {
	f       *os.File
	fd      int
	touched atomic.Int64
	evicted atomic.Int64  // unix ns of the last drop (touch)
	every   int64         // spillEvict; smaller in tests
	after   time.Duration // spillEvictAfter; longer in tests
	mu      sync.Mutex
	segs    [][]byte // the file's mappings, spillSegment bytes each
	used    int      // bytes of the last segment handed out as chunks
}

const (
	// spillSegment: the file grows, and is mapped, 64 MiB at a time (~25 mappings for a
	// 5.6M-entry match's standings).
	spillSegment = 64 << 20
	// spillEvict: the bytes written or read since the last drop that a namespace may
	// count before it drops its pages (a drop is a madvise a segment: ~25 system calls
	// at 5.6M entries, and the writers fault their slabs' current pages in again). What
	// is mapped is several times what is counted: the kernel maps the page cache's
	// pages around a fault (fault-around, large folios), and each of a Put's writes
	// lands in its shard's slab. At 64 MiB a final cycle at 5.6M held 140-240 MB of
	// the file's pages, at 16 MiB 100-400 MB; two writers of 1M records each held 60 MB
	// at 16 MiB, 35 at 4, 20 at 1 (and took 1.7x as long).
	spillEvict = 4 << 20
	// spillEvictAfter: the longest a touched page stays mapped while the store is used.
	spillEvictAfter = 100 * time.Millisecond
)

// newSpill creates dir's slab file (unlinked at once: nothing to clean after a crash).
func newSpill(dir string) (*spill, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create store directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "complete.slabs-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create the complete namespace's slab file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot unlink the complete namespace's slab file: %w", err)
	}
	return &spill{f: f, fd: int(f.Fd()), every: spillEvict, after: spillEvictAfter}, nil
}

// chunk returns maxSlab bytes of the file, mapped shared, growing the file by a segment
// when the last one is used up.
func (s *spill) chunk() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 || s.used+maxSlab > spillSegment {
		off := int64(len(s.segs)) * spillSegment
		if err := unix.Fallocate(s.fd, 0, off, spillSegment); err != nil {
			if !errors.Is(err, unix.EOPNOTSUPP) {
				return nil, fmt.Errorf("cannot grow the complete namespace's slab file to %d bytes: %w", off+spillSegment, err)
			}
			// A file system without fallocate: a sparse file, whose blocks are allocated
			// as pages are written back.
			if err := s.f.Truncate(off + spillSegment); err != nil {
				return nil, fmt.Errorf("cannot grow the complete namespace's slab file to %d bytes: %w", off+spillSegment, err)
			}
		}
		b, err := unix.Mmap(s.fd, off, spillSegment, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("cannot map the complete namespace's slab file: %w", err)
		}
		// Page by page: without it a write fault mapped several times the pages written
		// (the kernel reads a fault's neighbours ahead into large folios and maps them
		// with it): two writers of 2M records held 24-35 MB of the file mapped between
		// drops, 4 MB with it, in the same time (docs/PERFORMANCE.md). A save reads its
		// slabs ahead itself (readAhead).
		if err := unix.Madvise(b, unix.MADV_RANDOM); err != nil {
			unix.Munmap(b)
			return nil, fmt.Errorf("cannot advise the complete namespace's slab file mapping: %w", err)
		}
		s.segs = append(s.segs, b)
		s.used = 0
	}
	c := s.segs[len(s.segs)-1][s.used : s.used+maxSlab : s.used+maxSlab]
	s.used += maxSlab
	return c, nil
}

// touch counts n bytes written or read through the mappings, and drops every page of
// them from the process once spillEvict have been. Safe under any shard's lock: a page
// dropped while another goroutine writes it keeps what was written (a shared mapping).
func (s *spill) touch(n int) {
	if s.touched.Add(int64(n)) < s.every {
		// Or once s.after has passed since the last drop: what the count misses (a
		// compaction's reads, the kernel's fault-around and large folios) stays mapped
		// at most that long.
		last := s.evicted.Load()
		if now := time.Now().UnixNano(); now-last < int64(s.after) || !s.evicted.CompareAndSwap(last, now) {
			return
		}
	} else {
		s.evicted.Store(time.Now().UnixNano())
	}
	s.touched.Store(0)
	s.evict()
}

// evict drops the file's pages from the process (they stay in the page cache).
func (s *spill) evict() {
	s.mu.Lock()
	segs := s.segs // only appended to: the mappings it holds stay
	s.mu.Unlock()
	for _, b := range segs {
		_ = unix.Madvise(b, unix.MADV_DONTNEED) // an error leaves them resident: nothing is lost
	}
}

// drop drops b's pages from the process if b lies in the file's mappings: b's bytes
// stay the file's. A block that is not the file's (anonymous memory after the file could
// not grow, a Go slice for a large record) is left alone: DONTNEED would zero it.
func (s *spill) drop(b []byte) { s.adviseOwn(b, unix.MADV_DONTNEED) }

// readAhead asks the kernel to read b's pages into the page cache, where b lies in the
// file's mappings (the mappings are read page by page otherwise: MADV_RANDOM), without
// mapping them: a save reads each slab whole, once.
func (s *spill) readAhead(b []byte) { s.adviseOwn(b, unix.MADV_WILLNEED) }

// adviseOwn applies advice to b's whole capacity if it lies in one of the file's
// mappings, and does nothing otherwise. An error is ignored: the advice only drops pages
// the file keeps, or reads ahead what a later read would fault in.
func (s *spill) adviseOwn(b []byte, advice int) {
	if cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(seg)))
		if lo >= start && lo+uintptr(len(b)) <= start+uintptr(len(seg)) {
			_ = unix.Madvise(b, advice)
			return
		}
	}
}

// size is the file's size in bytes.
func (s *spill) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.segs)) * spillSegment
}

// close unmaps the file and closes it (its space goes back to the file system).
func (s *spill) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.segs {
		_ = unix.Munmap(b)
	}
	s.segs = nil
	s.f.Close()
}
