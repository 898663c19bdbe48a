package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fantasy/leaderboard/internal/devstore"
	"github.com/fantasy/leaderboard/rankstore"
)

// cmdStore runs the development Aerospike: the embedded rank store served over
// Aerospike's wire protocol (internal/devstore) until ctx ends, then saves its
// namespaces to --data-dir as standalone does.
func cmdStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "host:port to serve Aerospike's protocol on; clients are told this address, so name one they can reach")
	dataDir := fs.String("data-dir", "", "directory that keeps the complete namespace across restarts (and live across a clean stop); empty = memory only")
	verbose := fs.Bool("v", false, "log debug lines")
	metricsAddr := fs.String("metrics", "", "serve Prometheus /metrics (commands, records by result code, connections, Go runtime and process) on this host:port; empty = off")
	var storeCfg rankstore.Config
	storeCfg.RegisterFlags(fs, "")
	var srvCfg devstore.Config
	srvCfg.RegisterFlags(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return fmt.Errorf("%w: --addr %q: %v", errUsage, *addr, err)
	}
	storeCfg.DataDir = *dataDir
	if err := storeCfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := srvCfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := logger(stderr, *verbose)
	st, err := rankstore.Open(storeCfg, time.Now, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := devstore.New(srvCfg, st, log, reg)
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("cannot listen on %s for metrics (pick another with --metrics, or leave it empty): %w", *metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", mln.Addr())
	}
	ln, err := net.Listen("tcp", *addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the port is taken (another `leaderboard store` or an Aerospike server?); stop it or pick another with --addr", *addr)
	}
	if err != nil {
		return fmt.Errorf("cannot listen on %s (check --addr): %w", *addr, err)
	}
	fmt.Fprintf(stdout, "aerospike protocol store listening on %s (namespaces live, complete; node %s)\n", ln.Addr(), srvCfg.NodeName)
	if *dataDir != "" {
		fmt.Fprintf(stdout, "data: %s (complete kept across restarts, live across a clean stop)\n", *dataDir)
	} else {
		fmt.Fprintln(stdout, "data: in memory (lost on exit; --data-dir keeps it)")
	}
	fmt.Fprintf(stdout, "clients: --store aerospike --aerospike-hosts %s\n", ln.Addr())
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() { st.Run(sweepCtx, time.Minute); close(sweepDone) }()
	serveErr := srv.Serve(ctx, ln) // until ctx ends; every connection is closed on return
	stopSweep()
	<-sweepDone
	fmt.Fprintln(stderr, "stopping store")
	if err := st.Close(); err != nil { // the last write is done: save the namespaces
		return errors.Join(serveErr, fmt.Errorf("cannot save the store: %w", err))
	}
	if serveErr != nil {
		return serveErr
	}
	return nil
}
