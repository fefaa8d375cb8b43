"""Evaluate a clustering of stories against gold labels.

Pairwise precision / recall / F1 over all pairs of stories placed in the same
cluster, the adjusted Rand index, counts, and examples of the worst errors
(false merges and misses). Pair counts come from the contingency table of
(gold cluster, predicted cluster) cell sizes: sums of "n choose 2", vectorized;
pairs are never enumerated, so a million stories with clusters of thousands take
about a second.

Conventions:

* The universe is the set of stories in ``gold``. A gold story missing from
  ``pred`` (or with a null cluster) counts as a singleton and is reported in
  ``n_missing_from_pred``. Predicted stories that are not in gold are ignored
  and counted in ``n_extra_in_pred``.
* Precision is 1.0 when no pair is predicted (no merge claimed, none wrong);
  recall is 1.0 when gold has no pair.
* ARI is the Hubert-Arabie adjusted Rand index, as sklearn's
  ``adjusted_rand_score`` (1.0 when both clusterings agree perfectly, including
  the degenerate all-singletons case).

CLI::

    python -m dedup.tools.evaluate --stories out/stories --gold gold.csv [--run-date 2024-05-01] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

EXCERPT_CHARS = 160


@dataclass
class PairExample:
    """One wrong pair: two stories, their predicted and gold clusters."""

    story_a: str
    story_b: str
    pred_a: str | None  # None: the story is missing from the prediction
    pred_b: str | None
    gold_a: str
    gold_b: str
    cluster_size: int  # size of the predicted cluster (false merge) or of the gold cluster (miss)
    wrong_pairs: int  # wrong pairs in that cluster
    excerpt_a: str | None = None
    excerpt_b: str | None = None


@dataclass
class EvalResult:
    n_gold_stories: int
    n_pred_stories: int  # rows of pred
    n_missing_from_pred: int  # gold stories absent from pred or with a null cluster (counted as singletons)
    n_extra_in_pred: int  # pred stories not in gold (ignored)
    n_gold_clusters: int
    n_pred_clusters: int  # over the gold stories, missing ones counted as singletons
    n_gold_pairs: int
    n_pred_pairs: int
    n_true_pairs: int
    precision: float
    recall: float
    f1: float
    ari: float
    n_false_merge_pairs: int
    n_missed_pairs: int
    n_pred_clusters_with_false_merges: int
    n_gold_clusters_split: int
    false_merges: list[PairExample] = field(default_factory=list)
    misses: list[PairExample] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        lines = [
            f"stories   gold {self.n_gold_stories:,}  predicted {self.n_pred_stories:,}  "
            f"missing from prediction {self.n_missing_from_pred:,} (as singletons)  "
            f"not in gold {self.n_extra_in_pred:,} (ignored)",
            f"clusters  gold {self.n_gold_clusters:,}  predicted {self.n_pred_clusters:,}",
            f"pairs     gold {self.n_gold_pairs:,}  predicted {self.n_pred_pairs:,}  correct {self.n_true_pairs:,}",
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  ARI {self.ari:.4f}",
            "",
            f"false merges: {self.n_false_merge_pairs:,} pairs in {self.n_pred_clusters_with_false_merges:,} "
            f"predicted clusters" + (" (worst first)" if self.false_merges else ""),
        ]
        for ex in self.false_merges:
            lines += _example_lines(ex, "predicted")
        lines += ["", f"misses: {self.n_missed_pairs:,} pairs in {self.n_gold_clusters_split:,} split gold clusters"
                  + (" (worst first)" if self.misses else "")]
        for ex in self.misses:
            lines += _example_lines(ex, "gold")
        return "\n".join(lines)


def _example_lines(ex: PairExample, kind: str) -> list[str]:
    def side(sid, pred, gold, excerpt):
        p = "missing" if pred is None else pred
        s = f"    {sid}  pred {p}  gold {gold}"
        return [s] + ([f"      {excerpt}"] if excerpt is not None else [])

    out = [f"  - {kind} cluster of {ex.cluster_size:,} stories, {ex.wrong_pairs:,} wrong pairs:"]
    out += side(ex.story_a, ex.pred_a, ex.gold_a, ex.excerpt_a)
    out += side(ex.story_b, ex.pred_b, ex.gold_b, ex.excerpt_b)
    return out


def _comb2(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    return x * (x - 1) // 2


def adjusted_rand_index(tp: int, pred_pairs: int, gold_pairs: int, n: int) -> float:
    """ARI from pair counts (sklearn's pair-confusion form; exact integer arithmetic)."""
    tp, pred_pairs, gold_pairs, n = int(tp), int(pred_pairs), int(gold_pairs), int(n)
    total = n * (n - 1) // 2
    fp = pred_pairs - tp
    fn = gold_pairs - tp
    tn = total - tp - fp - fn
    if fn == 0 and fp == 0:
        return 1.0
    return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def _excerpt(bodies: pd.Series | None, sid: str) -> str | None:
    if bodies is None:
        return None
    text = bodies.get(sid)
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _worst_examples(
    cell_outer: np.ndarray,
    cell_inner: np.ndarray,
    cell_n: np.ndarray,
    outer_sizes: np.ndarray,
    max_examples: int,
) -> tuple[list[tuple[int, int, int, int, int]], int, int]:
    """Clusters of one labeling ("outer": pred for false merges, gold for misses) that mix
    several groups of the other ("inner"), worst first (most wrong pairs, then largest).

    Works on the contingency cells (outer code, inner code, stories). Returns
    ([(outer, inner 1, inner 2, outer size, wrong pairs)], total wrong pairs, clusters
    with wrong pairs); inner 1 and 2 are the two largest groups of the cluster.
    """
    same = np.zeros(len(outer_sizes), dtype=np.int64)
    np.add.at(same, cell_outer, _comb2(cell_n))
    wrong = _comb2(outer_sizes) - same
    bad = np.flatnonzero(wrong > 0)
    total_wrong, n_bad = int(wrong.sum()), len(bad)
    if max_examples <= 0 or n_bad == 0:
        return [], total_wrong, n_bad
    top = bad[np.lexsort((bad, -outer_sizes[bad], -wrong[bad]))[:max_examples]]
    sel = np.isin(cell_outer, top)
    cells = pd.DataFrame({"o": cell_outer[sel], "n": cell_n[sel], "i": cell_inner[sel]})
    cells = cells.sort_values(["o", "n", "i"], ascending=[True, False, True], kind="stable")
    two = cells.groupby("o").head(2).groupby("o")["i"].agg(list).to_dict()
    out = [(o, two[o][0], two[o][1], int(outer_sizes[o]), int(wrong[o])) for o in top.tolist()]
    return out, total_wrong, n_bad


def evaluate(
    pred: pd.DataFrame,
    gold: pd.DataFrame,
    *,
    bodies: pd.Series | None = None,
    max_examples: int = 20,
) -> EvalResult:
    """Compare ``pred`` (story_id, cluster_id) with ``gold`` (story_id, gold_cluster).

    ``bodies`` (indexed by story_id) adds short excerpts to the error examples.
    """
    for df, cols, name in ((pred, ("story_id", "cluster_id"), "pred"), (gold, ("story_id", "gold_cluster"), "gold")):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; has {list(df.columns)}")
    g_ids = gold["story_id"].astype(str).to_numpy()
    if len(g_ids) != len(pd.unique(g_ids)):
        dup = pd.Series(g_ids)[pd.Series(g_ids).duplicated()].iloc[0]
        raise ValueError(f"gold lists story {dup!r} more than once")
    p_ids = pred["story_id"].astype(str)
    if p_ids.duplicated().any():
        dup = p_ids[p_ids.duplicated()].iloc[0]
        raise ValueError(f"pred lists story {dup!r} more than once (a story belongs to one cluster)")

    n = len(g_ids)
    gold_code, gold_uniques = pd.factorize(gold["gold_cluster"].to_numpy())
    if (gold_code < 0).any():
        raise ValueError("gold has stories without a gold_cluster")
    p_code, pred_uniques = pd.factorize(pred["cluster_id"].to_numpy())  # -1: null cluster
    pos = pd.Index(p_ids.to_numpy()).get_indexer(g_ids)  # -1: not in pred
    pred_code = np.where(pos >= 0, p_code[pos], -1)
    in_gold = pd.Index(g_ids).get_indexer(p_ids.to_numpy()) >= 0
    missing = pred_code < 0
    n_missing = int(missing.sum())
    n_real = len(pred_uniques)
    pred_code = pred_code.astype(np.int64)
    pred_code[missing] = n_real + np.arange(n_missing)
    gold_code = gold_code.astype(np.int64)

    n_gold_clusters = len(gold_uniques)
    n_pred_clusters = n_real + n_missing
    gold_sizes = np.bincount(gold_code, minlength=n_gold_clusters)
    pred_sizes = np.bincount(pred_code, minlength=n_pred_clusters)
    key = gold_code * n_pred_clusters + pred_code
    cell_key, cell_n = np.unique(key, return_counts=True)
    cell_gold = cell_key // n_pred_clusters
    cell_pred = cell_key % n_pred_clusters
    cell_pairs = _comb2(cell_n)

    tp = int(cell_pairs.sum())
    pred_pairs = int(_comb2(pred_sizes).sum())
    gold_pairs = int(_comb2(gold_sizes).sum())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ari = adjusted_rand_index(tp, pred_pairs, gold_pairs, n)

    fm, n_fm_pairs, n_fm_clusters = _worst_examples(cell_pred, cell_gold, cell_n, pred_sizes, max_examples)
    ms, n_ms_pairs, n_ms_clusters = _worst_examples(cell_gold, cell_pred, cell_n, gold_sizes, max_examples)

    if bodies is not None:
        bodies = pd.Series(bodies.to_numpy(), index=bodies.index.astype(str))
        bodies = bodies[~bodies.index.duplicated()]

    # A representative story per (gold, pred) cell used in the examples.
    want = {(gi, pi) for pi, g1, g2, _, _ in fm for gi in (g1, g2)}
    want |= {(gi, pi) for gi, p1, p2, _, _ in ms for pi in (p1, p2)}
    rep: dict[tuple[int, int], str] = {}
    if want:
        want_keys = np.array([gi * n_pred_clusters + pi for gi, pi in want], dtype=np.int64)
        idx = np.flatnonzero(np.isin(key, want_keys))
        for i in idx.tolist():
            c = (int(gold_code[i]), int(pred_code[i]))
            if c not in rep:
                rep[c] = g_ids[i]

    def pred_label(pc: int):
        return None if pc >= n_real else str(pred_uniques[pc])

    false_merges = []
    for pi, g1, g2, size, wrong in fm:
        a, b = rep[(g1, pi)], rep[(g2, pi)]
        false_merges.append(PairExample(
            a, b, pred_label(pi), pred_label(pi), str(gold_uniques[g1]), str(gold_uniques[g2]), size, wrong,
            _excerpt(bodies, a), _excerpt(bodies, b)))
    misses = []
    for gi, p1, p2, size, wrong in ms:
        a, b = rep[(gi, p1)], rep[(gi, p2)]
        misses.append(PairExample(
            a, b, pred_label(p1), pred_label(p2), str(gold_uniques[gi]), str(gold_uniques[gi]), size, wrong,
            _excerpt(bodies, a), _excerpt(bodies, b)))

    return EvalResult(
        n_gold_stories=n,
        n_pred_stories=len(pred),
        n_missing_from_pred=n_missing,
        n_extra_in_pred=int((~in_gold).sum()),
        n_gold_clusters=n_gold_clusters,
        n_pred_clusters=n_pred_clusters,
        n_gold_pairs=gold_pairs,
        n_pred_pairs=pred_pairs,
        n_true_pairs=tp,
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        ari=float(ari),
        n_false_merge_pairs=n_fm_pairs,
        n_missed_pairs=n_ms_pairs,
        n_pred_clusters_with_false_merges=n_fm_clusters,
        n_gold_clusters_split=n_ms_clusters,
        false_merges=false_merges,
        misses=misses,
    )


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------

def read_stories(path: str | Path, *, run_date: str | None = None, id_column: str = "story_id",
                 cluster_column: str = "cluster_id", body_column: str | None = None) -> pd.DataFrame:
    """Read (story_id, cluster_id[, body]) from a Parquet dataset (folder, hive partitions) or file."""
    import pyarrow.dataset as ds

    names = ds.dataset(str(path), format="parquet", partitioning="hive").schema.names
    want = [id_column, cluster_column] + ([body_column] if body_column else [])
    missing = [c for c in want if c not in names]
    if missing:
        raise SystemExit(f"error: {path} has no column(s) {missing}; it has {names}")
    has_date = "run_date" in names
    df = pd.read_parquet(path, columns=want + (["run_date"] if has_date else []))
    if has_date:
        dates = df["run_date"].astype(str)
        if run_date is not None:
            df = df[(dates == str(run_date)).to_numpy()]
            if df.empty:
                raise SystemExit(f"error: no stories with run_date {run_date} in {path} "
                                 f"(dates: {sorted(dates.unique())[:10]})")
        elif dates.nunique() > 1:
            raise SystemExit(f"error: {path} holds several nights {sorted(dates.unique())[:10]}; pick one with --run-date")
    elif run_date is not None:
        raise SystemExit(f"error: --run-date given but {path} has no run_date column")
    df = df.rename(columns={id_column: "story_id", cluster_column: "cluster_id"})
    return df


def read_batch_bodies(path: str | Path) -> pd.Series:
    """Bodies (indexed by id) from a JSONL batch."""
    ids, bodies = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                ids.append(str(r.get("id")))
                bodies.append(r.get("body"))
    return pd.Series(bodies, index=ids)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dedup.tools.evaluate",
                                 description="Evaluate a stories dataset (story_id, cluster_id) against gold labels.")
    ap.add_argument("--stories", required=True, help="Parquet dataset folder (or file) of clustered stories")
    ap.add_argument("--gold", required=True, help="gold.csv with columns story_id,gold_cluster")
    ap.add_argument("--run-date", help="only stories of this night (when the dataset has a run_date column)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--max-examples", type=int, default=20)
    ap.add_argument("--id-column", default="story_id")
    ap.add_argument("--cluster-column", default="cluster_id")
    ap.add_argument("--body-column", help="column of the stories dataset to take excerpts from")
    ap.add_argument("--batch", help="JSONL batch (id, body) to take excerpts from")
    args = ap.parse_args(argv)

    stories = read_stories(args.stories, run_date=args.run_date, id_column=args.id_column,
                           cluster_column=args.cluster_column, body_column=args.body_column)
    gold = pd.read_csv(args.gold, dtype=str, keep_default_na=False)
    bodies = None
    if args.body_column:
        bodies = pd.Series(stories[args.body_column].to_numpy(), index=stories["story_id"].astype(str))
    elif args.batch:
        bodies = read_batch_bodies(args.batch)
    res = evaluate(stories[["story_id", "cluster_id"]], gold, bodies=bodies, max_examples=args.max_examples)
    print(json.dumps(res.to_dict(), indent=2, ensure_ascii=False) if args.json else res.to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
