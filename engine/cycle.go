package engine

import (
	"math"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/fantasy/leaderboard/internal/hugepage"
)

// Stage names, in the order a cycle runs them.
const (
	StageTeamPoints = "team_points" // player points -> team points, once per team
	StageRank       = "rank"        // per contest: sort, competition ranks, pages, diffs
	StageChanges    = "changes"     // change sets as roaring bitmaps
)

// StageTime is how long one stage of a cycle took (zero without Config.Now).
type StageTime struct {
	Name     string
	Duration time.Duration
}

// Stats describes one cycle.
type Stats struct {
	Cycle           int // 1 for the first cycle
	Entries         int
	Contests        int
	Teams           int
	ChangedEntries  int // entries whose rank or points changed
	ChangedPages    int // pages whose content (entries, ranks or points) changed
	SkippedContests int // contests with no team-point change: not re-sorted
	// Repeated: the Run had the points of the last one on the same entries, and kept
	// its results (no team points computed, no contest gathered): an idle cycle.
	Repeated bool
	Stages   []StageTime
}

type cycleState struct {
	cycles int
	// teamPts holds each team's points (units of 1/PointsScale) in this cycle.
	teamPts []int32
	// The per-entry gather reads one of two key tables, whichever this cycle uses:
	//   dense:  team16[t] = changed<<15 | rank of the team's points among the cycle's
	//           distinct values (0 = most), and dense[rank] = those points. 2 bytes a
	//           team keep the table in cache far longer (10M teams: 20 MB, not 80).
	//   wide:   team[t] = key<<32 | changed<<31, key = MaxInt32 - points/quantum, for a
	//           cycle with more than denseMax distinct team points.
	denseMode bool
	team16    []uint16
	dense     []int32
	team      []uint64
	present   [][]uint64 // per worker: bitset of the cycle's distinct values
	above     []uint16   // distinct values in the bitset words above each word
	noDense   bool       // tests: always use wide keys
	// quantum is the gcd of this cycle's player centipoints: every team's points are a
	// multiple of it, so keys divided by it keep order and ties and span fewer bits
	// (T20 points move in half points: quantum 50 makes most contests one radix pass).
	quantum          int32
	order, prevOrder []uint32 // per contest position: entry index in display order
	// pts holds per display position the entry's team points (units of 1/PointsScale),
	// so ranks, and whether they changed, come from sequential walks: rank at position j
	// is 1 + the first position holding the same points.
	pts, prevPts       []int32
	changed            []uint64 // bitset over entries
	changedEntries     *roaring.Bitmap
	changedPages       *roaring.Bitmap
	ws                 []workerScratch
	megaPairs, megaTmp []uint64
	megaHist           [][1 << maxDigitBits]uint32
	megaMin, megaMax   []uint32
	megaAny            []bool
	megaWords          [][]uint64
	slotPts            [MaxPlayersPerMatch]int32
	nextUnit           atomic.Int64
	skipped            atomic.Int64
	// dirty marks the contests a Derive changed (nil: none): the next Run ranks them as a
	// first cycle does, every entry and page of them changed, then forgets them.
	dirty []uint64
	// ranked: the last Run completed on these entries with the player points in
	// slotPts, and no Derive made this state since (a derived partition's starts false),
	// so a Run on the same points repeats it (repeat).
	ranked bool
}

type workerScratch struct {
	pairs, tmp []uint64
	hist       [1 << maxDigitBits]uint32
	words      []uint64
	pages      []uint32
}

