package records

import (
	"bytes"
	"encoding/binary"
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

// scanTail is planTail without its coded fast path (codedTail): scanBins' reading.
func scanTail(r Record) (ok bool, n int, body []byte, err error) {
	s, err := scanBins(r.Packed)
	if err != nil || s.literalKnown {
		return false, 0, nil, err
	}
	if !r.Fence.IsZero() && s.n > 0 && !nameLess(s.last, s.lastCode, FenceCycleBin, codeWCycle) {
		return false, 0, nil, nil
	}
	return true, s.n, s.body, nil
}

// TestCodedTail: planTail's fast path takes a record as a tail write exactly when
// scanBins' reading does (the same bins), and never a record scanBins refuses: for random
// bins of coded names (fence and p_ names among them), literal names mixed in, and
// damaged records.
func TestCodedTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	fast := 0
	check := func(p Packed, fenced bool) {
		t.Helper()
		r := Record{Set: SetEntry, Packed: p}
		if fenced {
			r.Fence = Fence{Epoch: 1, Cycle: 2}
		}
		ok, n, body := codedTail(p, fenced)
		wok, wn, wbody, err := scanTail(r)
		if ok && (err != nil || !wok || n != wn || !bytes.Equal(body, wbody)) {
			t.Fatalf("%x fenced %v: coded tail of %d bins %x; scanned: tail %v, %d bins %x, %v", p, fenced, n, body, wok, wn, wbody, err)
		}
		if !ok && wok {
			// Only a record with a literal name may leave the fast path and be a tail.
			if _, lit := scanLiteral(p); !lit {
				t.Fatalf("%x fenced %v: a wholly coded tail missed by the fast path", p, fenced)
			}
		}
		if ok {
			fast++
		}
	}
	for range 2000 {
		literal := rng.IntN(3) == 0
		p := Packed(EncodeBins(randCodedBins(rng, literal)))
		fenced := rng.IntN(2) == 0
		check(p, fenced)
		for range 3 {
			d := bytes.Clone(p)
			if len(d) > 0 {
				if k := rng.IntN(len(d)); rng.IntN(2) == 0 {
					d[k] = byte(rng.IntN(256))
				} else {
					d = d[:k]
				}
			}
			check(d, fenced)
		}
	}
	for _, r := range []Record{
		Entry{ID: 1, Contest: 2, Match: 3, User: 4, Team: 5, Lineup: Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}}.PackedRecord(),
		User{Match: 3, User: 4, Entries: []Entry{{ID: 1, Contest: 2, Match: 3, User: 4}}}.PackedRecord(),
	} {
		if ok, _, _ := codedTail(r.Packed, true); !ok {
			t.Fatalf("a %s record missed the fast path", r.Set)
		}
	}
	if fast == 0 {
		t.Fatal("no record took the fast path")
	}
}

// scanLiteral reports whether well-formed p has a bin whose name is written literally.
func scanLiteral(p Packed) (int, bool) {
	n, k := binary.Uvarint(p)
	b := []byte(p[k:])
	for range int(n) {
		_, code, _, rest, ok := nextBin(b)
		if !ok {
			return 0, false
		}
		if code == 0 {
			return 0, true
		}
		b = rest
	}
	return 0, false
}
