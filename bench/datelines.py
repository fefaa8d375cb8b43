#!/usr/bin/env python3
"""Precision and recall of the ``agency`` and ``dateline`` columns (issue 17 item 7).

Three labelled sets, each story run through the clean stage as a night runs it (``clean.prepare``
then ``clean.finish``, default ``ChromeSettings``, no learned chrome: every story is its own
outlet, so only the wire rules of ``dedup.stages.text.wire`` and the generic chrome rules act):

- ``own``: stories we wrote in the forms real outlets use (``OWN_CASES`` below: "WASHINGTON (AP) —",
  "By Jane Doe, Associated Press", "— AP", "PARIS, March 3 (Reuters) -", "(Reporting by ...)",
  "NEW DELHI: ... (PTI)", "MADRID, 3 mar (EFE).-", and lines that only look like datelines:
  "Sen. Ben Sasse: ...", "FILE -", "The Latest:"). ``tests/bench/test_datelines.py`` holds floors on it.
- ``reuters``: 1987 Reuters wire reports (../shared/corpora/reuters21578), each as the wire printed
  it: its ``<DATELINE>`` ("SALVADOR, Feb 26 -"), the body, the "Reuter" sign-off. Gold: the
  DATELINE tag, agency Reuters. Reports without a DATELINE tag are left out.
- ``aeb``: the 181 real pages of the article-extraction-benchmark (HTML as scraped), labelled by
  hand in ``bench/datelines_aeb.csv`` (page id -> agency, dateline; empty = none). The page text is
  read from ../shared at run time, never stored here.

Scores, per column: a story's prediction is right when it is not null and equals the gold value;
precision = right / predicted (non-null), recall = right / gold (non-null). Datelines are compared
on their place and date: lowercase, agency names and punctuation dropped ("TALLVIK, Nov 24
(Reuters)" and "Tallvik, Nov 24" are equal; "AFP Vladivostok" and "Vladivostok" too).

    .venv/bin/python bench/datelines.py                  # all three sets
    .venv/bin/python bench/datelines.py --sets own,aeb --misses 20
    .venv/bin/python bench/datelines.py --reuters-limit 0    # every Reuters report with a DATELINE
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pyarrow as pa  # noqa: E402
import regex  # noqa: E402

from dedup.config import ChromeSettings  # noqa: E402
from dedup.stages.clean import finish, prepare  # noqa: E402
from dedup.stages.text.wire import AGENCIES  # noqa: E402

SHARED = REPO_ROOT.parent / "shared"
REUTERS = SHARED / "corpora" / "reuters21578"
AEB = SHARED / "corpora" / "article-extraction-benchmark"
AEB_LABELS = Path(__file__).with_name("datelines_aeb.csv")


@dataclass(frozen=True)
class Case:
    """One labelled story: its text (plain text or an HTML page) and the expected column values
    (None: the story has no agency credit / no dateline)."""

    id: str
    text: str
    agency: str | None
    dateline: str | None


# Story text we wrote; the first sentences are reused so the cases differ only in their furniture.
_S1 = "The city council voted on Tuesday to close the old harbour bridge to heavy lorries from next month."
_S2 = "Engineers found cracks in two of the bridge's supports during an inspection in the spring, officials said."
_S3 = "The closure will add about twenty minutes to the journey for hauliers using the coastal road."
_BODY = f"{_S1}\n{_S2}\n{_S3}"
_REST = f"{_S2}\n{_S3}"

OWN_CASES: tuple[Case, ...] = (
    # Datelines with a credit in brackets, the forms of the big agencies.
    Case("ap-dateline", f"WASHINGTON (AP) — {_BODY}", "AP", "WASHINGTON"),
    Case("ap-dateline-region", f"NAIROBI, Kenya (AP) — {_BODY}", "AP", "NAIROBI, Kenya"),
    Case("ap-dateline-titlecase", f"St. Louis (AP) - {_BODY}", "AP", "St. Louis"),
    Case("reuters-date", f"PARIS, March 3 (Reuters) - {_S1}\n{_REST}\n(Reporting by Jean Dupont; Editing by Alex Roe)",
         "Reuters", "PARIS, March 3"),
    Case("reuters-plain", f"TOKYO (Reuters) - {_BODY}", "Reuters", "TOKYO"),
    Case("reuters-under-page-lines", f"Bridge to close to lorries\nBy Jane Doe\n4 Min Read\nLONDON (Reuters) - {_BODY}",
         "Reuters", "LONDON"),
    Case("afp-dateline", f"VLADIVOSTOK (AFP) - {_BODY}", "AFP", "VLADIVOSTOK"),
    Case("xinhua", f"BEIJING, March 3 (Xinhua) -- {_BODY}", "Xinhua", "BEIJING, March 3"),
    Case("dpa", f"BERLIN (dpa) - {_BODY}", "dpa", "BERLIN"),
    Case("aap", f"SYDNEY, March 3 (AAP) - {_BODY}", "AAP", "SYDNEY, March 3"),
    Case("pti-no-dash", f"Hyderabad, Nov 26 (PTI) {_BODY}", "PTI", "Hyderabad, Nov 26"),
    Case("pti-colon-trailing", f"NEW DELHI: {_S1}\n{_S2}\n{_S3} (PTI)", "PTI", "NEW DELHI"),
    Case("pti-trailing-line", f"NEW DELHI: {_BODY}\nPTI ABC XYZ", "PTI", "NEW DELHI"),
    Case("ians-trailing", f"Mumbai, March 3 (IANS) {_S1}\n{_REST}\n--IANS\nabc/xyz", "IANS", "Mumbai, March 3"),
    Case("efe", "MADRID, 3 mar (EFE).- El ayuntamiento votó el martes cerrar el viejo puente del puerto a los "
         "camiones pesados a partir del mes que viene.\nLos ingenieros encontraron grietas en dos soportes.",
         "EFE", "MADRID, 3 mar"),
    Case("tass", "МОСКВА, 3 декабря. /ТАСС/. Городской совет во вторник проголосовал за закрытие старого моста "
         "для грузовиков.\nИнженеры нашли трещины в двух опорах моста.", "TASS", "МОСКВА, 3 декабря"),
    Case("kyodo", "【ワシントン共同】市議会は火曜日、古い港の橋を来月から大型トラックに対して閉鎖することを決めた。\n"
         "技術者が春の点検で橋脚２本にひびを見つけた。", "Kyodo", "ワシントン"),
    # Credits outside the dateline: bylines, tags, end lines.
    Case("ap-byline", f"By Jane Doe, Associated Press\nWASHINGTON — {_BODY}", "AP", "WASHINGTON"),
    Case("ap-byline-caps", f"By JANE DOE and JOHN ROE Associated Press\nCHICAGO — {_BODY}", "AP", "CHICAGO"),
    Case("ap-by-the-ap", f"By The Associated Press\n{_BODY}", "AP", None),
    Case("ap-tag", f"LONDON — {_BODY}\n— AP", "AP", "LONDON"),
    Case("ap-contributed", f"{_BODY}\nThe Associated Press contributed to this report.", "AP", None),
    Case("ap-writer-contributed", f"{_BODY}\nAssociated Press writer John Roe in Chicago contributed to this report.",
         "AP", None),
    Case("ap-copyright", f"{_BODY}\nCopyright 2018 The Associated Press. All rights reserved. This material may not "
         "be published, broadcast, rewritten or redistributed.", "AP", None),
    Case("reuters-byline-bar", f"By Jane Doe | Reuters\n{_BODY}", "Reuters", None),
    Case("reuters-line-place", f"Reuters New York\n{_BODY}", "Reuters", "New York"),
    Case("afp-line-place", f"Image\nAFP Vladivostok\n{_BODY}", "AFP", "Vladivostok"),
    Case("source-pti", f"{_BODY}\nSource: PTI", "PTI", None),
    # A dateline without an agency.
    Case("caps-dash-no-credit", f"WASHINGTON — {_BODY}", None, "WASHINGTON"),
    Case("titlecase-colon", f"Mumbai: {_BODY}", None, "Mumbai"),
    Case("titlecase-words-colon", f"New York: {_BODY}", None, "New York"),
    Case("caps-date-dash", f"CHICAGO, March 3 — {_BODY}", None, "CHICAGO, March 3"),
    Case("outlet-credit", f"NEW YORK (CNN) — {_BODY}", None, "NEW YORK"),
    # Lines that look like datelines or credits but are neither.
    Case("titled-headline", f"Sen. Ben Sasse: Trump should rethink tariffs\n{_BODY}", None, None),
    Case("name-headline", f"Julian Roe: Council must rethink the bridge\n{_BODY}", None, None),
    Case("label-after-prose", f"{_S1}\nPortion Fix Containers: 1 Green, 1 Red, 1 Yellow, 1 tsp.\n{_REST}", None, None),
    Case("company-ticker", f"Acme Corp (ACME) - {_BODY}", None, None),
    Case("file-photo", f"FILE - In this March 3, 2018, file photo, lorries cross the harbour bridge.\n{_BODY}", None, None),
    Case("the-latest", f"The Latest: Harbour bridge to close to lorries\n{_BODY}", None, None),
    Case("update-label", f"UPDATE: {_BODY}", None, None),
    Case("editors-note", f"Editor's note: This story has been corrected.\n{_BODY}", None, None),
    Case("photos-label", f"Photos: The harbour bridge over the years\n{_BODY}", None, None),
    Case("watch-label", f"WATCH: Lorries queue at the bridge\n{_BODY}", None, None),
    Case("agency-in-prose", f"Reuters reported on Monday that the bridge would close.\n{_REST}", None, None),
    Case("agency-said", f"{_S1}\nThe closure was first reported by the Associated Press on Monday.\n{_S3}", None, None),
    Case("plain-story", _BODY, None, None),
    Case("list-item", f"- 8 pct bonds due July 1, 1990, were called.\n{_BODY}", None, None),
    Case("said-colon", f"The mayor said: \"We had no choice.\"\n{_REST}", None, None),
)


# --------------------------------------------------------------------------- the other sets

def reuters_cases(source: Path = REUTERS, limit: int | None = 2000) -> list[Case]:
    """Reuters-21578 reports as the wire printed them (dateline, body, "Reuter" sign-off), every
    k-th report with a DATELINE tag so that ``limit`` of them spread over all files (None/0: all).
    Raises FileNotFoundError when ``source`` holds no reut2-*.sgm."""
    from bench.synth.corpus import _BLOCK, _BODY as BODY_TAG, _DATELINE, _NEWID, _SIGNOFF, _clean_text, _split_paragraphs

    files = sorted(Path(source).glob("reut2-*.sgm"))
    if not files:
        raise FileNotFoundError(f"no reut2-*.sgm files in {source}")
    out = []
    for f in files:
        for attrs, block in _BLOCK.findall(f.read_text(encoding="latin-1")):
            md, mb = _DATELINE.search(block), BODY_TAG.search(block)
            if not md or not mb:
                continue
            dl = " ".join(_clean_text(md.group(1)).split())
            # A few tags run on into the story ("THE HAGUE, March 2 - Dutch imports of fat"): the
            # dateline is what comes before the dash.
            gold = dl.split(" - ")[0].rstrip(" -").strip()
            body = _clean_text(mb.group(1))
            # The sign-off is a line of its own on the wire (" Reuter"); the reader would glue it on.
            # Every report is Reuters' own, signed or not: gold agency is Reuters throughout.
            signed = bool(_SIGNOFF.search(body))
            paras = _split_paragraphs(_SIGNOFF.sub("", body))
            if not gold or not paras:
                continue
            paras[0] = f"{dl} {paras[0]}"
            paras += ["Reuter"] if signed else []
            out.append(Case(f"reuters/{_NEWID.search(attrs).group(1)}", "\n".join(paras), "Reuters", gold))
    if limit and len(out) > limit:
        step = len(out) / limit
        out = [out[int(i * step)] for i in range(limit)]
    return out


def labelled_pages(labels: Path = AEB_LABELS, corpus: Path = AEB) -> list[Case]:
    """The article-extraction-benchmark pages listed in ``labels`` (CSV: id, agency, dateline; empty
    cells are none), their HTML read from ``corpus``. Raises FileNotFoundError without the corpus."""
    if not (corpus / "html").is_dir():
        raise FileNotFoundError(f"no article-extraction-benchmark at {corpus}")
    out = []
    with open(labels, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            with gzip.open(corpus / "html" / f"{row['id']}.html.gz", "rt", encoding="utf-8") as g:
                page = g.read()
            out.append(Case(f"aeb/{row['id'][:12]}", page, row["agency"] or None, row["dateline"] or None))
    return out


# --------------------------------------------------------------------------- running and scoring

def run_columns(cases: list[Case]) -> tuple[list, list]:
    """(agency, dateline) per case, as ``dedup.stages.clean.finish`` gives them (lists of str|None)."""
    text, _ = prepare(pa.array([c.text for c in cases], pa.large_string()))
    outlets = pa.array([c.id for c in cases])
    cleaned = finish(text, outlets, None, ChromeSettings())
    return cleaned.agency.to_pylist(), cleaned.dateline.to_pylist()


# Agency names as words; a name in a caseless script ("共同") has no word edges to look for.
_AGENCY_WORDS = regex.compile(
    r"(?i)(?<![a-z])(?:" + "|".join(sorted((regex.escape(k) for k in AGENCIES), key=len, reverse=True)) + r")(?![a-z])")


def dateline_key(s: str | None) -> str | None:
    """A dateline reduced to its place and date for comparison: lowercase, credits in brackets or
    slashes ("(Reuters)", "(CNN)", "/ТАСС/"), agency names, punctuation gone, whitespace collapsed.
    None or nothing left: None."""
    if s is None:
        return None
    s = regex.sub(r"\([^)]*\)|（[^）]*）|/[^/]*/", " ", s.lower())
    s = _AGENCY_WORDS.sub(" ", s)
    s = " ".join(regex.sub(r"[^\p{L}\p{N}\p{M}]+", " ", s).split())
    return s or None


@dataclass(frozen=True)
class Score:
    """Counts of one column on one set: ``right`` (predicted and equal to gold), ``predicted``
    (non-null predictions), ``gold`` (non-null gold values)."""

    right: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.right / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.gold if self.gold else 1.0


def score(pred: list, gold: list, key=lambda v: v) -> tuple[Score, list[int]]:
    """The column's score and the indices of the cases it got wrong (a wrong or missing value, or
    a value where gold has none). ``key`` maps both sides before comparing."""
    pk, gk = [key(p) for p in pred], [key(g) for g in gold]
    right = sum(p is not None and p == g for p, g in zip(pk, gk))
    wrong = [i for i, (p, g) in enumerate(zip(pk, gk)) if p != g]
    return Score(right, sum(p is not None for p in pk), sum(g is not None for g in gk)), wrong


def evaluate(cases: list[Case]) -> dict:
    """{"agency": (Score, wrong indices), "dateline": (...), "pred": (agency, dateline)}."""
    agency, dateline = run_columns(cases)
    return {"agency": score(agency, [c.agency for c in cases]),
            "dateline": score(dateline, [c.dateline for c in cases], dateline_key),
            "pred": (agency, dateline)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="own,reuters,aeb", help="comma-separated: own, reuters, aeb")
    ap.add_argument("--reuters-limit", type=int, default=2000, help="Reuters reports to use (0: all with a dateline)")
    ap.add_argument("--misses", type=int, default=0, help="print up to N wrong cases per set and column")
    args = ap.parse_args(argv)
    loaders = {"own": lambda: list(OWN_CASES), "reuters": lambda: reuters_cases(limit=args.reuters_limit or None),
               "aeb": labelled_pages}
    print(f"{'set':8} {'stories':>7}  {'column':8} {'precision':>9} {'recall':>7}  (right / predicted / gold)")
    for name in args.sets.split(","):
        try:
            cases = loaders[name]()
        except FileNotFoundError as e:
            print(f"{name:8} skipped: {e}")
            continue
        res = evaluate(cases)
        for col in ("agency", "dateline"):
            s, wrong = res[col]
            print(f"{name:8} {len(cases):7}  {col:8} {s.precision:9.3f} {s.recall:7.3f}  "
                  f"({s.right} / {s.predicted} / {s.gold})")
            for i in wrong[:args.misses]:
                c = cases[i]
                got = res["pred"][0 if col == "agency" else 1][i]
                head = json.dumps(c.text[:90] if not c.text.lstrip().startswith("<") else "(html page)")
                print(f"    {c.id}: want {getattr(c, col)!r} got {got!r}  {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
