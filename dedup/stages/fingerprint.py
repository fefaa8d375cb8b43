"""Fingerprint stage: word shingles and MinHash signatures, computed in compiled code.

Input is the *fingerprint text* of each story (``dedup.stages.text.normalize``: NFKC, lowercased, furniture
removed) as an Arrow string array. Tokens come from the normalizing tokenizer (below:
house style folded word by word); a shingle is ``shingle_size`` consecutive tokens. A story with
fewer tokens than that has one shingle made of all its tokens.

Hashes
    token  : 64-bit FNV-1a of the token's bytes, mapped through the house-style tables
    shingle: the token hashes folded with a multiply-xorshift mix, then the high 32 bits.
             32-bit shingle hashes are what datasketch's ``affine32`` scheme expects.

MinHash
    Identical to ``datasketch.MinHash(num_perm, seed, scheme="affine32")`` updated with the
    same shingle hashes (``hashfunc`` = identity): each hash is pre-mixed with the MurmurHash3
    32-bit finalizer, then ``a_k * h + b_k mod 2**32`` per permutation, minimum kept.
    ``tests/test_fingerprint.py`` holds the parity test. The Jaccard estimate from two
    signatures has standard error ``sqrt(J (1 - J) / num_perm)`` (0.044 at J = 0.5, 128 perms).

Besides the signatures the stage keeps each story's *set* of shingle hashes (sorted, unique;
CSR layout) so that verification can compute exact Jaccard and containment: 4 bytes a shingle,
about 700 MB for a million 1 KB stories, instead of the text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numba
import numpy as np
import pyarrow as pa

from dedup.stages.text.scripts import CP_CLASS, CP_LEADS
from dedup.stages.text.normalize import (
    DROP_HASHES, H_DOLLARS, H_PCT, H_US, MAGNITUDE_HASHES, PAIR_FROM, PAIR_TO, SPELLED_NUMBER_HASHES, WORD_FROM,
    WORD_TO, distinct, string_buffers,
)

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.uint32(0xFFFFFFFF)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) parameters datasketch draws for ``scheme="affine32"`` (same RNG, same order)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


# --- The normalizing tokenizer -------------------------------------------------------------
# Tokens are maximal runs of ASCII letters and digits or non-ASCII letters (bytes >= 0x80 other
# than the punctuation sequences below), lowercased (ASCII), hashed with 64-bit FNV-1a, then
# folded through the house-style tables of ``dedup.stages.text.normalize``. Separators besides ASCII
# punctuation and spaces: U+00A0-U+00BF (no-break space, guillemets, middle dot ...),
# U+2000-U+206F (typographic spaces, dashes, quotes, bullets, ellipsis), and the punctuation of
# other scripts (``dedup.stages.text.scripts``: CJK 。、「」, Arabic ، ؛ ؟, the Devanagari danda ...).
# Scripts written without spaces (Han, kana, Thai, Lao, Khmer, Burmese) have no words to split on:
# each of their characters is a token of its own, so a shingle of ``shingle_size`` tokens is a
# character n-gram there (the usual approach for CJK near-duplicate detection) and a word n-gram in
# spaced text; a run like "NTT東日本" gives "ntt", "東", "日", "本".
# It lives in this module, not its own, because numba's on-disk cache is invalidated per source
# file: a tokenizer change in another file would leave stale compiled kernels here.



def _byte_classes() -> np.ndarray:
    """0: part of a word; 1: an ASCII separator; 2 and 3: lead bytes of the UTF-8 punctuation
    ranges U+00A0-U+00BF and U+2000-U+207F; 4: a lead byte whose code point may be a separator or
    a character of a script without spaces (``CP_CLASS`` decides). A table lookup per byte
    instead of comparisons; English text never reaches class 4."""
    cls = np.zeros(256, np.uint8)
    for c in range(128):
        if not chr(c).isalnum():
            cls[c] = 1
    cls[0xC2], cls[0xE2] = 2, 3
    for lead in CP_LEADS:
        cls[lead] = 4
    return cls


_CLS = _byte_classes()


def _lower_table() -> np.ndarray:
    """Per byte: its ASCII-lowercase form when it is part of a word, 0 when it may start a
    separator (class != 0). One lookup decides and lowercases the common byte."""
    low = np.zeros(256, np.uint8)
    for c in range(256):
        if _CLS[c] == 0:
            low[c] = c + 32 if 65 <= c <= 90 else c
    return low


_LOW = _lower_table()


@numba.njit(inline="always")
def _code_point(data, i, end):
    """(code point, bytes) of the UTF-8 sequence at i; (-1, 1) when it is cut or not a lead."""
    c = np.int64(data[i])
    if c >= 0xF0:
        if i + 3 < end:
            return (((c & 0x07) << 18) | ((np.int64(data[i + 1]) & 0x3F) << 12)
                    | ((np.int64(data[i + 2]) & 0x3F) << 6) | (np.int64(data[i + 3]) & 0x3F)), 4
    elif c >= 0xE0:
        if i + 2 < end:
            return ((c & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6) | (np.int64(data[i + 2]) & 0x3F), 3
    elif c >= 0xC0:
        if i + 1 < end:
            return ((c & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), 2
    return np.int64(-1), 1


@numba.njit(nogil=True)
def _cp_class(data, i, end, cps):
    """(class, bytes) of the character at i, for a class-4 lead byte: ``scripts.CP_CLASS``
    (0 letter of a spaced script, 1 separator, 2 character of a script without spaces). Not inlined
    into the tokenizer's loop: English text never calls it, and inlined it cost the loop ~10%."""
    cp, k = _code_point(data, i, end)
    if cp < 0 or cp >= cps.shape[0]:
        return 0, k
    return np.int64(cps[cp]), k


