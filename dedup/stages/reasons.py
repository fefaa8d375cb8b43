"""The reject reasons the stages write into ``rejects.reason``, each worded once.

The report groups reasons by their text before the first colon (``dedup.tools.report.reason_key``),
so keep a reason's fixed part first and its details after a colon.
"""
from __future__ import annotations

EMPTIED = "no story text left after removing HTML, chrome and furniture"
WALL_ONLY = "only a consent/paywall/JavaScript wall, no story text"
#: What every duplicate-id reason starts with (those of an earlier night too: ``REDELIVERED_PREFIX``).
DUPLICATE_ID = "duplicate id:"
DUPLICATE_ID_PREFIX = "duplicate id: first seen at "
#: A file that stops before its end (a truncated gzip, an I/O error): the details follow " after record N: ...".
ENDS_EARLY = "file ends early or is unreadable"


def duplicate_id(first_seen: str) -> str:
    """``duplicate id: first seen at <file>:<record>``."""
    return DUPLICATE_ID_PREFIX + first_seen


#: A version of a story that a later version of it in the same night replaces (``dedup.stages.versions``).
SUPERSEDED_PREFIX = "duplicate id: superseded by the latest version at "


def superseded(kept: str) -> str:
    """``duplicate id: superseded by the latest version at <file>:<record>``: the record kept for the id
    (later ``published_at``, or the same with other text later in the input) is not its first one.
    When the first one is kept, its repeats say ``duplicate_id`` (first seen at)."""
    return SUPERSEDED_PREFIX + kept


#: A record whose id an earlier night of the state window wrote: the feed delivered it again.
REDELIVERED_PREFIX = DUPLICATE_ID_PREFIX + "night "


def redelivered(night: str) -> str:
    """``duplicate id: first seen at night <YYYY-MM-DD>``: the first occurrence wins across nights
    as within one; such records do not count toward ``input.max_reject_ratio`` (feeds that list
    their last days' items every night deliver many)."""
    return REDELIVERED_PREFIX + night


#: What the manifest's ``reject_reasons`` counts ``redelivered`` rejects under.
REDELIVERED_KEY = "duplicate id of an earlier night"


def redelivered_counted(reasons: dict) -> dict:
    """Reject counts by reason (a ``Counter``) with every ``redelivered`` reason summed under
    ``REDELIVERED_KEY`` (the nights differ; what they are is in each reject's row)."""
    out = type(reasons)()
    for reason, n in reasons.items():
        key = REDELIVERED_KEY if reason.startswith(REDELIVERED_PREFIX) else reason
        out[key] = out.get(key, 0) + n
    return out
