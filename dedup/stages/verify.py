"""Verify stage: exact Jaccard and containment of candidate pairs, from their shingle sets.

MinHash only proposes; the decision is exact. For a pair (A, B) of shingle sets:

    jaccard     = |A ∩ B| / |A ∪ B|             (resemblance: an edited copy)
    containment = |A ∩ B| / min(|A|, |B|)       (the shorter inside the longer: a truncated copy)

A pair matches when ``jaccard >= dedup.threshold`` or ``containment >= dedup.containment_threshold``.
Short stories (fewer than ``dedup.short_words`` words on either side) have too few shingles for
either figure to mean much: they match only on identical fingerprint text, when the short one is wholly
contained in the other (at least ``MIN_LEDE_SHINGLES`` shingles: a lede, not a stock phrase), or
on an identical headline together with a Jaccard over the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


MIN_LEDE_SHINGLES = 12
MIN_EXACT_WORDS = 6


@numba.njit(parallel=True, cache=True)
def intersections(offsets, values, left, right):
    """|A ∩ B| for each pair; the sets are sorted unique runs of ``values``."""
    m = left.shape[0]
    out = np.zeros(m, dtype=np.int64)
    for p in numba.prange(m):
        i, iend = offsets[left[p]], offsets[left[p] + 1]
        j, jend = offsets[right[p]], offsets[right[p] + 1]
        c = 0
        while i < iend and j < jend:
            a = values[i]
            b = values[j]
            if a == b:
                c += 1
                i += 1
                j += 1
            elif a < b:
                i += 1
            else:
                j += 1
        out[p] = c
    return out


@dataclass
class PairScores:
    jaccard: np.ndarray
    containment: np.ndarray
    match: np.ndarray


def score_pairs(
    offsets: np.ndarray,
    values: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    *,
    words: np.ndarray,
    text_hash: np.ndarray,
    headline_hash: np.ndarray,
    threshold: float,
    containment_threshold: float,
    short_words: int,
) -> PairScores:
    sizes = np.diff(offsets)
    inter = intersections(offsets, values, left, right).astype(np.float64)
    a, b = sizes[left].astype(np.float64), sizes[right].astype(np.float64)
    union = a + b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, inter / union, 0.0)
        con = np.where(np.minimum(a, b) > 0, inter / np.minimum(a, b), 0.0)
    # Identical text counts only from a few words up: "Record April 3." is not a story.
    same_text = (text_hash[left] == text_hash[right]) & (np.minimum(words[left], words[right]) >= MIN_EXACT_WORDS)
    short = np.minimum(words[left], words[right]) < short_words
    long_match = (jac >= threshold) | (con >= containment_threshold)
    # A brief wholly contained in a longer copy (its lede) is a truncated copy; the floor on
    # shingles keeps one shared stock sentence from counting.
    whole_lede = (con >= 0.999) & (np.minimum(a, b) >= MIN_LEDE_SHINGLES)
    same_headline = (headline_hash[left] == headline_hash[right]) & (headline_hash[left] != 0)
    short_match = same_text | whole_lede | (same_headline & (jac >= threshold))
    match = np.where(short, short_match, long_match | same_text)
    return PairScores(jac, con, match)
