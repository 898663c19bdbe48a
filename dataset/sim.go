package dataset

import (
	"fmt"
	"strings"
)

// Simulation plays the match of a generated dataset ball by ball: the same squad (player
// ids, sides, roles) that Generate draws for the same seed and player count, so its points
// apply to that dataset's lineups. `leaderboard simulate` publishes its points.
type Simulation struct {
	m       *match
	g       *t20
	playing [2][]int
	innings int // 0 before the first ball, then 1 or 2
	target  int
	done    bool
}

// Ball is what one legal delivery did, with every player's points total after it.
type Ball struct {
	Innings         int
	Over, Ball      int // 0-based over, 1-based ball in it
	Batter, Bowler  int32
	Runs            int
	Wicket          string // "", "caught", "bowled", "lbw", "run out", "stumped"
	Fielder         int32  // 0 if none
	Score, Wickets  int
	Target          int      // runs to win in the second innings, 0 in the first
	Milestones      []string // e.g. "50 for 123456", "duck for 123456", "3 wickets for 654321"
	Points          []float64
	InningsComplete bool // this ball ended the innings
}

// NewSimulation prepares the match for a seed and player count (see GenConfig).
func NewSimulation(seed int64, players int) *Simulation {
	m, g, playing, _ := newSquad(seed, players)
	return &Simulation{m: m, g: g, playing: playing}
}

// Players returns the squad's player ids; Ball.Points is indexed alike.
func (s *Simulation) Players() []int32 { return s.m.ids }

// Next plays one ball; false when the match is over.
func (s *Simulation) Next() (Ball, bool) {
	g := s.g
	if s.done {
		return Ball{}, false
	}
	if s.innings == 0 {
		g.startInnings(s.playing[0], s.playing[1])
		s.innings, s.target = 1, -1
	}
	if g.balls%6 == 0 {
		g.newOver()
	}
	bs := g.stats[g.batting[g.striker]]
	before := bs.runs
	bowlerWickets := g.stats[g.bowlerNow].wickets
	g.ball()
	if g.balls%6 == 0 {
		if g.stats[g.bowlerNow].overRuns == 0 {
			g.stats[g.bowlerNow].maidens++
		}
		g.striker, g.nonStriker = g.nonStriker, g.striker
	}
	ev := g.last
	b := Ball{Innings: s.innings, Over: (g.balls - 1) / 6, Ball: (g.balls-1)%6 + 1,
		Batter: s.m.ids[ev.batter], Bowler: s.m.ids[ev.bowler], Runs: ev.runs, Wicket: ev.how,
		Score: g.total, Wickets: g.wickets, Points: g.points()}
	if ev.fielder >= 0 {
		b.Fielder = s.m.ids[ev.fielder]
	}
	if s.target >= 0 {
		b.Target = s.target + 1
	}
	after := g.stats[ev.batter].runs
	for _, m := range []int{30, 50, 100} {
		if before < m && after >= m {
			b.Milestones = append(b.Milestones, fmt.Sprintf("%d for %d", m, b.Batter))
		}
	}
	if ev.how != "" && after == 0 && s.g.roles[ev.batter] != bowler {
		b.Milestones = append(b.Milestones, fmt.Sprintf("duck for %d", b.Batter))
	}
	if w := g.stats[ev.bowler].wickets; w > bowlerWickets && w >= 3 {
		b.Milestones = append(b.Milestones, fmt.Sprintf("%d wickets for %d", w, b.Bowler))
	}
	over := g.balls >= 120 || g.wickets >= len(g.batting)-1 || (s.target >= 0 && g.total > s.target)
	if over {
		b.InningsComplete = true
		if s.innings == 1 {
			s.target = g.total
			g.startInnings(s.playing[1], s.playing[0])
			s.innings = 2
		} else {
			s.done = true
		}
	}
	return b, true
}

// String is a line of commentary.
func (b Ball) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "inn %d %2d.%d  %d to %d: ", b.Innings, b.Over, b.Ball, b.Bowler, b.Batter)
	switch {
	case b.Wicket == "caught":
		fmt.Fprintf(&sb, "OUT, caught by %d", b.Fielder)
	case b.Wicket == "run out":
		fmt.Fprintf(&sb, "OUT, run out by %d", b.Fielder)
	case b.Wicket == "stumped":
		fmt.Fprintf(&sb, "OUT, stumped by %d", b.Fielder)
	case b.Wicket != "":
		fmt.Fprintf(&sb, "OUT, %s", b.Wicket)
	case b.Runs == 6:
		sb.WriteString("SIX")
	case b.Runs == 4:
		sb.WriteString("FOUR")
	case b.Runs == 0:
		sb.WriteString("dot ball")
	default:
		fmt.Fprintf(&sb, "%d run", b.Runs)
		if b.Runs > 1 {
			sb.WriteString("s")
		}
	}
	fmt.Fprintf(&sb, "  [%d/%d", b.Score, b.Wickets)
	if b.Target > 0 {
		fmt.Fprintf(&sb, ", target %d", b.Target)
	}
	sb.WriteString("]")
	for _, m := range b.Milestones {
		sb.WriteString("  * " + m)
	}
	if b.InningsComplete {
		sb.WriteString("  -- innings over")
	}
	return sb.String()
}
