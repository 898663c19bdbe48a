package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// versionedWriter writes records the way the stores write a KeepPrev write (records/
// versions.go): a contest or page record written over a stored one keeps the stored
// one's versioned bins under their p_ names. It writes into the fake store and, when
// set, into an embedded store holding the same records.
type versionedWriter struct {
	t    testing.TB
	fake *fakeStore
	emb  *rankstore.Store
}

func (w *versionedWriter) write(ns string, recs ...records.Record) {
	w.t.Helper()
	for _, r := range recs {
		bins := maps.Clone(r.Bins)
		if records.Versioned(r.Set) {
			old, ok, err := w.fake.read(ns, r.Set, r.Key)
			if err != nil {
				w.t.Fatal(err)
			}
			for _, b := range records.PrevBins(r.Set) {
				if v, has := old[b]; ok && has {
					bins[records.PrevName(b)] = v
				}
			}
		}
		w.fake.put(ns, records.Record{Set: r.Set, Key: r.Key, Bins: bins})
		if w.emb != nil {
			if err := w.emb.Put(w.t.Context(), ns, []records.Record{{Set: r.Set, Key: r.Key, Bins: bins}}); err != nil {
				w.t.Fatal(err)
			}
		}
	}
}

// commit writes the live match's commit at cycle c (the committer's write).
func (w *versionedWriter) commit(c int64) {
	w.t.Helper()
	b, ok, err := w.fake.read(records.Live, records.SetMatch, records.IDKey(liveMatch))
	if err != nil || !ok {
		w.t.Fatalf("no commit of match %d: %v", liveMatch, err)
	}
	b["cycle"], b["as_of"] = c, cycleTime(c).UnixMilli()
	w.write(records.Live, records.Record{Set: records.SetMatch, Key: records.IDKey(liveMatch), Bins: b})
}

// TestStrictVisibility: a contest (and its pages) written at cycle 3 while its match's
// commit is at 2 shows its cycle-2 version, whole, in every answer (leaderboard, entry,
// entry by id, around, history, user), and its cycle-3 version once the commit moves to
// 3; a page with no version at or below the contest's shown one is mid-write (503 after
// re-reads); a contest first written at an uncommitted cycle is not ranked yet; one
// written twice since the commit read is mid-write. Over the fake store (a remote store:
// reads overlap) and the embedded one (local: reads in turn).
func TestStrictVisibility(t *testing.T) {
	for _, local := range []bool{false, true} {
		name := "remote"
		if local {
			name = "embedded"
		}
		t.Run(name, func(t *testing.T) { strictVisibility(t, local) })
	}
}

// visibilityCase is one store under test: how to GET an answer.
type visibilityCase struct {
	t *testing.T
	s *Server
}

// get serves path and checks the status; it decodes the JSON body into v when non-nil
// and returns the body.
func (vc visibilityCase) get(path string, status int, v any) string {
	vc.t.Helper()
	rec := serveOnce(vc.s, "GET", path)
	if rec.Code != status {
		vc.t.Fatalf("GET %s: status %d, want %d: %s", path, rec.Code, status, rec.Body)
	}
	if v != nil {
		d := json.NewDecoder(strings.NewReader(rec.Body.String()))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			vc.t.Fatalf("GET %s: %v: %s", path, err, rec.Body)
		}
	}
	return rec.Body.String()
}

