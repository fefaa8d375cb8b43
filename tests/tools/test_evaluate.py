"""dedup.tools.evaluate on hand-built cases (expected values worked out by hand below)."""
from __future__ import annotations

import itertools
import json
import time
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.tools.evaluate import adjusted_rand_index, evaluate, main


def frames(gold: dict[str, str], pred: dict[str, object]) -> tuple[pd.DataFrame, pd.DataFrame]:
    g = pd.DataFrame({"story_id": list(gold), "gold_cluster": list(gold.values())})
    p = pd.DataFrame({"story_id": list(pred), "cluster_id": list(pred.values())})
    return p, g


def test_mixed_case_by_hand():
    # gold: {a,b,c} {d,e} {f}      pred: {a,b} {c,d,e} {f}
    # gold pairs = C(3,2)+C(2,2) = 3+1 = 4; pred pairs = C(2,2)+C(3,2) = 1+3 = 4
    # contingency cells: (G1,P1)=2 (G1,P2)=1 (G2,P2)=2 (G3,P3)=1 -> true pairs = 1+0+1+0 = 2
    # P = 2/4, R = 2/4, F1 = 0.5
    # ARI: n=6, all pairs 15, expected = 4*4/15 = 16/15, max = (4+4)/2 = 4,
    #      (2 - 16/15) / (4 - 16/15) = (14/15)/(44/15) = 7/22
    # sklearn's pair-confusion form: tp=2 fp=2 fn=2 tn=15-6=9:
    #      2*(2*9 - 2*2) / ((2+2)*(2+9) + (2+2)*(2+9)) = 28/88 = 7/22  (same)
    p, g = frames({"a": "G1", "b": "G1", "c": "G1", "d": "G2", "e": "G2", "f": "G3"},
                  {"a": "P1", "b": "P1", "c": "P2", "d": "P2", "e": "P2", "f": "P3"})
    r = evaluate(p, g)
    assert (r.n_gold_pairs, r.n_pred_pairs, r.n_true_pairs) == (4, 4, 2)
    assert r.precision == pytest.approx(0.5)
    assert r.recall == pytest.approx(0.5)
    assert r.f1 == pytest.approx(0.5)
    assert r.ari == pytest.approx(7 / 22)
    assert (r.n_gold_clusters, r.n_pred_clusters, r.n_missing_from_pred) == (3, 3, 0)
    # false merges: P2 holds c (G1) with d,e (G2): 3 pairs - 1 right = 2 wrong
    assert r.n_false_merge_pairs == 2 and r.n_pred_clusters_with_false_merges == 1
    fm = r.false_merges[0]
    assert fm.pred_a == fm.pred_b == "P2" and fm.cluster_size == 3 and fm.wrong_pairs == 2
    assert {fm.gold_a, fm.gold_b} == {"G1", "G2"}
    assert fm.gold_a == "G2"  # the larger gold group of the cluster comes first
    # misses: G1 is split {a,b} | {c}: 3 pairs - 1 kept = 2 missed
    assert r.n_missed_pairs == 2 and r.n_gold_clusters_split == 1
    ms = r.misses[0]
    assert ms.gold_a == ms.gold_b == "G1" and {ms.pred_a, ms.pred_b} == {"P1", "P2"}
    assert ms.story_a in ("a", "b") and ms.story_b == "c"


@pytest.mark.parametrize(
    "gold_labels, pred_labels, expected",
    [
        # sklearn docs: adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) == 0.57...
        # gold pairs 1, pred pairs 2, true 1; expected = 1*2/6 = 1/3, max = 1.5
        # (1 - 1/3) / (1.5 - 1/3) = (2/3)/(7/6) = 4/7
        ([0, 0, 1, 2], [0, 0, 1, 1], 4 / 7),
        # sklearn docs: ([0, 0, 1, 1], [0, 1, 0, 1]) == -0.5
        # gold 2, pred 2, true 0; expected = 4/6, max = 2: (0 - 2/3)/(2 - 2/3) = -1/2
        ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),
        # sklearn docs: ([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0 (gold 6, pred 0, expected 0)
        ([0, 0, 0, 0], [0, 1, 2, 3], 0.0),
        # permuted labels, same partition
        ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),
        # both all singletons: perfect agreement (sklearn special case)
        ([0, 1, 2], [5, 6, 7], 1.0),
        # everything in one cluster on both sides
        ([3, 3, 3], [9, 9, 9], 1.0),
    ],
)
def test_ari_matches_sklearn_examples(gold_labels, pred_labels, expected):
    ids = [f"s{i}" for i in range(len(gold_labels))]
    p, g = frames(dict(zip(ids, map(str, gold_labels))), dict(zip(ids, pred_labels)))
    assert evaluate(p, g).ari == pytest.approx(expected)


