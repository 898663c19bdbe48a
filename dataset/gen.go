package dataset

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/fantasy/leaderboard/engine"
)

// File names of a dataset directory.
const (
	EntriesFile = "entries.parquet"
	PointsFile  = "points.parquet"
	// Points2File holds the points at a later moment of the same match.
	Points2File = "points2.parquet"
)

// MaxGenEntries bounds GenConfig.Entries (entry ids are drawn from a 32-bit range).
const MaxGenEntries = 1 << 31

// Defaults of GenConfig.
const (
	DefaultEntriesPerContest = 28 // Contests defaults to Entries / DefaultEntriesPerContest
	DefaultPlayersPerMatch   = 22
	DefaultLineupSize        = 11
	DefaultSeed              = 1
	DefaultMatchID           = 1
)

// GenConfig describes a synthetic dataset. Zero values take the defaults (Seed 0 is a
// seed like any other).
type GenConfig struct {
	Entries         int64 // number of entries, > 0
	Contests        int64 // 0 => Entries/28 (at least 1); at most max(1, Entries/2)
	Seed            int64 // the same config and seed give byte-identical files
	PlayersPerMatch int   // squad size of the match; 0 => 22
	LineupSize      int   // players per lineup; 0 => 11
	MatchID         int64 // recorded in entries.parquet's key-value metadata; 0 => 1
	// TeamsPerEntry is the size of the pool of teams entries draw from, per entry; 0 =>
	// 0.2 (about 5 entries per team). Busy teams join more contests than quiet ones, so
	// the distinct teams used are fewer than the pool: a pool of 1 per entry uses about
	// one distinct team per two entries (GenStats.Teams says how many exactly).
	TeamsPerEntry float64
	// Order is the row order of entries.parquet: OrderContest (sorted by contest_id,
	// entry_id; the default) or OrderJoin (by entry_id: the order entries join, so the
	// contests interleave across the whole file).
	Order string
}

// Row orders of GenConfig.Order.
const (
	OrderContest = "contest"
	OrderJoin    = "join"
)

// DefaultTeamsPerEntry is GenConfig.TeamsPerEntry's default.
const DefaultTeamsPerEntry = 0.2

// RegisterFlags registers the config's flags on fs: --entries, --contests, --seed,
// --players, --lineup-size, --match, --teams-per-entry and --order.
func (c *GenConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.Entries, "entries", 0, "number of entries (required, > 0)")
	fs.Int64Var(&c.Contests, "contests", 0, fmt.Sprintf("number of contests (0: entries/%d)", DefaultEntriesPerContest))
	fs.Int64Var(&c.Seed, "seed", DefaultSeed, "random seed; the same flags and seed give byte-identical files")
	fs.IntVar(&c.PlayersPerMatch, "players", DefaultPlayersPerMatch, "players in the match's squads")
	fs.IntVar(&c.LineupSize, "lineup-size", DefaultLineupSize, "players per lineup")
	fs.Int64Var(&c.MatchID, "match", DefaultMatchID, "match id, recorded in the metadata of entries.parquet")
	fs.Float64Var(&c.TeamsPerEntry, "teams-per-entry", DefaultTeamsPerEntry, "teams in the pool entries draw from, per entry (1 gives about one distinct team per two entries)")
	fs.StringVar(&c.Order, "order", OrderContest, "row order of entries.parquet: contest (by contest_id, entry_id) or join (by entry_id, contests interleaved)")
}

// Validate reports the first invalid field, by its flag name.
func (c GenConfig) Validate() error {
	_, err := c.normalized()
	return err
}

// GenStats summarizes a generated dataset.
type GenStats struct {
	Entries        int64
	Contests       int64
	LargestContest int64
	Teams          int64 // distinct team_id values in entries.parquet
	Users          int64 // distinct user_id values in entries.parquet
	Players        int
}