@numba.njit(inline="always")
def _sep_len(data, i, end, cps):
    """Bytes of a separator starting at i (0 when data[i] starts a word character)."""
    k = _CLS[data[i]]
    if k == 0:
        return 0
    if k == 1:
        return 1
    if k == 2:
        return 2 if (i + 1 < end and 0xA0 <= data[i + 1] <= 0xBF) else 0
    if k == 3:
        return 3 if (i + 2 < end and (data[i + 1] == 0x80 or data[i + 1] == 0x81)) else 0
    cls, n = _cp_class(data, i, end, cps)
    return n if cls == 1 else 0


@numba.njit(inline="always")
def _dense_len(data, i, end, cps):
    """Bytes of a character of a script written without spaces at i (0 for anything else)."""
    if _CLS[data[i]] != 4:
        return 0
    cls, n = _cp_class(data, i, end, cps)
    return n if cls == 2 else 0


@numba.njit(inline="always")
def _lookup(keys, values, h):
    """values[h] in an open-addressing table (see normalize._table), or h itself."""
    mask = np.uint64(keys.shape[0] - 1)
    i = h & mask
    while keys[i] != 0:
        if keys[i] == h:
            return values[i]
        i = (i + np.uint64(1)) & mask
    return h


@numba.njit(inline="always")
def _member(keys, h):
    mask = np.uint64(keys.shape[0] - 1)
    i = h & mask
    while keys[i] != 0:
        if keys[i] == h:
            return True
        i = (i + np.uint64(1)) & mask
    return False


@numba.njit(inline="always")
def _pair_key(a, b):
    return (a * np.uint64(31)) ^ b


