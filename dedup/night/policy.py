"""When a night is refused, and how its records are accounted for: rules both engines apply.

A night fails (``RunFailed``, exit 1, nothing written) when more than ``input.max_reject_ratio`` of
its records are rejected, or when its records do not add up (every input record must land in
exactly one of ``stories`` and ``rejects``). ``check_feed`` adds what a scheduler must be told about
the feed as a whole: no records at all, a file that ends early, a night far below the volume of the
recent nights (each refused unless the config allows it; what is allowed becomes a check in the
manifest, which the report shows).
"""
from __future__ import annotations

import logging
import statistics
from collections import Counter
from pathlib import Path

from dedup.config import Settings
from dedup.errors import RunFailed

log = logging.getLogger("dedup")

#: Earlier nights (with manifests, inside the window) needed before the volume rule applies: with
#: fewer, a median says little (the report's drift checks wait for as many).
VOLUME_MIN_NIGHTS = 3


def recent_volume(output_root: Path, night: str, retention_days: int) -> tuple[float | None, int]:
    """(median of records read, nights) over the nights before ``night`` that the report's drift
    compares with (``dedup.tools.report.earlier_manifests``: the state window, at most 14 days);
    (None, 0) when there are none."""
    from dedup.tools.report import earlier_manifests, window_days

    days = window_days({"config": {"state": {"retention_days": retention_days}}})
    reads = [int((m.get("counts") or {}).get("read", 0)) for m in earlier_manifests(output_root, night, days)]
    return (statistics.median(reads) if reads else None), len(reads)


def check_feed(settings: Settings, night: str, records: int, ended_early: list[str],
               empty_files: list[str]) -> list[dict]:
    """Refuse a feed a scheduler must hear about, or return what was let through as checks.

    ``records``: records read (accepted and rejected); ``ended_early``: one "file: reason" per
    input file that stopped before its end (a truncated gzip); ``empty_files``: input files of 0
    bytes. Raises ``RunFailed`` (exit 1, nothing written) for a night with no records unless
    ``input.allow_empty``, for a file that ends early unless ``input.allow_truncated``, and for a
    night under ``input.min_volume_ratio`` x the median of the recent nights' records (at least
    ``VOLUME_MIN_NIGHTS`` of them) when ``input.low_volume`` is ``fail``. Returns the checks the
    manifest carries (``{"level": "warn"|"bad", "key", "text"}``) for what was allowed.
    """
    inp = settings.input
    out: list[dict] = []

    def allowed(key: str, level: str, text: str) -> None:
        log.warning("%s", text)
        if key != "empty_feed":  # the report finds an empty night by itself ("no records were read")
            out.append({"level": level, "key": key, "text": text})

    if records == 0:
        text = f"no records were read from input.path {inp.path}"
        if not inp.allow_empty:
            raise RunFailed(f"{text}: an empty feed fails the night (set input.allow_empty: true to write an empty "
                            f"night). Nothing was written for {night}.")
        allowed("empty_feed", "bad", text + " (allowed by input.allow_empty)")
    if ended_early:
        more = f" (and {len(ended_early) - 1} more file(s))" if len(ended_early) > 1 else ""
        if not inp.allow_truncated:
            raise RunFailed(f"{ended_early[0]}{more}: a file that ends early (a truncated gzip, an interrupted copy) "
                            f"fails the night (set input.allow_truncated: true to keep what could be read). "
                            f"Nothing was written for {night}.")
        allowed("truncated", "warn", f"{ended_early[0]}{more} (allowed by input.allow_truncated: the records after "
                "the break are lost)")
    if empty_files and records:
        allowed("empty_file", "warn", f"{len(empty_files)} input file(s) of 0 bytes: {', '.join(empty_files[:3])}")
    if inp.min_volume_ratio > 0 and records:
        med, k = recent_volume(Path(settings.output.path), night, settings.state.retention_days)
        if k >= VOLUME_MIN_NIGHTS and med and records < inp.min_volume_ratio * med:
            text = (f"{records:,} records read against a median of {med:,.0f} over the last {k} nights, under "
                    f"input.min_volume_ratio={inp.min_volume_ratio}")
            if inp.low_volume == "fail":
                raise RunFailed(f"{text}: a partial feed? (input.low_volume: warn writes such a night with a "
                                f"warning). Nothing was written for {night}.")
            allowed("low_volume", "warn", text + " (input.low_volume: warn)")
    return out


def check_reject_ratio(records: int, rejected: int, reasons: Counter, max_ratio: float, night: str) -> None:
    """Raise ``RunFailed`` when ``rejected / records`` exceeds ``max_ratio`` (``input.max_reject_ratio``)."""
    if records and rejected / records > max_ratio:
        top = ", ".join(f"{r} ({n})" for r, n in reasons.most_common(3))
        raise RunFailed(
            f"{rejected} of {records} records rejected, over input.max_reject_ratio={max_ratio}; "
            f"top reasons: {top}. Nothing was written for {night}.")


def check_accounting(counts: dict) -> None:
    """Raise ``RunFailed`` unless ``accepted + rejected == read`` (a bug, never bad input)."""
    if counts["accepted"] + counts["rejected"] != counts["read"]:
        raise RunFailed(f"record accounting is off: {counts}")
