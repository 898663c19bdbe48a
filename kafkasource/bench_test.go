package kafkasource

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

const benchEntries = 300_000

// benchCluster starts a broker holding n entry events over 16 partitions.
func benchCluster(b *testing.B, n int) Config {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(16, "lb.entries"), kfake.SeedTopics(1, "lb.points", "lb.matches", "lb.dlq"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	cfg := DefaultConfig()
	cfg.Brokers = c.ListenAddrs()
	if n > 0 {
		pub := publisher(b, cfg)
		ctx := context.Background()
		evs := make([]EntryEvent, 0, 10_000)
		for i := range n {
			evs = append(evs, benchEntry(i))
			if len(evs) == cap(evs) || i == n-1 {
				if err := pub.PublishEntries(ctx, evs); err != nil {
					b.Fatal(err)
				}
				evs = evs[:0]
			}
		}
		if err := pub.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return cfg
}

// benchEntry is a realistic event: 6-7 digit ids, an 11-player lineup of 6-digit players.
func benchEntry(i int) EntryEvent {
	players := make([]int32, 11)
	for j := range players {
		players[j] = int32(100101 + (i*7+j*3)%26)
	}
	for j := 1; j < len(players); j++ { // keep them distinct
		if players[j] <= players[j-1] {
			players[j] = players[j-1] + 1
		}
	}
	return EntryEvent{MatchID: 1795, ContestID: int64(1000000 + i%200000), EntryID: int64(50000000 + i),
		UserID: int64(7000000 + i%3000000), TeamID: int64(80000000 + i), Players: players,
		Captain: players[0], ViceCaptain: players[5]}
}

// BenchmarkPollEntries times a Source reading pre-produced entry events from an
// in-process broker (fetch, decode, validate) until all are consumed. The broker shares
// the machine's cores.
func BenchmarkPollEntries(b *testing.B) {
	cfg := benchCluster(b, benchEntries)
	b.ReportAllocs()
	for b.Loop() {
		s, err := New(cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.AssignEntries(allPartitions(16, OffsetStart)); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n := 0
		for n < benchEntries {
			batch, err := s.Poll(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if batch.Rejected > 0 {
				b.Fatalf("%d rejected", batch.Rejected)
			}
			n += len(batch.Entries)
		}
		cancel()
		s.Close()
	}
	b.ReportMetric(float64(benchEntries*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPublishEntries times the Publisher delivering entry events to an in-process
// broker (encode, partition, batch, produce, acknowledged by Flush).
func BenchmarkPublishEntries(b *testing.B) {
	cfg := benchCluster(b, 0)
	pub := publisher(b, cfg)
	evs := make([]EntryEvent, 10_000)
	for i := range evs {
		evs[i] = benchEntry(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range 10 {
			if err := pub.PublishEntries(ctx, evs); err != nil {
				b.Fatal(err)
			}
			n += len(evs)
		}
		if err := pub.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
