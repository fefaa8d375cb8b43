"""Labeled syndication corpus builder (test/benchmark data for the dedup job).

Takes real wire text (the Reuters-21578 SGML files, read at run time from
``source_dir``; never copied into the repo), removes the wire's own re-sends so
that every kept report is a distinct story, then "republishes" every kept
report through invented outlets the way syndication does: outlet chrome around
the body, rewritten headlines, dateline variants, truncation, house style,
late copies and exact copies. Each kept report is one gold cluster.

Outputs, in ``out_dir``:

* ``batch.jsonl``        one story per line: id, outlet, url, headline, published_at, body
                         (paragraphs and chrome lines separated by "\\n")
* ``batch-clean.jsonl``  the same records with the outlet chrome left out (all other edits kept)
* ``gold.csv``           story_id,gold_cluster
* ``edits.csv``          per story: which original and which edits were applied (for debugging misses)

Usage::

    python -m dedup.synth --n 10000 --out /tmp/corpus10k [--source DIR] [--seed 0]

Everything is a function of ``seed``. All outlet names, domains, chrome text and
credit names are invented here.
"""
from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import functools
import html
import itertools
import json
import logging
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "corpora" / "reuters21578"

# --------------------------------------------------------------------------------------
# 1. Parsing the Reuters SGML
# --------------------------------------------------------------------------------------

_BLOCK = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID = re.compile(r'NEWID="(\d+)"')
_DATE = re.compile(r"<DATE>(.*?)</DATE>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_DATELINE = re.compile(r"<DATELINE>(.*?)</DATELINE>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.S)
_D = re.compile(r"<D>(.*?)</D>", re.S)
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SIGNOFF = re.compile(r"\s*\breuter\b\s*$", re.I)
_MONTHS = {
    "Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "May": "May", "Jun": "June",
    "Jul": "July", "Aug": "August", "Sep": "September", "Sept": "September", "Oct": "October",
    "Nov": "November", "Dec": "December",
}
_DAY = re.compile(r"^(Jan|Feb|March|Mar|April|Apr|May|June|Jun|July|Jul|Aug|August|Sept|Sep|September|Oct|October|"
                  r"Nov|November|Dec|December|January|February)\.? +\d{1,2}$")


@dataclass(frozen=True)
class Original:
    """One wire report as parsed from the SGML."""

    newid: int
    date: dt.datetime  # UTC
    title: str
    city: str  # "SALVADOR" or "BASKING RIDGE, N.J." ("" when the report has no dateline)
    day: str  # "Feb 26" as on the wire dateline ("" when unknown)
    paragraphs: tuple[str, ...]
    topics: tuple[str, ...]

    @property
    def n_words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def _clean_text(raw: str) -> str:
    return _CTRL.sub("", html.unescape(raw))


def _split_paragraphs(body: str) -> list[str]:
    """Unwrap the wire's hard-wrapped lines; an indented line (2+ spaces or a tab) starts a paragraph."""
    paras: list[list[str]] = []
    cur: list[str] = []
    for line in body.split("\n"):
        if not line.strip():
            if cur:
                paras.append(cur)
                cur = []
            continue
        if cur and (line.startswith("  ") or line.startswith("\t")):
            paras.append(cur)
            cur = []
        cur.append(line.strip())
    if cur:
        paras.append(cur)
    out = [" ".join(" ".join(p).split()) for p in paras]
    return [p for p in out if p]


def _parse_dateline(raw: str) -> tuple[str, str]:
    s = " ".join(_clean_text(raw).split()).rstrip(" -").strip()
    if not s:
        return "", ""
    head, sep, tail = s.rpartition(",")
    if sep and _DAY.match(tail.strip()):
        return head.strip(), tail.strip()
    return s, ""


