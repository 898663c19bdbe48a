package dataset

import (
	"math"
	"slices"
)

// match is one simulated T20 match: its players, how popular each is with the people
// picking fantasy teams, and every player's points at two moments of the match.
type match struct {
	ids     []int32  // player ids, ascending; a player is known by its index here
	pop     []uint64 // weight of picking the player into a lineup
	captW   []uint64 // weight of making the player captain, among the lineup
	viceW   []uint64 // weight of making the player vice-captain, among the rest
	points1 []float64
	points2 []float64 // a later moment: mostly >= points1, lower only by a penalty
}

type role uint8

const (
	batter role = iota
	keeper
	allRounder
	bowler
	bench // in the squad, not in the playing side: always 0 points
)

// Fantasy scoring, T20 style, in half points so that every total is a multiple of 0.5:
// run 1, four +1, six +2; 30/50/100 runs +4/+8/+16 (highest only); duck -2 (not for
// bowlers); strike-rate bonus or penalty after 10 balls (-6..+6); wicket 25, bowled or
// LBW +8; 3/4/5 wickets +4/+8/+16; maiden +12; dot ball +0.5; economy bonus or penalty
// after 2 overs (-6..+6); catch 8, 3 catches +4; stumping 12; run out 12 direct, 6 not.
type playerStats struct {
	batted                         bool
	out                            bool
	runs, balls, fours, sixes      int
	ballsBowled, conceded, dots    int
	maidens, wickets, bowledLBW    int
	catches, stumpings             int
	runOutsDirect, runOutsIndirect int
	overRuns                       int // runs conceded in the bowler's current over
}

func (s *playerStats) halfPoints(r role) int {
	h := 0
	if s.batted {
		h += 2 * (s.runs + s.fours + 2*s.sixes)
		switch {
		case s.runs >= 100:
			h += 2 * 16
		case s.runs >= 50:
			h += 2 * 8
		case s.runs >= 30:
			h += 2 * 4
		}
		if r != bowler {
			if s.out && s.runs == 0 {
				h -= 2 * 2
			}
			if s.balls >= 10 {
				sr := s.runs * 100 // strike rate * balls
				switch {
				case sr > 170*s.balls:
					h += 2 * 6
				case sr > 150*s.balls:
					h += 2 * 4
				case sr >= 130*s.balls:
					h += 2 * 2
				case sr < 50*s.balls:
					h -= 2 * 6
				case sr < 60*s.balls:
					h -= 2 * 4
				case sr <= 70*s.balls:
					h -= 2 * 2
				}
			}
		}
	}
	h += 2*(25*s.wickets+8*s.bowledLBW+12*s.maidens) + s.dots
	switch {
	case s.wickets >= 5:
		h += 2 * 16
	case s.wickets >= 4:
		h += 2 * 8
	case s.wickets >= 3:
		h += 2 * 4
	}
	if s.ballsBowled >= 12 {
		e := s.conceded * 6 // economy * balls
		b := s.ballsBowled
		switch {
		case e < 5*b:
			h += 2 * 6
		case e < 6*b:
			h += 2 * 4
		case e <= 7*b:
			h += 2 * 2
		case e > 12*b:
			h -= 2 * 6
		case e > 11*b:
			h -= 2 * 4
		case e >= 10*b:
			h -= 2 * 2
		}
	}
	h += 2 * (8*s.catches + 12*s.stumpings + 12*s.runOutsDirect + 6*s.runOutsIndirect)
	if s.catches >= 3 {
		h += 2 * 4
	}
	return h
}

// newMatch draws the squad (sparse 6-digit player ids, two sides, roles, a few stars),
// then plays the match ball by ball: points1 is taken late in the first innings, points2
// in the middle of the chase.
func newMatch(seed int64, players int) *match {
	m, sim, playing, r := newSquad(seed, players)
	stop1 := r.between(14*6, 18*6) // late in the first innings
	stop2 := r.between(5*6, 15*6)  // middle of the chase
	sim.startInnings(playing[0], playing[1])
	sim.play(stop1, -1)
	m.points1 = sim.points()
	sim.play(120, -1)
	target := sim.total
	sim.startInnings(playing[1], playing[0])
	sim.play(stop2, target)
	m.points2 = sim.points()
	return m
}

