package api

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkEntryLookup: in-process HTTP round trips (loopback, keep-alive) to the entry
// endpoint over the fixture's store, from GOMAXPROCS*4 concurrent clients. Reports
// look-ups per second and the p99 latency.
func BenchmarkEntryLookup(b *testing.B) {
	f := testFixture()
	srv, _ := newTestServer(b, f.store, nil)
	md := f.matches[liveMatch]
	var paths []string
	for _, cid := range md.contests {
		for _, r := range md.ranked[cid] {
			paths = append(paths, fmt.Sprintf("%s/v1/contests/%d/entries/%d", srv.URL, cid, r.EntryID))
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		k := 0
		for pb.Next() {
			start := time.Now()
			resp, err := client.Get(paths[k%len(paths)])
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(start))
			k += 7
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkEntryHandler is the server's share of a look-up: the entry endpoint's handler
// called directly (no sockets), over the fixture's in-memory store.
func BenchmarkEntryHandler(b *testing.B) {
	f := testFixture()
	h := New(DefaultConfig(), f.store, nil, nil, nil).Handler()
	md := f.matches[liveMatch]
	var reqs []*http.Request
	for _, cid := range md.contests {
		for _, r := range md.ranked[cid] {
			reqs = append(reqs, mustRequest(b, fmt.Sprintf("/v1/contests/%d/entries/%d", cid, r.EntryID)))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		k := 0
		for pb.Next() {
			rec := newRecorder()
			h.ServeHTTP(rec, reqs[k%len(reqs)])
			if rec.Code != 200 {
				b.Errorf("status %d", rec.Code)
				return
			}
			k += 7
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
