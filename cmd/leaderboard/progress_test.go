package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressLines: where stderr is not a terminal, progress is a plain line at most
// every interval, never one per update, and nothing for work shorter than that.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	update, finish := newProgressLines(&buf, "load", 5*time.Second, now)
	for i := range 1000 { // 1000 updates over 12 s
		clock = clock.Add(12 * time.Millisecond)
		update(int64(i+1)*1000, 1_000_000)
	}
	finish()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 12 s of updates every 12 ms, want 2 (one per 5 s):\n%s", len(lines), buf.String())
	}
	if want := "load: 417000/1000000 rows (42%), 83333 rows/s"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("carriage returns in a non-terminal's output: %q", buf.String())
	}

	buf.Reset()
	update, finish = newProgressLines(&buf, "write", 5*time.Second, now)
	update(10, 100)
	clock = clock.Add(time.Second)
	update(100, 100)
	finish()
	if buf.Len() != 0 {
		t.Errorf("work of 1 s printed %q, want nothing", buf.String())
	}

	// A writer that is not a file is not a terminal.
	if isTerminal(&buf) {
		t.Error("a bytes.Buffer taken for a terminal")
	}
}
