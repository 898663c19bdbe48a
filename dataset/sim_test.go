package dataset

import (
	"slices"
	"strings"
	"testing"
)

// TestSimulation plays whole matches: the squad is the generator's, points are totals
// in half points that only fall on a penalty, and the match has the events a T20 has.
func TestSimulation(t *testing.T) {
	seen := map[string]bool{}
	for seed := int64(1); seed <= 6; seed++ {
		s := NewSimulation(seed, 22)
		if !slices.Equal(s.Players(), newMatch(seed, 22).ids) {
			t.Fatal("simulation squad differs from the generator's")
		}
		balls, innings := 0, 0
		for {
			b, ok := s.Next()
			if !ok {
				break
			}
			balls++
			if b.InningsComplete {
				innings++
			}
			for _, p := range b.Points {
				if p*2 != float64(int(p*2)) {
					t.Fatalf("points %v not in half points", p)
				}
			}
			line := b.String()
			switch {
			case b.Runs == 4:
				seen["four"] = true
			case b.Runs == 6:
				seen["six"] = true
			case b.Wicket == "caught":
				seen["catch"] = true
			case b.Wicket != "":
				seen["wicket"] = true
			}
			for _, m := range b.Milestones {
				seen[strings.Fields(m)[1]] = true // "for" of "50 for", "duck for" -> "for"; kind below
				seen[strings.Fields(m)[0]] = true
			}
			if !strings.Contains(line, "to") {
				t.Fatalf("commentary %q", line)
			}
		}
		if innings != 2 || balls < 60 || balls > 240 {
			t.Fatalf("seed %d: %d balls, %d innings", seed, balls, innings)
		}
	}
	for _, k := range []string{"four", "six", "catch", "wicket", "30", "duck"} {
		if !seen[k] {
			t.Errorf("six matches had no %s", k)
		}
	}
}
