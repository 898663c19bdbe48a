package batch_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/fantasy/leaderboard/batch"
	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/engine"
)

type rankRow struct {
	contest, entry int64
	points         float64
	rank           int64
}

// rankFile runs the batch job on dir with cfg and returns ranks.parquet's rows.
func rankFile(t *testing.T, dir string, cfg engine.Config) []rankRow {
	t.Helper()
	p, err := batch.Load(context.Background(), dir, 0, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := batch.Snapshot(filepath.Join(dir, batch.PointsFile))
	if err != nil {
		t.Fatal(err)
	}
	p.Run(snap)
	out := filepath.Join(t.TempDir(), "ranks.parquet")
	if err := batch.WriteRanks(context.Background(), p, out, nil); err != nil {
		t.Fatal(err)
	}
	var rows []rankRow
	err = dataset.ReadRanks(context.Background(), out, 0, func(rec arrow.RecordBatch) error {
		c := rec.Column(0).(*array.Int64).Int64Values()
		e := rec.Column(1).(*array.Int64).Int64Values()
		pt := rec.Column(2).(*array.Float64).Float64Values()
		r := rec.Column(3).(*array.Int64).Int64Values()
		for i := range c {
			rows = append(rows, rankRow{c[i], e[i], pt[i], r[i]})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// rewrite copies dir's dataset to a new one whose entries.parquet holds the same rows in
// row groups of groupRows, the row groups in reverse order (so a contest's rows are
// split across row groups that arrive out of order).
func rewrite(t *testing.T, dir string, groupRows int) string {
	t.Helper()
	var recs []arrow.RecordBatch
	err := dataset.ReadEntries(context.Background(), filepath.Join(dir, batch.EntriesFile), groupRows, func(rec arrow.RecordBatch) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	w, err := dataset.NewEntriesWriter(filepath.Join(out, batch.EntriesFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range slices.Backward(recs) {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pts, err := os.ReadFile(filepath.Join(dir, batch.PointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, batch.PointsFile), pts, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRankAnyOrder: the same entries by contest, in join order, and in join order with
// row groups reversed, loaded by one worker or several, give identical ranks files.
func TestRankAnyOrder(t *testing.T) {
	const n = 40_000
	byContest, byJoin := t.TempDir(), t.TempDir()
	for dir, order := range map[string]string{byContest: dataset.OrderContest, byJoin: dataset.OrderJoin} {
		cfg := dataset.GenConfig{Entries: n, Seed: 9, Order: order, TeamsPerEntry: 1}
		if err := dataset.Generate(context.Background(), cfg, dir, nil); err != nil {
			t.Fatal(err)
		}
	}
	serial := engine.Config{Workers: 1, PageSize: 100, BatchRows: 1 << 20}
	parallel := engine.Config{Workers: 4, PageSize: 100, BatchRows: 4096, MegaContest: 1000}
	want := rankFile(t, byContest, serial)
	if len(want) != n {
		t.Fatalf("%d rows, want %d", len(want), n)
	}
	for name, dir := range map[string]string{
		"by contest":               byContest,
		"join order":               byJoin,
		"join order, reversed rgs": rewrite(t, byJoin, 3000),
	} {
		for cname, cfg := range map[string]engine.Config{"serial": serial, "parallel": parallel} {
			if got := rankFile(t, dir, cfg); !slices.Equal(got, want) {
				t.Errorf("%s, %s: ranks differ from the serial load of the file by contest", name, cname)
			}
		}
	}
}

// TestRankEmpty: an entries file without rows gives a ranks file without rows.
func TestRankEmpty(t *testing.T) {
	dir := t.TempDir()
	w, err := dataset.NewEntriesWriter(filepath.Join(dir, batch.EntriesFile))
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), engine.EntriesSchema)
	rec := rb.NewRecordBatch()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WritePoints(filepath.Join(dir, batch.PointsFile), []int32{1}, []float64{2}); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []engine.Config{{Workers: 1, PageSize: 10, BatchRows: 64}, {Workers: 8, PageSize: 10, BatchRows: 64}} {
		if rows := rankFile(t, dir, cfg); len(rows) != 0 {
			t.Errorf("%d rows from an empty dataset", len(rows))
		}
	}
}
