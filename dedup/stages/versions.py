"""Versions: which delivery of a story id a night keeps.

A site that corrects or updates a story often re-sends it under the same id (RSS/Atom ``guid``)
with a new ``published_at`` and changed text (miniflux/v2#2358: "the reader should keep one
entry"), and a feed or scraper that runs several times a night delivers the same record again.
Some feeds also reuse an id for a different story (a CMS bug). Of the records sharing an id in
one night, one is kept and the others are rejected as duplicate ids naming a record:

1. The id's first record in the input (F) says what the story is. A later record is a *version*
   of it when its text is F's, or when the shorter of the two *cleaned* texts (``cleaned``: chrome
   and furniture removed, as the clean stage will) has at least ``VERSION_CONTAINMENT`` of its
   shingles in the longer (``is_version``); otherwise it is another story under a reused id. A
   first record with no story text left (a consent wall the scraper got first) says nothing: every
   later record is then a version.
2. Of F and its versions the *latest* is kept: one with story text before one without; then the
   latest ``published_at`` (a record without one is older than any record with one); then, at the
   same time, the text that appeared last in the input (a correction that kept its date); then the
   first of identical records.
3. Reasons: when F is kept, every other record says ``duplicate id: first seen at F``; otherwise
   F and its other versions say ``duplicate id: superseded by the latest version at K`` and
   records of another story say ``first seen at F``.

Across nights the first night that wrote an id keeps it (``reasons.redelivered``): an earlier
night's tables are not rewritten.

How many records a night rejects this way (each repeated id's records but one) is known when the
batch is read; which ones, once the chrome model is learned. Both engines call ``choose`` on each
id's records with ``cleaned`` texts, the local one over the night's repeated ids
(``dedup.night.local.superseded_rows``), the Spark one per ``story_id`` group
(``dedup.night.spark.partitions.superseded_groups``).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from dedup.config import ChromeSettings, LanguageSettings
from dedup.stages import clean
from dedup.stages.chrome import ChromeModel, chrome_outlets
from dedup.stages.fingerprint import shingle_hashes
from dedup.stages.reasons import duplicate_id, superseded

#: A later record is a version of the first when the shorter text has at least this share of its
#: shingles in the longer one. Versions of one report (a new top paragraph, a correction, a last
#: paragraph cut) share nearly all; two stories under a reused id share none but the outlet's chrome,
#: which ``OWN_LINE_SHINGLES`` leaves out where it can.
VERSION_CONTAINMENT = 0.5
#: Only lines with at least this many shingles count (paragraphs; not the short lines of page
#: chrome: menus, share bars, copyright lines), unless a text has no such line.
OWN_LINE_SHINGLES = 6


def own_shingles(text: str, shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(of the long lines, of all lines): uint32 arrays, sorted unique, of the shingle hashes
    (``fingerprint.shingle_hashes``) of the text's lines of at least ``OWN_LINE_SHINGLES`` shingles,
    and of all its lines."""
    per_line = [shingle_hashes(line, shingle_size) for line in text.split("\n") if line.strip()]

    def union(parts):
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint32)

    return union([s for s in per_line if s.size >= OWN_LINE_SHINGLES]), union(per_line)


def cleaned(records: pa.Table, model: ChromeModel | None, chrome: ChromeSettings,
            language: LanguageSettings | None) -> list[str]:
    """The story text the clean stage will keep of each record (``clean.finish``'s ``body_clean``)
    of a table with ``text``, ``outlet``, ``url`` and ``headline``: what versions are compared on, so
    that two stories of one outlet are not taken for versions by the chrome they share."""

    def col(name):
        c = records.column(name)
        return c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c

    c = clean.finish(col("text"), chrome_outlets(col("outlet"), col("url")), model, chrome, language, col("headline"))
    return [t or "" for t in c.body_clean.to_pylist()]


def is_version(a: str, b: str, shingle_size: int) -> bool:
    """True when ``b`` is a version of the story ``a`` tells: equal texts, or the shorter has at least
    ``VERSION_CONTAINMENT`` of its shingles in the other (of their long lines when both have some,
    else of all their lines), or ``a`` has no shingle (no story text: any text may replace it)."""
    if a == b:
        return True
    (la, sa), (lb, sb) = own_shingles(a, shingle_size), own_shingles(b, shingle_size)
    if sa.size == 0:
        return True
    if la.size and lb.size:  # both have paragraphs: compare those (a brief's table rows are all short)
        sa, sb = la, lb
    small, large = (sa, sb) if sa.size <= sb.size else (sb, sa)
    if small.size == 0:
        return False
    return np.isin(small, large, assume_unique=True).sum() >= VERSION_CONTAINMENT * small.size


def choose(published: list, texts: list[str], where: list[str], shingle_size: int) -> tuple[int, list[str | None]]:
    """The kept record of one id's records, given in input order, by the rule above.

    ``published``: per record an int (any unit; later is larger) or None; ``texts``: each record's
    cleaned text (``cleaned``); ``where``: each record's "file:record" for the reasons. Returns (the
    kept record's index, the reject reason of each record: None for the kept one). Raises
    ``ValueError`` when the lists differ in length or are empty."""
    n = len(texts)
    if n == 0 or not (len(published) == len(where) == n):
        raise ValueError("one published, text and where per record, at least one record")
    first_at: dict[str, int] = {}
    version: list[int] = []  # where each record's text first appeared
    for i, t in enumerate(texts):
        version.append(first_at.setdefault(t, i))
    # A distinct text is compared with the first record's once.
    of_first = {t: (i == 0 or is_version(texts[0], t, shingle_size)) for t, i in first_at.items()}
    none = -(1 << 63)
    candidates = [i for i in range(n) if of_first[texts[i]]]
    # Only texts that differ can differ in having story text (a re-sent record often differs in its date alone).
    has_text = ({t: own_shingles(t, shingle_size)[1].size > 0 for t in first_at} if len(first_at) > 1
                else {texts[0]: True})
    kept = max(candidates, key=lambda i: (has_text[texts[i]], none if published[i] is None else published[i],
                                          version[i], -i))
    reasons: list[str | None] = []
    for i in range(n):
        if i == kept:
            reasons.append(None)
        elif kept == 0 or not of_first[texts[i]]:
            reasons.append(duplicate_id(where[0]))
        else:
            reasons.append(superseded(where[kept]))
    return kept, reasons
