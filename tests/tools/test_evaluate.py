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

from dedup.tools.evaluate import adjusted_rand_index, evaluate


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


def test_cli_reads_parquet_dataset_with_run_date(tmp_path, cli):
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
    r = cli("eval", "--stories", tmp_path / "stories", "--gold", tmp_path / "gold.csv", "--run-date", "2024-05-01",
            "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["n_gold_stories"] == 3
    r = cli("eval", "--stories", tmp_path / "stories", "--gold", tmp_path / "gold.csv", "--run-date", "2024-05-02")
    assert r.exit_code == 0 and "precision 1.0000  recall 0.0000" in r.output
    r = cli("eval", "--stories", tmp_path / "stories", "--gold", tmp_path / "gold.csv")
    assert r.exit_code == 2 and "several nights" in r.output


def _eval_tmp(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"story_id": ["a", "b", "c"], "cluster_id": ["x", "x", "y"]}), tmp_path / "s.parquet")
    return tmp_path / "s.parquet"


@pytest.mark.parametrize("text, extra", [
    ("id,gold\na,G\nb,G\nc,H\n", ()),
    ("\ufeffStory_ID,Cluster\na,G\nb,G\nc,H\n", ()),  # Excel: a BOM and other case
    ("doc,grp\na,G\nb,G\nc,H\n", ()),  # two columns of other names: id, cluster in that order
    ("key,x,truth\na,1,G\nb,2,G\nc,3,H\n", ("--gold-columns", "key,truth")),
])
def test_cli_gold_column_names(tmp_path, cli, text, extra):
    """Issue 13 item 9: gold files whose columns are named otherwise are read, not a traceback."""
    (tmp_path / "g.csv").write_text(text, encoding="utf-8")
    r = cli("eval", "--stories", _eval_tmp(tmp_path), "--gold", tmp_path / "g.csv", "--json", *extra)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["n_gold_stories"] == 3


@pytest.mark.parametrize("text, extra, says", [
    ("key,x,truth\na,1,G\n", (), "--gold-columns ID,CLUSTER"),
    ("id,gold\na,G\n", ("--gold-columns", "key,truth"), "no column(s) ['key', 'truth']"),
    ("id,gold\na,G\n", ("--gold-columns", "key"), "two names"),
    ("id,gold\na,G\na,H\n", (), "more than once"),
])
def test_cli_gold_errors_are_one_line(tmp_path, cli, text, extra, says):
    (tmp_path / "g.csv").write_text(text, encoding="utf-8")
    r = cli("eval", "--stories", _eval_tmp(tmp_path), "--gold", tmp_path / "g.csv", *extra)
    assert r.exit_code == 2 and says in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


# ---------------------------------------------------------------- lines: chrome, text-loss, lost copies

from dedup.tools.evaluate import evaluate_lines  # noqa: E402

EMPTIED = "no story text left after removing HTML, chrome and furniture"
# story_id: (outlet, gold cluster, [(line, kind)]); kind "c" chrome, "s" story
PAGES = {
    "a": ("X", "G1", [("Menu", "c"), ("Alpha one.", "s"), ("Alpha two.", "s")]),
    "b": ("Y", "G1", [("Alpha one.", "s"), ("Alpha two.", "s"), ("Footer", "c")]),
    "c": ("X", "G2", [("Menu", "c"), ("Beta one.", "s")]),
    "d": ("Z", "W1", [("Wall text", "c")]),  # a wall-only page: no story line
    "e": ("Y", "G1", [("Alpha one.", "s")]),
    "f": ("Y", "G4", [("NEW YORK (Reuters) - Gamma one.", "s")]),
}


