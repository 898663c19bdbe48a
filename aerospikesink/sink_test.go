package aerospikesink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/records"
)

var ctx = context.Background()

func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// gauge reads an unlabelled gauge or counter.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func equalBins(a, b records.Bins) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		switch x := v.(type) {
		case []byte:
			y, ok := b[k].([]byte)
			if !ok || !bytes.Equal(x, y) {
				return false
			}
		default:
			if b[k] != v {
				return false
			}
		}
	}
	return true
}

// TestRoundTrip: every record type of the layout written and read back with its types,
// REPLACE semantics, deletes, batches split and run concurrently, TTLs per namespace.
func TestRoundTrip(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			sk, reg := newTestSink(t, srv, nil, func(c *Config) { c.BatchSize, c.Concurrency, c.LiveTTL = 7, 3, 2*time.Second })
			pre := runID + srv.name
			recs := []records.Record{
				records.Match{ID: 1, State: records.StateLive, Cycle: 3, AsOf: 99, Entries: 4, Contests: 2, Parts: []int32{0, 3}}.Record(),
				records.MatchPart{Match: 1, Part: 3, State: records.StateLive, Cycle: 3, Log: records.PointsLog{}}.Record(),
				records.Contest{ID: 5, Match: 1, Cycle: 3, Total: 2, PageSize: 20, Hist: []records.Bucket{{Points: 10, Count: 2}}, First: []records.Row{{Rank: 1, EntryID: 8, Points: 10}, {Rank: 1, EntryID: 9, Points: 10}}}.Record(),
				records.Page{Contest: 5, No: 1, Cycle: 3, Rows: []records.Row{{Rank: 21, EntryID: 30, Points: -4}}}.Record(),
				records.Entry{ID: 8, Contest: 5, Match: 1, User: 2, Team: 3}.Record(),
				{Set: "misc", Key: "s", Bins: records.Bins{"s": "text", "n": int64(-1 << 40), "b": []byte{}}},
			}
			for i := range recs {
				recs[i].Key = pre + recs[i].Key
			}
			if err := sk.Put(ctx, records.Live, recs); err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				got, ok, err := sk.Get(ctx, records.Live, r.Set, r.Key)
				if err != nil || !ok || !equalBins(got, r.Bins) {
					if r.Set == "misc" && err == nil && ok && len(got["b"].([]byte)) == 0 && got.Str("s") == "text" && got.Int("n") == -1<<40 {
						continue // an empty blob may come back empty, not nil
					}
					t.Fatalf("%s/%s: got %v ok %v err %v, want %v", r.Set, r.Key, got, ok, err, r.Bins)
				}
			}
			if _, ok, err := sk.Get(ctx, records.Live, records.SetContest, pre+"absent"); ok || err != nil {
				t.Fatalf("absent record: ok %v err %v", ok, err)
			}
			// REPLACE: the stored bins are exactly the new ones.
			if err := sk.Put(ctx, records.Live, []records.Record{{Set: "misc", Key: pre + "s", Bins: records.Bins{"n": int64(2)}}}); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := sk.Get(ctx, records.Live, "misc", pre+"s"); !equalBins(got, records.Bins{"n": int64(2)}) {
				t.Fatalf("after a replace: %v", got)
			}
			// Many records in batches of 7, three at once; read back in batches of 7 with
			// holes.
			var many []records.Record
			var keys []string
			for i := range 100 {
				many = append(many, records.Page{Contest: 77, No: i + 1, Cycle: int64(i)}.Record())
				many[i].Key = pre + many[i].Key
				keys = append(keys, many[i].Key)
				if i%10 == 0 {
					keys = append(keys, pre+"hole"+fmt.Sprint(i))
				}
			}
			if err := sk.Put(ctx, records.Live, many); err != nil {
				t.Fatal(err)
			}
			got, err := sk.GetMany(ctx, records.Live, records.SetPage, keys)
			if err != nil {
				t.Fatal(err)
			}
			j := 0
			for i, k := range keys {
				if strings.Contains(k, "hole") {
					if got[i] != nil {
						t.Fatalf("%s: %v, want absent", k, got[i])
					}
					continue
				}
				if !equalBins(got[i], many[j].Bins) {
					t.Fatalf("%s: %v, want %v", k, got[i], many[j].Bins)
				}
				j++
			}
			if n := counter(t, reg, "leaderboard_aerospike_records_written_total", "set", records.SetPage); n != 101 {
				t.Fatalf("written pages counter %v, want 101", n)
			}
			// Deletes, of a present and an absent record.
			if err := sk.Delete(ctx, records.Live, records.SetPage, []string{keys[1], pre + "never"}); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := sk.Get(ctx, records.Live, records.SetPage, keys[1]); ok {
				t.Fatal("deleted record still there")
			}
			// TTLs: live (2s here) expires, complete (7 days) stays.
			if err := sk.Put(ctx, records.Complete, recs[:1]); err != nil {
				t.Fatal(err)
			}
			srv.advance(3 * time.Second)
			if _, ok, err := sk.Get(ctx, records.Live, recs[0].Set, recs[0].Key); ok || err != nil {
				t.Fatalf("live record after its TTL: ok %v err %v", ok, err)
			}
			if _, ok, err := sk.Get(ctx, records.Complete, recs[0].Set, recs[0].Key); !ok || err != nil {
				t.Fatalf("complete record: ok %v err %v", ok, err)
			}
			if _, err := sk.GetMany(ctx, "nope", records.SetPage, keys); err == nil || !strings.Contains(err.Error(), `"nope"`) {
				t.Fatalf("unknown namespace: %v", err)
			}
		})
	}
}

