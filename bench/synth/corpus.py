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
* ``stats.json``         what ``build_corpus`` returns (counts, wire re-sends dropped, timings)
* ``gold-lines.parquet`` per body line of batch.jsonl: story_id, line_no, text, is_chrome, kind
* ``behaviours.csv``     with ``--realistic`` / ``--behaviours``: which records carry which behaviour

Usage::

    python bench/synth/corpus.py --n 10000 --out /tmp/corpus10k [--source DIR] [--seed 0] [--realistic]
    dedup synth --n 10000 --out /tmp/corpus10k [--realistic]      (the same, from a checkout)

Everything is a function of ``seed``. All outlet names, domains, chrome text and
credit names are invented here.
"""
from __future__ import annotations

import argparse
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

from dedup.tools.evaluate import FURNITURE

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
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
_SIGNOFF = re.compile(r"(?:\s*\breuter\b(?:\.\.\.)?)+\s*$", re.I)  # some reports sign off twice, a few with "Reuter..."
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
    pairs = _similar_pairs(views, (jaccard, containment), common)
    for a, b, why in sorted(pairs, key=lambda x: (x[2], min(x[0], x[1]), max(x[0], x[1]))):
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


# --------------------------------------------------------------------------------------
# 3. Invented outlets
# --------------------------------------------------------------------------------------

OUTLET_NAMES = (
    "The Harbor Ledger", "Metro Business Daily", "The Riverside Courier", "Northgate Tribune",
    "The Prairie Sentinel", "Coastal Market Wire", "The Granite Herald", "Lakeshore Evening Post",
    "The Copperfield Gazette", "Summit Financial Journal", "The Pinecrest Chronicle", "Bayview Daily News",
    "The Ironbridge Observer", "Capital Ledger Online", "The Westmoor Times", "Eastbank Business Review",
    "The Meridian Dispatch", "Valley Commerce Today", "The Stonegate Record", "Brightwater Herald",
    "The Orchard Valley Star", "Midland Markets Daily", "The Foxhollow Examiner", "Tidewater Business Press",
    "The Ashford Standard", "Redcliff Morning Bulletin", "The Silverline Report", "Northern Trade Gazette",
    "The Cedar Point Journal", "Global Desk Digest", "The Kingsport Monitor", "Highland Economic Times",
    "The Willowbrook Leader", "Port Alder News", "The Clearwater Register", "Evergreen Money Watch",
    "The Blue Ridge Courant", "Sunport Business Line", "The Oakhurst Telegraph", "Fairhaven Daily Wire",
)
_SECTIONS = ("business", "markets", "world", "economy", "companies", "news", "finance", "wire", "money", "latest")
_TZS = (("IST", 5.5), ("GMT", 0.0), ("ET", -5.0), ("SGT", 8.0), ("CET", 1.0), ("AEST", 10.0), ("", 0.0))
_DATE_FMTS = ("%b %d %Y", "%B %d, %Y", "%d/%m/%Y", "%Y-%m-%d", "%d %B %Y", "%a, %b %d, %Y")
_TIME_FMTS = ("%I:%M %p", "%H:%M", "%H.%M")
_FIRST = ("Anna", "Marcus", "Priya", "Tomas", "Leila", "David", "Hiroshi", "Claire", "Samuel", "Ines",
          "Rafael", "Nadia", "Oliver", "Mei", "Jonas", "Elena", "Kwame", "Sofia", "Patrick", "Yusuf")
_LAST = ("Halloran", "Verbeek", "Castellano", "Nakamura", "Okafor", "Lindqvist", "Moreau", "Brennan", "Sato",
         "Kowalski", "Ferreira", "Aldridge", "Petrov", "Quinlan", "Haddad", "Whitcombe", "Ibarra", "Devereux",
         "Strand", "Mensah")
_HEADER_KINDS = ("headline", "image", "credit", "byline", "updated", "first_pub", "share", "listen", "font",
                 "subscribe", "advert")
_FOOTER_KINDS = ("disclaimer", "also_read", "trending", "first_pub", "share", "next", "topics", "comments",
                 "newsletter", "app", "subscribe", "copyright", "links", "advert")
DATELINE_VARIANTS = ("full", "short", "colon", "none")


@dataclass
class Outlet:
    idx: int
    name: str
    short: str
    domain: str
    weight: float
    heaviness: str
    url_style: int
    section: str
    case: int  # 0: wire capitals, 1: Title Case, 2: Sentence case
    headline_prefix: str
    p_prefix: float
    style_id: int
    style: tuple
    p_style: float
    dash: str
    dateline_p: tuple[float, float, float, float]
    full_month: bool
    p_credit: float
    tz: str
    tz_offset: float
    date_fmt: str
    time_fmt: str
    header: tuple[str, ...]
    footer: tuple[str, ...]
    mid: tuple[str, int] | None
    texts: dict


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _make_outlets(rng: random.Random) -> list[Outlet]:
    outlets = []
    styles: dict[tuple, int] = {}
    popularity = [1.0 / (r + 1) ** 0.8 for r in range(len(OUTLET_NAMES))]
    rng.shuffle(popularity)
    for i, name in enumerate(OUTLET_NAMES):
        short = name[4:] if name.startswith("The ") else name
        domain = _slug(short).replace("-", "") + ".example"
        heaviness = rng.choices(("light", "medium", "heavy"), weights=(0.35, 0.4, 0.25))[0]
        n_items = {"light": rng.randint(1, 2), "medium": rng.randint(3, 6), "heavy": rng.randint(8, 12)}[heaviness]
        kinds = list(dict.fromkeys(_HEADER_KINDS + _FOOTER_KINDS))
        chosen = rng.sample(kinds, min(n_items, len(kinds)))
        if heaviness == "heavy":
            chosen += [k for k in ("subscribe", "trending") if k not in chosen]
        header, footer = [], []
        for k in chosen:
            in_h, in_f = k in _HEADER_KINDS, k in _FOOTER_KINDS
            (header if in_h and (not in_f or rng.random() < 0.5) else footer).append(k)
        mid = None
        if heaviness != "light" and rng.random() < 0.5:
            mk = rng.choice(("also_read", "advert", "newsletter"))
            header = [k for k in header if k != mk]
            footer = [k for k in footer if k != mk]
            mid = (mk, rng.randint(1, 2))
        style = (
            rng.choice((None, "percent", "per cent", "%")),  # pct
            rng.choice((None, "million")),  # mln / bln
            rng.choice((None, "dollars", "$")),  # dlrs
            rng.choice((None, "US")),  # U.S.
            rng.choice((None, "versus", "vs.")),  # vs
            rng.random() < 0.5,  # Inc -> Inc.
            rng.random() < 0.5,  # typographic quotes
            rng.random() < 0.4,  # typographic dashes
            rng.random() < 0.6,  # drop <...> company markers
        )
        if rng.random() < 0.2:
            style = (None, None, None, None, None, False, False, False, False)  # keeps wire style
        style_id = styles.setdefault(style, len(styles))
        dom = rng.randrange(4)
        dl = [0.1, 0.1, 0.1, 0.1]
        dl[dom] = 0.7
        tz, off = rng.choice(_TZS)
        plans = rng.sample(("Digital Basic", "Digital Plus", "All Access", "Insider", "Premium Reader",
                            "Weekend + Digital", "Student"), rng.randint(2, 3))
        prices = sorted(rng.sample(("$2.99/month", "$4.99/month", "$9.99/month", "$14.99/month"), len(plans)))
        save = rng.choice((20, 25, 30, 40))
        sub_lines = [rng.choice((f"Subscribe to {short} Premium", f"Become a {short} Insider",
                                 f"Unlock every {short} story", f"Support business journalism at {short}"))]
        for j, (p, pr) in enumerate(zip(plans, prices)):
            sub_lines.append(f"{p} plan  {pr}" + (f"  SAVE {save}%" if j == len(plans) - 1 else ""))
        sub_lines.append(rng.choice(("Renews automatically. Cancel anytime.",
                                     "Renews automatically at the end of each billing period; cancel anytime.",
                                     "Renews automatically unless cancelled before the renewal date.")))
        sub_lines.append(rng.choice(("Already a subscriber? Sign in", "Have an account? Log in",
                                     "Sign in to keep reading without ads")))
        texts = {
            "image": rng.choice(("Image", "Representational Image", "File Photo", "Photo: Archive",
                                 "Image for representation only")),
            "credit": rng.choice(("Reuters", "By Reuters", "Source: Reuters", "Reuters {city}", "Reuters | {city}")),
            "byline": rng.choice((f"{short} Web Desk", "Staff and agencies", f"{short} News Service", "Wire Desk",
                                  f"By {short} Staff")),
            "updated": rng.choice(("Last Updated : ", "Updated: ", "Last updated on ", "UPDATED ")),
            "first_pub": rng.choice(("First Published: ", "Published on ", "Posted: ", "Published: ")),
            "share": rng.choice(("Share on Facebook | Twitter | WhatsApp",
                                 "Share: Facebook · Twitter · LinkedIn · Email", "SHARE  TWEET  EMAIL  PRINT",
                                 "Share this article", "Copy link | Facebook | Twitter | WhatsApp | Email")),
            "listen": rng.choice(("Listen to this article", "Listen to this story · {mins} min", "{mins} min read",
                                  "Reading time: {mins} min")),
            "font": rng.choice(("Font size: A- A+", "Text size  A  A  A", "Aa  Change text size")),
            "subscribe": sub_lines,
            "advert": rng.choice(("Advertisement", "ADVERTISEMENT", "Story continues below advertisement",
                                  "- Advertisement -")),
            "disclaimer": rng.choice((
                f"Disclaimer: No {name} journalist was involved in the writing of this wire report; "
                "it is carried as received from the agency.",
                f"Disclaimer: No {short} journalist was involved in producing this content. "
                "It is republished from a syndicated newswire without edits.",
                f"(This story has not been edited by {short} staff; it is published automatically "
                "from an agency feed.)")),
            "also_read": rng.choice(("Also read: ", "ALSO READ | ", "Read also - ", "Related: ", "See also: ")),
            "trending": rng.choice(("Trending now", "Most read today", f"Popular on {short}", "Top stories tonight",
                                    "Don't miss")),
            "trending_n": 6 if heaviness == "heavy" else rng.randint(3, 6),
            "bullet": rng.choice(("", "• ", "- ", "#")),
            "next": rng.choice(("Next Story", "Next article", "Read next ›", "Continue to the next story",
                                "NEXT STORY »")),
            "topics": rng.choice(("Topics: ", "Tags: ", "Filed under: ", "More on: ")),
            "comments": rng.choice(("Comments (0)", "Join the conversation", "Be the first to comment",
                                    "Show comments")),
            "newsletter": [rng.choice((f"Get the {short} evening briefing in your inbox",
                                       f"Sign up for {short} Markets Daily",
                                       "Never miss a story: subscribe to our newsletter")),
                           rng.choice(("Sign up", "Enter your email", "Subscribe free"))],
            "app": rng.choice((f"Download the {short} app for breaking news alerts",
                               f"Read this and more on the {short} app",
                               f"Follow {short} on social media for the latest updates")),
            "copyright": rng.choice((f"© {{year}} {name}. All rights reserved.",
                                     f"Copyright {{year}} {short} Media Group",
                                     f"All content © {name} {{year}}, unless otherwise noted.")),
            "links": rng.choice(("About Us | Contact | Terms of Use | Privacy Policy",
                                 "Advertise with us · Careers · Sitemap · Cookie settings",
                                 "Terms & Conditions | Privacy | Corrections policy | Contact the newsroom",
                                 "Help · Feedback · Accessibility")),
        }
        outlets.append(Outlet(
            idx=i, name=name, short=short, domain=domain, weight=popularity[i], heaviness=heaviness,
            url_style=rng.randrange(4), section=rng.choice(_SECTIONS), case=rng.choice((0, 1, 1, 2, 2)),
            headline_prefix=rng.choice(("", "", "", "Markets: ", "WIRE | ", "Business - ", "World News: ")),
            p_prefix=rng.uniform(0.3, 1.0), style_id=style_id, style=style, p_style=rng.uniform(0.5, 0.95),
            dash="–" if style[7] else "-", dateline_p=tuple(dl), full_month=rng.random() < 0.5,
            p_credit=rng.choice((0.0, 0.0, 0.3, 0.7)), tz=tz, tz_offset=off,
            date_fmt=rng.choice(_DATE_FMTS), time_fmt=rng.choice(_TIME_FMTS),
            header=tuple(header), footer=tuple(footer), mid=mid, texts=texts,
        ))
    return outlets


# --------------------------------------------------------------------------------------
# 4. House style and headline rewrites
# --------------------------------------------------------------------------------------

def _dollar_sign(m: re.Match) -> str:
    return "$" + m.group(1) + (" " + m.group(2).strip() if m.group(2) else "")


def _w(word: str, flags: int = 0, tail: str = "") -> re.Pattern:
    """``word`` as a whole word; written literal-first so the regex engine can skip ahead fast."""
    e = re.escape(word)
    return re.compile(f"{e}(?<=\\b{e}){'' if word.endswith('.') else chr(92) + 'b'}{tail}", flags)


def _smart_quotes(text: str) -> str:
    out = []
    for para in text.split("\n"):
        if '"' in para:
            parts = para.split('"')
            para = parts[0] + "".join(("\u201c" if k % 2 == 0 else "\u201d") + x for k, x in enumerate(parts[1:]))
        out.append(para)
    return "\n".join(out).replace("'", "\u2019")


def _style_rules(style: tuple, headline: bool = False) -> list:
    """House style as a list of (trigger, rule, replacement): a rule runs only when its
    trigger substring occurs; a rule is a compiled pattern, a literal, or a callable."""
    pct, mln, dlrs, us, vs, inc, quotes, dashes, brackets = style
    f = re.I if headline else 0
    rules: list = []
    if brackets:
        if headline:
            rules.append(("<", re.compile(r" ?<[A-Z0-9.]{1,6}>"), ""))
        rules.append(("<", re.compile(r"<([^<>\n]{1,80})>"), r"\1"))
    if dlrs == "$":
        rules.append(("dlrs", re.compile(r"(\d[\d,.]*(?:-\d/\d)?) (mln |bln |billion |million )?dlrs\b", f),
                      _dollar_sign))
    if dlrs:
        rules.append(("dlr", _w("dlrs", f), "dollars"))
        rules.append(("dlr", _w("dlr", f), "dollar"))
    if pct == "%":
        rules.append(("pct", re.compile(r" pct(?<=\d pct)\b", f), "%"))
    if pct:
        rules.append(("pct", _w("pct", f), "per cent" if pct == "per cent" else "percent"))
    if mln:
        rules.append(("mln", _w("mln", f), "million"))
        rules.append(("bln", _w("bln", f), "billion"))
    if us:
        rules.append(("U.S.", _w("U.S.", f | re.M, "(?=\n|$)"), "US."))
        rules.append(("U.S.", _w("U.S.", f), "US"))
    if vs:
        rules.append(("vs", _w("vs", f, "\\.?"), vs))
    if inc and not headline:
        for w in ("Inc", "Corp", "Ltd"):
            rules.append((w, _w(w, 0, "(?!\\.)"), w + "."))
    if quotes and not headline:
        rules.append(("", _smart_quotes, None))
    if dashes:
        rules.append((" -", " -- ", " \u2014 "))
        rules.append((" -", " - ", " \u2013 "))
    if headline:  # short texts, case-insensitive: no triggers
        rules = [("", r, x) for _, r, x in rules]
    return rules


def _apply_rules(text: str, rules: list) -> str:
    for trigger, rule, repl in rules:
        if trigger and trigger not in text:
            continue
        if isinstance(rule, str):
            text = text.replace(rule, repl)
        elif repl is None:
            text = rule(text)
        else:
            text = rule.sub(repl, text)
    return text


_HEAD_SUBS = {"says": "said", "sees": "expects", "raises": "lifts", "cuts": "trims", "sets": "declares",
              "ups": "raises", "unit": "subsidiary", "qtr": "quarter", "shr": "share", "div": "dividend",
              "mths": "months", "plans": "eyes", "buy": "acquire", "rise": "gain", "rises": "climbs",
              "falls": "drops", "corp": "corporation", "talks": "negotiations"}
_HEAD_SUB_RE = re.compile(r"\b(" + "|".join(sorted(_HEAD_SUBS, key=len, reverse=True)) + r")\b", re.I)


def _head_sub(m: re.Match) -> str:
    w = m.group(0)
    r = _HEAD_SUBS[w.lower()]
    return r.upper() if w.isupper() else r


_ACRONYMS = {"u.s.": "U.S.", "u.k.": "U.K.", "us": "US", "uk": "UK", "ec": "EC", "opec": "OPEC", "imf": "IMF",
             "gatt": "GATT", "usda": "USDA", "nyse": "NYSE", "gnp": "GNP", "ibm": "IBM", "fed": "Fed"}
_WORD = re.compile(r"(?<!\w)[a-z][a-z.']*")
_TICKER = re.compile(r"<([a-z0-9.]{1,6})>")


def _title_case(s: str) -> str:
    return _WORD.sub(lambda m: _ACRONYMS.get(m.group(0)) or m.group(0)[:1].upper() + m.group(0)[1:], s)


def _sentence_case(s: str) -> str:
    s = _WORD.sub(lambda m: _ACRONYMS.get(m.group(0), m.group(0)), s)
    m = re.search(r"[A-Za-z]", s)
    return s[:m.start()] + s[m.start()].upper() + s[m.start() + 1:] if m else s


def _cased(title_upper: str, case: int) -> str:
    """Wire headlines are in capitals; 1 = Title Case, 2 = Sentence case (tickers stay in capitals)."""
    if case == 0:
        return title_upper
    low = _TICKER.sub(lambda m: "<" + m.group(1).upper() + ">", title_upper.lower())
    return _title_case(low) if case == 1 else _sentence_case(low)


# --------------------------------------------------------------------------------------
# 5. Planning the corpus
# --------------------------------------------------------------------------------------

# Copies per gold cluster at the base distribution: 45% singletons, 40% of 2-5, 15% tail 6-20.
_BASE_MAX = 20


def _base_weights() -> np.ndarray:
    w = np.zeros(_BASE_MAX)
    w[0] = 0.45
    w[1:5] = 0.40 * np.array([0.40, 0.27, 0.19, 0.14])
    tail = 1.0 / np.arange(6, _BASE_MAX + 1) ** 1.5
    w[5:] = 0.15 * tail / tail.sum()
    return w / w.sum()


def plan_cluster_sizes(n: int, n_originals: int, rng: np.random.Generator) -> np.ndarray:
    """Copies per gold cluster, summing to ``n``; one cluster per original, never more clusters
    than originals. When the originals run out at the base distribution, singletons stay
    singletons and the other clusters are scaled up proportionally (the skew is kept)."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n_originals <= 0:
        raise ValueError("no originals to build clusters from")
    base = rng.choice(np.arange(1, _BASE_MAX + 1), size=n_originals, p=_base_weights()).astype(np.int64)
    csum = np.cumsum(base)
    if csum[-1] >= n:
        k = int(np.searchsorted(csum, n)) + 1
        sizes = base[:k].copy()
        sizes[-1] -= int(csum[k - 1] - n)
        return sizes
    multi = base > 1
    if not multi.any():
        multi[:] = True
    rest = n - int((~multi).sum())
    scaled = base[multi] * (rest / base[multi].sum())
    fl = np.floor(scaled).astype(np.int64)
    short = rest - int(fl.sum())
    if short > 0:
        frac_order = np.argsort(-(scaled - fl), kind="stable")
        fl[frac_order[:short]] += 1
    sizes = base.copy()
    sizes[multi] = fl
    return sizes