@numba.njit(cache=True)
def token_hashes(data, start, end, word_from, word_to, pair_from, pair_to, magnitudes, drop, h_pct, h_dollars, h_us,
                 spelled_numbers, cps):
    """(token hashes, is_number flags) of data[start:end]; ``cps`` is ``scripts.CP_CLASS`` (passed, not
    a global, so numba's cache of this file follows the table). A number token is one that starts with a
    digit or a spelled number folded to digits; "$", magnitudes and word pairs never are."""
    w_mask, s_mask = np.uint64(word_from.shape[0] - 1), np.uint64(spelled_numbers.shape[0] - 1)
    p_mask, d_mask = np.uint64(pair_from.shape[0] - 1), np.uint64(drop.shape[0] - 1)
    # Up to a token per byte: "%" is a word and a separator at once, so "%%%%" is four tokens.
    raw = np.empty(end - start + 2, dtype=np.uint64)
    dollar = np.zeros(end - start + 2, dtype=np.bool_)
    num = np.zeros(end - start + 2, dtype=np.bool_)
    n = 0
    pending_dollar = False
    i = start
    while i < end:
        c = data[i]
        if _LOW[c] == 0:  # only then can a separator start here
            # An ASCII separator is settled here: each call of the helpers below, inlined or not,
            # increfs and decrefs the two arrays it is passed (atomics): 4x the cost of the loop.
            cl = _CLS[c]
            k = 1 if cl == 1 else _sep_len(data, i, end, cps)
            if k > 0:
                if c == 37:  # % is a word
                    raw[n] = h_pct
                    n += 1
                elif c == 36:  # $: the next number is dollars; "US$" is just "$"
                    pending_dollar = True
                    if n > 0 and i > start and _sep_len(data, i - 1, end, cps) == 0 and raw[n - 1] == h_us:
                        n -= 1
                i += k
                continue
            k = _dense_len(data, i, end, cps) if cl == 4 else 0
            if k > 0:  # a character of a script without spaces is a token of its own
                h = _FNV_OFFSET
                for j in range(i, i + k):
                    h = (h ^ np.uint64(data[j])) * _FNV_PRIME
                raw[n] = h
                num[n] = False
                dollar[n] = False
                n += 1
                i += k
                continue
        h = _FNV_OFFSET
        is_number = 48 <= c <= 57
        while i < end:
            c = data[i]
            lc = _LOW[c]
            if lc == 0:
                cl = _CLS[c]
                if cl == 1 or _sep_len(data, i, end, cps) > 0:
                    # 1,000,000 is one number, and 720.4 is one number (the point is kept); a comma
                    # that does not start a group of three digits is a decimal comma (3,5), kept
                    # too, so that 3,5 and 35 stay different numbers
                    if (c == 44 or c == 46) and is_number and i + 1 < end and 48 <= data[i + 1] <= 57 \
                            and 48 <= data[i - 1] <= 57:
                        thousands = (c == 44 and i + 3 < end and 48 <= data[i + 2] <= 57 and 48 <= data[i + 3] <= 57
                                     and (i + 4 >= end or not 48 <= data[i + 4] <= 57))
                        if not thousands:
                            h = (h ^ np.uint64(c)) * _FNV_PRIME
                        i += 1
                        continue
                    break
                if cl == 4 and _dense_len(data, i, end, cps) > 0:
                    break
                lc = c  # a lead byte of a non-ASCII letter
            h = (h ^ np.uint64(lc)) * _FNV_PRIME
            i += 1
        # Most words are in no table: their home slot is empty, tested here before a helper is called
        # (each call increfs and decrefs the arrays it is passed, atomics that cost more than the probe).
        raw[n] = h if word_from[h & w_mask] == 0 else _lookup(word_from, word_to, h)
        num[n] = is_number or (spelled_numbers[raw[n] & s_mask] != 0 and _member(spelled_numbers, raw[n]))
        dollar[n] = pending_dollar and is_number
        if is_number:
            pending_dollar = False
        n += 1
    # Second pass: word pairs, dropped words, dollars after the amount.
    out = np.empty(n * 2 + 1, dtype=np.uint64)
    out_num = np.zeros(n * 2 + 1, dtype=np.bool_)
    m = 0
    t = 0
    while t < n:
        h = raw[t]
        pk = _pair_key(h, raw[t + 1]) if t + 1 < n else np.uint64(0)
        if t + 1 < n and pair_from[pk & p_mask] != 0:
            ph = _lookup(pair_from, pair_to, pk)
            if ph != pk:
                out[m] = ph
                m += 1
                t += 2
                continue
        if drop[h & d_mask] != 0 and _member(drop, h):
            t += 1
            continue
        out[m] = h
        out_num[m] = num[t]
        m += 1
        if dollar[t]:
            if t + 1 < n and _member(magnitudes, raw[t + 1]):
                out[m] = raw[t + 1]
                m += 1
                t += 1
            out[m] = h_dollars
            m += 1
        t += 1
    return out[:m], out_num[:m]


TABLES = (WORD_FROM, WORD_TO, PAIR_FROM, PAIR_TO, MAGNITUDE_HASHES, DROP_HASHES,
          np.uint64(H_PCT), np.uint64(H_DOLLARS), np.uint64(H_US), SPELLED_NUMBER_HASHES, CP_CLASS)


