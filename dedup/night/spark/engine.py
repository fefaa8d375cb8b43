"""One night on Spark: read -> clean -> fingerprint -> candidates -> verify -> cluster -> write.

Called by ``dedup.night.local.run`` inside the local engine's lock and staging, so the commit,
recovery, retention and exit codes are the same for both engines. Each stage ends in a Spark
action (a persist and a count), so the manifest's per-stage seconds are the stage's own, not
whatever Spark chose to run lazily later. ``peak_rss_mb`` in the manifest is the driver's.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np

from dedup.config import is_object_store
from dedup.errors import StateError, StateFailed
from dedup.night.figures import NightFigures, RunResult, StageLog, peak_rss_mb
from dedup.night.policy import check_feed, check_reject_ratio
from dedup.night.state import fingerprint_settings, stale_nights, window_nights
from dedup.stages.read import ReadStats, discover
from dedup.stages.chrome import REPORT_SET, ChromeModel, ReportSets
from dedup.stages.reasons import ENDS_EARLY, REDELIVERED_KEY, REDELIVERED_PREFIX
from dedup.stages.text_loss import TextLoss
from dedup.night.spark import graph as G
from dedup.night.spark import partitions as P
from dedup.night.spark import state as S
from dedup.night.spark import tables as T
from dedup.night.spark.session import get_session, partitions, spark_failure
from dedup.night.manifest import finish_night

log = logging.getLogger("dedup")

MATCH_COLS = ["file_idx", "record", "story_id", "published_at", "words", "text_hash", "headline_hash", "n_shingles",
              "signature", "shingles", "numbers", "numbers_known", "lede"]


def _sum_stats(rows: list[str]) -> ReadStats:
    st = ReadStats()
    for r in rows:
        d = json.loads(r)
        st.records += d["records"]
        st.accepted += d["accepted"]
        st.rejected += d["rejected"]
        st.reasons.update(Counter(d["reasons"]))
        st.bad_dates += d["bad_dates"]
        st.reencoded += d["reencoded"]
    return st


def run_night(settings, staging, night: str):
    """The Spark body of ``dedup.night.local.run``; returns its RunResult. Raises RunFailed (one line)
    when the JVM runs out of heap or goes away (``session.spark_failure``)."""
    try:
        return _run_night(settings, staging, night)
    except Exception as e:
        failure = spark_failure(e)
        if failure is None:
            raise
        log.debug("Spark failure", exc_info=True)
        raise failure from None


def _run_night(settings, staging, night: str):
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F


    t_start = time.perf_counter()
    # A window fingerprinted under other settings is fingerprinted again from its stored text,
    # as the local engine does (``partitions.refingerprint_rows``).
    fp = fingerprint_settings(settings.dedup)
    try:
        stale = stale_nights(settings.state_path, window_nights(settings.state_path, night,
                                                                settings.state.retention_days), fp)
    except StateError as e:
        raise StateFailed(str(e)) from None
    if stale:
        log.warning("state night(s) %s were fingerprinted under other settings (%s): re-fingerprinted from their "
                    "stored text for this night", ", ".join(sorted(stale)), stale[sorted(stale)[0]])
    spark = get_session(settings)
    _require_local_master(spark, settings)
    nparts = partitions(spark, settings)
    spark.conf.set("spark.sql.shuffle.partitions", str(nparts))
    keep = StorageLevel.MEMORY_AND_DISK
    sl = StageLog()
    ch, d, inp = settings.chrome, settings.dedup, settings.input
    files = discover(inp)

    _describe(spark, "read")
    with sl.stage("read", files=len(files)) as st:
        local = _copy_inputs(files, staging.work / "input") if is_object_store(inp.path) else None
        fdf, ranges = _read_tasks(spark, files, settings.spark.split_bytes, nparts, local)
        raw = fdf.mapInArrow(partial(P.read_files, input_json=inp.model_dump_json(),
                                     raw_max_chars=settings.output.raw_max_chars, chunk_size=settings.run.chunk_size,
                                     chunk_bytes=settings.run.chunk_bytes),
                             P.READ_DDL).persist(keep)
        stats = _sum_stats([r.stats for r in raw.where("kind = 'stats'").select("stats").collect()])
        rec = raw.where("kind = 'record'").drop("reason", "raw", "stats", "kind")
        # The readers keep every record of an id: which of an id's records is kept is decided once
        # chrome is learned (``dedup.stages.versions``, below); how many are rejected is known now:
        # each repeated id's records but one. Chrome is learned from each id's first record
        # (``_learn``), as locally (``local.learned_from``).
        by_id = Window.partitionBy("story_id")
        records = (rec.withColumn("_n", F.count(F.lit(1)).over(by_id))
                   .withColumn("_learn", F.row_number().over(by_id.orderBy("file_idx", "record")) == 1)
                   .repartition(nparts).persist(keep))
        # Rejects kept apart, so the raw read (text twice over) can leave memory once records exist.
        read_rejects = raw.where("kind = 'reject'").select("source", "record", "story_id", "reason", "raw").persist(keep)
        read_rejects.count()
        agg = records.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col("was_html").cast("long")).alias("html")).first()
        html = int(agg.html or 0)
        body_sources = {r.body_source: int(r["count"]) for r in records.groupBy("body_source").count().collect()}
        rep = records.where("_n > 1").agg(F.count(F.lit(1)).alias("rows"),
                                          F.countDistinct("story_id").alias("ids")).first()
        dups = int(rep.rows or 0) - int(rep.ids or 0)
        if dups:
            stats.accepted -= dups
            stats.rejected += dups
            stats.reasons["duplicate id"] += dups
        raw.unpersist()
        st.update(records=stats.records, accepted=stats.accepted, rejected=stats.rejected, html=html,
                  body_sources=dict(sorted(body_sources.items())))
    ended = read_rejects.where(F.col("reason").startswith(ENDS_EARLY)).select("source", "reason").collect()
    feed_checks = check_feed(settings, night, stats.records, [f"{x.source}: {x.reason}" for x in ended],
                             [f.path for f in files if f.bytes == 0])
    check_reject_ratio(stats.records, stats.rejected, stats.reasons, inp.max_reject_ratio, night)

    _describe(spark, "state")
    with sl.stage("state") as st:
        try:
            nights, wcanon, wmembers, wchrome, woutlets, wreports = S.load_window(
                spark, settings.state_path, night, settings.state.retention_days)
        except StateError as e:
            raise StateFailed(str(e)) from None
        if wcanon is not None:
            if stale:
                wcanon = wcanon.mapInArrow(partial(P.refingerprint_rows, fp=fp, stale=sorted(stale)), wcanon.schema)
            wcanon = wcanon.persist(keep)
            st.update(nights=len(nights), clusters=wcanon.count())
        else:
            st.update(nights=0, clusters=0)

    _describe(spark, "clean+fingerprint")
    t0 = time.perf_counter()
    # Tonight's chrome counts, and the model the cleaner uses: tonight's plus the window's, cut to
    # the keys that can ever count as chrome (>= min_stories), which is small enough to broadcast.
    learn = records.where("_learn")
    if ch.enabled:
        chrome_tonight = (learn.select("outlet", "url", "text").mapInArrow(P.chrome_counts, P.CHROME_DDL)
                          .groupBy("key").agg(F.sum("stories").alias("stories"))).persist(keep)
    else:
        chrome_tonight = spark.createDataFrame([], P.CHROME_DDL)
    outlets_tonight = learn.select("outlet", "url").mapInArrow(P.chrome_sites, "outlet string").groupBy(
        "outlet").agg(F.count(F.lit(1)).alias("stories")).persist(keep)
    outlet_stories = {r.outlet: r.stories for r in outlets_tonight.collect()} if ch.enabled else {}
    combined = chrome_tonight
    if wchrome is not None:
        combined = combined.unionByName(wchrome).groupBy("key").agg(F.sum("stories").alias("stories"))
        for r in woutlets.collect():
            outlet_stories[r.outlet] = outlet_stories.get(r.outlet, 0) + r.stories
    # The second learning pass needs every key's story count: the candidates (>= min_stories) are
    # broadcast, the report sketches of the stories carrying them come back per (key, q).
    cand = combined.where(F.col("stories") >= ch.min_stories).toArrow()
    keys = cand.column("key").to_numpy().astype(np.int64)
    order = np.argsort(keys.view(np.uint64), kind="stable")
    keys, cand_stories = keys[order], cand.column("stories").to_numpy().astype(np.int64)[order]
    reports_tonight = spark.createDataFrame([], P.REPORTS_DDL)
    if ch.enabled and keys.size:
        known_bc = spark.sparkContext.broadcast((keys, cand_stories))
        reports_tonight = _kept_sets(learn.select("outlet", "url", "text").mapInArrow(
            partial(P.chrome_reports, known_bc=known_bc, min_stories=ch.min_stories), P.REPORTS_DDL)).persist(keep)
    reports_all = reports_tonight if wreports is None else _kept_sets(reports_tonight.unionByName(wreports))
    r = reports_all.toArrow()
    model = ChromeModel(P.as_unsigned(keys), cand_stories, outlet_stories, ReportSets.from_rows(
        P.as_unsigned(r.column("key").to_numpy()), r.column("q").to_numpy(), r.column("value").to_numpy().astype(np.uint64)))
    model._count_reports()
    model_bc = spark.sparkContext.broadcast((keys, model.counts, outlet_stories))

    # Of an id's records the latest version of its story is kept (``versions.choose`` per id on the
    # texts cleaned with tonight's model, as locally: ``local.superseded_rows``); the others are
    # rejected here, before cleaning.
    dup_rejects, losers, to_clean = None, None, records.drop("_n", "_learn")
    with sl.stage("versions") as st:
        st.update(rejected=dups)
        if dups:
            model_args = (model_bc if ch.enabled else None, ch, settings.language, d.shingle_size)

            def superseded_of(pdf):  # a plain function: Spark reads the kind of UDF from its type hints
                return P.superseded_groups(pdf, *model_args)

            losers = (records.where("_n > 1")
                      .select("story_id", "file_idx", "record", "source", "published_at", "text", "outlet", "url", "headline")
                      .groupBy("story_id").applyInPandas(superseded_of, P.SUPERSEDED_DDL)).persist(keep)
            dup_rejects = records.join(losers, ["file_idx", "record"]).select(
                "source", "record", "story_id", "reason",
                F.substring("text", 1, settings.output.raw_max_chars).alias("raw")).persist(keep)
            dup_rejects.count()
            to_clean = to_clean.join(losers.select("file_idx", "record"), ["file_idx", "record"], "left_anti")
    # A record whose id a window night wrote is a duplicate id, as within the night (the local
    # engine: Window.first_written); its lines were counted for chrome above, as locally.
    again, n_again = None, 0
    if nights:
        seen = S.written_ids(spark, settings.state_path, nights)
        again = to_clean.join(seen, "story_id").select(
            "source", "record", "story_id", F.concat(F.lit(REDELIVERED_PREFIX), F.col("night")).alias("reason"),
            F.substring("text", 1, settings.output.raw_max_chars).alias("raw")).persist(keep)
        n_again = again.count()
        if n_again:
            to_clean = to_clean.join(seen.select("story_id"), "story_id", "left_anti")
    cl = to_clean.select("file_idx", "source", "record", "story_id", "outlet", "url", "headline", "published_at",
                         "text", "was_html", "body_source", "published_at_source").mapInArrow(
        partial(P.clean_fingerprint, model_bc=model_bc if ch.enabled else None, chrome=ch, language=settings.language,
                dedup=d.model_dump(), min_body_words=inp.min_body_words, raw_max_chars=settings.output.raw_max_chars),
        P.CLEAN_DDL).persist(keep)
    timing = cl.where("kind = 'timing'").agg(F.sum("seconds").alias("s"), F.sum("fp_seconds").alias("fs"),
                                             F.sum("chrome_lines_removed").alias("learned"),
                                             F.count(F.lit(1)).alias("batches")).first()
    stories = cl.where("kind = 'story'").drop("kind", "reason", "raw", "line", "stories", "seconds", "fp_seconds")
    n = stories.count()
    empties = cl.where("kind = 'empty'").persist(keep)
    emptied = Counter({r.reason: int(r["count"]) for r in empties.groupBy("reason").count().collect()})
    n_emptied = emptied.total()
    if n_again:
        emptied[REDELIVERED_KEY] += n_again
    records.unpersist()  # cleaned text and fingerprints (cl) from here on
    # Cleaning can empty records too (all chrome, only a wall): they count toward the ratio.
    check_reject_ratio(stats.records, stats.rejected + emptied.total(), stats.reasons + emptied, inp.max_reject_ratio,
                       night)
    removed_by_outlet = {r.outlet: int(r.n) for r in cl.where("kind in ('story', 'empty')")
                         .groupBy(F.coalesce("outlet", F.lit("")).alias("outlet"))
                         .agg(F.sum("chrome_lines_removed").alias("n")).collect() if r.n}
    wall = time.perf_counter() - t0
    cpu = float(timing.s or 0) + float(timing.fs or 0)
    # Executors clean and fingerprint in one pass; the wall time is split in their CPU proportions.
    fp_share = float(timing.fs or 0) / cpu if cpu else 0.0
    sl.stages["clean"] = {"seconds": round(wall * (1 - fp_share), 3), "peak_rss_mb": _rss(), "stories": n,
                          "emptied": n_emptied, "redelivered": n_again,
                          "learned_chrome_lines": model.n_learned(ch.min_stories),
                          "chrome_lines_removed": int(sum(removed_by_outlet.values())),
                          "chrome_lines_removed_learned": int(timing.learned or 0),
                          "executor_seconds": round(float(timing.s or 0), 3), "batches": int(timing.batches or 0)}
    sl.stages["fingerprint"] = {"seconds": round(wall * fp_share, 3), "peak_rss_mb": _rss(), "stories": n,
                                "num_perm": d.num_perm, "shingle_size": d.shingle_size,
                                "executor_seconds": round(float(timing.fs or 0), 3)}

    _describe(spark, "candidates")
    with sl.stage("candidates") as st:
        long_max = F.lit(np.iinfo(np.int64).max)
        # Only what matching needs goes through the rank sort and the joins; the text stays in
        # ``stories`` until the write stage joins it back by (file, record).
        nodes = stories.select(
            *MATCH_COLS, F.lit(False).alias("fixed"), F.lit(1).alias("g"),
            (-F.col("n_shingles")).alias("neg_shingles"),
            F.coalesce(F.unix_micros("published_at"), long_max).alias("pub"), F.lit("").alias("tie"))
        if wcanon is not None:
            nodes = nodes.unionByName(wcanon.select(
                "story_id", "published_at", "words", "text_hash", "headline_hash", "signature", "shingles",
                # The state keeps no number sequences: the brief rule and the veto skip these.
                F.expr("X''").alias("numbers"), F.lit(False).alias("numbers_known"),
                # Nor ledes: earlier canonicals are found by the signature's bands only (as locally).
                F.expr("X''").alias("lede"),
                F.lit(0).alias("file_idx"), F.lit(0).cast("long").alias("record"),
                (F.length("shingles") / 4).cast("long").alias("n_shingles"),
                F.lit(True).alias("fixed"), F.lit(0).alias("g"), (-F.length("shingles") / 4).cast("long").alias("neg_shingles"),
                F.coalesce(F.unix_micros("published_at"), long_max).alias("pub"), F.col("cluster_id").alias("tie")))
        nodes = G.rank_nodes(nodes)
        total_nodes = nodes.count()
        tonight = stories.join(nodes.where("g = 1").select("file_idx", "record", "node"), ["file_idx", "record"])
        g = G.build(spark, nodes, settings, staging.work / "spark")
        st.update(pairs=g.pairs, bands=g.bands, rows=g.rows, big_buckets=g.big_buckets)
    # Candidates and verification run as one Spark plan; their seconds are reported together.
    sl.stages["verify"] = {"seconds": 0.0, "peak_rss_mb": _rss(), "pairs": g.pairs, "matches": g.matches,
                           "multi_topic_dropped": g.multi_topic_dropped,
                           "note": "timed with candidates (one Spark plan)"}

    _describe(spark, "cluster")
    with sl.stage("cluster") as st:
        members = G.member_scores(nodes, g.labels, d.threshold).persist(keep)
        per = members.groupBy("label", "label_g").count()
        s = per.agg(F.count(F.lit(1)).alias("clusters"), F.sum((F.col("label_g") == 1).cast("long")).alias("new"),
                    F.max("count").alias("largest")).first()
        clusters_n, new_n = int(s.clusters or 0), int(s.new or 0)
        loss = TextLoss()
        for r in (tonight.select("node", "story_id", "outlet", "kept_keys", "removed_keys")
                  .join(members.select("node", "label"), "node").repartition(nparts, "label")
                  .mapInArrow(P.text_loss_rows, P.TEXT_LOSS_DDL).collect()):
            loss = loss.add(TextLoss(int(r.removed), int(r.found_kept), list(r.examples or [])))
        st.update(clusters=clusters_n, new_clusters=new_n, earlier_clusters_joined=clusters_n - new_n,
                  duplicates=n - new_n, largest=int(s.largest or 0), rounds=g.rounds, nodes=total_nodes)

    _describe(spark, "write")
    with sl.stage("write") as st:
        new_canon_nodes = members.where("node = label").select("node")
        new_ids = (tonight.join(new_canon_nodes, "node").select("node", "story_id")
                   .mapInArrow(P.cluster_ids, "node long, cluster_id string"))
        cids = tonight.join(new_ids, "node").select("node", "cluster_id", "story_id")
        if wcanon is not None:
            wnodes = nodes.where("g = 0").select("node", F.col("tie").alias("cluster_id"), "story_id")
            cids = cids.unionByName(wnodes)
        cids = cids.persist(keep)
        out_stories = T.stories(tonight, members, cids)
        T.write(out_stories, staging.partition_dir("stories"))

        tonight_members = (out_stories.select("cluster_id", "story_id", "outlet", "published_at"))
        new_canon = (tonight.join(new_canon_nodes, "node").join(cids.select("node", "cluster_id"), "node"))
        members_all = tonight_members
        old_canon = None
        if wcanon is not None:
            touched_old = members.where("label_g = 0").select(F.col("label").alias("node")).distinct()
            old_ids = nodes.join(touched_old, "node").select(F.col("tie").alias("cluster_id"))
            old_canon = wcanon.join(old_ids, "cluster_id")
            members_all = members_all.unionByName(
                wmembers.join(old_ids, "cluster_id").select("cluster_id", "story_id", "outlet", "published_at"))
        members_all = members_all.persist(keep)
        empty_old = spark.createDataFrame([], P.STATE_CANON_DDL)
        reasons = T.reason_inputs(tonight, members.where("label_g = 1"), cids,
                                  old_canon if old_canon is not None else empty_old).mapInArrow(
            T.canonical_reason_rows, T.REASON_DDL)
        out_clusters = T.clusters(new_canon, old_canon if old_canon is not None else empty_old, members_all, reasons)
        T.write(out_clusters, staging.partition_dir("clusters"))
        out_rejects = T.rejects(read_rejects, *([dup_rejects] if dup_rejects is not None else []), empties,
                                *([again] if n_again else []))
        T.write(out_rejects, staging.partition_dir("rejects"), files=1)
        counts_w = {"stories": n, "clusters": clusters_n, "rejects": stats.rejected + emptied.total()}

        chrome_lines = T.top_chrome_lines(cl.where("kind = 'chrome_line'").select("outlet", "line", "stories"), 50)
        state_canon = new_canon.select("cluster_id", "story_id", "headline", F.col("body_clean").alias("body"),
                                       "agency", "published_at", "words", "text_hash", "headline_hash", "signature",
                                       "shingles")
        if old_canon is not None:
            state_canon = state_canon.unionByName(old_canon.drop("night"))
        state_meta = S.write_night(staging.state_dir, night, state_canon, members_all, chrome_tonight, reports_tonight,
                                   outlets_tonight if ch.enabled else spark.createDataFrame([], "outlet string, stories long"),
                                   chrome_lines, fingerprint_settings(settings.dedup))
        st.update(**counts_w, state_clusters=state_meta["rows"]["canonicals"])
        top_chrome = chrome_lines.toArrow()

    counts, manifest = finish_night(settings, staging, night, t_start, NightFigures(
        files=files, stats=stats, emptied=emptied, html=html, stages=sl.stages, removed_by_outlet=removed_by_outlet,
        top_chrome=top_chrome, bands=g.bands, rows=g.rows, window_nights=nights, state_version=state_meta["version"],
        text_loss=loss, extra_versions={"pyspark": spark.version}, checks=feed_checks,
        extra={"engine": "spark", "spark": {"master": spark.sparkContext.master, "partitions": nparts,
                                            "default_parallelism": spark.sparkContext.defaultParallelism,
                                            "read_ranges": ranges}}))
    for df in (read_rejects, dup_rejects, losers, cl, empties, nodes, members, cids, members_all, outlets_tonight, again):
        if df is not None:
            df.unpersist()
    return RunResult(night, Path(settings.output.path), counts, manifest)


def _require_local_master(spark, settings) -> None:
    """A night on object storage (a bucket input, output or state) is copied between the bucket and
    the driver's disk, which only a local master's executors see: refuse a cluster master that
    spark-submit's ``--master`` chose (``config`` refuses a configured one before any work).
    Raises ConfigError (one line)."""
    from dedup.config import ConfigError, is_local_master, spark_store_refusal, url_scheme
    from dedup.night.remote import is_store

    master = spark.sparkContext.master
    if is_local_master(master):
        return
    for key, value in (("input.path", settings.input.path), ("output.path", settings.output.path),
                       ("state.path", settings.state_url)):
        if is_object_store(value) and (key == "input.path" or is_store(value)):
            raise ConfigError(spark_store_refusal(key, url_scheme(value), master))


def _copy_inputs(files: list, dest: Path) -> list[str]:
    """Copy a bucket input's files (``InputFile``s with object-store URLs) to the local folder
    ``dest``, streamed through fsspec as the local engine reads them, each under its bucket/key
    path (a text input's outlet is its folder's name); their checksums are taken on the way for
    the manifest. Returns the local paths, in the order of ``files``. Local mode only: executors
    read the copies by path (``_require_local_master``)."""
    from dedup.stages.read import copy_object

    t0 = time.perf_counter()
    out = [str(copy_object(f.path, dest / f.path.split("://", 1)[1].lstrip("/"))) for f in files]
    log.info("copied %d input file(s), %d bytes, from the bucket to the driver's disk in %.2fs", len(files),
             sum(f.bytes for f in files), time.perf_counter() - t0)
    return out


def _read_tasks(spark, files: list, split_bytes: int, nparts: int, local: list[str] | None = None):
    """The read stage's tasks as rows (file_idx, path, format, bytes, start, end, first_line,
    source), and how many are byte ranges. An uncompressed JSONL file on local disk over
    ``split_bytes`` is cut into ranges aligned to line starts, each range's first line numbered by
    a prefix sum of the newlines of the ranges before it (a first pass counting them, in parallel):
    records keep the line numbers the local engine gives them. Other files are read whole, one task
    each. ``local``: the local copies of ``files`` (a bucket input, ``_copy_inputs``), read in their
    place; their records' ``source`` stays the object's URL."""
    from dedup.config import is_object_store
    from dedup.stages.read import number_ranges, split_ranges

    schema = ("file_idx int, path string, format string, bytes long, start long, end long, first_line long, "
              "source string")
    paths = local or [f.path for f in files]
    whole, nominal = [], []
    for i, f in enumerate(files):
        if (f.format == "jsonl" and f.bytes > split_bytes and not f.path.lower().endswith(".gz")
                and not is_object_store(paths[i])):
            nominal += [(i, paths[i], s, e) for s, e in split_ranges(f.bytes, split_bytes)]
        else:
            whole.append((i, paths[i], f.format, f.bytes, None, None, None, f.path))
    if not nominal:
        fdf = spark.createDataFrame(whole, schema)
        # One task per file, up to a few per core: a folder of thousands of pages is not thousands of tasks.
        return fdf.repartition(min(len(files), 4 * nparts)), 0
    sc = spark.sparkContext
    found = (spark.createDataFrame(sc.parallelize(nominal, len(nominal)), "file_idx int, path string, start long, end long")
             .mapInArrow(P.line_ranges, P.SPAN_DDL).collect())
    owned = {(r.file_idx, r.start): (r.lo, r.hi, r.newlines) for r in found}
    per_file: dict[int, list] = {}
    for i, _, s, _ in nominal:
        per_file.setdefault(i, []).append(owned[(i, s)])
    ranged = [(i, paths[i], files[i].format, files[i].bytes, sp.start, sp.end, sp.first_line, files[i].path)
              for i, rs in per_file.items() for sp in number_ranges(rs) if sp.end > sp.start]
    rows = sorted(whole + ranged, key=lambda r: (r[0], r[4] or 0))
    # One task per byte range (parallelize cuts the list into even slices, unlike a random repartition).
    return spark.createDataFrame(sc.parallelize(rows, min(len(rows), max(4 * nparts, len(ranged)))), schema), len(ranged)


def _kept_sets(rows):
    """Report-sketch rows (key, q, value) cut to the ``REPORT_SET`` smallest distinct values per
    (key, q): ``ReportSets.from_rows`` as a Spark aggregation (values are below 2**63, so signed
    order is the local engine's unsigned order)."""
    from pyspark.sql import functions as F

    return (rows.groupBy("key", "q").agg(F.slice(F.array_sort(F.collect_set("value")), 1, REPORT_SET).alias("v"))
            .select("key", "q", F.explode("v").alias("value")))


def _describe(spark, stage: str) -> None:
    """Label the Spark jobs of a stage, so the Spark UI and its REST API (and bench/spark.py's
    per-stage executor costs) show which part of the night they belong to."""
    spark.sparkContext.setJobDescription(f"dedup {stage}")


_rss = peak_rss_mb
