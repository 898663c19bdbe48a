package rankstore

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, dir string, c *clock) *Store {
	t.Helper()
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour, DataDir: dir}, c.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutGetTTL(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	m := records.Match{ID: 1, State: records.StateLive, Cycle: 3}
	if err := s.Put(ctx, records.Live, []records.Record{m.Record(), records.Matches{IDs: []int64{1}}.Record()}); err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.Get(ctx, records.Live, records.SetMatch, "1")
	if got, _ := records.MatchFrom(b); !ok || err != nil || got.Cycle != 3 {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.Get(ctx, records.Complete, records.SetMatch, "1"); ok {
		t.Fatal("namespaces are not separate")
	}
	many, err := s.GetMany(ctx, records.Live, records.SetMatch, []string{"2", "1"})
	if err != nil || many[0] != nil || many[1] == nil {
		t.Fatalf("GetMany %v %v", many, err)
	}
	c.add(59 * time.Minute)
	if _, ok, _ := s.Get(ctx, records.Live, records.SetMatch, "1"); !ok {
		t.Fatal("expired before its TTL")
	}
	s.Put(ctx, records.Live, []records.Record{m.Record()}) // a rewrite refreshes the TTL
	c.add(2 * time.Minute)
	if _, ok, _ := s.Get(ctx, records.Live, records.SetMatch, "1"); !ok {
		t.Fatal("rewrite did not refresh the TTL")
	}
	if _, ok, _ := s.Get(ctx, records.Live, records.SetMatches, records.MatchesKey); ok {
		t.Fatal("record visible after its TTL")
	}
	if n := s.Sweep(); n != 1 || s.Len(records.Live) != 1 {
		t.Fatalf("swept %d, left %d", n, s.Len(records.Live))
	}
	s.Delete(ctx, records.Live, records.SetMatch, []string{"1"})
	if s.Len(records.Live) != 0 {
		t.Fatal("delete")
	}
	if _, _, err := s.Get(ctx, "nope", "x", "y"); !errors.Is(err, ErrNamespace) {
		t.Fatalf("unknown namespace: %v", err)
	}
}

func TestCompleteSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	var recs []records.Record
	for i := range 3000 {
		recs = append(recs, records.Entry{ID: int64(i), Contest: 7, Match: 1, User: 9, Team: 2,
			Lineup: records.Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}}.Record())
	}
	s.Put(ctx, records.Complete, recs)
	s.Put(ctx, records.Live, recs[:10]) // live is not persisted
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	c.add(time.Hour)
	s.Put(ctx, records.Complete, []records.Record{records.Matches{IDs: []int64{1}}.Record()})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, dir, c)
	if s2.Len(records.Complete) != 3001 || s2.Len(records.Live) != 0 {
		t.Fatalf("reloaded %d complete, %d live", s2.Len(records.Complete), s2.Len(records.Live))
	}
	b, ok, _ := s2.Get(ctx, records.Complete, records.SetEntry, "2999")
	if e, err := records.EntryFrom(b); !ok || err != nil || e.ID != 2999 || e.Lineup.Captain != 1 {
		t.Fatalf("reloaded %+v %v", e, err)
	}
	// Records whose TTL ran out while the process was down are not loaded.
	c.add(7*24*time.Hour - 30*time.Minute)
	s3 := open(t, dir, c)
	if s3.Len(records.Complete) != 1 {
		t.Fatalf("loaded %d records, want only the one written an hour later", s3.Len(records.Complete))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// A damaged file stops Open with a message saying what to do.
	os.WriteFile(filepath.Join(dir, FileName), []byte("garbage"), 0o644)
	if _, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour, DataDir: dir}, c.now, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("opened a damaged file")
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				id := int64(w*1000 + i)
				s.Put(ctx, records.Live, []records.Record{records.Matches{IDs: []int64{id}}.Record()})
				if b, ok, err := s.Get(ctx, records.Live, records.SetMatches, records.MatchesKey); !ok || err != nil || b == nil {
					t.Errorf("get: %v %v", ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
