"""Output rows: cluster ids, canonical reasons and the ``clusters`` table, as pure Arrow functions.

Both engines name clusters and explain canonicals with these, so a cluster id or a reason string
is written in one place (the Spark engine calls ``cluster_id`` and ``canonical_reasons`` per
Arrow batch).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.schemas import CLUSTERS_SCHEMA

# Why a cluster's canonical is the one it is, in the order the cases are tested: the canonical's own
# figures against the member that ranks next (``dedup.stages.cluster.preference_rank``: most distinct
# shingles, then earliest published, then smallest id). {fields} are columns of ``REASON_INPUTS``
# (plus ``more_words``, ``more_shingles``); times are UTC.
CANONICAL_REASONS = (
    ("kept", "canonical of a cluster from an earlier night (last updated on night {night}); earlier clusters keep "
             "their canonical"),
    ("only", "only story in its cluster ({words} words after cleaning)"),
    ("opened", "canonical since the cluster opened ({words} words); member {next_story_id} ({next_words} words) ranks "
               "higher but joined later, matching this copy best"),
    ("longer", "most complete copy: {words} words, {more_words} more than the next member"),
    ("distinct", "most complete copy: {words} words with {shingles} distinct shingles, {more_shingles} more than "
                 "the next member ({next_words} words, more of them repeated)"),
    ("earlier", "as complete as the next member ({words} words) and published first ({published_at})"),
    ("id", "as complete as the next member ({words} words) and published at the same time; smallest story id"),
)
# One row per canonical: its figures, and those of the best-ranked other member of its cluster
# (null when it has none). ``night`` is set for an earlier night's cluster (the state's night).
REASON_INPUTS = pa.schema([
    ("cluster_id", pa.string()), ("night", pa.string()), ("story_id", pa.string()), ("words", pa.int64()),
    ("shingles", pa.int64()), ("published_at", pa.timestamp("us", tz="UTC")), ("next_story_id", pa.string()),
    ("next_words", pa.int64()), ("next_shingles", pa.int64()), ("next_published_at", pa.timestamp("us", tz="UTC")),
])
_NEVER = np.iinfo(np.int64).max  # a missing publication time ranks last, as in preference_rank
# Canonical rows as the write stage collects them (tonight's stories, renamed from the state's).
CANON_COLUMNS = ["cluster_id", "story_id", "headline", "body_clean", "agency", "words", "published_at"]


def cluster_id(canonical_story_id: str) -> str:
    """A cluster's id: ``"c"`` + 16 hex digits of BLAKE2b-64 of its first canonical's story id,
    so reruns and the other engine give the same ids."""
    return "c" + hashlib.blake2b(canonical_story_id.encode("utf-8"), digest_size=8).hexdigest()


def _micros(col) -> np.ndarray:
    return pc.fill_null(pc.cast(col, pa.int64()), _NEVER).to_numpy(zero_copy_only=False)


def _fill(template: str, cols: dict) -> pa.Array:
    """``template`` with each {field} replaced by that column's text, row by row."""
    import string

    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name is not None:
            c = cols[name]
            parts.append(pc.strftime(c, format="%Y-%m-%d %H:%M UTC") if pa.types.is_timestamp(c.type)
                         else pc.cast(c, pa.string()))
    return pc.binary_join_element_wise(*parts, "")