// normalized fills in the defaults and validates the config.
func (c GenConfig) normalized() (GenConfig, error) {
	if c.Entries <= 0 || c.Entries > MaxGenEntries {
		return c, fmt.Errorf("--entries must be in [1, %d], got %d", int64(MaxGenEntries), c.Entries)
	}
	if c.Contests == 0 {
		c.Contests = max(1, c.Entries/DefaultEntriesPerContest)
	}
	if maxC := max(1, c.Entries/2); c.Contests < 1 || c.Contests > maxC {
		return c, fmt.Errorf("--contests must be in [1, %d] (at least 2 entries per contest), got %d", maxC, c.Contests)
	}
	if c.PlayersPerMatch == 0 {
		c.PlayersPerMatch = DefaultPlayersPerMatch
	}
	if c.PlayersPerMatch < 2 || c.PlayersPerMatch > 256 {
		return c, fmt.Errorf("--players must be in [2, 256], got %d", c.PlayersPerMatch)
	}
	if c.LineupSize == 0 {
		c.LineupSize = DefaultLineupSize
	}
	if maxL := min(c.PlayersPerMatch, engine.MaxLineupSize); c.LineupSize < 2 || c.LineupSize > maxL {
		return c, fmt.Errorf("--lineup-size must be in [2, %d] (at most --players), got %d", maxL, c.LineupSize)
	}
	if c.MatchID == 0 {
		c.MatchID = DefaultMatchID
	}
	if c.MatchID < 0 {
		return c, fmt.Errorf("--match must be positive, got %d", c.MatchID)
	}
	if c.TeamsPerEntry == 0 {
		c.TeamsPerEntry = DefaultTeamsPerEntry
	}
	if !(c.TeamsPerEntry >= 0.01 && c.TeamsPerEntry <= 4) { // also catches NaN
		return c, fmt.Errorf("--teams-per-entry must be in [0.01, 4], got %v", c.TeamsPerEntry)
	}
	switch c.Order {
	case "":
		c.Order = OrderContest
	case OrderContest, OrderJoin:
	default:
		return c, fmt.Errorf("--order must be %q or %q, got %q", OrderContest, OrderJoin, c.Order)
	}
	return c, nil
}

// Random streams of the generator; each part draws from its own, so changing one part
// leaves the others' numbers alone.
const (
	streamMatch = iota + 1
	streamSizes
	streamContestIDs
	streamUsers
	streamTeamIDs
	streamEntryIDs
	streamDraws
	streamLineups = 1 << 32 // + block number
)

// Generate writes a synthetic dataset of one match into dir (created if missing):
// EntriesFile, PointsFile and Points2File. See GenerateWithStats.
func Generate(ctx context.Context, cfg GenConfig, dir string, progress func(done, total int64)) error {
	_, err := GenerateWithStats(ctx, cfg, dir, progress)
	return err
}

// GenerateWithStats writes a synthetic dataset and returns its summary. The shape:
//
//   - one match of PlayersPerMatch players with sparse 6-digit ids, two sides of up to 11
//     playing; a few star players are in nearly every lineup and take most captaincies;
//   - users own 1-6 teams; a team (team_id) has one lineup, captain and vice-captain and
//     joins several contests, never one contest twice; busy teams join ~20x more contests
//     than quiet ones;
//   - contest sizes are heavy-tailed: one mega contest of ~10% of all entries, a few
//     dozen of N/5600..N/112 entries (10k-500k at 56M), the rest of 2/3/4/6/10/20/50/
//     100/1000 entries; they add up to exactly Entries;
//   - entry ids are 1..Entries, shuffled across contests; rows are sorted by
//     (contest_id, entry_id), or with Order OrderJoin by entry_id (the order entries
//     join: contests interleave), and written in row groups of RowGroupRows; both orders
//     hold the same rows;
//   - the team pool is TeamsPerEntry teams per entry (0.2 by default);
//   - points are T20 fantasy points (see playerStats) in steps of 0.5, at a moment late
//     in the first innings and, in Points2File, in the middle of the chase.
//
// The same config gives byte-identical files (the generator owns its random numbers, so
// Go releases do not change them; float rounding in math.Exp/Log could in principle
// differ across CPU architectures). Entries are generated a row group at a time while
// the previous one is encoded: memory is a 32-byte record per team (~6.4 bytes per
// entry), scratch for the largest contest and two row groups (join order adds 8 bytes
// per entry); peak RSS measured 0.6 GiB at 5.6M entries and 1.5 GiB at 56M. progress, if not nil, is called from the calling
// goroutine with the entries generated so far. Every file is written atomically; on
// error none of the files is left behind.
func GenerateWithStats(ctx context.Context, cfg GenConfig, dir string, progress func(done, total int64)) (GenStats, error) {
	return generate(ctx, cfg, dir, progress, RowGroupRows)
}