def _parse_date(raw: str) -> dt.datetime | None:
    s = raw.strip().split(".")[0]
    try:
        return dt.datetime.strptime(s, "%d-%b-%Y %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def parse_reuters(source_dir: str | Path) -> tuple[list[Original], dict]:
    """Parse every reut2-*.sgm in ``source_dir``. Reports without a BODY are skipped (counted)."""
    src = Path(source_dir)
    files = sorted(src.glob("reut2-*.sgm"))
    if not files:
        raise FileNotFoundError(f"no reut2-*.sgm files in {src}")
    out: list[Original] = []
    n_blocks = n_no_body = n_bad_date = n_empty = 0
    for f in files:
        text = f.read_text(encoding="latin-1")
        for attrs, block in _BLOCK.findall(text):
            n_blocks += 1
            mb = _BODY.search(block)
            if not mb:
                n_no_body += 1
                continue
            md = _DATE.search(block)
            date = _parse_date(md.group(1)) if md else None
            if date is None:
                n_bad_date += 1
                continue
            body = _SIGNOFF.sub("", _clean_text(mb.group(1)))
            paragraphs = _split_paragraphs(body)
            mdl = _DATELINE.search(block)
            city, day = _parse_dateline(mdl.group(1)) if mdl else ("", "")
            if paragraphs and city:
                # Defensive: some feeds repeat the dateline at the start of the body.
                dl = f"{city}, {day}" if day else city
                if paragraphs[0].startswith(dl):
                    paragraphs[0] = paragraphs[0][len(dl):].lstrip(" -").strip()
                    if not paragraphs[0]:
                        paragraphs.pop(0)
            if not paragraphs:
                n_empty += 1
                continue
            mt = _TITLE.search(block)
            title = " ".join(_clean_text(mt.group(1)).split()) if mt else ""
            if not title:
                title = " ".join(paragraphs[0].split()[:8]).upper()
            mtop = _TOPICS.search(block)
            topics = tuple(_D.findall(mtop.group(1))) if mtop else ()
            mid = _NEWID.search(attrs)
            out.append(Original(
                newid=int(mid.group(1)) if mid else len(out),
                date=date, title=title, city=city, day=day,
                paragraphs=tuple(paragraphs), topics=topics,
            ))
    stats = {"files": len(files), "reports": n_blocks, "no_body": n_no_body, "bad_date": n_bad_date,
             "empty_body": n_empty, "parsed": len(out)}
    return out, stats


# --------------------------------------------------------------------------------------
# 2. Collapsing the wire's own re-sends
# --------------------------------------------------------------------------------------

_TOK = re.compile(r"[a-z0-9]+")
# Copies are truncated / lose a paragraph only when the report has at least this many
# words: a truncated 3-line dividend notice is the same text for dozens of companies.
TRUNCATE_MIN_WORDS = 60


def shingles(text: str, k: int = 4) -> set[str]:
    """Word k-shingles of lowercased alphanumeric tokens (the whole text when shorter than k)."""
    toks = _TOK.findall(text.lower())
    if len(toks) < k:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + k]) for i in range(len(toks) - k + 1)}


def _hashed_shingles(text: str, k: int = 4) -> set[int]:
    toks = _TOK.findall(text.lower())
    if len(toks) < k:
        return {hash(" ".join(toks))} if toks else set()
    return {hash(" ".join(t)) for t in zip(*(toks[i:] for i in range(k)))}


def lead_paragraphs(paragraphs: tuple[str, ...] | list[str], keep: float = 0.4) -> int:
    """Smallest number of leading paragraphs that hold at least ``keep`` of the words."""
    total = sum(len(p.split()) for p in paragraphs)
    acc = 0
    for i, p in enumerate(paragraphs):
        acc += len(p.split())
        if acc >= keep * total:
            return i + 1
    return len(paragraphs)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True


def _similar_pairs(
    views: list[tuple[int, bool, set[int]]], thresholds: tuple[float, float], common: dict[int, int]
) -> list[tuple[int, int, str]]:
    """Exact set-similarity join over "views" (doc, is_full_text, set of shingle hashes).

    Returns the pairs of different documents where, with P the smaller view and V the
    larger: |P & V| / |P| >= containment, or (both full texts) Jaccard >= jaccard.

    Prefix filtering, so nothing is missed: order shingles rarest first (``common``
    holds the document frequency of the shingles found in 2+ documents); if
    |P & V| >= ceil(t*|P|) then V holds one of P's |P| - ceil(t*|P|) + 1 rarest
    shingles. As |P| <= |V|, Jaccard >= j implies |P & V| / |P| >= 2j / (1 + j), so
    full views probe with t = min(2j / (1 + j), containment), leads with containment.
    Shingles of a single document are never shared, so only the common ones of a
    prefix are probed (often none).
    """
    jaccard, containment = thresholds
    common_set = set(common)
    prefixes: list[list[int]] = []
    wanted: set[int] = set()
    for _, is_full, s in views:
        t = min(2 * jaccard / (1 + jaccard), containment) if is_full else containment
        m = len(s) - int(np.ceil(t * len(s) - 1e-9)) + 1
        shared = s & common_set
        n_rare = len(s) - len(shared)
        pref = sorted(shared, key=common.__getitem__)[: max(0, m - n_rare)] if m > n_rare else []
        prefixes.append(pref)
        wanted.update(pref)
    postings: dict[int, list[int]] = {sh: [] for sh in wanted}
    for vi, (_, _, s) in enumerate(views):
        for sh in s & wanted:
            postings[sh].append(vi)
    out = []
    for pi, (doc, p_full, s) in enumerate(views):
        if not s:
            continue
        cands: set[int] = set()
        for sh in prefixes[pi]:
            cands.update(postings[sh])
        for vi in cands:
            vdoc, v_full, v = views[vi]
            if vdoc == doc or len(v) < len(s) or (len(v) == len(s) and vi < pi):
                continue
            inter = len(s & v)
            if inter >= containment * len(s):
                out.append((doc, vdoc, "containment" if p_full and v_full else "lead"))
            elif p_full and v_full and inter >= jaccard * (len(s) + len(v) - inter):
                out.append((doc, vdoc, "jaccard"))
    return out


