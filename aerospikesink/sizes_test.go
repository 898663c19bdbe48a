package aerospikesink

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/fantasy/leaderboard/batch"
	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
	"github.com/fantasy/leaderboard/worker"
)

// BenchmarkCycleRecords measures what one cycle writes when every contest changed, from
// the records' own encodings over a `leaderboard gen` dataset (its default contest size
// distribution: one mega contest of a tenth of the entries, a few dozen large ones, 28
// entries a contest on average): contest and page records and their bytes, the largest
// of each, and the mega contest's distinct points (its histogram's length). Entries come
// from LEADERBOARD_SIZE_ENTRIES (default 100000); docs/PERFORMANCE.md scales the
// figures to 56M entries / 2M contests.
//
//	LEADERBOARD_SIZE_ENTRIES=5600000 go test -run '^$' -bench CycleRecords -benchtime 1x ./aerospikesink/
func BenchmarkCycleRecords(b *testing.B) {
	n := int64(100000)
	if v := os.Getenv("LEADERBOARD_SIZE_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 1000 {
			b.Fatalf("LEADERBOARD_SIZE_ENTRIES=%q: want a count >= 1000", v)
		}
	}
	dir := b.TempDir()
	if err := dataset.Generate(ctx, dataset.GenConfig{Entries: n, Seed: 7}, dir, nil); err != nil {
		b.Fatal(err)
	}
	cfg := engine.DefaultConfig()
	p, err := batch.Load(ctx, dir, dataset.DefaultLineupSize, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	snap, err := batch.Snapshot(filepath.Join(dir, dataset.Points2File))
	if err != nil {
		b.Fatal(err)
	}
	p.Run(snap)
	var contests, pages, contestBytes, pageBytes, maxContest, maxPage, maxHist int
	var maxContestKey, maxPageKey string
	for b.Loop() {
		contests, pages, contestBytes, pageBytes, maxContest, maxPage, maxHist = 0, 0, 0, 0, 0, 0, 0
		for c := range p.NumContests() {
			ct := p.Contest(c)
			rec := worker.ContestRecord(p, c, 1, 1<<20, 1795740000000).Record()
			sz := recordSize(rec)
			contests++
			contestBytes += sz
			if sz > maxContest {
				maxContest, maxContestKey = sz, rec.Key
				maxHist = len(worker.ContestRecord(p, c, 1, 1<<20, 1795740000000).Hist)
			}
			for pg := 1; pg < ct.Pages; pg++ {
				rec := records.Page{Contest: ct.ID, No: pg, Cycle: 1 << 20, Rows: worker.PageRows(p, c, pg)}.Record()
				sz := recordSize(rec)
				pages++
				pageBytes += sz
				if sz > maxPage {
					maxPage, maxPageKey = sz, rec.Key
				}
			}
		}
	}
	b.Logf("%d entries, %d contests: %d contest records (%d B, largest %s %d B, mega histogram %d buckets), %d page records (%d B, largest %s %d B)",
		n, p.NumContests(), contests, contestBytes, maxContestKey, maxContest, maxHist, pages, pageBytes, maxPageKey, maxPage)
	b.ReportMetric(float64(contests+pages), "records/cycle")
	b.ReportMetric(float64(contestBytes+pageBytes), "bytes/cycle")
	b.ReportMetric(float64(maxContest), "max-contest-B")
	b.ReportMetric(float64(maxPage), "max-page-B")
	b.ReportMetric(float64(maxHist), "mega-hist-buckets")
}

// recordSize is a record's bytes as the sink sends them: bins (names, values), set, key
// and the two fence bins.
func recordSize(r records.Record) int {
	it := item{}
	r.Fence = records.Fence{Epoch: 1 << 20, Cycle: 1 << 20}
	s := &Sink{policies: map[policyKey]*as.BatchWritePolicy{}}
	if err := s.writeItem(&it, nsInfo{name: "live", ttl: 3600}, &r); err != nil {
		panic(err)
	}
	return it.size + len(r.Set) + len(r.Key)
}
