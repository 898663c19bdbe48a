package worker

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// TestFirstWritesBytes: a first cycle's entry and user records, packed from the columns
// (cycle_pack.go), are byte for byte the records.Entry and records.User the partitions
// hold, packed through their maps (records.EncodeBins): one of each per entry and per
// user and partition, none missing. Users have entries in several groups of
// a partition (groups of 64 entries) and several contests, so a user record merges
// groups; both ways userRecords finds a user's entries are taken (one group per
// partition: a search per user; many: a merge).
func TestFirstWritesBytes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		groupEntries  int
		users         int64
		wantManyGroup bool
		perTask       int // entriesPerTask, 0: as it is
	}{
		{"one group per partition", 1 << 16, 700, false, 0},
		{"many groups per partition", 64, 300, true, 0},
		// A group's entry records packed in many tasks from its users' groupPack.
		{"one group per partition, runs of contests", 1 << 16, 700, false, 50},
		{"many groups per partition, runs of contests", 64, 300, true, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.perTask > 0 {
				defer func(n int) { entriesPerTask = n }(entriesPerTask)
				entriesPerTask = tc.perTask
			}
			cfg := DefaultConfig()
			cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
			cfg.GroupEntries = tc.groupEntries
			rs := &recordingStore{Store: embeddedStore(t)}
			w := partitioned(t, cfg, rs, time.Now, 4)
			ctx := context.Background()
			s := newSynth(6000)
			for s.made < s.n {
				b := s.batch(1000)
				for k := range b.Entries {
					e := &b.Entries[k].Event
					e.UserID = (e.EntryID*2654435761)%tc.users - 3 // spread over contests and groups; negative ids too
					b.Entries[k].Partition %= 4
				}
				if err := w.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
			if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			// The records the partitions hold, built through records.Entry and records.User.
			m := w.matches[1]
			want := map[string][]byte{}
			manyGroups := false
			for _, sh := range m.shards {
				byUser := map[int64][]records.Entry{}
				if len(sh.groups) > 1 {
					manyGroups = true
				}
				for _, g := range sh.groups {
					p := g.part
					if p == nil {
						continue
					}
					for c := range p.NumContests() {
						ct := p.Contest(c)
						for i := ct.Start; i < ct.End; i++ {
							e := entryRecord(m, g, c, i)
							r := e.Record()
							want[r.Set+"/"+r.Key] = records.EncodeBins(r.Bins)
							byUser[e.User] = append(byUser[e.User], e)
						}
					}
				}
				for u, es := range byUser {
					sortEntries(es)
					r := records.User{Match: m.id, User: u, Part: sh.part, Entries: es}.Record()
					want[r.Set+"/"+r.Key] = records.EncodeBins(r.Bins)
				}
			}
			if manyGroups != tc.wantManyGroup {
				t.Fatalf("a partition with several groups: %v, want %v", manyGroups, tc.wantManyGroup)
			}
			got := map[string][]byte{}
			for _, r := range rs.recs {
				if r.Set != records.SetEntry && r.Set != records.SetUser {
					continue
				}
				k := r.Set + "/" + r.Key
				// An entry of the TTL refresh's slice is written by it too: the same bytes.
				if b, ok := got[k]; ok && !bytes.Equal(b, r.Packed) {
					t.Fatalf("%s written twice, differently:\n%x\n%x", k, b, r.Packed)
				}
				got[k] = r.Packed
			}
			if len(got) != len(want) || len(want) < 6000+int(tc.users) {
				t.Fatalf("%d entry and user records written, want %d (%d entries)", len(got), len(want), s.n)
			}
			for k, b := range want {
				if !bytes.Equal(got[k], b) {
					t.Fatalf("%s: written\n%x\nwant\n%x", k, got[k], b)
				}
			}
		})
	}
}

// TestRankedRecordsBytes: the page and contest records a cycle writes (writeRanked: bytes
// from an arena, keys from one string per task, several tasks at once) are byte for byte
// and key for key those pageRecord and contestRecord pack alone (which
// TestPackedCycleRecords compares with the records' maps), in a first cycle and in cycles
// that carry a points change.
func TestRankedRecordsBytes(t *testing.T) {
	defer func(n int) { refsPerTask = n }(refsPerTask)
	refsPerTask = 7
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	rs := &recordingStore{Store: embeddedStore(t)}
	w := partitioned(t, cfg, rs, time.Now, 4)
	ctx := context.Background()
	s := newSynth(5000) // a 500-entry mega contest: 5 pages
	for s.made < s.n {
		if err := w.Apply(ctx, s.batch(1000)); err != nil {
			t.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
	for cycle := int64(1); cycle <= 3; cycle++ {
		if cycle > 1 {
			w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[cycle], Centi: cycle * 900, TS: cycle}}})
		}
		rs.recs = nil
		at := time.Now()
		if err := w.Cycle(ctx, Tick{Cycle: cycle, At: at}); err != nil {
			t.Fatal(err)
		}
		m := w.matches[1]
		want := map[string][]byte{}
		var enc rowEncoders
		for _, sh := range m.shards {
			for _, g := range sh.groups {
				p := g.part
				if p == nil {
					continue
				}
				for c := range p.NumContests() {
					r := contestRecord(p, c, m.id, cycle, at.UnixMilli(), &enc)
					want[r.Set+"/"+r.Key] = r.Packed
					for pg := 1; pg < p.Contest(c).Pages; pg++ {
						r := pageRecord(p, c, pg, cycle, &enc)
						want[r.Set+"/"+r.Key] = r.Packed
					}
				}
			}
		}
		n := map[string]int{}
		for _, r := range rs.recs {
			if r.Set != records.SetPage && r.Set != records.SetContest {
				continue
			}
			n[r.Set]++
			b, ok := want[r.Set+"/"+r.Key]
			if !ok {
				t.Fatalf("cycle %d: %s/%q written, not one of the partitions' records", cycle, r.Set, r.Key)
			}
			if !bytes.Equal(r.Packed, b) {
				t.Fatalf("cycle %d: %s/%s written\n%x\nwant\n%x", cycle, r.Set, r.Key, r.Packed, b)
			}
			if cap(r.Packed) != len(r.Packed) {
				t.Fatalf("cycle %d: %s/%s has room past its bytes", cycle, r.Set, r.Key)
			}
		}
		if n[records.SetPage] < 4 || n[records.SetContest] < 5 {
			t.Fatalf("cycle %d wrote %v", cycle, n)
		}
	}
}

