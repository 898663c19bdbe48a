package main

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"strings"
	"testing"
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