def _line_frames():
    batch = pd.DataFrame({"story_id": list(PAGES), "outlet": [v[0] for v in PAGES.values()],
                          "body": ["\n".join(x for x, _ in v[2]) for v in PAGES.values()]})
    gold = pd.DataFrame({"story_id": list(PAGES), "gold_cluster": [v[1] for v in PAGES.values()]})
    gl = pd.DataFrame([{"story_id": s, "line_no": i, "text": x, "is_chrome": k == "c",
                        "kind": "chrome:x" if k == "c" else "story"}
                       for s, v in PAGES.items() for i, (x, k) in enumerate(v[2])])
    return batch, gold, gl


def _run(clean: dict[str, str], rejected: dict[str, str]):
    stories = pd.DataFrame({"story_id": list(clean), "body_clean": list(clean.values())})
    rejects = pd.DataFrame({"story_id": list(rejected), "reason": list(rejected.values())})
    return stories, rejects


def test_lines_perfect_run_by_hand():
    batch, gold, gl = _line_frames()
    stories, rejects = _run({"a": "Alpha one.\nAlpha two.", "b": "Alpha one.\n  alpha TWO.  ", "c": "Beta one.",
                             "e": "Alpha one.", "f": "Gamma one."}, {"d": EMPTIED})
    r = evaluate_lines(batch, stories, rejects, gold, gl)
    # removed: a Menu, b Footer, c Menu, d Wall text (rejected: all its lines); f's dateline cut = trimmed
    assert (r.n_stories, r.n_input_lines, r.n_removed_lines, r.n_trimmed_lines) == (6, 11, 4, 1)
    assert r.gold_lines and (r.n_gold_chrome_lines, r.n_gold_story_lines) == (4, 7)
    assert (r.n_removed_chrome, r.n_removed_story) == (4, 0)
    assert r.text_loss == 0.0 and r.chrome_precision == 1.0 and r.chrome_recall == 1.0 and r.chrome_f1 == 1.0
    assert r.text_loss_cross_outlet == 0.0 and r.n_removed_kept_elsewhere == 0
    assert (r.n_rejected, r.n_rejected_as_chrome, r.n_lost_copies) == (1, 1, 0)
    assert (r.n_expected_rejects, r.n_expected_rejects_rejected) == (1, 1)


def test_lines_story_text_removed_by_hand():
    batch, gold, gl = _line_frames()
    # a loses "Alpha two." (wire text: b, another outlet, carries it in the same report);
    # e, a copy of G1, is rejected as empty: a lost copy whose "Alpha one." counts as removed.
    # c keeps its "Menu": a chrome miss.
    stories, rejects = _run({"a": "Alpha one.", "b": "Alpha one.\nAlpha two.", "c": "Menu\nBeta one.",
                             "f": "Gamma one."}, {"d": EMPTIED, "e": EMPTIED})
    r = evaluate_lines(batch, stories, rejects, gold, gl, max_examples=5)
    # removed: a Menu, a Alpha two., b Footer, d Wall text, e Alpha one. = 5; story 2, chrome 3 of 4
    assert (r.n_removed_lines, r.n_removed_story, r.n_removed_chrome) == (5, 2, 3)
    assert r.text_loss == pytest.approx(2 / 5)
    assert r.chrome_precision == pytest.approx(3 / 5) and r.chrome_recall == pytest.approx(3 / 4)
    assert r.chrome_f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert r.story_lines_lost == pytest.approx(2 / 7)
    # both removed story lines are in another outlet's copy of G1 and nowhere else
    assert r.n_removed_wire_lines == 2 and r.text_loss_cross_outlet == pytest.approx(2 / 5)
    # ...and b (outlet Y) kept "Alpha two." that a (X) lost; a (X) kept the rejected e's (Y) "Alpha one."
    assert r.n_removed_kept_elsewhere == 2 and r.text_loss_kept_elsewhere == pytest.approx(2 / 5)
    # a copy of the same outlet keeping the line does not count: only e (Y) and b (Y) keep "Alpha one."
    r4 = evaluate_lines(batch, stories.assign(body_clean=stories["body_clean"].where(stories["story_id"] != "a", "Menu")),
                        rejects, gold, gl)
    # a's two lines (b, outlet Y, kept them) count; e's "Alpha one." (outlet Y) is kept only by b, of its own outlet
    assert r4.n_removed_kept_elsewhere == 2 and r4.n_removed_lines == 5
    assert r.n_lost_copies == 1 and r.lost_copies == ["e"]
    assert {e["line"] for e in r.removed_story_examples} == {"Alpha one.", "Alpha two."}
    assert "text-loss 0.4000" in r.to_text()
    # without line gold: the cross-outlet figure and lost copies (gold cluster of several stories) only
    r2 = evaluate_lines(batch, stories, rejects, gold)
    assert not r2.gold_lines and r2.text_loss is None and r2.n_lost_copies == 1
    assert r2.text_loss_cross_outlet == pytest.approx(2 / 5)
    # line gold for another batch (the texts differ) is ignored, not misapplied
    r3 = evaluate_lines(batch, stories, rejects, gold, gl.assign(text=gl["text"] + "!"))
    assert not r3.gold_lines


