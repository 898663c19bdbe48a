package engine

import (
	"math/bits"
	"runtime"
	"slices"
)

// Builder.Append on every core. A batch is appended in rounds. A round first fingerprints,
// looks up and prechecks every row in parallel (scan), which sorts the rows into three
// kinds. Up to the first row that the precheck could not pass (a player the dictionary
// does not hold yet, the first entry of the match, or an invalid entry), the rows are
// then appended in parallel (appendParallel), teams created included:
//
//  1. the rows of new teams are grouped into one shard per worker by a hash of team_id
//     (a stable scatter, so each shard's rows stay in row order), and every row whose
//     lineup differs from its known team's fingerprint is compared with the team;
//  2. each worker walks its shard in row order: a team's first row creates it (the
//     dense team index holds that row meanwhile), every later row's lineup is compared
//     with the first's;
//  3. teams are numbered in order of their first row, as the serial path numbers them:
//     per-chunk counts of first rows and a prefix sum, then every chunk writes its teams'
//     tables and its rows' team numbers.
//
// The result, down to the Builder's internal tables, is the serial path's. Any
// conflict (a team given two lineups) sends the round's rows to the serial path, which
// reports the first bad row exactly as Add does. The rows from the unpassed row on take
// the serial path for serialRows rows (new players are added there), and the next round
// starts after them.

const (
	rowKnown    uint8 = iota // the team exists and the lineup has its fingerprint
	rowMismatch              // the team exists; the lineup must be compared with its own
	rowNew                   // the team did not exist when the round began
)

// serialRows is how many rows take the serial path after one the precheck could not
// pass, before the next round.
const serialRows = 4096

// maxAppendRounds bounds the rounds of one batch; the rows left after them take the
// serial path (a batch whose new players are spread thinly over millions of rows).
const maxAppendRounds = 8

// appendWorkers is the number of goroutines for n rows.
func (b *Builder) appendWorkers(n int) int {
	w, minRows := b.workers, b.minRows
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if minRows == 0 {
		minRows = appendRowsPerWorker
	}
	return max(1, min(w, n/minRows))
}

// appendColumns validates and appends the n rows of ec (already checked for nulls).
func (b *Builder) appendColumns(ec EntryColumns, n int) error {
	for round := 0; n > 0; round++ {
		w := b.appendWorkers(n)
		j := b.scan(ec, n, w)
		if w == 1 || round >= maxAppendRounds || n >= 1<<31 {
			return b.appendSerial(ec, 0, n)
		}
		if err := b.appendParallel(ec, j); err != nil {
			return err
		}
		if j == n {
			return nil
		}
		k := min(n, j+serialRows)
		if err := b.appendSerial(ec, j, k); err != nil {
			return err
		}
		ec, n = ec.from(k), n-k
	}
	return nil
}

// from returns rows [k, ...) of ec.
func (ec EntryColumns) from(k int) EntryColumns {
	return EntryColumns{Contest: ec.Contest[k:], Entry: ec.Entry[k:], User: ec.User[k:], Team: ec.Team[k:],
		Offsets: ec.Offsets[k:], Players: ec.Players, Captain: ec.Captain[k:], Vice: ec.Vice[k:]}
}

func (ec EntryColumns) lineup(i int) []int32 { return ec.Players[ec.Offsets[i]:ec.Offsets[i+1]] }

