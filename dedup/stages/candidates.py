"""Candidates stage: LSH banding over MinHash signatures, as sorting, not as a Python index.

Each signature is cut into ``b`` bands of ``r`` rows; two stories whose rows agree in some
band are candidates. The probability that a pair of Jaccard ``s`` becomes a candidate is
``1 - (1 - s**r)**b``. ``lsh_params`` chooses ``(b, r)`` exactly as ``datasketch.MinHashLSH``
does: minimising the equally weighted areas of false positives below the threshold and false
negatives above it. The threshold here is ``dedup.candidate_threshold``, set low so that a copy
truncated to its first paragraphs (low Jaccard, high containment) still becomes a candidate.

Within one band, stories with equal band keys form a bucket. A bucket of m stories does not
emit all m(m-1)/2 pairs: each member is paired with the bucket's best-ranked member (the likely
canonical, see ``dedup.stages.cluster``) and with its predecessor in rank order. That is linear in the
batch and is all the star clustering needs. Buckets over ``dedup.max_bucket`` are counted and
reported: they are almost always chrome that slipped through.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

# lsh_params results for equal weights, computed by the search below: importing scipy for the
# integrals costs a third of a second per run, more than the whole search. tests/
# test_candidates_verify_cluster.py checks every entry against datasketch.
_KNOWN_PARAMS = {
    16: {0.1: (15, 1), 0.15: (9, 1), 0.2: (7, 1), 0.25: (8, 2), 0.3: (8, 2), 0.4: (6, 2), 0.5: (5, 3),
         0.6: (4, 4), 0.7: (3, 5), 0.8: (2, 8), 0.9: (1, 15)},
    32: {0.1: (15, 1), 0.15: (9, 1), 0.2: (16, 2), 0.25: (16, 2), 0.3: (12, 2), 0.4: (10, 3), 0.5: (8, 4),
         0.6: (6, 5), 0.7: (5, 6), 0.8: (3, 10), 0.9: (2, 16)},
    64: {0.1: (15, 1), 0.15: (32, 2), 0.2: (28, 2), 0.25: (18, 2), 0.3: (21, 3), 0.4: (16, 4), 0.5: (14, 4),
         0.6: (10, 6), 0.7: (8, 8), 0.8: (5, 11), 0.9: (3, 21)},
    128: {0.1: (64, 2), 0.15: (51, 2), 0.2: (28, 2), 0.25: (42, 3), 0.3: (37, 3), 0.4: (32, 4), 0.5: (25, 5),
          0.6: (18, 7), 0.7: (14, 9), 0.8: (9, 13), 0.9: (5, 25)},
    256: {0.1: (117, 2), 0.15: (51, 2), 0.2: (85, 3), 0.25: (64, 3), 0.3: (64, 4), 0.4: (51, 5), 0.5: (42, 6),
          0.6: (32, 8), 0.7: (25, 10), 0.8: (17, 15), 0.9: (9, 28)},
}


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising weighted false-positive + false-negative probability (datasketch's rule)."""
    if fp_weight == 0.5 and fn_weight == 0.5:
        known = _KNOWN_PARAMS.get(num_perm, {}).get(threshold)
        if known is not None:
            return known
    return _search_params(threshold, num_perm, fp_weight, fn_weight)


def _search_params(threshold: float, num_perm: int, fp_weight: float, fn_weight: float) -> tuple[int, int]:
    from scipy.integrate import quad

    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp, _ = quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)
            fn, _ = quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), threshold, 1.0)
            err = fp * fp_weight + fn * fn_weight
            if err < best:
                best, opt = err, (b, r)
    return opt


@numba.njit(inline="always")
def _band_hash(sigs, i, b, rows):
    """The LSH key of band ``b`` of signature row ``i`` (FNV-1a over its ``rows`` values, seeded by b)."""
    h = np.uint64(0x84222325CBF29CE4) ^ np.uint64(b)
    for k in range(rows):
        h = (h ^ np.uint64(sigs[i, b * rows + k])) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(32)
    return h


