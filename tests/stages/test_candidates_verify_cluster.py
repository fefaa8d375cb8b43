import numpy as np
import pyarrow as pa
import pytest
from datasketch.lsh import _optimal_param

from dedup.stages import candidates
from dedup.stages import cluster
from dedup.stages import verify
from dedup.stages.fingerprint import fingerprint
from tests.conftest import OTHER, WIRE


@pytest.mark.parametrize("threshold,num_perm", [(0.2, 128), (0.5, 128), (0.8, 64), (0.3, 256)])
def test_lsh_params_match_datasketch(threshold, num_perm):
    assert candidates.lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


@pytest.mark.parametrize("num_perm", sorted(candidates._KNOWN_PARAMS))
def test_known_lsh_params_match_datasketch(num_perm):
    for threshold, params in candidates._KNOWN_PARAMS[num_perm].items():
        assert params == _optimal_param(threshold, num_perm, 0.5, 0.5), (threshold, num_perm)
        assert params == candidates._search_params(threshold, num_perm, 0.5, 0.5), (threshold, num_perm)


def test_lsh_params_off_the_table_are_searched():
    assert candidates.lsh_params(0.21, 64) == _optimal_param(0.21, 64, 0.5, 0.5)
    assert candidates.lsh_params(0.2, 64, 0.3, 0.7) == _optimal_param(0.2, 64, 0.3, 0.7)


def _fp(texts, k=4):
    return fingerprint(pa.array(texts), num_perm=128, shingle_size=k, seed=1)


def test_near_and_truncated_copies_are_candidates_unrelated_are_not():
    full = "\n".join(WIRE)
    texts = [full, "\n".join(WIRE[:2]), full.replace("eleven", "11").replace("Monday", "Sunday"), *OTHER]
    fp = _fp(texts)
    rank = cluster.preference_rank(fp.n_shingles, np.zeros(len(texts), np.int64), np.array([str(i) for i in range(len(texts))]))
    c = candidates.generate(fp.signatures, rank, threshold=0.2, max_bucket=100)
    pairs = set(zip(c.left.tolist(), c.right.tolist()))
    assert (0, 1) in pairs and (0, 2) in pairs
    assert not any(i >= 3 or j >= 3 for i, j in pairs)
    # Pairs always run from the better-ranked story.
    assert all(rank[i] < rank[j] for i, j in pairs)


def test_big_buckets_are_linear_and_reported():
    sig = np.zeros((1000, 16), np.uint32)  # every story identical: one bucket per band
    rank = np.arange(1000)
    c = candidates.generate(sig, rank, threshold=0.5, max_bucket=100)
    assert c.big_buckets == c.bands
    assert len(c) <= 2 * 1000  # head and predecessor pairs, not 1000*999/2
    # Every copy still gets a pair in the over-full buckets: nothing is left unmatched.
    assert set(c.right.tolist()) == set(range(1, 1000))


def _score(texts, pairs, words=None, short_words=0):
    fp = _fp(texts)
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])
    n = len(texts)
    return verify.score_pairs(
        fp.offsets, fp.values, left, right,
        words=np.full(n, 1000) if words is None else np.array(words),
        text_hash=np.arange(1, n + 1, dtype=np.uint64), headline_hash=np.zeros(n, np.uint64),
        threshold=0.5, containment_threshold=0.8, short_words=short_words,
    ), fp


def test_verify_computes_exact_jaccard_and_containment():
    texts = ["a b c d e f g h", "a b c d e f", "x y z w v u"]
    s, fp = _score(texts, [(0, 1), (0, 2)])
    # 4-shingles: 5 in text 0, 3 in text 1, all shared -> J = 3/5, containment = 1.
    assert s.jaccard.tolist() == pytest.approx([0.6, 0.0])
    assert s.containment.tolist() == pytest.approx([1.0, 0.0])
    assert s.match.tolist() == [True, False]


def test_short_stories_need_exact_text_or_whole_lede():
    texts = ["a b c d e f g h i", "a b c d e f g h j"]
    s, _ = _score(texts, [(0, 1)], words=[9, 9], short_words=30)
    assert s.jaccard[0] == pytest.approx(5 / 7)
    assert not s.match[0]  # would match on Jaccard if long


def test_star_clustering_does_not_chain():
    # 0~1 and 1~2 match, 0 and 2 do not: 2 must not join 0's cluster.
    label = cluster.star_clusters(3, np.array([0, 1, 2]), np.array([0, 1]), np.array([1, 2]))
    assert label.tolist() == [0, 0, 2]


def test_star_takes_canonical_in_rank_order():
    # Story 2 is ranked first: it becomes the canonical of everything it matches.
    label = cluster.star_clusters(3, np.array([2, 1, 0]), np.array([2, 2]), np.array([0, 1]))
    assert label.tolist() == [2, 2, 2]