// scan fingerprints, looks up and prechecks rows [0, n) on w goroutines, three passes
// so that the random reads of the team tables overlap instead of waiting on one
// another. It only reads the builder. It returns the first row of kind rowMismatch or
// rowNew whose precheck failed, or n.
func (b *Builder) scan(ec EntryColumns, n, w int) int {
	fps := grow(&b.fps, n)
	ts := grow(&b.ts, n)
	checks := grow(&b.checks, n)
	kind := grow(&b.kind, n)
	chunk := (n + w - 1) / w
	unpassed := make([]int, w)
	parallel(w, func(k int) {
		lo, hi := min(n, k*chunk), min(n, (k+1)*chunk)
		for i := lo; i < hi; i++ {
			fps[i] = lineupPrint(ec.lineup(i), ec.Captain[i], ec.Vice[i])
		}
		for i := lo; i < hi; i++ {
			t, ok := b.teamIdx.get(ec.Team[i])
			if !ok {
				t = noTeam
			}
			ts[i] = t
		}
		unpassed[k] = n
		for i := lo; i < hi; i++ {
			switch t := ts[i]; {
			case t != noTeam && b.teamPrint[t] == fps[i]:
				kind[i] = rowKnown
				continue
			case t != noTeam:
				kind[i] = rowMismatch
			default:
				kind[i] = rowNew
			}
			checks[i] = b.precheck(ec.lineup(i), ec.Captain[i], ec.Vice[i])
			if !checks[i].ok && unpassed[k] == n {
				unpassed[k] = i
			}
		}
	})
	return slices.Min(unpassed)
}

