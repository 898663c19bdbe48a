package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// Source is where events come from; *kafkasource.Source satisfies it.
type Source interface {
	Poll(ctx context.Context) (kafkasource.Batch, error)
	Reject(ctx context.Context, topic string, partition int32, offset int64, key, value []byte, err *kafkasource.RejectError) error
}

// Store is where results go; *rankstore.Store (and the Aerospike sink) satisfy it. A
// cycle calls Put from several goroutines at once (parallelEmit).
//
// Put must not keep a record's Packed bytes or its Key, nor anything that points into
// them, after it returns (the embedded store copies them into its slabs; the Aerospike
// sink encodes them to the wire before it returns, retries included): the worker packs
// the next records into the same memory (cycle_scratch.go). An error it returns may
// name a record by its Key (*records.FencedError); the worker copies that key.
type Store interface {
	Put(ctx context.Context, ns string, recs []records.Record) error
	Delete(ctx context.Context, ns, set string, keys []string) error
	Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error)
}

// Availability may be implemented by a Store that knows when its writes cannot go
// through (aerospikesink.Sink, while its circuit breaker is open): the worker then skips
// a cycle's writes, and the encoding of its records, keeping the match marked unwritten
// so that the next cycle that can write writes the current state. A Store without it
// is always tried.
type Availability interface {
	Available() bool
}

// errStoreUnavailable is the error of a match cycle whose writes were skipped.
var errStoreUnavailable = errors.New("store unavailable (its circuit breaker is open): the cycle's writes are skipped; the next cycle that can write writes the current state")

// storeAvailable asks the store, if it can tell, whether a write can go through.
func (w *Worker) storeAvailable() bool {
	a, ok := w.store.(Availability)
	return !ok || a.Available()
}

// Config configures a worker.
type Config struct {
	Interval     time.Duration // cycle interval (of the ticker that drives a standalone worker)
	Refresh      time.Duration // every record of a live match is rewritten within this (TTL refresh)
	EntriesTopic string        // for dead-lettering entries the worker's state rejects
	PointsTopic  string
	MatchesTopic string
	WriteBatch   int // records per store write
	// GroupEntries, MaxMatchEntries and MaxPendingMatches take their flag defaults when
	// zero.
	// GroupEntries is the size of a contest group: contests are packed into engine
	// partitions of up to this many entries, so a late entry rebuilds its group only.
	GroupEntries int
	// MaxMatchEntries caps the entries one match may hold (0: no cap).
	MaxMatchEntries int
	// MaxPendingMatches caps the matches with points but no lifecycle event or entry yet.
	MaxPendingMatches int
	// FinalGCPercent is the Go collector's target (debug.SetGCPercent) during a match's
	// final cycle, a process-wide setting put back after it: that cycle writes its whole
	// standings again, and the garbage of its encoding, which the node's own target lets
	// grow by half its heap (--gc-percent 50), was its memory peak. 0 takes the default;
	// negative leaves the collector as it is.
	FinalGCPercent int
	// StartHold is how long a standalone worker's cycles wait, from its first tick, for
	// the start's replay to end before ranking the partitions caught up (idle_hold.go).
	// 0 (the default): no hold.
	StartHold time.Duration
	Engine    engine.Config
	// Cluster (not a flag: set by the process) makes the worker one of a cluster's: the
	// coordinator commits matches (the SetMatch and SetMatches records, from the workers'
	// cycle reports), so the worker writes only its partitions' own records. False (a
	// standalone node, which owns every partition): the worker commits each match itself
	// once its partitions are written.
	Cluster bool
}

// RegisterFlags registers the worker's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.DurationVar(&c.Interval, prefix+"interval", 10*time.Second, "ranking cycle interval")
	fs.DurationVar(&c.Refresh, prefix+"refresh", 20*time.Minute, "rewrite every record of a live match within this period, so none reaches the live TTL")
	fs.IntVar(&c.WriteBatch, prefix+"write-batch", 5000, "records per store write")
	fs.IntVar(&c.GroupEntries, prefix+"group-entries", 1<<16, "entries per contest group (a late entry rebuilds its group only; a larger contest is a group alone)")
	fs.IntVar(&c.MaxMatchEntries, prefix+"max-match-entries", 200_000_000, "most entries one match may hold; more are dead-lettered (match_full)")
	fs.IntVar(&c.MaxPendingMatches, prefix+"max-pending-matches", 1000, "most matches held with points but no lifecycle event or entry yet; points for more are dead-lettered (unknown_match)")
	fs.IntVar(&c.FinalGCPercent, prefix+"final-gc-percent", 10, "the Go garbage collector's target during a match's final cycle, put back after it (the node's memory peak is that cycle's; a negative value leaves the collector as it is)")
	fs.DurationVar(&c.StartHold, prefix+"start-hold", 0, "at the start, cycles wait up to this long for every entries partition to catch up before ranking those caught up, so nothing of a part of the partitions is published before the node is ready (it is ready later: the first writes no longer overlap the replay); 0: each partition is ranked as soon as it caught up (a cluster worker never waits)")
	c.EntriesTopic, c.PointsTopic, c.MatchesTopic = "lb.entries", "lb.points", "lb.matches"
	c.Engine = engine.DefaultConfig()
	c.Engine.RegisterFlags(fs, prefix+"engine-")
}

