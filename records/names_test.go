package records

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestNameCodes: the codes are part of the stored format, so the table is pinned here
// (append a name at the end of both lists, never reorder); every bin name a record of
// this package writes has one.
func TestNameCodes(t *testing.T) {
	pinned := []string{"as_of", "chunk", "chunks", "contest", "contests", "cycle", "entries", "hist", "id", "ids",
		"lineup", "log", "match", "p_as_of", "p_cycle", "p_hist", "p_rows", "p_total", "page", "page_size", "part",
		"parts", "rows", "state", "team", "total", "user", "w_cycle", "w_epoch", "ents"}
	if !slices.Equal(codedNames[:], pinned) {
		t.Fatalf("codedNames changed:\n%q\nwant (append only)\n%q", codedNames, pinned)
	}
	if int(codeEnd) > 0x80 {
		t.Fatalf("codes reach %d: a code must be one uvarint byte", codeEnd)
	}
	log := PointsLog{}.Append(1, 100, map[int32]int64{7: 50})
	var names []string
	for _, r := range []Record{Match{}.Record(), MatchPart{Log: log}.Record(), Contest{}.Record(), Page{}.Record(),
		Entry{}.Record(), User{}.Record(), ContestChunk{}.Record(), Matches{}.Record()} {
		names = slices.AppendSeq(names, maps.Keys(r.Bins))
		for _, b := range PrevBins(r.Set) {
			names = append(names, PrevName(b))
		}
	}
	names = append(names, FenceEpochBin, FenceCycleBin)
	for _, n := range names {
		if c := codeOf(n); c == 0 || codedNames[c-codeBase] != n {
			t.Errorf("bin %q has code %d", n, c)
		}
		if p := EncodeBins(Bins{n: int64(1)}); len(p) != 4 {
			t.Errorf("bin %q packed as %x: want count, code, tag, value", n, p)
		}
	}
	// The ranks order the coded names as their strings.
	for a := codeBase; a < int(codeEnd); a++ {
		for b := codeBase; b < int(codeEnd); b++ {
			an, bn := codedNames[a-codeBase], codedNames[b-codeBase]
			if got := nameLess(an, byte(a), bn, byte(b)); got != (an < bn) {
				t.Fatalf("nameLess(%q, %q) = %v", an, bn, got)
			}
		}
	}
}

// Records as the build before the codes packed them (every name literal), saved in
// live.arrow and complete.arrow files: an entry and a user record fenced (epoch 2,
// cycle 14), a contest written at cycle 14 over its cycle-13 version (KeepPrev), and a
// match record.
const (
	oldEntry   = "0907636f6e74657374016e02696401d28c01066c696e657570030b03ca01cc01ce01ca01ce01056d61746368010e04706172740104047465616d01060475736572015407775f6379636c65011c07775f65706f63680104"
	oldUser    = "0607656e7472696573031101d28c016e0603ca01cc01ce01ca01ce01056d61746368010e047061727401040475736572015407775f6379636c65011c07775f65706f63680104"
	oldContest = "0f0561735f6f6601901c056379636c65011c0468697374030702e80701ac0201026964016e056d61746368010e07705f61735f6f6601c81a07705f6379636c65011a06705f68697374030702a00601c8010106705f726f777303110201a006d28c01540601c801d48c01560807705f746f74616c010409706167655f73697a6501c80104726f777303110201e807d28c01540601ac02d48c01560805746f74616c010407775f6379636c65011c07775f65706f63680104"
	oldMatch   = "070561735f6f6601901c08636f6e74657374730102056379636c65011c07656e74726965730104026964010e0570617274730302010405737461746502046c697665"
)

