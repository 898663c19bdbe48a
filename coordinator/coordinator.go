package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/fantasy/leaderboard/membership"
	"github.com/fantasy/leaderboard/partition"
	"github.com/fantasy/leaderboard/records"
)

// Members is the membership the coordinator follows; *membership.Service satisfies it.
type Members interface {
	Members() []membership.Member
	Watch() (<-chan struct{}, func())
}

// Offsets returns the points topic's end offsets, partition -> offset: the snapshot a tick
// carries. The process implements it with kafkasource (kadm's ListEndOffsets).
type Offsets func(ctx context.Context) (map[int32]int64, error)

// Store is where the coordinator commits matches (the SetMatch and SetMatches records);
// *rankstore.Store and aerospikesink.Sink satisfy it. A starting coordinator reads its
// commits back (Get), so that the workers' barrier holds across its restart.
type Store interface {
	Put(ctx context.Context, ns string, recs []records.Record) error
	Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error)
}

// Deps are the coordinator's dependencies.
type Deps struct {
	Node    string // this coordinator's node name (status, logs)
	Members Members
	Offsets Offsets
	// Store, when set, receives each match's commit when its visible cycle advances: the
	// SetMatch record (state, visible cycle, totals, partitions) and the SetMatches list,
	// and, once every partition wrote a completed match's final standings, both in the
	// complete namespace too. Nil: nothing is committed (tests of the table alone).
	Store Store
	// CycleFloor is a cycle number already used (the highest in the store, or a
	// wall-clock floor): the first tick is above it even if the state file is lost.
	CycleFloor int64
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// OnPublish, if set, is called (under the coordinator's lock: it must not call back)
	// with every table the coordinator publishes, in epoch order: tests check them all.
	OnPublish func(Assignment)
}

// Errors a caller branches on (the HTTP layer turns them into status codes).
var (
	// ErrStale: a report or caught-up from a member that does not hold the partition in
	// the current epoch (a former owner, a cancelled loader): it must re-read the
	// assignment.
	ErrStale = errors.New("stale")
	// ErrBadRequest: the call names a partition, cycle or worker that cannot be.
	ErrBadRequest = errors.New("bad request")
)

// Coordinator assigns the entries partitions to the workers of the gossip cluster, hands
// moving partitions over make-before-break, ticks cycles and collects the workers' cycle
// reports. It is a dskit service: Start loads its state file, Run ticks and rebalances
// until stopped. It knows membership, partitions and cycles, never entries.
type Coordinator struct {
	*services.BasicService

	cfg        Config
	partitions int
	deps       Deps
	log        *slog.Logger
	token      string

	kick chan struct{} // a caught-up report or a drain: step the table

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every new tick or table
	table    partition.Table
	loadFrom []int64          // by partition: the epoch its current load started in
	ready    map[int32]string // partition -> loader that reported caught up
	drained  map[string]bool
	// drainAddr is a drained worker's gossip address when it was drained: the same name at
	// another address is a new process (a restarted pod), not the drained one.
	drainAddr map[string]string
	hwm       int64 // cycle numbers up to hwm are reserved in the state file
	next      int64 // next cycle number
	tick      Tick  // the last tick (Cycle 0: none yet)
	cycles    []CycleStatus
	latest    map[int32]Report // partition -> its writer's latest report
	visible   map[int64]int64  // match -> visible cycle
	// finals: match -> partition -> the cycle its final standings were written at (a
	// partition stops listing a match once it wrote them).
	finals    map[int64]map[int32]int64
	committed map[int64]bool // matches whose final commit is written
	// pending: match -> the ticks it has been held waiting for its open cycle's commit
	// (absent: its last open cycle is committed, or it is not known yet).
	pending map[int64]int
	// committedCh is closed and replaced when a match's cycle commits (a tick waits for
	// the open cycles' commits before it holds their matches).
	committedCh chan struct{}

	mTicks, mRebalances, mReports, mOffsetErrors, mCommitErrors prometheus.Counter
	mCycle, mEpoch                                              prometheus.Gauge
}

