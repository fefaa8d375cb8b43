import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash
from hypothesis import given, settings, strategies as st

from dedup.stages.fingerprint import fingerprint, permutations, shingle_hashes
from tests.conftest import OTHER, WIRE

TEXTS = WIRE + OTHER + ["", "one", "two words", "Ünïcode wörds stay together in tokens here"]


def _datasketch(text: str, num_perm: int, seed: int, k: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, scheme="affine32", hashfunc=int)
    for h in shingle_hashes(text, k):
        m.update(h)
    return m.hashvalues


@pytest.mark.parametrize("num_perm,seed,k", [(128, 1, 4), (64, 7, 3), (256, 42, 5)])
def test_signatures_equal_datasketch_affine32(num_perm, seed, k):
    fp = fingerprint(pa.array(TEXTS), num_perm=num_perm, shingle_size=k, seed=seed)
    for i, t in enumerate(TEXTS):
        np.testing.assert_array_equal(fp.signatures[i], _datasketch(t, num_perm, seed, k), err_msg=t[:40])


def test_permutations_are_datasketchs():
    a, b = permutations(128, 3)
    m = MinHash(num_perm=128, seed=3, scheme="affine32")
    np.testing.assert_array_equal(a, m.permutations[0])
    np.testing.assert_array_equal(b, m.permutations[1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200), max_size=6))
def test_parity_on_arbitrary_text(texts):
    fp = fingerprint(pa.array(texts, pa.string()), num_perm=32, shingle_size=3, seed=5)
    for i, t in enumerate(texts):
        np.testing.assert_array_equal(fp.signatures[i], _datasketch(t, 32, 5, 3))
        assert fp.n_shingles[i] == len(set(shingle_hashes(t, 3).tolist()))


def test_shingle_sets_are_sorted_unique_and_case_blind():
    fp = fingerprint(pa.array(["A b c d a b c d", "a B C D A B C D"]), num_perm=16, shingle_size=4, seed=1)
    s0 = fp.values[fp.offsets[0]:fp.offsets[1]]
    s1 = fp.values[fp.offsets[1]:fp.offsets[2]]
    assert np.all(np.diff(s0.astype(np.int64)) > 0)
    np.testing.assert_array_equal(s0, s1)
    assert fp.n_shingles[0] == 4  # abcd, bcda, cdab, dabc
    assert fp.n_tokens.tolist() == [8, 8]


def test_short_text_has_one_shingle_and_empty_has_none():
    fp = fingerprint(pa.array(["two words", ""]), num_perm=16, shingle_size=4, seed=1)
    assert fp.n_shingles.tolist() == [1, 0]
    assert np.all(fp.signatures[1] == np.uint32(0xFFFFFFFF))


def test_texts_of_one_byte_tokens_fit_the_tokenizer_buffers():
    # "%" is a word and a separator at once: "%%%%" is four tokens, one per byte. The tokenizer's
    # buffers once held half a token per byte, and the compiled kernel wrote past their end (a
    # scraped "%%%%%%" row of a table, "a%a%a%"). Run as plain Python, where an index past the end
    # raises, then compiled.
    from dedup.stages import fingerprint as F

    for text, tokens in (("%" * 41, 41), ("a%" * 20, 40), ("% " * 20, 20), ("$5 " * 10, 20)):
        data = np.frombuffer(text.encode(), np.uint8)
        with np.errstate(over="ignore"):  # FNV's products wrap around, as compiled
            toks, _ = F.token_hashes.py_func(data, 0, data.size, *F.TABLES)
        assert toks.size == tokens, text
        assert toks.tolist() == F.token_hashes(data, 0, data.size, *F.TABLES)[0].tolist()
        fp = fingerprint(pa.array([text, "an ordinary story"]), num_perm=16, shingle_size=4, seed=1)
        assert fp.n_tokens.tolist() == [tokens, 3] and len(shingle_hashes(text, 4)) == tokens - 3


def test_estimate_tracks_exact_jaccard():
    a = " ".join(WIRE)
    b = " ".join(WIRE[:3] + OTHER[:1])
    fp = fingerprint(pa.array([a, b]), num_perm=256, shingle_size=4, seed=1)
    sa = set(fp.values[fp.offsets[0]:fp.offsets[1]].tolist())
    sb = set(fp.values[fp.offsets[1]:fp.offsets[2]].tolist())
    exact = len(sa & sb) / len(sa | sb)
    est = float(np.mean(fp.signatures[0] == fp.signatures[1]))
    assert abs(est - exact) < 0.1


