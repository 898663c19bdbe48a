package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/fantasy/leaderboard/engine"
)

func entry(contest, id, team int64, players []int32, capt, vice int32) engine.Entry {
	return engine.Entry{ContestID: contest, EntryID: id, UserID: 1, TeamID: team, Players: players, Captain: capt, ViceCaptain: vice}
}

// TestBuilderRejects checks that every kind of bad entry is refused with a message naming
// the entry and what is wrong with it.
func TestBuilderRejects(t *testing.T) {
	ok := entry(10, 1, 5, []int32{101, 102, 103}, 101, 102)
	for _, tc := range []struct {
		name    string
		entries []engine.Entry
		want    string
	}{
		{"wrong lineup size", []engine.Entry{ok, entry(10, 2, 6, []int32{101, 102}, 101, 102)}, "entry 2 (contest 10): lineup has 2 players, want 3"},
		{"duplicate player", []engine.Entry{entry(10, 3, 6, []int32{101, 102, 101}, 101, 102)}, "entry 3 (contest 10): player 101 appears twice in the lineup"},
		{"captain outside lineup", []engine.Entry{entry(10, 4, 6, []int32{101, 102, 103}, 109, 102)}, "entry 4 (contest 10): captain 109 is not in the lineup"},
		{"vice-captain outside lineup", []engine.Entry{entry(10, 5, 6, []int32{101, 102, 103}, 101, 777)}, "entry 5 (contest 10): vice-captain 777 is not in the lineup"},
		{"captain equals vice-captain", []engine.Entry{entry(10, 6, 6, []int32{101, 102, 103}, 102, 102)}, "entry 6 (contest 10): captain and vice-captain are both player 102"},
		{"team with two lineups", []engine.Entry{ok, entry(11, 7, 5, []int32{101, 102, 104}, 101, 102)}, "entry 7 (contest 11): team 5 already has a different lineup"},
		{"team with two captains", []engine.Entry{ok, entry(11, 8, 5, []int32{103, 102, 101}, 102, 101)}, "entry 8 (contest 11): team 5 already has a different lineup, captain or vice-captain"},
		{"empty lineup", []engine.Entry{entry(10, 9, 6, nil, 1, 2)}, "entry 9 (contest 10): lineup has 0 players"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := engine.NewBuilder(0, 0)
			var err error
			for _, e := range tc.entries {
				if err = b.Add(e); err != nil {
					break
				}
			}
			var ee *engine.EntryError
			if err == nil || !errors.As(err, &ee) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one starting %q", err, tc.want)
			}
		})
	}
}