// TestEntryTasks: entryTasks covers every entry of each group once, in order: the
// longest runs of contests of at most entriesPerTask entries (a larger contest in parts of
// exactly as many, but for its last) from the group's groupPack
// lineups where packs has it, the whole group with no lineups (encoded by its task)
// where not.
func TestEntryTasks(t *testing.T) {
	defer func(n int) { entriesPerTask = n }(entriesPerTask)
	entriesPerTask = 30
	cfg := DefaultConfig()
	cfg.GroupEntries = 1 << 16
	w := replayedInto(t, cfg, nullStore{}, 2)
	ctx := context.Background()
	if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	m := w.matches[1]
	if len(m.shards) != 2 {
		t.Fatalf("%d shards, want 2", len(m.shards))
	}
	shared, plain := m.shards[0], m.shards[1]
	packs := shardPacks([]*shard{shared})
	var groups []*group
	for _, sh := range m.shards {
		groups = append(groups, sh.groups...)
	}
	tasks := entryTasks(nil, groups, packs)
	at := map[*group]int{} // next entry expected
	runs, parts := 0, 0
	for _, tk := range tasks {
		p := tk.g.part
		if tk.c1 <= tk.c0 || tk.c1 > p.NumContests() {
			t.Fatalf("task [%d,%d) of a group of %d contests", tk.c0, tk.c1, p.NumContests())
		}
		lo, hi := p.Contest(tk.c0).Start, p.Contest(tk.c1-1).End
		if tk.hi > 0 {
			ct := p.Contest(tk.c0)
			if tk.c1 != tk.c0+1 || tk.lo < ct.Start || tk.hi > ct.End || tk.hi <= tk.lo {
				t.Fatalf("task of entries [%d,%d) of contests [%d,%d), want a part of one contest", tk.lo, tk.hi, tk.c0, tk.c1)
			}
			if ct.End-ct.Start <= entriesPerTask || tk.hi-tk.lo != entriesPerTask && tk.hi != ct.End {
				t.Fatalf("a part of %d entries of a contest of %d, want parts of %d of a contest of more", tk.hi-tk.lo, ct.End-ct.Start, entriesPerTask)
			}
			lo, hi = tk.lo, tk.hi
			parts++
		}
		if lo != at[tk.g] {
			t.Fatalf("task of entries [%d,%d), want it to start at %d", lo, hi, at[tk.g])
		}
		at[tk.g] = hi
		gp := packs[tk.g]
		if gp == nil {
			if tk.lin != nil || tk.c0 != 0 || tk.c1 != p.NumContests() {
				t.Fatalf("a group with no pack: task [%d,%d) lin %v, want the whole group, lineups its own", tk.c0, tk.c1, tk.lin != nil)
			}
			continue
		}
		if tk.lin != &gp.lin {
			t.Fatalf("a group with a pack: its task does not read the pack's lineups")
		}
		runs++
		n := hi - lo
		if n > entriesPerTask {
			t.Fatalf("task of entries [%d,%d) holds %d, over %d", lo, hi, n, entriesPerTask)
		}
		if next := tk.c1; tk.hi == 0 && next < p.NumContests() && n+p.Contest(next).End-p.Contest(next).Start <= entriesPerTask {
			t.Fatalf("task [%d,%d) holds %d entries, want the longest run of at most %d", tk.c0, tk.c1, n, entriesPerTask)
		}
	}
	for _, g := range groups {
		if at[g] != g.part.NumEntries() {
			t.Fatalf("a group's tasks end at entry %d of %d", at[g], g.part.NumEntries())
		}
	}
	if parts < 2 {
		t.Fatalf("%d parts of contests, want the contests of more than %d entries split", parts, entriesPerTask)
	}
	if runs < 2 {
		t.Fatalf("%d tasks from a pack, want the shared shard's group split into several", runs)
	}
	for _, g := range plain.groups {
		if packs[g] != nil {
			t.Fatal("a group of the other shard got a pack")
		}
	}
}

// sortEntries sorts es as a user record lists them: by contest, then entry id.
func sortEntries(es []records.Entry) {
	slices.SortFunc(es, func(a, b records.Entry) int {
		if a.Contest != b.Contest {
			return cmpInt(a.Contest, b.Contest)
		}
		return cmpInt(a.ID, b.ID)
	})
}
