"""When a night is refused, and how its records are accounted for: rules both engines apply.

A night fails (``RunFailed``, exit 1, nothing written) when more than ``input.max_reject_ratio`` of
its records are rejected, or when its records do not add up (every input record must land in
exactly one of ``stories`` and ``rejects``).
"""
from __future__ import annotations

from collections import Counter

from dedup.errors import RunFailed


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
