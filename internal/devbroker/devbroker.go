// Package devbroker runs a development Kafka broker inside the process: franz-go's kfake,
// listening on a real TCP address so that any Kafka client (the leaderboard's own,
// kcat, a Java producer) can use it. It seeds the leaderboard's four topics and, given a
// data directory, keeps its records across restarts.
//
// It is for development, demos and tests: one broker, no replication, no security.
// Production points the same clients at a real Kafka cluster.
package devbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Topics names the leaderboard's topics.
type Topics struct {
	Entries, Points, Matches, DLQ string
}

// Config configures a broker. Zero fields take the defaults shown.
type Config struct {
	// Addr is the host:port to listen on and to advertise (default 127.0.0.1:9092; port 0
	// picks a free port). Clients connect to exactly this host, so listen on an address
	// they can reach, not 0.0.0.0.
	Addr string
	// DataDir, when set, persists the broker's state there; a broker started again on the
	// same directory has the same topics and records.
	DataDir string
	// EntriesPartitions is the partition count of the entries topic when it is created
	// (default 16). An existing topic keeps its count; see Broker.EntriesPartitions.
	EntriesPartitions int
	// Topics default to lb.entries, lb.points, lb.matches, lb.dlq.
	Topics Topics
	// Logger receives the broker's warnings and errors (default: discarded).
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:9092"
	}
	if c.EntriesPartitions == 0 {
		c.EntriesPartitions = 16
	}
	if c.Topics.Entries == "" {
		c.Topics.Entries = "lb.entries"
	}
	if c.Topics.Points == "" {
		c.Topics.Points = "lb.points"
	}
	if c.Topics.Matches == "" {
		c.Topics.Matches = "lb.matches"
	}
	if c.Topics.DLQ == "" {
		c.Topics.DLQ = "lb.dlq"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first invalid setting (after defaults).
func (c Config) Validate() error {
	c.defaults()
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port: %v", c.Addr, err)
	}
	if host == "" {
		return fmt.Errorf("listen address %q has no host; clients connect to the advertised host, so name one (e.g. 127.0.0.1)", c.Addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("listen address %q: bad port: %v", c.Addr, err)
	}
	if c.EntriesPartitions < 1 || c.EntriesPartitions > 10000 {
		return fmt.Errorf("entries partitions %d: want 1..10000", c.EntriesPartitions)
	}
	seen := map[string]bool{}
	for _, t := range []string{c.Topics.Entries, c.Topics.Points, c.Topics.Matches, c.Topics.DLQ} {
		if seen[t] {
			return fmt.Errorf("topic %q is named twice", t)
		}
		seen[t] = true
	}
	return nil
}

// Broker is a running development broker.
type Broker struct {
	c                 *kfake.Cluster
	cfg               Config
	entriesPartitions int
}

// Start starts a broker and makes sure the four topics exist: the entries topic with
// cfg.EntriesPartitions partitions, the others with one.
func Start(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("leaderboard-dev"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, cfg.Addr) }),
		kfake.WithLogger(slogLogger{cfg.Logger}),
		kfake.SeedTopics(int32(cfg.EntriesPartitions), cfg.Topics.Entries),
		kfake.SeedTopics(1, cfg.Topics.Points, cfg.Topics.Matches, cfg.Topics.DLQ),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot start Kafka broker on %s: %w", cfg.Addr, err)
	}
	b := &Broker{c: c, cfg: cfg}
	// A data directory from an earlier run skips the seeds: create what it lacks.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b.entriesPartitions, err = b.ensureTopics(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return b, nil
}

func (b *Broker) ensureTopics(ctx context.Context) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := b.cfg.Topics
	for _, want := range []struct {
		partitions int32
		names      []string
	}{
		{int32(b.cfg.EntriesPartitions), []string{t.Entries}},
		{1, []string{t.Points, t.Matches, t.DLQ}},
	} {
		resp, err := adm.CreateTopics(ctx, want.partitions, 1, nil, want.names...)
		if err != nil {
			return 0, fmt.Errorf("cannot create topics %v: %w", want.names, err)
		}
		for _, r := range resp.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				return 0, fmt.Errorf("cannot create topic %s: %w", r.Topic, r.Err)
			}
		}
	}
	details, err := adm.ListTopics(ctx, t.Entries)
	if err != nil {
		return 0, fmt.Errorf("cannot describe topic %s: %w", t.Entries, err)
	}
	d, ok := details[t.Entries]
	if !ok || d.Err != nil {
		return 0, fmt.Errorf("cannot describe topic %s: %v", t.Entries, d.Err)
	}
	return len(d.Partitions), nil
}

// Addrs returns the addresses the broker listens on (one), for clients' seed brokers.
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// EntriesPartitions is the partition count of the entries topic: the configured count
// for a new topic, or the count the data directory's existing topic has.
func (b *Broker) EntriesPartitions() int { return b.entriesPartitions }

// Topics returns the topic names in use.
func (b *Broker) Topics() Topics { return b.cfg.Topics }

// Close stops the broker; with a data directory it saves its state first.
func (b *Broker) Close() { b.c.Close() }

// slogLogger sends kfake's warnings and errors to slog.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		s.l.Error("kafka broker: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		s.l.Warn("kafka broker: " + fmt.Sprintf(format, args...))
	}
}
