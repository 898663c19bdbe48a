package rankstore

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fantasy/leaderboard/records"
)

// Config configures the store.
type Config struct {
	LiveTTL     time.Duration
	CompleteTTL time.Duration
	DataDir     string // where `complete` is persisted; empty = memory only
}

// RegisterFlags registers the store's flags with a prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.DurationVar(&c.LiveTTL, prefix+"live-ttl", time.Hour, "time to live of records in the live namespace")
	fs.DurationVar(&c.CompleteTTL, prefix+"complete-ttl", 7*24*time.Hour, "time to live of records in the complete namespace")
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	if c.LiveTTL <= 0 || c.CompleteTTL <= 0 {
		return fmt.Errorf("TTLs must be positive (live %v, complete %v)", c.LiveTTL, c.CompleteTTL)
	}
	return nil
}

// ErrNamespace is returned for a namespace other than records.Live and records.Complete.
var ErrNamespace = errors.New("unknown namespace")

const shards = 64 // namespace.shard takes a hash's top 6 bits

// MaxRecordBytes is the longest packed record the store keeps (Aerospike's default
// write-block is 1 MiB; a record is far smaller).
const MaxRecordBytes = math.MaxUint32

// errTooLarge reports a record longer than MaxRecordBytes.
func errTooLarge(set, key string, n int) error {
	return fmt.Errorf("record %s/%s: %d bytes packed, more than the store's %d", set, key, n, MaxRecordBytes)
}

// NeverExpires is the expiry of a record written without a TTL (Change.TTL < 0).
const NeverExpires = math.MaxInt64

// shard is a lock and its records (slab.go: slabs and a pointer-free index).
type shard struct {
	mu sync.RWMutex
	table
}

// Digest is a record's 20-byte key digest (Aerospike's RIPEMD-160 of set and key).
type Digest = [20]byte

// digestShard maps a digest to its record's hash (pointer-free): the record is the one
// of that hash in its shard, or, on a 64-bit hash collision, the one whose digest it is.
type digestShard struct {
	mu sync.RWMutex
	m  map[Digest]uint64
}

type namespace struct {
	heap   *offheap // its shards' slabs (offheap.go)
	ttl    time.Duration
	seed   maphash.Seed
	shards [shards]shard
	dig    [shards]digestShard // filled once IndexDigests is called
	// changes counts the operations that may have changed the namespace (Put, Delete,
	// Mutate's writes and removals, a sweep's drops); savedAt is its value when the
	// namespace was last saved whole (saved: it was), so that a save with nothing new
	// to write is skipped (persist.go; under Store.flushM).
	changes atomic.Uint64
	savedAt uint64
	saved   bool
}

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	ns     map[string]*namespace
	flushM sync.Mutex
	digest func(set, key string) Digest // nil until IndexDigests
	// batches: Put's scratch (putBatch), reused across Puts.
	batches sync.Pool
	// kept counts the records Put left in place, their expiry refreshed (IfChanged).
	kept atomic.Int64
}

// Kept reports how many records Put has kept in place since the store opened: written
// with Record.IfChanged over a live record of the same bins and fence epoch, so only
// their expiry was refreshed (for tests, benchmarks and metrics).
func (s *Store) Kept() int64 { return s.kept.Load() }

// Open creates a store and, with a data dir, loads the persisted complete namespace.
func Open(cfg Config, now func() time.Time, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := now().Unix() // the slabs' expiries count seconds from the store's opening
	s := &Store{cfg: cfg, now: now, log: log, ns: map[string]*namespace{
		records.Live:     newNamespace(cfg.LiveTTL, base),
		records.Complete: newNamespace(cfg.CompleteTTL, base),
	}}
	s.batches.New = func() any { return new(putBatch) }
	if cfg.DataDir != "" {
		// complete is on disk (DESIGN): its records' bytes are a file's (spill_linux.go).
		sp, err := newSpill(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		s.ns[records.Complete].heap.spill = sp
		for _, f := range []struct{ ns, name string }{{records.Complete, FileName}, {records.Live, LiveFileName}} {
			n, err := s.load(f.ns, f.name)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				log.Info("loaded namespace", "namespace", f.ns, "records", n, "dir", cfg.DataDir)
			}
		}
	}
	return s, nil
}

