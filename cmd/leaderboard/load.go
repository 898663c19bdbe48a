package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/kafkasource"
)

func cmdLoad(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var kc kafkasource.Config
	kc.RegisterFlags(fs, "")
	in := fs.String("in", "", "dataset directory holding entries.parquet")
	match := fs.Int64("match", 1, "match id to give the dataset's entries")
	parts := registerPartitionsFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *in == "":
		return fmt.Errorf("%w: --in is required", errUsage)
	case *match <= 0:
		return fmt.Errorf("%w: --match %d: must be > 0", errUsage, *match)
	}
	if err := kc.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := ensureTopics(ctx, kc, *parts); err != nil {
		return err
	}
	pub, err := kafkasource.NewPublisher(kc, slog.New(slog.NewTextHandler(stderr, nil)), prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer pub.Close()
	start := time.Now()
	update, finish := newProgress(stderr, "load")
	n, err := load(ctx, pub, *in, *match, update)
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "published %d entries of match %d to %s in %.2fs\n", n, *match, kc.EntriesTopic, time.Since(start).Seconds())
	return nil
}

// registerPartitionsFlag registers --partitions, the entries topic's partition count
// when load or simulate creates it.
func registerPartitionsFlag(fs *flag.FlagSet) *int {
	return fs.Int("partitions", 16, "partitions of the entries topic if it does not exist yet (an existing topic keeps its count); choose it for the largest cluster you expect")
}

// ensureTopics creates the four topics that do not exist yet: a real Kafka cluster does
// not create them on a producer's first record, and the publisher would fail with
// UNKNOWN_TOPIC_OR_PARTITION.
func ensureTopics(ctx context.Context, kc kafkasource.Config, partitions int) error {
	if partitions < 1 || partitions > maxPartitions {
		return fmt.Errorf("%w: --partitions %d: must be within 1..%d", errUsage, partitions, maxPartitions)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := kafkasource.EnsureTopics(ctx, kc.Brokers, kc, partitions); err != nil {
		return err
	}
	return kafkasource.WaitTopics(ctx, kc)
}

// maxPartitions bounds --partitions (Kafka's own practical limit per topic is far lower
// than its hard one).
const maxPartitions = 10000

// load publishes a dataset's entries to the entries topic (keyed by contest_id) and
// waits until the broker has them all.
func load(ctx context.Context, pub *kafkasource.Publisher, dir string, match int64, progress func(done, total int64)) (int64, error) {
	path := filepath.Join(dir, dataset.EntriesFile)
	total, err := dataset.CountRows(path)
	if err != nil {
		return 0, err
	}
	var done int64
	var evs []kafkasource.EntryEvent
	err = dataset.ReadEntries(ctx, path, 0, func(rec arrow.RecordBatch) error {
		c := engine.EntryColumnsOf(rec)
		evs = evs[:0]
		for i := range c.Entry {
			evs = append(evs, kafkasource.EntryEvent{MatchID: match, ContestID: c.Contest[i], EntryID: c.Entry[i], UserID: c.User[i], TeamID: c.Team[i],
				Players: c.Players[c.Offsets[i]:c.Offsets[i+1]], Captain: c.Captain[i], ViceCaptain: c.Vice[i]})
		}
		if err := pub.PublishEntries(ctx, evs); err != nil {
			return err
		}
		done += int64(len(evs))
		if progress != nil {
			progress(done, total)
		}
		return nil
	})
	if err != nil {
		return done, err
	}
	return done, pub.Flush(ctx)
}
