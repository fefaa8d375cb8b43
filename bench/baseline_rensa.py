"""A rensa-based pipeline: the datasketch baseline's shingles, rensa's Rust MinHash and LSH.

For each body: the same word k-shingles as ``bench/baseline_datasketch.py`` (lowercase, split on
whitespace, k=4), ``rensa.RMinHash`` signatures made in bulk (``RMinHash.from_token_sets``,
num_perm=128), inserted into ``rensa.RMinHashLSH`` with the band count datasketch's
``MinHashLSH`` would pick for the same threshold among those rensa accepts (``lsh_bands``),
each queried, connected components (union-find). No chrome removal,
no normalization, no verification of candidates. rensa is a benchmark dependency only (the
``bench`` extra in pyproject.toml); this script says so when it is missing.

    python bench/baseline_rensa.py --input batch.jsonl --gold gold.csv [--json]
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
try:
    from dedup.tools.evaluate import evaluate
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(HERE.parent))
    from dedup.tools.evaluate import evaluate


def _datasketch_baseline():
    """bench/baseline_datasketch.py as a module (its reader, shingles and union-find are shared)."""
    spec = importlib.util.spec_from_file_location("baseline_datasketch", HERE / "baseline_datasketch.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def lsh_bands(threshold: float, num_perm: int) -> int:
    """The band count for ``RMinHashLSH``: datasketch's choice (``MinHashLSH``'s
    ``_optimal_param``, equal false-positive and false-negative weights) among the band counts
    rensa accepts (divisors of ``num_perm``, every permutation used: b * r == num_perm)."""
    from datasketch.lsh import _false_negative_probability, _false_positive_probability

    def error(b: int) -> float:
        r = num_perm // b
        return 0.5 * _false_positive_probability(threshold, b, r) + 0.5 * _false_negative_probability(threshold, b, r)

    return min((b for b in range(1, num_perm + 1) if num_perm % b == 0), key=error)


def run_baseline(jsonl_path: str | Path, *, threshold: float = 0.5, num_perm: int = 128, shingle_size: int = 4,
                 seed: int = 1) -> tuple[pd.DataFrame, dict]:
    """Cluster the stories of a JSONL batch (id, body). Returns (story_id, cluster_id) and timings
    (seconds per step, ``stories``, ``stories_per_second``). Raises ImportError without rensa."""
    from rensa import RMinHash, RMinHashLSH

    ds = _datasketch_baseline()
    t0 = time.perf_counter()
    ids, bodies = ds.read_jsonl(jsonl_path)
    t1 = time.perf_counter()
    sets = [[s.decode("utf-8") for s in ds.shingle_set(b, shingle_size)] for b in bodies]
    minhashes = RMinHash.from_token_sets(sets, num_perm, seed)
    del sets
    t2 = time.perf_counter()
    lsh = RMinHashLSH(threshold, num_perm, lsh_bands(threshold, num_perm))
    lsh.insert_many(minhashes)
    t3 = time.perf_counter()
    parent = list(range(len(ids)))
    for i, hits in enumerate(lsh.query_all(minhashes)):
        for j in hits:
            ri, rj = ds._find(parent, i), ds._find(parent, j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = [ds._find(parent, i) for i in range(len(ids))]
    t4 = time.perf_counter()
    clusters = pd.DataFrame({"story_id": ids, "cluster_id": [ids[r] for r in roots]})
    return clusters, {"read": t1 - t0, "minhash": t2 - t1, "index": t3 - t2, "query_and_cluster": t4 - t3,
                      "total": t4 - t0, "stories": len(ids),
                      "stories_per_second": len(ids) / (t4 - t0) if t4 > t0 else float("inf")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="JSONL batch with id and body")
    ap.add_argument("--gold", help="gold.csv (story_id,gold_cluster) to evaluate against")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--shingle-size", type=int, default=4)
    ap.add_argument("--out", help="write the clusters (story_id, cluster_id) to this CSV")
    ap.add_argument("--json", action="store_true", help="print one JSON object (timings + evaluation)")
    args = ap.parse_args(argv)
    try:
        clusters, timings = run_baseline(args.input, threshold=args.threshold, num_perm=args.num_perm,
                                         shingle_size=args.shingle_size)
    except ImportError:
        print("rensa is not installed: pip install 'rensa==0.5.0' (the bench extra: pip install -e '.[bench]')",
              file=sys.stderr)
        return 2
    if args.out:
        clusters.to_csv(args.out, index=False)
    result = None
    if args.gold:
        result = evaluate(clusters, pd.read_csv(args.gold, dtype=str, keep_default_na=False))
    return _datasketch_baseline().print_result(timings, result, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
