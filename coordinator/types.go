package coordinator

import (
	"slices"
	"time"
)

// Tick starts one cycle on every worker: the same fields as worker.Tick (so a worker's
// adapter is one line) plus the epoch of the assignment in force when it was sent.
type Tick struct {
	// Cycle never goes backwards, across coordinator restarts too.
	Cycle int64 `json:"cycle"`
	// Points is the points topic's partition -> end offset captured at the tick: every
	// worker ranks this cycle against the totals below these offsets.
	Points map[int32]int64 `json:"points"`
	// At is when the cycle started (its results' as_of).
	At time.Time `json:"at"`
	// Epoch is the assignment's epoch at the tick.
	Epoch int64 `json:"epoch"`
	// Hold lists the matches not to rank at this tick: their last open cycle is not
	// committed yet (the barrier; records/versions.go). Every partition of a match thus
	// writes the same cycles.
	Hold []int64 `json:"hold,omitempty"`
}

// Assignment is the coordinator's table in one epoch, as workers and operators see it:
// per partition its writer (the only member whose writes for it count in this epoch) and
// the member loading it to take it over ("" when none).
type Assignment struct {
	Epoch   int64    `json:"epoch"`
	Writer  []string `json:"writer"`
	Loading []string `json:"loading"`
}

// Writes lists the partitions member writes, ascending.
func (a Assignment) Writes(member string) []int32 { return indexes(a.Writer, member) }

// Loads lists the partitions member is loading, ascending.
func (a Assignment) Loads(member string) []int32 { return indexes(a.Loading, member) }

func indexes(s []string, member string) []int32 {
	var ps []int32
	for p, m := range s {
		if m == member && m != "" {
			ps = append(ps, int32(p))
		}
	}
	return ps
}

func (a Assignment) clone() Assignment {
	return Assignment{Epoch: a.Epoch, Writer: slices.Clone(a.Writer), Loading: slices.Clone(a.Loading)}
}

// StageTime is one stage of a worker's cycle and how long it took.
type StageTime struct {
	Stage   string  `json:"stage"`
	Seconds float64 `json:"seconds"`
}

// Report is a worker's account of one partition's cycle, sent after the cycle's writes
// for that partition succeeded.
type Report struct {
	Worker    string `json:"worker"`
	Partition int32  `json:"partition"`
	Epoch     int64  `json:"epoch"` // the epoch the worker wrote under
	Cycle     int64  `json:"cycle"`
	// Matches are the matches with contests in this partition, every one written at
	// Cycle. A match absent here has nothing in this partition: it does not wait for it.
	Matches []int64 `json:"matches"`
	// Details are the matches' shares in the partition, as its SetMatchPart records say
	// (a match in Details counts as listed in Matches). A detail's Cycle may be below the
	// report's: that match's last write in the partition (a final waiting for a replay).
	Details  []MatchReport `json:"details,omitempty"`
	Entries  int64         `json:"entries"`
	Contests int64         `json:"contests"`
	Records  int64         `json:"records"` // records written
	Stages   []StageTime   `json:"stages"`
}

// Leave is a stopping worker's request that its partitions be moved away before it
// goes: a drain of itself (a worker that stops gracefully hands its partitions over
// make-before-break instead of having them taken over after it left).
type Leave struct {
	Worker string `json:"worker"`
}

// MatchReport is one match's share of one partition at a report.
type MatchReport struct {
	Match    int64  `json:"match"`
	State    string `json:"state"`
	Cycle    int64  `json:"cycle"`
	AsOf     int64  `json:"as_of"` // epoch ms
	Entries  int64  `json:"entries"`
	Contests int64  `json:"contests"`
}

// CaughtUp is a loading member's word that it replayed a partition up to the end offsets
// it found when it started loading it under Epoch (or later).
type CaughtUp struct {
	Worker    string `json:"worker"`
	Partition int32  `json:"partition"`
	Epoch     int64  `json:"epoch"`
}

// Status is the coordinator's view for operators (GET /status).
type Status struct {
	Node       string         `json:"node"`
	Epoch      int64          `json:"epoch"`
	Cycle      int64          `json:"cycle"` // the last tick's
	Interval   string         `json:"interval"`
	Partitions int            `json:"partitions"`
	Members    []MemberStatus `json:"members"`
	Workers    []WorkerStatus `json:"workers"`
	Unassigned []int32        `json:"unassigned,omitempty"` // partitions without a writer (no worker yet)
	Cycles     []CycleStatus  `json:"cycles"`               // newest first
	Matches    []MatchStatus  `json:"matches"`
}

// MemberStatus is one gossip member.
type MemberStatus struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Addr     string `json:"addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	Capacity uint32 `json:"capacity"`
	Draining bool   `json:"draining,omitempty"`
}

// WorkerStatus is what one worker writes and loads in the current epoch.
type WorkerStatus struct {
	Name     string  `json:"name"`
	Writing  []int32 `json:"writing"`
	Loading  []int32 `json:"loading"`
	Draining bool    `json:"draining,omitempty"`
	Alive    bool    `json:"alive"`
}

// CycleStatus sums the reports of one cycle. Stages hold each stage's slowest partition.
type CycleStatus struct {
	Cycle    int64       `json:"cycle"`
	At       time.Time   `json:"at"`
	Reports  int         `json:"reports"` // partitions reported, of Partitions
	Entries  int64       `json:"entries"`
	Contests int64       `json:"contests"`
	Records  int64       `json:"records"`
	Stages   []StageTime `json:"stages"`
}

// MatchStatus is a match's visible cycle: the last cycle every partition holding it has
// reported written.
type MatchStatus struct {
	Match      int64   `json:"match"`
	Visible    int64   `json:"visible"`
	Partitions []int32 `json:"partitions"`
}
