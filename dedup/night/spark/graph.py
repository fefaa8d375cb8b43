"""Candidates, verification and clusters on Spark: the local engine's rules as DataFrame operations.

``nodes`` has one row per story in play: earlier nights' canonicals (``fixed``, group ``g`` 0)
and tonight's stories (group 1), each with its fingerprint. Node ids increase in canonical
preference order (``RANK``, the local ``cluster.preference_rank``: group, most shingles, earliest,
smallest id; see ``rank_nodes``), so "better-ranked" is "smaller id" everywhere below, and
shuffles carry one long instead of the five columns of the rank key.

* Candidates: band keys (and the exact-text and short-story headline keys) grouped by Spark's
  shuffle; within a bucket, in rank order, each member pairs with the bucket head and with its
  predecessor, exactly the pairs of ``dedup.stages.candidates``.
* Verify: each pair joined to both fingerprints (and number sequences) and scored by
  ``dedup.stages.verify.score_pairs``; then the containment matches of multi-topic pages are
  dropped (``drop_multi_topic``, the local ``verify.multi_topic_edges``).
* Canonicals: the local engine takes stories in rank order and makes a story canonical unless a
  better-ranked canonical matches it. That is the lexicographically first maximal independent set
  of the match graph, which rounds of joins find without any sequential pass: each round, a story
  with a canonical better-ranked neighbour is out, and a story whose better-ranked neighbours are
  all out is canonical. Each round settles at least the best-ranked open story; real batches,
  made of stars, settle in a handful of rounds. The canonicals are ``dedup.stages.cluster.star_clusters``';
  a member then joins the canonical neighbour it matches best (``dedup.stages.cluster.best_canonical``).
* Versions, rescue and member scores: as ``dedup.stages.cluster.merge_versions``, ``rescue`` and the
  local cluster stage.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from dedup.night.spark import partitions as P

log = logging.getLogger("dedup")

RANK = ["g", "neg_shingles", "pub", "story_id", "tie"]  # canonical preference, best first
ROW = ["g", "tie", "file_idx", "record"]  # the local engine's row order (its tie-break in rescue)


@dataclass
class Graph:
    labels: object  # DataFrame (node, label)
    pairs: int
    matches: int
    big_buckets: int
    bands: int
    rows: int
    rounds: int
    multi_topic_dropped: int


def _F():
    from pyspark.sql import functions as F

    return F


def fresh(df, workdir, name: str):
    """``df`` written to Parquet under ``workdir`` and read back: the lineage ends there, and so
    do the plan statistics. (A ``localCheckpoint`` keeps the statistics of the plan it cut; Spark
    estimates a join as the product of its sides, so across the rounds below those estimates
    doubled in digits every round and planning alone took minutes at 200k stories.)"""
    path = str(Path(workdir) / name)
    df.write.mode("overwrite").parquet(path)
    return df.sparkSession.read.parquet(path)


def rank_nodes(nodes):
    """Give every node an id that increases in ``RANK`` order: after a global sort, Spark's
    monotonically increasing id is (partition, position), and partitions are range-ordered.
    Checkpointed, not just cached: the ids must never be recomputed differently."""
    F = _F()
    return nodes.orderBy(*RANK).withColumn("node", F.monotonically_increasing_id()).localCheckpoint()


def candidates(nodes, d, bands: int, rows: int):
    """Candidate pairs (l better-ranked, r) and the number of buckets over ``max_bucket``."""
    from pyspark.sql import Window

    F = _F()
    keys = nodes.select("node", "signature").mapInArrow(partial(P.band_rows, bands=bands, rows=rows), P.BAND_DDL)
    keys = keys.unionByName(nodes.where(F.length("lede") > 0).select("node", "lede").mapInArrow(P.lede_rows,
                                                                                                 P.BAND_DDL))
    keys = keys.unionByName(nodes.select(F.lit(-1).alias("band"), F.col("text_hash").alias("key"), "node"))
    # cand.headline_keys: every story whose headline is also a short story's.
    headed = nodes.where(F.col("headline_hash") != 0)
    short_heads = headed.where(F.col("words") < d.short_words).select("headline_hash").distinct()
    keys = keys.unionByName(
        headed.join(short_heads, "headline_hash", "left_semi")
        .select(F.lit(-2).alias("band"), F.col("headline_hash").alias("key"), "node"))
    w = Window.partitionBy("band", "key").orderBy("node")
    keys = (keys.withColumn("pos", F.row_number().over(w))
            .withColumn("head", F.first("node").over(w))
            .withColumn("pred", F.lag("node").over(w))).persist()
    pairs = (keys.where("pos > 1").select(F.col("head").alias("l"), F.col("node").alias("r"))
             .unionByName(keys.where("pos > 2").select(F.col("pred").alias("l"), F.col("node").alias("r")))
             .distinct())
    big = keys.where("pos = 1").select("band", "key").join(
        keys.groupBy("band", "key").count().where(F.col("count") > d.max_bucket), ["band", "key"]).count()
    return pairs, big, keys


def verify(nodes, pairs, d):
    F = _F()
    feat = ["shingles", "words", "text_hash", "headline_hash", "numbers", "numbers_known"]
    left = nodes.select(F.col("node").alias("l"), *[F.col(c).alias("l_" + c) for c in feat])
    right = nodes.select(F.col("node").alias("r"), *[F.col(c).alias("r_" + c) for c in feat])
    scored = pairs.join(left, "l").join(right, "r").mapInArrow(
        partial(P.score, threshold=d.threshold, containment_threshold=d.containment_threshold,
                short_words=d.short_words), P.SCORE_DDL)
    return scored


def drop_multi_topic(nodes, edges, threshold: float, workdir, scored=None, lede_width: int = 0):
    """``edges`` (l, r, jaccard, ...: verified matches, l better-ranked) without the containment
    matches of multi-topic containers, and how many were dropped: ``dedup.stages.verify.multi_topic_edges``
    as joins. A containment match (Jaccard under ``threshold``) has a container (the side with more
    shingles; l on a tie) and a part; each container's largest part is the one with most shingles,
    then the smallest node (node order is rank order, the local tie-break); the intersection of
    every other part with it is computed where the pair lands (``partitions.disjoint_parts``).
    With ``scored`` (every candidate pair l, r) and ``lede_width`` (the lede sketch's values), a
    container is also multi-topic when a candidate partner opens as it does, shares a lede with it
    and is disjoint from its largest part (``partitions.lede_parts``)."""
    F = _F()
    size = nodes.select("node", "n_shingles")
    con = (edges.where(F.col("jaccard") < F.lit(threshold)).select("l", "r")
           .join(size.select(F.col("node").alias("l"), F.col("n_shingles").alias("l_size")), "l")
           .join(size.select(F.col("node").alias("r"), F.col("n_shingles").alias("r_size")), "r"))
    left_longer = F.col("l_size") >= F.col("r_size")
    con = con.select("l", "r", F.when(left_longer, F.col("l")).otherwise(F.col("r")).alias("c"),
                     F.when(left_longer, F.col("r")).otherwise(F.col("l")).alias("p"),
                     F.when(left_longer, F.col("r_size")).otherwise(F.col("l_size")).alias("p_size"))
    con = fresh(con, workdir, "contained")
    big = (con.groupBy("c").agg(F.min(F.struct((-F.col("p_size")).alias("neg"), F.col("p").alias("b"))).alias("m"))
           .select("c", F.col("m.b").alias("b")))
    sh = nodes.select("node", "shingles")
    multi = (con.join(big, "c").where(F.col("p") != F.col("b")).select("c", "p", "b").distinct()
             .join(sh.select(F.col("node").alias("p"), F.col("shingles").alias("p_shingles")), "p")
             .join(sh.select(F.col("node").alias("b"), F.col("shingles").alias("b_shingles")), "b")
             .select("c", "p_shingles", "b_shingles")
             .mapInArrow(P.disjoint_parts, P.DISJOINT_DDL)
             .where("disjoint").select("c").distinct())
    if scored is not None and lede_width:
        big = fresh(big, workdir, "largest-parts")
        both = (scored.select(F.col("l").alias("c"), F.col("r").alias("q"))
                .unionByName(scored.select(F.col("r").alias("c"), F.col("l").alias("q"))))
        nl = nodes.select("node", "lede", "shingles")
        opens = (both.join(big, "c").where(F.col("q") != F.col("b"))
                 .join(nl.select(F.col("node").alias("c"), F.col("lede").alias("c_lede"),
                                 F.col("shingles").alias("c_shingles")), "c")
                 .join(nl.select(F.col("node").alias("q"), F.col("lede").alias("q_lede"),
                                 F.col("shingles").alias("q_shingles")), "q")
                 .join(sh.select(F.col("node").alias("b"), F.col("shingles").alias("b_shingles")), "b")
                 .select("c", "c_lede", "q_lede", "c_shingles", "q_shingles", "b_shingles")
                 .mapInArrow(partial(P.lede_parts, width=lede_width), P.DISJOINT_DDL)
                 .where("disjoint").select("c").distinct())
        multi = multi.unionByName(opens).distinct()
    dropped = fresh(con.join(multi, "c").select("l", "r"), workdir, "multi-topic")
    kept = fresh(edges.join(dropped, ["l", "r"], "left_anti"), workdir, "edges-kept")
    return kept, dropped.count()


def canonicals(spark, nodes, edges, max_rounds: int, workdir, threshold: float):
    """(node, label) for every node: the rounds described in the module docstring. ``edges``: verified
    matches (l, r, jaccard, containment), l better-ranked; ``threshold``: ``dedup.threshold``, which
    tells a resemblance match from a containment one when a member picks its canonical."""
    F = _F()
    fixed = nodes.where("fixed").select(F.col("node").alias("r"))
    # A fixed node is always canonical: an edge into one never makes it a member.
    e = (edges.select("l", "r", "jaccard", "containment").join(fixed, "r", "left_anti")
         .select(F.col("l").alias("u"), F.col("r").alias("v"), "jaccard", "containment"))
    e = fresh(e, workdir, "edges-uv")
    status = fresh(nodes.select("node", F.when(F.col("fixed"), F.lit(1)).otherwise(F.lit(0)).alias("st")),
                   workdir, "status-0")
    rounds = 0
    while True:
        open_n = status.where("st = 0").count()
        if open_n == 0:
            break
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"canonical choice did not settle in spark.max_rounds={max_rounds} rounds "
                               f"({open_n} stories open); raise spark.max_rounds")
        open_v = status.where("st = 0").select(F.col("node").alias("v"))
        agg = (e.join(open_v, "v")
               .join(status.select(F.col("node").alias("u"), F.col("st").alias("su")), "u")
               .groupBy("v")
               .agg(F.max((F.col("su") == 1).cast("int")).alias("has_in"),
                    F.max((F.col("su") == 0).cast("int")).alias("has_open")))
        status = fresh(status.join(agg, status.node == agg.v, "left")
                       .select("node", F.when(F.col("st") != 0, F.col("st"))
                               .when(F.col("has_in") == 1, F.lit(2))
                               .when(F.col("has_open") == 1, F.lit(0))
                               .otherwise(F.lit(1)).alias("st")), workdir, f"status-{rounds}")
    # Each member joins the canonical neighbour it matches best, better- or worse-ranked than itself:
    # cluster.best_canonical's order (earlier nights first, resemblance before containment, the
    # higher primary figure, then Jaccard, then the better-ranked canonical).
    both = (e.select(F.col("v").alias("m"), F.col("u").alias("c"), "jaccard", "containment")
            .unionByName(e.select(F.col("u").alias("m"), F.col("v").alias("c"), "jaccard", "containment")))
    canon = status.where("st = 1").join(nodes.select("node", "g"), "node").select(F.col("node").alias("c"), "g")
    member = status.where("st = 2").select(F.col("node").alias("m"))
    resemble = F.col("jaccard") >= F.lit(threshold)
    primary = F.when(resemble, F.col("jaccard")).otherwise(F.col("containment"))
    key = F.struct(F.col("g"), (~resemble).alias("contained"), (-primary).alias("neg_primary"),
                   (-F.col("jaccard")).alias("neg_jaccard"), F.col("c"))
    # Containment counts only towards a better-ranked (smaller node) or an earlier night's canonical.
    allowed = resemble | (F.col("g") == 0) | (F.col("c") < F.col("m"))
    best = (both.join(member, "m").join(canon, "c").where(allowed).groupBy("m").agg(F.min(key).alias("k"))
            .select(F.col("m").alias("node"), F.col("k.c").alias("label")))
    labels = (status.where("st = 1").select("node", F.col("node").alias("label"))
              .unionByName(best))
    return fresh(labels, workdir, "labels"), rounds


def _best_container(nodes, pairs, min_containment: float):
    """(s, c) pairs -> per s the c holding at least ``min_containment`` of s's shingles: the highest
    containment, then the c first in the local engine's row order (as ``cluster.rescue`` and
    ``cluster.merge_versions`` choose). Returns (s, c)."""
    F = _F()
    sh = nodes.select("node", "shingles")
    scored = (pairs.join(sh.select(F.col("node").alias("s"), F.col("shingles").alias("s_shingles")), "s")
              .join(sh.select(F.col("node").alias("c"), F.col("shingles").alias("c_shingles")), "c")
              .mapInArrow(P.containment, P.OVERLAP_DDL)
              .where(F.col("con") >= min_containment))
    rowkey = nodes.select(F.col("node").alias("c"), F.struct(*ROW).alias("ck"))
    return (scored.join(rowkey, "c")
            .groupBy("s").agg(F.min(F.struct((-F.col("con")).alias("nc"), "ck", "c")).alias("pick"))
            .select("s", F.col("pick.c").alias("c")))


def merge_versions(nodes, labels, edges, threshold: float, min_containment: float, workdir):
    """A cluster whose every member is a copy of its canonical (Jaccard >= ``threshold``) and also
    matches another canonical, and whose canonical is at least ``min_containment`` contained in it,
    joins that canonical (``dedup.stages.cluster.merge_versions``: the highest containment, then the
    first canonical in row order; no chains). Column names differ in more than case: Spark's are
    case-insensitive."""
    F = _F()
    both = (edges.select(F.col("l").alias("m"), F.col("r").alias("o"), "jaccard")
            .unionByName(edges.select(F.col("r").alias("m"), F.col("l").alias("o"), "jaccard")))
    mem = labels.where("node != label").select(F.col("node").alias("m"), F.col("label").alias("own"))
    can = labels.where("node = label").select(F.col("node").alias("o"))
    not_copy = (both.join(mem, "m").where((F.col("o") == F.col("own")) & (F.col("jaccard") < F.lit(threshold)))
                .select("own").distinct())
    movable = nodes.where("not fixed").select(F.col("node").alias("own")).join(not_copy, "own", "left_anti")
    trip = (both.join(mem, "m").join(can, "o").where(F.col("o") != F.col("own")).join(movable, "own")
            .select("own", "o", "m").distinct())
    size = labels.groupBy("label").count().select(F.col("label").alias("own"), F.col("count").alias("size"))
    full = (trip.groupBy("own", "o").agg(F.count("m").alias("k")).join(size, "own")
            .where(F.col("k") == F.col("size") - 1).select(F.col("own").alias("s"), F.col("o").alias("c")))
    best = _best_container(nodes, full, min_containment).select(F.col("s").alias("label"), F.col("c").alias("dest"))
    best = best.join(best.select(F.col("label").alias("dest")), "dest", "left_anti")  # no chains
    out = (labels.join(best, "label", "left")
           .select("node", F.coalesce("dest", "label").alias("label")))
    return fresh(out, workdir, "labels-versions")


def rescue(nodes, labels, edges, min_containment: float, threshold: float, workdir):
    """Stories left alone join the cluster of a member they match (``dedup.stages.cluster.rescue``),
    never through a containment match in which they are the container (``cluster.containers``)."""
    F = _F()
    sizes = labels.groupBy("label").count()
    alone = (labels.join(sizes, "label").join(nodes.select("node", "fixed"), "node")
             .select("node", "label", ((F.col("count") == 1) & ~F.col("fixed")).alias("alone")))
    size = nodes.select("node", "n_shingles")
    m = (edges.select("l", "r", "jaccard")
         .join(size.select(F.col("node").alias("l"), F.col("n_shingles").alias("nl")), "l")
         .join(size.select(F.col("node").alias("r"), F.col("n_shingles").alias("nr")), "r"))
    contained = F.col("jaccard") < F.lit(threshold)
    both = (m.where(~(contained & (F.col("nl") > F.col("nr")))).select(F.col("l").alias("a"), F.col("r").alias("b"))
            .unionByName(m.where(~(contained & (F.col("nr") > F.col("nl"))))
                         .select(F.col("r").alias("a"), F.col("l").alias("b"))))
    a = alone.select(F.col("node").alias("a"), F.col("alone").alias("a_alone"))
    b = alone.select(F.col("node").alias("b"), F.col("alone").alias("b_alone"), F.col("label").alias("c"))
    sc = (both.join(a, "a").join(b, "b").where("a_alone and not b_alone")
          .select(F.col("a").alias("s"), "c").distinct())
    best = _best_container(nodes, sc, min_containment).select(F.col("s").alias("node"), F.col("c").alias("moved"))
    out = (labels.join(best, "node", "left")
           .select("node", F.coalesce("moved", "label").alias("label")))
    return fresh(out, workdir, "labels-rescued")


def member_scores(nodes, labels, threshold: float):
    """Tonight's stories with their label, similarity, containment and relation to the canonical."""
    F = _F()
    mine = nodes.where("g = 1").select("node", "shingles", "text_hash")
    canon = nodes.select(F.col("node").alias("label"), F.col("g").alias("label_g"),
                         F.col("shingles").alias("c_shingles"), F.col("text_hash").alias("c_text_hash"))
    return (labels.join(mine, "node").join(canon, "label")
            .select("node", "label", "label_g", "shingles", "c_shingles", "text_hash", "c_text_hash")
            .mapInArrow(partial(P.member_scores, threshold=threshold), P.MEMBER_DDL))


