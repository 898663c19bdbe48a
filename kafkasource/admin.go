package kafkasource

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicsWait bounds how long EnsureTopics waits for new topics to answer.
const topicsWait = 30 * time.Second

// WaitTopics waits until every topic of cfg answers a request for its end offsets on
// every partition, or ctx ends. A real Kafka cluster acknowledges CreateTopics before
// every broker serves the new topics (a read right after creation can fail with
// UNKNOWN_TOPIC_OR_PARTITION for a moment). EnsureTopics waits the same way.
func WaitTopics(ctx context.Context, cfg Config) error {
	return waitTopics(ctx, cfg.Brokers, cfg)
}

func waitTopics(ctx context.Context, brokers []string, cfg Config) error {
	// The client would otherwise keep "unknown topic" for its 5 s metadata minimum age.
	cl, err := newClient(brokers, cfg, nil, kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, topicsWait)
	defer cancel()
	topics := []string{cfg.EntriesTopic, cfg.PointsTopic, cfg.MatchesTopic, cfg.DLQTopic}
	for {
		listed, err := adm.ListEndOffsets(ctx, topics...)
		if err == nil {
			err = listed.Error()
		}
		if err == nil {
			for _, t := range topics {
				if len(listed[t]) == 0 {
					err = fmt.Errorf("topic %s has no partitions yet", t)
					break
				}
			}
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v not ready: %w (last: %v)", topics, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
