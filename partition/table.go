package partition

import (
	"fmt"
	"slices"
)

// Table is, in one epoch, who writes each partition and who, during a hand-over, is loading
// it: the coordinator's hand-over state (docs/CLUSTER.md). Every partition has exactly one
// writer, the only member whose writes for it the store accepts in this epoch. The zero
// value is the empty table of epoch 0.
type Table struct {
	Epoch   int64
	writer  []string // by partition; "" only before the first step
	loading []string // by partition; "" when no hand-over is under way
}

// RestoreTable is the table of epoch with the given writers and loaders, for a coordinator
// rebuilding its view from the stored table. It copies the slices.
func RestoreTable(epoch int64, writer, loading []string) (Table, error) {
	if len(writer) != len(loading) {
		return Table{}, fmt.Errorf("table of epoch %d: %d writers but %d loaders", epoch, len(writer), len(loading))
	}
	if epoch < 0 {
		return Table{}, fmt.Errorf("table epoch %d: must not be negative", epoch)
	}
	return Table{Epoch: epoch, writer: slices.Clone(writer), loading: slices.Clone(loading)}, nil
}

// Partitions is the number of partitions in the table.
func (t Table) Partitions() int { return len(t.writer) }

// Writer is the member that writes partition p ("" when p is out of range or unassigned).
func (t Table) Writer(p int32) string {
	if p < 0 || int(p) >= len(t.writer) {
		return ""
	}
	return t.writer[p]
}

// Loading is the member loading partition p to take it over, or "".
func (t Table) Loading(p int32) string {
	if p < 0 || int(p) >= len(t.loading) {
		return ""
	}
	return t.loading[p]
}

// Stable reports whether every partition is written by its owner in target and nothing is
// loading: the hand-overs toward target are done.
func (t Table) Stable(target Assignment) bool {
	if len(t.writer) != target.Partitions() {
		return false
	}
	for p, w := range t.writer {
		if w != target.owners[p] || t.loading[p] != "" {
			return false
		}
	}
	return true
}

// ChangeKind says what a Change does.
type ChangeKind uint8

const (
	// Load: To starts loading the partition while From (the writer) keeps writing it.
	Load ChangeKind = iota + 1
	// Handover: To, caught up, becomes the writer; From drops the partition.
	Handover
	// Takeover: To becomes the writer at once, because there is no writer or From is gone:
	// nothing can be made before the break. To's caught-up gate holds its writes until it
	// has replayed the partition.
	Takeover
	// Cancel: From stops loading the partition (it is no longer the target, or is gone).
	Cancel
)

func (k ChangeKind) String() string {
	switch k {
	case Load:
		return "load"
	case Handover:
		return "handover"
	case Takeover:
		return "takeover"
	case Cancel:
		return "cancel"
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change is one partition's step from one epoch to the next, for the coordinator's log and
// for the messages it sends to the members concerned.
type Change struct {
	Partition int32
	Kind      ChangeKind
	From, To  string
}

// Step is the table of the next epoch (Epoch + 1) on the way from t toward target, and the
// changes that make it; when nothing changes it returns t itself, same epoch, and no
// changes. alive reports whether a member is still in the cluster (a draining member is
// alive: it hands over make-before-break); ready reports whether member has loaded
// partition p up to the end offsets it found when it started (caught up).
//
// For each partition, with W its writer, L its loader and T its owner in target:
//   - W == T: nothing to do; a load under way is cancelled;
//   - W is "" or not alive: T takes over at once (Takeover); a load under way by another
//     member is cancelled;
//   - L == T and ready(p, T): Handover, W drops p;
//   - L != T: T starts loading (Load), and a load under way by L is cancelled;
//   - otherwise (T is loading, not ready yet): nothing.
//
// So in every epoch each partition has exactly one writer, and a writer that is alive only
// ever hands its partition to a member that reported it caught up.
func (t Table) Step(target Assignment, alive func(member string) bool, ready func(p int32, member string) bool) (Table, []Change, error) {
	n := target.Partitions()
	if n == 0 {
		return t, nil, fmt.Errorf("cannot step toward an empty assignment")
	}
	if len(t.writer) != 0 && len(t.writer) != n {
		return t, nil, fmt.Errorf("cannot step from %d partitions to %d: a changed partition count remaps contests, which is a re-partition", len(t.writer), n)
	}
	var changes []Change
	next := Table{Epoch: t.Epoch + 1, writer: make([]string, n), loading: make([]string, n)}
	for i := range n {
		p := int32(i)
		w, l, to := t.Writer(p), t.Loading(p), target.owners[i]
		next.writer[i], next.loading[i] = w, l
		if l != "" && l != to { // whatever else happens, l's load is no longer wanted
			changes = append(changes, Change{p, Cancel, l, to})
			next.loading[i] = ""
		}
		switch {
		case w == to:
			next.loading[i] = ""
		case w == "" || !alive(w):
			next.writer[i], next.loading[i] = to, ""
			changes = append(changes, Change{p, Takeover, w, to})
		case l == to && ready(p, to):
			next.writer[i], next.loading[i] = to, ""
			changes = append(changes, Change{p, Handover, w, to})
		case l != to:
			next.loading[i] = to
			changes = append(changes, Change{p, Load, w, to})
		}
	}
	if len(changes) == 0 {
		return t, nil, nil
	}
	return next, changes, nil
}