def test_preference_rank_longest_then_earliest_then_id():
    rank = cluster.preference_rank(np.array([10, 20, 20, 20]), np.array([5, 9, 3, 3]), np.array(["d", "c", "b", "a"]))
    assert rank.tolist() == [3, 2, 1, 0]


def test_rescue_joins_lone_story_contained_in_canonical():
    label = np.array([0, 0, 2])
    out = cluster.rescue(label, np.array([1]), np.array([2]), np.array([True]),
                         lambda s, c: np.full(len(s), 0.6), 0.5)
    assert out.tolist() == [0, 0, 0]
    out = cluster.rescue(label, np.array([1]), np.array([2]), np.array([True]),
                         lambda s, c: np.full(len(s), 0.4), 0.5)
    assert out.tolist() == [0, 0, 2]


@pytest.mark.parametrize("num_perm, threshold", [(16, 0.5), (64, 0.2)])  # 1 group of bands; 4 groups of 8
def test_candidates_equal_sorting_every_band(num_perm, threshold):
    # Reference: per band, sort by (key, rank) and pair each member with its bucket's head and
    # its predecessor; the union of all bands, sorted.
    rng = np.random.default_rng(3)
    sig = rng.integers(0, 4, (300, num_perm), dtype=np.uint64).astype(np.uint32)  # many collisions
    rank = rng.permutation(300)
    extra = rng.integers(0, 30, 300).astype(np.uint64)
    c = candidates.generate(sig, rank, threshold=threshold, max_bucket=20, extra_keys=[extra])
    bands, rows = candidates.lsh_params(threshold, num_perm)
    keys = list(candidates.band_keys(sig, bands, rows)) + [extra]
    expect, big = set(), 0
    for k in keys:
        order = sorted(range(300), key=lambda i: (k[i], rank[i]))
        groups = {}
        for i in order:
            groups.setdefault(k[i], []).append(i)
        for members in groups.values():
            big += len(members) > 20
            for t in range(1, len(members)):
                expect.add((members[0], members[t]))
                if t > 1:
                    expect.add((members[t - 1], members[t]))
    assert list(zip(c.left.tolist(), c.right.tolist())) == sorted(expect)
    assert c.big_buckets == big


def test_band_keys_of_a_group_equal_band_keys():
    # generate computes the bands a group at a time, serially: the same keys as band_keys' rows.
    sig = np.random.default_rng(4).integers(0, 1 << 32, (500, 64), dtype=np.uint64).astype(np.uint32)
    every = candidates.band_keys(sig, 28, 2)
    for b0, b1 in ((0, 8), (8, 16), (24, 28), (5, 6)):
        assert np.array_equal(candidates._band_keys_of(sig, b0, b1, 2), every[b0:b1])


def test_score_pairs_in_batches_equals_all_at_once(monkeypatch):
    # A night's pairs are scored a batch at a time (SCORE_BATCH): every rule, the number veto
    # included, reads one pair, so the batches give the pairs' scores of a single call.
    from dedup.stages.fingerprint import number_sequences

    rng = np.random.default_rng(7)
    sentences = WIRE + OTHER + ["Shares rose 4 pct to 12.5 dlrs on 3 mln volume in 1987, up from 9 dlrs.",
                                "Shares rose 5 pct to 12.5 dlrs on 3 mln volume in 1987, up from 9 dlrs."]
    texts = [" ".join(rng.choice(sentences, rng.integers(1, 4))) for _ in range(40)] + sentences[-2:] * 3
    n = len(texts)
    fp = _fp(texts)
    words = np.array([len(t.split()) for t in texts])
    want = verify.numbers_wanted(words, 30)
    off, vals = number_sequences(pa.array(texts), want)
    numbers = verify.numbers_of(pa.LargeListArray.from_arrays(pa.array(off), pa.array(vals)), 0, words, 30)
    left, right = rng.integers(0, n, 300), rng.integers(0, n, 300)
    kw = dict(words=words, text_hash=fp.text_hash, headline_hash=rng.integers(0, 3, n).astype(np.uint64),
              threshold=0.5, containment_threshold=0.8, short_words=30, numbers=numbers)
    whole = verify.score_pairs(fp.offsets, fp.values, left, right, **kw)
    monkeypatch.setattr(verify, "SCORE_BATCH", 7)
    parts = verify.score_pairs(fp.offsets, fp.values, left, right, **kw)
    assert whole.match.any() and not whole.match.all()
    for f in ("jaccard", "containment", "match"):
        assert np.array_equal(getattr(whole, f), getattr(parts, f)), f
