package rankstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// slabBytes sums a namespace's slab bytes over its shards.
func slabBytes(s *Store, ns string) (capacity, used, live int) {
	n := s.ns[ns]
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		c, u, l := sh.bytes()
		sh.mu.RUnlock()
		capacity, used, live = capacity+c, used+u, live+l
	}
	return capacity, used, live
}

func valueRecord(key string, v int64, pad int) records.Record {
	return records.Record{Set: "s", Key: key, Bins: records.Bins{"v": v, "pad": bytes.Repeat([]byte{'x'}, pad)}}
}

// Rewriting records over and over leaves garbage that compaction reclaims: the slabs stay
// within a bound of the live bytes, every record reads back its last value, and a record
// read before it was replaced (and its slab compacted away) still reads as it was.
func TestCompactionKeepsReadersAndBoundsBytes(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	const n = 3000
	want := make([]int64, n) // each record's last value
	put := func(round int64) {
		t.Helper()
		var batch []records.Record
		for i := range n {
			// Round 0 writes all; then each round rewrites two thirds, a different two
			// thirds each time, so slabs are left partly live and compacted.
			if round == 0 || (i+int(round))%3 != 0 {
				want[i] = round*n + int64(i)
				batch = append(batch, valueRecord(strconv.Itoa(i), want[i], 40+i%200))
			}
		}
		if err := s.Put(ctx, records.Live, batch); err != nil {
			t.Fatal(err)
		}
	}
	put(0)
	held, ok, err := s.GetPacked(ctx, records.Live, "s", "7")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	heldCopy := bytes.Clone(held)
	for round := int64(1); round <= 40; round++ {
		put(round)
		capacity, used, live := slabBytes(s, records.Live)
		// Every slab but the one being filled is at least two thirds live; the one being
		// filled and its unfilled tail are at most a slab per shard.
		if limit := live*3/2 + shards*2*minSlab; used > limit || capacity > limit+shards*minSlab {
			t.Fatalf("round %d: %d bytes live, %d used, %d allocated: garbage not reclaimed", round, live, used, capacity)
		}
	}
	if !bytes.Equal(held, heldCopy) {
		t.Fatal("a record lent to a reader changed after rewrites and compactions")
	}
	for i := range n {
		p, ok, _ := s.GetPacked(ctx, records.Live, "s", strconv.Itoa(i))
		if !ok || p.Int("v") != want[i] || len(p.Bytes("pad")) != 40+i%200 {
			t.Fatalf("record %d: %v %d", i, ok, p.Int("v"))
		}
	}
	if got, ok, _ := s.Lookup(records.Live, "s", "7"); !ok || got.Gen != 1+27 { // 27 rounds of 40 rewrite record 7
		t.Fatalf("generation after 28 writes: %d", got.Gen)
	}
	compactions := 0
	for i := range s.ns[records.Live].shards {
		compactions += s.ns[records.Live].shards[i].compactions
	}
	if compactions == 0 {
		t.Fatal("no slab was compacted: the test does not exercise compaction")
	}
	// Deleting all but a few leaves the slabs holding about those few.
	keys := make([]string, 0, n)
	for i := 10; i < n; i++ {
		keys = append(keys, strconv.Itoa(i))
	}
	s.Delete(ctx, records.Live, "s", keys)
	if s.Len(records.Live) != 10 {
		t.Fatalf("left %d", s.Len(records.Live))
	}
	if _, used, live := slabBytes(s, records.Live); used > 2*live+shards*2*minSlab {
		t.Fatalf("after deleting: %d bytes used for %d live", used, live)
	}
	for i := range 10 {
		if p, ok, _ := s.GetPacked(ctx, records.Live, "s", strconv.Itoa(i)); !ok || p.Int("v") != want[i] {
			t.Fatalf("record %d after deletes", i)
		}
	}
}

