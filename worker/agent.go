package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/kafkasource"
)

// Entries is the part of the Kafka source an Agent moves partitions in and out of;
// *kafkasource.Source satisfies it.
type Entries interface {
	AssignEntries(start map[int32]int64) error
	RevokeEntries(partitions []int32)
	EndOffsets(ctx context.Context, topic string) (map[int32]int64, error)
}

// Coordinator is the coordinator as a worker sees it; *coordinator.Client satisfies it.
type Coordinator interface {
	Next(ctx context.Context) (coordinator.Tick, error)
	WaitAssignment(ctx context.Context, after int64) (coordinator.Assignment, error)
	Report(ctx context.Context, r coordinator.Report) error
	CaughtUp(ctx context.Context, p int32, epoch int64) error
	Leave(ctx context.Context) error
}

// Agent makes a Worker one of a cluster's (docs/CLUSTER.md): it follows the
// coordinator's assignment table (a partition to load is replayed from its start, one to
// write is promoted, one no longer held is dropped and revoked), tells the coordinator
// when a loading partition has caught up, runs the coordinator's ticks under the epoch it
// applied, and reports each partition's cycle.
type Agent struct {
	w       *Worker
	src     Entries
	co      Coordinator
	name    string
	topic   string // the entries topic
	log     *slog.Logger
	backoff time.Duration

	mu      sync.Mutex
	epoch   int64         // the epoch of the table applied last
	applied chan struct{} // closed and replaced when a table is applied
	loads   map[int32]int64
	told    map[int32]int64 // partition -> the epoch its caught-up was accepted in
}

// NewAgent ties w (configured with Cluster set) to the coordinator co as member name.
// src is w's source; entriesTopic its entries topic.
func NewAgent(w *Worker, src Entries, co Coordinator, name, entriesTopic string, log *slog.Logger) *Agent {
	return &Agent{w: w, src: src, co: co, name: name, topic: entriesTopic, log: log.With("component", "agent"),
		backoff: 200 * time.Millisecond, applied: make(chan struct{}), loads: map[int32]int64{}, told: map[int32]int64{}}
}

// Epoch is the epoch of the assignment table applied last (0: none yet).
func (a *Agent) Epoch() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.epoch
}

// Run follows the coordinator and runs the worker until ctx ends or a part fails.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a.w.SetReporter(a.report)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := a.follow(ctx); err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("following the coordinator's assignments: %w", err))
		}
	})
	wg.Go(func() { a.tellCaughtUp(ctx) })
	err := a.w.Run(ctx, ticks{a})
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return err
}

