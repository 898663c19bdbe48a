package rankstore

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

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

const shards = 64

type entry struct {
	bins    []byte
	expires int64 // unix ns
}

type shard struct {
	mu sync.RWMutex
	m  map[recKey]entry
}

type namespace struct {
	ttl    time.Duration
	seed   maphash.Seed
	shards [shards]shard
}

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	ns     map[string]*namespace
	flushM sync.Mutex
}

// Open creates a store and, with a data dir, loads the persisted complete namespace.
func Open(cfg Config, now func() time.Time, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, now: now, log: log, ns: map[string]*namespace{
		records.Live:     newNamespace(cfg.LiveTTL),
		records.Complete: newNamespace(cfg.CompleteTTL),
	}}
	if cfg.DataDir != "" {
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

func newNamespace(ttl time.Duration) *namespace {
	n := &namespace{ttl: ttl, seed: maphash.MakeSeed()}
	for i := range n.shards {
		n.shards[i].m = map[recKey]entry{}
	}
	return n
}

// recKey identifies a record in a namespace (a struct, so a look-up builds no string).
type recKey struct{ set, key string }

func (n *namespace) shard(k recKey) *shard {
	return &n.shards[maphash.String(n.seed, k.key)%shards]
}

func mapKey(set, key string) recKey { return recKey{set, key} }

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
func (s *Store) Put(_ context.Context, ns string, recs []records.Record) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	exp := s.now().Add(n.ttl).UnixNano()
	for _, r := range recs {
		k := mapKey(r.Set, r.Key)
		e := entry{bins: records.EncodeBins(r.Bins), expires: exp}
		sh := n.shard(k)
		sh.mu.Lock()
		sh.m[k] = e
		sh.mu.Unlock()
	}
	return nil
}

// Delete removes records by key from a set.
func (s *Store) Delete(_ context.Context, ns, set string, keys []string) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	for _, key := range keys {
		k := mapKey(set, key)
		sh := n.shard(k)
		sh.mu.Lock()
		delete(sh.m, k)
		sh.mu.Unlock()
	}
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
	b, err := records.DecodeBinsShared(p) // p is never modified: Put replaces a record whole
	if err != nil {
		return nil, false, fmt.Errorf("record %s/%s: %w", set, key, err)
	}
	return b, true, nil
}

// GetPacked reads one record in place, as packed by records.EncodeBins: no map, no copy.
// The bytes are the store's own and never change (Put replaces a record whole); the
// caller must not modify them. ok is false for an absent or expired record.
func (s *Store) GetPacked(_ context.Context, ns, set, key string) (records.Packed, bool, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return nil, false, err
	}
	p := n.get(set, key, s.now().UnixNano())
	return p, p != nil, nil
}

// GetManyPacked reads records of one set in place (see GetPacked); an absent record is a
// nil element.
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

// get returns a record's packed bins, nil when absent or expired at now. Every record
// in a namespace is well formed: Put packs it, and load checks what it reads from disk.
func (n *namespace) get(set, key string, now int64) records.Packed {
	k := mapKey(set, key)
	sh := n.shard(k)
	sh.mu.RLock()
	e, ok := sh.m[k]
	sh.mu.RUnlock()
	if !ok || e.expires <= now {
		return nil
	}
	return e.bins
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
		for _, e := range sh.m {
			if e.expires > now {
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
			for k, e := range sh.m {
				if e.expires <= now {
					delete(sh.m, k)
					dropped++
				}
			}
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
