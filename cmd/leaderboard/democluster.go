package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/membership"
	lbnode "github.com/fantasy/leaderboard/node"
	"github.com/fantasy/leaderboard/rankstore"
)

// demoCluster is `demo --workers N`: a coordinator, N workers and the API in one
// process over loopback gossip, sharing one embedded store.
type demoCluster struct {
	addr    string
	co      *lbnode.Coordinator
	workers []*lbnode.Worker
	store   *rankstore.Store
	api     *api.Server
	ln      net.Listener
	dir     string
}

// loopbackGossip is membership on 127.0.0.1 with a free port.
func loopbackGossip(name string, join []string) membership.Config {
	var m membership.Config
	m.RegisterFlags(newFlagSet(), "")
	m.NodeName, m.Bind, m.Join = name, "127.0.0.1:0", join
	return m
}

func startDemoCluster(ctx context.Context, c nodeConfig, workers int, log *slog.Logger) (*demoCluster, error) {
	dir, err := os.MkdirTemp("", "leaderboard-demo-cluster-")
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := rankstore.Open(c.store, time.Now, log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d := &demoCluster{store: st, dir: dir}
	var cc coordinator.Config
	cc.RegisterFlags(newFlagSet(), "")
	cc.Interval, cc.DataDir, cc.Settle = c.worker.Interval, dir, time.Second
	co, err := lbnode.StartCoordinator(ctx, lbnode.CoordinatorConfig{Kafka: c.kafka, Member: loopbackGossip("coordinator", nil), Coordinator: cc, HTTP: "127.0.0.1:0"},
		lbnode.CoordinatorDeps{Store: st, CycleFloor: wallClockCycle(cc.Interval), Logger: log.With("node", "coordinator"),
			Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"member": "coordinator"}, reg)})
	if err != nil {
		d.stop()
		return nil, err
	}
	d.co = co
	for i := range workers {
		name := fmt.Sprintf("worker-%d", i+1)
		w, err := lbnode.StartWorker(ctx, lbnode.WorkerConfig{Kafka: c.kafka, Member: loopbackGossip(name, []string{co.Member.Addr()}), Worker: c.worker},
			lbnode.WorkerDeps{Store: st, Logger: log.With("node", name), Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"member": name}, reg)})
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("starting %s: %w", name, err)
		}
		d.workers = append(d.workers, w)
	}
	ln, err := net.Listen("tcp", c.api.Addr)
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("cannot listen on %s (is another server on it? pick another with --http): %w", c.api.Addr, err)
	}
	d.ln, d.addr = ln, ln.Addr().String()
	d.api = api.New(c.api, st, log, reg, d.ready)
	d.api.SetConsole(api.LocalConsole(reg, co.C.Status))
	registerReady(reg, d.ready)
	return d, nil
}

// ready: every worker ready.
func (d *demoCluster) ready() bool {
	for _, w := range d.workers {
		if !w.Ready() {
			return false
		}
	}
	return len(d.workers) > 0
}

// run serves the API until ctx ends or a part fails, then stops everything.
func (d *demoCluster) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, n := range append([]*lbnode.Node{d.co.Node}, nodesOf(d.workers)...) {
		go func() {
			select {
			case <-ctx.Done():
			case err := <-n.Failed():
				cancel(err)
			}
		}()
	}
	err := d.api.Serve(ctx, d.ln)
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		err = cause
	}
	d.stop()
	return err
}

func nodesOf(ws []*lbnode.Worker) []*lbnode.Node {
	out := make([]*lbnode.Node, len(ws))
	for i, w := range ws {
		out[i] = w.Node
	}
	return out
}

func (d *demoCluster) stop() {
	for _, w := range d.workers {
		_ = w.Stop()
	}
	if d.co != nil {
		_ = d.co.Stop()
	}
	if d.ln != nil {
		d.ln.Close()
	}
	os.RemoveAll(d.dir)
}

// newFlagSet is a throwaway flag set, for a config's flag defaults.
func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("defaults", flag.ContinueOnError) }