func strictVisibility(t *testing.T, local bool) {
	f := newFixtureCopy()
	md := f.matches[liveMatch]
	w := &versionedWriter{t: t, fake: f.store}
	var st Store = f.store
	if local {
		w.emb = embedded(t, f.store)
		st = w.emb
	}
	vc := visibilityCase{t: t, s: New(DefaultConfig(), st, nil, nil, nil)}
	if vc.s.local != local {
		t.Fatalf("server reads the store as local=%v, want %v", vc.s.local, local)
	}

	// Cycle 3 of the big contest's partition: its players' points move by different
	// amounts, so ranks change; the partition's share (its log) is written first.
	big := md.bigContest()
	part := md.part[big]
	pts := map[int64]map[int32]float64{}
	for c, p := range md.partPoints[part] {
		pts[c] = p
	}
	pts[3] = map[int32]float64{}
	for pl, v := range pts[2] {
		pts[3][pl] = v + float64(pl%7)*1.25
	}
	w.write(records.Live, records.MatchPart{Match: liveMatch, Part: part, State: records.StateLive, Cycle: 3,
		AsOf: cycleTime(3).UnixMilli(), Log: logOf(pts)}.Record())
	var entries []engine.Entry
	for _, e := range md.entries {
		if e.ContestID == big {
			entries = append(entries, e)
		}
	}
	ref2, ref3 := md.ranked[big], reference.Rank(entries, pts[3])
	moved := 0
	rank3 := map[int64]reference.Row{}
	for _, r := range ref3 {
		rank3[r.EntryID] = r
	}
	for _, r := range ref2 {
		if rank3[r.EntryID].Rank != r.Rank {
			moved++
		}
	}
	if moved < len(ref2)/2 {
		t.Fatalf("only %d of %d entries change rank at cycle 3: the test cannot tell the versions apart", moved, len(ref2))
	}
	recs := contestRecords(liveMatch, big, 3, ref3)
	for _, r := range recs[1:] {
		r.Bins["cycle"] = int64(3) // every page rewritten at cycle 3
	}
	w.write(records.Live, recs...)

	// An entry of the big contest whose rank differs between the versions, with 5 rows
	// either side of it in both.
	at3 := map[int64]int{}
	for k, r := range ref3 {
		at3[r.EntryID] = k
	}
	var probe reference.Row
	pos2, pos3 := -1, -1
	for k := len(ref2) / 3; k < len(ref2)-6; k++ {
		if r := ref2[k]; rank3[r.EntryID].Rank != r.Rank && at3[r.EntryID] >= 5 && at3[r.EntryID] < len(ref3)-6 {
			probe, pos2, pos3 = r, k, at3[r.EntryID]
			break
		}
	}
	if pos2 < 0 {
		t.Fatal("no entry of the big contest changes rank at cycle 3")
	}

	check := func(cycle int64, ref []reference.Row, pos int) {
		t.Helper()
		for _, win := range [][2]int{{0, 50}, {90, 20}, {150, 100}, {1999, 300}, {2450, 100}} {
			var p tPage
			vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard?offset=%d&limit=%d", big, win[0], win[1]), 200, &p)
			checkRows(t, fmt.Sprintf("cycle %d window %v", cycle, win), p.Entries, ref[win[0]:min(win[0]+win[1], len(ref))])
			if p.Cycle != cycle || p.AsOf != wantAsOf(cycle) || p.Total != int64(len(ref)) {
				t.Fatalf("cycle %d: page header %+v", cycle, p)
			}
		}
		r := ref[pos]
		want := tEntry{ContestID: big, MatchID: liveMatch, EntryID: r.EntryID, UserID: r.UserID, TeamID: r.TeamID, Rank: int64(r.Rank),
			Points: json.Number(wantPoints(r.Points)), Total: int64(len(ref)), Cycle: cycle, AsOf: wantAsOf(cycle)}
		for _, path := range []string{fmt.Sprintf("/v1/contests/%d/entries/%d", big, r.EntryID), fmt.Sprintf("/v1/entries/%d", r.EntryID)} {
			var e tEntry
			vc.get(path, 200, &e)
			if e != want {
				t.Fatalf("cycle %d: %s = %+v, want %+v", cycle, path, e, want)
			}
		}
		for k := 0; k < len(ref); k += 97 { // rank and points of a sample, from the histogram of the version shown
			r := ref[k]
			var e tEntry
			vc.get(fmt.Sprintf("/v1/contests/%d/entries/%d", big, r.EntryID), 200, &e)
			if e.Rank != int64(r.Rank) || string(e.Points) != wantPoints(r.Points) || e.Cycle != cycle {
				t.Fatalf("cycle %d: entry %d rank %d points %s cycle %d, want %d %s", cycle, r.EntryID, e.Rank, e.Points, e.Cycle, r.Rank, wantPoints(r.Points))
			}
		}
		var a tPage
		vc.get(fmt.Sprintf("/v1/contests/%d/entries/%d/around?before=5&after=5", big, r.EntryID), 200, &a)
		checkRows(t, fmt.Sprintf("cycle %d around", cycle), a.Entries, ref[pos-5:pos+6])
		if a.Cycle != cycle || a.Offset != int64(pos-5) {
			t.Fatalf("cycle %d: around at cycle %d offset %d, want %d", cycle, a.Cycle, a.Offset, pos-5)
		}
		var h tHistory
		vc.get(fmt.Sprintf("/v1/contests/%d/entries/%d/history", big, r.EntryID), 200, &h)
		if h.tEntry != want || len(h.History) == 0 || h.History[len(h.History)-1].Cycle > cycle ||
			string(h.History[len(h.History)-1].Points) != want.Points.String() {
			t.Fatalf("cycle %d: history %+v, want %+v up to cycle %d", cycle, h, want, cycle)
		}
		var u tUser
		vc.get(fmt.Sprintf("/v1/users/%d/entries?match_id=%d", r.UserID, liveMatch), 200, &u)
		found := false
		for _, e := range u.Entries {
			if e.EntryID == r.EntryID {
				found = true
				if e.Rank == nil || *e.Rank != int64(r.Rank) || e.Points == nil || string(*e.Points) != wantPoints(r.Points) {
					t.Fatalf("cycle %d: user answer's entry %+v, want rank %d points %s", cycle, e, r.Rank, wantPoints(r.Points))
				}
			}
		}
		if !found || u.Cycle != cycle {
			t.Fatalf("cycle %d: user answer %+v", cycle, u)
		}
	}

	// The commit at 2: the cycle-2 version, whole (its previous bins and pages').
	check(2, ref2, pos2)
	// The commit moves to 3: the cycle-3 version.
	w.commit(3)
	check(3, ref3, pos3)
	// And back (a reader that read the commit before it moved): cycle 2 again.
	w.commit(2)
	check(2, ref2, pos2)

	// A page with no version at or below the contest's shown one (rewritten twice):
	// re-read, then 503; windows without it still answer.
	page1 := recs[1]
	page1.Bins = maps.Clone(page1.Bins)
	page1.Bins["cycle"] = int64(4)
	w.write(records.Live, page1)
	var pageReads int
	f.store.setHook(func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		if set == records.SetPage && key == records.PageKey(big, 1) {
			pageReads++
		}
		return b, ok, nil
	})
	body := vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard?offset=120&limit=10", big), 503, nil)
	if !strings.Contains(body, fmt.Sprintf("page 1 of contest %d is at cycle 4 (before it 3), the contest at 2", big)) {
		t.Fatalf("%s", body)
	}
	if !local && pageReads != maxTries {
		t.Fatalf("page 1 read %d times, want %d", pageReads, maxTries)
	}
	f.store.setHook(nil)
	var p tPage
	vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard?offset=200&limit=10", big), 200, &p)
	checkRows(t, "beside the page", p.Entries, ref2[200:210])

	// A contest first written at cycle 3, not committed: not ranked yet, until it is.
	fresh := int64(777_001)
	var es []engine.Entry
	var res []records.Entry
	for k, e := range entries[:3] {
		e.ContestID, e.EntryID, e.UserID = fresh, int64(1<<41+k), 888
		es = append(es, e)
		res = append(res, records.Entry{ID: e.EntryID, Contest: fresh, Match: liveMatch, User: e.UserID, Team: e.TeamID, Part: part,
			Lineup: records.Lineup{Players: e.Players, Captain: e.Captain, Vice: e.ViceCaptain}})
	}
	freshRef := reference.Rank(es, pts[3])
	for _, e := range res {
		w.write(records.Live, e.Record())
	}
	w.write(records.Live, records.User{Match: liveMatch, User: 888, Part: part, Entries: res}.Record())
	w.write(records.Live, contestRecords(liveMatch, fresh, 3, freshRef)...)
	if body := vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard", fresh), 404, nil); !strings.Contains(body, "no standings of it committed yet") {
		t.Fatalf("%s", body)
	}
	if body := vc.get(fmt.Sprintf("/v1/contests/%d/entries/%d", fresh, res[0].ID), 404, nil); !strings.Contains(body, "no standings yet") {
		t.Fatalf("%s", body)
	}
	var u tUser
	vc.get(fmt.Sprintf("/v1/users/888/entries?match_id=%d", liveMatch), 200, &u)
	if len(u.Entries) != 3 || u.Entries[0].Rank != nil || u.Entries[0].Points != nil {
		t.Fatalf("not ranked yet: %+v", u)
	}
	w.commit(3)
	vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard", fresh), 200, &p)
	checkRows(t, "committed", p.Entries, freshRef)
	vc.get(fmt.Sprintf("/v1/users/888/entries?match_id=%d", liveMatch), 200, &u)
	if len(u.Entries) != 3 || u.Entries[0].Rank == nil || u.Cycle != 3 {
		t.Fatalf("ranked: %+v", u)
	}

	// A contest that shrinks at cycle 3 (250 entries to 150; its page 2 is not rewritten):
	// at the commit 2 its last page is still read for the cycle-2 version, and the
	// cycle-3 version ends at 150.
	w.commit(2)
	shrink := md.contestOfSize(250)
	ref250 := md.ranked[shrink]
	srecs := contestRecords(liveMatch, shrink, 3, ref250[:150]) // the top 150 keep their ranks
	for _, r := range srecs[1:] {
		r.Bins["cycle"] = int64(3)
	}
	w.write(records.Live, srecs...)
	vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard?offset=120&limit=100", shrink), 200, &p)
	checkRows(t, "shrinking, cycle 2", p.Entries, ref250[120:220])
	if p.Total != 250 || p.Cycle != 2 {
		t.Fatalf("shrinking, cycle 2: %+v", p)
	}
	w.commit(3)
	vc.get(fmt.Sprintf("/v1/contests/%d/leaderboard?offset=120&limit=100", shrink), 200, &p)
	checkRows(t, "shrunk, cycle 3", p.Entries, ref250[120:150])
	if p.Total != 150 || p.Cycle != 3 {
		t.Fatalf("shrunk, cycle 3: %+v", p)
	}

	// Written twice since the commit read (3, then 4, the commit at 2): mid-write.
	w.commit(2)
	recs4 := contestRecords(liveMatch, big, 4, ref3)
	w.write(records.Live, recs4[0])
	for _, path := range []string{
		fmt.Sprintf("/v1/contests/%d/leaderboard", big),
		fmt.Sprintf("/v1/contests/%d/entries/%d", big, probe.EntryID),
	} {
		if body := vc.get(path, 503, nil); !strings.Contains(body, fmt.Sprintf("contest %d is at cycles 4 and 3, its match committed at 2", big)) {
			t.Fatalf("%s: %s", path, body)
		}
	}

	// The same with a commit read stale once (2; the store holds 3): the answers read
	// the commit again and show the cycle-3 version (the previous of the record at 4).
	if local {
		return // the stale read is the fake store's hook
	}
	w.commit(3)
	for _, path := range []string{
		fmt.Sprintf("/v1/users/%d/entries?match_id=%d", probe.UserID, liveMatch),
		fmt.Sprintf("/v1/contests/%d/entries/%d", big, probe.EntryID),
		fmt.Sprintf("/v1/contests/%d/leaderboard?offset=%d&limit=1", big, pos3),
	} {
		stale := true
		f.store.setHook(func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
			if set == records.SetMatch && ok && stale {
				stale = false
				b["cycle"] = int64(2)
			}
			return b, ok, nil
		})
		body := vc.get(path, 200, nil)
		if stale || !strings.Contains(body, fmt.Sprintf(`"rank":%d,`, rank3[probe.EntryID].Rank)) || !strings.Contains(body, `"cycle":3`) {
			t.Fatalf("%s after a stale commit: %s", path, body)
		}
	}
	f.store.setHook(nil)
}
