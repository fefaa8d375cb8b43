"""Where everything lives on disk: the one module that knows paths.

Output (``output.path``), hive partitions so that ``pd.read_parquet(out / "stories")`` returns every
night with a ``run_date`` column::

    stories/run_date=YYYY-MM-DD/*.parquet     part-0.parquet (local engine) or Spark's part files
    clusters/run_date=YYYY-MM-DD/*.parquet
    rejects/run_date=YYYY-MM-DD/*.parquet
    runs/run_date=YYYY-MM-DD/manifest.json, report.html
    .staging/<night>-<pid>/                   a run's private copy until the commit
    .trash/<night>-<pid>/                     the partitions a commit replaced, removed after it
    .commit-<night>.json                      the commit's journal while it runs

State (``state.path``)::

    run.lock
    nights/run_date=YYYY-MM-DD/               canonicals, members, chrome counts (``dedup.night.state``)
    .staging/<night>-<pid>/run_date=.../

Both engines write, and every tool reads, through these functions, so a partition written as one
file or as Spark's part files reads the same everywhere.

With ``output.format: delta`` each of stories/, clusters/, rejects/ is a Delta Lake table (its
``_delta_log/`` beside the same ``run_date=`` folders, which may also hold files a rerun replaced):
a night's files are then the table's live files for that night, at the table version its run
manifest records (``output.delta_versions``, ``dedup.night.remote``), so the three tables of a
night always come from one run.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.errors import NotFound

TABLES = ("stories", "clusters", "rejects", "runs")
PARQUET_TABLES = ("stories", "clusters", "rejects")
LOCAL_PART = "part-0.parquet"


def partition(night: str) -> str:
    """The hive partition folder name of a night: ``run_date=YYYY-MM-DD``."""
    return f"run_date={night}"


def night_of(partition_name: str) -> str:
    """``run_date=YYYY-MM-DD`` -> ``YYYY-MM-DD``."""
    return partition_name.split("=", 1)[1]


# -- output -------------------------------------------------------------------------------------

def partition_dir(root: Path, table: str, night: str) -> Path:
    """``<root>/<table>/run_date=<night>``: a night's folder of one output table."""
    return Path(root) / table / partition(night)


# In a local view of an output on object storage (``dedup.night.remote.output_view``), a table folder
# holds this file naming the Delta table's URL instead of the table itself.
REMOTE_TABLE = "_remote_table"


def is_delta(table_dir: Path) -> bool:
    """Whether an output table folder is a Delta Lake table (``output.format: delta``), here or,
    in a view of a bucket's output, on object storage."""
    return (Path(table_dir) / "_delta_log").is_dir() or (Path(table_dir) / REMOTE_TABLE).is_file()


def remote_table(table_dir: Path) -> str | None:
    """The object-store URL a view's table folder stands for (``REMOTE_TABLE``), else None."""
    p = Path(table_dir) / REMOTE_TABLE
    return p.read_text(encoding="utf-8").strip() if p.is_file() else None


def _delta_part_files(folder: Path) -> list:
    from deltalake import DeltaTable

    table, night = folder.parent, night_of(folder.name)
    version = None
    mf = manifest_path(table.parent, night)
    if mf.is_file():
        import json

        version = ((json.loads(mf.read_text(encoding="utf-8")).get("output") or {}).get("delta_versions") or {}).get(table.name)
    url = remote_table(table)
    if url is not None:
        from dedup.night.remote import storage_options

        files = DeltaTable(url, version=version, storage_options=storage_options() or None).file_uris(
            file_pruning_predicate=[("run_date", "=", night)])
        return sorted(files)  # URLs, read through fsspec (``read_files``, ``parquet_file``)
    files = DeltaTable(str(table), version=version).file_uris(file_pruning_predicate=[("run_date", "=", night)])
    return sorted(Path(f) for f in files)


