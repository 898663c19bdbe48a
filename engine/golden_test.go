package engine_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fantasy/leaderboard/engine"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenCase is a scenario in testdata/golden/*.json; its expected leaderboard pages are
// in the .golden file beside it (reviewed by hand; rewrite with -update).
type goldenCase struct {
	PageSize int                `json:"page_size"`
	Points   map[string]float64 `json:"points"`
	Entries  []struct {
		Contest int64   `json:"contest"`
		ID      int64   `json:"id"`
		Team    int64   `json:"team"`
		Players []int32 `json:"players"`
		C       int32   `json:"c"`
		VC      int32   `json:"vc"`
	} `json:"entries"`
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.json")
	if len(files) == 0 {
		t.Fatal("no golden scenarios")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var gc goldenCase
			if err := json.Unmarshal(raw, &gc); err != nil {
				t.Fatal(err)
			}
			pts := map[int32]float64{}
			for k, v := range gc.Points {
				var id int32
				fmt.Sscan(k, &id)
				pts[id] = v
			}
			var entries []engine.Entry
			for _, e := range gc.Entries {
				entries = append(entries, engine.Entry{ContestID: e.Contest, EntryID: e.ID, UserID: e.ID * 10, TeamID: e.Team, Players: e.Players, Captain: e.C, ViceCaptain: e.VC})
			}
			cfg := engine.DefaultConfig()
			cfg.PageSize = gc.PageSize
			for _, workers := range []int{1, 2} {
				cfg.Workers, cfg.MegaContest = workers, 2
				p := build(t, entries, cfg)
				p.Run(snapshotOf(t, pts))
				got := renderPages(p)
				want := strings.TrimSuffix(f, ".json") + ".golden"
				if *update && workers == 1 {
					os.WriteFile(want, []byte(got), 0o644)
				}
				exp, err := os.ReadFile(want)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(exp) {
					t.Fatalf("workers=%d: pages differ from %s:\n--- got\n%s--- want\n%s", workers, want, got, exp)
				}
			}
		})
	}
}

func renderPages(p *engine.Partition) string {
	var sb strings.Builder
	for c := range p.NumContests() {
		ct := p.Contest(c)
		fmt.Fprintf(&sb, "contest %d: %d entries, %d pages\n", ct.ID, ct.End-ct.Start, ct.Pages)
		for j, i := range p.Ordered(c) {
			if j%p.PageSize() == 0 {
				fmt.Fprintf(&sb, "  page %d\n", j/p.PageSize())
			}
			fmt.Fprintf(&sb, "    rank %d  entry %d  points %s\n", p.Rank(int(i)), p.EntryID(int(i)), engine.FormatUnits(p.Points(int(i))))
		}
	}
	return sb.String()
}
