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
from dedup.stages.reasons import REDELIVERED_KEY

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
        log.warning("%s", text, extra={"fields": {"check": key}})
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
        med, k = recent_volume(settings.output_root, night, settings.state.retention_days)
        if k >= VOLUME_MIN_NIGHTS and med and records < inp.min_volume_ratio * med:
            text = (f"{records:,} records read against a median of {med:,.0f} over the last {k} nights, under "
                    f"input.min_volume_ratio={inp.min_volume_ratio}")
            if inp.low_volume == "fail":
                raise RunFailed(f"{text}: a partial feed? (input.low_volume: warn writes such a night with a "
                                f"warning). Nothing was written for {night}.")
            allowed("low_volume", "warn", text + " (input.low_volume: warn)")
    return out


def check_reject_ratio(records: int, rejected: int, reasons: Counter, max_ratio: float, night: str) -> None:
    """Raise ``RunFailed`` when ``rejected / records`` exceeds ``max_ratio`` (``input.max_reject_ratio``).
    Records an earlier night wrote (``reasons[REDELIVERED_KEY]``) are left out of both: a feed
    listing its last days' items every night is not bad input."""
    again = reasons.get(REDELIVERED_KEY, 0)
    records, rejected = records - again, rejected - again
    if records and rejected / records > max_ratio:
        top = ", ".join(f"{r} ({n})" for r, n in reasons.most_common(3))
        raise RunFailed(
            f"{rejected} of {records} records rejected"
            + (f" (not counting {again} that earlier nights wrote, delivered again)" if again else "")
            + f", over input.max_reject_ratio={max_ratio}; "
            f"top reasons: {top}. Nothing was written for {night}.")


def check_accounting(counts: dict) -> None:
    """Raise ``RunFailed`` unless ``accepted + rejected == read`` (a bug, never bad input)."""
    if counts["accepted"] + counts["rejected"] != counts["read"]:
        raise RunFailed(f"record accounting is off: {counts}")


def other_nights_inputs(settings: Settings, night: str) -> list[tuple[str, list[dict]]]:
    """(night, its manifest's ``inputs``) for every night under ``output.path/runs`` but ``night``;
    a manifest that cannot be read or parsed is left out."""
    import json

    from dedup import layout

    root = settings.output_root
    out = []
    for other in layout.list_nights(root, "runs"):
        p = layout.manifest_path(root, other)
        if other == night or not p.is_file():
            continue
        try:
            inputs = json.loads(p.read_text(encoding="utf-8")).get("inputs") or []
            out.append((other, [x for x in inputs if isinstance(x, dict)]))
        except (OSError, ValueError, AttributeError):
            continue
    return out


def could_be_same_input(size: int, others: list[tuple[str, list[dict]]]) -> bool:
    """Whether a file of ``size`` bytes might equal an input of ``others`` (``other_nights_inputs``):
    equal checksums need equal sizes, so the file only needs its sha256 taken before the night
    when another night read a file of that size (or recorded none, as older manifests may)."""
    return size > 0 and any(x.get("bytes") in (size, None) for _, inputs in others for x in inputs)


def check_same_input(settings: Settings, night: str, inputs: list[dict]) -> list[dict]:
    """Refuse (or warn about) a night that reads a file another night already read.

    ``inputs``: the manifest's ``inputs`` (``path``, ``bytes``, ``sha256``). Every other night's
    manifest under ``output.path/runs`` is compared by sha256 (0-byte files aside: all empty files
    are equal): a rerun or backfill whose ``input.path`` still points at tonight's feed would
    otherwise rewrite an old night with another night's stories. ``input.same_input``: ``fail``
    raises ``RunFailed`` (exit 1, nothing written), ``warn`` returns a check for the manifest,
    ``allow`` (``--allow-same-input``) returns nothing. A rerun of the same night is not compared
    with itself.
    """
    mode = settings.input.same_input
    mine = {x["sha256"]: x["path"] for x in inputs if x.get("sha256") and x.get("bytes")}
    if mode == "allow" or not mine:
        return []
    hits: list[tuple[str, str]] = []  # (our file, other night)
    for other, theirs in other_nights_inputs(settings, night):
        sums = {x.get("sha256") for x in theirs}
        hits += [(path, other) for h, path in mine.items() if h in sums]
    if not hits:
        return []
    nights = sorted({o for _, o in hits})
    text = (f"input {hits[0][0]} has the same sha256 as an input of night {hits[0][1]}"
            + (f" ({len(hits)} file/night matches, nights {', '.join(nights[:5])})" if len(hits) > 1 else "")
            + f": night {night} would be written from another night's feed")
    if mode == "fail":
        raise RunFailed(f"{text} (does input.path carry the night, e.g. /data/feed/{{run_date}}/*.jsonl? "
                        f"--allow-same-input or input.same_input: warn/allow if this is meant). "
                        f"Nothing was written for {night}.")
    log.warning("%s", text, extra={"fields": {"check": "same_input", "other_nights": nights}})
    return [{"level": "warn", "key": "same_input", "text": text}]