// TestOldForm: records packed by the build before the codes read as they did, bin by
// bin, through every reader; writing one again codes its names; a versioned write over
// one takes its previous version from it.
func TestOldForm(t *testing.T) {
	l := Lineup{Players: []int32{101, 102, 103}, Captain: 101, Vice: 103}
	e := Entry{ID: 9001, Contest: 55, Match: 7, User: 42, Team: 3, Part: 2, Lineup: l}
	fence := Fence{Epoch: 2, Cycle: 14}
	c13 := Contest{ID: 55, Match: 7, Cycle: 13, AsOf: 1700, Total: 2, PageSize: 100, Hist: []Bucket{{400, 1}, {200, 1}},
		First: []Row{{1, 9001, 42, 3, 400}, {2, 9002, 43, 4, 200}}}
	c14 := c13
	c14.Cycle, c14.AsOf = 14, 1800
	c14.Hist = []Bucket{{500, 1}, {200, 1}}
	c14.First = []Row{{1, 9001, 42, 3, 500}, {2, 9002, 43, 4, 200}}
	withFence := func(b Bins) Bins {
		b = maps.Clone(b)
		b[FenceEpochBin], b[FenceCycleBin] = fence.Epoch, fence.Cycle
		return b
	}
	contest := withFence(c14.Record().Bins)
	for _, b := range PrevBins(SetContest) {
		contest[PrevName(b)] = c13.Record().Bins[b]
	}
	for _, tc := range []struct {
		name, hex string
		set       string
		want      Bins
		decode    func(Fields) (any, error)
		value     any
	}{
		{"entry", oldEntry, SetEntry, withFence(e.Record().Bins), func(f Fields) (any, error) { return EntryFrom(f) }, e},
		{"user", oldUser, SetUser, withFence(linedUserBins(User{Match: 7, User: 42, Part: 2, Entries: []Entry{e}})),
			func(f Fields) (any, error) { return UserFrom(f) }, User{Match: 7, User: 42, Part: 2, Entries: []Entry{e}, Lined: true}},
		{"contest", oldContest, SetContest, contest, func(f Fields) (any, error) {
			c, ok, err := ContestAt(f, 13) // the previous version
			if !ok {
				return nil, errors.New("no version at 13")
			}
			return c, err
		}, c13},
		{"match", oldMatch, SetMatch, Match{ID: 7, State: StateLive, Cycle: 14, AsOf: 1800, Entries: 2, Contests: 1, Parts: []int32{2}}.Record().Bins,
			func(f Fields) (any, error) { return MatchFrom(f) }, Match{ID: 7, State: StateLive, Cycle: 14, AsOf: 1800, Entries: 2, Contests: 1, Parts: []int32{2}}},
	} {
		old, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckPacked(old); err != nil {
			t.Fatalf("%s: CheckPacked: %v", tc.name, err)
		}
		got, err := DecodeBins(old)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("%s: DecodeBins: %v, %v\nwant %v", tc.name, got, err, tc.want)
		}
		var u Unpacked
		if err := u.Reset(old); err != nil {
			t.Fatalf("%s: Unpacked: %v", tc.name, err)
		}
		for _, f := range []Fields{Packed(old), &u} {
			for name, v := range tc.want {
				var g any
				switch v.(type) {
				case int64:
					g = f.Int(name)
				case string:
					g = f.Str(name)
				case []byte:
					g = f.Bytes(name)
				}
				if !reflect.DeepEqual(g, v) {
					t.Errorf("%s %T: bin %q: %#v, want %#v", tc.name, f, name, g, v)
				}
			}
			if v, err := tc.decode(f); err != nil || !reflect.DeepEqual(v, tc.value) {
				t.Errorf("%s %T: decoded %+v, %v; want %+v", tc.name, f, v, err, tc.value)
			}
		}
		if f, want := Packed(old).Fence(), StoredFence(tc.want); f != want {
			t.Errorf("%s: Fence() = %v, want %v", tc.name, f, want)
		}
		// Written again (as the store does for a record handed over packed), it is
		// coded, and smaller by each name's bytes.
		coded := EncodeBins(tc.want)
		again, err := PackWrite(Record{Set: tc.set, Key: "k", Packed: old}, nil)
		if err != nil || !bytes.Equal(again, coded) {
			t.Fatalf("%s: written again: %x, %v\nwant %x", tc.name, again, err, coded)
		}
		saved := 0
		for name := range tc.want {
			saved += len(name)
		}
		if len(old)-len(coded) != saved {
			t.Errorf("%s: %d bytes old, %d coded: want %d fewer (the names)", tc.name, len(old), len(coded), saved)
		}
		if refit, err := PackWrite(Record{Set: tc.set, Key: "k", Packed: old, Fence: Fence{3, 1}}, nil); err != nil ||
			Packed(refit).Fence() != (Fence{3, 1}) || CheckPacked(refit) != nil {
			t.Fatalf("%s: fenced again: %x, %v", tc.name, refit, err)
		}
	}
	// A contest written at cycle 15 over the old-form one keeps its cycle-14 version.
	old, _ := hex.DecodeString(oldContest)
	c15 := c14
	c15.Cycle, c15.AsOf = 15, 1900
	r := c15.PackedRecord()
	r.Fence, r.KeepPrev = Fence{2, 15}, true
	got, err := PackWrite(r, old)
	if err != nil {
		t.Fatal(err)
	}
	want := c15.Record()
	want.Fence, want.KeepPrev = r.Fence, true
	if ref := refPackWrite(t, want, old); !bytes.Equal(got, ref) {
		t.Fatalf("over the old form:\n%x\nwant\n%x", got, ref)
	}
	if c, ok, err := ContestAt(Packed(got), 14); err != nil || !ok || !reflect.DeepEqual(c, c14) {
		t.Fatalf("previous version over the old form: %+v %v %v; want %+v", c, ok, err, c14)
	}
}

