package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

var errStoreDown = errors.New("store down (test outage)")

// failingStore is a real embedded store behind an outage switch: once fail is called,
// Put and Delete succeed `after` more times, then fail (writing nothing) until heal is
// called. What was written and not deleted is mirrored by namespace, set and key, so
// that two stores can be compared record by record.
type failingStore struct {
	*rankstore.Store
	mu     sync.Mutex
	armed  bool
	after  int
	calls  int // Put and Delete calls
	mirror map[string]records.Bins
}

func (s *failingStore) fail(after int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed, s.after = true, after
}

func (s *failingStore) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
}

func (s *failingStore) down() bool {
	s.calls++
	if !s.armed {
		return false
	}
	if s.after == 0 {
		return true
	}
	s.after--
	return false
}

func (s *failingStore) Put(ctx context.Context, ns string, recs []records.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down() {
		return errStoreDown
	}
	if err := s.Store.Put(ctx, ns, recs); err != nil {
		return err
	}
	for _, r := range recs {
		b, err := r.BinMap() // a copy: the worker builds hot records packed
		if err != nil {
			return err
		}
		s.mirror[ns+" "+r.Set+" "+r.Key] = maps.Clone(b)
	}
	return nil
}

func (s *failingStore) Delete(ctx context.Context, ns, set string, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down() {
		return errStoreDown
	}
	if err := s.Store.Delete(ctx, ns, set, keys); err != nil {
		return err
	}
	for _, k := range keys {
		delete(s.mirror, ns+" "+set+" "+k)
	}
	return nil
}

// newFailingFixture is newFixture's worker over a failingStore.
func newFailingFixture(t *testing.T) (*fixture, *failingStore) {
	f := newFixture(t, nil)
	fs := &failingStore{Store: f.store, mirror: map[string]records.Bins{}}
	f.reg = prometheus.NewRegistry()
	w, err := New(f.w.cfg, f.src, fs, slog.New(slog.DiscardHandler), f.reg, func() time.Time { return f.clock })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	f.w = w
	return f, fs
}

func (f *fixture) tryCycle() error {
	f.clock = f.clock.Add(time.Second)
	f.tick++
	return f.w.Cycle(context.Background(), Tick{Cycle: f.tick, At: f.clock})
}

