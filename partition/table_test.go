package partition

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func set(ids ...string) func(string) bool {
	return func(id string) bool { return slices.Contains(ids, id) }
}

func none(int32, string) bool { return false }
func all(int32, string) bool  { return true }

func mustStep(t *testing.T, tb Table, target Assignment, alive func(string) bool, ready func(int32, string) bool) (Table, []Change) {
	t.Helper()
	next, ch, err := tb.Step(target, alive, ready)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(next.Partitions()) {
		if next.Writer(p) == "" {
			t.Fatalf("epoch %d: partition %d has no writer", next.Epoch, p)
		}
		if next.Loading(p) == next.Writer(p) {
			t.Fatalf("epoch %d: partition %d loaded by its own writer %s", next.Epoch, p, next.Writer(p))
		}
	}
	return next, ch
}

func kinds(ch []Change) string {
	var s []string
	for _, c := range ch {
		s = append(s, fmt.Sprintf("%d:%v:%s>%s", c.Partition, c.Kind, c.From, c.To))
	}
	return strings.Join(s, " ")
}

func TestTableFirstStepTakesOver(t *testing.T) {
	target := Restore(1, []string{"a", "b", "a"})
	tb, ch := mustStep(t, Table{}, target, set("a", "b"), none)
	if got, want := kinds(ch), "0:takeover:>a 1:takeover:>b 2:takeover:>a"; got != want {
		t.Errorf("changes %s, want %s", got, want)
	}
	if tb.Epoch != 1 || !tb.Stable(target) {
		t.Errorf("after the first step: epoch %d, stable %v", tb.Epoch, tb.Stable(target))
	}
	if again, ch, _ := tb.Step(target, set("a", "b"), all); again.Epoch != 1 || ch != nil {
		t.Errorf("a step with nothing to do moved to epoch %d with %v", again.Epoch, ch)
	}
}

// A joining worker loads its partitions while the old writers keep writing; each partition
// switches on its own when its loader is ready.
func TestTableMakeBeforeBreak(t *testing.T) {
	tb, _ := RestoreTable(10, []string{"a", "a", "b", "b"}, []string{"", "", "", ""})
	target := Restore(11, []string{"a", "c", "b", "c"})
	up := set("a", "b", "c")
	tb, ch := mustStep(t, tb, target, up, none)
	if got, want := kinds(ch), "1:load:a>c 3:load:b>c"; got != want || tb.Epoch != 11 {
		t.Fatalf("epoch %d changes %s, want epoch 11, %s", tb.Epoch, got, want)
	}
	if tb.Writer(1) != "a" || tb.Loading(1) != "c" || tb.Writer(3) != "b" {
		t.Fatalf("loading must not change writers: %v / %v", tb.writer, tb.loading)
	}
	// Not ready: nothing changes, the epoch stays.
	if same, ch, _ := tb.Step(target, up, none); same.Epoch != 11 || ch != nil {
		t.Fatalf("nothing ready, yet epoch %d with %v", same.Epoch, ch)
	}
	// Partition 3 ready first: it alone switches.
	tb, ch = mustStep(t, tb, target, up, func(p int32, m string) bool { return p == 3 && m == "c" })
	if got, want := kinds(ch), "3:handover:b>c"; got != want || tb.Writer(1) != "a" || tb.Loading(1) != "c" {
		t.Fatalf("changes %s (want %s), partition 1 writer %s loading %s", got, want, tb.Writer(1), tb.Loading(1))
	}
	tb, ch = mustStep(t, tb, target, up, all)
	if got, want := kinds(ch), "1:handover:a>c"; got != want || !tb.Stable(target) || tb.Epoch != 13 {
		t.Fatalf("changes %s (want %s), stable %v, epoch %d", got, want, tb.Stable(target), tb.Epoch)
	}
}