// generate is GenerateWithStats with row groups of groupRows rows (smaller in tests).
func generate(ctx context.Context, cfg GenConfig, dir string, progress func(done, total int64), groupRows int) (GenStats, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return GenStats{}, fmt.Errorf("invalid dataset config: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return GenStats{}, fmt.Errorf("cannot create the dataset directory: %w", err)
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if err := ctx.Err(); err != nil {
		return GenStats{}, err
	}
	m := newMatch(cfg.Seed, cfg.PlayersPerMatch)
	p := newPlan(cfg, m)
	p.groupRows = groupRows
	stats, err := p.writeEntries(ctx, filepath.Join(dir, EntriesFile), progress)
	if err != nil {
		return GenStats{}, err
	}
	for _, f := range []struct {
		name   string
		points []float64
	}{{PointsFile, m.points1}, {Points2File, m.points2}} {
		if err := WritePoints(filepath.Join(dir, f.name), m.ids, f.points); err != nil {
			os.Remove(filepath.Join(dir, EntriesFile))
			os.Remove(filepath.Join(dir, PointsFile))
			return GenStats{}, err
		}
	}
	progress(cfg.Entries, cfg.Entries)
	return stats, nil
}

// plan is everything about the dataset except the rows themselves.
type plan struct {
	cfg   GenConfig
	match *match
	sizes []int64 // entries per contest, in contest order

	// teams holds one record of teamStride bytes per team index (a lower index is a
	// busier team), so that a row costs one cache miss:
	//	[0:4] team_id, [4:8] owner's user_id (little endian), [8] captain, [9]
	//	vice-captain, [10:10+LineupSize] lineup; players as indices into match.ids,
	//	the lineup ascending.
	teams      []byte
	teamStride int
	nTeams     int
	nUsers     int

	buckets     alias // busy-ness of teams, by bucket of team indices
	bucketStart []int // first team index of each bucket, len buckets+1

	everUsed  []uint64 // bitset of the teams with at least one entry
	groupRows int      // rows per row group
}

func newPlan(cfg GenConfig, m *match) *plan {
	p := &plan{cfg: cfg, match: m}
	r := newRNG(cfg.Seed, streamSizes)
	p.sizes = contestSizes(cfg.Entries, cfg.Contests, &r)
	largest := slices.Max(p.sizes)

	// TeamsPerEntry teams per entry (by default about 5 entries per team); twice the
	// largest contest so that drawing a contest's distinct teams never runs dry.
	pool := (cfg.Entries + 4) / 5 // the default, in integers so that old datasets stay byte-identical
	if cfg.TeamsPerEntry != DefaultTeamsPerEntry {
		pool = int64(math.Ceil(float64(cfg.Entries) * cfg.TeamsPerEntry))
	}
	p.nTeams = int(max(pool, 2*largest))
	if p.nTeams >= 1<<32-1 {
		panic(fmt.Sprintf("BUG: %d teams for %d entries", p.nTeams, cfg.Entries))
	}
	p.teamStride = 1 << bits.Len(uint(10+cfg.LineupSize-1))
	p.teams = make([]byte, p.nTeams*p.teamStride)

	// Users own consecutive team indices: busy teams tend to share busy owners.
	r = newRNG(cfg.Seed, streamUsers)
	teamsPerUser := []uint64{40, 22, 14, 10, 6, 8} // 1..6 teams
	for t := 0; t < p.nTeams; {
		for k := 1 + r.weighted(teamsPerUser, 100); k > 0 && t < p.nTeams; k-- {
			p.setUint32(t, 4, uint32(p.nUsers))
			t++
		}
		p.nUsers++
	}
	users := newPermutation(uint64(p.nUsers), &r)
	r = newRNG(cfg.Seed, streamTeamIDs)
	teamIDs := newPermutation(uint64(p.nTeams), &r)
	for t := range p.nTeams {
		p.setUint32(t, 0, uint32(1+teamIDs.at(uint64(t))))
		p.setUint32(t, 4, uint32(1+users.at(uint64(p.uint32At(t, 4)))))
	}

	// Busy-ness: team index x (as a fraction of all teams) has density ∝ 1/(x+a); the
	// busiest team joins (1+a)/a ≈ 100x more contests than the quietest, ~20x the mean.
	const a = 0.01
	nb := min(4096, p.nTeams)
	p.bucketStart = make([]int, nb+1)
	w := make([]float64, nb)
	for b := range nb {
		lo, hi := b*p.nTeams/nb, (b+1)*p.nTeams/nb
		p.bucketStart[b], p.bucketStart[b+1] = lo, hi
		x0, x1 := float64(lo)/float64(p.nTeams), float64(hi)/float64(p.nTeams)
		w[b] = math.Log((x1 + a) / (x0 + a))
	}
	p.buckets = newAlias(w)

	p.makeLineups()
	return p
}

func (p *plan) team(t int) []byte { return p.teams[t*p.teamStride : (t+1)*p.teamStride] }

func (p *plan) uint32At(t, off int) uint32 {
	return binary.LittleEndian.Uint32(p.teams[t*p.teamStride+off:])
}

func (p *plan) setUint32(t, off int, v uint32) {
	binary.LittleEndian.PutUint32(p.teams[t*p.teamStride+off:], v)
}

// makeLineups draws every team's lineup, captain and vice-captain, in parallel blocks
// with a random stream per block so the result does not depend on the scheduling.
func (p *plan) makeLineups() {
	L := p.cfg.LineupSize
	const block = 1 << 16
	nBlocks := (p.nTeams + block - 1) / block
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nBlocks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := p.match
			w := make([]uint64, len(m.pop))
			cw := make([]uint64, L)
			var popTotal uint64
			for _, v := range m.pop {
				popTotal += v
			}
			for {
				b := int(next.Add(1) - 1)
				if b >= nBlocks {
					return
				}
				r := newRNG(p.cfg.Seed, streamLineups+uint64(b))
				for t := b * block; t < min((b+1)*block, p.nTeams); t++ {
					rec := p.team(t)
					line := rec[10 : 10+L]
					copy(w, m.pop)
					total := popTotal
					for k := range line {
						i := r.weighted(w, total)
						line[k] = uint8(i)
						total -= w[i]
						w[i] = 0
					}
					slices.Sort(line)
					total = 0
					for k, i := range line {
						cw[k] = m.captW[i]
						total += cw[k]
					}
					c := r.weighted(cw, total)
					total = 0
					for k, i := range line {
						cw[k] = m.viceW[i]
						if k == c {
							cw[k] = 0
						}
						total += cw[k]
					}
					v := r.weighted(cw, total)
					rec[8], rec[9] = line[c], line[v]
				}
			}
		}()
	}
	wg.Wait()
}

