package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/membership"
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
		member         membership.Config
	)
	member.RegisterFlags(fs, "")
	apiCfg.RegisterFlags(fs, "")
	ttls.RegisterFlags(fs, "")
	sel.registerFlags(fs, storeAerospike)
	fs.BoolVar(&verbose, "v", false, "debug logging")
	registerAdminFlag(fs, &admin)
	fs.StringVar(&consoleCoord, "coordinator", "", "the coordinator's HTTP address (host:port), whose /status the operator console at /console shows; empty: the console shows no members")
	fs.StringVar(&consoleTargets, "metrics-targets", "", "comma-separated admin addresses (host:port, each serving /metrics: workers, coordinator, API processes) whose counters the console at /console sums, besides those gossip names (--join); an unreachable one is shown as down")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	joined := len(member.Join) > 0
	if joined {
		if err := member.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	var ms *membership.Service // with --join: the API joins the gossip cluster
	members := func() []membership.Member {
		if ms == nil {
			return nil
		}
		return ms.Members()
	}
	console, err := clusterConsole(consoleCoord, consoleTargets, joined, members)
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
	if joined {
		adv := ""
		if adminLn != nil {
			adv = adminLn.Addr().String()
		}
		if ms, err = membership.New(member, membership.Meta{Role: membership.RoleAPI, HTTPAddr: adv, Version: "dev"}, log, reg); err != nil {
			ln.Close()
			return err
		}
		if err := services.StartAndAwaitRunning(ctx, ms); err != nil {
			ln.Close()
			return fmt.Errorf("cannot join the gossip cluster: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = services.StopAndAwaitTerminated(sctx, ms)
		}()
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

// clusterConsole is the console source of --coordinator, --metrics-targets and gossip
// (joined: the coordinator and the members' metrics addresses come from members); nil
// when none is set.
func clusterConsole(coord, targets string, joined bool, members func() []membership.Member) (api.ConsoleSource, error) {
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
	if coord == "" && len(list) == 0 && !joined {
		return nil, nil
	}
	var find func(context.Context) (string, error)
	switch {
	case coord != "":
		if _, err := coordinator.NewClient(coord, "", nil); err != nil {
			return nil, fmt.Errorf("--coordinator: %v", err)
		}
		find = func(context.Context) (string, error) { return coord, nil }
	case joined:
		find = func(context.Context) (string, error) { return coordinator.Find(members()) }
	}
	all := func() []string {
		out := slices.Clone(list)
		for _, m := range members() { // every member's metrics: workers' and APIs' admin addresses, the coordinator's HTTP
			if a := m.Meta.HTTPAddr; a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out
	}
	return api.ClusterConsole(find, all, nil), nil
}
