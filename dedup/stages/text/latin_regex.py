"""Regular expressions with Unicode classes (``\\p{L}``), run cheaply on Latin-script text.

Arrow compiles an RE2 pattern on every compute call (apache/arrow#48728), and a Unicode class
makes compiling slow: RE2 turns ``\\p{L}`` into a UTF-8 automaton over every letter of every
script. The international dateline pattern (``dedup.stages.text.wire``) takes ~14 ms to compile
and the table label pattern (``dedup.stages.chrome``) ~16 ms, against ~0.5 ms with their classes
narrowed to Latin; each chunk of each night calls them again, about 1 s of CPU per 200,000 stories.

Most lines of a batch hold only characters of ``NARROW_RANGES``: Basic Latin, Latin-1, Latin
Extended-A and -B (U+0000-U+024F) and General Punctuation (U+2000-U+206F: curly quotes, dashes).
On such a line a class matches exactly its members inside those ranges, so ``narrowed(pattern)``,
the pattern with each ``\\p{..}``/``\\P{..}`` replaced by those members, gives the same answer.
``match``, ``extract`` and ``replace`` run the narrowed pattern on those lines and the pattern as
written on the others (compiled only when a call has such a line). The members are read from the
RE2 inside Arrow itself, once per process, so they follow its Unicode tables exactly.

A pattern with a class inside a case-insensitive part (``(?i)``) is never narrowed: case folding
links letters inside the ranges to letters outside them ("µ" and Greek "Μ").
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: The code points a narrowed pattern is exact on (inclusive ranges).
NARROW_RANGES = ((0x0000, 0x024F), (0x2000, 0x206F))
# Strings made only of those code points.
_NARROW_LINE = "^[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in NARROW_RANGES) + "]*$"
# A class by name: \p{Greek}, \pL, \P{Lu}, \PN.
_CLASS = re.compile(r"\\([pP])(\{\^?[A-Za-z_]+\}|[A-Za-z])")
# Stands for "no character of the ranges": a private-use code point, never in a narrow line.
_NOTHING = "\\x{E000}"


@functools.lru_cache(maxsize=None)
def _members(name: str) -> str:
    """The code points of ``NARROW_RANGES`` that RE2's class ``name`` ("p{L}", "P{Lu}", "pN")
    matches, as the inside of a character class ("" for none)."""
    cps = np.concatenate([np.arange(a, b + 1) for a, b in NARROW_RANGES])
    # Surrogates are not in the ranges; U+0000 cannot travel in a pattern but is never a letter.
    chars = pa.array([chr(c) for c in cps], pa.string())
    hit = pc.match_substring_regex(chars, f"^\\{name}$").to_numpy(zero_copy_only=False)
    got = cps[hit]
    if not got.size:
        return ""
    # Runs of consecutive code points become ranges.
    breaks = np.flatnonzero(np.diff(got) != 1)
    starts = np.r_[got[0], got[breaks + 1]]
    ends = np.r_[got[breaks], got[-1]]
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in zip(starts, ends))


@functools.lru_cache(maxsize=256)
def narrowed(pattern: str) -> str | None:
    """``pattern`` with every Unicode class replaced by its members in ``NARROW_RANGES``: the same
    matches on strings made of those code points only. None when there is nothing to narrow (no
    class) or it cannot be done exactly (a class after a case-insensitive flag)."""
    found = list(_CLASS.finditer(pattern))
    if not found:
        return None
    fold = pattern.find("(?i")
    if fold >= 0 and any(m.start() > fold for m in found):
        return None
    out, pos, depth = [], 0, 0
    i = 0
    # Walk the pattern once to know, for each class, whether it sits inside brackets.
    inside = {}
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            inside[i] = depth > 0
            i += 2
            continue
        if depth == 0 and c == "[":
            depth = 1
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):  # "[]a]": a leading "]" is a member
                i += 1
            continue
        if depth > 0 and c == "[" and pattern.startswith("[:", i):  # [[:alpha:]]
            end = pattern.find(":]", i + 2)
            i = end + 2 if end >= 0 else i + 1
            continue
        if depth > 0 and c == "]":
            depth = 0
        i += 1
    for m in found:
        name = m.group(1) + m.group(2)
        members = _members(name)
        if inside.get(m.start(), False):
            piece = members or _NOTHING
        else:
            piece = f"[{members}]" if members else f"[{_NOTHING}]"
        out.append(pattern[pos : m.start()])
        out.append(piece)
        pos = m.end()
    out.append(pattern[pos:])
    return "".join(out)


def _narrow_rows(strings: pa.Array) -> np.ndarray:
    """Bool per string: made only of ``NARROW_RANGES`` code points (nulls count as narrow)."""
    ok = pc.string_is_ascii(strings).fill_null(True).to_numpy(zero_copy_only=False)
    if ok.all():
        return ok
    rest = np.flatnonzero(~ok)
    ok[rest] = pc.match_substring_regex(pc.take(strings, pa.array(rest)), _NARROW_LINE).fill_null(True).to_numpy(
        zero_copy_only=False)
    return ok


def _split(fn, strings: pa.Array, pattern: str) -> pa.Array:
    """``fn(strings, pattern)``, with the narrow strings run under ``narrowed(pattern)``."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    narrow = narrowed(pattern)
    if narrow is None or not len(strings):
        return fn(strings, pattern)
    ok = _narrow_rows(strings)
    if ok.all():
        return fn(strings, narrow)
    if not ok.any():
        return fn(strings, pattern)
    a, b = np.flatnonzero(ok), np.flatnonzero(~ok)
    got = pa.concat_arrays([fn(pc.take(strings, pa.array(a)), narrow), fn(pc.take(strings, pa.array(b)), pattern)])
    where = np.empty(len(strings), np.int64)
    where[a] = np.arange(len(a))
    where[b] = len(a) + np.arange(len(b))
    return got.take(pa.array(where))


def match(strings: pa.Array, pattern: str) -> pa.BooleanArray:
    """``pc.match_substring_regex(strings, pattern)``, compiled cheaply for Latin text."""
    return _split(lambda s, p: pc.match_substring_regex(s, p), strings, pattern)


def extract(strings: pa.Array, pattern: str) -> pa.StructArray:
    """``pc.extract_regex(strings, pattern)``, compiled cheaply for Latin text."""
    return _split(lambda s, p: pc.extract_regex(s, p), strings, pattern)


def count(strings: pa.Array, pattern: str) -> pa.Array:
    """``pc.count_substring_regex(strings, pattern)``, compiled cheaply for Latin text."""
    return _split(lambda s, p: pc.count_substring_regex(s, p), strings, pattern)


def replace(strings: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """``pc.replace_substring_regex(strings, pattern, replacement)``, compiled cheaply for Latin text."""
    return _split(lambda s, p: pc.replace_substring_regex(s, p, replacement), strings, pattern)