// DefaultConfig returns the flag defaults.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError), "")
	return c
}

// fillDefaults gives the fields added after the first Config their flag defaults when
// zero, so a Config built as a literal keeps working.
func (c *Config) fillDefaults() {
	d := DefaultConfig()
	if c.GroupEntries == 0 {
		c.GroupEntries = d.GroupEntries
	}
	if c.MaxMatchEntries == 0 {
		c.MaxMatchEntries = d.MaxMatchEntries
	}
	if c.MaxPendingMatches == 0 {
		c.MaxPendingMatches = d.MaxPendingMatches
	}
	if c.FinalGCPercent == 0 {
		c.FinalGCPercent = d.FinalGCPercent
	}
	if c.EntriesTopic == "" {
		c.EntriesTopic = d.EntriesTopic
	}
	if c.PointsTopic == "" {
		c.PointsTopic = d.PointsTopic
	}
	if c.MatchesTopic == "" {
		c.MatchesTopic = d.MatchesTopic
	}
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Interval < 10*time.Millisecond:
		return fmt.Errorf("interval %v: must be at least 10ms", c.Interval)
	case c.Refresh < c.Interval:
		return fmt.Errorf("refresh %v: must be at least the interval %v", c.Refresh, c.Interval)
	case c.WriteBatch < 1:
		return fmt.Errorf("write batch %d: must be >= 1", c.WriteBatch)
	case c.GroupEntries < 0:
		return fmt.Errorf("group entries %d: must be >= 1 (0: the default)", c.GroupEntries)
	case c.MaxMatchEntries < 0:
		return fmt.Errorf("max match entries %d: must be >= 0", c.MaxMatchEntries)
	case c.MaxPendingMatches < 0:
		return fmt.Errorf("max pending matches %d: must be >= 0", c.MaxPendingMatches)
	case c.StartHold < 0:
		return fmt.Errorf("start hold %v: must be >= 0 (0: no hold)", c.StartHold)
	}
	return c.Engine.Validate()
}

// Worker ranks the matches of the entries partitions it owns.
type Worker struct {
	cfg   Config
	src   Source
	store Store
	log   *slog.Logger
	now   func() time.Time
	m     metrics

	mu          sync.Mutex // guards the ingest side: partitions, matches' ingest fields, orphans, offsets
	parts       map[int32]*partState
	assignEpoch int64 // the assignment epoch adopted last (Adopt): a cluster worker's cycles write under it
	matches     map[int64]*match
	orphans     map[int64][]heldPoint // points of matches not created yet
	// Points and matches topics: the end offsets to reach before the first cycle, and
	// the next offsets read.
	topicEnd  map[string]map[int32]int64
	topicNext map[string]map[int32]int64
	progress  chan struct{} // closed and replaced when ingest moves
	// The start's hold (idle_hold.go): the first tick's time, and whether it ended.
	holdSince time.Time
	holdDone  bool

	cycleMu   sync.Mutex // one cycle at a time
	epoch     int64      // the epoch of the cycle running (its writes' fence), under cycleMu
	mem       cycleMem   // the cycles' reusable memory (cycle_scratch.go), under cycleMu
	reporter  func(ctx context.Context, r CycleResult)
	published atomic.Bool
	dlqFail   atomic.Bool
	// sharedRejects: in a cluster, this worker dead-letters the points and matches events
	// its state refuses (every worker reads those topics and refuses the same ones; the
	// writer of entries partition 0 writes them, once).
	sharedRejects atomic.Bool
	lastStat      atomic.Pointer[CycleReport]
}

