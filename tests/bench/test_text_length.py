"""bench/text_length.py: the same batch with longer bodies, copies still copies."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from bench.text_length import lengthen, parse_factors
from dedup import load_config, run

VOCAB = np.array(sorted({f"{a}{b}{c}" for a in "bdfgklmprst" for b in "aeiou" for c in "lmnrst"}))

REPORTS = {
    "r1": ["The harbour authority said on Tuesday it would close the northern pier for repairs until March.",
           "Shipping lines were told to use the southern berths, which can take vessels of up to 40,000 tonnes.",
           "The authority did not say how much the work would cost."],
    "r2": ["Grain exports rose 12 percent in October from a year earlier, the farm ministry said.",
           "Wheat made up most of the rise, with shipments to North Africa more than doubling.",
           "Maize and barley sales were little changed."],
}


def _batch(tmp_path):
    rows, gold = [], []
    for r, paras in REPORTS.items():
        for k in range(3):
            body = "\n".join(paras[: 3 - (k == 2)])  # the third copy drops the last paragraph
            rows.append({"id": f"{r}-{k}", "outlet": f"outlet {k}", "headline": f"{r} copy {k}", "body": body})
            gold.append({"story_id": f"{r}-{k}", "gold_cluster": r})
    rows.append({"id": "loose", "outlet": "outlet 9", "headline": "not in the gold", "body": "One line only."})
    src, gold_csv = tmp_path / "batch.jsonl", tmp_path / "gold.csv"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pd.DataFrame(gold).to_csv(gold_csv, index=False)
    return src, gold_csv, {r["id"]: r["body"] for r in rows}


def _bodies(path):
    return {r["id"]: r["body"] for r in map(json.loads, path.read_text().splitlines())}


def test_factor_one_writes_the_batch_as_it_was(tmp_path):
    src, gold, before = _batch(tmp_path)
    out = tmp_path / "x1.jsonl"
    written = lengthen(src, gold, 1.0, out, VOCAB)
    assert _bodies(out) == before
    assert written == sum(len(b.encode()) for b in before.values())


def test_longer_bodies_keep_lede_and_end_and_copies_share_the_new_text(tmp_path):
    src, gold, before = _batch(tmp_path)
    out = tmp_path / "x3.jsonl"
    written = lengthen(src, gold, 3.0, out, VOCAB)
    after = _bodies(out)
    assert written == sum(len(b.encode()) for b in after.values())
    assert after["loose"] == before["loose"]  # not in the gold: left alone
    new = {}
    for sid, body in before.items():
        if sid == "loose":
            continue
        lines, old = after[sid].split("\n"), body.split("\n")
        assert lines[0] == old[0] and lines[len(lines) - len(old) + 1:] == old[1:]  # lede first, the rest at the end
        new[sid] = lines[1: len(lines) - len(old) + 1]
    # the report's first copy sets the length: about twice its body again
    first = before["r1-0"]
    assert 2 * len(first) <= sum(len(p) + 1 for p in new["r1-0"]) < 2 * len(first) + 600
    assert new["r1-0"] == new["r1-1"] == new["r1-2"] and new["r2-0"] == new["r2-2"]
    assert not set(new["r1-0"]) & set(new["r2-0"])
    again = tmp_path / "again.jsonl"
    lengthen(src, gold, 3.0, again, VOCAB)
    assert again.read_bytes() == out.read_bytes()  # seeded: the same batch every time


def test_lengthened_copies_cluster_as_the_gold_says(tmp_path):
    src, gold, _ = _batch(tmp_path)
    batch = tmp_path / "x4.jsonl"
    lengthen(src, gold, 4.0, batch, VOCAB)
    out = tmp_path / "out"
    run(load_config(None, input=str(batch), output=str(out), run_date="2026-11-26"))
    stories = pd.read_parquet(out / "stories", columns=["story_id", "cluster_id"]).set_index("story_id").cluster_id
    assert stories["r1-0"] == stories["r1-1"] == stories["r1-2"]
    assert stories["r2-0"] == stories["r2-1"] == stories["r2-2"]
    assert len({stories["r1-0"], stories["r2-0"], stories["loose"]}) == 3


def test_factors_below_one_are_refused():
    assert parse_factors("1,2,4") == [1.0, 2.0, 4.0]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_factors("0.5,2")