def build(spark, nodes, settings, workdir) -> Graph:
    from dedup.stages.candidates import lsh_params

    d = settings.dedup
    bands, rows = lsh_params(d.candidate_threshold, d.num_perm)
    pairs, big, keys = candidates(nodes, d, bands, rows)
    scored = fresh(verify(nodes, pairs, d), workdir, "scored")
    keys.unpersist()
    n_pairs = scored.count()
    edges = fresh(scored.where("match").select("l", "r", "long_pair", "jaccard", "containment"), workdir, "edges")
    n_match = edges.count()
    if big:
        log.warning("%d LSH buckets over dedup.max_bucket=%d: chrome may have slipped through", big, d.max_bucket)
    # A live blog or roundup is not a container of the reports it quotes (verify.multi_topic_edges).
    from dedup.stages.fingerprint import LEDE_PERM

    edges, n_multi = drop_multi_topic(nodes, edges, d.threshold, workdir, scored=scored.select("l", "r"),
                                      lede_width=min(LEDE_PERM, d.num_perm))
    labels, rounds = canonicals(spark, nodes, edges, settings.spark.max_rounds, workdir, d.threshold)
    labels = merge_versions(nodes, labels, edges, d.threshold, d.rescue_containment, workdir)
    labels = rescue(nodes, labels, edges, d.rescue_containment, d.threshold, workdir)
    return Graph(labels, n_pairs, n_match, big, bands, rows, rounds, n_multi)
