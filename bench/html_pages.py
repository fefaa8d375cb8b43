"""A batch of whole HTML pages, as a scraper hands them over: the load of extraction and of big records.

The 181 real news pages of the article-extraction benchmark (``../shared/corpora/article-extraction-benchmark``,
100-200 KB each, 174 KB on average) are written ``--n`` records long, in turn, each under a new id
and with a comment naming its copy at the top, so that no two records are the same bytes. Every
page of the benchmark is a different story: the night has 181 clusters (copies of one page cluster).

    .venv/bin/python bench/html_pages.py --n 10000 --out /tmp/pages10k.jsonl
    /usr/bin/time -v .venv/bin/dedup run --input /tmp/pages10k.jsonl --output /tmp/o-pages --run-date 2026-11-26

Records are JSONL with ``id``, ``outlet`` (50 outlets in turn), ``url`` (the page's, with the copy
number as a query) and ``body`` (the page); no headline or date, as many scrapers save them.
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"
OUTLETS = 50


def pages(corpus: Path) -> list[tuple[str, str]]:
    """(url, html) of every page of the benchmark, in the ground truth's order."""
    truth_file = corpus / "ground-truth.json"
    if not truth_file.exists():
        raise SystemExit(f"html_pages: no ground-truth.json in {corpus} (--corpus DIR)")
    truth = json.loads(truth_file.read_text())
    return [(meta.get("url") or f"https://page.example/{key}",
             gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace"))
            for key, meta in truth.items()]


def write_batch(out: Path, n: int, source: list[tuple[str, str]]) -> int:
    """Write ``n`` records cycling through ``source``; returns the bytes written."""
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            url, html = source[i % len(source)]
            fh.write(json.dumps({"id": f"p{i:07d}", "outlet": f"site-{i % OUTLETS:02d}", "url": f"{url}?copy={i}",
                                 "body": f"<!-- copy {i} -->\n{html}"}) + "\n")
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/html_pages.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, required=True, help="number of records")
    ap.add_argument("--out", required=True, help="JSONL file to write")
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="the extraction benchmark's folder")
    a = ap.parse_args(argv)
    size = write_batch(Path(a.out), a.n, pages(Path(a.corpus)))
    print(f"html_pages: {a.n:,} pages, {size / 1e6:,.0f} MB -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
