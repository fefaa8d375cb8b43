"""Write stage: a night's tables, written aside and swapped in whole.

Layout under ``output.path`` (hive partitions, so ``pd.read_parquet(out/"stories")`` returns
every night with a ``run_date`` column)::

    stories/run_date=YYYY-MM-DD/part-0.parquet
    clusters/run_date=YYYY-MM-DD/part-0.parquet
    rejects/run_date=YYYY-MM-DD/part-0.parquet
    runs/run_date=YYYY-MM-DD/manifest.json

Everything for a night is first written under ``.staging/<night>-<pid>/``. The commit then
writes a journal (``.commit-<night>.json``, itself written aside and renamed), moves the old
partitions out and the new ones in, and removes the journal. A run killed during the commit
leaves the journal; the next run (or ``recover``) finishes the moves before anything else, so a
night is never half replaced.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc  # noqa: F401 - pa.ipc for the work files
import pyarrow.parquet as pq

from dedup.read import REJECT_SCHEMA
from dedup.state import MEMBERS_SCHEMA

TABLES = ("stories", "clusters", "rejects", "runs")

STORIES_SCHEMA = pa.schema(
    [
        ("story_id", pa.string()),
        ("outlet", pa.string()),
        ("url", pa.string()),
        ("headline", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("cluster_id", pa.string()),
        ("is_canonical", pa.bool_()),
        ("similarity", pa.float64()),
        ("body_clean", pa.large_string()),
        # Extensions beyond the contract.
        ("containment", pa.float64()),
        ("relation", pa.string()),
        ("agency", pa.string()),
        ("dateline", pa.string()),
        ("canonical_story_id", pa.string()),
        ("words", pa.int64()),
        ("chrome_lines_removed", pa.int64()),
        ("was_html", pa.bool_()),
        ("source", pa.string()),
        ("record", pa.int64()),
    ]
)

CLUSTERS_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("canonical_story_id", pa.string()),
        ("headline", pa.string()),
        ("body", pa.large_string()),
        ("size", pa.int64()),
        ("outlets", pa.list_(pa.string())),
        ("story_ids", pa.list_(pa.string())),
        ("first_published_at", pa.timestamp("us", tz="UTC")),
        ("last_published_at", pa.timestamp("us", tz="UTC")),
        ("agency", pa.string()),
        ("canonical_reason", pa.string()),
    ]
)


def partition(night: str) -> str:
    return f"run_date={night}"


class Staging:
    """A private folder for one run's output; nothing in it is visible until ``commit``."""

    def __init__(self, root: Path, night: str, state_root: Path | None = None):
        self.root = Path(root)
        self.night = night
        self.dir = self.root / ".staging" / f"{night}-{os.getpid()}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        # The state partition is staged beside the state (it may live on another file system).
        self.state_root = Path(state_root) if state_root is not None else None
        if self.state_root is not None:
            self.state_dir = self.state_root / ".staging" / f"{night}-{os.getpid()}" / partition(night)
            if self.state_dir.exists():
                shutil.rmtree(self.state_dir)
            self.state_dir.mkdir(parents=True)
        for t in TABLES:
            (self.dir / t / partition(night)).mkdir(parents=True, exist_ok=True)
        (self.dir / "work").mkdir(parents=True, exist_ok=True)

    def path(self, table: str, name: str) -> Path:
        return self.dir / table / partition(self.night) / name

    @property
    def work(self) -> Path:
        return self.dir / "work"

    def commit(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        moves = []
        for t in TABLES:
            final = self.root / t / partition(self.night)
            old = self.root / ".trash" / f"{self.night}-{os.getpid()}" / t
            moves.append({"new": str(self.dir / t / partition(self.night)), "final": str(final), "old": str(old)})
        if self.state_root is not None:
            moves.append({
                "new": str(self.state_dir),
                "final": str(self.state_root / "nights" / partition(self.night)),
                "old": str(self.state_root / ".trash" / f"{self.night}-{os.getpid()}"),
            })
        journal = self.root / f".commit-{self.night}.json"
        tmp = journal.with_suffix(".tmp")
        tmp.write_text(json.dumps(moves))
        _fsync_file(tmp)
        os.replace(tmp, journal)
        _fsync_dir(self.root)
        _apply(moves)
        journal.unlink()
        _fsync_dir(self.root)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.root / ".trash" / f"{self.night}-{os.getpid()}", ignore_errors=True)
        if self.state_root is not None:
            shutil.rmtree(self.state_dir.parent, ignore_errors=True)
            shutil.rmtree(self.state_root / ".trash" / f"{self.night}-{os.getpid()}", ignore_errors=True)

    def abandon(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.state_root is not None:
            shutil.rmtree(self.state_dir.parent, ignore_errors=True)


def _apply(moves: list[dict]) -> None:
    """Idempotent: each step checks what is already done, so a journal can be replayed."""
    for m in moves:
        new, final, old = Path(m["new"]), Path(m["final"]), Path(m["old"])
        if new.exists():
            if final.exists():
                old.parent.mkdir(parents=True, exist_ok=True)
                if old.exists():
                    shutil.rmtree(old)
                os.replace(final, old)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new, final)


