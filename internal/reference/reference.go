// Package reference is the obviously correct ranking the engine is checked against:
// exact integer team points, a plain sort of each contest, competition ranks. It is
// slow on purpose and shares no code with the engine's fast path.
package reference

import (
	"fmt"
	"math"
	"sort"

	"github.com/fantasy/leaderboard/engine"
)

// Row is one ranked entry. Points are in units of 1/400 point (a different unit from the
// engine's, so that a shared scaling bug cannot hide).
type Row struct {
	ContestID, EntryID, UserID, TeamID int64
	Points                             int64
	Rank                               int
}

// PointsFloat is the row's points as a float64.
func (r Row) PointsFloat() float64 { return float64(r.Points) / 400 }

// Rank ranks entries against player points (a player absent from pts has 0). The result
// is ordered by contest_id, then display order (points desc, entry_id asc).
func Rank(entries []engine.Entry, pts map[int32]float64) []Row {
	quarterCenti := func(player int32) int64 {
		v := pts[player]
		c := math.Round(v * 100)
		if c/100 != v {
			panic(fmt.Sprintf("reference: player %d points %v are not a 2-decimal value", player, v))
		}
		return int64(c) * 4 // units of 1/400 point
	}
	rows := make([]Row, len(entries))
	for i, e := range entries {
		var sum int64
		for _, p := range e.Players {
			sum += quarterCenti(p)
		}
		sum += quarterCenti(e.Captain)         // captain counts twice
		sum += quarterCenti(e.ViceCaptain) / 2 // vice-captain 1.5 times
		rows[i] = Row{ContestID: e.ContestID, EntryID: e.EntryID, UserID: e.UserID, TeamID: e.TeamID, Points: sum}
	}
	sort.Slice(rows, func(a, b int) bool {
		x, y := rows[a], rows[b]
		if x.ContestID != y.ContestID {
			return x.ContestID < y.ContestID
		}
		if x.Points != y.Points {
			return x.Points > y.Points
		}
		return x.EntryID < y.EntryID
	})
	start := 0
	for i := range rows {
		if i == 0 || rows[i].ContestID != rows[i-1].ContestID {
			start = i
		}
		// Rank = 1 + entries in the same contest with strictly greater points.
		if i > start && rows[i].Points == rows[i-1].Points {
			rows[i].Rank = rows[i-1].Rank
		} else {
			rows[i].Rank = i - start + 1
		}
	}
	return rows
}
