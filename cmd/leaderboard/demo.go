package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/internal/devbroker"
	"github.com/fantasy/leaderboard/kafkasource"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var c nodeConfig
	c.registerFlags(fs, false)
	c.worker.Interval = 2 * time.Second // a demo should move: cycles every 2s unless --interval says otherwise
	fs.Lookup("interval").DefValue = "2s"
	entries := fs.Int64("entries", 200_000, "entries to generate and load")
	speed := fs.Float64("speed", 30, "match speed-up over real time (30 = a ball a second)")
	seed := fs.Int64("seed", dataset.DefaultSeed, "dataset and match seed")
	kafkaAddr := fs.String("kafka-addr", "127.0.0.1:0", "where the embedded broker listens (any Kafka client can connect)")
	workers := fs.Int("workers", 0, "run a cluster in this process instead of one node: a coordinator and this many workers over loopback gossip, sharing the embedded store (0: one standalone node)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *entries < 2 {
		return fmt.Errorf("%w: --entries %d: must be >= 2", errUsage, *entries)
	}
	if *speed <= 0 {
		return fmt.Errorf("%w: --speed %v: must be > 0", errUsage, *speed)
	}
	if *workers < 0 || *workers > 64 {
		return fmt.Errorf("%w: --workers %d: want 0 (one node) to 64", errUsage, *workers)
	}
	log := logger(stderr, c.verbose)
	log.Debug("garbage collector", "gc_percent", setGCPercent(c.gcPct))

	broker, err := devbroker.Start(devbroker.Config{Addr: *kafkaAddr, EntriesPartitions: 16})
	if err != nil {
		return err
	}
	defer broker.Close()
	c.kafka.Brokers = broker.Addrs()
	if err := c.validate(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "leaderboard-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stderr, "generating %d entries...\n", *entries)
	update, finish := newProgress(stderr, "gen")
	if err := dataset.Generate(ctx, dataset.GenConfig{Entries: *entries, Seed: *seed, MatchID: 1}, dir, update); err != nil {
		finish()
		return err
	}
	finish()
	pub, err := kafkasource.NewPublisher(c.kafka, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer pub.Close()
	if err := kafkasource.EnsureTopics(ctx, c.kafka.Brokers, c.kafka, broker.EntriesPartitions()); err != nil {
		return err
	}
	update, finish = newProgress(stderr, "publish")
	n, err := load(ctx, pub, dir, 1, update)
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "published %d entries to %s\n", n, c.kafka.EntriesTopic)

	var (
		addr, metrics string
		wait          func() error
	)
	if *workers > 0 {
		cl, err := startDemoCluster(ctx, c, *workers, log)
		if err != nil {
			return err
		}
		addr, metrics = cl.addr, "http://"+cl.addr+"/console (the cluster), coordinator status: leaderboard status --coordinator "+cl.co.Addr
		wait = func() error { return cl.run(ctx) }
	} else {
		node, err := startNode(ctx, c, log)
		if err != nil {
			return err
		}
		addr, metrics, wait = node.addr, node.adminURL(), node.wait
	}
	base := "http://" + addr
	fmt.Fprintf(stdout, `
The demo is running: match 1, %d entries, a simulated T20 match at %gx speed.
  Web page:     %s/
  Kafka (any client, e.g. kcat -b %s -L): %s
  Matches:      curl %s/v1/matches
  Match 1:      curl %s/v1/matches/1
  Contests:     curl '%s/v1/matches/1/contests?limit=5'
  Leaderboard:  curl '%s/v1/contests/<contest_id>/leaderboard?limit=10'
  Metrics:      %s
Press Ctrl-C to stop.

`, n, *speed, base, c.kafka.Brokers[0], c.kafka.Brokers[0], base, base, base, base, metrics)
	go func() {
		time.Sleep(c.worker.Interval) // let the first cycle see the loaded entries
		err := simulate(ctx, pub, simulateConfig{match: 1, seed: *seed, players: dataset.DefaultPlayersPerMatch, speed: *speed, quiet: !c.verbose}, stderr)
		if err != nil && ctx.Err() == nil {
			log.Error("simulation stopped", "err", err)
		}
	}()
	return wait()
}
