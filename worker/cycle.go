package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// matchWork is what a cycle took of a match's ingest side, under Worker.mu.
type matchWork struct {
	m         *match
	state     string
	points    map[int32]int64
	shards    []*shard   // of caught-up partitions
	pending   []*changes // per shard: the entry events to fold in
	edited    map[int64]records.Lineup
	editedNow map[int64]struct{}
	lineup    int
}

// Cycle runs cycle t: every live match is ranked against the points of t's snapshot,
// and a completed match gets its final cycle, written to the complete namespace.
//
// The caught-up gate: nothing is published until the points and matches topics reached
// the end offsets found at start, nor, on a standalone node, until its start's replay
// ended (idle_hold.go); a partition still replaying takes no part (its
// contests are neither folded nor ranked), and a completed match waits for its final
// cycle until every owned partition is caught up.
func (w *Worker) Cycle(ctx context.Context, t Tick) error {
	w.cycleMu.Lock()
	defer w.cycleMu.Unlock()
	if t.At.IsZero() {
		t.At = w.now()
	}
	w.mu.Lock()
	gate := w.topicsCaughtUp()
	hold := gate && w.holdStartLocked(w.now())
	w.mu.Unlock()
	if !gate {
		w.log.Debug("cycle skipped: the points and matches topics are still replaying", "cycle", t.Cycle)
		return nil
	}
	if hold {
		w.log.Debug("cycle held: the start's replay has not ended", "cycle", t.Cycle)
		return nil
	}
	begun := w.now()
	defer func() { w.m.cycle.Observe(w.now().Sub(begun).Seconds()) }()
	if err := w.waitPoints(ctx, t.Points); err != nil {
		return err
	}
	w.mu.Lock()
	// The epoch the writes are fenced by: a cluster worker's adopted one, read with the
	// partitions it writes in it (a tick's own epoch may be one not applied yet).
	w.epoch = t.Epoch
	if w.cfg.Cluster {
		w.epoch = w.assignEpoch
	}
	res := CycleResult{Cycle: t.Cycle, Epoch: w.epoch, At: t.At, Parts: map[int32]*PartResult{}}
	allCaughtUp := w.writersCaughtUpLocked()
	for p, ps := range w.parts {
		if ps.caughtUp && ps.writing {
			res.Parts[p] = &PartResult{Written: true}
		}
	}
	ids := w.matchIDs()
	work := make([]*matchWork, 0, len(ids))
	for _, id := range ids {
		m := w.matches[id]
		if m.pruned {
			continue
		}
		m.takePoints(t.Points)
		wk := &matchWork{m: m, state: m.state, points: maps.Clone(m.points), lineup: m.lineupSize}
		if wk.state == records.StateLive || wk.state == records.StateCompleted {
			for _, p := range slices.Sorted(maps.Keys(m.shards)) {
				if ps := w.parts[p]; ps == nil || !ps.caughtUp || !ps.writing {
					continue
				}
				sh := m.shards[p]
				ch := sh.pending
				sh.pending = changes{}
				wk.shards = append(wk.shards, sh)
				wk.pending = append(wk.pending, &ch)
			}
			wk.editedNow = m.editedNow
			m.editedNow = map[int64]struct{}{}
			if len(m.edited) > 0 {
				wk.edited = maps.Clone(m.edited)
			}
		}
		work = append(work, wk)
	}
	w.mu.Unlock()

	var errs []error
	var stats engine.Stats
	for _, wk := range work {
		err := w.cycleMatch(ctx, wk, t, allCaughtUp, &stats)
		if err != nil {
			errs = append(errs, fmt.Errorf("match %d: %w", wk.m.id, err))
		}
		for _, sh := range wk.shards {
			pr := res.Parts[sh.part]
			if pr == nil {
				continue
			}
			if err != nil {
				pr.Written = false
				continue
			}
			pr.Matches = append(pr.Matches, MatchResult{Match: wk.m.id, State: wk.state, Cycle: sh.wrote, AsOf: sh.wroteAt,
				Entries: int64(sh.entries), Contests: int64(sh.contests)})
		}
	}
	if !w.cfg.Cluster {
		// The matches record is one small record: rewriting it every cycle also keeps it
		// clear of the live TTL. In a cluster the coordinator writes it.
		if err := w.put(ctx, records.Live, []records.Record{records.Matches{IDs: ids}.Record()}, t.Cycle); err != nil {
			errs = append(errs, err)
		}
	}
	res.Took, res.Stages = w.now().Sub(begun), stats.Stages
	if w.reporter != nil {
		w.reporter(ctx, res)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if allCaughtUp {
		w.published.Store(true)
	}
	return nil
}

// writersCaughtUpLocked reports whether every partition this worker writes, and the
// points and matches topics, reached the end offsets found when they were assigned
// (under mu): partitions loading for a hand-over do not hold back its cycles.
func (w *Worker) writersCaughtUpLocked() bool {
	for _, ps := range w.parts {
		if ps.writing && !ps.caughtUp {
			return false
		}
	}
	return w.topicsCaughtUp()
}

// waitPoints waits until the points read reach the snapshot's offsets, at most one
// interval.
func (w *Worker) waitPoints(ctx context.Context, snap map[int32]int64) error {
	if len(snap) == 0 {
		return nil
	}
	deadline := time.NewTimer(w.cfg.Interval)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		behind := int32(-1)
		for p, o := range snap {
			if w.topicNext[w.cfg.PointsTopic][p] < o {
				behind = p
				break
			}
		}
		ch := w.progress
		next := w.topicNext[w.cfg.PointsTopic][behind]
		w.mu.Unlock()
		if behind < 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("points partition %d read up to offset %d, short of the snapshot's %d after %v; cycle skipped", behind, next, snap[behind], w.cfg.Interval)
		}
	}
}

