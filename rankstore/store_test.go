package rankstore

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

func open(tb testing.TB, dir string, c *clock) *Store {
	tb.Helper()
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour, DataDir: dir}, c.now, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
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

func TestPutFence(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	rec := func(key string, v int64, f records.Fence) records.Record {
		return records.Record{Set: "s", Key: key, Bins: records.Bins{"v": v}, Fence: f}
	}
	value := func(key string) (int64, records.Fence) {
		t.Helper()
		b, ok, err := s.Get(ctx, records.Live, "s", key)
		if !ok || err != nil {
			t.Fatalf("%s: %v %v", key, ok, err)
		}
		return b.Int("v"), records.StoredFence(b)
	}
	if err := s.Put(ctx, records.Live, []records.Record{rec("a", 1, records.Fence{Epoch: 2, Cycle: 5})}); err != nil {
		t.Fatal(err)
	}
	if v, f := value("a"); v != 1 || f != (records.Fence{Epoch: 2, Cycle: 5}) {
		t.Fatalf("stored %d %+v", v, f)
	}
	for _, tc := range []struct {
		name    string
		fence   records.Fence
		refused bool
	}{
		{"older epoch", records.Fence{Epoch: 1, Cycle: 99}, true},
		{"older cycle", records.Fence{Epoch: 2, Cycle: 4}, true},
		{"equal", records.Fence{Epoch: 2, Cycle: 5}, false},
		{"newer cycle", records.Fence{Epoch: 2, Cycle: 6}, false},
		{"newer epoch, lower cycle", records.Fence{Epoch: 3, Cycle: 1}, false},
	} {
		before, beforeF := value("a")
		err := s.Put(ctx, records.Live, []records.Record{rec("a", before+1, tc.fence), rec("b", 7, records.Fence{})})
		v, f := value("a")
		if tc.refused {
			var fe *records.FencedError
			if !errors.As(err, &fe) || !errors.Is(err, records.ErrFenced) || fe.Count != 1 || fe.Key != "a" || fe.Stored != beforeF || fe.Fence != tc.fence {
				t.Fatalf("%s: err %v (%+v)", tc.name, err, fe)
			}
			if v != before || f != beforeF {
				t.Fatalf("%s: refused write changed the record to %d %+v", tc.name, v, f)
			}
		} else if err != nil || v != before+1 || f != tc.fence {
			t.Fatalf("%s: err %v, stored %d %+v", tc.name, err, v, f)
		}
		if b, _ := value("b"); b != 7 {
			t.Fatalf("%s: the unfenced record of the same Put was not written", tc.name)
		}
	}
	// An unfenced write always replaces, and clears the fence.
	if err := s.Put(ctx, records.Live, []records.Record{rec("a", 100, records.Fence{})}); err != nil {
		t.Fatal(err)
	}
	if v, f := value("a"); v != 100 || !f.IsZero() {
		t.Fatalf("unfenced write: %d %+v", v, f)
	}
	// An expired record is absent: any fence may write over it.
	s.Put(ctx, records.Live, []records.Record{rec("c", 1, records.Fence{Epoch: 9, Cycle: 9})})
	c.add(2 * time.Hour)
	if err := s.Put(ctx, records.Live, []records.Record{rec("c", 2, records.Fence{Epoch: 1, Cycle: 1})}); err != nil {
		t.Fatalf("write over an expired record: %v", err)
	}
	// Several refusals are counted, the first named.
	err := s.Put(ctx, records.Live, []records.Record{rec("c", 3, records.Fence{Epoch: 1}), rec("x", 1, records.Fence{Epoch: 5}), rec("c", 4, records.Fence{Epoch: 0, Cycle: 1})})
	var fe *records.FencedError
	if !errors.As(err, &fe) || fe.Count != 2 || fe.Key != "c" || fe.Namespace != records.Live {
		t.Fatalf("two refusals: %v", err)
	}
}

