package kafkasource

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestWaitTopics(t *testing.T) {
	cfg := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := WaitTopics(ctx, cfg); err != nil {
		t.Fatalf("WaitTopics on existing topics: %v", err)
	}
	cfg.DLQTopic = "lb.dlq.missing"
	sctx, scancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer scancel()
	if err := WaitTopics(sctx, cfg); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("WaitTopics with a missing topic = %v, want an error once ctx ends", err)
	}
	if err := EnsureTopics(ctx, cfg.Brokers, cfg, 2); err != nil {
		t.Fatal(err)
	}
	if err := WaitTopics(ctx, cfg); err != nil {
		t.Fatalf("WaitTopics after creating the missing topic: %v", err)
	}
}