// New prepares a coordinator of partitions entries partitions; nothing runs until it is
// started.
func New(cfg Config, partitions int, deps Deps) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if partitions < 1 || partitions > partition.MaxPartitions {
		return nil, fmt.Errorf("partitions %d: must be 1..%d", partitions, partition.MaxPartitions)
	}
	if deps.Members == nil || deps.Offsets == nil {
		return nil, errors.New("coordinator: Members and Offsets are required")
	}
	token, err := cfg.adminToken()
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	c := &Coordinator{
		cfg: cfg, partitions: partitions, deps: deps, token: token,
		log:      deps.Logger.With("component", "coordinator"),
		kick:     make(chan struct{}, 1),
		changed:  make(chan struct{}),
		loadFrom: make([]int64, partitions),
		ready:    make(map[int32]string),
		drained:  make(map[string]bool),

		drainAddr: make(map[string]string),
		latest:    make(map[int32]Report),
		visible:   make(map[int64]int64),
		finals:    make(map[int64]map[int32]int64),
		pending:   make(map[int64]int),

		committedCh: make(chan struct{}),

		committed: make(map[int64]bool),
	}
	f := promauto.With(deps.Registerer)
	c.mTicks = f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_coordinator_ticks_total", Help: "Cycle ticks sent."})
	c.mRebalances = f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_coordinator_rebalances_total", Help: "Assignment table steps (new epochs) published."})
	c.mReports = f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_coordinator_reports_total", Help: "Worker cycle reports accepted."})
	c.mOffsetErrors = f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_coordinator_offset_errors_total", Help: "Ticks skipped because the points topic's end offsets could not be read."})
	c.mCycle = f.NewGauge(prometheus.GaugeOpts{Name: "leaderboard_coordinator_cycle", Help: "The last cycle ticked."})
	c.mCommitErrors = f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_coordinator_commit_errors_total", Help: "Match commits (match and matches records) the store refused or failed; the next advance of the match writes the then current commit."})
	c.mEpoch = f.NewGauge(prometheus.GaugeOpts{Name: "leaderboard_coordinator_epoch", Help: "The assignment table's epoch."})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "leaderboard_coordinator_partitions_unowned", Help: "Entries partitions whose writer is none or not a live worker: nobody ranks their contests."}, c.unowned)
	c.BasicService = services.NewBasicService(c.starting, c.running, nil).WithName("coordinator")
	return c, nil
}

func (c *Coordinator) starting(context.Context) error {
	if err := os.MkdirAll(c.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cannot create the coordinator data dir: %w", err)
	}
	st, err := loadState(c.cfg.DataDir)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hwm, c.next = st.CycleHWM, max(st.CycleHWM, c.deps.CycleFloor)+1
	for m, fin := range st.Finals {
		c.finals[m] = fin
	}
	for _, m := range st.Completed {
		c.committed[m] = true
	}
	switch {
	case len(st.Writer) == c.partitions:
		if c.table, err = partition.RestoreTable(st.Epoch, st.Writer, st.Loading); err != nil {
			return err
		}
		for p := range c.loadFrom {
			c.loadFrom[p] = st.Epoch
		}
	case len(st.Writer) != 0:
		// The entries topic was re-partitioned: every partition is assigned afresh (a
		// re-partition makes every worker replay anyway); epochs still only grow.
		c.log.Warn("stored table has another partition count: starting a new table", "stored", len(st.Writer), "partitions", c.partitions, "epoch", st.Epoch)
		c.table = partition.Table{Epoch: st.Epoch}
	default:
		c.table = partition.Table{Epoch: st.Epoch}
	}
	floor := c.loadCommitsLocked()
	for _, v := range c.visible { // cycle numbers above every committed one, too
		c.next = max(c.next, v+1)
	}
	if floor > c.table.Epoch {
		// The store holds commits of a later epoch than the state file: the file was
		// lost (or restored from an old copy). Epochs never go back: the workers' writes
		// are fenced by them, and they follow only newer tables.
		c.log.Warn("the store holds a later epoch than the state file: continuing above it", "state_epoch", c.table.Epoch, "store_epoch", floor)
		if c.table.Partitions() > 0 {
			w, l := make([]string, c.partitions), make([]string, c.partitions)
			for p := range int32(c.partitions) {
				w[p], l[p] = c.table.Writer(p), c.table.Loading(p)
			}
			if c.table, err = partition.RestoreTable(floor, w, l); err != nil {
				return err
			}
		} else {
			c.table = partition.Table{Epoch: floor}
		}
		if err := c.saveLocked(c.hwm); err != nil {
			return err
		}
	}
	c.mEpoch.Set(float64(c.table.Epoch))
	c.log.Info("coordinator state loaded", "data_dir", c.cfg.DataDir, "epoch", st.Epoch, "cycle_hwm", st.CycleHWM, "partitions", c.partitions)
	return nil
}

