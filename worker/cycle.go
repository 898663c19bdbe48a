package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// Cycle runs one cycle: every live match is ranked against the points applied so far,
// and a completed match gets its final cycle, written to the complete namespace.
func (w *Worker) Cycle(ctx context.Context) error {
	w.cycleMu.Lock()
	defer w.cycleMu.Unlock()
	w.mu.Lock()
	ids := slices.Sorted(maps.Keys(w.matches))
	w.mu.Unlock()
	var errs []error
	for _, id := range ids {
		w.mu.Lock()
		m := w.matches[id]
		w.mu.Unlock()
		if err := w.cycleMatch(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("match %d: %w", id, err))
		}
	}
	// The matches record is one small record: rewriting it every cycle also keeps it
	// clear of the live TTL.
	if err := w.put(ctx, records.Live, []records.Record{records.Matches{IDs: ids}.Record()}); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		w.ready.Store(true)
		return nil
	}
	return fmt.Errorf("%v", errs)
}

func (w *Worker) cycleMatch(ctx context.Context, m *match) error {
	if m.final {
		return nil
	}
	if !m.resumed {
		if err := w.resume(ctx, m); err != nil {
			return err
		}
		if m.final {
			return nil
		}
	}
	start := w.now()
	w.mu.Lock()
	state := m.state
	if state != records.StateLive && state != records.StateCompleted {
		w.mu.Unlock()
		return w.put(ctx, records.Live, []records.Record{w.matchRecord(m, state, 0, 0)})
	}
	if len(m.entries) == 0 && m.part == nil {
		w.mu.Unlock()
		return w.put(ctx, records.Live, []records.Record{w.matchRecord(m, state, m.cycle, m.asOf)})
	}
	rebuilt := false
	var snapshot []engine.Entry
	if m.dirty || m.part == nil {
		snapshot = entriesOf(m) // copied under the lock; validated and laid out outside it
		m.dirty, rebuilt = false, true
	}
	points := maps.Clone(m.points)
	pending, gone, users := m.pending, m.gone, m.users
	m.pending, m.gone, m.users = map[int64]struct{}{}, map[int64]struct{}{}, map[int64]struct{}{}
	for team := range m.lineups {
		for id, e := range m.entries {
			if e.team == team {
				pending[id] = struct{}{}
				users[e.user] = struct{}{}
			}
		}
	}
	clear(m.lineups)
	entryContest := make(map[int64]int64, len(pending))
	for id := range pending {
		entryContest[id] = m.entries[id].contest
	}
	w.mu.Unlock()

	if rebuilt {
		b := engine.NewBuilder(0, len(snapshot))
		for _, e := range snapshot {
			if err := b.Add(e); err != nil {
				return fmt.Errorf("BUG: a validated entry was refused: %w", err)
			}
		}
		p, err := b.Build(w.cfg.Engine)
		if err != nil {
			return fmt.Errorf("BUG: validated entries were refused: %w", err)
		}
		m.part = p
		m.userIdx = buildUserIndex(p)
	}
	p := m.part
	m.cycle++
	prevAsOf := m.asOf
	m.asOf = start.UnixMilli()
	st := p.Run(engine.SnapshotFromCenti(points))
	m.log = m.log.Append(m.cycle, m.asOf, points)
	final := state == records.StateCompleted

	// Records in write order: pages, contests, entries and users, then the match.
	out := &batchOut{}
	// Contests to write: those with a changed page, plus this cycle's refresh slice
	// (written whole); every contest after a rebuild or on completion.
	refreshC := w.refreshSlice(&m.refresh.contest, p.NumContests())
	var changedContests []int
	whole := make(map[int]bool, len(refreshC))
	if rebuilt || final {
		changedContests = allContests(p)
	} else {
		changedContests = append(w.changedContests(m, p), refreshC...)
		slices.Sort(changedContests)
		changedContests = slices.Compact(changedContests)
		for _, c := range refreshC {
			whole[c] = true
		}
	}
	changedPages := p.ChangedPages()
	for _, c := range changedContests {
		ct := p.Contest(c)
		refreshAll := rebuilt || final || whole[c]
		for pg := 1; pg < ct.Pages; pg++ {
			if refreshAll || changedPages.Contains(uint32(ct.FirstPage+pg)) {
				out.pages = append(out.pages, records.Page{Contest: ct.ID, No: pg, Cycle: m.cycle, Rows: rows(p, c, pg)}.Record())
			}
		}
		out.contests = append(out.contests, w.contestRecord(m, p, c).Record())
	}
	var dels []deletion
	if rebuilt {
		dels = w.stale(m, p)
	}
	// The contest lists change only with a rebuild, but are rewritten every half refresh
	// period too, so they never reach the live TTL.
	if rebuilt || final || start.Sub(m.chunksAt) >= w.cfg.Refresh/2 {
		out.chunks, dels = w.chunkRecords(m, p, dels)
		m.chunksAt = start
	}
	for id := range gone {
		dels = append(dels, deletion{records.SetEntry, records.IDKey(id)})
	}
	for id, contest := range entryContest {
		if c, ok := p.FindContest(contest); ok {
			if i, ok := p.FindEntry(c, id); ok {
				out.entries = append(out.entries, entryRecord(m, p, c, i).Record())
			}
		}
	}
	for u := range users {
		if r, ok := userRecord(m, p, u); ok {
			out.entries = append(out.entries, r.Record())
		} else {
			dels = append(dels, deletion{records.SetUser, records.UserKey(m.id, u)})
		}
	}
	w.refreshEntries(m, p, out, final)

	// The points log goes first (with the previous cycle number), so no reader ever sees
	// a contest of this cycle without the points it was ranked with; the log only grows,
	// so readers of older contests are unaffected. The match record's cycle moves last.
	written := 0
	for _, ns := range w.namespaces(final) {
		logFirst := w.matchRecord(m, state, m.cycle-1, prevAsOf)
		for _, group := range [][]records.Record{{logFirst}, out.pages, out.contests, out.entries, out.chunks, {w.matchRecord(m, state, m.cycle, m.asOf)}} {
			if err := w.put(ctx, ns, group); err != nil {
				return err
			}
			written += len(group)
		}
		if err := w.delete(ctx, ns, dels); err != nil {
			return err
		}
	}
	if final {
		m.final = true
		m.part = nil
		if err := w.put(ctx, records.Complete, []records.Record{records.Matches{IDs: w.completeIDs(m.id)}.Record()}); err != nil {
			return err
		}
		if f, ok := w.store.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
		w.log.Info("match completed: final standings written", "match", m.id, "cycle", m.cycle, "entries", p.NumEntries())
	}
	took := w.now().Sub(start)
	for _, s := range st.Stages {
		w.m.stage.WithLabelValues(s.Name).Observe(s.Duration.Seconds())
	}
	w.m.cycles.WithLabelValues(fmt.Sprint(m.id)).Inc()
	rep := &CycleReport{Match: m.id, Cycle: m.cycle, AsOf: time.UnixMilli(m.asOf), Stats: st, Written: written, Took: took}
	w.lastStat.Store(rep)
	w.log.Debug("cycle", "match", m.id, "cycle", m.cycle, "entries", st.Entries, "changed_entries", st.ChangedEntries, "changed_pages", st.ChangedPages, "written", written, "took", took)
	return nil
}

