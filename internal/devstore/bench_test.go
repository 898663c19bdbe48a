package devstore

import (
	"fmt"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkBatchWrite writes records shaped like a cycle's contest rows (an int, a
// string, a 400-byte blob, and the fence bins) through the real client's BatchOperate
// of BatchWrites, with the fence filter the sink sends, and reports records/s.
// The client and the server share the machine's cores.
func BenchmarkBatchWrite(b *testing.B) {
	for _, size := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			e := start(b, "", nil, Config{})
			wp := as.NewBatchWritePolicy()
			wp.SendKey = true
			wp.RecordExistsAction = as.REPLACE
			rows := make([]byte, 400)
			ops := make([]as.BatchRecordIfc, size)
			keys := make([]*as.Key, size)
			for i := range keys {
				keys[i] = key(b, records.Live, "contest", fmt.Sprint(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for cycle := range b.N {
				p := *wp
				p.FilterExpression = fenceFilter(1, int64(cycle))
				for i := range ops {
					ops[i] = as.NewBatchWrite(&p, keys[i],
						as.PutOp(as.NewBin("total", int64(i))), as.PutOp(as.NewBin("state", "live")),
						as.PutOp(as.NewBin("rows", rows)),
						as.PutOp(as.NewBin(records.FenceEpochBin, 1)), as.PutOp(as.NewBin(records.FenceCycleBin, cycle)))
				}
				if err := e.client.BatchOperate(nil, ops); err != nil {
					b.Fatal(err)
				}
				for _, r := range ops {
					if r.BatchRec().Err != nil {
						b.Fatal(r.BatchRec().Err)
					}
				}
				n += size
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