@numba.njit(parallel=True, cache=True)
def band_keys(sigs, bands, rows):
    n = sigs.shape[0]
    out = np.empty((bands, n), dtype=np.uint64)
    for i in numba.prange(n):
        for b in range(bands):
            out[b, i] = _band_hash(sigs, i, b, rows)
    return out


@numba.njit(cache=True, nogil=True)
def _band_keys_of(sigs, b0, b1, rows):
    """``band_keys(sigs, bands, rows)[b0:b1]`` (uint64, (b1 - b0, n)) on this thread alone:
    ``generate`` computes a few bands at a time on its second thread."""
    n = sigs.shape[0]
    out = np.empty((b1 - b0, n), dtype=np.uint64)
    for i in range(n):
        for b in range(b0, b1):
            out[b - b0, i] = _band_hash(sigs, i, b, rows)
    return out


# Lede bands over ``Fingerprints.lede`` (LEDE_PERM = LEDE_BANDS * LEDE_ROWS values): a teaser whose
# lede is the same set as its story's (Jaccard 0.8) is a candidate with probability
# 1 - (1 - 0.8**4)**4 = 0.88, 0.98 at 0.9; two unrelated ledes sharing a tenth of their shingles, 0.0004.
LEDE_BANDS = 4
LEDE_ROWS = 4
_NO_LEDE = np.uint32(0xFFFFFFFF)


def lede_keys(lede: np.ndarray) -> list[np.ndarray]:
    """Extra candidate keys (``generate``'s ``extra_keys``) from lede sketches: ``LEDE_BANDS``
    arrays of uint64, one key per story. ``lede``: (n, LEDE_PERM) uint32; rows without a lede (all
    0xFFFFFFFF: earlier nights' canonicals) get keys of their own, so they pair with nothing. The
    Spark engine emits the same keys (``partitions.lede_rows``) for the rows that have a lede."""
    n = lede.shape[0]
    keys = band_keys(np.ascontiguousarray(lede[:, :LEDE_BANDS * LEDE_ROWS]), LEDE_BANDS, LEDE_ROWS)
    none = (lede == _NO_LEDE).all(axis=1)
    if none.any():
        keys[:, none] = np.arange(n, dtype=np.uint64)[none] | np.uint64(1 << 63)
    return list(keys)


def headline_keys(headline_hash: np.ndarray, words: np.ndarray, short_words: int) -> np.ndarray:
    """An extra candidate key (``generate``'s ``extra_keys``): the headline hash (uint64, 0 = none) of
    every story whose headline is also that of a short story (under ``short_words`` words, int64
    ``words``); every other story gets a key of its own. A short story has too few shingles for
    LSH, and a teaser (a report's first line behind a wall) shares none of its bands with the long
    report it comes from: the headline brings them into one bucket, where the short story pairs
    with the best-ranked story of that headline. Returns uint64 (n,). The Spark engine's keys of
    band -2 (``dedup.night.spark.graph.candidates``) are the same."""
    n = headline_hash.shape[0]
    short_heads = headline_hash[(words < short_words) & (headline_hash != 0)]
    keyed = (headline_hash != 0) & np.isin(headline_hash, short_heads)
    return np.where(keyed, headline_hash, np.arange(n, dtype=np.uint64) | np.uint64(1 << 63))


@numba.njit(inline="always")
def _set_add(table, code):
    """Add a (non-zero) pair code to an open-addressing set; 1 if it was not there yet."""
    mask = np.uint64(table.shape[0] - 1)
    j = ((code * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)) & mask
    while True:
        t = table[j]
        if t == code:
            return 0
        if t == 0:
            table[j] = code
            return 1
        j = (j + np.uint64(1)) & mask


