package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestGCPercent: --gc-percent sets the collector's target unless it is 0 or GOGC is set,
// and a negative percent is a usage error naming the flag.
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	if got := setGCPercent(37); got != 37 || debug.SetGCPercent(37) != 37 {
		t.Fatalf("setGCPercent(37) = %d; want the collector at 37", got)
	}
	t.Setenv("GOGC", "80")
	debug.SetGCPercent(80)
	if got := setGCPercent(37); got != 80 || debug.SetGCPercent(80) != 80 {
		t.Fatalf("with GOGC=80, setGCPercent(37) = %d; want GOGC's 80 kept", got)
	}
	t.Setenv("GOGC", "")
	debug.SetGCPercent(37)
	if got := setGCPercent(0); got != 37 || debug.SetGCPercent(37) != 37 {
		t.Fatalf("setGCPercent(0) = %d; want the collector left at 37", got)
	}
	if defaultGCPercent <= 0 {
		t.Fatalf("defaultGCPercent %d", defaultGCPercent)
	}
	for _, v := range []string{"-1", "-50"} {
		err := cmdStandalone(context.Background(), []string{"--gc-percent", v}, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--gc-percent "+v) {
			t.Errorf("--gc-percent %s: %v; want a usage error naming it", v, err)
		}
	}
}

// TestApplyGCPercent: the node's GC target applies at once, for the cold start too (the
// collector is cheap since the store left the Go heap), and the node waits for ready
// only to return the cold start's garbage to the OS; a node stopped before ready keeps
// the target.
func TestApplyGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	log := slog.New(slog.DiscardHandler)

	debug.SetGCPercent(100)
	var calls atomic.Int32
	var before atomic.Int32 // the target while the node was not ready yet
	ready := func() bool {
		if calls.Add(1) <= 3 {
			p := debug.SetGCPercent(100)
			debug.SetGCPercent(p)
			before.Store(int32(p))
			return false
		}
		return true
	}
	done := make(chan struct{})
	go func() { applyGCPercent(context.Background(), 42, ready, time.Millisecond, log); close(done) }()
	<-done
	if got := debug.SetGCPercent(100); got != 42 || before.Load() != 42 || calls.Load() != 4 {
		t.Fatalf("GC percent %d before ready, %d after (asked %d times); want 42 throughout", before.Load(), got, calls.Load())
	}

	debug.SetGCPercent(100)
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { applyGCPercent(ctx, 42, func() bool { return false }, time.Millisecond, log); close(done) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	<-done
	if got := debug.SetGCPercent(100); got != 42 {
		t.Fatalf("never ready: GC percent %d; want 42, applied at the start", got)
	}
}