// newNamespace makes a namespace whose records' expiries count seconds from base (unix
// seconds, table.encExp).
func newNamespace(ttl time.Duration, base int64) *namespace {
	n := &namespace{ttl: ttl, seed: maphash.MakeSeed(), heap: newOffheap()}
	// The slabs' mappings go back to the OS when the namespace is collected: nothing
	// outside the store holds their bytes (every read copies), and no method can run on
	// a namespace nothing refers to.
	runtime.AddCleanup(n, (*offheap).unmap, n.heap)
	for i := range n.shards {
		n.shards[i].heap = n.heap
		n.shards[i].seed = n.seed
		n.shards[i].base = base
		n.dig[i].m = map[Digest]uint64{}
	}
	return n
}

// shard returns the shard of a record's hash (its top 6 bits; the table uses the low
// ones).
func (n *namespace) shard(h uint64) *shard { return &n.shards[h>>58] }

// compact compacts the slabs queued in the shards of the touched mask (bit i: shard i).
func (n *namespace) compact(touched uint64) {
	for touched != 0 {
		i := bits.TrailingZeros64(touched)
		touched &^= 1 << i
		sh := &n.shards[i]
		sh.mu.Lock()
		sh.compactPending()
		sh.mu.Unlock()
	}
}

func (n *namespace) hash(set, key string) uint64 { return hashKey(n.seed, set, key) }

func (s *Store) namespace(ns string) (*namespace, error) {
	n, ok := s.ns[ns]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNamespace, ns)
	}
	return n, nil
}

// Local reports that the store is in this process (the API reads it without goroutines
// or deadlines).
func (s *Store) Local() bool { return true }

// Put writes records into a namespace with its TTL, replacing whole records.
//
// A record with a non-zero Fence is stored with its fence in the bins
// records.FenceEpochBin and records.FenceCycleBin, and is refused when the stored
// unexpired record carries a newer fence (records.Fence.Older); check and write are
// atomic per record. The other records are still written, and Put returns a
// *records.FencedError naming the first refused record (in the batch's order) and how
// many were refused.
//
// The result is that of the records written one by one in the batch's order (a key
// written twice keeps its last write, each fence checked against what the batch wrote
// before it). Put writes them shard by shard, each shard's records in their order under
// one hold of its lock, so a reader may see a later record of the batch before an earlier
// one of another key.
//
// A record marked IfChanged (not KeepPrev) whose stored record is live, carries a fence
// of the same epoch and not newer (an equal or older cycle), and holds the same bins but
// for the fence bins' values (records.Merge.Same) is not written again: its expiry is
// refreshed in place (slab.go: the bins a reader holds never change) and its fence and
// generation stay as stored; it counts as written. A record fenced by another epoch, or
// whose stored record is absent, expired or different, is written as any other.
//
// Another error (a malformed or too large record, ErrFull) ends the
// Put: the failing record is not written, and others of the batch may or may not have
// been, as with Aerospike's batch writes (a cycle that fails writes its records again).
//
// Put keeps neither a record's Packed bytes nor its Key once it returns (it copies them
// into its slabs), so a writer may reuse their memory (worker.Store's contract); a
// FencedError it returns names the refused record's Key as given.
func (s *Store) Put(_ context.Context, ns string, recs []records.Record) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	n.changes.Add(1)
	nowT := s.now()
	now := nowT.UnixNano()
	exp := nowT.Add(n.ttl).UnixNano()
	// Hash the batch and order it by shard (a stable counting sort of its indexes), so
	// that each shard's lock is taken once for its records.
	b := s.batches.Get().(*putBatch)
	defer s.batches.Put(b)
	b.sort(n, recs)
	pw := putWrite{s: s, n: n, ns: ns, recs: recs, setc: b.setc, now: now, exp: exp, first: -1}
	for sh := range shards {
		lo, hi := b.start[sh], b.start[sh+1]
		if lo == hi {
			continue
		}
		if err := pw.shard(&n.shards[sh], b.hash[lo:hi], b.order[lo:hi]); err != nil {
			n.compact(pw.touched)
			s.kept.Add(pw.kept)
			return err
		}
	}
	n.compact(pw.touched)
	if pw.kept > 0 {
		s.kept.Add(pw.kept)
	}
	if n.heap.spill != nil {
		s.spilled(n, recs, pw.reads)
	}
	if pw.fenced != nil {
		pw.fenced.Count = pw.refused
		return pw.fenced
	}
	return nil
}

