"""The local engine's write stage: tonight's tables streamed into the staging folder, and the
rows of the night's state.

``stories`` is streamed chunk by chunk from the cleaned work files, with the cluster columns
attached; ``clusters`` and ``rejects`` are built in Arrow (``dedup.stages.tables``); the state
rows (new canonicals with their fingerprints, touched earlier clusters) are returned for
``dedup.night.state.write_night``. Nothing is visible until the night's commit.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup import layout
from dedup.night.staging import Staging, read_spill, write_table
from dedup.night.state import Window
from dedup.schemas import CLUSTERS_SCHEMA, MEMBERS_SCHEMA, REJECT_SCHEMA, STORIES_SCHEMA, parquet_dictionary
from dedup.stages.fingerprint import Fingerprints
from dedup.stages.tables import (CANON_COLUMNS, REASON_INPUTS, canonical_reasons, cluster_id, clusters_table,
                                 largest_first, next_members)


def _canonical_rows(label: np.ndarray, ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(tonight's new canonicals, the earlier clusters (rows below ``ns``) that gained members
    tonight): int64 rows, each in row order. ``label``: int64 (N,), the row of each row's canonical."""
    N = label.shape[0]
    canon_rows = np.flatnonzero((label == np.arange(N)) & (np.arange(N) >= ns))
    touched_old = np.unique(label[ns:][label[ns:] < ns]) if N > ns else np.empty(0, np.int64)
    return canon_rows.astype(np.int64), touched_old.astype(np.int64)


def state_rows(label: np.ndarray, ns: int) -> np.ndarray:
    """The rows the night's state keeps (int64): ``_canonical_rows``' two parts one after the
    other. The write stage needs the fingerprints of these rows only (``write_tables``'
    ``fp_state``), so the batch's can go before it."""
    return np.concatenate(_canonical_rows(label, ns))


def write_tables(staging: Staging, night: str, *, spills: list[Path], label: np.ndarray, sim: np.ndarray,
                 con: np.ndarray, relation: np.ndarray, story_ids: np.ndarray, fp_state: Fingerprints,
                 shingles: np.ndarray, window: Window, reject_tables: list[pa.Table], headline_hash: np.ndarray,
                 finish_later: list | None = None) -> dict:
    """Stream tonight's cleaned chunks into stories/, build clusters/ (with earlier members of
    touched clusters) and rejects/, and return the counts plus the night's state tables.

    Rows are the cluster stage's: the window's canonicals first (``window.n`` of them), then
    tonight's stories in the order of ``spills`` (the clean stage's work files). Per row (N,):
    ``label`` int64 (row of its canonical), ``sim``/``con`` float64 (Jaccard and containment to
    it), ``relation`` str, ``story_ids`` object, ``headline_hash`` uint64. ``fp_state``: the
    fingerprints of ``state_rows(label, window.n)``, in that order; ``shingles``: int64 (N -
    window.n,) distinct shingles of each of tonight's stories. ``reject_tables``: every reject
    of the night (``REJECT_SCHEMA``).

    With ``finish_later`` (a list), stories/ may still be being written on return: a callable
    that waits for it and closes the file is appended, for the caller to run before anything
    reads stories/ (meanwhile it can write the state)."""
    N = label.shape[0]
    ns = window.n
    wc = window.canonicals
    cid_of_row = np.empty(N, dtype=object)
    cid_of_row[:ns] = wc.column("cluster_id").to_pylist()
    canon_rows, touched_old = _canonical_rows(label, ns)
    cid_of_row[canon_rows] = [cluster_id(story_ids[r]) for r in canon_rows]
    cluster_ids = cid_of_row[label]
    writer = pq.ParquetWriter(staging.path("stories", layout.LOCAL_PART), STORIES_SCHEMA, compression="zstd",
                              use_dictionary=parquet_dictionary(STORIES_SCHEMA))
    # Encoding and compressing stories/ is most of this stage: it goes on a thread of its own
    # (Parquet writing releases the GIL) while this one builds clusters/, rejects/ and the state.
    pending: list = []
    canon_parts, member_parts, word_parts = [], [], []
    pool = ThreadPoolExecutor(max_workers=1)

    def finish() -> None:
        try:
            for f in pending:
                f.result()
        finally:
            pool.shutdown(wait=True)  # every write done before the file is closed
            writer.close()

    try:
        _stream_stories(spills, writer, pool, pending, canon_parts, member_parts, ns, label, cluster_ids, sim,
                        con, relation, story_ids, word_parts)
        result = _tables_after_stories(staging, night, member_parts, canon_parts, label, N, ns, wc, window,
                                       canon_rows, touched_old, cid_of_row, story_ids, fp_state, shingles,
                                       reject_tables, headline_hash, word_parts)
    except BaseException:
        finish()
        raise
    if finish_later is None:
        finish()
    else:
        finish_later.append(finish)
    return result


