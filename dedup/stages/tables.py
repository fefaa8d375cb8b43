"""Output rows: cluster ids, canonical reasons and the ``clusters`` table, as pure Arrow functions.

Both engines name clusters and explain canonicals with these, so a cluster id or a reason string
is written in one place (the Spark engine calls ``cluster_id`` per batch and uses
``CANONICAL_REASON``'s two halves as literals around the word count).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.schemas import CLUSTERS_SCHEMA

CANONICAL_REASON = "most complete copy ({} words after cleaning); earlier publication and smaller id break ties"
# Canonical rows as the write stage collects them (tonight's stories, renamed from the state's).
CANON_COLUMNS = ["cluster_id", "story_id", "headline", "body_clean", "agency", "words", "published_at"]


def cluster_id(canonical_story_id: str) -> str:
    """A cluster's id: ``"c"`` + 16 hex digits of BLAKE2b-64 of its first canonical's story id,
    so reruns and the other engine give the same ids."""
    return "c" + hashlib.blake2b(canonical_story_id.encode("utf-8"), digest_size=8).hexdigest()


def canonical_reasons(words: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One ``canonical_reason`` string per canonical, from its word count (int64)."""
    pre, post = CANONICAL_REASON.split("{}")
    return pc.binary_join_element_wise(pre, pc.cast(words, pa.string()), post, "")


def clusters_table(canon: pa.Table, members: pa.Table) -> pa.Table:
    """The ``clusters`` table (``CLUSTERS_SCHEMA``), largest first.

    ``canon``: one row per cluster, columns ``CANON_COLUMNS``. ``members``: every member of those
    clusters (``cluster_id, story_id, outlet, published_at``), tonight's and earlier nights'.
    Member ids and outlets come sorted, so the lists are the same whichever engine built them."""
    members = members.sort_by([("cluster_id", "ascending"), ("story_id", "ascending")])
    # Sorted members and a single-threaded group-by give lists already in story-id order.
    agg = members.group_by("cluster_id", use_threads=False).aggregate(
        [("story_id", "count"), ("story_id", "list"), ("published_at", "min"), ("published_at", "max")])
    at = pc.index_in(canon.column("cluster_id"), value_set=agg.column("cluster_id"))
    pairs = members.select(["cluster_id", "outlet"]).filter(pc.is_valid(members.column("outlet")))
    pairs = pairs.group_by(["cluster_id", "outlet"]).aggregate([]).sort_by(
        [("cluster_id", "ascending"), ("outlet", "ascending")])
    per = pairs.group_by("cluster_id", use_threads=False).aggregate([("outlet", "list")])
    pos = pc.index_in(canon.column("cluster_id"), value_set=per.column("cluster_id"))
    outlets = pc.fill_null(pc.take(per.column("outlet_list"), pos), pa.scalar([], pa.list_(pa.string())))
    clusters = pa.table(
        {
            "cluster_id": canon.column("cluster_id"),
            "canonical_story_id": canon.column("story_id"),
            "headline": canon.column("headline"),
            "body": canon.column("body_clean"),
            "size": pc.take(agg.column("story_id_count"), at),
            "outlets": outlets,
            "story_ids": pc.take(agg.column("story_id_list"), at),
            "first_published_at": pc.take(agg.column("published_at_min"), at),
            "last_published_at": pc.take(agg.column("published_at_max"), at),
            "agency": canon.column("agency"),
            "canonical_reason": canonical_reasons(canon.column("words")),
        }
    ).sort_by([("size", "descending"), ("cluster_id", "ascending")])
    return clusters.select(CLUSTERS_SCHEMA.names).cast(CLUSTERS_SCHEMA)


def cluster_ids_of(story_ids: np.ndarray) -> list[str]:
    """``cluster_id`` of each story id in an object array (new canonicals)."""
    return [cluster_id(s) for s in story_ids]
