"""A headline to show for a story, when its feed carried none.

Scraped feeds often have a body and no headline field; the report's "Canonical headline" column and
``dedup show`` would then be blank. They show the story's lede instead (the first sentence of the
first line of ``body_clean``, cut to ``LEDE_CHARS``), always marked as such so that nobody takes it
for the outlet's headline.
"""
from __future__ import annotations

import re

LEDE_CHARS = 120
LEDE_MARK = "first line"  # how the fallback is labelled: "(first line)" in HTML, "[first line]" in text

# A sentence ends at . ! or ? (and a closing quote), before a space and a capital, digit or opening
# quote; a period after an initial or a short abbreviation ("U.S.", "Mr.", "Jan.") does not end it.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[A-Z0-9\"'“‘(])")
_ABBREV = re.compile(r"(?:\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|St|Sen|Rep|Gov|Gen|Col|Lt|Sgt|Jr|Sr|Inc|Corp|Co|Ltd|No|vs|"
                     r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)$")


def lede(body: str | None, limit: int = LEDE_CHARS) -> str:
    """The first sentence of the first non-blank line of ``body``, at most ``limit`` characters.

    A longer sentence is cut at the last word boundary that fits and ends in "…". Returns "" for a
    body that is None or blank."""
    line = next((ln.strip() for ln in (body or "").split("\n") if ln.strip()), "")
    sentence = line
    for m in _SENTENCE_END.finditer(line):
        if not _ABBREV.search(line[: m.start()]):
            sentence = line[: m.end()].rstrip()
            break
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def shown_headline(headline: str | None, body: str | None) -> tuple[str, bool]:
    """(text, is_lede): the headline when there is one, else the lede of ``body`` (``is_lede`` True).

    A headline of only whitespace counts as none. Both empty: ("", False)."""
    if headline is not None and headline.strip():
        return headline, False
    text = lede(body)
    return text, bool(text)