// TestFencing: the filter expression refuses an older epoch or cycle, accepts an equal
// or newer one, and accepts anything over a record without a fence; the rest of a Put
// is written and the error names the first refused record.
func TestFencing(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			sk, reg := newTestSink(t, srv, nil, nil)
			key := runID + srv.name + "f"
			put := func(f records.Fence, v int64) error {
				return sk.Put(ctx, records.Live, []records.Record{{Set: records.SetContest, Key: key, Bins: records.Bins{"v": v}, Fence: f}})
			}
			stored := func() (int64, records.Fence) {
				b, ok, err := sk.Get(ctx, records.Live, records.SetContest, key)
				if err != nil || !ok {
					t.Fatalf("get: %v %v", ok, err)
				}
				return b.Int("v"), records.StoredFence(b)
			}
			steps := []struct {
				f      records.Fence
				accept bool
			}{
				{records.Fence{Epoch: 1, Cycle: 5}, true},  // no record yet
				{records.Fence{Epoch: 1, Cycle: 4}, false}, // older cycle
				{records.Fence{Epoch: 1, Cycle: 5}, true},  // equal: a retried write
				{records.Fence{Epoch: 1, Cycle: 6}, true},  // newer cycle
				{records.Fence{Epoch: 0, Cycle: 9}, false}, // older epoch, whatever the cycle
				{records.Fence{Epoch: 2, Cycle: 1}, true},  // newer epoch, lower cycle
				{records.Fence{Epoch: 2, Cycle: 0}, false},
				{records.Fence{}, true},                   // unfenced: always replaces, clears the fence
				{records.Fence{Epoch: 1, Cycle: 1}, true}, // over a record without fence bins
			}
			want := int64(0)
			wantFence := records.Fence{}
			refused := 0
			for i, st := range steps {
				err := put(st.f, int64(i+1))
				if st.accept {
					if err != nil {
						t.Fatalf("step %d fence %+v: %v", i, st.f, err)
					}
					want, wantFence = int64(i+1), st.f
				} else {
					refused++
					var fe *records.FencedError
					if !errors.As(err, &fe) || !errors.Is(err, records.ErrFenced) || fe.Key != key || fe.Set != records.SetContest || fe.Count != 1 || fe.Fence != st.f {
						t.Fatalf("step %d fence %+v: %v, want a FencedError naming %s", i, st.f, err, key)
					}
				}
				if v, f := stored(); v != want || f != wantFence {
					t.Fatalf("step %d: stored v %d fence %+v, want %d %+v", i, v, f, want, wantFence)
				}
			}
			if n := counter(t, reg, "leaderboard_aerospike_errors_total", "code", "FILTERED_OUT"); n != float64(refused) {
				t.Fatalf("FILTERED_OUT counted %v, want %d", n, refused)
			}
			// One Put, one record refused among others: they are written, the error counts it.
			others := []records.Record{
				{Set: records.SetPage, Key: key + "/a", Bins: records.Bins{"v": int64(1)}, Fence: records.Fence{Epoch: 0, Cycle: 1}},
				{Set: records.SetContest, Key: key, Bins: records.Bins{"v": int64(100)}, Fence: records.Fence{Epoch: 0, Cycle: 1}},
				{Set: records.SetPage, Key: key + "/b", Bins: records.Bins{"v": int64(2)}, Fence: records.Fence{Epoch: 0, Cycle: 1}},
			}
			err := sk.Put(ctx, records.Live, others)
			var fe *records.FencedError
			if !errors.As(err, &fe) || fe.Count != 1 || fe.Key != key {
				t.Fatalf("mixed put: %v", err)
			}
			got, err := sk.GetMany(ctx, records.Live, records.SetPage, []string{key + "/a", key + "/b"})
			if err != nil || got[0].Int("v") != 1 || got[1].Int("v") != 2 {
				t.Fatalf("the unrefused records: %v %v", got, err)
			}
		})
	}
}