func TestBuilderSameTeamAnyLineupOrder(t *testing.T) {
	b := engine.NewBuilder(0, 0)
	for _, e := range []engine.Entry{
		entry(10, 1, 5, []int32{101, 102, 103}, 101, 102),
		entry(11, 2, 5, []int32{103, 101, 102}, 101, 102),
	} {
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Build(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p.NumTeams() != 1 || p.NumContests() != 2 {
		t.Fatalf("teams %d contests %d, want 1 and 2", p.NumTeams(), p.NumContests())
	}
}

func TestBuildRejectsDuplicateEntryID(t *testing.T) {
	for name, ids := range map[string][2]int64{"dense ids": {7, 7}, "sparse ids": {1 << 60, 1 << 60}} {
		t.Run(name, func(t *testing.T) {
			b := engine.NewBuilder(0, 0)
			b.Add(entry(10, 3, 5, []int32{101, 102, 103}, 101, 102))
			b.Add(entry(10, ids[0], 5, []int32{101, 102, 103}, 101, 102))
			b.Add(entry(12, -1<<62, 5, []int32{101, 102, 103}, 101, 102))
			b.Add(entry(11, ids[1], 5, []int32{101, 102, 103}, 101, 102))
			_, err := b.Build(engine.DefaultConfig())
			if err == nil || !strings.Contains(err.Error(), "duplicate entry_id") || !strings.Contains(err.Error(), "entry ") {
				t.Fatalf("got %v, want a duplicate entry_id error", err)
			}
		})
	}
}

func TestBuilderTooManyPlayers(t *testing.T) {
	b := engine.NewBuilder(2, 0)
	var err error
	for i := int32(0); i < 200 && err == nil; i++ {
		err = b.Add(entry(1, int64(i), int64(i), []int32{2 * i, 2*i + 1}, 2*i, 2*i+1))
	}
	if err == nil || !strings.Contains(err.Error(), "at most 256") {
		t.Fatalf("got %v, want the 256-player limit", err)
	}
}

func TestSnapshotRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  []int32
		pts  []float64
		want string
	}{
		{"over-precise", []int32{1}, []float64{1.125}, "player 1: points 1.125 have more than 2 decimal places"},
		{"not finite", []int32{2}, []float64{posInf()}, "player 2: points +Inf are not a finite number"},
		{"too large", []int32{3}, []float64{1e9}, "player 3: points 1e+09 are beyond"},
		{"duplicate player", []int32{4, 4}, []float64{1, 2}, "player 4 appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.NewSnapshot(tc.ids, tc.pts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if c, err := engine.Centipoints(-0.29); err != nil || c != -29 {
		t.Fatalf("Centipoints(-0.29) = %d, %v", c, err)
	}
}

func posInf() float64 { var z float64; return 1 / z }

// TestAppendRecord feeds the builder an Arrow batch with extra and reordered columns and
// checks type errors name the column.
func TestAppendRecord(t *testing.T) {
	mem := memory.NewGoAllocator()
	build := func(captainType arrow.DataType) arrow.RecordBatch {
		fields := []arrow.Field{
			{Name: "note", Type: arrow.BinaryTypes.String},
			{Name: engine.ColEntryID, Type: arrow.PrimitiveTypes.Int64},
			{Name: engine.ColContestID, Type: arrow.PrimitiveTypes.Int64},
			{Name: engine.ColUserID, Type: arrow.PrimitiveTypes.Int64},
			{Name: engine.ColTeamID, Type: arrow.PrimitiveTypes.Int64},
			{Name: engine.ColPlayers, Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int32})},
			{Name: engine.ColCaptain, Type: captainType},
			{Name: engine.ColViceCaptain, Type: arrow.PrimitiveTypes.Int32},
		}
		rb := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer rb.Release()
		rb.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
		rb.Field(1).(*array.Int64Builder).AppendValues([]int64{2, 1}, nil)
		rb.Field(2).(*array.Int64Builder).AppendValues([]int64{10, 10}, nil)
		rb.Field(3).(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
		rb.Field(4).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		lb := rb.Field(5).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Int32Builder)
		lb.Append(true)
		vb.AppendValues([]int32{5, 6}, nil)
		lb.Append(true)
		vb.AppendValues([]int32{6, 7}, nil)
		switch cb := rb.Field(6).(type) {
		case *array.Int32Builder:
			cb.AppendValues([]int32{5, 7}, nil)
		case *array.Int64Builder:
			cb.AppendValues([]int64{5, 7}, nil)
		}
		rb.Field(7).(*array.Int32Builder).AppendValues([]int32{6, 6}, nil)
		return rb.NewRecordBatch()
	}
	b := engine.NewBuilder(0, 0)
	if err := b.Append(build(arrow.PrimitiveTypes.Int32)); err != nil {
		t.Fatal(err)
	}
	p, err := b.Build(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := engine.NewSnapshot([]int32{5, 6, 7}, []float64{10, 1, 3})
	p.Run(s)
	// entry 1: 1 + 3 + 3 (captain 7) + 0.5 (vice 6) = 7.5 ; entry 2: 10+1+10+0.5 = 21.5
	if p.EntryID(0) != 1 || p.Points(0) != 7.5*engine.PointsScale || p.Rank(0) != 2 || p.Rank(1) != 1 {
		t.Fatalf("entry %d points %d rank %d / rank %d", p.EntryID(0), p.Points(0), p.Rank(0), p.Rank(1))
	}
	err = engine.NewBuilder(0, 0).Append(build(arrow.PrimitiveTypes.Int64))
	if err == nil || err.Error() != `column "captain" has type int64, want int32` {
		t.Fatalf("got %v", err)
	}
}

