"""The reject reasons the stages write into ``rejects.reason``, each worded once.

The report groups reasons by their text before the first colon (``dedup.tools.report.reason_key``),
so keep a reason's fixed part first and its details after a colon.
"""
from __future__ import annotations

EMPTIED = "no story text left after removing HTML, chrome and furniture"
WALL_ONLY = "only a consent/paywall/JavaScript wall, no story text"
DUPLICATE_ID_PREFIX = "duplicate id: first seen at "
#: A file that stops before its end (a truncated gzip, an I/O error): the details follow " after record N: ...".
ENDS_EARLY = "file ends early or is unreadable"


def duplicate_id(first_seen: str) -> str:
    """``duplicate id: first seen at <file>:<record>``."""
    return DUPLICATE_ID_PREFIX + first_seen
