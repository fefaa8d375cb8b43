"""Candidates stage: LSH banding over MinHash signatures, as sorting, not as a Python index.

Each signature is cut into ``b`` bands of ``r`` rows; two stories whose rows agree in some
band are candidates. The probability that a pair of Jaccard ``s`` becomes a candidate is
``1 - (1 - s**r)**b``. ``lsh_params`` chooses ``(b, r)`` exactly as ``datasketch.MinHashLSH``
does: minimising the equally weighted areas of false positives below the threshold and false
negatives above it. The threshold here is ``dedup.candidate_threshold``, set low so that a copy
truncated to its first paragraphs (low Jaccard, high containment) still becomes a candidate.

Within one band, stories with equal band keys form a bucket. A bucket of m stories does not
emit all m(m-1)/2 pairs: each member is paired with the bucket's best-ranked member (the likely
canonical, see ``dedup.cluster``) and with its predecessor in rank order. That is linear in the
batch and is all the star clustering needs. Buckets over ``dedup.max_bucket`` are counted and
reported: they are almost always chrome that slipped through.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
from scipy.integrate import quad


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising weighted false-positive + false-negative probability (datasketch's rule)."""
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp, _ = quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)
            fn, _ = quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), threshold, 1.0)
            err = fp * fp_weight + fn * fn_weight
            if err < best:
                best, opt = err, (b, r)
    return opt


@numba.njit(parallel=True, cache=True)
def band_keys(sigs, bands, rows):
    n = sigs.shape[0]
    out = np.empty((bands, n), dtype=np.uint64)
    for i in numba.prange(n):
        for b in range(bands):
            h = np.uint64(0x84222325CBF29CE4) ^ np.uint64(b)
            for k in range(rows):
                h = (h ^ np.uint64(sigs[i, b * rows + k])) * np.uint64(0x100000001B3)
                h ^= h >> np.uint64(32)
            out[b, i] = h
    return out


@numba.njit(cache=True)
def _bucket_pairs(sorted_keys, order, max_bucket, out):
    """Emit (bucket head, member) and (predecessor, member) pairs as codes left << 32 | right.

    Buckets are sorted by rank, so the left story of every pair is the better-ranked one.
    Returns the number of codes written and the number of buckets over ``max_bucket``.
    """
    n = sorted_keys.shape[0]
    big = 0
    pos = 0
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
            out[pos] = head | member
            pos += 1
            if t - 1 > i:
                out[pos] = (np.uint64(order[t - 1]) << np.uint64(32)) | member
                pos += 1
        i = j
    return pos, big


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
    keys = band_keys(signatures, bands, rows)
    all_keys = list(keys) + [np.asarray(k, dtype=np.uint64) for k in extra_keys]
    del keys
    parts, big = [], 0
    by_rank = np.argsort(rank, kind="stable")
    buf = np.empty(2 * n, np.uint64)
    for k in all_keys:
        # Sort by key, ties in rank order: a stable sort of the rank-ordered keys.
        order = by_rank[np.argsort(k[by_rank], kind="stable")]
        pos, nb = _bucket_pairs(k[order], order.astype(np.int64), max_bucket, buf)
        big += nb
        if pos:  # pairs are unique within a band; repeats across bands go in one pass below
            parts.append(buf[:pos].copy())
    all_keys.clear()
    if not parts:
        return Candidates(np.empty(0, np.int64), np.empty(0, np.int64), bands, rows, big)
    code = np.concatenate(parts)
    del parts
    code.sort()
    code = code[np.r_[True, code[1:] != code[:-1]]]
    return Candidates((code >> np.uint64(32)).astype(np.int64), (code & np.uint64(0xFFFFFFFF)).astype(np.int64),
                      bands, rows, big)