// follow long-polls the assignment table and applies every new epoch. A coordinator
// that cannot be reached is retried with backoff: the worker keeps the partitions it has
// (its writes are fenced by the epoch it has) until it hears otherwise.
func (a *Agent) follow(ctx context.Context) error {
	backoff := a.backoff
	after := int64(-1)
	for ctx.Err() == nil {
		t, err := a.co.WaitAssignment(ctx, after)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			a.log.Warn("cannot read the assignment from the coordinator; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = a.backoff
		if t.Epoch <= after {
			continue // the long-poll ended without a newer table
		}
		if err := a.apply(ctx, t); err != nil {
			return err
		}
		after = t.Epoch
	}
	return nil
}

// apply brings the worker's partitions to table t: drops what this member neither writes
// nor loads, loads what is new (a takeover writes at once), promotes what it loaded and
// now writes.
func (a *Agent) apply(ctx context.Context, t coordinator.Assignment) error {
	writes, loads := t.Writes(a.name), t.Loads(a.name)
	want := map[int32]bool{}
	for _, p := range writes {
		want[p] = true
	}
	for _, p := range loads {
		want[p] = false
	}
	owned := a.w.Partitions()
	var drop []int32
	for p := range owned {
		if _, ok := want[p]; !ok {
			drop = append(drop, p)
		}
	}
	slices.Sort(drop)
	for _, p := range drop {
		a.src.RevokeEntries([]int32{p})
		a.w.DropPartition(p)
	}
	var add []int32
	for p := range want {
		if _, ok := owned[p]; !ok {
			add = append(add, p)
		}
	}
	slices.Sort(add)
	if len(add) > 0 {
		ends, err := a.endOffsets(ctx)
		if err != nil {
			return err
		}
		start := map[int32]int64{}
		for _, p := range add {
			// A takeover (want[p]) is promoted by Adopt below, with the epoch.
			if err := a.w.LoadPartition(p, ends[p]); err != nil {
				return err
			}
			start[p] = kafkasource.OffsetStart // entries are upserts: replaying rebuilds the state
		}
		if err := a.src.AssignEntries(start); err != nil {
			return err
		}
	}
	var promote []int32
	for _, p := range writes {
		if !a.w.Writing(p) {
			promote = append(promote, p)
		}
	}
	if err := a.w.Adopt(t.Epoch, promote); err != nil {
		return err
	}
	a.w.SetSharedRejects(slices.Contains(writes, 0))
	a.mu.Lock()
	a.epoch = t.Epoch
	a.loads = map[int32]int64{}
	for _, p := range loads {
		a.loads[p] = t.Epoch
	}
	for p := range a.told {
		if _, ok := a.loads[p]; !ok {
			delete(a.told, p)
		}
	}
	close(a.applied)
	a.applied = make(chan struct{})
	a.mu.Unlock()
	a.log.Info("assignment applied", "epoch", t.Epoch, "writes", writes, "loads", loads, "dropped", drop, "added", add)
	return nil
}

// endOffsets reads the entries topic's end offsets, retrying until ctx ends.
func (a *Agent) endOffsets(ctx context.Context) (map[int32]int64, error) {
	backoff := a.backoff
	for {
		ends, err := a.src.EndOffsets(ctx, a.topic)
		if err == nil {
			return ends, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a.log.Warn("cannot read the entries topic's end offsets; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// tellCaughtUp tells the coordinator, once per loading epoch, that a partition being
// loaded has caught up: the coordinator then hands it over.
func (a *Agent) tellCaughtUp(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		parts := a.w.Partitions()
		a.mu.Lock()
		var due []int32
		for p, e := range a.loads {
			if parts[p] && a.told[p] != e {
				due = append(due, p)
			}
		}
		loads := maps.Clone(a.loads)
		a.mu.Unlock()
		slices.Sort(due)
		for _, p := range due {
			err := a.co.CaughtUp(ctx, p, loads[p])
			switch {
			case err == nil:
				a.log.Info("loaded partition caught up; told the coordinator", "partition", p, "epoch", loads[p])
				a.mu.Lock()
				a.told[p] = loads[p]
				a.mu.Unlock()
			case coordinator.IsStale(err):
				a.log.Debug("caught-up refused: the table moved on", "partition", p, "err", err)
			case ctx.Err() == nil:
				a.log.Warn("cannot tell the coordinator a partition caught up; retrying", "partition", p, "err", err)
			}
		}
	}
}

// Drain hands this worker's partitions over before it stops: it asks the coordinator to
// move them away (Leave) and waits, the worker running meanwhile (the new owners load
// them while it still writes them), until it holds none or ctx ends. Call it while Run
// runs; then stop Run.
func (a *Agent) Drain(ctx context.Context) error {
	if len(a.w.Partitions()) == 0 {
		return nil
	}
	e0 := a.Epoch()
	backoff := a.backoff
	// A coordinator that does not answer within the grace cannot orchestrate a hand-over
	// anyway: stop (the partitions are taken over once this worker left).
	lctx, cancel := context.WithTimeout(ctx, drainGrace)
	defer cancel()
	for {
		err := a.co.Leave(lctx)
		if err == nil {
			break
		}
		if lctx.Err() != nil {
			return fmt.Errorf("cannot ask the coordinator to move the partitions away: %w", err)
		}
		a.log.Warn("cannot ask the coordinator to move the partitions away; retrying", "err", err, "in", backoff)
		select {
		case <-lctx.Done():
			return fmt.Errorf("cannot ask the coordinator to move the partitions away: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	a.log.Info("stopping: handing the partitions over", "partitions", len(a.w.Partitions()))
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	// The coordinator steps the table at once on a drain; no new epoch within the grace
	// means no other worker can take the partitions: stop without waiting for them.
	grace := time.Now().Add(drainGrace)
	for len(a.w.Partitions()) > 0 {
		if a.Epoch() == e0 && time.Now().After(grace) {
			return fmt.Errorf("no new assignment within %v of the leave: no other worker can take the partitions", drainGrace)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("partitions %v not handed over in time: %w", slices.Sorted(maps.Keys(a.w.Partitions())), ctx.Err())
		case <-t.C:
		}
	}
	a.log.Info("every partition handed over")
	return nil
}

// drainGrace is how long Drain waits for the coordinator's first step after a leave.
const drainGrace = 5 * time.Second

// report sends each written partition's share of a cycle to the coordinator.
func (a *Agent) report(ctx context.Context, res CycleResult) {
	stages := make([]coordinator.StageTime, 0, len(res.Stages)+1)
	for _, s := range res.Stages {
		stages = append(stages, coordinator.StageTime{Stage: s.Name, Seconds: s.Duration.Seconds()})
	}
	stages = append(stages, coordinator.StageTime{Stage: "cycle", Seconds: res.Took.Seconds()})
	for _, p := range slices.Sorted(maps.Keys(res.Parts)) {
		pr := res.Parts[p]
		if !pr.Written {
			continue
		}
		r := coordinator.Report{Partition: p, Epoch: res.Epoch, Cycle: res.Cycle, Records: int64(pr.Records), Stages: stages, Matches: []int64{}}
		for _, m := range pr.Matches {
			r.Matches = append(r.Matches, m.Match)
			r.Details = append(r.Details, coordinator.MatchReport{Match: m.Match, State: m.State, Cycle: m.Cycle, AsOf: m.AsOf, Entries: m.Entries, Contests: m.Contests})
			r.Entries += m.Entries
			r.Contests += m.Contests
		}
		if err := a.co.Report(ctx, r); err != nil && ctx.Err() == nil {
			if coordinator.IsStale(err) {
				a.log.Debug("report refused: the partition moved on", "partition", p, "cycle", res.Cycle, "err", err)
			} else {
				a.log.Warn("cannot report a cycle to the coordinator", "partition", p, "cycle", res.Cycle, "err", err)
			}
		}
	}
}

// ticks is the coordinator's ticks as the worker's CycleSource: a tick of an epoch the
// agent has not applied yet waits (briefly) for that table, so the cycle writes only
// what this worker holds in it; the cycle is fenced by the epoch applied.
type ticks struct{ a *Agent }

func (t ticks) Next(ctx context.Context) (Tick, error) {
	var ct coordinator.Tick
	backoff := t.a.backoff
	for {
		var err error
		if ct, err = t.a.co.Next(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return Tick{}, ctx.Err()
		}
		// A coordinator restarting or cut off: no cycle runs meanwhile (a cut-off worker
		// stops writing), and the worker goes on reading its partitions.
		t.a.log.Warn("cannot get the next tick from the coordinator; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return Tick{}, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
	for {
		t.a.mu.Lock()
		epoch, ch := t.a.epoch, t.a.applied
		t.a.mu.Unlock()
		if epoch >= ct.Epoch {
			return Tick{Cycle: ct.Cycle, Points: ct.Points, At: ct.At, Epoch: epoch, Hold: ct.Hold}, nil
		}
		select {
		case <-ctx.Done():
			return Tick{}, ctx.Err()
		case <-ch:
		case <-deadline.C:
			// The table of the tick's epoch has not arrived: run the cycle under the one
			// applied (fenced by it: a newer owner's writes win).
			return Tick{Cycle: ct.Cycle, Points: ct.Points, At: ct.At, Epoch: epoch, Hold: ct.Hold}, nil
		}
	}
}
