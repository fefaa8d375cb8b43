"""Text repair: bodies as feeds really send them, made into the text their writer meant.

Feeds deliver text that was escaped or decoded wrongly somewhere upstream:

- HTML entities in text that is not a page (``autorit&eacute;``, ``L&#39;``), sometimes twice
  (``&amp;eacute;``), as RSS descriptions often arrive;
- mojibake: UTF-8 bytes read as Latin-1 or cp1252 (``autoritÃ©``, ``donâ€™t``);
- runs of U+FFFD where a decoder already gave up;
- invisible format characters left inside words (U+2060 word joiner, U+200B, bidi marks, U+00AD).

Each breaks every word it touches, so two copies of one report in an accented language no longer
share shingles. ``repair_rows`` fixes them with ftfy 6.3.1 (``ftfy.fix_text``: the library made for
exactly this, by Robyn Speer; its mojibake detection is tuned not to touch text that is already
right) plus two removals ftfy deliberately does not do (U+FFFD and invisible characters are dropped,
because here the text only has to be read and matched, never round-tripped).

Cost: ftfy is pure Python, so it runs only on the bodies a vectorized (Arrow RE2) pre-check flags:
an entity, a UTF-8 lead byte seen as Latin-1/cp1252 followed by a continuation byte seen the same
way, a U+FFFD, or an invisible character. Clean text, in any language, is never handed to ftfy.
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["needs_repair", "repair_text", "repair_rows"]

# cp1252's bytes 0x80-0x9f as characters: how UTF-8 continuation bytes look after a cp1252 decode.
_CP1252_HIGH = "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d" \
               "\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
_INVISIBLE_CLASS = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"

# What may need repair (RE2 syntax, for Arrow): an entity; a UTF-8 lead byte (0xc2-0xf4) read as
# Latin-1/cp1252 followed by a continuation byte read the same way; U+FFFD; an invisible character.
_SUSPECT = ("&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
            "|[\u00c2-\u00f4][\u0080-\u00bf" + _CP1252_HIGH + "]"
            "|[\ufffd" + _INVISIBLE_CLASS + "]")

_DROP = re.compile("[\ufffd" + _INVISIBLE_CLASS + "]+")


def _ftfy():
    import ftfy  # deferred: most batches never hand it a body

    return ftfy


def repair_text(text: str) -> str:
    """One body repaired: entities decoded (repeatedly: double-encoded ones too), mojibake undone,
    U+FFFD and invisible characters removed. Quotes, character widths and line structure are left as
    they are (``uncurl_quotes=False``, ``fix_character_width=False``): fingerprinting folds those
    itself and ``body_clean`` should keep the writer's typography. Never raises."""
    try:
        text = _ftfy().fix_text(text, unescape_html=True, uncurl_quotes=False, fix_character_width=False,
                                normalization="NFC")
    except Exception:  # noqa: BLE001 - arbitrary feed text: keep it as it came rather than stop the night
        pass
    return _DROP.sub("", text)


def needs_repair(text: pa.Array) -> np.ndarray:
    """Bool mask (one per string of ``text``, a string/large_string Arrow array; null: False) of
    the strings the pre-check flags, in one vectorized pass."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return pc.match_substring_regex(text, _SUSPECT).fill_null(False).to_numpy(zero_copy_only=False)


def repair_rows(text: pa.Array, maybe: np.ndarray | None = None) -> tuple[pa.Array, np.ndarray]:
    """``repair_text`` applied to the strings of ``text`` that ``needs_repair`` flags.

    ``maybe``: optional sorted int64 indices of the only strings that can need repair (every pattern
    of the pre-check needs a "&" or a non-ASCII character: ``normalize.FLAG_AMP``/``FLAG_NONASCII``);
    the pre-check then reads those alone. Returns the repaired array (the same type as ``text``; the
    input itself when nothing was flagged) and the int64 indices of the strings that changed."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if maybe is None:
        rows = np.flatnonzero(needs_repair(text))
    else:
        maybe = np.asarray(maybe, np.int64)
        rows = maybe[needs_repair(pc.take(text, pa.array(maybe)))] if maybe.size else maybe
    if not rows.size:
        return text, rows
    from dedup.stages.text.normalize import replace_rows

    before = pc.take(text, pa.array(rows)).to_pylist()
    after = [repair_text(t) for t in before]
    changed = np.array([a != b for a, b in zip(after, before)], bool)
    if not changed.any():
        return text, np.empty(0, np.int64)
    fixed = pa.array([a for a, c in zip(after, changed) if c], text.type)
    return replace_rows(text, rows[changed], fixed), rows[changed]
