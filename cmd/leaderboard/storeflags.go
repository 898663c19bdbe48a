package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/aerospikesink"
	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/worker"
)

// Store kinds of --store.
const (
	storeEmbedded  = "embedded"
	storeAerospike = "aerospike"
)

// storeSelect is the choice of store shared by the processes that write or read one:
// --store embedded|aerospike and the --aerospike-* flags. The TTLs are rankstore's
// --live-ttl / --complete-ttl for either store.
type storeSelect struct {
	kind      string
	aerospike aerospikesink.Config
}

// registerFlags registers --store (default def) and the Aerospike flags.
func (c *storeSelect) registerFlags(fs *flag.FlagSet, def string) {
	fs.StringVar(&c.kind, "store", def, "where ranks are stored: embedded (in this process) or aerospike (--aerospike-hosts; the leaderboard store command is a development one)")
	// The sink's own TTL flags would duplicate --live-ttl/--complete-ttl: register the rest.
	tmp := flag.NewFlagSet("", flag.ContinueOnError)
	c.aerospike.RegisterFlags(tmp, "aerospike-")
	tmp.VisitAll(func(f *flag.Flag) {
		if !strings.HasSuffix(f.Name, "-ttl") {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
}

// validate checks the choice; ttls are the embedded store's config (its --live-ttl and
// --complete-ttl flags), which the sink uses too.
func (c *storeSelect) validate(ttls rankstore.Config) error {
	switch c.kind {
	case storeEmbedded:
		return nil
	case storeAerospike:
		c.aerospike.LiveTTL, c.aerospike.CompleteTTL = ttls.LiveTTL, ttls.CompleteTTL
		return c.aerospike.Validate()
	}
	return fmt.Errorf("--store %q: want %s or %s", c.kind, storeEmbedded, storeAerospike)
}

// storeRW is what a node writes and the API reads.
type storeRW interface {
	worker.Store
	api.Store
}

// openedStore is an open store with its housekeeping.
type openedStore struct {
	rw       storeRW
	embedded *rankstore.Store    // nil unless --store embedded
	sink     *aerospikesink.Sink // nil unless --store aerospike
}

// openStore opens the chosen store. An Aerospike cluster that cannot be reached is an
// error saying what to check.
func openStore(c storeSelect, emb rankstore.Config, log *slog.Logger, reg prometheus.Registerer) (*openedStore, error) {
	if c.kind == storeAerospike {
		s, err := aerospikesink.New(c.aerospike, log, reg, time.Now)
		if err != nil {
			return nil, err
		}
		log.Info("store: aerospike", "hosts", c.aerospike.Hosts, "live", c.aerospike.LiveNamespace, "complete", c.aerospike.CompleteNamespace)
		return &openedStore{rw: s, sink: s}, nil
	}
	s, err := rankstore.Open(emb, time.Now, log)
	if err != nil {
		return nil, err
	}
	if err := s.RegisterMetrics(reg); err != nil {
		return nil, fmt.Errorf("embedded store metrics: %w", err)
	}
	return &openedStore{rw: s, embedded: s}, nil
}

// Run sweeps the embedded store's expired records until ctx ends (Aerospike expires
// its own).
func (o *openedStore) Run(ctx context.Context, interval time.Duration) error {
	if o.embedded != nil {
		return o.embedded.Run(ctx, interval)
	}
	<-ctx.Done()
	return nil
}

// Close saves the embedded store's namespaces, or closes the Aerospike client.
func (o *openedStore) Close() error {
	if o.embedded != nil {
		return o.embedded.Close()
	}
	return o.sink.Close()
}

// ping reports whether the store answers (readiness of an API process).
func (o *openedStore) ping(ctx context.Context) error {
	if o.sink != nil {
		return o.sink.Ping(ctx)
	}
	return nil
}

var errNeedsShared = errors.New("an api process reads a store another process writes: use --store aerospike")
