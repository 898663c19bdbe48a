package worker

import (
	"fmt"
	"slices"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// partState is one lb.entries Kafka partition: the unit of state a worker gains (replays
// from its start) and drops (frees). Its entries live in shards, one per match, each a
// set of contest groups laid out as engine partitions. Fields are the ingest side (under
// Worker.mu) except each shard's groups (cycle side).
type partState struct {
	id       int32
	end      int64 // the partition's end offset found when it was assigned
	next     int64 // the next offset to read
	caughtUp bool  // next reached end: it may publish and join cycles
	// from and last: the offsets of the first and the last entry event applied in the
	// partition's replay (from -1: none yet), for guessing what is left of it (logWant,
	// teamWant).
	from, last int64
	// writing: this worker writes the partition (standalone: always; in a cluster, once
	// the coordinator made it the writer). A partition loading for a hand-over is kept
	// up to date but takes no part in cycles until then.
	writing bool
	shards  map[int64]*shard
	// entryContest finds an entry's contest, so an entry that moves between contests
	// (or matches) is refused: a flat table (one probe per event of a replay, on a
	// table of hundreds of thousands), sized for the partition's events at its first
	// record. contestMatch finds a contest's match: a flat table too (a log in join
	// order, contests interleaved, misses lastContest and probes it on almost every
	// event; at 1M events the Go map's probes took 5% of the replay's Apply, the
	// table's half that).
	entryContest table
	contestMatch table
	// lastContest and lastContestM: the contest of the partition's last entry event
	// applied, and its match (a log written in contest order repeats it).
	lastContest  int64
	lastContestM *match
	// lastShard is the shard the partition's last entry event went to (ingest side).
	// A shard leaves the partition only when its match is pruned (final: its events are
	// refused before) or the partition is dropped (this state with it).
	lastShard *shard
}

// caughtUpNow marks the partition caught up, and fits its entry table to the entries
// it holds.
func (ps *partState) caughtUpNow() {
	ps.caughtUp = true
	ps.entryContest.fit()
}

// contestOf returns the match of contest c, as contestMatch holds it.
func (ps *partState) contestOf(c int64) (int64, bool) {
	// A pruned match's contests left contestMatch (prune).
	if m := ps.lastContestM; m != nil && ps.lastContest == c && !m.pruned {
		return m.id, true
	}
	return ps.contestMatch.get(c)
}

func newPartState(id int32, end int64) *partState {
	return &partState{id: id, end: end, from: -1, caughtUp: end <= 0, shards: map[int64]*shard{}}
}

// maxReserve caps the entries a partition's table is sized for before they come (at
// most ~90 MB of table).
const maxReserve = 1 << 22

// reserveFor sizes the partition's entry table for the events from offset at to its end
// offset, when it holds none yet: a replay then never grows it. The events the log
// retains may be many more than the entries held (upserts of one entry, withdrawals,
// matches completed): the table is fitted to what it holds when the partition catches up
// (caughtUpNow).
func (ps *partState) reserveFor(at int64) {
	if ps.caughtUp {
		return
	}
	if ps.from < 0 {
		ps.from = at
	}
	if ps.entryContest.len() == 0 && ps.end > at {
		ps.entryContest.reserve(int(min(ps.end-at, maxReserve)))
	}
}

// logWant is the room a replaying partition's shard log is grown to when it is full,
// at the event of offset at (0: grow as usual): its events so far and its share of the
// events read since the replay began, that share of the events left to the end offset
// and 1/16 more. A partition of one match's events thus grows each log once to what it
// will hold, where doubling copied it about once over and left up to half of it unused
// (changes.grow). The room the partition's other logs hold unused counts against the
// events left, so that matches logged one after another never each hold room for all
// the rest; a guess short of what comes is grown again by doubling.
func (ps *partState) logWant(sh *shard, at int64) int {
	n := sh.pending.len()
	seen, left := at-ps.from, ps.end-at
	if ps.caughtUp || ps.from < 0 || n == 0 || seen <= 0 || left <= 0 {
		return 0
	}
	room := left
	for _, o := range ps.shards {
		if o != sh {
			room -= int64(cap(o.pending.entry) - o.pending.len())
		}
	}
	guess := float64(left) * float64(n) / float64(seen)
	want := min(int64(guess+guess/16)+1, room, maxReserve)
	if want <= 0 {
		return 0
	}
	return n + int(want)
}

// teamWant is the number of keys a replaying match's team table is reserved for when
// it is full (0: grow as usual): its teams per entry so far times the match's events
// left in its replaying partitions (each partition's share of events that went to the
// match so far, times its events left), and 1/16 more; at most 4 times the teams it
// holds, so a guess thrown off (a match whose events come after another's) costs at
// most that until the replay ends and the table is fitted (fitTeams). A replay of one
// match grows the table to its size in a few steps where growing by half each time moved
// every key about three times over.
func (w *Worker) teamWant(m *match) int {
	n := m.teamPrint.len()
	if n == 0 || m.count <= 0 {
		return 0
	}
	var left float64
	for p, sh := range m.shards {
		ps := w.parts[p]
		if ps == nil || ps.caughtUp || ps.from < 0 || ps.last < ps.from {
			continue
		}
		seen := float64(ps.last + 1 - ps.from)
		left += float64(ps.end-ps.last-1) * float64(sh.pending.len()) / seen
	}
	if left <= 0 {
		return 0
	}
	guess := left * float64(n) / float64(m.count)
	return n + int(min(guess+guess/16+1, float64(3*n), maxReserve))
}

// fitTeams fits the team tables of every match once no partition replays: teamWant's
// guesses cost memory only while the replay runs.
func (w *Worker) fitTeams() {
	for _, m := range w.matches {
		if m.teamPrint != nil {
			m.teamPrint.fit()
		}
	}
}

// shard is one match's entries in one partition. pending (ingest side) holds the entry
// events not yet folded in; groups (cycle side) are the contest groups.
type shard struct {
	part    int32
	match   int64
	pending changes
	// cycle side
	groups  []*group
	groupOf map[int64]int32 // contest id -> index in groups
	// resumed: the partition's record of the match (SetMatchPart) was read back from the
	// store (its points log merged into the match's, its chunk count kept) before the
	// shard's first write.
	resumed bool
	chunks  int // contests chunk records of the shard written
	// entries and contests ranked in the shard's last cycle.
	entries, contests int
	// wrote is the last cycle whose writes of this shard all succeeded (0: none yet): a
	// partition's share of a match in a report (the coordinator's visible cycle). It is
	// the shard's own: a shard gained later (a hand-over) has not been written at the
	// match's earlier cycles.
	wrote, wroteAt int64
}

// group is a run of contests of one shard ranked as one engine partition: contests are
// packed into groups of up to Config.GroupEntries entries (a larger contest is a group
// alone), so that a change to one contest rebuilds its group, not its match.
type group struct {
	pid     int32             // the entries partition of its shard
	part    *engine.Partition // nil once every entry is gone
	users   userIndex
	n       int  // entries
	rebuilt bool // built this cycle: write every record of it
	refresh struct{ contest, entry int }
}

// changes is a columnar log of entry events in arrival order (upserts and withdrawals)
// not yet folded into contest groups. Each upsert keeps its lineup as read (a later
// edit of its team never rewrites it); an upsert of the same team and lineup as the one
// before it shares that one's.
type changes struct {
	entry, contest, user, team []int64
	gone                       []bool
	lineup                     []uint32 // index into the lineups below (upserts)
	lCapt, lVice               []int32
	// lPlayers holds size players per lineup, lineupChunk lineups per chunk: a replay
	// appends hundreds of thousands, and one slice grown by append copied them over
	// and over (a third of the replay's Apply).
	lPlayers [][]int32
	size     int // lineupSize
	// lastTeam: the team of the last lineup appended (0 with none yet).
	lastTeam int64
}

// lineupChunk is the number of lineups in a chunk of changes.lPlayers.
const lineupChunk = 1 << 12

func (c *changes) len() int { return len(c.entry) }

func (c *changes) add(e *kafkasource.EntryEvent) {
	if c.full() {
		c.grow(0)
	}
	c.entry = append(c.entry, e.EntryID)
	c.contest = append(c.contest, e.ContestID)
	c.user = append(c.user, e.UserID)
	c.team = append(c.team, e.TeamID)
	c.gone = append(c.gone, e.Withdrawn)
	if e.Withdrawn {
		c.lineup = append(c.lineup, 0)
		return
	}
	if len(c.lCapt) == 0 {
		c.size = len(e.Players)
	}
	k := uint32(len(c.lCapt))
	if k > 0 && c.lastTeam == e.TeamID && c.same(k-1, e.Players, e.Captain, e.ViceCaptain) {
		k--
	} else {
		if k%lineupChunk == 0 {
			var chunk []int32 // the first grows as it fills: a live cycle's log is small
			if k > 0 {
				chunk = make([]int32, 0, lineupChunk*c.size)
			}
			c.lPlayers = append(c.lPlayers, chunk)
		}
		last := len(c.lPlayers) - 1
		c.lPlayers[last] = append(c.lPlayers[last], e.Players...)
		c.lCapt = append(c.lCapt, e.Captain)
		c.lVice = append(c.lVice, e.ViceCaptain)
		c.lastTeam = e.TeamID
	}
	c.lineup = append(c.lineup, k)
}

// full reports whether the log's columns have no room for one more event.
func (c *changes) full() bool { return len(c.entry) == cap(c.entry) }

// grow makes room in the log's columns for want events in all, at least doubling it
// (and 64 events). append alone grows a large slice by a quarter, so a replay's log of
// hundreds of thousands of events was copied about four times over, column by column
// (a quarter of BenchmarkReplay's Apply CPU was growslice's copying); doubling copies
// it about once, and a replay's guess of its size (partState.logWant) not at all. The
// room left over is freed with the log when a cycle folds it.
func (c *changes) grow(want int) {
	n := max(64, 2*cap(c.entry), want)
	c.entry = slices.Grow(c.entry, n-len(c.entry))
	c.contest = slices.Grow(c.contest, n-len(c.contest))
	c.user = slices.Grow(c.user, n-len(c.user))
	c.team = slices.Grow(c.team, n-len(c.team))
	c.gone = slices.Grow(c.gone, n-len(c.gone))
	c.lineup = slices.Grow(c.lineup, n-len(c.lineup))
}

// lineupOf returns the lineup of upsert i as it was read.
func (c *changes) lineupOf(i int) (players []int32, capt, vice int32) {
	k := c.lineup[i]
	return c.players(k), c.lCapt[k], c.lVice[k]
}

// event returns change i as an event (to re-log it).
func (c *changes) event(i int) kafkasource.EntryEvent {
	e := kafkasource.EntryEvent{EntryID: c.entry[i], ContestID: c.contest[i], UserID: c.user[i], TeamID: c.team[i], Withdrawn: c.gone[i]}
	if !e.Withdrawn {
		e.Players, e.Captain, e.ViceCaptain = c.lineupOf(i)
	}
	return e
}

func (c *changes) same(k uint32, players []int32, capt, vice int32) bool {
	return c.lCapt[k] == capt && c.lVice[k] == vice && slices.Equal(c.players(k), players)
}

func (c *changes) players(k uint32) []int32 {
	i := int(k%lineupChunk) * c.size
	return c.lPlayers[k/lineupChunk][i : i+c.size : i+c.size]
}

// match is one match's state across shards. Fields above the line are the ingest side
// (under Worker.mu); below it the cycle side (touched only by Cycle, under cycleMu).
type match struct {
	id      int64
	state   string
	stateTS int64 // ts of the lifecycle event that set state (0: none yet)
	// Points: seen is the newest total read per player (ts, then offset, decides);
	// held are the totals read but not yet in a cycle's snapshot; points are those the
	// last cycle ranked with (moved from held by Cycle, up to its tick's offsets).
	seen   map[int32]pointVal
	held   []heldPoint
	points map[int32]int64
	// players are the distinct players of the match's lineups (at most
	// engine.MaxPlayersPerMatch), also in playerSet (the same set, cheaper to probe);
	// lineupSize is that of its first entry.
	players    map[int32]struct{}
	playerSet  playerSet
	lineupSize int
	// teamPrint: team -> fingerprint of its lineup (lineupPrint, as an int64); nil once
	// the match is pruned.
	teamPrint *table
	edited    map[int64]records.Lineup // teams whose lineup changed after it was first seen
	editedNow map[int64]struct{}       // teams edited since the last fold: rebuild their groups
	shards    map[int32]*shard         // by partition
	count     int                      // entries held (upserted and not withdrawn)
	final     bool                     // final standings written (set by Cycle, under Worker.mu)

	// ---- cycle side
	resumed  bool
	stored   bool // resume found the match's live commit: the store holds its records (a restart on its data dir)
	pruned   bool
	cycle    int64
	asOf     int64
	log      records.PointsLog
	chunksAt time.Time // when the contests chunks were last written
	entries  int       // entries ranked in the last cycle
	contests int       // contests ranked in the last cycle
	// userCursor is where the next cycle's TTL refresh of user records starts.
	userCursor int64
	// lastPoints are the points of the last cycle: a group rebuilt under the same points
	// rewrites only the contests its changes landed in.
	lastPoints map[int32]int64
	// deferred are the contest and page deletions of the last written cycle, done at the
	// next one (readers of the committed cycle may still show those records).
	deferred []deletion
	// unwritten is what failed cycles did not write (nil: every write of the last
	// ranking cycle succeeded). While set, a cycle rewrites every contest and page of
	// the match, its contest lists and what unwritten holds; it is cleared only by a
	// cycle whose every write succeeded.
	unwritten *unwritten
}

// unwritten is what a match's failed cycles were to write and delete, kept until a
// cycle's writes all succeed. Records are rebuilt from the state of the cycle that
// writes them, never replayed: an entry or user is rewritten with its current content
// (or deleted if gone), and a deletion is dropped if the record exists again.
type unwritten struct {
	entries []entryRef            // entry records to write
	whole   []*group              // groups every entry record of which is to be written
	users   map[userPart]struct{} // user records to write (or delete, if the user has no entry left in the partition)
	dels    []deletion            // contest, page and entry records to delete
}

// userPart is a user's record of a match in one entries partition.
type userPart struct {
	user int64
	part int32
}

type pointVal struct{ centi, ts, off int64 }

type heldPoint struct {
	part int32
	off  int64
	e    kafkasource.PointsEvent
}

func newMatch(id int64) *match {
	return &match{id: id, state: records.StateScheduled, seen: map[int32]pointVal{}, points: map[int32]int64{}, players: map[int32]struct{}{},
		teamPrint: &table{}, edited: map[int64]records.Lineup{}, editedNow: map[int64]struct{}{}, shards: map[int32]*shard{}}
}

// lineupPrint fingerprints a lineup as a set, with its captain and vice-captain: a sum
// of mixed player ids (order does not matter), the captain and vice-captain mixed apart.
func lineupPrint(players []int32, capt, vice int32) uint64 {
	h := uint64(len(players))
	for _, p := range players {
		h += mix64(uint64(uint32(p)))
	}
	return h ^ mix64(uint64(uint32(capt))^0x9E3779B97F4A7C15)*3 ^ mix64(uint64(uint32(vice))^0xC2B2AE3D27D4EB4F)*5
}

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xFF51AFD7ED558CCD
	x ^= x >> 33
	x *= 0xC4CEB9FE1A85EC53
	return x ^ x>>33
}

