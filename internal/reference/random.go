package reference

import (
	"math/rand/v2"

	"github.com/fantasy/leaderboard/engine"
)

// Shape describes a random dataset for property tests.
type Shape struct {
	Contests    []int // size of each contest
	Players     int   // players in the match
	LineupSize  int
	Teams       int     // distinct teams to draw entries from (0 = one per entry)
	PointValues int     // distinct point values drawn per player; small => many ties
	Negative    bool    // allow negative points
	Missing     float64 // share of players absent from the points table
	Shuffle     bool    // entries in random order rather than by contest
}

// Random builds entries and a points table of the given shape. Entry ids are unique but
// not in contest order; team_ids repeat with identical lineups.
func Random(seed uint64, s Shape) ([]engine.Entry, map[int32]float64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	players := make([]int32, s.Players)
	seen := map[int32]bool{}
	for i := range players {
		for {
			id := int32(100000 + rng.IntN(900000))
			if !seen[id] {
				seen[id], players[i] = true, id
				break
			}
		}
	}
	total := 0
	for _, n := range s.Contests {
		total += n
	}
	nTeams := s.Teams
	if nTeams <= 0 {
		nTeams = total
	}
	type team struct {
		lineup     []int32
		capt, vice int32
	}
	teams := make([]team, nTeams)
	for t := range teams {
		perm := rng.Perm(s.Players)[:s.LineupSize]
		lineup := make([]int32, s.LineupSize)
		for k, pi := range perm {
			lineup[k] = players[pi]
		}
		c, v := rng.IntN(s.LineupSize), rng.IntN(s.LineupSize-1)
		if v >= c {
			v++
		}
		teams[t] = team{lineup, lineup[c], lineup[v]}
	}
	ids := rng.Perm(total * 3)
	entries := make([]engine.Entry, 0, total)
	for c, n := range s.Contests {
		contestID := int64(1000 + c*7 + rng.IntN(5))
		if c%3 == 1 {
			contestID = -contestID // ids are int64: negative ones must sort too
		}
		for range n {
			t := rng.IntN(nTeams)
			entries = append(entries, engine.Entry{
				ContestID: contestID, EntryID: int64(ids[len(entries)]) + 1, UserID: int64(rng.IntN(1000)),
				TeamID: int64(t) + 1, Players: teams[t].lineup, Captain: teams[t].capt, ViceCaptain: teams[t].vice,
			})
		}
	}
	if s.Shuffle {
		rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	}
	pts := map[int32]float64{}
	values := s.PointValues
	if values <= 0 {
		values = 1000
	}
	for _, id := range players {
		if rng.Float64() < s.Missing {
			continue
		}
		v := float64(rng.IntN(values)) * 0.25 // quarter points: 2 decimals
		if s.Negative && rng.IntN(3) == 0 {
			v = -v
		}
		pts[id] = v
	}
	return entries, pts
}

// HeavyTail returns contest sizes summing to n, shaped like a match day: one mega contest
// with ~10% of the entries, a few dozen of 10k-500k (scaled down for small n), and many
// of 2..1000 entries, about n/28 contests in all.
func HeavyTail(seed uint64, n int) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	mega := n / 10
	sizes := []int{mega}
	left := n - mega
	big := left / 4 // a few dozen large contests take a quarter of the rest
	for big > 0 {
		s := min(big, max(2, (10_000+rng.IntN(490_000))*n/56_000_000))
		sizes = append(sizes, s)
		big -= s
		left -= s
	}
	small := []int{2, 2, 2, 3, 4, 6, 10, 10, 20, 20, 50, 100, 1000}
	for left > 0 {
		s := min(left, small[rng.IntN(len(small))])
		sizes = append(sizes, s)
		left -= s
	}
	rng.Shuffle(len(sizes), func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	return sizes
}

// Bump returns points moved from pts by a step-dependent amount per player (0 to 5 points,
// in halves): the points of a later moment of the match, for tests that publish
// several.
func Bump(pts map[int32]float64, step int) map[int32]float64 {
	out := make(map[int32]float64, len(pts))
	for id, v := range pts {
		out[id] = v + float64((int(id)*7+step*13)%11)*0.5
	}
	return out
}
