package partition

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
)

// Member is a worker as the assignment sees it.
type Member struct {
	ID       string // stable, unique node name (the memberlist node name)
	Capacity uint32 // relative weight, >= 1: a member of capacity 2 is meant to own twice as many partitions as one of capacity 1
	Draining bool   // an operator asked it to hand everything over: it owns nothing
}

// Config configures the assignment function.
type Config struct {
	// LoadFactor bounds every member's load: it owns at most
	// ceil(LoadFactor × partitions × capacity / total capacity) partitions. 0 turns the
	// bound off (plain weighted rendezvous hashing: exact minimal movement, balanced only
	// on average). See the package documentation for the trade-off.
	LoadFactor float64
}

// DefaultLoadFactor is the load bound the flag defaults to.
const DefaultLoadFactor = 1.25

// RegisterFlags registers the assignment's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.Float64Var(&c.LoadFactor, prefix+"load-factor", DefaultLoadFactor,
		"no worker owns more than ceil(load-factor × partitions × its capacity / total capacity) partitions; 0 = unbounded rendezvous hashing (exact minimal movement, balanced only on average)")
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	if c.LoadFactor != 0 && !(c.LoadFactor >= 1 && c.LoadFactor <= 16) { // also catches NaN
		return fmt.Errorf("load factor %v: must be 0 (unbounded) or between 1 and 16", c.LoadFactor)
	}
	return nil
}

// Limits of Assign's input, so one call stays well under a millisecond per thousand pairs
// and a wrong argument (a partition count read from the wrong field) fails loudly.
const (
	MaxPartitions = 1 << 16
	MaxPairs      = 1 << 22 // partitions × members that are not draining
)

// ErrNoOwner means no member can own partitions: none joined, or every one is draining.
// The coordinator keeps its current assignment and waits.
var ErrNoOwner = errors.New("no worker can own partitions")

// Assignment maps every partition to the member that owns it, in one epoch. The zero value
// is the empty assignment of epoch 0 (no partitions), the one a cluster starts from.
type Assignment struct {
	Epoch  int64    // the coordinator's epoch; a store write carries it in records.Fence
	owners []string // by partition
}

// Restore is the assignment of epoch whose partition p is owned by owners[p], for a
// coordinator that rebuilds its view from stored state. It copies owners.
func Restore(epoch int64, owners []string) Assignment {
	return Assignment{Epoch: epoch, owners: slices.Clone(owners)}
}

// Partitions is the number of partitions assigned.
func (a Assignment) Partitions() int { return len(a.owners) }

// Owner is the member that owns partition p, or "" when p is out of range.
func (a Assignment) Owner(p int32) string {
	if p < 0 || int(p) >= len(a.owners) {
		return ""
	}
	return a.owners[p]
}

// Owners is a copy of the owner of every partition, by partition.
func (a Assignment) Owners() []string { return slices.Clone(a.owners) }

// Owned lists the partitions member owns, ascending.
func (a Assignment) Owned(member string) []int32 {
	var ps []int32
	for p, o := range a.owners {
		if o == member {
			ps = append(ps, int32(p))
		}
	}
	return ps
}

// Loads counts the partitions each owner owns.
func (a Assignment) Loads() map[string]int {
	l := make(map[string]int)
	for _, o := range a.owners {
		l[o]++
	}
	return l
}

// Move is one partition changing owner between two epochs. From is "" when the partition
// had no owner (the first assignment).
type Move struct {
	Partition int32
	From, To  string
}

// Moves lists, by partition, the partitions whose owner differs between from and to: the
// hand-overs that take the cluster from one epoch to the next. Each is done
// make-before-break (the coordinator's protocol): To loads the partition and reports it
// caught up while From still serves it; only then does From drop it.
func Moves(from, to Assignment) ([]Move, error) {
	if to.Epoch <= from.Epoch {
		return nil, fmt.Errorf("cannot move from epoch %d to epoch %d: epochs only go forward", from.Epoch, to.Epoch)
	}
	if len(from.owners) != 0 && len(from.owners) != len(to.owners) {
		return nil, fmt.Errorf("cannot move from %d partitions to %d: a changed partition count remaps contests (murmur2 %% n), which is a re-partition, not a hand-over",
			len(from.owners), len(to.owners))
	}
	var ms []Move
	for p, o := range to.owners {
		var prev string
		if len(from.owners) != 0 {
			prev = from.owners[p]
		}
		if prev != o {
			ms = append(ms, Move{Partition: int32(p), From: prev, To: o})
		}
	}
	return ms, nil
}