def canonical_reasons(t: pa.Table) -> pa.Array:
    """One ``canonical_reason`` (string) per row of ``t`` (``REASON_INPUTS``' columns): the first
    case of ``CANONICAL_REASONS`` that holds, with this canonical's figures. Both engines call it
    (the Spark engine per Arrow batch), so the sentences are the same whichever engine wrote them."""
    n = t.num_rows
    if n == 0:
        return pa.array([], pa.string())
    t = t.select(REASON_INPUTS.names).cast(REASON_INPUTS)
    col = {c: t.column(c).combine_chunks() for c in t.column_names}
    sh, nsh = col["shingles"].to_numpy(zero_copy_only=False), pc.fill_null(col["next_shingles"], -1).to_numpy()
    pub, npub = _micros(col["published_at"]), _micros(col["next_published_at"])
    sid = col["story_id"]
    nid = pc.fill_null(col["next_story_id"], "")
    id_after = pc.less(nid, sid).to_numpy(zero_copy_only=False)
    kept = col["night"].is_valid().to_numpy(zero_copy_only=False)
    only = ~kept & col["next_story_id"].is_null().to_numpy(zero_copy_only=False)
    rest = ~kept & ~only
    outranked = rest & ((nsh > sh) | ((nsh == sh) & ((npub < pub) | ((npub == pub) & id_after))))
    rest &= ~outranked
    more_sh = rest & (sh > nsh)
    w, nw = col["words"].to_numpy(zero_copy_only=False), pc.fill_null(col["next_words"], 0).to_numpy()
    longer = more_sh & (w > nw)
    cases = {"kept": kept, "only": only, "opened": outranked, "longer": longer, "distinct": more_sh & ~longer,
             "earlier": rest & ~more_sh & (pub < npub), "id": rest & ~more_sh & (pub >= npub)}
    cols = {**col, "more_words": pa.array(w - nw), "more_shingles": pa.array(sh - nsh)}
    # The cases split the rows (each row is in exactly one): each sentence is made for its own
    # rows only, not for every row as a choice among all seven would (3 s at 1M canonicals).
    texts, where = [], []
    for k, tpl in CANONICAL_REASONS:
        rows = np.flatnonzero(cases[k])
        if rows.size:
            at = pa.array(rows)
            texts.append(_fill(tpl, {c: v.take(at) for c, v in cols.items()}))
            where.append(rows)
    where = np.concatenate(where)
    if where.size != n:
        raise AssertionError("canonical reason cases do not split the rows")
    inv = np.empty(n, np.int64)
    inv[where] = np.arange(n)
    return pa.concat_arrays(texts).take(pa.array(inv))


def next_members(members: pa.Table) -> pa.Table:
    """The best-ranked non-canonical member of each cluster (``preference_rank``'s order).

    ``members``: ``cluster_id, story_id, words, shingles, published_at, is_canonical``. Returns
    ``cluster_id, next_story_id, next_words, next_shingles, next_published_at``, one row per
    cluster that has a member besides its canonical."""
    m = members.filter(pc.invert(members.column("is_canonical")))
    key = pa.table({"c": m.column("cluster_id"), "s": pc.negate(m.column("shingles")),
                    "p": pa.array(_micros(m.column("published_at"))), "i": m.column("story_id")})
    order = pc.sort_indices(key, sort_keys=[("c", "ascending"), ("s", "ascending"), ("p", "ascending"),
                                            ("i", "ascending")])
    m = m.take(order)
    _, first = np.unique(m.column("cluster_id").to_numpy(zero_copy_only=False), return_index=True)
    m = m.take(pa.array(first, pa.int64()))
    return pa.table({"cluster_id": m.column("cluster_id"), "next_story_id": m.column("story_id"),
                     "next_words": m.column("words"), "next_shingles": m.column("shingles"),
                     "next_published_at": m.column("published_at")})


def largest_first(clusters: pa.Table) -> pa.Array:
    """Row indices (int64) putting ``clusters`` in the table's order: size descending, then
    cluster id."""
    return pc.sort_indices(clusters.select(["size", "cluster_id"]),
                           sort_keys=[("size", "descending"), ("cluster_id", "ascending")])


def clusters_table(canon: pa.Table, members: pa.Table, reasons: pa.Array | None = None) -> pa.Table:
    """The ``clusters`` table's rows (``CLUSTERS_SCHEMA``) in ``canon``'s order: the file holds them
    largest first (``largest_first``), an order its writer takes slice by slice rather than copy
    every canonical's text at once.

    ``canon``: one row per cluster, columns ``CANON_COLUMNS``; ``reasons``: its
    ``canonical_reason`` per row (``canonical_reasons``; None: null). ``members``: every member of those
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
            "canonical_reason": reasons if reasons is not None else pa.nulls(canon.num_rows, pa.string()),
        }
    )
    return clusters.select(CLUSTERS_SCHEMA.names).cast(CLUSTERS_SCHEMA)


def cluster_ids_of(story_ids: np.ndarray) -> list[str]:
    """``cluster_id`` of each story id in an object array (new canonicals)."""
    return [cluster_id(s) for s in story_ids]