// spilled counts a Put's bytes into a namespace on disk (offheap.touch), and its reads
// of stored records, and logs once that its file could not grow.
func (s *Store) spilled(n *namespace, recs []records.Record, reads int) {
	size := reads * faultAround
	for i := range recs {
		size += len(recs[i].Key) + len(recs[i].Packed) + recHeader
	}
	n.heap.touch(size)
	if err := n.heap.spillFailed(); err != nil {
		s.log.Warn("the complete namespace's records are held in memory from now on: its file in the data dir cannot grow", "err", err, "dir", s.cfg.DataDir)
	}
}

// putBatch is a Put's scratch: its records' hashes and indexes ordered by shard.
type putBatch struct {
	hash  []uint64 // by shard, as order
	order []int32  // indexes into the batch, by shard and then in the batch's order
	start [shards + 1]int
	h     []uint64 // by index
	setc  []uint8  // by index: each record's set's code (setCodeOf)
}

// sort hashes recs and orders their indexes by shard, keeping the batch's order within
// a shard.
func (b *putBatch) sort(n *namespace, recs []records.Record) {
	b.h = slices.Grow(b.h[:0], len(recs))[:len(recs)]
	b.hash = slices.Grow(b.hash[:0], len(recs))[:len(recs)]
	b.order = slices.Grow(b.order[:0], len(recs))[:len(recs)]
	b.setc = slices.Grow(b.setc[:0], len(recs))[:len(recs)]
	var count [shards]int
	for i := range recs {
		c := setCodeOf(recs[i].Set) // once a record: its hash's and its slab's
		h := hashCoded(n.seed, c, recs[i].Set, recs[i].Key)
		b.h[i], b.setc[i] = h, c
		count[h>>58]++
	}
	pos := 0
	for sh, c := range count {
		b.start[sh] = pos
		pos += c
	}
	b.start[shards] = pos
	next := b.start
	for i, h := range b.h {
		sh := h >> 58
		b.order[next[sh]] = int32(i)
		b.hash[next[sh]] = h
		next[sh]++
	}
}

// putWrite is one Put's state across its shards.
type putWrite struct {
	s        *Store
	n        *namespace
	ns       string
	recs     []records.Record
	setc     []uint8 // by index: the records' sets' codes (putBatch.setc)
	now, exp int64
	m        records.Merge
	same     []byte               // Merge.Same's scratch
	kept     int64                // records kept in place (IfChanged)
	fenced   *records.FencedError // the first refused record in the batch's order
	first    int32                // its index
	refused  int
	touched  uint64 // shards with slabs to compact
	reads    int    // records read by look-ups (table.findReads)
	sink     uint64 // touch's loads
}