def test_lines_on_a_synthetic_corpus(tmp_path):
    from bench.synth import corpus as synth

    if not synth.DEFAULT_SOURCE.is_dir():
        pytest.skip("Reuters-21578 files not found")
    synth.build_corpus(synth.DEFAULT_SOURCE, 150, tmp_path, seed=2, behaviours=("consent_wall", "link_lists"))
    batch = pd.read_json(tmp_path / "batch.jsonl", lines=True, dtype=False)
    clean = pd.read_json(tmp_path / "batch-clean.jsonl", lines=True, dtype=False)
    gold = pd.read_csv(tmp_path / "gold.csv", dtype=str)
    gl = pd.read_parquet(tmp_path / "gold-lines.parquet")
    batch = batch.rename(columns={"id": "story_id"}).astype({"story_id": str})
    clean = clean.rename(columns={"id": "story_id", "body": "body_clean"}).astype({"story_id": str})
    # a run that removes exactly the chrome (wall-only pages rejected): no text lost
    empty = clean["body_clean"].str.strip() == ""
    assert empty.any()
    rejects = pd.DataFrame({"story_id": clean["story_id"][empty], "reason": EMPTIED})
    r = evaluate_lines(batch, clean[~empty], rejects, gold, gl)
    assert r.gold_lines and r.text_loss == 0.0 and r.chrome_precision == 1.0 and r.chrome_recall == 1.0
    assert r.n_lost_copies == 0 and r.n_expected_rejects == r.n_expected_rejects_rejected == int(empty.sum())
    # one story line deliberately removed: text-loss above 0, one story line counted
    i = int(np.flatnonzero(~empty & clean["body_clean"].str.contains("\n"))[0])
    cut = clean.copy()
    cut.loc[i, "body_clean"] = cut.loc[i, "body_clean"].split("\n", 1)[1]
    r2 = evaluate_lines(batch, cut[~empty], rejects, gold, gl)
    assert r2.n_removed_story == 1 and r2.text_loss > 0 and r2.chrome_recall == 1.0
    # chrome kept in: a run with chrome removal off on this batch has recall 0 and loses no text
    r3 = evaluate_lines(batch, batch.rename(columns={"body": "body_clean"}), rejects.iloc[:0], gold, gl)
    assert r3.n_removed_lines == 0 and r3.text_loss == 0.0 and r3.chrome_recall == 0.0


