package rankstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

func putCycle(t *testing.T, s *Store, cycle int64) {
	t.Helper()
	m := records.Match{ID: 1, State: records.StateLive, Cycle: cycle}
	if err := s.Put(context.Background(), records.Live, []records.Record{m.Record()}); err != nil {
		t.Fatal(err)
	}
}

// liveCycle returns the live match record's cycle, or -1 if there is none.
func liveCycle(t *testing.T, s *Store) int64 {
	t.Helper()
	b, ok, err := s.Get(context.Background(), records.Live, records.SetMatch, "1")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return -1
	}
	m, err := records.MatchFrom(b)
	if err != nil {
		t.Fatal(err)
	}
	return m.Cycle
}

// A live file is the last clean stop's: reloaded after it, but never after a crash that
// came later, where it would serve an old cycle as current.
func TestLiveFileOnlyAfterCleanStop(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	putCycle(t, s, 13)
	if err := s.Close(); err != nil { // clean stop at cycle 13
		t.Fatal(err)
	}

	s = open(t, dir, c)
	if got := liveCycle(t, s); got != 13 {
		t.Fatalf("after a clean stop: live cycle %d, want 13", got)
	}
	putCycle(t, s, 28)
	// Crash: no Close. The live namespace is lost, as RAM is; cycle 13 must not return.
	s = open(t, dir, c)
	if got := liveCycle(t, s); got != -1 {
		t.Fatalf("after a crash at cycle 28: live cycle %d served as current, want none", got)
	}
	putCycle(t, s, 29)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, c)
	if got := liveCycle(t, s); got != 29 {
		t.Fatalf("after the next clean stop: live cycle %d, want 29", got)
	}
}

// Temporary files of interrupted saves are removed at Open; the files saved are intact.
func TestOpenRemovesInterruptedSaves(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	putCycle(t, s, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	temps := []string{FileName + ".tmp-123", LiveFileName + ".tmp-456"}
	for _, name := range temps {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half a file"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "notes.txt") // not ours: left alone
	os.WriteFile(other, []byte("x"), 0o644)
	s = open(t, dir, c)
	if got := liveCycle(t, s); got != 5 {
		t.Fatalf("live cycle %d, want 5", got)
	}
	for _, name := range temps {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there after Open (%v)", name, err)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Open removed a file not its own: %v", err)
	}
}