// shard writes the records of indexes order (hashes hash) into sh, under one hold of
// its lock.
func (w *putWrite) shard(sh *shard, hash []uint64, order []int32) error {
	sh.mu.Lock()
	defer func() {
		if len(sh.pending) > 0 {
			w.touched |= 1 << (hash[0] >> 58)
		}
		sh.mu.Unlock()
	}()
	m := &w.m
	w.sink ^= sh.touch(hash, order, w.recs)
	for k, idx := range order {
		r := &w.recs[idx]
		h := hash[k]
		if !r.KeepPrev { // a versioned record is planned once, with the stored version
			if err := plan(m, r, nil); err != nil {
				return err
			}
		}
		if sh.full() {
			return fmt.Errorf("record %s/%s: %w", r.Set, r.Key, ErrFull)
		}
		sh.reserve()
		i, had, reads := sh.findReads(h, r.Set, r.Key)
		w.reads += reads
		ov := view{size: -1}
		if had {
			ov = sh.view(sh.slots[i].loc())
		}
		live := had && ov.expires > w.now
		if r.KeepPrev {
			// The stored record's current version becomes the previous one, in the same
			// write (records/versions.go).
			var old records.Packed
			if live {
				old = ov.bins
			}
			if err := plan(m, r, old); err != nil {
				return err
			}
		}
		if live && r.IfChanged && !r.KeepPrev {
			same, stored, scratch := m.Same(ov.bins, w.same)
			w.same = scratch
			if same && stored.Epoch == r.Fence.Epoch && !r.Fence.Older(stored) {
				// The same bins: refresh the expiry in place (slab.go), keep the rest
				// (fence, generation) as stored.
				sh.refresh(sh.slots[i].loc(), w.exp)
				w.kept++
				continue
			}
		}
		if live && !r.Fence.IsZero() {
			stored, read := m.OldFence() // read while planning a versioned write
			if !r.KeepPrev || !read {
				stored = records.Packed(ov.bins).Fence() // read in place
			}
			if r.Fence.Older(stored) {
				if w.fenced == nil || idx < w.first {
					w.fenced = &records.FencedError{Namespace: w.ns, Set: r.Set, Key: r.Key, Fence: r.Fence, Stored: stored}
					w.first = idx
				}
				w.refused++
				continue
			}
		}
		w.s.storeAt(w.n, sh, i, h, w.setc[idx], r.Set, r.Key, nil, m, w.exp, nextGen(ov.gen, live), ov.size)
	}
	return nil
}

// touch loads, before a shard's records of a Put are written, the home slot of each one
// and the first bytes of its packed bins, and then, for each one marked IfChanged, the
// first bytes of the stored record of its tag (in the slots from its home: a few of the
// line loaded): the loads of a round are independent, so their cache misses overlap,
// where the look-ups' misses came one after another. A cold start's first cycle writes
// ~9.5M new records at 5.6M entries, each look-up a miss into an index of ~100 MB
// (docs/PERFORMANCE.md, "The store's first writes"); a restart's first cycle keeps ~10M,
// each also a miss into the stored record (touchKept then, "A restart on its data dir").
// Its result means nothing; the caller keeps it (putWrite.sink) so the loads stay.
func (t *table) touch(hash []uint64, order []int32, recs []records.Record) uint64 {
	n := len(t.slots)
	if n == 0 {
		return 0
	}
	var x uint64
	kept := false
	for k, idx := range order {
		r := &recs[idx]
		x += uint64(t.slots[home(tagOf(hash[k]), n)])
		if len(r.Packed) > 0 {
			x += uint64(r.Packed[0])
		}
		kept = kept || r.IfChanged
	}
	if !kept {
		return x
	}
	for k, idx := range order {
		if !recs[idx].IfChanged {
			continue
		}
		tag := tagOf(hash[k])
		for i, probes := home(tag, n), 0; probes < 8; probes++ { // a record moved past its home: most are a slot or two on
			s := t.slots[i]
			if s == 0 {
				break
			}
			if s.tag() == tag {
				sl, off := splitLoc(s.loc())
				b := t.slabs[sl-1].buf
				x += uint64(b[off]) + uint64(b[min(off+64, len(b)-1)]) + uint64(b[min(off+128, len(b)-1)]) // ~3 lines: a user record's
				break
			}
			if i++; i == n {
				i = 0
			}
		}
	}
	return x
}

// store writes a record into sh (whose lock the caller holds), replacing the one of its
// set and key, and returns its location.
func (s *Store) store(n *namespace, sh *shard, h uint64, set, key string, bins []byte, expires int64, gen uint32) (uint64, error) {
	if sh.full() {
		return 0, fmt.Errorf("record %s/%s: %w", set, key, ErrFull)
	}
	sh.reserve()
	i, _ := sh.find(h, set, key)
	return s.storeAt(n, sh, i, h, setCodeOf(set), set, key, bins, nil, expires, gen, -1), nil
}

