package coordinator

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// benchCoordinator is a coordinator of P partitions over two workers whose tick is far
// ahead, so any cycle may be reported.
func benchCoordinator(b *testing.B, partitions int) *Coordinator {
	cfg := testConfig(b, b.TempDir())
	cfg.Interval = 1 << 40
	c := startCoordinator(b, cfg, partitions, Deps{Members: newStatic("w1", "w2"), Offsets: countingOffsets()})
	waitFor(b, 5e9, func() string { return "no table" }, func() bool { return c.Assignment().Epoch > 0 })
	c.mu.Lock()
	c.tick.Cycle = 1 << 40
	c.mu.Unlock()
	return c
}

// BenchmarkReport: one partition's cycle report through Coordinator.Report, visible
// cycles recomputed (256 partitions, 3 matches each).
func BenchmarkReport(b *testing.B) {
	const P = 256
	c := benchCoordinator(b, P)
	a := c.Assignment()
	stages := []StageTime{{"fold", 0.001}, {"rank", 0.002}, {"write", 0.003}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := int32(i % P)
		if err := c.Report(Report{Worker: a.Writer[p], Partition: p, Epoch: a.Epoch, Cycle: int64(i/P + 1), Matches: []int64{1, 2, 3}, Stages: stages}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkReportHTTP: the same through the Client over loopback HTTP, 4 at a time.
func BenchmarkReportHTTP(b *testing.B) {
	const P = 256
	c := benchCoordinator(b, P)
	srv := httptest.NewServer(c.Handler())
	b.Cleanup(srv.Close)
	a := c.Assignment()
	clients := map[string]*Client{}
	for _, w := range []string{"w1", "w2"} {
		clients[w] = client(b, srv.URL, w)
	}
	var n atomic.Int64
	b.SetParallelism(2) // × GOMAXPROCS
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			p := int32(i % P)
			if err := clients[a.Writer[p]].Report(context.Background(), Report{Partition: p, Epoch: a.Epoch, Cycle: i/P + 1, Matches: []int64{1, 2, 3}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