@numba.njit(inline="always")
def _fmix32(h):
    # numba widens uint32 arithmetic to 64 bits, so every product is cut back to 32 bits.
    h = np.uint32(h ^ (h >> np.uint32(16)))
    h = np.uint32(np.uint64(h) * np.uint64(0x85EBCA6B) & np.uint64(0xFFFFFFFF))
    h = np.uint32(h ^ (h >> np.uint32(13)))
    h = np.uint32(np.uint64(h) * np.uint64(0xC2B2AE35) & np.uint64(0xFFFFFFFF))
    return np.uint32(h ^ (h >> np.uint32(16)))


@numba.njit(inline="always")
def _fold(acc, th):
    acc = (acc ^ th) * _MIX
    return acc ^ (acc >> np.uint64(29))


@numba.njit(cache=True)
def _shingles(data, start, end, k, tables):
    """Shingle hashes of data[start:end] in order, the number of (normalized) tokens, and a hash
    of the whole normalized token sequence (identical texts after house style, 0 for none)."""
    wf, wt, pf, pt, mags, drop, h_pct, h_dollars, h_us, spelled, cps = tables
    toks, _ = token_hashes(data, start, end, wf, wt, pf, pt, mags, drop, h_pct, h_dollars, h_us, spelled, cps)
    nt = toks.shape[0]
    seq = np.uint64(0)
    for t in range(nt):
        seq = _fold(seq, toks[t])
    if nt == 0:
        return np.empty(0, dtype=np.uint32), 0, seq
    ns = nt - k + 1 if nt >= k else 1
    kk = k if nt >= k else nt
    out = np.empty(ns, dtype=np.uint32)
    for s in range(ns):
        acc = np.uint64(kk)
        for t in range(kk):
            acc = _fold(acc, toks[s + t])
        out[s] = np.uint32(acc >> np.uint64(32))
    return out, nt, seq | np.uint64(1)


@numba.njit(inline="always")
def _sort_u32(x, tmp):
    """Sort x in place: insertion sort when short, else LSD radix sort by bytes. For a story's
    ~100 shingle hashes that is several times faster than np.sort (a quicksort and a copy)."""
    n = x.shape[0]
    if n <= 32:
        for i in range(1, n):
            v = x[i]
            j = i - 1
            while j >= 0 and x[j] > v:
                x[j + 1] = x[j]
                j -= 1
            x[j + 1] = v
        return
    cnt = np.empty(256, np.int64)
    src = x
    dst = tmp
    for shift in range(0, 32, 8):
        sh = np.uint32(shift)
        cnt[:] = 0
        for i in range(n):
            cnt[(src[i] >> sh) & np.uint32(255)] += 1
        total = 0
        for d in range(256):
            c = cnt[d]
            cnt[d] = total
            total += c
        for i in range(n):
            d = (src[i] >> sh) & np.uint32(255)
            dst[cnt[d]] = src[i]
            cnt[d] += 1
        src, dst = dst, src
    # an even number of passes: the sorted values are back in x


# The lede sketch (``Fingerprints.lede``): a MinHash of a story's first LEDE_SHINGLES shingles in
# text order, with the first LEDE_PERM of the signature's permutations. A teaser (a first paragraph
# behind a wall, a feed summary) holds a small share of its full story's shingles, under the
# Jaccard the signature's bands are tuned for, but the two ledes are nearly the same set:
# ``dedup.stages.candidates.lede_keys`` bands these sketches into extra candidate keys.
LEDE_SHINGLES = 24
LEDE_PERM = 16


@numba.njit(inline="always")
def _lede_row(sh, lede_len, a64, b64, n_lede):
    """MinHash (``n_lede`` permutations) of the first ``lede_len`` shingle hashes ``sh`` (in text order)."""
    lrow = np.full(n_lede, _EMPTY, dtype=np.uint32)
    for i in range(min(lede_len, sh.shape[0])):
        hv = np.uint64(_fmix32(sh[i]))
        for p in range(n_lede):
            v = np.uint32((a64[p] * hv + b64[p]) & np.uint64(0xFFFFFFFF))
            if v < lrow[p]:
                lrow[p] = v
    return lrow


