"""bench/baseline_datasketch.py on a tiny handmade batch."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline():
    spec = importlib.util.spec_from_file_location("baseline_datasketch", ROOT / "bench" / "baseline_datasketch.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


STORY_A = (
    "The central bank left its key lending rate unchanged on Thursday, saying inflation pressures had eased "
    "over the winter while growth in bank credit remained close to the target range set at the start of the "
    "year. Economists had widely expected the decision and said the bank was likely to keep policy on hold "
    "until the summer, when new figures on wages and consumer prices are due."
)
STORY_B = (
    "Shares of the mining group rose sharply after it reported a larger than expected rise in copper output "
    "for the quarter and said a strike at its largest mine in the north of the country had ended after three "
    "weeks of talks between the company and the union representing most of the workers at the site."
)
STORY_C = "An unrelated short notice about a quarterly dividend of ten cents payable next month to holders."


@pytest.fixture()
def batch(tmp_path):
    recs = [
        ("a1", STORY_A),
        ("a2", STORY_A.replace("Thursday", "Wednesday")),
        ("a3", "LONDON (Reuters) - " + STORY_A),
        ("b1", STORY_B),
        ("b2", STORY_B + " Trading was heavy."),
        ("c1", STORY_C),
        ("e1", ""),
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps({"id": i, "body": b}) + "\n" for i, b in recs), encoding="utf-8")
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"story_id": [r[0] for r in recs], "gold_cluster": ["A", "A", "A", "B", "B", "C", "E"]}).to_csv(
        gold, index=False)
    return path, gold


def test_shingles(baseline):
    assert sorted(baseline.shingle_set("A b C d e", 4)) == [b"a b c d", b"b c d e"]
    assert sorted(baseline.shingle_set("A b C d e", 2)) == [b"a b", b"b c", b"c d", b"d e"]
    assert baseline.shingle_set("two words", 4) == [b"two words"]


def test_clusters_near_duplicates(baseline, batch):
    path, _ = batch
    clusters, timings = baseline.run_baseline(path)
    assert list(clusters.columns) == ["story_id", "cluster_id"]
    assert list(clusters.story_id) == ["a1", "a2", "a3", "b1", "b2", "c1", "e1"]
    c = dict(zip(clusters.story_id, clusters.cluster_id))
    assert c["a1"] == c["a2"] == c["a3"]
    assert c["b1"] == c["b2"]
    assert len({c["a1"], c["b1"], c["c1"], c["e1"]}) == 4
    # The stage timings add up to the total (each stage timed once, none left out).
    parts = sum(timings[k] for k in ("read", "minhash", "index", "query_and_cluster"))
    assert parts <= timings["total"] + 1e-6 and parts >= 0.5 * timings["total"]
    assert timings["stories_per_second"] == pytest.approx(7 / timings["total"], rel=0.05)
    assert timings["stories"] == 7


def test_threshold_is_used(baseline, tmp_path):
    # STORY_A has 67 words, 64 word 4-shingles. x2 keeps its first 52 words and adds 6
    # others: 55 shingles, 49 shared; exact Jaccard 49 / (64 + 55 - 49) = 0.7.
    a = STORY_A.split()
    x2 = " ".join(a[:52] + STORY_B.split()[:6])
    s1, s2 = set(baseline.shingle_set(STORY_A, 4)), set(baseline.shingle_set(x2, 4))
    assert len(s1 & s2) / len(s1 | s2) == pytest.approx(0.7)
    path = tmp_path / "pair.jsonl"
    path.write_text(json.dumps({"id": "x1", "body": STORY_A}) + "\n" + json.dumps({"id": "x2", "body": x2}) + "\n")
    low, _ = baseline.run_baseline(path, threshold=0.5)
    high, _ = baseline.run_baseline(path, threshold=0.95)
    assert low.cluster_id.nunique() == 1
    assert high.cluster_id.nunique() == 2


def test_cli_prints_evaluation(baseline, batch, capsys):
    path, gold = batch
    assert baseline.main(["--input", str(path), "--gold", str(gold)]) == 0
    out = capsys.readouterr().out
    assert "precision 1.0000  recall 1.0000" in out and "stories/s" in out
    assert baseline.main(["--input", str(path), "--gold", str(gold), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["evaluation"]["f1"] == 1.0 and res["timings"]["stories"] == 7
