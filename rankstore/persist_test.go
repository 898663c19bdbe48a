package rankstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

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

// Files saved by the build before the coded bin names (records/names.go; every name
// literal), in testdata/oldform: an entry and a user record fenced at epoch 2 cycle 14, a
// contest at cycle 14 holding its cycle-13 version, the live match (cycle 14), and a
// completed match. They load, read as they did, are kept in the coded form, and keep
// their fences and previous versions.
func TestLoadsOldForm(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{LiveFileName, FileName} {
		b, err := os.ReadFile(filepath.Join("testdata", "oldform", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	ctx := context.Background()
	l := records.Lineup{Players: []int32{101, 102, 103}, Captain: 101, Vice: 103}
	e := records.Entry{ID: 9001, Contest: 55, Match: 7, User: 42, Team: 3, Part: 2, Lineup: l}
	c13 := records.Contest{ID: 55, Match: 7, Cycle: 13, AsOf: 1700, Total: 1, PageSize: 100,
		Hist: []records.Bucket{{Points: 400, Count: 1}}, First: []records.Row{{Rank: 1, EntryID: 9001, UserID: 42, TeamID: 3, Points: 400}}}
	c14 := c13
	c14.Cycle, c14.AsOf = 14, 1800
	for _, tc := range []struct {
		ns, set, key string
		check        func(records.Packed) (any, any, error)
	}{
		{records.Live, records.SetEntry, "9001", func(p records.Packed) (any, any, error) { v, err := records.EntryFrom(p); return v, e, err }},
		{records.Live, records.SetUser, "7/42/2", func(p records.Packed) (any, any, error) {
			v, err := records.UserFrom(p)
			// The form of the build that saved the file: each entry's team and lineup in it.
			return v, records.User{Match: 7, User: 42, Part: 2, Entries: []records.Entry{e}, Lined: true}, err
		}},
		{records.Live, records.SetContest, "55", func(p records.Packed) (any, any, error) { v, err := records.ContestFrom(p); return v, c14, err }},
		{records.Live, records.SetContest, "55", func(p records.Packed) (any, any, error) {
			v, _, err := records.ContestAt(p, 13)
			return v, c13, err
		}},
		{records.Live, records.SetMatch, "7", func(p records.Packed) (any, any, error) {
			v, err := records.MatchFrom(p)
			return v.Cycle, int64(14), err
		}},
		{records.Complete, records.SetMatch, "6", func(p records.Packed) (any, any, error) {
			v, err := records.MatchFrom(p)
			return v.State, records.StateCompleted, err
		}},
	} {
		p, ok, err := s.GetPacked(ctx, tc.ns, tc.set, tc.key)
		if err != nil || !ok {
			t.Fatalf("%s/%s/%s: %v %v", tc.ns, tc.set, tc.key, ok, err)
		}
		if got, want, err := tc.check(p); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s/%s/%s: %+v, %v; want %+v", tc.ns, tc.set, tc.key, got, err, want)
		}
		bins, err := records.DecodeBins(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := records.EncodeBins(bins); !bytes.Equal(p, want) {
			t.Errorf("%s/%s/%s kept as loaded %x; want it coded %x", tc.ns, tc.set, tc.key, p, want)
		}
	}
	// The loaded fences hold: a writer behind them is refused, one at them is not.
	stale := e.PackedRecord()
	stale.Fence = records.Fence{Epoch: 2, Cycle: 13}
	var fe *records.FencedError
	if err := s.Put(ctx, records.Live, []records.Record{stale}); !errors.As(err, &fe) || fe.Stored != (records.Fence{Epoch: 2, Cycle: 14}) {
		t.Fatalf("a stale write over a loaded record: %v", err)
	}
	// A contest written at cycle 15 keeps the loaded cycle-14 version.
	c15 := c14
	c15.Cycle, c15.AsOf = 15, 1900
	r := c15.PackedRecord()
	r.Fence, r.KeepPrev = records.Fence{Epoch: 2, Cycle: 15}, true
	if err := s.Put(ctx, records.Live, []records.Record{r}); err != nil {
		t.Fatal(err)
	}
	p, _, _ := s.GetPacked(ctx, records.Live, records.SetContest, "55")
	if got, ok, err := records.ContestAt(p, 14); err != nil || !ok || !reflect.DeepEqual(got, c14) {
		t.Fatalf("previous version after a write over a loaded contest: %+v %v %v; want %+v", got, ok, err, c14)
	}
}

// TestSaveOnlyWhatChanged: a save of a namespace with nothing written since its last
// save (a node stopping after a final cycle's Flush, or after a restart that loaded
// complete.arrow) leaves the file as it is; any write, deletion, Mutate or sweep's drop
// makes the next save write it again.
func TestSaveOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	stat := func() os.FileInfo {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	// saved reports whether a Flush wrote the file anew (a save renames a new file in).
	saved := func(s *Store) bool {
		t.Helper()
		before := stat()
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		return !os.SameFile(before, stat())
	}
	if err := s.Put(ctx, records.Complete, []records.Record{entryRecord(1), entryRecord(2)}); err != nil {
		t.Fatal(err)
	}
	// Entry 1 rewritten: its first version is garbage in its slab, which no save writes.
	newer := records.Entry{ID: 1, Contest: 1, Match: 1, User: 1, Team: 7,
		Lineup: records.Lineup{Players: []int32{7, 8, 9}, Captain: 7, Vice: 8}}.PackedRecord()
	if err := s.Put(ctx, records.Complete, []records.Record{newer}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := fileRows(t, path); got != 2 {
		t.Fatalf("complete.arrow holds %d records, want 2", got)
	}
	if saved(s) {
		t.Fatal("a Flush with nothing written since the last one wrote the file again")
	}
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"Put", func() error { return s.Put(ctx, records.Complete, []records.Record{entryRecord(3)}) }},
		{"Delete", func() error { return s.Delete(ctx, records.Complete, records.SetEntry, []string{records.IDKey(3)}) }},
		{"Mutate", func() error {
			_, _, err := s.Mutate(records.Complete, records.SetEntry, records.IDKey(2), func(Stored, bool) (Change, error) {
				return Change{Op: Write, Bins: entryRecord(2).Packed, TTL: time.Minute}, nil
			})
			return err
		}},
		{"Sweep", func() error {
			c.add(2 * time.Minute)
			if n := s.Sweep(); n != 1 {
				return fmt.Errorf("swept %d, want 1", n)
			}
			return nil
		}},
	} {
		if err := step.do(); err != nil {
			t.Fatal(step.name, err)
		}
		if !saved(s) {
			t.Fatalf("after a %s, a Flush left the file as it was", step.name)
		}
		if saved(s) {
			t.Fatalf("a second Flush after a %s wrote the file again", step.name)
		}
	}
	// A write to live does not make complete's save write again.
	if err := s.Put(ctx, records.Live, []records.Record{entryRecord(9)}); err != nil {
		t.Fatal(err)
	}
	if saved(s) {
		t.Fatal("a write to live made complete's Flush write again")
	}
	// Stopped and opened again: complete.arrow is the namespace; Close leaves it.
	before := stat()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, c)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, stat()) {
		t.Fatal("Close after a restart with nothing written saved complete again")
	}
	s3 := open(t, dir, c)
	if p, ok, err := s3.GetPacked(ctx, records.Complete, records.SetEntry, records.IDKey(1)); err != nil || !ok || !bytes.Equal(p, newer.Packed) {
		t.Fatalf("entry 1 after two restarts: %v %v %x, want %x", ok, err, p, newer.Packed)
	}
	// Entry 2's first version (replaced by the Mutate, then swept) and entry 3 (deleted)
	// lie in the slabs as garbage: no save wrote them.
	if got := s3.Len(records.Complete); got != 1 {
		t.Fatalf("%d complete records after two restarts, want 1 (entry 1)", got)
	}
	if _, ok, _ := s3.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(9)); !ok {
		t.Fatal("live's record was not saved by Close")
	}
}