// storeAt is store with the record's slot i already found (after sh.reserve): the
// record's, or the empty slot where it goes; setc is its set's code (setCodeOf). Its
// packed bins are bins, or, with m, what m writes (packed straight into the slab).
// oldSize is the replaced record's size in its slab, -1 when not known.
func (s *Store) storeAt(n *namespace, sh *shard, i int, h uint64, setc uint8, set, key string, bins []byte, m *records.Merge, expires int64, gen uint32, oldSize int) uint64 {
	var loc uint64 // sh.put and sh.place compact nothing: slot numbers hold
	if m != nil {
		var dst []byte
		loc, dst = sh.place(setc, set, key, m.Len(), expires, gen)
		if got := m.AppendTo(dst[:0]); len(got) != len(dst) { // dst's capacity is its length: a longer record would not be in the slab
			panic(fmt.Sprintf("BUG: rankstore: record %s/%s planned at %d bytes, packed %d", set, key, len(dst), len(got)))
		}
	} else {
		loc = sh.putCoded(setc, set, key, bins, expires, gen)
	}
	if old := sh.slots[i].loc(); old != 0 {
		sh.slots[i] = sh.slots[i].withLoc(loc)
		if oldSize < 0 {
			oldSize = sh.view(old).size
		}
		sh.release(old, oldSize)
		return loc
	}
	sh.slots[i] = mkSlot(h, loc)
	sh.count++
	s.indexLocked(n, h, set, key)
	return loc
}

// ErrFull is returned for a record that a namespace's shard has no room for: more than
// about 12.5M records in one of its 64 shards (800M in the namespace), or a million
// slabs.
var ErrFull = errors.New("the embedded store's namespace is full")

// remove deletes the record in slot i of sh (whose lock the caller holds).
func (s *Store) remove(n *namespace, sh *shard, i int) {
	loc := sh.slots[i].loc()
	if s.digest != nil {
		v := sh.view(loc)
		s.unindex(n, unsafeString(v.set), unsafeString(v.key))
	}
	size := sh.view(loc).size
	sh.deleteAt(i)
	sh.release(loc, size)
}

// unsafeString is b as a string without a copy: for a slab's bytes, which never change.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Lookup reads one record with its expiry and generation (see Stored); ok is false for
// an absent or expired record.
func (s *Store) Lookup(ns, set, key string) (Stored, bool, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return Stored{}, false, err
	}
	h := n.hash(set, key)
	sh := n.shard(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	loc := sh.lookup(h, set, key)
	if loc == 0 {
		return Stored{}, false, nil
	}
	v := sh.view(loc)
	n.heap.touch(faultAround)
	if v.expires <= s.now().UnixNano() {
		return Stored{}, false, nil
	}
	return Stored{Bins: clone(v.bins), Expires: v.expires, Gen: v.gen}, true, nil
}

// clone copies a record's bins out of its slab, under its shard's lock: a slab's memory
// is reused once it is dropped (offheap.go), so no reader is lent it.
func clone(b []byte) records.Packed { return append(records.Packed(make([]byte, 0, len(b))), b...) }

// nextGen is the generation of a record written over one of generation old (live: the
// old one exists and is unexpired). Like Aerospike's, it counts writes in 16 bits and
// skips 0 when it wraps.
func nextGen(old uint32, live bool) uint32 {
	if !live {
		return 1
	}
	g := old + 1
	if g > math.MaxUint16 {
		g = 1
	}
	return g
}

// Stored is a record as the store holds it.
type Stored struct {
	Bins    records.Packed // a copy (Lookup, Mutate's result), or the store's own bytes in a Mutate function (see Mutate)
	Expires int64          // unix ns, a whole second (the expiry rounded up: slab.go); NeverExpires for a record without TTL
	Gen     uint32         // writes since the record was created (0 for one loaded from disk)
}

// clone is s with its bins copied out of the store (see clone).
func (s Stored) clone() Stored {
	if s.Bins != nil {
		s.Bins = clone(s.Bins)
	}
	return s
}

// ChangeOp is what a Mutate function does with a record.
type ChangeOp int

// ChangeOps.
const (
	Keep   ChangeOp = iota // leave the record as it is
	Write                  // store Change.Bins
	Remove                 // delete the record
)

