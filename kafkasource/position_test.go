package kafkasource

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBatchPositions: every points and lifecycle event comes with where it was read
// (partition, offset, raw key and value), index for index, and every entry with its
// record's timestamp, so the worker can hold points back past a snapshot and
// dead-letter what its state refuses.
func TestBatchPositions(t *testing.T) {
	cfg := startCluster(t, 2)
	s, _, _ := newSource(t, cfg)
	cl := producer(t, cfg)
	at := time.UnixMilli(1_795_740_000_123)
	var recs []*kgo.Record
	for k := range 3 {
		recs = append(recs, &kgo.Record{Topic: cfg.PointsTopic, Key: []byte("1"), Value: EncodePoints(PointsEvent{MatchID: 1, PlayerID: int32(100 + k), Centi: int64(k) * 50, TS: int64(k)})})
	}
	recs = append(recs, &kgo.Record{Topic: cfg.MatchesTopic, Key: []byte("1"), Value: EncodeMatch(MatchEvent{MatchID: 1, State: MatchLive, TS: 9})})
	e := testEntry(10, 5)
	recs = append(recs, &kgo.Record{Topic: cfg.EntriesTopic, Key: []byte("10"), Value: EncodeEntry(e), Timestamp: at})
	produce(t, cl, recs...)
	if err := s.AssignEntries(allPartitions(2, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	var b Batch
	deadline := time.Now().Add(15 * time.Second)
	for len(b.Points) < 3 || len(b.Matches) < 1 || len(b.Entries) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %+v", b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		got, err := s.Poll(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		b.Points, b.PointsAt = append(b.Points, got.Points...), append(b.PointsAt, got.PointsAt...)
		b.Matches, b.MatchesAt = append(b.Matches, got.Matches...), append(b.MatchesAt, got.MatchesAt...)
		b.Entries = append(b.Entries, got.Entries...)
	}
	if len(b.PointsAt) != len(b.Points) || len(b.MatchesAt) != len(b.Matches) {
		t.Fatalf("%d points at %d positions, %d matches at %d", len(b.Points), len(b.PointsAt), len(b.Matches), len(b.MatchesAt))
	}
	for k, p := range b.Points {
		pos := b.PointsAt[k]
		if pos.Offset != int64(p.PlayerID-100) || pos.Partition != 0 || string(pos.Key) != "1" || string(pos.Value) != string(recs[p.PlayerID-100].Value) {
			t.Fatalf("points of player %d at %+v", p.PlayerID, pos)
		}
	}
	if pos := b.MatchesAt[0]; pos.Offset != 0 || string(pos.Value) != string(recs[3].Value) {
		t.Fatalf("lifecycle event at %+v", pos)
	}
	if got := b.Entries[0].Time; got != at.UnixMilli() {
		t.Fatalf("entry record time %d, want %d", got, at.UnixMilli())
	}
}
