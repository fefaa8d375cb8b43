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
from importlib import metadata

import pyarrow as pa

from dedup import layout
from dedup.config import Settings, is_object_store
from dedup.night.figures import NightFigures
from dedup.night.policy import check_accounting, check_same_input
from dedup.night.staging import Staging, write_json
from dedup.stages.read import sha256_file
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


def finish_night(settings: Settings, staging: Staging, night: str, t_start: float, f: NightFigures) -> tuple[dict, dict]:
    """Write the manifest and the report into ``staging``; return (counts, manifest).

    ``t_start``: ``time.perf_counter()`` when the night began. Input checksums are computed here
    when the engine has not. Raises ``RunFailed`` if the records do not add up (a bug, never bad
    input)."""
    stats, emptied, cluster = f.stats, f.emptied, f.stages["cluster"]

    counts = {
        "read": stats.records,
        "accepted": stats.accepted - emptied.total(),
        "rejected": stats.rejected + emptied.total(),
        "clusters": cluster["clusters"],
        "duplicates": cluster["duplicates"],
        "joined_earlier_clusters": cluster["earlier_clusters_joined"],
        "html_bodies": f.html,
        "bad_dates": stats.bad_dates,
        "reencoded": stats.reencoded,
    }
    elapsed = time.perf_counter() - t_start
    reasons = dict(stats.reasons)
    for reason, k in emptied.items():
        reasons[reason] = reasons.get(reason, 0) + k
    manifest = {
        "run_date": night,
        "status": "ok",
        **f.extra,
        # when the night began (t_start), not now: the manifest is written at its end
        "started_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=elapsed)).isoformat(timespec="seconds"),
        "seconds_total": round(elapsed, 3),
        "config": settings.model_dump(mode="json"),
        "inputs": [dict(x.to_dict(), sha256=h) for x, h in
                   zip(f.files, f.sha256s if f.sha256s is not None else [sha256_file(x.path) for x in f.files])],
        "counts": counts,
        "checks": list(f.checks),
        "reject_reasons": reasons,
        "stages": f.stages,
        "chrome_lines_removed_by_outlet": dict(sorted(f.removed_by_outlet.items(), key=lambda kv: -kv[1])),
        "chrome_top_lines_by_outlet": top_lines(f.top_chrome, 10),
        # Removed lines another outlet's copy of the same cluster kept: wire text wrongly removed (goal 0).
        **({"text_loss": f.text_loss.to_dict()} if f.text_loss is not None else {}),
        "lsh": {"bands": f.bands, "rows": f.rows, "candidate_threshold": settings.dedup.candidate_threshold},
        "state": {"path": settings.state_url if is_object_store(settings.state_url) else str(settings.state_path), "window_nights": f.window_nights, "version": f.state_version},
        "versions": {**package_versions(), **f.extra_versions},
    }
    manifest["checks"] += check_same_input(settings, night, manifest["inputs"])
    write_json(manifest, staging.path("runs", "manifest.json"))
    try:
        write_report(settings.output_root, night, manifest, *(staging.partition_dir(t) for t in layout.PARQUET_TABLES),
                     dest=staging.path("runs", "report.html"))
    except Exception:  # noqa: BLE001 - a report problem must not lose the night's tables
        log.warning("could not write report.html for %s", night, exc_info=True)
    check_accounting(counts)
    return counts, manifest