// fileRows is the number of records in the store file at path.
func fileRows(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithSchema(fileSchema))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows int64
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		rows += rec.NumRows()
	}
	return rows
}

// checkIndex fails unless every shard of namespace ns is a valid table: each record in
// a slot is found from its home slot (find) at that slot, and count is the slots in use.
func checkIndex(t *testing.T, s *Store, ns string) {
	t.Helper()
	n := s.ns[ns]
	for k := range n.shards {
		sh := &n.shards[k]
		sh.mu.RLock()
		used := 0
		for i, sl := range sh.slots {
			if sl == 0 {
				continue
			}
			used++
			v := sh.view(sl.loc())
			set, key := string(v.set), string(v.key)
			if j, ok := sh.find(hashKey(sh.seed, set, key), set, key); !ok || j != i {
				sh.mu.RUnlock()
				t.Fatalf("shard %d: record %s/%s in slot %d, found at %d (%v)", k, set, key, i, j, ok)
			}
		}
		if used != sh.count {
			sh.mu.RUnlock()
			t.Fatalf("shard %d: %d slots in use, count %d", k, used, sh.count)
		}
		sh.mu.RUnlock()
	}
}

// TestLoadIndexesEveryRecord: a live file of records of coded and literal sets, in
// batches larger than the index was reserved for at first, loads (in bulk: each shard's
// slots listed, then placed) into a valid index that finds every record with its bytes,
// and the loaded namespace takes deletions, rewrites and new records as any other.
func TestLoadIndexesEveryRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, dir, c)
	const n = 30_000
	want := make(map[[2]string]records.Packed, n)
	var recs []records.Record
	for i := range int64(n) {
		r := loadBenchRecord(i)
		if i%10 == 9 {
			r.Set = "other" // a set written by name in the slabs
		}
		want[[2]string{r.Set, r.Key}] = r.Packed
		recs = append(recs, r)
	}
	if err := s.Put(ctx, records.Live, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, c)
	if got := s.Len(records.Live); got != len(want) {
		t.Fatalf("loaded %d records, want %d", got, len(want))
	}
	checkIndex(t, s, records.Live)
	for k, p := range want {
		got, ok, err := s.GetPacked(ctx, records.Live, k[0], k[1])
		if err != nil || !ok || !bytes.Equal(got, p) {
			t.Fatalf("%s/%s after the load: %x %v %v, want %x", k[0], k[1], got, ok, err, p)
		}
	}
	// Delete a third of the entries, rewrite another third, add new ones.
	var del []string
	var put []records.Record
	for i := int64(0); i < n; i += 3 {
		r := loadBenchRecord(i)
		if r.Set != records.SetEntry {
			continue
		}
		if i%2 == 0 {
			del = append(del, r.Key)
			delete(want, [2]string{r.Set, r.Key})
		} else {
			r = records.Entry{ID: i + 10*n, Match: 2}.PackedRecord()
			r.Key = loadBenchRecord(i).Key
			want[[2]string{r.Set, r.Key}] = r.Packed
			put = append(put, r)
		}
		nr := loadBenchRecord(i + 10*n)
		want[[2]string{nr.Set, nr.Key}] = nr.Packed
		put = append(put, nr)
	}
	if err := s.Delete(ctx, records.Live, records.SetEntry, del); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, records.Live, put); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s, records.Live)
	if got := s.Len(records.Live); got != len(want) {
		t.Fatalf("after writes over the load: %d records, want %d", got, len(want))
	}
	for _, k := range del {
		if _, ok, _ := s.GetPacked(ctx, records.Live, records.SetEntry, k); ok {
			t.Fatalf("entry %s found after its deletion", k)
		}
	}
	for k, p := range want {
		if got, ok, err := s.GetPacked(ctx, records.Live, k[0], k[1]); err != nil || !ok || !bytes.Equal(got, p) {
			t.Fatalf("%s/%s after writes over the load: %x %v %v, want %x", k[0], k[1], got, ok, err, p)
		}
	}
}

