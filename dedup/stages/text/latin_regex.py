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
``match``, ``count``, ``extract`` and ``replace`` run the narrowed pattern on those lines and the pattern as
written on the others (compiled only when a call has such a line). The members are read from the
RE2 inside Arrow itself, once per process, so they follow its Unicode tables exactly.

A pattern with a class inside a case-insensitive part (``(?i)``) is never narrowed: case folding
links letters inside the ranges to letters outside them ("µ" and Greek "Μ").
"""
from __future__ import annotations

import functools
import re

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.stages.text.normalize import replace_rows, string_buffers

#: The code points a narrowed pattern is exact on (inclusive ranges).
NARROW_RANGES = ((0x0000, 0x024F), (0x2000, 0x206F))
# A class by name: \p{Greek}, \pL, \P{Lu}, \PN.
_CLASS = re.compile(r"\\([pP])(\{\^?[A-Za-z_]+\}|[A-Za-z])")
# Stands for "no character of the ranges": a private-use code point, never in a narrow line.
_NOTHING = "\\x{E000}"


@functools.lru_cache(maxsize=None)
def _members(name: str) -> str:
    """The code points of ``NARROW_RANGES`` that RE2's class ``name`` ("p{L}", "P{Lu}", "pN")
    matches, as the inside of a character class ("" for none)."""
    cps = np.concatenate([np.arange(a, b + 1) for a, b in NARROW_RANGES])
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


def _classes(pattern: str) -> list[tuple[re.Match, bool]]:
    """The Unicode classes of ``pattern`` (escaped backslashes are not classes), each with
    whether it sits inside brackets."""
    found, depth, i = [], False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            m = _CLASS.match(pattern, i)
            if m:
                found.append((m, depth))
                i = m.end()
            else:
                i += 2
        elif not depth and c == "[":
            depth = True
            i += 1
            i += pattern.startswith("^", i)
            i += pattern.startswith("]", i)  # "[]a]": a leading "]" is a member
        elif depth and pattern.startswith("[:", i):  # [[:alpha:]]
            end = pattern.find(":]", i + 2)
            i = end + 2 if end >= 0 else i + 1
        else:
            depth = depth and c != "]"
            i += 1
    return found


@functools.lru_cache(maxsize=256)
def narrowed(pattern: str) -> str | None:
    """``pattern`` with every Unicode class replaced by its members in ``NARROW_RANGES``: the same
    matches on strings made of those code points only. None when there is nothing to narrow (no
    class) or it cannot be done exactly (a class after a case-insensitive flag)."""
    found = _classes(pattern)
    if not found:
        return None
    fold = pattern.find("(?i")
    if fold >= 0 and any(m.start() > fold for m, _ in found):
        return None
    out, pos = [], 0
    for m, inside in found:
        members = _members(m.group(1) + m.group(2))
        out.append(pattern[pos : m.start()])
        out.append((members or _NOTHING) if inside else f"[{members or _NOTHING}]")
        pos = m.end()
    out.append(pattern[pos:])
    return "".join(out)


@numba.njit(cache=True, nogil=True)
def _narrow_kernel(data, words, offsets, out):
    """Set ``out[d] = False`` for each string d holding a code point outside NARROW_RANGES.
    ``words``: ``data`` read 8 bytes at a time, to skip ASCII runs (no byte >= 0x80) quickly."""
    lo, hi = offsets[0], offsets[offsets.shape[0] - 1]
    d = 0
    w = lo // 8
    while w * 8 < hi:
        if w < words.shape[0] and not (words[w] & np.uint64(0x8080808080808080)):
            w += 1
            continue
        for i in range(max(w * 8, lo), min(w * 8 + 8, hi)):
            b = data[i]
            if b < 0xC0:  # ASCII or a continuation byte
                continue
            while offsets[d + 1] <= i:
                d += 1
            if b < 0xE0:  # two bytes: U+0080-U+07FF
                wide = i + 1 >= hi or ((b & 0x1F) << 6 | (data[i + 1] & 0x3F)) > 0x24F
            elif b < 0xF0:  # three bytes: U+0800-U+FFFF
                cp = (b & 0x0F) << 12 | (data[i + 1] & 0x3F) << 6 | (data[i + 2] & 0x3F) if i + 2 < hi else 0
                wide = cp < 0x2000 or cp > 0x206F
            else:
                wide = True
            if wide:
                out[d] = False
        w += 1


def narrow_rows(strings: pa.Array) -> np.ndarray:
    """Bool per string (numpy, (n,)): made only of ``NARROW_RANGES`` code points (nulls count as
    narrow). Only the bytes >= 0x80 are decoded: most lines of most batches are ASCII."""
    data, offsets = string_buffers(strings)
    out = np.ones(len(offsets) - 1, np.bool_)
    if len(out):
        _narrow_kernel(data, data[: data.size // 8 * 8].view(np.uint64), offsets, out)
    return out


def _apply(fn, strings: pa.Array, pattern: str):
    """``fn(strings, pattern)``, with the narrow strings run under ``narrowed(pattern)``: the narrowed
    pattern runs on every string, then the pattern as written on the others only, whose answers
    replace theirs (``patch(answers, rows, their_answers)``)."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    narrow = narrowed(pattern)
    if narrow is None or not len(strings):
        return fn(strings, pattern)
    wide = np.flatnonzero(~narrow_rows(strings))
    if len(wide) * 2 > len(strings):
        return fn(strings, pattern)
    got = fn(strings, narrow)
    if not len(wide):
        return got
    return wide, got, fn(pc.take(strings, pa.array(wide)), pattern)


def match(strings: pa.Array, pattern: str) -> np.ndarray:
    """``pc.match_substring_regex(strings, pattern)`` as a numpy bool array (nulls False),
    compiled cheaply for Latin text."""
    def fn(s, p):
        return pc.match_substring_regex(s, p).to_numpy(zero_copy_only=False).astype(bool)

    got = _apply(fn, strings, pattern)
    if isinstance(got, tuple):
        wide, got, theirs = got
        got[wide] = theirs
    return got


def count(strings: pa.Array, pattern: str) -> np.ndarray:
    """``pc.count_substring_regex(strings, pattern)`` as a numpy int array (nulls 0), compiled
    cheaply for Latin text."""
    def fn(s, p):
        return pc.count_substring_regex(s, p).fill_null(0).to_numpy(zero_copy_only=False)

    got = _apply(fn, strings, pattern)
    if isinstance(got, tuple):
        wide, got, theirs = got
        got = np.array(got)  # the narrowed answers may be a read-only view of Arrow's buffer
        got[wide] = theirs
    return got


def extract(strings: pa.Array, pattern: str) -> pa.StructArray:
    """``pc.extract_regex(strings, pattern)``, compiled cheaply for Latin text."""
    got = _apply(pc.extract_regex, strings, pattern)
    if isinstance(got, tuple):
        wide, got, theirs = got
        # Rows [0, n) are the narrowed answers; row n + j is wide row j's own answer.
        pick = np.arange(len(got), dtype=np.int64)
        pick[wide] = len(got) + np.arange(len(wide))
        got = pa.concat_arrays([got, theirs]).take(pa.array(pick))
    return got


def replace(strings: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """``pc.replace_substring_regex(strings, pattern, replacement)``, compiled cheaply for Latin text."""
    got = _apply(lambda s, p: pc.replace_substring_regex(s, p, replacement), strings, pattern)
    if isinstance(got, tuple):
        wide, got, theirs = got
        got = replace_rows(got, wide, theirs)
    return got
