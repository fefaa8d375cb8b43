"""The plain datasketch pipeline, as a new user would build it from the datasketch docs.

For each body: lowercase, split on whitespace, word k-shingles (k=4 as ours), MinHash
via ``MinHash.bulk`` (num_perm=128, datasketch's default scheme and hash), insert all
into ``MinHashLSH(threshold=0.5)``, query each, connected components (union-find).
No chrome removal, no normalization, no verification of candidates.

    python bench/baseline_datasketch.py --input batch.jsonl --gold gold.csv [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
from datasketch import MinHash, MinHashLSH

try:
    from dedup.tools.evaluate import evaluate
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dedup.tools.evaluate import evaluate


def read_jsonl(path: str | Path) -> tuple[list[str], list[str]]:
    ids, bodies = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                ids.append(str(rec["id"]))
                bodies.append(rec.get("body") or "")
    return ids, bodies


def shingle_set(text: str, k: int) -> list[bytes]:
    """Word k-shingles of the lowercased, whitespace-split text (the whole text when shorter)."""
    toks = text.lower().split()
    if len(toks) < k:
        return [" ".join(toks).encode("utf-8")]
    return list({" ".join(toks[i:i + k]).encode("utf-8") for i in range(len(toks) - k + 1)})


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def run_baseline(
    jsonl_path: str | Path,
    *,
    threshold: float = 0.5,
    num_perm: int = 128,
    shingle_size: int = 4,
) -> tuple[pd.DataFrame, dict]:
    """Cluster the stories of a JSONL batch (id, body). Returns (story_id, cluster_id) and timings (s)."""
    t0 = time.perf_counter()
    ids, bodies = read_jsonl(jsonl_path)
    t1 = time.perf_counter()
    minhashes = MinHash.bulk((shingle_set(b, shingle_size) for b in bodies), num_perm=num_perm)
    t2 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m)
    t3 = time.perf_counter()
    parent = list(range(len(ids)))
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            ri, rj = _find(parent, i), _find(parent, j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = [_find(parent, i) for i in range(len(ids))]
    t4 = time.perf_counter()
    clusters = pd.DataFrame({"story_id": ids, "cluster_id": [ids[r] for r in roots]})
    timings = {
        "read": t1 - t0,
        "minhash": t2 - t1,
        "index": t3 - t2,
        "query_and_cluster": t4 - t3,
        "total": t4 - t0,
        "stories": len(ids),
        "stories_per_second": len(ids) / (t4 - t0) if t4 > t0 else float("inf"),
    }
    return clusters, timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="JSONL batch with id and body")
    ap.add_argument("--gold", help="gold.csv (story_id,gold_cluster) to evaluate against")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--shingle-size", type=int, default=4)
    ap.add_argument("--max-examples", type=int, default=5)
    ap.add_argument("--out", help="write the clusters (story_id, cluster_id) to this CSV")
    ap.add_argument("--json", action="store_true", help="print one JSON object (timings + evaluation)")
    args = ap.parse_args(argv)

    clusters, timings = run_baseline(args.input, threshold=args.threshold, num_perm=args.num_perm,
                                     shingle_size=args.shingle_size)
    if args.out:
        clusters.to_csv(args.out, index=False)
    result = None
    if args.gold:
        gold = pd.read_csv(args.gold, dtype=str, keep_default_na=False)
        result = evaluate(clusters, gold, max_examples=args.max_examples)
    return print_result(timings, result, as_json=args.json)


def print_result(timings: dict, result, as_json: bool) -> int:
    """Print a baseline's timings (and ``evaluate``'s result, or None) as JSON or text; returns exit
    code 0. Shared by this baseline and ``bench/baseline_rensa.py``."""
    if as_json:
        print(json.dumps({"timings": timings, "evaluation": result.to_dict() if result else None}, indent=2,
                         ensure_ascii=False))
        return 0
    if result is not None:
        print(result.to_text())
        print()
    print(f"{timings['stories']:,} stories in {timings['total']:.2f} s = {timings['stories_per_second']:,.0f} "
          f"stories/s (read {timings['read']:.2f} s, minhash {timings['minhash']:.2f} s, "
          f"index {timings['index']:.2f} s, query+cluster {timings['query_and_cluster']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