@dataclass
class _Prep:
    """Per-original data computed once."""

    paragraphs: tuple[str, ...]
    n_words: int
    lead_k: int
    droppable: tuple[int, ...]
    cased: tuple[str, str, str]
    city: str
    city_title: str
    day_short: str
    day_full: str
    credit: str
    topics: str
    epoch: int


def _prepare(orig: Original, seed: int) -> _Prep:
    words = [len(p.split()) for p in orig.paragraphs]
    total = sum(words)
    droppable = tuple(i for i in range(1, len(words)) if words[i] <= 0.25 * total) \
        if total >= TRUNCATE_MIN_WORDS and len(words) >= 3 else ()
    city = orig.city
    first = city.split(",")[0].strip()
    city_title = first.title() if first.isupper() else first
    day_full = orig.day
    if orig.day:
        mon, _, d = orig.day.partition(" ")
        day_full = f"{_MONTHS.get(mon.rstrip('.'), mon)} {d}"
    r = random.Random(orig.newid * 7919 + seed)
    rep = f"{r.choice(_FIRST)} {r.choice(_LAST)}"
    ed = f"{r.choice(_FIRST)} {r.choice(_LAST)}"
    where = f" in {city_title}" if city_title and r.random() < 0.5 else ""
    extra = f"; Additional reporting by {r.choice(_FIRST)} {r.choice(_LAST)}" if r.random() < 0.3 else ""
    return _Prep(
        paragraphs=orig.paragraphs, n_words=total,
        lead_k=lead_paragraphs(orig.paragraphs), droppable=droppable,
        cased=(orig.title, _cased(orig.title, 1), _cased(orig.title, 2)),
        city=city, city_title=city_title, day_short=orig.day, day_full=day_full,
        credit=f"(Reporting by {rep}{where}{extra}; Editing by {ed})",
        topics=", ".join(orig.topics), epoch=int(orig.date.timestamp()),
    )


