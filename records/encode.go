package records

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/fantasy/leaderboard/internal/fixedpoint"
)

// ErrCorrupt is returned when a packed bin cannot be decoded.
var ErrCorrupt = errors.New("corrupt record")

// writer packs varints.
type writer struct{ b []byte }

func (w *writer) u(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) i(v int64)  { w.b = binary.AppendVarint(w.b, v) }

// reader unpacks varints; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) u() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) i() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// n reads a count and checks it against the bytes left (every element takes >= 1 byte).
func (r *reader) n() int {
	v := r.u()
	if v > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = ErrCorrupt
	}
	r.b = nil
}

func (r *reader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrCorrupt
	}
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	return nil
}

// Row is one leaderboard row. Points are in units of 1/fixedpoint.PointsScale.
type Row struct {
	Rank    int64
	EntryID int64
	UserID  int64
	TeamID  int64
	Points  int64
}

// EncodeRows packs rows in display order: ranks and points as deltas (ranks never fall,
// points never rise along a page).
func EncodeRows(rows []Row) []byte {
	w := writer{b: make([]byte, 0, 16*len(rows)+4)}
	w.u(uint64(len(rows)))
	var prevRank, prevPts int64
	for k, r := range rows {
		if k == 0 {
			w.u(uint64(r.Rank))
			w.i(r.Points)
		} else {
			w.u(uint64(r.Rank - prevRank))
			w.u(uint64(prevPts - r.Points))
		}
		w.i(r.EntryID)
		w.i(r.UserID)
		w.i(r.TeamID)
		prevRank, prevPts = r.Rank, r.Points
	}
	return w.b
}

// DecodeRows unpacks EncodeRows.
func DecodeRows(b []byte) ([]Row, error) {
	r := reader{b: b}
	n := r.n()
	rows := make([]Row, n)
	for k := range rows {
		if k == 0 {
			rows[k].Rank = int64(r.u())
			rows[k].Points = r.i()
		} else {
			rows[k].Rank = rows[k-1].Rank + int64(r.u())
			rows[k].Points = rows[k-1].Points - int64(r.u())
		}
		rows[k].EntryID, rows[k].UserID, rows[k].TeamID = r.i(), r.i(), r.i()
	}
	return rows, r.done("rows")
}

// Bucket is one distinct points value of a contest and how many entries have it.
type Bucket struct {
	Points int64 // units of 1/fixedpoint.PointsScale
	Count  int64
}

// EncodeHist packs a contest's histogram, points descending.
func EncodeHist(h []Bucket) []byte {
	w := writer{b: make([]byte, 0, 4*len(h)+4)}
	w.u(uint64(len(h)))
	for k, b := range h {
		if k == 0 {
			w.i(b.Points)
		} else {
			w.u(uint64(h[k-1].Points - b.Points))
		}
		w.u(uint64(b.Count))
	}
	return w.b
}

// DecodeHist unpacks EncodeHist.
func DecodeHist(b []byte) ([]Bucket, error) {
	r := reader{b: b}
	h := make([]Bucket, r.n())
	for k := range h {
		if k == 0 {
			h[k].Points = r.i()
		} else {
			h[k].Points = h[k-1].Points - int64(r.u())
		}
		h[k].Count = int64(r.u())
	}
	return h, r.done("histogram")
}

// Standing is where points put an entry in a contest: Above entries have more points,
// Equal entries (itself included) the same.
type Standing struct {
	Rank, Above, Equal int64
}

// StandingOf finds points in a histogram (points descending).
func StandingOf(h []Bucket, points int64) (Standing, bool) {
	var above int64
	for _, b := range h {
		if b.Points == points {
			return Standing{Rank: above + 1, Above: above, Equal: b.Count}, true
		}
		if b.Points < points {
			break
		}
		above += b.Count
	}
	return Standing{}, false
}

// Lineup is a team's players, captain and vice-captain.
type Lineup struct {
	Players       []int32
	Captain, Vice int32
}

// Points computes the lineup's team points (units of 1/PointsScale) from centipoints by
// player (absent = 0).
func (l Lineup) Points(centi map[int32]int64) int64 {
	var sum int64
	for _, p := range l.Players {
		sum += centi[p]
	}
	return fixedpoint.TeamUnits(sum, centi[l.Captain], centi[l.Vice])
}

// lineupSize is the length writer.lineup writes for l.
func lineupSize(l Lineup) int {
	n := uvarintLen(uint64(len(l.Players))) + uvarintLen(zigzag(int64(l.Captain))) + uvarintLen(zigzag(int64(l.Vice)))
	for _, p := range l.Players {
		n += uvarintLen(zigzag(int64(p)))
	}
	return n
}

