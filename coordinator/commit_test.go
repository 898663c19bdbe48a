package coordinator

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fantasy/leaderboard/records"
)

// memStore is a store of commits: the last record written per namespace, set and key,
// refusing writes while failing is set.
type memStore struct {
	mu      sync.Mutex
	recs    map[string]records.Record
	failing bool
}

func (m *memStore) Put(_ context.Context, ns string, recs []records.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errors.New("store down")
	}
	for _, r := range recs {
		m.recs[ns+"/"+r.Set+"/"+r.Key] = r
	}
	return nil
}

func (m *memStore) Get(_ context.Context, ns, set, key string) (records.Bins, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return nil, false, errors.New("store down")
	}
	r, ok := m.recs[ns+"/"+set+"/"+key]
	return r.Bins, ok, nil
}

func (m *memStore) match(ns string, id int64) (records.Match, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[ns+"/"+records.SetMatch+"/"+records.IDKey(id)]
	if !ok {
		return records.Match{}, false
	}
	got, err := records.MatchFrom(r.Bins)
	return got, err == nil
}

func (m *memStore) matches(ns string) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[ns+"/"+records.SetMatches+"/"+records.MatchesKey]
	if !ok {
		return nil
	}
	l, _ := records.MatchesFrom(r.Bins)
	return l.IDs
}

// TestCommits: the coordinator commits a match when its visible cycle advances — state,
// the lowest share's cycle and as_of, totals summed over the partitions holding it, the
// partitions — and the matches list; a completed match reaches the complete namespace
// only once every partition holding it wrote its final standings, though each stops
// listing it once written; a commit the store refuses is counted and written at the next
// advance.
func TestCommits(t *testing.T) {
	members := newStatic("w1")
	st := &memStore{recs: map[string]records.Record{}}
	reg := prometheus.NewRegistry()
	c := startCoordinator(t, testConfig(t, t.TempDir()), 3, Deps{Members: members, Offsets: countingOffsets(), Store: st, Registerer: reg})
	if _, ok := c.NextTick(context.Background(), 6); !ok {
		t.Fatal("no tick")
	}
	a := c.Assignment()
	share := func(match int64, state string, cycle, entries int64) MatchReport {
		return MatchReport{Match: match, State: state, Cycle: cycle, AsOf: cycle * 1000, Entries: entries, Contests: entries / 10}
	}
	report := func(p int32, cycle int64, shares ...MatchReport) {
		t.Helper()
		if err := c.Report(Report{Worker: a.Writer[p], Partition: p, Epoch: a.Epoch, Cycle: cycle, Details: shares}); err != nil {
			t.Fatal(err)
		}
	}
	report(0, 1, share(7, records.StateLive, 1, 100))
	report(1, 1, share(7, records.StateLive, 1, 50), share(8, records.StateLive, 1, 20))
	if _, ok := st.match(records.Live, 7); ok {
		t.Fatal("committed before every partition reported")
	}
	report(2, 1)
	m, ok := st.match(records.Live, 7)
	if !ok || m.Cycle != 1 || m.AsOf != 1000 || m.Entries != 150 || m.Contests != 15 || !slices.Equal(m.Parts, []int32{0, 1}) || m.State != records.StateLive {
		t.Fatalf("commit of 7: %+v %v", m, ok)
	}
	if got := st.matches(records.Live); !slices.Equal(got, []int64{7, 8}) {
		t.Fatalf("matches list %v", got)
	}

	// Partition 0 moves to cycle 2, partition 1 stays: 7 stays at 1.
	report(0, 2, share(7, records.StateLive, 2, 100))
	if m, _ := st.match(records.Live, 7); m.Cycle != 1 {
		t.Fatalf("7 committed at %d with a holder at 1", m.Cycle)
	}
	// The store is down when 7 advances: counted; the next advance writes the current.
	st.failing = true
	report(1, 2, share(7, records.StateLive, 2, 50), share(8, records.StateLive, 2, 20))
	var cm dto.Metric
	if err := c.mCommitErrors.Write(&cm); err != nil || cm.GetCounter().GetValue() != 1 {
		n := cm.GetCounter().GetValue()
		t.Fatalf("%v commit errors, want 1", n)
	}
	st.failing = false
	report(0, 3, share(7, records.StateLive, 3, 100))
	report(1, 3, share(7, records.StateLive, 3, 50), share(8, records.StateLive, 3, 20))
	if m, _ := st.match(records.Live, 7); m.Cycle != 3 {
		t.Fatalf("7 at %d after the store came back, want 3", m.Cycle)
	}

	// 7 completes: partition 0 writes its final standings at 4, partition 1 is still
	// replaying (its share stays at 3).
	report(0, 4, share(7, records.StateCompleted, 4, 100))
	report(1, 4, share(7, records.StateCompleted, 3, 50), share(8, records.StateLive, 4, 20))
	if _, ok := st.match(records.Complete, 7); ok {
		t.Fatal("complete commit before partition 1 wrote its final standings")
	}
	report(0, 5) // partition 0 no longer lists 7: it wrote its final standings
	report(1, 5, share(7, records.StateCompleted, 5, 50), share(8, records.StateLive, 5, 20))
	fin, ok := st.match(records.Complete, 7)
	if !ok || fin.State != records.StateCompleted || fin.Cycle != 5 || !slices.Equal(fin.Parts, []int32{0, 1}) {
		t.Fatalf("complete commit of 7: %+v %v", fin, ok)
	}
	if live, _ := st.match(records.Live, 7); live.State != records.StateCompleted {
		t.Fatalf("live commit of 7 after completion: %+v", live)
	}
	if got := st.matches(records.Complete); !slices.Equal(got, []int64{7}) {
		t.Fatalf("complete matches list %v", got)
	}
	if m, _ := st.match(records.Live, 8); m.Cycle != 5 || !slices.Equal(m.Parts, []int32{1}) {
		t.Fatalf("commit of 8: %+v", m)
	}
}