// A writer that died cannot be made-before: its partitions are taken over at once, and a
// load toward another member is cancelled.
func TestTableTakeoverAndCancel(t *testing.T) {
	tb, _ := RestoreTable(5, []string{"a", "b", "b", "c"}, []string{"", "", "c", ""})
	// b dies: its partitions go to a and c; c was loading 2 and is its target: it takes over.
	target := Restore(6, []string{"a", "a", "c", "c"})
	tb, ch := mustStep(t, tb, target, set("a", "c"), none)
	if got, want := kinds(ch), "1:takeover:b>a 2:takeover:b>c"; got != want || !tb.Stable(target) {
		t.Fatalf("changes %s, want %s; stable %v", got, want, tb.Stable(target))
	}
	// A load is retargeted: d was loading 0 from a; the target becomes e.
	tb, _ = RestoreTable(7, []string{"a", "a"}, []string{"d", ""})
	tb, ch = mustStep(t, tb, Restore(8, []string{"e", "a"}), set("a", "d", "e"), all)
	if got, want := kinds(ch), "0:cancel:d>e 0:load:a>e"; got != want || tb.Loading(0) != "e" || tb.Writer(0) != "a" {
		t.Fatalf("changes %s, want %s; writer %s loading %s", got, want, tb.Writer(0), tb.Loading(0))
	}
	// The loader dies and the target goes back to the writer: the load is cancelled.
	tb, ch = mustStep(t, tb, Restore(9, []string{"a", "a"}), set("a"), all)
	if got, want := kinds(ch), "0:cancel:e>a"; got != want || tb.Loading(0) != "" {
		t.Fatalf("changes %s, want %s; loading %q", got, want, tb.Loading(0))
	}
}

func TestTableRejects(t *testing.T) {
	if _, err := RestoreTable(1, []string{"a"}, nil); err == nil || !strings.Contains(err.Error(), "1 writers but 0 loaders") {
		t.Errorf("RestoreTable with mismatched slices: %v", err)
	}
	tb, _ := RestoreTable(1, []string{"a"}, []string{""})
	if _, _, err := tb.Step(Restore(2, []string{"a", "b"}), set("a"), all); err == nil || !strings.Contains(err.Error(), "from 1 partitions to 2") {
		t.Errorf("stepping to another partition count: %v", err)
	}
	if _, _, err := tb.Step(Assignment{}, set("a"), all); err == nil {
		t.Error("stepping toward an empty assignment succeeded")
	}
}

// Random membership changes, crashes, drains and readiness: the table always has one writer
// per partition, a live writer only hands over to a member that reported ready, epochs only
// grow, and once membership is still and every loader is ready the table is stable within
// two steps.
func TestTableRandomWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const P = 32
	pool := []string{"w0", "w1", "w2", "w3", "w4", "w5"}
	up := map[string]bool{"w0": true, "w1": true}
	var tb Table
	for step := range 400 {
		// Change the membership now and then.
		if rng.IntN(4) == 0 {
			m := pool[rng.IntN(len(pool))]
			up[m] = !up[m]
		}
		var members []Member
		for _, m := range pool {
			if up[m] {
				members = append(members, Member{ID: m, Capacity: 1 + uint32(rng.IntN(2))})
			}
		}
		if len(members) == 0 {
			up["w0"] = true
			members = []Member{{ID: "w0", Capacity: 1}}
		}
		target := mustAssign(t, bounded, tb.Epoch+1, P, members)
		alive := func(m string) bool { return up[m] }
		readyNow := map[int32]bool{}
		for p := range int32(P) {
			readyNow[p] = rng.IntN(3) == 0
		}
		next, _ := mustStep(t, tb, target, alive, func(p int32, m string) bool { return readyNow[p] })
		if next.Epoch < tb.Epoch {
			t.Fatalf("step %d: epoch went back from %d to %d", step, tb.Epoch, next.Epoch)
		}
		for p := range int32(next.Partitions()) {
			before, after := tb.Writer(p), next.Writer(p)
			if before != "" && before != after && up[before] && !(tb.Loading(p) == after && readyNow[p]) {
				t.Fatalf("step %d: partition %d went from live %s to %s, which was not a ready loader", step, p, before, after)
			}
		}
		tb = next
	}
	// Still membership, everyone ready: stable within two steps.
	var members []Member
	for _, m := range pool {
		if up[m] {
			members = append(members, Member{ID: m, Capacity: 1})
		}
	}
	target := mustAssign(t, bounded, tb.Epoch+1, P, members)
	alive := func(m string) bool { return up[m] }
	for range 2 {
		tb, _ = mustStep(t, tb, target, alive, all)
	}
	if !tb.Stable(target) {
		t.Fatalf("not stable two steps after the membership settled: writers %v loading %v", tb.writer, tb.loading)
	}
}
