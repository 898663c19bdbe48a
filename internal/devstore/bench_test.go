package devstore

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkBatchWrite writes records shaped like a cycle's contest rows (an int, a
// string, a 400-byte blob, and the fence bins) through the real client's BatchOperate
// of BatchWrites, with the fence filter the sink sends, and reports records/s: one
// batch at a time, and 4 batches at once (as a sink with concurrency 4 writes). The
// client and the server share the machine's cores.
func BenchmarkBatchWrite(b *testing.B) {
	for _, bc := range []struct{ size, conc int }{{100, 1}, {1000, 1}, {5000, 1}, {1000, 4}} {
		b.Run(fmt.Sprintf("batch=%d/concurrency=%d", bc.size, bc.conc), func(b *testing.B) {
			e := start(b, "", nil, Config{})
			wp := as.NewBatchWritePolicy()
			wp.SendKey = true
			wp.RecordExistsAction = as.REPLACE
			rows := make([]byte, 400)
			keys := make([][]*as.Key, bc.conc)
			for w := range keys {
				for i := range bc.size {
					keys[w] = append(keys[w], key(b, records.Live, "contest", fmt.Sprint(w, "/", i)))
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range bc.conc {
				wg.Go(func() {
					ops := make([]as.BatchRecordIfc, bc.size)
					for cycle := w; cycle < b.N; cycle += bc.conc {
						p := *wp
						p.FilterExpression = fenceFilter(1, int64(cycle))
						for i := range ops {
							ops[i] = as.NewBatchWrite(&p, keys[w][i],
								as.PutOp(as.NewBin("total", int64(i))), as.PutOp(as.NewBin("state", "live")),
								as.PutOp(as.NewBin("rows", rows)),
								as.PutOp(as.NewBin(records.FenceEpochBin, 1)), as.PutOp(as.NewBin(records.FenceCycleBin, cycle)))
						}
						if err := e.client.BatchOperate(nil, ops); err != nil {
							b.Error(err)
							return
						}
						for _, r := range ops {
							if r.BatchRec().Err != nil {
								b.Error(r.BatchRec().Err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(bc.size*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkServerBatchWrite sends a pre-encoded BatchOperate message (BatchWrites with
// SendKey, REPLACE and the fence filter, the same bins as BenchmarkBatchWrite) over one
// raw connection and reads the answer: the server's own rate, without the client's
// encoding and decoding; inline (the client's default AllowInline) and not.
func BenchmarkServerBatchWrite(b *testing.B) {
	for _, bc := range []struct {
		size   int
		inline bool
	}{{1000, true}, {5000, true}, {5000, false}} {
		size := bc.size
		b.Run(fmt.Sprintf("batch=%d/inline=%v", size, bc.inline), func(b *testing.B) {
			e := start(b, "", nil, Config{})
			c, err := net.Dial("tcp", e.addr.String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 1<<20)
			// The fence filter, as the client packs it.
			filter := packExpr(b, fenceFilter(1, 1))
			rows := make([]byte, 400)
			batch := binary.BigEndian.AppendUint32(nil, uint32(size))
			if bc.inline {
				batch = append(batch, batchAllowInline)
			} else {
				batch = append(batch, 0) // AllowInline off: the batch is spread over goroutines
			}
			for i := range size {
				k := fmt.Sprint(i)
				d := digestOf("contest", k)
				batch = binary.BigEndian.AppendUint32(batch, uint32(i))
				batch = append(batch, d[:]...)
				batch = append(batch, batchInfo|batchGen|batchTTL, 0, info2Write, info3CreateOrReplace, 0, 0, 0, 0, 0, 0)
				fields := []field{{fieldNamespace, []byte(records.Live)}, {fieldSet, []byte("contest")}, {fieldFilter, filter}, {fieldKey, append([]byte{ptString}, k...)}}
				ops := []op{intOp("total", int64(i)), {code: opWrite, ptype: ptString, name: []byte("state"), value: []byte("live")},
					{code: opWrite, ptype: ptBlob, name: []byte("rows"), value: rows}, intOp(records.FenceEpochBin, 1), intOp(records.FenceCycleBin, 1)}
				batch = binary.BigEndian.AppendUint16(batch, uint16(len(fields)))
				batch = binary.BigEndian.AppendUint16(batch, uint16(len(ops)))
				for _, f := range fields {
					batch = binary.BigEndian.AppendUint32(batch, uint32(len(f.data)+1))
					batch = append(batch, f.typ)
					batch = append(batch, f.data...)
				}
				for _, o := range ops {
					batch = binary.BigEndian.AppendUint32(batch, uint32(4+len(o.name)+len(o.value)))
					batch = append(batch, o.code, o.ptype, 0, byte(len(o.name)))
					batch = append(batch, o.name...)
					batch = append(batch, o.value...)
				}
			}
			msg := frame(typeMsg, buildMsg(info1Batch, 0, 0, 0, []field{{fieldBatchIndex, batch}}, nil))
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if n := readBatchAnswer(b, br); n != size {
					b.Fatalf("%d records answered OK, want %d", n, size)
				}
			}
			b.ReportMetric(float64(size*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// readBatchAnswer reads a batch answer to its LAST marker and counts the OK records.
func readBatchAnswer(b *testing.B, br *bufio.Reader) int {
	ok := 0
	var h [8]byte
	for {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			b.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint64(h[:])&(1<<48-1))
		if _, err := io.ReadFull(br, body); err != nil {
			b.Fatal(err)
		}
		for len(body) >= msgHeaderSize {
			if body[3]&info3Last != 0 {
				return ok
			}
			if body[5] == rcOK {
				ok++
			}
			nops := int(binary.BigEndian.Uint16(body[20:]))
			body = body[msgHeaderSize:]
			for range nops {
				body = body[4+binary.BigEndian.Uint32(body):]
			}
		}
	}
}

// packExpr packs an expression as the client sends it.
func packExpr(b *testing.B, e *as.Expression) []byte {
	s, aerr := e.Base64()
	if aerr != nil {
		b.Fatal(aerr)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}