def _stream_stories(spill2, writer, pool, pending, canon_parts, member_parts, start, label, cluster_ids, sim, con,
                    relation, story_ids, word_parts) -> None:
    """Hand each cleaned chunk, with its cluster columns, to the stories/ writer thread; keep the
    members and canonical rows that the other tables need.

    The writer thread maps each work file itself when it gets to it, and this thread keeps copies
    of the few columns it needs, not slices of the mapped file: the writer is the slower of the
    two, and chunks queued for it or sliced into the kept parts held every chunk's text resident
    at once (1 GB at 1M stories); now one chunk's at a time is."""

    def write_chunk(p: Path, sl: slice, cid: pa.Array) -> None:
        t = read_spill(p)
        lab = label[sl]
        t = (
            t.append_column("cluster_id", cid)
            .append_column("is_canonical", pa.array(lab == np.arange(sl.start, sl.stop)))
            .append_column("similarity", pa.array(np.round(sim[sl], 4)))
            .append_column("containment", pa.array(np.round(con[sl], 4)))
            .append_column("relation", pa.array(relation[sl], pa.string()))
            .append_column("canonical_story_id", pa.array(story_ids[lab], pa.string()))
        )
        writer.write_table(t.select(STORIES_SCHEMA.names).cast(STORIES_SCHEMA))
        p.unlink()

    for p in spill2:
        t = read_spill(p)
        k = t.num_rows
        sl = slice(start, start + k)
        is_canonical = label[sl] == np.arange(start, start + k)
        cid = pa.array(cluster_ids[sl], pa.string())
        t = t.select(["story_id", "outlet", "published_at", "words", *CANON_COLUMNS[2:5]]).append_column("cluster_id", cid)
        # take() copies (a filter keeping every row may not): the kept parts must not hold the
        # mapped work file.
        copy = pa.array(np.arange(k))
        member_parts.append(t.select(MEMBERS_SCHEMA.names).cast(MEMBERS_SCHEMA).take(copy))
        canon_parts.append(t.take(pa.array(np.flatnonzero(is_canonical))).select(CANON_COLUMNS))
        word_parts.append(t.column("words").take(copy))
        del t
        pending.append(pool.submit(write_chunk, p, sl, cid))
        start += k


