package api

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// TestWebPage: the page at "/", its assets under /web/, their types and caching headers,
// a policy that allows this server only, and 404 for a file that is not embedded.
func TestWebPage(t *testing.T) {
	srv, _ := newTestServer(t, newFakeStore(), nil)
	body, resp := get(t, srv, "/")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("GET /: Content-Security-Policy %q", csp)
	}
	// Every asset the page names is served, with its type; nothing is fetched from elsewhere.
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(body), -1)
	if len(refs) < 4 {
		t.Fatalf("GET /: %d asset references in %s", len(refs), body)
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, m := range refs {
		ref := m[1]
		if ref == "data:," {
			continue
		}
		if !strings.HasPrefix(ref, "/web/") {
			t.Fatalf("GET /: reference %q is not one of ours", ref)
		}
		b, r := get(t, srv, ref)
		if want := types[ref[strings.LastIndexByte(ref, '.'):]]; r.StatusCode != 200 || r.Header.Get("Content-Type") != want || len(b) == 0 {
			t.Fatalf("GET %s: %d %q (want %q), %d bytes", ref, r.StatusCode, r.Header.Get("Content-Type"), want, len(b))
		}
		// The only absolute URL allowed in a file is the SVG namespace (a name, never fetched).
		if u := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindAllString(strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", ""), -1); len(u) > 0 {
			t.Fatalf("%s names external hosts: %q", ref, u)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: no nosniff", ref)
		}
	}

	// Revalidation: the same ETag answers 304 without a body.
	_, first := get(t, srv, "/web/app.js")
	etag := first.Header.Get("ETag")
	req, _ := http.NewRequest("GET", srv.URL+"/web/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	r, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if etag == "" || r.StatusCode != 304 || len(b) != 0 {
		t.Fatalf("If-None-Match %q: %d, %d bytes", etag, r.StatusCode, len(b))
	}
	// HEAD: the GET's headers, no body.
	r, err = srv.Client().Head(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || len(b) != 0 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("HEAD /: %d, %d bytes, %q", r.StatusCode, len(b), r.Header.Get("Content-Type"))
	}

	for _, p := range []string{"/web/nope.js", "/web/", "/web/../go.mod", "/web/index.html/x", "/index.html"} {
		var e struct{ Error string }
		_, r := get(t, srv, p)
		if r.StatusCode != 404 {
			t.Fatalf("GET %s: %d, want 404", p, r.StatusCode)
		}
		fetch(t, srv, p, 404, &e)
		if e.Error == "" {
			t.Fatalf("GET %s: no error message", p)
		}
	}
}

type tHistory struct {
	tEntry
	History []struct {
		Cycle  int64       `json:"cycle"`
		AsOf   string      `json:"as_of"`
		Points json.Number `json:"points"`
	} `json:"history"`
}

// wantTeamPoints computes an entry's team points from float player points (exact: the
// fixture's points are multiples of 1/4), independently of records.Lineup.
func wantTeamPoints(e engine.Entry, pts map[int32]float64) string {
	var sum float64
	for _, p := range e.Players {
		sum += pts[p]
	}
	sum += pts[e.Captain] + 0.5*pts[e.ViceCaptain]
	if sum != math.Trunc(sum*1000)/1000 {
		panic("fixture points are not exact")
	}
	return wantPoints(int64(sum * 400))
}