def recover(root: Path, state_root: Path | None = None) -> list[str]:
    """Finish commits a killed run left half done; drop stale staging folders. Returns nights fixed.

    Only called while holding the state lock, so no other run's staging folder is live.
    """
    root = Path(root)
    fixed = []
    for journal in sorted(root.glob(".commit-*.json")):
        _apply(json.loads(journal.read_text()))
        journal.unlink()
        fixed.append(journal.stem.removeprefix(".commit-"))
    stale = [root / ".staging", root / ".trash"]
    if state_root is not None:
        stale += [Path(state_root) / ".staging", Path(state_root) / ".trash"]
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    for tmp in root.glob(".commit-*.tmp"):
        tmp.unlink()
    return fixed


def _fsync_file(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(p: Path) -> None:
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_table(table: pa.Table, path: Path, schema: pa.Schema) -> None:
    pq.write_table(table.select(schema.names).cast(schema), path, compression="zstd")


def write_spill(table: pa.Table, path: Path) -> None:
    """A work file of the staging folder: Arrow IPC, uncompressed. It is read back once within
    the run, so Parquet's encoding and compression only cost time (about 10x the write and read)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)


def read_spill(path: Path) -> pa.Table:
    """A work file written by ``write_spill``, memory-mapped (no copy; the file may be unlinked
    while the table is in use)."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def write_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")


def _cluster_id(canonical_story_id: str) -> str:
    """A cluster's id: derived from its first canonical, so reruns give the same ids."""
    return "c" + hashlib.blake2b(canonical_story_id.encode("utf-8"), digest_size=8).hexdigest()


_CANON_COLS = ["cluster_id", "story_id", "headline", "body_clean", "agency", "words", "published_at"]


def write_tables(staging, night, spill2, label, sim, con, relation, story_ids, fp_all, window, reject_tables,
                 headline_hash, finish_later: list | None = None) -> dict:
    """Stream tonight's cleaned chunks into stories/, build clusters/ (with earlier members of
    touched clusters) and rejects/, and return the counts plus the night's state tables.

    With ``finish_later`` (a list), stories/ may still be being written on return: a callable
    that waits for it and closes the file is appended, for the caller to run before anything
    reads stories/ (meanwhile it can write the state)."""
    N = label.shape[0]
    ns = window.n
    wc = window.canonicals
    cid_of_row = np.empty(N, dtype=object)
    cid_of_row[:ns] = wc.column("cluster_id").to_pylist()
    canon_rows = np.flatnonzero((label == np.arange(N)) & (np.arange(N) >= ns))
    cid_of_row[canon_rows] = [_cluster_id(story_ids[r]) for r in canon_rows]
    cluster_ids = cid_of_row[label]
    writer = pq.ParquetWriter(staging.path("stories", "part-0.parquet"), STORIES_SCHEMA, compression="zstd")
    # Encoding and compressing stories/ is most of this stage: it goes on a thread of its own
    # (Parquet writing releases the GIL) while this one builds clusters/, rejects/ and the state.
    pending: list = []
    canon_parts, member_parts = [], []
    pool = ThreadPoolExecutor(max_workers=1)

    def finish() -> None:
        try:
            for f in pending:
                f.result()
        finally:
            pool.shutdown(wait=True)  # every write done before the file is closed
            writer.close()

    try:
        _stream_stories(spill2, writer, pool, pending, canon_parts, member_parts, ns, label, cluster_ids, sim,
                        con, relation, story_ids)
        result = _tables_after_stories(staging, night, member_parts, canon_parts, label, N, ns, wc, window,
                                       canon_rows, cid_of_row, story_ids, fp_all, reject_tables, headline_hash)
    except BaseException:
        finish()
        raise
    if finish_later is None:
        finish()
    else:
        finish_later.append(finish)
    return result