func (st *cycleState) init(p *Partition) {
	n, nt := p.NumEntries(), p.NumTeams()
	st.teamPts = make([]int32, nt)
	st.team16 = make([]uint16, nt)
	hugepage.Advise(st.team16) // read at random by the gather
	st.present = make([][]uint64, p.workers)
	st.order, st.prevOrder = make([]uint32, n), make([]uint32, n)
	st.pts, st.prevPts = make([]int32, n), make([]int32, n)
	st.changed = make([]uint64, (n+63)/64)
	st.changedEntries, st.changedPages = roaring.New(), roaring.New()
	maxUnit, maxMega := 0, 0
	for _, u := range p.units {
		for c := u.lo; c < u.hi; c++ {
			maxUnit = max(maxUnit, p.contestSize(c))
		}
	}
	for _, c := range p.mega {
		maxMega = max(maxMega, p.contestSize(c))
	}
	st.ws = make([]workerScratch, p.workers)
	for w := range st.ws {
		st.ws[w].pairs = make([]uint64, maxUnit)
		st.ws[w].tmp = make([]uint64, maxUnit)
		st.ws[w].words = make([]uint64, maxUnit/64+2)
	}
	if maxMega > 0 {
		st.megaPairs, st.megaTmp = make([]uint64, maxMega), make([]uint64, maxMega)
		hugepage.Advise(st.megaPairs) // radix scatters write thousands of streams at once
		hugepage.Advise(st.megaTmp)
		st.megaHist = make([][1 << maxDigitBits]uint32, p.workers)
		st.megaMin, st.megaMax = make([]uint32, p.workers), make([]uint32, p.workers)
		st.megaAny = make([]bool, p.workers)
		st.megaWords = make([][]uint64, p.workers)
		for w := range st.megaWords {
			st.megaWords[w] = make([]uint64, maxMega/64+2)
		}
	}
}

// Run ranks every entry against one points snapshot: team points, then per contest the
// display order, competition ranks, and what changed since the previous Run. Results
// are read with Rank, Points, Ordered, ChangedEntries and ChangedPages until the next Run.
// A Run on the points of the last one (the partition's players all unchanged) with no
// Derive between repeats it (repeat, Stats.Repeated): the same results, nothing changed.
func (p *Partition) Run(snap *Snapshot) Stats {
	st := &p.st
	var stages []StageTime
	now := p.cfg.Now
	var t0 time.Time
	if now != nil {
		t0 = now()
	}
	mark := func(name string) {
		if now != nil {
			t := now()
			stages = append(stages, StageTime{name, t.Sub(t0)})
			t0 = t
		}
	}

	var slotPts [MaxPlayersPerMatch]int32
	same := st.ranked
	for s, id := range p.players {
		c := int32(snap.Centi(id))
		slotPts[s] = c
		same = same && c == st.slotPts[s]
	}
	if same {
		// The points of the last Run, on the same entries: every team's points, every
		// contest's order and ranks are those already held, and nothing changed.
		r := p.repeat(mark)
		r.Stages = stages
		return r
	}
	st.ranked = false // until this Run completes
	st.quantum = 0
	for s, c := range slotPts[:len(p.players)] {
		st.slotPts[s] = c
		st.quantum = gcd(st.quantum, c)
	}
	if st.quantum == 0 {
		st.quantum = 1
	}
	p.teamStage()
	mark(StageTeamPoints)

	st.order, st.prevOrder = st.prevOrder, st.order
	st.pts, st.prevPts = st.prevPts, st.pts
	clear(st.changed)
	st.skipped.Store(0)
	for w := range st.ws {
		st.ws[w].pages = st.ws[w].pages[:0]
	}
	for _, c := range p.mega {
		p.rankMega(c)
	}
	st.nextUnit.Store(0)
	parallelRange(p.workers, p.workers, func(w, _, _ int) {
		ws := &st.ws[w]
		for {
			u := int(st.nextUnit.Add(1) - 1)
			if u >= len(p.units) {
				return
			}
			for c := p.units[u].lo; c < p.units[u].hi; c++ {
				p.rankContest(ws, c)
			}
		}
	})
	mark(StageRank)

	st.changedEntries = roaring.FromDense(st.changed, true)
	st.changedPages = roaring.New()
	for w := range st.ws {
		st.changedPages.AddMany(st.ws[w].pages)
	}
	mark(StageChanges)
	st.cycles++
	st.dirty = nil
	st.ranked = true
	return Stats{
		Cycle:           st.cycles,
		Entries:         p.NumEntries(),
		Contests:        p.NumContests(),
		Teams:           p.NumTeams(),
		ChangedEntries:  int(st.changedEntries.GetCardinality()),
		ChangedPages:    int(st.changedPages.GetCardinality()),
		SkippedContests: int(st.skipped.Load()),
		Stages:          stages,
	}
}

