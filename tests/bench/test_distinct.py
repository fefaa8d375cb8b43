"""bench/distinct.py: a batch where every story is its own cluster."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

from dedup import load_config, run
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]


def test_distinct_batch_is_one_cluster_per_story(tmp_path):
    source = shared_path("corpora", "reuters21578")  # skips where the shared material is absent
    spec = importlib.util.spec_from_file_location("bench_distinct", ROOT / "bench" / "distinct.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    batch = tmp_path / "d.jsonl"
    assert mod.main(["--n", "300", "--out", str(batch), "--source", str(source)]) == 0
    again = tmp_path / "again.jsonl"
    mod.main(["--n", "300", "--out", str(again), "--source", str(source)])
    assert batch.read_bytes() == again.read_bytes()  # the same seed, the same batch
    rows = pd.read_json(batch, lines=True)
    assert len(rows) == 300 and rows.id.is_unique and rows.body.str.split().str.len().between(60, 159).all()
    out = tmp_path / "out"
    run(load_config(None, input=str(batch), output=str(out), run_date="2026-11-26"))
    stories = pd.read_parquet(out / "stories")
    assert len(stories) == 300 and stories.cluster_id.nunique() == 300
