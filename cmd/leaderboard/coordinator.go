package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/membership"
)

// cmdCoordinator runs `leaderboard coordinator`: gossip membership, the coordinator
// service and its HTTP API (docs/CLUSTER.md, "Coordinator"), until ctx ends or a part fails.
func cmdCoordinator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	var kcfg kafkasource.Config
	var mcfg membership.Config
	var ccfg coordinator.Config
	kcfg.RegisterFlags(fs, "")
	mcfg.RegisterFlags(fs, "")
	ccfg.RegisterFlags(fs, "")
	httpAddr := fs.String("http", "127.0.0.1:8090", "listen address (host:port) of the coordinator's HTTP API: workers' long-polls and reports, /status, /admin/drain, /metrics")
	httpAdvertise := fs.String("http-advertise", "", "HTTP address workers reach the coordinator at, gossiped in its metadata (default: --http)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, v := range []interface{ Validate() error }{&kcfg, &mcfg, &ccfg} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if _, _, err := net.SplitHostPort(*httpAddr); err != nil {
		return fmt.Errorf("%w: --http %q: %v", errUsage, *httpAddr, err)
	}
	if *httpAdvertise == "" {
		*httpAdvertise = *httpAddr
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// The entries topic's partition count is the table's size; the points topic's end
	// offsets are each tick's snapshot.
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	parts, err := kafkasource.Partitions(pctx, kcfg)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot read the partitions of %s from %v (is Kafka up, and the topic created? `leaderboard load` or `leaderboard broker` create it): %w", kcfg.EntriesTopic, kcfg.Brokers, err)
	}
	src, err := kafkasource.New(kcfg, logger, reg)
	if err != nil {
		return err
	}
	defer src.Close()
	offsets := func(ctx context.Context) (map[int32]int64, error) { return src.EndOffsets(ctx, kcfg.PointsTopic) }

	ms, err := membership.New(mcfg, membership.Meta{Role: membership.RoleCoordinator, HTTPAddr: *httpAdvertise, Capacity: 0, Version: "dev"}, logger, reg)
	if err != nil {
		return err
	}
	co, err := coordinator.New(ccfg, len(parts), coordinator.Deps{Node: ms.Name(), Members: ms, Offsets: offsets, Logger: logger, Registerer: reg})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (pick another with --http): %w", *httpAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", co.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := co.NewServer(*httpAddr)
	srv.Handler = mux

	// Fail-fast supervision: gossip and the coordinator run under one dskit Manager; the
	// first to fail stops the process.
	mgr, err := services.NewManager(ms, co)
	if err != nil {
		ln.Close()
		return err
	}
	failed := make(chan error, 2)
	mgr.AddListener(services.NewManagerListener(nil, nil, func(s services.Service) {
		failed <- fmt.Errorf("%s failed: %w", services.DescribeService(s), s.FailureCase())
	}))
	if err := mgr.StartAsync(context.Background()); err != nil {
		ln.Close()
		return err
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("HTTP server on %s: %w", *httpAddr, err)
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = mgr.AwaitHealthy(sctx)
	cancel()
	if err == nil {
		fmt.Fprintf(stdout, "coordinator %s: %d partitions of %s, a cycle every %v; HTTP on %s (status: leaderboard status --coordinator %s), gossip on %s\n",
			ms.Name(), len(parts), kcfg.EntriesTopic, ccfg.Interval, *httpAddr, *httpAdvertise, ms.Addr())
		select {
		case <-ctx.Done():
		case err = <-failed:
		}
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	mgr.StopAsync()
	if serr := mgr.AwaitStopped(shut); serr != nil && err == nil {
		err = fmt.Errorf("stopping: %w", serr)
	}
	{ // a part's own failure says more than "not healthy"
		for _, s := range []services.Service{ms, co} {
			if f := s.FailureCase(); f != nil {
				err = fmt.Errorf("%s failed: %w", services.DescribeService(s), f)
			}
		}
	}
	return err
}
