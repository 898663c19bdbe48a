package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fantasy/leaderboard/internal/fixedpoint"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
)

// chromiumPath finds a Chromium binary: $CHROMIUM, else chromium on the PATH. Without
// one the test skips, except under CI=true, where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium binary found: CI must run the browser tests (.ci/run installs chromium; apt-get install -y chromium)")
	}
	t.Skip("no chromium binary found (apt-get install -y chromium, or set CHROMIUM to one): skipping the browser tests")
	return ""
}

// browser is one headless Chromium tab, started as the machine allows it: no sandbox, no
// GPU, no background connections, an empty profile.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "leaderboard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 { // Chromium's children may still write there for a moment after it stops
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now: a context with a deadline must not
		t.Fatalf("cannot start %s: %v", exe, err)
	}
	return &browser{t: t, ctx: ctx}
}

// eval runs a script in the page and decodes its JSON result into out.
func (b *browser) eval(script string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify((() => {`+script+`})())`))
	if err != nil {
		b.t.Fatalf("script %.80q: %v", script, err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		b.t.Fatalf("script %.80q: %v in %s", script, err, s)
	}
}

// wait runs check (a script returning a boolean) until it is true.
func (b *browser) wait(what, check string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var ok bool
		b.eval("return !!("+check+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var page string
			b.eval(`return document.getElementById("status").textContent + " | " + document.body.innerText.slice(0, 600)`, &page)
			b.t.Fatalf("timed out after %v waiting for %s; the page shows: %s", d, what, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// screenshot keeps a full-page PNG under $LEADERBOARD_SCREENSHOTS (default: the test's
// temporary directory).
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", p, len(png))
}

// shownRow is a row of the page's standings table as the page shows it.
type shownRow struct {
	Entry, User, Team, Rank, Points, Move string
	Tie                                   bool
}

const readRows = `return [...document.querySelectorAll("#rows tr")].map((tr) => { const td = tr.cells; return {
	Rank: td[0].querySelector(".n").textContent, Tie: !!td[0].querySelector(".tie"), Entry: td[1].textContent,
	User: td[2].textContent, Team: td[3].textContent, Points: td[4].textContent, Move: td[5].textContent }; })`

// wantRows is what the table must show for display positions [from, to) of a contest's
// reference rows: the exact points, the competition rank, a tie mark where a neighbour
// in the whole contest shares the rank.
func wantRows(rows []reference.Row, from, to int) []shownRow {
	var out []shownRow
	for i := from; i < min(to, len(rows)); i++ {
		r := rows[i]
		tie := (i > 0 && rows[i-1].Rank == r.Rank) || (i+1 < len(rows) && rows[i+1].Rank == r.Rank)
		out = append(out, shownRow{Entry: strconv.FormatInt(r.EntryID, 10), User: strconv.FormatInt(r.UserID, 10),
			Team: strconv.FormatInt(r.TeamID, 10), Rank: strconv.Itoa(r.Rank), Points: fixedpoint.FormatUnits(r.Points / 2), Tie: tie})
	}
	return out
}

func sameRows(got, want []shownRow) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g := got[i]
		g.Move = ""
		if g != want[i] {
			return false
		}
	}
	return true
}

// TestBrowserLeaderboard drives the web leaderboard in headless Chromium against a
// single node fed over the embedded broker: the largest contest is picked first, the
// table shows the reference's ranks with ties as ties, paging, a live update with the
// moves it caused, and the user look-up with an entry's chart.
func TestBrowserLeaderboard(t *testing.T) {
	b := newBrowser(t)
	shots := os.Getenv("LEADERBOARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	entries, pts := reference.Random(2, reference.Shape{Contests: []int{60, 7, 3, 1}, Players: 22, LineupSize: 11, Teams: 12, PointValues: 4, Negative: true})
	for p, v := range pts {
		pts[p] = v + 0 // no -0: caughtUp compares FormatFloat's "-0" with the API's "0"
	}
	for i := range entries { // the source rejects non-positive ids
		entries[i].ContestID = max(entries[i].ContestID, -entries[i].ContestID) + 1
		entries[i].UserID = entries[i].UserID%9 + 1 // a few users with entries in several contests
	}
	byContest := func(pts map[int32]float64) map[int64][]reference.Row {
		m := map[int64][]reference.Row{}
		for _, r := range reference.Rank(entries, pts) {
			m[r.ContestID] = append(m[r.ContestID], r)
		}
		return m
	}
	ref := byContest(pts)
	sizes := slices.SortedFunc(maps.Keys(ref), func(a, c int64) int {
		if d := len(ref[c]) - len(ref[a]); d != 0 {
			return d
		}
		return int(a - c)
	})
	big := sizes[0]

	e := newE2E(t)
	e.cfg.worker.Interval = time.Second // a page polling at 200 ms sees every cycle
	e.start()
	t.Cleanup(e.kill)
	ctx := context.Background()
	if err := e.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pub.PublishEntries(ctx, toEvents(entries)); err != nil {
		t.Fatal(err)
	}
	e.publishPoints(pts)
	e.caughtUp(len(entries), pts, "live")

	// The largest contest first, picked by itself; its first page as the reference ranks it.
	b.do("open the page", chromedp.Navigate(e.base+"/?poll=200"))
	b.wait("the first page of the largest contest", `document.querySelectorAll("#rows tr").length === 25 && document.getElementById("status").dataset.cycle`, 20*time.Second)
	var options []string
	b.eval(`return [...document.getElementById("contest").options].map((o) => o.value + (o.selected ? "*" : ""))`, &options)
	var wantOptions []string
	for i, c := range sizes {
		wantOptions = append(wantOptions, strconv.FormatInt(c, 10)+map[bool]string{true: "*"}[i == 0])
	}
	if !slices.Equal(options, wantOptions) {
		t.Fatalf("contest picker %q, want largest first %q", options, wantOptions)
	}
	var got []shownRow
	b.eval(readRows, &got)
	if want := wantRows(ref[big], 0, 25); !sameRows(got, want) {
		t.Fatalf("first page:\n got %+v\nwant %+v", got, want)
	}
	ties := 0
	for _, r := range got {
		if r.Tie {
			ties++
		}
	}
	if ties == 0 {
		t.Fatalf("the data has no ties on the first page: the test checks nothing of them")
	}

	// Every page at every page size, opened by its address: a tie across a page boundary
	// is marked on both sides (the page reads one row more than it shows).
	boundary := 0
	for _, limit := range []int{10, 25, 50} {
		for off := 0; off < len(ref[big]); off += limit {
			rows := ref[big]
			if end := off + limit; end < len(rows) && rows[end-1].Rank == rows[end].Rank && (end < 2 || rows[end-2].Rank != rows[end-1].Rank) {
				boundary++ // the last row ties with the next page's first only
			}
			b.do("open a page by its address", chromedp.Navigate(fmt.Sprintf("%s/?poll=200#m=1&c=%d&o=%d&l=%d", e.base, big, off, limit)))
			b.wait(fmt.Sprintf("rows %d-%d", off+1, min(off+limit, len(rows))),
				fmt.Sprintf(`document.getElementById("range").textContent === "Rows %d–%d of %d"`, off+1, min(off+limit, len(rows)), len(rows)), 10*time.Second)
			b.eval(readRows, &got)
			if want := wantRows(rows, off, off+limit); !sameRows(got, want) {
				t.Fatalf("rows from %d, %d a page:\n got %+v\nwant %+v", off, limit, got, want)
			}
		}
	}
	if boundary == 0 {
		t.Fatalf("no page ends on a row that ties with the next page's first only: the test checks nothing of that")
	}
	b.do("back to the first page", chromedp.Navigate(e.base+"/?poll=200#m=1"))
	b.wait("the first page", `document.getElementById("range").textContent === "Rows 1–25 of 60"`, 10*time.Second)

	// Paging.
	b.do("next page", chromedp.Evaluate[chromedp.Void](`document.getElementById("next").click()`))
	b.wait("rows 26-50", `document.getElementById("range").textContent === "Rows 26–50 of 60"`, 10*time.Second)
	b.eval(readRows, &got)
	if want := wantRows(ref[big], 25, 50); !sameRows(got, want) {
		t.Fatalf("second page:\n got %+v\nwant %+v", got, want)
	}
	var hash string
	b.eval(`return location.hash`, &hash)
	if !strings.Contains(hash, "o=25") || !strings.Contains(hash, fmt.Sprintf("c=%d", big)) {
		t.Fatalf("location %q does not keep the page", hash)
	}
	b.screenshot(shots, "leaderboard-page2.png")

	// A live update: new points move the cycle and the table, with each entry's move
	// since the cycle the page saw before.
	var before string
	b.eval(`return document.getElementById("status").dataset.cycle`, &before)
	c0, err := strconv.ParseInt(before, 10, 64)
	if err != nil {
		t.Fatalf("cycle shown %q: %v", before, err)
	}
	oldRank := map[string]int{}
	for _, r := range ref[big] {
		oldRank[strconv.FormatInt(r.EntryID, 10)] = r.Rank
	}
	// One player's points change (one event, so that no cycle sees half of the change):
	// the first player whose change moves an entry that stays on the second page.
	var pts2 map[int32]float64
	var ref2 map[int64][]reference.Row
	for _, p := range slices.Sorted(maps.Keys(pts)) {
		pts2 = maps.Clone(pts)
		pts2[p] += 15.5
		ref2 = byContest(pts2)
		moved := false
		for _, r := range ref2[big][25:50] {
			was := oldRank[strconv.FormatInt(r.EntryID, 10)]
			moved = moved || (was != r.Rank && was > 25 && was <= 50)
		}
		if moved {
			e.publishPoints(map[int32]float64{p: pts2[p]})
			break
		}
		pts2 = nil
	}
	if pts2 == nil {
		t.Fatalf("no one player's change moves an entry on the second page: the test checks no moves")
	}
	want := wantRows(ref2[big], 25, 50)
	sawMoves := false
	deadline := time.Now().Add(20 * time.Second)
	for !sawMoves {
		if time.Now().After(deadline) {
			t.Fatalf("no update with moves within 20 s; the table shows %+v, want %+v", got, want)
		}
		var now struct {
			Cycle string
			Rows  []shownRow
		}
		b.eval(`const rows = (() => {`+readRows+`})(); return {Cycle: document.getElementById("status").dataset.cycle, Rows: rows}`, &now)
		got = now.Rows
		if !sameRows(got, want) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if c, err := strconv.ParseInt(now.Cycle, 10, 64); err != nil || c <= c0 {
			t.Fatalf("the table changed but the cycle shown is %q (was %d)", now.Cycle, c0)
		}
		// A move is against the previous cycle seen: the old points (moves) or already
		// the new ones (all the same); "–" for an entry not shown then.
		state := ""
		for _, r := range got {
			if r.Move == "–" {
				continue
			}
			newRank, _ := strconv.Atoi(r.Rank)
			d := oldRank[r.Entry] - newRank
			moved := map[bool]string{true: "up " + strconv.Itoa(d), false: "down " + strconv.Itoa(-d)}[d > 0]
			if d == 0 {
				moved = "same"
			}
			switch {
			case r.Move == moved && d != 0:
				state += "m"
			case r.Move == "same":
				state += "s"
			default:
				t.Fatalf("entry %s: move %q, want %q (rank %d -> %d) or \"same\"", r.Entry, r.Move, moved, oldRank[r.Entry], newRank)
			}
		}
		if strings.Contains(state, "m") {
			sawMoves = true
			b.screenshot(shots, "leaderboard-moves.png")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The user look-up: every entry of the user across contests, as the API and the
	// reference rank them; then one entry's window and chart.
	users := map[int64]int{}
	for _, x := range entries {
		users[x.UserID]++
	}
	user := slices.MaxFunc(slices.Collect(maps.Keys(users)), func(a, c int64) int { return users[a] - users[c] })
	var api struct {
		Entries []struct {
			ContestID int64       `json:"contest_id"`
			EntryID   int64       `json:"entry_id"`
			Rank      int64       `json:"rank"`
			Total     int64       `json:"total"`
			Points    json.Number `json:"points"`
		} `json:"entries"`
	}
	if code := e.get(fmt.Sprintf("/v1/users/%d/entries?match_id=1", user), &api); code != 200 {
		t.Fatalf("user %d: status %d", user, code)
	}
	b.do("find the user", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("user-id").value = "%d"; document.getElementById("user-form").requestSubmit()`, user)))
	b.wait("the user's entries", fmt.Sprintf(`document.querySelectorAll("#user-rows tr").length === %d`, users[user]), 10*time.Second)
	var userRows [][]string
	b.eval(`return [...document.querySelectorAll("#user-rows tr")].map((tr) => [...tr.cells].slice(0, 4).map((td) => td.textContent))`, &userRows)
	if len(api.Entries) != users[user] {
		t.Fatalf("user %d: the API lists %d entries, the dataset has %d", user, len(api.Entries), users[user])
	}
	for i, x := range api.Entries {
		var r reference.Row
		for _, rr := range ref2[x.ContestID] {
			if rr.EntryID == x.EntryID {
				r = rr
			}
		}
		w := []string{strconv.FormatInt(x.ContestID, 10), strconv.FormatInt(x.EntryID, 10),
			fmt.Sprintf("%d / %d", r.Rank, len(ref2[x.ContestID])), fixedpoint.FormatUnits(r.Points / 2)}
		if !slices.Equal(userRows[i], w) || x.Rank != int64(r.Rank) {
			t.Fatalf("user %d row %d: %q, want %q (API: %+v)", user, i, userRows[i], w, x)
		}
	}
	pick := api.Entries[0]
	b.do("pick the user's first entry", chromedp.Evaluate[chromedp.Void](`document.querySelector("#user-rows tr").click()`))
	b.wait("the entry's window and chart", fmt.Sprintf(`!document.getElementById("entry").hidden && document.querySelector("#around-rows tr.me[data-entry='%d']") && document.querySelector("#chart svg path.pts") && document.querySelector("#chart svg circle.dot")`, pick.EntryID), 10*time.Second)
	var info string
	b.eval(`return document.getElementById("entry-info").textContent`, &info)
	unit := " points"
	if pick.Points == "1" {
		unit = " point"
	}
	if wantInfo := fmt.Sprintf("Rank %d of %d · %s%s · ", pick.Rank, pick.Total, pick.Points, unit); !strings.HasPrefix(info, wantInfo) {
		t.Fatalf("entry %d: %q, want %q...", pick.EntryID, info, wantInfo)
	}
	// The chart's points: one step per step of the API's history, kept across the next
	// cycles (which read only the steps after the last one the page has).
	var hist struct {
		History []json.RawMessage `json:"history"`
	}
	if code := e.get(fmt.Sprintf("/v1/contests/%d/entries/%d/history", pick.ContestID, pick.EntryID), &hist); code != 200 || len(hist.History) == 0 {
		t.Fatalf("entry %d history: status %d, %d steps", pick.EntryID, code, len(hist.History))
	}
	var cycleNow string
	b.eval(`return document.getElementById("status").dataset.cycle`, &cycleNow)
	chartOK := fmt.Sprintf(`document.querySelector("#chart desc").textContent.startsWith("Points %s at cycle") && (document.querySelector("#chart path.pts").getAttribute("d").match(/V/g) || []).length === %d`,
		pick.Points, len(hist.History)-1)
	b.wait("the chart's points", chartOK, 10*time.Second)
	b.wait("a later cycle", fmt.Sprintf(`document.getElementById("status").dataset.cycle !== "%s"`, cycleNow), 10*time.Second)
	b.wait("the chart's points after a cycle", chartOK, 10*time.Second)
	b.screenshot(shots, "leaderboard-desktop.png")

	// An entry found by its id alone: the page switches to its contest. An unknown one
	// is an error that says so.
	small := sizes[len(sizes)-1]
	other := ref2[small][0]
	b.do("find an entry of another contest", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("entry-id").value = "%d"; document.getElementById("entry-form").requestSubmit()`, other.EntryID)))
	b.wait("the entry in its contest", fmt.Sprintf(`document.getElementById("board-title").textContent === "Contest %d" && document.getElementById("contest").value === "%d" && document.getElementById("entry-info").textContent.startsWith("Rank %d of %d · ") && document.querySelector("#rows tr.me[data-entry='%d']")`,
		small, small, other.Rank, len(ref2[small]), other.EntryID), 10*time.Second)
	b.do("find an unknown entry", chromedp.Evaluate[chromedp.Void](`document.getElementById("entry-id").value = "987654321"; document.getElementById("entry-form").requestSubmit()`))
	b.wait("the error", `document.getElementById("find-error").textContent.includes("entry 987654321 not found")`, 10*time.Second)

	// A phone-sized screen.
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	b.wait("the table", `document.querySelectorAll("#rows tr").length > 0`, 10*time.Second)
	var overflow bool
	b.eval(`return document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		t.Errorf("the page is wider than a 390 px phone screen")
	}
	b.screenshot(shots, "leaderboard-phone.png")
}
