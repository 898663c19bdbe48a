package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// Store is what the API reads. Both the embedded store (package rankstore) and the
// Aerospike client satisfy it. Get reports ok=false for an absent record; GetMany returns
// one element per key, nil where the record is absent. An error means the store could not
// answer (the API answers 503).
type Store interface {
	Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error)
	GetMany(ctx context.Context, ns, set string, keys []string) ([]records.Bins, error) // nil element = absent
}

// PackedStore is a Store that keeps records packed (records.EncodeBins) and lends them
// to be read in place: the embedded store does. The API reads such a store without
// building a map per record; it reads any other Store through packing.
type PackedStore interface {
	GetPacked(ctx context.Context, ns, set, key string) (records.Packed, bool, error)
	GetManyPacked(ctx context.Context, ns, set string, keys []string) ([]records.Packed, error) // nil element = absent
}

// packing reads a Store that answers Bins as a PackedStore: a record is packed once per
// read, which is small next to the round trip that brought it.
type packing struct{ Store }

func (p packing) GetPacked(ctx context.Context, ns, set, key string) (records.Packed, bool, error) {
	b, ok, err := p.Get(ctx, ns, set, key)
	if err != nil || !ok || b == nil {
		return nil, false, err
	}
	pk, err := records.Pack(b)
	if err != nil {
		return nil, false, fmt.Errorf("record %s/%s: %w", set, key, err)
	}
	return pk, true, nil
}

func (p packing) GetManyPacked(ctx context.Context, ns, set string, keys []string) ([]records.Packed, error) {
	bs, err := p.GetMany(ctx, ns, set, keys)
	if err != nil {
		return nil, err
	}
	out := make([]records.Packed, len(bs))
	for i, b := range bs {
		if b == nil {
			continue
		}
		if out[i], err = records.Pack(b); err != nil {
			return nil, fmt.Errorf("record %s/%s: %w", set, keys[i], err)
		}
	}
	return out, nil
}

// maxTries bounds the reads of one answer that finds records from two cycles; retryPause
// is the pause before the second read, doubled before the third.
const (
	maxTries   = 3
	retryPause = 2 * time.Millisecond
)

// inconsistent reports records caught between two cycles' writes (a page newer than its
// contest, points missing from the histogram): the answer reads them again.
type inconsistent struct{ reason string }

func (e *inconsistent) Error() string { return e.reason }

func mixed(format string, args ...any) error {
	return &inconsistent{fmt.Sprintf(format, args...)}
}

// consistent runs read until it returns something other than an inconsistency, at most
// maxTries times, pausing briefly between tries (a cycle's writes take milliseconds);
// then the answer (about the kind id, e.g. "contest" 5) is 503.
func (s *Server) consistent(ctx context.Context, kind string, id int64, read func() error) error {
	for try := 0; ; try++ {
		if err := s.retry(ctx, kind, id, try, read()); err != errRetry {
			return err
		}
	}
}

// errRetry is retry's answer when the read is to be tried again.
var errRetry = errors.New("retry")

// retry decides what follows try number try (from 0) of a read that returned err:
// errRetry after a pause when err is an inconsistency and tries remain, a 503 when none
// remain (or ctx ends while pausing), err itself otherwise.
func (s *Server) retry(ctx context.Context, kind string, id int64, try int, err error) error {
	var inc *inconsistent
	if !errors.As(err, &inc) {
		return err
	}
	if try == maxTries-1 {
		s.logLimited(slog.LevelWarn, "records stay inconsistent", "answer", kind, "id", id, "tries", maxTries, "reason", err)
		return unavailable("%s %d: the standings are being rewritten (%v); retry", kind, id, err)
	}
	s.rereads.Inc()
	t := time.NewTimer(retryPause << try)
	select {
	case <-ctx.Done():
		t.Stop()
		return unavailable("%s %d: no consistent read before the deadline (%v); retry", kind, id, err)
	case <-t.C:
		return errRetry
	}
}

// otherNS is the namespace read when a record is absent from ns.
func otherNS(ns string) string {
	if ns == records.Live {
		return records.Complete
	}
	return records.Live
}

func (s *Server) storeError(err error, ns, set, key string) error {
	s.logLimited(slog.LevelWarn, "store read failed", "ns", ns, "set", set, "key", key, "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		return unavailable("store did not answer in time reading %s %s", set, key)
	}
	return unavailable("store unavailable reading %s %s", set, key)
}