func (w *Worker) cycleMatch(ctx context.Context, wk *matchWork, t Tick, allCaughtUp bool, total *engine.Stats) error {
	m := wk.m
	if m.final {
		return nil
	}
	if !m.resumed {
		if err := w.resume(ctx, m); err != nil {
			w.putBack(wk)
			return err
		}
		if m.final {
			w.prune(m)
			return nil
		}
	}
	for _, sh := range wk.shards {
		if !sh.resumed {
			if err := w.resumeShard(ctx, m, sh); err != nil {
				w.putBack(wk)
				return err
			}
		}
	}
	if t.Cycle <= m.cycle {
		w.putBack(wk)
		w.log.Warn("cycle number not above the match's stored cycle; match skipped", "match", m.id, "cycle", t.Cycle, "stored_cycle", m.cycle)
		return nil
	}
	if slices.Contains(t.Hold, m.id) {
		// The barrier: the match's last open cycle is not committed yet (a partition is
		// behind); writing again would push an uncommitted version into the records'
		// previous slot, where readers of the committed cycle look.
		w.putBack(wk)
		w.log.Debug("match held for its last cycle's commit", "match", m.id, "cycle", t.Cycle)
		return nil
	}
	state := wk.state
	final := state == records.StateCompleted
	if state != records.StateLive && !final {
		if w.cfg.Cluster {
			return nil // the coordinator commits the match from the reports
		}
		return w.put(ctx, records.Live, []records.Record{w.commitRecord(m, state, m.cycle, m.asOf, m.contests, wk.shards)}, t.Cycle)
	}
	if final && !allCaughtUp {
		w.putBack(wk)
		w.log.Info("final cycle waits for every partition to catch up", "match", m.id)
		return nil
	}
	if final {
		defer finalGC(w.cfg.FinalGCPercent)()
	}
	start := w.now()
	var (
		rebuilt = map[*group]*engine.Partition{}
		touched = map[*group][]int64{}
		// users are the users whose record is rewritten, per partition, with repeats:
		// sorted once below (a first cycle lists every entry's user).
		users    = map[int32][]int64{}
		entries  []entryRef
		fresh    []*group
		gone     []deletion
		anyBuilt bool
		built    = map[*shard]bool{} // shards with a group changed: their contest lists
	)
	// Shards fold in parallel: a fold changes only its own shard and reads the
	// cycle's edited and editedNow, which nothing writes meanwhile.
	folds := make([]foldResult, len(wk.shards))
	foldErrs := make([]error, len(wk.shards))
	parallelDo(len(wk.shards), func(k int) {
		if ch := wk.pending[k]; ch.len() > 0 || len(wk.editedNow) > 0 {
			folds[k], foldErrs[k] = fold(wk.shards[k], ch, wk.edited, wk.editedNow, wk.lineup, w.cfg.GroupEntries, w.cfg.Engine)
			// Folded: the log (~60 B an entry after a replay) is freed now, not after
			// the cycle's writes, which allocate the most.
			wk.pending[k] = &changes{}
		}
	})
	for k, sh := range wk.shards {
		if err := foldErrs[k]; err != nil {
			return err
		}
		res := &folds[k]
		for i, g := range res.rebuilt {
			if _, ok := rebuilt[g]; !ok {
				rebuilt[g] = res.olds[i]
				if cs, ok := res.contests[g]; ok && res.olds[i] != nil {
					touched[g] = cs
				}
			}
			anyBuilt, built[sh] = true, true
		}
		users[sh.part] = append(users[sh.part], res.users...)
		entries = append(entries, res.entries...)
		fresh = append(fresh, res.fresh...)
		for _, id := range res.gone {
			gone = append(gone, deletion{set: records.SetEntry, key: records.IDKey(id), id: id, part: sh.part})
		}
	}
	foldTook := w.now().Sub(start)

	m.cycle = t.Cycle
	m.asOf = t.At.UnixMilli()
	snap := engine.SnapshotFromCenti(wk.points)
	samePoints := maps.Equal(wk.points, m.lastPoints)
	m.lastPoints = wk.points
	m.log = m.log.Append(m.cycle, m.asOf, w.lineupPoints(m, wk.points))

	out := &w.mem.out // reused: this match's records are written before the next's are packed
	out.reset()
	var dels []deletion
	var stats engine.Stats
	groups := 0
	// A failed cycle left records unwritten: this one rewrites every contest and page
	// (as a final cycle does) and what the failed ones were to write. cursors keep the
	// refresh cursors, put back if this cycle's writes fail too.
	pend := m.unwritten
	var carried []deletion
	// While the store cannot take writes (its breaker open), the match is ranked but
	// nothing is encoded or written: the cycle is marked unwritten as a failed one is.
	skip := !w.storeAvailable()
	var cursors []refreshCursor
	for _, sh := range wk.shards {
		for _, g := range sh.groups {
			cursors = append(cursors, refreshCursor{g, g.refresh.contest, g.refresh.entry})
			p := g.part
			if p == nil {
				if old, ok := rebuilt[g]; ok && old != nil {
					dels = append(dels, stale(sh.part, old, nil)...)
				}
				continue
			}
			groups++
			st := p.Run(snap)
			addStats(&stats, st)
			addStats(total, st)
			old, isRebuilt := rebuilt[g]
			if isRebuilt && old != nil {
				dels = append(dels, stale(sh.part, old, p)...)
			}
			if skip {
				continue
			}
			if cs, ok := touched[g]; ok && samePoints && !final && pend == nil {
				// Rebuilt for a few contests, with the points of the last cycle: the
				// other contests' standings are those already written.
				w.contestRecords(m, p, cs, out)
				continue
			}
			w.groupRecords(m, g, p, isRebuilt || final || pend != nil, final, out)
		}
	}
	// Groups whose every entry record is written: those built from nothing (a replay
	// builds every group at once), or all of them in a final cycle. Encoded in parallel
	// and written as they come (write phase below), so they are never all in memory.
	whole := fresh
	if final {
		whole = nil
		for _, sh := range wk.shards {
			for _, g := range sh.groups {
				if g.part != nil {
					whole = append(whole, g)
				}
			}
		}
	}
	if pend != nil {
		entries = append(pend.entries, entries...)
		if !final {
			whole = appendWhole(whole, pend.whole)
		}
		for u := range pend.users {
			users[u.part] = append(users[u.part], u.user)
		}
		// Deletions failed cycles were to make: made now (a cycle late already).
		carried = w.stillStale(wk.shards, pend.dels)
	}
	for _, e := range entries {
		if skip {
			break
		}
		if g, c, i, ok := findEntry(wk.shards, e); ok {
			out.entry(m, g, c, i, false)
		}
	}
	dels = append(dels, gone...)
	// A final cycle writes every entry and user record to the complete namespace, but to
	// the live one only those that changed since the last cycle: live holds the others
	// already, the same bins (a reader falls back from live to complete record by
	// record, and reads the rest of its answer where it found the entry or user: either
	// way the same final standings), and rewriting them all there doubled the final
	// cycle's writes and its memory.
	// Every user of a shard is written to complete with the shard's records (finalUsers),
	// a shard at a time: listed for every shard at once, the final cycle held an id per
	// user and group of the match (~45 MB at 5.6M entries) at its memory peak.
	var liveUsers map[int32][]int64
	if final {
		liveUsers = map[int32][]int64{}
		for part, ids := range users {
			liveUsers[part] = sortedIDs(slices.Clone(ids))
		}
	}
	// The TTL refresh of user records: a range of user ids per cycle, gathered in one
	// walk over the groups (a user's entries span groups).
	lo, hi := int64(0), int64(-1)
	if !final {
		lo, hi = w.userRefreshRange(m, wk.shards)
	}
	// The users to write, per partition (a user record is a user's entries of the match
	// in one partition: its writer's).
	userIDs := map[int32][]int64{}
	for part, ids := range users {
		ids = sortedIDs(ids)
		users[part] = ids
		userIDs[part] = outside(ids, lo, hi) // those inside are written with the range
	}
	m.entries = 0
	contests := 0
	defer func() { m.contests = contests }()
	for _, sh := range wk.shards {
		sh.entries, sh.contests = 0, 0
		for _, g := range sh.groups {
			sh.entries += g.n
			if g.part != nil {
				sh.contests += g.part.NumContests()
			}
		}
		m.entries += sh.entries
		contests += sh.contests
	}
	// The contest lists change only with a rebuild, but are rewritten every half refresh
	// period too, so they never reach the live TTL.
	chunks := make([]int, len(wk.shards))
	for k, sh := range wk.shards {
		chunks[k] = sh.chunks
	}
	all := final || pend != nil || start.Sub(m.chunksAt) >= w.cfg.Refresh/2
	if !skip && (anyBuilt || all) {
		for _, sh := range wk.shards {
			if !all && !built[sh] {
				continue // its contests did not change (a late entry sorts its shard's only)
			}
			var recs []records.Record
			recs, dels = chunkRecords(m, sh, dels)
			out.chunks = append(out.chunks, recs...)
		}
		if all {
			m.chunksAt = start
		}
	}
	parts := make([]records.Record, len(wk.shards))
	for k, sh := range wk.shards {
		parts[k] = records.MatchPart{Match: m.id, Part: sh.part, State: state, Cycle: m.cycle, AsOf: m.asOf,
			Entries: int64(sh.entries), Contests: int64(sh.contests), Chunks: int64(sh.chunks), Log: m.log}.Record()
	}

	// Each partition's record of the match, with the points log, goes first, so no reader
	// ever sees a contest of this cycle without the points it was ranked with; the log
	// only grows, so readers of older contests are unaffected. The commit (the match
	// record's cycle, standalone; the coordinator's in a cluster) moves last.
	// Contest and page deletions wait one cycle (records/versions.go): readers of the
	// committed cycle may still show them, and the match's next cycle is written only once
	// this one is committed. Those of the last written cycle are due now.
	due := append(w.stillStale(wk.shards, m.deferred), carried...)
	var later []deletion
	if !final {
		now := dels[:0:0]
		for _, d := range dels {
			if records.Versioned(d.set) {
				later = append(later, d)
			} else {
				now = append(now, d)
			}
		}
		dels = now
	}
	var written atomic.Int64 // emit runs on parallelEmit's goroutines
	emitTo := func(nss ...string) func([]records.Record) error {
		return func(recs []records.Record) error {
			for _, ns := range nss {
				if err := w.put(ctx, ns, recs, m.cycle); err != nil {
					return err
				}
				written.Add(int64(len(recs)))
			}
			return nil
		}
	}
	emit := emitTo(w.namespaces(final)...)
	// emitWhole writes the entry and user records of whole groups: to the complete
	// namespace alone in a final cycle (liveUsers, out.entries: the changed ones go to
	// both).
	emitWhole := emit
	if final {
		emitWhole = emitTo(records.Complete)
	}
	writeAll := func() error {
		for _, ns := range w.namespaces(final) {
			if err := w.delete(ctx, ns, due); err != nil {
				return err
			}
		}
		if err := emit(parts); err != nil {
			return err
		}
		// Every page before any contest: a reader that finds a contest of this cycle
		// finds its pages of this cycle.
		if err := writeRanked(&w.mem.tasks, out.pages, false, m.id, m.cycle, m.asOf, emit); err != nil {
			return err
		}
		if err := writeRanked(&w.mem.tasks, out.contests, true, m.id, m.cycle, m.asOf, emit); err != nil {
			return err
		}
		out.keys.SetShared(out.entries)
		if err := emit(out.entries); err != nil {
			return err
		}
		// The entry records of whole groups. Where a shard's users are packed from its
		// groups' lineups (a first or final cycle: bulkPacked), its whole groups' entry
		// records are packed from the same encoding with them, a shard at a time
		// (cycle_pack.go): each group's lineups encoded once, one shard's held at once.
		// The others' first, as they come.
		bulk := make([]bool, len(wk.shards))
		for k, sh := range wk.shards {
			n := len(userIDs[sh.part])
			if final {
				n = finalUserCount(sh, n)
			}
			bulk[k] = bulkPacked([]*shard{sh}, n)
		}
		shared, rest := splitWhole(whole, wk.shards, bulk)
		err := parallelEmit(&w.mem.tasks, len(rest), func(k int, s *taskScratch) []records.Record {
			return wholeEntryRecords(m, rest[k], s)
		}, keepSame(emitWhole))
		if err != nil {
			return err
		}
		for k, sh := range wk.shards {
			one := []*shard{sh}
			var packs map[*group]*groupPack
			if bulk[k] {
				packs = shardPacks(one)
				tasks := entryTasks(nil, shared[k], packs)
				err := parallelEmit(&w.mem.tasks, len(tasks), func(i int, s *taskScratch) []records.Record {
					return entryRecords(m, tasks[i], s)
				}, keepSame(emitWhole))
				if err != nil {
					return err
				}
			}
			if final {
				if _, err := userRecords(&w.mem.tasks, m, one, liveUsers[sh.part], packs, emitTo(records.Live)); err != nil {
					return err
				}
			}
			want := userIDs[sh.part]
			if final {
				want = finalUsers(sh, want)
			}
			missing, err := userRecords(&w.mem.tasks, m, one, want, packs, keepSame(emitWhole))
			if err != nil {
				return err
			}
			if err := rangeUserRecords(&w.mem.tasks, m, one, lo, hi, keepSame(emitWhole)); err != nil {
				return err
			}
			for _, u := range missing {
				dels = append(dels, deletion{set: records.SetUser, key: records.UserKey(m.id, u, sh.part), id: u, part: sh.part})
			}
		}
		// The contest lists: rewritten every half refresh period, unchanged but for a
		// rebuild (keepSame).
		if err := keepSame(emit)(out.chunks); err != nil {
			return err
		}
		if !w.cfg.Cluster {
			if err := emit([]records.Record{w.commitRecord(m, state, m.cycle, m.asOf, contests, wk.shards)}); err != nil {
				return err
			}
		}
		for _, ns := range w.namespaces(final) {
			if err := w.delete(ctx, ns, dels); err != nil {
				return err
			}
		}
		if !final || w.cfg.Cluster {
			return nil
		}
		if err := w.put(ctx, records.Complete, []records.Record{records.Matches{IDs: w.completeIDs(m.id)}.Record()}, m.cycle); err != nil {
			return err
		}
		if f, ok := w.store.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				return fmt.Errorf("cannot flush the complete namespace: %w", err)
			}
		}
		return nil
	}
	err := errStoreUnavailable
	if !skip {
		w.reserve(m, final, whole)
		err = writeAll()
	}
	if err != nil {
		// Nothing is undone in the store: the next cycle writes the then current state
		// of what this one did not (a final cycle is retried whole, never marked done).
		m.unwritten = keepUnwritten(entries, whole, userSet(users), append(append(carried, dels...), later...))
		for k, sh := range wk.shards {
			sh.chunks = max(sh.chunks, chunks[k])
		}
		if !final {
			m.userCursor = lo
		}
		for _, c := range cursors {
			c.g.refresh.contest, c.g.refresh.entry = c.contest, c.entry
		}
		w.m.unwritten.Inc()
		return err
	}
	if pend != nil {
		w.log.Info("store writes succeed again: the current state of what failed cycles did not write is written", "match", m.id, "cycle", m.cycle)
	}
	m.unwritten = nil
	m.deferred = later
	for _, sh := range wk.shards {
		sh.wrote, sh.wroteAt = m.cycle, m.asOf
	}
	if final {
		w.mu.Lock()
		m.final = true
		w.mu.Unlock()
		w.log.Info("match completed: final standings written", "match", m.id, "cycle", m.cycle, "entries", m.entries)
		w.prune(m)
	} else {
		w.m.entries.WithLabelValues(fmt.Sprint(m.id)).Set(float64(m.entries))
	}
	took := w.now().Sub(start)
	for _, s := range stats.Stages {
		w.m.stage.WithLabelValues(s.Name).Observe(s.Duration.Seconds())
	}
	w.m.stage.WithLabelValues("fold").Observe(foldTook.Seconds())
	if !final {
		w.m.cycles.WithLabelValues(fmt.Sprint(m.id)).Inc()
	}
	rep := &CycleReport{Match: m.id, Cycle: m.cycle, AsOf: time.UnixMilli(m.asOf), Stats: stats, Groups: groups, Rebuilt: len(rebuilt), Fold: foldTook, Written: int(written.Load()), Took: took}
	w.lastStat.Store(rep)
	w.log.Debug("cycle", "match", m.id, "cycle", m.cycle, "entries", stats.Entries, "groups", groups, "rebuilt", len(rebuilt), "changed_entries", stats.ChangedEntries, "changed_pages", stats.ChangedPages, "written", rep.Written, "fold", foldTook, "took", took)
	return nil
}

