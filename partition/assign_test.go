package partition

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func workers(prefix string, n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("%s-%d", prefix, i), Capacity: 1}
	}
	return ms
}

func mustAssign(t testing.TB, cfg Config, epoch int64, p int, ms []Member) Assignment {
	t.Helper()
	a, err := Assign(cfg, epoch, p, ms)
	if err != nil {
		t.Fatalf("Assign(%+v, %d partitions, %d members): %v", cfg, p, len(ms), err)
	}
	return a
}

func mustMoves(t testing.TB, from, to Assignment) []Move {
	t.Helper()
	ms, err := Moves(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

var (
	bounded   = Config{LoadFactor: DefaultLoadFactor}
	tight     = Config{LoadFactor: 1}
	unbounded = Config{}
)

// checkValid: every partition owned by a member that is not draining, every load within
// its cap (when bounded).
func checkValid(t *testing.T, cfg Config, a Assignment, p int, ms []Member) {
	t.Helper()
	if a.Partitions() != p {
		t.Fatalf("%d partitions assigned, want %d", a.Partitions(), p)
	}
	eligible := map[string]int{}
	var el []Member
	for _, m := range ms {
		if !m.Draining {
			eligible[m.ID] = len(el)
			el = append(el, m)
		}
	}
	for q := range int32(p) {
		if _, ok := eligible[a.Owner(q)]; !ok {
			t.Fatalf("partition %d owned by %q, not an eligible member", q, a.Owner(q))
		}
	}
	if cfg.LoadFactor == 0 {
		return
	}
	caps := Caps(cfg.LoadFactor, p, el)
	for id, l := range a.Loads() {
		if c := caps[eligible[id]]; l > c {
			t.Fatalf("%s owns %d of %d partitions, over its cap %d (load factor %v, %d members)", id, l, p, c, cfg.LoadFactor, len(el))
		}
	}
}

// The balance guarantee, over 1..256 partitions and 1..64 members: every partition has an
// eligible owner and nobody owns more than ceil(f × P × capacity / total).
func TestAssignBalance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cfg := range []Config{tight, bounded, {LoadFactor: 2}} {
		for _, p := range []int{1, 2, 3, 7, 16, 64, 100, 256} {
			for _, n := range []int{1, 2, 3, 4, 5, 8, 16, 33, 64} {
				ms := workers(fmt.Sprintf("p%dn%d", p, n), n)
				checkValid(t, cfg, mustAssign(t, cfg, 1, p, ms), p, ms)
				for i := range ms { // random capacities 1..8
					ms[i].Capacity = 1 + rng.Uint32N(8)
				}
				checkValid(t, cfg, mustAssign(t, cfg, 1, p, ms), p, ms)
			}
		}
	}
	// The tight bound is exact balance for equal capacities.
	a := mustAssign(t, tight, 1, 16, workers("w", 4))
	for id, l := range a.Loads() {
		if l != 4 {
			t.Errorf("load factor 1, 16 partitions, 4 workers: %s owns %d, want 4", id, l)
		}
	}
}

func TestAssignDeterministicAndOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cfg := range []Config{unbounded, tight, bounded} {
		for _, n := range []int{1, 2, 5, 17, 64} {
			ms := workers("node", n)
			for i := range ms {
				ms[i].Capacity = 1 + rng.Uint32N(4)
			}
			ms[0].Draining = n > 1
			want := mustAssign(t, cfg, 7, 256, ms)
			for range 5 {
				shuffled := slices.Clone(ms)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				got := mustAssign(t, cfg, 7, 256, shuffled)
				if !slices.Equal(got.Owners(), want.Owners()) || got.Epoch != 7 {
					t.Fatalf("%+v, %d members: assignment depends on member order", cfg, n)
				}
			}
		}
	}
	// Pinned owners: a change to the hash or the score remaps every cluster on upgrade,
	// which must be a deliberate decision (and a coordinated restart), never an accident.
	a := mustAssign(t, bounded, 1, 8, workers("w", 3))
	if got, want := strings.Join(a.Owners(), ","), "w-1,w-0,w-2,w-0,w-1,w-2,w-1,w-0"; got != want {
		t.Errorf("owners of 8 partitions among w-0..w-2 = %s, pinned %s", got, want)
	}
}

