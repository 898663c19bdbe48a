package engine

import (
	"cmp"
	"slices"
)

// UseWideKeys makes p's cycles use the wide key table even when dense keys would do, so
// tests can check both gathers.
func UseWideKeys(p *Partition) { p.st.noDense = true }

// DenseKeys reports whether p's last cycle used the dense key table.
func DenseKeys(p *Partition) bool { return p.st.denseMode }

// SetAppendParallelism makes b.Append use up to workers goroutines (1: the serial path
// only), one per minRows rows of a batch.
func SetAppendParallelism(b *Builder, workers, minRows int) { b.workers, b.minRows = workers, minRows }

// BuilderTables is b's state without its scratch space, for reflect.DeepEqual.
func BuilderTables(b *Builder) Builder {
	c := *b
	c.fps, c.ts, c.checks, c.kind, c.first, c.list = nil, nil, nil, nil, nil, nil
	c.workers, c.minRows = 0, 0
	c.teamIdx.sparse = canonical(b.teamIdx.sparse)
	return c
}

// canonical is t's ids put in ascending order into a new table: where a linear-probing
// table puts an id depends on the order the ids came in, which Append's parallel path
// does not keep.
func canonical(t idTable) idTable {
	type kv struct {
		id int64
		v  uint32
	}
	var all []kv
	for _, s := range t.slots {
		if s.v != 0 {
			all = append(all, kv{s.id, s.v - 1})
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return cmp.Compare(a.id, b.id) })
	var c idTable
	for _, e := range all {
		c.put(e.id, e.v)
	}
	return c
}

// NewTrustedBuilderSortMin is NewTrustedBuilder finding teams by a sort of their ids
// from sortMin rows on (0: always, where the ids allow; a huge value: never).
func NewTrustedBuilderSortMin(lineupSize int, contest, entry, user, team []int64, lineup func(i int) ([]int32, int32, int32), sortMin int) (*Builder, error) {
	return newTrustedBuilder(lineupSize, contest, entry, user, team, lineup, sortMin)
}

// TeamRuns exposes teamRuns.
func TeamRuns(team []int64) ([]uint32, int, bool) { return teamRuns(team) }