// repeat is a Run on the snapshot of the last one (every player of the partition at the
// same points) with no Derive between: its results are the last Run's, so it keeps them
// and reports no change, in time independent of the entries. An idle cycle (no points
// event and no entry change since the last) costs this instead of team points over every
// team and a gather over every entry (~190-265 ms at 5.6M entries on two cores).
func (p *Partition) repeat(mark func(string)) Stats {
	st := &p.st
	mark(StageTeamPoints)
	mark(StageRank)
	clear(st.changed)
	st.changedEntries.Clear()
	st.changedPages.Clear()
	mark(StageChanges)
	st.cycles++
	return Stats{
		Cycle:           st.cycles,
		Entries:         p.NumEntries(),
		Contests:        p.NumContests(),
		Teams:           p.NumTeams(),
		SkippedContests: p.NumContests(),
		Repeated:        true,
	}
}

// teamStage computes every team's points and the keys the gather reads.
func (p *Partition) teamStage() {
	st := &p.st
	W := p.workers
	mins, maxs := make([]int32, W), make([]int32, W)
	parallelRange(W, p.NumTeams(), func(w, lo, hi int) { mins[w], maxs[w] = p.teamPoints(lo, hi) })
	lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
	for w := range W {
		lo, hi = min(lo, mins[w]), max(hi, maxs[w])
	}
	q := st.quantum
	st.denseMode = false
	if !st.noDense && p.NumTeams() > 0 && (int64(hi)-int64(lo))/int64(q) < maxDenseSpan {
		st.denseMode = p.denseKeys(lo, hi, q)
	}
	if !st.denseMode {
		if st.team == nil {
			st.team = make([]uint64, p.NumTeams())
			hugepage.Advise(st.team)
		}
		parallelRange(W, p.NumTeams(), func(_, a, b int) {
			for t := a; t < b; t++ {
				st.team[t] = uint64(uint32(math.MaxInt32-st.teamPts[t]/q))<<32 | uint64(st.team16[t]>>15)<<31
			}
		})
	}
}

const (
	denseMax     = 1 << 15 // distinct team points a dense cycle can hold
	maxDenseSpan = 1 << 22 // (max-min)/quantum beyond which the presence bitset is not tried
)

// denseKeys ranks the cycle's distinct team points (a presence bitset over
// (points-lo)/q, popcounts from the top) and rewrites team16 with the ranks. It reports
// false, leaving the flags in team16, when there are more than denseMax distinct values.
func (p *Partition) denseKeys(lo, hi, q int32) bool {
	st := &p.st
	W := p.workers
	span := int((hi-lo)/q) + 1
	words := (span + 63) / 64
	parallelRange(W, p.NumTeams(), func(w, a, b int) {
		bs := st.present[w]
		if cap(bs) < words {
			bs = make([]uint64, words)
		}
		bs = bs[:words]
		clear(bs)
		for _, v := range st.teamPts[a:b] {
			d := uint((v - lo) / q)
			bs[d>>6] |= 1 << (d & 63)
		}
		st.present[w] = bs
	})
	all := st.present[0]
	for w := 1; w < W; w++ {
		for k, m := range st.present[w] {
			all[k] |= m
		}
	}
	// above[k] = distinct values in words above k; rank(v) = above + bits above v's bit.
	if cap(st.above) < words {
		st.above = make([]uint16, words)
	}
	above := st.above[:words]
	distinct := 0
	for k := words - 1; k >= 0; k-- {
		if distinct > denseMax {
			return false
		}
		above[k] = uint16(distinct)
		distinct += bits.OnesCount64(all[k])
	}
	if distinct > denseMax {
		return false
	}
	st.dense = st.dense[:0]
	for k := words - 1; k >= 0; k-- {
		for m := all[k]; m != 0; {
			b := 63 - bits.LeadingZeros64(m)
			st.dense = append(st.dense, lo+int32(k*64+b)*q)
			m &^= 1 << b
		}
	}
	parallelRange(W, p.NumTeams(), func(_, a, b int) {
		for t := a; t < b; t++ {
			d := uint((st.teamPts[t] - lo) / q)
			w, bit := d>>6, d&63
			rank := above[w] + uint16(bits.OnesCount64(all[w]>>bit>>1))
			st.team16[t] = st.team16[t]&0x8000 | rank
		}
	})
	return true
}