// Without a load bound the assignment is plain weighted rendezvous hashing, and movement is
// exactly minimal: a joining member only takes partitions, a leaving or draining member only
// gives its own.
func TestUnboundedMovementIsExact(t *testing.T) {
	for _, p := range []int{1, 16, 64, 256} {
		for n := 1; n <= 64; n = n*2 + 1 {
			ms := workers(fmt.Sprintf("u%d", p), n+1)
			before := mustAssign(t, unbounded, 1, p, ms[:n])
			after := mustAssign(t, unbounded, 2, p, ms)
			for _, m := range mustMoves(t, before, after) {
				if m.To != ms[n].ID {
					t.Fatalf("%d partitions, worker %d joins %d: partition %d moved %s -> %s, not to the new one", p, n+1, n, m.Partition, m.From, m.To)
				}
			}
			if n == 1 {
				continue
			}
			left := mustAssign(t, unbounded, 3, p, ms[1:])
			for _, m := range mustMoves(t, after, left) {
				if m.From != ms[0].ID {
					t.Fatalf("%d partitions, %s leaves: partition %d moved %s -> %s", p, ms[0].ID, m.Partition, m.From, m.To)
				}
			}
			drained := slices.Clone(ms)
			drained[0].Draining = true
			if d := mustAssign(t, unbounded, 3, p, drained); !slices.Equal(d.Owners(), left.Owners()) {
				t.Fatalf("draining %s differs from its leaving", ms[0].ID)
			}
		}
	}
}

// joinStats is what happens when a fourth (n+1st) worker joins n, over many clusters of
// random names: the fraction of partitions that moved, and the fraction that moved
// between old members (not toward the new one).
func joinStats(t testing.TB, cfg Config, p, n, clusters int) (moved, stray float64) {
	var mv, st int
	for c := range clusters {
		ms := workers(fmt.Sprintf("c%d", c), n+1)
		before := mustAssign(t, cfg, 1, p, ms[:n])
		after := mustAssign(t, cfg, 2, p, ms)
		for _, m := range mustMoves(t, before, after) {
			mv++
			if m.To != ms[n].ID {
				st++
			}
		}
	}
	return float64(mv) / float64(clusters*p), float64(st) / float64(clusters*p)
}

// With the default load bound, a fourth worker takes about a quarter of the partitions,
// and few others move (the price of the bound; measured, see docs/CLUSTER.md).
func TestBoundedJoinMovesAboutAQuarter(t *testing.T) {
	for _, tc := range []struct {
		p                  int
		maxMoved, maxStray float64
	}{
		{16, 0.32, 0.06},
		{64, 0.28, 0.02},
		{256, 0.26, 0.005},
	} {
		moved, stray := joinStats(t, bounded, tc.p, 3, 200)
		t.Logf("%d partitions, 3 -> 4 workers: %.3f moved, %.4f between old workers", tc.p, moved, stray)
		if moved < 0.24 || moved > tc.maxMoved {
			t.Errorf("%d partitions, 3 -> 4 workers: %.3f of partitions moved, want 0.24..%.2f", tc.p, moved, tc.maxMoved)
		}
		if stray > tc.maxStray {
			t.Errorf("%d partitions, 3 -> 4 workers: %.4f moved between old workers, want <= %.3f", tc.p, stray, tc.maxStray)
		}
	}
	// A single cluster: whatever the new worker gains is at most its cap and at least a
	// fair share minus the slack.
	ms := workers("solo", 4)
	before := mustAssign(t, bounded, 1, 64, ms[:3])
	after := mustAssign(t, bounded, 2, 64, ms)
	gained := 0
	for _, m := range mustMoves(t, before, after) {
		if m.To == "solo-3" {
			gained++
		}
	}
	if gained != len(after.Owned("solo-3")) || gained < 10 || gained > 20 {
		t.Errorf("the 4th of 4 workers gained %d of 64 partitions (owns %d), want 10..20", gained, len(after.Owned("solo-3")))
	}
}

