package worker

import (
	"strings"
	"sync"

	"github.com/fantasy/leaderboard/records"
)

// The cycles' reusable memory. A moved cycle (a points change) rewrites every page and
// contest record of its match, ~100k records and ~70 MB of bytes at 5.6M entries; packed
// into fresh memory each cycle, that is what sets the Go heap's growth between
// collections, and so the node's resident memory and the collector's CPU. The worker
// packs them instead into memory it keeps across cycles: records' bytes in arenas
// (records.Arena, Reset), keys in one buffer (records.Keys.SetShared), record slices and
// encoders reused, each handed out again only once the Put of the records packed in it
// returned. That rests on the Store contract (Store's doc): Put keeps neither a record's
// Packed bytes nor its Key after it returns. The worker keeps no record either: a failed
// cycle keeps what to rebuild (unwritten: entries by reference, groups, users), never
// records (TestMovedCycleAllocs; TestFencedKeyOutlivesReuse: a key a store's error names).

// cycleMem is a worker's reusable cycle memory, used under cycleMu.
type cycleMem struct {
	tasks scratchPool
	out   batchOut
}

// taskScratch is the memory one goroutine of parallelEmit packs a task's records into:
// reset, and so overwritten, only after the emit of that task's records returned.
type taskScratch struct {
	recs  []records.Record
	arena records.Arena // the records' bytes
	keys  records.Keys  // their keys
	enc   rowEncoders   // writeRanked's
	users userPacker    // userRecords'
	us    userScratch   // userRecords' and rangeUserRecords'
	lin   teamLineups   // wholeEntryRecords'
	// rangeUserRecords'
	groups []*group
	hits   []userHit
}

// reset readies s for a task: the records packed before are overwritten from now on.
func (s *taskScratch) reset() {
	clear(s.recs) // the records of a task packed without the arena drop their bytes now
	s.recs = s.recs[:0]
	s.arena.Reset()
}

// Above these, a scratch's arena, team lineups or record slice (a first cycle's: a whole
// group's entry records, 65536 by default, ~3.6 MB) is dropped when its parallelEmit
// ends, not kept for cycles that need far less (a moved cycle's tasks: 1024 page or
// contest records, ~2.3 MB): a worker keeps at most ~GOMAXPROCS x 4 MB of arenas.
const (
	scratchKeepBytes   = 4 << 20
	scratchKeepRecords = 8192
)

// scratchPool keeps the taskScratch of the cycles' parallelEmit goroutines between
// cycles. A nil pool hands out fresh ones.
type scratchPool struct {
	mu   sync.Mutex
	free []*taskScratch
}

func (p *scratchPool) get() *taskScratch {
	if p == nil {
		return new(taskScratch)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	return new(taskScratch)
}

func (p *scratchPool) put(s *taskScratch) {
	if p == nil {
		return
	}
	s.reset()
	// What points into memory not the scratch's (a cycle's groups) goes. (A user's
	// entries gathered, userEnt, hold no pointer.)
	clear(s.users.refs[:cap(s.users.refs)])
	clear(s.groups[:cap(s.groups)])
	if cap(s.lin.b) > scratchKeepBytes {
		s.lin = teamLineups{}
	}
	if s.arena.Size() > scratchKeepBytes {
		s.arena = records.Arena{}
	}
	if s.keys.Size() > scratchKeepBytes {
		s.keys = records.Keys{} // s.users.keys points at the field: it follows
	}
	if cap(s.users.ents) > scratchKeepRecords {
		s.users.ents = nil
	}
	// A first cycle's task notes every entry of its 4096 users (userPacker.flush).
	if cap(s.users.refs) > scratchKeepRecords {
		s.users.refs = nil
	}
	if cap(s.users.marks) > scratchKeepRecords {
		s.users.marks = nil
	}
	if cap(s.recs) > scratchKeepRecords {
		s.recs = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, s)
}

// detachKeys copies the record keys an error of the store's Put holds (a
// *records.FencedError names the first refused record): they may point into a task's
// reused key buffer (records.Keys.SetShared), which the next task overwrites, and the
// error outlives it.
func detachKeys(err error) {
	if err == nil {
		return
	}
	if fe, ok := err.(*records.FencedError); ok {
		fe.Key = strings.Clone(fe.Key)
		fe.Set = strings.Clone(fe.Set)
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		detachKeys(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			detachKeys(e)
		}
	}
}