// teamPoints computes team points for teams [lo, hi): 2·Σ lineup + 2·captain +
// vice-captain, in units of 1/200 point, noting in team16's top bit which changed. It
// returns the smallest and largest.
func (p *Partition) teamPoints(lo, hi int) (minP, maxP int32) {
	st := &p.st
	L := p.lineupSize
	sp := &st.slotPts
	slots := p.teamSlot[lo*L : hi*L]
	capt, vice := p.captain[lo:hi], p.vice[lo:hi]
	pts, flags := st.teamPts[lo:hi], st.team16[lo:hi]
	minP, maxP = math.MaxInt32, math.MinInt32
	for t := range pts {
		var sum int32
		for _, s := range slots[t*L : t*L+L] {
			sum += sp[s]
		}
		v := 2*sum + 2*sp[capt[t]] + sp[vice[t]]
		var f uint16
		if v != pts[t] {
			f = 0x8000
		}
		pts[t], flags[t] = v, f
		minP, maxP = min(minP, v), max(maxP, v)
	}
	return minP, maxP
}

// gatherPairs fills pairs for entries [s, s+len(pairs)) and returns the key range and
// whether any entry's team points changed.
func (p *Partition) gatherPairs(pairs []uint64, s int, pos0 uint32) (minK, maxK uint32, changed bool) {
	lo, hi := uint64(math.MaxUint64), uint64(0)
	var flags uint64
	pos := uint64(pos0)
	dense, t16, ts := p.st.denseMode, p.st.team16, p.st.team
	for i, e := s, s+len(pairs); i < e; {
		b, off := i>>p.shift, i&p.mask
		seg := p.team[b][off:min(len(p.team[b]), off+e-i)]
		out := pairs[i-s : i-s+len(seg)]
		if dense {
			for j, t := range seg {
				v := uint64(t16[t])
				x := (v&0x7fff)<<32 | (v>>15)<<31
				flags |= x
				lo, hi = min(lo, x), max(hi, x)
				out[j] = x | pos
				pos++
			}
		} else {
			for j, t := range seg {
				x := ts[t]
				flags |= x
				lo, hi = min(lo, x), max(hi, x)
				out[j] = x | pos
				pos++
			}
		}
		i += len(seg)
	}
	if len(pairs) == 0 {
		return math.MaxUint32, 0, false
	}
	return uint32(lo >> 32), uint32(hi >> 32), flags&flagBit != 0
}

// keepContest carries an unchanged contest's order and points over to this cycle.
func (p *Partition) keepContest(s, e int) {
	st := &p.st
	copy(st.order[s:e], st.prevOrder[s:e])
	copy(st.pts[s:e], st.prevPts[s:e])
	st.skipped.Add(1)
}

// fresh reports whether contest c is ranked as in a first cycle: every entry and page of
// it changed, nothing carried from the previous cycle.
func (st *cycleState) fresh(c int) bool {
	return st.cycles == 0 || (st.dirty != nil && st.dirty[c>>6]&(1<<(c&63)) != 0)
}

// rankContest ranks one contest on one worker.
func (p *Partition) rankContest(ws *workerScratch, c int) {
	st := &p.st
	s, e := int(p.start[c]), int(p.start[c+1])
	n := e - s
	first := st.fresh(c)
	pairs := ws.pairs[:n]
	minK, maxK, anyChanged := p.gatherPairs(pairs, s, 0)
	if !anyChanged && !first {
		p.keepContest(s, e)
		return
	}
	sorted := sortPairs(pairs, ws.tmp, minK, maxK, &ws.hist)

	w0 := s >> 6
	words := ws.words[:(e-1)>>6-w0+1]
	clear(words)
	p.walk(c, sorted, 0, n, words, &ws.pages)
	// Words wholly inside [s, e) belong to this contest alone; edge words are shared
	// with neighbouring contests, which other workers may be ranking now.
	for k, m := range words {
		g := w0 + k
		if g<<6 >= s && g<<6+64 <= e {
			st.changed[g] = m
		} else if m != 0 {
			atomic.OrUint64(&st.changed[g], m)
		}
	}
}