def test_everything_merged_by_hand():
    # gold {a,b} {c} {d}; pred one cluster of 4
    # gold pairs 1, pred pairs 6, true 1: P = 1/6, R = 1
    # ARI: expected = 6*1/6 = 1, max = 3.5 -> (1-1)/(3.5-1) = 0
    p, g = frames({"a": "G1", "b": "G1", "c": "G2", "d": "G3"}, {"a": 0, "b": 0, "c": 0, "d": 0})
    r = evaluate(p, g)
    assert r.precision == pytest.approx(1 / 6)
    assert r.recall == 1.0
    assert r.f1 == pytest.approx(2 * (1 / 6) / (1 / 6 + 1))
    assert r.ari == pytest.approx(0.0)
    assert r.n_false_merge_pairs == 5 and r.n_missed_pairs == 0 and r.misses == []


def test_missing_and_extra_stories_by_hand():
    # gold {a,b,c} G1, {d} G2; pred has a,b in "x" plus "z" (not in gold); c and d missing.
    # c and d count as singletons: pred pairs 1 (a,b), gold pairs 3, true 1
    # P = 1, R = 1/3, F1 = 2*(1/3)/(4/3) = 0.5
    # ARI: n=4, all pairs 6; expected = 1*3/6 = 0.5, max = 2 -> (1-0.5)/(2-0.5) = 1/3
    p, g = frames({"a": "G1", "b": "G1", "c": "G1", "d": "G2"}, {"a": "x", "b": "x", "z": "x"})
    r = evaluate(p, g)
    assert r.n_gold_stories == 4 and r.n_pred_stories == 3
    assert r.n_missing_from_pred == 2 and r.n_extra_in_pred == 1
    assert (r.n_pred_pairs, r.n_gold_pairs, r.n_true_pairs) == (1, 3, 1)
    assert r.precision == 1.0 and r.recall == pytest.approx(1 / 3) and r.f1 == pytest.approx(0.5)
    assert r.ari == pytest.approx(1 / 3)
    assert r.n_pred_clusters == 3  # x, and c and d as singletons
    ms = r.misses[0]
    assert (ms.story_a, ms.pred_a) == ("a", "x") and (ms.story_b, ms.pred_b) == ("c", None)
    assert "missing" in r.to_text()


def test_null_cluster_counts_as_missing_singleton():
    p, g = frames({"a": "G", "b": "G"}, {"a": 1, "b": None})
    r = evaluate(p, g)
    assert r.n_missing_from_pred == 1 and r.n_pred_pairs == 0 and r.recall == 0.0 and r.precision == 1.0


def test_singletons_only():
    ids = [f"s{i}" for i in range(5)]
    p, g = frames({i: i for i in ids}, {i: i for i in ids})
    r = evaluate(p, g)
    assert (r.n_gold_pairs, r.n_pred_pairs, r.n_true_pairs) == (0, 0, 0)
    assert (r.precision, r.recall, r.f1, r.ari) == (1.0, 1.0, 1.0, 1.0)
    assert r.false_merges == [] and r.misses == []
    # gold with pairs, prediction all singletons: nothing claimed, everything missed
    p2, g2 = frames({"a": "G", "b": "G", "c": "G"}, {"a": 1, "b": 2, "c": 3})
    r2 = evaluate(p2, g2)
    assert r2.precision == 1.0 and r2.recall == 0.0 and r2.f1 == 0.0 and r2.ari == 0.0
    assert r2.n_missed_pairs == 3


def test_worst_examples_first_with_excerpts():
    gold = {}
    pred = {}
    # big wrong cluster: 10 stories of A + 5 of B in pred cluster "big" (50 wrong pairs)
    for i in range(10):
        gold[f"a{i}"], pred[f"a{i}"] = "A", "big"
    for i in range(5):
        gold[f"b{i}"], pred[f"b{i}"] = "B", "big"
    # small wrong cluster: 1 of C + 1 of D in "small" (1 wrong pair)
    gold["c0"], pred["c0"] = "C", "small"
    gold["d0"], pred["d0"] = "D", "small"
    p, g = frames(gold, pred)
    bodies = pd.Series({k: f"body of {k} " + "word " * 100 for k in gold})
    r = evaluate(p, g, bodies=bodies, max_examples=1)
    assert len(r.false_merges) == 1
    ex = r.false_merges[0]
    assert ex.pred_a == "big" and ex.wrong_pairs == 50 and ex.cluster_size == 15
    assert ex.gold_a == "A" and ex.gold_b == "B"
    assert ex.excerpt_a.startswith(f"body of {ex.story_a}") and len(ex.excerpt_a) <= 160
    r2 = evaluate(p, g, max_examples=5)
    assert [e.pred_a for e in r2.false_merges] == ["big", "small"]
    assert r2.false_merges[0].excerpt_a is None
    d = r2.to_dict()
    json.dumps(d)
    assert d["n_false_merge_pairs"] == 51 and d["false_merges"][1]["wrong_pairs"] == 1


