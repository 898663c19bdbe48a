package rankstore

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/fantasy/leaderboard/internal/atomicfile"
	"github.com/fantasy/leaderboard/records"
)

// FileName is the file in Config.DataDir holding the complete namespace; LiveFileName
// holds the live namespace as of the last clean shutdown, so a restarted standalone node
// serves at once and continues its cycle numbering (a crash loses live, as RAM does).
//
// A live file is loaded once: Open removes it after reading it, and only Close writes
// it. So a live file found at Open is always the last clean stop's, never an older one
// that a crash since then would bring back as current (the crash that came after a
// reload would otherwise serve cycle 13's standings after cycle 28's). Every save writes
// a temporary file, fsyncs it, renames it and fsyncs the directory; Open removes the
// temporary files of saves a crash interrupted.
const (
	FileName     = "complete.arrow"
	LiveFileName = "live.arrow"
)

var fileSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String}, // set \x00 key
	{Name: "bins", Type: arrow.BinaryTypes.Binary},
	{Name: "expires", Type: arrow.PrimitiveTypes.Int64}, // unix ns
}, nil)

// Flush writes the complete namespace to DataDir (no-op without one): an Arrow IPC file,
// zstd-compressed, written to a temporary name and renamed.
func (s *Store) Flush() error { return s.save(records.Complete, FileName) }

// Close saves both namespaces (the live one for a restart) and releases nothing else.
func (s *Store) Close() error {
	if err := s.save(records.Live, LiveFileName); err != nil {
		return err
	}
	return s.Flush()
}

func (s *Store) save(ns, name string) error {
	if s.cfg.DataDir == "" {
		return nil
	}
	s.flushM.Lock()
	defer s.flushM.Unlock()
	n := s.ns[ns]
	path := filepath.Join(s.cfg.DataDir, name)
	changes := n.changes.Load()
	if n.saved && n.savedAt == changes {
		if _, err := os.Stat(path); err == nil {
			// Nothing written since the file was saved (a node stopping after a final
			// cycle's Flush): the file is the namespace (but for records that have
			// expired since, which load skips).
			return nil
		}
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cannot create store directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.cfg.DataDir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// LZ4: a save is on a final cycle's path and a node's stop; zstd's smaller file
	// (26 against 37 B an entry record) took 2.7x as long (BenchmarkSave). A file of
	// either is read (each batch names its codec).
	mem := newRecycler(saveKeepBytes) // the batches' and their compression's buffers, reused
	w, err := ipc.NewFileWriter(tmp, ipc.WithSchema(fileSchema), ipc.WithLZ4(), ipc.WithAllocator(mem))
	if err != nil {
		tmp.Close()
		return err
	}
	now := s.now().UnixNano()
	// The shards' batches are built by GOMAXPROCS goroutines while this one compresses
	// and writes those built (in any order: load does not care), two at most waiting:
	// ~saveBatchRows records each, so a save holds a few MB of them, not a namespace's
	// shards of ~30 MB each at 5.6M entries (the collector's goal grew by half of them).
	var (
		rows    atomic.Int64
		next    atomic.Int32
		stop    atomic.Bool
		builder sync.WaitGroup
	)
	built := make(chan arrow.RecordBatch, 2)
	for range max(1, runtime.GOMAXPROCS(0)) {
		builder.Go(func() {
			var key []byte // set \x00 key
			for !stop.Load() {
				i := int(next.Add(1)) - 1
				if i >= shards {
					return
				}
				rows.Add(int64(s.saveShard(n, &n.shards[i], now, &key, built, mem)))
			}
		})
	}
	go func() { builder.Wait(); close(built) }()
	var werr error
	for rec := range built {
		if werr == nil {
			werr = w.Write(rec)
			if werr != nil {
				stop.Store(true) // the builders stop after the shard at hand
			}
		}
		rec.Release()
	}
	if werr != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, werr)
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(s.cfg.DataDir); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	n.saved, n.savedAt = true, changes
	s.log.Debug("saved namespace", "namespace", ns, "records", rows.Load(), "path", path)
	return nil
}

// saveBatchRows is the most records in a batch of a store file (~2 MB of entry records).
const saveBatchRows = 8192

// saveKeepBytes is the most bytes of released buffers a save keeps for its next
// batches (recycler): a few batches' worth, those being built and compressed at once.
const saveKeepBytes = 64 << 20