// newSquad draws the squad (ids, sides, roles, skills, popularity) and returns a match
// simulation ready to start, with the random source it continues from.
func newSquad(seed int64, players int) (*match, *t20, [2][]int, *rng) {
	rv := newRNG(seed, streamMatch)
	r := &rv
	m := &match{
		ids:   make([]int32, 0, players),
		pop:   make([]uint64, players),
		captW: make([]uint64, players),
		viceW: make([]uint64, players),
	}
	seen := make(map[int32]bool, players)
	for len(m.ids) < players {
		id := int32(r.between(100_000, 999_999))
		if !seen[id] {
			seen[id] = true
			m.ids = append(m.ids, id)
		}
	}
	slices.Sort(m.ids)

	// Sides: a random half of the squad each, in batting order; up to 11 play.
	order := make([]int, players)
	for i := range order {
		order[i] = i
	}
	for i := len(order) - 1; i > 0; i-- {
		j := int(r.intn(uint64(i + 1)))
		order[i], order[j] = order[j], order[i]
	}
	sides := [2][]int{order[:players/2], order[players/2:]}
	roles := make([]role, players)
	batSkill := make([]float64, players)
	bowlSkill := make([]float64, players)
	var playing [2][]int
	for s, side := range sides {
		n := min(len(side), 11)
		playing[s] = side[:n]
		for pos, p := range side {
			switch {
			case pos >= n:
				roles[p] = bench
			case pos < n*4/11:
				roles[p] = batter
			case pos == n*4/11 && n >= 3:
				roles[p] = keeper
			case pos <= n*4/11+n*2/11:
				roles[p] = allRounder
			default:
				roles[p] = bowler
			}
			switch roles[p] {
			case batter:
				batSkill[p], bowlSkill[p] = 0.9+0.5*r.float64(), 0
			case keeper:
				batSkill[p], bowlSkill[p] = 0.8+0.4*r.float64(), 0
			case allRounder:
				batSkill[p], bowlSkill[p] = 0.7+0.4*r.float64(), 0.8+0.4*r.float64()
			case bowler:
				batSkill[p], bowlSkill[p] = 0.3+0.3*r.float64(), 0.9+0.5*r.float64()
			}
		}
	}

	// Popularity: everyone who plays has a base weight; three stars (mostly batters and
	// all-rounders, who also play better) are picked by nearly every team and take most
	// captaincies; four more are popular picks. The bench is rarely picked.
	var all []int
	for s := range playing {
		all = append(all, playing[s]...)
	}
	for _, p := range all {
		m.pop[p] = 500 + r.intn(1000)
	}
	for p := range roles {
		if roles[p] == bench {
			m.pop[p] = 20
		}
	}
	pickFrom := func(count int, factor uint64, boost float64) {
		for c := 0; c < count && len(all) > 0; c++ {
			w := make([]uint64, len(all))
			var total uint64
			for i, p := range all {
				w[i] = 1
				if roles[p] != bowler {
					w[i] = 3
				}
				total += w[i]
			}
			i := r.weighted(w, total)
			p := all[i]
			all = append(all[:i], all[i+1:]...)
			m.pop[p] *= factor
			batSkill[p] += boost
			if bowlSkill[p] > 0 {
				bowlSkill[p] += boost
			}
		}
	}
	pickFrom(3, 8, 0.3)
	pickFrom(4, 2, 0.1)
	for p, w := range m.pop {
		m.captW[p] = w * uint64(math.Sqrt(float64(w)))
		m.viceW[p] = w
	}

	sim := &t20{r: r, roles: roles, bat: batSkill, bowl: bowlSkill, stats: make([]playerStats, players)}
	return m, sim, playing, r
}

// t20 plays a match ball by ball; an innings can be played in pieces, so that the
// points can be read in the middle of it.
type t20 struct {
	r         *rng
	roles     []role
	bat, bowl []float64
	stats     []playerStats

	batting, fielding   []int
	pool                []int // who bowls
	maxOvers            int
	balls, wickets      int
	total               int
	striker, nonStriker int // positions in the batting order
	nextIn              int
	bowlerNow           int
	overs               map[int]int
	last                ballEvent // what the last ball did
}

// ballEvent is what one ball did, for commentary.
type ballEvent struct {
	batter, bowler int
	runs           int
	how            string // "" or the mode of dismissal
	fielder        int    // catcher, run-out fielder or keeper; -1 if none
}

func (g *t20) startInnings(batting, fielding []int) {
	g.batting, g.fielding = batting, fielding
	g.balls, g.wickets, g.total = 0, 0, 0
	g.striker, g.nonStriker, g.nextIn = 0, 1, 2
	g.bowlerNow = -1
	g.overs = map[int]int{}
	g.pool = g.pool[:0]
	for _, p := range fielding {
		if g.bowl[p] > 0 {
			g.pool = append(g.pool, p)
		}
	}
	if len(g.pool) == 0 {
		g.pool = append(g.pool, fielding...)
	}
	g.maxOvers = max(4, (20+len(g.pool)-1)/len(g.pool))
	g.stats[batting[0]].batted = true
	if len(batting) > 1 {
		g.stats[batting[1]].batted = true
	}
}

