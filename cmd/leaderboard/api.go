package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/rankstore"
)

// cmdAPI is `leaderboard api`: a stateless API process reading the shared store another
// process (standalone, workers) writes. It is ready while the store answers.
func cmdAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var (
		apiCfg  api.Config
		ttls    rankstore.Config
		sel     storeSelect
		verbose bool
		admin   string
		// The console (/console): the coordinator's status and these processes' metrics.
		consoleCoord   string
		consoleTargets string
	)
	apiCfg.RegisterFlags(fs, "")
	ttls.RegisterFlags(fs, "")
	sel.registerFlags(fs, storeAerospike)
	fs.BoolVar(&verbose, "v", false, "debug logging")
	registerAdminFlag(fs, &admin)
	fs.StringVar(&consoleCoord, "coordinator", "", "the coordinator's HTTP address (host:port), whose /status the operator console at /console shows; empty: the console shows no members")
	fs.StringVar(&consoleTargets, "metrics-targets", "", "comma-separated admin addresses (host:port, each serving /metrics: workers, coordinator, API processes) whose counters the console at /console sums; an unreachable one is shown as down")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	console, err := clusterConsole(consoleCoord, consoleTargets)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if sel.kind == storeEmbedded {
		return fmt.Errorf("%w: %w", errUsage, errNeedsShared)
	}
	for _, v := range []func() error{apiCfg.Validate, ttls.Validate, func() error { return sel.validate(ttls) }} {
		if err := v(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	log := logger(stderr, verbose)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := openStore(sel, ttls, log, reg)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", apiCfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (is another server on it? pick another with --http): %w", apiCfg.Addr, err)
	}
	// Readiness: the store answered within the last second (checked in the background,
	// so /readyz never waits on the network).
	var ready atomic.Bool
	check := func() {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		ready.Store(st.ping(pctx) == nil)
		cancel()
	}
	check()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}()
	srv := api.New(apiCfg, st.rw, log, reg, ready.Load)
	srv.SetConsole(console) // nil: /console/v1/overview answers 503 naming the flags
	registerReady(reg, ready.Load)
	adminLn, err := listenAdmin(admin)
	if err != nil {
		ln.Close()
		return err
	}
	metrics := "off, see --admin-http"
	if adminLn != nil {
		metrics = "http://" + adminLn.Addr().String() + "/metrics"
		go func() {
			if err := api.ServeAdmin(ctx, adminLn, api.AdminHandler(reg, ready.Load), log); err != nil {
				log.Error("admin listener stopped", "err", err)
			}
		}()
	}
	fmt.Fprintf(stdout, "leaderboard API on http://%s (metrics, pprof: %s), reading Aerospike at %s\n", ln.Addr(), metrics, sel.aerospike.Hosts)
	return srv.Serve(ctx, ln)
}

// clusterConsole is the console source of --coordinator and --metrics-targets; nil when
// neither is set.
func clusterConsole(coord, targets string) (api.ConsoleSource, error) {
	var list []string
	for _, t := range strings.Split(targets, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(t, "http://"), "https://")); err != nil {
			return nil, fmt.Errorf("--metrics-targets: %q is not host:port: %v", t, err)
		}
		list = append(list, t)
	}
	if coord == "" && len(list) == 0 {
		return nil, nil
	}
	var find func(context.Context) (string, error)
	if coord != "" {
		if _, err := coordinator.NewClient(coord, "", nil); err != nil {
			return nil, fmt.Errorf("--coordinator: %v", err)
		}
		find = func(context.Context) (string, error) { return coord, nil }
	}
	return api.ClusterConsole(find, func() []string { return list }, nil), nil
}
