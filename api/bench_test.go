package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
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
// called directly (no sockets), over the fixture's records in the embedded store.
func BenchmarkEntryHandler(b *testing.B) {
	benchEntryHandler(b, "/v1/contests/%d/entries/%d", "lookups/s")
}

// benchEntryHandler calls the handler of path (a format of contest and entry id) for
// every ranked entry of the fixture's live match in turn, on all cores, and reports the
// answers a second as metric.
func benchEntryHandler(b *testing.B, path, metric string) {
	benchEntries(b, testFixture(), path, metric)
}

// BenchmarkEntryHandlerPrev is BenchmarkEntryHandler over records that hold two
// versions, the one shown being the previous (prevFixture).
func BenchmarkEntryHandlerPrev(b *testing.B) {
	benchEntries(b, prevFixture(b), "/v1/contests/%d/entries/%d", "lookups/s")
}

func benchEntries(b *testing.B, f *fixture, path, metric string) {
	md := f.matches[liveMatch]
	var targets []string
	for _, cid := range md.contests {
		for _, r := range md.ranked[cid] {
			targets = append(targets, fmt.Sprintf(path, cid, r.EntryID))
		}
	}
	benchHandler(b, f, targets, metric)
}

// BenchmarkUserHandler is the server's share of a user's entries: the handler called
// directly (no sockets) over the fixture's records in the embedded store, for every user
// of the fixture's live match in turn (the match's commit, the user's records of its
// partitions, then their contests, match partitions and entry records).
func BenchmarkUserHandler(b *testing.B) {
	f := testFixture()
	var targets []string
	for _, u := range slices.Sorted(maps.Keys(f.matches[liveMatch].users)) {
		targets = append(targets, fmt.Sprintf("/v1/users/%d/entries?match_id=%d", u, liveMatch))
	}
	benchHandler(b, f, targets, "answers/s")
}

// BenchmarkLeaderboardHandler is the server's share of a leaderboard page: the handler
// called directly (no sockets) over the fixture's records in the embedded store, for
// every 50-row window of every contest of the fixture's live match in turn (most read
// the contest record and one or two page records).
func BenchmarkLeaderboardHandler(b *testing.B) { benchLeaderboard(b, testFixture()) }

// BenchmarkLeaderboardHandlerPrev is BenchmarkLeaderboardHandler over records that hold
// two versions, the one shown being the previous (prevFixture).
func BenchmarkLeaderboardHandlerPrev(b *testing.B) { benchLeaderboard(b, prevFixture(b)) }

// prevFixture is the fixture with every contest and page of the live match written
// again at cycle 3 (the same rows) over its stored version, the match's commit left at
// 2: every answer shows the records' previous versions (the p_ bins), as readers do
// while a cycle is being written across the partitions.
func prevFixture(tb testing.TB) *fixture {
	f := newFixtureCopy()
	w := &versionedWriter{t: tb, fake: f.store}
	md := f.matches[liveMatch]
	for _, cid := range md.contests {
		recs := contestRecords(liveMatch, cid, 3, md.ranked[cid])
		for _, r := range recs[1:] {
			r.Bins["cycle"] = int64(3)
		}
		w.write(records.Live, recs...)
	}
	return f
}

func benchLeaderboard(b *testing.B, f *fixture) {
	md := f.matches[liveMatch]
	var targets []string
	for _, cid := range md.contests {
		for off := 0; off < len(md.ranked[cid]); off += 50 {
			targets = append(targets, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=%d&limit=50", cid, off))
		}
	}
	benchHandler(b, f, targets, "pages/s")
}

// benchHandler calls the handler of each target in turn, on all cores, over the
// fixture's records in the embedded store, and reports the answers a second as metric.
func benchHandler(b *testing.B, f *fixture, targets []string, metric string) {
	s := New(DefaultConfig(), embedded(b, f.store), nil, nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		k := 0
		for pb.Next() {
			ctx.Request.SetRequestURI(targets[k%len(targets)])
			ctx.Response.Reset()
			s.ServeFastHTTP(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d", ctx.Response.StatusCode())
				return
			}
			k += 7
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), metric)
}

// embedded copies a fake store's records into the embedded store (package rankstore),
// the one the API reads in production on a single node.
func embedded(tb testing.TB, f *fakeStore) *rankstore.Store {
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for k, raw := range f.data {
		parts := strings.SplitN(k, "\x00", 3)
		bins, err := records.DecodeBins(raw)
		if err != nil {
			tb.Fatal(err)
		}
		if err := st.Put(context.Background(), parts[0], []records.Record{{Set: parts[1], Key: parts[2], Bins: bins}}); err != nil {
			tb.Fatal(err)
		}
	}
	return st
}
