"""Fingerprint text: the cleaned body folded so that house style does not look like an edit.

Outlets rewrite wire copy to their style: "pct" becomes "percent", "per cent" or "%",
"mln dlrs" becomes "million dollars" or "$... million", "U.S." becomes "US", quotes turn
typographic. Folding happens in two places:

* ``fingerprint_text``: Unicode NFKC and lowercase, over whole Arrow columns.
* the tokenizer (``dedup.fingerprint``), word by word in compiled code, with the tables below:
  every spelling in ``WORDS`` / ``PAIRS`` becomes one form; digits grouped with commas are one
  number (1,000 = 1000; 720.4 stays one token); "%" is the word "pct"; "$5 million" and "US$5 million" read as
  "5 million dollars"; typographic quotes and dashes separate words like their ASCII forms; a
  lone "s" (from possessives split at the apostrophe) is dropped.

The result is only hashed, never shown. Changing a table changes every fingerprint.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# One word -> its canonical spelling.
WORDS: dict[str, str] = {
    "percent": "pct", "percentage": "pct", "pc": "pct",
    "mln": "million", "mlns": "million", "mn": "million",
    "bln": "billion", "blns": "billion", "bn": "billion",
    "trln": "trillion", "tn": "trillion",
    "dlr": "dollars", "dlrs": "dollars", "dollar": "dollars",
    "vs": "versus", "v": "versus",
    "cts": "cents", "ct": "cents", "cent": "cents",
    "shr": "share", "shrs": "shares",
    "qtr": "quarter", "qtly": "quarterly", "yr": "year", "yrs": "years",
    "govt": "government", "intl": "international",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
# Two words -> one.
PAIRS: dict[tuple[str, str], str] = {
    ("per", "cent"): "pct", ("per", "cents"): "pct",
    ("u", "s"): "us", ("u", "k"): "uk", ("e", "u"): "eu", ("u", "n"): "un",
}
MAGNITUDES = ("million", "billion", "trillion")
DROP = ("s",)

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def word_hash(word: str) -> int:
    """The tokenizer's hash of one lowercase ASCII word (FNV-1a 64)."""
    h = _FNV_OFFSET
    for c in word.encode("utf-8"):
        h = ((h ^ c) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def _table(pairs: list[tuple[int, int]], slots: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """An open-addressing hash table (linear probing, key 0 = empty) the tokenizer probes in
    one or two steps per word: most words are in no table, and a sorted search per word cost
    more than the rest of fingerprinting together."""
    keys = np.zeros(slots, np.uint64)
    values = np.zeros(slots, np.uint64)
    for k, v in pairs:
        i = k & (slots - 1)
        while keys[i] != 0:
            i = (i + 1) & (slots - 1)
        keys[i], values[i] = k, v
    return keys, values


WORD_FROM, WORD_TO = _table([(word_hash(k), word_hash(v)) for k, v in WORDS.items()])
# Pair keys: first-word hash mixed with second-word hash (same mix as tokens._pair_key).
PAIR_FROM, PAIR_TO = _table(
    [(((word_hash(a) * 31) ^ word_hash(b)) & 0xFFFFFFFFFFFFFFFF, word_hash(v)) for (a, b), v in PAIRS.items()]
)
H_PCT = word_hash("pct")
H_DOLLARS = word_hash("dollars")
H_US = word_hash("us")
MAGNITUDE_HASHES = _table([(word_hash(m), 1) for m in MAGNITUDES])[0]
DROP_HASHES = _table([(word_hash(d), 1) for d in DROP])[0]


def fingerprint_text(body_clean: pa.Array) -> pa.Array:
    """The string each story is shingled from (the tokenizer does the rest)."""
    return pc.utf8_lower(pc.utf8_normalize(body_clean, "NFKC"))
