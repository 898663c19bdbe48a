package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

type layoutRow struct {
	contest, entry, user int64
	team                 uint32
}

// TestSortColumns checks the parallel grouping against a plain sort, on every input
// order (by contest, by entry_id as rows join, shuffled, entries out of order within
// contests), dense and sparse contest ids, contests split across the workers' chunks,
// and inputs with fewer rows than workers (empty included), for 1-5 workers, in one
// scatter pass and in two: the parallel and serial outputs are identical.
func TestSortColumns(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 2000, 30_000} {
		for _, order := range []string{"contest", "join", "shuffled", "contest-unsorted-within"} {
			for _, sparse := range []bool{false, true} {
				t.Run(fmt.Sprintf("n=%d/%s/sparse=%v", n, order, sparse), func(t *testing.T) {
					rows := layoutRows(uint64(n), n, order, sparse)
					want := slices.Clone(rows)
					slices.SortFunc(want, func(a, b layoutRow) int {
						return cmp.Or(cmp.Compare(a.contest, b.contest), cmp.Compare(a.entry, b.entry))
					})
					for _, workers := range []int{1, 2, 3, 5} {
						for _, twoLevel := range []uint64{twoLevelSpan, 0} {
							c, e, u, tm := columnsOf(rows)
							c, e, u, tm = sortColumnsChunked(c, e, u, tm, workers, 1, twoLevel)
							for i := range want {
								if got := (layoutRow{c[i], e[i], u[i], tm[i]}); got != want[i] {
									t.Fatalf("workers %d, two-level from %d: row %d is %+v, want %+v", workers, twoLevel, i, got, want[i])
								}
							}
							if len(c) != len(want) {
								t.Fatalf("workers %d: %d rows, want %d", workers, len(c), len(want))
							}
						}
					}
				})
			}
		}
	}
}

// layoutRows makes n rows in ~n/10 contests (one of them a quarter of all rows), with
// unique entry ids, in the given order.
func layoutRows(seed uint64, n int, order string, sparse bool) []layoutRow {
	rng := rand.New(rand.NewPCG(seed, 11))
	nc := max(1, n/10)
	ids := rng.Perm(3*n + 1)
	rows := make([]layoutRow, n)
	for i := range rows {
		c := int64(rng.IntN(nc))
		if i < n/4 {
			c = 3 // the mega contest
		}
		if sparse {
			c = c*1_000_000_007 - 1<<40
		} else {
			c -= int64(nc) / 2 // negative ids too
		}
		rows[i] = layoutRow{c, int64(ids[i]), int64(rng.IntN(50)), uint32(rng.IntN(max(1, n/2)))}
	}
	switch order {
	case "contest":
		slices.SortFunc(rows, func(a, b layoutRow) int {
			return cmp.Or(cmp.Compare(a.contest, b.contest), cmp.Compare(a.entry, b.entry))
		})
	case "join":
		slices.SortFunc(rows, func(a, b layoutRow) int { return cmp.Compare(a.entry, b.entry) })
	case "shuffled":
		rng.Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	case "contest-unsorted-within":
		slices.SortStableFunc(rows, func(a, b layoutRow) int { return cmp.Compare(a.contest, b.contest) })
	}
	return rows
}

func columnsOf(rows []layoutRow) (c, e, u []int64, tm []uint32) {
	for _, r := range rows {
		c, e, u, tm = append(c, r.contest), append(e, r.entry), append(u, r.user), append(tm, r.team)
	}
	return c, e, u, tm
}

// TestRenumberTeams: teams are numbered by first entry, every entry keeps its team.
func TestRenumberTeams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nTeams = 500
	team := make([]uint32, 3000)
	for i := range team {
		team[i] = uint32(rng.IntN(nTeams))
	}
	for i := range nTeams { // every team has an entry
		team[rng.IntN(len(team))] = uint32(i)
	}
	seen := map[uint32]bool{}
	for _, tm := range team {
		seen[tm] = true
	}
	orig := slices.Clone(team)
	oldOf := renumberTeams(team, len(seen))
	next := uint32(0)
	for i, nt := range team {
		if oldOf[nt] != orig[i] {
			t.Fatalf("entry %d: team %d became %d, which maps back to %d", i, orig[i], nt, oldOf[nt])
		}
		if nt > next {
			t.Fatalf("entry %d: team %d numbered before %d", i, nt, next)
		}
		if nt == next {
			next++
		}
	}
	if int(next) != len(seen) {
		t.Errorf("%d numbers for %d teams", next, len(seen))
	}
	slots := []uint8{0, 1, 2, 3, 4, 5}
	if got := permuteTeams(slots, 2, []uint32{2, 0, 1}); !slices.Equal(got, []uint8{4, 5, 0, 1, 2, 3}) {
		t.Errorf("permuteTeams = %v", got)
	}
}
