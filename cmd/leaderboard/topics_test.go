package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/internal/kafkatest"
	"github.com/fantasy/leaderboard/kafkasource"
)

// load and simulate create the topics they publish to when the broker has none of them
// (a real Kafka cluster does not create a topic on a producer's first record), the
// entries topic with --partitions partitions.
func TestLoadAndSimulateCreateTopics(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ds")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"gen", "--entries", "3000", "--seed", "5", "--out", data}, &stdout, &stderr); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, stderr.String())
	}
	for _, b := range kafkatest.Brokers(t) {
		t.Run(b.Name, func(t *testing.T) {
			cfg := kafkatest.Names(t, b) // no topics yet
			kafkaArgs := func(cmd string, more ...string) []string {
				return append([]string{cmd, "--kafka", cfg.Brokers[0], "--entries-topic", cfg.EntriesTopic, "--points-topic", cfg.PointsTopic,
					"--matches-topic", cfg.MatchesTopic, "--dlq-topic", cfg.DLQTopic, "--partitions", "3"}, more...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if code := run(ctx, kafkaArgs("load", "--in", data, "--match", "4"), &stdout, &stderr); code != 0 {
				t.Fatalf("load: exit %d: %s", code, stderr.String())
			}
			stdout.Reset()
			stderr.Reset()
			if code := run(ctx, kafkaArgs("simulate", "--match", "4", "--seed", "5", "--speed", "1e7"), &stdout, &stderr); code != 0 {
				t.Fatalf("simulate: exit %d: %s", code, stderr.String())
			}
			ends := endOffsets(t, cfg)
			if n := len(ends[cfg.EntriesTopic]); n != 3 {
				t.Errorf("%s has %d partitions, want --partitions 3", cfg.EntriesTopic, n)
			}
			if n := sum(ends[cfg.EntriesTopic]); n != 3000 {
				t.Errorf("%s holds %d records, want the 3000 entries loaded", cfg.EntriesTopic, n)
			}
			if n := sum(ends[cfg.MatchesTopic]); n != 2 {
				t.Errorf("%s holds %d records, want live and completed", cfg.MatchesTopic, n)
			}
			if n := sum(ends[cfg.PointsTopic]); n < 22 {
				t.Errorf("%s holds %d records, want at least a total per player", cfg.PointsTopic, n)
			}
			if _, ok := ends[cfg.DLQTopic]; !ok {
				t.Errorf("%s was not created", cfg.DLQTopic)
			}

			// Bad --partitions is a usage error naming the flag.
			stderr.Reset()
			if code := run(ctx, []string{"load", "--kafka", cfg.Brokers[0], "--in", data, "--partitions", "0"}, &stdout, &stderr); code != 2 ||
				!bytes.Contains(stderr.Bytes(), []byte("--partitions 0")) {
				t.Errorf("load --partitions 0: exit %d, stderr %q; want a usage error naming --partitions", code, stderr.String())
			}
		})
	}
}

func endOffsets(t *testing.T, cfg kafkasource.Config) map[string]map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, cfg.EntriesTopic, cfg.PointsTopic, cfg.MatchesTopic, cfg.DLQTopic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Logf("%s/%d: %v", o.Topic, o.Partition, o.Err)
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out
}

func sum(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