// walk lays out display positions [lo, hi) of contest c from its sorted pairs: the
// order and points by position, and what changed: an entry changed if its points did or
// its rank did, and for an entry with unchanged points p the rank changed iff the number
// of entries above p changed, which a merge with the previous cycle's points (also
// sorted) tells without looking the entry up. Changed entries are set in words (a
// bitset from entry s&^63), changed pages appended to pages. Every access is sequential.
func (p *Partition) walk(c int, sorted []uint64, lo, hi int, words []uint64, pages *[]uint32) {
	st := &p.st
	s, e := int(p.start[c]), int(p.start[c+1])
	n := e - s
	first := st.fresh(c)
	order, prevOrder := st.order[s:e], st.prevOrder[s:e]
	pts, prevPts := st.pts[s:e], st.prevPts[s:e]
	pageSize := p.cfg.PageSize
	page, left := p.pageStart[c]+uint32(lo/pageSize), pageSize-lo%pageSize // page of position j, positions left on it
	lastPage := uint32(math.MaxUint32)
	w0 := uint32(s &^ 63)

	k0 := pairKey(sorted[lo])
	above, prevAbove := lo, 0 // entries with more points than position j's, now and before
	pt := st.keyPoints(k0)
	if lo > 0 { // a chunk of a mega contest: find where its first key's run starts
		above = sort.Search(lo, func(j int) bool { return pairKey(sorted[j]) >= k0 })
		prevAbove = sort.Search(n, func(j int) bool { return prevPts[j] <= pt })
	} else {
		for prevAbove < n && prevPts[prevAbove] > pt {
			prevAbove++
		}
	}
	for j := lo; j < hi; j++ {
		x := sorted[j]
		if k := pairKey(x); k != k0 {
			k0, above, pt = k, j, st.keyPoints(k)
			for prevAbove < n && prevPts[prevAbove] > pt {
				prevAbove++
			}
		}
		idx := uint32(s) + uint32(x)&posMask
		order[j], pts[j] = idx, pt
		ch := first || x&flagBit != 0 || prevAbove != above
		if ch {
			d := idx - w0
			words[d>>6] |= 1 << (d & 63)
		}
		if (ch || prevOrder[j] != idx) && page != lastPage {
			*pages = append(*pages, page)
			lastPage = page
		}
		if left--; left == 0 {
			page, left = page+1, pageSize
		}
	}
}

// rankMega ranks one large contest with every worker: parallel gather, parallel LSD
// radix passes, and a parallel walk that finds each chunk's first rank by binary search.
func (p *Partition) rankMega(c int) {
	st := &p.st
	s, e := int(p.start[c]), int(p.start[c+1])
	n := e - s
	first := st.fresh(c)
	W := p.workers
	pairs, tmp := st.megaPairs[:n], st.megaTmp[:n]
	parallelRange(W, n, func(w, lo, hi int) {
		st.megaMin[w], st.megaMax[w], st.megaAny[w] = p.gatherPairs(pairs[lo:hi], s+lo, uint32(lo))
		if lo == hi {
			st.megaMin[w], st.megaMax[w] = math.MaxUint32, 0
		}
	})
	minK, maxK, anyChanged := uint32(math.MaxUint32), uint32(0), first
	for w := range W {
		minK, maxK = min(minK, st.megaMin[w]), max(maxK, st.megaMax[w])
		anyChanged = anyChanged || st.megaAny[w]
	}
	if !anyChanged {
		p.keepContest(s, e)
		return
	}

	src, dst := pairs, tmp
	if keyBits := bits.Len32(maxK - minK); keyBits > 0 {
		passes := (keyBits + maxDigitBits - 1) / maxDigitBits
		db := (keyBits + passes - 1) / passes
		mask := uint64(1)<<db - 1
		base := uint64(minK) << 32
		for pass := range passes {
			shift := uint(32 + pass*db)
			parallelRange(W, n, func(w, lo, hi int) {
				h := st.megaHist[w][:1<<db]
				clear(h)
				for _, x := range src[lo:hi] {
					h[((x-base)>>shift)&mask]++
				}
			})
			var sum uint32
			for d := 0; d < 1<<db; d++ {
				for w := range W {
					cnt := st.megaHist[w][d]
					st.megaHist[w][d] = sum
					sum += cnt
				}
			}
			parallelRange(W, n, func(w, lo, hi int) {
				h := st.megaHist[w][:1<<db]
				for _, x := range src[lo:hi] {
					d := ((x - base) >> shift) & mask
					dst[h[d]] = x
					h[d]++
				}
			})
			src, dst = dst, src
		}
	}

	w0 := s >> 6
	nw := (e-1)>>6 - w0 + 1
	parallelRange(W, n, func(w, lo, hi int) {
		words := st.megaWords[w][:nw]
		clear(words)
		if lo < hi {
			p.walk(c, src, lo, hi, words, &st.ws[w].pages)
		}
	})
	// No other contest is being ranked now: merge the workers' bitsets with plain ORs.
	parallelRange(W, nw, func(_, lo, hi int) {
		for g := lo; g < hi; g++ {
			var m uint64
			for w := range W {
				m |= st.megaWords[w][g]
			}
			st.changed[w0+g] |= m
		}
	})
}

