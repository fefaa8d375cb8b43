"""A night whose output is Delta Lake tables (``output.format: delta``) or whose output or state
lives on object storage (``s3://``), for the local engine. ``dedup.night.run.run`` hands such a
night here; a local parquet night never comes here and is committed as before.

The engine itself is unchanged: it works on local folders (``Settings.output_root`` and
``Settings.state_path``). For an object-store output or state these are a private temporary
folder: before the night, the committed state nights of its window and the earlier nights' run
manifests are copied there; after it, the night is published in this order:

1. the state night (object store): its files under ``nights/run_date=<night>/<version>/``, then
   its ``manifest.json`` last. The manifest is the commit point: readers take, per night, the
   latest version whose manifest exists, so a killed upload is never read. Older versions of that
   night are deleted afterwards. (A local state is committed by the journaled rename as before.)
2. each table (stories, clusters, rejects) as a Delta Lake table partitioned by ``run_date``
   (deltalake, delta-rs): the night's partition is replaced in one transaction per table
   (``mode="overwrite"`` with a ``run_date`` predicate), so a reader of a table sees the whole of
   the old night or the whole of the new one, never half and never both.
3. ``runs/run_date=<night>/``: ``report.html``, then ``manifest.json``, which records each table's
   Delta version of this night (``output.delta_versions``); our tools read the tables at those
   versions, so the three tables of a night always come from one run.

The state goes first: a run killed after it leaves later nights matching against the night's
clusters with the ids its output will carry once the night is rerun (a rerun of a night sees the
same window, so it gives the same ids).

One run at a time per state: on object storage a lock object ``<state>/run.lock`` is created with a
conditional put (S3 ``If-None-Match: *``) holding the run's host, pid and start; a second run is
refused (exit 1) while it exists. It is deleted when the run ends, whatever the outcome; a run
killed by SIGKILL leaves it, which the next run on the same host takes over (``store_lock``); a run
on another host is refused naming it (delete it once no run is live).

Credentials and the endpoint come from the usual AWS chain (environment, ``~/.aws``, instance
role; ``AWS_ENDPOINT_URL`` for an S3-compatible store), never from our config.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dedup import layout
from dedup.config import Settings, WRITABLE_STORES, url_scheme
from dedup.errors import LockBusy
from dedup.night.figures import RunResult
from dedup.night.staging import Staging, _apply

log = logging.getLogger("dedup")

LOCK = "run.lock"
MANIFEST = "manifest.json"


def is_store(value: str | None) -> bool:
    """Whether an output or state location is on object storage (``config.WRITABLE_STORES``)."""
    return bool(value) and url_scheme(value) in WRITABLE_STORES


def _s3(url: str) -> str:
    """``s3a://b/k`` -> ``s3://b/k`` (fsspec and delta-rs know the bucket as s3)."""
    return "s3://" + url.split("://", 1)[1] if url_scheme(url) == "s3a" else url


