"""The night's manifest (``runs/run_date=.../manifest.json``) and report, for either engine.

The manifest is what operators and the report read: counts, reject reasons, per-stage seconds,
chrome figures, LSH settings, state window, versions. Both engines hand their figures to
``finish_night`` so the two manifests cannot drift apart.
"""
from __future__ import annotations

import datetime as dt
import logging
import platform
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

import pyarrow as pa

from dedup import layout
from dedup.night.policy import check_accounting
from dedup.night.staging import write_json
from dedup.stages.read import ReadStats, sha256_file
from dedup.tools.report import write_report

log = logging.getLogger("dedup")

def package_versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("dedup", "datasketch", "numpy", "numba", "pyarrow", "pandas", "scipy", "trafilatura", "selectolax"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def top_lines(t: pa.Table, k: int) -> dict:
    """{outlet: [{line, stories}, ...]}: the first ``k`` rows per outlet of a sorted chrome-lines table."""
    out: dict[str, list] = {}
    for o, line, n in zip(t.column("outlet").to_pylist(), t.column("line").to_pylist(), t.column("stories").to_pylist()):
        if len(out.setdefault(o, [])) < k:
            out[o].append({"line": line, "stories": n})
    return out


def finish_night(*, settings, staging, night: str, t_start: float, files, stats: ReadStats, emptied: Counter,
                 cluster: dict, html: int, stages: dict, removed_by_outlet: dict, top_chrome: pa.Table,
                 bands: int, rows: int, window_nights: list, state_version, extra: dict | None = None, extra_versions: dict | None = None,
                 sha256s: list[str] | None = None) -> tuple[dict, dict]:
    """Write the manifest and the report into ``staging``; return (counts, manifest).

    ``cluster`` holds the cluster stage's clusters, duplicates and earlier_clusters_joined;
    ``extra`` adds top-level keys (``engine``, and the Spark engine's ``spark``); ``sha256s`` are
    the input files' checksums when the engine computed them already (else they are computed here).
    Raises ``RunFailed`` if the records do not add up (a bug, never bad input).
    """

    counts = {
        "read": stats.records,
        "accepted": stats.accepted - emptied.total(),
        "rejected": stats.rejected + emptied.total(),
        "clusters": cluster["clusters"],
        "duplicates": cluster["duplicates"],
        "joined_earlier_clusters": cluster["earlier_clusters_joined"],
        "html_bodies": html,
        "bad_dates": stats.bad_dates,
        "reencoded": stats.reencoded,
    }
    reasons = dict(stats.reasons)
    for reason, k in emptied.items():
        reasons[reason] = reasons.get(reason, 0) + k
    manifest = {
        "run_date": night,
        "status": "ok",
        **(extra or {}),
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds_total": round(time.perf_counter() - t_start, 3),
        "config": settings.model_dump(mode="json"),
        "inputs": [dict(f.to_dict(), sha256=h) for f, h in
                   zip(files, sha256s if sha256s is not None else [sha256_file(f.path) for f in files])],
        "counts": counts,
        "reject_reasons": reasons,
        "stages": stages,
        "chrome_lines_removed_by_outlet": dict(sorted(removed_by_outlet.items(), key=lambda kv: -kv[1])),
        "chrome_top_lines_by_outlet": top_lines(top_chrome, 10),
        "lsh": {"bands": bands, "rows": rows, "candidate_threshold": settings.dedup.candidate_threshold},
        "state": {"path": str(settings.state_path), "window_nights": window_nights, "version": state_version},
        "versions": {**package_versions(), **(extra_versions or {})},
    }
    write_json(manifest, staging.path("runs", "manifest.json"))
    try:
        write_report(Path(settings.output.path), night, manifest, *(staging.partition_dir(t) for t in layout.PARQUET_TABLES),
                     dest=staging.path("runs", "report.html"))
    except Exception:  # noqa: BLE001 - a report problem must not lose the night's tables
        log.warning("could not write report.html for %s", night, exc_info=True)
    check_accounting(counts)
    return counts, manifest
