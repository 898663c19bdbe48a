package kafkasource

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestScratchPollTimeline(t *testing.T) {
	cfg := startCluster(t, 16)
	pub := publisher(t, cfg)
	ctx := context.Background()
	evs := make([]EntryEvent, 0, benchEntries)
	for i := range benchEntries {
		evs = append(evs, benchEntry(i))
	}
	pub.PublishEntries(ctx, evs)
	pub.Flush(ctx)
	for iter := range 30 {
		logs := new(logBuffer)
		s, _ := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
		s.AssignEntries(allPartitions(16, OffsetStart))
		t0 := time.Now()
		n := 0
		var marks []string
		var maxGap time.Duration
		last := t0
		for n < benchEntries {
			b, err := s.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(b.Entries)
			if g := time.Since(last); g > maxGap {
				maxGap = g
				marks = append(marks, time.Since(t0).Round(time.Millisecond).String()+":"+g.Round(time.Millisecond).String()+"@"+itoa(n))
			}
			last = time.Now()
		}
		t.Logf("iter %d: %v total, gaps %v", iter, time.Since(t0).Round(time.Millisecond), marks)
		if time.Since(t0) > time.Second {
			t.Log(logs.String())
			break
		}
		s.Close()
	}
}

func itoa(n int) string { return string(AppendCentipoints(nil, int64(n)*100)) }
