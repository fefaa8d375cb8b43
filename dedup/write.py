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

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

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


def write_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