@numba.njit(parallel=True, cache=True)
def _fingerprint_kernel(data, offsets, k, a, b, tables, lede_len):
    n = offsets.shape[0] - 1
    num_perm = a.shape[0]
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    n_lede = min(LEDE_PERM, num_perm)
    lede = np.empty((n, n_lede), dtype=np.uint32)
    sigs = np.empty((n, num_perm), dtype=np.uint32)
    ntok = np.zeros(n, dtype=np.int64)
    seqh = np.zeros(n, dtype=np.uint64)
    uniq = np.zeros(n, dtype=np.int64)
    # A story of L bytes has fewer than L + 5 shingles (the "$" rule can add a word per number),
    # so each story gets that much room, and the chunk's text bounds the buffer.
    starts = np.zeros(n + 1, dtype=np.int64)
    for d in range(n):
        starts[d + 1] = starts[d] + (offsets[d + 1] - offsets[d]) + 5
    values = np.empty(starts[n], dtype=np.uint32)
    for d in numba.prange(n):
        sh, nt, sq = _shingles(data, offsets[d], offsets[d + 1], k, tables)
        lede[d, :] = _lede_row(sh, lede_len, a64, b64, n_lede)
        _sort_u32(sh, np.empty_like(sh))
        ntok[d] = nt
        seqh[d] = sq
        m = 0
        for i in range(sh.shape[0]):
            if i == 0 or sh[i] != sh[i - 1]:
                values[starts[d] + m] = sh[i]
                m += 1
        uniq[d] = m
        row = np.full(num_perm, _EMPTY, dtype=np.uint32)
        for i in range(m):
            hv = np.uint64(_fmix32(values[starts[d] + i]))
            for p in range(num_perm):
                v = np.uint32((a64[p] * hv + b64[p]) & np.uint64(0xFFFFFFFF))
                row[p] = min(row[p], v)
        sigs[d, :] = row
    ustarts = np.zeros(n + 1, dtype=np.int64)
    for d in range(n):
        ustarts[d + 1] = ustarts[d] + uniq[d]
    uvalues = np.empty(ustarts[n], dtype=np.uint32)
    for d in numba.prange(n):
        uvalues[ustarts[d] : ustarts[d + 1]] = values[starts[d] : starts[d] + uniq[d]]
    return sigs, ustarts, uvalues, ntok, seqh, lede