func TestMutateAndDigests(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	ctx := context.Background()
	s.Put(ctx, records.Live, []records.Record{{Set: "s", Key: "old", Bins: records.Bins{"v": int64(1)}}})
	dig := func(set, key string) Digest { var d Digest; copy(d[:], set+"/"+key); return d }
	s.IndexDigests(dig)
	if set, key, ok := s.KeyOfDigest(records.Live, dig("s", "old")); !ok || set != "s" || key != "old" {
		t.Fatalf("existing record not indexed: %q %q %v", set, key, ok)
	}
	packed := func(v int64) records.Packed { p, _ := records.Pack(records.Bins{"v": v}); return p }
	errNo := errors.New("no")
	// A refusing fn changes nothing.
	if _, _, err := s.Mutate(records.Live, "s", "k", func(cur Stored, exists bool) (Change, error) {
		if exists {
			t.Fatal("absent record reported as existing")
		}
		return Change{}, errNo
	}); err != errNo {
		t.Fatal(err)
	}
	if _, _, ok := s.KeyOfDigest(records.Live, dig("s", "k")); ok {
		t.Fatal("refused write indexed")
	}
	st, ok, err := s.Mutate(records.Live, "s", "k", func(Stored, bool) (Change, error) {
		return Change{Op: Write, Bins: packed(5), TTL: -1}, nil
	})
	if err != nil || !ok || st.Gen != 1 || st.Expires != NeverExpires || st.Bins.Int("v") != 5 {
		t.Fatalf("write: %+v %v %v", st, ok, err)
	}
	if _, _, ok := s.KeyOfDigest(records.Live, dig("s", "k")); !ok {
		t.Fatal("new record not indexed")
	}
	st, _, _ = s.Mutate(records.Live, "s", "k", func(cur Stored, exists bool) (Change, error) {
		if !exists || cur.Bins.Int("v") != 5 {
			t.Fatalf("cur %+v %v", cur, exists)
		}
		return Change{Op: Write, Bins: packed(6), TTL: time.Minute}, nil
	})
	if st.Gen != 2 || st.Expires != c.now().Add(time.Minute).UnixNano() {
		t.Fatalf("rewrite: %+v", st)
	}
	st, _, _ = s.Mutate(records.Live, "s", "k", func(Stored, bool) (Change, error) {
		return Change{Op: Write, Bins: packed(7), KeepTTL: true}, nil
	})
	if st.Gen != 3 || st.Expires != c.now().Add(time.Minute).UnixNano() {
		t.Fatalf("keep TTL: %+v", st)
	}
	if got, ok, _ := s.Lookup(records.Live, "s", "k"); !ok || got.Gen != 3 || got.Bins.Int("v") != 7 {
		t.Fatalf("lookup %+v", got)
	}
	if _, _, err := s.Mutate(records.Live, "s", "k", func(Stored, bool) (Change, error) {
		return Change{Op: Write, Bins: records.Packed("junk")}, nil
	}); !errors.Is(err, records.ErrCorrupt) {
		t.Fatalf("malformed record written: %v", err)
	}
	s.Mutate(records.Live, "s", "k", func(Stored, bool) (Change, error) { return Change{Op: Remove}, nil })
	if _, ok, _ := s.Lookup(records.Live, "s", "k"); ok {
		t.Fatal("removed record still there")
	}
	if _, _, ok := s.KeyOfDigest(records.Live, dig("s", "k")); ok {
		t.Fatal("removed record still indexed")
	}
	// Sweep and Delete drop index entries too.
	c.add(2 * time.Hour)
	s.Sweep()
	if _, _, ok := s.KeyOfDigest(records.Live, dig("s", "old")); ok {
		t.Fatal("swept record still indexed")
	}
}