func TestBoundedLeaveAndDrain(t *testing.T) {
	var moved, stray, total int
	for c := range 200 {
		ms := workers(fmt.Sprintf("l%d", c), 4)
		before := mustAssign(t, bounded, 1, 64, ms)
		drained := slices.Clone(ms)
		drained[2].Draining = true
		after := mustAssign(t, bounded, 2, 64, drained)
		if len(after.Owned(ms[2].ID)) != 0 {
			t.Fatalf("draining %s still owns %v", ms[2].ID, after.Owned(ms[2].ID))
		}
		left := mustAssign(t, bounded, 2, 64, slices.Delete(slices.Clone(ms), 2, 3))
		if !slices.Equal(left.Owners(), after.Owners()) {
			t.Fatalf("draining %s differs from its leaving", ms[2].ID)
		}
		for _, m := range mustMoves(t, before, after) {
			moved++
			if m.From != ms[2].ID {
				stray++
			}
		}
		total += 64
	}
	t.Logf("4 -> 3 workers, 64 partitions: %.3f moved, %.4f not from the leaver", float64(moved)/float64(total), float64(stray)/float64(total))
	if f := float64(moved) / float64(total); f < 0.23 || f > 0.28 {
		t.Errorf("one of 4 workers left: %.3f of partitions moved, want about 1/4", f)
	}
	if f := float64(stray) / float64(total); f > 0.02 {
		t.Errorf("one of 4 workers left: %.4f of partitions moved between the others, want <= 0.02", f)
	}
}

func TestAssignWeights(t *testing.T) {
	// One worker of capacity 3 next to three of capacity 1 owns about half the partitions.
	for _, cfg := range []Config{unbounded, bounded} {
		var big, total int
		for c := range 100 {
			ms := workers(fmt.Sprintf("wt%d", c), 4)
			ms[0].Capacity = 3
			a := mustAssign(t, cfg, 1, 64, ms)
			big += len(a.Owned(ms[0].ID))
			total += 64
		}
		if f := float64(big) / float64(total); math.Abs(f-0.5) > 0.04 {
			t.Errorf("%+v: capacity 3 of 6 owns %.3f of partitions, want about 0.5", cfg, f)
		}
	}
	// With the bound, capacity caps hold in one cluster too: 3:1 with 16 partitions.
	ms := []Member{{ID: "big", Capacity: 3}, {ID: "small", Capacity: 1}}
	a := mustAssign(t, tight, 1, 16, ms)
	if l := a.Loads(); l["big"] != 12 || l["small"] != 4 {
		t.Errorf("capacities 3:1, 16 partitions, load factor 1: loads %v, want big 12, small 4", l)
	}
}

func TestAssignRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		p    int
		ms   []Member
		want string
	}{
		{bounded, 0, workers("w", 1), "0 partitions"},
		{bounded, MaxPartitions + 1, workers("w", 1), "65537 partitions"},
		{bounded, 16, nil, "no worker can own partitions"},
		{bounded, 16, []Member{{ID: "a", Capacity: 1, Draining: true}}, "all draining"},
		{bounded, 16, []Member{{ID: "", Capacity: 1}}, "member 0: empty ID"},
		{bounded, 16, []Member{{ID: "a"}}, `member "a": capacity 0`},
		{bounded, 16, []Member{{ID: "a", Capacity: 1}, {ID: "a", Capacity: 2, Draining: true}}, `member "a" listed twice`},
		{Config{LoadFactor: 0.5}, 16, workers("w", 1), "load factor 0.5"},
		{Config{LoadFactor: math.NaN()}, 16, workers("w", 1), "load factor NaN"},
		{bounded, 1 << 16, workers("w", 65), "more than"},
	} {
		_, err := Assign(tc.cfg, 1, tc.p, tc.ms)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Assign(%+v, %d, %d members) = %v, want an error containing %q", tc.cfg, tc.p, len(tc.ms), err, tc.want)
		}
	}
	if _, err := Assign(bounded, 1, 4, nil); !errors.Is(err, ErrNoOwner) {
		t.Errorf("no members: %v, want ErrNoOwner", err)
	}
}