// Change is a Mutate function's decision.
type Change struct {
	Op   ChangeOp
	Bins records.Packed // Write: the new record, packed by records.Pack; the store keeps it
	// TTL of a Write: 0 is the namespace's, < 0 never expires. KeepTTL keeps the stored
	// record's expiry (a record that did not exist gets the namespace's).
	TTL     time.Duration
	KeepTTL bool
}

// Mutate reads the record ns/set/key and changes it as fn decides, atomically: fn runs
// under the record's shard lock, sees the stored record (exists is false for an absent or
// expired one, whose Stored is then zero), and must be quick and must not call the store.
// It returns the record as stored afterwards (zero after a Remove, or when it does not
// exist), or fn's error, in which case nothing changed. This is the primitive of a
// conditional write: the Aerospike protocol server (internal/devstore) evaluates a
// write's filter expression, existence and generation checks in fn. The cur fn sees
// lends the store's own bytes for the call only: fn must neither change nor keep them
// (the returned Stored is a copy).
func (s *Store) Mutate(ns, set, key string, fn func(cur Stored, exists bool) (Change, error)) (Stored, bool, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return Stored{}, false, err
	}
	nowT := s.now()
	now := nowT.UnixNano()
	h := n.hash(set, key)
	sh := n.shard(h)
	sh.mu.Lock()
	defer func() {
		sh.compactPending()
		sh.mu.Unlock()
	}()
	old := sh.lookup(h, set, key)
	var ov view
	if old != 0 {
		ov = sh.view(old)
	}
	n.heap.touch(faultAround)
	live := old != 0 && ov.expires > now
	var cur Stored
	if live {
		cur = Stored{Bins: ov.bins, Expires: ov.expires, Gen: ov.gen}
	}
	c, err := fn(cur, live)
	if err != nil {
		return cur.clone(), live, err
	}
	switch c.Op {
	case Keep:
		return cur.clone(), live, nil
	case Remove:
		if old != 0 {
			n.changes.Add(1)
			i, _ := sh.find(h, set, key)
			s.remove(n, sh, i)
		}
		return Stored{}, false, nil
	case Write:
		if err := records.CheckPacked(c.Bins); err != nil {
			return cur.clone(), live, fmt.Errorf("record %s/%s: %w", set, key, err)
		}
		if len(c.Bins) > MaxRecordBytes {
			return cur.clone(), live, errTooLarge(set, key, len(c.Bins))
		}
		var expires int64
		switch {
		case c.KeepTTL && live:
			expires = ov.expires
		case c.TTL < 0:
			expires = NeverExpires
		case c.TTL == 0 || c.KeepTTL:
			expires = nowT.Add(n.ttl).UnixNano()
		default:
			expires = nowT.Add(c.TTL).UnixNano()
		}
		n.changes.Add(1)
		loc, err := s.store(n, sh, h, set, key, c.Bins, expires, nextGen(ov.gen, live))
		if err != nil {
			// cur's record is still stored: store refuses before it writes.
			return cur.clone(), live, err
		}
		v := sh.view(loc)
		return Stored{Bins: clone(v.bins), Expires: v.expires, Gen: v.gen}, true, nil
	default:
		panic(fmt.Sprintf("BUG: Mutate: ChangeOp %d", c.Op))
	}
}

// IndexDigests makes the store keep an index from each record's digest (computed by
// digest from its set and key) to the record, for a client that names records by digest
// only, as Aerospike's does. It indexes the records already stored; call it before the
// store is written concurrently (the protocol server calls it at start).
func (s *Store) IndexDigests(digest func(set, key string) Digest) {
	s.digest = digest
	for _, n := range s.ns {
		for i := range n.shards {
			sh := &n.shards[i]
			sh.mu.Lock()
			for _, sl := range sh.slots {
				if sl != 0 {
					v := sh.view(sl.loc())
					set, key := unsafeString(v.set), unsafeString(v.key)
					s.indexLocked(n, n.hash(set, key), set, key)
				}
			}
			n.heap.touch(sh.live) // a namespace on disk: read whole
			sh.mu.Unlock()
		}
	}
}