// get reads one record from ns, then from the other namespace. It returns the namespace
// that holds it, "" when neither does.
func (s *Server) get(ctx context.Context, ns, set, key string) (records.Packed, string, error) {
	for _, at := range [2]string{ns, otherNS(ns)} {
		b, ok, err := s.rd.GetPacked(ctx, at, set, key)
		if err != nil {
			return nil, "", s.storeError(err, at, set, key)
		}
		if ok && b != nil {
			return b, at, nil
		}
	}
	return nil, "", nil
}

// getIn reads records from ns only, in one batch.
func (s *Server) getIn(ctx context.Context, ns, set string, keys []string) ([]records.Packed, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	bs, err := s.rd.GetManyPacked(ctx, ns, set, keys)
	if err != nil {
		return nil, s.storeError(err, ns, set, keys[0])
	}
	if len(bs) != len(keys) {
		s.logLimited(slog.LevelError, "store answered a batch with the wrong count", "ns", ns, "set", set, "keys", len(keys), "records", len(bs))
		return nil, unavailable("store answered %d records for %d keys of %s", len(bs), len(keys), set)
	}
	return bs, nil
}

// getMany reads records from ns in one batch, then the ones absent there from the other
// namespace in a second. It returns each record's namespace ("" when absent).
func (s *Server) getMany(ctx context.Context, ns, set string, keys []string) ([]records.Packed, []string, error) {
	bs, err := s.getIn(ctx, ns, set, keys)
	if err != nil {
		return nil, nil, err
	}
	at := make([]string, len(keys))
	var missing []string
	var where []int
	for k, b := range bs {
		if b != nil {
			at[k] = ns
		} else {
			missing = append(missing, keys[k])
			where = append(where, k)
		}
	}
	if len(missing) > 0 {
		more, err := s.getIn(ctx, otherNS(ns), set, missing)
		if err != nil {
			return nil, nil, err
		}
		for j, b := range more {
			if b != nil {
				bs[where[j]], at[where[j]] = b, otherNS(ns)
			}
		}
	}
	return bs, at, nil
}

func (s *Server) corrupt(what string, id any, err error) error {
	s.logLimited(slog.LevelError, "corrupt record", "record", what, "key", id, "err", err)
	return internal("the stored %s %v cannot be read", what, id)
}

// readMatch reads a match's commit record (ns first): its visible cycle, totals and the
// entries partitions holding it. at is "" when it is absent.
func (s *Server) readMatch(ctx context.Context, ns string, id int64) (m records.Match, at string, err error) {
	p, at, err := s.get(ctx, ns, records.SetMatch, records.IDKey(id))
	if err != nil || at == "" {
		return m, at, err
	}
	var b records.Unpacked
	if err = b.Reset(p); err == nil {
		m = records.Match{ID: b.Int("id"), State: b.Str("state"), Cycle: b.Int("cycle"), AsOf: b.Int("as_of"),
			Entries: b.Int("entries"), Contests: b.Int("contests")}
		m.Parts, err = records.DecodeParts(b.Bytes("parts"))
	}
	if err == nil && m.ID != id {
		err = fmt.Errorf("match record %d holds match %d: %w", id, m.ID, records.ErrCorrupt)
	}
	if err != nil {
		return m, "", s.corrupt("match", id, err)
	}
	return m, at, nil
}

// committed reads match id's committed (visible) cycle from its commit record (ns
// first), decoding nothing else; 0 when no namespace holds it (nothing committed yet:
// no standings of the match are visible).
func (s *Server) committed(ctx context.Context, ns string, id int64) (int64, error) {
	p, at, err := s.get(ctx, ns, records.SetMatch, records.IDKey(id))
	if err != nil || at == "" {
		return 0, err
	}
	if err = records.CheckPacked(p); err == nil && p.Int("id") != id {
		err = fmt.Errorf("match record %d holds match %d: %w", id, p.Int("id"), records.ErrCorrupt)
	}
	if err != nil {
		return 0, s.corrupt("match", id, err)
	}
	return p.Int("cycle"), nil
}