// TestFinalsSurviveRestart: a coordinator restarted after one partition wrote a match's
// final standings (and stopped listing it) still commits the match to the complete
// namespace once the other partition writes its own, and keeps the matches already
// completed in the complete matches list.
func TestFinalsSurviveRestart(t *testing.T) {
	members := newStatic("w1")
	st := &memStore{recs: map[string]records.Record{}}
	dir := t.TempDir()
	var c *Coordinator
	var a Assignment
	last := int64(0)
	start := func() {
		c = startCoordinator(t, testConfig(t, dir), 2, Deps{Members: members, Offsets: countingOffsets(), Store: st})
		// The first table comes from the run loop once the view settles, not from New:
		// reading it before then gives a table with no writers.
		waitFor(t, 5*time.Second, func() string { return "no table: " + fmtA(c.Assignment()) }, func() bool {
			a = c.Assignment()
			return a.Epoch > 0 && a.Writer[0] != "" && a.Writer[1] != ""
		})
	}
	next := func() int64 { // a tick above the last one used
		t.Helper()
		tick, ok := c.NextTick(context.Background(), last)
		if !ok {
			t.Fatal("no tick")
		}
		last = tick.Cycle
		return last
	}
	report := func(p int32, cycle int64, shares ...MatchReport) {
		t.Helper()
		if err := c.Report(Report{Worker: a.Writer[p], Partition: p, Epoch: a.Epoch, Cycle: cycle, Details: shares}); err != nil {
			t.Fatal(err)
		}
	}
	share := func(match int64, cycle int64) MatchReport {
		return MatchReport{Match: match, State: records.StateCompleted, Cycle: cycle, Entries: 5}
	}
	start()
	c1 := next()
	c2 := next()
	// Match 3 completes before the restart; of match 4 only partition 0 wrote its final
	// standings (partition 1's share is still at c1, replaying).
	report(0, c2, share(3, c2), share(4, c2))
	report(1, c2, share(3, c2), share(4, c1))
	if _, ok := st.match(records.Complete, 3); !ok {
		t.Fatal("match 3 not committed complete")
	}
	if _, ok := st.match(records.Complete, 4); ok {
		t.Fatal("match 4 committed complete before partition 1 wrote its final standings")
	}
	stopService(t, c)

	start()
	if got := c.Visible(3); got != c2 {
		t.Fatalf("restarted: match 3's committed cycle %d, want %d, read back from the store", got, c2)
	}
	c3 := next()
	report(0, c3) // partition 0 no longer lists either match
	report(1, c3, share(4, c3))
	if m, ok := st.match(records.Complete, 4); !ok || m.State != records.StateCompleted || !slices.Equal(m.Parts, []int32{0, 1}) {
		t.Fatalf("match 4 after the restart: %+v %v", m, ok)
	}
	if got := st.matches(records.Complete); !slices.Equal(got, []int64{3, 4}) {
		t.Fatalf("complete matches list %v, want [3 4]", got)
	}
}