def test_cli_line_figures(tmp_path, cli):
    import pyarrow as pa
    import pyarrow.parquet as pq

    batch, gold, gl = _line_frames()
    with open(tmp_path / "batch.jsonl", "w") as f:
        for s, o, b in zip(batch["story_id"], batch["outlet"], batch["body"]):
            f.write(json.dumps({"id": s, "outlet": o, "body": b}) + "\n")
    gold.to_csv(tmp_path / "gold.csv", index=False)
    gl.to_parquet(tmp_path / "gold-lines.parquet")
    clean = {"a": "Alpha one.", "b": "Alpha one.\nAlpha two.", "c": "Beta one.", "e": "Alpha one.", "f": "Gamma one."}
    (tmp_path / "out" / "stories").mkdir(parents=True)
    (tmp_path / "out" / "rejects").mkdir()
    pq.write_table(pa.table({"story_id": list(clean), "cluster_id": ["k1", "k1", "k2", "k1", "k4"],
                             "body_clean": list(clean.values())}), tmp_path / "out" / "stories" / "p.parquet")
    pq.write_table(pa.table({"story_id": ["d"], "reason": [EMPTIED]}), tmp_path / "out" / "rejects" / "p.parquet")
    r = cli("eval", "--stories", tmp_path / "out" / "stories", "--gold", tmp_path / "gold.csv",
            "--batch", tmp_path / "batch.jsonl", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["precision"] == 1.0 and out["n_gold_stories"] == 6  # the old keys are still there
    assert out["lines"]["n_removed_story"] == 1 and out["lines"]["text_loss"] == pytest.approx(1 / 5)
    assert out["lines"]["n_expected_rejects_rejected"] == 1


def test_by_language_counts_cross_language_false_merges_against_both():
    import pandas as pd

    from dedup.tools.evaluate import by_language

    gold = pd.DataFrame({"story_id": ["e1", "e2", "z1", "z2", "z3"], "gold_cluster": ["E", "E", "Z", "Z", "Y"]})
    # z2 (a truncated copy) missed; z3 (another Chinese report) merged into the English cluster
    pred = pd.DataFrame({"story_id": ["e1", "e2", "z1", "z2", "z3"], "cluster_id": ["a", "a", "b", "c", "a"]})
    langs = pd.DataFrame({"story_id": ["z1", "z2", "z3"], "language": ["zh"] * 3, "gold_cluster": ["Z", "Z", "Y"],
                          "edits": ["original", "chrome,truncated2", "original"]})
    f = {d["language"]: d for d in by_language(pred, gold, langs)}
    assert f["en"]["gold_pairs"] == 1 and f["en"]["recall"] == 1.0
    assert f["en"]["pred_pairs"] == 3 and f["en"]["precision"] == 1 / 3  # (e1,e2) right, (e1,z3) (e2,z3) wrong
    assert f["zh"]["gold_pairs"] == 1 and f["zh"]["recall"] == 0.0
    assert f["zh"]["pred_pairs"] == 2 and f["zh"]["precision"] == 0.0
    assert (f["zh"]["truncated"], f["zh"]["truncated_found"]) == (1, 0)


def test_lines_pair_by_text_before_the_figure_masking_key():
    """A table whose first row carries the dateline: cleaning cuts the dateline and keeps both rows.
    The line key masks figures, so the rows share it; pairing by text first keeps the second row from
    taking the first's place, and the first counts as trimmed, not as story text removed."""
    body = "SAN DIEGO (Reuters) - Shr 23 cts vs 18 cts\nNet 509,144 vs 277,834\nShr 55 cts vs 42 cts\nMenu"
    batch = pd.DataFrame({"story_id": ["t"], "outlet": ["X"], "body": [body]})
    gold = pd.DataFrame({"story_id": ["t"], "gold_cluster": ["G"]})
    gl = pd.DataFrame([{"story_id": "t", "line_no": i, "text": x, "is_chrome": x == "Menu",
                        "kind": "chrome:x" if x == "Menu" else "story"} for i, x in enumerate(body.split("\n"))])
    stories, rejects = _run({"t": "Shr 23 cts vs 18 cts\nNet 509,144 vs 277,834\nShr 55 cts vs 42 cts"}, {})
    r = evaluate_lines(batch, stories, rejects, gold, gl)
    assert (r.n_removed_lines, r.n_trimmed_lines, r.n_removed_story, r.n_removed_chrome) == (1, 1, 0, 1)
