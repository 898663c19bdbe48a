package aerospikesink

import (
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestAvailable: a sink is available until its breaker opens, unavailable during the
// cool-down, and available again once it ends (the half-open probe), without Available
// itself moving the breaker.
func TestAvailable(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	cfg := DefaultConfig()
	cfg.BreakerFailures, cfg.BreakerCooldown = 2, 5*time.Second
	s := newSink(cfg, nil, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), clk.now)
	if !s.Available() {
		t.Fatal("a new sink is not available")
	}
	s.br.failure()
	if !s.Available() {
		t.Fatal("unavailable after one failed batch of the 2 that open the breaker")
	}
	s.br.failure()
	if s.Available() {
		t.Fatal("available with the breaker open")
	}
	clk.t = clk.t.Add(4 * time.Second)
	if s.Available() {
		t.Fatal("available before the cool-down ended")
	}
	if s.br.current() != breakerOpen {
		t.Fatalf("breaker state %d after Available calls, want open", s.br.current())
	}
	clk.t = clk.t.Add(time.Second)
	if !s.Available() {
		t.Fatal("unavailable after the cool-down ended (the next batch is a probe)")
	}
	if s.br.current() != breakerOpen {
		t.Fatalf("Available moved the breaker to state %d", s.br.current())
	}
	s.br.allow()
	s.br.failure() // the probe fails: open again
	if s.Available() {
		t.Fatal("available after a failed probe reopened the breaker")
	}
}

// The worker's optional interface (worker.Availability) is satisfied.
var _ interface{ Available() bool } = (*Sink)(nil)