func (c *Coordinator) running(ctx context.Context) error {
	watch, stop := c.deps.Members.Watch()
	defer stop()
	// Until the gossip view settles, the stored table stands: a worker not heard of yet
	// would look dead. Ticks and reports go on meanwhile.
	settle := time.NewTimer(c.cfg.Settle)
	defer settle.Stop()
	settled := false
	delay := time.NewTimer(time.Hour)
	delay.Stop()
	defer delay.Stop()
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		var why string
		select {
		case <-ctx.Done():
			return nil
		case <-settle.C:
			settled, why = true, "start (view settled)"
		case <-watch:
			why = "membership changed"
			// A drained worker's leave is noted at once, before it may come back under
			// its name (a restarted pod) and be taken for the drained one.
			members := c.deps.Members.Members()
			c.mu.Lock()
			c.forgetGoneDrainsLocked(members)
			c.mu.Unlock()
			if c.cfg.RebalanceDelay > 0 && !c.lostHolder() {
				delay.Reset(c.cfg.RebalanceDelay) // a join: wait for the burst to end
				continue
			}
		case <-delay.C:
			why = "membership changed (still for the rebalance delay)"
		case <-c.kick:
			why = "caught up or drained"
		case <-t.C:
			if err := c.doTick(ctx); err != nil {
				return err
			}
			continue
		}
		if settled {
			if err := c.rebalance(why); err != nil {
				return err
			}
		}
	}
}

