"""The batch job in PySpark (local mode): entries.parquet + points.parquet in, a
directory of ranks Parquet files out.

    python rank_pyspark.py DATASET_DIR OUT_DIR [CORES]

Same arithmetic as rank_polars.py: exact integer team points in units of 1/200 point,
rank() over the contest by points descending. Used by bench/duckdb/cmd/rankcompare;
needs `pip install pyspark` and a Java runtime (17+).
"""
import sys

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F


def main(inp: str, out: str, cores: str) -> None:
    spark = (SparkSession.builder.master(f"local[{cores}]").appName("rank")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", cores)
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    pts = spark.read.parquet(f"{inp}/points.parquet").select(
        "player_id", F.round(F.col("points") * 100).cast("long").alias("cp"))
    e = spark.read.parquet(f"{inp}/entries.parquet")
    teams = e.groupBy("team_id").agg(F.first("players").alias("players"),
                                     F.first("captain").alias("captain"),
                                     F.first("vice_captain").alias("vice_captain"))
    lineup = (teams.select("team_id", F.explode("players").alias("player_id"))
              .join(pts, "player_id", "left")
              .groupBy("team_id").agg(F.sum(F.coalesce("cp", F.lit(0))).alias("s")))
    cap = pts.withColumnRenamed("player_id", "captain").withColumnRenamed("cp", "c")
    vice = pts.withColumnRenamed("player_id", "vice_captain").withColumnRenamed("cp", "v")
    tp = (teams.join(lineup, "team_id", "left").join(cap, "captain", "left")
          .join(vice, "vice_captain", "left")
          .select("team_id", (2 * F.coalesce("s", F.lit(0)) + 2 * F.coalesce("c", F.lit(0))
                              + F.coalesce("v", F.lit(0))).alias("u")))
    w = Window.partitionBy("contest_id").orderBy(F.col("u").desc())
    res = (e.select("contest_id", "entry_id", "team_id").join(tp, "team_id")
           .select("contest_id", "entry_id", (F.col("u") / 200.0).alias("points"),
                   F.rank().over(w).cast("long").alias("rank")))
    res.write.mode("overwrite").parquet(out)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "2")
