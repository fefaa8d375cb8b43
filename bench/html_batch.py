"""The 181 real pages of the article-extraction benchmark through `dedup run`, as one batch.

Checks two things the job must get right on real HTML: the body text it extracts (token F1 of
``body_clean`` against the human-extracted ``articleBody``) and that no two of these unrelated
pages end up in one cluster.

    .venv/bin/python bench/html_batch.py [--corpus ../shared/corpora/article-extraction-benchmark]
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup import load_config, run  # noqa: E402

_TOKEN = re.compile(r"\w+", re.UNICODE)
# A tag of HTML (by name: "<The Palace: Tale of Jang Noksu>" is a Korean title, not markup) or a
# JavaScript statement left in body_clean.
_MARKUP = (r"(?i)</?(?:p|div|span|a|br|hr|b|i|u|em|strong|ul|ol|li|h[1-6]|table|tr|td|th|img|figure|section"
           r"|article|header|footer|nav|main|aside|script|style|noscript|meta|form|input|button|select|option"
           r"|iframe|html|head|body|title)(?:\s[^<>]*)?/?>|<!--|\bfunction\s*\(|\bvar\s+\w+\s*=")


def token_f1(pred: str, truth: str) -> tuple[float, float, float]:
    p, t = Counter(_TOKEN.findall(pred.lower())), Counter(_TOKEN.findall(truth.lower()))
    common = sum((p & t).values())
    if not p or not t or not common:
        return 0.0, 0.0, 0.0
    prec, rec = common / sum(p.values()), common / sum(t.values())
    return prec, rec, 2 * prec * rec / (prec + rec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"))
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    if not (corpus / "ground-truth.json").exists():
        print(f"corpus not found at {corpus}; nothing to measure")
        return 0
    truth = json.loads((corpus / "ground-truth.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "pages.jsonl"
        pages = {}
        with open(batch, "w", encoding="utf-8") as fh:
            for key, meta in truth.items():
                html = pages[key] = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes()).decode(
                    "utf-8", "replace")
                outlet = re.sub(r"^https?://(www\.)?", "", meta.get("url", "")).split("/")[0]
                fh.write(json.dumps({"id": key, "body": html, "url": meta.get("url"), "outlet": outlet}) + "\n")
        res = run(load_config(input=str(batch), output=str(Path(tmp) / "out"), run_date="2026-01-01"))
        stories = pd.read_parquet(Path(tmp) / "out" / "stories")
        rejects = pd.read_parquet(Path(tmp) / "out" / "rejects")
    scores = [token_f1(b, truth[s]["articleBody"]) for s, b in zip(stories.story_id, stories.body_clean)]
    scores += [(0.0, 0.0, 0.0)] * len(rejects)
    df = pd.DataFrame(scores, columns=["precision", "recall", "f1"])
    # A tag or a script left in body_clean: "<" followed by a tag name, or a JavaScript statement.
    markup = int(stories.body_clean.str.contains(_MARKUP).sum())
    sizes = stories.groupby("cluster_id").size()
    print(f"pages {len(truth)}  accepted {len(stories)}  rejected {len(rejects)}  html detected {res.counts['html_bodies']}")
    print(f"body_clean vs articleBody (token bag, mean over pages): precision {df.precision.mean():.3f}  "
          f"recall {df.recall.mean():.3f}  F1 {df.f1.mean():.3f}  (median F1 {df.f1.median():.3f})")
    print(f"pages under 0.5 recall {int((df.recall < 0.5).sum())}  pages with markup in body_clean {markup}")
    # Where each of those pages lost its text: the extractor already (html_to_text recall < 0.5), or cleaning.
    from dedup.stages.text.html import html_to_text

    ids = list(stories.story_id) + list(rejects.story_id)
    low = [ids[i] for i in np.flatnonzero(df.recall.to_numpy() < 0.5)]
    extracted = [token_f1(html_to_text(pages[k]), truth[k]["articleBody"])[1] < 0.5 for k in low]
    print(f"  of which lost in extraction {sum(extracted)}, in cleaning {len(low) - sum(extracted)}")
    if "body_source" in stories:
        counts = stories.body_source.value_counts()
        print("body_source: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"clusters {len(sizes)}; clusters with more than one page: {int((sizes > 1).sum())}")
    seconds = res.manifest["seconds_total"]
    print(f"job wall time {seconds:.1f}s ({len(truth) / seconds:.0f} pages/s)")
    return 0 if (sizes > 1).sum() == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