// A record larger than a slab gets a slab of its own, dropped when the record is replaced.
func TestLargeRecord(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	big := valueRecord("big", 1, 3*maxSlab)
	if err := s.Put(ctx, records.Live, []records.Record{big, valueRecord("small", 2, 10)}); err != nil {
		t.Fatal(err)
	}
	p, ok, _ := s.GetPacked(ctx, records.Live, "s", "big")
	if !ok || len(p.Bytes("pad")) != 3*maxSlab || cap(p) != len(p) {
		t.Fatalf("big record: %v, %d bytes, cap %d", ok, len(p.Bytes("pad")), cap(p))
	}
	s.Put(ctx, records.Live, []records.Record{valueRecord("big", 3, 5)})
	if capacity, _, _ := slabBytes(s, records.Live); capacity >= maxSlab {
		t.Fatalf("replaced big record's slab kept: %d bytes allocated", capacity)
	}
	if p.Int("v") != 1 || len(p.Bytes("pad")) != 3*maxSlab {
		t.Fatal("the big record a reader holds changed")
	}
	if q, _, _ := s.GetPacked(ctx, records.Live, "s", "small"); q.Int("v") != 2 {
		t.Fatal("small record lost")
	}
}

// Sweep's deletions shift probe runs back; none of the unexpired records may be lost or
// skipped, whatever the mix, and the index keeps growing and shrinking correctly.
func TestSweepManyMixed(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	const n = 5000
	var recs []records.Record
	for i := range n {
		recs = append(recs, valueRecord(strconv.Itoa(i), int64(i), 8))
	}
	s.Put(ctx, records.Live, recs)
	// Every third record is rewritten later, so it outlives the others.
	c.add(30 * time.Minute)
	var later []records.Record
	for i := 0; i < n; i += 3 {
		later = append(later, valueRecord(strconv.Itoa(i), int64(-i), 8))
	}
	s.Put(ctx, records.Live, later)
	c.add(31 * time.Minute)
	if got := s.Len(records.Live); got != len(later) {
		t.Fatalf("Len %d, want %d unexpired", got, len(later))
	}
	if dropped := s.Sweep(); dropped != n-len(later) {
		t.Fatalf("swept %d, want %d", dropped, n-len(later))
	}
	for i := range n {
		p, ok, _ := s.GetPacked(ctx, records.Live, "s", strconv.Itoa(i))
		if want := i%3 == 0; ok != want || (ok && p.Int("v") != int64(-i)) {
			t.Fatalf("record %d after the sweep: %v %d", i, ok, p.Int("v"))
		}
	}
	if s.Sweep() != 0 {
		t.Fatal("a second sweep dropped records")
	}
}

// The table alone, with colliding hashes: look-ups compare keys, deletions keep the
// probe runs whole, and KeyOfDigest tells two records of one 64-bit hash apart.
func TestTableCollisions(t *testing.T) {
	var tb table
	tb.seed = maphash.MakeSeed()
	const n = 200
	// 7 hashes, long runs; those at the tags' end wrap around the table's end.
	hashOf := func(i int) uint64 { return uint64(maxSlots - 1 - i%7*(i%2)) }
	for i := range n {
		tb.reserve()
		key := strconv.Itoa(i)
		j, ok := tb.find(hashOf(i), "s", key)
		if ok {
			t.Fatalf("%d found before insert", i)
		}
		tb.slots[j] = mkSlot(hashOf(i), tb.put("s", key, []byte(key), 1, 0))
		tb.count++
	}
	for i := 0; i < n; i += 2 {
		j, ok := tb.find(hashOf(i), "s", strconv.Itoa(i))
		if !ok {
			t.Fatalf("%d not found", i)
		}
		loc := tb.slots[j].loc()
		tb.deleteAt(j)
		tb.release(loc, tb.view(loc).size)
	}
	for i := range n {
		loc := tb.lookup(hashOf(i), "s", strconv.Itoa(i))
		if (loc != 0) != (i%2 == 1) {
			t.Fatalf("%d: present %v after deleting the even ones", i, loc != 0)
		}
		if loc != 0 && string(tb.view(loc).bins) != strconv.Itoa(i) {
			t.Fatalf("%d: reads %q", i, tb.view(loc).bins)
		}
	}

	// Two records of one hash in a store: KeyOfDigest finds each by its digest.
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	dig := func(set, key string) Digest { var d Digest; copy(d[:], set+"/"+key); return d }
	s.IndexDigests(dig)
	nsp := s.ns[records.Live]
	h := uint64(42)
	sh := nsp.shard(h)
	for _, k := range []string{"a", "b"} {
		sh.mu.Lock()
		if _, err := s.store(nsp, sh, h, "s", k, records.EncodeBins(records.Bins{"v": int64(1)}), NeverExpires, 1); err != nil {
			t.Fatal(err)
		}
		sh.mu.Unlock()
	}
	for _, k := range []string{"a", "b"} {
		if set, key, ok := s.KeyOfDigest(records.Live, dig("s", k)); !ok || set != "s" || key != k {
			t.Fatalf("digest of %s: %q %q %v", k, set, key, ok)
		}
	}
}

