package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/worker"
)

// nodeConfig is a whole single-node system: source, worker, embedded store, API.
type nodeConfig struct {
	kafka   kafkasource.Config
	worker  worker.Config
	store   rankstore.Config
	backend storeSelect // --store embedded|aerospike (storeflags.go)
	api     api.Config
	dataDir string
	verbose bool
	admin   string // --admin-http (admin.go): metrics, pprof, probes
	gcPct   int    // --gc-percent: the Go GC's target (debug.SetGCPercent) unless GOGC is set
}

func (c *nodeConfig) registerFlags(fs *flag.FlagSet, withKafka bool) {
	if withKafka {
		c.kafka.RegisterFlags(fs, "")
	} else {
		c.kafka = kafkasource.DefaultConfig()
	}
	c.worker.RegisterFlags(fs, "")
	c.store.RegisterFlags(fs, "")
	c.backend.registerFlags(fs, storeEmbedded)
	c.api.RegisterFlags(fs, "")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory for the complete namespace (final standings survive restarts); empty = memory only")
	fs.BoolVar(&c.verbose, "v", false, "log every cycle")
	registerAdminFlag(fs, &c.admin)
	fs.IntVar(&c.gcPct, "gc-percent", defaultGCPercent, "the Go garbage collector's target: heap growth, in percent of the live heap, before a collection (Go's default is 100; lower holds less memory for more GC work; docs/PERFORMANCE.md, \"Full-scale run\"); from the start; 0 leaves Go's setting; the GOGC environment variable, when set, wins")
}

// defaultGCPercent is --gc-percent's default. Go's 100 (a heap goal of twice the live
// heap) let the heap double in the cold start's first cycle, the node's memory peak (481
// and 497 B/entry at 5.6M; 395 and 424 at 50 from the start, 369 and 373 at 25: "The
// node's memory peaks" in docs/PERFORMANCE.md). The worker's state and the engine's
// columns are pointer-free, so a collection of the node's ~0.6 GB heap costs ~30 ms of
// CPU: 25 held the same steady memory as 50 (370 B/entry), the same freshness and live
// cycles, and a cold start within the runs' noise. standalone, worker and demo apply it
// from the start (applyGCPercent).
const defaultGCPercent = 25

// applyGCPercent applies --gc-percent at once, for the cold start too, and once the node
// is first ready returns the replay's and first cycle's garbage to the OS
// (debug.FreeOSMemory: one collection), which the runtime's scavenger would otherwise
// return over minutes, so the node's resident memory falls to its steady state when it
// becomes ready. The cold start ran at Go's own 100 until 2026-12-02, for speed, when the
// store's records were on the Go heap and each collection marked them; they are off it
// (rankstore/offheap.go) and a collection of the node's ~0.6 GB heap at 5.6M entries
// costs ~30 ms of CPU, while the heap at 100 grew to twice its live size in the first
// cycle, the node's memory peak (docs/PERFORMANCE.md, "The node's memory peaks").
func applyGCPercent(ctx context.Context, pct int, ready func() bool, every time.Duration, log *slog.Logger) {
	pct = setGCPercent(pct)
	t := time.NewTicker(every)
	defer t.Stop()
	for !ready() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	start := time.Now()
	debug.FreeOSMemory()
	log.Debug("garbage collector", "gc_percent", pct, "returned_in", time.Since(start))
}

