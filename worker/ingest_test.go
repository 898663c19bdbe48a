package worker

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/kafkasource"
)

// scripted is a Source whose Poll hands out the results a test sends, in order, and whose
// Reject counts dead letters and can be held (a DLQ write that takes long).
type scripted struct {
	results chan pollResult
	polls   atomic.Int32  // Poll calls begun
	hold    chan struct{} // when not nil, Reject waits until it is closed
	mu      sync.Mutex
	dead    []int64 // offsets dead-lettered, in order
}

type pollResult struct {
	b   kafkasource.Batch
	err error
}

func newScripted() *scripted { return &scripted{results: make(chan pollResult, 100)} }

func (s *scripted) Poll(ctx context.Context) (kafkasource.Batch, error) {
	s.polls.Add(1)
	select {
	case r := <-s.results:
		return r.b, r.err
	case <-ctx.Done():
		return kafkasource.Batch{}, ctx.Err()
	}
}

func (s *scripted) Reject(ctx context.Context, _ string, _ int32, off int64, _, _ []byte, _ *kafkasource.RejectError) error {
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = append(s.dead, off)
	return nil
}

func (s *scripted) deadLetters() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.dead...)
}

// entryAt is an entry event of match 1 at offset off of partition p: entry id, contest
// and team as given, a lineup of 11 of 22 players.
func entryAt(p int32, off, entry, contest int64, withdrawn bool) kafkasource.EntryRecord {
	e := kafkasource.EntryEvent{MatchID: 1, ContestID: contest, EntryID: entry, Withdrawn: withdrawn}
	if !withdrawn {
		e.UserID, e.TeamID = entry, entry
		for k := range int32(11) {
			e.Players = append(e.Players, 1+(int32(entry)+k)%22)
		}
		e.Captain, e.ViceCaptain = e.Players[0], e.Players[1]
	}
	return kafkasource.EntryRecord{Event: e, Partition: p, Offset: off}
}

// batchOf is a polled batch of entry records, with Next after each partition's last.
func batchOf(recs ...kafkasource.EntryRecord) kafkasource.Batch {
	b := kafkasource.Batch{Entries: recs, Next: map[string]map[int32]int64{"lb.entries": {}}}
	for _, r := range recs {
		b.Next["lb.entries"][r.Partition] = r.Offset + 1
	}
	return b
}

func newIngestWorker(t *testing.T, src Source) *Worker {
	t.Helper()
	cfg := DefaultConfig()
	w, err := New(cfg, src, embeddedStore(t), slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// runIngest runs w's ingest until the test ends; the returned channel is closed when it
// ends, and *result is then what it returned.
func runIngest(t *testing.T, w *Worker) (cancel context.CancelFunc, done <-chan struct{}, result *error) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	result = new(error)
	go func() {
		defer close(ended)
		*result = w.ingest(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Error("ingest did not end 10 s after its context")
		}
	})
	return cancel, ended, result
}