// KeyOfDigest returns the set and key of the record with digest d in namespace ns (which
// may have expired); ok is false when the store holds no such record or IndexDigests was
// not called.
func (s *Store) KeyOfDigest(ns string, d Digest) (set, key string, ok bool) {
	n, err := s.namespace(ns)
	if err != nil || s.digest == nil {
		return "", "", false
	}
	ds := &n.dig[d[0]%shards]
	ds.mu.RLock()
	h, ok := ds.m[d]
	ds.mu.RUnlock()
	if !ok {
		return "", "", false
	}
	sh := n.shard(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	n.heap.touch(faultAround)
	// The records of h's tag lie in the probe run from its home slot: nearly always one,
	// which is then d's; else the one whose digest is d.
	var first view
	candidates := 0
	slots := len(sh.slots)
	for pass := 0; pass < 2 && slots > 0; pass++ {
		for i := home(tagOf(h), slots); sh.slots[i] != 0; i = (i + 1) % slots {
			if sh.slots[i].tag() != tagOf(h) {
				continue
			}
			v := sh.view(sh.slots[i].loc())
			if pass == 0 {
				if candidates++; candidates == 1 {
					first = v
				}
			} else if s.digest(unsafeString(v.set), unsafeString(v.key)) == d {
				return string(v.set), string(v.key), true
			}
		}
		if pass == 0 && candidates == 1 {
			return string(first.set), string(first.key), true
		}
		if candidates == 0 {
			break
		}
	}
	return "", "", false
}

// indexLocked adds set/key (hash h) to the digest index; the caller holds its shard lock.
func (s *Store) indexLocked(n *namespace, h uint64, set, key string) {
	if s.digest == nil {
		return
	}
	d := s.digest(set, key)
	ds := &n.dig[d[0]%shards]
	ds.mu.Lock()
	ds.m[d] = h
	ds.mu.Unlock()
}

// unindex removes set/key from the digest index; the caller holds its shard lock.
func (s *Store) unindex(n *namespace, set, key string) {
	if s.digest == nil {
		return
	}
	d := s.digest(set, key)
	ds := &n.dig[d[0]%shards]
	ds.mu.Lock()
	delete(ds.m, d)
	ds.mu.Unlock()
}

// Delete removes records by key from a set.
func (s *Store) Delete(_ context.Context, ns, set string, keys []string) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	n.changes.Add(1)
	var touched uint64
	for _, key := range keys {
		h := n.hash(set, key)
		sh := n.shard(h)
		sh.mu.Lock()
		if len(sh.slots) > 0 {
			if i, ok := sh.find(h, set, key); ok {
				s.remove(n, sh, i)
			}
		}
		if len(sh.pending) > 0 {
			touched |= 1 << (h >> 58)
		}
		sh.mu.Unlock()
	}
	n.compact(touched)
	return nil
}

// Get reads one record.
func (s *Store) Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error) {
	p, ok, err := s.GetPacked(ctx, ns, set, key)
	if !ok || err != nil {
		return nil, false, err
	}
	return s.unpack(set, key, p)
}