type refreshCursor struct {
	g              *group
	contest, entry int
}

// keepUnwritten is what a failed cycle was to write and delete: the entries, groups and
// users it was to write, and its contest, page and entry deletions (user and contest
// list deletions are found again by the next cycle, from its users and the match's
// highest chunk count).
func keepUnwritten(entries []entryRef, whole []*group, users map[userPart]struct{}, dels []deletion) *unwritten {
	u := &unwritten{entries: slices.Clone(entries), whole: appendWhole(nil, whole), users: users}
	slices.SortFunc(u.entries, func(a, b entryRef) int {
		if a.id != b.id {
			return cmpInt(a.id, b.id)
		}
		return cmpInt(a.contest, b.contest)
	})
	u.entries = slices.Compact(u.entries)
	for _, d := range dels {
		switch d.set {
		case records.SetContest, records.SetPage, records.SetEntry:
			u.dels = append(u.dels, d)
		}
	}
	return u
}

// appendWhole appends to dst the groups of add it lacks that still have entries.
func appendWhole(dst, add []*group) []*group {
	have := make(map[*group]bool, len(dst))
	for _, g := range dst {
		have[g] = true
	}
	for _, g := range add {
		if g.part != nil && !have[g] {
			have[g] = true
			dst = append(dst, g)
		}
	}
	return dst
}