// Readers holding records while writers replace them and slabs are compacted (run with
// -race: the store must never write bytes a reader was lent).
func TestConcurrentReadersAndCompaction(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	const keys = 300
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for round := range 30 {
				batch := make([]records.Record, 0, keys)
				for i := range keys {
					batch = append(batch, valueRecord(strconv.Itoa(i), int64(round), 20+(i+w)%50))
				}
				if err := s.Put(ctx, records.Live, batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			var held []records.Packed
			var want [][]byte
			for r := range 3000 {
				p, ok, err := s.GetPacked(ctx, records.Live, "s", strconv.Itoa(r%keys))
				if err != nil {
					t.Error(err)
					return
				}
				if ok && r%10 == 0 {
					held, want = append(held, p), append(want, bytes.Clone(p))
				}
			}
			for i := range held {
				if !bytes.Equal(held[i], want[i]) {
					t.Errorf("held record %d changed", i)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range keys {
		if p, ok, _ := s.GetPacked(ctx, records.Live, "s", strconv.Itoa(i)); !ok || p.Int("v") != 29 {
			t.Fatalf("record %d: %v %d", i, ok, p.Int("v"))
		}
	}
}

// A store saved and loaded holds every record, with generation 0, in the new layout.
func TestSaveLoadMany(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	const n = 4000
	var recs []records.Record
	for i := range n {
		recs = append(recs, valueRecord(fmt.Sprint(i), int64(i), i%300))
	}
	s.Put(ctx, records.Complete, recs)
	s.Put(ctx, records.Complete, recs[:100]) // garbage in the slabs is not saved
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, c)
	if got := s2.Len(records.Complete); got != n {
		t.Fatalf("loaded %d", got)
	}
	for i := range n {
		st, ok, _ := s2.Lookup(records.Complete, "s", fmt.Sprint(i))
		if !ok || st.Gen != 0 || st.Bins.Int("v") != int64(i) || len(st.Bins.Bytes("pad")) != i%300 {
			t.Fatalf("record %d: %v gen %d", i, ok, st.Gen)
		}
	}
}

// A shard at its limit refuses a new record with an error naming it, and takes it again
// once there is room; the rest of the store goes on.
func TestShardFull(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	nsp := s.ns[records.Live]
	sh := nsp.shard(nsp.hash("s", "k"))
	sh.count = maxRecords // as if the shard held that many
	err := s.Put(ctx, records.Live, []records.Record{valueRecord("k", 1, 0)})
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "s/k") {
		t.Fatalf("Put into a full shard: %v", err)
	}
	if _, _, err := s.Mutate(records.Live, "s", "k", func(Stored, bool) (Change, error) {
		return Change{Op: Write, Bins: records.EncodeBins(records.Bins{"v": int64(1)})}, nil
	}); !errors.Is(err, ErrFull) {
		t.Fatalf("Mutate into a full shard: %v", err)
	}
	if _, ok, _ := s.Lookup(records.Live, "s", "k"); ok {
		t.Fatal("refused record stored")
	}
	sh.count = 0
	if err := s.Put(ctx, records.Live, []records.Record{valueRecord("k", 1, 0)}); err != nil {
		t.Fatal(err)
	}
}

// Random inserts, replacements and deletions on one table (of a few hundred records, so
// that probe runs wrap around its end), with compactions, against a map: every key reads
// its last value or is absent, and the live byte count is the live records' sizes.
func TestTableRandomAgainstMap(t *testing.T) {
	var tb table
	tb.seed = maphash.MakeSeed()
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[string]string{}
	hashOf := func(key string) uint64 { return hashKey(tb.seed, "s", key) } // compaction rehashes
	for step := range 20000 {
		key := strconv.Itoa(rng.IntN(500))
		h := hashOf(key)
		switch rng.IntN(3) {
		case 0, 1:
			val := strconv.Itoa(step)
			tb.reserve()
			i, had := tb.find(h, "s", key)
			loc := tb.put("s", key, []byte(val), 1, 0)
			if had {
				old := tb.slots[i].loc()
				tb.slots[i] = tb.slots[i].withLoc(loc)
				tb.release(old, tb.view(old).size)
			} else {
				tb.slots[i] = mkSlot(h, loc)
				tb.count++
			}
			model[key] = val
		case 2:
			if tb.count == 0 {
				continue
			}
			i, had := tb.find(h, "s", key)
			if _, want := model[key]; had != want {
				t.Fatalf("step %d: %s present %v, model %v", step, key, had, want)
			}
			if had {
				loc := tb.slots[i].loc()
				size := tb.view(loc).size
				tb.deleteAt(i)
				tb.release(loc, size)
				delete(model, key)
			}
		}
		if step%50 == 0 {
			tb.compactPending()
		}
	}
	tb.compactPending()
	if tb.count != len(model) {
		t.Fatalf("count %d, model %d", tb.count, len(model))
	}
	live := 0
	for key, val := range model {
		loc := tb.lookup(hashOf(key), "s", key)
		if loc == 0 || string(tb.view(loc).bins) != val {
			t.Fatalf("%s: want %q", key, val)
		}
		live += tb.view(loc).size
	}
	if _, _, l := tb.bytes(); l != live || tb.live != live {
		t.Fatalf("live bytes: slabs %d, table %d, records %d", l, tb.live, live)
	}
	if tb.compactions == 0 {
		t.Fatal("no compaction happened")
	}
}

// TestSetNames: the project's sets are coded in a record's slab header (their names not
// written), others are written by name, whatever their length; both kinds read, index,
// compact, save and load alike, and the same key in two sets is two records.
func TestSetNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	digest := func(set, key string) (d Digest) {
		copy(d[:], fmt.Sprintf("%x", maphash.String(digestSeed, set+"\x00"+key)))
		return d
	}
	s.IndexDigests(digest)
	sets := append(codedSets[:], "", "s", "entries", "entry2", strings.Repeat("q", 63), strings.Repeat("z", 200))
	for round := range 3 { // rewritten, so that slabs are compacted
		var recs []records.Record
		for _, set := range sets {
			for k := range 200 {
				recs = append(recs, records.Record{Set: set, Key: strconv.Itoa(k), Bins: records.Bins{"v": int64(round*1000 + k), "s": set}})
			}
		}
		if err := s.Put(ctx, records.Complete, recs); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store, what string) {
		t.Helper()
		for _, set := range sets {
			for k := range 200 {
				key := strconv.Itoa(k)
				st, ok, err := s.Lookup(records.Complete, set, key)
				if err != nil || !ok || st.Bins.Int("v") != int64(2000+k) || st.Bins.Str("s") != set {
					t.Fatalf("%s: %q/%s: %v %v %v", what, set, key, ok, err, st.Bins)
				}
				if gs, gk, ok := s.KeyOfDigest(records.Complete, digest(set, key)); !ok || gs != set || gk != key {
					t.Fatalf("%s: digest of %q/%s: %q %q %v", what, set, key, gs, gk, ok)
				}
			}
		}
		if got := s.Len(records.Complete); got != len(sets)*200 {
			t.Fatalf("%s: %d records, want %d", what, got, len(sets)*200)
		}
	}
	check(s, "written")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, c)
	s2.IndexDigests(digest)
	check(s2, "loaded")
	// A coded set's record is its name's bytes smaller than the same record named.
	if a, b := recordSize(records.SetEntry, "12345", 80), recordSize("entrz", "12345", 80); b-a != len("entrz") {
		t.Fatalf("entry record %d bytes, one of a 5-letter literal set %d", a, b)
	}
}

