package main

// The probes of issue 7's two budgets that only a live node at scale shows: freshness (a
// points event visible in the API within --interval + 1 s) and one late entry (what one
// new entry adds to the next cycle, ≤ 10 ms at 5.6M). They run once the node serves exact
// standings and before the match is played (simulate starts after them): the match is
// live, its points stand still, so every cycle around a probe is an idle one and the
// difference a probe makes is not buried under a ball's points changes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/kafkasource"
)

// probeEntry is one entry of the dataset, as the probes need it.
type probeEntry struct {
	Contest, Entry, User, Team int64
	Players                    []int32
	Captain, ViceCaptain       int32
}

// probeTarget is what the probes use from the dataset: an entry of a contest of about the
// wanted size (the freshness probe reads it; the late entries join its contest with its
// lineup) and the ids above every one in the dataset (new entries and users).
type probeTarget struct {
	Sample      probeEntry
	ContestSize int64
	MaxEntry    int64
	MaxUser     int64
}

// contestScan gathers, row by row, what pickTarget chooses from.
type contestScan struct {
	size              map[int64]int64
	first             map[int64]probeEntry
	maxEntry, maxUser int64
}

func newContestScan() *contestScan {
	return &contestScan{size: map[int64]int64{}, first: map[int64]probeEntry{}}
}

func (s *contestScan) add(e probeEntry) {
	s.size[e.Contest]++
	if _, ok := s.first[e.Contest]; !ok {
		e.Players = slices.Clone(e.Players)
		s.first[e.Contest] = e
	}
	s.maxEntry, s.maxUser = max(s.maxEntry, e.Entry), max(s.maxUser, e.User)
}