// doTick captures the points snapshot and publishes the next cycle. An unreadable
// snapshot skips the tick (logged, counted); an unwritable state file stops the
// coordinator, since a number it cannot persist could be handed out again.
func (c *Coordinator) doTick(ctx context.Context) error {
	c.awaitCommits(ctx, c.cfg.Interval/2)
	octx, cancel := context.WithTimeout(ctx, c.cfg.Interval)
	pts, err := c.deps.Offsets(octx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		c.mOffsetErrors.Inc()
		c.log.Warn("tick skipped: cannot read the points snapshot", "err", err)
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.next
	if n > c.hwm {
		if err := c.saveLocked(n + c.cfg.CycleReserve - 1); err != nil {
			return err
		}
	}
	c.next = n + 1
	c.tick = Tick{Cycle: n, Points: pts, At: c.deps.Now(), Epoch: c.table.Epoch, Hold: c.holdLocked()}
	c.cycles = append(c.cycles, CycleStatus{Cycle: n, At: c.tick.At})
	if len(c.cycles) > c.cfg.History {
		c.cycles = slices.Delete(c.cycles, 0, len(c.cycles)-c.cfg.History)
	}
	c.mTicks.Inc()
	c.mCycle.Set(float64(n))
	c.notifyLocked()
	return nil
}

// saveLocked persists the cycle high-water mark hwm with the current table.
func (c *Coordinator) saveLocked(hwm int64) error {
	st := persisted{CycleHWM: hwm, Epoch: c.table.Epoch, Completed: slices.Sorted(maps.Keys(c.committed))}
	for m, fin := range c.finals {
		if !c.committed[m] {
			if st.Finals == nil {
				st.Finals = map[int64]map[int32]int64{}
			}
			st.Finals[m] = fin
		}
	}
	if c.table.Partitions() > 0 {
		st.Writer, st.Loading = make([]string, c.partitions), make([]string, c.partitions)
		for p := range int32(c.partitions) {
			st.Writer[p], st.Loading[p] = c.table.Writer(p), c.table.Loading(p)
		}
	}
	if err := saveState(c.cfg.DataDir, st); err != nil {
		return err
	}
	c.hwm = hwm
	return nil
}

func (c *Coordinator) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// rebalance steps the table toward the assignment of the current membership and drains,
// as many steps as make progress (each a new epoch, persisted before it is published, and
// logged with its changes).
func (c *Coordinator) rebalance(why string) error {
	members := c.deps.Members.Members()
	c.mu.Lock()
	defer c.mu.Unlock()
	alive := make(map[string]bool)
	var workers []partition.Member
	for _, m := range members {
		if m.Meta.Role != membership.RoleWorker {
			continue
		}
		alive[m.Name] = true
		workers = append(workers, partition.Member{ID: m.Name, Capacity: max(1, m.Meta.Capacity), Draining: c.drained[m.Name]})
	}
	c.forgetGoneDrainsLocked(members)
	for i := range workers {
		workers[i].Draining = c.drained[workers[i].ID]
	}
	for range 4 {
		target, err := partition.Assign(c.cfg.Assign, c.table.Epoch+1, c.partitions, workers)
		if errors.Is(err, partition.ErrNoOwner) {
			if c.table.Partitions() > 0 {
				c.log.Warn("no worker can own partitions: the table stays", "epoch", c.table.Epoch, "why", why)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot assign partitions: %w", err)
		}
		next, changes, err := c.table.Step(target, func(m string) bool { return alive[m] },
			func(p int32, m string) bool { return c.ready[p] == m })
		if err != nil {
			return fmt.Errorf("cannot step the assignment table: %w", err)
		}
		if len(changes) == 0 {
			return nil
		}
		prev := c.table
		c.table = next
		if err := c.saveLocked(c.hwm); err != nil {
			c.table = prev
			return err
		}
		for p := range int32(c.partitions) {
			if next.Loading(p) != prev.Loading(p) {
				c.loadFrom[p] = next.Epoch
				delete(c.ready, p)
			}
			if next.Writer(p) != prev.Writer(p) {
				delete(c.ready, p)
			}
		}
		c.mRebalances.Inc()
		c.mEpoch.Set(float64(next.Epoch))
		c.log.Info("rebalance", "epoch", next.Epoch, "why", why, "workers", len(workers), "changes", len(changes), "moves", describe(changes))
		if c.deps.OnPublish != nil {
			c.deps.OnPublish(c.assignmentLocked())
		}
		c.notifyLocked()
		why = "follow-up step"
	}
	return nil
}

// lostHolder reports whether a partition's writer or loader is no longer a worker of the
// cluster: such a change is handled at once, not after the rebalance delay.
func (c *Coordinator) lostHolder() bool {
	alive := map[string]bool{}
	for _, m := range c.deps.Members.Members() {
		if m.Meta.Role == membership.RoleWorker {
			alive[m.Name] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range int32(c.table.Partitions()) {
		if w, l := c.table.Writer(p), c.table.Loading(p); (w != "" && !alive[w]) || (l != "" && !alive[l]) {
			return true
		}
	}
	return false
}

func describe(ch []partition.Change) string {
	var b strings.Builder
	for i, x := range ch {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%v:%s>%s", x.Partition, x.Kind, x.From, x.To)
	}
	return b.String()
}

// unowned counts the partitions whose writer is none or not a live worker member (the
// partitions_unowned gauge): with no worker left the table keeps its last writers.
func (c *Coordinator) unowned() float64 {
	alive := map[string]bool{}
	for _, m := range c.deps.Members.Members() {
		alive[m.Name] = m.Meta.Role == membership.RoleWorker
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p := range int32(c.partitions) {
		if !alive[c.table.Writer(p)] {
			n++
		}
	}
	return float64(n)
}

func (c *Coordinator) assignmentLocked() Assignment {
	a := Assignment{Epoch: c.table.Epoch, Writer: make([]string, c.partitions), Loading: make([]string, c.partitions)}
	for p := range int32(c.partitions) {
		a.Writer[p], a.Loading[p] = c.table.Writer(p), c.table.Loading(p)
	}
	return a
}

func (c *Coordinator) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Assignment is the current table.
func (c *Coordinator) Assignment() Assignment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.assignmentLocked()
}

// WaitAssignment returns the table once its epoch is above after, or the current one
// when ctx ends first.
func (c *Coordinator) WaitAssignment(ctx context.Context, after int64) Assignment {
	for {
		c.mu.Lock()
		a, ch := c.assignmentLocked(), c.changed
		c.mu.Unlock()
		if a.Epoch > after {
			return a
		}
		select {
		case <-ctx.Done():
			return a
		case <-ch:
		}
	}
}

// NextTick returns the newest tick once its cycle is above after; ok is false when ctx
// ends first.
func (c *Coordinator) NextTick(ctx context.Context, after int64) (t Tick, ok bool) {
	for {
		c.mu.Lock()
		t, ch := c.tick, c.changed
		c.mu.Unlock()
		if t.Cycle > after {
			return t, true
		}
		select {
		case <-ctx.Done():
			return Tick{}, false
		case <-ch:
		}
	}
}

// ReportCaughtUp records that worker replayed partition p, which it loads since epoch
// (or earlier); the next step hands p over to it.
func (c *Coordinator) ReportCaughtUp(u CaughtUp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := u.Partition
	switch {
	case p < 0 || int(p) >= c.partitions:
		return fmt.Errorf("%w: partition %d: there are %d partitions", ErrBadRequest, p, c.partitions)
	case u.Epoch > c.table.Epoch:
		return fmt.Errorf("%w: epoch %d: the current epoch is %d", ErrBadRequest, u.Epoch, c.table.Epoch)
	case c.table.Loading(p) != u.Worker:
		return fmt.Errorf("%w: %s is not loading partition %d in epoch %d (loader %q, writer %q)", ErrStale, u.Worker, p, c.table.Epoch, c.table.Loading(p), c.table.Writer(p))
	case u.Epoch < c.loadFrom[p]:
		return fmt.Errorf("%w: partition %d's load by %s started in epoch %d, after the reported epoch %d", ErrStale, p, u.Worker, c.loadFrom[p], u.Epoch)
	}
	if c.ready[p] != u.Worker {
		c.ready[p] = u.Worker
		c.log.Info("partition caught up", "partition", p, "worker", u.Worker, "epoch", u.Epoch)
		c.poke()
	}
	return nil
}

// Drain moves every partition of worker away, make-before-break; the worker stays in the
// cluster, owning nothing, until it leaves (it is then forgotten: back, it is a new worker).
func (c *Coordinator) Drain(worker string) error {
	members := c.deps.Members.Members()
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(members, func(m membership.Member) bool { return m.Name == worker })
	if i < 0 || members[i].Meta.Role != membership.RoleWorker {
		return fmt.Errorf("%w: no worker %q in the cluster", ErrBadRequest, worker)
	}
	if !c.drained[worker] {
		c.drained[worker] = true
		c.drainAddr[worker] = members[i].Addr
		c.log.Info("drain requested", "worker", worker)
		c.poke()
	}
	return nil
}

// forgetGoneDrainsLocked forgets the drains of workers that left the cluster or came back
// as another process (another address): back, a worker is a new one, not drained.
func (c *Coordinator) forgetGoneDrainsLocked(members []membership.Member) {
	for w := range c.drained {
		i := slices.IndexFunc(members, func(m membership.Member) bool { return m.Name == w })
		if i < 0 || members[i].Addr != c.drainAddr[w] {
			delete(c.drained, w)
			delete(c.drainAddr, w)
			c.log.Info("drained worker gone: a worker of that name is a new one", "worker", w)
		}
	}
}

// Report records a worker's cycle report for one partition. Only the partition's writer
// in the current epoch reports; its matches' visible cycles advance when every partition
// holding them has reported.
func (c *Coordinator) Report(r Report) error {
	c.mu.Lock()
	cm, err := c.reportLocked(r)
	c.mu.Unlock()
	if cm != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Interval)
		c.write(ctx, cm)
		cancel()
	}
	return err
}

func (c *Coordinator) reportLocked(r Report) (*commit, error) {
	p := r.Partition
	switch {
	case p < 0 || int(p) >= c.partitions:
		return nil, fmt.Errorf("%w: partition %d: there are %d partitions", ErrBadRequest, p, c.partitions)
	case r.Cycle < 1 || r.Cycle > c.tick.Cycle:
		return nil, fmt.Errorf("%w: cycle %d: the last tick is %d", ErrBadRequest, r.Cycle, c.tick.Cycle)
	case r.Epoch > c.table.Epoch:
		return nil, fmt.Errorf("%w: epoch %d: the current epoch is %d", ErrBadRequest, r.Epoch, c.table.Epoch)
	case c.table.Writer(p) != r.Worker:
		return nil, fmt.Errorf("%w: %s does not write partition %d in epoch %d (writer %q)", ErrStale, r.Worker, p, c.table.Epoch, c.table.Writer(p))
	}
	if prev, ok := c.latest[p]; ok && prev.Cycle >= r.Cycle {
		return nil, nil // a retry or an older cycle: nothing new
	}
	r.Matches = slices.Clone(r.Matches)
	r.Details = slices.Clone(r.Details)
	newFinal := false
	for _, d := range r.Details {
		if !slices.Contains(r.Matches, d.Match) {
			r.Matches = append(r.Matches, d.Match)
		}
		if d.State == records.StateCompleted && d.Cycle == r.Cycle {
			if c.finals[d.Match] == nil {
				c.finals[d.Match] = map[int32]int64{}
			}
			if _, ok := c.finals[d.Match][p]; !ok {
				newFinal = true
			}
			c.finals[d.Match][p] = r.Cycle
		}
	}
	c.latest[p] = r
	c.mReports.Inc()
	if i := slices.IndexFunc(c.cycles, func(s CycleStatus) bool { return s.Cycle == r.Cycle }); i >= 0 {
		s := &c.cycles[i]
		s.Reports++
		s.Entries += r.Entries
		s.Contests += r.Contests
		s.Records += r.Records
		for _, st := range r.Stages {
			j := slices.IndexFunc(s.Stages, func(x StageTime) bool { return x.Stage == st.Stage })
			if j < 0 {
				s.Stages = append(s.Stages, st)
			} else {
				s.Stages[j].Seconds = max(s.Stages[j].Seconds, st.Seconds)
			}
		}
	}
	cm := c.updateVisibleLocked()
	if newFinal || (cm != nil && len(cm.complete) > 0) {
		// Which partitions wrote a match's final standings, and which matches are
		// complete, survive a restart (the partitions do not say it again).
		if err := c.saveLocked(c.hwm); err != nil {
			c.log.Error("cannot save the matches' final standings in the state file; a restart before their commit would not commit them", "err", err)
		}
	}
	return cm, nil
}

// awaitCommits waits, at most wait, until every match's open cycle is committed: a tick
// that came while the last cycle's reports are still arriving (a cycle about as long as
// the interval) would otherwise hold those matches and skip a whole interval.
func (c *Coordinator) awaitCommits(ctx context.Context, wait time.Duration) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		open := 0
		for m := range c.pending {
			if !c.committed[m] {
				open++
			}
		}
		ch := c.committedCh
		c.mu.Unlock()
		if open == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-ch:
		}
	}
}

