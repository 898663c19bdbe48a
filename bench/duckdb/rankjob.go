package duckbench

import "fmt"

// RankJobSQL is the whole batch job as one DuckDB query: (contest_id, entry_id,
// points DOUBLE, rank BIGINT). variant "entry" computes team points per entry (unnest
// the lineup, join points, group by entry); "team" once per distinct team_id, joined
// back to the entries.
func RankJobSQL(variant, entries, points string) (string, error) {
	switch variant {
	case "entry":
		return `SELECT contest_id, entry_id, CAST(points AS DOUBLE) AS points, rank
FROM (` + ExpectedRanksSQL(entries, points) + `)`, nil
	case "team":
		// Entries sharing a team_id share a lineup (DESIGN.md), so team
		// points can be computed once per team and joined back.
		return fmt.Sprintf(`
WITH pts AS (
  SELECT player_id, CAST(points AS DECIMAL(18,2)) AS p FROM read_parquet(%[2]s)
), e AS (
  SELECT contest_id, entry_id, team_id, players, captain, vice_captain FROM read_parquet(%[1]s)
), teams AS (
  SELECT team_id, any_value(players) AS players, any_value(captain) AS captain,
         any_value(vice_captain) AS vice_captain
  FROM e GROUP BY team_id
), lineup AS (
  SELECT u.team_id, sum(coalesce(pts.p, CAST(0 AS DECIMAL(18,2)))) AS s
  FROM (SELECT team_id, unnest(players) AS pid FROM teams) AS u
  LEFT JOIN pts ON pts.player_id = u.pid
  GROUP BY u.team_id
), tp AS (
  SELECT teams.team_id,
         coalesce(lineup.s, 0) + coalesce(c.p, CAST(0 AS DECIMAL(18,2)))
         + coalesce(v.p, CAST(0 AS DECIMAL(18,2))) * CAST(0.5 AS DECIMAL(2,1)) AS team_points
  FROM teams
  LEFT JOIN lineup ON lineup.team_id = teams.team_id
  LEFT JOIN pts AS c ON c.player_id = teams.captain
  LEFT JOIN pts AS v ON v.player_id = teams.vice_captain
)
SELECT e.contest_id, e.entry_id, CAST(tp.team_points AS DOUBLE) AS points,
       CAST(rank() OVER (PARTITION BY e.contest_id ORDER BY tp.team_points DESC) AS BIGINT) AS rank
FROM e JOIN tp ON tp.team_id = e.team_id`, Quote(entries), Quote(points)), nil
	}
	return "", fmt.Errorf("unknown --query %q (want entry or team)", variant)
}
