package api

import (
	"encoding/json"

	"github.com/fantasy/leaderboard/records"
)

// pointsAt is an entry's team points from a cycle on.
type pointsAt struct {
	Cycle  int64       `json:"cycle"`
	AsOf   string      `json:"as_of"`
	Points json.Number `json:"points"`
}

// entryHistory is an entry's standing now and its points over the match.
type entryHistory struct {
	entryStanding
	History []pointsAt `json:"history"`
}

func (h entryHistory) MarshalJSON() ([]byte, error) {
	b := h.entryStanding.appendJSON(nil)
	hist, err := json.Marshal(h.History)
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], `,"history":`...)
	b = append(b, hist...)
	return append(b, '}'), nil
}

// GET /v1/contests/{contest_id}/entries/{entry_id}/history?since=: the entry as one entry,
// plus its team points at every cycle of its partition's points log (the match partition
// record read with the entry's contest) up to the contest's cycle
// in which they changed (the first step always), after cycle since (default 0: all; a
// page that has the steps to cycle N asks for since=N). Points are exact: the entry's
// lineup over the log replayed step by step. Ranks at past cycles are not stored anywhere (a
// contest record holds its latest histogram only), so the answer has the current rank
// only; the web page charts the ranks it saw while open (docs/API.md, "Web leaderboard").
func (s *Server) history(r *request) (any, error) {
	cid, eid, err := entryIDs(r)
	if err != nil {
		return nil, err
	}
	q, err := query(r)
	if err != nil {
		return nil, err
	}
	since, err := intParam(q, "since", 0, 0, maxInt64)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	e, at, err := s.entryOf(ctx, cid, eid)
	if err != nil {
		return nil, err
	}
	var out entryHistory
	err = s.consistent(ctx, "entry", e.ID, func() error {
		st, err := s.stand(ctx, at, e, false)
		if err != nil {
			return err
		}
		hist, last := pointsHistory(st.mp.Log, e.Lineup, since, st.c.Cycle)
		if last != st.points {
			return mixed("the points log of match %d partition %d does not reach cycle %d of contest %d", e.Match, e.Part, st.c.Cycle, e.Contest)
		}
		out = entryHistory{
			entryStanding: entryStanding{ContestID: e.Contest, MatchID: e.Match, EntryID: e.ID, UserID: e.User, TeamID: e.Team,
				Rank: st.Rank, Points: units(st.points), Total: st.c.Total, Cycle: st.c.Cycle, AsOf: asOf(st.c.AsOf)},
			History: hist,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pointsHistory replays log up to cycle and returns the lineup's points at each step
// after since that changed them (the log's first step always), and its points at cycle.
func pointsHistory(log records.PointsLog, l records.Lineup, since, cycle int64) ([]pointsAt, int64) {
	cur := map[int32]int64{}
	out := []pointsAt{}
	var last int64
	for k, step := range log {
		if step.Cycle > cycle {
			break
		}
		for k, p := range step.Players {
			cur[p] = step.Centi[k]
		}
		pts := l.Points(cur)
		if (k == 0 || pts != last) && step.Cycle > since {
			out = append(out, pointsAt{Cycle: step.Cycle, AsOf: asOf(step.AsOf), Points: points(pts)})
		}
		last = pts
	}
	return out, last
}
