"""Fingerprint text: the cleaned body folded so that house style does not look like an edit.

Outlets rewrite wire copy to their style: "pct" becomes "percent", "per cent" or "%",
"mln dlrs" becomes "million dollars" or "$... million", "U.S." becomes "US", quotes turn
typographic. Folding happens in two places:

* ``fingerprint_text``: Unicode NFKC and lowercase, over whole Arrow columns, then the marks copies
  of one wire add or leave out (``fold_marks``): Arabic tatweel and harakat, Hebrew niqqud and
  cantillation, the Devanagari nukta, and Turkish dotted/dotless i folded to "i".
* the tokenizer (``dedup.stages.fingerprint``), word by word in compiled code, with the tables below:
  every spelling in ``WORDS`` / ``PAIRS`` becomes one form; digits grouped in threes with commas are one
  number (1,000 = 1000; 720.4 and the decimal comma 3,5 stay one token each); "%" is the word "pct"; "$5 million" and "US$5 million" read as
  "5 million dollars"; typographic quotes and dashes separate words like their ASCII forms; a
  lone "s" (from possessives split at the apostrophe) is dropped.

The result is only hashed, never shown. Changing a table changes every fingerprint.
"""
from __future__ import annotations

import functools
import unicodedata

import numba
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
    # Other languages' house style for the same figures: per cent and magnitude words, each spelt
    # as its own language spells it ("3,5 por ciento" / "3,5 %"; "Millionen" / "Mio."). Numbers
    # themselves are never rewritten: decimal commas and points stay as written.
    "prozent": "pct", "procent": "pct", "porcentaje": "pct", "процент": "pct", "процента": "pct",
    "процентов": "pct",
    "millions": "million", "millones": "million", "millón": "million", "millionen": "million", "mio": "million",
    "milioni": "million", "milione": "million", "млн": "million",
    "milliard": "billion", "milliards": "billion", "milliarden": "billion", "mrd": "billion", "miliardi": "billion",
    "млрд": "billion",
}
# Two words -> one.
PAIRS: dict[tuple[str, str], str] = {
    ("per", "cent"): "pct", ("per", "cents"): "pct",
    ("por", "ciento"): "pct", ("pour", "cent"): "pct", ("pour", "cents"): "pct", ("per", "cento"): "pct",
    ("por", "cento"): "pct",
    ("u", "s"): "us", ("u", "k"): "uk", ("e", "u"): "eu", ("u", "n"): "un",
}
MAGNITUDES = ("million", "billion", "trillion")
DROP = ("s",)

# Version of what turns a cleaned body into shingle hashes: ``fingerprint_text``, the tables above
# and the tokenizer in ``dedup.stages.fingerprint``. Bump it with any change that alters a story's
# shingles or text hash: each state night records the version its fingerprints were made under
# (``dedup.night.state``), and a window made under another one is re-fingerprinted from its
# stored text instead of being compared as if alike.
# 2: scripts without spaces shingled by characters (``dedup.stages.text.scripts``), other languages'
# per-cent and magnitude words folded.
TEXT_VERSION = 2

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
# Spelled numbers fold to digits ("seven" -> "7"); after folding they count as number tokens.
SPELLED_NUMBER_HASHES = _table([(word_hash(v), 1) for k, v in WORDS.items() if v.isdigit()])[0]


# --- Which strings a Unicode normalization would change -------------------------------------
# Normalizing a column costs ~10 ns a byte of its non-ASCII strings, and in news copy those are
# mostly plain text with typographic quotes and dashes, which no normal form changes. A character
# is *inert* under a form when it is assigned, of combining class 0, its own normal form, and never
# the second half of a canonical composition (those are combining marks, Hangul jamo and a few
# Indic vowel signs, none in these ranges): a string of ASCII and inert characters is then its own
# normal form (the Unicode quick check), and only the other strings go through Arrow.
_INERT_RANGES = ((0x80, 0x250), (0x2000, 0x20D0))


@functools.lru_cache(maxsize=4)
def inert_table(form: str) -> np.ndarray:
    """inert_table(form)[cp]: code point cp is inert under ``form`` (NFC, NFKC); False above the table."""
    table = np.zeros(_INERT_RANGES[-1][1], np.bool_)
    for lo, hi in _INERT_RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            table[cp] = (unicodedata.category(c) != "Cn" and unicodedata.combining(c) == 0
                         and unicodedata.normalize(form, c) == c)
    return table


FLAG_LT, FLAG_GT, FLAG_NORMALIZE, FLAG_ODD, FLAG_NONASCII, FLAG_MARKS, FLAG_AMP = 1, 2, 4, 8, 16, 32, 64


def _ascii_flags() -> np.ndarray:
    t = np.zeros(128, np.uint8)
    t[ord("<")], t[ord(">")], t[ord("&")] = FLAG_LT, FLAG_GT, FLAG_AMP
    for c in list(range(32)) + [127]:
        if c != 10:
            t[c] = FLAG_ODD
    return t