type metrics struct {
	cycles      *prometheus.CounterVec
	stage       *prometheus.HistogramVec
	written     *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	entries     *prometheus.GaugeVec
	cycleErrors prometheus.Counter
	unwritten   prometheus.Counter
	dlqErrors   prometheus.Counter
	replaying   prometheus.Gauge
	cycle       prometheus.Histogram
	interval    prometheus.Gauge
}

// New creates a worker. now is the clock (time.Now in production).
func New(cfg Config, src Source, store Store, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Worker, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Engine.Now == nil {
		// The engine times each stage of a cycle only with a clock: the stage metric,
		// the coordinator's reports and the console show them.
		cfg.Engine.Now = time.Now
	}
	f := promauto.With(reg)
	w := &Worker{
		cfg: cfg, src: src, store: store, log: log, now: now,
		parts: map[int32]*partState{}, matches: map[int64]*match{}, orphans: map[int64][]heldPoint{},
		topicEnd: map[string]map[int32]int64{}, topicNext: map[string]map[int32]int64{},
		progress: make(chan struct{}),
		m: metrics{
			cycles:      f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_worker_cycles_total", Help: "Ranking cycles run, by match."}, []string{"match"}),
			stage:       f.NewHistogramVec(prometheus.HistogramOpts{Name: "leaderboard_worker_cycle_stage_seconds", Help: "Time per cycle stage.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"stage"}),
			written:     f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_worker_records_written_total", Help: "Records written to the store, by namespace and set."}, []string{"namespace", "set"}),
			rejected:    f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_worker_rejected_total", Help: "Events the worker's state rejected (dead-lettered), by reason."}, []string{"reason"}),
			entries:     f.NewGaugeVec(prometheus.GaugeOpts{Name: "leaderboard_worker_entries", Help: "Entries ranked in the last cycle, by match (removed when a completed match is pruned)."}, []string{"match"}),
			cycleErrors: f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_worker_cycle_errors_total", Help: "Cycles that failed (and will be retried)."}),
			unwritten:   f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_worker_match_cycles_unwritten_total", Help: "Match cycles whose store writes failed: the next match cycle whose writes succeed rewrites the current state of what they did not write."}),
			dlqErrors:   f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_worker_dlq_errors_total", Help: "Failed attempts to dead-letter an event the worker's state rejected (each is retried)."}),
			replaying:   f.NewGauge(prometheus.GaugeOpts{Name: "leaderboard_worker_partitions_replaying", Help: "Owned entries partitions not yet caught up with the end offsets found when they were assigned."}),
			cycle:       f.NewHistogram(prometheus.HistogramOpts{Name: "leaderboard_worker_cycle_seconds", Help: "Time of a whole cycle, from its tick to its last store write (failed cycles too; cycles skipped while the topics replay are not observed).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
			interval:    f.NewGauge(prometheus.GaugeOpts{Name: "leaderboard_worker_cycle_interval_seconds", Help: "The configured cycle interval (--interval)."}),
		},
	}
	w.m.interval.Set(cfg.Interval.Seconds())
	return w, nil
}

// AddPartition gains an entries partition to write: its records are applied from its
// start, and it publishes nothing and joins no cycle until the worker has read up to end,
// the partition's end offset found when it was assigned (kafkasource.Source.EndOffsets).
func (w *Worker) AddPartition(p int32, end int64) error { return w.addPartition(p, end, true) }

// LoadPartition gains an entries partition to take over (a cluster's make-before-break
// hand-over): it is replayed and kept up to date as AddPartition's, but joins no cycle
// and writes nothing until Promote makes this worker its writer.
func (w *Worker) LoadPartition(p int32, end int64) error { return w.addPartition(p, end, false) }

func (w *Worker) addPartition(p int32, end int64, writing bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.parts[p]; ok {
		return fmt.Errorf("entries partition %d is already owned", p)
	}
	ps := newPartState(p, end)
	ps.writing = writing
	w.parts[p] = ps
	w.countReplaying()
	return nil
}

// Adopt makes epoch the assignment epoch the worker's cycles write under, and makes
// this worker the writer of the partitions in promote (loaded before: each joins the next
// cycle, whose first write of it is every record). Both change at once, so no cycle
// writes a promoted partition under an older epoch (in which another worker wrote it).
func (w *Worker) Adopt(epoch int64, promote []int32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range promote {
		if _, ok := w.parts[p]; !ok {
			return fmt.Errorf("entries partition %d is not owned: load it first", p)
		}
	}
	for _, p := range promote {
		w.parts[p].writing = true
	}
	w.assignEpoch = max(w.assignEpoch, epoch)
	return nil
}

// SetSharedRejects makes a cluster worker dead-letter (or not) the points and matches
// events its state refuses: the agent sets it on the writer of entries partition 0.
func (w *Worker) SetSharedRejects(on bool) { w.sharedRejects.Store(on) }

// SetReporter sets a function called after every cycle with its per-partition result
// (a cluster worker reports it to the coordinator). Set it before Run.
func (w *Worker) SetReporter(f func(ctx context.Context, r CycleResult)) { w.reporter = f }

// CycleResult is what one cycle wrote, per entries partition taking part in it.
type CycleResult struct {
	Cycle, Epoch int64
	At           time.Time
	Took         time.Duration
	Stages       []engine.StageTime // summed over the cycle's matches
	// Parts holds each writing, caught-up partition: Written false when one of its
	// matches failed to write (the partition's cycle is not complete; not reported).
	Parts map[int32]*PartResult
}

// PartResult is one partition's share of a cycle.
type PartResult struct {
	Written bool
	Matches []MatchResult // the matches with entries in the partition
	Records int
}

// MatchResult is one match's share in one partition, as its SetMatchPart record says.
type MatchResult struct {
	Match             int64
	State             string
	Cycle, AsOf       int64
	Entries, Contests int64
}

// DropPartition releases an entries partition and frees its state. Its records already
// in the store stay (a new owner overwrites them).
func (w *Worker) DropPartition(p int32) {
	w.cycleMu.Lock()
	defer w.cycleMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	ps, ok := w.parts[p]
	if !ok {
		return
	}
	for id := range ps.shards {
		if m := w.matches[id]; m != nil {
			delete(m.shards, p)
		}
	}
	delete(w.parts, p)
	if w.countReplaying() == 0 {
		w.fitTeams() // a replay dropped before it caught up leaves no guess behind
	}
}

// Partitions returns the owned entries partitions and whether each is caught up.
func (w *Worker) Partitions() map[int32]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int32]bool, len(w.parts))
	for p, ps := range w.parts {
		out[p] = ps.caughtUp
	}
	return out
}

// Writing reports whether the worker writes partition p (owns it and was promoted).
func (w *Worker) Writing(p int32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ps := w.parts[p]
	return ps != nil && ps.writing
}

// SetTopicEnds sets the end offsets of the points or matches topic to reach before the
// first cycle (found when the worker started).
func (w *Worker) SetTopicEnds(topic string, end map[int32]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.topicEnd[topic] = maps.Clone(end)
}

// countReplaying sets the replaying partitions' gauge and returns their number.
func (w *Worker) countReplaying() int {
	n := 0
	for _, ps := range w.parts {
		if !ps.caughtUp {
			n++
		}
	}
	w.m.replaying.Set(float64(n))
	return n
}

// topicsCaughtUp reports whether the points and matches topics reached their ends
// (under mu).
func (w *Worker) topicsCaughtUp() bool {
	for topic, end := range w.topicEnd {
		for p, o := range end {
			if o > 0 && w.topicNext[topic][p] < o {
				return false
			}
		}
	}
	return true
}

// CaughtUp reports whether every owned partition and the points and matches topics
// reached the end offsets found when they were assigned.
func (w *Worker) CaughtUp() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.caughtUpLocked()
}

