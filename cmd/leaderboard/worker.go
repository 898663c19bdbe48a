package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/membership"
	lbnode "github.com/fantasy/leaderboard/node"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/worker"
)

// workerNodeConfig is `leaderboard worker`: a cluster worker that ranks the entries
// partitions the coordinator assigns it and writes them to the shared store.
type workerNodeConfig struct {
	kafka       kafkasource.Config
	member      membership.Config
	worker      worker.Config
	ttls        rankstore.Config
	backend     storeSelect
	coordinator string // --coordinator: the coordinator's HTTP address; "" = found through gossip
	capacity    uint
	drain       time.Duration
	admin       string
	verbose     bool
}

func (c *workerNodeConfig) registerFlags(fs *flag.FlagSet) {
	c.kafka.RegisterFlags(fs, "")
	c.member.RegisterFlags(fs, "")
	c.worker.RegisterFlags(fs, "")
	c.ttls.RegisterFlags(fs, "")
	c.backend.registerFlags(fs, storeAerospike)
	fs.StringVar(&c.coordinator, "coordinator", "", "the coordinator's HTTP address (host:port); empty: the one gossip names (its --http-advertise)")
	fs.UintVar(&c.capacity, "capacity", 1, "this worker's share of the partitions relative to the others' (1 = an equal share); the coordinator weighs assignments by it")
	fs.DurationVar(&c.drain, "drain-timeout", 30*time.Second, "on SIGTERM, hand the partitions over (the new owners replay them while this worker still writes them) for at most this long before leaving; 0: leave at once (they are taken over)")
	fs.BoolVar(&c.verbose, "v", false, "log every cycle")
	registerAdminFlag(fs, &c.admin)
}

func (c *workerNodeConfig) validate() error {
	c.worker.EntriesTopic, c.worker.PointsTopic, c.worker.MatchesTopic = c.kafka.EntriesTopic, c.kafka.PointsTopic, c.kafka.MatchesTopic
	for _, v := range []interface{ Validate() error }{&c.kafka, &c.member, &c.worker, &c.ttls} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if c.backend.kind == storeEmbedded {
		return fmt.Errorf("%w: a cluster's workers, coordinator and API share one store: use --store aerospike (leaderboard store is a development one)", errUsage)
	}
	if err := c.backend.validate(c.ttls); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.drain < 0 {
		return fmt.Errorf("%w: --drain-timeout %v: want >= 0", errUsage, c.drain)
	}
	if c.capacity < 1 || c.capacity > 1<<16 {
		return fmt.Errorf("%w: --capacity %d: want 1..65536", errUsage, c.capacity)
	}
	return nil
}

// cmdWorker runs `leaderboard worker` until ctx ends or a part fails.
func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var c workerNodeConfig
	c.registerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log := logger(stderr, c.verbose)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := openStore(c.backend, c.ttls, log, reg)
	if err != nil {
		return err
	}
	defer st.Close()
	adminLn, err := listenAdmin(c.admin)
	if err != nil {
		return err
	}
	adminAddr := ""
	if adminLn != nil {
		adminAddr = adminLn.Addr().String()
	}
	n, err := lbnode.StartWorker(ctx, lbnode.WorkerConfig{Kafka: c.kafka, Member: c.member, Worker: c.worker, Coordinator: c.coordinator,
		Capacity: uint32(c.capacity), AdminAddr: adminAddr, DrainTimeout: c.drain}, lbnode.WorkerDeps{Store: st.rw, Logger: log, Registerer: reg})
	if err != nil {
		if adminLn != nil {
			adminLn.Close()
		}
		return err
	}
	registerReady(reg, n.Ready)
	if adminLn != nil {
		go func() {
			if err := api.ServeAdmin(ctx, adminLn, api.AdminHandler(reg, n.Ready), log); err != nil {
				log.Error("admin listener stopped", "err", err)
			}
		}()
	}
	go applyGCPercent(ctx, defaultGCPercent, n.Ready, 100*time.Millisecond, log)
	fmt.Fprintf(stdout, "worker %s: gossip on %s, metrics and probes on %s, writing to %s at %v\n", n.Member.Name(), n.Member.Addr(), orOff(adminAddr), c.backend.kind, c.backend.aerospike.Hosts)
	return n.Wait(ctx)
}

func orOff(addr string) string {
	if addr == "" {
		return "off (--admin-http)"
	}
	return "http://" + addr
}
