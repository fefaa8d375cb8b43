"""How a night's cost grows with story length: one labelled batch, every body lengthened 1x, 2x, 4x ...

Issue #15 asks how cost grows with text length. This takes a corpus of the corpus builder
(``bench/synth/corpus.py``: ``batch-clean.jsonl`` and ``gold.csv``), writes one batch per factor
``f`` in which every story's body is about ``f`` times as long, and times ``dedup run`` on each
(``bench/speed.py``'s ``run_dedup``: a child process, a fresh output, rusage of that child, the
manifest's stages, F1 against gold). With ``--baseline`` the plain datasketch pipeline is timed on the
same batches, for the ratio at each length.

How a body is lengthened: the extra text is ``(f - 1)`` times the body length of the report's first
copy, as paragraphs of 40-80 words drawn from the Reuters vocabulary (``bench/distinct.py``) with a
generator seeded by the gold cluster, inserted after the body's first paragraph. So every copy of a
report gets the same new paragraphs (copies stay copies, the lede and the trailer stay where they
were) and different reports share no new shingles beyond chance (the gold stays right).

    .venv/bin/python bench/text_length.py --corpus /tmp/q/speed/n200000-seed0 --factors 1,2,4
    .venv/bin/python bench/text_length.py --corpus DIR --factors 1,2 --baseline --repeat 2

The runs alternate factors (1, 2, 4, 1, 2, 4 with ``--repeat 2``) so that a slow spell of a shared
machine does not fall on one length only; each factor's fastest run is reported.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.distinct import vocabulary  # noqa: E402
from bench.speed import (DEFAULT_SOURCE, Corpus, Result, _f, best_of, corpus_stories, fmt_table,  # noqa: E402
                         load_gold, machine, run_baseline, run_dedup)


def parse_factors(text: str) -> list[float]:
    try:
        factors = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--factors wants comma-separated numbers, got {text!r}") from None
    if not factors or min(factors) < 1:
        raise argparse.ArgumentTypeError("--factors wants numbers >= 1 (1 = the batch as built)")
    return factors


def extension(cluster: str, chars: int, vocab: np.ndarray, seed: int) -> list[str]:
    """Paragraphs of random vocabulary words, about ``chars`` characters in all, the same for every
    call with the same ``cluster`` and ``seed`` (the generator is seeded by both)."""
    rng = np.random.default_rng([seed, zlib.crc32(cluster.encode())])
    paras: list[str] = []
    have = 0
    while have < chars:
        words = vocab[rng.integers(0, len(vocab), int(rng.integers(40, 81)))].tolist()
        p = " ".join(words).capitalize() + "."
        paras.append(p)
        have += len(p) + 1
    return paras


def lengthen(src: Path, gold_csv: Path, factor: float, out: Path, vocab: np.ndarray, seed: int = 0) -> int:
    """Write ``src`` (JSONL) to ``out`` with each body lengthened to about ``factor`` times (see the
    module docstring); returns the bytes of body text written. Stories missing from the gold keep
    their body."""
    gold = load_gold(gold_csv)
    cluster_of = dict(zip(gold["story_id"], gold["gold_cluster"]))
    extra: dict[str, list[str]] = {}  # per gold cluster, fixed by its first copy in the batch
    body_bytes = 0
    with src.open(encoding="utf-8") as fin, out.open("w", encoding="utf-8") as fout:
        for line in fin:
            rec = json.loads(line)
            body = rec.get("body") or ""
            c = cluster_of.get(str(rec.get("id")))
            if factor > 1 and c is not None and body:
                if c not in extra:
                    extra[c] = extension(c, int(round((factor - 1) * len(body))), vocab, seed)
                first, sep, rest = body.partition("\n")
                body = "\n".join([first, *extra[c]]) + (sep + rest if sep else "")
                rec["body"] = body
            body_bytes += len(body.encode("utf-8"))
            fout.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return body_bytes


def length_table(rows: list[tuple[float, int, Result, Result | None]]) -> str:
    base_mb = rows[0][1] / 1e6
    out = []
    for factor, body, r, b in rows:
        mb = body / 1e6
        out.append([f"{factor:g}", f"{mb:,.0f}", _f(mb / base_mb, ".2f"), _f(r.wall_s, ".1f"), _f(r.cpu_s, ".1f"),
                    _f(r.cpu_s / mb if mb else None, ".3f"), _f(r.peak_rss_mb, ",.0f"), _f(r.quality.get("f1"), ".4f"),
                    _f(b.wall_s if b else None, ".1f"), _f(b.wall_s / r.wall_s if b and r.wall_s else None, ".1f"),
                    _f(r.other_cores, ".2f"), "ok" if r.ok and (b is None or b.ok) else "FAILED"])
    return fmt_table(["factor", "body MB", "x bytes", "dedup wall s", "CPU s", "CPU s/MB", "peak RSS MB", "F1",
                      "datasketch s", "ratio", "other cores", "status"], out)


def stage_length_table(rows: list[tuple[float, int, Result, Result | None]]) -> str:
    """Stage seconds (rows) by factor (columns), and each stage's growth from the first factor to the last."""
    names: list[str] = []
    for _, _, r, _ in rows:
        names += [s for s in r.stages if s not in names]
    first, last = rows[0][2], rows[-1][2]
    table = []
    for name in names:
        secs = [r.stages[name]["seconds"] if name in r.stages else None for _, _, r, _ in rows]
        if max(s or 0 for s in secs) < 0.05:
            continue
        a, z = first.stages.get(name, {}).get("seconds"), last.stages.get(name, {}).get("seconds")
        table.append([name] + [_f(s, ".2f") for s in secs] + [_f(z / a if a and z is not None else None, ".2f")])
    table.append(["wall"] + [f"{r.wall_s:.2f}" for _, _, r, _ in rows] + [_f(last.wall_s / first.wall_s, ".2f")])
    return fmt_table(["stage seconds"] + [f"x{f:g}" for f, _, _, _ in rows] + ["last/first"], table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/text_length.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="a corpus folder of bench/synth/corpus.py")
    ap.add_argument("--factors", type=parse_factors, default=[1.0, 2.0, 4.0],
                    help="comma-separated length factors, 1 = as built (default: 1,2,4)")
    ap.add_argument("--baseline", action="store_true", help="also time the plain datasketch pipeline at each length")
    ap.add_argument("--repeat", type=int, default=1, help="rounds over the factors; the fastest run of each is kept")
    ap.add_argument("--workers", type=int, default=2, help="dedup's run.workers (default: %(default)s)")
    ap.add_argument("--tmp", type=Path, help="parent of the work folder for the lengthened batches")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Reuters-21578 folder (the vocabulary)")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    args = ap.parse_args(argv)
    n = corpus_stories(args.corpus)
    if n is None:
        ap.error(f"{args.corpus} is not a complete corpus folder (batch-clean.jsonl, gold.csv, stats.json)")
    if args.repeat < 1:
        ap.error("--repeat must be positive")
    gold = load_gold(args.corpus / "gold.csv")
    vocab = vocabulary(args.source)
    with tempfile.TemporaryDirectory(prefix="dedup-length-", dir=args.tmp) as tmp:
        work = Path(tmp)
        corpora: dict[float, tuple[Corpus, int]] = {}
        for f in args.factors:
            d = work / f"x{f:g}"
            d.mkdir()
            (d / "gold.csv").symlink_to((args.corpus / "gold.csv").resolve())
            print(f"writing the batch with bodies x{f:g} ...", flush=True)
            body = lengthen(args.corpus / "batch-clean.jsonl", args.corpus / "gold.csv", f, d / "batch-clean.jsonl",
                            vocab)
            corpora[f] = (Corpus(d, n, 0, temporary=True), body)
        runs: dict[float, list[Result]] = {f: [] for f in args.factors}
        base: dict[float, list[Result]] = {f: [] for f in args.factors}
        for i in range(args.repeat):
            for f in args.factors:
                c, _ = corpora[f]
                runs[f].append(run_dedup(c, chrome=False, workers=args.workers, workdir=work, keep=False,
                                         warmup=i == 0 and f == args.factors[0], gold=gold))
                if args.baseline:
                    base[f].append(run_baseline(c, chrome=False, workdir=work, keep=False, gold=gold))
        rows = [(f, corpora[f][1], best_of(runs[f]), best_of(base[f]) if base[f] else None) for f in args.factors]
    print()
    print(f"{n:,} stories; each factor's fastest of {args.repeat} run(s); CPU s = user + system of the child")
    print(length_table(rows))
    print()
    print(stage_length_table(rows))
    for f, _, r, b in rows:
        for x in (r, b):
            if x is not None and x.error:
                print(f"\n{x.pipeline} x{f:g}: {x.error}")
    if args.json:
        from dataclasses import asdict

        args.json.write_text(json.dumps({"machine": machine(), "stories": n, "rows": [
            {"factor": f, "body_bytes": body, "dedup_runs": [asdict(x) for x in runs[f]],
             "datasketch_runs": [asdict(x) for x in base[f]]} for f, body, _, _ in rows]}, indent=2, default=str))
    return 0 if all(r.ok and (b is None or b.ok) for _, _, r, b in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
