package api

import (
	"hash/maphash"
	"sync"

	"github.com/fantasy/leaderboard/records"
)

// pointsCache keeps decoded points logs (one per namespace, match and entries partition:
// each partition's writer writes its own, records.MatchPart) and the player points they
// give at a cycle. A packed log with the same length and hash as the cached one of its
// match partition is the same log (hashing a few kB costs far less than decoding it): most reads decode nothing and
// build no map. A log rebuilt from scratch (a worker restarted without its live store)
// differs and replaces it. The maps it returns are shared: read them, never write.
//
// A log lent by the embedded store that is the very bytes cached (same first byte, same
// length) is not even hashed: the store replaces a record whole and never writes into
// one, and the cache holds the bytes it compares, so they cannot be freed and reused.
// (It holds one log per match partition that way; histograms are hashed, not held, as
// the cache keeps up to maxCachedHists of them.)
type pointsCache struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[logKey]*cachedLog
}

type logKey struct {
	ns    string
	match int64
	part  int32
}

// cachedLog is a decoded log, recognised by its packed length and hash: not by the
// packed bytes themselves, which are a slice of a store's slab and would keep the whole
// slab alive after the record is replaced.
type cachedLog struct {
	size int
	sum  uint64
	log  records.PointsLog
	at   map[int64]map[int32]int64
}

const (
	maxCachedLogs   = 1024 // match partitions
	maxCachedCycles = 16
)

// decode returns the log of match partition (match, part) packed in raw, from the cache
// when it is the cached one.
func (pc *pointsCache) decode(ns string, match int64, part int32, raw []byte) (records.PointsLog, error) {
	k := logKey{ns, match, part}
	pc.mu.Lock()
	if pc.m == nil {
		pc.seed = maphash.MakeSeed()
	}
	seed := pc.seed
	c := pc.m[k]
	pc.mu.Unlock()
	sum := maphash.Bytes(seed, raw)
	if c != nil && c.size == len(raw) && c.sum == sum {
		return c.log, nil
	}
	log, err := records.DecodePointsLog(raw)
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	if pc.m == nil || len(pc.m) >= maxCachedLogs {
		pc.m = map[logKey]*cachedLog{}
	}
	pc.m[k] = &cachedLog{size: len(raw), sum: sum, log: log, at: map[int64]map[int32]int64{}}
	pc.mu.Unlock()
	return log, nil
}

// at returns the player points of m's log at cycle (shared, read-only).
func (pc *pointsCache) at(ns string, m records.MatchPart, cycle int64) map[int32]int64 {
	k := logKey{ns, m.Match, m.Part}
	pc.mu.Lock()
	c := pc.m[k]
	if c != nil && len(c.log) == len(m.Log) {
		if pts, ok := c.at[cycle]; ok {
			pc.mu.Unlock()
			return pts
		}
	}
	pc.mu.Unlock()
	pts := m.Log.At(cycle)
	if c != nil && len(c.log) == len(m.Log) {
		pc.mu.Lock()
		if len(c.at) >= maxCachedCycles {
			clear(c.at)
		}
		c.at[cycle] = pts
		pc.mu.Unlock()
	}
	return pts
}

// histCache keeps decoded contest histograms: a histogram of the same contest, cycle,
// packed length and hash is the cached one, so hot contests decode nothing. A contest
// record's two versions (records/versions.go) each have their own cycle and go through
// it alike; it keeps one per contest, so when the commit moves on readers switch from
// the previous version's to the current one's and decode it once.
type histCache struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[int64]cachedHist
}

type cachedHist struct {
	cycle int64
	size  int
	sum   uint64
	hist  []records.Bucket
}

const maxCachedHists = 1 << 16

func (hc *histCache) decode(contest, cycle int64, raw []byte) ([]records.Bucket, error) {
	hc.mu.Lock()
	if hc.m == nil {
		hc.seed = maphash.MakeSeed()
	}
	seed := hc.seed
	c, ok := hc.m[contest]
	hc.mu.Unlock()
	sum := maphash.Bytes(seed, raw)
	if ok && c.cycle == cycle && c.size == len(raw) && c.sum == sum {
		return c.hist, nil
	}
	h, err := records.DecodeHist(raw)
	if err != nil {
		return nil, err
	}
	hc.mu.Lock()
	if hc.m == nil || len(hc.m) >= maxCachedHists {
		hc.m = map[int64]cachedHist{}
	}
	hc.m[contest] = cachedHist{cycle, len(raw), sum, h}
	hc.mu.Unlock()
	return h, nil
}