def _tables_after_stories(staging, night, member_parts, canon_parts, label, N, ns, wc, window, canon_rows,
                          touched_old, cid_of_row, story_ids, fp_state, shingles, reject_tables, headline_hash,
                          word_parts) -> dict:
    tonight = pa.concat_tables(member_parts) if member_parts else MEMBERS_SCHEMA.empty_table()
    # Earlier clusters that gained members tonight (touched_old): their canonical rows and earlier members.
    old_canon = wc.take(pa.array(touched_old, pa.int64()))
    old_ids = old_canon.column("cluster_id")
    old_members = window.members_of(old_ids)
    members = pa.concat_tables([tonight, old_members])

    new_canon = pa.concat_tables(canon_parts) if canon_parts else pa.table(
        {c: pa.array([], t) for c, t in [("cluster_id", pa.string()), ("story_id", pa.string()), ("headline", pa.string()),
                                         ("body_clean", pa.large_string()), ("agency", pa.string()), ("words", pa.int64()),
                                         ("published_at", pa.timestamp("us", tz="UTC"))]})
    # One chunk per column, made once: the clusters table and the state take from these columns,
    # and a take on many chunks concatenates them again on every call. The parts go as it is made.
    canon = pa.concat_tables([
        new_canon.cast(pa.schema([(c, new_canon.schema.field(c).type) for c in CANON_COLUMNS])),
        old_canon.select(["cluster_id", "story_id", "headline", "body", "agency", "words", "published_at"])
        .rename_columns(CANON_COLUMNS).cast(new_canon.select(CANON_COLUMNS).schema),
    ]).combine_chunks()
    del new_canon
    canon_parts.clear()
    # Sorted once: the clusters table's lists and the state's members file both want this order.
    members = members.sort_by([("cluster_id", "ascending"), ("story_id", "ascending")])
    clusters = clusters_table(canon, members, _reasons(canon, tonight, word_parts, old_canon, label, ns, shingles))
    write_table(clusters, staging.path("clusters", layout.LOCAL_PART), CLUSTERS_SCHEMA, largest_first(clusters))

    rejects = pa.concat_tables([r.cast(REJECT_SCHEMA) for r in reject_tables]) if reject_tables else REJECT_SCHEMA.empty_table()
    write_table(rejects, staging.path("rejects", layout.LOCAL_PART), REJECT_SCHEMA)

    # State for this night: new clusters' canonicals with their fingerprints, and the touched
    # earlier clusters carried forward so that active clusters never age out of the window.
    rows = np.concatenate([canon_rows, touched_old])  # state_rows(label, ns)
    if len(fp_state) != rows.shape[0]:
        raise ValueError(f"fp_state has {len(fp_state)} rows, the state keeps {rows.shape[0]}")
    # canon holds these rows in this order (new canonicals in row order, then touched_old), so
    # its columns are the state's as they are: no second copy of every canonical's text.
    if not canon.column("cluster_id").equals(pa.chunked_array([pa.array(cid_of_row[rows], pa.string())])):
        raise AssertionError("the canonicals' rows are not the state's rows in order")
    state_canon = pa.table({dst: canon.column(src) for src, dst in (
        ("cluster_id", "cluster_id"), ("story_id", "story_id"), ("headline", "headline"), ("body_clean", "body"),
        ("agency", "agency"), ("published_at", "published_at"), ("words", "words"))})
    sig, sets = fp_state.signatures, fp_state
    state_canon = (
        state_canon.append_column("text_hash", pa.array(fp_state.text_hash, pa.uint64()))
        .append_column("headline_hash", pa.array(headline_hash[rows], pa.uint64()))
        .append_column("signature", pa.FixedSizeListArray.from_arrays(pa.array(sig.reshape(-1)), sig.shape[1])
                       .cast(pa.list_(pa.uint32())) if len(rows) else pa.array([], pa.list_(pa.uint32())))
        .append_column("shingles", pa.LargeListArray.from_arrays(pa.array(sets.offsets), pa.array(sets.values, pa.uint32())))
        .append_column("night", pa.array([night] * len(rows), pa.string()))
    )
    return {"stories": tonight.num_rows, "clusters": clusters.num_rows, "rejects": rejects.num_rows,
            "_state_canonicals": state_canon, "_state_members": members}


def _reasons(canon: pa.Table, tonight: pa.Table, word_parts: list, old_canon: pa.Table, label: np.ndarray, ns: int,
             shingles: np.ndarray) -> pa.Array:
    """``canonical_reason`` per row of ``canon`` (new clusters' canonicals, then the touched earlier
    clusters'): each canonical's figures against its cluster's next-ranked member tonight."""
    # The parts' own chunks: a ChunkedArray handed to pa.chunked_array as one chunk goes through Python values.
    words = (pa.chunked_array([c for w in word_parts for c in (w.chunks if isinstance(w, pa.ChunkedArray) else [w])],
                              pa.int64()).combine_chunks() if word_parts else pa.array([], pa.int64()))
    rows = pa.table({"cluster_id": tonight.column("cluster_id"), "story_id": tonight.column("story_id"),
                     "words": words, "shingles": pa.array(shingles.astype(np.int64)),
                     "published_at": tonight.column("published_at"),
                     "is_canonical": pa.array(label[ns:] == np.arange(ns, label.shape[0]))})
    nxt = next_members(rows.filter(pc.greater_equal(pa.array(label[ns:]), ns)))
    at = pc.index_in(canon.column("cluster_id"), value_set=nxt.column("cluster_id"))
    own = {c: pc.take(rows.column(c), pc.index_in(canon.column("story_id"), value_set=rows.column("story_id")))
           for c in ("shingles",)}
    night = pa.concat_arrays([pa.nulls(canon.num_rows - old_canon.num_rows, pa.string()),
                              old_canon.column("night").combine_chunks().cast(pa.string())])
    t = pa.table({"cluster_id": canon.column("cluster_id"), "night": night, "story_id": canon.column("story_id"),
                  "words": canon.column("words"), "shingles": own["shingles"],
                  "published_at": canon.column("published_at"),
                  **{c: pc.take(nxt.column(c), at) for c in nxt.column_names[1:]}})
    return canonical_reasons(t.cast(REASON_INPUTS))
