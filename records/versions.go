package records

// Two versions of a contest and of a page: strict match-wide visibility
// (docs/CLUSTER.md, "Visibility").
//
// A match's cycle N becomes visible to readers only once every partition holding it has
// written N (the commit, SetMatch's cycle); until then readers see cycle N-1 whole. A
// contest or page record is overwritten in place when it changes, so a record of SetContest
// or SetPage keeps its previous version too: a write with KeepPrev asks the store to copy
// the stored record's PrevBins to their PrevName bins before writing the new ones (one
// atomic operation on the record: Aerospike's expression writes, the embedded store's
// Put). A writer writes cycle N of a match only once its cycle N-1 is committed (the
// cluster's barrier), so the previous version is always a committed one; a reader picks
// the newest version at or below the match's committed cycle (ContestAt, PageAt).

// PrevBins are the bins of set whose previous value a KeepPrev write keeps (nil: the set
// is not versioned).
func PrevBins(set string) []string {
	switch set {
	case SetContest:
		return contestVersioned
	case SetPage:
		return pageVersioned
	}
	return nil
}

var (
	contestVersioned = []string{"cycle", "as_of", "total", "hist", "rows"}
	pageVersioned    = []string{"cycle", "rows"}
)

// PrevName is the bin that keeps bin's previous value (constants for the versioned
// bins: readers call it on every answer).
func PrevName(bin string) string {
	switch bin {
	case "cycle":
		return "p_cycle"
	case "as_of":
		return "p_as_of"
	case "total":
		return "p_total"
	case "hist":
		return "p_hist"
	case "rows":
		return "p_rows"
	}
	return "p_" + bin
}

// PrevIsInt reports whether a versioned bin holds an int64 (else a []byte): a store that
// copies it by an expression must read it as its type.
func PrevIsInt(bin string) bool { return bin == "cycle" || bin == "as_of" || bin == "total" }

// Versioned reports whether records of set are written with KeepPrev.
func Versioned(set string) bool { return PrevBins(set) != nil }

// ContestAt decodes the newest version of a contest record at or below cycle committed:
// the current one, or the previous one (ok false when neither is: a contest first written
// at a cycle not committed yet, or written twice since the commit).
func ContestAt[F Fields](b F, committed int64) (c Contest, ok bool, err error) {
	if b.Int("cycle") <= committed {
		c, err = ContestFrom(b)
		return c, err == nil, err
	}
	return contestPrev(b, committed)
}

func contestPrev[F Fields](b F, committed int64) (Contest, bool, error) {
	pc := b.Int(PrevName("cycle"))
	if pc == 0 || pc > committed {
		return Contest{}, false, nil
	}
	c := Contest{ID: b.Int("id"), Match: b.Int("match"), Cycle: pc, AsOf: b.Int(PrevName("as_of")),
		Total: b.Int(PrevName("total")), PageSize: b.Int("page_size")}
	var err error
	if c.Hist, err = DecodeHist(b.Bytes(PrevName("hist"))); err != nil {
		return c, false, err
	}
	if c.First, err = DecodeRows(b.Bytes(PrevName("rows"))); err != nil {
		return c, false, err
	}
	return c, true, nil
}

// PageAt decodes the newest version of a page record at or below cycle atMost (the
// version of its contest shown): ok false when neither version is.
func PageAt[F Fields](b F, atMost int64) (Page, bool, error) {
	if b.Int("cycle") <= atMost {
		p, err := PageFrom(b)
		return p, err == nil, err
	}
	pc := b.Int(PrevName("cycle"))
	if pc == 0 || pc > atMost {
		return Page{}, false, nil
	}
	rows, err := DecodeRows(b.Bytes(PrevName("rows")))
	return Page{Contest: b.Int("contest"), No: int(b.Int("page")), Cycle: pc, Rows: rows}, err == nil, err
}
