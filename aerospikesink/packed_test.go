package aerospikesink

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// TestPackedRecordOps: a record built packed (records.Record.Packed, as the worker builds
// contests, pages, entries and users) is written with the same bin operations as the
// same record built as a map; a malformed one is refused, naming it.
func TestPackedRecordOps(t *testing.T) {
	s := offlineSink(t)
	n := s.ns[records.Live]
	e := records.Entry{ID: 9, Contest: 5, Match: 1, User: 90, Team: 4, Part: 3, Lineup: records.Lineup{Players: []int32{7, 8}, Captain: 7, Vice: 8}}
	rows := []records.Row{{Rank: 1, EntryID: 9, UserID: 90, TeamID: 4, Points: 500}}
	c := records.Contest{ID: 5, Match: 1, Cycle: 2, AsOf: 20, Total: 1, PageSize: 100, Hist: []records.Bucket{{Points: 500, Count: 1}}, First: rows}
	p := records.Page{Contest: 5, No: 1, Cycle: 2, Rows: rows}
	u := records.User{Match: 1, User: 90, Part: 3, Entries: []records.Entry{e}}
	ops := func(r records.Record) (map[string]string, item) {
		r.Fence, r.KeepPrev = records.Fence{Epoch: 1, Cycle: 2}, records.Versioned(r.Set)
		var it item
		if err := s.writeItem(&it, n, &r); err != nil {
			t.Fatalf("%s/%s: %v", r.Set, r.Key, err)
		}
		m := map[string]string{}
		for _, op := range it.ops {
			m[fmt.Sprintf("%v", *op)] = ""
		}
		return m, it
	}
	for _, pair := range [][2]records.Record{{c.Record(), c.PackedRecord()}, {p.Record(), p.PackedRecord()},
		{e.Record(), e.PackedRecord()}, {u.Record(), u.PackedRecord()}} {
		want, wi := ops(pair[0])
		got, gi := ops(pair[1])
		if !reflect.DeepEqual(got, want) || len(gi.ops) != len(wi.ops) || gi.size != wi.size || gi.userKey != wi.userKey || gi.policy != wi.policy {
			t.Errorf("%s packed: ops %v (size %d), want %v (size %d)", pair[0].Set, got, gi.size, want, wi.size)
		}
	}
	var it item
	bad := records.Record{Set: records.SetUser, Key: "1/90/3", Packed: records.Packed{4, 0}}
	if err := s.writeItem(&it, n, &bad); err == nil || !strings.Contains(err.Error(), "user/1/90/3") {
		t.Fatalf("malformed packed record: %v", err)
	}
}

// TestPackedRoundTrip: packed records written through the sink read back as their maps,
// a versioned one with its previous version.
func TestPackedRoundTrip(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			sk, _ := newTestSink(t, srv, nil, nil)
			id := time.Now().UnixNano()%1_000_000_000 + 1
			rec := func(cycle int64) []records.Record {
				rows := []records.Row{{Rank: 1, EntryID: cycle, UserID: 3, TeamID: 4, Points: cycle}}
				e := records.Entry{ID: id, Contest: id, Match: 1, User: 90, Team: cycle, Part: 3, Lineup: records.Lineup{Players: []int32{7, 8}, Captain: 7, Vice: 8}}
				out := []records.Record{
					records.Contest{ID: id, Match: 1, Cycle: cycle, AsOf: cycle * 10, Total: 1, PageSize: 100, Hist: []records.Bucket{{Points: cycle, Count: 1}}, First: rows}.PackedRecord(),
					records.Page{Contest: id, No: 1, Cycle: cycle, Rows: rows}.PackedRecord(),
					e.PackedRecord(),
					records.User{Match: 1, User: id, Part: 3, Entries: []records.Entry{e}}.PackedRecord(),
				}
				for i := range out {
					out[i].Key = runID + srv.name + out[i].Key
					out[i].KeepPrev, out[i].Fence = records.Versioned(out[i].Set), records.Fence{Epoch: 3, Cycle: cycle}
				}
				return out
			}
			first := rec(5)
			for _, cycle := range []int64{5, 8} {
				recs := rec(cycle)
				if err := sk.Put(ctx, records.Live, recs); err != nil {
					t.Fatal(err)
				}
				for i, r := range recs {
					got, ok, err := sk.Get(ctx, records.Live, r.Set, r.Key)
					if err != nil || !ok {
						t.Fatalf("get %s/%s: %v %v", r.Set, r.Key, ok, err)
					}
					want, _ := r.BinMap()
					want[records.FenceEpochBin], want[records.FenceCycleBin] = int64(3), cycle
					if cycle == 8 && r.KeepPrev {
						prev, _ := first[i].BinMap()
						for _, b := range records.PrevBins(r.Set) {
							want[records.PrevName(b)] = prev[b]
						}
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("cycle %d: %s/%s read %v, want %v", cycle, r.Set, r.Key, got, want)
					}
				}
			}
		})
	}
}
