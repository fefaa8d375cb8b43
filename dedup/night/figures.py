"""A night's figures: seconds, memory and counts per stage, as both engines report them.

``StageLog`` collects one dict per stage (in the order they ran), which becomes the manifest's
``stages`` key and the report's stage table; ``Progress`` shows a bar on a terminal.
"""
from __future__ import annotations

import logging
import resource
import sys
import time
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("dedup")

#: Progress bars on a terminal; off under ``--log-format json`` (dedup.cli), where stderr is JSON only.
PROGRESS_BARS = True


@dataclass
class StageLog:
    """Seconds and counts per stage, in the order they ran. ``seconds`` is wall time;
    ``cpu_seconds`` is this process's CPU time (user + system, every thread) over the stage, so
    ``cpu_seconds / seconds`` is how many cores the stage kept busy on average; ``system_seconds``
    is the part of it spent in the kernel (faulting in and zeroing fresh memory, copying work
    files into the page cache: docs/speed.md, Session 18)."""

    stages: dict = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, **counts):
        t0, c0, k0 = time.perf_counter(), time.process_time(), system_seconds()
        entry = {"seconds": 0.0, **counts}
        self.stages[name] = entry
        log.info("stage %s: started", name, extra={"fields": {"stage": name, "event": "started"}})
        try:
            yield entry
        finally:
            entry["seconds"] = round(entry["seconds"] + time.perf_counter() - t0, 3)
            entry["cpu_seconds"] = round(entry.get("cpu_seconds", 0.0) + time.process_time() - c0, 3)
            entry["system_seconds"] = round(entry.get("system_seconds", 0.0) + system_seconds() - k0, 3)
            entry["peak_rss_mb"] = peak_rss_mb()
            extra = ", ".join(f"{k}={v}" for k, v in entry.items() if k != "seconds")
            log.info("stage %s: %.2fs %s", name, entry["seconds"], extra,
                     extra={"fields": {"stage": name, "event": "finished", **entry}})


def system_seconds() -> float:
    """CPU seconds this process has spent in the kernel so far (every thread; ``getrusage``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere: musl, macOS)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_unused_memory() -> None:
    """Hand memory freed by the stages so far back to the system, so that the next stage's
    peak starts from what is live. Both allocators keep freed memory for reuse: Arrow's pool
    (mimalloc) keeps the pages a worker thread freed until that thread allocates again, and
    glibc keeps freed chunks in its arenas (one per thread; arrays under its adaptive mmap
    threshold, up to 32 MB, come from there). Measured at 1M stories before the candidates
    stage: 2.7 GB resident for 1.2 GB of live arrays without this (docs/speed.md, session 9).
    Costs 15-130 ms at 1M (``malloc_trim(0)`` returns the free pages of every arena)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)


class Progress:
    """A progress bar on a terminal; a plain log line every few chunks otherwise."""

    def __init__(self, stage: str, unit: str, total: int | None = None):
        self.stage, self.unit, self.done, self.t0 = stage, unit, 0, time.perf_counter()
        self.bar = None
        if PROGRESS_BARS and sys.stderr.isatty() and log.isEnabledFor(logging.INFO):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=stage, unit=unit, unit_scale=True, leave=False, file=sys.stderr)

    def update(self, k: int) -> None:
        self.done += k
        if self.bar is not None:
            self.bar.update(k)
        else:
            log.debug("stage %s: %d %s so far (%.1fs)", self.stage, self.done, self.unit, time.perf_counter() - self.t0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class NightFigures:
    """What an engine hands to the manifest and the report (``dedup.night.manifest.finish_night``).

    ``files``: the input files (``stages.read.InputFile``); ``stats``: the read stage's
    ``ReadStats``; ``emptied``: records cleaning left with no story text, by reject reason;
    ``html``: bodies that were HTML pages; ``stages``: ``StageLog.stages`` (the cluster stage's
    clusters, duplicates and earlier_clusters_joined become the manifest's counts);
    ``removed_by_outlet``: chrome lines removed per outlet; ``top_chrome``: (outlet, line,
    stories) of the most removed lines; ``bands``/``rows``: the LSH setting; ``window_nights`` and
    ``state_version``: the state read and written; ``sha256s``: the inputs' checksums when the
    engine computed them already; ``text_loss``: ``dedup.stages.text_loss.TextLoss`` of the night
    (None: not measured); ``extra``: top-level manifest keys (``engine``, ``spark``);
    ``extra_versions``: more package versions; ``checks``: what the feed checks let through
    (``dedup.night.policy.check_feed``), the manifest's ``checks``."""

    files: list
    stats: object
    emptied: Counter
    html: int
    stages: dict
    removed_by_outlet: dict[str, int]
    top_chrome: object
    bands: int
    rows: int
    window_nights: list[str]
    state_version: int
    sha256s: list[str] | None = None
    text_loss: object = None
    extra: dict = field(default_factory=dict)
    extra_versions: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)


@dataclass
class RunResult:
    """What a night produced: its date, output folder, the manifest's ``counts`` and the manifest."""

    run_date: str
    output: Path
    counts: dict
    manifest: dict
