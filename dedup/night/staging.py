"""A night's output, written aside and swapped in whole (paths: ``dedup.layout``).

Everything for a night is first written under ``.staging/<night>-<pid>/``. The commit then
writes a journal (``.commit-<night>.json``, itself written aside and renamed), moves the old
partitions out and the new ones in, and removes the journal. A run killed during the commit
leaves the journal; the next run (or ``recover``) finishes the moves before anything else, so a
night is never half replaced. The work files of a run (``write_spill``/``read_spill``) live in
the same staging folder.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc for the work files
import pyarrow.parquet as pq

from dedup import layout
from dedup.layout import TABLES, partition
from dedup.schemas import parquet_dictionary


class Staging:
    """A private folder for one run's output; nothing in it is visible until ``commit``."""

    def __init__(self, root: Path, night: str, state_root: Path | None = None):
        self.root = Path(root)
        self.night = night
        self.dir = layout.staging_dir(self.root, night, os.getpid())
        if self.dir.exists():
            shutil.rmtree(self.dir)
        # The state partition is staged beside the state (it may live on another file system).
        self.state_root = Path(state_root) if state_root is not None else None
        if self.state_root is not None:
            self.state_dir = layout.staging_dir(self.state_root, night, os.getpid()) / partition(night)
            if self.state_dir.exists():
                shutil.rmtree(self.state_dir)
            self.state_dir.mkdir(parents=True)
        for t in TABLES:
            (self.dir / t / partition(night)).mkdir(parents=True, exist_ok=True)
        (self.dir / "work").mkdir(parents=True, exist_ok=True)

    def partition_dir(self, table: str) -> Path:
        """The staged partition folder of ``table`` (``<staging>/<table>/run_date=<night>``)."""
        return layout.partition_dir(self.dir, table, self.night)

    def path(self, table: str, name: str) -> Path:
        return self.partition_dir(table) / name

    @property
    def work(self) -> Path:
        return self.dir / "work"

    def commit(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        moves = []
        for t in TABLES:
            final = layout.partition_dir(self.root, t, self.night)
            old = layout.trash_dir(self.root, self.night, os.getpid()) / t
            moves.append({"new": str(self.dir / t / partition(self.night)), "final": str(final), "old": str(old)})
        if self.state_root is not None:
            moves.append({
                "new": str(self.state_dir),
                "final": str(layout.state_night_dir(self.state_root, self.night)),
                "old": str(layout.trash_dir(self.state_root, self.night, os.getpid())),
            })
        journal = layout.journal_path(self.root, self.night)
        tmp = journal.with_suffix(".tmp")
        tmp.write_text(json.dumps(moves))
        _fsync_file(tmp)
        os.replace(tmp, journal)
        _fsync_dir(self.root)
        _apply(moves)
        journal.unlink()
        _fsync_dir(self.root)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(layout.trash_dir(self.root, self.night, os.getpid()), ignore_errors=True)
        if self.state_root is not None:
            shutil.rmtree(self.state_dir.parent, ignore_errors=True)
            shutil.rmtree(layout.trash_dir(self.state_root, self.night, os.getpid()), ignore_errors=True)

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


# Rows per row group where a table is written in slices (``write_table`` with ``order``).
WRITE_SLICE = 65536


def write_table(table: pa.Table, path: Path, schema: pa.Schema, order: pa.Array | None = None) -> None:
    """``table``'s ``schema`` columns, cast to it, as one Parquet file at ``path`` (zstd).

    With ``order`` (int64 row indices), the rows are written in that order, ``WRITE_SLICE`` at a
    time: only one slice's copy is made, where ``table.take(order)`` would copy every row (all
    the canonicals' text, for clusters/)."""
    table = table.select(schema.names).cast(schema)
    opts = {"compression": "zstd", "use_dictionary": parquet_dictionary(schema)}
    if order is None:
        pq.write_table(table, path, **opts)
        return
    # take() on a column of many chunks concatenates them first, on every call: one slice cost as
    # much as the whole table (2.5 s at 1M clusters). Columns already in one chunk are not copied.
    table = table.combine_chunks()
    with pq.ParquetWriter(path, schema, **opts) as w:
        for i in range(0, max(len(order), 1), WRITE_SLICE):
            w.write_table(table.take(order[i:i + WRITE_SLICE]))


def write_spill(table: pa.Table, path: Path) -> None:
    """A work file of the staging folder: Arrow IPC, uncompressed. It is read back once within
    the run, so Parquet's encoding and compression only cost time (about 10x the write and read)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)


def read_spill(path: Path) -> pa.Table:
    """A work file written by ``write_spill``, memory-mapped (no copy; the file may be unlinked
    while the table is in use)."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def spilled(table: pa.Table, path: Path) -> pa.Table:
    """``table`` written to the work file ``path`` and read back memory-mapped. Rejects are held
    this way from the stage that finds them to the write stage: a night whose feed is mostly bad
    (a renamed field rejects every record) would otherwise keep every record's raw text in memory."""
    if not table.num_rows:
        return table
    write_spill(table, path)
    return read_spill(path)


def write_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