_ASCII_FLAGS = _ascii_flags()


@numba.njit(cache=True, nogil=True)
def text_flags(data, offsets, inert):
    """Per string, OR of: FLAG_LT / FLAG_GT it has "<" / ">"; FLAG_NORMALIZE it has a character
    that is not ASCII and not ``inert``; FLAG_ODD it has a control character other than "\n" or
    one of the odd spaces and breaks of ``clean._ODD``; FLAG_NONASCII it has any non-ASCII byte;
    FLAG_MARKS it has a character ``fold_marks`` changes, or one NFKC turns into one (Arabic and Hebrew
    presentation forms, the precomposed Devanagari nukta letters, Turkish İ); FLAG_AMP it has "&"."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, np.uint8)
    for i in range(n):
        f = 0
        p = offsets[i]
        e = offsets[i + 1]
        while p < e:
            c = data[p]
            if c < 0x80:
                f |= np.int64(_ASCII_FLAGS[c])
                p += 1
                continue
            f |= 16
            if c < 0xE0 and p + 1 < e:
                cp = ((np.int64(c) & 0x1F) << 6) | (np.int64(data[p + 1]) & 0x3F)
                p += 2
            elif c < 0xF0 and p + 2 < e:
                cp = ((np.int64(c) & 0x0F) << 12) | ((np.int64(data[p + 1]) & 0x3F) << 6) | (np.int64(data[p + 2]) & 0x3F)
                p += 3
            else:  # beyond the table (or not UTF-8): let Arrow decide
                cp = 0x10000
                p += 4
            if cp >= inert.shape[0] or not inert[cp]:
                f |= 4
            if (cp == 0x130 or cp == 0x131 or cp == 0x307 or (0x591 <= cp <= 0x5C7) or (0x640 <= cp <= 0x670)
                    or cp == 0x93C or (0x958 <= cp <= 0x95F) or (0xFB1D <= cp <= 0xFDFF) or (0xFE70 <= cp <= 0xFEFF)):
                f |= 32
            if (cp == 0x85 or cp == 0xA0 or cp == 0xAD or (0x2000 <= cp <= 0x200D) or cp == 0x2028 or cp == 0x2029
                    or cp == 0x202F or cp == 0x205F or cp == 0x3000 or cp == 0xFEFF):
                f |= 8
        out[i] = f
    return out


def string_buffers(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-copy views of a string or large_string array's data bytes (uint8) and offsets (int64,
    n + 1 of them; a slice's own part). Nulls read as empty strings; chunks are combined."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.null_count:
        texts = texts.fill_null("")
    _, offs_buf, data_buf = texts.buffers()
    wide = texts.type in (pa.large_string(), pa.large_binary())
    offs = np.frombuffer(offs_buf, np.int64 if wide else np.int32)[texts.offset : texts.offset + len(texts) + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None and data_buf.size else np.zeros(1, np.uint8)
    return data, offs.astype(np.int64, copy=False)


def distinct(texts: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """``(values, index)``: the distinct strings of ``texts`` in first-seen order and, per row, its
    position in them (int64, ``values[index[i]] == texts[i]``); nulls read as empty strings. Lets a
    per-string computation run once per distinct string: a night's syndicated copies repeat the
    same text (a 200k synthetic batch has about 2.6 times as many stories as distinct clean bodies)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.null_count:
        texts = texts.fill_null("")
    enc = pc.dictionary_encode(texts)
    return enc.dictionary, enc.indices.to_numpy().astype(np.int64, copy=False)