// pick returns the contest whose size is closest to want (the smaller id on a tie).
func (s *contestScan) pick(want int64) (probeTarget, error) {
	if len(s.size) == 0 {
		return probeTarget{}, errors.New("no entries")
	}
	best, bestD := int64(0), int64(math.MaxInt64)
	for c, n := range s.size {
		d := n - want
		if d < 0 {
			d = -d
		}
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return probeTarget{Sample: s.first[best], ContestSize: s.size[best], MaxEntry: s.maxEntry, MaxUser: s.maxUser}, nil
}

// pickTarget reads the dataset's entries.parquet once.
func pickTarget(ctx context.Context, data string, want int64) (probeTarget, error) {
	path := filepath.Join(data, dataset.EntriesFile)
	s := newContestScan()
	err := dataset.ReadEntries(ctx, path, 0, func(rec arrow.RecordBatch) error {
		col := func(i int) *array.Int64 { return rec.Column(i).(*array.Int64) }
		contest, entry, user, team := col(0), col(1), col(2), col(3)
		players := rec.Column(4).(*array.List)
		vals := players.ListValues().(*array.Int32).Int32Values()
		offs := players.Offsets()
		capt, vice := rec.Column(5).(*array.Int32), rec.Column(6).(*array.Int32)
		for i := 0; i < int(rec.NumRows()); i++ {
			s.add(probeEntry{Contest: contest.Value(i), Entry: entry.Value(i), User: user.Value(i), Team: team.Value(i),
				Players: vals[offs[i]:offs[i+1]], Captain: capt.Value(i), ViceCaptain: vice.Value(i)})
		}
		return nil
	})
	if err != nil {
		return probeTarget{}, fmt.Errorf("cannot pick the probes' contest: %w", err)
	}
	t, err := s.pick(want)
	if err != nil {
		return probeTarget{}, fmt.Errorf("cannot pick the probes' contest from %s: %w", path, err)
	}
	return t, nil
}

// probeReport is the probes' part of the report; durations in seconds, cycle times in ms.
type probeReport struct {
	Contest     int64 `json:"contest_id"`
	ContestSize int64 `json:"contest_entries"`
	Entry       int64 `json:"entry_id"`
	Player      int32 `json:"player_id"`

	// Freshness: publish → the entry's points show the new total in the API.
	FreshS      []float64 `json:"freshness_s"`
	FreshMedian float64   `json:"freshness_median_s"`
	FreshWorst  float64   `json:"freshness_worst_s"`
	FreshBudget float64   `json:"freshness_budget_s"` // interval + 1 s

	// Late entry: each late cycle (the one that folded the new entry) against the median
	// of the idle cycles around it.
	Late         []lateProbe `json:"late_entries"`
	LateMedian   float64     `json:"late_added_median_ms"` // the median of AddedMS (of an even count: the mean of the middle two)
	FoldMedian   float64     `json:"late_fold_median_ms"`
	LateAddedMS  summary     `json:"late_added_ms"`   // late cycle's took minus the idle median
	LateFoldMS   summary     `json:"late_fold_ms"`    // the late cycle's fold stage
	IdleMS       summary     `json:"idle_cycle_ms"`   // every idle cycle of the phase
	LateVisibleS summary     `json:"late_visible_s"`  // publish → the new entry answered by the API
	Error        string      `json:"error,omitempty"` // why the probes stopped early
}

// lateProbe is one late entry's figures.
type lateProbe struct {
	Entry    int64   `json:"entry_id"`
	Cycle    int64   `json:"cycle"`
	TookMS   float64 `json:"took_ms"`
	FoldMS   float64 `json:"fold_ms"`
	IdleMS   float64 `json:"idle_median_ms"` // of up to 2 idle cycles before and 2 after
	AddedMS  float64 `json:"added_ms"`
	Written  int64   `json:"written"`
	VisibleS float64 `json:"visible_s"`
}

// idle reports whether a cycle line is an idle cycle's: nothing rebuilt, no entry changed.
func (cl cycleLine) idle() bool { return cl.Rebuilt == 0 && cl.Changed == 0 }

// lateFigures fills each late cycle's idle baseline: the median took of the (up to) two
// idle cycles before it and two after it in lines, the phase's cycle lines in order. A
// late probe whose cycle is not in lines is left as it is.
func lateFigures(lines []cycleLine, late []lateProbe) {
	for i := range late {
		k := slices.IndexFunc(lines, func(cl cycleLine) bool { return cl.Cycle == late[i].Cycle })
		if k < 0 {
			continue
		}
		var around []float64
		for j, n := k-1, 0; j >= 0 && n < 2; j-- {
			if lines[j].idle() {
				around, n = append(around, lines[j].TookMS), n+1
			}
		}
		for j, n := k+1, 0; j < len(lines) && n < 2; j++ {
			if lines[j].idle() {
				around, n = append(around, lines[j].TookMS), n+1
			}
		}
		if len(around) == 0 {
			continue
		}
		late[i].IdleMS = median(around)
		late[i].AddedMS = late[i].TookMS - late[i].IdleMS
	}
}

// median is the middle value (the mean of the two middle ones for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// logTail reads the cycle lines a running node appends to its log.
type logTail struct {
	f    *os.File
	rest string // an unfinished last line
}

func openTail(path string) (*logTail, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &logTail{f: f}, nil
}

// next returns the cycle lines written since the last call.
func (t *logTail) next() ([]cycleLine, error) {
	b, err := io.ReadAll(t.f)
	if err != nil {
		return nil, err
	}
	text := t.rest + string(b)
	i := strings.LastIndexByte(text, '\n')
	if i < 0 {
		t.rest = text
		return nil, nil
	}
	t.rest = text[i+1:]
	var out []cycleLine
	for _, line := range strings.Split(text[:i], "\n") {
		if cl, ok := parseCycle(line); ok {
			out = append(out, cl)
		}
	}
	return out, nil
}

func (t *logTail) close() { t.f.Close() }

// prober runs the probes against a running node.
type prober struct {
	c       config
	pub     *kafkasource.Publisher
	api     string
	tail    *logTail
	alive   func() error // nil while the node runs
	target  probeTarget
	lines   []cycleLine // every cycle line read so far
	added   int64       // late entries published
	pollGap time.Duration
}

// wait polls f every pollGap until it is true, for at most d.
func (p *prober) wait(ctx context.Context, what string, d time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := p.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %v", what, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.pollGap):
		}
	}
}

// read appends the log's new cycle lines; it returns how many came.
func (p *prober) read() (int, error) {
	ls, err := p.tail.next()
	p.lines = append(p.lines, ls...)
	return len(ls), err
}

// waitIdle waits until n idle cycle lines have come after line index from.
func (p *prober) waitIdle(ctx context.Context, from, n int) error {
	return p.wait(ctx, fmt.Sprintf("%d idle cycles", n), 20*p.c.interval+2*time.Minute, func() (bool, error) {
		if _, err := p.read(); err != nil {
			return false, err
		}
		k := 0
		for _, cl := range p.lines[from:] {
			if cl.idle() {
				k++
			}
		}
		return k >= n, nil
	})
}

