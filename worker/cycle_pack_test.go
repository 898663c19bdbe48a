package worker

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	}{
		{"one group per partition", 1 << 16, 700, false},
		{"many groups per partition", 64, 300, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
			cfg.GroupEntries = tc.groupEntries
			rs := &recordingStore{Store: embeddedStore(t)}
			w, err := New(cfg, &rejects{}, rs, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			for p := range int32(4) {
				if err := w.AddPartition(p, 0); err != nil {
					t.Fatal(err)
				}
			}
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