// drawTeams appends n distinct team indices to dst, drawn by busy-ness. used must be
// all zero on entry and is all zero again on return.
func (p *plan) drawTeams(r *rng, n int, dst []uint32, used []uint64) []uint32 {
	start := len(dst)
	for len(dst)-start < n {
		b := p.buckets.draw(r)
		lo, hi := p.bucketStart[b], p.bucketStart[b+1]
		t := uint32(lo + int(r.intn(uint64(hi-lo))))
		if used[t>>6]&(1<<(t&63)) != 0 {
			continue
		}
		used[t>>6] |= 1 << (t & 63)
		dst = append(dst, t)
	}
	for _, t := range dst[start:] {
		used[t>>6] &^= 1 << (t & 63)
	}
	return dst
}

// entryBatch is one row group of entries in columns; n rows are filled.
type entryBatch struct {
	n                          int
	contest, entry, user, team []int64
	offsets                    []int32 // n+1 used
	players                    []int32 // n*lineup used
	capt, vice                 []int32
	lineup                     int
}

func newEntryBatch(rows, lineup int) *entryBatch {
	b := &entryBatch{
		contest: make([]int64, rows),
		entry:   make([]int64, rows),
		user:    make([]int64, rows),
		team:    make([]int64, rows),
		offsets: make([]int32, rows+1),
		players: make([]int32, rows*lineup),
		capt:    make([]int32, rows),
		vice:    make([]int32, rows),
		lineup:  lineup,
	}
	for i := range b.offsets {
		b.offsets[i] = int32(i * lineup)
	}
	return b
}

