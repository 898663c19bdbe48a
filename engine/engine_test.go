package engine_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

func snapshotOf(t testing.TB, pts map[int32]float64) *engine.Snapshot {
	t.Helper()
	ids := make([]int32, 0, len(pts))
	vals := make([]float64, 0, len(pts))
	for id, v := range pts {
		ids = append(ids, id)
		vals = append(vals, v)
	}
	s, err := engine.NewSnapshot(ids, vals)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t testing.TB, entries []engine.Entry, cfg engine.Config) *engine.Partition {
	t.Helper()
	b := engine.NewBuilder(0, len(entries))
	for _, e := range entries {
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// board is what a cycle shows: per contest, the display order with ranks and points.
type board map[int64][]reference.Row

func refBoard(rows []reference.Row) board {
	b := board{}
	for _, r := range rows {
		b[r.ContestID] = append(b[r.ContestID], r)
	}
	return b
}

// engineBoard reads the partition's last cycle into reference rows (points converted to
// the reference's 1/400 units).
func engineBoard(p *engine.Partition) board {
	b := board{}
	for c := range p.NumContests() {
		ct := p.Contest(c)
		for _, i := range p.Ordered(c) {
			b[ct.ID] = append(b[ct.ID], reference.Row{
				ContestID: ct.ID, EntryID: p.EntryID(int(i)), UserID: p.UserID(int(i)), TeamID: p.TeamID(int(i)),
				Points: int64(p.Points(int(i))) * 400 / engine.PointsScale, Rank: p.Rank(int(i)),
			})
		}
	}
	return b
}

func diffBoards(t *testing.T, got, want board) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d contests, want %d", len(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		if len(g) != len(w) {
			t.Fatalf("contest %d: got %d entries, want %d", id, len(g), len(w))
		}
		for j := range w {
			if g[j] != w[j] {
				t.Fatalf("contest %d position %d: got %+v, want %+v", id, j, g[j], w[j])
			}
		}
	}
}

func checkRankIndex(t *testing.T, p *engine.Partition) {
	t.Helper()
	// Rank(i) and Points(i) agree with the order: each entry found by id gives the same.
	for c := range p.NumContests() {
		ct := p.Contest(c)
		for pos, i := range p.Ordered(c) {
			j, ok := p.FindEntry(c, p.EntryID(int(i)))
			if !ok || j != int(i) {
				t.Fatalf("contest %d position %d: FindEntry(%d) = %d, %v", ct.ID, pos, p.EntryID(int(i)), j, ok)
			}
		}
	}
}

var shapes = map[string]reference.Shape{
	"mixed":               {Contests: []int{1, 2, 3, 5, 10, 47, 48, 49, 100, 1000, 5000, 2, 1, 7}, Players: 22, LineupSize: 11, Teams: 300, PointValues: 400, Negative: true, Missing: 0.1},
	"all ties":            {Contests: []int{2, 50, 3000, 1}, Players: 22, LineupSize: 11, PointValues: 1},
	"few values":          {Contests: []int{60, 200, 4000, 9}, Players: 22, LineupSize: 11, Teams: 50, PointValues: 3, Negative: true},
	"one-entry contests":  {Contests: slices.Repeat([]int{1}, 500), Players: 22, LineupSize: 11, PointValues: 100},
	"one contest":         {Contests: []int{20000}, Players: 22, LineupSize: 11, Teams: 2000, PointValues: 800, Negative: true, Missing: 0.2},
	"lineup of five":      {Contests: []int{3, 300, 30, 3000}, Players: 9, LineupSize: 5, PointValues: 40, Negative: true},
	"lineup of two":       {Contests: []int{2, 2, 2, 100}, Players: 3, LineupSize: 2, PointValues: 5},
	"shuffled":            {Contests: []int{10, 20, 30, 40, 50, 2000}, Players: 30, LineupSize: 11, Teams: 100, PointValues: 50, Shuffle: true, Negative: true},
	"all players missing": {Contests: []int{5, 70}, Players: 22, LineupSize: 11, Missing: 1},
	"wide points":         {Contests: []int{3000, 64}, Players: 22, LineupSize: 11, PointValues: 400000, Negative: true},
}

var configs = map[string]engine.Config{
	"1 worker":              {Workers: 1, PageSize: 100, BatchRows: 1 << 20},
	"4 workers, tiny batch": {Workers: 4, PageSize: 7, BatchRows: 64},
	"3 workers, all mega":   {Workers: 3, PageSize: 10, BatchRows: 1000, MegaContest: 2},
	"2 workers, some mega":  {Workers: 2, PageSize: 50, BatchRows: 4096, MegaContest: 1000},
}