// stillStale keeps the deletions of failed cycles whose record has not come back: a
// contest or page that exists again, or an entry added again, is written by this cycle
// and must not be deleted after. The deletions of a partition no longer owned are
// dropped: its new owner writes its records now.
func (w *Worker) stillStale(shards []*shard, dels []deletion) []deletion {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]deletion, 0, len(dels))
	for _, d := range dels {
		if w.parts[d.part] == nil {
			continue
		}
		switch d.set {
		case records.SetContest, records.SetPage:
			if pages, ok := contestPages(shards, d.id); ok && d.no < pages {
				continue
			}
		case records.SetEntry:
			if w.entryRanked(shards, d.id) {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// contestPages finds a contest in a match's shards and returns its page count (page 0
// is the contest record).
func contestPages(shards []*shard, id int64) (int, bool) {
	for _, sh := range shards {
		gi, ok := sh.groupOf[id]
		if !ok {
			continue
		}
		if p := sh.groups[gi].part; p != nil {
			if c, ok := p.FindContest(id); ok {
				return p.Contest(c).Pages, true
			}
		}
	}
	return 0, false
}

// entryRanked reports whether an entry is in a contest group of shards. Under w.mu.
func (w *Worker) entryRanked(shards []*shard, id int64) bool {
	for _, sh := range shards {
		ps := w.parts[sh.part]
		if ps == nil {
			continue
		}
		if c, ok := ps.entryContest.get(id); ok {
			_, _, _, found := findEntry(shards, entryRef{id, c})
			return found
		}
	}
	return false
}

// putBack returns the entry events a cycle took but did not fold (the match was not
// ranked this cycle) to the front of each shard's log.
func (w *Worker) putBack(wk *matchWork) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, sh := range wk.shards {
		ch := wk.pending[k]
		if ch.len() == 0 {
			continue
		}
		later := sh.pending
		sh.pending = *ch
		for i := range later.entry {
			e := later.event(i)
			sh.pending.add(&e)
		}
	}
	for t := range wk.editedNow {
		wk.m.editedNow[t] = struct{}{}
	}
}

// prune frees a completed match's entries once its final standings are written, and
// removes its per-match metric series; the match itself stays, so later events of it
// are refused with a reason.
func (w *Worker) prune(m *match) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, sh := range m.shards {
		ps := w.parts[p]
		for _, g := range sh.groups {
			if g.part == nil || ps == nil {
				continue
			}
			for c := range g.part.NumContests() {
				ct := g.part.Contest(c)
				for i := ct.Start; i < ct.End; i++ {
					ps.entryContest.del(g.part.EntryID(i))
				}
				ps.contestMatch.del(ct.ID)
			}
		}
		if ps != nil {
			delete(ps.shards, m.id)
		}
	}
	m.shards = map[int32]*shard{}
	m.teamPrint, m.edited, m.editedNow, m.held = nil, nil, map[int64]struct{}{}, nil
	m.pruned = true
	w.m.entries.DeleteLabelValues(fmt.Sprint(m.id))
	w.m.cycles.DeleteLabelValues(fmt.Sprint(m.id))
}

// lineupPoints keeps the points of players in some lineup of the match: the match
// record's log holds nothing else.
func (w *Worker) lineupPoints(m *match, pts map[int32]int64) map[int32]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int32]int64, len(pts))
	for id, v := range pts {
		if _, ok := m.players[id]; ok {
			out[id] = v
		}
	}
	return out
}

func addStats(a *engine.Stats, b engine.Stats) {
	a.Entries += b.Entries
	a.Contests += b.Contests
	a.Teams += b.Teams
	a.ChangedEntries += b.ChangedEntries
	a.ChangedPages += b.ChangedPages
	a.SkippedContests += b.SkippedContests
	for _, s := range b.Stages {
		found := false
		for k := range a.Stages {
			if a.Stages[k].Name == s.Name {
				a.Stages[k].Duration += s.Duration
				found = true
			}
		}
		if !found {
			a.Stages = append(a.Stages, s)
		}
	}
}

// groupRecords appends a group's records of this cycle: every contest and page when
// whole (rebuilt or final), else the contests with a changed page plus the group's
// refresh slice.
func (w *Worker) groupRecords(m *match, g *group, p *engine.Partition, whole, final bool, out *batchOut) {
	changed, refreshC := out.changed[:0], out.refresh[:0] // reused, group after group
	defer func() { out.changed, out.refresh = changed, refreshC }()
	if whole {
		changed = allContests(changed, p)
	} else {
		refreshC = w.refreshSlice(refreshC, &g.refresh.contest, p.NumContests())
		changed = append(changedContests(changed, p), refreshC...)
		slices.Sort(changed)
		changed = slices.Compact(changed)
	}
	changedPages := p.ChangedPages()
	// Room for the records at once: a moved cycle appends ~100k pages at 5.6M entries,
	// and growing the slice by doubling copied them again and again.
	if whole {
		out.pages = slices.Grow(out.pages, p.NumPages())
	} else {
		out.pages = slices.Grow(out.pages, int(changedPages.GetCardinality()))
	}
	out.contests = slices.Grow(out.contests, len(changed))
	for _, c := range changed {
		ct := p.Contest(c)
		all := whole || inRun(refreshC, c, p.NumContests())
		for pg := 1; pg < ct.Pages; pg++ {
			if all || changedPages.Contains(uint32(ct.FirstPage+pg)) {
				out.pages = append(out.pages, pageRef{p, int32(c), int32(pg)})
			}
		}
		out.contests = append(out.contests, pageRef{p, int32(c), 0})
	}
	if final {
		return // every entry's record is written by the cycle's write phase
	}
	c := 0
	refreshC = w.refreshSlice(refreshC[:0], &g.refresh.entry, p.NumEntries())
	for _, i := range refreshC {
		for c < p.NumContests() && p.Contest(c).End <= i {
			c++
		}
		if c >= p.NumContests() || p.Contest(c).Start > i {
			c = contestOf(p, i)
		}
		out.entry(m, g, c, i, true) // the TTL refresh: most are stored already, the same (keepSame)
	}
}

// inRun reports whether i is in run, a slice of refreshSlice over n items: k items
// from run[0] on, wrapping at n.
func inRun(run []int, i, n int) bool {
	return len(run) > 0 && (i-run[0]+n)%n < len(run)
}

// contestRecords appends every record of the given contests (ids) of a group.
func (w *Worker) contestRecords(m *match, p *engine.Partition, ids []int64, out *batchOut) {
	for _, id := range ids {
		c, ok := p.FindContest(id)
		if !ok {
			continue // every entry withdrawn: stale() deletes its records
		}
		ct := p.Contest(c)
		for pg := 1; pg < ct.Pages; pg++ {
			out.pages = append(out.pages, pageRef{p, int32(c), int32(pg)})
		}
		out.contests = append(out.contests, pageRef{p, int32(c), 0})
	}
}

