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


def test_same_tables_names_the_columns_that_differ(tmp_path):
    from bench.nights import same_tables

    def write(root, stories, clusters):
        for name, df in (("stories", stories), ("clusters", clusters),
                         ("rejects", pd.DataFrame({"source": ["f"], "record": [1], "run_date": ["2026-11-01"]}))):
            (root / name).mkdir(parents=True)
            df.to_parquet(root / name / "part-0.parquet")

    st = pd.DataFrame({"story_id": ["b", "a"], "cluster_id": ["c1", "c1"], "run_date": ["2026-11-01"] * 2})
    cl = pd.DataFrame({"cluster_id": ["c1"], "members": [["a", "b"]], "run_date": ["2026-11-01"]})
    write(tmp_path / "a", st, cl)
    # The same rows in another order: identical.
    write(tmp_path / "b", st.iloc[::-1], cl)
    assert same_tables(tmp_path / "a", tmp_path / "b") == {"stories": [], "clusters": [], "rejects": []}
    write(tmp_path / "c", st.assign(cluster_id=["c1", "c2"]), cl.assign(members=[["a"]]))
    assert same_tables(tmp_path / "a", tmp_path / "c") == {"stories": ["cluster_id"], "clusters": ["members"],
                                                          "rejects": []}