// TestTooBig: a record over the server's max-record-size fails at once (no retry) with
// an error naming it and its size; the rest of the Put is written; the breaker stays
// closed.
func TestTooBig(t *testing.T) {
	srv := startDev(t, 400)
	sk, reg := newTestSink(t, srv, nil, func(c *Config) { c.BreakerFailures = 1 })
	big := records.Page{Contest: 9, No: 1, Rows: make([]records.Row, 200)}.Record()
	recs := []records.Record{
		records.Page{Contest: 9, No: 2}.Record(),
		big,
		records.Page{Contest: 9, No: 3}.Record(),
	}
	err := sk.Put(ctx, records.Live, recs)
	if err == nil || !strings.Contains(err.Error(), "page/9/1") || !strings.Contains(err.Error(), "RECORD_TOO_BIG") || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("too big: %v", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Fatalf("a refused record is not an outage: %v", err)
	}
	if n := counter(t, reg, "leaderboard_aerospike_errors_total", "code", "RECORD_TOO_BIG"); n != 1 {
		t.Fatalf("RECORD_TOO_BIG counted %v times, want once (no retry)", n)
	}
	got, _ := sk.GetMany(ctx, records.Live, records.SetPage, []string{"9/1", "9/2", "9/3"})
	if got[0] != nil || got[1] == nil || got[2] == nil {
		t.Fatalf("after the refusal: %v", got)
	}
	if sk.br.current() != breakerClosed {
		t.Fatal("a refused record opened the breaker")
	}
}

