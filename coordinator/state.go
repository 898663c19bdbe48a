package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fantasy/leaderboard/internal/atomicfile"
)

// stateFile is the coordinator's persisted state in DataDir.
const stateFile = "coordinator.state"

// persisted is what survives a coordinator restart: the cycle high-water mark (every
// number handed out is at or below it), the epoch and the assignment table of that epoch.
type persisted struct {
	CycleHWM int64    `json:"cycle_hwm"`
	Epoch    int64    `json:"epoch"`
	Writer   []string `json:"writer,omitempty"`
	Loading  []string `json:"loading,omitempty"`
	// Finals: match -> partition -> the cycle it wrote the match's final standings at,
	// for matches not committed to the complete namespace yet (a partition stops listing
	// a match once written, so a restart could not learn it again). Completed: the
	// matches committed there (the complete matches list).
	Finals    map[int64]map[int32]int64 `json:"finals,omitempty"`
	Completed []int64                   `json:"completed,omitempty"`
}

func loadState(dir string) (persisted, error) {
	var st persisted
	path := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("cannot read the coordinator state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("coordinator state %s is not valid (%v); remove it only if no cycle of this deployment is in the store", path, err)
	}
	if st.CycleHWM < 0 || st.Epoch < 0 || len(st.Writer) != len(st.Loading) {
		return st, fmt.Errorf("coordinator state %s: cycle %d, epoch %d, %d writers, %d loaders: not a state this coordinator writes", path, st.CycleHWM, st.Epoch, len(st.Writer), len(st.Loading))
	}
	return st, nil
}

// saveState writes st to a temporary file, fsyncs it, renames it over the state file and
// fsyncs the directory: after it returns, a crash cannot lose st.
func saveState(dir string, st persisted) error {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("BUG: cannot encode the coordinator state: %v", err))
	}
	if err := atomicfile.Write(dir, stateFile, append(b, '\n')); err != nil {
		return fmt.Errorf("cannot write the coordinator state: %w", err)
	}
	return nil
}
