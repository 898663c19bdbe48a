package api

import (
	"reflect"
	"slices"
	"testing"

	"github.com/fantasy/leaderboard/records"
)

// TestPointsCache: the same bytes, equal bytes elsewhere, and a different log each decode
// to their own log; a rebuilt log replaces the cached one.
func TestPointsCache(t *testing.T) {
	var pc pointsCache
	log1 := records.PointsLog{}.Append(1, 100, map[int32]int64{7: 50}).Append(2, 200, map[int32]int64{7: 75, 8: -200})
	log2 := records.PointsLog{}.Append(1, 100, map[int32]int64{7: 60})
	raw1, raw2 := records.EncodePointsLog(log1), records.EncodePointsLog(log2)
	for k, tc := range []struct {
		raw  []byte
		want records.PointsLog
	}{
		{raw1, log1}, {raw1, log1}, {slices.Clone(raw1), log1}, {raw2, log2}, {raw2, log2}, {raw1, log1},
	} {
		got, err := pc.decode(records.Live, 1, 0, tc.raw)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("read %d: %+v, %v; want %+v", k, got, err, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { pc.decode(records.Live, 1, 0, raw1) }); n != 0 {
		t.Fatalf("a cached log costs %v allocations", n)
	}
}