@numba.njit(parallel=True, cache=True)
def string_hashes(data, offsets):
    """64-bit FNV-1a of each whole string; 0 for empty strings."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.uint64)
    for d in numba.prange(n):
        if offsets[d + 1] > offsets[d]:
            h = _FNV_OFFSET
            for i in range(offsets[d], offsets[d + 1]):
                h = (h ^ np.uint64(data[i])) * _FNV_PRIME
            out[d] = h | np.uint64(1)
    return out


# Fingerprints.concat(consume=True) hands memory back after about this many bytes of parts let go.
RELEASE_BYTES = 256 << 20


@dataclass
class Fingerprints:
    """MinHash signatures plus exact shingle sets of a batch of stories (row-aligned)."""

    signatures: np.ndarray  # (n, num_perm) uint32
    offsets: np.ndarray  # (n + 1,) int64: story i's shingles are values[offsets[i]:offsets[i+1]]
    values: np.ndarray  # uint32, sorted and unique within each story
    n_tokens: np.ndarray  # (n,) int64 words in the fingerprint text
    text_hash: np.ndarray  # (n,) uint64 hash of the normalized token sequence (0: no tokens)
    # (n, LEDE_PERM) uint32 lede sketches (see LEDE_SHINGLES); None or all-0xFFFFFFFF rows: no lede
    # (earlier nights' canonicals: the state keeps no ledes)
    lede: np.ndarray | None = None

    @property
    def n_shingles(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return self.signatures.shape[0]

    @staticmethod
    def concat(parts: list["Fingerprints"], num_perm: int, *, consume: bool = False,
               release: Callable[[], None] | None = None) -> "Fingerprints":
        """The parts' rows one after the other (as ``np.concatenate`` of each field; a part
        without ledes gets rows of 0xFFFFFFFF). ``consume``: empty ``parts`` while copying, each
        part let go once copied, so that memory holds the result and about one part, not the
        batch twice; ``release`` is then called after every ``RELEASE_BYTES`` let go (the
        allocator keeps freed chunk-sized arrays for reuse, and the result cannot reuse them)."""
        if not parts:
            return Fingerprints(
                np.empty((0, num_perm), np.uint32), np.zeros(1, np.int64), np.empty(0, np.uint32),
                np.empty(0, np.int64), np.empty(0, np.uint64),
            )
        n_lede = min(LEDE_PERM, num_perm)
        n = sum(len(p) for p in parts)
        n_values = sum(p.values.shape[0] for p in parts)

        def empty(field: str, shape) -> np.ndarray:
            return np.empty(shape, np.result_type(*[getattr(p, field) for p in parts]))

        out = Fingerprints(
            empty("signatures", (n,) + parts[0].signatures.shape[1:]), empty("offsets", n + 1),
            empty("values", n_values), empty("n_tokens", n), empty("text_hash", n),
            np.empty((n, n_lede), np.result_type(np.uint32, *[p.lede for p in parts if p.lede is not None])),
        )
        out.offsets[:1] = parts[0].offsets[:1]
        row, at, base, freed = 0, 0, 0, 0
        for i in range(len(parts)):
            p = parts[i]
            k, v = len(p), p.values.shape[0]
            out.signatures[row:row + k] = p.signatures
            out.offsets[row + 1:row + k + 1] = p.offsets[1:] + base
            out.values[at:at + v] = p.values
            out.n_tokens[row:row + k] = p.n_tokens
            out.text_hash[row:row + k] = p.text_hash
            out.lede[row:row + k] = _EMPTY if p.lede is None else p.lede
            base += p.offsets[-1]
            row, at = row + k, at + v
            if consume:
                freed += p.signatures.nbytes + p.values.nbytes + p.offsets.nbytes
                parts[i] = p = None
                if release is not None and freed >= RELEASE_BYTES:
                    release()
                    freed = 0
        if consume:
            parts.clear()
        return out

    def take(self, idx: np.ndarray) -> "Fingerprints":
        lens = self.n_shingles[idx]
        offs = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(lens, out=offs[1:])
        vals = np.concatenate([self.values[self.offsets[i] : self.offsets[i + 1]] for i in idx]) if len(idx) else self.values[:0]
        return Fingerprints(self.signatures[idx], offs, vals, self.n_tokens[idx], self.text_hash[idx],
                            None if self.lede is None else self.lede[idx])


def hash_strings(values: pa.Array) -> np.ndarray:
    """Stable 64-bit FNV-1a hash of each string (0 for null or empty): headlines, outlets."""
    return string_hashes(*string_buffers(values))


# A lede is read from at most this many bytes after its start: LEDE_SHINGLES shingles of prose.
LEDE_MAX_BYTES = 4096


@numba.njit(parallel=True, cache=True)
def _lede_kernel(data, offsets, rows, lede_from, k, a, b, tables, lede_len, lede):
    """Recompute ``lede`` rows ``rows`` from ``lede_from`` bytes into their texts (in place)."""
    n_lede = lede.shape[1]
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    for j in numba.prange(rows.shape[0]):
        d = rows[j]
        start = offsets[d] + lede_from[d]
        sh, _, _ = _shingles(data, start, min(offsets[d + 1], start + LEDE_MAX_BYTES), k, tables)
        lede[d, :] = _lede_row(sh, lede_len, a64, b64, n_lede)


def fingerprint(texts: pa.Array, *, num_perm: int, shingle_size: int, seed: int,
                lede_from: np.ndarray | None = None,
                distinct_texts: tuple[pa.Array, np.ndarray] | None = None) -> Fingerprints:
    """Shingle and MinHash every text. Runs on ``numba.get_num_threads()`` threads.

    ``lede_from``: optional int64 per text, the byte offset where its lede sketch starts
    (``dedup.stages.clean.Cleaned.lede_from``; 0 = the start, as without it).
    ``distinct_texts``: ``normalize.distinct(texts)`` when the caller has it already."""
    a, b = permutations(num_perm, seed)
    # Copies of a story often share its text word for word: each distinct text is shingled and
    # hashed once, and its rows are copied to every story that has it.
    values, index = distinct(texts) if distinct_texts is None else distinct_texts
    sigs, offs, vals, ntok, seqh, lede = _fingerprint_kernel(*string_buffers(values), shingle_size, a, b, TABLES,
                                                             LEDE_SHINGLES)
    if not (len(values) == len(index) and (index == np.arange(len(index))).all()):
        lens = np.diff(offs)[index]
        new_offs = np.zeros(len(index) + 1, np.int64)
        np.cumsum(lens, out=new_offs[1:])
        # Position j of the output's values reads the distinct text's value at offs[index[s]] + (j - new_offs[s]).
        src = np.arange(new_offs[-1], dtype=np.int64) + np.repeat(offs[:-1][index] - new_offs[:-1], lens)
        sigs, offs, vals, ntok, seqh, lede = sigs[index], new_offs, vals[src], ntok[index], seqh[index], lede[index]
    if lede_from is not None:
        # Per story, not per distinct text: one text can open with kept edge lines in one outlet only.
        data, offsets = string_buffers(texts)
        lede_from = np.asarray(lede_from, np.int64)
        rows = np.flatnonzero((lede_from > 0) & (lede_from < np.diff(offsets)))
        if rows.size:
            _lede_kernel(data, offsets, rows, lede_from, shingle_size, a, b, TABLES, LEDE_SHINGLES, lede)
    return Fingerprints(sigs, offs, vals, ntok, seqh, lede)


def shingle_hashes(text: str, shingle_size: int) -> np.ndarray:
    """The shingle hashes of one text (with repeats, in order): the values fed to MinHash."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if data.size == 0:
        return np.empty(0, np.uint32)
    return _shingles(data, 0, data.size, shingle_size, TABLES)[0]


