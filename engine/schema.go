package engine

import "github.com/apache/arrow-go/v18/arrow"

// Column names of the entries, points and ranks tables (DESIGN.md "Interchange files").
const (
	ColContestID   = "contest_id"
	ColEntryID     = "entry_id"
	ColUserID      = "user_id"
	ColTeamID      = "team_id"
	ColPlayers     = "players"
	ColCaptain     = "captain"
	ColViceCaptain = "vice_captain"
	ColPlayerID    = "player_id"
	ColPoints      = "points"
	ColRank        = "rank"
)

// EntriesSchema is the schema of entries.parquet and of the record batches the
// Builder accepts. Extra columns are ignored; column order does not matter.
var EntriesSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColContestID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColEntryID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColUserID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColTeamID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColPlayers, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
	{Name: ColCaptain, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColViceCaptain, Type: arrow.PrimitiveTypes.Int32},
}, nil)

// PointsSchema is the schema of points.parquet: a player's total points so far.
var PointsSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColPlayerID, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColPoints, Type: arrow.PrimitiveTypes.Float64},
}, nil)

// RanksSchema is the schema of ranks.parquet, one row per entry.
var RanksSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColContestID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColEntryID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColPoints, Type: arrow.PrimitiveTypes.Float64},
	{Name: ColRank, Type: arrow.PrimitiveTypes.Int64},
}, nil)