# Per-copy probabilities of each edit.
P_EXACT = 0.12  # body exactly as on the wire (only the outlet and its chrome differ)
P_TRUNCATE = 0.15  # first paragraphs only, >= 40% of the words (reports of 60+ words)
P_DROP = 0.08  # one short paragraph left out (reports of 60+ words, 3+ paragraphs)
P_MERGE = 0.12  # two adjacent paragraphs run together
P_LATE = 0.07  # published 1-5 days after the wire, not within hours
P_UPDATE = 0.07  # "UPDATE 2-" headline prefix
P_HEAD_SUBS = 0.3  # headline word substitutions
P_HEAD_TRUNC = 0.08  # headline cut short
NEIGHBOURS = 60  # "same night" headlines come from this many reports either side in time


def _fmt_time(epoch: float, fmt: str) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime(fmt)


class _Renderer:
    """Renders outlet chrome for one copy."""

    def __init__(self, preps: list[_Prep], rnd: random.Random):
        self.preps = preps
        self.rnd = rnd

    def other_headlines(self, oi: int, case: int, k: int) -> list[str]:
        """``k`` distinct headlines of other reports from around the same time."""
        n = len(self.preps)
        lo, hi = max(0, oi - NEIGHBOURS), min(n, oi + NEIGHBOURS + 1)
        if hi - lo <= 1:
            return []
        picks = self.rnd.sample(range(lo, hi - 1), min(k, hi - lo - 1))
        return [self.preps[j + 1 if j >= oi else j].cased[case] for j in picks]

    def lines(self, kind: str, o: Outlet, oi: int, headline: str, pub: int) -> list[str]:
        t = o.texts
        p = self.preps[oi]
        if kind == "headline":
            return [headline]
        if kind in ("image", "byline", "share", "font", "advert", "disclaimer", "next", "comments", "app", "links"):
            return [t[kind]]
        if kind == "credit":
            s = t["credit"]
            if "{city}" in s:
                s = s.format(city=p.city_title) if p.city_title else "Reuters"
            return [s]
        if kind in ("updated", "first_pub"):
            when = pub + o.tz_offset * 3600 + (self.rnd.randint(5, 240) * 60 if kind == "updated" else 0)
            tz = f" {o.tz}" if o.tz else ""
            return [f"{t[kind]}{_fmt_time(when, o.date_fmt)} | {_fmt_time(when, o.time_fmt)}{tz}"]
        if kind == "listen":
            return [t["listen"].format(mins=max(1, round(p.n_words / 200)))]
        if kind == "subscribe":
            return list(t["subscribe"])
        if kind == "also_read":
            return [t["also_read"] + h for h in self.other_headlines(oi, o.case, 1)]
        if kind == "trending":
            out = [t["trending"]]
            b = t["bullet"]
            for k, h in enumerate(self.other_headlines(oi, o.case, t["trending_n"])):
                out.append(f"{k + 1}. {h}" if b == "#" else b + h)
            return out
        if kind == "topics":
            return [t["topics"] + (p.topics or o.section)]
        if kind == "newsletter":
            return list(t["newsletter"])
        if kind == "copyright":
            return [t["copyright"].format(year=_fmt_time(pub, "%Y"))]
        raise ValueError(kind)


