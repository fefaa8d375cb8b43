"""The night's output tables from Spark DataFrames, to the contract in ``dedup.schemas``.

Each table is written by Spark into the run's staging partition (``<table>/run_date=<night>/``,
part files instead of one ``part-0.parquet``: ``pd.read_parquet`` reads either), and the local
engine's journaled commit swaps the partitions in.
"""
from __future__ import annotations

from pathlib import Path

from dedup.schemas import CLUSTERS_SCHEMA, REJECT_SCHEMA, STORIES_SCHEMA
from dedup.stages.tables import CANONICAL_REASON


def _F():
    from pyspark.sql import functions as F

    return F


def stories(tonight, members, cids):
    """Tonight's stories with cluster_id, is_canonical, similarity, relation, ... in input order."""
    F = _F()
    canon = cids.select(F.col("node").alias("label"), "cluster_id", F.col("story_id").alias("canonical_story_id"))
    return (tonight.join(members, "node").join(canon, "label")
            .withColumn("is_canonical", F.col("node") == F.col("label"))
            .orderBy("file_idx", "record")
            .select(*STORIES_SCHEMA.names))


def clusters(new_canon, old_canon, members_all):
    """One row per cluster touched tonight: canonical, size, outlets, member ids, first/last seen."""
    F = _F()
    canon = new_canon.select("cluster_id", "story_id", "headline", F.col("body_clean").alias("body"), "agency",
                             "words").unionByName(
        old_canon.select("cluster_id", "story_id", "headline", "body", "agency", "words"))
    agg = members_all.groupBy("cluster_id").agg(
        F.count("story_id").alias("size"),
        F.array_sort(F.collect_set("outlet")).alias("outlets"),
        F.array_sort(F.collect_list("story_id")).alias("story_ids"),
        F.min("published_at").alias("first_published_at"),
        F.max("published_at").alias("last_published_at"))
    pre, post = CANONICAL_REASON.split("{}")
    return (canon.join(agg, "cluster_id", "left")
            .withColumn("canonical_reason", F.concat(F.lit(pre), F.col("words").cast("string"), F.lit(post)))
            .withColumnRenamed("story_id", "canonical_story_id")
            .orderBy(F.col("size").desc(), F.col("cluster_id").asc())
            .select(*CLUSTERS_SCHEMA.names))


def rejects(*parts):
    out = None
    for p in parts:
        p = p.select(*REJECT_SCHEMA.names)
        out = p if out is None else out.unionByName(p)
    return out


def write(df, path: Path, files: int = 0) -> None:
    """``files``: part files to write (0: one per partition Spark has)."""
    if files:
        df = df.coalesce(files)
    df.write.mode("overwrite").parquet(str(path))


def top_chrome_lines(lines, per_outlet: int):
    """The chrome lines removed most often per outlet (``dedup.stages.clean.top_removed``)."""
    from pyspark.sql import Window

    F = _F()
    t = lines.groupBy("outlet", "line").agg(F.sum("stories").alias("stories"))
    w = Window.partitionBy("outlet").orderBy(F.col("stories").desc(), F.col("line").asc())
    return (t.withColumn("_n", F.row_number().over(w)).where(F.col("_n") <= per_outlet)
            .orderBy("outlet", F.col("stories").desc(), "line").select("outlet", "line", "stories"))