// waitFor polls cond (under the worker's ingest lock) until it holds, or fails the test.
func waitFor(t *testing.T, w *Worker, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		ok := cond()
		w.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pendingOf counts the entry events applied to partition p and not yet folded.
func pendingOf(w *Worker, p int32) int {
	n := 0
	if ps := w.parts[p]; ps != nil {
		for _, sh := range ps.shards {
			n += sh.pending.len()
		}
	}
	return n
}

// The pipelined ingest applies every polled batch once, in the order polled: each event
// is applied exactly once (the pending log counts them), per partition in offset order
// (the last event of each entry is the one that holds), and the partitions catch up at
// their ends.
func TestIngestAppliesEveryBatchOnceInOrder(t *testing.T) {
	src := newScripted()
	w := newIngestWorker(t, src)
	const batches, per = 61, 10 // per partition and batch
	for p := range int32(2) {
		if err := w.AddPartition(p, batches*per); err != nil {
			t.Fatal(err)
		}
	}
	// Entries 1..per of each partition, again and again: in odd batches every third is
	// withdrawn, in even ones it is back. The last batch is even: every entry held.
	events := 0
	for k := range int64(batches) {
		var recs []kafkasource.EntryRecord
		for p := range int32(2) {
			for i := range int64(per) {
				entry := 1000*int64(p) + 1 + i
				recs = append(recs, entryAt(p, k*per+i, entry, 100+int64(p), k%2 == 1 && i%3 == 0))
				events++
			}
		}
		src.results <- pollResult{b: batchOf(recs...)}
	}
	runIngest(t, w)
	waitFor(t, w, "both partitions caught up", func() bool { return w.parts[0].caughtUp && w.parts[1].caughtUp })
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := pendingOf(w, 0) + pendingOf(w, 1); got != events {
		t.Errorf("events applied: %d, want %d (each once)", got, events)
	}
	for p := range int32(2) {
		if got := w.parts[p].next; got != batches*per {
			t.Errorf("partition %d: next offset %d, want %d", p, got, batches*per)
		}
		if got := w.parts[p].entryContest.len(); got != per {
			t.Errorf("partition %d holds %d entries, want %d (the last event of each holds)", p, got, per)
		}
	}
	if got := w.matches[1].count; got != 2*per {
		t.Errorf("match 1 counts %d entries, want %d", got, 2*per)
	}
}

// A failed poll is retried (with backoff) and nothing polled after it is lost.
func TestIngestRetriesFailedPoll(t *testing.T) {
	src := newScripted()
	w := newIngestWorker(t, src)
	if err := w.AddPartition(0, 2); err != nil {
		t.Fatal(err)
	}
	src.results <- pollResult{err: errors.New("broker unreachable")}
	src.results <- pollResult{b: batchOf(entryAt(0, 0, 1, 100, false), entryAt(0, 1, 2, 100, false))}
	runIngest(t, w)
	waitFor(t, w, "partition 0 caught up after a failed poll", func() bool { return w.parts[0].caughtUp })
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := pendingOf(w, 0); got != 2 {
		t.Errorf("events applied: %d, want 2", got)
	}
}

// A batch polled for a partition that is then dropped and gained again (a rebalance that
// moves it away and back) while the batch waits for Apply is ignored: the partition is
// replayed from its start by the new assignment, and the stale batch would apply its
// records twice, out of order.
func TestIngestIgnoresBatchOfPartitionDroppedMeanwhile(t *testing.T) {
	src := newScripted()
	src.hold = make(chan struct{})
	w := newIngestWorker(t, src)
	if err := w.AddPartition(0, 6); err != nil {
		t.Fatal(err)
	}
	// Batch A: entry 1 in contest 100, then in contest 200 (refused: a contest move,
	// dead-lettered; Reject holds Apply). Batch B, polled meanwhile: offsets 2-3.
	a := batchOf(entryAt(0, 0, 1, 100, false), entryAt(0, 1, 1, 200, false))
	b := batchOf(entryAt(0, 2, 2, 100, false), entryAt(0, 3, 3, 100, false))
	src.results <- pollResult{b: a}
	src.results <- pollResult{b: b}
	_, done, result := runIngest(t, w)
	// The third Poll begins once B was handed on, with the partition states it was
	// polled for.
	deadline := time.Now().Add(10 * time.Second)
	for src.polls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the poller did not poll a third time in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	w.DropPartition(0)
	if err := w.AddPartition(0, 4); err != nil {
		t.Fatal(err)
	}
	close(src.hold)
	// The new assignment replays the partition from its start.
	src.results <- pollResult{b: batchOf(entryAt(0, 0, 1, 100, false), entryAt(0, 1, 1, 200, false), entryAt(0, 2, 2, 100, false), entryAt(0, 3, 3, 100, false))}
	waitFor(t, w, "partition 0 caught up again", func() bool { return w.parts[0].caughtUp })
	// Apply writes a batch's dead letters after it has released the state (and marked the
	// partition caught up): wait for the replay's too.
	waitFor(t, w, "the replay's dead letter", func() bool { return len(src.deadLetters()) >= 2 })
	select {
	case <-done:
		t.Fatalf("ingest ended: %v", *result)
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ps := w.parts[0]
	if got := pendingOf(w, 0); got != 3 {
		t.Errorf("events applied to the new partition state: %d, want 3 (the replay's; the stale batch ignored)", got)
	}
	if ps.next != 4 {
		t.Errorf("next offset %d, want 4", ps.next)
	}
	if got := src.deadLetters(); len(got) != 2 || got[0] != 1 || got[1] != 1 {
		t.Errorf("dead letters at offsets %v, want [1 1] (batch A's, then the replay's)", got)
	}
}

// The source closing ends ingest with ErrClosed; the context ending ends it with nil,
// even while the poller holds a batch Apply has not taken.
func TestIngestEnds(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		src := newScripted()
		w := newIngestWorker(t, src)
		src.results <- pollResult{err: kafkasource.ErrClosed}
		_, done, result := runIngest(t, w)
		select {
		case <-done:
			if !errors.Is(*result, kafkasource.ErrClosed) {
				t.Errorf("ingest ended with %v, want ErrClosed", *result)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ingest did not end 10 s after the source closed")
		}
	})
	t.Run("context", func(t *testing.T) {
		src := newScripted()
		src.hold = make(chan struct{}) // never released: Apply waits on a dead letter
		w := newIngestWorker(t, src)
		if err := w.AddPartition(0, 10); err != nil {
			t.Fatal(err)
		}
		src.results <- pollResult{b: batchOf(entryAt(0, 0, 1, 100, false), entryAt(0, 1, 1, 200, false))}
		for k := range int64(4) {
			src.results <- pollResult{b: batchOf(entryAt(0, 2+k, 2+k, 100, false))}
		}
		cancel, done, result := runIngest(t, w)
		for src.polls.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case <-done:
			if *result != nil {
				t.Errorf("ingest ended with %v, want nil", *result)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ingest did not end 10 s after its context")
		}
	})
}

// TestReplaySizesEntryTable: a partition assigned to replay has its entry table sized
// at its first record for the events from there to its end offset, so the replay never
// grows it; the entries withdrawn leave it, and every entry is found in its contest.
func TestReplaySizesEntryTable(t *testing.T) {
	w := newIngestWorker(t, newScripted())
	const n = 3000
	if err := w.AddPartition(0, 100+n); err != nil {
		t.Fatal(err)
	}
	var recs []kafkasource.EntryRecord
	for i := range int64(n) {
		recs = append(recs, entryAt(0, 100+i, 1+i, 10+i%7, false))
	}
	if err := w.Apply(context.Background(), batchOf(recs[:1]...)); err != nil {
		t.Fatal(err)
	}
	ps := w.parts[0]
	slots := len(ps.entryContest.slots)
	if slots*3 < n*4 || slots > 2*n {
		t.Fatalf("entry table of %d slots after the first record; want room for %d entries at most 3/4 full, and not twice that", slots, n)
	}
	if err := w.Apply(context.Background(), batchOf(recs[1:]...)); err != nil {
		t.Fatal(err)
	}
	if got := len(ps.entryContest.slots); got != slots {
		t.Errorf("the replay grew the entry table from %d to %d slots", slots, got)
	}
	var gone []kafkasource.EntryRecord
	for i := int64(0); i < n; i += 2 {
		gone = append(gone, entryAt(0, 100+n+i/2, 1+i, 10+i%7, true))
	}
	if err := w.Apply(context.Background(), batchOf(gone...)); err != nil {
		t.Fatal(err)
	}
	if got := ps.entryContest.len(); got != n/2 {
		t.Fatalf("%d entries held after withdrawing half of %d", got, n)
	}
	for i := range int64(n) {
		c, ok := ps.entryContest.get(1 + i)
		if ok != (i%2 == 1) || ok && c != 10+i%7 {
			t.Fatalf("entry %d: contest %d, held %v; want contest %d held %v", 1+i, c, ok, 10+i%7, i%2 == 1)
		}
	}
}

// TestCaughtUpFitsEntryTable: a partition whose log retains many more events than
// entries (here its end offset is ten times its entries) has its entry table sized for
// the events while it replays, and fitted to its entries once it is caught up.
func TestCaughtUpFitsEntryTable(t *testing.T) {
	w := newIngestWorker(t, newScripted())
	const n = 1000
	if err := w.AddPartition(0, 10*n); err != nil {
		t.Fatal(err)
	}
	var recs []kafkasource.EntryRecord
	for i := range int64(n) {
		recs = append(recs, entryAt(0, i, 1+i, 10+i%7, false))
	}
	if err := w.Apply(context.Background(), batchOf(recs...)); err != nil {
		t.Fatal(err)
	}
	ps := w.parts[0]
	if got := len(ps.entryContest.slots); got < 10*n {
		t.Fatalf("replaying: entry table of %d slots, want room for the %d events to the end", got, 10*n)
	}
	// The rest of the log: withdrawals of entries never seen (nothing to hold).
	var rest []kafkasource.EntryRecord
	for off := int64(n); off < 10*n; off++ {
		rest = append(rest, entryAt(0, off, 1_000_000+off, 10, true))
	}
	if err := w.Apply(context.Background(), batchOf(rest...)); err != nil {
		t.Fatal(err)
	}
	if !ps.caughtUp {
		t.Fatal("the partition is not caught up at its end offset")
	}
	if got := len(ps.entryContest.slots); got > 2*n {
		t.Fatalf("caught up: entry table of %d slots for %d entries, want at most %d", got, n, 2*n)
	}
	for i := range int64(n) {
		if c, ok := ps.entryContest.get(1 + i); !ok || c != 10+i%7 {
			t.Fatalf("entry %d: contest %d, %v after the fit", 1+i, c, ok)
		}
	}
}

// TestReplayGrowsLogAndTeamsOnce: a partition replaying one match's events (a team per
// entry) grows its shard's change log once to the events left at the end offset, no
// room left over, and the match's team table to its teams in a few steps, about half
// full, where doubling and growing by half took many sizes and moved every key.
func TestReplayGrowsLogAndTeamsOnce(t *testing.T) {
	w := newIngestWorker(t, newScripted())
	const n = 4000
	if err := w.AddPartition(0, n); err != nil {
		t.Fatal(err)
	}
	logCaps, teamSlots := map[int]bool{}, map[int]bool{}
	for at := int64(0); at < n; at += 500 {
		var recs []kafkasource.EntryRecord
		for i := at; i < at+500; i++ {
			recs = append(recs, entryAt(0, i, 1+i, 10+i%7, false))
		}
		for k := range recs {
			if err := w.Apply(context.Background(), batchOf(recs[k:k+1]...)); err != nil {
				t.Fatal(err)
			}
			sh := w.parts[0].shards[1]
			logCaps[cap(sh.pending.entry)] = true
			teamSlots[len(w.matches[1].teamPrint.slots)] = true
		}
	}
	if !w.parts[0].caughtUp {
		t.Fatal("the partition is not caught up at its end offset")
	}
	sh := w.parts[0].shards[1]
	// (append rounds the room up to its allocation's size class)
	if got := cap(sh.pending.entry); got < n || got > n+n/8 || len(logCaps) > 2 {
		t.Errorf("the change log's room took sizes %v, ending at %d; want 64, then %d (or its size class)", slices.Sorted(maps.Keys(logCaps)), got, n)
	}
	m := w.matches[1]
	slots := len(m.teamPrint.slots)
	if m.teamPrint.len() != n || slots < n*4/3 || slots > 5*n/2 || len(teamSlots) > 6 {
		t.Errorf("team table: %d teams in %d slots, after %d sizes %v; want %d teams, 40-75%% full, at most 6 sizes",
			m.teamPrint.len(), slots, len(teamSlots), slices.Sorted(maps.Keys(teamSlots)), n)
	}
	for i := range int64(n) {
		if _, ok := m.teamPrint.get(1 + i); !ok {
			t.Fatalf("team %d not held after the replay", 1+i)
		}
	}
}

// TestReplayGuessesBounded: a partition replaying four matches one after another (each
// match's events first look like the whole rest of the log) holds change logs of at most
// twice its events in all, and once caught up every team table is at least a third full,
// and every entry is logged in its own match's shard.
func TestReplayGuessesBounded(t *testing.T) {
	w := newIngestWorker(t, newScripted())
	const perMatch, matches = 1000, 4
	if err := w.AddPartition(0, perMatch*matches); err != nil {
		t.Fatal(err)
	}
	var recs []kafkasource.EntryRecord
	for mi := range int64(matches) {
		for i := range int64(perMatch) {
			r := entryAt(0, mi*perMatch+i, 1+mi*perMatch+i, 10*(mi+1)+i%7, false)
			r.Event.MatchID = 1 + mi
			recs = append(recs, r)
		}
	}
	maxRoom := 0
	for k := 0; k < len(recs); k += 100 {
		if err := w.Apply(context.Background(), batchOf(recs[k:k+100]...)); err != nil {
			t.Fatal(err)
		}
		room := 0
		for _, sh := range w.parts[0].shards {
			room += cap(sh.pending.entry)
		}
		maxRoom = max(maxRoom, room)
	}
	if !w.parts[0].caughtUp {
		t.Fatal("the partition is not caught up at its end offset")
	}
	if maxRoom > 2*len(recs) {
		t.Errorf("the change logs held room for %d events in all, for %d events", maxRoom, len(recs))
	}
	for mi := range int64(matches) {
		m := w.matches[1+mi]
		if got := m.teamPrint.len(); got != perMatch || 3*got < len(m.teamPrint.slots) {
			t.Errorf("match %d: %d teams in %d slots after the replay; want %d, at least a third full", m.id, got, len(m.teamPrint.slots), perMatch)
		}
		if got := w.parts[0].shards[m.id].pending.len(); got != perMatch {
			t.Errorf("match %d: %d events logged, want %d", m.id, got, perMatch)
		}
	}
}
