package rankstore

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkFirstTouch measures what a first write into fresh slab memory costs in page
// faults, the part of a cold start's Put that the store's code does not decide
// (offheap.go maps its 1 MiB chunks of 4 KiB pages; docs/PERFORMANCE.md, "The cold
// start's first cycle"): 160-byte records copied one after another into 256 MiB of a
// new anonymous mapping, as Put fills a slab, (plain) faulting each page on its first
// write, (populate) with each 64 KiB populated ahead by one madvise(MADV_POPULATE_WRITE),
// or (huge) the mapping 2 MiB-aligned and advised MADV_HUGEPAGE. It reports the
// thread's CPU a record (user and system) and the system part.
//
//	go test -run '^$' -bench FirstTouch ./rankstore
func BenchmarkFirstTouch(b *testing.B) {
	const size, rec, ahead = 256 << 20, 160, 64 << 10
	const madvPopulateWrite, madvHugepage = 23, 14
	src := make([]byte, rec)
	for _, mode := range []string{"plain", "populate", "huge"} {
		b.Run(mode, func(b *testing.B) {
			runtime.LockOSThread() // threadCPU: this thread's
			defer runtime.UnlockOSThread()
			var cpu, sys time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				m, err := syscall.Mmap(-1, 0, size+2<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
				if err != nil {
					b.Fatal(err)
				}
				buf := m
				if mode == "huge" {
					off := (2<<20 - int(uintptr(unsafe.Pointer(&m[0])))&(2<<20-1)) & (2<<20 - 1)
					buf = m[off : off+size]
					if err := syscall.Madvise(buf, madvHugepage); err != nil {
						b.Skipf("madvise(MADV_HUGEPAGE): %v (transparent huge pages off?)", err)
					}
				}
				b.StartTimer()
				c0, s0 := threadCPU(b)
				pop := 0
				for off := 0; off+rec <= size; off += rec {
					if mode == "populate" && off+rec > pop {
						end := min(size, pop+ahead)
						if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&buf[pop])), uintptr(end-pop), madvPopulateWrite); e != 0 {
							b.Skipf("madvise(MADV_POPULATE_WRITE): %v (Linux 5.14 or later)", e)
						}
						pop = end
					}
					copy(buf[off:off+rec], src)
					n++
				}
				c1, s1 := threadCPU(b)
				cpu, sys = cpu+c1-c0, sys+s1-s0
				b.StopTimer()
				if err := syscall.Munmap(m); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/record")
			b.ReportMetric(float64(sys.Nanoseconds())/float64(n), "sys-ns/record")
		})
	}
}