// play continues the innings until its legal ball count reaches stopBall, the side is
// all out, or its total passes target (when target >= 0).
func (g *t20) play(stopBall, target int) {
	for g.balls < min(stopBall, 120) && g.wickets < len(g.batting)-1 && (target < 0 || g.total <= target) {
		if g.balls%6 == 0 {
			g.newOver()
		}
		g.ball()
		if g.balls%6 == 0 { // end of the over
			if g.stats[g.bowlerNow].overRuns == 0 {
				g.stats[g.bowlerNow].maidens++
			}
			g.striker, g.nonStriker = g.nonStriker, g.striker
		}
	}
}

func (g *t20) newOver() {
	w := make([]uint64, len(g.pool))
	var total uint64
	for i, p := range g.pool {
		if p != g.bowlerNow && g.overs[p] < g.maxOvers {
			w[i] = 1 + uint64(100*g.bowl[p])
			total += w[i]
		}
	}
	switch {
	case total > 0:
		g.bowlerNow = g.pool[g.r.weighted(w, total)]
	case g.bowlerNow < 0:
		g.bowlerNow = g.pool[0]
	}
	g.overs[g.bowlerNow]++
	g.stats[g.bowlerNow].overRuns = 0
}

func (g *t20) ball() {
	bat := g.batting[g.striker]
	bs, ws := &g.stats[bat], &g.stats[g.bowlerNow]
	sb, sw := g.bat[bat], max(g.bowl[g.bowlerNow], 0.5)
	pWicket := min(max(0.05*sw/max(sb, 0.2), 0.01), 0.2)
	pSix := 0.045 * sb * sb
	pFour := 0.10 * sb
	g.balls++
	bs.balls++
	ws.ballsBowled++
	x := g.r.float64()
	runs := 0
	g.last = ballEvent{batter: bat, bowler: g.bowlerNow, fielder: -1}
	switch {
	case x < pWicket:
		g.dismiss(bat)
		ws.dots++
		return
	case x < pWicket+pSix:
		runs = 6
		bs.sixes++
	case x < pWicket+pSix+pFour:
		runs = 4
		bs.fours++
	case x < pWicket+pSix+pFour+0.008:
		runs = 3
	case x < pWicket+pSix+pFour+0.078:
		runs = 2
	case x < pWicket+pSix+pFour+0.418:
		runs = 1
	}
	g.last.runs = runs
	bs.runs += runs
	g.total += runs
	ws.conceded += runs
	ws.overRuns += runs
	if runs == 0 {
		ws.dots++
	}
	if runs%2 == 1 {
		g.striker, g.nonStriker = g.nonStriker, g.striker
	}
}

func (g *t20) dismiss(bat int) {
	batting, fielding := g.batting, g.fielding
	bs, ws := &g.stats[bat], &g.stats[g.bowlerNow]
	bs.out = true
	g.wickets++
	var keeperP = -1
	for _, p := range fielding {
		if g.roles[p] == keeper {
			keeperP = p
		}
	}
	fielder := func() int {
		w := make([]uint64, len(fielding))
		var total uint64
		for i, p := range fielding {
			w[i] = 2
			if p == keeperP {
				w[i] = 8
			}
			total += w[i]
		}
		return fielding[g.r.weighted(w, total)]
	}
	switch x := g.r.float64(); {
	case x < 0.58:
		ws.wickets++
		f := fielder()
		g.stats[f].catches++
		g.last.how, g.last.fielder = "caught", f
	case x < 0.87:
		ws.wickets++
		ws.bowledLBW++
		g.last.how = "bowled"
		if x >= 0.75 {
			g.last.how = "lbw"
		}
	case x < 0.94 || keeperP < 0:
		direct := g.r.chance(0.4)
		f := fielder()
		if direct {
			g.stats[f].runOutsDirect++
		} else {
			g.stats[f].runOutsIndirect++
		}
		g.last.how, g.last.fielder = "run out", f
	default:
		ws.wickets++
		g.stats[keeperP].stumpings++
		g.last.how, g.last.fielder = "stumped", keeperP
	}
	if g.nextIn < len(batting) {
		g.striker = g.nextIn
		g.stats[batting[g.nextIn]].batted = true
		g.nextIn++
	}
}

func (g *t20) points() []float64 {
	out := make([]float64, len(g.stats))
	for p := range g.stats {
		out[p] = float64(g.stats[p].halfPoints(g.roles[p])) / 2
	}
	return out
}