def empty_night(table: str, columns: list[str] | None = None) -> pa.Table:
    """A night of ``table`` (stories, clusters, rejects) without rows, as its Arrow schema
    (``dedup.schemas``): what a Delta table's night with no rows reads as."""
    from dedup.schemas import CLUSTERS_SCHEMA, REJECT_SCHEMA, STORIES_SCHEMA

    t = {"stories": STORIES_SCHEMA, "clusters": CLUSTERS_SCHEMA, "rejects": REJECT_SCHEMA}[table].empty_table()
    return t.select(columns) if columns else t


def part_files(folder: Path) -> list[Path]:
    """The Parquet files of a partition folder, sorted (Spark's ``_SUCCESS`` and ``.crc`` left out);
    of a Delta table's partition, its live files (module docstring)."""
    folder = Path(folder)
    if folder.name.startswith("run_date=") and is_delta(folder.parent):
        return _delta_part_files(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def has_partition(root: Path, table: str, night: str) -> bool:
    return bool(part_files(partition_dir(root, table, night)))


def read_partition(root: Path, table: str, night: str, columns: list[str] | None = None, filters=None) -> pa.Table:
    """One night of one output table as an Arrow table, whichever engine wrote it.

    Raises ``NotFound`` when the night has no such partition."""
    files = part_files(partition_dir(root, table, night))
    if not files and is_delta(Path(root) / table) and manifest_path(root, night).is_file():
        return empty_night(table, columns)  # a Delta table keeps no file for a night without rows
    if not files:
        raise NotFound(f"night {night} has no {table} under {root} (nights: {', '.join(list_nights(root, table)) or 'none'})")
    return read_files(files, columns=columns, filters=filters)


def _url_fs(files: list) -> tuple:
    """(fsspec file system or None, paths) for part files: object-store URLs (a view's remote Delta
    table) go through fsspec, as the reader reads a bucket input; local paths as they are."""
    names = [str(f) for f in files]
    if not names or "://" not in names[0]:
        return None, names
    import fsspec

    fs, _ = fsspec.core.url_to_fs(names[0])
    return fs, [fs._strip_protocol(n) for n in names]


def read_files(files: list, columns: list[str] | None = None, filters=None) -> pa.Table:
    """The part files of one partition (local paths, or object-store URLs) as one table (no
    partition column added)."""
    fs, names = _url_fs(files)
    return pq.ParquetDataset(names, filters=filters, partitioning=None, filesystem=fs).read(columns=columns)


def parquet_file(f) -> pq.ParquetFile:
    """One part file (a local path or an object-store URL) opened for reading by row group."""
    fs, (name,) = _url_fs([f])
    return pq.ParquetFile(name, filesystem=fs) if fs is not None else pq.ParquetFile(name)


def list_nights(root: Path, table: str = "stories") -> list[str]:
    """Nights with a partition of ``table`` under the output root, oldest first."""
    base = Path(root) / table
    if not base.is_dir():
        return []
    return sorted(night_of(p.name) for p in base.glob("run_date=*") if p.is_dir())


def manifest_path(root: Path, night: str) -> Path:
    return partition_dir(root, "runs", night) / "manifest.json"


def report_path(root: Path, night: str) -> Path:
    return partition_dir(root, "runs", night) / "report.html"


def staging_dir(root: Path, night: str, pid: int) -> Path:
    return Path(root) / ".staging" / f"{night}-{pid}"


def trash_dir(root: Path, night: str, pid: int) -> Path:
    return Path(root) / ".trash" / f"{night}-{pid}"


def journal_path(root: Path, night: str) -> Path:
    return Path(root) / f".commit-{night}.json"


# -- state --------------------------------------------------------------------------------------

def state_night_dir(state_path: Path, night: str) -> Path:
    """``<state>/nights/run_date=<night>``: one night's state files."""
    return Path(state_path) / "nights" / partition(night)


def state_nights(state_path: Path) -> list[str]:
    """Nights in the state, oldest first."""
    base = Path(state_path) / "nights"
    if not base.is_dir():
        return []
    return sorted(night_of(p.name) for p in base.iterdir() if p.name.startswith("run_date="))


def state_lock_path(state_path: Path) -> Path:
    return Path(state_path) / "run.lock"