// parallelRange splits [0, n) into `workers` contiguous chunks and runs fn on each in its
// own goroutine, returning when all are done. Chunks may be empty.
func parallelRange(workers, n int, fn func(w, lo, hi int)) {
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { fn(w, lo, hi) })
	}
	wg.Wait()
}

// Cycles is the number of cycles run.
func (p *Partition) Cycles() int { return p.st.cycles }

// Rank returns entry i's competition rank in the last cycle (1 = best): a binary search
// of its points in its contest's display order. To read a whole contest, use Ranks.
func (p *Partition) Rank(i int) int {
	c := sort.Search(p.NumContests(), func(c int) bool { return int(p.start[c+1]) > i })
	s, e := int(p.start[c]), int(p.start[c+1])
	pt := p.Points(i)
	return 1 + sort.Search(e-s, func(j int) bool { return p.st.pts[s+j] <= pt })
}

// Ranks appends contest c's ranks in display order (parallel to Ordered(c)) to dst.
func (p *Partition) Ranks(c int, dst []uint32) []uint32 {
	pts := p.st.pts[p.start[c]:p.start[c+1]]
	for j, pt := range pts {
		r := uint32(j + 1)
		if j > 0 && pt == pts[j-1] {
			r = dst[len(dst)-1]
		}
		dst = append(dst, r)
	}
	return dst
}

// PointsOrdered returns contest c's team points in display order (parallel to
// Ordered(c)), in units of 1/PointsScale. The slice is the engine's own.
func (p *Partition) PointsOrdered(c int) []int32 { return p.st.pts[p.start[c]:p.start[c+1]] }

// Points returns entry i's team points in the last cycle, in units of 1/PointsScale.
func (p *Partition) Points(i int) int32 {
	return p.st.teamPts[p.teamOf(i)]
}

// keyPoints returns the points of a sort key of this cycle.
func (st *cycleState) keyPoints(key uint32) int32 {
	if st.denseMode {
		return st.dense[key]
	}
	return int32(math.MaxInt32-int64(key)) * st.quantum
}

func gcd(a, b int32) int32 {
	a, b = max(a, -a), max(b, -b)
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Ordered returns contest c's entry indices in display order (points desc, entry_id
// asc). The slice is the engine's own: read it, don't keep it past the next Run.
func (p *Partition) Ordered(c int) []uint32 {
	return p.st.order[p.start[c]:p.start[c+1]]
}

// ChangedEntries holds the indices of entries whose rank or points changed in the last
// cycle (every entry after the first cycle).
func (p *Partition) ChangedEntries() *roaring.Bitmap { return p.st.changedEntries }

// ChangedPages holds the global indices of pages whose content changed in the last cycle.
func (p *Partition) ChangedPages() *roaring.Bitmap { return p.st.changedPages }
