package worker

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

type entryRec struct {
	contest, user, team int64
}

// match is one match's state. Fields above the line are the ingest side (under
// Worker.mu); below it the cycle side (touched only by Cycle, under Worker.cycleMu).
type match struct {
	id         int64
	state      string
	entries    map[int64]entryRec
	teams      map[int64]records.Lineup
	points     map[int32]int64
	dirty      bool               // entries changed since the partition was built
	pending    map[int64]struct{} // entry ids whose entry record must be written
	gone       map[int64]struct{} // withdrawn entry ids: delete their records
	users      map[int64]struct{} // user ids whose user record must be written
	lineups    map[int64]struct{} // teams whose lineup changed: rewrite their entries
	lineupSize int                // players per lineup in this match (its first entry's)

	// ---- cycle side
	resumed  bool
	final    bool
	cycle    int64
	asOf     int64
	log      records.PointsLog
	part     *engine.Partition
	userIdx  userIndex
	written  map[int64]int // contest id -> pages of its last write (to delete stale pages)
	chunks   int           // contests chunk records written
	chunksAt time.Time     // when they were last written
	refresh  struct{ contest, entry, user int }
}

func (w *Worker) matchLocked(id int64) *match {
	m, ok := w.matches[id]
	if !ok {
		m = &match{
			id: id, state: records.StateScheduled,
			entries: map[int64]entryRec{}, teams: map[int64]records.Lineup{}, points: map[int32]int64{},
			pending: map[int64]struct{}{}, gone: map[int64]struct{}{}, users: map[int64]struct{}{}, lineups: map[int64]struct{}{},
			written: map[int64]int{},
		}
		w.matches[id] = m
	}
	return m
}

type rejection struct {
	rec kafkasource.EntryRecord
	err *kafkasource.RejectError
}

// Apply applies one polled batch: entries are upserts by entry_id (withdrawn removes),
// points are totals, lifecycle events set the state. Entries that contradict the
// worker's state (an entry moving to another contest or match) are dead-lettered.
func (w *Worker) Apply(ctx context.Context, b kafkasource.Batch) error {
	var rejected []rejection
	w.mu.Lock()
	for _, r := range b.Entries {
		if err := w.applyEntry(r.Event); err != nil {
			rejected = append(rejected, rejection{r, err})
		}
	}
	for _, p := range b.Points {
		w.matchLocked(p.MatchID).points[p.PlayerID] = p.Centi
	}
	for _, e := range b.Matches {
		m := w.matchLocked(e.MatchID)
		if m.state == records.StateCompleted {
			continue // completion is final
		}
		m.state = string(e.State)
	}
	for id, m := range w.matches {
		w.m.entries.WithLabelValues(fmt.Sprint(id)).Set(float64(len(m.entries)))
	}
	w.mu.Unlock()
	for _, r := range rejected {
		w.m.rejected.WithLabelValues(r.err.Code).Inc()
		w.log.Warn("entry rejected", "topic", w.cfg.EntriesTopic, "partition", r.rec.Partition, "offset", r.rec.Offset, "entry", r.rec.Event.EntryID, "reason", r.err.Msg)
		if err := w.src.Reject(ctx, w.cfg.EntriesTopic, r.rec.Partition, r.rec.Offset, r.rec.Key, r.rec.Value, r.err); err != nil {
			return fmt.Errorf("cannot dead-letter entry %d: %w", r.rec.Event.EntryID, err)
		}
	}
	return nil
}

func (w *Worker) applyEntry(e kafkasource.EntryEvent) *kafkasource.RejectError {
	// An entry belongs to one match and one contest for life.
	for id, m := range w.matches {
		if old, ok := m.entries[e.EntryID]; ok {
			if id != e.MatchID {
				return &kafkasource.RejectError{Code: "match_move", Msg: fmt.Sprintf("entry %d belongs to match %d, not %d", e.EntryID, id, e.MatchID)}
			}
			if old.contest != e.ContestID {
				return &kafkasource.RejectError{Code: "contest_move", Msg: fmt.Sprintf("entry %d belongs to contest %d, not %d", e.EntryID, old.contest, e.ContestID)}
			}
		}
	}
	m := w.matchLocked(e.MatchID)
	if e.Withdrawn {
		if old, ok := m.entries[e.EntryID]; ok {
			delete(m.entries, e.EntryID)
			delete(m.pending, e.EntryID)
			m.gone[e.EntryID] = struct{}{}
			m.users[old.user] = struct{}{}
			m.dirty = true
		}
		return nil
	}
	if m.lineupSize == 0 {
		m.lineupSize = len(e.Players)
	} else if len(e.Players) != m.lineupSize {
		// The source checks sizes against its configured lineup size; with that set to
		// "any", a match still has one size, that of its first entry.
		return &kafkasource.RejectError{Code: "lineup_size", Msg: fmt.Sprintf("entry %d has %d players; match %d's lineups have %d", e.EntryID, len(e.Players), e.MatchID, m.lineupSize)}
	}
	old, existed := m.entries[e.EntryID]
	rec := entryRec{contest: e.ContestID, user: e.UserID, team: e.TeamID}
	lineup := records.Lineup{Players: slices.Clone(e.Players), Captain: e.Captain, Vice: e.ViceCaptain}
	// Entries sharing a team share its lineup: the latest event for a team sets it.
	if cur, ok := m.teams[e.TeamID]; !ok || !sameLineup(cur, lineup) {
		m.teams[e.TeamID] = lineup
		if ok {
			m.lineups[e.TeamID] = struct{}{}
		}
		m.dirty = true
	}
	if existed && old == rec {
		return nil // a replay
	}
	if existed && old.user != rec.user {
		m.users[old.user] = struct{}{}
	}
	m.entries[e.EntryID] = rec
	delete(m.gone, e.EntryID)
	m.pending[e.EntryID] = struct{}{}
	m.users[rec.user] = struct{}{}
	m.dirty = true
	return nil
}

func sameLineup(a, b records.Lineup) bool {
	if a.Captain != b.Captain || a.Vice != b.Vice || len(a.Players) != len(b.Players) {
		return false
	}
	x, y := slices.Clone(a.Players), slices.Clone(b.Players)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// userIndex maps users to their entries in a partition (CSR layout).
type userIndex struct {
	ids   []int64  // sorted user ids
	start []uint32 // entries of ids[k]: idx[start[k]:start[k+1]]
	idx   []uint32 // entry numbers of the partition
}

func buildUserIndex(p *engine.Partition) userIndex {
	n := p.NumEntries()
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		ua, ub := p.UserID(int(a)), p.UserID(int(b))
		if ua != ub {
			if ua < ub {
				return -1
			}
			return 1
		}
		return int(a) - int(b)
	})
	var u userIndex
	u.idx = order
	for k, i := range order {
		if k == 0 || p.UserID(int(i)) != u.ids[len(u.ids)-1] {
			u.ids = append(u.ids, p.UserID(int(i)))
			u.start = append(u.start, uint32(k))
		}
	}
	u.start = append(u.start, uint32(n))
	return u
}

func (u userIndex) entries(user int64) ([]uint32, bool) {
	k, ok := slices.BinarySearch(u.ids, user)
	if !ok {
		return nil, false
	}
	return u.idx[u.start[k]:u.start[k+1]], true
}
