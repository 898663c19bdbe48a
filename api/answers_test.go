package api

import (
	"encoding/json"
	"testing"
)

func TestEntryStandingJSON(t *testing.T) {
	e := entryStanding{1, 2, 3, 4, 5, 6, json.Number("52.125"), 7, 8, "2026-11-27T10:00:00.000Z"}
	type plain entryStanding // no MarshalJSON: the reflective encoding
	want, _ := json.Marshal(plain(e))
	got, _ := json.Marshal(e)
	if string(got) != string(want) {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