// TestEngineMatchesReference ranks random and adversarial datasets and compares every
// entry's position, rank and points with the reference, across configurations that
// exercise the insertion sort, the radix sort, the parallel mega-contest path and
// contests spanning Arrow batches.
func TestEngineMatchesReference(t *testing.T) {
	for name, shape := range shapes {
		for cname, cfg := range configs {
			t.Run(name+"/"+cname, func(t *testing.T) {
				for seed := range uint64(2) {
					entries, pts := reference.Random(seed+1, shape)
					for _, wide := range []bool{false, true} {
						p := build(t, entries, cfg)
						if wide {
							engine.UseWideKeys(p)
						}
						p.Run(snapshotOf(t, pts))
						if dense := engine.DenseKeys(p); (wide && dense) || (!wide && !dense && name != "wide points") {
							t.Fatalf("dense keys %v with wide keys forced %v", dense, wide)
						}
						diffBoards(t, engineBoard(p), refBoard(reference.Rank(entries, pts)))
						checkRankIndex(t, p)
					}
				}
			})
		}
	}
}

// TestChangeDetection runs cycles over a sequence of snapshots and checks the changed
// entries and pages against a diff of reference boards.
func TestChangeDetection(t *testing.T) {
	shape := shapes["mixed"]
	shape.PointValues = 20
	entries, pts := reference.Random(42, shape)
	for cname, cfg := range configs {
		t.Run(cname, func(t *testing.T) {
			p := build(t, entries, cfg)
			snaps := []map[int32]float64{pts}
			// Later snapshots: change one player, change nothing, change many.
			keys := slices.Sorted(func(yield func(int32) bool) {
				for k := range pts {
					if !yield(k) {
						return
					}
				}
			})
			one := clonePts(pts)
			one[keys[0]] += 3.5
			many := clonePts(one)
			for i, k := range keys {
				if i%2 == 0 {
					many[k] -= 1.25
				}
			}
			snaps = append(snaps, one, clonePts(one), many, clonePts(pts))
			var prev board
			for cycle, sp := range snaps {
				st := p.Run(snapshotOf(t, sp))
				cur := refBoard(reference.Rank(entries, sp))
				diffBoards(t, engineBoard(p), cur)
				wantEntries, wantPages := expectedChanges(p, prev, cur)
				gotEntries := p.ChangedEntries().ToArray()
				gotPages := p.ChangedPages().ToArray()
				if !slices.Equal(gotEntries, wantEntries) {
					t.Fatalf("cycle %d: changed entries %v, want %v", cycle+1, head(gotEntries), head(wantEntries))
				}
				if !slices.Equal(gotPages, wantPages) {
					t.Fatalf("cycle %d: changed pages %v, want %v", cycle+1, head(gotPages), head(wantPages))
				}
				if st.ChangedEntries != len(wantEntries) || st.ChangedPages != len(wantPages) || st.Cycle != cycle+1 {
					t.Fatalf("cycle %d: stats %+v", cycle+1, st)
				}
				prev = cur
			}
		})
	}
}

