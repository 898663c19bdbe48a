package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

// entriesRecord builds an entries batch; captainType lets a test write a wrong schema.
func entriesRecord(entries []engine.Entry, captainType arrow.DataType) arrow.RecordBatch {
	fields := slices.Clone(engine.EntriesSchema.Fields())
	fields[5].Type = captainType
	rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer rb.Release()
	for _, e := range entries {
		rb.Field(0).(*array.Int64Builder).Append(e.ContestID)
		rb.Field(1).(*array.Int64Builder).Append(e.EntryID)
		rb.Field(2).(*array.Int64Builder).Append(e.UserID)
		rb.Field(3).(*array.Int64Builder).Append(e.TeamID)
		lb := rb.Field(4).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues(e.Players, nil)
		switch b := rb.Field(5).(type) {
		case *array.Int32Builder:
			b.Append(e.Captain)
		case *array.Int64Builder:
			b.Append(int64(e.Captain))
		}
		rb.Field(6).(*array.Int32Builder).Append(e.ViceCaptain)
	}
	return rb.NewRecordBatch()
}

func writeDataset(t *testing.T, dir string, entries []engine.Entry, pts map[int32]float64, captainType arrow.DataType) {
	t.Helper()
	rec := entriesRecord(entries, captainType)
	defer rec.Release()
	f, err := os.Create(filepath.Join(dir, "entries.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var ids []int32
	var vals []float64
	for id, v := range pts {
		ids = append(ids, id)
		vals = append(vals, v)
	}
	if err := dataset.WritePoints(filepath.Join(dir, "points.parquet"), ids, vals); err != nil {
		t.Fatal(err)
	}
}

func runCmd(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String() + errb.String()
}

// TestRankMatchesReference runs `leaderboard rank` on a shuffled, tie-heavy dataset and
// compares ranks.parquet row by row with the reference ranking.
func TestRankMatchesReference(t *testing.T) {
	dir := t.TempDir()
	entries, pts := reference.Random(5, reference.Shape{
		Contests: []int{1, 2, 3, 40, 700, 9000, 5}, Players: 24, LineupSize: 11, Teams: 900,
		PointValues: 60, Negative: true, Missing: 0.1, Shuffle: true,
	})
	writeDataset(t, dir, entries, pts, arrow.PrimitiveTypes.Int32)
	out := filepath.Join(dir, "ranks.parquet")
	if code, msg := runCmd("rank", "--in", dir, "--out", out, "--batch-rows", "512"); code != 0 {
		t.Fatalf("rank exited %d: %s", code, msg)
	}
	want := reference.Rank(entries, pts)
	var got []reference.Row
	err := dataset.ReadRanks(context.Background(), out, 0, func(rec arrow.RecordBatch) error {
		c := rec.Column(0).(*array.Int64).Int64Values()
		e := rec.Column(1).(*array.Int64).Int64Values()
		p := rec.Column(2).(*array.Float64).Float64Values()
		r := rec.Column(3).(*array.Int64).Int64Values()
		for i := range e {
			got = append(got, reference.Row{ContestID: c[i], EntryID: e[i], Points: int64(math.Round(p[i] * 400)), Rank: int(r[i])})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.UserID, w.TeamID = 0, 0
		if got[i] != w {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], w)
		}
		if got[i].PointsFloat() != w.PointsFloat() {
			t.Fatalf("row %d: points %v are not exactly %v", i, got[i].PointsFloat(), w.PointsFloat())
		}
	}
}

// TestRankBadInput: every bad input stops rank with a message naming the file and the
// entry, a non-zero exit status, and no output file (nor temporary file) left behind.
func TestRankBadInput(t *testing.T) {
	good := func() []engine.Entry {
		return []engine.Entry{
			{ContestID: 1, EntryID: 10, UserID: 1, TeamID: 1, Players: []int32{101, 102, 103}, Captain: 101, ViceCaptain: 102},
			{ContestID: 1, EntryID: 11, UserID: 2, TeamID: 2, Players: []int32{101, 102, 104}, Captain: 104, ViceCaptain: 102},
		}
	}
	pts := map[int32]float64{101: 3, 102: 4.5}
	i32 := arrow.PrimitiveTypes.Int32
	for _, tc := range []struct {
		name    string
		entries func() []engine.Entry
		pts     map[int32]float64
		capType arrow.DataType
		noFile  string
		want    []string
	}{
		{"missing entries file", good, pts, i32, "entries.parquet", []string{"entries.parquet"}},
		{"missing points file", good, pts, i32, "points.parquet", []string{"points.parquet"}},
		{"wrong column type", good, pts, arrow.PrimitiveTypes.Int64, "", []string{"entries.parquet", `column "captain"`, "int64", "want int32"}},
		{"duplicate entry_id", func() []engine.Entry { e := good(); e[1].EntryID = 10; return e }, pts, i32, "", []string{"entries.parquet", "entry 10", "duplicate entry_id"}},
		{"duplicate player", func() []engine.Entry { e := good(); e[1].Players = []int32{101, 101, 104}; return e }, pts, i32, "", []string{"entries.parquet", "entry 11", "player 101 appears twice"}},
		{"wrong lineup size", func() []engine.Entry { e := good(); e[1].Players = []int32{101, 104}; return e }, pts, i32, "", []string{"entries.parquet", "entry 11", "lineup has 2 players, want 3"}},
		{"captain outside lineup", func() []engine.Entry { e := good(); e[1].Captain = 999; return e }, pts, i32, "", []string{"entries.parquet", "entry 11", "captain 999 is not in the lineup"}},
		{"captain is vice-captain", func() []engine.Entry { e := good(); e[0].Captain = 102; return e }, pts, i32, "", []string{"entries.parquet", "entry 10", "captain and vice-captain are both player 102"}},
		{"non-finite points", good, map[int32]float64{101: math.NaN()}, i32, "", []string{"points.parquet", "player 101", "not a finite number"}},
		{"over-precise points", good, map[int32]float64{102: 0.001}, i32, "", []string{"points.parquet", "player 102", "more than 2 decimal places"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeDataset(t, dir, tc.entries(), tc.pts, tc.capType)
			if tc.noFile != "" {
				os.Remove(filepath.Join(dir, tc.noFile))
			}
			code, msg := runCmd("rank", "--in", dir, "--out", filepath.Join(dir, "ranks.parquet"))
			if code == 0 {
				t.Fatalf("rank succeeded on bad input")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not mention %q", msg, w)
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, "ranks.parquet*"))
			if len(left) > 0 {
				t.Errorf("left behind %v", left)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rank", "--out", "x"}, "--in is required"},
		{[]string{"rank", "--in", "x"}, "--out is required"},
		{[]string{"rank", "--in", "x", "--out", "y", "--page-size", "0"}, "page size 0"},
		{[]string{"rank", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"bench", "--in", "x", "--cycles", "0"}, "--cycles 0"},
		{[]string{"nope"}, `unknown command "nope"`},
	} {
		code, msg := runCmd(tc.args...)
		if code != 2 || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 mentioning %q", tc.args, code, msg, tc.want)
		}
	}
}
