"""Night-after-night benchmark: one corpus split into nights, run night by night into one output and state.

Builds (or reuses) a labelled corpus with the corpus builder (``bench/synth/corpus.py``), splits it
into ``--nights`` nights by report (gold cluster): each report is given a night at random and
``--late`` (default 15%) of each report's copies other than its first arrive one night later. Each
night is a ``dedup run`` child process on the same output and state (default retention), timed
from outside. Printed per night: wall seconds, peak RSS of the child, the window it read
(earlier clusters, from the manifest's ``state`` stage), candidate pairs, stories, pairwise F1 over
every night so far (``dedup.tools.evaluate``) and the share of late copies that joined their
report's earlier cluster.

    python bench/nights.py                                   # 5 nights of 10,000 stories (a few minutes)
    python bench/nights.py --n 1050000 --nights 7 --keep /big/dir   # the issue's week: ~150k a night
    python bench/nights.py --n 30000 --code /path/to/old-checkout,.  # two versions, night by night side by side

With ``--code A,B`` every night is run by each checkout in turn (first on ``sys.path``), each into its own output, so the versions share the machine's load night by
night; the table gives one row per (night, code). The first/last ratios of seconds per story and
peak RSS are printed per code. Run it with the project's interpreter (``.venv/bin/python``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.speed import DEFAULT_SOURCE, get_corpus, load_gold, log_tail, run_measured, scores  # noqa: E402
from dedup import layout  # noqa: E402

FIRST_NIGHT = dt.date(2026, 11, 1)


def split_nights(gold: pd.DataFrame, nights: int, late: float, seed: int) -> np.ndarray:
    """Night index (int64, 0..nights-1) of each story of ``gold`` (story_id, gold_cluster), in
    gold's row order: each report's night drawn uniformly; each copy but the report's first
    (in gold order) goes one night later with probability ``late`` (never past the last night)."""
    rng = np.random.default_rng(seed)
    code, uniques = pd.factorize(gold["gold_cluster"])
    report_night = rng.integers(0, nights, len(uniques))
    night = report_night[code]
    first = ~pd.Series(code).duplicated().to_numpy()
    moved = (~first) & (rng.random(len(code)) < late) & (night < nights - 1)
    return night + moved


def write_nights(batch: Path, gold: pd.DataFrame, night: np.ndarray, dest: Path) -> list[Path]:
    """One JSONL file per night under ``dest``, the batch's lines in their order."""
    dest.mkdir(parents=True, exist_ok=True)
    of = dict(zip(gold["story_id"], night))
    paths = [dest / f"night-{i:02d}.jsonl" for i in range(int(night.max()) + 1)]
    files = [open(p, "w", encoding="utf-8") for p in paths]
    try:
        with open(batch, encoding="utf-8") as fh:
            for line in fh:
                sid = json.loads(line).get("id")
                files[int(of.get(sid, 0))].write(line)
    finally:
        for f in files:
            f.close()
    return paths


def late_joined(stories: pd.DataFrame, gold: pd.DataFrame, night: np.ndarray, i: int) -> tuple[int, float | None]:
    """Late copies arriving on night ``i`` whose report had copies on earlier nights, and the share
    of them given a cluster id one of those earlier copies carries."""
    g = gold.assign(night=night).merge(stories[["story_id", "cluster_id"]], on="story_id", how="left")
    earlier = g[g.night < i].dropna(subset=["cluster_id"])
    late = g[(g.night == i) & g.gold_cluster.isin(earlier.gold_cluster)]
    if late.empty:
        return 0, None
    pairs = set(zip(earlier.gold_cluster, earlier.cluster_id))
    hit = sum((gc, cid) in pairs for gc, cid in zip(late.gold_cluster, late.cluster_id))
    return len(late), hit / len(late)


# Rows of each output table are matched on these columns (with run_date) to compare two outputs.
TABLE_KEYS = {"stories": ["story_id"], "clusters": ["cluster_id"], "rejects": ["source", "record"]}


def same_tables(a: Path, b: Path) -> dict[str, list[str]]:
    """Compare the output tables of two runs over the same nights: per table (``TABLE_KEYS``), the
    columns whose values differ once rows are matched on run_date and the key (``["<rows>"]``
    when the row counts differ; ``[]`` when identical)."""
    out = {}
    for name, key in TABLE_KEYS.items():
        x, y = pd.read_parquet(a / name), pd.read_parquet(b / name)
        if len(x) != len(y) or list(x.columns) != list(y.columns):
            out[name] = ["<rows>"]
            continue
        order = ["run_date"] + key
        x = x.sort_values(order).reset_index(drop=True)
        y = y.sort_values(order).reset_index(drop=True)
        # List columns (arrays) compare as tuples.
        norm = lambda v: tuple(v) if isinstance(v, (list, np.ndarray)) else v  # noqa: E731
        out[name] = [c for c in x.columns if not x[c].map(norm).equals(y[c].map(norm))]
    return out