// TestRetryOnTimeout: a server answering slower than the timeout is retried with backoff
// until it answers; past the retries the error wraps ErrUnavailable and names a record.
func TestRetryOnTimeout(t *testing.T) {
	srv := startDev(t, 1<<20)
	sk, reg := newTestSink(t, srv, nil, func(c *Config) {
		c.Timeout, c.Retries, c.RetryBackoff, c.BreakerFailures = 100*time.Millisecond, 8, 40*time.Millisecond, 100
	})
	recs := []records.Record{records.Page{Contest: 4, No: 1, Cycle: 7}.Record()}
	srv.setDelay(300 * time.Millisecond)
	time.AfterFunc(400*time.Millisecond, func() { srv.setDelay(0) })
	if err := sk.Put(ctx, records.Live, recs); err != nil {
		t.Fatalf("put through a slow spell: %v", err)
	}
	if n := counter(t, reg, "leaderboard_aerospike_errors_total", "code", "TIMEOUT"); n < 1 {
		t.Fatal("no TIMEOUT counted")
	}
	if b, ok, _ := sk.Get(ctx, records.Live, records.SetPage, "4/1"); !ok || b.Int("cycle") != 7 {
		t.Fatalf("record after retries: %v %v", b, ok)
	}

	sk2, _ := newTestSink(t, srv, nil, func(c *Config) {
		c.Timeout, c.Retries, c.RetryBackoff, c.BreakerFailures = 50*time.Millisecond, 1, 10*time.Millisecond, 100
	})
	srv.setDelay(300 * time.Millisecond)
	defer srv.setDelay(0)
	err := sk2.Put(ctx, records.Live, recs)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "page/4/1") || !strings.Contains(err.Error(), "2 tries") {
		t.Fatalf("put past its retries: %v", err)
	}
}

// TestBreaker: the server goes away; after BreakerFailures failed batches calls fail fast
// for the cool-down; once the server is back and the cool-down over, writes go through.
func TestBreakerOutage(t *testing.T) {
	srv := startDev(t, 1<<20)
	clk := &clock{t: time.Unix(1e9, 0)}
	sk, reg := newTestSink(t, srv, clk.now, func(c *Config) {
		c.Timeout, c.Retries, c.RetryBackoff, c.BreakerFailures, c.BreakerCooldown = 200*time.Millisecond, 1, 10*time.Millisecond, 2, 5*time.Second
	})
	recs := []records.Record{records.Page{Contest: 6, No: 1, Cycle: 1}.Record()}
	if err := sk.Put(ctx, records.Live, recs); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	for i := range 2 {
		if err := sk.Put(ctx, records.Live, recs); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("put %d with the server gone: %v", i, err)
		}
	}
	if sk.br.current() != breakerOpen {
		t.Fatalf("breaker state %d after 2 failed batches, want open", sk.br.current())
	}
	start := time.Now()
	err := sk.Put(ctx, records.Live, recs)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "circuit breaker is open") || time.Since(start) > 150*time.Millisecond { // the network path takes 2 tries of 200ms
		t.Fatalf("put with the breaker open took %v: %v", time.Since(start), err)
	}
	if _, _, err := sk.Get(ctx, records.Live, records.SetPage, "6/1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("get with the breaker open: %v", err)
	}
	if v := gauge(t, reg, "leaderboard_aerospike_breaker_state"); v != breakerOpen {
		t.Fatalf("breaker gauge %v", v)
	}
	srv.restart()
	recs[0] = records.Page{Contest: 6, No: 1, Cycle: 2}.Record()
	deadline := time.Now().Add(15 * time.Second)
	for {
		clk.add(5 * time.Second) // the cool-down passes
		err := sk.Put(ctx, records.Live, recs)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write within 15s of the server's return: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sk.br.current() != breakerClosed {
		t.Fatal("breaker not closed after a successful write")
	}
	if b, ok, _ := sk.Get(ctx, records.Live, records.SetPage, "6/1"); !ok || b.Int("cycle") != 2 {
		t.Fatalf("after recovery: %v %v", b, ok)
	}
	if n := gauge(t, reg, "leaderboard_aerospike_fast_failures_total"); n != 2 {
		t.Fatalf("fast failures %v, want 2 (a put and a get)", n)
	}
}