def per_distinct(fn, texts: pa.Array, min_ratio: float = 1.5) -> pa.Array:
    """``fn(texts)`` computed on the distinct strings of ``texts`` only, and spread back to the rows
    (``.take``): for a row-wise Arrow kernel that costs more a string than hashing it, such as a
    regex match or group extraction (copies of a story repeat most of its lines: 106,000 lines of a
    20,000-story chunk of the synthetic batch hold 17,600 distinct ones). ``fn`` must compute each
    row from that string alone. Runs ``fn`` on ``texts`` as they are when they hold nulls or fewer
    than ``min_ratio`` rows a distinct string (the hashing would not pay)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.null_count or len(texts) < 64:
        return fn(texts)
    values, index = distinct(texts)
    if len(values) * min_ratio > len(texts):
        return fn(texts)
    return fn(values).take(pa.array(index))


def flags_of(texts: pa.Array, form: str = "NFC") -> np.ndarray:
    """``text_flags`` of each string (0 for nulls)."""
    data, offs = string_buffers(texts)
    flags = text_flags(data, offs, inert_table(form))
    if texts.null_count:
        flags[~texts.is_valid().to_numpy(zero_copy_only=False)] = 0
    return flags


@numba.njit(cache=True, nogil=True)
def _scatter(data, offsets, new_data, new_offsets, rows):
    """The bytes and offsets of the strings (data, offsets) with those at ``rows`` (sorted)
    replaced by the strings (new_data, new_offsets)."""
    n = offsets.shape[0] - 1
    out_offsets = np.empty(n + 1, np.int64)
    total = 0
    r = 0
    for i in range(n):
        out_offsets[i] = total
        if r < rows.shape[0] and rows[r] == i:
            total += new_offsets[r + 1] - new_offsets[r]
            r += 1
        else:
            total += offsets[i + 1] - offsets[i]
    out_offsets[n] = total
    out = np.empty(total, np.uint8)
    r = 0
    for i in range(n):
        o = out_offsets[i]
        if r < rows.shape[0] and rows[r] == i:
            out[o : out_offsets[i + 1]] = new_data[new_offsets[r] : new_offsets[r + 1]]
            r += 1
        else:
            out[o : out_offsets[i + 1]] = data[offsets[i] : offsets[i + 1]]
    return out, out_offsets


def replace_rows(texts: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """``texts`` with the strings at ``rows`` (sorted) replaced by ``new``, in one copy."""
    if not len(rows):
        return texts
    new = new.cast(texts.type)
    if texts.null_count or new.null_count or texts.type not in (pa.string(), pa.large_string()):
        index = np.arange(len(texts), dtype=np.int64)
        index[rows] = len(texts) + np.arange(len(rows), dtype=np.int64)
        return pc.take(pa.concat_arrays([texts, new]), pa.array(index))
    data, offsets = _scatter(*string_buffers(texts), *string_buffers(new), np.asarray(rows, np.int64))
    if texts.type == pa.string():
        if offsets[-1] >= 2**31:
            return replace_rows(texts.cast(pa.large_string()), rows, new).cast(pa.string())
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(texts.type, len(texts), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def normalize_rows(texts: pa.Array, form: str, flags: np.ndarray | None = None) -> pa.Array:
    """``pc.utf8_normalize(texts, form)``, normalizing only the strings the form could change."""
    if flags is None:
        flags = flags_of(texts, form)
    rows = np.flatnonzero(flags & FLAG_NORMALIZE)
    if not len(rows):
        return texts
    if len(rows) == len(texts):
        return pc.utf8_normalize(texts, form)
    return replace_rows(texts, rows, pc.utf8_normalize(pc.take(texts, pa.array(rows)), form))


# Marks one outlet writes and another leaves out, deleted after NFKC and lowercase:
# U+0640 Arabic tatweel (kashida, a stretch of the line), U+064B-U+065F and U+0670 Arabic harakat
# (short vowels, shadda, sukun, the superscript alef), U+0591-U+05C7 Hebrew cantillation and niqqud
# (vowel points) but not its punctuation (maqaf U+05BE, paseq U+05C0, sof pasuq U+05C3, nun hafukha
# U+05C6), U+093C the Devanagari nukta (NFKC already turns the precomposed nukta letters U+0958-U+095F
# into letter + nukta; many outlets write the plain letter).
_MARKS = "[\u0640\u064B-\u065F\u0670\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u093C]"


def fold_marks(texts: pa.Array, rows: np.ndarray | None = None) -> pa.Array:
    """Lowercase NFKC strings with optional marks deleted (``_MARKS``) and Turkish i folded: "i" +
    U+0307 (what lowercasing "İ" gives) and dotless "ı" both become "i", so İstanbul, Istanbul and
    ıstanbul are one word (Turkish copies differ in how they case-fold headlines and names). Only the
    strings at ``rows`` (sorted; default: those ``text_flags`` marks FLAG_MARKS) are searched."""
    if rows is None:
        rows = np.flatnonzero(flags_of(texts) & FLAG_MARKS)
    if not len(rows):
        return texts
    sub = pc.take(texts, pa.array(rows))
    sub = pc.replace_substring(sub, "i\u0307", "i")
    sub = pc.replace_substring(sub, "\u0131", "i")
    sub = pc.replace_substring_regex(sub, _MARKS, "")
    return replace_rows(texts, rows, sub)


def fingerprint_text(body_clean: pa.Array) -> pa.Array:
    """The string each story is shingled from (the tokenizer does the rest)."""
    if isinstance(body_clean, pa.ChunkedArray):
        body_clean = body_clean.combine_chunks()
    # ASCII strings are their own NFKC and lowercase byte by byte; only the others need Unicode.
    flags = flags_of(body_clean, "NFKC")
    rows = np.flatnonzero(flags & FLAG_NONASCII)
    lower = pc.ascii_lower(body_clean)
    if not len(rows):
        return lower
    other = normalize_rows(pc.take(body_clean, pa.array(rows)), "NFKC", flags[rows])
    marks = np.flatnonzero(flags[rows] & FLAG_MARKS)
    return replace_rows(lower, rows, fold_marks(pc.utf8_lower(other), marks))
