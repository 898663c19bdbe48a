package kafkasource

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/fantasy/leaderboard/partition"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Publisher produces events to the input topics (leaderboard load and simulate, tests).
// Publishing is asynchronous: the Publish methods buffer records and return at once
// (blocking only while the buffer is full); delivery errors are collected and returned by
// the next Publish call or by Flush. It is safe for concurrent use.
type Publisher struct {
	cfg       Config
	cl        *kgo.Client
	published map[string]prometheus.Counter
	failed    prometheus.Counter

	mu  sync.Mutex
	err error // first delivery error not yet returned
}

// NewPublisher connects a publisher. Entry records are keyed by the decimal contest_id
// and partitioned like Kafka's Java client (murmur2 of the key), so an entry's Kafka
// partition is EntryPartition(contest_id, partitions).
func NewPublisher(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cl, err := newClient(cfg.Brokers, cfg, logger,
		// Keyed records: murmur2(key) & 0x7fffffff % partitions, the Java client's rule.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(1<<18),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		return nil, err
	}
	f := promauto.With(reg)
	published := f.NewCounterVec(prometheus.CounterOpts{
		Name: "leaderboard_publisher_events_total",
		Help: "Events the publisher delivered to Kafka, by topic.",
	}, []string{"topic"})
	p := &Publisher{
		cfg:       cfg,
		cl:        cl,
		published: make(map[string]prometheus.Counter),
		failed: f.NewCounter(prometheus.CounterOpts{
			Name: "leaderboard_publisher_errors_total",
			Help: "Events the publisher failed to deliver.",
		}),
	}
	for _, t := range []string{cfg.EntriesTopic, cfg.PointsTopic, cfg.MatchesTopic} {
		p.published[t] = published.WithLabelValues(t)
	}
	return p, nil
}

// promise records the outcome of one record.
func (p *Publisher) promise(r *kgo.Record, err error) {
	if err == nil {
		if c := p.published[r.Topic]; c != nil {
			c.Inc()
		}
		return
	}
	p.failed.Inc()
	p.mu.Lock()
	if p.err == nil {
		p.err = fmt.Errorf("cannot publish to %s (key %q): %w", r.Topic, clip(r.Key), err)
	}
	p.mu.Unlock()
}

// takeErr returns and clears the first delivery error.
func (p *Publisher) takeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.err
	p.err = nil
	return err
}

// PublishEntries buffers entry events, keyed by decimal contest_id.
func (p *Publisher) PublishEntries(ctx context.Context, events []EntryEvent) error {
	recs := make([]kgo.Record, len(events))
	for i := range events {
		e := &events[i]
		buf := strconv.AppendInt(make([]byte, 0, 160+8*len(e.Players)), e.ContestID, 10)
		k := len(buf)
		buf = appendEntry(buf, *e)
		recs[i] = kgo.Record{Topic: p.cfg.EntriesTopic, Key: buf[:k:k], Value: buf[k:]}
	}
	return p.produce(ctx, recs)
}

// PublishPoints buffers points events, keyed by decimal match_id.
func (p *Publisher) PublishPoints(ctx context.Context, events []PointsEvent) error {
	recs := make([]kgo.Record, len(events))
	for i, e := range events {
		recs[i] = kgo.Record{Topic: p.cfg.PointsTopic, Key: strconv.AppendInt(nil, e.MatchID, 10), Value: EncodePoints(e)}
	}
	return p.produce(ctx, recs)
}

// PublishMatch buffers a match lifecycle event, keyed by decimal match_id.
func (p *Publisher) PublishMatch(ctx context.Context, e MatchEvent) error {
	recs := []kgo.Record{{Topic: p.cfg.MatchesTopic, Key: strconv.AppendInt(nil, e.MatchID, 10), Value: EncodeMatch(e)}}
	return p.produce(ctx, recs)
}

func (p *Publisher) produce(ctx context.Context, recs []kgo.Record) error {
	for i := range recs {
		p.cl.Produce(ctx, &recs[i], p.promise)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.takeErr()
}

// Flush waits until every buffered record is delivered or failed, and returns the first
// delivery error since the last one returned.
func (p *Publisher) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("cannot flush published events: %w", err)
	}
	return p.takeErr()
}

// Close closes the connections; records not flushed are failed.
func (p *Publisher) Close() { p.cl.Close() }

// EntryPartition is the Kafka partition of a contest's entry events among partitions:
// murmur2 of the decimal contest_id, as Kafka's default (Java) partitioner computes it.
// It is also the engine partition that ranks the contest. partition.OfContest computes it.
func EntryPartition(contestID int64, partitions int) int32 {
	return partition.OfContest(contestID, partitions)
}
