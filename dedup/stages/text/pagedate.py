"""The page's own publication date, for stories whose feed gives none.

- HTML pages: htmldate 1.11.0 (``find_date``; the date library of the trafilatura family this job
  already extracts with), reading the page's metadata (``article:published_time``, JSON-LD,
  ``<time>``, URL patterns...) with ``original_date=True`` (the first publication, not the last
  update) and ``extensive_search=False`` (no guessing from arbitrary dates in the text). When the
  page gives a date without a time, the date is taken at 00:00 UTC.
- Text pages: a date line near the top or bottom, as news sites print them ("First Published: Sep 02
  2016 | 10:42 PM IST", "Last Updated : ...", "Published on ...", "Posted: ..."): a "published" or
  "posted" line wins over an "updated" one. The date is read by ``dedup.stages.read.parse_dates``
  (the feed-date rules: a zone name must be known or configured in ``input.time_zones``, else the
  date stays unread and counted).

``page_dates`` fills only the nulls of ``published_at`` and says where each date came from
(``published_at_source``: ``feed``, ``page:html``, ``page:text``; null when no date at all).
"""
from __future__ import annotations

import logging
import re
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["page_dates", "html_page_date", "text_page_date"]

log = logging.getLogger(__name__)

# A date line: a label, a separator, the date (and time, zone), nothing else on the line.
_DATE_LINE = re.compile(
    r"^\s*(?P<label>(?:first\s+)?published|posted|(?:last\s+)?updated|date)(?:\s*[:\-\u2013|]\s*|\s+on\s+)"
    r"(?P<date>[A-Za-z0-9,:+\-./| ()]{6,60}?)\s*$",
    re.IGNORECASE | re.MULTILINE)

# Lines of a text page looked at from each end: date lines sit by the headline or in the footer.
_EDGE_LINES = 40


def html_page_date(html: str) -> str | None:
    """The page's original publication date from its metadata (ISO 8601 text, with the page's offset
    when it gives one), or None. Never raises."""
    try:
        import htmldate  # deferred: only pages without a feed date need it

        return htmldate.find_date(html, outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=True,
                                  extensive_search=False)
    except Exception:  # noqa: BLE001 - a third-party parser on arbitrary web input
        log.debug("htmldate failed", exc_info=True)
        return None


def text_page_date(text: str) -> str | None:
    """The date text of a text page's date line ("Sep 02 2016 10:42 PM IST"; "|" and "," made
    spaces), a "published"/"posted" line before an "updated" one; None when the page has none."""
    lines = text.split("\n")
    edge = "\n".join(lines[:_EDGE_LINES] + lines[-_EDGE_LINES:] if len(lines) > 2 * _EDGE_LINES else lines)
    found = [(0 if re.search(r"publish|post", m.group("label"), re.I) else 1, m.group("date"))
             for m in _DATE_LINE.finditer(edge) if re.search(r"\d", m.group("date"))]
    if not found:
        return None
    date = min(found, key=lambda x: x[0])[1]
    return " ".join(date.replace("|", " ").replace(",", " ").split())


def page_dates(published_at: pa.Array, bodies: pa.Array, is_html: np.ndarray, stats,
               zones: dict[str, str] | None = None, map_pages: Callable = map) -> tuple[pa.Array, pa.Array]:
    """``published_at`` (timestamp[us, UTC]) with each null filled from its page where the page has a
    readable date, and ``published_at_source`` (string: ``feed``, ``page:html``, ``page:text`` or null).

    ``bodies``: the bodies as delivered (before extraction); ``is_html``: bool mask of the markup ones;
    ``stats``: the ``ReadStats`` whose ``bad_dates`` counts page dates found but unreadable;
    ``map_pages(fn, pages)``: how ``html_page_date`` is applied to the HTML pages, in order (as in
    ``dedup.stages.clean.prepare_sourced``)."""
    from dedup.stages.read import parse_dates

    if isinstance(published_at, pa.ChunkedArray):
        published_at = published_at.combine_chunks()
    have = published_at.is_valid().to_numpy(zero_copy_only=False)
    source = np.where(have, "feed", None).astype(object)
    missing = np.flatnonzero(~have)
    if not missing.size:
        return published_at, pa.array(source.tolist(), pa.string())
    raw = pc.take(bodies, pa.array(missing)).to_pylist()
    html = is_html[missing]
    texts = np.empty(missing.size, dtype=object)
    at = np.flatnonzero(html)
    texts[at] = list(map_pages(html_page_date, [raw[i] or "" for i in at]))
    texts[np.flatnonzero(~html)] = [text_page_date(raw[i] or "") for i in np.flatnonzero(~html)]
    kinds = np.where(html, "page:html", "page:text").astype(object)
    dates = parse_dates(pa.array(texts.tolist(), pa.string()), stats, zones)
    ok = dates.is_valid().to_numpy(zero_copy_only=False)
    source[missing[ok]] = kinds[ok]
    pos = np.zeros(len(published_at), np.int64)
    pos[missing] = np.arange(missing.size)
    filled = pc.if_else(pa.array(have), published_at, pc.take(dates.cast(published_at.type), pa.array(pos)))
    return filled, pa.array(source.tolist(), pa.string())