// saveShard sends sh's unexpired records at now to out, in batches of saveBatchRows
// at most, and returns how many it sent; key is the caller's scratch. It holds sh's read
// lock while it waits for room in out (the writer drains out to the end, error or not),
// so each shard is saved as of one moment.
func (s *Store) saveShard(n *namespace, sh *shard, now int64, key *[]byte, out chan<- arrow.RecordBatch, mem memory.Allocator) int {
	b := array.NewRecordBuilder(mem, fileSchema)
	defer b.Release()
	keys := b.Field(0).(*array.StringBuilder)
	bins := b.Field(1).(*array.BinaryBuilder)
	exps := b.Field(2).(*array.Int64Builder)
	rows, inBatch := 0, 0
	sh.mu.RLock()
	avg := 0
	if sh.count > 0 {
		avg = sh.live / sh.count // a record's bytes in its slab: a little more than its bins
	}
	reserve := func() {
		k := min(saveBatchRows, sh.count-rows)
		keys.Reserve(k)
		bins.Reserve(k)
		bins.ReserveData(k * avg)
		exps.Reserve(k)
	}
	reserve()
	// The slabs are read in order, each record kept if its key's slot points at it (as a
	// compaction does), rather than the records in the index's order: each page is read
	// once, and a namespace on disk drops each slab's pages once read (in the index's
	// order a shard's reads hop across all its slabs, and the kernel maps the pages
	// around each read: a save at 5.6M held 100-350 MB of the file's pages).
	for num := range sh.slabs {
		buf := sh.slabs[num].buf
		n.heap.readAhead(buf)
		for off := 0; off < len(buf); {
			loc := makeLoc(uint32(num+1), off)
			v := sh.view(loc)
			off += v.size
			if v.expires <= now {
				continue
			}
			set, k := unsafeString(v.set), unsafeString(v.key)
			if i, ok := sh.find(hashKey(sh.seed, set, k), set, k); !ok || sh.slots[i].loc() != loc {
				continue // replaced or deleted: garbage
			}
			*key = append(append(append((*key)[:0], v.set...), 0), v.key...)
			keys.BinaryBuilder.Append(*key)
			bins.Append(v.bins)
			exps.Append(v.expires)
			rows++
			if inBatch++; inBatch == saveBatchRows {
				out <- b.NewRecordBatch() // resets b
				inBatch = 0
				reserve()
			}
		}
		n.heap.dropRead(buf)
	}
	live := sh.live
	sh.mu.RUnlock()
	n.heap.touch(live) // a namespace on disk: read whole
	if inBatch > 0 {
		out <- b.NewRecordBatch()
	}
	return rows
}

// load reads DataDir/<name> into a namespace, skipping expired records. It first removes
// the temporary files of interrupted saves of name, and it removes the live file once
// read (see LiveFileName).
func (s *Store) load(ns, name string) (int, error) {
	path := filepath.Join(s.cfg.DataDir, name)
	if err := s.removeTemps(name); err != nil {
		return 0, err
	}
	n, found, err := s.read(ns, path)
	if err != nil {
		return n, err
	}
	if name != LiveFileName {
		if found {
			// The file is the namespace: a save before anything is written is skipped.
			c := s.ns[ns]
			c.saved, c.savedAt = true, c.changes.Load()
		}
		return n, nil
	}
	if !found {
		return n, nil
	}
	switch err := os.Remove(path); {
	case errors.Is(err, fs.ErrNotExist):
		return n, nil
	case err != nil:
		return n, fmt.Errorf("cannot remove %s once loaded (a crash would bring it back as current): %w", path, err)
	}
	if err := atomicfile.SyncDir(s.cfg.DataDir); err != nil {
		return n, fmt.Errorf("cannot remove %s once loaded: %w", path, err)
	}
	return n, nil
}

// removeTemps removes DataDir/<name>.tmp-*: saves a crash interrupted.
func (s *Store) removeTemps(name string) error {
	temps, err := filepath.Glob(filepath.Join(s.cfg.DataDir, name+".tmp-*"))
	if err != nil {
		return fmt.Errorf("cannot list %s's temporary files: %w", name, err)
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot remove %s, left by an interrupted save: %w", t, err)
		}
		s.log.Info("removed the temporary file of an interrupted save", "path", t)
	}
	return nil
}