// readMatchPart reads one entries partition's share of a match (ns first): its cycle
// and points log. at is "" when it is absent.
func (s *Server) readMatchPart(ctx context.Context, ns string, match int64, part int32) (mp records.MatchPart, at string, err error) {
	p, at, err := s.get(ctx, ns, records.SetMatchPart, records.MatchPartKey(match, part))
	if err != nil || at == "" {
		return mp, at, err
	}
	mp, err = s.decodeMatchPart(p, at, match, part)
	return mp, at, err
}

// decodeMatchPart decodes the SetMatchPart record of (match, part) read from ns, its
// log through the points cache.
func (s *Server) decodeMatchPart(p records.Packed, ns string, match int64, part int32) (mp records.MatchPart, err error) {
	var b records.Unpacked
	if err = b.Reset(p); err == nil {
		mp = records.MatchPart{Match: b.Int("match"), Part: int32(b.Int("part")), State: b.Str("state"), Cycle: b.Int("cycle"),
			AsOf: b.Int("as_of"), Entries: b.Int("entries"), Contests: b.Int("contests"), Chunks: b.Int("chunks")}
		if mp.Match != match || int64(mp.Part) != b.Int("part") || mp.Part != part {
			err = fmt.Errorf("record %s holds match %d partition %d: %w", records.MatchPartKey(match, part), mp.Match, b.Int("part"), records.ErrCorrupt)
		}
	}
	if err == nil {
		mp.Log, err = s.logs.decode(ns, match, part, b.Bytes("log"))
	}
	if err != nil {
		return mp, s.corrupt("match partition", records.MatchPartKey(match, part), err)
	}
	return mp, nil
}

// decodeContest decodes the version of contest record p shown at committed cycle
// committed (the match's commit): the newest at or below it (records.ContestAt), ok
// false when neither the record's current version nor its previous one is (the contest
// was first written at a cycle not committed yet: no standings to show). Without rows it
// leaves page 0 undecoded (c.First nil): an entry's rank needs the histogram only, which
// comes through the histogram cache for either version (each has its own cycle). Both
// versions newer than committed mean the commit was read before a newer one: mixed.
func (s *Server) decodeContest(p records.Packed, id, committed int64, rows bool) (c records.Contest, ok bool, err error) {
	var b records.Unpacked
	switch err = b.Reset(p); {
	case err != nil:
	case rows:
		c, ok, err = records.ContestAt(p, committed) // Packed: &b would escape through the generic decoder
	case b.Int("cycle") <= committed:
		c = records.Contest{ID: b.Int("id"), Match: b.Int("match"), Cycle: b.Int("cycle"), AsOf: b.Int("as_of"),
			Total: b.Int("total"), PageSize: b.Int("page_size")}
		c.Hist, err = s.hists.decode(c.ID, c.Cycle, b.Bytes("hist"))
		ok = err == nil
	case b.Int("p_cycle") != 0 && b.Int("p_cycle") <= committed: // the previous version (records.PrevName)
		c = records.Contest{ID: b.Int("id"), Match: b.Int("match"), Cycle: b.Int("p_cycle"), AsOf: b.Int("p_as_of"),
			Total: b.Int("p_total"), PageSize: b.Int("page_size")}
		c.Hist, err = s.hists.decode(c.ID, c.Cycle, b.Bytes("p_hist"))
		ok = err == nil
	}
	if err == nil && !ok {
		if pc := b.Int("p_cycle"); pc > committed {
			// Written twice since the commit read: a writer writes cycle N+1 only once N
			// is committed, so that commit was read before a newer one was written.
			return c, false, mixed("contest %d is at cycles %d and %d, its match committed at %d", id, b.Int("cycle"), pc, committed)
		}
		return c, false, nil
	}
	if err == nil && (c.ID != id || c.Total < 0 || c.PageSize <= 0 || c.PageSize > maxPageSize ||
		rows && int64(len(c.First)) != min(c.PageSize, c.Total)) {
		err = fmt.Errorf("id %d, cycle %d, total %d, page size %d, %d rows on page 0: %w", c.ID, c.Cycle, c.Total, c.PageSize, len(c.First), records.ErrCorrupt)
	}
	if err != nil {
		return c, false, s.corrupt("contest", id, err)
	}
	return c, true, nil
}

// maxPageSize bounds the page size a contest record may claim (the engine's is <= 65536).
const maxPageSize = 1 << 20

