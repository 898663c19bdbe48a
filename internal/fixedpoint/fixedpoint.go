// Package fixedpoint holds the exact decimal rules shared by the engine and the event
// decoders: player points have at most two decimals and are carried as int64
// centipoints; no float ever decides a comparison.
package fixedpoint

import (
	"fmt"
	"math"
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