def test_long_stories_shingle_sets_are_sorted_unique():
    # Over 32 shingles a story's hashes are radix sorted; repeats collapse.
    words = " ".join(f"w{i % 150}" for i in range(600))
    fp = fingerprint(pa.array([words, words[:400]]), num_perm=16, shingle_size=4, seed=1)
    for i in range(2):
        s = fp.values[fp.offsets[i]:fp.offsets[i + 1]]
        np.testing.assert_array_equal(s, np.unique(shingle_hashes([words, words[:400]][i], 4)))


def test_lede_from_starts_the_lede_sketch_later_in_the_text():
    """``lede_from`` (bytes) moves only the lede sketch: it equals the lede of the text cut there,
    and the signature and shingles stay those of the whole text."""
    import numpy as np
    import pyarrow as pa

    from dedup.stages.fingerprint import fingerprint

    title = "live: weir to be lowered, ferry pulled free and more\nweir to be lowered\n"
    lede = ("the river authority said on friday it would lower the weir at cobb mill by half a metre to ease "
            "flooding upstream, and engineers will start the work next month.")
    whole = fingerprint(pa.array([title + lede]), num_perm=64, shingle_size=4, seed=1)
    moved = fingerprint(pa.array([title + lede]), num_perm=64, shingle_size=4, seed=1,
                        lede_from=np.array([len(title.encode())]))
    cut = fingerprint(pa.array([lede]), num_perm=64, shingle_size=4, seed=1)
    assert (moved.lede == cut.lede).all() and not (whole.lede == cut.lede).all()
    assert (moved.signatures == whole.signatures).all()
    # Per story, also when two stories share the text (fingerprinted once): only the first moves.
    both = fingerprint(pa.array([title + lede] * 2), num_perm=64, shingle_size=4, seed=1,
                       lede_from=np.array([len(title.encode()), 0]))
    assert (both.lede[0] == cut.lede[0]).all() and (both.lede[1] == whole.lede[0]).all()


def test_repeated_texts_get_the_rows_of_their_own_text():
    # Each distinct text is fingerprinted once and copied to its repeats (fingerprint's distinct):
    # a story's rows must be what it gets alone, wherever its copies sit in the batch.
    texts = [WIRE[0], OTHER[0], WIRE[0], None, "", WIRE[1], OTHER[0], WIRE[0]]
    fp = fingerprint(pa.array(texts, pa.string()), num_perm=64, shingle_size=4, seed=1)
    for i, t in enumerate(texts):
        one = fingerprint(pa.array([t or ""]), num_perm=64, shingle_size=4, seed=1)
        np.testing.assert_array_equal(fp.signatures[i], one.signatures[0])
        np.testing.assert_array_equal(fp.values[fp.offsets[i]:fp.offsets[i + 1]], one.values)
        np.testing.assert_array_equal(fp.lede[i], one.lede[0])
        assert (fp.n_tokens[i], fp.text_hash[i]) == (one.n_tokens[0], one.text_hash[0])
    assert fp.offsets[-1] == fp.values.shape[0]


@pytest.mark.parametrize("consume", [False, True])
def test_concat_equals_concatenating_each_field(consume, monkeypatch):
    # The night joins the chunks' fingerprints (and the window's, which have no ledes) into one;
    # with consume=True each part is let go once copied, and the result is the same.
    from dedup.stages.fingerprint import LEDE_PERM, Fingerprints

    wire, other = "\n\n".join(WIRE), "\n\n".join(OTHER)
    texts = [wire, other, "", "one two", wire + " More words follow here.", other[:200]]
    a = fingerprint(pa.array(texts[:4]), num_perm=32, shingle_size=4, seed=1)
    b = fingerprint(pa.array(texts[4:]), num_perm=32, shingle_size=4, seed=1)
    w = fingerprint(pa.array([other]), num_perm=32, shingle_size=4, seed=1)
    w.lede = None  # as a window's
    parts = [w, a, b]
    calls = []
    monkeypatch.setattr("dedup.stages.fingerprint.RELEASE_BYTES", 1)  # release after every part let go
    got = Fingerprints.concat(parts, 32, consume=consume, release=lambda: calls.append(1))
    assert (parts == []) == consume and len(calls) == (3 if consume else 0)
    whole = fingerprint(pa.array([other] + texts), num_perm=32, shingle_size=4, seed=1)
    for name in ("signatures", "offsets", "values", "n_tokens", "text_hash"):
        x, y = getattr(got, name), getattr(whole, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert (got.lede[0] == 0xFFFFFFFF).all() and got.lede.shape == (7, min(LEDE_PERM, 32))
    assert np.array_equal(got.lede[1:], whole.lede[1:])
    assert Fingerprints.concat([], 32).signatures.shape == (0, 32)
