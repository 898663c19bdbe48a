"""The batch job in Polars: entries.parquet + points.parquet in, ranks.parquet out.

    python rank_polars.py DATASET_DIR OUT_FILE

Team points are exact integers in units of 1/200 point (player points are whole
centipoints): 2*sum(lineup) + 2*captain + vice-captain. Rank is rank('min') over the
contest, points descending. Used by bench/duckdb/cmd/rankcompare; needs `pip install
polars` (in a virtual environment outside the repository).
"""
import sys

import polars as pl


def main(inp: str, out: str) -> None:
    pts = pl.scan_parquet(f"{inp}/points.parquet").select(
        "player_id", (pl.col("points") * 100).round().cast(pl.Int64).alias("cp"))
    e = pl.scan_parquet(f"{inp}/entries.parquet")
    teams = e.group_by("team_id").agg(
        pl.col("players").first(), pl.col("captain").first(), pl.col("vice_captain").first())
    lineup = (teams.select("team_id", "players").explode("players")
              .join(pts, left_on="players", right_on="player_id", how="left")
              .group_by("team_id").agg(pl.col("cp").fill_null(0).sum().alias("s")))
    cap = pts.rename({"player_id": "captain", "cp": "c"})
    vice = pts.rename({"player_id": "vice_captain", "cp": "v"})
    tp = (teams.join(lineup, on="team_id", how="left")
          .join(cap, on="captain", how="left")
          .join(vice, on="vice_captain", how="left")
          .select("team_id", (2 * pl.col("s").fill_null(0) + 2 * pl.col("c").fill_null(0)
                              + pl.col("v").fill_null(0)).alias("u")))
    res = (e.select("contest_id", "entry_id", "team_id").join(tp, on="team_id")
           .select("contest_id", "entry_id", (pl.col("u") / 200.0).alias("points"),
                   pl.col("u").rank("min", descending=True).over("contest_id")
                   .cast(pl.Int64).alias("rank")))
    res.collect().write_parquet(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