func (w *Worker) caughtUpLocked() bool {
	for _, ps := range w.parts {
		if !ps.caughtUp {
			return false
		}
	}
	return w.topicsCaughtUp()
}

// Ready reports whether the worker serves current standings: every owned partition is
// caught up, a cycle has published since, and dead letters are being written.
func (w *Worker) Ready() bool {
	return w.published.Load() && !w.dlqFail.Load() && w.CaughtUp()
}

// CycleReport is the last cycle's summary of one match (for logs, tests and the
// coordinator).
type CycleReport struct {
	Match   int64
	Cycle   int64
	AsOf    time.Time
	Stats   engine.Stats
	Groups  int           // contest groups ranked
	Rebuilt int           // contest groups rebuilt (their entries changed)
	Fold    time.Duration // folding entry changes into contest groups (rebuilds)
	Written int
	Took    time.Duration
}

// LastCycle returns the most recent cycle report, or nil.
func (w *Worker) LastCycle() *CycleReport { return w.lastStat.Load() }

// Run consumes events and runs a cycle for every tick of ticks until ctx ends. It
// returns an error only when a part of it cannot go on.
func (w *Worker) Run(ctx context.Context, ticks CycleSource) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.ingest(ctx); err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("ingest: %w", err))
		}
	})
	defer wg.Wait()
	for {
		t, err := ticks.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
					return err
				}
				return nil
			}
			cancel(err)
			return fmt.Errorf("cycle source: %w", err)
		}
		if err := w.Cycle(ctx, t); err != nil && ctx.Err() == nil {
			w.m.cycleErrors.Inc()
			w.log.Error("cycle failed; retrying next tick", "cycle", t.Cycle, "err", err)
		}
	}
}

