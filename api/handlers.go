package api

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
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

// GET /v1/matches/{match_id}: the match's commit record, then the record of its first
// partition for the points log, replayed to the commit's cycle (every partition holding
// the match has written that cycle, and all rank against the same points snapshot).
func (s *Server) match(r *request) (any, error) {
	id, err := pathID(r, "match_id")
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
	players := []playerPoints{}
	if len(m.Parts) > 0 {
		// Every partition's log, in one batch: in a cluster each holds the players of its
		// writer's lineups, so the match's players are their union (records.MergeLogs).
		keys := make([]string, len(m.Parts))
		for k, p := range m.Parts {
			keys[k] = records.MatchPartKey(id, p)
		}
		err = s.consistent(ctx, "match", id, func() error {
			bs, err := s.getIn(ctx, at, records.SetMatchPart, keys)
			if err != nil {
				return err
			}
			var log records.PointsLog
			for k, b := range bs {
				part := m.Parts[k]
				if b == nil {
					return mixed("partition %d of match %d is not written yet", part, id)
				}
				mp, err := s.decodeMatchPart(b, at, id, part)
				if err != nil {
					return err
				}
				if mp.Cycle < m.Cycle {
					return mixed("partition %d of match %d is at cycle %d, its commit at %d", part, id, mp.Cycle, m.Cycle)
				}
				log = records.MergeLogs(log, mp.Log)
			}
			centi := log.At(m.Cycle)
			players = players[:0]
			for _, p := range slices.Sorted(maps.Keys(centi)) {
				players = append(players, playerPoints{PlayerID: p, Points: json.Number(fixedpoint.FormatCenti(centi[p]))})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return matchDetail{matchSummary: summary(m), Players: players}, nil
}

// GET /v1/matches/{match_id}/contests: the match's commit record, then chunk 0 of every
// partition holding the match in one batch (with a single partition, the window's chunks
// too), merged largest first; a partition's next chunk is read when the merge reaches the
// end of the one read, and a deep window first skips ahead (skipAhead: one batch).
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
	type chunkNo struct {
		part int32
		n    int64
	}
	var nos []chunkNo
	for _, p := range m.Parts {
		nos = append(nos, chunkNo{p, 0})
	}
	if len(m.Parts) == 1 { // the match's list is the partition's: read the window at once
		for n := max(w.offset/per, 1); n <= (end-1)/per; n++ {
			nos = append(nos, chunkNo{m.Parts[0], n})
		}
	}
	keys := make([]string, len(nos))
	for k, c := range nos {
		keys[k] = records.ChunkKey(id, c.part, int(c.n))
	}
	out := contestList{MatchID: id, Cycle: m.Cycle, AsOf: asOf(m.AsOf), Offset: w.offset, Limit: w.limit, Contests: []contestSize{}}
	err = s.consistent(ctx, "contests of match", id, func() error {
		chunks := make(map[chunkNo]records.ContestChunk, len(nos))
		decode := func(b records.Packed, c chunkNo, key string) error {
			ch, err := records.ContestChunkFrom(b)
			if err == nil && (ch.Match != id || ch.Part != c.part || int64(ch.Chunk) != c.n) {
				err = fmt.Errorf("chunk %d of match %d partition %d holds chunk %d of match %d partition %d: %w",
					c.n, id, c.part, ch.Chunk, ch.Match, ch.Part, records.ErrCorrupt)
			}
			if err != nil {
				return s.corrupt("contest chunk", key, err)
			}
			chunks[c] = ch
			return nil
		}
		bs, err := s.getIn(ctx, at, records.SetContests, keys)
		if err != nil {
			return err
		}
		for k, b := range bs {
			if b != nil {
				if err := decode(b, nos[k], keys[k]); err != nil {
					return err
				}
			}
		}
		parts := make([]*partContests, len(m.Parts))
		out.Total = 0
		// contestsOf checks chunk n of partition p against the partition's chunk 0.
		contestsOf := func(p *partContests, n int64) ([]records.ContestSize, error) {
			c, ok := chunks[chunkNo{p.part, n}]
			if !ok || c.Total != p.total || int64(len(c.Contests)) != min(per, p.total-n*per) {
				return nil, mixed("chunk %d of the contests of match %d partition %d does not match its chunk 0", n, id, p.part)
			}
			return c.Contests, nil
		}
		for k, part := range m.Parts {
			p := &partContests{part: part, total: chunks[chunkNo{part, 0}].Total} // no chunk 0: no contests
			if p.total < 0 || p.total > maxInt64-out.Total {
				return s.corrupt("contest chunk", records.ChunkKey(id, part, 0), fmt.Errorf("total %d: %w", p.total, records.ErrCorrupt))
			}
			if p.total > 0 {
				if p.cs, err = contestsOf(p, 0); err != nil {
					return err
				}
			}
			parts[k] = p
			out.Total += p.total
		}
		load := func(refs []chunkRef) ([][]records.ContestSize, error) {
			var keys []string
			var want []chunkNo
			for _, r := range refs {
				if c := (chunkNo{r.p.part, r.n}); !slices.Contains(want, c) {
					if _, ok := chunks[c]; !ok {
						want = append(want, c)
						keys = append(keys, records.ChunkKey(id, c.part, int(c.n)))
					}
				}
			}
			bs, err := s.getIn(ctx, at, records.SetContests, keys)
			if err != nil {
				return nil, err
			}
			for k, b := range bs {
				if b != nil {
					if err := decode(b, want[k], keys[k]); err != nil {
						return nil, err
					}
				}
			}
			out := make([][]records.ContestSize, len(refs))
			for k, r := range refs {
				if out[k], err = contestsOf(r.p, r.n); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		cs, err := mergeContests(parts, per, w.offset, end, load)
		if err != nil {
			return err
		}
		out.Contests = out.Contests[:0]
		for _, c := range cs {
			out.Contests = append(out.Contests, contestSize{ContestID: c.ID, Entries: c.Size})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GET /v1/contests/{contest_id}/leaderboard: the contest record (page 0 of both its
// versions), then its match's commit (the committed cycle: which version is shown) and
// the pages of the window, in one batch; against a remote store the commit and the pages
// are read concurrently, the pages of both versions' windows.
func (s *Server) leaderboard(r *request) (any, error) {
	id, w, err := idAndPage(r, "contest_id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var out leaderboardPage
	err = s.consistent(ctx, "contest", id, func() error {
		raw, at, err := s.get(ctx, records.Live, records.SetContest, records.IDKey(id))
		if err != nil {
			return err
		}
		if at == "" {
			return notFound("contest %d not found", id)
		}
		var committed int64
		var pre map[int64]records.Packed
		if s.local {
			committed, err = s.committed(ctx, at, raw.Int("match"))
		} else {
			committed, pre, err = s.readCommitAndPages(ctx, at, id, raw, w)
		}
		if err != nil {
			return err
		}
		c, ok, err := s.decodeContest(raw, id, committed, true)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("contest %d not found: no standings of it committed yet", id)
		}
		from := min(w.offset, c.Total)
		to := from + min(w.limit, c.Total-from)
		p := s.pagesOf(ctx, at, c)
		p.pre = pre
		rows, err := p.span(from, to)
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

// readCommitAndPages reads the committed cycle of contest record raw's match (ns first)
// and, at the same time, the page records (from ns) that the window w needs of either of
// the record's versions (the larger total's pages cover both); what a version does not
// need is ignored. For a remote store: the two round trips overlap.
func (s *Server) readCommitAndPages(ctx context.Context, ns string, id int64, raw records.Packed, w window) (int64, map[int64]records.Packed, error) {
	var committed int64
	var cerr error
	var wg sync.WaitGroup
	wg.Go(func() { committed, cerr = s.committed(ctx, ns, raw.Int("match")) })
	var keys []string
	var nos []int64
	if ps, total := raw.Int("page_size"), max(raw.Int("total"), raw.Int("p_total")); ps > 0 && ps <= maxPageSize && total > w.offset {
		to := w.offset + min(w.limit, total-w.offset)
		for n := max(w.offset/ps, 1); n <= (to-1)/ps; n++ {
			nos = append(nos, n)
			keys = append(keys, records.PageKey(id, int(n)))
		}
	}
	bs, err := s.getIn(ctx, ns, records.SetPage, keys)
	wg.Wait()
	if err != nil {
		return 0, nil, err
	}
	if cerr != nil {
		return 0, nil, cerr
	}
	pre := make(map[int64]records.Packed, len(bs))
	for k, b := range bs {
		pre[nos[k]] = b
	}
	return committed, pre, nil
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
	mp     records.MatchPart // the share of the entry's partition: its points log
	points int64
	records.Standing
}

// stand reads an entry's contest, match commit and match partition (the entry's) records
// together (ns first), takes the contest's version at the commit's cycle (the newest at
// or below it) and places the entry's points, its partition's log replayed at that
// version's cycle, in that version's histogram. rows asks for the version's page 0 as
// well. A contest with no version at or below the commit (or no commit) has no standings
// yet.
func (s *Server) stand(ctx context.Context, ns string, e records.Entry, rows bool) (standing, error) {
	var er entryRecords
	if s.local {
		er.committed, er.merr = s.committed(ctx, ns, e.Match)
		er.mp, er.pat, er.perr = s.readMatchPart(ctx, ns, e.Match, e.Part)
		er.raw, er.cat, er.err = s.get(ctx, ns, records.SetContest, records.IDKey(e.Contest))
	} else {
		er = s.readEntryRecords(ctx, ns, e)
	}
	mp, pat, cat := er.mp, er.pat, er.cat
	var c records.Contest
	ok := false
	if er.err == nil && er.merr == nil && cat != "" {
		c, ok, er.err = s.decodeContest(er.raw, e.Contest, er.committed, rows)
	}
	switch {
	case er.err != nil:
		return standing{}, er.err
	case er.merr != nil:
		return standing{}, er.merr
	case er.perr != nil:
		return standing{}, er.perr
	case cat == "" || !ok:
		return standing{}, notFound("contest %d of entry %d has no standings yet", e.Contest, e.ID)
	case c.Match != e.Match:
		return standing{}, s.corrupt("contest", e.Contest, fmt.Errorf("contest of match %d, its entry %d of match %d", c.Match, e.ID, e.Match))
	case pat == "":
		return standing{}, mixed("partition %d of match %d is not written yet", e.Part, e.Match)
	case mp.Cycle < c.Cycle:
		return standing{}, mixed("the points log of match %d partition %d is at cycle %d, contest %d at cycle %d", e.Match, e.Part, mp.Cycle, c.ID, c.Cycle)
	}
	pts := e.Lineup.Points(s.logs.at(pat, mp, c.Cycle))
	st, ok := records.StandingOf(c.Hist, pts)
	if !ok {
		return standing{}, mixed("the points of entry %d are not among those of contest %d at cycle %d", e.ID, c.ID, c.Cycle)
	}
	return standing{ns: cat, c: c, mp: mp, points: pts, Standing: st}, nil
}

// entryRecords is what stand reads: the match's committed cycle, the match partition
// record and the contest record (undecoded: its version depends on the commit), each
// with its namespace and error.
type entryRecords struct {
	committed       int64
	mp              records.MatchPart
	raw             records.Packed
	pat, cat        string
	merr, perr, err error
}

// readEntryRecords reads an entry's match commit, match partition and contest records at
// once (three round trips overlapped), for a remote store. It is a function of its own so
// that the local path's variables do not escape to the heap with its goroutines.
func (s *Server) readEntryRecords(ctx context.Context, ns string, e records.Entry) entryRecords {
	var er entryRecords
	var wg sync.WaitGroup
	wg.Go(func() { er.committed, er.merr = s.committed(ctx, ns, e.Match) })
	wg.Go(func() { er.mp, er.pat, er.perr = s.readMatchPart(ctx, ns, e.Match, e.Part) })
	er.raw, er.cat, er.err = s.get(ctx, ns, records.SetContest, records.IDKey(e.Contest))
	wg.Wait()
	return er
}

// GET /v1/contests/{contest_id}/entries/{entry_id}: the entry record, then its contest,
// match and match partition records. The hottest answer: it appends its JSON to b itself.
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

// GET /v1/users/{user_id}/entries?match_id=: the match's commit record (the partitions
// holding the match), then the user's records of those partitions in one batch, then the
// entries' contests, the match partition records of the user's partitions and the
// entries' entry records (their lineups: a user record lists its entries' ids and
// contests), together.
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
	m, mat, err := s.readMatch(ctx, records.Live, mid)
	if err != nil {
		return nil, err
	}
	if mat == "" { // not committed yet: its partitions are not known
		return nil, notFound("user %d has no entries in match %d: no such match", uid, mid)
	}
	es, parts, uat, err := s.readUser(ctx, mat, m, uid)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, notFound("user %d has no entries in match %d", uid, mid)
	}
	var keys []string
	var ids []int64
	for _, e := range es {
		if !slices.Contains(ids, e.Contest) {
			ids = append(ids, e.Contest)
			keys = append(keys, records.IDKey(e.Contest))
		}
	}
	partKeys := make([]string, len(parts))
	for k, p := range parts {
		partKeys[k] = records.MatchPartKey(mid, p)
	}
	// The entries whose lineups are in their entry records: all but those of a user
	// record of an older build, which carried them (records.User.Lined).
	var lineOf []int
	for k, e := range es {
		if e.Lineup.Players == nil {
			lineOf = append(lineOf, k)
		}
	}
	lineKeys := idKeys(es, lineOf)
	var out userEntries
	tries := 0
	err = s.consistent(ctx, "user", uid, func() error {
		if tries++; tries > 1 { // the commit may have moved on since: read its cycle again
			var err error
			if m.Cycle, err = s.committed(ctx, mat, mid); err != nil {
				return err
			}
		}
		var (
			pbs, ebs   []records.Packed
			pat        []string
			perr, eerr error
			wg         sync.WaitGroup
		)
		read := func() { pbs, pat, perr = s.getMany(ctx, uat, records.SetMatchPart, partKeys) }
		readEntries := func() { ebs, _, eerr = s.getMany(ctx, uat, records.SetEntry, lineKeys) }
		if s.local {
			read() // a goroutine would cost more than the read
			readEntries()
		} else {
			wg.Go(read) // overlap the round trips
			wg.Go(readEntries)
		}
		bs, _, err := s.getMany(ctx, uat, records.SetContest, keys)
		wg.Wait()
		if err != nil {
			return err
		}
		if perr != nil {
			return perr
		}
		if eerr != nil {
			return eerr
		}
		if err := s.takeLineups(es, lineOf, ebs, mid); err != nil {
			return err
		}
		mps := make(map[int32]records.MatchPart, len(parts))
		for k, b := range pbs {
			if b == nil {
				continue
			}
			mp, err := s.decodeMatchPart(b, pat[k], mid, parts[k])
			if err != nil {
				return err
			}
			mps[mp.Part] = mp
		}
		contests := make(map[int64]records.Contest, len(bs))
		for k, b := range bs {
			if b == nil {
				continue
			}
			c, ok, err := s.decodeContest(b, ids[k], m.Cycle, false)
			if err != nil {
				return err
			}
			if !ok {
				continue // first written at a cycle not committed yet: no standings yet
			}
			if c.Match != mid {
				return s.corrupt("contest", ids[k], fmt.Errorf("contest of match %d listed for match %d", c.Match, mid))
			}
			contests[c.ID] = c
		}
		out = userEntries{UserID: uid, MatchID: mid, Cycle: m.Cycle, AsOf: asOf(m.AsOf), Entries: make([]userEntry, 0, len(es))}
		newest := int64(-1)
		type partCycle struct {
			part  int32
			cycle int64
		}
		at := map[partCycle]map[int32]int64{} // player points by partition and cycle
		for _, e := range es {
			c, ok := contests[e.Contest]
			if !ok || e.Lineup.Players == nil { // no standings yet, or its entry record not written yet
				out.Entries = append(out.Entries, userEntry{ContestID: e.Contest, EntryID: e.ID})
				continue
			}
			mp, ok := mps[e.Part]
			switch {
			case !ok:
				return mixed("partition %d of match %d is not written yet", e.Part, mid)
			case mp.Cycle < c.Cycle:
				return mixed("the points log of match %d partition %d is at cycle %d, contest %d at cycle %d", mid, e.Part, mp.Cycle, c.ID, c.Cycle)
			}
			pc := partCycle{e.Part, c.Cycle}
			centi, ok := at[pc]
			if !ok {
				ns := uat
				for k, p := range parts {
					if p == e.Part {
						ns = pat[k]
					}
				}
				centi = s.logs.at(ns, mp, c.Cycle)
				at[pc] = centi
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

// idKeys are the keys (records.IDKey) of the entries es[k] for k in of, substrings of
// one string.
func idKeys(es []records.Entry, of []int) []string {
	var b []byte
	ends := make([]int, len(of))
	for j, k := range of {
		b = strconv.AppendInt(b, es[k].ID, 10)
		ends[j] = len(b)
	}
	all := string(b)
	keys := make([]string, len(of))
	for j, at := range ends {
		from := 0
		if j > 0 {
			from = ends[j-1]
		}
		keys[j] = all[from:at]
	}
	return keys
}

// takeLineups sets the lineup of each entry es[lineOf[k]] from its entry record ebs[k]
// (read by its id), nil where it has none. An entry record of another contest than its
// user record lists was caught between a cycle's writes of the two (an entry moved): the
// answer reads them again.
func (s *Server) takeLineups(es []records.Entry, lineOf []int, ebs []records.Packed, match int64) error {
	for k, b := range ebs {
		e := &es[lineOf[k]]
		e.Lineup = records.Lineup{}
		if b == nil {
			continue
		}
		// Read in place (records.Packed's getters), after one check of the whole record.
		err := records.CheckPacked(b)
		var l records.Lineup
		if err == nil {
			l, err = records.DecodeLineup(b.Bytes("lineup"))
		}
		if id, m := b.Int("id"), b.Int("match"); err == nil && (id != e.ID || m != match || len(l.Players) == 0) {
			err = fmt.Errorf("record of entry %d holds entry %d of match %d with %d players: %w", e.ID, id, m, len(l.Players), records.ErrCorrupt)
		}
		if err != nil {
			return s.corrupt("entry", e.ID, err)
		}
		if c, p := b.Int("contest"), int32(b.Int("part")); c != e.Contest || p != e.Part {
			return mixed("entry %d is in contest %d (partition %d), its user's record lists it in contest %d (partition %d)", e.ID, c, p, e.Contest, e.Part)
		}
		e.Lineup = l
	}
	return nil
}

// readUser reads the user's records of every partition holding match m in one batch
// from ns (from the other namespace when ns holds none of them), and returns the user's
// entries in partition order (each record's in its own order), the partitions holding
// some, and the namespace they were read from.
func (s *Server) readUser(ctx context.Context, ns string, m records.Match, uid int64) (es []records.Entry, parts []int32, at string, err error) {
	keys := make([]string, len(m.Parts))
	for k, p := range m.Parts {
		keys[k] = records.UserKey(m.ID, uid, p)
	}
	var bs []records.Packed
	for _, at = range [2]string{ns, otherNS(ns)} {
		if bs, err = s.getIn(ctx, at, records.SetUser, keys); err != nil {
			return nil, nil, "", err
		}
		if slices.ContainsFunc(bs, func(b records.Packed) bool { return b != nil }) {
			break
		}
	}
	for k, b := range bs {
		if b == nil {
			continue
		}
		u, err := records.UserFrom(b)
		if err == nil && (u.Match != m.ID || u.User != uid || u.Part != m.Parts[k]) {
			err = fmt.Errorf("record %s holds user %d of match %d partition %d: %w", keys[k], u.User, u.Match, u.Part, records.ErrCorrupt)
		}
		if err != nil {
			return nil, nil, "", s.corrupt("user", keys[k], err)
		}
		if len(u.Entries) > 0 {
			es = append(es, u.Entries...)
			parts = append(parts, u.Part)
		}
	}
	return es, parts, at, nil
}