// maxHeldTicks bounds the ticks a match is held for its open cycle's commit: a partition
// that cannot write it (replaying after a takeover, its worker cut off) must not stop
// the match for good; the next open cycle abandons it.
const maxHeldTicks = 3

// holdLocked is the barrier of a tick: the matches whose last open cycle is not committed
// yet, held for at most maxHeldTicks ticks. Every other known match is open at this tick:
// its workers rank and write it, so every partition holding it writes the same cycles
// and the previous version of each of its records is a committed one
// (records/versions.go). A match not known yet (no report lists it) is never held.
func (c *Coordinator) holdLocked() []int64 {
	var hold []int64
	for _, m := range slices.Sorted(maps.Keys(c.visible)) {
		if c.committed[m] {
			continue
		}
		n, waiting := c.pending[m]
		switch {
		case !waiting:
			c.pending[m] = 0 // open at this tick
		case n < maxHeldTicks:
			c.pending[m] = n + 1
			hold = append(hold, m)
		default:
			c.log.Warn("a match's open cycle stayed uncommitted: opening the next one (readers are told its partitions are being written until it commits)", "match", m, "held_ticks", n)
			c.pending[m] = 0
		}
	}
	return hold
}

// loadCommitsLocked reads the committed cycles back from the store: ticks carry them from
// the first one on, so a worker's barrier (write a match's next cycle only once its last
// one is committed) holds across a coordinator restart. A store that does not answer
// leaves them to the first round of reports (logged).
func (c *Coordinator) loadCommitsLocked() (epoch int64) {
	if c.deps.Store == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, ok, err := c.deps.Store.Get(ctx, records.Live, records.SetMatches, records.MatchesKey)
	if err == nil && ok {
		var l records.Matches
		if l, err = records.MatchesFrom(b); err == nil {
			for _, id := range l.IDs {
				mb, ok, gerr := c.deps.Store.Get(ctx, records.Live, records.SetMatch, records.IDKey(id))
				if gerr != nil {
					err = gerr
					break
				}
				if m, derr := records.MatchFrom(mb); ok && derr == nil && m.Cycle > c.visible[id] {
					c.visible[id] = m.Cycle
				}
				if ok {
					epoch = max(epoch, records.StoredFence(mb).Epoch)
				}
			}
		}
	}
	if err != nil {
		c.log.Warn("cannot read the committed cycles back from the store; the workers' barrier waits for the first reports", "err", err)
		return epoch
	}
	if len(c.visible) > 0 {
		c.log.Info("committed cycles read back", "matches", len(c.visible), "epoch", epoch)
	}
	return epoch
}