// read loads the store file at path into namespace ns, and reports whether there was
// one (none: nothing loaded).
func (s *Store) read(ns, path string) (int, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	// The batches' buffers (read and decompressed) are reused, not left to the collector:
	// a load of ~10M records reads ~1,200 batches of a few MB into a Go heap of a few MB
	// at Open, each batch's garbage a collection's worth (BenchmarkLoad).
	r, err := ipc.NewFileReader(f, ipc.WithSchema(fileSchema), ipc.WithAllocator(newRecycler(saveKeepBytes)))
	if err != nil {
		return 0, true, fmt.Errorf("%s is not a store file (%w); move it away to start empty", path, err)
	}
	defer r.Close()
	now := s.now().UnixNano()
	n := s.ns[ns]
	// An empty namespace (Open's) is filled in bulk: each record is copied into its
	// slab and its slot appended to its shard's table as a list, and the tables are made
	// hash tables once all are read (bulkIndex), in their slots' order: a look-up per
	// record into a table of millions of slots was a cache miss each, and the most
	// of a load's CPU (BenchmarkLoad; docs/PERFORMANCE.md). Until then no find may run
	// on the namespace; nothing else reads it before Open returns.
	bulk := s.digest == nil && n.empty()
	// The file's batches (one per shard of the store that saved it, or of at most
	// saveBatchRows records) are read and decompressed here, one after the other, and
	// stored by GOMAXPROCS goroutines, each a batch at a time, each shard's lock taken
	// once a batch: a restart's live file of ~10M records took 14 s on one goroutine.
	// Keys are distinct in a file save wrote; a file holding a key twice keeps either.
	var (
		loaded  atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		failed.Store(true)
	}
	batches := make(chan arrow.RecordBatch, 2)
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			var sc loadScratch
			for rec := range batches {
				if !failed.Load() {
					k, err := s.readBatch(n, path, rec, now, bulk, &sc)
					loaded.Add(int64(k))
					if err != nil {
						fail(err)
					}
				}
				rec.Release()
			}
		})
	}
	for i := range r.NumRecords() {
		if failed.Load() {
			break
		}
		rec, err := r.RecordBatch(i)
		if err != nil {
			fail(fmt.Errorf("%s: batch %d: %w", path, i, err))
			break
		}
		if i == 0 {
			// The batches are about equal: size the index once for all of them (a bulk
			// load grows a table's list past it as a growth would).
			s.Reserve(ns, int(rec.NumRows())*r.NumRecords())
		}
		rec.Retain() // RecordBatch's is valid until its next call
		batches <- rec
	}
	close(batches)
	wg.Wait()
	if bulk {
		n.bulkIndex() // also after a failure: the namespace is left a valid one
	}
	n.compact(math.MaxUint64) // a file holding a key twice left garbage
	return int(loaded.Load()), true, first
}

// empty reports whether no shard of n holds a record.
func (n *namespace) empty() bool {
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		c := sh.count
		sh.mu.RUnlock()
		if c > 0 {
			return false
		}
	}
	return true
}

// loadScratch is a loading goroutine's scratch for one batch of a store file: its
// unexpired records (row, where the set ends in the row's key, hash; bins Canonical
// rewrote, an older build's) and their indexes ordered by shard. Pointer-free but for
// conv: the batch's strings are not written to the Go heap (each such write was a
// write barrier while the collector ran, ~15% of a load's CPU).
type loadScratch struct {
	row, cut []int32
	conv     []int32 // >= 0: conv's index of the row's canonical bins
	hash     []uint64
	order    []int32
	start    [shards + 1]int
	bins     [][]byte // Canonical's copies
}

