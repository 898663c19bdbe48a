package api

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/fantasy/leaderboard/records"
)

// fakeStore is an in-memory Store: records kept encoded (records.EncodeBins), as the
// embedded store keeps them, so every read hands out a fresh copy. hook, when set, may
// replace what a read returns; calls and keys count the reads.
type fakeStore struct {
	mu   sync.RWMutex
	data map[string][]byte
	hook func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error)

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
