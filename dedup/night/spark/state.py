"""The state window read, and the night's state written, by Spark (layout: ``dedup.night.state``).

The nights in the window are chosen and checked (version, checksums) on the driver, exactly as
the local engine does; their tables are then read with ``spark.read.parquet`` (split by row
group across executors), whichever engine wrote them: a single Parquet file (local) or a folder of
part files (Spark). Types are brought to the engine's: Spark reads the local engine's uint64
hashes as decimal(20,0), turned back into int64 with the same bits; shingle sets and signatures
are packed (``partitions.packed``). The night's own state is written by Spark as folders of part
files in the local engine's layout, and its manifest last, by the driver.
"""
from __future__ import annotations

from pathlib import Path

from dedup.night.spark import partitions as P
from dedup.night.state import FILES, night_dir, night_version, window_nights, write_manifest


def _read(spark, state_path, nights, name, ddl):
    """One state table over the window's nights, in the types of ``ddl`` (plus ``night``)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    two63 = F.expr("CAST('9223372036854775808' AS DECIMAL(21,0))")
    two64 = F.expr("CAST('18446744073709551616' AS DECIMAL(21,0))")
    fields = P.ddl_fields(ddl)
    parts = []
    for x in nights:
        df = spark.read.parquet(str(night_dir(state_path, x) / name))
        cols = []
        for col, typ in fields:
            if col == "night":
                cols.append(F.lit(x).alias("night"))
                continue
            c = F.col(col)
            if typ == "long" and isinstance(df.schema[col].dataType, DecimalType):
                c = F.when(c >= two63, c - two64).otherwise(c).cast("long")
            elif typ == "binary":
                c = c.cast("array<long>")
            else:
                c = c.cast(typ)
            cols.append(c.alias(col))
        parts.append(df.select(*cols))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    if any(t == "binary" for _, t in fields):
        out = out.mapInArrow(P.pack_columns, ddl)  # lists in, packed out
    return out


def load_window(spark, state_path: Path, night: str, retention_days: int):
    """(nights, canonicals, members, chrome, outlets, reports) DataFrames of the window; None when empty.

    canonicals: the latest night's row per cluster; members: unique (cluster_id, story_id);
    chrome: summed (key, stories); outlets: summed (outlet, stories); reports: the report-sketch
    rows (key, q, value) of the nights that have them (format version 2 on), None without any.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    nights = window_nights(state_path, night, retention_days)
    if not nights:
        return nights, None, None, None, None, None
    canon = _read(spark, state_path, nights, "canonicals.parquet", P.STATE_CANON_DDL)
    latest = Window.partitionBy("cluster_id").orderBy(F.col("night").desc())
    canon = canon.withColumn("_n", F.row_number().over(latest)).where("_n = 1").drop("_n")
    members = (_read(spark, state_path, nights, "members.parquet", P.STATE_MEMBERS_DDL)
               .groupBy("cluster_id", "story_id")
               .agg(F.min_by("outlet", "night").alias("outlet"), F.min("published_at").alias("published_at")))
    chrome = (_read(spark, state_path, nights, "chrome.parquet", P.STATE_CHROME_DDL)
              .groupBy("key").agg(F.sum("stories").alias("stories")))
    outlets = (_read(spark, state_path, nights, "outlets.parquet", P.STATE_OUTLETS_DDL)
               .groupBy("outlet").agg(F.sum("stories").alias("stories")))
    with_reports = [x for x in nights if night_version(state_path, x) >= 2]
    reports = (_read(spark, state_path, with_reports, "chrome_reports.parquet", P.STATE_REPORTS_DDL).drop("night")
               if with_reports else None)
    return nights, canon, members, chrome, outlets, reports


def written_ids(spark, state_path: Path, nights: list[str]):
    """(story_id, night) DataFrame: each story id the window's nights wrote (their members) and the
    first night that did (``dedup.night.state.Window.first_written``, by id instead of its hash)."""
    from pyspark.sql import functions as F

    return (_read(spark, state_path, nights, "members.parquet", P.STATE_MEMBERS_DDL)
            .groupBy("story_id").agg(F.min("night").alias("night")))


def write_night(dest: Path, night: str, canonicals, members, chrome, reports, outlets, chrome_lines,
                fp: dict | None = None) -> dict:
    """Write the night's state tables (DataFrames) under ``dest`` and then its manifest (``fp``:
    ``dedup.night.state.fingerprint_settings``, what the canonicals were fingerprinted under)."""
    from pyspark.sql import functions as F

    cols = [c.split(" ")[0] for c in P.STATE_CANON_DDL.split(", ")]
    parts = {
        "canonicals.parquet": canonicals.withColumn("night", F.lit(night)).select(*cols).mapInArrow(
            P.state_canonicals_out, P.STATE_CANON_OUT_DDL),
        "members.parquet": members.select("cluster_id", "story_id", "outlet", "published_at"),
        "chrome.parquet": chrome.select("key", "stories"),
        "chrome_reports.parquet": reports.select("key", "q", "value"),
        "outlets.parquet": outlets.select("outlet", "stories"),
        "chrome_lines.parquet": chrome_lines.select("outlet", "line", "stories"),
    }
    assert set(parts) == set(FILES)
    rows = {}
    for name, df in parts.items():
        df = df.cache()
        rows[name.split(".")[0]] = df.count()
        df.coalesce(max(1, min(16, rows[name.split(".")[0]] // 500_000 + 1))).write.mode("overwrite").parquet(
            str(Path(dest) / name))
        df.unpersist()
    return write_manifest(Path(dest), night, {"canonicals": rows["canonicals"], "members": rows["members"],
                                              "chrome_keys": rows["chrome"]}, fp)