func clonePts(m map[int32]float64) map[int32]float64 {
	c := make(map[int32]float64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func head(a []uint32) string {
	if len(a) > 10 {
		return fmt.Sprint(a[:10], "...", len(a))
	}
	return fmt.Sprint(a)
}

// expectedChanges diffs two reference boards into entry indices and page indices of p.
func expectedChanges(p *engine.Partition, prev, cur board) (entries, pages []uint32) {
	type rp struct {
		points int64
		rank   int
	}
	before := map[int64]rp{}
	for _, rows := range prev {
		for _, r := range rows {
			before[r.EntryID] = rp{r.Points, r.Rank}
		}
	}
	for c := range p.NumContests() {
		ct := p.Contest(c)
		rows := cur[ct.ID]
		for pg := range ct.Pages {
			lo, hi := pg*p.PageSize(), min(len(rows), (pg+1)*p.PageSize())
			var a, b []reference.Row
			a = rows[lo:hi]
			if old := prev[ct.ID]; old != nil {
				b = old[lo:hi]
			}
			if !slices.Equal(a, b) {
				pages = append(pages, uint32(ct.FirstPage+pg))
			}
		}
		for i := ct.Start; i < ct.End; i++ {
			id := p.EntryID(i)
			var now rp
			for _, r := range rows {
				if r.EntryID == id {
					now = rp{r.Points, r.Rank}
				}
			}
			if was, ok := before[id]; !ok || was != now {
				entries = append(entries, uint32(i))
			}
		}
	}
	return entries, pages
}

// TestLookupAllocs: reading a result (rank, points, ids, order) allocates nothing.
func TestLookupAllocs(t *testing.T) {
	entries, pts := reference.Random(3, shapes["mixed"])
	p := build(t, entries, engine.DefaultConfig())
	p.Run(snapshotOf(t, pts))
	var sink int64
	if a := testing.AllocsPerRun(100, func() {
		c, _ := p.FindContest(p.Contest(3).ID)
		for _, i := range p.Ordered(c) {
			j, _ := p.FindEntry(c, p.EntryID(int(i)))
			sink += int64(p.Rank(j)) + int64(p.Points(j)) + p.UserID(j) + p.TeamID(j)
		}
	}); a != 0 {
		t.Fatalf("lookups allocate %v times", a)
	}
	_ = sink
}

// TestRunRepeat: a Run on the points of the last one (every player of the partition
// unchanged; players outside it may move) with no Derive between repeats it: the same
// board, nothing changed, every contest skipped; the next Run on new points reports
// the changes against the last board, as if the repeat had ranked; a derived partition
// ranks on the same points (its changed contests), never repeats its parent.
func TestRunRepeat(t *testing.T) {
	shape := shapes["mixed"]
	shape.PointValues = 20
	entries, pts := reference.Random(7, shape)
	for cname, cfg := range configs {
		t.Run(cname, func(t *testing.T) {
			p, ctrl := build(t, entries, cfg), build(t, entries, cfg)
			p.Run(snapshotOf(t, pts))
			ctrl.Run(snapshotOf(t, pts))
			same := clonePts(pts)
			same[1<<30] = 99 // a player in no lineup of p
			for k := range 2 {
				st := p.Run(snapshotOf(t, same))
				if !st.Repeated || st.SkippedContests != p.NumContests() || st.ChangedEntries != 0 || st.ChangedPages != 0 || st.Cycle != 2+k {
					t.Fatalf("repeat %d: stats %+v, want every one of %d contests skipped, nothing changed, cycle %d", k, st, p.NumContests(), 2+k)
				}
				if !p.ChangedEntries().IsEmpty() || !p.ChangedPages().IsEmpty() {
					t.Fatalf("repeat %d: changed entries %v, pages %v", k, head(p.ChangedEntries().ToArray()), head(p.ChangedPages().ToArray()))
				}
				diffBoards(t, engineBoard(p), refBoard(reference.Rank(entries, pts)))
				checkRankIndex(t, p)
			}
			moved := clonePts(pts)
			for k := range moved {
				moved[k] += 1.5
				break
			}
			moved2 := clonePts(moved)
			for k := range moved2 {
				moved2[k] -= 4
			}
			for _, sp := range []map[int32]float64{moved, moved2, pts} {
				st := p.Run(snapshotOf(t, sp))
				want := ctrl.Run(snapshotOf(t, sp))
				if st.Repeated || want.Repeated {
					t.Fatalf("moved points repeated the last cycle: %+v", st)
				}
				diffBoards(t, engineBoard(p), refBoard(reference.Rank(entries, sp)))
				if g, w := p.ChangedEntries().ToArray(), ctrl.ChangedEntries().ToArray(); !slices.Equal(g, w) {
					t.Fatalf("changed entries %v after repeats, %v without", head(g), head(w))
				}
				if g, w := p.ChangedPages().ToArray(), ctrl.ChangedPages().ToArray(); !slices.Equal(g, w) {
					t.Fatalf("changed pages %v after repeats, %v without", head(g), head(w))
				}
			}
			// A derived partition on the points of its parent's last Run: it ranks.
			e := entries[0]
			e.EntryID = 1 << 40
			q, err := p.Derive(nil, []engine.Entry{e})
			if err != nil {
				t.Fatal(err)
			}
			st := q.Run(snapshotOf(t, pts))
			c, _ := q.FindContest(e.ContestID)
			i, ok := q.FindEntry(c, e.EntryID)
			if !ok || !q.ChangedEntries().Contains(uint32(i)) || st.Repeated {
				t.Fatalf("a derived partition's first Run on its parent's points: stats %+v, new entry changed %v", st, ok && q.ChangedEntries().Contains(uint32(i)))
			}
			diffBoards(t, engineBoard(q), refBoard(reference.Rank(append(slices.Clone(entries), e), pts)))
			if st := q.Run(snapshotOf(t, pts)); !st.Repeated || st.ChangedEntries != 0 {
				t.Fatalf("the derived partition's second Run on the same points: %+v, want a repeat", st)
			}
		})
	}
}
