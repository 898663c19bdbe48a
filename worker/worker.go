package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
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

// Store is where results go; *rankstore.Store (and the Aerospike sink) satisfy it.
type Store interface {
	Put(ctx context.Context, ns string, recs []records.Record) error
	Delete(ctx context.Context, ns, set string, keys []string) error
	Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error)
}

// Config configures a worker.
type Config struct {
	Interval     time.Duration // cycle interval
	Refresh      time.Duration // every record of a live match is rewritten within this (TTL refresh)
	EntriesTopic string        // for dead-lettering entries the worker's state rejects
	WriteBatch   int           // records per store write
	Engine       engine.Config
}

// RegisterFlags registers the worker's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.DurationVar(&c.Interval, prefix+"interval", 10*time.Second, "ranking cycle interval")
	fs.DurationVar(&c.Refresh, prefix+"refresh", 20*time.Minute, "rewrite every record of a live match within this period, so none reaches the live TTL")
	fs.IntVar(&c.WriteBatch, prefix+"write-batch", 5000, "records per store write")
	c.EntriesTopic = "lb.entries"
	c.Engine = engine.DefaultConfig()
	c.Engine.RegisterFlags(fs, prefix+"engine-")
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
	}
	return c.Engine.Validate()
}

// Worker ranks the matches whose events it consumes.
type Worker struct {
	cfg   Config
	src   Source
	store Store
	log   *slog.Logger
	now   func() time.Time
	m     metrics

	mu      sync.Mutex // guards matches and the ingest side of each match
	matches map[int64]*match
	cycleMu sync.Mutex // one cycle at a time

	ready    atomic.Bool
	lastStat atomic.Pointer[CycleReport]
}

type metrics struct {
	cycles      *prometheus.CounterVec
	stage       *prometheus.HistogramVec
	written     *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	entries     *prometheus.GaugeVec
	cycleErrors prometheus.Counter
}

// New creates a worker. now is the clock (time.Now in production).
func New(cfg Config, src Source, store Store, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := promauto.With(reg)
	return &Worker{
		cfg: cfg, src: src, store: store, log: log, now: now,
		matches: map[int64]*match{},
		m: metrics{
			cycles:      f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_cycles_total", Help: "Ranking cycles run, by match."}, []string{"match"}),
			stage:       f.NewHistogramVec(prometheus.HistogramOpts{Name: "leaderboard_cycle_stage_seconds", Help: "Time per cycle stage.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"stage"}),
			written:     f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_records_written_total", Help: "Records written to the store, by namespace and set."}, []string{"namespace", "set"}),
			rejected:    f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_worker_rejected_total", Help: "Events the worker's state rejected (dead-lettered), by reason."}, []string{"reason"}),
			entries:     f.NewGaugeVec(prometheus.GaugeOpts{Name: "leaderboard_entries", Help: "Entries held, by match."}, []string{"match"}),
			cycleErrors: f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_cycle_errors_total", Help: "Cycles that failed (and will be retried)."}),
		},
	}, nil
}

// Ready reports whether the worker has run a cycle (or has nothing live to rank) since
// it caught up with its topics.
func (w *Worker) Ready() bool { return w.ready.Load() }

// CycleReport is the last cycle's summary (for logs, tests and the coordinator).
type CycleReport struct {
	Match   int64
	Cycle   int64
	AsOf    time.Time
	Stats   engine.Stats
	Written int
	Took    time.Duration
}

// LastCycle returns the most recent cycle report, or nil.
func (w *Worker) LastCycle() *CycleReport { return w.lastStat.Load() }

// Run consumes and ranks until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.ingest(ctx); err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("ingest: %w", err))
		}
	})
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case <-t.C:
			if err := w.Cycle(ctx); err != nil && ctx.Err() == nil {
				w.m.cycleErrors.Inc()
				w.log.Error("cycle failed; retrying next interval", "err", err)
			}
		}
	}
}

// ingest polls the source and applies events until ctx ends. A failed poll (the broker
// unreachable, a dead letter not yet acknowledged) is retried with backoff: the source
// hands back the same batch, so nothing is skipped.
func (w *Worker) ingest(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		b, err := w.src.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
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
		if err := w.Apply(ctx, b); err != nil {
			return err
		}
	}
}
