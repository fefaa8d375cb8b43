"""bench/baseline_rensa.py on the datasketch baseline's tiny handmade batch."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.bench.test_baseline import batch  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("rensa")  # pinned in the test and bench extras


@pytest.fixture(scope="module")
def rensa_baseline():
    spec = importlib.util.spec_from_file_location("baseline_rensa", ROOT / "bench" / "baseline_rensa.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bands_are_datasketch_choice_among_divisors(rensa_baseline):
    from datasketch import MinHashLSH

    # At 120 permutations datasketch's choice for 0.5 (24 bands of 5) uses every permutation: the
    # same. At 128 its choice (25 x 5) leaves 3 out, which rensa refuses: a divisor instead.
    assert rensa_baseline.lsh_bands(0.5, 120) == MinHashLSH(threshold=0.5, num_perm=120).b
    for threshold in (0.3, 0.5, 0.8):
        b = rensa_baseline.lsh_bands(threshold, 128)
        assert 128 % b == 0
    assert rensa_baseline.lsh_bands(0.2, 128) > rensa_baseline.lsh_bands(0.8, 128)


def test_clusters_near_duplicates_like_the_datasketch_baseline(rensa_baseline, batch):  # noqa: F811
    path, _ = batch
    clusters, timings = rensa_baseline.run_baseline(path)
    assert list(clusters.story_id) == ["a1", "a2", "a3", "b1", "b2", "c1", "e1"]
    c = dict(zip(clusters.story_id, clusters.cluster_id))
    assert c["a1"] == c["a2"] == c["a3"] and c["b1"] == c["b2"]
    assert len({c["a1"], c["b1"], c["c1"], c["e1"]}) == 4
    assert timings["stories"] == 7
    parts = sum(timings[k] for k in ("read", "minhash", "index", "query_and_cluster"))
    assert parts <= timings["total"] + 1e-6


def test_cli_json_scores_against_gold(rensa_baseline, batch, capsys):  # noqa: F811
    import json

    path, gold = batch
    assert rensa_baseline.main(["--input", str(path), "--gold", str(gold), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["timings"]["stories"] == 7 and doc["evaluation"] is not None
