"""Verify stage: exact Jaccard and containment of candidate pairs, from their shingle sets.

MinHash only proposes; the decision is exact. For a pair (A, B) of shingle sets:

    jaccard     = |A ∩ B| / |A ∪ B|             (resemblance: an edited copy)
    containment = |A ∩ B| / min(|A|, |B|)       (the shorter inside the longer: a truncated copy)

A pair matches when ``jaccard >= dedup.threshold`` or ``containment >= dedup.containment_threshold``.
Short stories (fewer than ``dedup.short_words`` words on either side) have too few shingles for
either figure to mean much: they match only on identical fingerprint text, when the short one is wholly
contained in the other (at least ``MIN_LEDE_SHINGLES`` shingles and ``MIN_LEDE_WORDS`` words: a lede, not
a stock phrase; the word floor matters for scripts written without spaces, whose shingles are
character n-grams: 12 of them are 15 characters, about 7 Chinese words), or
on an identical headline together with a Jaccard over the threshold or the short one wholly contained
in the other (at least ``MIN_EXACT_WORDS`` words: a teaser, the report's first line under its headline).

Table briefs (earnings and dividend tables: "Shr 47 cts vs 31 cts | Net 4,757,000 vs 2,466,000
| Avg shrs ...") are short, made of figures, and their copies differ by a dropped line, whose
junction adds foreign shingles, so they are rarely identical or wholly contained. Between short
stories and their partners the verifier also compares the *numbers* of the two texts
(``dedup.stages.fingerprint.number_sequences``: number tokens in text order, house style folded):

* a **brief** match: the numbers of the side with fewer numbers are a subsequence of the other's
  (lines dropped or cut, never a figure changed or moved), there are at least
  ``MIN_BRIEF_NUMBERS`` distinct ones (a table of figures, not "Record April 9"), and at least
  ``BRIEF_CONTAINMENT`` of the shorter text's shingles are in the longer one (same words around them);
* a **veto**: when both sides' numbers are known and neither sequence fits into the other,
  a short pair never matches, whatever the other rules say: numbers that differ are
  different reports (another company's identical dividend table, another quarter).

Multi-topic pages (``multi_topic_edges``): a containment match says the shorter text is a
truncated copy of the longer. A live blog, roundup or digest holds the ledes of several
reports whole and would absorb short copies of all of them. So a containment match needs the
longer text to be *about* the shorter one; it is not when the longer text also wholly holds
another shorter story that shares nothing with the first. See ``multi_topic_edges``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyarrow.compute as pc

from dedup.stages.fingerprint import LEDE_SHINGLES


MIN_LEDE_SHINGLES = 12
# Word equivalents (``dedup.stages.text.scripts``) the contained side needs too. In spaced text 12 shingles
# already mean 15 tokens, so this floor only binds on text shingled by character.
MIN_LEDE_WORDS = 12
MIN_EXACT_WORDS = 6
# Brief rule (module docstring): distinct numbers a short table must have, and the share of its
# shingles found in the partner (a dropped line costs at most shingle_size - 1 shingles). At 0.5 two
# companies' split notices with the same dates matched ("... declared a three-for-two stock split,
# payable April 30, record March 31": 0.5 of the shorter's shingles); 0.6 lost no brief copy on the
# 10k corpora or the 15k languages corpus (session 7).
MIN_BRIEF_NUMBERS = 4
BRIEF_CONTAINMENT = 0.6
# Numbers are compared for stories under this many times ``dedup.short_words`` words: a brief's
# partner is at most a few lines longer. Longer stories are not tokenized again.
NUMBERS_WORDS_FACTOR = 4
# Two parts of one container are disjoint (different reports) when under this share of the
# smaller part's shingles is in the other.
DISJOINT_PARTS = 0.2
# Two stories open alike (``lede_agreement``) when at least this share of their lede sketches' values
# are equal: an estimated Jaccard of 0.75 between their first LEDE_SHINGLES shingles (a shared stock
# phrase in two different reports' first sentences stays under it).
LEDE_AGREE = 0.75


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


@numba.njit(parallel=True, cache=True)
def number_fit(offsets, values, left, right):
    """For each pair: whether the shorter number sequence is a subsequence of the longer (equally
    long ones fit only when identical), and the distinct numbers in the shorter one. Sequences are CSR runs
    of ``values`` in text order. Returns (fits bool, distinct int64)."""
    m = left.shape[0]
    fits = np.zeros(m, dtype=np.bool_)
    distinct = np.zeros(m, dtype=np.int64)
    for p in numba.prange(m):
        s, l = left[p], right[p]
        if offsets[s + 1] - offsets[s] > offsets[l + 1] - offsets[l]:
            s, l = l, s
        i, iend = offsets[s], offsets[s + 1]
        j, jend = offsets[l], offsets[l + 1]
        while i < iend and j < jend:
            if values[i] == values[j]:
                i += 1
            j += 1
        fits[p] = i == iend
        c = 0
        for a in range(offsets[s], iend):
            seen = False
            for b in range(offsets[s], a):
                if values[b] == values[a]:
                    seen = True
                    break
            if not seen:
                c += 1
        distinct[p] = c
    return fits, distinct


def numbers_wanted(words: np.ndarray, short_words: int) -> np.ndarray:
    """Which stories need their number sequence (``dedup.stages.fingerprint.number_sequences``): those under
    ``NUMBERS_WORDS_FACTOR * short_words`` words. Both engines call this, so they compare the same pairs."""
    return np.asarray(words) < NUMBERS_WORDS_FACTOR * short_words


def numbers_of(column, n_before: int, words: np.ndarray, short_words: int):
    """``score_pairs``' ``numbers`` argument from a list<uint32> Arrow column of number sequences
    (one per story, after ``n_before`` stories without one: earlier nights' canonicals, whose
    numbers the state does not keep, so the brief rule and the veto skip them).
    ``words`` int64 covers all rows. Returns (offsets int64, values uint32, known bool)."""
    off = np.zeros(n_before + 1, np.int64)
    vals = np.empty(0, np.uint32)
    if column is not None:
        col = column.combine_chunks() if hasattr(column, "combine_chunks") else column
        o = col.offsets.to_numpy()
        off = np.concatenate([off, o[1:] - o[0] + off[-1]])
        vals = pc.list_flatten(col).to_numpy().astype(np.uint32, copy=False)
    known = numbers_wanted(words, short_words)
    known[:n_before] = False
    return off, vals, known


# Pairs ``score_pairs`` scores at once (larger inputs go a batch at a time; same results).
SCORE_BATCH = 1 << 20


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
    numbers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> PairScores:
    """Exact Jaccard, containment and the match decision (module docstring) for pairs (left[p], right[p]).

    ``offsets``/``values``: shingle sets in CSR (int64 (n + 1,), uint32 sorted unique per story);
    ``left``, ``right``: int64 rows; ``words`` int64, ``text_hash``/``headline_hash`` uint64 per story
    (0 = none). ``numbers``: optional ``(offsets, values, known)``, each story's number sequence
    (``dedup.stages.fingerprint.number_sequences``) and a bool mask of stories whose sequence was computed
    (``numbers_wanted``); without it the brief rule and the number veto are off.
    Returns float64 ``jaccard`` and ``containment`` and bool ``match``, one per pair.
    """
    if left.shape[0] > SCORE_BATCH:
        # Every rule reads one pair at a time: scored a batch at a time, the rules' two dozen
        # temporaries per pair stay at tens of MB however many pairs a night has.
        parts = [score_pairs(offsets, values, left[i:i + SCORE_BATCH], right[i:i + SCORE_BATCH], words=words,
                             text_hash=text_hash, headline_hash=headline_hash, threshold=threshold,
                             containment_threshold=containment_threshold, short_words=short_words, numbers=numbers)
                 for i in range(0, left.shape[0], SCORE_BATCH)]
        return PairScores(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("jaccard", "containment", "match")))
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
    whole_lede = (con >= 0.999) & (np.minimum(a, b) >= MIN_LEDE_SHINGLES) & (
        np.minimum(words[left], words[right]) >= MIN_LEDE_WORDS)
    same_headline = (headline_hash[left] == headline_hash[right]) & (headline_hash[left] != 0)
    # A teaser under the lede floor (a report's first line, "Shr 42 cts vs 76 cts") counts when it
    # carries the report's headline and all of it is in the other text.
    headline_lede = same_headline & (con >= 0.999) & (np.minimum(words[left], words[right]) >= MIN_EXACT_WORDS)
    short_match = same_text | whole_lede | headline_lede | (same_headline & (jac >= threshold))
    if numbers is not None and left.shape[0]:
        n_off, n_val, known = numbers
        both = short & known[left] & known[right]
        fits = np.ones(left.shape[0], bool)
        distinct = np.zeros(left.shape[0], np.int64)
        k = np.flatnonzero(both)
        fits[k], distinct[k] = number_fit(n_off, n_val, left[k], right[k])
        brief = both & fits & (distinct >= MIN_BRIEF_NUMBERS) & (con >= BRIEF_CONTAINMENT)
        short_match = (short_match | brief) & fits
    match = np.where(short, short_match, long_match | same_text)
    return PairScores(jac, con, match)


def disjoint_parts(inter: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    """Whether two parts of one container are different reports (``multi_topic_edges``): under
    ``DISJOINT_PARTS`` of the smaller part's shingles shared. ``inter`` = |A ∩ B|, ``size_a``, ``size_b``
    = |A|, |B| (int arrays, one entry per pair). Both engines call this. Returns bool per pair."""
    return inter < DISJOINT_PARTS * np.maximum(np.minimum(size_a, size_b), 1)


def multi_topic_edges(
    offsets: np.ndarray,
    values: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    jaccard: np.ndarray,
    match: np.ndarray,
    threshold: float,
    rank: np.ndarray | None = None,
    lede: np.ndarray | None = None,
) -> np.ndarray:
    """Matches to drop because the longer text is a multi-topic page (live blog, roundup, digest).

    A *containment match* is a match under the Jaccard ``threshold``: the shorter text (the
    *part*) is a truncated copy of the longer (the *container*, the side with more shingles).
    The rule: a container is multi-topic when one of its parts is disjoint from its largest part
    (under ``DISJOINT_PARTS`` of the smaller one's shingles shared): it then holds the text of two
    different reports, and is about neither. All its containment matches as a container are
    dropped; its Jaccard matches (copies of the page itself) and its matches as a part stay.
    Parts that overlap (the ledes of one report cut at different lengths, or excerpts that all
    sit in the largest one) never flag a container, so a wire story with many truncated copies
    keeps them. Cost: one intersection per containment match.

    A page that quotes one report's lede first and holds the parts of another report further down
    (a live blog whose first entry's report has only full copies in the batch) shows it by its
    opening: with ``lede`` ((n, k) uint32 lede sketches, ``dedup.stages.fingerprint.LEDE_SHINGLES``;
    rows all 0xFFFFFFFF have none), a container is also multi-topic when a story it is a candidate
    pair with opens as it does (at least ``LEDE_AGREE`` of the sketch's values equal, and at least
    ``LEDE_SHINGLES`` shingles shared: both begin
    with the same lede) and is disjoint from the container's largest part. A report's own copies open
    as it does and hold its lede, which its truncated parts hold too, so they never flag it.

    ``offsets``/``values``: shingle sets (CSR); ``left``, ``right`` int64 rows; ``jaccard`` float64
    and ``match`` bool per pair (``score_pairs``); ``rank`` int64 preference order breaks ties
    between equally large parts (the better-ranked one; the row without it), so that the Spark
    engine, whose node ids are ranks, picks the same. Returns a bool mask over the pairs.
    The Spark engine applies the same rule to its verified edges before the canonical choice, as
    joins (``dedup.night.spark.graph.drop_multi_topic``, with ``disjoint_parts``).
    """
    sizes = np.diff(offsets)
    contained = match & (jaccard < threshold)
    drop = np.zeros(left.shape[0], bool)
    k = np.flatnonzero(contained)
    if k.size < 2:
        return drop
    l, r = left[k], right[k]
    left_longer = sizes[l] >= sizes[r]
    container = np.where(left_longer, l, r)
    part = np.where(left_longer, r, l)
    # Largest part per container: most shingles, then the best-ranked.
    order = np.lexsort((part if rank is None else rank[part], -sizes[part], container))
    head = np.ones(order.shape[0], bool)
    head[1:] = container[order][1:] != container[order][:-1]
    largest_of = np.full(sizes.shape[0], -1, np.int64)
    largest_of[container[order][head]] = part[order][head]
    big = largest_of[container]
    other = part != big
    c_, p_ = container[other], part[other]
    if lede is not None and lede.shape[1]:
        # Candidate pairs (container, story opening as it does), in both orientations.
        c2 = np.concatenate([left, right])
        q2 = np.concatenate([right, left])
        sel = (largest_of[c2] >= 0) & (q2 != largest_of[c2])
        c2, q2 = c2[sel], q2[sel]
        agree = np.flatnonzero(lede_agreement(lede, c2, q2))
        # ... and share at least a lede's worth of shingles: a stock phrase opening two different
        # reports ("..., according to people familiar with the matter") is not a quoted lede.
        agree = agree[intersections(offsets, values, c2[agree], q2[agree]) >= LEDE_SHINGLES]
        c_, p_ = np.concatenate([c_, c2[agree]]), np.concatenate([p_, q2[agree]])
    if not c_.size:
        return drop
    b = largest_of[c_]
    disjoint = disjoint_parts(intersections(offsets, values, p_, b), sizes[p_], sizes[b])
    multi = np.zeros(sizes.shape[0], bool)
    multi[c_[disjoint]] = True
    drop[k] = multi[container]
    return drop


def lede_agreement(lede: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether stories a and b (int64 rows of ``lede``, (n, k) uint32 lede sketches) open alike: both
    have a lede and at least ``LEDE_AGREE`` of the k sketch values are equal (an estimated Jaccard of
    their first ``LEDE_SHINGLES`` shingles of at least that share). Returns bool per pair; both
    engines call it (the Spark engine through ``partitions.lede_agree``)."""
    if not a.size:
        return np.zeros(0, bool)
    la, lb = lede[a], lede[b]
    none = np.uint32(0xFFFFFFFF)
    has = ~(la == none).all(axis=1) & ~(lb == none).all(axis=1)
    return has & ((la == lb).sum(axis=1) >= LEDE_AGREE * lede.shape[1])