var digestSeed = maphash.MakeSeed()

// TestExpirySeconds: a record's expiry is kept in whole seconds after the store's
// opening (a 6-byte header): rounded up, so a record is visible until the second after
// its TTL and gone at it; NeverExpires and the latest expiry in range come back as they
// were, an expiry past the range is kept as the latest; compaction, Sweep and a save and
// load keep the expiry.
func TestExpirySeconds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Unix(1_800_000_000, 300_000_000) // not a whole second
	c := &clock{t: start}
	s := open(t, dir, c)
	if err := s.Put(ctx, records.Complete, []records.Record{valueRecord("a", 1, 0)}); err != nil {
		t.Fatal(err)
	}
	want := start.Add(7 * 24 * time.Hour).Truncate(time.Second).Add(time.Second).UnixNano()
	if st, ok, _ := s.Lookup(records.Complete, "s", "a"); !ok || st.Expires != want {
		t.Fatalf("expiry %d, want %d (the TTL's end rounded up to a second)", st.Expires, want)
	}
	if _, _, err := s.Mutate(records.Complete, "s", "never", func(Stored, bool) (Change, error) {
		return Change{Op: Write, Bins: records.EncodeBins(records.Bins{"v": int64(2)}), TTL: -1}, nil
	}); err != nil {
		t.Fatal(err)
	}
	st, _, err := s.Mutate(records.Complete, "s", "far", func(Stored, bool) (Change, error) {
		return Change{Op: Write, Bins: records.EncodeBins(records.Bins{"v": int64(3)}), TTL: 200 * 365 * 24 * time.Hour}, nil
	})
	latest := (start.Unix() + maxSecs) * int64(time.Second)
	if err != nil || st.Expires != latest {
		t.Fatalf("an expiry past the range: %d, want the latest %d (%v)", st.Expires, latest, err)
	}
	// Rewrites compact the slabs that held "a", "never" and "far".
	for i := range 2000 {
		if err := s.Put(ctx, records.Complete, []records.Record{valueRecord("x"+strconv.Itoa(i%50), int64(i), 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, live := slabBytes(s, records.Complete); live == 0 {
		t.Fatal("nothing live")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, reopen := range []bool{false, true} {
		if reopen {
			s = open(t, dir, c)
		}
		for _, k := range []struct {
			key string
			exp int64
		}{{"a", want}, {"never", NeverExpires}, {"far", latest}} {
			if st, ok, _ := s.Lookup(records.Complete, "s", k.key); !ok || st.Expires != k.exp {
				t.Fatalf("reopened %v: %s expires %d (%v), want %d", reopen, k.key, st.Expires, ok, k.exp)
			}
		}
	}
	c.t = time.Unix(0, want-1)
	if _, ok, _ := s.Lookup(records.Complete, "s", "a"); !ok {
		t.Fatal("expired before its expiry")
	}
	c.t = time.Unix(0, want)
	if _, ok, _ := s.Lookup(records.Complete, "s", "a"); ok {
		t.Fatal("visible at its expiry")
	}
	if n := s.Sweep(); n != 51 { // "a" and the 50 "x" records
		t.Fatalf("swept %d, want 51", n)
	}
	// The stored form: every whole second of the range and the sentinel round-trip.
	tb := table{base: start.Unix()}
	for _, e := range []uint32{0, 1, 12345, maxSecs - 1, maxSecs, neverSecs} {
		if got := tb.encExp(tb.decExp(e)); got != e {
			t.Fatalf("stored expiry %d comes back %d", e, got)
		}
	}
	if tb.encExp(0) != 0 || tb.encExp(math.MinInt64) != 0 || tb.encExp(math.MaxInt64-1) != maxSecs {
		t.Fatal("an expiry out of the range is not clamped")
	}
}

// TestTableLoad: a table grows by a half when it would pass 80% full, so from a
// hundred records on it is always 52-80% full (an index of 10-15.4 bytes a record), and
// every record is found after each growth.
func TestTableLoad(t *testing.T) {
	var tb table
	tb.seed = maphash.MakeSeed()
	grown := 0
	for i := range 20_000 {
		key := strconv.Itoa(i)
		h := hashKey(tb.seed, "s", key)
		before := len(tb.slots)
		tb.reserve()
		j, ok := tb.find(h, "s", key)
		if ok {
			t.Fatalf("%d found before insert", i)
		}
		tb.slots[j] = mkSlot(h, tb.put("s", key, nil, 1, 0))
		tb.count++
		if load := float64(tb.count) / float64(len(tb.slots)); load > 0.8 || tb.count >= 100 && load < 0.52 {
			t.Fatalf("%d records in %d slots", tb.count, len(tb.slots))
		}
		if len(tb.slots) != before {
			grown++
			for k := 0; k <= i; k += 97 {
				if tb.lookup(hashKey(tb.seed, "s", strconv.Itoa(k)), "s", strconv.Itoa(k)) == 0 {
					t.Fatalf("record %d lost growing to %d slots", k, len(tb.slots))
				}
			}
		}
	}
	if grown < 12 {
		t.Fatalf("grew %d times", grown)
	}
}