// sameRecords fails unless both stores hold the same records with the same content,
// but for cycle numbers and times (a worker that rewrites a contest after a failed
// cycle stamps it with the newer cycle, one that never failed left it as it was; a
// retried final cycle has a newer number) and the order of a lineup's players (a
// group's rebuild may list them in another order).
func sameRecords(t *testing.T, when string, want, got *failingStore) {
	t.Helper()
	norm := func(key string, b records.Bins) any {
		var ns, set string
		fmt.Sscan(key, &ns, &set)
		switch set {
		case records.SetEntry:
			e, err := records.EntryFrom(b)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			slices.Sort(e.Players)
			return e
		case records.SetUser:
			u, err := records.UserFrom(b)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			for i := range u.Entries {
				slices.Sort(u.Entries[i].Players)
			}
			return u
		}
		b = maps.Clone(b)
		delete(b, "cycle")
		delete(b, "as_of")
		return b
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want.mirror)) {
		g, ok := got.mirror[k]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+k)
		case !reflect.DeepEqual(norm(k, want.mirror[k]), norm(k, g)):
			diffs = append(diffs, fmt.Sprintf("stale %s: got %v, want %v", k, g, want.mirror[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got.mirror)) {
		if _, ok := want.mirror[k]; !ok {
			diffs = append(diffs, "not deleted "+k)
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 8 {
			diffs = append(diffs[:8], fmt.Sprintf("and %d more", len(diffs)-8))
		}
		t.Fatalf("%s: the store differs from a never-failed worker's:\n%s", when, joinLines(diffs))
	}
}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

func withdrawals(es []engine.Entry) kafkasource.Batch {
	var b kafkasource.Batch
	for _, e := range es {
		b.Entries = append(b.Entries, kafkasource.EntryRecord{Event: kafkasource.EntryEvent{MatchID: 1, ContestID: e.ContestID, EntryID: e.EntryID, Withdrawn: true}})
	}
	return b
}

// outageScenario is a live match through four cycles, then its completion, on two
// workers fed the same events: ok never fails; bad's store fails mid-cycle as failAt
// says (per cycle number, after that many store calls). After every cycle whose writes
// succeed on bad, both stores must hold the same records, and bad's must match the
// reference ranks.
type outageScenario struct {
	ok, bad     *fixture
	okS, badS   *failingStore
	entries     []engine.Entry
	pts         map[int32]float64
	calls       map[int64]int // store calls per cycle of ok
	failAt      map[int64]int
	failedFinal bool
}

func newOutageScenario(t *testing.T, failAt map[int64]int) *outageScenario {
	s := &outageScenario{calls: map[int64]int{}, failAt: failAt}
	s.ok, s.okS = newFailingFixture(t)
	s.bad, s.badS = newFailingFixture(t)
	s.entries, s.pts = reference.Random(17, reference.Shape{Contests: []int{1, 2, 10, 11, 35, 3, 60, 25}, Players: 22, LineupSize: 11, Teams: 40, PointValues: 30, Negative: true})
	return s
}

func (s *outageScenario) apply(b kafkasource.Batch) {
	s.ok.apply(b)
	s.bad.apply(b)
}

// cycle runs the next cycle on both workers; it reports whether bad's succeeded.
func (s *outageScenario) cycle(t *testing.T, ns string) bool {
	t.Helper()
	n := s.ok.tick + 1
	before := s.okS.calls
	if err := s.ok.tryCycle(); err != nil {
		t.Fatalf("cycle %d of the never-failing worker: %v", n, err)
	}
	s.calls[n] = s.okS.calls - before
	k, fails := s.failAt[n]
	if fails {
		s.badS.fail(k)
	}
	err := s.bad.tryCycle()
	s.badS.heal()
	switch {
	case fails && errors.Is(err, errStoreDown):
		return false
	case err != nil:
		t.Fatalf("cycle %d: %v", n, err)
	case fails && k < s.calls[n]:
		t.Fatalf("cycle %d did not fail after %d of its %d store calls", n, k, s.calls[n])
	}
	sameRecords(t, fmt.Sprintf("after cycle %d", n), s.okS, s.badS)
	s.bad.check(ns, s.entries, s.pts)
	mb, _, _ := s.badS.Get(context.Background(), ns, records.SetMatch, "1")
	if m, _ := records.MatchFrom(mb); m.Cycle != n {
		t.Fatalf("after cycle %d the match record says cycle %d", n, m.Cycle)
	}
	return true
}

func (s *outageScenario) run(t *testing.T) {
	t.Helper()
	byContest := map[int][]engine.Entry{} // by contest size
	for _, e := range s.entries {
		n := 0
		for _, o := range s.entries {
			if o.ContestID == e.ContestID {
				n++
			}
		}
		byContest[n] = append(byContest[n], e)
	}
	drop := func(gone []engine.Entry) {
		s.apply(withdrawals(gone))
		s.entries = slices.DeleteFunc(s.entries, func(e engine.Entry) bool {
			return slices.ContainsFunc(gone, func(g engine.Entry) bool { return g.EntryID == e.EntryID })
		})
	}
	add := func(es []engine.Entry) {
		s.apply(entryEvents(1, es))
		s.entries = append(s.entries, es...)
	}
	move := func(d float64, players ...int32) {
		s.pts = maps.Clone(s.pts)
		for _, p := range players {
			s.pts[p] += d
		}
		s.apply(pointsEvents(1, s.pts))
	}

	s.apply(entryEvents(1, s.entries))
	s.apply(state(1, "live"))
	s.apply(pointsEvents(1, s.pts))
	s.cycle(t, records.Live)

	// Cycle 2: points move; a contest loses its only entry, another its last page, a
	// third a few entries; a late entry opens a new contest for a new user.
	single, big, ten := byContest[1][0], byContest[60][48:], byContest[10][7:]
	late := s.entries[0]
	late.EntryID, late.ContestID, late.UserID = 88_000_001, 88_000_000, 88_000_002
	move(3.5, 1, 2, 3)
	drop(append(append([]engine.Entry{single}, big...), ten...))
	add([]engine.Entry{late})
	s.cycle(t, records.Live)

	// Cycle 3: the lone entry and the big contest's last page come back (a deletion a
	// failed cycle left pending must not remove them); a contest of two vanishes.
	move(-2, 4, 5)
	add(append([]engine.Entry{single}, big...))
	drop(byContest[2])
	s.cycle(t, records.Live)

	// Cycle 4: the points move again.
	move(1.5, 6)
	s.cycle(t, records.Live)

	// Completion: the final cycle, retried until its writes succeed.
	s.apply(state(1, "completed"))
	for range 3 {
		if s.cycle(t, records.Complete) {
			s.bad.check(records.Live, s.entries, s.pts)
			return
		}
		s.bad.w.mu.Lock()
		m := s.bad.w.matches[1]
		done := m.final
		s.bad.w.mu.Unlock()
		if m.unwritten == nil {
			// Only the matches list after the match failed: the match is done.
			if !done {
				t.Fatal("a final cycle whose writes succeeded was not marked done")
			}
			continue
		}
		s.failedFinal = true
		if done {
			t.Fatal("a final cycle whose writes failed was marked done")
		}
	}
	t.Fatal("the final standings were never written")
}

// TestFailedCycleRewrittenNext: whatever store call of a cycle fails, the next cycle
// whose writes succeed leaves the store as a worker that never failed would have, for
// live cycles and for the final one, after one failed cycle or two in a row.
func TestFailedCycleRewrittenNext(t *testing.T) {
	// The store calls of each cycle, from a run that never fails.
	probe := newOutageScenario(t, nil)
	probe.run(t)
	calls := probe.calls
	if calls[2] < 8 || calls[5] < 8 {
		t.Fatalf("store calls per cycle %v: too few for the test to mean anything", calls)
	}
	for _, c := range []int64{2, 3, 5} {
		for k := range calls[c] - 1 { // the last call writes the matches list, after the match
			t.Run(fmt.Sprintf("cycle%d_after%d", c, k), func(t *testing.T) {
				s := newOutageScenario(t, map[int64]int{c: k})
				s.run(t)
				if c == 5 && !s.failedFinal {
					t.Fatal("the final cycle did not fail")
				}
			})
		}
	}
	// Two failed cycles in a row, the second failing early, then the final one twice.
	for _, fa := range []map[int64]int{{2: calls[2] / 2, 3: 1}, {3: calls[3] - 1, 4: 0}, {4: 2, 5: 0, 6: calls[5] / 2}} {
		t.Run(fmt.Sprint(fa), func(t *testing.T) {
			newOutageScenario(t, fa).run(t)
		})
	}
}

// TestFailedCycleMarksMatch: a failed cycle marks the match and counts it; the next
// successful one rewrites the match and clears the mark, so the one after writes no
// more than a cycle that follows no failure.
func TestFailedCycleMarksMatch(t *testing.T) {
	s := newOutageScenario(t, map[int64]int{2: 3})
	s.apply(entryEvents(1, s.entries))
	s.apply(state(1, "live"))
	s.apply(pointsEvents(1, s.pts))
	s.cycle(t, records.Live)
	s.cycle(t, records.Live) // fails
	if s.bad.w.matches[1].unwritten == nil {
		t.Fatal("a failed cycle did not mark the match")
	}
	if n, sum := s.bad.series("leaderboard_worker_match_cycles_unwritten_total"); n != 1 || sum != 1 {
		t.Fatalf("unwritten cycles metric: %d series, sum %v; want 1, 1", n, sum)
	}
	s.cycle(t, records.Live)
	if s.bad.w.matches[1].unwritten != nil {
		t.Fatal("a successful cycle left the match marked")
	}
	rewrite := s.bad.w.LastCycle().Written
	s.cycle(t, records.Live) // nothing changed
	okN, badN := s.ok.w.LastCycle().Written, s.bad.w.LastCycle().Written
	if badN >= rewrite || badN > 2*okN {
		t.Fatalf("after recovery a quiet cycle wrote %d records (the recovery %d, a never-failed worker %d)", badN, rewrite, okN)
	}
}

// TestUnwrittenDeletionsOfDroppedPartition: the deletions a failed cycle left for a
// partition this worker no longer owns are not made: its new owner writes its records.
func TestUnwrittenDeletionsOfDroppedPartition(t *testing.T) {
	f, fs := newFailingFixture(t)
	if err := f.w.AddPartition(1, 0); err != nil {
		t.Fatal(err)
	}
	entries, pts := reference.Random(23, reference.Shape{Contests: []int{5, 30, 12, 7}, Players: 22, LineupSize: 11, PointValues: 20})
	a, b := f.applyOnTwoPartitions(entries)
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	// Partition 1's first contest loses every entry; the cycle's writes fail.
	var gone []engine.Entry
	for _, e := range b {
		if e.ContestID == b[0].ContestID {
			gone = append(gone, e)
		}
	}
	del := withdrawals(gone)
	for i := range del.Entries {
		del.Entries[i].Partition, del.Entries[i].Offset = 1, int64(len(b)+i)
	}
	f.apply(del)
	fs.fail(0)
	if err := f.tryCycle(); !errors.Is(err, errStoreDown) {
		t.Fatalf("cycle with the store down: %v", err)
	}
	fs.heal()
	if u := f.w.matches[1].unwritten; u == nil || !slices.ContainsFunc(u.dels, func(d deletion) bool { return d.set == records.SetContest && d.id == b[0].ContestID }) {
		t.Fatalf("the failed cycle kept no deletion of contest %d: %+v", b[0].ContestID, u)
	}
	// The partition moves to another worker, whose records this one must leave alone.
	f.w.DropPartition(1)
	key := records.IDKey(b[0].ContestID)
	f.cycle()
	if !f.has(records.Live, records.SetContest, key) {
		t.Fatalf("contest %d of a partition no longer owned was deleted", b[0].ContestID)
	}
	if f.w.matches[1].unwritten != nil {
		t.Fatal("a successful cycle left the match marked")
	}
	// (User records spanning both partitions are the new owner's to rewrite.)
	want, ids := refBoard(a, pts)
	got := f.board(records.Live, ids)
	for _, id := range ids {
		if !slices.Equal(got[id], want[id]) {
			t.Fatalf("contest %d:\n got %v\nwant %v", id, head(got[id]), head(want[id]))
		}
	}
}