def run_night(code: Path, batch: Path, out: Path, date: str, workers: int, logs: Path, over: list[str]):
    env = dict(os.environ, PYTHONPATH=str(code))
    # Not ``-m dedup``: that puts the working directory (this checkout) ahead of PYTHONPATH.
    boot = f"import runpy, sys; sys.path.insert(0, {str(code)!r}); sys.argv[0] = 'dedup'; " \
           "runpy.run_module('dedup', run_name='__main__')"
    cmd = [sys.executable, "-c", boot, "run", "--input", str(batch), "--output", str(out), "--run-date", date,
           "--workers", str(workers), "--quiet"]
    if over:
        cfg = logs / f"config-{out.name}.yaml"
        cfg.write_text("\n".join(over) + "\n")
        cmd += ["--config", str(cfg)]
    m = run_measured(cmd, stdout=logs / f"{out.name}-{date}.out", stderr=logs / f"{out.name}-{date}.log", env=env)
    if m.returncode != 0:
        raise SystemExit(f"nights: {code} failed on {date} (exit {m.returncode}):\n"
                         f"{log_tail(logs / f'{out.name}-{date}.log')}")
    return m, json.loads(layout.manifest_path(out, date).read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="stories over all nights (default: %(default)s)")
    ap.add_argument("--nights", type=int, default=5, help="nights (default: %(default)s)")
    ap.add_argument("--late", type=float, default=0.15, help="share of a report's copies a night late (default: %(default)s)")
    ap.add_argument("--chrome", action="store_true", help="the batch with outlet chrome (default: clean bodies)")
    ap.add_argument("--code", default=str(ROOT), help="comma-separated checkouts to time, night by night (default: this one)")
    ap.add_argument("--corpus", type=Path, help="a cache folder of corpora (n<N>-seed<S>/), reused when there")
    ap.add_argument("--keep", type=Path, help="keep corpora, nights, outputs and logs in this folder")
    ap.add_argument("--workers", type=int, default=2, help="dedup's run.workers (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="corpus builder and split seed (default: %(default)s)")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Reuters-21578 folder for the builder")
    ap.add_argument("--set", action="append", default=[], metavar="YAML_LINE",
                    help="a line of the YAML config for every night, e.g. 'state: {retention_days: 14}'")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="dedup-nights-"))
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    corpus = get_corpus(args.n, args.seed, cache=args.corpus, workdir=work, keep=True, source=args.source, log_dir=logs)
    gold = load_gold(corpus.gold)
    night = split_nights(gold, args.nights, args.late, args.seed)
    batches = write_nights(corpus.batch(args.chrome), gold, night, work / "nights")
    codes = [Path(c).resolve() for c in args.code.split(",")]
    # Warm-up per checkout on a few stories (numba's on-disk cache is per source path): the figures
    # are the nightly steady state, not a first compile.
    warm = work / "nights" / "warmup.jsonl"
    with open(batches[0], encoding="utf-8") as src, open(warm, "w", encoding="utf-8") as dst:
        dst.writelines(line for _, line in zip(range(500), src))
    for k, code in enumerate(codes):
        shutil.rmtree(work / f"warmup-{k}", ignore_errors=True)
        run_night(code, warm, work / f"warmup-{k}", FIRST_NIGHT.isoformat(), args.workers, logs, args.set)
    rows = []
    print(f"{'night':>5} {'code':<24} {'stories':>8} {'wall_s':>7} {'us/story':>8} {'rss_mb':>7} {'window':>8} "
          f"{'cands':>9} {'F1':>6} {'late':>6} {'joined':>6}", flush=True)
    for i, batch in enumerate(batches):
        date = (FIRST_NIGHT + dt.timedelta(days=i)).isoformat()
        for k, code in enumerate(codes):
            out = work / f"out-{k}"
            if i == 0:
                shutil.rmtree(out, ignore_errors=True)
            m, man = run_night(code, batch, out, date, args.workers, logs, args.set)
            stages = man.get("stages", {})
            stories = pd.read_parquet(out / "stories", columns=["story_id", "cluster_id"])
            seen = gold[night <= i]
            q = scores(stories, seen)
            n_late, joined = late_joined(stories, gold, night, i)
            n = int(stages.get("clean", {}).get("stories", 0))
            r = {"night": i + 1, "date": date, "code": str(code), "stories": n, "wall_s": round(m.wall_s, 2),
                 "us_per_story": round(1e6 * m.wall_s / max(n, 1), 1), "peak_rss_mb": round(m.peak_rss_mb, 1),
                 "window_clusters": stages.get("state", {}).get("clusters"),
                 "candidates": stages.get("candidates", {}).get("pairs"), "f1": round(q["f1"], 4),
                 "late_copies": n_late, "late_joined": None if joined is None else round(joined, 4),
                 "other_cores": None if m.other_cores is None else round(m.other_cores, 2),
                 "stage_seconds": {s: v.get("seconds") for s, v in stages.items() if isinstance(v, dict)}}
            rows.append(r)
            print(f"{r['night']:>5} {str(code)[-24:]:<24} {n:>8} {r['wall_s']:>7.2f} {r['us_per_story']:>8.1f} "
                  f"{r['peak_rss_mb']:>7.0f} {r['window_clusters'] or 0:>8} {r['candidates'] or 0:>9} "
                  f"{r['f1']:>6.4f} {n_late:>6} {'' if joined is None else f'{joined:.4f}':>6}", flush=True)
    for code in codes:
        mine = [r for r in rows if r["code"] == str(code)]
        a, b = mine[0], mine[-1]
        print(f"{str(code)}: last/first night: seconds per story x{b['us_per_story'] / a['us_per_story']:.2f}, "
              f"peak RSS x{b['peak_rss_mb'] / a['peak_rss_mb']:.2f}; F1 over all nights {b['f1']:.4f}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "corpus": str(corpus.dir),
                                         "nights": rows}, indent=2) + "\n")
    if len(codes) > 1:
        print(f"outputs to compare: {', '.join(str(work / f'out-{k}') for k in range(len(codes)))}")
        for k in range(1, len(codes)):
            diff = same_tables(work / "out-0", work / f"out-{k}")
            print(f"tables of {codes[k]} against {codes[0]}: " + ", ".join(
                f"{t} {'identical' if not cols else 'DIFFER in ' + ', '.join(cols)}" for t, cols in diff.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
