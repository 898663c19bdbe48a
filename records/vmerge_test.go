package records

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// generalMerge plans r over old by names (Merge.merge), never in the coded form.
func generalMerge(r Record, old Packed) (Packed, Fence, bool, error) {
	var m Merge
	base := r.Packed
	if base == nil {
		base = EncodeBins(r.Bins)
	}
	if err := m.merge(r, base, old); err != nil {
		return nil, Fence{}, false, err
	}
	f, read := m.OldFence()
	return m.AppendTo(make([]byte, 0, m.Len())), f, read, nil
}

// checkSameMerge plans r over old with Plan (the coded form where it applies) and by
// names, and fails unless both give the same bytes (at the planned length), the same
// stored fence, or the same error. It returns whether Plan took the coded form.
func checkSameMerge(t testing.TB, r Record, old Packed) bool {
	t.Helper()
	var m Merge
	err := m.Plan(r, old)
	want, wf, wread, werr := generalMerge(r, old)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("%s over %x, fence %v: error %v, by names %v (record %x)", r.Set, old, r.Fence, err, werr, r.Packed)
	}
	if err != nil {
		return m.coded
	}
	got := m.AppendTo(make([]byte, 0, m.Len()))
	if !bytes.Equal(got, want) || len(got) != m.Len() {
		t.Fatalf("%s over %x, fence %v:\n%x (planned %d)\nby names\n%x (record %x)", r.Set, old, r.Fence, got, m.Len(), want, r.Packed)
	}
	if f, read := m.OldFence(); f != wf || read != wread {
		t.Fatalf("%s over %x: stored fence %v (read %v), by names %v (%v)", r.Set, old, f, read, wf, wread)
	}
	return m.coded
}

// randCodedBins returns random bins of coded names (versioned, p_ and fence names
// among them) of every type, and now and then a literal name.
func randCodedBins(rng *rand.Rand, literal bool) Bins {
	b := Bins{}
	for range rng.IntN(14) {
		n := codedNames[rng.IntN(len(codedNames))]
		if literal && rng.IntN(8) == 0 {
			n = []string{"a", "cyclf", "p_", "zz", "w_a"}[rng.IntN(5)]
		}
		switch rng.IntN(4) {
		case 0:
			b[n] = []byte(nil)
		case 1:
			b[n] = bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(300))
		case 2:
			b[n] = string(bytes.Repeat([]byte{'s'}, rng.IntN(3)))
		default:
			b[n] = []int64{0, -1, 1 << 40, math.MaxInt64, math.MinInt64, 63, 64}[rng.IntN(7)]
		}
	}
	return b
}

// TestCodedMerge: a versioned write planned in the coded form (vmerge.go) gives the
// bytes, the stored fence and the errors of the merge by names: for the records a cycle
// writes, for random bins of coded names (p_ and fence bins in the new record too), with
// literal names mixed in (then by names), and for damaged records.
func TestCodedMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	fences := []Fence{{}, {Epoch: 1, Cycle: 7}, {Epoch: math.MaxInt64, Cycle: math.MinInt64}, {Epoch: -1}}
	coded := 0
	for round := range 300 {
		_, packed := randRecords(rng)
		_, olds := randRecords(rng)
		for i, r := range packed[:2] { // contest, page
			r.KeepPrev = true
			for _, f := range fences {
				// The stored record: the last cycle's write over the one before.
				prev := olds[i]
				prev.Fence, prev.KeepPrev = fences[rng.IntN(len(fences))], true
				stored, err := PackWrite(prev, EncodeBins(randCodedBins(rng, false)))
				if err != nil {
					t.Fatal(err)
				}
				r.Fence = f
				if !checkSameMerge(t, r, stored) {
					t.Fatalf("round %d: a %s written over a coded record was not merged in the coded form", round, r.Set)
				}
				coded++
			}
		}
		for _, set := range []string{SetContest, SetPage} {
			literal := rng.IntN(3) == 0
			r := Record{Set: set, Packed: EncodeBins(randCodedBins(rng, literal)), Fence: fences[rng.IntN(len(fences))], KeepPrev: true}
			old := Packed(EncodeBins(randCodedBins(rng, literal)))
			if rng.IntN(4) == 0 {
				old = oldPack(randCodedBins(rng, false)) // names written literally
			}
			checkSameMerge(t, r, old)
			// Damaged: a byte changed, or cut short, in the stored record or the new one.
			for range 4 {
				o, p := bytes.Clone(old), bytes.Clone(r.Packed)
				d := &o
				if rng.IntN(2) == 0 {
					d = &p
				}
				if len(*d) > 0 {
					if k := rng.IntN(len(*d)); rng.IntN(2) == 0 {
						(*d)[k] = byte(rng.IntN(256))
					} else {
						*d = (*d)[:k]
					}
				}
				checkSameMerge(t, Record{Set: set, Packed: p, Fence: r.Fence, KeepPrev: true}, o)
			}
		}
	}
	if coded == 0 {
		t.Fatal("no write merged in the coded form")
	}
	// A cycle's contest write over the stored one plans and packs without allocating.
	c := Contest{ID: 5, Match: 2, Cycle: 9, Total: 3, PageSize: 100, Hist: []Bucket{{10, 2}, {5, 1}},
		First: []Row{{1, 1, 1, 1, 10}, {1, 2, 2, 2, 10}, {3, 3, 3, 3, 5}}}
	r := c.PackedRecord()
	r.Fence, r.KeepPrev = Fence{1, 9}, true
	old, err := PackWrite(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m Merge
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		if err := m.Plan(r, old); err != nil || !m.coded {
			t.Fatal(err)
		}
		buf = m.AppendTo(buf[:0])
	}); n != 0 {
		t.Fatalf("a versioned contest write allocates %v times", n)
	}
}

// FuzzCodedMerge: any new and stored record, the coded form and the merge by names
// agree (bytes, stored fence, errors).
func FuzzCodedMerge(f *testing.F) {
	c := Contest{ID: 5, Match: 2, Cycle: 9, Total: 1, Hist: []Bucket{{10, 1}}, First: []Row{{1, 1, 1, 1, 10}}}.PackedRecord()
	old, _ := PackWrite(Record{Set: SetContest, Packed: c.Packed, Fence: Fence{1, 8}, KeepPrev: true}, c.Packed)
	f.Add([]byte(c.Packed), []byte(old), true, int64(1), int64(9))
	f.Add([]byte(EncodeBins(Bins{"p_rows": int64(1), "w_cycle": "x"})), []byte(EncodeBins(Bins{"rows": int64(2), "w_epoch": int64(3)})), false, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, rec, stored []byte, contest bool, epoch, cycle int64) {
		set := SetPage
		if contest {
			set = SetContest
		}
		checkSameMerge(t, Record{Set: set, Packed: rec, Fence: Fence{Epoch: epoch, Cycle: cycle}, KeepPrev: true}, stored)
	})
}