def test_rejects_duplicates_and_missing_columns():
    p, g = frames({"a": "G", "b": "G"}, {"a": 1, "b": 1})
    with pytest.raises(ValueError, match="more than once"):
        evaluate(pd.concat([p, p]), g)
    with pytest.raises(ValueError, match="more than once"):
        evaluate(p, pd.concat([g, g]))
    with pytest.raises(ValueError, match="cluster_id"):
        evaluate(p.rename(columns={"cluster_id": "c"}), g)


def _brute_force(gold_labels, pred_labels):
    n = len(gold_labels)
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(n), 2):
        sg = gold_labels[i] == gold_labels[j]
        sp = pred_labels[i] == pred_labels[j]
        tp += sg and sp
        fp += sp and not sg
        fn += sg and not sp
    # ARI via the expected-index formula, exact fractions
    total = n * (n - 1) // 2
    sum_a, sum_b = tp + fp, tp + fn
    if total == 0:
        ari = Fraction(1)
    else:
        expected = Fraction(sum_a * sum_b, total)
        mx = Fraction(sum_a + sum_b, 2)
        ari = Fraction(1) if mx == expected else (tp - expected) / (mx - expected)
    return tp, fp, fn, float(ari)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=25))
def test_matches_brute_force_pair_enumeration(labels):
    gold_labels = [g for g, _ in labels]
    pred_labels = [p for _, p in labels]
    ids = [f"s{i}" for i in range(len(labels))]
    p, g = frames(dict(zip(ids, map(str, gold_labels))), dict(zip(ids, pred_labels)))
    r = evaluate(p, g)
    tp, fp, fn, ari = _brute_force(gold_labels, pred_labels)
    assert r.n_true_pairs == tp and r.n_false_merge_pairs == fp and r.n_missed_pairs == fn
    assert r.ari == pytest.approx(ari, abs=1e-12)
    assert adjusted_rand_index(tp, tp + fp, tp + fn, len(ids)) == pytest.approx(ari, abs=1e-12)


def test_a_million_stories_in_seconds():
    rng = np.random.default_rng(0)
    n = 1_000_000
    # gold: clusters up to several thousand stories (power law sizes)
    sizes = np.minimum((rng.pareto(1.2, 60_000) + 1).astype(np.int64), 5000)
    sizes = sizes[np.cumsum(sizes) <= n]
    sizes = np.append(sizes, n - sizes.sum())
    gold_code = np.repeat(np.arange(len(sizes)), sizes)
    ids = np.char.add("s", np.arange(n).astype(str))
    pred_code = np.where(rng.random(n) < 0.05, rng.integers(0, 1000, n), gold_code // 2)
    gold = pd.DataFrame({"story_id": ids, "gold_cluster": gold_code})
    pred = pd.DataFrame({"story_id": ids, "cluster_id": pred_code})
    t = time.perf_counter()
    r = evaluate(pred, gold)
    assert time.perf_counter() - t < 20
    assert r.n_gold_stories == n and 0 < r.precision < 1 and 0 < r.recall < 1
    assert int(sizes.max()) >= 1000


def test_cli_reads_parquet_dataset_with_run_date(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pd.DataFrame({
        "story_id": ["a", "b", "c", "a", "b", "c"],
        "cluster_id": ["x", "x", "y", "x", "y", "z"],
        "run_date": ["2024-05-01"] * 3 + ["2024-05-02"] * 3,
    })
    pq.write_to_dataset(pa.Table.from_pandas(df), root_path=str(tmp_path / "stories"), partition_cols=["run_date"])
    pd.DataFrame({"story_id": ["a", "b", "c"], "gold_cluster": ["G", "G", "H"]}).to_csv(tmp_path / "gold.csv",
                                                                                      index=False)
    assert main(["--stories", str(tmp_path / "stories"), "--gold", str(tmp_path / "gold.csv"),
                 "--run-date", "2024-05-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["n_gold_stories"] == 3
    assert main(["--stories", str(tmp_path / "stories"), "--gold", str(tmp_path / "gold.csv"),
                 "--run-date", "2024-05-02"]) == 0
    text = capsys.readouterr().out
    assert "precision 1.0000  recall 0.0000" in text
    with pytest.raises(SystemExit, match="several nights"):
        main(["--stories", str(tmp_path / "stories"), "--gold", str(tmp_path / "gold.csv")])