// entryPoints reads an entry's points from the API (ok false: not answered yet).
func (p *prober) entryPoints(contest, entry int64) (float64, bool) {
	resp, err := client.Get(fmt.Sprintf("%s/v1/contests/%d/entries/%d", p.api, contest, entry))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, resp.Body)
		return 0, false
	}
	var e struct {
		Points json.Number `json:"points"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return 0, false
	}
	v, err := e.Points.Float64()
	return v, err == nil
}

// multiplier is what a player's points count for in an entry: 2 for its captain, 1.5 for
// its vice-captain, 1 in its lineup, 0 outside it.
func (e probeEntry) multiplier(player int32) float64 {
	switch {
	case player == e.Captain:
		return 2
	case player == e.ViceCaptain:
		return 1.5
	case slices.Contains(e.Players, player):
		return 1
	}
	return 0
}

// freshness publishes n new totals for the sample entry's captain, each timed from just
// before its publish to the API answering the entry with the points it makes. Points
// stand at 0 before the match is played, so the entry's points are 2x the captain's total.
func (p *prober) freshness(ctx context.Context, n int, rep *probeReport) error {
	e := p.target.Sample
	player := e.Captain
	rep.Player = player
	for i := 1; i <= n; i++ {
		// Spread the publishes over the cycle's phase (a fixed sequence, not the tick's).
		gap := time.Duration(math.Mod(float64(i)*0.618, 1) * float64(p.c.interval))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(gap):
		}
		centi := int64(i) * 125 // 1.25, 2.5, ...: exact in binary
		want := e.multiplier(player) * float64(centi) / 100
		start := time.Now()
		if err := p.pub.PublishPoints(ctx, []kafkasource.PointsEvent{{MatchID: 1, PlayerID: player, Centi: centi, TS: time.Now().UnixMilli()}}); err != nil {
			return fmt.Errorf("freshness probe %d: %w", i, err)
		}
		if err := p.pub.Flush(ctx); err != nil {
			return fmt.Errorf("freshness probe %d: %w", i, err)
		}
		err := p.wait(ctx, fmt.Sprintf("freshness probe %d: entry %d's points %v in the API", i, e.Entry, want), time.Minute, func() (bool, error) {
			v, ok := p.entryPoints(e.Contest, e.Entry)
			return ok && math.Abs(v-want) < 1e-9, nil
		})
		if err != nil {
			return err
		}
		s := time.Since(start).Seconds()
		rep.FreshS = append(rep.FreshS, math.Round(s*1e3)/1e3)
		logf("probe: freshness %d/%d: player %d at %.2f -> entry %d shows %.2f after %.3fs", i, n, player, float64(centi)/100, e.Entry, want, s)
	}
	rep.FreshMedian = median(rep.FreshS)
	rep.FreshWorst = slices.Max(rep.FreshS)
	return nil
}

// lateEntries publishes n new entries into the sample's contest, one at a time, each just
// after a cycle line and once two idle cycles have passed since the last change, and
// takes the first cycle that rebuilt a group after its publish as the cycle that folded it.
func (p *prober) lateEntries(ctx context.Context, n int, rep *probeReport) error {
	e := p.target.Sample
	if _, err := p.read(); err != nil { // the freshness probes' cycles come before the phase
		return err
	}
	from, after := len(p.lines), len(p.lines) // after: the line after the last late cycle
	for i := 1; i <= n; i++ {
		if err := p.waitIdle(ctx, after, 2); err != nil {
			return fmt.Errorf("late entry %d: %w", i, err)
		}
		// Right after a cycle line: the entry is consumed well before the next tick.
		seen := len(p.lines)
		if err := p.wait(ctx, "a cycle line", 20*p.c.interval+2*time.Minute, func() (bool, error) {
			_, err := p.read()
			return len(p.lines) > seen, err
		}); err != nil {
			return fmt.Errorf("late entry %d: %w", i, err)
		}
		id := p.target.MaxEntry + int64(i)
		ev := kafkasource.EntryEvent{MatchID: 1, ContestID: e.Contest, EntryID: id, UserID: p.target.MaxUser + int64(i), TeamID: e.Team,
			Players: e.Players, Captain: e.Captain, ViceCaptain: e.ViceCaptain}
		mark := len(p.lines)
		start := time.Now()
		if err := p.pub.PublishEntries(ctx, []kafkasource.EntryEvent{ev}); err != nil {
			return fmt.Errorf("late entry %d: %w", i, err)
		}
		if err := p.pub.Flush(ctx); err != nil {
			return fmt.Errorf("late entry %d: %w", i, err)
		}
		p.added++
		var visible float64
		late := -1
		err := p.wait(ctx, fmt.Sprintf("late entry %d (%d): its cycle and its answer", i, id), 20*p.c.interval+2*time.Minute, func() (bool, error) {
			if _, err := p.read(); err != nil {
				return false, err
			}
			if late < 0 {
				late = slices.IndexFunc(p.lines[mark:], func(cl cycleLine) bool { return cl.Rebuilt > 0 })
				if late >= 0 {
					late += mark
				}
			}
			if visible == 0 {
				if _, ok := p.entryPoints(e.Contest, id); ok {
					visible = time.Since(start).Seconds()
				}
			}
			return late >= 0 && visible > 0, nil
		})
		if err != nil {
			return err
		}
		after = late + 1
		cl := p.lines[late]
		lp := lateProbe{Entry: id, Cycle: cl.Cycle, TookMS: cl.TookMS, FoldMS: cl.DurationsMS["fold"], Written: cl.Written, VisibleS: math.Round(visible*1e3) / 1e3}
		rep.Late = append(rep.Late, lp)
		logf("probe: late entry %d/%d: entry %d into contest %d (%d entries) folded by cycle %d: took %.1f ms, fold %.1f ms, %d records; answered %.3fs after its publish",
			i, n, id, e.Contest, p.target.ContestSize, lp.Cycle, lp.TookMS, lp.FoldMS, lp.Written, lp.VisibleS)
	}
	if err := p.waitIdle(ctx, after, 2); err != nil {
		return err
	}
	phase := p.lines[from:]
	lateFigures(phase, rep.Late)
	var added, fold, vis, idle []float64
	for _, lp := range rep.Late {
		added, fold, vis = append(added, lp.AddedMS), append(fold, lp.FoldMS), append(vis, lp.VisibleS)
	}
	for _, cl := range phase {
		if cl.idle() {
			idle = append(idle, cl.TookMS)
		}
	}
	rep.LateAddedMS, rep.LateFoldMS, rep.LateVisibleS, rep.IdleMS = summarize(added), summarize(fold), summarize(vis), summarize(idle)
	rep.LateMedian, rep.FoldMedian = median(added), median(fold)
	return nil
}

// runProbes runs the freshness probes, then the late entries. An error stops them; what
// was measured stays in the report.
func runProbes(ctx context.Context, c config, kafka, api, logPath string, alive func() error) (*probeReport, int64, error) {
	rep := &probeReport{FreshBudget: c.interval.Seconds() + 1}
	t := time.Now()
	target, err := pickTarget(ctx, filepath.Join(c.work, "data"), c.probeContest)
	if err != nil {
		return rep, 0, err
	}
	rep.Contest, rep.ContestSize, rep.Entry = target.Sample.Contest, target.ContestSize, target.Sample.Entry
	logf("probe: contest %d (%d entries), entry %d, chosen in %.1fs", rep.Contest, rep.ContestSize, rep.Entry, time.Since(t).Seconds())
	cfg := kafkasource.DefaultConfig()
	cfg.Brokers = []string{kafka}
	pub, err := kafkasource.NewPublisher(cfg, nil, nil)
	if err != nil {
		return rep, 0, err
	}
	defer pub.Close()
	tail, err := openTail(logPath)
	if err != nil {
		return rep, 0, err
	}
	defer tail.close()
	p := &prober{c: c, pub: pub, api: api, tail: tail, alive: alive, target: target, pollGap: 10 * time.Millisecond}
	if _, err := p.read(); err != nil { // the lines so far: the probes' cycles come after
		return rep, 0, err
	}
	// The sample entry ranked (the first full standings written), then quiet cycles.
	if err := p.wait(ctx, fmt.Sprintf("entry %d in the API", rep.Entry), 10*time.Minute, func() (bool, error) {
		_, ok := p.entryPoints(rep.Contest, rep.Entry)
		return ok, nil
	}); err != nil {
		return rep, 0, err
	}
	if err := p.waitIdle(ctx, len(p.lines), 2); err != nil {
		return rep, 0, err
	}
	if err := p.freshness(ctx, c.probes, rep); err != nil {
		return rep, p.added, err
	}
	logf("probe: freshness median %.3fs, worst %.3fs (budget %.1fs)", rep.FreshMedian, rep.FreshWorst, rep.FreshBudget)
	if err := p.lateEntries(ctx, c.probes, rep); err != nil {
		return rep, p.added, err
	}
	logf("probe: late entry adds median %.1f ms, worst %.1f ms to its cycle (idle cycles median %.1f ms; fold median %.1f ms)",
		rep.LateMedian, rep.LateAddedMS.Max, rep.IdleMS.Median, rep.FoldMedian)
	return rep, p.added, nil
}
