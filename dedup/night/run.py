"""One night, start to finish: the lock, recovery of a killed commit, the staging folder, the
engine (local or Spark), the commit and the state's retention.

``run(settings)`` is what ``dedup run`` and ``dedup.run`` call. The engines (``dedup.night.local``,
``dedup.night.spark.engine``) only produce the night inside the staging folder; everything that
makes a night durable is here, once.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from dedup import layout
from dedup.config import Settings, is_object_store
from dedup.errors import LockBusy
from dedup.night import local
from dedup.night.figures import RunResult
from dedup.night.policy import check_same_input, could_be_same_input, other_nights_inputs
from dedup.night.staging import Staging, recover
from dedup.night.state import prune
from dedup.stages.read import discover, sha256_file

log = logging.getLogger("dedup")


@contextmanager
def state_lock(state_dir: Path):
    """One run at a time per state folder. flock dies with its process, so a crash never wedges it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = layout.state_lock_path(state_dir)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise LockBusy(f"another dedup run holds {path} ({holder}); wait for it to finish") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} since {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}")
    fh.flush()
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def refuse_same_input(settings: Settings, night: str) -> None:
    """With ``input.same_input: fail``, refuse a night whose input files another night already read
    before any work (``policy.check_same_input``; the manifest checks again, and there ``warn``
    records it). Local files only: an object in a bucket would be downloaded once more for it, so a
    bucket input is checked with the manifest, after the night. Raises ``RunFailed``."""
    if settings.input.same_input != "fail" or is_object_store(settings.input.path):
        return
    # Only files another night's input could equal are read here (at 1M stories, hashing the
    # input took 1 s before any work); the manifest takes every checksum during the night and
    # checks again.
    others = other_nights_inputs(settings, night)
    files = [f for f in discover(settings.input) if could_be_same_input(f.bytes, others)]
    check_same_input(settings, night, [dict(f.to_dict(), sha256=sha256_file(f.path)) for f in files])


def staged_night(settings: Settings, body, night: str, out: Path) -> tuple[Staging, RunResult]:
    """Under the state lock: finish what a killed run left half committed, refuse a night whose
    input another night read, then run ``body(settings, staging, night)`` (an engine's
    ``run_night``) into a fresh ``Staging`` under ``out``, abandoning it if the engine fails.
    Returns the staging, ready to commit or publish, and the engine's result. Both the local
    commit (``run``) and the bucket publish (``remote.run``) start a night here."""
    fixed = recover(out, settings.state_path)
    if fixed:
        log.warning("finished the commit of night(s) %s that a killed run left half done", ", ".join(fixed))
    refuse_same_input(settings, night)
    staging = Staging(out, night, settings.state_path)
    try:
        result = body(settings, staging, night)
    except BaseException:
        staging.abandon()
        raise
    return staging, result


def run(settings: Settings) -> RunResult:
    """Run one night. Raises ConfigError/InputError (bad usage) or RunFailed (exit 1)."""
    night = settings.run_date.isoformat()
    body = local.run_night
    if settings.run.engine == "spark":
        from dedup.night.spark.session import require_pyspark

        require_pyspark()  # before the lock and any output: a missing extra is a usage error
        from dedup.night.spark.engine import run_night as body
    if settings.output.format == "delta" or is_object_store(settings.output.path) or is_object_store(settings.state_url):
        from dedup.night import remote

        return remote.run(settings, body, night)
    out = Path(settings.output.path)
    out.mkdir(parents=True, exist_ok=True)
    with state_lock(settings.state_path):
        staging, result = staged_night(settings, body, night, out)
        staging.commit()
        gone = prune(settings.state_path, settings.state.retention_days)
        if gone:
            log.info("state: dropped nights older than the %d-day window: %s", settings.state.retention_days, ", ".join(gone))
    log.info("night %s written to %s: %s", night, out, result.counts,
             extra={"fields": {"night": night, "output": str(out), "event": "written", **result.counts}})
    return result
