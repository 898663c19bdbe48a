package aerospikesink

import (
	as "github.com/aerospike/aerospike-client-go/v7"
	particle "github.com/aerospike/aerospike-client-go/v7/types/particle_type"

	"github.com/fantasy/leaderboard/records"
)

// FenceExpression is the filter expression of a write fenced f: true (write) unless the
// stored record carries a newer fence, records.Fence.Older's rule evaluated on the
// server:
//
//	cond(
//	  bin_type(w_epoch) != INTEGER, true,        # no fence stored (or not ours): accept
//	  int_bin(w_epoch) > f.Epoch,   false,       # a newer epoch owns the record
//	  int_bin(w_epoch) < f.Epoch,   true,        # an older epoch: accept
//	  bin_type(w_cycle) != INTEGER, true,        # same epoch, no cycle stored: accept
//	  int_bin(w_cycle) <= f.Cycle)               # same epoch: an equal or older cycle is replaced
//
// A real server reads a missing bin as "unknown", not 0, and a filter that comes out
// unknown refuses the write; the bin_type guards keep every branch defined, so a record
// written without a fence (or not yet existing) always accepts. A refused write comes
// back FILTERED_OUT.
func FenceExpression(f records.Fence) *as.Expression {
	integer := as.ExpIntVal(int64(particle.INTEGER))
	epoch, cycle := as.ExpIntBin(records.FenceEpochBin), as.ExpIntBin(records.FenceCycleBin)
	return as.ExpCond(
		as.ExpNotEq(as.ExpBinType(records.FenceEpochBin), integer), as.ExpBoolVal(true),
		as.ExpGreater(epoch, as.ExpIntVal(f.Epoch)), as.ExpBoolVal(false),
		as.ExpLess(epoch, as.ExpIntVal(f.Epoch)), as.ExpBoolVal(true),
		as.ExpNotEq(as.ExpBinType(records.FenceCycleBin), integer), as.ExpBoolVal(true),
		as.ExpLessEq(cycle, as.ExpIntVal(f.Cycle)),
	)
}
