package engine_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

// parallelAppendEntries makes entries in join order whose teams are shared across
// batches and contests, with the cases Append's parallel path must get right: a team's
// lineup repeated in another player order (a fingerprint mismatch that joins the team),
// team ids too large for the dense index, and players first seen deep in the data.
func parallelAppendEntries(seed uint64, players int) []engine.Entry {
	shape := reference.Shape{Contests: reference.HeavyTail(seed, 30_000), Players: players, LineupSize: 11,
		Teams: 4_000, PointValues: 50, Shuffle: true}
	entries, _ := reference.Random(seed, shape)
	late := map[int64]int32{} // team first seen in the last two thirds -> its new player
	seen := map[int64]bool{}
	for i := range entries {
		e := &entries[i]
		if e.TeamID%7 == 3 {
			e.TeamID += 1 << 40 // sparse ids
		}
		if !seen[e.TeamID] && i > len(entries)/3 && e.TeamID%13 == 5 {
			late[e.TeamID] = int32(2_000_000 + len(late))
		}
		seen[e.TeamID] = true
	}
	if len(late) == 0 {
		panic("no team first seen late")
	}
	for i := range entries {
		e := &entries[i]
		e.Players = slices.Clone(e.Players)
		if p, ok := late[e.TeamID]; ok {
			// Replace the lineup's first non-captain, non-vice player by the team's
			// new player: the same lineup for every entry of the team.
			for k, q := range e.Players {
				if q != e.Captain && q != e.ViceCaptain {
					e.Players[k] = p
					break
				}
			}
		}
		if i%5 == 0 {
			slices.Reverse(e.Players) // same set, another fingerprint
		}
	}
	return entries
}

// appendAll appends entries in batches of batch rows and returns the first error.
func appendAll(b *engine.Builder, entries []engine.Entry, batch int) error {
	for lo := 0; lo < len(entries); lo += batch {
		rec := recordOf(entries[lo:min(len(entries), lo+batch)])
		err := b.Append(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// TestAppendParallelSameAsSerial: the parallel Append leaves the Builder exactly as the
// serial one does (every table, team numbering included), for 2-4 workers, batches
// smaller and larger than the team pool, narrow (22 players) and wide (90) matches; a
// batch with a conflicting lineup fails with the serial path's error.
func TestAppendParallelSameAsSerial(t *testing.T) {
	for _, players := range []int{22, 90} {
		entries := parallelAppendEntries(uint64(players), players)
		serial := engine.NewBuilder(0, len(entries))
		engine.SetAppendParallelism(serial, 1, 0)
		if err := appendAll(serial, entries, 5_000); err != nil {
			t.Fatal(err)
		}
		want := engine.BuilderTables(serial)
		for _, workers := range []int{2, 3, 4} {
			for _, batch := range []int{1_000, 5_000, len(entries)} {
				t.Run(fmt.Sprintf("players=%d/workers=%d/batch=%d", players, workers, batch), func(t *testing.T) {
					b := engine.NewBuilder(0, len(entries))
					engine.SetAppendParallelism(b, workers, 16)
					if err := appendAll(b, entries, batch); err != nil {
						t.Fatal(err)
					}
					if got := engine.BuilderTables(b); !reflect.DeepEqual(got, want) {
						t.Fatal("the parallel Append's builder differs from the serial one's")
					}
				})
			}
		}
	}

	entries := parallelAppendEntries(3, 22)
	for name, spoil := range map[string]func([]engine.Entry){
		"new team, two lineups in one batch": func(es []engine.Entry) {
			// A team first seen in the last batch gets a second lineup there.
			seen := map[int64]int{}
			for i, e := range es[:len(es)-3_000] {
				seen[e.TeamID] = i
			}
			for i := len(es) - 3_000; i < len(es); i++ {
				if _, ok := seen[es[i].TeamID]; !ok {
					for k := i + 1; k < len(es); k++ {
						if !slices.Equal(es[k].Players, es[i].Players) {
							es[k].TeamID = es[i].TeamID
							return
						}
					}
				}
			}
			panic("no new team in the last batch")
		},
		"known team, another lineup": func(es []engine.Entry) {
			for k := len(es) - 1; ; k-- {
				if !slices.Equal(es[k].Players, es[0].Players) {
					es[k].TeamID = es[0].TeamID
					return
				}
			}
		},
		"captain outside the lineup": func(es []engine.Entry) { es[len(es)-100].Captain = 1 },
	} {
		t.Run(name, func(t *testing.T) {
			es := slices.Clone(entries)
			spoil(es)
			serial := engine.NewBuilder(0, 0)
			engine.SetAppendParallelism(serial, 1, 0)
			wantErr := appendAll(serial, es, 6_000)
			b := engine.NewBuilder(0, 0)
			engine.SetAppendParallelism(b, 3, 16)
			err := appendAll(b, es, 6_000)
			if wantErr == nil || err == nil || err.Error() != wantErr.Error() {
				t.Fatalf("parallel: %v; serial: %v", err, wantErr)
			}
			if !reflect.DeepEqual(engine.BuilderTables(b), engine.BuilderTables(serial)) {
				t.Fatal("after the error the builders differ")
			}
		})
	}
}
