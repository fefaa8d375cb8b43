#!/usr/bin/env python3
"""Compare HTML article-text extractors on the article-extraction-benchmark pages.

Reads the 181 real pages of the shared corpus (``html/<sha256>.html.gz`` and
``ground-truth.json``: sha256 -> {url, articleBody}) and, for each extractor,
prints token-level precision / recall / F1 against ``articleBody`` and pages/s.

Metric (per page, then the mean over pages): tokens are the lowercase words
(``\\w+``) of a text; the overlap is the size of the multiset intersection of
the two bags of tokens; precision = overlap / |predicted tokens|, recall =
overlap / |truth tokens|, F1 their harmonic mean. An empty prediction scores 0
on all three. The ``AEB-F1`` column is the upstream benchmark's own figure
(4-token shingles, normalised per page, F1 of the mean precision and mean
recall) so the numbers can be compared with its published table.

Speed is pages / second of the extraction call alone (decompression and
scoring excluded, one warm-up call first), single process, on whatever machine
runs it. jusText uses the English stoplist and the upstream benchmark's
thresholds, so it finds little on the non-English pages.

    .venv/bin/python bench/html_extraction.py                 # all extractors
    .venv/bin/python bench/html_extraction.py --only trafilatura,dedup
    .venv/bin/python bench/html_extraction.py --corpus /path/to/article-extraction-benchmark

Extractors whose library is not installed are listed as skipped. The corpus is
read at run time only; none of its text is stored in this repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"

_WORD = re.compile(r"\w+")


# ----------------------------------------------------------------------------- corpus

def load_corpus(corpus: Path, limit: int | None = None) -> list[tuple[str, str, str]]:
    """[(sha256, html, articleBody)] in sorted id order."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        with gzip.open(corpus / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as f:
            pages.append((key, f.read(), truth[key].get("articleBody") or ""))
    return pages


# ----------------------------------------------------------------------------- metrics

def tokens(text: str) -> list[str]:
    return _WORD.findall((text or "").lower())


def token_prf(pred: str, truth: str) -> tuple[float, float, float]:
    """Bag-of-tokens precision, recall, F1 of one page."""
    p, t = Counter(tokens(pred)), Counter(tokens(truth))
    n_pred, n_truth = sum(p.values()), sum(t.values())
    if n_pred == 0 or n_truth == 0:
        return (1.0, 1.0, 1.0) if n_pred == n_truth else (0.0, 0.0, 0.0)
    common = sum((p & t).values())
    precision, recall = common / n_pred, common / n_truth
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def _shingles(text: str, n: int = 4) -> Counter:
    toks = _WORD.findall(text or "")  # upstream keeps case
    return Counter(tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i:i + n])


def aeb_tp_fp_fn(pred: str, truth: str) -> tuple[float, float, float]:
    """Upstream article-extraction-benchmark per-page (tp, fp, fn), normalised."""
    p, t = _shingles(pred), _shingles(truth)
    tp = sum((p & t).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def aeb_f1(rows: list[tuple[float, float, float]]) -> float:
    def prec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def rec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    ps = [prec(*r) for r in rows if r[0] + r[1] > 0]
    rs = [rec(*r) for r in rows if r[0] + r[2] > 0]
    mp, mr = sum(ps) / len(ps), sum(rs) / len(rs)
    return 2 * mp * mr / (mp + mr) if mp + mr else 0.0


# ----------------------------------------------------------------------------- extractors

def _trafilatura(**options) -> Callable[[str], str]:
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

    def run(html: str) -> str:
        return trafilatura.extract(html, output_format="txt", include_comments=False,
                                   **options) or ""
    return run


def _resiliparse(**options) -> Callable[[str], str]:
    from resiliparse.extract.html2text import extract_plain_text

    def run(html: str) -> str:
        return extract_plain_text(html, **options)
    return run


def _justext() -> Callable[[str], str]:
    import justext

    stoplist = justext.get_stoplist("English")

    def run(html: str) -> str:
        # The thresholds the upstream benchmark uses for jusText (looser than its defaults).
        paragraphs = justext.justext(html, stoplist, length_low=50, length_high=200,
                                     stopwords_low=0.1, stopwords_high=0.2,
                                     max_link_density=0.2, max_heading_distance=200,
                                     no_headings=True)
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)
    return run


# Class / id fragments that mark page furniture rather than article text.
_FURNITURE = ("comment", "share", "social", "related", "promo", "newsletter", "subscribe",
              "sidebar", "footer", "header", "menu", "nav", "cookie", "advert", "recommend",
              "popular", "trending", "breadcrumb", "byline", "caption", "author")
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button",
              "nav", "header", "footer", "aside", "figure", "head", "select")


