"""The run report: one self-contained HTML page beside each night's manifest.

``runs/run_date=YYYY-MM-DD/report.html`` answers the operator's morning question, "did last night
look normal?": the night's counts and duplicate rate, the cluster-size distribution, the largest
clusters, agencies and the outlets that carry them, chrome removed per outlet, rejects by reason,
stage timings, and the same figures for the nights before it (up to ``DRIFT_NIGHTS``, from their
manifests) so that drift shows. A short list of checks at the top says what, if anything, is off.

The page is plain HTML with inline CSS and inline SVG charts: no script, no web font, no CDN, so it
reads the same offline, in a mail attachment or from a file share. This module computes the figures
(``collect``, ``checks``); the page is the Jinja2 template ``templates/report.html.j2`` (charts in
``templates/charts.html.j2``, styles in ``templates/report.css``, all package data), rendered with
autoescape, so every text from a feed is escaped by the template engine.

Every figure shown is also on its element as a ``data-*`` attribute (``data-metric="accepted"
data-value="54"``, ``data-size-bucket``, ``data-reject-reason``, ...), and the whole set is in a
``<script type="application/json" id="report-data">`` block, so tests and tools can read the
numbers back without scraping text. Counts of stories, clusters and rejects come from the night's
Parquet tables; what only the run knows (records read, HTML bodies, dates, stage seconds) comes
from its manifest.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from dedup import layout
from dedup.config import StateSettings
from dedup.errors import NotFound
from dedup.stages.reasons import EMPTIED, REDELIVERED_KEY, REDELIVERED_PREFIX
from dedup.tools.headline import shown_headline

DRIFT_NIGHTS = 14
SIZE_BUCKETS = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None)]
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
OTHER_COLOR = "#bab0ac"
NO_AGENCY = "(no agency credit)"
NO_LANGUAGE = "(not detected)"


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def _new_reject_rate(rejected: int, read: int, again: int) -> float:
    """Rejects among the records no earlier night wrote (``REDELIVERED_KEY`` left out of both)."""
    return (rejected - again) / (read - again) if read > again else 0.0


def reason_key(reason: str) -> str:
    """A reject reason without its details, as the manifest counts it ("invalid JSON: ..." -> "invalid JSON";
    a record an earlier night wrote -> ``REDELIVERED_KEY``)."""
    if (reason or "").startswith(REDELIVERED_PREFIX):
        return REDELIVERED_KEY
    return (reason or "").split(":")[0]


def _largest_rows(table: pa.Table, size, k: int) -> list[dict]:
    """The ``k`` largest clusters of more than one story, by size then ``cluster_id``, as Python
    dicts in that order: ``table`` has one row per cluster, ``size`` its sizes (int64 numpy).
    Only those rows are converted, however many singletons the night has."""
    multi = np.flatnonzero(size > 1)
    if multi.size > k:
        kth = np.partition(size[multi], -k)[-k]
        above, tied = multi[size[multi] > kth], multi[size[multi] == kth]
        # Of the clusters at the k-th size, the ones with the smallest ids fill the rest.
        ids = table.column("cluster_id").take(pa.array(tied))
        tied = tied[pc.sort_indices(ids).to_numpy()[: k - above.size]]
        multi = np.concatenate([above, tied])
    rows = table.take(pa.array(multi, pa.int64())).to_pylist()
    return sorted(rows, key=lambda x: (-x["size"], x["cluster_id"]))


def bucket_label(lo: int, hi: int | None) -> str:
    return f"{lo}" if hi == lo else (f"{lo}–{hi}" if hi else f"{lo}+")


def _iso(v) -> str | None:
    return v.isoformat() if v is not None and hasattr(v, "isoformat") else None


def window_days(manifest: dict) -> int:
    """Days before a night whose nights its drift figures compare with: the night's state window
    (``state.retention_days`` in its manifest, ``dedup.config``'s default when absent), at most
    ``DRIFT_NIGHTS``; a night run without state (retention 0) still compares with ``DRIFT_NIGHTS`` days."""
    days = StateSettings(**{k: v for k, v in ((manifest.get("config") or {}).get("state") or {}).items()
                            if k in StateSettings.model_fields}).retention_days
    return min(days or DRIFT_NIGHTS, DRIFT_NIGHTS)


def earlier_manifests(output_root: Path, night: str, days: int = DRIFT_NIGHTS) -> list[dict]:
    """Manifests of the nights under output_root/runs in the ``days`` days before ``night``
    (``night - days <= n < night``, as ``dedup.night.state`` draws its window), oldest first.

    A night outside that span (an old run, a gap in the schedule) never counts: its figures would
    pull the drift medians towards nights the run did not compare against."""
    end = dt.date.fromisoformat(night)
    start = (end - dt.timedelta(days=days)).isoformat()
    out = []
    for n in layout.list_nights(output_root, "runs"):
        p = layout.manifest_path(output_root, n)
        if not (start <= n < night) or not p.is_file():
            continue
        try:
            m = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        m.setdefault("run_date", n)
        out.append(m)
    return out


def night_figures(manifest: dict) -> dict:
    """The drift figures of one night, from its manifest alone."""
    c = manifest.get("counts") or {}
    st = manifest.get("stages") or {}
    acc, rej, read = c.get("accepted", 0), c.get("rejected", 0), c.get("read", 0)
    again = (manifest.get("reject_reasons") or {}).get(REDELIVERED_KEY, 0)
    chrome = (st.get("clean") or {}).get("chrome_lines_removed")
    if chrome is None:
        chrome = sum((manifest.get("chrome_lines_removed_by_outlet") or {}).values())
    return {
        "night": manifest.get("run_date"),
        "status": manifest.get("status", "ok"),
        "read": read,
        "accepted": acc,
        "rejected": rej,
        "reject_rate": rej / read if read else 0.0,
        "new_reject_rate": _new_reject_rate(rej, read, again),
        "clusters": c.get("clusters", 0),
        "duplicates": c.get("duplicates", 0),
        "duplicate_rate": c.get("duplicates", 0) / acc if acc else 0.0,
        "largest_cluster": (st.get("cluster") or {}).get("largest", 0),
        "chrome_lines_per_story": chrome / acc if acc else 0.0,
        "html_bodies": c.get("html_bodies", 0),
        "bad_dates": c.get("bad_dates", 0),
        "big_buckets": (st.get("candidates") or {}).get("big_buckets", 0),
        "seconds_total": manifest.get("seconds_total", 0.0),
    }


def collect(output_root: Path, night: str, manifest: dict, stories: Path, clusters: Path,
            rejects: Path) -> dict:
    """Every figure the report shows, as plain data (also embedded in the page as JSON).

    ``stories``, ``clusters``, ``rejects``: the night's partition folders (``dedup.layout``), in
    staging or under ``output_root``, as either engine wrote them."""
    stories_dir = stories
    # Stories can be a million rows: aggregate them in Arrow, never row by row in Python.
    # Nights written before the language column have none: they read as "not detected".
    parts = layout.part_files(stories)
    has_language = bool(parts) and "language" in layout.parquet_file(parts[0]).schema_arrow.names
    st = _read(stories, columns=["outlet", "cluster_id", "is_canonical", "agency",
                                 "chrome_lines_removed", "published_at"] + (["language"] if has_language else []))
    if not has_language:
        st = st.append_column("language", pa.nulls(st.num_rows, pa.string()))
    st = st.set_column(st.schema.get_field_index("language"), "language",
                       pc.fill_null(st.column("language"), NO_LANGUAGE))
    st = st.set_column(st.schema.get_field_index("outlet"), "outlet", pc.fill_null(st.column("outlet"), ""))
    st = st.set_column(st.schema.get_field_index("agency"), "agency", pc.fill_null(st.column("agency"), NO_AGENCY))
    # Clusters and rejects too: a night of mostly unique stories has about as many clusters as
    # stories (600,000 clusters as Python rows: 12-15 s of the report), so only the ten largest become rows.
    ct = _read(clusters, columns=["cluster_id", "canonical_story_id", "headline", "size", "outlets",
                                  "first_published_at", "last_published_at", "agency"])
    size = ct.column("size").to_numpy(zero_copy_only=False).astype(np.int64)
    rt = _read(rejects, columns=["source", "record", "story_id", "reason"])
    mc = manifest.get("counts") or {}

    stories, clusters, rejected = st.num_rows, ct.num_rows, rt.num_rows
    read = stories + rejected
    again = int(pc.sum(pc.starts_with(rt.column("reason").cast(pa.string()), REDELIVERED_PREFIX)).as_py() or 0)
    # Tonight's canonicals open new clusters; every other story is a copy, of a new cluster or of
    # one from an earlier night (those clusters are in tonight's clusters table too).
    new_clusters = int(pc.sum(st.column("is_canonical")).as_py() or 0)
    duplicates = stories - new_clusters
    counts = {
        "read": read,
        "accepted": stories,
        "rejected": rejected,
        "clusters": clusters,
        "new_clusters": new_clusters,
        "earlier_clusters_joined": clusters - new_clusters,
        "duplicates": duplicates,
        "duplicate_rate": duplicates / stories if stories else 0.0,
        "reject_rate": rejected / read if read else 0.0,
        "redelivered": again,
        "new_reject_rate": _new_reject_rate(rejected, read, again),
        "clusters_with_copies": int((size > 1).sum()),
        "singletons": int((size == 1).sum()),
        "largest_cluster": int(size.max(initial=0)),
        "html_bodies": mc.get("html_bodies", 0),
        "bad_dates": mc.get("bad_dates", 0),
        "no_date": int(st.column("published_at").null_count),
        "reencoded": mc.get("reencoded", 0),
        "outlets": int(pc.count_distinct(pc.filter(st.column("outlet"), pc.not_equal(st.column("outlet"), ""))).as_py()),
    }
    mismatch = [k for k in ("read", "accepted", "rejected", "clusters", "duplicates")
                if k in mc and mc[k] != counts[k]]

    sizes = []
    for lo, hi in SIZE_BUCKETS:
        inb = size[(size >= lo) & (size <= (hi if hi is not None else np.iinfo(np.int64).max))]
        sizes.append({"bucket": bucket_label(lo, hi), "min": lo, "max": hi, "clusters": int(inb.size),
                      "stories": int(inb.sum())})
    while len(sizes) > 5 and sizes[-1]["clusters"] == 0:
        sizes.pop()

    largest = [
        {"cluster_id": x["cluster_id"], "canonical_story_id": x["canonical_story_id"], "headline": x["headline"],
         "size": x["size"], "outlets": len(x["outlets"] or []), "agency": x["agency"],
         "first_published_at": _iso(x["first_published_at"]), "last_published_at": _iso(x["last_published_at"])}
        for x in _largest_rows(ct, size, 10)
    ]
    # A feed without headlines leaves the column blank: show the canonical's lede instead, marked.
    bodies = _canonical_bodies(output_root, night, stories_dir,
                               [x["canonical_story_id"] for x in largest if not (x["headline"] or "").strip()])
    for x in largest:
        x["headline_shown"], x["headline_is_lede"] = shown_headline(x["headline"], bodies.get(x["canonical_story_id"]))

    # Agencies and the outlets that carry them: stories per (agency, outlet).
    by_outlet: dict[str, int] = {}
    per_outlet = st.group_by("outlet").aggregate([("cluster_id", "count"), ("chrome_lines_removed", "sum")])
    chrome_table: dict[str, int] = {}
    for o, n, ch in zip(per_outlet.column("outlet").to_pylist(), per_outlet.column("cluster_id_count").to_pylist(),
                        per_outlet.column("chrome_lines_removed_sum").to_pylist()):
        by_outlet[o or "(no outlet)"] = n
        chrome_table[o] = ch or 0
    agencies: dict[str, dict] = {}
    cl_by_agency = dict(zip(*[c_.to_pylist() for c_ in st.group_by("agency").aggregate(
        [("cluster_id", "count_distinct")]).columns]))
    ao = st.group_by(["agency", "outlet"]).aggregate([("cluster_id", "count")])
    for a, o, n in zip(ao.column("agency").to_pylist(), ao.column("outlet").to_pylist(),
                       ao.column("cluster_id_count").to_pylist()):
        d = agencies.setdefault(a, {"agency": a, "stories": 0, "outlets": {}})
        d["stories"] += n
        d["outlets"][o or "(no outlet)"] = n
    agency_rows = sorted(agencies.values(), key=lambda d: (d["agency"] == NO_AGENCY, -d["stories"], d["agency"]))
    for d in agency_rows:
        d["clusters"] = int(cl_by_agency.get(d["agency"], 0))
        d["outlet_count"] = len(d["outlets"])

    # Stories, clusters and duplicates per language: a cluster counts once in each language its stories have.
    lang = st.group_by("language").aggregate([("cluster_id", "count"), ("cluster_id", "count_distinct")])
    languages = sorted(({"language": g, "stories": int(n), "clusters": int(k), "duplicates": int(n - k)}
                        for g, n, k in zip(*[col.to_pylist() for col in lang.columns])),
                       key=lambda d: (d["language"] == NO_LANGUAGE, -d["stories"], d["language"]))

    # Chrome removed per outlet: the manifest's count (it includes stories later rejected as empty),
    # with the stories table's count and the outlet's stories beside it.
    man_chrome = manifest.get("chrome_lines_removed_by_outlet")
    source = man_chrome if man_chrome is not None else {k: v for k, v in chrome_table.items() if v}
    chrome = sorted(
        ({"outlet": o, "lines": int(n), "lines_in_stories": chrome_table.get(o, 0), "stories": by_outlet.get(o or "(no outlet)", 0)}
         for o, n in source.items()), key=lambda d: (-d["lines"], d["outlet"]))

    top_lines = {o: [{"line": str(x.get("line", "")), "stories": int(x.get("stories", 0))} for x in v[:3]]
                 for o, v in (manifest.get("chrome_top_lines_by_outlet") or {}).items() if isinstance(v, list)}

    # Per distinct reason text (few, however many rejects): its count and its first row.
    by_text = (rt.select(["reason"]).append_column("row", pa.array(np.arange(rt.num_rows, dtype=np.int64)))
               .group_by("reason", use_threads=False).aggregate([("row", "count"), ("row", "min")])
               .sort_by("row_min"))
    reasons: dict[str, dict] = {}
    for text, n, first in zip(*(by_text.column(f).to_pylist() for f in ("reason", "row_count", "row_min"))):
        k = reason_key(text)
        if k not in reasons:  # in first-row order: the example is the key's first reject
            x = rt.slice(first, 1).to_pylist()[0]
            reasons[k] = {"reason": k, "count": 0, "example": x["reason"],
                          "where": f"{Path(x['source'] or '').name}:{x['record']}"}
        reasons[k]["count"] += n
    reject_rows = sorted(reasons.values(), key=lambda d: (-d["count"], d["reason"]))

    def _shown(k, v):  # plain figures only (a stage may log more)
        return not k.startswith("_") and k != "seconds" and (
            isinstance(v, (int, float)) or (isinstance(v, str) and len(v) <= 40))

    stages = [{"stage": k, "seconds": float(v.get("seconds", 0.0)),
               "counts": {ck: cv for ck, cv in v.items() if _shown(ck, cv)}}
              for k, v in (manifest.get("stages") or {}).items() if isinstance(v, dict)]

    cfg = manifest.get("config") or {}
    window = window_days(manifest)
    earlier = earlier_manifests(output_root, night, window)
    history = [night_figures(m) for m in earlier]
    tonight = night_figures(manifest)
    tonight.update({k: counts[k] for k in ("read", "accepted", "rejected", "clusters", "duplicates",
                                           "duplicate_rate", "reject_rate")})
    tonight["largest_cluster"] = counts["largest_cluster"]
    tonight["night"] = night

    data = {
        "night": night,
        "status": manifest.get("status", "ok"),
        "run_checks": manifest.get("checks") or [],
        "started_at": manifest.get("started_at"),
        "seconds_total": manifest.get("seconds_total"),
        "counts": counts,
        "manifest_counts": mc,
        "manifest_mismatch": mismatch,
        "size_distribution": sizes,
        "largest_clusters": largest,
        "agencies": [{"agency": d["agency"], "stories": d["stories"], "clusters": d["clusters"],
                      "outlets": dict(sorted(d["outlets"].items(), key=lambda kv: (-kv[1], kv[0])))}
                     for d in agency_rows],
        "languages": languages,
        "stories_by_outlet": dict(sorted(by_outlet.items(), key=lambda kv: (-kv[1], kv[0]))),
        "chrome_by_outlet": chrome,
        "chrome_top_lines": top_lines,
        "reject_reasons": reject_rows,
        "stages": stages,
        "lsh": manifest.get("lsh") or {},
        "dedup_settings": cfg.get("dedup") or {},
        "inputs": manifest.get("inputs") or [],
        "versions": manifest.get("versions") or {},
        "window_days": window,
        "history": history,
        "tonight": tonight,
        "text_loss": manifest.get("text_loss"),
        "chrome_jumps": chrome_jumps(output_root, [m["run_date"] for m in earlier], chrome),
    }
    data["checks"] = checks(data)
    data["health"] = health(data["checks"])
    return data


# An outlet's chrome lines removed per story jump when tonight's figure is over this many times its
# median of earlier nights (and at least JUMP_MIN_LINES more); only outlets with JUMP_MIN_STORIES
# stories tonight and on JUMP_MIN_NIGHTS earlier nights are compared.
JUMP_FACTOR = 2.0
JUMP_MIN_LINES = 1.0
JUMP_MIN_STORIES = 20
JUMP_MIN_NIGHTS = 3


def chrome_jumps(output_root: Path, earlier_nights: list[str], chrome: list[dict]) -> list[dict]:
    """Outlets whose chrome lines removed per story tonight jumped against their earlier nights:
    learned chrome may be eating story text (a wire paragraph the outlet ran several times).
    ``chrome``: tonight's rows of ``chrome_by_outlet`` (outlet, lines_in_stories, stories). Earlier
    nights' figures come from their stories tables (outlet, chrome_lines_removed). Returns
    [{outlet, per_story, median, nights}], biggest jump first."""
    now = {d["outlet"]: (d["lines_in_stories"] / d["stories"]) for d in chrome
           if d.get("stories", 0) >= JUMP_MIN_STORIES}
    if not now or len(earlier_nights) < JUMP_MIN_NIGHTS:
        return []
    past: dict[str, list[float]] = {}
    for n in earlier_nights:
        try:
            t = layout.read_partition(output_root, "stories", n, columns=["outlet", "chrome_lines_removed"])
        except (OSError, ValueError, pa.ArrowException):
            continue
        t = t.set_column(0, "outlet", pc.fill_null(t.column("outlet"), ""))
        g = t.group_by("outlet").aggregate([("chrome_lines_removed", "sum"), ("chrome_lines_removed", "count")])
        for o, lines, k in zip(*[c.to_pylist() for c in g.columns]):
            if o in now and k >= JUMP_MIN_STORIES:
                past.setdefault(o, []).append((lines or 0) / k)
    out = []
    for o, per in now.items():
        xs = past.get(o, [])
        m = _median(xs)
        if len(xs) >= JUMP_MIN_NIGHTS and per > JUMP_FACTOR * m and per - m >= JUMP_MIN_LINES:
            out.append({"outlet": o, "per_story": round(per, 2), "median": round(m, 2), "nights": len(xs)})
    return sorted(out, key=lambda d: (-(d["per_story"] - d["median"]), d["outlet"]))


def _median(xs: list[float]) -> float | None:
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def checks(data: dict) -> list[dict]:
    """What looks off tonight: level 'bad' or 'warn', with a sentence each. Empty: looks normal."""
    out = []
    t, h, c = data["tonight"], data["history"], data["counts"]

    def add(level, key, text):
        out.append({"level": level, "key": key, "text": text})

    if data["status"] != "ok":
        add("bad", "status", f"run status is {data['status']!r}")
    if data["manifest_mismatch"]:
        add("bad", "accounting", "the manifest's counts differ from the tables for "
            + ", ".join(data["manifest_mismatch"]))
    if c["read"] == 0:
        add("bad", "empty", "no records were read")
    # What the run's feed checks let through (input.allow_truncated, input.low_volume: warn, ...).
    for x in data.get("run_checks") or []:
        if isinstance(x, dict) and x.get("level") in ("warn", "bad"):
            add(x["level"], str(x.get("key", "run")), str(x.get("text", "")))
    if t.get("big_buckets"):
        add("warn", "big_buckets", f"{t['big_buckets']} LSH buckets over dedup.max_bucket: chrome may have slipped "
            "through cleaning")
    # Records an earlier night wrote, delivered again, are the feed's habit, not bad input (as for
    # input.max_reject_ratio): the checks rate the rest.
    if c["new_reject_rate"] > 0.2:
        add("warn", "reject_rate", f"{c['new_reject_rate']:.0%} of records were rejected"
            + (f" (not counting {c['redelivered']:,} that earlier nights wrote)" if c["redelivered"] else ""))
    tl = data.get("text_loss") or {}
    if tl.get("removed_lines_kept_elsewhere"):
        add("warn", "text_loss", f"{tl['removed_lines_kept_elsewhere']:,} lines removed as chrome were kept as story "
            f"text by another outlet's copy of the same cluster (text-loss {tl['text_loss']:.2%}): wire text may have "
            f"been learned as chrome. Stories that lost such a line: {', '.join(tl.get('examples') or [])} "
            "(dedup explain says which rule removed each line)")
    emptied = sum(x["count"] for x in data["reject_reasons"] if x["reason"] == reason_key(EMPTIED))
    if emptied:
        add("warn", "emptied", f"{emptied:,} stories were rejected for having no story text left after cleaning: "
            "if they are copies of other stories, chrome removal took their text (see the rejects table)")
    for j in data.get("chrome_jumps") or []:
        add("warn", "chrome_jump", f"{j['outlet'] or '(no outlet)'}: {j['per_story']:.1f} chrome lines removed per "
            f"story against a median of {j['median']:.1f} over {j['nights']} earlier nights: learned chrome may be "
            "removing story text")
    if len(h) >= 3:
        def med(k):
            return _median([x.get(k) for x in h])

        m = med("accepted")
        if m and not (0.5 * m <= c["accepted"] <= 2 * m):
            add("warn", "accepted", f"{c['accepted']:,} stories against a median of {m:,.0f} over the last {len(h)} nights")
        m = med("duplicate_rate")
        if m is not None and abs(c["duplicate_rate"] - m) > 0.10:
            add("warn", "duplicate_rate", f"duplicate rate {c['duplicate_rate']:.1%} against a median of {m:.1%}")
        m = _median([x.get("new_reject_rate", x.get("reject_rate")) for x in h])
        if m is not None and c["new_reject_rate"] - m > 0.05:
            add("warn", "reject_rate_drift", f"reject rate {c['new_reject_rate']:.1%} against a median of {m:.1%}")
        m = med("largest_cluster")
        if m and c["largest_cluster"] > max(3 * m, 20):
            add("warn", "largest_cluster", f"largest cluster has {c['largest_cluster']} stories against a median of "
                f"{m:.0f}: unrelated stories may be merging")
        m = med("chrome_lines_per_story")
        if m and t["chrome_lines_per_story"] < 0.5 * m:
            add("warn", "chrome", f"{t['chrome_lines_per_story']:.1f} chrome lines removed per story against a median "
                f"of {m:.1f}: an outlet may have changed its page layout")
        m = med("seconds_total")
        if m and (data["seconds_total"] or 0) > 2 * m and (data["seconds_total"] or 0) > 60:
            add("warn", "seconds_total", f"the run took {data['seconds_total']:.0f} s against a median of {m:.0f} s")
    return out


# --------------------------------------------------------------------------------------------
# HTML: the page is templates/report.html.j2 (charts in templates/charts.html.j2, styles in
# templates/report.css); here only the figures are put into the shape it draws.
# --------------------------------------------------------------------------------------------

def _n(v) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def _count(v, one: str, many: str) -> str:
    """``_n(v)`` and the noun for that many: ``1 story``, ``2 stories``."""
    return f"{_n(v)} {one if v == 1 else many}"


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def _f1(v) -> str:
    return f"{v:.1f}"


def _compact(v) -> str:
    """A count in at most 5 characters for a sparkline's scale: 9,999, 12.3k, 345k, 1.2M."""
    v = float(v)
    if abs(v) < 10_000:
        return _n(v)
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            x = v / div
            return f"{x:.1f}{unit}" if abs(x) < 100 else f"{x:.0f}{unit}"
    return _n(v)  # pragma: no cover - unreachable


def _data_attrs(attrs: dict) -> Markup:
    """``{"size_bucket": "2-3"}`` -> `` data-size-bucket="2-3"`` (values escaped; None left out)."""
    return Markup("").join(Markup(' data-{}="{}"').format(k.replace("_", "-"), v)
                           for k, v in attrs.items() if v is not None)


def _short(s: str, n: int) -> str:
    s = s or ""
    return s if len(s) <= n else s[: n - 1] + "…"


def _span(first: str | None, last: str | None) -> str:
    """'14:45–16:50' within one day, '11-26 09:55 – 11-28 16:10' across days (ISO strings in UTC)."""
    if not first or not last:
        return "–"
    if first[:10] == last[:10]:
        return f"{first[11:16]}–{last[11:16]}"
    return f"{first[5:10]} {first[11:16]} – {last[5:10]} {last[11:16]}"


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    """The Jinja environment of the report templates (package data), escaping every value."""
    env = Environment(loader=PackageLoader("dedup.tools", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    env.filters.update(n=_n, count=_count, pct=_pct, f1=_f1, data=_data_attrs, short=_short, span=_span,
                       basename=lambda p: Path(p or "").name)
    # The JSON block keeps the data's key order; tojson escapes <, >, & and ' so no text can end it.
    env.policies["json.dumps_kwargs"] = {"default": str, "ensure_ascii": False}
    env.globals.update(palette=PALETTE, nbsp=Markup("&nbsp;"))
    return env


def _css() -> Markup:
    """report.css, inlined in the page (it is package data, never user text)."""
    env = _environment()
    return Markup(env.loader.get_source(env, "report.css")[0])


def health(checks_: list[dict]) -> str:
    """The night's status as its checks say: 'bad' if any check is bad, else 'warn' if any fired, else 'ok'."""
    if any(x["level"] == "bad" for x in checks_):
        return "bad"
    return "warn" if checks_ else "ok"


def _view(data: dict) -> dict:
    """What the template needs beyond ``data``: KPI cards, chart rows and formatted labels."""
    c = data["counts"]
    hist = data["history"]
    med = {k: _median([h.get(k) for h in hist]) for k in ("read", "accepted", "rejected", "clusters", "duplicates",
                                                         "duplicate_rate", "reject_rate", "largest_cluster",
                                                         "html_bodies", "bad_dates")}

    def kpi(metric, label, value, shown, sub=""):
        m = med.get(metric)
        if m is not None and hist:
            delta = f"median of last {len(hist)}: {_pct(m) if metric.endswith('_rate') else _n(m)}"
            sub = f"{sub} · {delta}" if sub else delta
        return {"metric": metric, "label": label, "value": value, "shown": shown, "sub": sub}

    kpis = [
        kpi("read", "Records read", c["read"], _n(c["read"]), f"{len(data['inputs'])} input file(s)"),
        kpi("accepted", "Stories", c["accepted"], _n(c["accepted"]), f"from {c['outlets']} outlets"),
        kpi("clusters", "Clusters", c["clusters"], _n(c["clusters"]),
            f"{_n(c['new_clusters'])} new, {_n(c['earlier_clusters_joined'])} from earlier nights"
            if c["earlier_clusters_joined"] else f"{_n(c['clusters_with_copies'])} with copies"),
        kpi("duplicates", "Duplicates", c["duplicates"], _n(c["duplicates"]), "stories that are copies"),
        kpi("duplicate_rate", "Duplicate rate", round(c["duplicate_rate"], 6), _pct(c["duplicate_rate"]),
            "duplicates / stories"),
        kpi("rejected", "Rejected", c["rejected"], _n(c["rejected"]), f"{_pct(c['reject_rate'])} of records"),
        kpi("largest_cluster", "Largest cluster", c["largest_cluster"], _n(c["largest_cluster"]), "stories"),
        kpi("html_bodies", "HTML bodies", c["html_bodies"], _n(c["html_bodies"]),
            f"{_n(c['bad_dates'])} unreadable dates, {_n(c['reencoded'])} re-encoded"),
    ]

    def fig(v):
        return _n(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    stage_rows = [{"label": st["stage"], "value": st["seconds"], "attrs": {"stage": st["stage"], "seconds": st["seconds"]},
                   "title": ", ".join(f"{k}={v}" for k, v in st["counts"].items()),
                   "shown": f"{st['seconds']:.2f} s", "text": f"{st['seconds']:.2f} s"} for st in data["stages"]]
    stage_table = [{"stage": st["stage"], "seconds": st["seconds"],
                    "counts": ", ".join(f"{k} {fig(v)}" for k, v in st["counts"].items())} for st in data["stages"]]

    # Agencies: the outlets with the most stories get a colour each, the rest share one.
    by_outlet = data["stories_by_outlet"]
    top_outlets = list(by_outlet)[: len(PALETTE)]
    color = {o: PALETTE[i] for i, o in enumerate(top_outlets)}
    agencies = []
    for d in data["agencies"][:10]:
        segs = sorted(((o, n) for o, n in d["outlets"].items() if o in color), key=lambda on: top_outlets.index(on[0]))
        other = sum(n for o, n in d["outlets"].items() if o not in color)
        if other:
            segs.append(("other outlets", other))
        agencies.append({"agency": d["agency"], "stories": d["stories"], "clusters": d["clusters"],
                         "segments": [{"outlet": o, "stories": n, "color": color.get(o, OTHER_COLOR)} for o, n in segs]})
    legend = [{"outlet": o, "color": color[o]} for o in top_outlets]
    if len(by_outlet) > len(top_outlets):
        legend.append({"outlet": "other outlets", "color": OTHER_COLOR})

    chrome_all = data["chrome_by_outlet"]
    per_story = {d["outlet"] or "(no outlet)": d["lines"] / d["stories"] for d in chrome_all if d["stories"]}
    chrome_rows = []
    for d in chrome_all[:15]:
        label = d["outlet"] or "(no outlet)"
        chrome_rows.append({"label": label, "value": d["lines"],
                            "attrs": {"chrome_outlet": d["outlet"], "lines": d["lines"], "stories": d["stories"]},
                            "title": f"{d['outlet']}: {d['stories']} stories", "shown": f"{d['lines']:,}",
                            "text": f"{d['lines']:,} · {per_story.get(label, 0):.1f}/story"})
    top_lines = [{"outlet": d["outlet"], "lines": data["chrome_top_lines"][d["outlet"]]}
                 for d in chrome_all[:15] if data["chrome_top_lines"].get(d["outlet"])]

    # Drift: a sparkline per figure over the window's nights and tonight, with its scale.
    nights = hist + [data["tonight"]]
    sparks = []
    for key, label, f in SPARKS:
        values = [v if v is not None and not (isinstance(v, float) and math.isnan(v)) else 0
                  for v in (x.get(key) for x in nights)]
        lo, hi = min(values), max(values)
        scale = _compact if f is _n else f
        sparks.append({"key": key, "label": label, "value_text": f(values[-1] or 0), "values": values,
                       "min": lo, "max": hi, "min_text": scale(lo), "max_text": scale(hi)})

    d = data["dedup_settings"]
    settings = ", ".join(f"{k} {d[k]}" for k in ("threshold", "containment_threshold", "candidate_threshold",
                                                  "short_words", "num_perm", "shingle_size") if k in d)
    return {
        "data": data, "kpis": kpis, "stage_rows": stage_rows, "stage_table": stage_table, "agencies": agencies,
        "legend": legend, "chrome_rows": chrome_rows, "more_outlets": len(chrome_all) - len(chrome_rows),
        "top_lines": top_lines, "sparks": sparks, "nights": nights, "settings": settings,
        "versions": ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "css": _css(),
    }


# The drift sparklines: (figure, label, how its value and scale are written).
SPARKS = [("accepted", "Stories", _n), ("duplicate_rate", "Duplicate rate", _pct), ("reject_rate", "Reject rate", _pct),
          ("clusters", "Clusters", _n), ("largest_cluster", "Largest cluster", _n),
          ("chrome_lines_per_story", "Chrome lines / story", _f1), ("bad_dates", "Unreadable dates", _n),
          ("seconds_total", "Run seconds", _f1)]


def render(data: dict) -> str:
    """The report page (HTML text) of the figures ``collect`` returned."""
    return _environment().get_template("report.html.j2").render(**_view(data))


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

def build_report(output_root: Path, night: str, manifest: dict, stories: Path, clusters: Path,
                 rejects: Path) -> str:
    """The complete report page of one night (HTML text).

    ``stories`` etc. are that night's partition folders (in staging or under output_root);
    earlier nights' manifests are read from ``output_root/runs`` for the drift section.
    """
    data = collect(Path(output_root), night, manifest, Path(stories), Path(clusters), Path(rejects))
    return render(data)


def write_report(output_root: Path, night: str, manifest: dict, stories: Path, clusters: Path,
                 rejects: Path, dest: Path) -> Path:
    """Build the report and write it to ``dest`` (written aside and renamed, so never half written)."""
    text = build_report(output_root, night, manifest, stories, clusters, rejects)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dest)
    return dest


def report_for_night(output_root: Path, night: str | None = None) -> Path:
    """(Re)build runs/run_date=NIGHT/report.html of a night already written (default: the latest)."""
    output_root = Path(output_root)
    nights = [n for n in layout.list_nights(output_root, "runs") if layout.manifest_path(output_root, n).is_file()]
    if night is None:
        if not nights:
            raise NotFound(f"no night with a manifest under {output_root}/runs")
        night = nights[-1]
    elif night not in nights:
        raise NotFound(f"no night {night} under {output_root}/runs (nights: {', '.join(nights) or 'none'})")
    folders = [layout.partition_dir(output_root, t, night) for t in layout.PARQUET_TABLES]
    for t, f in zip(layout.PARQUET_TABLES, folders):
        if not layout.part_files(f) and not layout.is_delta(f.parent):  # Delta: no file for a night without rows
            raise NotFound(f"night {night} has no {t} table under {output_root}")
    manifest = json.loads(layout.manifest_path(output_root, night).read_text(encoding="utf-8"))
    return write_report(output_root, night, manifest, *folders, dest=layout.report_path(output_root, night))


def _canonical_bodies(output_root: Path, night: str, stories: Path, ids: list[str]) -> dict[str, str]:
    """``body_clean`` of the given stories, from tonight's stories folder, else from the latest
    earlier night under output_root holding them (a cluster begun on an earlier night)."""
    wanted = {i for i in ids if i}
    out: dict[str, str] = {}
    folders = [stories] + [layout.partition_dir(output_root, "stories", n)
                           for n in reversed(layout.list_nights(output_root)) if n < night]
    for folder in folders:
        if not wanted:
            break
        for f in layout.part_files(folder):
            # Row group by row group, bodies only where an id matched: a night's body_clean can be
            # gigabytes, and at most ten canonicals are wanted.
            pf = layout.parquet_file(f)
            for g in range(pf.num_row_groups):
                ids = pf.read_row_group(g, columns=["story_id"]).column("story_id")
                hit = pc.is_in(ids, value_set=pa.array(sorted(wanted), ids.type))
                if not pc.any(hit).as_py():
                    continue
                rows = pf.read_row_group(g, columns=["story_id", "body_clean"]).filter(hit)
                for sid, body in zip(rows.column("story_id").to_pylist(), rows.column("body_clean").to_pylist()):
                    out[sid] = body
                    wanted.discard(sid)
                if not wanted:
                    return out
    return out


def _read(folder: Path, columns: list[str]):
    """A partition folder's part files as one Arrow table (a Delta table's night without rows: empty)."""
    files = layout.part_files(folder)
    if not files and layout.is_delta(Path(folder).parent):
        return layout.empty_night(Path(folder).parent.name, columns)
    return layout.read_files(files, columns=columns)