// TestKeepPrev: a versioned write keeps the stored version under the p_ bins, server
// side (expression writes), in the same operation as the fence; the first write has
// none; a contest and a page both; readers pick the version at or below a commit.
func TestKeepPrev(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			sk, _ := newTestSink(t, srv, nil, nil)
			id := time.Now().UnixNano()%1_000_000_000 + 1
			contest := func(cycle int64) records.Record {
				r := records.Contest{ID: id, Match: 1, Cycle: cycle, AsOf: cycle * 10, Total: 1, PageSize: 100,
					Hist: []records.Bucket{{Points: cycle, Count: 1}}, First: []records.Row{{Rank: 1, EntryID: cycle, Points: cycle}}}.Record()
				r.Key = runID + srv.name + r.Key
				r.KeepPrev, r.Fence = true, records.Fence{Epoch: 3, Cycle: cycle}
				return r
			}
			page := func(cycle int64) records.Record {
				r := records.Page{Contest: id, No: 1, Cycle: cycle, Rows: []records.Row{{Rank: 101, EntryID: cycle, Points: -cycle}}}.Record()
				r.Key = runID + srv.name + r.Key
				r.KeepPrev, r.Fence = true, records.Fence{Epoch: 3, Cycle: cycle}
				return r
			}
			get := func(r records.Record) records.Bins {
				b, ok, err := sk.Get(ctx, records.Live, r.Set, r.Key)
				if err != nil || !ok {
					t.Fatalf("get %s/%s: %v %v", r.Set, r.Key, ok, err)
				}
				return b
			}
			if err := sk.Put(ctx, records.Live, []records.Record{contest(5), page(5)}); err != nil {
				t.Fatal(err)
			}
			if _, ok := get(contest(5))["p_cycle"]; ok {
				t.Fatal("a first write has a previous version")
			}
			if err := sk.Put(ctx, records.Live, []records.Record{contest(8), page(8)}); err != nil {
				t.Fatal(err)
			}
			c, ok, err := records.ContestAt(get(contest(8)), 7)
			if err != nil || !ok || c.Cycle != 5 || c.AsOf != 50 || c.Hist[0].Points != 5 || c.First[0].EntryID != 5 {
				t.Fatalf("contest at 7: %+v %v %v", c, ok, err)
			}
			if c, ok, _ := records.ContestAt(get(contest(8)), 8); !ok || c.Cycle != 8 || c.First[0].EntryID != 8 {
				t.Fatalf("contest at 8: %+v %v", c, ok)
			}
			if p, ok, err := records.PageAt(get(page(8)), 7); err != nil || !ok || p.Cycle != 5 || p.Rows[0].Points != -5 {
				t.Fatalf("page at 7: %+v %v %v", p, ok, err)
			}
			// An older write is fenced out and moves nothing.
			if err := sk.Put(ctx, records.Live, []records.Record{contest(6)}); !errors.Is(err, records.ErrFenced) {
				t.Fatalf("older write: %v", err)
			}
			if c, ok, _ := records.ContestAt(get(contest(8)), 7); !ok || c.Cycle != 5 {
				t.Fatalf("after a fenced-out write, the previous version is %+v", c)
			}
		})
	}
}

// TestConcurrencyAcrossPuts: Puts called at once (a cycle's encoding goroutines) share
// Config.Concurrency; each used to run that many batches of its own.
func TestConcurrencyAcrossPuts(t *testing.T) {
	srv := startDev(t, 1<<20)
	srv.setDelay(5 * time.Millisecond) // batches overlap
	sk, _ := newTestSink(t, srv, nil, func(c *Config) { c.BatchSize, c.Concurrency = 1, 2 })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var recs []records.Record
			for i := range 6 {
				r := records.Page{Contest: 900 + int64(g), No: i + 1, Cycle: 1}.Record()
				r.Key = runID + "conc" + r.Key
				recs = append(recs, r)
			}
			if err := sk.Put(ctx, records.Live, recs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := sk.peak.Load(); got != 2 {
		t.Errorf("at most %d batches were in flight at once across 4 concurrent Puts, want 2 (--aerospike-concurrency)", got)
	}
	if got := sk.inflight.Load(); got != 0 {
		t.Errorf("%d batches still counted in flight after every Put returned", got)
	}
}