type batchOut struct {
	pages, contests, entries, chunks []records.Record
}

type deletion struct{ set, key string }

func (w *Worker) namespaces(final bool) []string {
	if final {
		return []string{records.Live, records.Complete}
	}
	return []string{records.Live}
}

// resume continues a match's cycle numbering and points log from the store, and notes
// a match already completed there.
func (w *Worker) resume(ctx context.Context, m *match) error {
	if b, ok, err := w.store.Get(ctx, records.Complete, records.SetMatch, records.IDKey(m.id)); err != nil {
		return err
	} else if ok {
		if rec, err := records.MatchFrom(b); err == nil && rec.State == records.StateCompleted {
			m.final, m.cycle, m.log = true, rec.Cycle, rec.Log
			w.mu.Lock()
			m.state = records.StateCompleted
			w.mu.Unlock()
			w.log.Info("match already completed in the store; not ranking it again", "match", m.id, "cycle", rec.Cycle)
			m.resumed = true
			return nil
		}
	}
	if b, ok, err := w.store.Get(ctx, records.Live, records.SetMatch, records.IDKey(m.id)); err != nil {
		return err
	} else if ok {
		if rec, err := records.MatchFrom(b); err == nil {
			m.cycle, m.log = rec.Cycle, rec.Log
		}
	}
	m.resumed = true
	return nil
}