// setGCPercent applies --gc-percent unless it is 0 or the GOGC environment variable is set
// (an operator's own setting wins); it returns the percent in force.
func setGCPercent(pct int) int {
	if os.Getenv("GOGC") != "" || pct <= 0 { // < 0: refused by validate
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(pct)
	return pct
}

func (c *nodeConfig) validate() error {
	c.store.DataDir = c.dataDir
	c.worker.EntriesTopic = c.kafka.EntriesTopic
	c.worker.PointsTopic, c.worker.MatchesTopic = c.kafka.PointsTopic, c.kafka.MatchesTopic
	for _, v := range []interface{ Validate() error }{&c.kafka, &c.worker, &c.store, &c.api} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if c.gcPct < 0 {
		return fmt.Errorf("%w: --gc-percent %d: want a percent > 0, or 0 for Go's own setting", errUsage, c.gcPct)
	}
	if c.backend.kind == "" {
		c.backend.kind = storeEmbedded
	}
	if err := c.backend.validate(c.store); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func cmdStandalone(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("standalone", flag.ContinueOnError)
	var c nodeConfig
	c.registerFlags(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log := logger(stderr, c.verbose)
	n, err := startNode(ctx, c, log)
	if err != nil {
		return err
	}
	go applyGCPercent(ctx, c.gcPct, n.ready, 100*time.Millisecond, log)
	fmt.Fprintf(stdout, "leaderboard API on http://%s (metrics, pprof: %s); ranking every %v from %v\n", n.addr, n.adminURL(), c.worker.Interval, c.kafka.Brokers)
	return n.wait()
}

func logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// node is a running single-node system.
type node struct {
	addr   string
	admin  string // the admin listener's address; "" when off
	store  *rankstore.Store
	worker *worker.Worker
	sup    *supervisor
}

// wait blocks until the node stops, and returns why if a part died.
func (n *node) wait() error { return n.sup.wait() }

// ready is the node's /readyz: every part alive, every owned partition caught up and
// published.
func (n *node) ready() bool { return n.sup.alive() && n.worker.Ready() }

// cycleEpoch is the Ticker's wall-clock floor: cycle numbers are at least the intervals
// elapsed since then (docs/RELIABILITY.md).
var cycleEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// startNode wires source -> worker -> embedded store <- API and starts them; they run
// until ctx ends.
func startNode(ctx context.Context, c nodeConfig, log *slog.Logger) (*node, error) {
	if c.dataDir != "" {
		// The cycle high-water mark is written before the store's first save.
		if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create --data-dir %s (check the path and its permissions): %w", c.dataDir, err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := kafkasource.EnsureTopics(ctx, c.kafka.Brokers, c.kafka, 16); err != nil {
		return nil, fmt.Errorf("cannot reach Kafka at %v (is a broker running? try 'leaderboard broker'): %w", c.kafka.Brokers, err)
	}
	parts, err := kafkasource.Partitions(ctx, c.kafka)
	if err != nil {
		return nil, err
	}
	src, err := kafkasource.New(c.kafka, log, reg)
	if err != nil {
		return nil, err
	}
	// The caught-up gate: the end offsets found now are what each partition and topic
	// must reach before the node publishes or runs a final cycle.
	ends := map[string]map[int32]int64{}
	for _, topic := range []string{c.kafka.EntriesTopic, c.kafka.PointsTopic, c.kafka.MatchesTopic} {
		if ends[topic], err = src.EndOffsets(ctx, topic); err != nil {
			src.Close()
			return nil, err
		}
	}
	store, err := openStore(c.backend, c.store, log, reg)
	if err != nil {
		src.Close()
		return nil, err
	}
	w, err := worker.New(c.worker, src, store.rw, log, reg, time.Now)
	if err != nil {
		src.Close()
		return nil, err
	}
	start := make(map[int32]int64, len(parts))
	for _, p := range parts {
		if err := w.AddPartition(p, ends[c.kafka.EntriesTopic][p]); err != nil {
			src.Close()
			return nil, err
		}
		start[p] = kafkasource.OffsetStart // entries are upserts: replaying rebuilds the state
	}
	w.SetTopicEnds(c.kafka.PointsTopic, ends[c.kafka.PointsTopic])
	w.SetTopicEnds(c.kafka.MatchesTopic, ends[c.kafka.MatchesTopic])
	if err := src.AssignEntries(start); err != nil {
		src.Close()
		return nil, err
	}
	// Cycle numbers never go backwards: above both the high-water mark in the data dir
	// and every cycle in the store.
	floor, err := worker.StoredCycle(ctx, store.rw)
	if err != nil {
		src.Close()
		return nil, err
	}
	ticks, err := worker.NewTicker(worker.TickerConfig{Interval: c.worker.Interval, Dir: c.dataDir, Floor: floor, Epoch: cycleEpoch},
		func(ctx context.Context) (map[int32]int64, error) { return src.EndOffsets(ctx, c.kafka.PointsTopic) }, time.Now)
	if err != nil {
		src.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", c.api.Addr)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("cannot listen on %s (is another server on it? pick another with --http): %w", c.api.Addr, err)
	}
	adminLn, err := listenAdmin(c.admin)
	if err != nil {
		ln.Close()
		src.Close()
		return nil, err
	}
	sup := newSupervisor(ctx, log)
	n := &node{addr: ln.Addr().String(), store: store.embedded, worker: w, sup: sup}
	srv := api.New(c.api, store.rw, log, reg, n.ready)
	srv.SetConsole(api.LocalConsole(reg, func() coordinator.Status { // /console: this node alone
		var cycle int64
		if r := w.LastCycle(); r != nil {
			cycle = r.Cycle
		}
		return api.StandaloneStatus("", n.addr, c.worker.Interval, w.Partitions(), cycle)
	}))
	registerReady(reg, n.ready)
	workerDone := make(chan struct{})
	sup.start("worker", func(ctx context.Context) error { return w.Run(ctx, ticks) }, func() {
		ticks.Stop()
		src.Close()
		close(workerDone)
	})
	sup.start("api", func(ctx context.Context) error { return srv.Serve(ctx, ln) }, nil)
	if adminLn != nil {
		n.admin = adminLn.Addr().String()
		sup.start("admin", func(ctx context.Context) error {
			return api.ServeAdmin(ctx, adminLn, api.AdminHandler(reg, n.ready), log)
		}, nil)
	}
	sup.start("store", func(ctx context.Context) error {
		store.Run(ctx, time.Minute)
		<-workerDone // the last write is done: save the namespaces
		return store.Close()
	}, nil)
	log.Info("node started", "api", n.addr, "kafka", c.kafka.Brokers, "partitions", len(parts), "interval", c.worker.Interval)
	return n, nil
}

// adminURL is where the node's metrics and profiles are, for a start-up message.
func (n *node) adminURL() string {
	if n.admin == "" {
		return "off, see --admin-http"
	}
	return "http://" + n.admin + "/metrics"
}