def _fs(url: str):
    """(fsspec file system, path without scheme) of an object-store URL."""
    import fsspec

    return fsspec.core.url_to_fs(_s3(url))


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def storage_options() -> dict:
    """deltalake's options beyond what it reads from the AWS environment itself: plain HTTP allowed
    when ``AWS_ENDPOINT_URL`` is an http:// endpoint (a local S3-compatible server)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    return {"AWS_ALLOW_HTTP": "true"} if endpoint.startswith("http://") else {}


# -- Delta tables --------------------------------------------------------------------------------

def table_uri(root: str | Path, table: str) -> str:
    """Where ``table`` of an output root lives as a Delta table (a path, or an s3:// URL)."""
    root = str(root)
    return _s3(join(root, table)) if is_store(root) else str(Path(root) / table)


def write_delta(uri: str, night: str, files: list[Path], schema: pa.Schema) -> int:
    """Replace night ``night`` of the Delta table at ``uri`` with the rows of ``files`` (the night's
    staged Parquet part files, ``schema``'s columns) in one transaction, creating the table
    (partitioned by ``run_date``, a ``YYYY-MM-DD`` string as in the hive layout) when absent.
    Rows are streamed batch by batch. Returns the table's version after the commit."""
    from deltalake import DeltaTable, write_deltalake

    out_schema = schema.append(pa.field("run_date", pa.string()))

    def batches():
        for f in files:
            for b in pq.ParquetFile(f).iter_batches(batch_size=8192, columns=schema.names):
                b = pa.Table.from_batches([b]).cast(schema)
                yield from b.append_column("run_date", pa.array([night] * b.num_rows, pa.string())).to_batches()

    reader = pa.RecordBatchReader.from_batches(out_schema, batches())
    opts = storage_options()
    write_deltalake(uri, reader, mode="overwrite", predicate=f"run_date = '{night}'", partition_by=["run_date"],
                    storage_options=opts or None)
    return DeltaTable(uri, storage_options=opts or None).version()


def delta_files(uri: str, night: str, version: int | None = None) -> list[str]:
    """The live Parquet files of night ``night`` in the Delta table at ``uri`` (at ``version``,
    default the latest), as absolute paths or URLs."""
    from deltalake import DeltaTable

    t = DeltaTable(uri, version=version, storage_options=storage_options() or None)
    return sorted(t.file_uris(file_pruning_predicate=[("run_date", "=", night)]))


def vacuum(root: str, retention_hours: int | None, dry_run: bool = False) -> dict[str, list[str]]:
    """Delete the files of the Delta tables (stories, clusters, rejects) under the output ``root``
    (a path or an s3:// URL) that no table version has referenced for more than
    ``retention_hours`` (None: each table's own ``delta.deletedFileRetentionDuration``, Delta's
    default 168 h), with deltalake's ``DeltaTable.vacuum``: what each night's replacement of its
    partition leaves behind. The live files of the latest version are never touched. With
    ``dry_run`` nothing is deleted. Returns {table: the files removed (or that would be)}; a table
    that is not there is left out. Raises deltalake's errors (a store or log problem)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    out = {}
    for t in layout.PARQUET_TABLES:
        try:
            table = DeltaTable(table_uri(root, t), storage_options=storage_options() or None)
        except TableNotFoundError:
            continue
        # Our key's hours are the operator's choice, also below the table's own retention.
        out[t] = sorted(table.vacuum(retention_hours=retention_hours, dry_run=dry_run,
                                     enforce_retention_duration=retention_hours is None))
        log.info("vacuum %s: %s %d unreferenced file(s)", t, "would remove" if dry_run else "removed", len(out[t]),
                 extra={"fields": {"table": t, "event": "vacuum", "files": len(out[t]), "dry_run": dry_run}})
    return out


# -- state on object storage ---------------------------------------------------------------------

def _committed(fs, night_prefix: str) -> list[str]:
    """Versions of one state night (``v<UTC time>-<pid>`` folders) whose manifest exists, oldest first."""
    try:
        entries = fs.ls(night_prefix, detail=False, refresh=True)
    except FileNotFoundError:
        return []
    versions = sorted(e.rsplit("/", 1)[-1] for e in entries if e.rsplit("/", 1)[-1].startswith("v"))
    return [v for v in versions if fs.exists(f"{night_prefix}/{v}/{MANIFEST}")]


def remote_nights(url: str) -> dict[str, str]:
    """{night: its latest committed version} of a state on object storage, oldest night first.
    A night whose every version lacks its manifest (a killed upload) is left out."""
    fs, base = _fs(url)
    try:
        entries = fs.ls(f"{base}/nights", detail=False, refresh=True)
    except FileNotFoundError:
        return {}
    out = {}
    for e in sorted(entries):
        name = e.rsplit("/", 1)[-1]
        if name.startswith("run_date="):
            versions = _committed(fs, f"{base}/nights/{name}")
            if versions:
                out[layout.night_of(name)] = versions[-1]
    return out


def pull_window(url: str, local: Path, night: str, retention_days: int) -> list[str]:
    """Copy the committed state nights of ``night``'s window (the nights before it, at most
    ``retention_days`` back) from the state at ``url`` to the local folder ``local``. Returns them."""
    fs, base = _fs(url)
    end = dt.date.fromisoformat(night)
    start = end - dt.timedelta(days=retention_days)
    got = []
    for x, version in remote_nights(url).items():
        if start <= dt.date.fromisoformat(x) < end:
            dest = layout.state_night_dir(local, x)
            dest.parent.mkdir(parents=True, exist_ok=True)
            fs.get(f"{base}/nights/{layout.partition(x)}/{version}/", str(dest), recursive=True)
            got.append(x)
    return got


def push_night(local_night: Path, url: str, night: str) -> str:
    """Upload a committed local state night to the state at ``url``: a new version folder, its
    files first and ``manifest.json`` last (the commit point), then drop the night's other
    versions. Returns the version."""
    fs, base = _fs(url)
    version = f"v{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    prefix = f"{base}/nights/{layout.partition(night)}"
    for p in sorted(local_night.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            fs.put_file(str(p), f"{prefix}/{version}/{p.relative_to(local_night).as_posix()}")
    fs.put_file(str(local_night / MANIFEST), f"{prefix}/{version}/{MANIFEST}")
    for e in fs.ls(prefix, detail=False, refresh=True):
        if e.rsplit("/", 1)[-1] != version:
            fs.rm(e, recursive=True)
    return version


def prune_remote(url: str, retention_days: int) -> list[str]:
    """``dedup.night.state.prune`` for a state on object storage: nights more than twice the
    retention before the newest are deleted."""
    fs, base = _fs(url)
    nights = list(remote_nights(url))
    if not nights:
        return []
    cutoff = dt.date.fromisoformat(nights[-1]) - dt.timedelta(days=2 * retention_days)
    gone = [x for x in nights if dt.date.fromisoformat(x) < cutoff]
    for x in gone:
        fs.rm(f"{base}/nights/{layout.partition(x)}", recursive=True)
    return gone


def _dead_here(holder: str) -> bool:
    """The lock's holder ("host H pid P since T") ran on this host and its process is gone."""
    parts = holder.split()
    if len(parts) < 4 or parts[0] != "host" or parts[2] != "pid" or parts[1] != socket.gethostname():
        return False
    try:
        os.kill(int(parts[3]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


@contextmanager
def store_lock(url: str):
    """One run at a time per state on object storage: ``<state>/run.lock`` created with a
    conditional put (fails when it exists), deleted when the block ends. Raises ``LockBusy``.

    A lock left by a run killed on this host (SIGKILL, power loss: its process is gone) is taken
    over, with a warning: the state it guarded is whole (the manifest is the commit point). The
    takeover happens under a lock file of this host (``flock``), so two runs started here after a
    crash do not both take it. A lock of another host is never judged: the run is refused."""
    import fcntl
    import hashlib

    fs, base = _fs(url)
    path = f"{base}/{LOCK}"
    holder = (f"host {socket.gethostname()} pid {os.getpid()} since "
              f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}")
    host_lock = Path(tempfile.gettempdir()) / f"dedup-{hashlib.sha256(path.encode()).hexdigest()[:16]}.lock"
    with open(host_lock, "a") as hl:
        fcntl.flock(hl, fcntl.LOCK_EX)
        for attempt in (0, 1):
            try:
                fs.pipe_file(path, holder.encode(), mode="create")
                break
            except (FileExistsError, OSError) as e:
                if not isinstance(e, FileExistsError) and "precondition" not in str(e).lower():
                    raise
                try:
                    other = fs.cat_file(path).decode(errors="replace").strip()
                except OSError:
                    other = "another process"
                if attempt == 0 and _dead_here(other):
                    log.warning("taking over %s/%s: its run (%s) was killed on this host", _s3(url).rstrip("/"),
                                LOCK, other)
                    fs.rm_file(path)
                    continue
                raise LockBusy(f"another dedup run holds {_s3(url).rstrip('/')}/{LOCK} ({other}); wait for it to "
                               "finish, or delete it if no run is live (a run killed on another host leaves it)"
                               ) from None
    try:
        yield
    finally:
        fs.rm_file(path)


def pull_manifests(url: str, local: Path) -> None:
    """Copy the earlier nights' run manifests of an output on object storage to ``local``: the
    same-input, volume and drift checks read them."""
    fs, base = _fs(url)
    for p in fs.glob(f"{base}/runs/run_date=*/{MANIFEST}"):
        night = layout.night_of(p.rsplit("/", 2)[-2])
        dest = layout.manifest_path(local, night)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(p, str(dest))


# -- reading an output on object storage (the tools) ---------------------------------------------

@contextmanager
def output_view(url: str):
    """A local, read-only stand-in for the output at ``url`` (object storage), for the tools
    (report, show, explain): a temporary folder holding the run manifests copied from the bucket
    (``runs/run_date=*/manifest.json``, each night's commit point) and, per Delta table, a
    ``layout.REMOTE_TABLE`` file naming its URL and a ``run_date=`` folder per night with a
    manifest. ``dedup.layout`` then reads each night's live files at the version its manifest
    records, through deltalake and fsspec, without downloading whole tables. Yields the folder;
    removes it at the end. Raises ``NotFound`` when the URL holds no run manifest."""
    from dedup.errors import NotFound

    fs, base = _fs(url)
    fs.invalidate_cache()  # a night may have been published since an earlier listing in this process
    tmp = Path(tempfile.mkdtemp(prefix="dedup-view-"))
    try:
        pull_manifests(url, tmp)
        nights = layout.list_nights(tmp, "runs")
        if not nights:
            raise NotFound(f"no night with a manifest under {_s3(url).rstrip('/')}/runs")
        for t in layout.PARQUET_TABLES:
            if not fs.exists(f"{base}/{t}/_delta_log"):
                continue
            (tmp / t).mkdir()
            (tmp / t / layout.REMOTE_TABLE).write_text(table_uri(url, t), encoding="utf-8")
            for n in nights:
                layout.partition_dir(tmp, t, n).mkdir()
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def put_run_file(local: Path, url: str, night: str) -> str:
    """Upload one file of a night's ``runs/`` folder (a rebuilt ``report.html``) to the output at
    ``url``, replacing the object. Returns its URL."""
    fs, base = _fs(url)
    dest = f"{base}/runs/{layout.partition(night)}/{local.name}"
    fs.put_file(str(local), dest)
    return join(_s3(url), "runs", layout.partition(night), local.name)


# -- the night -----------------------------------------------------------------------------------

def run(settings: Settings, body, night: str) -> RunResult:
    """One night of ``body`` (the engine's ``run_night``) with a Delta or object-store output or an
    object-store state: lock, copy in, engine, publish (module docstring), prune."""
    from dedup.night.run import staged_night, state_lock
    from dedup.night.state import prune

    out_store, state_store = is_store(settings.output.path), is_store(settings.state_url)
    with ExitStack() as stack:
        if out_store or state_store:
            tmp = Path(tempfile.mkdtemp(prefix=f"dedup-{night}-"))
            stack.callback(shutil.rmtree, tmp, True)
        if out_store:
            settings._output_local = tmp / "out"
            stack.callback(setattr, settings, "_output_local", None)
        if state_store:
            settings._state_local = tmp / "state"
            stack.callback(setattr, settings, "_state_local", None)
        out = settings.output_root
        out.mkdir(parents=True, exist_ok=True)
        if state_store:
            stack.enter_context(store_lock(settings.state_url))
            settings.state_path.mkdir(parents=True, exist_ok=True)
            pull_window(settings.state_url, settings.state_path, night, settings.state.retention_days)
        else:
            stack.enter_context(state_lock(settings.state_path))
        if out_store:
            pull_manifests(settings.output.path, out)
        staging, result = staged_night(settings, body, night, out)
        t0 = time.perf_counter()
        versions = publish(settings, staging, night)
        log.info("night %s published (state, tables, run manifest) in %.2fs", night, time.perf_counter() - t0,
                 extra={"fields": {"night": night, "event": "published", "seconds": round(time.perf_counter() - t0, 3)}})
        if settings.output.vacuum_retention_hours is not None:
            vacuum(settings.output.path, settings.output.vacuum_retention_hours)
        if state_store:
            gone = prune_remote(settings.state_url, settings.state.retention_days)
        else:
            gone = prune(settings.state_path, settings.state.retention_days)
        if gone:
            log.info("state: dropped nights older than the %d-day window: %s", settings.state.retention_days,
                     ", ".join(gone))
    result.manifest.setdefault("output", {}).update(versions)
    log.info("night %s written to %s: %s", night, settings.output.path, result.counts,
             extra={"fields": {"night": night, "output": settings.output.path, "event": "written", **result.counts}})
    return dataclasses.replace(result, output=settings.output.path if out_store else result.output)


def publish(settings: Settings, staging: Staging, night: str) -> dict:
    """Make the staged night durable: state, then the Delta tables, then the run's manifest
    (module docstring). Returns the manifest's ``output`` entry (format, Delta versions)."""
    from dedup.schemas import CLUSTERS_SCHEMA, REJECT_SCHEMA, STORIES_SCHEMA

    delta = settings.output.format == "delta"
    out_store, state_store = is_store(settings.output.path), is_store(settings.state_url)
    hold = staging.dir.with_name(staging.dir.name + "-publish")
    shutil.rmtree(hold, ignore_errors=True)
    hold.mkdir(parents=True)
    # What the journaled commit must not move: Delta tables are written by deltalake, and the run's
    # manifest only once they are (its absence keeps tools on the night's previous run).
    moved = (list(layout.PARQUET_TABLES) if delta else []) + (["runs"] if delta or out_store else [])
    for t in moved:
        os.replace(staging.partition_dir(t), hold / t)
    if state_store:
        # From the staged night, before any output is committed (the local parquet tables too).
        push_night(staging.state_dir, settings.state_url, night)
    staging.commit()
    entry = {"format": settings.output.format}
    if delta:
        schemas = {"stories": STORIES_SCHEMA, "clusters": CLUSTERS_SCHEMA, "rejects": REJECT_SCHEMA}
        entry["delta_versions"] = {t: write_delta(table_uri(settings.output.path, t), night, layout.part_files(hold / t),
                                                  schemas[t]) for t in layout.PARQUET_TABLES}
    if "runs" in moved:
        mf = hold / "runs" / MANIFEST
        manifest = json.loads(mf.read_text(encoding="utf-8"))
        manifest["output"] = entry
        mf.write_text(json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        if out_store:
            fs, base = _fs(settings.output.path)
            prefix = f"{base}/runs/{layout.partition(night)}"
            for p in sorted(hold.joinpath("runs").iterdir(), key=lambda p: p.name == MANIFEST):
                fs.put_file(str(p), f"{prefix}/{p.name}")
        else:
            out = settings.output_root
            _apply([{"new": str(hold / "runs"), "final": str(layout.partition_dir(out, "runs", night)),
                     "old": str(layout.trash_dir(out, night, os.getpid()) / "runs")}])
            shutil.rmtree(layout.trash_dir(out, night, os.getpid()), ignore_errors=True)
    shutil.rmtree(hold, ignore_errors=True)
    return entry