// ingest polls the source and applies events until ctx ends. Polling (the Kafka fetch
// and the decoding of its records) and applying run as a two-stage pipeline, on two
// goroutines, so a replay uses two cores: the poller decodes batch n+1 (and holds at most
// one more) while batch n is applied. The pipeline keeps every guarantee of polling and
// applying in turn: batches are applied in the order polled, one at a time, so each
// partition's events are applied once and in offset order; a failed poll (the broker
// unreachable, a dead letter not yet acknowledged) is retried with backoff, and the source
// hands back the same batch, so nothing is skipped; and an entries partition dropped
// after its records were polled has them ignored, even if it was gained again since
// (the batch names the partition states it was polled for: polled.owners).
func (w *Worker) ingest(ctx context.Context) error {
	pctx, cancel := context.WithCancel(ctx)
	polled := make(chan polled, 1)
	var wg sync.WaitGroup
	var pollErr error
	wg.Go(func() {
		defer close(polled)
		pollErr = w.poll(pctx, polled)
	})
	stop := func() error {
		cancel()
		for range polled { // unblock the poller, drop what it held
		}
		wg.Wait()
		return pollErr
	}
	for p := range polled {
		if err := w.apply(ctx, p.batch, p.owners); err != nil {
			stop()
			return err
		}
	}
	return stop()
}

// polled is a batch on its way from the poller to Apply: owners holds the state of each
// entries partition of the batch at the time it was polled (nil: not owned then).
type polled struct {
	batch  kafkasource.Batch
	owners map[int32]*partState
}

// poll is ingest's first stage: it polls the source until ctx ends and sends each batch
// to out. It returns nil when ctx ends, or the error that stops it (the source closed).
func (w *Worker) poll(ctx context.Context, out chan<- polled) error {
	backoff := 100 * time.Millisecond
	for {
		b, err := w.src.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafkasource.ErrClosed) {
				return err
			}
			w.log.Warn("poll failed; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case out <- polled{batch: b, owners: w.owners(b)}:
		case <-ctx.Done():
			return nil
		}
	}
}

// owners returns the state of every entries partition of b, as it is now (nil for one
// not owned): Apply, later, ignores the records of a partition whose state is no longer
// the same (dropped, or dropped and gained again, meanwhile).
func (w *Worker) owners(b kafkasource.Batch) map[int32]*partState {
	next := b.Next[w.cfg.EntriesTopic]
	if len(next) == 0 && len(b.Entries) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int32]*partState, len(next))
	for p := range next {
		out[p] = w.parts[p]
	}
	last := int32(-1)
	for i := range b.Entries { // Next names every partition a batch holds; in case not
		if p := b.Entries[i].Partition; p != last {
			if !hasKey(out, p) {
				out[p] = w.parts[p]
			}
			last = p
		}
	}
	return out
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

type rejection struct {
	topic      string
	part       int32
	off        int64
	key, value []byte
	what       string
	err        *kafkasource.RejectError
}

// Apply applies one polled batch: entries are upserts by entry_id (withdrawn removes),
// points are totals (the newest ts wins), lifecycle events move a match forward. What the
// worker's state refuses is dead-lettered with its reason; a failed dead-letter write is
// retried with backoff until it succeeds or ctx ends (the worker is not ready meanwhile).
func (w *Worker) Apply(ctx context.Context, b kafkasource.Batch) error {
	return w.apply(ctx, b, nil)
}