func rejectf(code, format string, args ...any) *kafkasource.RejectError {
	return &kafkasource.RejectError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Reason codes of the events the worker's state refuses (docs/EVENTS.md).
const (
	ReasonMatchMove      = "match_move"       // an entry moved to another match
	ReasonLineupSize     = "lineup_size"      // a lineup's size differs from its match's
	ReasonTooManyPlayers = "too_many_players" // the entry would give its match more than 256 players
	ReasonAfterCompleted = "after_completed"  // an event later than its match's completion
	ReasonStale          = "stale_event"      // older than the event already applied (ts)
	ReasonBackwards      = "lifecycle_backwards"
	ReasonMatchFull      = "match_full"    // the match holds Config.MaxMatchEntries entries
	ReasonUnknownMatch   = "unknown_match" // points for a match with no lifecycle or entries, over the cap
	ReasonPointsCap      = "points_cap"    // more players with points than a match may hold
)

// applyEntry applies one entry event of partition ps (under Worker.mu).
func (w *Worker) applyEntry(ps *partState, r *kafkasource.EntryRecord) *kafkasource.RejectError {
	// A replay applies millions of these: each map is read once and written only when
	// its value changes (the lookups were ~2/3 of the replay's Apply).
	e := &r.Event
	ps.last = r.Offset
	mid, contestKnown := ps.contestOf(e.ContestID)
	if contestKnown && mid != e.MatchID {
		return rejectf(ReasonMatchMove, "contest %d belongs to match %d, not %d", e.ContestID, mid, e.MatchID)
	}
	c, known, entryAt := ps.entryContest.find(e.EntryID) // entryAt: for its put below
	if known && c != e.ContestID {
		if cm, _ := ps.contestMatch.get(c); cm != e.MatchID {
			return rejectf(ReasonMatchMove, "entry %d belongs to match %d, not %d", e.EntryID, cm, e.MatchID)
		}
		return rejectf(kafkasource.ReasonContestMove, "entry %d belongs to contest %d, not %d", e.EntryID, c, e.ContestID)
	}
	// The match of the partition's last event is usually this one's: no map probe. A
	// match id names one match for the worker's life (pruned, it stays in matches).
	m := ps.lastContestM
	if m == nil || m.id != e.MatchID {
		m = w.matches[e.MatchID]
	}
	if m != nil && m.final {
		// The final standings are written: what comes later is refused, once. A
		// partition replaying reads again what was judged before: ignored.
		if !ps.caughtUp {
			return nil
		}
		return rejectf(ReasonAfterCompleted, "match %d is completed and its final standings are written; entry %d came later", e.MatchID, e.EntryID)
	}
	var (
		fp       uint64
		oldFP    uint64
		teamSeen bool
		teamAt   = -1 // the team's slot in teamPrint (find), while the table is unchanged
		// newPlayers counts the lineup's players the match has not seen (all of them
		// for a new match); zero when the team's known lineup came again.
		newPlayers int
	)
	if e.Withdrawn {
		if !known {
			return nil // withdrawing an entry never seen: nothing to do
		}
	} else {
		if m == nil || m.lineupSize == 0 {
			// first entry: fine
		} else if len(e.Players) != m.lineupSize {
			return rejectf(ReasonLineupSize, "entry %d has %d players; match %d's lineups have %d", e.EntryID, len(e.Players), e.MatchID, m.lineupSize)
		}
		if !known && m != nil && m.count >= w.cfg.MaxMatchEntries {
			return rejectf(ReasonMatchFull, "match %d holds %d entries, the most one match may hold (--max-match-entries)", e.MatchID, w.cfg.MaxMatchEntries)
		}
		fp = lineupPrint(e.Players, e.Captain, e.ViceCaptain)
		if m == nil {
			newPlayers = len(e.Players)
		} else {
			var v int64
			if m.teamPrint != nil {
				v, teamSeen, teamAt = m.teamPrint.find(e.TeamID)
			}
			oldFP = uint64(v)
			if !teamSeen || oldFP != fp {
				for _, p := range e.Players {
					if !m.playerSet.has(p) {
						newPlayers++
					}
				}
			}
		}
		have := 0
		if m != nil {
			have = len(m.players)
		}
		if have+newPlayers > engine.MaxPlayersPerMatch {
			return rejectf(ReasonTooManyPlayers, "entry %d would give match %d %d distinct players; at most %d", e.EntryID, e.MatchID, have+newPlayers, engine.MaxPlayersPerMatch)
		}
	}
	if m == nil {
		m = w.createMatch(e.MatchID)
	}
	sh := ps.lastShard // the shard of the partition's last event: usually this one's
	if sh == nil || sh.match != m.id {
		sh = m.shards[ps.id]
		ps.lastShard = sh
	}
	if sh == nil {
		sh = &shard{part: ps.id, match: m.id, groupOf: map[int64]int32{}}
		m.shards[ps.id] = sh
		ps.shards[m.id] = sh
		ps.lastShard = sh
	}
	if !contestKnown {
		ps.contestMatch.put(e.ContestID, e.MatchID)
	}
	ps.lastContest, ps.lastContestM = e.ContestID, m
	if !ps.caughtUp && sh.pending.full() {
		sh.pending.grow(ps.logWant(sh, r.Offset))
	}
	sh.pending.add(e)
	if e.Withdrawn {
		ps.entryContest.del(e.EntryID)
		m.count--
		return nil
	}
	if !known {
		m.count++
		ps.entryContest.putAt(entryAt, e.EntryID, e.ContestID)
	}
	if m.lineupSize == 0 {
		m.lineupSize = len(e.Players)
	}
	if newPlayers > 0 {
		for _, p := range e.Players {
			m.players[p] = struct{}{}
			m.playerSet.add(p)
		}
	}
	if teamSeen && oldFP != fp {
		// A team's lineup changed (the user edited it): its latest lineup holds for
		// every entry of the team, in every partition.
		m.edited[e.TeamID] = records.Lineup{Players: slices.Clone(e.Players), Captain: e.Captain, Vice: e.ViceCaptain}
		m.editedNow[e.TeamID] = struct{}{}
	}
	if (!teamSeen || oldFP != fp) && m.teamPrint != nil {
		if !ps.caughtUp && m.teamPrint.full() {
			if want := w.teamWant(m); want > 0 {
				// Half full when the guess is right: a new team probes a table
				// three quarters full for ~8 slots.
				m.teamPrint.reserve(want + want/2)
				teamAt = -1 // moved
			}
		}
		m.teamPrint.putAt(teamAt, e.TeamID, int64(fp))
	}
	return nil
}

func (w *Worker) createMatch(id int64) *match {
	m := newMatch(id)
	w.matches[id] = m
	if o, ok := w.orphans[id]; ok {
		for _, h := range o {
			m.hold(h, true) // in offset order: a new match has nothing to refuse them for
		}
		delete(w.orphans, id)
	}
	return m
}

// applyPoints checks one points total and holds it for the next cycle whose snapshot
// includes its offset (under Worker.mu).
func (w *Worker) applyPoints(h heldPoint) *kafkasource.RejectError {
	e := h.e
	m := w.matches[e.MatchID]
	if m == nil {
		o := w.orphans[e.MatchID]
		if o == nil && len(w.orphans) >= w.cfg.MaxPendingMatches {
			return rejectf(ReasonUnknownMatch, "points for match %d, which has no lifecycle event or entry, while %d such matches are held already", e.MatchID, len(w.orphans))
		}
		if len(o) >= 4*engine.MaxPlayersPerMatch {
			return rejectf(ReasonPointsCap, "%d points events held already for match %d, which has no lifecycle event or entry", len(o), e.MatchID)
		}
		w.orphans[e.MatchID] = append(o, h)
		return nil
	}
	return m.hold(h, !w.topicsCaughtUp())
}

// hold checks a total and keeps it for the next cycle; replayed says the points topic
// is still replaying what was read before a restart.
func (m *match) hold(h heldPoint, replayed bool) *kafkasource.RejectError {
	e := h.e
	if m.final {
		if !replayed {
			return rejectf(ReasonAfterCompleted, "match %d is completed and its final standings are written; points of player %d came later", e.MatchID, e.PlayerID)
		}
		return nil
	}
	old, ok := m.seen[e.PlayerID]
	if ok && (e.TS < old.ts || e.TS == old.ts && h.off < old.off) {
		return rejectf(ReasonStale, "points of player %d in match %d with ts %d; ts %d was read already", e.PlayerID, e.MatchID, e.TS, old.ts)
	}
	if !ok && len(m.seen) >= 4*engine.MaxPlayersPerMatch {
		return rejectf(ReasonPointsCap, "match %d has points for %d players already", e.MatchID, len(m.seen))
	}
	m.seen[e.PlayerID] = pointVal{centi: e.Centi, ts: e.TS, off: h.off}
	m.held = append(m.held, h)
	return nil
}

// takePoints moves the held totals inside snapshot (partition -> offset; nil: all) into
// the points a cycle ranks with (under Worker.mu).
func (m *match) takePoints(snapshot map[int32]int64) {
	k := 0
	for _, h := range m.held {
		if snapshot != nil {
			if end, ok := snapshot[h.part]; !ok || h.off >= end {
				m.held[k] = h
				k++
				continue
			}
		}
		m.points[h.e.PlayerID] = h.e.Centi
	}
	clear(m.held[k:])
	m.held = m.held[:k]
}

var stateOrder = map[string]int{records.StateScheduled: 0, records.StateLive: 1, records.StateCompleted: 2}

// applyState applies one lifecycle event (under Worker.mu).
func (w *Worker) applyState(e kafkasource.MatchEvent) *kafkasource.RejectError {
	m := w.matches[e.MatchID]
	if m == nil {
		m = w.createMatch(e.MatchID)
	}
	s := string(e.State)
	switch {
	case m.stateTS != 0 && e.TS < m.stateTS:
		return rejectf(ReasonStale, "match %d: %s at ts %d is older than %s at ts %d", e.MatchID, s, e.TS, m.state, m.stateTS)
	case stateOrder[s] < stateOrder[m.state]:
		return rejectf(ReasonBackwards, "match %d is %s; it cannot go back to %s", e.MatchID, m.state, s)
	}
	m.state, m.stateTS = s, e.TS
	return nil
}

// userIndex maps users to their entries in a partition (CSR layout).
type userIndex struct {
	ids   []int64  // sorted user ids
	start []uint32 // entries of ids[k]: idx[start[k]:start[k+1]]
	idx   []uint32 // entry numbers of the partition
}

func (u userIndex) entries(user int64) ([]uint32, bool) {
	k, ok := slices.BinarySearch(u.ids, user)
	if !ok {
		return nil, false
	}
	return u.idx[u.start[k]:u.start[k+1]], true
}