// GetMany reads records of one set; an absent record is a nil element.
func (s *Store) GetMany(ctx context.Context, ns, set string, keys []string) ([]records.Bins, error) {
	ps, err := s.GetManyPacked(ctx, ns, set, keys)
	if err != nil {
		return nil, err
	}
	out := make([]records.Bins, len(keys))
	for i, p := range ps {
		if p != nil {
			if out[i], _, err = s.unpack(set, keys[i], p); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *Store) unpack(set, key string, p records.Packed) (records.Bins, bool, error) {
	b, err := records.DecodeBinsShared(p) // p is the caller's copy
	if err != nil {
		return nil, false, fmt.Errorf("record %s/%s: %w", set, key, err)
	}
	return b, true, nil
}

// GetPacked reads one record, as packed by records.EncodeBins: no map, one copy (the
// caller's to keep). ok is false for an absent or expired record.
func (s *Store) GetPacked(_ context.Context, ns, set, key string) (records.Packed, bool, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return nil, false, err
	}
	p := n.get(set, key, s.now().UnixNano())
	return p, p != nil, nil
}

// GetManyPacked reads records of one set (see GetPacked); an absent record is a nil
// element.
func (s *Store) GetManyPacked(_ context.Context, ns, set string, keys []string) ([]records.Packed, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	out := make([]records.Packed, len(keys))
	for i, key := range keys {
		out[i] = n.get(set, key, now)
	}
	return out, nil
}

// get returns a copy of a record's packed bins, nil when absent or expired at now. Every
// record in a namespace is well formed: Put packs it, and load checks what it reads from
// disk.
func (n *namespace) get(set, key string, now int64) records.Packed {
	h := n.hash(set, key)
	sh := n.shard(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	loc := sh.lookup(h, set, key)
	if loc == 0 {
		return nil
	}
	v := sh.view(loc)
	n.heap.touch(faultAround)
	if v.expires <= now {
		return nil
	}
	return clone(v.bins)
}

// Reserve sizes the index of namespace ns for more records (spread over its
// shards as their keys' hashes spread them) than it holds now, so that a writer that
// knows how many new records it is about to write (a cold start's first cycle: its
// entries and users) grows each shard's table once, not again and again as they come
// (a growth moves every slot of the table: ~2.6 slot moves a record over a cold start
// without Reserve). Each shard's table takes its share plus five standard deviations
// of a uniform spread, at most 80% full (as a growth leaves it); a table already that
// large is left as it is, and the tables grow as before past what was reserved. Keys
// already stored count as new ones: reserving for rewrites only makes the tables
// larger (~10 bytes a record).
func (s *Store) Reserve(ns string, more int) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	if more < 0 {
		return fmt.Errorf("rankstore: reserve %d records in %s: a count of records must not be negative", more, ns)
	}
	if more == 0 {
		return nil
	}
	each := float64(more) / shards
	add := int(math.Ceil(each + 5*math.Sqrt(each)))
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		sh.reserveFor(sh.count + add)
		sh.mu.Unlock()
	}
	return nil
}

// Len counts the unexpired records of a namespace.
func (s *Store) Len(ns string) int {
	n, err := s.namespace(ns)
	if err != nil {
		return 0
	}
	now := s.now().UnixNano()
	total := 0
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		for _, sl := range sh.slots {
			if sl != 0 && sh.expires(sl.loc()) > now {
				total++
			}
		}
		sh.mu.RUnlock()
	}
	return total
}

// Sweep drops expired records and returns how many it dropped.
func (s *Store) Sweep() int {
	now := s.now().UnixNano()
	dropped := 0
	for _, n := range s.ns {
		for i := range n.shards {
			sh := &n.shards[i]
			sh.mu.Lock()
			if now < sh.decExp(sh.soonest) {
				// Nothing in the shard expires yet: its records are not read (a namespace
				// on disk would fault every page of them in).
				sh.mu.Unlock()
				continue
			}
			soonest := uint32(neverSecs)
			for j := 0; j < len(sh.slots); {
				// A deletion shifts a later slot into j (never one not yet seen into a slot
				// before j), so j is looked at again.
				if sl := sh.slots[j]; sl != 0 {
					e := sh.expiresEnc(sl.loc())
					if sh.decExp(e) <= now {
						n.changes.Add(1)
						s.remove(n, sh, j)
						dropped++
						continue
					}
					soonest = min(soonest, e)
				}
				j++
			}
			sh.soonest = soonest
			sh.compactPending()
			n.heap.touch(sh.live) // a namespace on disk: read whole
			sh.mu.Unlock()
		}
	}
	return dropped
}

// Run sweeps expired records every interval until ctx ends. Call Close after the last
// write to save the namespaces.
func (s *Store) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n := s.Sweep(); n > 0 {
				s.log.Debug("swept expired records", "records", n)
			}
		}
	}
}

// plan plans the write of r over old (the stored record a KeepPrev write replaces, nil
// for none) in m: its bins with its fence and, with old, old's PrevBins under their
// PrevName bins (records.PackWrite, which gives the same bytes).
func plan(m *records.Merge, r *records.Record, old records.Packed) error {
	if err := m.PlanRecord(r, old); err != nil {
		return fmt.Errorf("record %s/%s: %w", r.Set, r.Key, err)
	}
	if m.Len() > MaxRecordBytes {
		return errTooLarge(r.Set, r.Key, m.Len())
	}
	return nil
}