// apply is Apply for a batch polled when the entries partitions' states were owners
// (nil: whatever they are now). The records of a partition not owned then, or whose
// state changed since (dropped, or dropped and gained again), are ignored.
func (w *Worker) apply(ctx context.Context, b kafkasource.Batch, owners map[int32]*partState) error {
	var rejected []rejection
	w.mu.Lock()
	owned := func(p int32) *partState {
		ps := w.parts[p]
		if owners != nil && owners[p] != ps {
			return nil
		}
		return ps
	}
	var ps *partState
	last := int32(-1)
	touched := 0 // b.Entries[:touched] had their table slots loaded (touchAhead)
	for i := range b.Entries {
		r := &b.Entries[i]
		if r.Partition != last { // a batch holds each partition's records in a run
			ps, last = owned(r.Partition), r.Partition
			if ps != nil {
				ps.reserveFor(r.Offset)
			}
		}
		if ps == nil {
			continue // not owned (dropped while fetched)
		}
		if i >= touched {
			touched = w.touchAhead(ps, b.Entries, i) // a run's first events
		}
		if i+touchLead >= touched && touched < len(b.Entries) && b.Entries[touched].Partition == last {
			// The next span's slots are loaded touchLead events before the first of
			// them is applied, so their misses overlap the work on those before.
			touched = w.touchAhead(ps, b.Entries, touched)
		}
		if err := w.applyEntry(ps, r); err != nil {
			rejected = append(rejected, rejection{w.cfg.EntriesTopic, r.Partition, r.Offset, r.Key, r.Value, fmt.Sprintf("entry %d", r.Event.EntryID), err})
		}
	}
	for i, e := range b.Matches {
		if err := w.applyState(e); err != nil {
			at := position(b.MatchesAt, i)
			rejected = append(rejected, rejection{w.cfg.MatchesTopic, at.Partition, at.Offset, at.Key, at.Value, fmt.Sprintf("match %d state %s", e.MatchID, e.State), err})
		}
	}
	for i, e := range b.Points {
		at := position(b.PointsAt, i)
		if err := w.applyPoints(heldPoint{part: at.Partition, off: at.Offset, e: e}); err != nil {
			rejected = append(rejected, rejection{w.cfg.PointsTopic, at.Partition, at.Offset, at.Key, at.Value, fmt.Sprintf("points of match %d player %d", e.MatchID, e.PlayerID), err})
		}
	}
	for topic, next := range b.Next {
		if topic == w.cfg.EntriesTopic {
			for p, o := range next {
				if ps := owned(p); ps != nil {
					ps.next = max(ps.next, o)
					if !ps.caughtUp && ps.next >= ps.end {
						ps.caughtUpNow()
						w.log.Info("entries partition caught up", "partition", p, "end", ps.end)
						if w.countReplaying() == 0 {
							w.fitTeams()
						}
					}
				}
			}
			continue
		}
		if w.topicNext[topic] == nil {
			w.topicNext[topic] = map[int32]int64{}
		}
		for p, o := range next {
			w.topicNext[topic][p] = max(w.topicNext[topic][p], o)
		}
	}
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
	for _, r := range rejected {
		if w.cfg.Cluster && r.topic != w.cfg.EntriesTopic && !w.sharedRejects.Load() {
			w.log.Debug("event rejected; the writer of entries partition 0 dead-letters it", "topic", r.topic, "partition", r.part, "offset", r.off, "reason_code", r.err.Code)
			continue
		}
		w.m.rejected.WithLabelValues(r.err.Code).Inc()
		w.log.Warn("event rejected", "topic", r.topic, "partition", r.part, "offset", r.off, "event", r.what, "reason_code", r.err.Code, "reason", r.err.Msg)
		if err := w.deadLetter(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func position(at []kafkasource.Position, i int) kafkasource.Position {
	if i < len(at) {
		return at[i]
	}
	return kafkasource.Position{Partition: -1, Offset: -1}
}

// deadLetter writes one rejected event to the DLQ, retrying with backoff until it is
// written or ctx ends. The first failure is logged at once and makes the worker not
// ready until a write succeeds.
func (w *Worker) deadLetter(ctx context.Context, r rejection) error {
	backoff := 100 * time.Millisecond
	for {
		err := w.src.Reject(ctx, r.topic, r.part, r.off, r.key, r.value, r.err)
		if err == nil {
			if w.dlqFail.Swap(false) {
				w.log.Info("dead-letter writes succeed again", "topic", r.topic, "partition", r.part, "offset", r.off)
			}
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		w.m.dlqErrors.Inc()
		if !w.dlqFail.Swap(true) || backoff >= 10*time.Second {
			w.log.Error("cannot dead-letter a rejected event; not ready until it is written, retrying", "topic", r.topic, "partition", r.part, "offset", r.off, "event", r.what, "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// matchIDs returns the ids of the matches held, ascending (under mu).
func (w *Worker) matchIDs() []int64 {
	return slices.Sorted(maps.Keys(w.matches))
}