// parallelEmit runs n tasks on GOMAXPROCS goroutines, each encoding records, and hands
// each task's records to emit as soon as it is done, so the records of a whole match
// are never all in memory. emit runs on the tasks' goroutines, several at once, in no
// fixed order: the stores take concurrent writes, and a first cycle's writes (half of
// its CPU) no longer wait in line for one core. Tasks only read the cycle's state. The
// first error of emit stops the remaining tasks and is returned.
//
// Each goroutine packs its tasks into one taskScratch from pool (nil: fresh ones),
// reset before each task: a task's records, their bytes and keys in the scratch's
// memory, are overwritten only after emit returned, and nothing may hold them after
// (the Store contract).
func parallelEmit(pool *scratchPool, n int, task func(k int, s *taskScratch) []records.Record, emit func([]records.Record) error) error {
	if n == 0 {
		return nil
	}
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		err    error
		failed atomic.Bool
	)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			s := pool.get()
			defer pool.put(s)
			for k := int(next.Add(1) - 1); k < n && !failed.Load(); k = int(next.Add(1) - 1) {
				s.reset()
				buf := task(k, s)
				s.recs = buf
				if e := emit(buf); e != nil {
					mu.Lock()
					if err == nil {
						err = e
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return err
}

// batchOut is what a cycle writes: the pages and contests to encode (in parallel, as
// they are written: writeRanked), the entry and contest list records.
type batchOut struct {
	pages, contests []pageRef
	entries, chunks []records.Record
	// The entry records' bytes and keys (entry), their keys given when they are
	// written (SetShared), and a lineup's encoding.
	arena  records.Arena
	keys   records.Keys
	lineup []byte
	// groupRecords' contests of a group and refresh slice
	changed, refresh []int
}

// reset empties o for a match's cycle, keeping its memory: the records of the last one
// are written (or failed: the worker keeps what to rebuild, not them).
func (o *batchOut) reset() {
	clear(o.entries)
	clear(o.chunks)
	o.pages, o.contests, o.entries, o.chunks = o.pages[:0], o.contests[:0], o.entries[:0], o.chunks[:0]
	o.arena.Reset()
	if o.arena.Size() > scratchKeepBytes {
		o.arena = records.Arena{}
	}
	o.keys.Reset() // the keys of a cycle that failed before writing its entries
}

// entry appends the record of entry i (in contest c) of group g to o.entries: the
// bytes of entryPacked's in o's arena, its key given by o.keys.SetShared when written.
// ifChanged marks it records.Record.IfChanged.
func (o *batchOut) entry(m *match, g *group, c, i int, ifChanged bool) {
	p := g.part
	var buf [16]int32 // a lineup: 11 players
	players, capt, vice := p.Lineup(i, buf[:0])
	o.lineup = records.AppendLineup(o.lineup[:0], players, capt, vice)
	h := records.EntryHead{ID: p.EntryID(i), Contest: p.Contest(c).ID, Match: m.id, Part: g.pid, User: p.UserID(i), Team: p.TeamID(i)}
	o.keys.ID(h.ID)
	r := o.arena.EntryRecord(h, o.lineup)
	r.IfChanged = ifChanged
	o.entries = append(o.entries, r)
}

// pageRef is page pg of contest c of p (pg 0: the contest record).
type pageRef struct {
	p     *engine.Partition
	c, pg int32
}

// refsPerTask are the pages (or contests) one task of writeRanked encodes and writes:
// ~0.5-1 MB of records.
var refsPerTask = 1024 // a variable for tests, which split a small cycle into many tasks

// writeRanked encodes the records of refs (contests when contest, else pages) on
// GOMAXPROCS goroutines and hands them to emit as they are encoded: encoding and the
// store's writes of a moved cycle (~100k pages at 5.6M entries) share the cores, and
// the records are never all in memory.
func writeRanked(pool *scratchPool, refs []pageRef, contest bool, match, cycle, asOf int64, emit func([]records.Record) error) error {
	return parallelEmit(pool, (len(refs)+refsPerTask-1)/refsPerTask, func(k int, s *taskScratch) []records.Record {
		// The task's records' bytes from the scratch's arena, their keys from its key
		// buffer: no allocation once they have grown to a task's records.
		enc := &s.enc
		enc.arena = &s.arena
		dst := s.recs
		for _, r := range refs[k*refsPerTask : min(len(refs), (k+1)*refsPerTask)] {
			if contest {
				dst = append(dst, contestRecord(r.p, int(r.c), match, cycle, asOf, enc))
			} else {
				dst = append(dst, pageRecord(r.p, int(r.c), int(r.pg), cycle, enc))
			}
		}
		enc.keys.SetShared(dst)
		enc.arena = nil
		return dst
	}, emit)
}

// deletion is a record to delete: id is the contest, entry or user, no the page or
// chunk, part the entries partition of a contest, page or entry.
type deletion struct {
	set, key string
	id       int64
	no       int
	part     int32
}

// reserver is a store that sizes its index ahead of many new records (the embedded
// store: rankstore.Store.Reserve); Aerospike sizes its own.
type reserver interface {
	Reserve(ns string, more int) error
}

// reserve tells a store that sizes its index ahead (reserver) about the records a cycle
// writing groups whole is about to write: an entry record per entry and a user record
// per user of each (a user whose entries span groups counted in each: a few more
// slots), so that the store grows its index once, not again and again as a first cycle
// after a replay writes millions of records. A live cycle of a match whose records the
// store held when the node started (a restart on its data dir) reserves nothing: its
// records are there already (kept, IfChanged), and reserving for them again would grow
// every table to twice what it holds.
func (w *Worker) reserve(m *match, final bool, whole []*group) {
	r, ok := w.store.(reserver)
	if !ok || len(whole) == 0 || m.stored && !final {
		return
	}
	more := 0
	for _, g := range whole {
		more += g.n + len(g.users.ids)
	}
	nss := w.namespaces(false)
	if final {
		nss = []string{records.Complete} // live holds them already (emitWhole)
	}
	for _, ns := range nss {
		if err := r.Reserve(ns, more); err != nil {
			w.log.Warn("store cannot reserve room for a cycle's records; writing without", "namespace", ns, "records", more, "err", err)
		}
	}
}

// finalUsers is every user of sh's groups and those of changed (sorted), the users
// whose records a final cycle writes to complete for sh.
func finalUsers(sh *shard, changed []int64) []int64 {
	ids := slices.Clone(changed)
	for _, g := range sh.groups {
		ids = append(ids, g.users.ids...)
	}
	return sortedIDs(ids)
}

// finalUserCount is the length of finalUsers(sh, changed) with repeats, for changed of n
// users.
func finalUserCount(sh *shard, n int) int {
	for _, g := range sh.groups {
		n += len(g.users.ids)
	}
	return n
}

// finalGC sets the collector's target to pct for a final cycle (Config.FinalGCPercent)
// and returns what puts the last one back. It changes nothing when pct is negative, or
// when the target is lower already or off (an operator's GOGC). What it puts back is the
// target it found, unless another setting came meanwhile, which it leaves.
func finalGC(pct int) func() {
	if pct < 0 {
		return func() {}
	}
	old := debug.SetGCPercent(pct)
	if old < 0 || old <= pct {
		debug.SetGCPercent(old)
		return func() {}
	}
	return func() {
		if now := debug.SetGCPercent(old); now != pct {
			debug.SetGCPercent(now)
		}
	}
}

func (w *Worker) namespaces(final bool) []string {
	if final {
		return []string{records.Live, records.Complete}
	}
	return []string{records.Live}
}

// resume continues a match's cycle from its commit in the store, and notes a match
// already completed there (its final standings committed: not ranked again).
func (w *Worker) resume(ctx context.Context, m *match) error {
	if b, ok, err := w.store.Get(ctx, records.Complete, records.SetMatch, records.IDKey(m.id)); err != nil {
		return err
	} else if ok {
		if rec, err := records.MatchFrom(b); err == nil && rec.State == records.StateCompleted {
			m.cycle = rec.Cycle
			w.mu.Lock()
			m.state, m.final = records.StateCompleted, true
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
			m.cycle, m.asOf = rec.Cycle, rec.AsOf
		}
		m.stored = true
	}
	m.resumed = true
	return nil
}

// resumeShard reads back a partition's record of the match before the shard's first
// write: its points log is merged into the match's (the log of a partition taken over
// keeps the steps its contests were ranked with), its chunk count kept (so stale chunks
// are deleted), and its cycle continues the match's.
func (w *Worker) resumeShard(ctx context.Context, m *match, sh *shard) error {
	b, ok, err := w.store.Get(ctx, records.Live, records.SetMatchPart, records.MatchPartKey(m.id, sh.part))
	if err != nil {
		return err
	}
	if ok {
		if rec, err := records.MatchPartFrom(b); err == nil {
			m.log = records.MergeLogs(m.log, rec.Log)
			sh.chunks = max(sh.chunks, int(rec.Chunks))
			if rec.Cycle > m.cycle {
				m.cycle, m.asOf = rec.Cycle, rec.AsOf
			}
		}
	}
	sh.resumed = true
	return nil
}

// commitRecord is the match's commit, written by a standalone worker once every
// partition of the match is written (in a cluster, the coordinator writes it).
func (w *Worker) commitRecord(m *match, state string, cycle, asOf int64, contests int, shards []*shard) records.Record {
	parts := make([]int32, len(shards))
	for k, sh := range shards {
		parts[k] = sh.part
	}
	slices.Sort(parts)
	return records.Match{ID: m.id, State: state, Cycle: cycle, AsOf: asOf, Entries: int64(m.entries), Contests: int64(contests), Parts: parts}.Record()
}

// changedContests lists the contests with a changed page, walking the sorted changed
// pages and contests together.
func changedContests(out []int, p *engine.Partition) []int {
	at := len(out)
	c := 0
	it := p.ChangedPages().Iterator()
	for it.HasNext() {
		pg := int(it.Next())
		for c < p.NumContests() && p.Contest(c).FirstPage+p.Contest(c).Pages <= pg {
			c++
		}
		if c < p.NumContests() && (len(out) == at || out[len(out)-1] != c) {
			out = append(out, c)
		}
	}
	return out
}

// allContests appends every contest of p to out.
func allContests(out []int, p *engine.Partition) []int {
	for c := range p.NumContests() {
		out = append(out, c)
	}
	return out
}

// refreshSlice advances a round-robin cursor over n items by the share that makes every
// item come round once per Refresh period, and appends the items it passed to out.
func (w *Worker) refreshSlice(out []int, cursor *int, n int) []int {
	if n == 0 {
		return out
	}
	k := min(n, int((int64(n)*int64(w.cfg.Interval)+int64(w.cfg.Refresh)-1)/int64(w.cfg.Refresh)))
	out = slices.Grow(out, k)
	for range k {
		*cursor %= n
		out = append(out, *cursor)
		*cursor++
	}
	return out
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

// PageRows are the rows of page (0 = the first, kept in the contest record) of contest c
// of p, in display order with their competition ranks: what a page record holds.
func PageRows(p *engine.Partition, c, page int) []records.Row {
	lo, hi := pageBounds(p, c, page)
	out := rowSlice(make([]records.Row, 0, hi-lo))
	eachPageRow(p, c, page, &out)
	return out
}

// rowSlice collects the rows eachPageRow gives.
type rowSlice []records.Row

func (s *rowSlice) Add(r records.Row) { *s = append(*s, r) }

func pageBounds(p *engine.Partition, c, page int) (lo, hi int) {
	n := len(p.Ordered(c))
	return min(n, page*p.PageSize()), min(n, (page+1)*p.PageSize())
}

// eachPageRow gives the rows of page (0 = the first) of contest c of p to dst, in display
// order with their competition ranks: PageRows' walk. encodeRows, on the cycle's hot path,
// repeats it over ids gathered first; TestPackedCycleRecords checks that both give the same
// rows.
func eachPageRow[D interface{ Add(records.Row) }](p *engine.Partition, c, page int, dst D) {
	ord, pts := p.Ordered(c), p.PointsOrdered(c)
	lo, hi := page*p.PageSize(), min(len(ord), (page+1)*p.PageSize())
	rank := int64(0)
	if lo < hi {
		rank = int64(p.Rank(int(ord[lo])))
	}
	for j := lo; j < hi; j++ {
		i := int(ord[j])
		if j > lo && pts[j] != pts[j-1] {
			rank = int64(j + 1)
		}
		dst.Add(records.Row{Rank: rank, EntryID: p.EntryID(i), UserID: p.UserID(i), TeamID: p.TeamID(i), Points: int64(pts[j])})
	}
}

// rowEncoders are the reusable buffers a page's rows and a contest's histogram are
// encoded into, straight from a partition's columns, and those a page's ids are
// gathered into.
type rowEncoders struct {
	rows              records.RowsEncoder
	hist              records.HistEncoder
	entry, user, team []int64
	// arena, when set, holds the records' bytes, and keys their keys: the records
	// pageRecord and contestRecord return then have no Key until keys.Set.
	arena *records.Arena
	keys  records.Keys
}

// encodeRows encodes the rows of page (0 = the first) of contest c of p into enc.rows:
// the rows PageRows returns, without building them. A page's ids are gathered first
// (engine.Partition.GatherIDs: a mega contest's are random reads, many in flight at
// once), then encoded. TestPackedCycleRecords checks the bytes against PageRows.
func encodeRows(p *engine.Partition, c, page int, enc *rowEncoders) {
	e := &enc.rows
	e.Reset()
	ord, pts := p.Ordered(c), p.PointsOrdered(c)
	lo, hi := page*p.PageSize(), min(len(ord), (page+1)*p.PageSize())
	if lo >= hi {
		return
	}
	n := hi - lo
	if cap(enc.entry) < n {
		enc.entry, enc.user, enc.team = make([]int64, n), make([]int64, n), make([]int64, n)
	}
	ids, users, teams := enc.entry[:n], enc.user[:n], enc.team[:n]
	p.GatherIDs(ord[lo:hi], ids, users, teams)
	pts = pts[lo:hi]
	rank := int64(p.Rank(int(ord[lo])))
	for k := range ids {
		if k > 0 && pts[k] != pts[k-1] {
			rank = int64(lo + k + 1)
		}
		e.AddRow(rank, int64(pts[k]), ids[k], users[k], teams[k])
	}
}

// pageRecord is the page record of page (>= 1) of contest c of p at cycle, packed (the
// bytes of records.Page{..., Rows: PageRows(p, c, page)}.Record()).
func pageRecord(p *engine.Partition, c, page int, cycle int64, enc *rowEncoders) records.Record {
	id := p.ContestID(c)
	encodeRows(p, c, page, enc)
	if enc.arena != nil {
		enc.keys.Page(id, page)
		return records.Record{Set: records.SetPage, Packed: enc.arena.Page(id, page, cycle, &enc.rows)}
	}
	return records.Record{Set: records.SetPage, Key: records.PageKey(id, page), Packed: records.PackPage(id, page, cycle, &enc.rows)}
}

// contestRecord is the contest record of contest c of p ranked in cycle at asOf,
// packed (the bytes of ContestRecord(p, c, match, cycle, asOf).Record()).
func contestRecord(p *engine.Partition, c int, match, cycle, asOf int64, enc *rowEncoders) records.Record {
	ct := p.Contest(c)
	enc.hist.Reset()
	for _, pt := range p.PointsOrdered(c) {
		enc.hist.Add(int64(pt))
	}
	encodeRows(p, c, 0, enc)
	h := records.ContestHead{ID: ct.ID, Match: match, Cycle: cycle, AsOf: asOf, Total: int64(ct.End - ct.Start), PageSize: int64(p.PageSize())}
	if enc.arena != nil {
		enc.keys.ID(ct.ID)
		return records.Record{Set: records.SetContest, Packed: enc.arena.Contest(h, &enc.hist, &enc.rows)}
	}
	return records.Record{Set: records.SetContest, Key: records.IDKey(ct.ID), Packed: records.PackContest(h, &enc.hist, &enc.rows)}
}

// ContestRecord is the contest record of contest c of p ranked in cycle at asOf: its
// points histogram and its first page. The worker writes it; benchmarks of what a cycle
// writes (aerospikesink) build the same record through it.
func ContestRecord(p *engine.Partition, c int, match, cycle, asOf int64) records.Contest {
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
	return records.Contest{ID: ct.ID, Match: match, Cycle: cycle, AsOf: asOf, Total: int64(ct.End - ct.Start),
		PageSize: int64(p.PageSize()), Hist: hist, First: PageRows(p, c, 0)}
}

// entryRecord is the record of entry i (in contest c) of group g.
func entryRecord(m *match, g *group, c, i int) records.Entry {
	p := g.part
	players, capt, vice := p.Lineup(i, nil)
	return records.Entry{ID: p.EntryID(i), Contest: p.Contest(c).ID, Match: m.id, Part: g.pid, User: p.UserID(i), Team: p.TeamID(i),
		Lineup: records.Lineup{Players: players, Captain: capt, Vice: vice}}
}

// entryPacked is entryRecord's record, packed, its lineup gathered on the stack.
func entryPacked(m *match, g *group, c, i int) records.Record {
	p := g.part
	var buf [16]int32 // a lineup: 11 players
	players, capt, vice := p.Lineup(i, buf[:0])
	return records.Entry{ID: p.EntryID(i), Contest: p.Contest(c).ID, Match: m.id, Part: g.pid, User: p.UserID(i), Team: p.TeamID(i),
		Lineup: records.Lineup{Players: players, Captain: capt, Vice: vice}}.TrustedRecord()
}

// findEntry finds an entry by id and contest in a match's shards.
func findEntry(shards []*shard, e entryRef) (*group, int, int, bool) {
	for _, sh := range shards {
		gi, ok := sh.groupOf[e.contest]
		if !ok {
			continue
		}
		g := sh.groups[gi]
		if g.part == nil {
			return nil, 0, 0, false
		}
		if c, ok := g.part.FindContest(e.contest); ok {
			if i, ok := g.part.FindEntry(c, e.id); ok {
				return g, c, i, true
			}
		}
		return nil, 0, 0, false
	}
	return nil, 0, 0, false
}

// userRefreshRange picks this cycle's range [lo, hi) of user ids whose records the TTL
// refresh rewrites, and moves the match's cursor past it: each group gives at most
// twice its share (its users x interval / refresh), so every user comes round within
// the refresh period when ids spread alike over the groups.
func (w *Worker) userRefreshRange(m *match, shards []*shard) (lo, hi int64) {
	lo, hi = m.userCursor, math.MaxInt64
	for _, sh := range shards {
		for _, g := range sh.groups {
			ids := g.users.ids
			if g.part == nil || len(ids) == 0 {
				continue
			}
			q := 2 * int((int64(len(ids))*int64(w.cfg.Interval)+int64(w.cfg.Refresh)-1)/int64(w.cfg.Refresh))
			k0, _ := slices.BinarySearch(ids, lo)
			if k0+q < len(ids) {
				hi = min(hi, ids[k0+q])
			}
		}
	}
	m.userCursor = hi
	if hi == math.MaxInt64 {
		m.userCursor = 0 // wrapped: start over next cycle
	}
	return lo, hi
}

// rangeUserRecords writes the records of every user with an id in [lo, hi), from one
// walk over each group's user index.
func rangeUserRecords(pool *scratchPool, m *match, shards []*shard, lo, hi int64, emit func([]records.Record) error) error {
	if hi <= lo {
		return nil
	}
	s := pool.get()
	defer pool.put(s)
	s.reset()
	groups, hits := s.groups[:0], s.hits[:0]
	defer func() {
		clear(groups)
		s.groups, s.hits = groups[:0], hits[:0]
	}()
	for _, sh := range shards {
		for _, g := range sh.groups {
			if g.part == nil {
				continue
			}
			ids := g.users.ids
			k0, _ := slices.BinarySearch(ids, lo)
			for k := k0; k < len(ids) && ids[k] < hi; k++ {
				hits = append(hits, userHit{ids[k], int32(len(groups)), int32(k)})
			}
			groups = append(groups, g)
		}
	}
	slices.SortFunc(hits, func(a, b userHit) int {
		if a.u != b.u {
			return cmpInt(a.u, b.u)
		}
		return int(a.g) - int(b.g)
	})
	out, us := s.recs, &s.us
	for i := 0; i < len(hits); {
		user, part := hits[i].u, groups[hits[i].g].pid
		for ; i < len(hits) && hits[i].u == user; i++ {
			g := groups[hits[i].g]
			k := hits[i].k
			for _, e := range g.users.idx[g.users.start[k]:g.users.start[k+1]] {
				us.add(g, int(e))
			}
		}
		out = append(out, us.record(m.id, user, part, &s.arena, &s.keys))
	}
	s.keys.SetShared(out)
	s.recs = out
	return emit(out)
}

// userHit is a user of a group: its id, the group's index and its position in the
// group's user index.
type userHit struct {
	u    int64
	g, k int32
}

// userRecords builds the user records of want (sorted user ids) and lists the users
// with no entry left. Few users: each is searched in every group. Many (a first or final
// cycle): one pass over every group's user index finds them all, so the cost is the
// match's entries, not users x groups. Records are encoded in parallel.
//
// have, when not nil, holds the groupPack of each of shards' groups (shardPacks): the
// records are packed from those, whatever the number of users.
func userRecords(pool *scratchPool, m *match, shards []*shard, want []int64, have map[*group]*groupPack, emit func([]records.Record) error) ([]int64, error) {
	groups, total := liveGroups(shards)
	const usersPerTask = 4096
	tasks := (len(want) + usersPerTask - 1) / usersPerTask
	missing := make([][]int64, tasks)
	var err error
	// Many users (a first or final cycle: ~a user per three entries): each group's
	// team lineups are encoded once and each entry's contest found once for all of them
	// (cycle_pack.go), and the records packed from those.
	var packs []*groupPack
	if have != nil {
		packs = make([]*groupPack, len(groups))
		for k, g := range groups {
			if packs[k] = have[g]; packs[k] == nil {
				packs[k] = newGroupPack(g.part)
			}
		}
	} else if len(want)*bulkUsers >= total {
		packs = groupPacks(groups)
	}
	if len(want)*len(groups) <= 2*total {
		var gi map[*group]int
		if packs != nil {
			gi = make(map[*group]int, len(groups))
			for k, g := range groups {
				gi[g] = k
			}
		}
		err = parallelEmit(pool, tasks, func(k int, s *taskScratch) []records.Record {
			dst := s.recs
			if packs != nil {
				up := s.userPacker()
				var part int32 // userRecord's
				if len(shards) > 0 {
					part = shards[0].part
				}
				for _, u := range want[k*usersPerTask : min(len(want), (k+1)*usersPerTask)] {
					for _, g := range groups {
						idx, ok := g.users.entries(u)
						if !ok {
							continue
						}
						for _, i := range idx {
							up.add(packs[gi[g]], int(i))
						}
					}
					if up.none() {
						missing[k] = append(missing[k], u)
						continue
					}
					up.mark(u, part)
				}
				dst = up.flush(m.id, dst)
				up.done(dst)
				return dst
			}
			us := &s.us
			for _, u := range want[k*usersPerTask : min(len(want), (k+1)*usersPerTask)] {
				if r, ok := us.userRecord(m, shards, u, &s.arena, &s.keys); ok {
					dst = append(dst, r)
				} else {
					missing[k] = append(missing[k], u)
				}
			}
			s.keys.SetShared(dst)
			return dst
		}, emit)
	} else {
		// hits[start[i]:start[i+1]] are (group, position in its user index) of want[i].
		type hit struct{ g, k int32 }
		// Each group's users (sorted) met with want (sorted) by a merge.
		start := make([]int32, len(want)+1)
		for _, g := range groups {
			eachCommon(want, g.users.ids, func(i, _ int) { start[i+1]++ })
		}
		for i := range want {
			start[i+1] += start[i]
		}
		hits := make([]hit, start[len(want)])
		fill := slices.Clone(start[:len(want)])
		for gi, g := range groups {
			eachCommon(want, g.users.ids, func(i, k int) {
				hits[fill[i]] = hit{int32(gi), int32(k)}
				fill[i]++
			})
		}
		// walk hands add each entry of task t's users (its group's index and the entry's
		// row) and then record the user and its partition; a user with none left is
		// missing.
		walk := func(t int, add func(gi, e int), record func(user int64, part int32)) {
			for i := t * usersPerTask; i < min(len(want), (t+1)*usersPerTask); i++ {
				if start[i] == start[i+1] {
					missing[t] = append(missing[t], want[i])
					continue
				}
				for _, h := range hits[start[i]:start[i+1]] {
					g := groups[h.g]
					for _, e := range g.users.idx[g.users.start[h.k]:g.users.start[h.k+1]] {
						add(int(h.g), int(e))
					}
				}
				record(want[i], groups[hits[start[i]].g].pid)
			}
		}
		err = parallelEmit(pool, tasks, func(t int, s *taskScratch) []records.Record {
			dst := s.recs
			if packs != nil {
				up := s.userPacker()
				walk(t, func(gi, e int) { up.add(packs[gi], e) }, up.mark)
				dst = up.flush(m.id, dst)
				up.done(dst)
				return dst
			}
			us := &s.us
			walk(t, func(gi, e int) { us.add(groups[gi], e) },
				func(user int64, part int32) { dst = append(dst, us.record(m.id, user, part, &s.arena, &s.keys)) })
			s.keys.SetShared(dst)
			return dst
		}, emit)
	}
	var gone []int64
	for _, us := range missing {
		gone = append(gone, us...)
	}
	return gone, err
}

// bulkUsers: userRecords packs from groupPacks when it writes at least one user per
// bulkUsers entries of the groups (a first cycle writes about one per three), where
// building them costs less than the random reads and searches it saves.
const bulkUsers = 8

// userScratch is the reusable memory in which one goroutine gathers a user's entries
// before packing the user's record.
type userScratch struct {
	ents []userEnt
	enc  records.UserEncoder
}

// add gathers entry i of group g: what its user's record lists of it.
func (s *userScratch) add(g *group, i int) {
	p := g.part
	s.ents = append(s.ents, userEnt{contest: p.Contest(contestOf(p, i)).ID, id: p.EntryID(i)})
}

// record packs the user record of the entries gathered into arena (the bytes of
// records.User{...}.TrustedRecord(), without its Key: its key is added to keys), and
// empties the scratch.
func (s *userScratch) record(match, user int64, part int32, arena *records.Arena, keys *records.Keys) records.Record {
	r := packUser(s.ents, &s.enc, match, user, part, arena, keys)
	s.ents = s.ents[:0]
	return r
}

// userRecord packs the record of a user's entries of a match in every contest group of
// shards (one partition's: the record is keyed by it); ok is false when it has none.
func (s *userScratch) userRecord(m *match, shards []*shard, user int64, arena *records.Arena, keys *records.Keys) (records.Record, bool) {
	var part int32
	if len(shards) > 0 {
		part = shards[0].part
	}
	for _, sh := range shards {
		for _, g := range sh.groups {
			if g.part == nil {
				continue
			}
			idx, ok := g.users.entries(user)
			if !ok {
				continue
			}
			for _, i := range idx {
				s.add(g, int(i))
			}
		}
	}
	if len(s.ents) == 0 {
		return records.Record{}, false
	}
	return s.record(m.id, user, part, arena, keys), true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stale lists the records of contests and pages that a group's rebuild made obsolete
// (p nil: the group lost every entry) in entries partition part.
func stale(part int32, old, p *engine.Partition) []deletion {
	var dels []deletion
	for c := range old.NumContests() {
		ct := old.Contest(c)
		now := 0
		if p != nil {
			if nc, ok := p.FindContest(ct.ID); ok {
				now = p.Contest(nc).Pages
			}
		}
		if now == 0 {
			dels = append(dels, deletion{set: records.SetContest, key: records.IDKey(ct.ID), id: ct.ID, part: part})
		}
		for pg := max(1, now); pg < ct.Pages; pg++ {
			dels = append(dels, deletion{set: records.SetPage, key: records.PageKey(ct.ID, pg), id: ct.ID, no: pg, part: part})
		}
	}
	return dels
}

// chunkRecords writes a shard's contests by size, largest first (the partition's list
// of the match's contests; readers merge the partitions' lists).
func chunkRecords(m *match, sh *shard, dels []deletion) ([]records.Record, []deletion) {
	var sizes []records.ContestSize
	for _, g := range sh.groups {
		if p := g.part; p != nil {
			for c := range p.NumContests() {
				ct := p.Contest(c)
				sizes = append(sizes, records.ContestSize{ID: ct.ID, Size: int64(ct.End - ct.Start)})
			}
		}
	}
	slices.SortFunc(sizes, func(a, b records.ContestSize) int {
		if a.Size != b.Size {
			return cmpInt(b.Size, a.Size)
		}
		return cmpInt(a.ID, b.ID)
	})
	var out []records.Record
	n := 0
	for lo := 0; lo < len(sizes); lo += records.ContestsPerChunk {
		hi := min(len(sizes), lo+records.ContestsPerChunk)
		out = append(out, records.ContestChunk{Match: m.id, Part: sh.part, Chunk: n, Total: int64(len(sizes)), Contests: sizes[lo:hi]}.Record())
		n++
	}
	if n == 0 {
		out = append(out, records.ContestChunk{Match: m.id, Part: sh.part, Chunk: 0}.Record())
		n = 1
	}
	for k := n; k < sh.chunks; k++ {
		dels = append(dels, deletion{set: records.SetContests, key: records.ChunkKey(m.id, sh.part, k), no: k, part: sh.part})
	}
	sh.chunks = n
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

// put writes records fenced with the cycle's epoch (0: a standalone node) and cycle; a
// contest or page keeps its previous version (records/versions.go).
func (w *Worker) put(ctx context.Context, ns string, recs []records.Record, cycle int64) error {
	for i := range recs {
		recs[i].Fence = records.Fence{Epoch: w.epoch, Cycle: cycle}
		recs[i].KeepPrev = records.Versioned(recs[i].Set)
	}
	for lo := 0; lo < len(recs); lo += w.cfg.WriteBatch {
		hi := min(len(recs), lo+w.cfg.WriteBatch)
		if err := w.store.Put(ctx, ns, recs[lo:hi]); err != nil {
			detachKeys(err) // a key it names may be in memory the next task reuses
			return fmt.Errorf("cannot write to the %s namespace: %w", ns, err)
		}
	}
	// Counted by runs of one set (a write holds one set or a few), not a map
	// increment per record.
	for lo := 0; lo < len(recs); {
		hi := lo + 1
		for hi < len(recs) && recs[hi].Set == recs[lo].Set {
			hi++
		}
		w.m.written.WithLabelValues(ns, recs[lo].Set).Add(float64(hi - lo))
		lo = hi
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
