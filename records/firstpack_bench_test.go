package records

import "testing"

// BenchmarkFirstRecords packs a worker task's first writes as the worker does (its
// entryRecords and packUser): 4096 entry records (Keys.ID) and 1024 user records of 4
// entries (UserEncoder, Keys.User), keys given by SetShared, the arena and keys reused
// across tasks. It reports ns a record, for each record returned (Arena.EntryRecord,
// UserRecord) and appended in place (Arena.AppendEntryRecord, AppendUserRecord), as the
// worker's first writes pack them.
//
//	go test -run '^$' -bench FirstRecords ./records
func BenchmarkFirstRecords(b *testing.B) {
	b.Run("returned", func(b *testing.B) { benchFirstRecords(b, false) })
	b.Run("appended", func(b *testing.B) { benchFirstRecords(b, true) })
}

func benchFirstRecords(b *testing.B, appended bool) {
	l := Lineup{Players: []int32{101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111}, Captain: 101, Vice: 102}
	lin := AppendLineup(nil, l.Players, l.Captain, l.Vice)
	const entries, users, per = 4096, 1024, 4
	var (
		a    Arena
		keys Keys
		enc  UserEncoder
		recs = make([]Record, 0, entries+users)
	)
	for b.Loop() {
		a.Reset()
		recs = recs[:0]
		h := EntryHead{Match: 94_000, Part: 9, Contest: 2_044_000}
		for i := range int64(entries) {
			h.ID, h.User, h.Team = 41_000_000+i, 1_400_000+i*7%50_000, 3_000_000+i
			keys.ID(h.ID)
			if appended {
				recs = a.AppendEntryRecord(recs, h, lin)
			} else {
				recs = append(recs, a.EntryRecord(h, lin))
			}
		}
		keys.SetShared(recs)
		at := len(recs)
		for u := range int64(users) {
			enc.Reset()
			for k := range int64(per) {
				enc.Add(41_000_000+u*per+k, 2_044_000+k*13)
			}
			keys.User(94_000, 1_400_000+u, 9)
			if appended {
				recs = a.AppendUserRecord(recs, 94_000, 1_400_000+u, 9, &enc)
			} else {
				recs = append(recs, a.UserRecord(94_000, 1_400_000+u, 9, &enc))
			}
		}
		keys.SetShared(recs[at:])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(entries+users)), "ns/record")
}