// entriesOf copies a match's entries with their teams' lineups (called under Worker.mu;
// lineup slices are never modified in place, only replaced).
func entriesOf(m *match) []engine.Entry {
	out := make([]engine.Entry, 0, len(m.entries))
	for id, e := range m.entries {
		l := m.teams[e.team]
		out = append(out, engine.Entry{ContestID: e.contest, EntryID: id, UserID: e.user, TeamID: e.team, Players: l.Players, Captain: l.Captain, ViceCaptain: l.Vice})
	}
	return out
}

func (w *Worker) matchRecord(m *match, state string, cycle, asOf int64) records.Record {
	w.mu.Lock()
	entries := len(m.entries)
	w.mu.Unlock()
	contests := 0
	if m.part != nil {
		contests = m.part.NumContests()
	}
	return records.Match{ID: m.id, State: state, Cycle: cycle, AsOf: asOf, Entries: int64(entries), Contests: int64(contests), Log: m.log}.Record()
}

// changedContests lists the contests with a changed page, walking the sorted changed
// pages and contests together.
func (w *Worker) changedContests(m *match, p *engine.Partition) []int {
	var out []int
	c := 0
	it := p.ChangedPages().Iterator()
	for it.HasNext() {
		pg := int(it.Next())
		for c < p.NumContests() && p.Contest(c).FirstPage+p.Contest(c).Pages <= pg {
			c++
		}
		if c < p.NumContests() && (len(out) == 0 || out[len(out)-1] != c) {
			out = append(out, c)
		}
	}
	return out
}

func allContests(p *engine.Partition) []int {
	out := make([]int, p.NumContests())
	for c := range out {
		out[c] = c
	}
	return out
}

// refreshSlice advances a round-robin cursor over n items by the share that makes every
// item come round once per Refresh period.
func (w *Worker) refreshSlice(cursor *int, n int) []int {
	if n == 0 {
		return nil
	}
	k := min(n, int((int64(n)*int64(w.cfg.Interval)+int64(w.cfg.Refresh)-1)/int64(w.cfg.Refresh)))
	out := make([]int, 0, k)
	for range k {
		*cursor %= n
		out = append(out, *cursor)
		*cursor++
	}
	return out
}

func (w *Worker) refreshEntries(m *match, p *engine.Partition, out *batchOut, final bool) {
	if final {
		for c := range p.NumContests() {
			ct := p.Contest(c)
			for i := ct.Start; i < ct.End; i++ {
				out.entries = append(out.entries, entryRecord(m, p, c, i).Record())
			}
		}
		for _, u := range m.userIdx.ids {
			r, _ := userRecord(m, p, u)
			out.entries = append(out.entries, r.Record())
		}
		return
	}
	c := 0
	for _, i := range w.refreshSlice(&m.refresh.entry, p.NumEntries()) {
		for c < p.NumContests() && p.Contest(c).End <= i {
			c++
		}
		if c >= p.NumContests() || p.Contest(c).Start > i {
			c = contestOf(p, i)
		}
		out.entries = append(out.entries, entryRecord(m, p, c, i).Record())
	}
	for _, k := range w.refreshSlice(&m.refresh.user, len(m.userIdx.ids)) {
		r, _ := userRecord(m, p, m.userIdx.ids[k])
		out.entries = append(out.entries, r.Record())
	}
}