// oldPack packs bins as the build before the codes did: every name literal.
func oldPack(b Bins) []byte {
	out := binary.AppendUvarint(nil, uint64(len(b)))
	for _, n := range slices.Sorted(maps.Keys(b)) {
		out = append(append(out, byte(len(n))), n...)
		switch v := b[n].(type) {
		case int64:
			out = binary.AppendVarint(append(out, tagInt), v)
		case string:
			out = append(binary.AppendUvarint(append(out, tagStr), uint64(len(v))), v...)
		case []byte:
			out = append(binary.AppendUvarint(append(out, tagBytes), uint64(len(v))), v...)
		}
	}
	return out
}

// TestMixedForms: records of random bins, names known and not (the order of the two
// forms interleaves), packed coded and in the old form, read the same everywhere, and
// PackWrite codes either the same; a record holding one name in both forms is corrupt.
func TestMixedForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pool := append(slices.Clone(codedNames[:]), "", "a", "cyclf", "p_", "pz", "w_z", "zzzzzzzzzzzzzzz", "Total", "id2")
	for round := range 500 {
		b := Bins{}
		for range rng.IntN(12) {
			n := pool[rng.IntN(len(pool))]
			switch rng.IntN(3) {
			case 0:
				b[n] = rng.Int64() - rng.Int64()
			case 1:
				b[n] = strings.Repeat("s", rng.IntN(200))
			default:
				b[n] = bytes.Repeat([]byte{7}, rng.IntN(200))
			}
		}
		coded, old := EncodeBins(b), oldPack(b)
		for _, p := range [][]byte{coded, old} {
			got, err := DecodeBins(p)
			if err != nil || !reflect.DeepEqual(got, b) {
				t.Fatalf("round %d: %x decoded %v, %v; want %v", round, p, got, err, b)
			}
			var u Unpacked
			if err := u.Reset(p); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			for n, v := range b {
				if x, ok := v.(int64); ok && (Packed(p).Int(n) != x || u.Int(n) != x) {
					t.Fatalf("round %d: bin %q", round, n)
				}
				if x, ok := v.([]byte); ok && (!bytes.Equal(Packed(p).Bytes(n), x) || !bytes.Equal(u.Bytes(n), x)) {
					t.Fatalf("round %d: bin %q", round, n)
				}
			}
			for _, f := range []Fence{{}, {1, 2}} {
				for _, set := range []string{SetEntry, SetContest} {
					r := Record{Set: set, Key: "k", Bins: b, Fence: f}
					want := refPackWrite(t, r, nil)
					got, err := PackWrite(Record{Set: set, Key: "k", Packed: p, Fence: f}, nil)
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("round %d: PackWrite %s fence %v of %x:\n%x, %v\nwant\n%x", round, set, f, p, got, err, want)
					}
				}
			}
		}
	}
	// "cycle" coded and literal in one record.
	dup := []byte{2, 5, 'c', 'y', 'c', 'l', 'e', tagInt, 2, codeCycle, tagInt, 4}
	if _, err := DecodeBins(dup); !errors.Is(err, ErrCorrupt) || CheckPacked(dup) == nil {
		t.Fatalf("a name in both forms: %v", err)
	}
	if _, err := PackWrite(Record{Set: SetEntry, Packed: dup}, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("PackWrite of a name in both forms: %v", err)
	}
	for _, bad := range [][]byte{{1, byte(codeEnd), tagInt, 2}, {1, 0x80, 1, 'a', tagInt, 2}} {
		if CheckPacked(bad) == nil {
			t.Errorf("%x: an unknown code passes CheckPacked", bad)
		}
	}
}
