package api

import (
	"encoding/json"
	"testing"
)

func TestEntryStandingJSON(t *testing.T) {
	for _, e := range []entryStanding{
		{1, 2, 3, 4, 5, 6, 10425, 7, 8, "2026-11-27T10:00:00.000Z"},
		{-1, 1 << 62, 0, 4, 5, 1, -1, 0, 0, `odd "as_of" \ \u00e9`},
	} {
		want, _ := json.Marshal(e) // the reflective encoding of the struct tags
		got := e.appendJSON(nil)
		if string(got) != string(want) || !json.Valid(got) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		e := entryStanding{1, 2, 3, 4, 5, 6, 10425, 7, 8, asOf(1764237600000)}
		e.appendJSON(make([]byte, 0, 256))
	}); n != 0 {
		t.Fatalf("the entry answer allocates %v times", n)
	}
}
