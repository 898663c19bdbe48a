package coordinator

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gaugeValue reads one unlabelled gauge from reg (-1 when absent).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// TestPartitionsUnownedGauge: every partition is unowned without workers, none once a
// worker holds them, and all again once that worker is gone (the PartitionsUnowned alert).
func TestPartitionsUnownedGauge(t *testing.T) {
	const name = "leaderboard_coordinator_partitions_unowned"
	reg := prometheus.NewRegistry()
	members := newStatic()
	startCoordinator(t, testConfig(t, t.TempDir()), 8, Deps{Members: members, Offsets: countingOffsets(), Registerer: reg})
	want := func(v float64) {
		t.Helper()
		waitFor(t, 5*time.Second, func() string { return fmt.Sprintf("%s = %v, want %v", name, gaugeValue(t, reg, name), v) },
			func() bool { return gaugeValue(t, reg, name) == v })
	}
	want(8)
	members.set("w1")
	want(0)
	members.set()
	want(8)
}
