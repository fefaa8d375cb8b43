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

    dedup eval --stories out/stories --gold gold.csv [--run-date 2024-05-01] [--json]
               [--batch batch.jsonl [--rejects out/rejects] [--gold-lines gold-lines.parquet]]

With ``--batch`` (the input the run read) it also measures the lines the run removed
(``evaluate_lines``): chrome precision / recall / F1 and text-loss against the per-line gold
``dedup synth`` writes, a text-loss that needs no line gold (removed lines found in another
outlet's copy of the same report), and the rejected stories that were copies of another.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from dedup.stages.text.lines import Lines

# gold-lines.parquet (written by the corpus builder, bench/synth/corpus.py): the kind of a body line
# that is wire furniture ("(Reporting by ...)"), neither story text nor chrome: the job strips it on purpose.
FURNITURE = "furniture"
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
    lines: "LineEvalResult | None" = None  # set by the caller from ``evaluate_lines`` (input batch given)
    languages: list[dict] | None = None  # set by the caller from ``by_language`` (languages.csv given)

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
        if self.lines is not None:
            lines += ["", self.lines.to_text()]
        if self.languages:
            lines += ["", "per language  stories  gold pairs  recall  truncated copies found  precision  predicted pairs"]
            for d in self.languages:
                lines.append(f"  {d['language']:<10} {d['stories']:>7,} {d['gold_pairs']:>11,} {d['recall']:>7.4f} "
                             f"{d['truncated_found']:>10,} / {d['truncated']:<10,} {d['precision']:>10.4f} "
                             f"{d['pred_pairs']:>16,}")
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


# Column names gold files commonly use, in order of preference (matched without regard to case).
GOLD_ID_NAMES = ("story_id", "id", "story", "doc_id", "docid", "document_id", "article_id", "guid")
GOLD_CLUSTER_NAMES = ("gold_cluster", "gold", "cluster", "cluster_id", "gold_cluster_id", "label", "group",
                      "gold_label")


def read_gold(path: str | Path, columns: str | None = None) -> pd.DataFrame:
    """A gold file (CSV, a leading BOM allowed; or Parquet) as a DataFrame of strings with columns
    ``story_id`` and ``gold_cluster``.

    ``columns`` ("ID,CLUSTER", the ``--gold-columns`` option) names the two columns; otherwise the
    first of ``GOLD_ID_NAMES`` and of ``GOLD_CLUSTER_NAMES`` found (case ignored) are used, and a
    file of exactly two columns with other names is read as id, cluster in that order. Raises
    ``ValueError`` with a one-line message when the file cannot be read or the columns are not found.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".parquet":
            g = pd.read_parquet(path).astype(str)
        else:
            g = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as e:  # noqa: BLE001 - any unreadable file is one line for the user
        raise ValueError(f"cannot read gold file {path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    cols = list(g.columns)
    if columns is not None:
        wanted = [c.strip() for c in columns.split(",")]
        if len(wanted) != 2 or not all(wanted):
            raise ValueError(f"--gold-columns wants two names, ID,CLUSTER (got {columns!r})")
        missing = [c for c in wanted if c not in cols]
        if missing:
            raise ValueError(f"gold file {path.name} has no column(s) {missing}; its columns are {cols}")
        id_col, cl_col = wanted
    else:
        lower = {c.lower().strip(): c for c in reversed(cols)}
        id_col = next((lower[n] for n in GOLD_ID_NAMES if n in lower), None)
        cl_col = next((lower[n] for n in GOLD_CLUSTER_NAMES if n in lower and lower[n] != id_col), None)
        if (id_col is None or cl_col is None) and len(cols) == 2:
            id_col, cl_col = cols
        if id_col is None or cl_col is None:
            raise ValueError(f"gold file {path.name}: cannot tell the story id and cluster columns among {cols}; "
                             "name them with --gold-columns ID,CLUSTER")
    return pd.DataFrame({"story_id": g[id_col].astype(str), "gold_cluster": g[cl_col].astype(str)})


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

    def example(g1: int, p1: int, g2: int, p2: int, size: int, wrong: int) -> PairExample:
        a, b = rep[(g1, p1)], rep[(g2, p2)]
        return PairExample(a, b, pred_label(p1), pred_label(p2), str(gold_uniques[g1]), str(gold_uniques[g2]),
                           size, wrong, _excerpt(bodies, a), _excerpt(bodies, b))

    false_merges = [example(g1, pi, g2, pi, size, wrong) for pi, g1, g2, size, wrong in fm]
    misses = [example(gi, p1, gi, p2, size, wrong) for gi, p1, p2, size, wrong in ms]

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
# Lines: chrome precision / recall, text-loss, lost copies
# --------------------------------------------------------------------------------------

# Rejects whose whole text went as chrome (every input line counts as removed); other rejects
# (unreadable, empty, bad date) are left out of the line figures.
CHROME_REJECT = re.compile(r"chrome|wall|no story text", re.I)


@dataclass
class LineEvalResult:
    """What a run removed from the bodies, line by line (see ``evaluate_lines``)."""

    n_stories: int  # stories of the input found accepted, or rejected for having no text left
    n_input_lines: int
    n_removed_lines: int  # input lines absent from body_clean (all lines of a chrome reject)
    n_trimmed_lines: int  # input lines kept with a piece cut off (a dateline): not counted as removed
    n_rejected: int  # input stories in the rejects
    n_rejected_as_chrome: int  # of those, rejected for having no story text left (CHROME_REJECT)
    rejects_by_reason: dict
    n_lost_copies: int  # rejected stories whose gold cluster holds other stories (and, with line gold, own story text)
    lost_copies: list  # their ids (first 20)
    # From the batch and gold clusters alone: of the removed lines, the share found in another
    # outlet's copy of the same gold report and in no story of another multi-story gold cluster.
    text_loss_cross_outlet: float
    n_removed_wire_lines: int
    # The issue-12 figure, as the run's manifest counts it but over gold clusters: of the removed
    # lines, the share another outlet's copy of the same gold report *kept* in its body_clean (wire
    # text one outlet lost and another did not; or chrome another outlet failed to remove).
    text_loss_kept_elsewhere: float = 0.0
    n_removed_kept_elsewhere: int = 0
    # With per-line gold (gold-lines.parquet); None without it.
    gold_lines: bool = False
    n_gold_chrome_lines: int | None = None
    n_gold_story_lines: int | None = None
    n_removed_chrome: int | None = None
    n_removed_story: int | None = None
    n_removed_furniture: int | None = None  # "(Reporting by ...)" trailers: neither chrome nor story text
    text_loss: float | None = None  # removed story lines / removed lines (furniture left out); goal 0
    story_lines_lost: float | None = None  # removed story lines / gold story lines
    chrome_precision: float | None = None
    chrome_recall: float | None = None
    chrome_f1: float | None = None
    n_expected_rejects: int | None = None  # stories without a story line (a wall-only body)
    n_expected_rejects_rejected: int | None = None
    removed_story_examples: list = field(default_factory=list)  # [{story_id, kind, line}], most common first

    def to_text(self) -> str:
        out = [
            f"lines     input {self.n_input_lines:,} in {self.n_stories:,} stories  removed {self.n_removed_lines:,}"
            f"  trimmed {self.n_trimmed_lines:,}",
            f"text-loss (cross-outlet) {self.text_loss_cross_outlet:.4f}  "
            f"({self.n_removed_wire_lines:,} removed lines found in another outlet's copy of the same report)",
            f"text-loss (kept elsewhere) {self.text_loss_kept_elsewhere:.4f}  ({self.n_removed_kept_elsewhere:,} removed "
            f"lines that another outlet's copy of the same report kept)",
        ]
        if self.gold_lines:
            out += [
                f"chrome    precision {self.chrome_precision:.4f}  recall {self.chrome_recall:.4f}  "
                f"F1 {self.chrome_f1:.4f}  (gold chrome lines {self.n_gold_chrome_lines:,})",
                f"text-loss {self.text_loss:.4f}  story lines removed {self.n_removed_story:,} of "
                f"{self.n_gold_story_lines:,} ({self.story_lines_lost:.4f})  furniture removed "
                f"{self.n_removed_furniture:,}",
                f"expected rejects (no story line) {self.n_expected_rejects:,}, rejected "
                f"{self.n_expected_rejects_rejected:,}",
            ]
        out.append(f"rejected  {self.n_rejected:,} ({self.n_rejected_as_chrome:,} for no text left)  "
                   f"lost copies {self.n_lost_copies:,}" + (f": {', '.join(self.lost_copies[:10])}"
                                                            if self.lost_copies else ""))
        for r, n in self.rejects_by_reason.items():
            out.append(f"  {n:,}  {r}")
        if self.removed_story_examples:
            out.append("story lines removed (examples):")
            out += [f"  {e['story_id']}  [{e['kind']}]  {e['line'][:EXCERPT_CHARS]}" for e in self.removed_story_examples]
        return "\n".join(out)


def by_language(pred: pd.DataFrame, gold: pd.DataFrame, languages: pd.DataFrame) -> list[dict]:
    """Pairwise figures per language. ``languages``: story_id, language, gold_cluster, edits (as the
    corpus builder's ``languages.csv``); stories it does not list count as "en".

    Per language L: recall over the gold pairs of L's stories; precision over the predicted pairs with
    at least one story of L (a false merge with a story of another language counts against L); and
    truncated copies found: gold pairs of a copy whose edits name a truncation with its report's
    wire original ("original"), found in one predicted cluster."""
    g = gold[["story_id", "gold_cluster"]].astype(str)
    p = pred[["story_id", "cluster_id"]].astype({"story_id": str})
    lang = languages.astype(str).set_index("story_id")
    df = g.merge(p, on="story_id", how="left")
    df["cluster_id"] = df["cluster_id"].fillna("__missing__" + df["story_id"])
    df["language"] = lang["language"].reindex(df["story_id"]).fillna("en").to_numpy()
    df["edits"] = lang["edits"].reindex(df["story_id"]).fillna("").to_numpy() if "edits" in lang else ""
    out = []
    for code, part in df.groupby("language", sort=True):
        gold_pairs = int(_comb2(part.groupby("gold_cluster").size().to_numpy()).sum())
        tp = int(_comb2(part.groupby(["gold_cluster", "cluster_id"]).size().to_numpy()).sum())
        # predicted pairs touching L: all pairs of L's clusters minus the pairs among other languages' stories
        clusters = df[df["cluster_id"].isin(part["cluster_id"])]
        other = clusters[clusters["language"] != code]
        pred_pairs = int(_comb2(clusters.groupby("cluster_id").size().to_numpy()).sum()
                         - _comb2(other.groupby("cluster_id").size().to_numpy()).sum())
        true_touching = int(_comb2(clusters.groupby(["gold_cluster", "cluster_id"]).size().to_numpy()).sum()
                            - _comb2(other.groupby(["gold_cluster", "cluster_id"]).size().to_numpy()).sum())
        orig = part[part["edits"] == "original"].set_index("gold_cluster")["cluster_id"]
        trunc = part[part["edits"].str.contains("truncated") & part["gold_cluster"].isin(orig.index)]
        found = int((trunc["cluster_id"].to_numpy() == orig.reindex(trunc["gold_cluster"]).to_numpy()).sum())
        out.append({"language": code, "stories": len(part), "gold_pairs": gold_pairs, "true_pairs": tp,
                    "recall": tp / gold_pairs if gold_pairs else 1.0, "pred_pairs": pred_pairs,
                    "precision": true_touching / pred_pairs if pred_pairs else 1.0,
                    "truncated": len(trunc), "truncated_found": found})
    return out


def _line_table(story_ids: np.ndarray, bodies: pa.Array) -> pd.DataFrame:
    """One row per non-empty line: story (row in story_ids), line_no, key (Lines.key_hash), text."""
    lines = Lines.split(bodies)
    story = lines.story
    start = np.zeros(len(story), dtype=np.int64)
    if len(story):
        first = np.r_[True, story[1:] != story[:-1]]
        idx = np.flatnonzero(first)
        start = np.repeat(idx, np.diff(np.r_[idx, len(story)]))
    return pd.DataFrame({"story": story, "line_no": np.arange(len(story)) - start,
                         "key": lines.key_hash(), "text": lines.text.to_numpy(zero_copy_only=False)})


def _pair_lines(inp: pd.DataFrame, clean: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pair input lines with body_clean lines of the same story as multisets: equal text first, then
    equal key among the rest. Both frames come from ``_line_table``. Returns (bool per input line:
    paired, bool per clean line: paired)."""
    kept = np.zeros(len(inp), bool)
    hit = np.zeros(len(clean), bool)
    for col in ("text", "key"):
        a = inp.loc[~kept, ["story", col]].assign(i=np.flatnonzero(~kept))
        b = clean.loc[~hit, ["story", col]].assign(j=np.flatnonzero(~hit))
        a["occ"] = a.groupby(["story", col]).cumcount()
        b["occ"] = b.groupby(["story", col]).cumcount()
        both = a.merge(b, on=["story", col, "occ"])
        kept[both["i"].to_numpy()] = True
        hit[both["j"].to_numpy()] = True
    return kept, hit


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate_lines(
    batch: pd.DataFrame,
    stories: pd.DataFrame,
    rejects: pd.DataFrame,
    gold: pd.DataFrame,
    gold_lines: pd.DataFrame | None = None,
    *,
    max_examples: int = 10,
) -> LineEvalResult:
    """Which input lines a run removed, against the gold.

    ``batch``: the run's input, columns story_id, body (str) and optionally outlet (null: none).
    ``stories``: the run's accepted stories, story_id and body_clean. ``rejects``: story_id and
    reason. ``gold``: story_id, gold_cluster. ``gold_lines`` (optional, gold-lines.parquet of
    ``dedup synth``): story_id, line_no, is_chrome (bool), kind; used only when its lines are
    the batch's lines (same story, number and text), otherwise ignored (``gold_lines`` False).

    The removed lines of an accepted story are its input lines minus its body_clean lines,
    compared as multisets of ``Lines.key_hash`` (case, digits and spacing ignored); an input
    line that lost only a piece (a dateline cut off the first paragraph: some body_clean line
    of the story is a substring of it) is "trimmed", not removed. A story rejected for having
    no text left (``CHROME_REJECT``) lost every line. Raises ValueError on missing columns.
    """
    for df, cols, name in ((batch, ("story_id", "body"), "batch"), (stories, ("story_id", "body_clean"), "stories"),
                           (rejects, ("story_id", "reason"), "rejects"), (gold, ("story_id", "gold_cluster"), "gold")):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; has {list(df.columns)}")
    batch = batch.drop_duplicates("story_id", keep="first").reset_index(drop=True)
    ids = batch["story_id"].astype(str).to_numpy()
    id_index = pd.Index(ids)
    acc_ids = stories["story_id"].astype(str).to_numpy()
    rej = rejects.assign(story_id=rejects["story_id"].astype(str))
    rej = rej[rej["story_id"].isin(id_index)].drop_duplicates("story_id")
    chrome_rej = rej["reason"].astype(str).str.contains(CHROME_REJECT).to_numpy()
    rej_chrome_ids = set(rej["story_id"][chrome_rej])

    inp_all = _line_table(ids, pa.array(batch["body"].astype(object).where(batch["body"].notna(), None).tolist(),
                                        pa.large_string()))
    inp = inp_all
    acc_pos = id_index.get_indexer(acc_ids)
    ok = acc_pos >= 0
    clean = _line_table(acc_pos[ok], pa.array(stories["body_clean"].to_numpy()[ok].tolist(), pa.large_string()))
    clean["story"] = acc_pos[ok][clean["story"].to_numpy()]

    evaluated = np.zeros(len(ids), dtype=bool)
    evaluated[acc_pos[ok]] = True
    is_chrome_rej = id_index.isin(list(rej_chrome_ids))
    evaluated |= is_chrome_rej
    inp = inp[evaluated[inp["story"].to_numpy()]].reset_index(drop=True)

    # Removed = input multiset minus body_clean multiset per story; a chrome reject keeps nothing.
    # Lines pair by their exact text first, then by key (Lines.key_hash: the text as repaired and
    # normalised). The key alone masks figures, so "Shr 55 cts vs 42 cts" would take the place of
    # "Shr 23 cts vs 18 cts" and leave the first line's dateline cut unrecognised.
    inp["kept"], clean["hit"] = _pair_lines(inp, clean)
    m = inp
    removed = ~m["kept"].to_numpy() | is_chrome_rej[m["story"].to_numpy()]
    # Trimmed: an unmatched input line holding an unmatched clean line of its story.
    spare = clean[~clean["hit"]]
    trimmed = np.zeros(len(m), dtype=bool)
    if len(spare):
        cand = np.flatnonzero(removed & np.isin(m["story"].to_numpy(), spare["story"].to_numpy()))
        spare_by_story = spare.groupby("story")["text"].agg(list).to_dict()
        texts = m["text"].to_numpy()
        stories_of = m["story"].to_numpy()
        for i in cand.tolist():
            pieces = spare_by_story.get(stories_of[i], ())
            for j, piece in enumerate(pieces):
                if piece and piece in texts[i]:
                    trimmed[i] = True
                    pieces.pop(j)
                    break
    removed &= ~trimmed
    m["removed"] = removed

    # Cross-outlet text-loss: a removed line found in another outlet's copy of the same gold report,
    # and in no story of another gold cluster with several stories.
    g = pd.Series(gold["gold_cluster"].astype(str).to_numpy(), index=gold["story_id"].astype(str).to_numpy())
    g = g[~g.index.duplicated()]
    gold_of = g.reindex(ids).to_numpy()
    gsize = g.value_counts()
    outlet = (batch["outlet"].astype(object).where(batch["outlet"].notna(), "") if "outlet" in batch.columns
              else pd.Series([""] * len(batch))).astype(str).to_numpy()
    allin = inp_all[["story", "key"]].drop_duplicates()
    allin["gold"] = gold_of[allin["story"].to_numpy()]
    allin["outlet"] = outlet[allin["story"].to_numpy()]
    allin = allin[pd.notna(allin["gold"])]
    allin["multi"] = gsize.reindex(allin["gold"].to_numpy()).fillna(0).to_numpy() >= 2
    per_key_gold = allin[allin["multi"]].groupby("key")["gold"].nunique()
    per_key_gold_outlets = allin.groupby(["key", "gold"])["outlet"].nunique().rename("n_outlets").reset_index()
    rm = m[m["removed"]][["story", "key"]].copy()
    rm["gold"] = gold_of[rm["story"].to_numpy()]
    rm = rm.merge(per_key_gold_outlets, on=["key", "gold"], how="left")
    other_reports = per_key_gold.reindex(rm["key"].to_numpy()).fillna(0).to_numpy()
    own_multi = gsize.reindex(rm["gold"].to_numpy()).fillna(0).to_numpy() >= 2
    wire = (rm["n_outlets"].fillna(0).to_numpy() >= 2) & (other_reports - own_multi <= 0)
    n_removed = int(removed.sum())
    n_wire = int(wire.sum())
    # Kept elsewhere: the removed line's key in body_clean of another outlet's copy of its gold report.
    kept = clean[["story", "key"]].drop_duplicates()
    kept["gold"] = gold_of[kept["story"].to_numpy()]
    kept["outlet"] = outlet[kept["story"].to_numpy()]
    kept = kept[pd.notna(kept["gold"])].groupby(["key", "gold"])["outlet"].agg(["nunique", "min"]).reset_index()
    rk = m[m["removed"]][["story", "key"]].copy()
    rk["gold"] = gold_of[rk["story"].to_numpy()]
    rk["own"] = outlet[rk["story"].to_numpy()]
    rk = rk.merge(kept, on=["key", "gold"], how="inner")
    n_kept_elsewhere = int(((rk["nunique"] >= 2) | (rk["min"] != rk["own"])).sum())

    # Rejects and lost copies.
    rej_ids = rej["story_id"].to_numpy()
    has_text = np.ones(len(rej_ids), dtype=bool)
    res_gold = dict(gold_lines=False)
    gl_ok = False
    if gold_lines is not None:
        want = ("story_id", "line_no", "is_chrome", "kind")
        missing = [c for c in want if c not in gold_lines.columns]
        if missing:
            raise ValueError(f"gold_lines lacks column(s) {missing}; has {list(gold_lines.columns)}")
        gl = gold_lines.assign(story=id_index.get_indexer(gold_lines["story_id"].astype(str)))
        j = inp_all.merge(gl[["story", "line_no"] + (["text"] if "text" in gl.columns else [])],
                       on=["story", "line_no"], how="outer", suffixes=("", "_gold"), indicator=True)
        gl_ok = bool((j["_merge"] == "both").all()) and (
            "text" not in gl.columns or bool((j["text"] == j["text_gold"]).all()))
    if gl_ok:
        m = m.merge(gl[["story", "line_no", "is_chrome", "kind"]], on=["story", "line_no"], how="left")
        furn = (m["kind"] == FURNITURE).to_numpy()
        chrome = m["is_chrome"].to_numpy(dtype=bool) & ~furn
        story_line = ~chrome & ~furn
        rmv = m["removed"].to_numpy()
        n_rc, n_rs, n_rf = int((rmv & chrome).sum()), int((rmv & story_line).sum()), int((rmv & furn).sum())
        n_gc, n_gs = int(chrome.sum()), int(story_line.sum())
        prec = n_rc / (n_rc + n_rs) if n_rc + n_rs else 1.0
        rec = n_rc / n_gc if n_gc else 1.0
        gl_all = gl.assign(sl=~gl["is_chrome"].astype(bool) & (gl["kind"] != FURNITURE))
        any_story = gl_all.groupby("story")["sl"].any()
        expect = any_story.index[~any_story.to_numpy()]
        expect = expect[expect >= 0]
        has_text = any_story.reindex(id_index.get_indexer(rej_ids)).fillna(True).to_numpy(dtype=bool)
        ex = m[rmv & story_line]
        ex = ex.assign(n=ex.groupby("key")["key"].transform("size")).sort_values(["n", "story"], ascending=[False, True])
        ex = ex.drop_duplicates("key").head(max_examples)
        res_gold = dict(
            gold_lines=True, n_gold_chrome_lines=n_gc, n_gold_story_lines=n_gs, n_removed_chrome=n_rc,
            n_removed_story=n_rs, n_removed_furniture=n_rf, text_loss=n_rs / (n_rc + n_rs) if n_rc + n_rs else 0.0,
            story_lines_lost=n_rs / n_gs if n_gs else 0.0, chrome_precision=prec, chrome_recall=rec,
            chrome_f1=_f1(prec, rec), n_expected_rejects=len(expect),
            n_expected_rejects_rejected=int(np.isin(ids[expect], rej_ids).sum()),
            removed_story_examples=[{"story_id": ids[s], "kind": k, "line": t}
                                    for s, k, t in zip(ex["story"], ex["kind"], ex["text"])],
        )
    rej_gold = g.reindex(rej_ids).to_numpy()
    rej_multi = gsize.reindex(rej_gold).fillna(0).to_numpy() >= 2
    lost = rej_ids[rej_multi & has_text]
    return LineEvalResult(
        n_stories=int(evaluated.sum()), n_input_lines=len(m), n_removed_lines=n_removed,
        n_trimmed_lines=int(trimmed.sum()), n_rejected=len(rej_ids), n_rejected_as_chrome=int(chrome_rej.sum()),
        rejects_by_reason=rej["reason"].astype(str).value_counts().to_dict(),
        n_lost_copies=len(lost), lost_copies=sorted(lost.tolist())[:20],
        text_loss_cross_outlet=n_wire / n_removed if n_removed else 0.0, n_removed_wire_lines=n_wire,
        text_loss_kept_elsewhere=n_kept_elsewhere / n_removed if n_removed else 0.0,
        n_removed_kept_elsewhere=n_kept_elsewhere,
        **res_gold,
    )


# --------------------------------------------------------------------------------------
# Reading what ``dedup eval`` compares
# --------------------------------------------------------------------------------------

def read_stories(path: str | Path, *, run_date: str | None = None, id_column: str = "story_id",
                 cluster_column: str = "cluster_id", body_column: str | None = None) -> pd.DataFrame:
    """Read (story_id, cluster_id[, body]) from a Parquet dataset (folder, hive partitions) or file,
    or a Delta table (``output.format: delta``: a folder with ``_delta_log/``, or an ``s3://`` URL),
    read through deltalake at its latest version (only its live files).

    ``body_column`` is read when the dataset has it. Raises ``ValueError`` (a usage error) for a
    missing id/cluster column, a night that is not there, or several nights without ``run_date``."""
    import pyarrow.dataset as ds

    delta = _delta_dataset(str(path))
    names = (delta if delta is not None else ds.dataset(str(path), format="parquet", partitioning="hive")).schema.names
    want = [id_column, cluster_column]
    missing = [c for c in want if c not in names]
    if missing:
        raise ValueError(f"{path} has no column(s) {missing}; it has {names}")
    if body_column and body_column in names:
        want.append(body_column)
    has_date = "run_date" in names
    cols = want + (["run_date"] if has_date else [])
    df = delta.to_table(columns=cols).to_pandas() if delta is not None else pd.read_parquet(path, columns=cols)
    if has_date:
        dates = df["run_date"].astype(str)
        if run_date is not None:
            df = df[(dates == str(run_date)).to_numpy()]
            if df.empty:
                raise ValueError(f"no stories with run_date {run_date} in {path} "
                                 f"(dates: {sorted(dates.unique())[:10]})")
        elif dates.nunique() > 1:
            raise ValueError(f"{path} holds several nights {sorted(dates.unique())[:10]}; pick one with --run-date")
    elif run_date is not None:
        raise ValueError(f"--run-date given but {path} has no run_date column")
    df = df.rename(columns={id_column: "story_id", cluster_column: "cluster_id"})
    return df


def _delta_dataset(path: str):
    """The Arrow dataset of the Delta table at ``path`` (a local folder with ``_delta_log/``, or an
    object-store URL of one), or None when ``path`` is not one."""
    from dedup.config import url_scheme
    from dedup.night.remote import is_store, storage_options

    if not (is_store(path) or (url_scheme(path) is None and (Path(path) / "_delta_log").is_dir())):
        return None
    from deltalake import DeltaTable

    if is_store(path):
        path = "s3://" + path.split("://", 1)[1]  # s3a:// is s3:// to delta-rs
    return DeltaTable(path, storage_options=storage_options() or None).to_pyarrow_dataset()


def read_batch_records(path: str | Path) -> pd.DataFrame:
    """story_id, body, outlet (None when the record has none) of a JSONL batch, in file order.
    Lines that are not a JSON object are left out: the run rejected them (``rejects``), and they
    hold no story whose lines could be scored."""
    ids, bodies, outlets = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict):
                ids.append(str(r.get("id")))
                bodies.append(r.get("body"))
                outlets.append(r.get("outlet"))
    return pd.DataFrame({"story_id": ids, "body": bodies, "outlet": outlets})


def line_figures(batch_path: str | Path, stories: pd.DataFrame, stories_path: str | Path, gold: pd.DataFrame,
                 gold_path: str | Path, *, rejects_path: str | Path | None = None,
                 gold_lines_path: str | Path | None = None, run_date: str | None = None,
                 max_examples: int = 10) -> LineEvalResult:
    """``evaluate_lines`` from files: the JSONL batch the run read, its stories (a frame with
    story_id and body_clean), its rejects (default: the "rejects" folder beside ``stories_path``;
    none when absent) and the gold lines (default: gold-lines.parquet beside ``gold_path``,
    when present). ``run_date`` picks one night of the rejects."""
    batch = read_batch_records(batch_path)
    rp = Path(rejects_path) if rejects_path else Path(stories_path).parent / "rejects"
    if rp.exists():
        rejects = pd.read_parquet(rp)
        if run_date is not None and "run_date" in rejects.columns:
            rejects = rejects[rejects["run_date"].astype(str) == str(run_date)]
    else:
        rejects = pd.DataFrame({"story_id": pd.Series([], dtype=str), "reason": pd.Series([], dtype=str)})
    glp = Path(gold_lines_path) if gold_lines_path else Path(gold_path).parent / "gold-lines.parquet"
    gold_lines = pd.read_parquet(glp) if glp.exists() else None
    return evaluate_lines(batch, stories, rejects, gold, gold_lines, max_examples=max_examples)