// record wraps the batch's filled rows, without copying, as a record of EntriesSchema.
func (b *entryBatch) record() arrow.RecordBatch {
	n := b.n
	cols := []arrow.Array{
		int64Array(b.contest[:n]), int64Array(b.entry[:n]), int64Array(b.user[:n]), int64Array(b.team[:n]),
		listArray(engine.EntriesSchema.Field(4).Type, b.offsets[:n+1], b.players[:n*b.lineup]),
		int32Array(b.capt[:n]), int32Array(b.vice[:n]),
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(engine.EntriesSchema, cols, int64(n))
}

// writeEntries generates the rows, contest by contest, and writes them to path: the
// calling goroutine fills a row group while another encodes the previous one.
func (p *plan) writeEntries(ctx context.Context, path string, progress func(done, total int64)) (GenStats, error) {
	w, err := NewEntriesWriter(path)
	if err != nil {
		return GenStats{}, err
	}
	if err := w.a.fw.AppendKeyValueMetadata("match_id", strconv.FormatInt(p.cfg.MatchID, 10)); err != nil {
		w.Abort()
		return GenStats{}, fmt.Errorf("cannot write %s: %w", path, err)
	}
	free := make(chan *entryBatch, 2)
	full := make(chan *entryBatch, 1)
	rows := int(min(int64(p.groupRows), p.cfg.Entries))
	free <- newEntryBatch(rows, p.cfg.LineupSize)
	free <- newEntryBatch(rows, p.cfg.LineupSize)
	var (
		werr   error
		failed atomic.Bool
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		for b := range full {
			if werr == nil {
				rec := b.record()
				werr = w.Write(rec)
				rec.Release()
				failed.Store(werr != nil)
			}
			b.n = 0
			free <- b
		}
	}()

	err = p.produce(ctx, free, full, &failed, progress)
	close(full)
	<-done
	if err == nil {
		err = werr
	}
	if err != nil {
		w.Abort()
		return GenStats{}, err
	}
	if err := w.Close(); err != nil {
		return GenStats{}, err
	}
	return p.stats(), nil
}

// produce fills row groups, contest by contest, and hands each full one over.
func (p *plan) produce(ctx context.Context, free, full chan *entryBatch, failed *atomic.Bool, progress func(done, total int64)) error {
	N := p.cfg.Entries
	L := p.cfg.LineupSize
	var ids [256]int32 // player index -> id; indexing by a byte needs no bounds check
	copy(ids[:], p.match.ids)
	rDraw := newRNG(p.cfg.Seed, streamDraws)
	rID := newRNG(p.cfg.Seed, streamContestIDs)
	rE := newRNG(p.cfg.Seed, streamEntryIDs)
	entryPerm := newPermutation(uint64(N), &rE)
	largest := slices.Max(p.sizes)
	teams := make([]uint32, 0, largest)
	entryIDs := make([]uint32, largest)
	var sortScratch []uint32
	used := make([]uint64, (p.nTeams+63)/64)
	p.everUsed = make([]uint64, (p.nTeams+63)/64)

	// In join order, the first pass only records each entry's contest and team (8 bytes
	// an entry, indexed by entry id) and the rows are written by entry id afterwards.
	join := p.cfg.Order == OrderJoin
	var joinContest, joinTeam []uint32
	if join {
		joinContest, joinTeam = make([]uint32, N), make([]uint32, N)
	}
	b := <-free
	emit := func(contestID int64, eid uint32, t uint32) error {
		rec := p.teams[int(t)*p.teamStride : int(t+1)*p.teamStride]
		row := b.n
		b.contest[row] = contestID
		b.entry[row] = int64(eid) + 1
		b.team[row] = int64(binary.LittleEndian.Uint32(rec[0:4]))
		b.user[row] = int64(binary.LittleEndian.Uint32(rec[4:8]))
		b.capt[row] = ids[rec[8]]
		b.vice[row] = ids[rec[9]]
		dst := b.players[row*L : row*L+L]
		for q, i := range rec[10 : 10+L] {
			dst[q] = ids[i]
		}
		b.n++
		if b.n < len(b.entry) {
			return nil
		}
		full <- b
		if failed.Load() {
			return errWriterFailed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		b = <-free
		return nil
	}
	var pos int64
	contestID := int64(0)
	for _, size := range p.sizes {
		contestID++
		if rID.intn(5) == 0 { // contests cancelled or never filled leave gaps
			contestID += 1 + int64(rID.intn(3))
		}
		if size >= 1<<16 || contestID%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		teams = p.drawTeams(&rDraw, int(size), teams[:0], used)
		eids := entryIDs[:size]
		for k := range eids {
			eids[k] = uint32(entryPerm.at(uint64(pos) + uint64(k)))
		}
		if size > 1<<12 {
			sortScratch = radixSort32(eids, sortScratch)
		} else {
			slices.Sort(eids)
		}
		for k, t := range teams {
			p.everUsed[t>>6] |= 1 << (t & 63)
			if join {
				if contestID >= 1<<32 {
					panic(fmt.Sprintf("BUG: contest id %d beyond 32 bits", contestID))
				}
				joinContest[eids[k]], joinTeam[eids[k]] = uint32(contestID), t
				continue
			}
			if err := emit(contestID, eids[k], t); err != nil {
				return ignoreWriterFailed(err)
			}
			if b.n == 0 {
				progress(pos+int64(k)+1, N)
			}
		}
		pos += size
	}
	if join {
		for eid := range N {
			if err := emit(int64(joinContest[eid]), uint32(eid), joinTeam[eid]); err != nil {
				return ignoreWriterFailed(err)
			}
			if b.n == 0 {
				progress(eid+1, N)
			}
		}
	}
	if pos != N {
		panic(fmt.Sprintf("BUG: contest sizes add up to %d, want %d", pos, N))
	}
	if b.n > 0 {
		full <- b
	}
	return nil
}

// errWriterFailed stops produce when the writer goroutine has failed; the writer's error
// is the one reported.
var errWriterFailed = errors.New("the writer failed")

func ignoreWriterFailed(err error) error {
	if errors.Is(err, errWriterFailed) {
		return nil
	}
	return err
}

// radixSort32 sorts v with two 16-bit LSD passes, using (and returning) scratch.
func radixSort32(v, scratch []uint32) []uint32 {
	if cap(scratch) < len(v) {
		scratch = make([]uint32, len(v))
	}
	tmp := scratch[:len(v)]
	var count [1 << 16]int
	src, dst := v, tmp
	for shift := 0; shift < 32; shift += 16 {
		clear(count[:])
		for _, x := range src {
			count[x>>shift&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, x := range src {
			d := x >> shift & 0xffff
			dst[count[d]] = x
			count[d]++
		}
		src, dst = dst, src
	}
	return scratch // after an even number of passes the result is back in v
}

func (p *plan) stats() GenStats {
	s := GenStats{
		Entries:        p.cfg.Entries,
		Contests:       int64(len(p.sizes)),
		LargestContest: slices.Max(p.sizes),
		Players:        len(p.match.ids),
	}
	usersSeen := make([]uint64, (p.nUsers+64)/64)
	for t := range p.nTeams {
		if p.everUsed[t>>6]&(1<<(t&63)) == 0 {
			continue
		}
		s.Teams++
		u := p.uint32At(t, 4)
		if usersSeen[u>>6]&(1<<(u&63)) == 0 {
			usersSeen[u>>6] |= 1 << (u & 63)
			s.Users++
		}
	}
	return s
}