// writeStoreFile writes a store file at path of batches of (set\x00key, bins) records
// expiring at exp.
func writeStoreFile(t *testing.T, path string, exp int64, batches ...[][2]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(fileSchema), ipc.WithLZ4())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, fileSchema)
	defer b.Release()
	for _, batch := range batches {
		for _, r := range batch {
			b.Field(0).(*array.StringBuilder).Append(r[0])
			b.Field(1).(*array.BinaryBuilder).Append([]byte(r[1]))
			b.Field(2).(*array.Int64Builder).Append(exp)
		}
		rec := b.NewRecordBatch()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLoadKeyTwice: a file holding a key twice (no save writes one) loads one record for
// it, either of the two, and a deletion leaves none behind; a first batch far smaller
// than the next ones (as an older build's batch of a shard) only makes the index grow.
func TestLoadKeyTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	bins := func(id int64) string { return string(records.Entry{ID: id, Match: 1}.PackedRecord().Packed) }
	first := [][2]string{{records.SetEntry + "\x00" + "5", bins(5)}}
	var second [][2]string
	for id := int64(1); id <= 5000; id++ {
		second = append(second, [2]string{records.SetEntry + "\x00" + records.IDKey(id), bins(id + 1_000_000)})
	}
	second = append(second, [2]string{records.SetEntry + "\x00" + "7", bins(7)}) // twice in one batch
	writeStoreFile(t, filepath.Join(dir, LiveFileName), c.now().Add(time.Hour).UnixNano(), first, second)
	s := open(t, dir, c)
	if got := s.Len(records.Live); got != 5000 {
		t.Fatalf("loaded %d records, want 5000 (keys 5 and 7 once each)", got)
	}
	checkIndex(t, s, records.Live)
	for _, id := range []int64{5, 7} {
		p, ok, err := s.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(id))
		if err != nil || !ok || (string(p) != bins(id) && string(p) != bins(id+1_000_000)) {
			t.Fatalf("entry %d: %x %v %v, want one of its two records", id, p, ok, err)
		}
		if err := s.Delete(ctx, records.Live, records.SetEntry, []string{records.IDKey(id)}); err != nil {
			t.Fatal(err)
		}
		if p, ok, _ := s.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(id)); ok {
			t.Fatalf("entry %d found after its deletion: %x (its second record indexed too)", id, p)
		}
	}
	if got := s.Len(records.Live); got != 4998 {
		t.Fatalf("%d records after two deletions, want 4998", got)
	}
	checkIndex(t, s, records.Live)
}