func TestMoves(t *testing.T) {
	first := Restore(1, []string{"a", "a", "b"})
	ms := mustMoves(t, Assignment{}, first)
	if want := []Move{{0, "", "a"}, {1, "", "a"}, {2, "", "b"}}; !slices.Equal(ms, want) {
		t.Errorf("moves from nothing = %v, want %v", ms, want)
	}
	second := Restore(2, []string{"a", "c", "b"})
	if ms, want := mustMoves(t, first, second), []Move{{1, "a", "c"}}; !slices.Equal(ms, want) {
		t.Errorf("moves = %v, want %v", ms, want)
	}
	if _, err := Moves(second, first); err == nil || !strings.Contains(err.Error(), "epoch 2 to epoch 1") {
		t.Errorf("moving back an epoch: %v, want an error", err)
	}
	if _, err := Moves(first, Restore(3, []string{"a"})); err == nil || !strings.Contains(err.Error(), "from 3 partitions to 1") {
		t.Errorf("changed partition count: %v, want an error", err)
	}
	// Restore copies: the caller's slice may be reused.
	owners := []string{"x"}
	r := Restore(5, owners)
	owners[0] = "y"
	if r.Owner(0) != "x" || r.Owner(1) != "" || r.Owner(-1) != "" {
		t.Errorf("Restore shares or Owner misreads: %q %q %q", r.Owner(0), r.Owner(1), r.Owner(-1))
	}
}

func TestConfigFlags(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg.RegisterFlags(fs, "assign-")
	if cfg.LoadFactor != DefaultLoadFactor || cfg.Validate() != nil {
		t.Fatalf("default %+v: %v", cfg, cfg.Validate())
	}
	if err := fs.Parse([]string{"--assign-load-factor", "0"}); err != nil || cfg.LoadFactor != 0 || cfg.Validate() != nil {
		t.Fatalf("load factor 0 (unbounded): %+v, %v, %v", cfg, err, cfg.Validate())
	}
	cfg.LoadFactor = 17
	if err := cfg.Validate(); err == nil {
		t.Error("load factor 17 accepted")
	}
}

// BenchmarkJoin times one assignment of 256 partitions and reports, over clusters of
// random names, the fraction of partitions that moves when a 4th worker joins three
// ("moved/P") and the fraction that moved between old workers ("stray/P").
func BenchmarkJoin(b *testing.B) {
	for _, cfg := range []Config{unbounded, tight, bounded} {
		for _, p := range []int{16, 64, 256} {
			b.Run(fmt.Sprintf("load=%v/P=%d", cfg.LoadFactor, p), func(b *testing.B) {
				ms := workers("bench", 4)
				for b.Loop() {
					mustAssign(b, cfg, 1, p, ms)
				}
				moved, stray := joinStats(b, cfg, p, 3, 100)
				b.ReportMetric(moved, "moved/P")
				b.ReportMetric(stray, "stray/P")
			})
		}
	}
}

// BenchmarkAssignLarge: the biggest cluster we plan for, 256 partitions among 64 workers.
func BenchmarkAssignLarge(b *testing.B) {
	ms := workers("large", 64)
	b.ReportAllocs()
	for b.Loop() {
		mustAssign(b, bounded, 1, 256, ms)
	}
}
