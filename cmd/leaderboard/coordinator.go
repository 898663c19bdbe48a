package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/membership"
	lbnode "github.com/fantasy/leaderboard/node"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/worker"
)

// storeNone is the coordinator's --store none: it commits nothing (tests of the table).
const storeNone = "none"

// cmdCoordinator runs `leaderboard coordinator`: gossip membership, the coordinator
// service and its HTTP API (docs/CLUSTER.md, "Coordinator"), until ctx ends or a part fails.
func cmdCoordinator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	var (
		kcfg kafkasource.Config
		mcfg membership.Config
		ccfg coordinator.Config
		ttls rankstore.Config
		sel  storeSelect
	)
	kcfg.RegisterFlags(fs, "")
	mcfg.RegisterFlags(fs, "")
	ccfg.RegisterFlags(fs, "")
	ttls.RegisterFlags(fs, "")
	sel.registerFlags(fs, storeAerospike)
	httpAddr := fs.String("http", "127.0.0.1:8090", "listen address (host:port) of the coordinator's HTTP API: workers' long-polls and reports, /status, /admin/drain, /metrics")
	httpAdvertise := fs.String("http-advertise", "", "HTTP address workers reach the coordinator at, gossiped in its metadata (default: --http)")
	verbose := fs.Bool("v", false, "debug logging")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, v := range []interface{ Validate() error }{&kcfg, &mcfg, &ccfg, &ttls} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	switch sel.kind {
	case storeNone:
	case storeEmbedded:
		return fmt.Errorf("%w: the coordinator commits matches to the store the workers and the API share: use --store aerospike (or none, to commit nothing)", errUsage)
	default:
		if err := sel.validate(ttls); err != nil {
			return fmt.Errorf("%w: %v (or --store none, to commit nothing)", errUsage, err)
		}
	}
	if _, _, err := net.SplitHostPort(*httpAddr); err != nil {
		return fmt.Errorf("%w: --http %q: %v", errUsage, *httpAddr, err)
	}
	log := logger(stderr, *verbose)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	deps := lbnode.CoordinatorDeps{Logger: log, Registerer: reg, Gatherer: reg, CycleFloor: wallClockCycle(ccfg.Interval)}
	if sel.kind != storeNone {
		st, err := openStore(sel, ttls, log, reg)
		if err != nil {
			return err
		}
		defer st.Close()
		floor, err := storedCycle(ctx, st.rw, log)
		if err != nil {
			return err
		}
		deps.Store, deps.CycleFloor = st.rw, max(deps.CycleFloor, floor)
	}
	co, err := lbnode.StartCoordinator(ctx, lbnode.CoordinatorConfig{Kafka: kcfg, Member: mcfg, Coordinator: ccfg, HTTP: *httpAddr, Advertise: *httpAdvertise}, deps)
	if err != nil {
		return err
	}
	adv := *httpAdvertise
	if adv == "" {
		adv = co.Addr
	}
	fmt.Fprintf(stdout, "coordinator %s: a cycle every %v, committing to %s; HTTP on %s (status: leaderboard status --coordinator %s), gossip on %s\n",
		co.Member.Name(), ccfg.Interval, sel.kind, co.Addr, adv, co.Member.Addr())
	return co.Wait(ctx)
}

// wallClockCycle is a cycle number floor from the clock: the intervals elapsed since
// cycleEpoch, so numbers never go back even when both the state file and the store are
// lost (docs/RELIABILITY.md).
func wallClockCycle(interval time.Duration) int64 {
	if interval <= 0 {
		return 0
	}
	return int64(time.Since(cycleEpoch) / interval)
}

// storedCycle is the highest cycle the store's commits hold, retried briefly.
func storedCycle(ctx context.Context, st worker.Store, log *slog.Logger) (int64, error) {
	var err error
	for try := range 5 {
		var c int64
		if c, err = worker.StoredCycle(ctx, st); err == nil {
			return c, nil
		}
		log.Warn("cannot read the store's highest cycle; retrying", "err", err, "try", try+1)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return 0, fmt.Errorf("cannot read the store's highest cycle (is the store at --aerospike-hosts up?): %w", err)
}