// TestKeepPrev: a KeepPrev write of a versioned record keeps the stored version's bins
// under their p_ names, in the same write; a first write has none; a fenced-out write
// changes nothing.
func TestKeepPrev(t *testing.T) {
	s := open(t, "", &clock{t: time.Unix(1000, 0)})
	ctx := context.Background()
	put := func(cycle int64, rows []records.Row) error {
		r := records.Contest{ID: 9, Match: 1, Cycle: cycle, AsOf: cycle * 10, Total: int64(len(rows)), PageSize: 100,
			Hist: []records.Bucket{{Points: rows[0].Points, Count: 1}}, First: rows}.Record()
		r.KeepPrev, r.Fence = true, records.Fence{Epoch: 1, Cycle: cycle}
		return s.Put(ctx, records.Live, []records.Record{r})
	}
	read := func() records.Bins {
		b, ok, err := s.Get(ctx, records.Live, records.SetContest, "9")
		if err != nil || !ok {
			t.Fatalf("get: %v %v", ok, err)
		}
		return b
	}
	if err := put(5, []records.Row{{Rank: 1, EntryID: 1, Points: 50}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := read()["p_cycle"]; ok {
		t.Fatal("a first write has a previous version")
	}
	if err := put(7, []records.Row{{Rank: 1, EntryID: 2, Points: 70}}); err != nil {
		t.Fatal(err)
	}
	b := read()
	for _, c := range []struct {
		committed, want int64
		ok              bool
	}{{7, 7, true}, {6, 5, true}, {5, 5, true}, {4, 0, false}} {
		got, ok, err := records.ContestAt(b, c.committed)
		if err != nil || ok != c.ok || ok && (got.Cycle != c.want || got.AsOf != c.want*10 || got.First[0].Points != c.want*10) {
			t.Errorf("at %d: %+v %v %v, want cycle %d (%v)", c.committed, got, ok, err, c.want, c.ok)
		}
	}
	// An older write is refused and keeps both versions as they were.
	if err := put(6, []records.Row{{Rank: 1, EntryID: 3, Points: 60}}); !errors.Is(err, records.ErrFenced) {
		t.Fatalf("older write: %v", err)
	}
	if got, _, _ := records.ContestAt(read(), 6); got.Cycle != 5 {
		t.Fatalf("after a refused write the previous version is %d", got.Cycle)
	}
}

// TestPutBatchOrder: a batch's result is that of its records applied one by one in
// order (a key written twice keeps its last write, each fence checked against what the
// batch wrote before it), and a FencedError counts the refused records and names the
// first in the batch's order.
func TestPutBatchOrder(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	rng := rand.New(rand.NewPCG(5, 6))
	type val struct {
		v int64
		f records.Fence
	}
	ref := map[string]val{}
	for round := range 40 {
		batch := make([]records.Record, 1+rng.IntN(400))
		count, first := 0, -1
		for i := range batch {
			key := strconv.Itoa(rng.IntN(300))
			f := records.Fence{Epoch: rng.Int64N(3), Cycle: rng.Int64N(4)}
			v := int64(round*1000 + i)
			batch[i] = records.Record{Set: "s", Key: key, Bins: records.Bins{"v": v}, Fence: f}
			if old, ok := ref[key]; ok && !f.IsZero() && f.Older(old.f) {
				if count++; first < 0 {
					first = i
				}
				continue
			}
			ref[key] = val{v, f}
		}
		err := s.Put(ctx, records.Live, batch)
		var fe *records.FencedError
		switch {
		case count == 0 && err != nil:
			t.Fatalf("round %d: %v", round, err)
		case count > 0 && (!errors.As(err, &fe) || fe.Count != count || fe.Key != batch[first].Key || fe.Fence != batch[first].Fence):
			t.Fatalf("round %d: %v; want %d refused, the first %s at %v", round, err, count, batch[first].Key, batch[first].Fence)
		}
		for key, want := range ref {
			b, ok, err := s.Get(ctx, records.Live, "s", key)
			if err != nil || !ok || b.Int("v") != want.v || records.StoredFence(b) != want.f {
				t.Fatalf("round %d: %s = %v %v %v; want %+v", round, key, b, ok, err, want)
			}
		}
	}
	if got := s.Len(records.Live); got != len(ref) {
		t.Fatalf("%d records, want %d", got, len(ref))
	}
}

// TestPutErrorMidBatch: a malformed record ends a Put with an error naming it; it is not
// stored, what the Put wrote reads back whole, no shard is left with slabs queued for
// compaction, and the batch written again without it stores every other record.
func TestPutErrorMidBatch(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	batch := make([]records.Record, 2000)
	for i := range batch {
		batch[i] = valueRecord(strconv.Itoa(i), int64(i), 200)
	}
	// Rewrites leave garbage, so that the failing Put has slabs to compact.
	for range 3 {
		if err := s.Put(ctx, records.Live, batch); err != nil {
			t.Fatal(err)
		}
	}
	for i := range batch {
		batch[i] = valueRecord(strconv.Itoa(i), int64(10_000+i), 200)
	}
	bad := batch[1900]
	batch[1900] = records.Record{Set: "s", Key: "bad", Packed: records.Packed{3, 1}}
	err := s.Put(ctx, records.Live, batch)
	if !errors.Is(err, records.ErrCorrupt) || !strings.Contains(err.Error(), "s/bad") {
		t.Fatalf("malformed record in a batch: %v", err)
	}
	if _, ok, _ := s.Lookup(records.Live, "s", "bad"); ok {
		t.Fatal("the malformed record was stored")
	}
	// Each record reads its old or its new value; those before the malformed one in its
	// shard were written (in the batch's order) before it failed.
	n := s.ns[records.Live]
	badShard := n.shard(n.hash("s", "bad"))
	for i, r := range batch {
		if i == 1900 {
			continue
		}
		b, ok, err := s.Get(ctx, records.Live, r.Set, r.Key)
		written := i < 1900 && n.shard(n.hash(r.Set, r.Key)) == badShard
		if err != nil || !ok || b.Int("v") != int64(10_000+i) && (written || b.Int("v") != int64(i)) {
			t.Fatalf("%s after the failed Put: %v %v %v", r.Key, b, ok, err)
		}
	}
	for i := range n.shards {
		if len(n.shards[i].pending) != 0 {
			t.Fatalf("shard %d left %d slabs queued for compaction", i, len(n.shards[i].pending))
		}
	}
	batch[1900] = bad
	if err := s.Put(ctx, records.Live, batch); err != nil {
		t.Fatal(err)
	}
	for i, r := range batch {
		if b, ok, err := s.Get(ctx, records.Live, r.Set, r.Key); err != nil || !ok || b.Int("v") != int64(10_000+i) {
			t.Fatalf("%s: %v %v %v", r.Key, b, ok, err)
		}
	}
	if got := s.Len(records.Live); got != len(batch) {
		t.Fatalf("%d records, want %d", got, len(batch))
	}
}

// TestSetCodeOnce: Put finds a record's set code once (putBatch.sort) for its hash and
// its slab: setCodeOf agrees with setCode for every coded set and a literal one, and a
// batch of records of every coded set and of literal sets (one a coded set's name with
// another byte) written through Put reads back under the hash and the slab size the
// other paths compute (Lookup's hashKey, recordSize).
func TestSetCodeOnce(t *testing.T) {
	for _, set := range append(codedSets[:], "entrz", "", "a-longer-literal-set") {
		code, ok := setCode(set)
		if c := setCodeOf(set); ok && uint64(c) != code || !ok && c != setNone {
			t.Fatalf("setCodeOf(%q) = %d, setCode %d %v", set, c, code, ok)
		}
	}
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sets := append(codedSets[:], "entrz", "usr", "a-longer-literal-set")
	var batch []records.Record
	for i := range 3000 {
		p, err := records.Pack(records.Bins{"v": int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, records.Record{Set: sets[i%len(sets)], Key: strconv.Itoa(i / len(sets)), Packed: p})
	}
	if err := s.Put(ctx, records.Live, batch); err != nil {
		t.Fatal(err)
	}
	n := s.ns[records.Live]
	for i, r := range batch {
		st, ok, err := s.Lookup(records.Live, r.Set, r.Key)
		if err != nil || !ok {
			t.Fatalf("%s/%s: %v %v", r.Set, r.Key, ok, err)
		}
		if b, _ := records.DecodeBins(st.Bins); b.Int("v") != int64(i) {
			t.Fatalf("%s/%s holds %v, want v=%d", r.Set, r.Key, b, i)
		}
		sh := n.shard(n.hash(r.Set, r.Key))
		loc := sh.lookup(n.hash(r.Set, r.Key), r.Set, r.Key)
		if v := sh.view(loc); v.size != recordSize(r.Set, r.Key, len(v.bins)) || string(v.set) != r.Set {
			t.Fatalf("%s/%s: %d bytes in its slab as set %q, recordSize %d", r.Set, r.Key, v.size, v.set, recordSize(r.Set, r.Key, len(v.bins)))
		}
	}
}

// TestReservePrefaultKeepsRecords: Reserve writes each page of a grown table once
// (prefault) without changing a slot: the records stored before read back after a
// Reserve that grows every table past a page, and prefault leaves every slot of a table
// as it was.
func TestReservePrefaultKeepsRecords(t *testing.T) {
	slots := make([]slot, 3*512+7)
	for i := range slots {
		slots[i] = slot(uint64(i) * 0x9e3779b97f4a7c15)
	}
	want := slices.Clone(slots)
	prefault(slots)
	if !slices.Equal(slots, want) {
		t.Fatal("prefault changed a slot")
	}
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var batch []records.Record
	for i := range 2000 {
		batch = append(batch, records.Entry{ID: int64(i), Contest: 7, Match: 1, User: int64(i % 97), Team: int64(i)}.TrustedRecord())
		batch[i].Key = strconv.Itoa(i)
	}
	if err := s.Put(ctx, records.Live, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(records.Live, 64*minMappedSlots); err != nil {
		t.Fatal(err)
	}
	n := s.ns[records.Live]
	for i := range n.shards {
		if l := len(n.shards[i].slots); l < minMappedSlots {
			t.Fatalf("shard %d has %d slots after Reserve, want a mapped table (%d or more)", i, l, minMappedSlots)
		}
	}
	for i, r := range batch {
		b, ok, err := s.GetPacked(ctx, records.Live, r.Set, r.Key)
		if err != nil || !ok || string(b) != string(records.Entry{ID: int64(i), Contest: 7, Match: 1, User: int64(i % 97), Team: int64(i)}.Pack()) {
			t.Fatalf("%s/%s after Reserve: %x %v %v", r.Set, r.Key, b, ok, err)
		}
	}
}
