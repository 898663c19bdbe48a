package dataset

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/fantasy/leaderboard/engine"
)

type ranks struct {
	contest, entry, rank []int64
	points               []float64
}

func sampleRanks(n int) ranks {
	var r ranks
	for i := range n {
		r.contest = append(r.contest, int64(1+i/5))
		r.entry = append(r.entry, int64(1000+i*7%n))
		r.points = append(r.points, float64(i%5)*-10.25+100)
		r.rank = append(r.rank, int64(1+i%5))
	}
	return r
}

func readRanks(t *testing.T, path string) ranks {
	t.Helper()
	var r ranks
	err := ReadRanks(context.Background(), path, 3, func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(engine.RanksSchema) {
			t.Fatalf("batch schema %s, want %s", rec.Schema(), engine.RanksSchema)
		}
		r.contest = append(r.contest, rec.Column(0).(*array.Int64).Int64Values()...)
		r.entry = append(r.entry, rec.Column(1).(*array.Int64).Int64Values()...)
		r.points = append(r.points, rec.Column(2).(*array.Float64).Float64Values()...)
		r.rank = append(r.rank, rec.Column(3).(*array.Int64).Int64Values()...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rowGroups(t *testing.T, path string) int {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	return pf.NumRowGroups()
}

// dirNames lists the names in dir, to catch temporary files left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestRanksWriterRoundTrip(t *testing.T) {
	const groupRows = 7
	for _, tc := range []struct {
		name   string
		n      int
		chunks []int // sizes of the Write calls, repeated until n rows are written
		groups int
	}{
		{"empty", 0, []int{1}, 0},
		{"one write below a row group", 5, []int{5}, 1},
		{"exactly one row group", 7, []int{7}, 1},
		{"single rows", 15, []int{1}, 3},
		{"chunks across row groups", 30, []int{4, 9, 1}, 5},
		{"one big write", 50, []int{50}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ranks.parquet")
			w, err := NewRanksWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			w.groupRows = groupRows
			want := sampleRanks(tc.n)
			for i, c := 0, 0; i < tc.n; c++ {
				k := min(tc.chunks[c%len(tc.chunks)], tc.n-i)
				if err := w.Write(want.contest[i:i+k], want.entry[i:i+k], want.points[i:i+k], want.rank[i:i+k]); err != nil {
					t.Fatal(err)
				}
				i += k
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] == "ranks.parquet" {
				t.Errorf("before Close the directory holds %v, want only the temporary file", names)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"ranks.parquet"}) {
				t.Errorf("after Close the directory holds %v", names)
			}
			got := readRanks(t, path)
			if !slices.Equal(got.contest, want.contest) || !slices.Equal(got.entry, want.entry) ||
				!slices.Equal(got.points, want.points) || !slices.Equal(got.rank, want.rank) {
				t.Errorf("read back %+v\nwant %+v", got, want)
			}
			if g := rowGroups(t, path); g != tc.groups {
				t.Errorf("%d row groups, want %d", g, tc.groups)
			}
		})
	}
}

func TestRanksWriterMisuse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ranks.parquet")
	w, err := NewRanksWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]int64{1}, []int64{1, 2}, []float64{1}, []int64{1}); err == nil ||
		!strings.Contains(err.Error(), "column lengths differ") {
		t.Errorf("mismatched lengths: error %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if err := w.Write(nil, nil, nil, nil); err == nil {
		t.Error("Write after Close succeeded")
	}
	w.Abort() // no-op after Close: the file stays
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Abort after Close removed the file: %v", err)
	}
	if _, err := NewRanksWriter(filepath.Join(dir, "no", "such", "dir", "ranks.parquet")); err == nil {
		t.Error("NewRanksWriter in a missing directory succeeded")
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	writers := map[string]func(path string) (abort func()){
		"ranks": func(path string) func() {
			w, err := NewRanksWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			w.groupRows = 4
			r := sampleRanks(10) // two full row groups handed to the encoder and a partial one
			if err := w.Write(r.contest, r.entry, r.points, r.rank); err != nil {
				t.Fatal(err)
			}
			return w.Abort
		},
		"entries": func(path string) func() {
			w, err := NewEntriesWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			rec := entriesRecord(sampleRows(10))
			defer rec.Release()
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			return w.Abort
		},
	}
	for name, start := range writers {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			abort := start(filepath.Join(dir, "out.parquet"))
			abort()
			abort() // twice is fine
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("after Abort the directory holds %v", names)
			}
		})
	}
}

// A reader of path sees the old file until Close, then the new one; never a partial one.
func TestCloseReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	old := sampleRows(3)
	writeEntries(t, path, old, 10)
	w, err := NewEntriesWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := sampleRows(8)
	rec := entriesRecord(rows)
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if got := readAllEntries(t, path, 0); !equalRows(got, old) {
		t.Fatalf("before Close: read %v, want the old rows", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAllEntries(t, path, 0); !equalRows(got, rows) {
		t.Fatalf("after Close: read %v, want the new rows", got)
	}
}
