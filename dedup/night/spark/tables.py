"""The night's output tables from Spark DataFrames, to the contract in ``dedup.schemas``.

Each table is written by Spark into the run's staging partition (``<table>/run_date=<night>/``,
part files instead of one ``part-0.parquet``: ``pd.read_parquet`` reads either), and the local
engine's journaled commit swaps the partitions in.
"""
from __future__ import annotations

from pathlib import Path

from typing import Iterator

import pyarrow as pa

from dedup.schemas import CLUSTERS_SCHEMA, REJECT_SCHEMA, STORIES_SCHEMA
from dedup.stages.tables import REASON_INPUTS, canonical_reasons


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


def clusters(new_canon, old_canon, members_all, reasons):
    """One row per cluster touched tonight: canonical, size, outlets, member ids, first/last seen;
    ``reasons``: ``cluster_id, canonical_reason`` (``canonical_reason_rows``)."""
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
    return (canon.join(agg, "cluster_id", "left").join(reasons, "cluster_id", "left")
            .withColumnRenamed("story_id", "canonical_story_id")
            .orderBy(F.col("size").desc(), F.col("cluster_id").asc())
            .select(*CLUSTERS_SCHEMA.names))


REASON_DDL = "cluster_id string, canonical_reason string"
_NEVER = 2**63 - 1  # a missing publication time ranks last (``preference_rank``)


def reason_inputs(tonight, new_members, cids, old_canon):
    """``REASON_INPUTS`` rows: each new cluster's canonical with its best-ranked other member
    (``dedup.stages.tables.next_members``'s order, as a window), and each touched earlier cluster
    with its state night. ``tonight``: node, story_id, words, n_shingles, published_at;
    ``new_members``: node, label of the stories in new clusters; ``cids``: node, cluster_id."""
    from pyspark.sql import Window

    F = _F()
    rows = new_members.select("node", "label").join(
        tonight.select("node", "story_id", "words", F.col("n_shingles").alias("shingles"), "published_at"), "node")
    w = Window.partitionBy("label").orderBy(F.col("shingles").desc(),
                                            F.coalesce(F.unix_micros("published_at"), F.lit(_NEVER)).asc(),
                                            F.col("story_id").asc())
    nxt = (rows.where("node != label").withColumn("_n", F.row_number().over(w)).where("_n = 1")
           .select("label", *[F.col(c).alias("next_" + c) for c in ("story_id", "words", "shingles", "published_at")]))
    new = (rows.where("node = label").join(nxt, "label", "left")
           .join(cids.select(F.col("node").alias("label"), "cluster_id"), "label")
           .withColumn("night", F.lit(None).cast("string")))
    old = old_canon.select("cluster_id", "night", "story_id", "words", F.lit(None).cast("long").alias("shingles"),
                           "published_at", F.lit(None).cast("string").alias("next_story_id"),
                           F.lit(None).cast("long").alias("next_words"), F.lit(None).cast("long").alias("next_shingles"),
                           F.lit(None).cast("timestamp").alias("next_published_at"))
    return new.select(*REASON_INPUTS.names).unionByName(old.select(*REASON_INPUTS.names))


def canonical_reason_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow: ``REASON_INPUTS`` rows -> ``REASON_DDL`` (``dedup.stages.tables.canonical_reasons``)."""
    for b in batches:
        t = pa.Table.from_batches([b])
        yield pa.RecordBatch.from_arrays([t.column("cluster_id").combine_chunks(), canonical_reasons(t)],
                                         ["cluster_id", "canonical_reason"])


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