@numba.njit(parallel=True, cache=True)
def _numbers_kernel(data, offsets, want, tables):
    wf, wt, pf, pt, mags, drop, h_pct, h_dollars, h_us, spelled, cps = tables
    n = offsets.shape[0] - 1
    # One tokenizer pass: each wanted story gets room for as many tokens as it has bytes / 2 + 2
    # (the tokenizer's own bound), then the runs are packed.
    room = np.zeros(n + 1, dtype=np.int64)
    for d in range(n):
        room[d + 1] = room[d] + ((offsets[d + 1] - offsets[d]) // 2 + 2 if want[d] else 0)
    buf = np.empty(room[n], dtype=np.uint32)
    counts = np.zeros(n + 1, dtype=np.int64)
    for d in numba.prange(n):
        if want[d]:
            toks, num = token_hashes(data, offsets[d], offsets[d + 1], wf, wt, pf, pt, mags, drop, h_pct, h_dollars,
                                     h_us, spelled, cps)
            j = room[d]
            for t in range(toks.shape[0]):
                if num[t]:
                    buf[j] = np.uint32(toks[t] >> np.uint64(32))
                    j += 1
            counts[d + 1] = j - room[d]
    starts = np.cumsum(counts)
    values = np.empty(starts[n], dtype=np.uint32)
    for d in numba.prange(n):
        values[starts[d]:starts[d + 1]] = buf[room[d]:room[d] + counts[d + 1]]
    return starts, values


def number_sequences(texts: pa.Array, want: np.ndarray,
                     distinct_texts: tuple[pa.Array, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The number tokens of each fingerprint text, in text order, as CSR ``(offsets, values)``:
    ``offsets`` int64 (n + 1,), ``values`` uint32 (the high half of each token's hash, after
    house-style folding, so "seven" = "7" and "4,757,000" = "4757000"). Rows where ``want``
    (bool, (n,)) is False are left empty without being tokenized: verification uses numbers only
    between short stories and their nearly short partners (``dedup.stages.verify``).
    ``distinct_texts``: ``normalize.distinct(texts)`` when the caller has it already."""
    data, offsets = string_buffers(texts)
    want = np.asarray(want, dtype=np.bool_)
    if want.shape[0] != offsets.shape[0] - 1:
        raise ValueError("want must have one entry per text")
    if not want.any():
        return np.zeros(want.shape[0] + 1, np.int64), np.empty(0, np.uint32)
    # As in ``fingerprint``: each distinct wanted text is tokenized once and its run copied to the
    # wanted rows that have it (a row's numbers depend on its text alone).
    values, index = distinct(texts) if distinct_texts is None else distinct_texts
    if len(values) * 1.5 > len(index):
        return _numbers_kernel(data, offsets, want, TABLES)
    want_d = np.zeros(len(values), np.bool_)
    want_d[index[want]] = True
    starts_d, vals_d = _numbers_kernel(*string_buffers(values), want_d, TABLES)
    lens = np.where(want, np.diff(starts_d)[index], 0)
    starts = np.zeros(len(index) + 1, np.int64)
    np.cumsum(lens, out=starts[1:])
    src = np.arange(starts[-1], dtype=np.int64) + np.repeat(starts_d[:-1][index] - starts[:-1], lens)
    return starts, vals_d[src]
