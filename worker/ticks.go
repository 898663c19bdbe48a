package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fantasy/leaderboard/internal/atomicfile"
	"github.com/fantasy/leaderboard/records"
)

// Tick starts one cycle: its number and the points-topic snapshot it ranks against.
type Tick struct {
	// Cycle is the cycle number: it never goes backwards, across restarts too.
	Cycle int64
	// Points is the points topic's partition -> offset of the snapshot: the cycle ranks
	// with the totals read below these offsets and holds back the rest. Nil: every total
	// read so far (tests).
	Points map[int32]int64
	// At is when the cycle started (its results' as_of).
	At time.Time
	// Epoch is the cluster's assignment epoch the cycle writes under (every write's
	// fence); 0 on a standalone node.
	Epoch int64
	// Hold lists the matches not to rank at this tick (a cluster's barrier: their last
	// open cycle is not committed yet; records/versions.go). A standalone node commits
	// each match itself: none.
	Hold []int64
}

// CycleSource says when a cycle starts. A Ticker drives a standalone node; the
// coordinator drives a cluster's workers.
type CycleSource interface {
	// Next blocks until the next cycle starts, or ctx ends (then it returns ctx.Err()).
	Next(ctx context.Context) (Tick, error)
}

// TickerConfig configures a Ticker.
type TickerConfig struct {
	Interval time.Duration
	// Dir keeps the cycle high-water mark (file cycle.hwm); empty: none (then cycle
	// numbers continue only from Floor).
	Dir string
	// Floor is a cycle number already used (e.g. the highest in the store): the first
	// tick is above it.
	Floor int64
	// Reserve is how many numbers one fsynced write of the high-water mark reserves
	// (default 1: a write per tick). Numbers reserved but unused are skipped after a
	// restart, which moves them ahead of the Epoch floor: keep it 1 with an Epoch.
	Reserve int64
	// Epoch, when set, adds a third floor: the intervals elapsed since Epoch, so that a
	// node that lost both its data dir and its store (memory only, then a crash) still
	// never numbers a cycle below one it served before (given a clock that does not go
	// back and an interval not lengthened).
	Epoch time.Time
}

// Ticker is the cycle source of a standalone node: a tick every interval, numbered from
// a high-water mark kept in a file (written and fsynced, with its directory, before a
// number it covers is handed out), so numbers never go backwards across restarts or
// crashes; it takes the points topic's end offsets at each tick as the snapshot.
type Ticker struct {
	cfg       TickerConfig
	offsets   func(ctx context.Context) (map[int32]int64, error)
	now       func() time.Time
	mu        sync.Mutex
	next, hwm int64
	t         *time.Ticker
}

const hwmFile = "cycle.hwm"

// NewTicker opens the high-water mark in cfg.Dir (if set). offsets returns the points
// topic's end offsets (kafkasource.Source.EndOffsets); nil: ticks carry no snapshot.
func NewTicker(cfg TickerConfig, offsets func(ctx context.Context) (map[int32]int64, error), now func() time.Time) (*Ticker, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("ticker interval %v: must be > 0", cfg.Interval)
	}
	if cfg.Reserve < 1 {
		cfg.Reserve = 1
	}
	t := &Ticker{cfg: cfg, offsets: offsets, now: now, next: max(cfg.Floor, 0) + 1}
	if cfg.Dir != "" {
		b, err := os.ReadFile(filepath.Join(cfg.Dir, hwmFile))
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("cannot read the cycle high-water mark: %w", err)
		default:
			v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("cycle high-water mark %s holds %q, not a cycle number; remove it only if no cycle of this deployment is in the store", filepath.Join(cfg.Dir, hwmFile), b)
			}
			t.next = max(t.next, v+1)
		}
		t.hwm = t.next - 1
	}
	return t, nil
}

// Next waits for the next interval and returns its tick.
func (t *Ticker) Next(ctx context.Context) (Tick, error) {
	t.mu.Lock()
	if t.t == nil {
		t.t = time.NewTicker(t.cfg.Interval)
	}
	tc := t.t.C
	t.mu.Unlock()
	select {
	case <-ctx.Done():
		return Tick{}, ctx.Err()
	case <-tc:
	}
	var pts map[int32]int64
	if t.offsets != nil {
		var err error
		if pts, err = t.offsets(ctx); err != nil {
			return Tick{}, fmt.Errorf("cannot take the points snapshot: %w", err)
		}
	}
	n, err := t.take()
	if err != nil {
		return Tick{}, err
	}
	return Tick{Cycle: n, Points: pts, At: t.now()}, nil
}

// take hands out the next cycle number, first persisting a new high-water mark when
// the reserved numbers are used up.
func (t *Ticker) take() (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.next
	if !t.cfg.Epoch.IsZero() {
		// Ticks come one interval apart, so this floor never runs ahead of the numbers.
		if d := t.now().Sub(t.cfg.Epoch); d > 0 {
			n = max(n, int64(d/t.cfg.Interval))
		}
	}
	if t.cfg.Dir != "" && n > t.hwm {
		if err := writeHWM(t.cfg.Dir, n+t.cfg.Reserve-1); err != nil {
			return 0, err
		}
		t.hwm = n + t.cfg.Reserve - 1
	}
	t.next = n + 1
	return n, nil
}

// Stop stops the ticker.
func (t *Ticker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t != nil {
		t.t.Stop()
	}
}

func writeHWM(dir string, v int64) error {
	if err := atomicfile.Write(dir, hwmFile, []byte(strconv.FormatInt(v, 10)+"\n")); err != nil {
		return fmt.Errorf("cannot write the cycle high-water mark: %w", err)
	}
	return nil
}

// StoredCycle returns the highest cycle number found in the store (both namespaces: the
// matches lists, rewritten every cycle, and the match records they list, by their
// contents and their fences): a floor for a cycle source that lost its own high-water
// mark.
func StoredCycle(ctx context.Context, store Store) (int64, error) {
	var top int64
	for _, ns := range []string{records.Live, records.Complete} {
		b, ok, err := store.Get(ctx, ns, records.SetMatches, records.MatchesKey)
		if err != nil {
			return 0, fmt.Errorf("cannot read the %s matches list: %w", ns, err)
		}
		if !ok {
			continue
		}
		top = max(top, records.StoredFence(b).Cycle) // written every cycle
		list, err := records.MatchesFrom(b)
		if err != nil {
			return 0, fmt.Errorf("cannot decode the %s matches list: %w", ns, err)
		}
		for _, id := range list.IDs {
			mb, ok, err := store.Get(ctx, ns, records.SetMatch, records.IDKey(id))
			if err != nil {
				return 0, fmt.Errorf("cannot read match %d in %s: %w", id, ns, err)
			}
			if !ok {
				continue
			}
			if m, err := records.MatchFrom(mb); err == nil {
				top = max(top, m.Cycle, records.StoredFence(mb).Cycle)
			}
		}
	}
	return top, nil
}
