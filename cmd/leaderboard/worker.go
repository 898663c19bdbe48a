package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/membership"
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
	fs.BoolVar(&c.verbose, "v", false, "log every cycle")
	registerAdminFlag(fs, &c.admin)
}

func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var c workerNodeConfig
	c.registerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New(fmt.Sprint("not wired yet"))
}