// updateVisibleLocked advances every match's visible cycle to the lowest cycle its
// holders (the partitions whose latest report lists it, or that wrote its final
// standings) wrote it at, once every partition has reported (until then a silent
// partition might hold any match), and returns the commits to write (nil: none).
func (c *Coordinator) updateVisibleLocked() *commit {
	if len(c.latest) < c.partitions {
		return nil
	}
	type agg struct {
		low, high, asOf   int64
		entries, contests int64
		state             string
		parts             []int32
		final             bool // every holder wrote its final standings
	}
	ms := map[int64]*agg{}
	get := func(m int64) *agg {
		if ms[m] == nil {
			ms[m] = &agg{low: -1, final: true}
		}
		return ms[m]
	}
	for _, p := range slices.Sorted(maps.Keys(c.latest)) {
		r := c.latest[p]
		for _, m := range r.Matches {
			a := get(m)
			cyc, asOf, state := r.Cycle, r.Cycle, ""
			if i := slices.IndexFunc(r.Details, func(d MatchReport) bool { return d.Match == m }); i >= 0 {
				d := r.Details[i]
				cyc, asOf, state = d.Cycle, d.AsOf, d.State
				a.entries += d.Entries
				a.contests += d.Contests
			}
			if a.low < 0 || cyc < a.low {
				a.low, a.asOf = cyc, asOf
			}
			a.high = max(a.high, cyc)
			if state != "" {
				a.state = state
			}
			if _, ok := c.finals[m][p]; !ok {
				a.final = false
			}
			a.parts = append(a.parts, p)
		}
	}
	// A partition that wrote a match's final standings no longer lists it.
	for m, fin := range c.finals {
		for p, cyc := range fin {
			a := get(m)
			if !slices.Contains(a.parts, p) {
				a.parts = append(a.parts, p)
				a.state = records.StateCompleted
				if a.low < 0 || cyc > a.low {
					a.low = cyc
				}
				a.high = max(a.high, a.low)
			}
		}
	}
	var out commit
	for _, m := range slices.Sorted(maps.Keys(ms)) {
		a := ms[m]
		slices.Sort(a.parts)
		// A cycle is committed only when every partition holding the match wrote that very
		// cycle (the same last written cycle everywhere): a partition that skipped it has
		// no version of it. The workers rank a match only at the ticks the coordinator
		// opens for it (Tick.Hold), so their last written cycles meet.
		if a.low > c.visible[m] && a.low == a.high {
			c.visible[m] = a.low
			delete(c.pending, m)
			close(c.committedCh)
			c.committedCh = make(chan struct{})
			out.live = append(out.live, records.Match{ID: m, State: a.state, Cycle: a.low, AsOf: a.asOf, Entries: a.entries, Contests: a.contests, Parts: a.parts}.Record())
		}
		if a.final && a.state == records.StateCompleted && !c.committed[m] {
			c.committed[m] = true
			fin := records.Match{ID: m, State: records.StateCompleted, Cycle: c.visible[m], AsOf: a.asOf, Parts: a.parts}
			for _, p := range a.parts {
				fin.Cycle = max(fin.Cycle, c.finals[m][p])
			}
			fin.Entries, fin.Contests = a.entries, a.contests
			out.complete = append(out.complete, fin.Record())
			out.live = append(out.live, fin.Record())
		}
	}
	if len(out.live) == 0 {
		return nil
	}
	all := slices.Sorted(maps.Keys(c.visible))
	out.live = append(out.live, records.Matches{IDs: all}.Record())
	if len(out.complete) > 0 {
		out.complete = append(out.complete, records.Matches{IDs: slices.Sorted(maps.Keys(c.committed))}.Record())
	}
	out.fence = records.Fence{Epoch: c.table.Epoch, Cycle: c.tick.Cycle}
	return &out
}

