package records

import (
	"fmt"
	"sort"
	"unsafe"
)

// Bin names in the packed form (EncodeBins). A bin's name is written as one byte, its
// length, then the name; Aerospike's bin names are at most MaxBinName (15) bytes, so a
// first byte above 15 is never a length. The project's own bin names (every name a record
// of this package writes, the p_ bins of versions.go and the fence bins) are written as
// that one byte alone: codeBase + their index in codedNames. An entry record's nine bin
// names took 55 of its ~126 packed bytes; coded, they take 9.
//
//	name   = len(name) <= 15 | code (codeBase .. codeBase+len(codedNames)-1)
//	record = uvarint count | (name | tag | value)*
//
// The bins of a record stay sorted by their NAME (not by the byte that codes it) and
// distinct, whichever form each is in, so a record holds at most one bin of a name.
// Readers take both forms, so a record packed by an older build (every name literal:
// live.arrow and complete.arrow files saved before the codes) reads as before; writers
// (Pack, EncodeBins, the packers of packrec.go, Merge) always code the names they know
// and write the others (a devstore client's own bins) literally.
//
// The codes are part of the stored format: codedNames is append-only. Never reorder or
// remove a name; a new bin name gets the next code at the end.

// MaxBinName is the longest bin name (Aerospike's limit): Pack refuses a longer one.
const MaxBinName = 15

// codeBase is the first byte that codes a name.
const codeBase = MaxBinName + 1

// The codes of the well-known names (codeBase + their index in codedNames).
const (
	codeAsOf byte = codeBase + iota
	codeChunk
	codeChunks
	codeContest
	codeContests
	codeCycle
	codeEntries
	codeHist
	codeID
	codeIDs
	codeLineup
	codeLog
	codeMatch
	codePAsOf
	codePCycle
	codePHist
	codePRows
	codePTotal
	codePage
	codePageSize
	codePart
	codeParts
	codeRows
	codeState
	codeTeam
	codeTotal
	codeUser
	codeWCycle
	codeWEpoch
	codeEnts
	codeEnd // one past the last code
)

// codedNames[c-codeBase] is the name coded c. Append-only (see above).
var codedNames = [codeEnd - codeBase]string{
	codeAsOf - codeBase:     "as_of",
	codeChunk - codeBase:    "chunk",
	codeChunks - codeBase:   "chunks",
	codeContest - codeBase:  "contest",
	codeContests - codeBase: "contests",
	codeCycle - codeBase:    "cycle",
	codeEntries - codeBase:  "entries",
	codeHist - codeBase:     "hist",
	codeID - codeBase:       "id",
	codeIDs - codeBase:      "ids",
	codeLineup - codeBase:   "lineup",
	codeLog - codeBase:      "log",
	codeMatch - codeBase:    "match",
	codePAsOf - codeBase:    "p_as_of",
	codePCycle - codeBase:   "p_cycle",
	codePHist - codeBase:    "p_hist",
	codePRows - codeBase:    "p_rows",
	codePTotal - codeBase:   "p_total",
	codePage - codeBase:     "page",
	codePageSize - codeBase: "page_size",
	codePart - codeBase:     "part",
	codeParts - codeBase:    "parts",
	codeRows - codeBase:     "rows",
	codeState - codeBase:    "state",
	codeTeam - codeBase:     "team",
	codeTotal - codeBase:    "total",
	codeUser - codeBase:     "user",
	codeWCycle - codeBase:   FenceCycleBin,
	codeWEpoch - codeBase:   FenceEpochBin,
	codeEnts - codeBase:     "ents",
}

// nameCodes maps a well-known name to its code.
var nameCodes = func() map[string]byte {
	m := make(map[string]byte, len(codedNames))
	for i, n := range codedNames {
		if n == "" || len(n) > MaxBinName {
			panic(fmt.Sprintf("BUG: records: coded bin name %d is %q", i, n))
		}
		m[n] = byte(codeBase + i)
	}
	return m
}()

// nameRank[c-codeBase] is the place of the name coded c in the sorted coded names: two
// coded names compare as their ranks, without comparing strings.
var nameRank = func() (r [len(codedNames)]uint8) {
	idx := make([]int, len(codedNames))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return codedNames[idx[a]] < codedNames[idx[b]] })
	for rank, i := range idx {
		r[i] = uint8(rank)
	}
	return r
}()

// codeOf returns name's code, 0 when it has none (it is written literally).
func codeOf(name string) byte { return nameCodes[name] }

// nameSize is the packed length of a bin's name.
func nameSize(name string) int {
	if codeOf(name) != 0 {
		return 1
	}
	return 1 + len(name)
}

// appendName appends a bin's name in the packed form: its code, or its length and bytes
// (a name of at most MaxBinName bytes: Pack checks).
func appendName(b []byte, name string) []byte {
	if c := codeOf(name); c != 0 {
		return append(b, c)
	}
	return append(append(b, byte(len(name))), name...)
}

// readName reads the bin name at the start of b: the name (a coded one as the package's
// constant, a literal one aliasing b, which must not change while it is used), its code
// (0 for a literal name) and the bytes after it; ok is false for a malformed name (an
// unknown code, a length past the end).
func readName(b []byte) (name string, code byte, rest []byte, ok bool) {
	if len(b) == 0 {
		return "", 0, nil, false
	}
	c := b[0]
	if c <= MaxBinName {
		if int(c) >= len(b) {
			return "", 0, nil, false
		}
		return unsafe.String(unsafe.SliceData(b[1:]), int(c)), 0, b[1+int(c):], true
	}
	if c >= codeEnd {
		return "", 0, nil, false
	}
	return codedNames[c-codeBase], c, b[1:], true
}

// nameLess reports whether the bin named a (code ac, 0 if literal) sorts before the one
// named b (code bc): by name, whatever the form of each.
func nameLess(a string, ac byte, b string, bc byte) bool {
	if ac != 0 && bc != 0 {
		return nameRank[ac-codeBase] < nameRank[bc-codeBase]
	}
	return a < b
}
