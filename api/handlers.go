package api

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/fantasy/leaderboard/internal/fixedpoint"
	"github.com/fantasy/leaderboard/records"
)

// GET /v1/matches: the matches record of both namespaces, then every match record.
func (s *Server) matches(r *request) (any, error) {
	ctx := r.Context()
	var ids []int64
	for _, ns := range [2]string{records.Live, records.Complete} {
		b, ok, err := s.rd.GetPacked(ctx, ns, records.SetMatches, records.MatchesKey)
		if err != nil {
			return nil, s.storeError(err, ns, records.SetMatches, records.MatchesKey)
		}
		if !ok || b == nil {
			continue
		}
		ms, err := records.MatchesFrom(b)
		if err != nil {
			return nil, s.corrupt("match list", ns, err)
		}
		ids = append(ids, ms.IDs...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	keys := make([]string, len(ids))
	for k, id := range ids {
		keys[k] = records.IDKey(id)
	}
	bs, _, err := s.getMany(ctx, records.Live, records.SetMatch, keys)
	if err != nil {
		return nil, err
	}
	out := matchList{Matches: []matchSummary{}}
	for k, b := range bs {
		if b == nil {
			continue // listed, its record not written yet or expired
		}
		m, err := records.MatchFrom(b)
		if err != nil {
			return nil, s.corrupt("match", ids[k], err)
		}
		out.Matches = append(out.Matches, summary(m))
	}
	return out, nil
}

// GET /v1/matches/{match_id}: the match record; players' points replayed to its cycle.
func (s *Server) match(r *request) (any, error) {
	id, err := pathID(r, "match_id")
	if err != nil {
		return nil, err
	}
	m, at, err := s.readMatch(r.Context(), records.Live, id)
	if err != nil {
		return nil, err
	}
	if at == "" {
		return nil, notFound("match %d not found", id)
	}
	centi := s.logs.at(at, m, m.Cycle)
	players := make([]playerPoints, 0, len(centi))
	for _, p := range slices.Sorted(maps.Keys(centi)) {
		players = append(players, playerPoints{PlayerID: p, Points: json.Number(fixedpoint.FormatCenti(centi[p]))})
	}
	return matchDetail{matchSummary: summary(m), Players: players}, nil
}

// GET /v1/matches/{match_id}/contests: the match record, then the contests chunks of the
// window (and chunk 0, which carries the total) in one batch.
func (s *Server) contests(r *request) (any, error) {
	id, w, err := idAndPage(r, "match_id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	m, at, err := s.readMatch(ctx, records.Live, id)
	if err != nil {
		return nil, err
	}
	if at == "" {
		return nil, notFound("match %d not found", id)
	}
	const per = records.ContestsPerChunk
	end := w.offset + min(w.limit, maxInt64-w.offset)
	first, last := w.offset/per, (end-1)/per
	nos := []int64{0}
	for n := max(first, 1); n <= last; n++ {
		nos = append(nos, n)
	}
	keys := make([]string, len(nos))
	for k, n := range nos {
		keys[k] = records.ChunkKey(id, int(n))
	}
	out := contestList{MatchID: id, Cycle: m.Cycle, AsOf: asOf(m.AsOf), Offset: w.offset, Limit: w.limit, Contests: []contestSize{}}
	err = s.consistent(ctx, "contests of match", id, func() error {
		bs, err := s.getIn(ctx, at, records.SetContests, keys)
		if err != nil {
			return err
		}
		chunks := make(map[int64]records.ContestChunk, len(bs))
		for k, b := range bs {
			if b == nil {
				continue
			}
			c, err := records.ContestChunkFrom(b)
			if err == nil && (c.Match != id || int64(c.Chunk) != nos[k]) {
				err = fmt.Errorf("chunk %d of match %d holds chunk %d of match %d: %w", nos[k], id, c.Chunk, c.Match, records.ErrCorrupt)
			}
			if err != nil {
				return s.corrupt("contest chunk", keys[k], err)
			}
			chunks[nos[k]] = c
		}
		total := chunks[0].Total
		out.Total, out.Contests = total, out.Contests[:0]
		for n := first; n <= last && n*per < total; n++ {
			c, ok := chunks[n]
			if !ok || c.Total != total || int64(len(c.Contests)) != min(per, total-n*per) {
				return mixed("chunk %d of the contests of match %d does not match its chunk 0", n, id)
			}
			hi := min(end-n*per, int64(len(c.Contests)))
			lo := min(max(w.offset-n*per, 0), hi)
			for _, cs := range c.Contests[lo:hi] {
				out.Contests = append(out.Contests, contestSize{ContestID: cs.ID, Entries: cs.Size})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GET /v1/contests/{contest_id}/leaderboard: the contest record (page 0), then the pages
// of the window in one batch.
func (s *Server) leaderboard(r *request) (any, error) {
	id, w, err := idAndPage(r, "contest_id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var out leaderboardPage
	err = s.consistent(ctx, "contest", id, func() error {
		c, at, err := s.readContest(ctx, records.Live, id, true)
		if err != nil {
			return err
		}
		if at == "" {
			return notFound("contest %d not found", id)
		}
		from := min(w.offset, c.Total)
		to := from + min(w.limit, c.Total-from)
		rows, err := s.pagesOf(ctx, at, c).span(from, to)
		if err != nil {
			return err
		}
		out = leaderboardPage{ContestID: id, MatchID: c.Match, Cycle: c.Cycle, AsOf: asOf(c.AsOf), Total: c.Total,
			Offset: w.offset, Limit: w.limit, Entries: rowsJSON(rows)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// entryIDs parses the contest and entry ids of the path.
func entryIDs(r *request) (contest, entry int64, err error) {
	if contest, err = pathID(r, "contest_id"); err != nil {
		return 0, 0, err
	}
	entry, err = pathID(r, "entry_id")
	return contest, entry, err
}

// entryOf reads the entry record of entry eid in contest cid.
func (s *Server) entryOf(ctx context.Context, cid, eid int64) (records.Entry, string, error) {
	e, at, err := s.readEntry(ctx, eid)
	if err != nil {
		return e, "", err
	}
	if at == "" {
		return e, "", notFound("entry %d not found", eid)
	}
	if e.Contest != cid {
		return e, "", notFound("entry %d is not in contest %d", eid, cid)
	}
	return e, at, nil
}

// standing is where an entry stands in the contest record read with it.
type standing struct {
	ns     string // the contest's namespace
	c      records.Contest
	points int64
	records.Standing
}

// stand reads an entry's contest and match records together (ns first) and places the
// entry's points, replayed at the contest's cycle, in the contest's histogram. rows asks
// for the contest's page 0 as well.
func (s *Server) stand(ctx context.Context, ns string, e records.Entry, rows bool) (standing, error) {
	var mc matchAndContest
	if s.local {
		mc.m, mc.mat, mc.merr = s.readMatch(ctx, ns, e.Match)
		mc.c, mc.cat, mc.err = s.readContest(ctx, ns, e.Contest, rows)
	} else {
		mc = s.readMatchAndContest(ctx, ns, e, rows)
	}
	m, mat, c, cat := mc.m, mc.mat, mc.c, mc.cat
	switch {
	case mc.err != nil:
		return standing{}, mc.err
	case mc.merr != nil:
		return standing{}, mc.merr
	case cat == "":
		return standing{}, notFound("contest %d of entry %d has no standings yet", e.Contest, e.ID)
	case mat == "":
		return standing{}, mixed("match %d of contest %d is not written yet", e.Match, e.Contest)
	case c.Match != e.Match:
		return standing{}, s.corrupt("contest", e.Contest, fmt.Errorf("contest of match %d, its entry %d of match %d", c.Match, e.ID, e.Match))
	}
	pts := e.Lineup.Points(s.logs.at(mat, m, c.Cycle))
	st, ok := records.StandingOf(c.Hist, pts)
	if !ok {
		return standing{}, mixed("the points of entry %d are not among those of contest %d at cycle %d", e.ID, c.ID, c.Cycle)
	}
	return standing{ns: cat, c: c, points: pts, Standing: st}, nil
}

// matchAndContest is what stand reads: a match record and a contest record, each with
// its namespace and error.
type matchAndContest struct {
	m         records.Match
	c         records.Contest
	mat, cat  string
	merr, err error
}

// readMatchAndContest reads an entry's match and contest records at once (two round
// trips overlapped), for a remote store. It is a function of its own so that the local
// path's variables do not escape to the heap with its goroutine.
func (s *Server) readMatchAndContest(ctx context.Context, ns string, e records.Entry, rows bool) matchAndContest {
	var mc matchAndContest
	var wg sync.WaitGroup
	wg.Go(func() { mc.m, mc.mat, mc.merr = s.readMatch(ctx, ns, e.Match) })
	mc.c, mc.cat, mc.err = s.readContest(ctx, ns, e.Contest, rows)
	wg.Wait()
	return mc
}

// GET /v1/contests/{contest_id}/entries/{entry_id}: the entry record, then its contest and
// match records. The hottest answer: it appends its JSON to b itself.
func (s *Server) entry(r *request, b []byte) ([]byte, error) {
	cid, eid, err := entryIDs(r)
	if err != nil {
		return b, err
	}
	ctx := r.Context()
	e, at, err := s.entryOf(ctx, cid, eid)
	if err != nil {
		return b, err
	}
	var st standing
	for try := 0; ; try++ { // s.consistent, without a closure that would move st to the heap
		st, err = s.stand(ctx, at, e, false)
		if err = s.retry(ctx, "entry", e.ID, try, err); err != errRetry {
			break
		}
	}
	if err != nil {
		return b, err
	}
	a := entryStanding{ContestID: e.Contest, MatchID: e.Match, EntryID: e.ID, UserID: e.User, TeamID: e.Team,
		Rank: st.Rank, Points: units(st.points), Total: st.c.Total, Cycle: st.c.Cycle, AsOf: asOf(st.c.AsOf)}
	return a.appendJSON(b), nil
}

// GET /v1/contests/{contest_id}/entries/{entry_id}/around: as one entry, then a binary
// search of the pages of its tie group, then the pages of the window.
func (s *Server) around(r *request) (any, error) {
	cid, eid, err := entryIDs(r)
	if err != nil {
		return nil, err
	}
	q, err := query(r)
	if err != nil {
		return nil, err
	}
	before, after, err := aroundParams(q)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	e, at, err := s.entryOf(ctx, cid, eid)
	if err != nil {
		return nil, err
	}
	var out leaderboardPage
	err = s.consistent(ctx, "entry", e.ID, func() error {
		st, err := s.stand(ctx, at, e, true)
		if err != nil {
			return err
		}
		p := s.pagesOf(ctx, st.ns, st.c)
		pos, err := p.find(e.ID, st.points, st.Standing)
		if err != nil {
			return err
		}
		from, to := max(pos-before, 0), min(pos+after+1, st.c.Total)
		rows, err := p.span(from, to)
		if err != nil {
			return err
		}
		out = leaderboardPage{ContestID: e.Contest, EntryID: &e.ID, MatchID: e.Match, Cycle: st.c.Cycle, AsOf: asOf(st.c.AsOf),
			Total: st.c.Total, Offset: from, Limit: to - from, Entries: rowsJSON(rows)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// find returns the display position of entry id. Its points put it in the tie group at
// positions [Above, Above+Equal), which display order sorts by entry_id, so a binary
// search over the group's pages reads about log2(pages of the group) of them.
func (p *pages) find(id, pts int64, st records.Standing) (int64, error) {
	lo, hi := st.Above, st.Above+st.Equal
	if hi > p.c.Total || st.Equal <= 0 {
		return 0, mixed("the tie group of entry %d lies beyond contest %d", id, p.c.ID)
	}
	ps := p.c.PageSize
	first, last := lo/ps, (hi-1)/ps
	for first <= last {
		mid := first + (last-first)/2
		if err := p.load(mid); err != nil {
			return 0, err
		}
		rows := p.rows[mid]
		a, b := max(lo-mid*ps, 0), min(hi-mid*ps, int64(len(rows)))
		if a >= b {
			return 0, mixed("page %d of contest %d is short", mid, p.c.ID)
		}
		group := rows[a:b]
		if group[0].Points != pts || group[len(group)-1].Points != pts {
			return 0, mixed("the rows of contest %d do not match its histogram", p.c.ID)
		}
		switch {
		case id < group[0].EntryID:
			last = mid - 1
		case id > group[len(group)-1].EntryID:
			first = mid + 1
		default:
			k := sort.Search(len(group), func(i int) bool { return group[i].EntryID >= id })
			if group[k].EntryID != id {
				first = last + 1 // not in its tie group
				break
			}
			return mid*ps + a + int64(k), nil
		}
	}
	return 0, mixed("entry %d is not in the standings of contest %d at cycle %d", id, p.c.ID, p.c.Cycle)
}

// GET /v1/users/{user_id}/entries?match_id=: the user record, then its contests in one
// batch together with the match record.
func (s *Server) userEntries(r *request) (any, error) {
	uid, err := pathID(r, "user_id")
	if err != nil {
		return nil, err
	}
	q, err := query(r)
	if err != nil {
		return nil, err
	}
	mid, err := requiredID(q, "match_id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	b, uat, err := s.get(ctx, records.Live, records.SetUser, records.UserKey(mid, uid))
	if err != nil {
		return nil, err
	}
	if uat == "" {
		return nil, notFound("user %d has no entries in match %d", uid, mid)
	}
	u, err := records.UserFrom(b)
	if err != nil {
		return nil, s.corrupt("user", records.UserKey(mid, uid), err)
	}
	var keys []string
	var ids []int64
	for _, e := range u.Entries {
		if !slices.Contains(ids, e.Contest) {
			ids = append(ids, e.Contest)
			keys = append(keys, records.IDKey(e.Contest))
		}
	}
	var out userEntries
	err = s.consistent(ctx, "user", uid, func() error {
		var (
			m    records.Match
			mat  string
			merr error
			wg   sync.WaitGroup
		)
		read := func() { m, mat, merr = s.readMatch(ctx, uat, mid) }
		if s.local {
			read() // a goroutine would cost more than the read
		} else {
			wg.Go(read) // overlap the round trips
		}
		bs, _, err := s.getMany(ctx, uat, records.SetContest, keys)
		wg.Wait()
		if err != nil {
			return err
		}
		if merr != nil {
			return merr
		}
		contests := make(map[int64]records.Contest, len(bs))
		for k, b := range bs {
			if b == nil {
				continue
			}
			c, err := s.decodeContest(b, ids[k], false)
			if err != nil {
				return err
			}
			if c.Match != mid {
				return s.corrupt("contest", ids[k], fmt.Errorf("contest of match %d listed for match %d", c.Match, mid))
			}
			contests[c.ID] = c
		}
		if mat == "" {
			if len(contests) > 0 {
				return mixed("match %d is not written yet", mid)
			}
			return notFound("match %d not found", mid)
		}
		out = userEntries{UserID: uid, MatchID: mid, Cycle: m.Cycle, AsOf: asOf(m.AsOf), Entries: make([]userEntry, 0, len(u.Entries))}
		newest := int64(-1)
		at := map[int64]map[int32]int64{} // player points by cycle
		for _, e := range u.Entries {
			c, ok := contests[e.Contest]
			if !ok {
				out.Entries = append(out.Entries, userEntry{ContestID: e.Contest, EntryID: e.ID})
				continue
			}
			centi, ok := at[c.Cycle]
			if !ok {
				centi = s.logs.at(mat, m, c.Cycle)
				at[c.Cycle] = centi
			}
			pts := e.Lineup.Points(centi)
			st, ok := records.StandingOf(c.Hist, pts)
			if !ok {
				return mixed("the points of entry %d are not among those of contest %d at cycle %d", e.ID, c.ID, c.Cycle)
			}
			num := points(pts)
			out.Entries = append(out.Entries, userEntry{ContestID: e.Contest, EntryID: e.ID, Rank: &st.Rank, Points: &num, Total: c.Total})
			if c.Cycle > newest {
				newest, out.Cycle, out.AsOf = c.Cycle, c.Cycle, asOf(c.AsOf)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