// Assign computes the assignment of epoch for partitions among members. It is a pure,
// deterministic function of its arguments: the order of members does not matter, and the
// same input always yields the same owners, in any process. Draining members own nothing.
//
// Every partition p ranks the members by a weighted rendezvous score,
// capacity / -ln(u(p, member)) with u a hash of (p, member ID) in (0, 1), which gives each
// member a share of first choices proportional to its capacity. With cfg.LoadFactor 0 a
// partition goes to its first choice. Otherwise (partition, member) pairs are taken in
// descending score order and a pair is granted while its partition has no owner and its
// member is under its cap, ceil(LoadFactor × partitions × capacity / total capacity); the
// result is the unique stable matching between partitions and capped members.
func Assign(cfg Config, epoch int64, partitions int, members []Member) (Assignment, error) {
	if err := cfg.Validate(); err != nil {
		return Assignment{}, err
	}
	if epoch < 0 {
		return Assignment{}, fmt.Errorf("epoch %d: must not be negative", epoch)
	}
	if partitions < 1 || partitions > MaxPartitions {
		return Assignment{}, fmt.Errorf("%d partitions: must be between 1 and %d", partitions, MaxPartitions)
	}
	eligible := make([]Member, 0, len(members))
	for i, m := range members {
		if m.ID == "" {
			return Assignment{}, fmt.Errorf("member %d: empty ID", i)
		}
		if m.Capacity == 0 {
			return Assignment{}, fmt.Errorf("member %q: capacity 0, must be >= 1 (drain it instead)", m.ID)
		}
		if !m.Draining {
			eligible = append(eligible, m)
		}
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return Assignment{}, fmt.Errorf("member %q listed twice", ids[i])
		}
	}
	if len(eligible) == 0 {
		return Assignment{}, fmt.Errorf("%w: %d members, all draining", ErrNoOwner, len(members))
	}
	if partitions*len(eligible) > MaxPairs {
		return Assignment{}, fmt.Errorf("%d partitions × %d members: more than %d pairs", partitions, len(eligible), MaxPairs)
	}
	// Member index order is ID order, so ties (and everything else) ignore input order.
	slices.SortFunc(eligible, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	hashes := make([]uint64, len(eligible))
	for i, m := range eligible {
		hashes[i] = fnv64a(m.ID)
	}
	owners := make([]string, partitions)
	if cfg.LoadFactor == 0 {
		for p := range owners {
			best, bestScore := 0, -1.0
			for i, m := range eligible {
				if s := score(p, hashes[i], m.Capacity); s > bestScore { // strict: the lower ID keeps a tie
					best, bestScore = i, s
				}
			}
			owners[p] = eligible[best].ID
		}
		return Assignment{Epoch: epoch, owners: owners}, nil
	}

	caps := Caps(cfg.LoadFactor, partitions, eligible)
	type pair struct {
		score float64
		p, m  int32
	}
	pairs := make([]pair, 0, partitions*len(eligible))
	for p := range partitions {
		for i, m := range eligible {
			pairs = append(pairs, pair{score(p, hashes[i], m.Capacity), int32(p), int32(i)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.m, b.m); c != 0 {
			return c
		}
		return cmp.Compare(a.p, b.p)
	})
	load := make([]int, len(eligible))
	left := partitions
	for _, pr := range pairs {
		if owners[pr.p] != "" || load[pr.m] >= caps[pr.m] {
			continue
		}
		owners[pr.p] = eligible[pr.m].ID
		load[pr.m]++
		if left--; left == 0 {
			break
		}
	}
	if left != 0 {
		panic(fmt.Sprintf("BUG: %d of %d partitions left unowned, caps %v", left, partitions, caps))
	}
	return Assignment{Epoch: epoch, owners: owners}, nil
}

// Caps is the most partitions each of members may own under loadFactor (>= 1):
// ceil(loadFactor × partitions × capacity / total capacity), computed in integers (the
// factor rounded to thousandths) so every process agrees. Draining members are not
// skipped: pass only the eligible ones. The caps sum to at least partitions.
func Caps(loadFactor float64, partitions int, members []Member) []int {
	var total uint64
	for _, m := range members {
		total += uint64(m.Capacity)
	}
	f := uint64(math.Round(loadFactor * 1000))
	caps := make([]int, len(members))
	for i, m := range members {
		num := uint64(partitions) * uint64(m.Capacity) * f
		den := total * 1000
		caps[i] = int((num + den - 1) / den)
	}
	return caps
}

// score is member's weighted rendezvous score for partition p: capacity / -ln(u), u in (0, 1)
// uniform from the hash of (p, member). The member with the highest score wins; the
// probability that a member wins is its capacity's share of the total.
func score(p int, memberHash uint64, capacity uint32) float64 {
	h := mix64(memberHash ^ mix64(uint64(p)+0x9e3779b97f4a7c15))
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return float64(capacity) / -math.Log(u)
}

// fnv64a is FNV-1a of s.
func fnv64a(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// mix64 is SplitMix64's finalizer: a bijection that spreads every input bit over the output.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