def _selectolax_main() -> Callable[[str], str]:
    """A small readability-style heuristic on selectolax.

    Drop furniture tags and elements whose class/id names furniture, credit each
    <p>'s text length to its parent (and half to the grandparent), and return the
    block text of the best-scoring container.
    """
    from selectolax.lexbor import LexborHTMLParser

    from dedup.stages.text.html import block_text

    def furniture(node) -> bool:
        attrs = node.attributes
        label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
        return any(word in label for word in _FURNITURE)

    def run(html: str) -> str:
        tree = LexborHTMLParser(html)
        for tag in _DROP_TAGS:
            for el in tree.css(tag):
                el.decompose()
        body = tree.body
        if body is None:
            return ""
        for el in body.css("[class], [id]"):
            if el.tag not in ("body", "html", "article", "main") and furniture(el):
                el.decompose()
        scores: dict[int, float] = {}
        nodes = {}
        for p in body.css("p"):
            n = len(p.text(deep=True, strip=True))
            if n < 25:
                continue
            parent = p.parent
            for weight in (1.0, 0.5):
                if parent is None:
                    break
                key = parent.mem_id
                nodes[key] = parent
                scores[key] = scores.get(key, 0.0) + weight * n
                parent = parent.parent
        if not scores:
            return block_text(body)
        best = nodes[max(scores, key=scores.__getitem__)]
        return block_text(best)
    return run


def _selectolax_visible() -> Callable[[str], str]:
    from dedup.stages.text.html import visible_text
    return visible_text


def _dedup() -> Callable[[str], str]:
    from dedup.stages.text.html import html_to_text
    return html_to_text


EXTRACTORS: dict[str, Callable[[], Callable[[str], str]]] = {
    "trafilatura": lambda: _trafilatura(),
    "trafilatura:recall": lambda: _trafilatura(favor_recall=True),
    "trafilatura:precision": lambda: _trafilatura(favor_precision=True),
    "trafilatura:fast": lambda: _trafilatura(fast=True),
    "resiliparse:main": lambda: _resiliparse(main_content=True),
    "justext": _justext,
    "selectolax:main": _selectolax_main,
    "selectolax:all-text": _selectolax_visible,
    "dedup.html_to_text": _dedup,
}


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(module)
    except PackageNotFoundError:
        return "-"


_DIST = {"trafilatura": "trafilatura", "resiliparse": "resiliparse", "justext": "justext",
         "selectolax": "selectolax", "dedup.html_to_text": "dedup"}


# ----------------------------------------------------------------------------- main

def evaluate(run: Callable[[str], str], pages: list[tuple[str, str, str]]) -> dict:
    prf, aeb, elapsed, empty = [], [], 0.0, 0
    run(pages[0][1])  # warm-up: lazy imports and caches are not the extractor's speed
    for _, html, truth in pages:
        start = time.perf_counter()
        pred = run(html)
        elapsed += time.perf_counter() - start
        empty += not pred.strip()
        prf.append(token_prf(pred, truth))
        aeb.append(aeb_tp_fp_fn(pred, truth))
    n = len(pages)
    return {
        "precision": sum(r[0] for r in prf) / n,
        "recall": sum(r[1] for r in prf) / n,
        "f1": sum(r[2] for r in prf) / n,
        "aeb_f1": aeb_f1(aeb),
        "pages_per_s": n / elapsed if elapsed else float("inf"),
        "empty": empty,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="article-extraction-benchmark folder (default: %(default)s)")
    ap.add_argument("--only", default="",
                    help="comma-separated name prefixes to run, e.g. 'trafilatura,dedup'")
    ap.add_argument("--limit", type=int, default=None, help="first N pages only")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)

    if not (args.corpus / "ground-truth.json").is_file() or not (args.corpus / "html").is_dir():
        print(f"corpus not found at {args.corpus} (need ground-truth.json and html/); "
              "pass --corpus. Nothing to do.")
        return 0

    pages = load_corpus(args.corpus, args.limit)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    print(f"{len(pages)} pages from {args.corpus}\n")
    header = (f"{'extractor':<22} {'version':<8} {'precision':>9} {'recall':>7} {'F1':>6} "
              f"{'AEB-F1':>7} {'empty':>5} {'pages/s':>8}")
    print(header)
    print("-" * len(header))
    results = {}
    for name, factory in EXTRACTORS.items():
        if wanted and not any(name.startswith(w) for w in wanted):
            continue
        dist = _DIST.get(name.split(":")[0], "-")
        try:
            run = factory()
        except ImportError as exc:
            print(f"{name:<22} skipped: {exc}")
            continue
        r = evaluate(run, pages)
        results[name] = {"version": _version(dist), **r}
        print(f"{name:<22} {_version(dist):<8} {r['precision']:>9.3f} {r['recall']:>7.3f} "
              f"{r['f1']:>6.3f} {r['aeb_f1']:>7.3f} {r['empty']:>5} {r['pages_per_s']:>8.1f}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