// TestEntryHistory: an entry's points at each cycle of the log that changed them, its
// rank and points now as the entry answer gives them, from live and complete matches.
func TestEntryHistory(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	checked := 0
	for _, mid := range []int64{liveMatch, doneMatch} {
		md := f.matches[mid]
		for _, cid := range md.contests {
			ref := md.ranked[cid]
			for k := 0; k < len(ref); k += max(1, len(ref)/7) {
				w := ref[k]
				path := fmt.Sprintf("/v1/contests/%d/entries/%d", cid, w.EntryID)
				var now tEntry
				var h tHistory
				fetch(t, srv, path, 200, &now)
				fetch(t, srv, path+"/history", 200, &h)
				if h.tEntry != now {
					t.Fatalf("%s/history: %+v, the entry answer is %+v", path, h.tEntry, now)
				}
				e := md.entries[w.EntryID]
				var want []string
				var last string
				for c := int64(1); c <= md.cycle[cid]; c++ {
					p := wantTeamPoints(e, md.pointsOf(cid, c)) // its partition's points
					if c == 1 || p != last {
						want = append(want, fmt.Sprintf("%d %s %s", c, wantAsOf(c), p))
					}
					last = p
				}
				var got []string
				for _, s := range h.History {
					got = append(got, fmt.Sprintf("%d %s %s", s.Cycle, s.AsOf, s.Points))
				}
				if strings.Join(got, "; ") != strings.Join(want, "; ") {
					t.Fatalf("%s/history: %q, want %q", path, got, want)
				}
				var later tHistory // ?since=1: the steps after cycle 1 only
				fetch(t, srv, path+"/history?since=1", 200, &later)
				var gotLater []string
				for _, s := range later.History {
					gotLater = append(gotLater, fmt.Sprintf("%d %s %s", s.Cycle, s.AsOf, s.Points))
				}
				wantLater := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return strings.HasPrefix(s, "1 ") })
				if later.tEntry != now || !slices.Equal(gotLater, wantLater) {
					t.Fatalf("%s/history?since=1: %+v %q, want %q", path, later.tEntry, gotLater, wantLater)
				}
				if last != string(now.Points) {
					t.Fatalf("%s: points now %s, the history ends at %s", path, now.Points, last)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d entries checked", checked)
	}

	md := f.matches[liveMatch]
	big := md.bigContest()
	other := md.ranked[md.contestOfSize(1)][0].EntryID
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/contests/x/entries/1/history", 400, "contest_id"},
		{fmt.Sprintf("/v1/contests/%d/entries/y/history", big), 400, "entry_id"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/history", big, other), 404, "is not in contest"},
		{fmt.Sprintf("/v1/contests/%d/entries/0/history", big), 404, "entry 0 not found"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/history?since=-1", big, md.ranked[big][0].EntryID), 400, "since -1 is out of range"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/history?since=x", big, md.ranked[big][0].EntryID), 400, "since"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/history?since=1&since=2", big, md.ranked[big][0].EntryID), 400, "since is given 2 times"},
	} {
		var got struct{ Error string }
		fetch(t, srv, tc.path, tc.status, &got)
		if !strings.Contains(got.Error, tc.want) {
			t.Fatalf("GET %s: error %q does not say %q", tc.path, got.Error, tc.want)
		}
	}
}

// TestPointsHistory: steps that leave the lineup's points unchanged are left out, steps
// past the cycle are not replayed, and a player absent from the log counts 0.
func TestPointsHistory(t *testing.T) {
	l := records.Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}
	log := records.PointsLog{
		{Cycle: 3, AsOf: 3000, Players: []int32{1}, Centi: []int64{100}},         // captain: 2 x 1 = 2 points
		{Cycle: 4, AsOf: 4000, Players: []int32{9}, Centi: []int64{5000}},        // not in the lineup
		{Cycle: 6, AsOf: 6000, Players: []int32{2, 3}, Centi: []int64{200, -50}}, // + vice 1.5 x 2 - 0.5 = 4.5
		{Cycle: 9, AsOf: 9000, Players: []int32{1}, Centi: []int64{0}},           // past the cycle
	}
	got, last := pointsHistory(log, l, 0, 8)
	b, _ := json.Marshal(got)
	want := `[{"cycle":3,"as_of":"1970-01-01T00:00:03.000Z","points":2},{"cycle":6,"as_of":"1970-01-01T00:00:06.000Z","points":4.5}]`
	if string(b) != want || last != 4*200+100 {
		t.Fatalf("history %s, last %d; want %s, 900", b, last, want)
	}
	if got, last := pointsHistory(log, l, 0, 2); len(got) != 0 || last != 0 {
		t.Fatalf("before the first step: %v, %d", got, last)
	}
	// since: only the later steps that changed the points.
	for _, tc := range []struct {
		since int64
		want  string
	}{
		{2, `[{"cycle":3,"as_of":"1970-01-01T00:00:03.000Z","points":2},{"cycle":6,"as_of":"1970-01-01T00:00:06.000Z","points":4.5}]`},
		{3, `[{"cycle":6,"as_of":"1970-01-01T00:00:06.000Z","points":4.5}]`},
		{5, `[{"cycle":6,"as_of":"1970-01-01T00:00:06.000Z","points":4.5}]`},
		{6, `[]`},
		{100, `[]`},
	} {
		got, last := pointsHistory(log, l, tc.since, 8)
		if b, _ := json.Marshal(got); string(b) != tc.want || last != 900 {
			t.Fatalf("since %d: %s, last %d; want %s, 900", tc.since, b, last, tc.want)
		}
	}
}

// BenchmarkHistoryHandler is the server's share of an entry history: the handler called
// directly (no sockets) over the fixture's records in the embedded store (a 2-step log).
func BenchmarkHistoryHandler(b *testing.B) {
	benchEntryHandler(b, "/v1/contests/%d/entries/%d/history", "answers/s")
}

// BenchmarkPointsHistory replays a whole T20 match's log at a 10 s cycle (1,200 steps,
// 3 players changing a step) for one lineup.
func BenchmarkPointsHistory(b *testing.B) {
	var log records.PointsLog
	for c := int64(1); c <= 1200; c++ {
		p := int32(c % 22)
		log = append(log, records.PointsStep{Cycle: c, AsOf: c * 10_000, Players: []int32{p, (p + 7) % 22, (p + 13) % 22}, Centi: []int64{c * 10, c * 5, c}})
	}
	l := records.Lineup{Players: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Captain: 3, Vice: 4}
	b.ReportAllocs()
	for b.Loop() {
		pointsHistory(log, l, 0, 1200)
	}
}

// TestEntryByID: an entry found by its id alone answers what the entry answer of its
// contest does, from live and complete matches.
func TestEntryByID(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	checked := 0
	for _, mid := range []int64{liveMatch, doneMatch} {
		md := f.matches[mid]
		for _, cid := range md.contests {
			ref := md.ranked[cid]
			for k := 0; k < len(ref); k += max(1, len(ref)/5) {
				var byID, inContest tEntry
				fetch(t, srv, fmt.Sprintf("/v1/entries/%d", ref[k].EntryID), 200, &byID)
				fetch(t, srv, fmt.Sprintf("/v1/contests/%d/entries/%d", cid, ref[k].EntryID), 200, &inContest)
				if byID != inContest || byID.ContestID != cid || byID.Rank != int64(ref[k].Rank) {
					t.Fatalf("entry %d: by id %+v, in contest %d %+v (reference rank %d)", ref[k].EntryID, byID, cid, inContest, ref[k].Rank)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d entries checked", checked)
	}
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/entries/x", 400, "entry_id"},
		{"/v1/entries/+5", 400, "not an integer"},
		{fmt.Sprintf("/v1/entries/%d", int64(1)<<50), 404, "not found"},
		{"/v1/entries/", 404, "no such endpoint"},
	} {
		var got struct{ Error string }
		fetch(t, srv, tc.path, tc.status, &got)
		if !strings.Contains(got.Error, tc.want) {
			t.Fatalf("GET %s: error %q does not say %q", tc.path, got.Error, tc.want)
		}
	}
}