def _url(o: Outlet, headline: str, pub_iso: str, serial: int) -> str:
    slug = _slug(headline)[:70].rstrip("-") or "story"
    y, m, d = pub_iso[:4], pub_iso[5:7], pub_iso[8:10]
    if o.url_style == 0:
        return f"https://{o.domain}/{o.section}/{slug}-{serial}.html"
    if o.url_style == 1:
        return f"https://www.{o.domain}/news/{y}/{m}/{d}/{slug}-{serial}/"
    if o.url_style == 2:
        return f"https://{o.domain}/article/{serial}/{slug}"
    return f"https://{o.domain}/{o.section}/{y}{m}{d}/{slug}-{serial}"


# --------------------------------------------------------------------------------------
# 6. Per-line gold and outlets that behave like real ones (``behaviours``)
# --------------------------------------------------------------------------------------

# Kind of a body line in gold-lines.parquet. Story text: "story" (a paragraph of the report),
# "update_top", "correction", "liveblog_own", "liveblog_quote". Neither story text nor chrome:
# FURNITURE (defined with the gold-lines format in dedup.tools.evaluate), the "(Reporting by ...)" trailer the job strips as wire furniture on purpose.
# Everything else is chrome: "chrome:<item>" (outlet chrome; "chrome:headline" is the page's
# headline repeated in the body), "wall" (consent wall), "liveblog_stamp" (a live blog's times).
STORY_KINDS = frozenset({"story", "update_top", "correction", "liveblog_own", "liveblog_quote"})


def is_chrome_kind(kind: str) -> bool:
    """True for a gold line kind that is page chrome (not story text and not wire furniture)."""
    return kind not in STORY_KINDS and kind != FURNITURE


def _assemble(render: "_Renderer", o: "Outlet", oi: int, h: str, pub: int, paras: list[str],
              para_kinds: list[str], extra: tuple = ()) -> tuple[list[str], list[str]]:
    """The page body of one copy: the outlet's header, the paragraphs (with its mid-body item),
    its footer; and the gold kind of every line. ``extra`` = (mid, tail): lists of (line, kind)
    put in the middle of the paragraphs and after them (variable link-list lines)."""
    lines: list[str] = []
    kinds: list[str] = []

    def add(items: list[str], kind: str) -> None:
        lines.extend(items)
        kinds.extend(["chrome:" + kind] * len(items))

    for kind in o.header:
        add(render.lines(kind, o, oi, h, pub), kind)
    sec = list(zip(paras, para_kinds))
    if o.mid and len(paras) > o.mid[1]:
        sec[o.mid[1]:o.mid[1]] = [(x, "chrome:" + o.mid[0]) for x in render.lines(o.mid[0], o, oi, h, pub)]
    if extra:
        mid, tail = extra
        at = len(sec) // 2 if len(sec) >= 2 else len(sec)
        sec[at:at] = mid
        sec.extend(tail)
    for x, k in sec:
        lines.append(x)
        kinds.append(k)
    for kind in o.footer:
        add(render.lines(kind, o, oi, h, pub), kind)
    return lines, kinds


LINE_GOLD_SCHEMA = None  # set on first use (pyarrow is imported lazily: the builder runs without it)