// readEntry reads an entry record (live first).
func (s *Server) readEntry(ctx context.Context, id int64) (e records.Entry, at string, err error) {
	p, at, err := s.get(ctx, records.Live, records.SetEntry, records.IDKey(id))
	if err != nil || at == "" {
		return e, at, err
	}
	var b records.Unpacked
	if err = b.Reset(p); err == nil {
		e, err = records.EntryFromUnpacked(&b)
	}
	if err != nil {
		return e, "", s.corrupt("entry", id, err)
	}
	return e, at, nil
}

// pages holds the rows of one contest's pages read so far; page 0 is the contest record's.
type pages struct {
	s    *Server
	ctx  context.Context
	ns   string // the contest's namespace: its pages are read there only
	c    records.Contest
	rows map[int64][]records.Row
	pre  map[int64]records.Packed // page records read before c's version was known (nil: absent)
	read int                      // page records read, for tests
}

func (s *Server) pagesOf(ctx context.Context, ns string, c records.Contest) *pages {
	return &pages{s: s, ctx: ctx, ns: ns, c: c, rows: map[int64][]records.Row{0: c.First}}
}

// load reads the pages among nos not read yet, in one batch, and takes of each the
// version of the contest's version (records.PageAt: the newest at or below its cycle).
// A page that is absent, has no such version or has the wrong length means the contest
// is being rewritten.
func (p *pages) load(nos ...int64) error {
	var keys []string
	var want []int64
	for _, n := range nos {
		if _, ok := p.rows[n]; ok || n < 0 || n >= p.c.Pages() || containsInt(want, n) {
			continue
		}
		if b, ok := p.pre[n]; ok {
			if err := p.accept(n, b, ""); err != nil {
				return err
			}
			continue
		}
		want = append(want, n)
		keys = append(keys, records.PageKey(p.c.ID, int(n)))
	}
	bs, err := p.s.getIn(p.ctx, p.ns, records.SetPage, keys)
	if err != nil {
		return err
	}
	p.read += len(keys)
	for k, b := range bs {
		if err := p.accept(want[k], b, keys[k]); err != nil {
			return err
		}
	}
	return nil
}

// accept checks page record b, page n of the contest (key: its key, "" to make it), and
// keeps the rows of its version at or below the contest's.
func (p *pages) accept(n int64, b records.Packed, key string) error {
	if b == nil {
		return mixed("page %d of contest %d is missing", n, p.c.ID)
	}
	pg, ok, err := records.PageAt(b, p.c.Cycle)
	if err == nil && (b.Int("contest") != p.c.ID || b.Int("page") != n) {
		err = fmt.Errorf("page %d of contest %d holds page %d of contest %d: %w", n, p.c.ID, b.Int("page"), b.Int("contest"), records.ErrCorrupt)
	}
	if err != nil {
		if key == "" {
			key = records.PageKey(p.c.ID, int(n))
		}
		return p.s.corrupt("page", key, err)
	}
	if !ok {
		return mixed("page %d of contest %d is at cycle %d (before it %d), the contest at %d", n, p.c.ID, b.Int("cycle"), b.Int("p_cycle"), p.c.Cycle)
	}
	if want := min(p.c.PageSize, p.c.Total-n*p.c.PageSize); int64(len(pg.Rows)) != want {
		return mixed("page %d of contest %d holds %d rows, not %d", n, p.c.ID, len(pg.Rows), want)
	}
	p.rows[n] = pg.Rows
	return nil
}

// span loads the pages covering display positions [from, to) and returns their rows.
func (p *pages) span(from, to int64) ([]records.Row, error) {
	if from >= to {
		return []records.Row{}, nil
	}
	ps := p.c.PageSize
	var nos []int64
	for n := from / ps; n <= (to-1)/ps; n++ {
		nos = append(nos, n)
	}
	if err := p.load(nos...); err != nil {
		return nil, err
	}
	out := make([]records.Row, 0, to-from)
	for _, n := range nos {
		rows := p.rows[n]
		lo, hi := max(from-n*ps, 0), min(to-n*ps, int64(len(rows)))
		if lo > hi {
			return nil, mixed("page %d of contest %d is short", n, p.c.ID)
		}
		out = append(out, rows[lo:hi]...)
	}
	return out, nil
}

func containsInt(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// logLimited logs at most one line a second (a failing store would otherwise log a line
// per request); the metrics count every failed answer by route and status.
func (s *Server) logLimited(level slog.Level, msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Log(context.Background(), level, msg, args...)
}