// readBatch stores the unexpired records of one batch of a store file into n, and
// returns how many it stored. With bulk, n is being filled in bulk (read, bulkAdd).
func (s *Store) readBatch(n *namespace, path string, rec arrow.RecordBatch, now int64, bulk bool, sc *loadScratch) (int, error) {
	keys := rec.Column(0).(*array.String)
	bins := rec.Column(1).(*array.Binary)
	exp := rec.Column(2).(*array.Int64).Int64Values()
	rows := int(rec.NumRows())
	sc.row, sc.cut, sc.conv, sc.hash = sc.row[:0], sc.cut[:0], sc.conv[:0], sc.hash[:0]
	clear(sc.bins)
	sc.bins = sc.bins[:0]
	var count [shards]int
	for j := range rows {
		if exp[j] <= now {
			continue
		}
		k := keys.Value(j)
		cut := strings.IndexByte(k, 0)
		if cut < 0 {
			return 0, fmt.Errorf("%s: record key %q has no set: %w", path, k, records.ErrCorrupt)
		}
		set, key := k[:cut], k[cut+1:]
		raw := bins.Value(j)
		b, err := records.Canonical(raw) // a file of an older build: names coded
		if err != nil {
			return 0, fmt.Errorf("%s: record %s/%s: %w", path, set, key, err)
		}
		conv := int32(-1)
		if unsafe.SliceData(b) != unsafe.SliceData(raw) || len(b) != len(raw) {
			conv = int32(len(sc.bins))
			sc.bins = append(sc.bins, b)
		}
		h := n.hash(set, key)
		count[h>>58]++
		sc.row, sc.cut, sc.conv = append(sc.row, int32(j)), append(sc.cut, int32(cut)), append(sc.conv, conv)
		sc.hash = append(sc.hash, h)
	}
	// The records' indexes by shard (a counting sort, the batch's order kept in a shard).
	pos := 0
	for sh, c := range count {
		sc.start[sh] = pos
		pos += c
	}
	sc.start[shards] = pos
	sc.order = slices.Grow(sc.order[:0], pos)[:pos]
	next := sc.start
	for i, h := range sc.hash {
		sh := h >> 58
		sc.order[next[sh]] = int32(i)
		next[sh]++
	}
	loaded, size := 0, 0
	defer func() { n.heap.touch(size) }() // a namespace on disk (spill_linux.go)
	for k := range shards {
		lo, hi := sc.start[k], sc.start[k+1]
		if lo == hi {
			continue
		}
		sh := &n.shards[k]
		sh.mu.Lock()
		for _, i := range sc.order[lo:hi] {
			j, cut, h := int(sc.row[i]), int(sc.cut[i]), sc.hash[i]
			k := keys.Value(j)
			set, key := k[:cut], k[cut+1:]
			b := bins.Value(j)
			if c := sc.conv[i]; c >= 0 {
				b = sc.bins[c]
			}
			var err error
			if bulk {
				if sh.full() {
					err = fmt.Errorf("record %s/%s: %w", set, key, ErrFull)
				} else {
					sh.bulkAdd(h, sh.put(set, key, b, exp[j], 0)) // copied into the store's slabs
				}
			} else {
				_, err = s.store(n, sh, h, set, key, b, exp[j], 0)
			}
			if err != nil {
				sh.mu.Unlock()
				return loaded, fmt.Errorf("%s: %w", path, err)
			}
			size += len(set) + len(key) + len(b) + recHeader
			loaded++
		}
		sh.mu.Unlock()
	}
	clear(sc.bins)
	return loaded, nil
}

// bulkIndex makes each shard's table of n, filled in bulk (bulkAdd), a hash table, on
// GOMAXPROCS goroutines.
func (n *namespace) bulkIndex() {
	var next atomic.Int32
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			var tmp []slot
			for {
				i := int(next.Add(1)) - 1
				if i >= shards {
					return
				}
				sh := &n.shards[i]
				sh.mu.Lock()
				tmp = sh.bulkIndex(tmp)
				sh.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// bulkAdd appends the slot of a record (hash h, at loc) to t's first t.count slots, a
// list rather than a hash table until bulkIndex, growing the table as reserve would
// (so that bulkIndex finds it large enough). The caller has checked full.
func (t *table) bulkAdd(h, loc uint64) {
	if (t.count+1)*loadDen > len(t.slots)*loadNum {
		size := min(maxSlots, max(16, (len(t.slots)*growNum/growDen+7)&^7))
		var grown []slot
		if t.heap != nil {
			grown = t.heap.allocSlots(size)
		} else {
			grown = make([]slot, size)
		}
		copy(grown, t.slots[:t.count])
		if t.heap != nil {
			t.heap.releaseSlots(t.slots)
		}
		t.slots = grown
	}
	t.slots[t.count] = mkSlot(h, loc)
	t.count++
}

// bulkIndex makes t's first t.count slots (bulkAdd's list) a hash table: the slots are
// sorted by tag (an LSD radix sort through tmp, which it returns for reuse), so by home
// slot, and placed in that order, each probe reading the slots just written instead of
// a cache miss into the table. A key found twice (a file holding it twice) keeps the
// slot placed first; the other record is garbage.
func (t *table) bulkIndex(tmp []slot) []slot {
	k := t.count
	if k == 0 {
		return tmp
	}
	tmp = slices.Grow(tmp[:0], k)[:k]
	a, b := t.slots[:k], tmp
	for shift := locBits; shift < locBits+tagBits; shift += 8 { // three passes: sorted into tmp
		var at [256]int
		for _, s := range a {
			at[uint64(s)>>shift&255]++
		}
		p := 0
		for d, c := range at {
			at[d] = p
			p += c
		}
		for _, s := range a {
			d := uint64(s) >> shift & 255
			b[at[d]] = s
			at[d]++
		}
		a, b = b, a
	}
	clear(t.slots)
	t.count = 0
	size := len(t.slots)
	for _, s := range a {
		tag := s.tag()
		for i := home(tag, size); ; {
			c := t.slots[i]
			if c == 0 {
				t.slots[i] = s
				t.count++
				break
			}
			if c.tag() == tag {
				v, w := t.view(c.loc()), t.view(s.loc())
				if string(v.key) == string(w.key) && string(v.set) == string(w.set) {
					t.release(s.loc(), w.size)
					break
				}
			}
			if i++; i == size {
				i = 0
			}
		}
	}
	return tmp
}
