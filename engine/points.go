package engine

import (
	"fmt"

	"github.com/fantasy/leaderboard/internal/fixedpoint"
)

// Fixed point. Player points have at most two decimals, so they are held as int64
// centipoints. Team points = Σ lineup + captain (2x) + ½·vice-captain (1.5x), which needs
// one more binary digit: team points are held as int32 in units of 1/PointsScale point.
const (
	// PointsScale is the number of team-point units per point (1/200 point).
	PointsScale = fixedpoint.PointsScale
	// MaxPlayerPoints bounds |points| of one player so that a team total of up to
	// MaxLineupSize players always fits int32 units exactly.
	MaxPlayerPoints = fixedpoint.MaxPlayerPoints
	// MaxLineupSize is the largest lineup a match may use.
	MaxLineupSize = 64
	// MaxPlayersPerMatch is the size of the per-match player-slot dictionary (uint8 slots).
	MaxPlayersPerMatch = 256
)

// Centipoints converts a player's points to exact centipoints; see fixedpoint.Centipoints.
func Centipoints(v float64) (int64, error) { return fixedpoint.Centipoints(v) }

// UnitsToFloat converts team-point units to a float64 (exact to the nearest double of a
// decimal with at most 3 places, which is how JSON and Parquet carry it).
func UnitsToFloat(u int32) float64 { return float64(u) / PointsScale }

// FormatUnits renders team-point units as the shortest exact decimal, e.g. "52.125".
func FormatUnits(u int32) string { return fixedpoint.FormatUnits(int64(u)) }

// Snapshot is one consistent set of player point totals (centipoints by player id).
// A player absent from the snapshot has 0 points.
type Snapshot struct {
	centi map[int32]int64
}

// NewSnapshot validates and converts a points table. Duplicate player ids are an error.
func NewSnapshot(playerIDs []int32, points []float64) (*Snapshot, error) {
	if len(playerIDs) != len(points) {
		panic(fmt.Sprintf("BUG: %d player ids but %d points", len(playerIDs), len(points)))
	}
	s := &Snapshot{centi: make(map[int32]int64, len(playerIDs))}
	for i, id := range playerIDs {
		c, err := Centipoints(points[i])
		if err != nil {
			return nil, fmt.Errorf("player %d: %w", id, err)
		}
		if _, dup := s.centi[id]; dup {
			return nil, fmt.Errorf("player %d appears twice", id)
		}
		s.centi[id] = c
	}
	return s, nil
}

// SnapshotFromCenti builds a snapshot from already validated centipoints.
func SnapshotFromCenti(m map[int32]int64) *Snapshot {
	c := make(map[int32]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return &Snapshot{centi: c}
}

// Centi returns a player's centipoints (0 when absent).
func (s *Snapshot) Centi(playerID int32) int64 { return s.centi[playerID] }

// Len is the number of players with points.
func (s *Snapshot) Len() int { return len(s.centi) }
