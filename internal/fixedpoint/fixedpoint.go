// Package fixedpoint holds the exact decimal rules shared by the engine and the event
// decoders: player points have at most two decimals and are carried as int64
// centipoints; no float ever decides a comparison.
package fixedpoint

import (
	"fmt"
	"math"
	"strconv"
)

// MaxPlayerPoints bounds |points| of one player so that a team total of up to 64 players
// always fits int32 units of 1/200 point exactly.
const MaxPlayerPoints = 100_000

// Centipoints converts a player's points to exact centipoints. It rejects non-finite
// values, values with more than two decimals and values beyond ±MaxPlayerPoints.
func Centipoints(v float64) (int64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("points %v are not a finite number", v)
	}
	if math.Abs(v) > MaxPlayerPoints {
		return 0, fmt.Errorf("points %v are beyond ±%d", v, MaxPlayerPoints)
	}
	c := math.Round(v * 100)
	// A decimal with at most two places parses to the double nearest c/100, and
	// c/100 is correctly rounded to that same double: equality is exact.
	if c/100 != v {
		return 0, fmt.Errorf("points %v have more than 2 decimal places", v)
	}
	return int64(c), nil
}

// PointsScale is the number of team-point units per point: 1/200 point holds the
// vice-captain's half of a two-decimal value exactly.
const PointsScale = 200

// TeamUnits is a team's points in units of 1/PointsScale from the centipoints of its
// lineup (summed), its captain and its vice-captain: Σ + captain (2x) + ½·vice (1.5x).
func TeamUnits(lineupCenti, captainCenti, viceCenti int64) int64 {
	return 2*lineupCenti + 2*captainCenti + viceCenti
}

// FormatUnits renders team-point units as the shortest exact decimal, e.g. "52.125".
func FormatUnits(u int64) string {
	var buf [24]byte
	return string(AppendUnits(buf[:0], u))
}

// AppendUnits appends FormatUnits(u) to b, without allocating.
func AppendUnits(b []byte, u int64) []byte {
	if u < 0 {
		b = append(b, '-')
		u = -u
	}
	// u/200 = u*5/1000: three decimals at most.
	m := u * 5
	b = strconv.AppendInt(b, m/1000, 10)
	if frac := m % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100))
		if frac %= 100; frac != 0 {
			b = append(b, byte('0'+frac/10))
			if frac %= 10; frac != 0 {
				b = append(b, byte('0'+frac))
			}
		}
	}
	return b
}

// FormatCenti renders centipoints as the shortest exact decimal, e.g. "-2", "52.5".
func FormatCenti(c int64) string { return FormatUnits(c * 2) }