@numba.njit(cache=True, nogil=True)
def _bucket_pairs_into(sorted_keys, order, max_bucket, table, count):
    """Add the (bucket head, member) and (predecessor, member) pairs of one band to the set
    ``table`` as codes left << 32 | right. Buckets are sorted by rank, so the left story of every
    pair is the better-ranked one. A set, not a list sorted afterwards: the same pair comes from
    most bands, and sorting every copy cost more than the rest of the stage.
    Returns the number of codes in the set and the number of buckets over ``max_bucket``."""
    n = sorted_keys.shape[0]
    big = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and sorted_keys[j] == sorted_keys[i]:
            j += 1
        if j - i > max_bucket:
            big += 1
        head = np.uint64(order[i]) << np.uint64(32)
        for t in range(i + 1, j):
            member = np.uint64(order[t])
            count += _set_add(table, head | member)
            if t - 1 > i:
                count += _set_add(table, (np.uint64(order[t - 1]) << np.uint64(32)) | member)
        i = j
    return count, big


@numba.njit(cache=True, nogil=True)
def _set_grow(table):
    out = np.zeros(table.shape[0] * 2, np.uint64)
    for t in table:
        if t != 0:
            _set_add(out, t)
    return out


@dataclass
class Candidates:
    left: np.ndarray  # int64 row of the better-ranked story
    right: np.ndarray  # int64 row of the other
    bands: int
    rows: int
    big_buckets: int

    def __len__(self) -> int:
        return self.left.shape[0]


def generate(
    signatures: np.ndarray,
    rank: np.ndarray,
    *,
    threshold: float,
    max_bucket: int,
    extra_keys: list[np.ndarray] = (),
) -> Candidates:
    """Candidate pairs from LSH bands plus any exact-match keys (e.g. hashes of the whole text).

    ``rank[i]`` is story i's position in canonical-preference order (0 = best).
    """
    n, num_perm = signatures.shape
    bands, rows = lsh_params(threshold, num_perm)
    if n < 2:
        return Candidates(np.empty(0, np.int64), np.empty(0, np.int64), bands, rows, 0)
    extra = [np.asarray(k, dtype=np.uint64) for k in extra_keys]
    n_keys = bands + len(extra)
    # The bands' keys are computed a group at a time (the bands of one 64-byte line of a
    # signature row), not all at once: 8 bytes a story per band in memory for one group only
    # (at 1M stories and 28 bands, 64 MB instead of 224 MB).
    per = max(1, 16 // rows)
    group: dict = {"at": -1, "keys": None}

    def key(i: int) -> np.ndarray:
        if i >= bands:
            return extra[i - bands]
        g = i // per
        if group["at"] != g:
            group["keys"] = None  # the previous group's go first
            group["keys"] = _band_keys_of(signatures, g * per, min(bands, (g + 1) * per), rows)
            group["at"] = g
        return group["keys"][i - g * per]

    by_rank = np.argsort(rank, kind="stable")
    table = np.zeros(1 << max(12, (4 * n).bit_length()), np.uint64)
    count, big = 0, 0

    def sorted_key(i: int) -> tuple[np.ndarray, np.ndarray]:
        # Sort by key, ties in rank order: a stable sort of the rank-ordered keys.
        k = key(i)
        order = by_rank[np.argsort(k[by_rank], kind="stable")]
        return k[order], order.astype(np.int64)

    # The next key is sorted on a second thread while this one's buckets are read (numpy's sort and
    # the compiled bucket loop both release the GIL): one key's sort order in memory ahead, no more.
    with ThreadPoolExecutor(max_workers=1) as ahead:
        nxt = ahead.submit(sorted_key, 0)
        for i in range(n_keys):
            keys_sorted, order = nxt.result()
            if i + 1 < n_keys:
                nxt = ahead.submit(sorted_key, i + 1)
            if 2 * (count + 2 * n) > table.shape[0]:  # at most 2 new codes per story and band
                table = _set_grow(table)
            count, nb = _bucket_pairs_into(keys_sorted, order, max_bucket, table, count)
            big += nb
            del keys_sorted, order
    group.clear()
    extra.clear()
    code = table[table != 0]
    del table
    code.sort()
    return Candidates((code >> np.uint64(32)).astype(np.int64), (code & np.uint64(0xFFFFFFFF)).astype(np.int64),
                      bands, rows, big)