def _stream_stories(spill2, writer, pool, pending, canon_parts, member_parts, start, label, cluster_ids, sim, con,
                    relation, story_ids) -> None:
    """Hand each cleaned chunk, with its cluster columns, to the stories/ writer thread; keep the
    members and canonical rows that the other tables need."""
    for p in spill2:
        t = read_spill(p)
        k = t.num_rows
        sl = slice(start, start + k)
        lab = label[sl]
        t = (
            t.append_column("cluster_id", pa.array(cluster_ids[sl], pa.string()))
            .append_column("is_canonical", pa.array(lab == np.arange(start, start + k)))
            .append_column("similarity", pa.array(np.round(sim[sl], 4)))
            .append_column("containment", pa.array(np.round(con[sl], 4)))
            .append_column("relation", pa.array(relation[sl], pa.string()))
            .append_column("canonical_story_id", pa.array(story_ids[lab], pa.string()))
        )
        out = t.select(STORIES_SCHEMA.names).cast(STORIES_SCHEMA)
        pending.append(pool.submit(writer.write_table, out))
        member_parts.append(out.select(MEMBERS_SCHEMA.names).cast(MEMBERS_SCHEMA))
        canon_parts.append(t.filter(t.column("is_canonical")).select(_CANON_COLS))
        start += k
        p.unlink()