func (w *writer) lineup(l Lineup) {
	w.u(uint64(len(l.Players)))
	for _, p := range l.Players {
		w.i(int64(p))
	}
	w.i(int64(l.Captain))
	w.i(int64(l.Vice))
}

func (r *reader) lineup() Lineup {
	l := Lineup{Players: make([]int32, r.n())}
	for k := range l.Players {
		l.Players[k] = int32(r.i())
	}
	l.Captain, l.Vice = int32(r.i()), int32(r.i())
	return l
}

// PointsStep is one cycle's changes to player points (totals).
type PointsStep struct {
	Cycle   int64
	AsOf    int64 // epoch ms
	Players []int32
	Centi   []int64
}

// PointsLog is the history of a match's player points, one step per cycle in which any
// player's points changed, so the points of any cycle can be rebuilt: an API reader
// computes an entry's points with the cycle of the contest record it read.
type PointsLog []PointsStep

// At returns the player points in force at cycle (centipoints by player).
func (l PointsLog) At(cycle int64) map[int32]int64 {
	m := map[int32]int64{}
	for _, s := range l {
		if s.Cycle > cycle {
			break
		}
		for k, p := range s.Players {
			m[p] = s.Centi[k]
		}
	}
	return m
}

// Append adds a cycle's points, keeping only the players whose points changed; it returns
// the log unchanged when nothing did.
func (l PointsLog) Append(cycle, asOf int64, centi map[int32]int64) PointsLog {
	cur := l.At(cycle)
	step := PointsStep{Cycle: cycle, AsOf: asOf}
	for _, p := range slices.Sorted(mapKeys(centi)) {
		if old, ok := cur[p]; !ok || old != centi[p] {
			step.Players = append(step.Players, p)
			step.Centi = append(step.Centi, centi[p])
		}
	}
	if len(step.Players) == 0 {
		return l
	}
	return append(l, step)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// MergeLogs is the union of two points logs of the same match (written by different
// workers, each for its own partitions): for each cycle, the players of both steps. It is
// exact because both are views of one truth: a player's value at cycle N is the snapshot
// of tick N in either log, and a log holds a player's value from its first step until
// the next step that names it. a's steps win on a conflict (none when both are right).
func MergeLogs(a, b PointsLog) PointsLog {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return slices.Clone(b)
	}
	out := make(PointsLog, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Cycle < b[j].Cycle):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Cycle < a[i].Cycle:
			out = append(out, b[j])
			j++
		default: // the same cycle: the union of the players, ascending
			s := PointsStep{Cycle: a[i].Cycle, AsOf: a[i].AsOf}
			x, y := a[i], b[j]
			p, q := 0, 0
			for p < len(x.Players) || q < len(y.Players) {
				switch {
				case q == len(y.Players) || (p < len(x.Players) && x.Players[p] < y.Players[q]):
					s.Players, s.Centi = append(s.Players, x.Players[p]), append(s.Centi, x.Centi[p])
					p++
				case p == len(x.Players) || y.Players[q] < x.Players[p]:
					s.Players, s.Centi = append(s.Players, y.Players[q]), append(s.Centi, y.Centi[q])
					q++
				default:
					s.Players, s.Centi = append(s.Players, x.Players[p]), append(s.Centi, x.Centi[p])
					p, q = p+1, q+1
				}
			}
			out = append(out, s)
			i, j = i+1, j+1
		}
	}
	return out
}

// EncodePointsLog packs a points log.
func EncodePointsLog(l PointsLog) []byte {
	var w writer
	w.u(uint64(len(l)))
	for _, s := range l {
		w.u(uint64(s.Cycle))
		w.i(s.AsOf)
		w.u(uint64(len(s.Players)))
		for k, p := range s.Players {
			w.i(int64(p))
			w.i(s.Centi[k])
		}
	}
	return w.b
}

// DecodePointsLog unpacks EncodePointsLog.
func DecodePointsLog(b []byte) (PointsLog, error) {
	r := reader{b: b}
	l := make(PointsLog, r.n())
	for k := range l {
		s := &l[k]
		s.Cycle, s.AsOf = int64(r.u()), r.i()
		n := r.n()
		s.Players, s.Centi = make([]int32, n), make([]int64, n)
		for j := range n {
			s.Players[j], s.Centi[j] = int32(r.i()), r.i()
		}
	}
	return l, r.done("points log")
}

// EncodeIDs packs a list of int64.
func EncodeIDs(ids []int64) []byte {
	var w writer
	w.u(uint64(len(ids)))
	for _, id := range ids {
		w.i(id)
	}
	return w.b
}

// DecodeIDs unpacks EncodeIDs.
func DecodeIDs(b []byte) ([]int64, error) {
	r := reader{b: b}
	ids := make([]int64, r.n())
	for k := range ids {
		ids[k] = r.i()
	}
	return ids, r.done("ids")
}
