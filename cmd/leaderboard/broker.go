package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/fantasy/leaderboard/internal/devbroker"
	"github.com/fantasy/leaderboard/kafkasource"
)

// cmdBroker runs the development Kafka broker (franz-go's kfake) until ctx ends: one
// broker any Kafka client can use, with the leaderboard's topics created.
func cmdBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9092", "host:port to listen on; clients connect to exactly this host, so name one they can reach")
	dataDir := fs.String("data-dir", "", "directory that keeps topics and records across restarts (default: memory only)")
	parts := fs.Int("entries-partitions", 16, "partitions of the entries topic when it is created (an existing topic keeps its count)")
	// The topic flags of kafkasource.Config, with its defaults; not its client flags.
	var topics kafkasource.Config
	all := flag.NewFlagSet("kafka", flag.ContinueOnError)
	topics.RegisterFlags(all, "")
	for _, name := range []string{"entries-topic", "points-topic", "matches-topic", "dlq-topic"} {
		f := all.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := devbroker.Config{
		Addr:              *addr,
		DataDir:           *dataDir,
		EntriesPartitions: *parts,
		Topics:            devbroker.Topics{Entries: topics.EntriesTopic, Points: topics.PointsTopic, Matches: topics.MatchesTopic, DLQ: topics.DLQTopic},
		Logger:            slog.New(slog.NewTextHandler(stderr, nil)),
	}
	if *parts < 1 {
		return fmt.Errorf("%w: --entries-partitions %d: must be >= 1", errUsage, *parts)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	b, err := devbroker.Start(cfg)
	if err != nil {
		return err
	}
	defer b.Close()

	listen := strings.Join(b.Addrs(), ",")
	t := b.Topics()
	fmt.Fprintf(stdout, "kafka broker listening on %s\n", listen)
	fmt.Fprintf(stdout, "topics: %s (%d partitions), %s, %s, %s (1 partition each)\n", t.Entries, b.EntriesPartitions(), t.Points, t.Matches, t.DLQ)
	if b.EntriesPartitions() != *parts {
		fmt.Fprintf(stdout, "note: %s already existed in %s with %d partitions; --entries-partitions applies only to a new topic\n", t.Entries, *dataDir, b.EntriesPartitions())
	}
	if *dataDir != "" {
		fmt.Fprintf(stdout, "data: %s (kept across restarts)\n", *dataDir)
	} else {
		fmt.Fprintln(stdout, "data: in memory (lost on exit; --data-dir keeps it)")
	}
	fmt.Fprintf(stdout, "clients: --kafka %s, or kcat -b %s -L\n", listen, listen)
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping broker")
	return nil
}
