package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

// recordOf builds an EntriesSchema batch of entries.
func recordOf(entries []engine.Entry) arrow.RecordBatch {
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), engine.EntriesSchema)
	defer rb.Release()
	lb := rb.Field(4).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.Int32Builder)
	for _, e := range entries {
		rb.Field(0).(*array.Int64Builder).Append(e.ContestID)
		rb.Field(1).(*array.Int64Builder).Append(e.EntryID)
		rb.Field(2).(*array.Int64Builder).Append(e.UserID)
		rb.Field(3).(*array.Int64Builder).Append(e.TeamID)
		lb.Append(true)
		vb.AppendValues(e.Players, nil)
		rb.Field(5).(*array.Int32Builder).Append(e.Captain)
		rb.Field(6).(*array.Int32Builder).Append(e.ViceCaptain)
	}
	return rb.NewRecordBatch()
}

// TestAppendLargeBatches: batches large enough for Append's parallel passes, in join
// order (contests interleaved), give the reference's ranks; a bad entry deep in such a
// batch is reported as the first bad row, exactly as Add reports it.
func TestAppendLargeBatches(t *testing.T) {
	shape := reference.Shape{Contests: reference.HeavyTail(3, 40_000), Players: 22, LineupSize: 11,
		Teams: 20_000, PointValues: 300, Negative: true, Shuffle: true}
	entries, pts := reference.Random(5, shape)
	for _, cfg := range []engine.Config{
		{Workers: 1, PageSize: 100, BatchRows: 1 << 20},
		{Workers: 3, PageSize: 10, BatchRows: 4096, MegaContest: 500},
	} {
		b := engine.NewBuilder(0, 0)
		for lo := 0; lo < len(entries); lo += 25_000 { // a full and a partial batch
			rec := recordOf(entries[lo:min(len(entries), lo+25_000)])
			if err := b.Append(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		p, err := b.Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.Run(snapshotOf(t, pts))
		diffBoards(t, engineBoard(p), refBoard(reference.Rank(entries, pts)))
		checkRankIndex(t, p)
	}

	bad := append([]engine.Entry(nil), entries[:30_000]...)
	wrong := bad[20_000]
	wrong.Players = append([]int32{}, wrong.Players...)
	wrong.Players[3] = wrong.Players[4] // a player twice
	bad[20_000] = wrong
	bad[25_000].Captain = -1 // also bad, but later
	want := engine.NewBuilder(0, 0)
	var wantErr error
	for _, e := range bad {
		if wantErr = want.Add(e); wantErr != nil {
			break
		}
	}
	rec := recordOf(bad)
	defer rec.Release()
	err := engine.NewBuilder(0, 0).Append(rec)
	if err == nil || wantErr == nil || err.Error() != wantErr.Error() || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("Append: %v; Add: %v", err, wantErr)
	}

	// A valid lineup that contradicts its team's, deep in a batch.
	bad = append([]engine.Entry(nil), entries[:30_000]...)
	for i := 20_000; ; i++ {
		if bad[i].TeamID != bad[0].TeamID && !slices.Equal(bad[i].Players, bad[0].Players) {
			bad[i].TeamID = bad[0].TeamID
			break
		}
	}
	rec2 := recordOf(bad)
	defer rec2.Release()
	err = engine.NewBuilder(0, 0).Append(rec2)
	if err == nil || !strings.Contains(err.Error(), "already has a different lineup") {
		t.Fatalf("Append of a team with two lineups: %v", err)
	}
}