func contestOf(p *engine.Partition, i int) int {
	lo, hi := 0, p.NumContests()
	for lo < hi {
		mid := (lo + hi) / 2
		if p.Contest(mid).End <= i {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func rows(p *engine.Partition, c, page int) []records.Row {
	ord, pts := p.Ordered(c), p.PointsOrdered(c)
	lo, hi := page*p.PageSize(), min(len(ord), (page+1)*p.PageSize())
	out := make([]records.Row, 0, hi-lo)
	rank := int64(0)
	if lo < hi {
		rank = int64(p.Rank(int(ord[lo])))
	}
	for j := lo; j < hi; j++ {
		i := int(ord[j])
		if j > lo && pts[j] != pts[j-1] {
			rank = int64(j + 1)
		}
		out = append(out, records.Row{Rank: rank, EntryID: p.EntryID(i), UserID: p.UserID(i), TeamID: p.TeamID(i), Points: int64(pts[j])})
	}
	return out
}

func (w *Worker) contestRecord(m *match, p *engine.Partition, c int) records.Contest {
	ct := p.Contest(c)
	var hist []records.Bucket
	for _, pt := range p.PointsOrdered(c) {
		pts := int64(pt)
		if n := len(hist); n > 0 && hist[n-1].Points == pts {
			hist[n-1].Count++
		} else {
			hist = append(hist, records.Bucket{Points: pts, Count: 1})
		}
	}
	return records.Contest{ID: ct.ID, Match: m.id, Cycle: m.cycle, AsOf: m.asOf, Total: int64(ct.End - ct.Start),
		PageSize: int64(p.PageSize()), Hist: hist, First: rows(p, c, 0)}
}

func entryRecord(m *match, p *engine.Partition, c, i int) records.Entry {
	players, capt, vice := p.Lineup(i, nil)
	return records.Entry{ID: p.EntryID(i), Contest: p.Contest(c).ID, Match: m.id, User: p.UserID(i), Team: p.TeamID(i),
		Lineup: records.Lineup{Players: players, Captain: capt, Vice: vice}}
}

func userRecord(m *match, p *engine.Partition, user int64) (records.User, bool) {
	idx, ok := m.userIdx.entries(user)
	if !ok {
		return records.User{}, false
	}
	u := records.User{Match: m.id, User: user}
	for _, i := range idx {
		u.Entries = append(u.Entries, entryRecord(m, p, contestOf(p, int(i)), int(i)))
	}
	return u, true
}

// stale lists records of contests and pages that a rebuild made obsolete, and notes
// what the new partition writes.
func (w *Worker) stale(m *match, p *engine.Partition) []deletion {
	var dels []deletion
	now := make(map[int64]int, p.NumContests())
	for c := range p.NumContests() {
		ct := p.Contest(c)
		now[ct.ID] = ct.Pages
	}
	for id, pages := range m.written {
		if pages > now[id] && now[id] == 0 {
			dels = append(dels, deletion{records.SetContest, records.IDKey(id)})
		}
		for pg := max(1, now[id]); pg < pages; pg++ {
			dels = append(dels, deletion{records.SetPage, records.PageKey(id, pg)})
		}
	}
	m.written = now
	return dels
}

// chunkRecords writes the match's contests by size, largest first.
func (w *Worker) chunkRecords(m *match, p *engine.Partition, dels []deletion) ([]records.Record, []deletion) {
	sizes := make([]records.ContestSize, p.NumContests())
	for c := range sizes {
		ct := p.Contest(c)
		sizes[c] = records.ContestSize{ID: ct.ID, Size: int64(ct.End - ct.Start)}
	}
	slices.SortFunc(sizes, func(a, b records.ContestSize) int {
		if a.Size != b.Size {
			return int(b.Size - a.Size)
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	var out []records.Record
	n := 0
	for lo := 0; lo < len(sizes); lo += records.ContestsPerChunk {
		hi := min(len(sizes), lo+records.ContestsPerChunk)
		out = append(out, records.ContestChunk{Match: m.id, Chunk: n, Total: int64(len(sizes)), Contests: sizes[lo:hi]}.Record())
		n++
	}
	if n == 0 {
		out = append(out, records.ContestChunk{Match: m.id, Chunk: 0}.Record())
		n = 1
	}
	for k := n; k < m.chunks; k++ {
		dels = append(dels, deletion{records.SetContests, records.ChunkKey(m.id, k)})
	}
	m.chunks = n
	return out, dels
}

func (w *Worker) completeIDs(id int64) []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []int64
	for mid, m := range w.matches {
		if m.final || mid == id {
			ids = append(ids, mid)
		}
	}
	slices.Sort(ids)
	return ids
}

func (w *Worker) put(ctx context.Context, ns string, recs []records.Record) error {
	for lo := 0; lo < len(recs); lo += w.cfg.WriteBatch {
		hi := min(len(recs), lo+w.cfg.WriteBatch)
		if err := w.store.Put(ctx, ns, recs[lo:hi]); err != nil {
			return fmt.Errorf("cannot write to the %s namespace: %w", ns, err)
		}
	}
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.Set]++
	}
	for set, n := range counts {
		w.m.written.WithLabelValues(ns, set).Add(float64(n))
	}
	return nil
}

func (w *Worker) delete(ctx context.Context, ns string, dels []deletion) error {
	bySet := map[string][]string{}
	for _, d := range dels {
		bySet[d.set] = append(bySet[d.set], d.key)
	}
	for set, keys := range bySet {
		if err := w.store.Delete(ctx, ns, set, keys); err != nil {
			return fmt.Errorf("cannot delete from the %s namespace: %w", ns, err)
		}
	}
	return nil
}
