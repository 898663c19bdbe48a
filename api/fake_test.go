package api

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/fantasy/leaderboard/records"
)

// fakeStore is an in-memory Store: records kept encoded (records.EncodeBins), as the
// embedded store keeps them, so every read hands out a fresh copy. It is a PackedStore,
// as the embedded store is; binsOnly hides that, to test the API over a Store that
// answers maps. hook, when set, may replace what a read returns; calls and keys count
// the reads.
type fakeStore struct {
	mu   sync.RWMutex
	data map[string][]byte
	hook func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error)
	// hookMu runs one hook call at a time: hooks keep counters, and the server reads
	// from several goroutines.
	hookMu sync.Mutex

	calls atomic.Int64 // Get and GetMany calls
	keys  atomic.Int64 // records asked for
}

func newFakeStore() *fakeStore { return &fakeStore{data: map[string][]byte{}} }

func fkey(ns, set, key string) string { return ns + "\x00" + set + "\x00" + key }

func (f *fakeStore) put(ns string, recs ...records.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range recs {
		f.data[fkey(ns, r.Set, r.Key)] = records.EncodeBins(r.Bins)
	}
}

func (f *fakeStore) del(ns, set, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.data, fkey(ns, set, key))
}

func (f *fakeStore) setHook(h func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeStore) resetCounts() { f.calls.Store(0); f.keys.Store(0) }

func (f *fakeStore) read(ns, set, key string) (records.Bins, bool, error) {
	f.mu.RLock()
	raw, ok := f.data[fkey(ns, set, key)]
	hook := f.hook
	f.mu.RUnlock()
	var b records.Bins
	if ok {
		var err error
		if b, err = records.DecodeBins(raw); err != nil {
			panic("BUG: fake store holds undecodable bins: " + err.Error())
		}
	}
	f.keys.Add(1)
	if hook != nil {
		f.hookMu.Lock()
		defer f.hookMu.Unlock()
		return hook(ns, set, key, b, ok)
	}
	return b, ok, nil
}

func (f *fakeStore) Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error) {
	f.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return f.read(ns, set, key)
}

func (f *fakeStore) GetMany(ctx context.Context, ns, set string, keys []string) ([]records.Bins, error) {
	f.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]records.Bins, len(keys))
	for k, key := range keys {
		b, ok, err := f.read(ns, set, key)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = b
		}
	}
	return out, nil
}

// GetPacked and GetManyPacked pack what Get and GetMany answer (hooks included), as the
// API's adapter for map stores does.
func (f *fakeStore) GetPacked(ctx context.Context, ns, set, key string) (records.Packed, bool, error) {
	return packing{f}.GetPacked(ctx, ns, set, key)
}

func (f *fakeStore) GetManyPacked(ctx context.Context, ns, set string, keys []string) ([]records.Packed, error) {
	return packing{f}.GetManyPacked(ctx, ns, set, keys)
}

// binsOnly is a Store that answers maps only, as a remote store does: the API reads it
// through packing.
type binsOnly struct{ s Store }

func (b binsOnly) Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error) {
	return b.s.Get(ctx, ns, set, key)
}

func (b binsOnly) GetMany(ctx context.Context, ns, set string, keys []string) ([]records.Bins, error) {
	return b.s.GetMany(ctx, ns, set, keys)
}
