"""bench/nights.py: how a corpus is split into nights."""
import numpy as np
import pandas as pd

from bench.nights import split_nights


def test_split_keeps_each_report_on_its_night_but_a_share_of_later_copies():
    rng = np.random.default_rng(3)
    gold = pd.DataFrame({"story_id": [f"s{i}" for i in range(6000)],
                         "gold_cluster": [f"r{x}" for x in rng.integers(0, 1500, 6000)]})
    night = split_nights(gold, 4, 0.15, seed=1)
    assert night.min() == 0 and night.max() == 3
    g = gold.assign(night=night)
    first = g.groupby("gold_cluster").night.transform("first")
    # Every copy is on its report's night or the one after, and the report's first copy is on its night.
    assert ((g.night == first) | (g.night == first + 1)).all()
    assert (g.groupby("gold_cluster").night.first() == g.groupby("gold_cluster").night.min()).all()
    later = g[g.duplicated("gold_cluster") & (first < 3)]
    share = (later.night == first[later.index] + 1).mean()
    assert 0.12 < share < 0.18, share
    assert (split_nights(gold, 4, 0.15, seed=1) == night).all()
