package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fantasy/leaderboard/dataset"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{4, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if !slices.Equal(in, []float64{3, 1, 2}) {
		t.Fatalf("median reordered its input: %v", in)
	}
}

// TestLateFigures: a late cycle's baseline is the median of the two idle cycles nearest
// before it and the two nearest after it; busy (changed) cycles and other late cycles
// are not idle.
func TestLateFigures(t *testing.T) {
	idle := func(c int64, ms float64) cycleLine { return cycleLine{Cycle: c, TookMS: ms} }
	busy := func(c int64, ms float64) cycleLine { return cycleLine{Cycle: c, TookMS: ms, Changed: 100} }
	late := func(c int64, ms float64) cycleLine { return cycleLine{Cycle: c, TookMS: ms, Rebuilt: 1, Changed: 3} }
	lines := []cycleLine{
		idle(1, 500), // third before: not used
		idle(2, 100), busy(3, 900), idle(4, 120),
		late(5, 140),
		idle(6, 110), late(7, 150), idle(8, 130), idle(9, 1000),
	}
	ps := []lateProbe{{Cycle: 5, TookMS: 140}, {Cycle: 7, TookMS: 150}, {Cycle: 42, TookMS: 1}}
	lateFigures(lines, ps)
	// 5: idle 2, 4 before and 6, 8 after: 100 110 120 130 -> 115.
	if ps[0].IdleMS != 115 || ps[0].AddedMS != 25 {
		t.Errorf("late cycle 5: %+v, want idle 115, added 25", ps[0])
	}
	// 7: idle 6, 4 before and 8, 9 after: 110 120 130 1000 -> 125.
	if ps[1].IdleMS != 125 || ps[1].AddedMS != 25 {
		t.Errorf("late cycle 7: %+v, want idle 125, added 25", ps[1])
	}
	if ps[2].IdleMS != 0 || ps[2].AddedMS != 0 {
		t.Errorf("a cycle not in the lines got figures: %+v", ps[2])
	}
	// No idle cycle at all: no baseline, no difference made up.
	lone := []lateProbe{{Cycle: 5, TookMS: 140}}
	lateFigures([]cycleLine{late(5, 140)}, lone)
	if lone[0].IdleMS != 0 || lone[0].AddedMS != 0 {
		t.Errorf("no idle cycles: %+v", lone[0])
	}
}

func TestMultiplier(t *testing.T) {
	e := probeEntry{Players: []int32{7, 8, 9}, Captain: 8, ViceCaptain: 9}
	for p, want := range map[int32]float64{7: 1, 8: 2, 9: 1.5, 10: 0} {
		if got := e.multiplier(p); got != want {
			t.Errorf("multiplier(%d) = %v, want %v", p, got, want)
		}
	}
}

func TestContestScanPick(t *testing.T) {
	s := newContestScan()
	if _, err := s.pick(10); err == nil {
		t.Fatal("pick from no entries: no error")
	}
	players := []int32{1, 2, 3}
	add := func(contest, entry, user int64, n int) {
		for i := range n {
			s.add(probeEntry{Contest: contest, Entry: entry + int64(i), User: user, Team: contest * 10, Players: players, Captain: 1, ViceCaptain: 2})
			players[0]++ // the scan must keep its own copy of the first lineup
		}
	}
	add(5, 100, 7, 2)
	add(6, 200, 9, 12)
	add(4, 300, 3, 8)
	add(3, 50, 1, 12)
	got, err := s.pick(10)
	if err != nil {
		t.Fatal(err)
	}
	// 8 and 12 are both 2 from 10: the smaller contest id (3) wins the tie.
	if got.Sample.Contest != 3 || got.ContestSize != 12 || got.Sample.Entry != 50 || got.MaxEntry != 307 || got.MaxUser != 9 {
		t.Fatalf("pick(10) = %+v", got)
	}
	if got.Sample.Players[0] != 23 {
		t.Fatalf("the first lineup of contest 3 changed after it was taken: %v", got.Sample.Players)
	}
	if got, _ := s.pick(1); got.Sample.Contest != 5 || got.ContestSize != 2 {
		t.Fatalf("pick(1) = %+v", got)
	}
}

// TestPickTarget reads a small generated dataset: the pick is an entry of the dataset,
// its contest's size is counted right, and the new ids are above every id in it.
func TestPickTarget(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := dataset.GenerateWithStats(ctx, dataset.GenConfig{Entries: 3000, Contests: 60, Seed: 3}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pickTarget(ctx, dir, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContestSize != st.LargestContest {
		t.Fatalf("want the largest contest (%d entries), got %+v", st.LargestContest, got)
	}
	s := got.Sample
	if len(s.Players) != 11 || s.multiplier(s.Captain) != 2 || s.multiplier(s.ViceCaptain) != 1.5 || s.Entry > got.MaxEntry || s.User > got.MaxUser {
		t.Fatalf("sample %+v of %+v", s, got)
	}
	if _, err := pickTarget(ctx, t.TempDir(), 10); err == nil {
		t.Fatal("a directory with no entries.parquet: no error")
	}
}

// TestLogTail: lines come once each, a line still being written waits for its end.
func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tail, err := openTail(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.close()
	line := func(c string) string {
		return "time=2026-12-01T09:21:52.018Z level=DEBUG msg=cycle match=1 cycle=" + c + " entries=5 rebuilt=0 written=2 fold=0s took=1ms\n"
	}
	f.WriteString(line("1") + "time=x level=INFO msg=other\n" + line("2")[:30])
	ls, err := tail.next()
	if err != nil || len(ls) != 1 || ls[0].Cycle != 1 {
		t.Fatalf("first read: %+v, %v", ls, err)
	}
	f.WriteString(line("2")[30:] + line("3"))
	ls, err = tail.next()
	if err != nil || len(ls) != 2 || ls[0].Cycle != 2 || ls[1].Cycle != 3 {
		t.Fatalf("second read: %+v, %v", ls, err)
	}
	if ls, _ := tail.next(); len(ls) != 0 {
		t.Fatalf("lines read twice: %+v", ls)
	}
}