def collapse_resends(
    originals: list[Original],
    *,
    jaccard: float = 0.5,
    containment: float = 0.8,
    lead_keep: float = 0.4,
    shingle_size: int = 4,
) -> tuple[list[Original], dict]:
    """Keep one report of every group of near-duplicate wire reports.

    Two reports are near-duplicates when, on word shingles of lowercased
    alphanumeric tokens, (a) their Jaccard is >= ``jaccard``, or (b) the shorter is
    contained in the longer at >= ``containment``, or (c) the lead of one (the first
    paragraphs holding ``lead_keep`` of its words: its shortest truncated copy) is
    contained in the other (or in its lead) at >= ``containment``. All exact (see
    ``_similar_pairs``). Groups are connected components; the report with most words
    is kept (ties: lowest NEWID).

    The defaults equal the dedup job's match thresholds (dedup.threshold and
    dedup.containment_threshold): two gold clusters must not be a match by the job's
    own definition, or the evaluation would charge it for being right.
    """
    n = len(originals)
    # Shingles as Python hashes of the shingle strings: a join on them is exact up to
    # 64-bit collisions; the process's hash seed only changes which prefix shingles
    # are probed, never the pairs found.
    full = [_hashed_shingles(" ".join(o.paragraphs), shingle_size) for o in originals]
    all_h = np.fromiter(itertools.chain.from_iterable(full), dtype=np.int64, count=sum(len(s) for s in full))
    uniq, counts = np.unique(all_h, return_counts=True)
    common = dict(zip(uniq[counts > 1].tolist(), counts[counts > 1].tolist()))
    views: list[tuple[int, bool, set[int]]] = [(i, True, s) for i, s in enumerate(full)]
    for i, o in enumerate(originals):
        k = lead_paragraphs(o.paragraphs, lead_keep)
        if k < len(o.paragraphs) and o.n_words >= TRUNCATE_MIN_WORDS:
            views.append((i, False, _hashed_shingles(" ".join(o.paragraphs[:k]), shingle_size)))

    uf = _UnionFind(n)
    reasons: Counter[str] = Counter()
    for a, b, why in _similar_pairs(views, (jaccard, containment), common):
        if uf.union(a, b):
            reasons[why] += 1

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(uf.find(i), []).append(i)
    kept = []
    for members in groups.values():
        best = max(members, key=lambda i: (originals[i].n_words, -originals[i].newid))
        kept.append(originals[best])
    kept.sort(key=lambda o: (o.date, o.newid))
    sizes = [len(m) for m in groups.values()]
    stats = {
        "resend_groups": sum(1 for s in sizes if s > 1),
        "resends_dropped": n - len(kept),
        "largest_resend_group": max(sizes) if sizes else 0,
        "merges_by_jaccard": reasons["jaccard"],
        "merges_by_containment": reasons["containment"],
        "merges_by_lead": reasons["lead"],
        "kept": len(kept),
    }
    return kept, stats


@functools.lru_cache(maxsize=4)
def _load_cached(source: str, jaccard: float, containment: float, lead_keep: float, shingle_size: int):
    t0 = time.perf_counter()
    parsed, pstats = parse_reuters(source)
    t1 = time.perf_counter()
    kept, cstats = collapse_resends(parsed, jaccard=jaccard, containment=containment,
                                    lead_keep=lead_keep, shingle_size=shingle_size)
    t2 = time.perf_counter()
    stats = {**pstats, **cstats, "parse_seconds": round(t1 - t0, 2), "collapse_seconds": round(t2 - t1, 2)}
    return tuple(kept), stats


def load_originals(
    source_dir: str | Path = DEFAULT_SOURCE,
    *,
    jaccard: float = 0.5,
    containment: float = 0.8,
    lead_keep: float = 0.4,
    shingle_size: int = 4,
) -> tuple[list[Original], dict]:
    """Parse + collapse re-sends (cached per process)."""
    kept, stats = _load_cached(str(Path(source_dir).resolve()), jaccard, containment, lead_keep, shingle_size)
    return list(kept), dict(stats)