class _LineGold:
    """Writes gold-lines.parquet: one row per non-empty body line of batch.jsonl, in order.

    Columns: story_id (string), line_no (int32, the line's index among the story's non-empty
    lines, as ``dedup.stages.text.lines.Lines.split`` numbers them), text (whitespace-trimmed), is_chrome
    (bool), kind (string, see FURNITURE / STORY_KINDS)."""

    FLUSH = 20000

    def __init__(self, path: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = pa.schema([("story_id", pa.string()), ("line_no", pa.int32()), ("text", pa.large_string()),
                                 ("is_chrome", pa.bool_()), ("kind", pa.string())])
        self.writer = pq.ParquetWriter(str(path), self.schema)
        self._reset()

    def _reset(self) -> None:
        self.sid: list[str] = []
        self.no: list[int] = []
        self.text: list[str] = []
        self.kind: list[str] = []
        self.n_stories = 0

    def add(self, sid: str, lines: list[str], kinds: list[str]) -> None:
        k = 0
        for x, kind in zip(lines, kinds):
            for part in x.split("\n"):
                part = part.strip()
                if part:
                    self.sid.append(sid)
                    self.no.append(k)
                    self.text.append(part)
                    self.kind.append(kind)
                    k += 1
        self.n_stories += 1
        if self.n_stories >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        if self.sid:
            pa = self.pa
            chrome = [is_chrome_kind(k) for k in self.kind]
            self.writer.write_table(pa.table([pa.array(self.sid, pa.string()), pa.array(self.no, pa.int32()),
                                              pa.array(self.text, pa.large_string()), pa.array(chrome, pa.bool_()),
                                              pa.array(self.kind, pa.string())], schema=self.schema))
        self._reset()

    def close(self) -> None:
        self.flush()
        self.writer.close()


BEHAVIOURS = ("versions", "aggregator", "no_outlet", "consent_wall", "link_lists", "live_blogs", "scraped_twice")
# Extra records, as shares of the corpus size (the rest are the ordinary copies).
SHARE_VERSIONS = 0.06  # later versions of a copy from the same outlet, new id
SHARE_AGGREGATOR = 0.08  # one aggregator outlet carrying this many agency copies
SHARE_LIVE_BLOGS = 0.01  # live blogs / roundups quoting the ledes of 3-5 reports
SHARE_SCRAPED_TWICE = 0.02  # the same page, scraped again under a new id
P_SECOND_VERSION = 0.3  # a versioned copy gets a further version
NO_OUTLET_FEEDS = 3  # outlets whose whole feed comes without an outlet field
P_NO_OUTLET = 0.03  # and this share of the other records
WALL_GROUP = 4  # outlets of one media group sharing a consent wall
P_WALL = 0.35  # of the group's ordinary copies, the share scraped with the wall
P_WALL_ONLY = 0.4  # of those, the share whose whole body is the wall
LINK_OUTLETS = 12  # outlets that put variable link lists in their pages
LIVE_QUOTES = (3, 5)
GROUP_NAME = "Northline Media"
WALL_LINES = (
    "We care about your privacy",
    f"{GROUP_NAME} and our 180 partners use cookies and similar technologies to store and access information on "
    "your device, to personalise ads and content, to measure ads and content, and to understand our audiences.",
    "By selecting Accept all you agree to this use; select Manage choices to refuse or limit it. You can change "
    f"your mind at any time on the Privacy page of any {GROUP_NAME} site.",
    "Accept all | Reject all | Manage choices",
)
_UPDATE_ENDINGS = (
    "officials said in a later statement, adding that more details would follow.",
    "according to people familiar with the matter who were not authorised to speak publicly.",
    "a spokesman confirmed on the telephone later in the day.",
    "the company said in an amended filing released after the first report.",
)
_UPDATE_PREFIX = re.compile(r"^(?:UPDATE \d+-|CORRECTED-)")


@dataclass
class _Rec:
    """One written record, kept for the extra records derived from it."""

    sid: str
    gold: str
    oi: int
    outlet: "Outlet"
    h: str
    pub: int
    head: str
    paras: list[str]
    para_kinds: list[str]
    lines: list[str]
    kinds: list[str]
    body: str
    no_outlet: bool


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Realism:
    """The behaviours of real outlets, on top of the ordinary copies (see ``build_corpus``).

    All its random choices come from its own generator, so the ordinary copies of a corpus are
    the same with and without behaviours (ids aside: extra records take ids after them)."""

    def __init__(self, behaviours: set[str], n_total: int, outlets: list["Outlet"], preps: list["_Prep"],
                 originals: list[Original], seed: int):
        self.on = behaviours
        self.xr = xr = random.Random(seed * 7717 + 3)
        self.outlets, self.preps, self.originals = outlets, preps, originals
        self.render = _Renderer(preps, xr)
        share = {"versions": SHARE_VERSIONS, "aggregator": SHARE_AGGREGATOR, "live_blogs": SHARE_LIVE_BLOGS,
                 "scraped_twice": SHARE_SCRAPED_TWICE}
        self.n_extra = {b: int(round(s * n_total)) for b, s in share.items() if b in behaviours}
        n_out = len(outlets)
        self.wall_group = set(xr.sample(range(n_out), WALL_GROUP)) if "consent_wall" in behaviours else set()
        rest = [i for i in range(n_out) if i not in self.wall_group]
        self.no_outlet_feeds = set(xr.sample(rest, NO_OUTLET_FEEDS)) if "no_outlet" in behaviours else set()
        self.link_style = ({i: xr.choice(("more", "read_more", "related")) for i in xr.sample(range(n_out), LINK_OUTLETS)}
                           if "link_lists" in behaviours else {})
        self.recs: list[_Rec] = []
        self.rows: list[tuple[str, str, str, str, int]] = []  # story_id, gold, behaviour, of_story, expect_reject
        self.counts: Counter[str] = Counter()
        self._no_outlet = False
        self.agg = self._aggregator(outlets) if "aggregator" in behaviours else None

    @property
    def n_extra_total(self) -> int:
        return sum(self.n_extra.values())

    @staticmethod
    def _aggregator(outlets: list["Outlet"]) -> "Outlet":
        import dataclasses

        base = outlets[0]
        texts = dict(base.texts)
        texts.update({
            "credit": "Source: Reuters", "trending": "Most read on NewsPulse", "trending_n": 5, "bullet": "• ",
            "disclaimer": "NewsPulse carries this report as received from the wire; it has not been edited.",
            "copyright": "© {year} NewsPulse Aggregator", "first_pub": "Added: ",
        })
        return dataclasses.replace(
            base, idx=len(outlets), name="NewsPulse Aggregator", short="NewsPulse", domain="newspulse.example",
            url_style=2, section="wire", case=1, headline_prefix="", p_prefix=0.0, p_credit=0.0,
            header=("headline", "credit", "first_pub"), footer=("disclaimer", "trending", "copyright"), mid=None,
            texts=texts)

    # ---- hooks on the ordinary copies

    def extra_chrome(self, o: "Outlet", oi: int, h: str, pub: int) -> tuple:
        """Variable link-list lines of outlets that have them: (mid, tail) lists of (line, kind)."""
        style = self.link_style.get(o.idx)
        if style is None:
            return ()
        heads = self.render.other_headlines(oi, o.case, self.xr.randint(2, 4))
        if not heads:
            return ()
        self.counts["link_list_lines"] += 1
        if style == "more":
            return [], [("More stories: " + "; ".join(heads), "chrome:more_stories")]
        if style == "read_more":
            return [("READ MORE: " + heads[0], "chrome:read_more")], []
        return [("Related: " + " | ".join(heads[:2]), "chrome:related")], []

    def wall(self, o: "Outlet", sid: str, lines: list[str], kinds: list[str], paras: list[str]):
        """A group site's page scraped as its consent wall (in front of a teaser, or alone).
        Returns (lines, kinds, gold label or None to keep the report's)."""
        if o.idx not in self.wall_group or self.xr.random() >= P_WALL:
            return lines, kinds, None
        only = self.xr.random() < P_WALL_ONLY
        new = list(WALL_LINES) + ([] if only else [paras[0]])
        new_kinds = ["wall"] * len(WALL_LINES) + ([] if only else ["story"])
        self.counts["consent_wall_only" if only else "consent_wall_teaser"] += 1
        gold = f"wall-{sid}" if only else None
        self._pending_row = ("consent_wall_only" if only else "consent_wall_teaser", int(only))
        return new, new_kinds, gold

    def head(self, o: "Outlet", head: str) -> str:
        """The record's JSON head without its outlet field for a feed that has none."""
        self._no_outlet = ("no_outlet" in self.on
                           and (o.idx in self.no_outlet_feeds or self.xr.random() < P_NO_OUTLET))
        if not self._no_outlet:
            return head
        self.counts["no_outlet"] += 1
        return head.replace(', "outlet": ' + json.dumps(o.name, ensure_ascii=False), "", 1)

    def keep(self, sid: str, gold: str, oi: int, o: "Outlet", h: str, pub: int, head: str, paras: list[str],
             para_kinds: list[str], lines: list[str], kinds: list[str], body: str) -> None:
        pending = getattr(self, "_pending_row", None)
        if pending:
            self.rows.append((sid, gold, pending[0], "", pending[1]))
            self._pending_row = None
        if self._no_outlet:
            self.rows.append((sid, gold, "no_outlet", "", 0))
        self.recs.append(_Rec(sid, gold, oi, o, h, pub, head, paras, para_kinds, lines, kinds, body, self._no_outlet))

    # ---- extra records

    def extras(self) -> list[dict]:
        """The extra records (ids not yet given: "sid" is None), sorted by publication time."""
        xr = self.xr
        reports = [r for r in self.recs if r.gold.startswith("r")]  # wall-only pages derive nothing
        out: list[dict] = []
        if not reports:
            return out
        if "versions" in self.on:
            out += self._versions(reports, self.n_extra["versions"])
        if "aggregator" in self.on:
            out += self._aggregated(reports, self.n_extra["aggregator"])
        if "live_blogs" in self.on:
            out += self._live_blogs(reports, self.n_extra["live_blogs"])
        if "scraped_twice" in self.on:
            for r in (xr.choice(reports) for _ in range(self.n_extra["scraped_twice"])):
                out.append({"gold": r.gold, "behaviour": "scraped_twice", "of": r.sid, "oi": r.oi, "outlet": r.outlet,
                            "h": r.h, "pub": r.pub, "same_page": r, "lines": r.lines, "kinds": r.kinds})
        out.sort(key=lambda e: e["pub"])
        return out

    def _versions(self, reports: list[_Rec], n: int) -> list[dict]:
        xr = self.xr
        out: list[dict] = []
        while len(out) < n:
            r = xr.choice(reports)
            chain = [r]
            if xr.random() < P_SECOND_VERSION and len(out) + 1 < n:
                chain.append(None)
            paras, pk, pub, prev = list(r.paras), list(r.para_kinds), r.pub, r
            for v in range(1, len(chain) + 1):
                variant = xr.choice(("new_top", "correction", "drop_last"))
                story_at = [j for j, k in enumerate(pk) if k == "story"]
                if variant == "drop_last" and len(story_at) < 2:
                    variant = "correction"
                subject = self.preps[r.oi].cased[2].rstrip(".")
                if variant == "new_top":
                    paras.insert(0, f"{subject}, {xr.choice(_UPDATE_ENDINGS)}")
                    pk.insert(0, "update_top")
                elif variant == "correction":
                    paras.append(f"Correction: an earlier version of this story about {subject[:1].lower()}"
                                 f"{subject[1:]} misstated a figure in paragraph {xr.randint(2, 5)}.")
                    pk.append("correction")
                else:
                    del paras[story_at[-1]]
                    del pk[story_at[-1]]
                pub += xr.randint(20 * 60, 8 * 3600)
                h = ("CORRECTED-" if variant == "correction" else f"UPDATE {v}-") + _UPDATE_PREFIX.sub("", r.h)
                lines, kinds = _assemble(self.render, r.outlet, r.oi, h, pub, paras, pk,
                                         self.extra_chrome(r.outlet, r.oi, h, pub))
                out.append({"gold": r.gold, "behaviour": "version_" + variant, "of": prev.sid if v == 1 else "",
                            "oi": r.oi, "outlet": r.outlet, "h": h, "pub": pub, "lines": lines, "kinds": kinds,
                            "no_outlet": r.no_outlet, "paras": list(paras), "para_kinds": list(pk)})
                self.counts["version_" + variant] += 1
        return out[:n]

    def _aggregated(self, reports: list[_Rec], n: int) -> list[dict]:
        xr, agg = self.xr, self.agg
        by_oi = {r.oi: r for r in reports}
        pick = xr.sample(sorted(by_oi), min(n, len(by_oi)))
        out = []
        for oi in pick:
            p, r = self.preps[oi], by_oi[oi]
            paras = list(p.paragraphs)
            if xr.random() < 0.4 and p.n_words >= TRUNCATE_MIN_WORDS and p.lead_k < len(paras):
                paras = paras[:xr.randint(p.lead_k, len(paras) - 1)]
            if p.city:
                paras[0] = f"{p.city}, {p.day_full or p.day_short} (Reuters) - {paras[0]}".replace(", (", " (")
            pub = p.epoch + int(min(xr.expovariate(1 / 7200), 20 * 3600)) + xr.randint(60, 900)
            h = p.cased[agg.case]
            lines, kinds = _assemble(self.render, agg, oi, h, pub, paras, ["story"] * len(paras))
            out.append({"gold": r.gold, "behaviour": "aggregator", "of": "", "oi": oi, "outlet": agg, "h": h,
                        "pub": pub, "lines": lines, "kinds": kinds, "no_outlet": False})
        self.counts["aggregator"] += len(out)
        return out

    def _live_blogs(self, reports: list[_Rec], n: int) -> list[dict]:
        xr = self.xr
        by_time = sorted({r.oi: r for r in reports}.values(), key=lambda r: r.pub)
        out = []
        for _ in range(n):
            k = xr.randint(*LIVE_QUOTES)
            if len(by_time) < k:
                break
            a = xr.randrange(len(by_time))
            lo = max(0, min(a - 15, len(by_time) - 30))
            quoted = xr.sample(by_time[lo:lo + 30], k)
            o = xr.choice(self.outlets)
            heads = [self.preps[r.oi].cased[o.case] for r in quoted]
            paras = [f"Live: {heads[0]}, {heads[1]} and more"]
            pk = ["liveblog_own"]
            pub = max(r.pub for r in quoted) + xr.randint(600, 3600)
            for j, r in enumerate(quoted):
                p = self.preps[r.oi]
                paras.append(_fmt_time(pub - (k - j) * xr.randint(600, 1800), "%H:%M GMT"))
                pk.append("liveblog_stamp")
                paras.append(heads[j])
                pk.append("liveblog_quote")
                ledes = list(p.paragraphs[:xr.randint(1, 2)])
                paras += ledes
                pk += ["liveblog_quote"] * len(ledes)
            h = f"Markets live: {heads[0]} and more"
            lines, kinds = _assemble(self.render, o, quoted[0].oi, h, pub, paras, pk)
            out.append({"gold": None, "behaviour": "live_blog", "of": " ".join(r.sid for r in quoted), "oi": -1,
                        "outlet": o, "h": h, "pub": pub, "lines": lines, "kinds": kinds, "no_outlet": False})
        self.counts["live_blog"] += len(out)
        return out


def _write_extras(real: _Realism, n_base: int, width: int, out: Path, buf_chrome: list[str], buf_clean: list[str],
                  gold_w, edits_w, line_gold: _LineGold, originals: list[Original]) -> None:
    """Append the extra records of ``real`` (ids after the ordinary copies) to the output
    buffers and gold files, and write behaviours.csv."""
    dumps = json.dumps
    for k, e in enumerate(real.extras()):
        sid = f"s{n_base + k:0{width}d}"
        gold = e["gold"] or f"live-{sid}"
        same = e.get("same_page")
        if same is not None:  # the page again: everything but the id as before
            head = same.head.replace(dumps(same.sid), dumps(sid), 1)
            no_outlet = same.no_outlet
        else:
            o = e["outlet"]
            no_outlet = e["no_outlet"]
            pub_s = _iso(e["pub"])
            rec = {"id": sid, "outlet": o.name, "url": _url(o, e["h"], pub_s, 3_000_000 + k), "headline": e["h"],
                   "published_at": pub_s}
            if no_outlet:
                del rec["outlet"]
            head = dumps(rec, ensure_ascii=False)[:-1]
        lines, kinds = e["lines"], e["kinds"]
        body = "\n".join(lines)
        clean = "\n".join(x for x, kd in zip(lines, kinds) if not is_chrome_kind(kd))
        buf_chrome.append(f'{head}, "body": {dumps(body, ensure_ascii=False)}}}\n')
        buf_clean.append(f'{head}, "body": {dumps(clean, ensure_ascii=False)}}}\n')
        line_gold.add(sid, lines, kinds)
        gold_w.writerow((sid, gold))
        newid = originals[e["oi"]].newid if e["oi"] >= 0 else ""
        edits_w.writerow((sid, gold, newid, e["outlet"].name, 0, 0, 0, 0, 0, "none", 0, 0))
        real.rows.append((sid, gold, e["behaviour"], e["of"], 0))
        if no_outlet and same is None:
            real.rows.append((sid, gold, "no_outlet", "", 0))
    with open(out / "behaviours.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(("story_id", "gold_cluster", "behaviour", "of_story", "expect_reject"))
        w.writerows(sorted(real.rows))
    real.counts["gold_labels_own"] = sum(1 for r in real.rows if r[2] in ("consent_wall_only", "live_blog"))


# --------------------------------------------------------------------------------------
# 7. Building the corpus
# --------------------------------------------------------------------------------------

def build_corpus(
    source_dir: str | Path,
    n_stories: int,
    out_dir: str | Path,
    *,
    seed: int = 0,
    chrome: bool = True,
    behaviours: "set[str] | list[str] | tuple[str, ...]" = (),
    languages: bool = False,
) -> dict:
    """Write ``n_stories`` labeled copies to ``out_dir`` (see module docstring); return stats.

    ``chrome=False`` writes batch.jsonl without outlet chrome (then identical to
    batch-clean.jsonl). Deterministic for a given ``seed`` (and source files).

    ``behaviours`` (any of ``BEHAVIOURS``; default none, which writes exactly the corpus of
    earlier versions) makes outlets behave as real ones; ``n_stories`` is then the total with
    the extra records, which take the ids after the ordinary copies:

    * ``versions``: later versions of a copy from the same outlet under new ids (a new top
      paragraph, a correction line appended, or the last paragraph dropped); gold: the report's.
    * ``aggregator``: one outlet ("NewsPulse Aggregator") carrying many agency copies.
    * ``no_outlet``: three outlets' feeds, and a few other records, without an outlet field.
    * ``consent_wall``: four outlets of one media group scraped as their shared consent wall,
      in front of a teaser (the first paragraph; gold: the report's) or alone. A wall-only
      body has no story text: gold gives it a label of its own (``wall-<story id>``), so
      clustering it with anything is a false merge; behaviours.csv marks it expect_reject=1.
    * ``link_lists``: twelve outlets put variable link lines in their pages ("More stories:
      A; B; C", "READ MORE: A", "Related: A | B", other reports' headlines).
    * ``live_blogs``: live blogs quoting the headline and lede of 3-5 reports of the same
      night; gold: a label of their own (``live-<story id>``), not any report's.
    * ``scraped_twice``: the same page (url, headline, body) again under a new id.

    ``languages=True`` appends the reports of ``bench/synth/languages.py`` (Chinese, Japanese, Thai,
    Arabic, Hindi, Russian, French, Spanish, German) as republished by invented outlets in those
    languages (chrome, truncation, a dropped paragraph, the dateline left out, a new headline), after
    the English copies and on top of ``n_stories``; gold ``lang-<code>-<report>``, and
    ``languages.csv`` (story_id, gold_cluster, language, edits) says which story is in which language.

    Besides the files of the module docstring, writes gold-lines.parquet (which body lines
    of batch.jsonl are chrome, see ``_LineGold``) and, with behaviours, behaviours.csv
    (story_id, gold_cluster, behaviour, of_story, expect_reject).
    Raises ValueError for an unknown behaviour.
    """
    unknown = set(behaviours) - set(BEHAVIOURS)
    if unknown:
        raise ValueError(f"unknown behaviour(s) {sorted(unknown)}; known: {', '.join(BEHAVIOURS)}")
    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    originals, ostats = load_originals(source_dir)
    log.info("originals: %d parsed, %d wire re-sends dropped (%d groups), %d kept",
             ostats["parsed"], ostats["resends_dropped"], ostats["resend_groups"], ostats["kept"])

    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    outlets = _make_outlets(random.Random(seed * 31 + 7))
    n_out = len(outlets)
    preps = [_prepare(o, seed) for o in originals]

    n_total = n_stories
    real = _Realism(set(behaviours), n_total, outlets, preps, originals, seed) if behaviours else None
    n_base = n_total - (real.n_extra_total if real else 0)
    if n_base < 1:
        raise ValueError(f"--n {n_total} leaves no room for ordinary copies besides the extra records")
    sizes = plan_cluster_sizes(n_base, len(originals), rng)
    k = len(sizes)
    chosen = rng.permutation(len(originals))[:k]
    n = int(sizes.sum())
    cl = np.repeat(np.arange(k), sizes)
    oi_arr = chosen[cl]

    # Outlets: distinct within a cluster while the cluster is smaller than the outlet list.
    w = np.array([o.weight for o in outlets])
    w = w / w.sum()
    outlet_arr = np.empty(n, dtype=np.int64)
    pos = 0
    for s in sizes.tolist():
        first = min(s, n_out)
        outlet_arr[pos:pos + first] = rng.choice(n_out, size=first, replace=False, p=w)
        if s > n_out:
            outlet_arr[pos + first:pos + s] = rng.choice(n_out, size=s - n_out, p=w)
        pos += s

    epochs = np.array([p.epoch for p in preps], dtype=np.int64)
    late = rng.random(n) < P_LATE
    delay = np.where(late, rng.uniform(86400, 5 * 86400, n), np.minimum(rng.exponential(2.5 * 3600, n), 20 * 3600))
    delay = (delay + rng.uniform(60, 900, n)).astype(np.int64)
    pub = epochs[oi_arr] + delay
    order = np.lexsort((np.arange(n), pub))
    pub_iso = np.datetime_as_string(pub.astype("datetime64[s]"), unit="s")

    u = rng.random((n, 8))
    serial = rng.permutation(n) + 1_000_000
    width = max(6, len(str(max(n_total - 1, 0))))

    render = _Renderer(preps, rnd)
    body_rules = {o.style_id: _style_rules(o.style) for o in outlets}
    head_rules = {o.style_id: _style_rules(o.style, headline=True) for o in outlets}
    styled_cache: dict[tuple[int, int], tuple[str, ...]] = {}
    counts: Counter[str] = Counter()

    f_chrome = open(out / "batch.jsonl", "w", encoding="utf-8", buffering=1 << 20)
    f_clean = open(out / "batch-clean.jsonl", "w", encoding="utf-8", buffering=1 << 20)
    f_gold = open(out / "gold.csv", "w", encoding="utf-8", newline="", buffering=1 << 20)
    f_edits = open(out / "edits.csv", "w", encoding="utf-8", newline="", buffering=1 << 20)
    gold_w = csv.writer(f_gold)
    gold_w.writerow(("story_id", "gold_cluster"))
    line_gold = _LineGold(out / "gold-lines.parquet")
    edits_w = csv.writer(f_edits)
    edits_w.writerow(("story_id", "gold_cluster", "original_newid", "outlet", "exact", "truncated",
                      "dropped_paragraph", "merged_paragraphs", "house_style", "dateline", "credit_line", "late"))
    dumps = json.dumps
    buf_chrome: list[str] = []
    buf_clean: list[str] = []
    try:
        order_l = order.tolist()
        oi_l = oi_arr.tolist()
        outlet_l = outlet_arr.tolist()
        pub_l = pub.tolist()
        late_l = late.tolist()
        u_l = u.tolist()
        serial_l = serial.tolist()
        for j, i in enumerate(order_l):
            oi = oi_l[i]
            o = outlets[outlet_l[i]]
            p = preps[oi]
            ue, ut, ud, um, us, ul, uc, uh = u_l[i]
            sid = f"s{j:0{width}d}"
            exact = ue < P_EXACT
            styled = (not exact) and us < o.p_style and bool(body_rules[o.style_id])
            truncated = dropped = merged = credit = False
            dl_variant = "none"

            # ---- body
            if exact:
                paras = list(p.paragraphs)
            else:
                if styled:
                    key = (oi, o.style_id)
                    sp = styled_cache.get(key)
                    if sp is None:
                        sp = tuple(_apply_rules("\n".join(p.paragraphs), body_rules[o.style_id]).split("\n"))
                        styled_cache[key] = sp
                    paras = list(sp)
                else:
                    paras = list(p.paragraphs)
                if ut < P_TRUNCATE and p.n_words >= TRUNCATE_MIN_WORDS and p.lead_k < len(paras):
                    paras = paras[:rnd.randint(p.lead_k, len(paras) - 1)]
                    truncated = True
                elif ud < P_DROP and p.droppable:  # not on top of a truncation: keep >= 40% of the words
                    del paras[rnd.choice(p.droppable)]
                    dropped = True
                if um < P_MERGE and len(paras) >= 2:
                    x = rnd.randrange(len(paras) - 1)
                    paras[x:x + 2] = [paras[x] + " " + paras[x + 1]]
                    merged = True
                if p.city:
                    cum = 0.0
                    for name, pr in zip(DATELINE_VARIANTS, o.dateline_p):
                        cum += pr
                        if ul < cum:
                            dl_variant = name
                            break
                    dash = o.dash if styled else "-"
                    if dl_variant == "full" and not p.day_short:
                        dl_variant = "short"
                    if dl_variant == "full":
                        day = p.day_full if o.full_month else p.day_short
                        paras[0] = f"{p.city}, {day} (Reuters) {dash} {paras[0]}"
                    elif dl_variant == "short":
                        paras[0] = f"{p.city} (Reuters) {dash} {paras[0]}"
                    elif dl_variant == "colon":
                        paras[0] = f"{p.city_title}: {paras[0]}"
                if uc < o.p_credit:
                    paras.append(p.credit)
                    credit = True

            # ---- headline
            h = p.cased[o.case]
            if styled and head_rules[o.style_id]:
                h = _apply_rules(h, head_rules[o.style_id])
            if uh < P_HEAD_SUBS:
                h = _HEAD_SUB_RE.sub(_head_sub, h)
            if rnd.random() < P_HEAD_TRUNC:
                hw = h.split()
                if len(hw) > 4:
                    h = " ".join(hw[:max(3, int(len(hw) * 0.6))]) + "..."
            if rnd.random() < P_UPDATE:
                h = f"UPDATE {rnd.randint(1, 3)}-{h}"
            if o.headline_prefix and rnd.random() < o.p_prefix:
                h = o.headline_prefix + h

            # ---- record
            pub_s = pub_iso[i] + "Z"
            head = dumps({"id": sid, "outlet": o.name, "url": _url(o, h, pub_s, serial_l[i]), "headline": h,
                          "published_at": pub_s}, ensure_ascii=False)[:-1]
            clean_body = "\n".join(paras)
            clean_line = f'{head}, "body": {dumps(clean_body, ensure_ascii=False)}}}\n'
            buf_clean.append(clean_line)
            para_kinds = ["story"] * len(paras)
            if credit:
                para_kinds[-1] = FURNITURE
            if chrome:
                lines, kinds = _assemble(render, o, oi, h, pub_l[i], paras, para_kinds,
                                         real.extra_chrome(o, oi, h, pub_l[i]) if real else ())
            else:
                lines, kinds = list(paras), para_kinds
            gc_override = None
            if real:
                if chrome:
                    lines, kinds, gc_override = real.wall(o, sid, lines, kinds, paras)
                    clean_body = "\n".join(x for x, k in zip(lines, kinds) if not is_chrome_kind(k))
                head = real.head(o, head)
                clean_line = f'{head}, "body": {dumps(clean_body, ensure_ascii=False)}}}\n'
                buf_clean[-1] = clean_line
            if chrome or real:
                chrome_body = "\n".join(lines)
                buf_chrome.append(f'{head}, "body": {dumps(chrome_body, ensure_ascii=False)}}}\n')
            else:
                buf_chrome.append(clean_line)

            gc = f"r{originals[oi].newid:05d}"
            if real:
                gc = gc_override or gc
                real.keep(sid, gc, oi, o, h, pub_l[i], head, paras, para_kinds, lines, kinds, chrome_body)
            line_gold.add(sid, lines, kinds)
            gold_w.writerow((sid, gc))
            edits_w.writerow((sid, gc, originals[oi].newid, o.name, int(exact), int(truncated), int(dropped),
                              int(merged), int(styled), dl_variant, int(credit), int(late_l[i])))
            counts["exact"] += exact
            counts["truncated"] += truncated
            counts["dropped_paragraph"] += dropped
            counts["merged_paragraphs"] += merged
            counts["house_style"] += styled
            counts["credit_line"] += credit
            counts["dateline_" + dl_variant] += 1
            if len(buf_clean) >= 20000:
                f_clean.write("".join(buf_clean))
                f_chrome.write("".join(buf_chrome))
                buf_clean.clear()
                buf_chrome.clear()
            if len(styled_cache) > 500_000:
                styled_cache.clear()
        if real:
            _write_extras(real, n, width, out, buf_chrome, buf_clean, gold_w, edits_w, line_gold, originals)
        f_clean.write("".join(buf_clean))
        f_chrome.write("".join(buf_chrome))
        if languages:
            n_total += _write_languages(out, seed, f_chrome, f_clean, gold_w, line_gold, counts)
    finally:
        for f in (f_chrome, f_clean, f_gold, f_edits):
            f.close()
        line_gold.close()

    counts["late"] = int(late.sum())
    stats = {
        "stories": n_total,
        "gold_clusters": k,
        "singleton_clusters": int((sizes == 1).sum()),
        "largest_cluster": int(sizes.max()) if k else 0,
        "mean_cluster_size": round(n / k, 3) if k else 0.0,
        "stories_in_multi_copy_clusters": int(sizes[sizes > 1].sum()),
        "outlets": n_out,
        "originals": ostats,
        "edits": dict(sorted(counts.items())),
        "bytes_batch": (out / "batch.jsonl").stat().st_size,
        "bytes_batch_clean": (out / "batch-clean.jsonl").stat().st_size,
        "seconds": round(time.perf_counter() - t_start, 2),
        "seed": seed,
        "out_dir": str(out),
    }
    if real:
        stats["behaviours"] = sorted(real.on)
        stats["ordinary_copies"] = n
        stats["behaviour_counts"] = dict(sorted(real.counts.items()))
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats


def _write_languages(out: Path, seed: int, f_chrome, f_clean, gold_w, line_gold: "_LineGold", counts: Counter) -> int:
    """Append the other languages' copies (``bench/synth/languages.py``) to the open batch files; return how many."""
    from bench.synth.languages import language_records

    recs = language_records(seed=seed)
    with open(out / "languages.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(("story_id", "gold_cluster", "language", "edits"))
        for r in recs:
            rec = r.record
            lines = rec["body"].split("\n")
            f_chrome.write(json.dumps(rec, ensure_ascii=False) + "\n")
            clean_body = "\n".join(x for x in lines if x not in r.chrome)
            f_clean.write(json.dumps({**rec, "body": clean_body}, ensure_ascii=False) + "\n")
            gold_w.writerow((rec["id"], r.gold))
            line_gold.add(rec["id"], lines, ["lang_chrome" if x in r.chrome else "story" for x in lines])
            w.writerow((rec["id"], r.gold, r.language, r.edits))
            counts["language_" + r.language] += 1
    return len(recs)


def parse_behaviours(spec: str, realistic: bool = False) -> tuple[str, ...]:
    """Behaviours from a comma list ("versions,aggregator"); ``realistic`` means all of them.
    Raises ValueError naming an unknown one."""
    if realistic:
        return BEHAVIOURS
    chosen = tuple(dict.fromkeys(b.strip() for b in spec.split(",") if b.strip()))
    unknown = [b for b in chosen if b not in BEHAVIOURS]
    if unknown:
        raise ValueError(f"unknown behaviour(s) {unknown}; known: {', '.join(BEHAVIOURS)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/synth/corpus.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=str(DEFAULT_SOURCE), help="folder of reut2-*.sgm (default: %(default)s)")
    ap.add_argument("--n", type=int, required=True, help="number of stories to write")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-chrome", action="store_true", help="batch.jsonl without outlet chrome")
    ap.add_argument("--realistic", action="store_true", help="every behaviour of real outlets (see --behaviours)")
    ap.add_argument("--behaviours", default="", help=f"comma list of: {', '.join(BEHAVIOURS)}")
    ap.add_argument("--languages", action="store_true", help="also copies of reports in nine other languages "
                    "(bench/synth/languages.py), mixed with the English ones; languages.csv says which")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if not Path(args.source).is_dir():
        print(f"error: source folder not found: {args.source}", file=sys.stderr)
        return 2
    try:
        chosen = parse_behaviours(args.behaviours, args.realistic)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stats = build_corpus(args.source, args.n, args.out, seed=args.seed, chrome=not args.no_chrome,
                         behaviours=chosen, languages=args.languages)
    o = stats["originals"]
    print(f"wrote {stats['stories']} stories in {stats['gold_clusters']} gold clusters to {stats['out_dir']} "
          f"in {stats['seconds']} s (originals: {o['parsed']} with a body, {o['resends_dropped']} wire re-sends "
          f"dropped, {o['kept']} kept)", file=sys.stderr)
    print(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