// commit is a set of commit records to write (outside the lock).
type commit struct {
	live, complete []records.Record
	fence          records.Fence
}

// write writes a commit: the complete namespace first (a final commit), then live. A
// commit refused by its fence (a newer one is written) is not an error.
func (c *Coordinator) write(ctx context.Context, cm *commit) {
	if cm == nil || c.deps.Store == nil {
		return
	}
	for _, ns := range []struct {
		name string
		recs []records.Record
	}{{records.Complete, cm.complete}, {records.Live, cm.live}} {
		if len(ns.recs) == 0 {
			continue
		}
		for i := range ns.recs {
			ns.recs[i].Fence = cm.fence
		}
		if err := c.deps.Store.Put(ctx, ns.name, ns.recs); err != nil && !errors.Is(err, records.ErrFenced) {
			c.mCommitErrors.Inc()
			c.log.Warn("cannot write match commits", "namespace", ns.name, "records", len(ns.recs), "err", err)
			if ns.name == records.Complete { // retried by the next report
				c.mu.Lock()
				for _, r := range ns.recs {
					if r.Set == records.SetMatch {
						id, _ := strconv.ParseInt(r.Key, 10, 64)
						delete(c.committed, id)
					}
				}
				c.mu.Unlock()
			}
			return
		}
	}
}