func TestEmptyPartition(t *testing.T) {
	p, err := engine.NewBuilder(0, 0).Build(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := engine.NewSnapshot(nil, nil)
	if st := p.Run(s); st.Entries != 0 || p.NumContests() != 0 || p.NumPages() != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTeamTable: TeamIndex, TeamIDAt and TeamLineup give, for every entry, its TeamID
// and Lineup (the lineup as added, in slot order); entries of one team share a row.
func TestTeamTable(t *testing.T) {
	es := []engine.Entry{
		entry(12, 1, 7, []int32{103, 101, 102}, 101, 102),
		entry(10, 2, 5, []int32{101, 102, 104}, 104, 101),
		entry(11, 3, 7, []int32{102, 103, 101}, 101, 102),
		entry(10, 4, 9, []int32{105, 102, 103}, 103, 105),
		entry(11, 5, 5, []int32{104, 101, 102}, 104, 101),
	}
	p := build(t, es, engine.DefaultConfig())
	if p.NumTeams() != 3 {
		t.Fatalf("%d teams, want 3", p.NumTeams())
	}
	rowOf := map[int64]int{}
	for i := range p.NumEntries() {
		tr := p.TeamIndex(i)
		if tr < 0 || tr >= p.NumTeams() {
			t.Fatalf("entry %d: team row %d of %d", i, tr, p.NumTeams())
		}
		if got, want := p.TeamIDAt(tr), p.TeamID(i); got != want {
			t.Fatalf("entry %d: TeamIDAt %d, TeamID %d", i, got, want)
		}
		if r, ok := rowOf[p.TeamID(i)]; ok && r != tr {
			t.Fatalf("team %d in rows %d and %d", p.TeamID(i), r, tr)
		}
		rowOf[p.TeamID(i)] = tr
		wp, wc, wv := p.Lineup(i, nil)
		gp, gc, gv := p.TeamLineup(tr, []int32{-1})
		if gc != wc || gv != wv || len(gp) != len(wp)+1 || gp[0] != -1 || !slices.Equal(gp[1:], wp) {
			t.Fatalf("entry %d: TeamLineup %v %d %d, Lineup %v %d %d", i, gp, gc, gv, wp, wc, wv)
		}
		slots, cs, vs := p.TeamSlots(tr)
		players := p.Players()
		var sp []int32
		for _, s := range slots {
			sp = append(sp, players[s])
		}
		if !slices.Equal(sp, wp) || players[cs] != wc || players[vs] != wv || cap(slots) != len(slots) {
			t.Fatalf("entry %d: TeamSlots %v %d %d (players %v), Lineup %v %d %d", i, slots, cs, vs, players, wp, wc, wv)
		}
	}
	for i := range p.NumEntries() {
		for _, e := range es {
			if e.EntryID == p.EntryID(i) {
				got, c, v := p.Lineup(i, nil)
				ps := slices.Clone(e.Players)
				slices.Sort(ps)
				slices.Sort(got)
				if !slices.Equal(got, ps) || c != e.Captain || v != e.ViceCaptain {
					t.Fatalf("entry %d: lineup %v %d %d, added %v %d %d", e.EntryID, got, c, v, e.Players, e.Captain, e.ViceCaptain)
				}
			}
		}
	}
}

// TestGatherIDs: GatherIDs gives EntryID, UserID and TeamID of the entries asked for, in
// the order asked, across Arrow batches (batches of 4 rows).
func TestGatherIDs(t *testing.T) {
	var es []engine.Entry
	for i := range int64(37) {
		e := entry(i%5, 1000-i*3, i%7, []int32{101, 102, 103}, 101, 102)
		e.UserID = -i * 11
		es = append(es, e)
	}
	cfg := engine.DefaultConfig()
	cfg.BatchRows = 4
	p := build(t, es, cfg)
	ord := []uint32{36, 0, 5, 4, 17, 17, 3, 35, 8}
	entry, user, team := make([]int64, len(ord)+2), make([]int64, len(ord)), make([]int64, len(ord))
	p.GatherIDs(ord, entry, user, team)
	for k, i := range ord {
		if entry[k] != p.EntryID(int(i)) || user[k] != p.UserID(int(i)) || team[k] != p.TeamID(int(i)) {
			t.Fatalf("entry %d: gathered %d %d %d, want %d %d %d", i, entry[k], user[k], team[k], p.EntryID(int(i)), p.UserID(int(i)), p.TeamID(int(i)))
		}
	}
	if len(p.Batches()) < 9 {
		t.Fatalf("%d batches: want rows spread over many", len(p.Batches()))
	}
}