// appendSerial appends rows [lo, hi) one by one, using scan's results for them (a team
// created since scan is found again by addChecked).
func (b *Builder) appendSerial(ec EntryColumns, lo, hi int) error {
	for i := lo; i < hi; i++ {
		switch {
		case b.kind[i] == rowKnown:
			b.appendEntry(ec.Contest[i], ec.Entry[i], ec.User[i], b.ts[i])
		case b.checks[i].ok:
			if err := b.addChecked(ec.Contest[i], ec.Entry[i], ec.User[i], ec.Team[i], b.checks[i], b.fps[i]); err != nil {
				return err
			}
		default:
			if err := b.add(ec.Contest[i], ec.Entry[i], ec.User[i], ec.Team[i], ec.lineup(i), ec.Captain[i], ec.Vice[i], b.fps[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// shardOf spreads team ids over w shards.
func shardOf(id int64, w int) int {
	return int((uint64(id) * 0x9E3779B97F4A7C15 >> 32) * uint64(w) >> 32)
}

// appendParallel appends rows [0, m), every one of which scan classified and, unless
// rowKnown, prechecked successfully, creating new teams on every core (see the top of
// this file).
func (b *Builder) appendParallel(ec EntryColumns, m int) error {
	w := b.appendWorkers(m)
	if w == 1 || m == 0 {
		return b.appendSerial(ec, 0, m)
	}
	kind, ts, checks, fps, team := b.kind[:m], b.ts[:m], b.checks[:m], b.fps[:m], ec.Team[:m]
	chunk := (m + w - 1) / w
	conflict := make([]bool, w)

	// 1. Rows of new teams by shard; mismatched lineups against their teams.
	counts := make([][]int, w)
	parallel(w, func(k int) {
		c := make([]int, w)
		for i := min(m, k*chunk); i < min(m, (k+1)*chunk); i++ {
			switch kind[i] {
			case rowNew:
				c[shardOf(team[i], w)]++
			case rowMismatch:
				if !b.sameLineup(ts[i], &checks[i]) {
					conflict[k] = true
				}
			}
		}
		counts[k] = c
	})
	if slices.Contains(conflict, true) {
		return b.appendSerial(ec, 0, m) // reports the first bad row, as Add would
	}
	shardStart := make([]int, w+1)
	sum := 0
	for s := range w {
		shardStart[s] = sum
		for k := range w {
			c := counts[k][s]
			counts[k][s] = sum
			sum += c
		}
	}
	shardStart[w] = sum
	list := grow(&b.list, sum)
	parallel(w, func(k int) {
		off := counts[k]
		for i := min(m, k*chunk); i < min(m, (k+1)*chunk); i++ {
			if kind[i] == rowNew {
				s := shardOf(team[i], w)
				list[off[s]] = uint32(i)
				off[s]++
			}
		}
	})

	// 2. Each shard's first rows; later rows compared with them.
	first := grow(&b.first, m)
	dense := b.teamIdx.dense
	sparse := make([]map[int64]uint32, w)
	parallel(w, func(s int) {
		var sp map[int64]uint32
		for _, r := range list[shardStart[s]:shardStart[s+1]] {
			id := team[r]
			var r0 uint32
			if uint64(id) < uint64(len(dense)) {
				v := dense[id] // 0 or, written here, first row + 1
				if v == 0 {
					dense[id], first[r] = r+1, r
					continue
				}
				r0 = v - 1
			} else {
				if sp == nil {
					sp = map[int64]uint32{}
				}
				v, ok := sp[id]
				if !ok {
					sp[id], first[r] = r, r
					continue
				}
				r0 = v
			}
			first[r] = r0
			if c, c0 := &checks[r], &checks[r0]; c.mask != c0.mask || c.cs != c0.cs || c.vs != c0.vs {
				conflict[s] = true
			}
		}
		sparse[s] = sp
	})
	firsts := make([]int, w+1)
	parallel(w, func(k int) {
		c := 0
		for i := min(m, k*chunk); i < min(m, (k+1)*chunk); i++ {
			if kind[i] == rowNew && first[i] == uint32(i) {
				c++
			}
		}
		firsts[k+1] = c
	})
	for k := range w {
		firsts[k+1] += firsts[k]
	}
	base, total := len(b.teamID), firsts[w]
	if slices.Contains(conflict, true) || base+total >= 1<<32-1 {
		for _, r := range list {
			if id := team[r]; first[r] == r && uint64(id) < uint64(len(dense)) {
				dense[id] = 0
			}
		}
		return b.appendSerial(ec, 0, m)
	}

	// 3. Number the teams by first row and write their tables.
	b.reserveTeams(base + total)
	L := b.lineupSize
	wide := make([]bool, w)
	parallel(w, func(k int) {
		num := base + firsts[k]
		for i := min(m, k*chunk); i < min(m, (k+1)*chunk); i++ {
			if kind[i] != rowNew || first[i] != uint32(i) {
				continue
			}
			c := &checks[i]
			b.teamID[num] = team[i]
			b.teamMask[num] = c.mask[0]
			if c.mask[1]|c.mask[2]|c.mask[3] != 0 {
				wide[k] = true
			}
			slots := b.teamSlot[num*L : (num+1)*L]
			j := 0
			for wd, mk := range c.mask {
				for mk != 0 {
					slots[j] = uint8(wd*64 + bits.TrailingZeros64(mk))
					j++
					mk &= mk - 1
				}
			}
			b.captain[num], b.vice[num], b.teamPrint[num] = c.cs, c.vs, fps[i]
			ts[i] = uint32(num)
			num++
		}
	})
	if slices.Contains(wide, true) {
		b.wide = true
	}
	old := len(b.team)
	b.contestID = append(b.contestID, ec.Contest[:m]...)
	b.entryID = append(b.entryID, ec.Entry[:m]...)
	b.userID = append(b.userID, ec.User[:m]...)
	b.team = slices.Grow(b.team, m)[:old+m]
	parallel(w, func(k int) {
		for i := min(m, k*chunk); i < min(m, (k+1)*chunk); i++ {
			t := ts[i]
			if kind[i] == rowNew {
				if r0 := first[i]; r0 != uint32(i) {
					t = ts[r0]
				} else if id := team[i]; uint64(id) < uint64(len(dense)) {
					dense[id] = t + 1
				}
			}
			b.team[old+i] = t
		}
	})
	for _, sp := range sparse {
		for id, r0 := range sp {
			b.teamIdx.put(id, ts[r0])
		}
	}
	return nil
}

// reserveTeams makes the team tables n teams long (the new ones to be written), at
// least doubling their room when they grow, as growTeams does.
func (b *Builder) reserveTeams(n int) {
	c := n
	if cap(b.teamID) < n {
		c = max(n, 2*cap(b.teamID), 1024)
	}
	b.teamID = extend(b.teamID, n, c)
	b.teamMask = extend(b.teamMask, n, c)
	b.teamSlot = extend(b.teamSlot, n*b.lineupSize, c*b.lineupSize)
	b.captain = extend(b.captain, n, c)
	b.vice = extend(b.vice, n, c)
	b.teamPrint = extend(b.teamPrint, n, c)
}

// extend returns s n long, with room for c if it must grow.
func extend[T any](s []T, n, c int) []T {
	if cap(s) < n {
		s = slices.Grow(s, c-len(s))
	}
	return s[:n]
}