// Visible is match's visible cycle (0: none yet).
func (c *Coordinator) Visible(match int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.visible[match]
}

// Status is the coordinator's view for operators.
func (c *Coordinator) Status() Status {
	members := c.deps.Members.Members() // fresh: the last rebalance's may be older (settling)
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.assignmentLocked()
	s := Status{Node: c.deps.Node, Epoch: a.Epoch, Cycle: c.tick.Cycle, Interval: c.cfg.Interval.String(), Partitions: c.partitions}
	workers := map[string]*WorkerStatus{}
	for _, m := range members {
		s.Members = append(s.Members, MemberStatus{Name: m.Name, Role: m.Meta.Role.String(), Addr: m.Addr, HTTPAddr: m.Meta.HTTPAddr, Capacity: m.Meta.Capacity, Draining: c.drained[m.Name]})
		if m.Meta.Role == membership.RoleWorker {
			workers[m.Name] = &WorkerStatus{Name: m.Name, Alive: true, Draining: c.drained[m.Name], Writing: []int32{}, Loading: []int32{}}
		}
	}
	get := func(n string) *WorkerStatus {
		if workers[n] == nil {
			workers[n] = &WorkerStatus{Name: n, Writing: []int32{}, Loading: []int32{}}
		}
		return workers[n]
	}
	for p := range int32(c.partitions) {
		if w := a.Writer[p]; w != "" {
			get(w).Writing = append(get(w).Writing, p)
		} else {
			s.Unassigned = append(s.Unassigned, p)
		}
		if l := a.Loading[p]; l != "" {
			get(l).Loading = append(get(l).Loading, p)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(workers)) {
		s.Workers = append(s.Workers, *workers[n])
	}
	for i := len(c.cycles) - 1; i >= 0; i-- {
		cs := c.cycles[i]
		cs.Stages = slices.Clone(cs.Stages)
		s.Cycles = append(s.Cycles, cs)
	}
	holders := map[int64][]int32{}
	for p, r := range c.latest {
		for _, m := range r.Matches {
			holders[m] = append(holders[m], p)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(holders)) {
		slices.Sort(holders[m])
		s.Matches = append(s.Matches, MatchStatus{Match: m, Visible: c.visible[m], Partitions: holders[m]})
	}
	return s
}
