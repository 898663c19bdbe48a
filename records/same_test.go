package records

import "testing"

// TestMergeSame: a planned record is the same as a stored one of equal bins whatever
// their fences' values, and not when a bin, a bin's type or the fence's presence differs.
func TestMergeSame(t *testing.T) {
	e := Entry{ID: 7, Contest: 3, Match: 1, Part: 2, User: 9, Team: 5, Lineup: Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}}
	stored := func(r Record) Packed {
		t.Helper()
		p, err := PackWrite(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	fenced := func(r Record, f Fence) Record { r.Fence = f; return r }
	f1, f2 := Fence{Epoch: 1, Cycle: 1}, Fence{Epoch: 1, Cycle: 300}
	other := e
	other.Team = 6
	maps := e.Record()
	cases := []struct {
		name   string
		write  Record
		stored Packed
		want   bool
	}{
		{"trusted, same, other cycle", fenced(e.TrustedRecord(), f2), stored(fenced(e.TrustedRecord(), f1)), true},
		{"packed, same", fenced(e.PackedRecord(), f2), stored(fenced(e.Record(), f1)), true},
		{"maps, same", fenced(maps, f2), stored(fenced(e.TrustedRecord(), f1)), true},
		{"trusted, other team", fenced(other.TrustedRecord(), f2), stored(fenced(e.TrustedRecord(), f1)), false},
		{"maps, other team", fenced(other.Record(), f2), stored(fenced(e.Record(), f1)), false},
		{"fenced over unfenced", fenced(e.TrustedRecord(), f2), stored(e.TrustedRecord()), false},
		{"unfenced over fenced", e.TrustedRecord(), stored(fenced(e.TrustedRecord(), f1)), false},
		{"unfenced, same", e.TrustedRecord(), stored(e.Record()), true},
		{"a bin more", fenced(e.TrustedRecord(), f2), stored(fenced(Record{Set: SetEntry, Bins: Bins{"id": int64(7)}}, f1)), false},
		{"malformed stored", fenced(e.TrustedRecord(), f2), Packed{0xff}, false},
	}
	for _, c := range cases {
		var m Merge
		if err := m.Plan(c.write, nil); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, f, _ := m.Same(c.stored, nil)
		if got != c.want {
			t.Errorf("%s: Same %v, want %v", c.name, got, c.want)
		}
		if got && f != c.stored.Fence() {
			t.Errorf("%s: Same's stored fence %+v, want %+v", c.name, f, c.stored.Fence())
		}
		planned := m.AppendTo(nil)
		if got := SameBins(planned, c.stored); got != c.want {
			t.Errorf("%s: SameBins %v, want %v", c.name, got, c.want)
		}
	}
	// The stored record with a trailing byte after its fence is malformed: not the same.
	var m Merge
	w := fenced(e.TrustedRecord(), f2)
	if err := m.Plan(w, nil); err != nil {
		t.Fatal(err)
	}
	bad := append(stored(fenced(e.TrustedRecord(), f1)), 0)
	if got, _, _ := m.Same(bad, nil); got {
		t.Error("a stored record with a trailing byte is the same")
	}
}
