"""A batch of distinct stories: every story its own cluster, the load the corpus builder never makes.

The corpus builder (``bench/synth/corpus.py``) draws its copies from the ~20,000 Reuters-21578 reports,
so at 1M stories a batch has ~10,000 clusters of ~100 copies. A real night has many singletons
(45% of the builder's own base distribution, before scaling), and at 1M stories the per-cluster work
(the state's canonicals, the clusters table, the report) meets as many clusters as stories. This
writes ``--n`` stories of 60-159 words drawn at random from the vocabulary of the Reuters files
(words of 3-12 letters), so no two share shingles beyond chance: one cluster per story.

    .venv/bin/python bench/distinct.py --n 1000000 --out /tmp/distinct1m.jsonl
    .venv/bin/dedup run --input /tmp/distinct1m.jsonl --output /tmp/o-distinct --run-date 2026-11-26

Stories are JSONL records with ``id``, ``outlet`` (300 outlets in turn), ``headline`` (the first six
words), ``published_at`` and ``body``; the same ``--seed`` gives the same batch.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "corpora" / "reuters21578"
OUTLETS = 300
BLOCK = 50_000


def vocabulary(source: Path, files: int = 3) -> np.ndarray:
    """Sorted distinct lowercase words of 3-12 ASCII letters in the first ``files`` .sgm files of ``source``."""
    paths = sorted(source.glob("*.sgm"))[:files]
    if not paths:
        raise SystemExit(f"distinct: no reut2-*.sgm files in {source} (--source DIR)")
    words = set()
    for p in paths:
        words.update(w.lower() for w in re.findall(r"[A-Za-z]{3,12}", p.read_text(encoding="latin-1")))
    return np.array(sorted(words))


def write_batch(out: Path, n: int, vocab: np.ndarray, seed: int = 0) -> None:
    """Write ``n`` random-word stories to ``out`` (JSONL), in blocks of ``BLOCK`` stories."""
    rng = np.random.default_rng(seed)
    with out.open("w", encoding="utf-8") as fh:
        for start in range(0, n, BLOCK):
            m = min(BLOCK, n - start)
            lens = rng.integers(60, 160, m)
            toks = vocab[rng.integers(0, len(vocab), int(lens.sum()))]
            pos = np.concatenate([[0], np.cumsum(lens)])
            fh.writelines(json.dumps({"id": f"u{start + j}", "outlet": f"outlet-{(start + j) % OUTLETS:03d}",
                                      "headline": " ".join(toks[pos[j]:pos[j] + 6]),
                                      "published_at": "2026-11-26T08:00:00Z",
                                      "body": " ".join(toks[pos[j]:pos[j + 1]]) + "."}) + "\n" for j in range(m))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/distinct.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, required=True, help="number of stories")
    ap.add_argument("--out", required=True, help="JSONL file to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", default=str(DEFAULT_SOURCE), help="folder of reut2-*.sgm (default: %(default)s)")
    a = ap.parse_args(argv)
    write_batch(Path(a.out), a.n, vocabulary(Path(a.source)), a.seed)
    print(f"distinct: {a.n:,} stories -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