def _tables_after_stories(staging, night, member_parts, canon_parts, label, N, ns, wc, window, canon_rows, cid_of_row,
                          story_ids, fp_all, reject_tables, headline_hash) -> dict:
    tonight = pa.concat_tables(member_parts) if member_parts else MEMBERS_SCHEMA.empty_table()
    # Earlier clusters that gained members tonight: their canonical rows and earlier members.
    touched_old = np.unique(label[ns:][label[ns:] < ns]) if N > ns else np.empty(0, np.int64)
    old_canon = wc.take(pa.array(touched_old, pa.int64()))
    old_ids = old_canon.column("cluster_id")
    old_members = window.members.filter(pc.is_in(window.members.column("cluster_id"), value_set=old_ids))
    members = pa.concat_tables([tonight, old_members])

    new_canon = pa.concat_tables(canon_parts) if canon_parts else pa.table(
        {c: pa.array([], t) for c, t in [("cluster_id", pa.string()), ("story_id", pa.string()), ("headline", pa.string()),
                                         ("body_clean", pa.large_string()), ("agency", pa.string()), ("words", pa.int64()),
                                         ("published_at", pa.timestamp("us", tz="UTC"))]})
    canon = pa.concat_tables([
        new_canon.cast(pa.schema([(c, new_canon.schema.field(c).type) for c in _CANON_COLS])),
        old_canon.select(["cluster_id", "story_id", "headline", "body", "agency", "words", "published_at"])
        .rename_columns(_CANON_COLS).cast(new_canon.select(_CANON_COLS).schema),
    ])
    # Sorted members and a single-threaded group-by give lists already in story-id order.
    members = members.sort_by([("cluster_id", "ascending"), ("story_id", "ascending")])
    agg = members.group_by("cluster_id", use_threads=False).aggregate(
        [("story_id", "count"), ("story_id", "list"), ("published_at", "min"),
         ("published_at", "max")]
    )
    at = pc.index_in(canon.column("cluster_id"), value_set=agg.column("cluster_id"))
    joined = canon
    for name in ("story_id_count", "story_id_list", "published_at_min", "published_at_max"):
        joined = joined.append_column(name, pc.take(agg.column(name), at))
    pairs = members.select(["cluster_id", "outlet"]).filter(pc.is_valid(members.column("outlet")))
    pairs = pairs.group_by(["cluster_id", "outlet"]).aggregate([]).sort_by([("cluster_id", "ascending"), ("outlet", "ascending")])
    per = pairs.group_by("cluster_id", use_threads=False).aggregate([("outlet", "list")])
    pos = pc.index_in(joined.column("cluster_id"), value_set=per.column("cluster_id"))
    outlets_sorted = pc.fill_null(pc.take(per.column("outlet_list"), pos), pa.scalar([], pa.list_(pa.string())))
    ids_sorted = joined.column("story_id_list")
    clusters = pa.table(
        {
            "cluster_id": joined.column("cluster_id"),
            "canonical_story_id": joined.column("story_id"),
            "headline": joined.column("headline"),
            "body": joined.column("body_clean"),
            "size": joined.column("story_id_count"),
            "outlets": outlets_sorted,
            "story_ids": ids_sorted,
            "first_published_at": joined.column("published_at_min"),
            "last_published_at": joined.column("published_at_max"),
            "agency": joined.column("agency"),
            "canonical_reason": pa.array(
                [f"most complete copy ({w} words after cleaning); earlier publication and smaller id break ties"
                 for w in joined.column("words").to_pylist()], pa.string()),
        }
    ).sort_by([("size", "descending"), ("cluster_id", "ascending")])
    write_table(clusters, staging.path("clusters", "part-0.parquet"), CLUSTERS_SCHEMA)

    rejects = pa.concat_tables([r.cast(REJECT_SCHEMA) for r in reject_tables]) if reject_tables else REJECT_SCHEMA.empty_table()
    write_table(rejects, staging.path("rejects", "part-0.parquet"), REJECT_SCHEMA)

    # State for this night: new clusters' canonicals with their fingerprints, and the touched
    # earlier clusters carried forward so that active clusters never age out of the window.
    rows = np.concatenate([canon_rows, touched_old]).astype(np.int64)
    state_canon = pa.table({
        "cluster_id": pa.array(cid_of_row[rows], pa.string()),
        "story_id": pa.array(story_ids[rows], pa.string()),
    })
    info = canon.select(["cluster_id", "headline", "body_clean", "agency", "published_at", "words"])
    at = pc.index_in(state_canon.column("cluster_id"), value_set=info.column("cluster_id"))
    for src, dst in (("headline", "headline"), ("body_clean", "body"), ("agency", "agency"),
                     ("published_at", "published_at"), ("words", "words")):
        state_canon = state_canon.append_column(dst, pc.take(info.column(src), at))
    sig = fp_all.signatures[rows]
    sets = fp_all.take(rows)
    state_canon = (
        state_canon.append_column("text_hash", pa.array(fp_all.text_hash[rows], pa.uint64()))
        .append_column("headline_hash", pa.array(headline_hash[rows], pa.uint64()))
        .append_column("signature", pa.FixedSizeListArray.from_arrays(pa.array(sig.reshape(-1)), sig.shape[1])
                       .cast(pa.list_(pa.uint32())) if len(rows) else pa.array([], pa.list_(pa.uint32())))
        .append_column("shingles", pa.LargeListArray.from_arrays(pa.array(sets.offsets), pa.array(sets.values, pa.uint32())))
        .append_column("night", pa.array([night] * len(rows), pa.string()))
    )
    return {"stories": tonight.num_rows, "clusters": clusters.num_rows, "rejects": rejects.num_rows,
            "_state_canonicals": state_canon, "_state_members": members}
