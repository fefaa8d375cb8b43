"""The normalizing tokenizer behind every fingerprint, in compiled code.

Tokens are maximal runs of ASCII letters and digits or non-ASCII letters (bytes >= 0x80 other
than the punctuation sequences below), lowercased (ASCII), hashed with 64-bit FNV-1a, then
folded through the house-style tables of ``dedup.normalize``. Separators besides ASCII
punctuation and spaces: U+00A0-U+00BF (no-break space, guillemets, middle dot ...) and
U+2000-U+206F (typographic spaces, dashes, quotes, bullets, ellipsis).
"""
from __future__ import annotations

import numba
import numpy as np

from dedup.normalize import (
    DROP_HASHES, H_DOLLARS, H_PCT, H_US, MAGNITUDE_HASHES, PAIR_FROM, PAIR_TO, WORD_FROM, WORD_TO,
)

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(inline="always")
def _sep_len(data, i, end):
    """Bytes of a separator starting at i (0 when data[i] starts a word character)."""
    c = data[i]
    if c < 128:
        if (48 <= c <= 57) or (97 <= c <= 122) or (65 <= c <= 90):
            return 0
        return 1
    if c == 0xC2 and i + 1 < end and 0xA0 <= data[i + 1] <= 0xBF:
        return 2
    if c == 0xE2 and i + 2 < end and (data[i + 1] == 0x80 or data[i + 1] == 0x81):
        return 3
    return 0


@numba.njit(inline="always")
def _lookup(keys, values, h):
    if keys.shape[0] == 0:
        return h
    p = np.searchsorted(keys, h)
    if p < keys.shape[0] and keys[p] == h:
        return values[p]
    return h


@numba.njit(inline="always")
def _member(keys, h):
    p = np.searchsorted(keys, h)
    return p < keys.shape[0] and keys[p] == h


@numba.njit(inline="always")
def _pair_key(a, b):
    return (a * np.uint64(31)) ^ b


@numba.njit(cache=True)
def token_hashes(data, start, end, word_from, word_to, pair_from, pair_to, magnitudes, drop, h_pct, h_dollars, h_us):
    raw = np.empty((end - start) // 2 + 2, dtype=np.uint64)
    dollar = np.zeros((end - start) // 2 + 2, dtype=np.bool_)
    n = 0
    pending_dollar = False
    i = start
    while i < end:
        c = data[i]
        k = _sep_len(data, i, end)
        if k > 0:
            if c == 37:  # % is a word
                raw[n] = h_pct
                n += 1
            elif c == 36:  # $: the next number is dollars; "US$" is just "$"
                pending_dollar = True
                if n > 0 and i > start and _sep_len(data, i - 1, end) == 0 and raw[n - 1] == h_us:
                    n -= 1
            i += k
            continue
        h = _FNV_OFFSET
        is_number = 48 <= c <= 57
        while i < end:
            c = data[i]
            if _sep_len(data, i, end) > 0:
                # 1,000,000 is one number
                if c == 44 and is_number and i + 1 < end and 48 <= data[i + 1] <= 57 and 48 <= data[i - 1] <= 57:
                    i += 1
                    continue
                break
            if 65 <= c <= 90:
                c += 32
            h = (h ^ np.uint64(c)) * _FNV_PRIME
            i += 1
        raw[n] = _lookup(word_from, word_to, h)
        dollar[n] = pending_dollar and is_number
        if is_number:
            pending_dollar = False
        n += 1
    # Second pass: word pairs, dropped words, dollars after the amount.
    out = np.empty(n * 2 + 1, dtype=np.uint64)
    m = 0
    t = 0
    while t < n:
        h = raw[t]
        if t + 1 < n:
            ph = _lookup(pair_from, pair_to, _pair_key(h, raw[t + 1]))
            if ph != _pair_key(h, raw[t + 1]):
                out[m] = ph
                m += 1
                t += 2
                continue
        if _member(drop, h):
            t += 1
            continue
        out[m] = h
        m += 1
        if dollar[t]:
            if t + 1 < n and _member(magnitudes, raw[t + 1]):
                out[m] = raw[t + 1]
                m += 1
                t += 1
            out[m] = h_dollars
            m += 1
        t += 1
    return out[:m]


TABLES = (WORD_FROM, WORD_TO, PAIR_FROM, PAIR_TO, MAGNITUDE_HASHES, DROP_HASHES,
          np.uint64(H_PCT), np.uint64(H_DOLLARS), np.uint64(H_US))
