package kafkatest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/kafkasource"
)

// Every broker takes a record on the test's own entries topic and gives it back, and two
// configs never share a topic.
func TestBrokersRoundTrip(t *testing.T) {
	bs := Brokers(t)
	if len(bs) == 0 || bs[0].Name != Embedded {
		t.Fatalf("brokers %+v: want the embedded one first", bs)
	}
	for _, b := range bs {
		t.Run(b.Name, func(t *testing.T) {
			cfg := Config(t, b)
			other := Names(t, b)
			if cfg.EntriesTopic == other.EntriesTopic || !strings.Contains(cfg.EntriesTopic, "TestBrokersRoundTrip") {
				t.Fatalf("topics %q and %q: want distinct names carrying the test's name", cfg.EntriesTopic, other.EntriesTopic)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.EntriesTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.EntriesTopic, Key: []byte("7"), Value: []byte("hello")}).FirstErr(); err != nil {
				t.Fatalf("produce to %s: %v", cfg.EntriesTopic, err)
			}
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
				t.Fatalf("fetched %d records, want the one produced", len(recs))
			}
		})
	}
}

// fatalTB records a Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestBrokersFailsInCIWithoutARealBroker(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv(EnvBrokers, "")
	f := &fatalTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != any(f) {
				panic(r)
			}
		}()
		Brokers(f)
	}()
	if !strings.Contains(f.msg, "KAFKA_BROKERS is not set") {
		t.Fatalf("Brokers with CI=true and no KAFKA_BROKERS: got %q, want a failure naming KAFKA_BROKERS", f.msg)
	}
}

func TestBrokersFailsOnAnUnreachableRealBroker(t *testing.T) {
	t.Setenv(EnvBrokers, "127.0.0.1:1")
	f := &fatalTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != any(f) {
				panic(r)
			}
		}()
		Brokers(f)
	}()
	if !strings.Contains(f.msg, "cannot connect to 127.0.0.1:1") {
		t.Fatalf("Brokers with an unreachable KAFKA_BROKERS: got %q", f.msg)
	}
}

// Topics EnsureTopics created answer at once: a real broker acknowledges CreateTopics
// before it serves them, and a node listing their end offsets right after failed (2 of
// 3 starts of standalone on fresh topics did before EnsureTopics waited). 16 entries
// partitions, as standalone creates: with 2 the race rarely shows.
func TestEnsureTopicsServeAtOnce(t *testing.T) {
	for _, b := range Brokers(t) {
		t.Run(b.Name, func(t *testing.T) {
			for i := range 3 {
				cfg := Names(t, b)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := kafkasource.EnsureTopics(ctx, cfg.Brokers, cfg, 16); err != nil {
					t.Fatal(err)
				}
				// As standalone does: the partitions, then a source and its end offsets.
				if _, err := kafkasource.Partitions(ctx, cfg); err != nil {
					t.Fatalf("try %d: partitions right after EnsureTopics: %v", i, err)
				}
				src, err := kafkasource.New(cfg, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, topic := range []string{cfg.EntriesTopic, cfg.PointsTopic, cfg.MatchesTopic} {
					if _, err = src.EndOffsets(ctx, topic); err != nil {
						break
					}
				}
				src.Close()
				cancel()
				if err != nil {
					t.Fatalf("try %d: end offsets right after EnsureTopics: %v", i, err)
				}
			}
		})
	}
}
