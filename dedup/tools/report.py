"""The run report: one self-contained HTML page beside each night's manifest.

``runs/run_date=YYYY-MM-DD/report.html`` answers the operator's morning question, "did last night
look normal?": the night's counts and duplicate rate, the cluster-size distribution, the largest
clusters, agencies and the outlets that carry them, chrome removed per outlet, rejects by reason,
stage timings, and the same figures for the nights before it (up to ``DRIFT_NIGHTS``, from their
manifests) so that drift shows. A short list of checks at the top says what, if anything, is off.

The page is plain HTML with inline CSS and inline SVG charts drawn here: no script, no web font,
no CDN, so it reads the same offline, in a mail attachment or from a file share.

Every figure shown is also on its element as a ``data-*`` attribute (``data-metric="accepted"
data-value="54"``, ``data-size-bucket``, ``data-reject-reason``, ...), and the whole set is in a
``<script type="application/json" id="report-data">`` block, so tests and tools can read the
numbers back without scraping text. Counts of stories, clusters and rejects come from the night's
Parquet tables; what only the run knows (records read, HTML bodies, dates, stage seconds) comes
from its manifest.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path

import pyarrow.compute as pc

from dedup import layout
from dedup.errors import NotFound

DRIFT_NIGHTS = 14
SIZE_BUCKETS = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None)]
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
OTHER_COLOR = "#bab0ac"
NO_AGENCY = "(no agency credit)"


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def reason_key(reason: str) -> str:
    """A reject reason without its details, as the manifest counts it ("invalid JSON: ..." -> "invalid JSON")."""
    return (reason or "").split(":")[0]


def bucket_label(lo: int, hi: int | None) -> str:
    return f"{lo}" if hi == lo else (f"{lo}–{hi}" if hi else f"{lo}+")


def _iso(v) -> str | None:
    return v.isoformat() if v is not None and hasattr(v, "isoformat") else None


def earlier_manifests(output_root: Path, night: str, limit: int = DRIFT_NIGHTS) -> list[dict]:
    """Manifests of the nights before ``night`` under output_root/runs, oldest first, at most ``limit``."""
    out = []
    for n in layout.list_nights(output_root, "runs"):
        p = layout.manifest_path(output_root, n)
        if n >= night or not p.is_file():
            continue
        try:
            m = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        m.setdefault("run_date", n)
        out.append(m)
    return out[-limit:] if limit else []


def night_figures(manifest: dict) -> dict:
    """The drift figures of one night, from its manifest alone."""
    c = manifest.get("counts") or {}
    st = manifest.get("stages") or {}
    acc, rej, read = c.get("accepted", 0), c.get("rejected", 0), c.get("read", 0)
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
    # Stories can be a million rows: aggregate them in Arrow, never row by row in Python.
    st = _read(stories, columns=["outlet", "cluster_id", "is_canonical", "agency",
                                              "chrome_lines_removed", "published_at"])
    st = st.set_column(st.schema.get_field_index("outlet"), "outlet", pc.fill_null(st.column("outlet"), ""))
    st = st.set_column(st.schema.get_field_index("agency"), "agency", pc.fill_null(st.column("agency"), NO_AGENCY))
    c = _read(clusters, columns=["cluster_id", "canonical_story_id", "headline", "size", "outlets",
                                              "first_published_at", "last_published_at", "agency"]).to_pylist()
    r = _read(rejects, columns=["source", "record", "story_id", "reason"]).to_pylist()
    mc = manifest.get("counts") or {}

    stories, clusters, rejected = st.num_rows, len(c), len(r)
    read = stories + rejected
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
        "clusters_with_copies": sum(1 for x in c if x["size"] > 1),
        "singletons": sum(1 for x in c if x["size"] == 1),
        "largest_cluster": max((x["size"] for x in c), default=0),
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
        inb = [x["size"] for x in c if x["size"] >= lo and (hi is None or x["size"] <= hi)]
        sizes.append({"bucket": bucket_label(lo, hi), "min": lo, "max": hi, "clusters": len(inb), "stories": sum(inb)})
    while len(sizes) > 5 and sizes[-1]["clusters"] == 0:
        sizes.pop()

    largest = [
        {"cluster_id": x["cluster_id"], "canonical_story_id": x["canonical_story_id"], "headline": x["headline"],
         "size": x["size"], "outlets": len(x["outlets"] or []), "agency": x["agency"],
         "first_published_at": _iso(x["first_published_at"]), "last_published_at": _iso(x["last_published_at"])}
        for x in sorted(c, key=lambda x: (-x["size"], x["cluster_id"]))[:10] if x["size"] > 1
    ]

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

    # Chrome removed per outlet: the manifest's count (it includes stories later rejected as empty),
    # with the stories table's count and the outlet's stories beside it.
    man_chrome = manifest.get("chrome_lines_removed_by_outlet")
    source = man_chrome if man_chrome is not None else {k: v for k, v in chrome_table.items() if v}
    chrome = sorted(
        ({"outlet": o, "lines": int(n), "lines_in_stories": chrome_table.get(o, 0), "stories": by_outlet.get(o or "(no outlet)", 0)}
         for o, n in source.items()), key=lambda d: (-d["lines"], d["outlet"]))

    top_lines = {o: [{"line": str(x.get("line", "")), "stories": int(x.get("stories", 0))} for x in v[:3]]
                 for o, v in (manifest.get("chrome_top_lines_by_outlet") or {}).items() if isinstance(v, list)}

    reasons: dict[str, dict] = {}
    for x in r:
        k = reason_key(x["reason"])
        d = reasons.setdefault(k, {"reason": k, "count": 0, "example": x["reason"],
                                   "where": f"{Path(x['source'] or '').name}:{x['record']}"})
        d["count"] += 1
    reject_rows = sorted(reasons.values(), key=lambda d: (-d["count"], d["reason"]))

    def _shown(k, v):  # plain figures only (a stage may log more)
        return not k.startswith("_") and k != "seconds" and (
            isinstance(v, (int, float)) or (isinstance(v, str) and len(v) <= 40))

    stages = [{"stage": k, "seconds": float(v.get("seconds", 0.0)),
               "counts": {ck: cv for ck, cv in v.items() if _shown(ck, cv)}}
              for k, v in (manifest.get("stages") or {}).items() if isinstance(v, dict)]

    cfg = manifest.get("config") or {}
    # The state window (state.retention_days), at most DRIFT_NIGHTS nights.
    window = min(int((cfg.get("state") or {}).get("retention_days") or DRIFT_NIGHTS), DRIFT_NIGHTS)
    history = [night_figures(m) for m in earlier_manifests(output_root, night, window)]
    tonight = night_figures(manifest)
    tonight.update({k: counts[k] for k in ("read", "accepted", "rejected", "clusters", "duplicates",
                                           "duplicate_rate", "reject_rate")})
    tonight["largest_cluster"] = counts["largest_cluster"]
    tonight["night"] = night

    data = {
        "night": night,
        "status": manifest.get("status", "ok"),
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
        "stories_by_outlet": dict(sorted(by_outlet.items(), key=lambda kv: (-kv[1], kv[0]))),
        "chrome_by_outlet": chrome,
        "chrome_top_lines": top_lines,
        "reject_reasons": reject_rows,
        "stages": stages,
        "lsh": manifest.get("lsh") or {},
        "dedup_settings": cfg.get("dedup") or {},
        "inputs": manifest.get("inputs") or [],
        "versions": manifest.get("versions") or {},
        "history": history,
        "tonight": tonight,
    }
    data["checks"] = checks(data)
    return data


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
    if t.get("big_buckets"):
        add("warn", "big_buckets", f"{t['big_buckets']} LSH buckets over dedup.max_bucket: chrome may have slipped "
            "through cleaning")
    if c["reject_rate"] > 0.2:
        add("warn", "reject_rate", f"{c['reject_rate']:.0%} of records were rejected")
    if len(h) >= 3:
        def med(k):
            return _median([x.get(k) for x in h])

        m = med("accepted")
        if m and not (0.5 * m <= c["accepted"] <= 2 * m):
            add("warn", "accepted", f"{c['accepted']:,} stories against a median of {m:,.0f} over the last {len(h)} nights")
        m = med("duplicate_rate")
        if m is not None and abs(c["duplicate_rate"] - m) > 0.10:
            add("warn", "duplicate_rate", f"duplicate rate {c['duplicate_rate']:.1%} against a median of {m:.1%}")
        m = med("reject_rate")
        if m is not None and c["reject_rate"] - m > 0.05:
            add("warn", "reject_rate_drift", f"reject rate {c['reject_rate']:.1%} against a median of {m:.1%}")
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
# HTML
# --------------------------------------------------------------------------------------------

def _e(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _n(v) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def _attrs(**kw) -> str:
    return "".join(f' data-{k.replace("_", "-")}="{_e(v)}"' for k, v in kw.items() if v is not None)


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


def _hbars(rows: list[dict], *, width: int = 520, label_w: int = 170, bar_h: int = 20, gap: int = 6,
           fmt=_n, color: str = PALETTE[0], value_w: int = 64, label_fmt=None) -> str:
    """A horizontal bar chart. rows: {label, value, attrs: dict, title?}."""
    if not rows:
        return '<p class="empty">Nothing to show.</p>'
    vmax = max(r["value"] for r in rows) or 1
    plot_w = width - label_w - value_w
    h = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg class="chart" viewBox="0 0 {width} {h}" width="100%" role="img">']
    for i, r in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(plot_w * r["value"] / vmax, 1 if r["value"] else 0)
        label = _short(r["label"], int(label_w / 7))
        parts.append(
            f'<g{_attrs(**r.get("attrs", {}))}><title>{_e(r.get("title", r["label"]))}: {_e(fmt(r["value"]))}</title>'
            f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" class="lbl">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{r.get("color", color)}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}" class="val">'
            f'{_e(label_fmt(r) if label_fmt else fmt(r["value"]))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _size_chart(sizes: list[dict], width: int = 520, height: int = 210) -> str:
    n = len(sizes)
    vmax = max((b["clusters"] for b in sizes), default=0) or 1
    top, bottom, left = 22, 42, 8
    plot_h = height - top - bottom
    slot = (width - 2 * left) / max(n, 1)
    bw = slot * 0.66
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" class="axis"/>']
    for i, b in enumerate(sizes):
        x = left + i * slot + (slot - bw) / 2
        hgt = plot_h * b["clusters"] / vmax
        y = top + plot_h - hgt
        fill = PALETTE[0] if b["min"] > 1 else "#a0b4cc"
        parts.append(
            f'<g{_attrs(size_bucket=b["bucket"], clusters=b["clusters"], stories=b["stories"])}>'
            f'<title>size {_e(b["bucket"])}: {b["clusters"]:,} clusters, {b["stories"]:,} stories</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{hgt:.1f}" rx="2" fill="{fill}"/>'
            f'<text x="{x + bw / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" class="val">{b["clusters"]:,}</text>'
            f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="lbl">{_e(b["bucket"])}</text>'
            f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 31}" text-anchor="middle" class="sub">{b["stories"]:,}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _agency_chart(agencies: list[dict], by_outlet: dict, width: int = 1060) -> tuple[str, str]:
    """Stacked bars: stories per agency, split by the outlet that ran them. Returns (svg, legend)."""
    if not agencies:
        return '<p class="empty">No stories.</p>', ""
    top_outlets = [o for o in by_outlet][: len(PALETTE)]
    color = {o: PALETTE[i] for i, o in enumerate(top_outlets)}
    rows = agencies[:10]
    label_w, value_w, bar_h, gap = 150, 200, 22, 8
    plot_w = width - label_w - value_w
    vmax = max(d["stories"] for d in rows) or 1
    h = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg class="chart" viewBox="0 0 {width} {h}" width="100%" role="img">']
    for i, d in enumerate(rows):
        y = gap + i * (bar_h + gap)
        parts.append(f'<g{_attrs(agency_total=d["agency"], stories=d["stories"], clusters=d["clusters"])}>'
                     f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" class="lbl">'
                     f'{_e(_short(d["agency"], 20))}</text>')
        x = float(label_w)
        segs = [(o, n) for o, n in d["outlets"].items() if o in color]
        other = sum(n for o, n in d["outlets"].items() if o not in color)
        segs.sort(key=lambda on: top_outlets.index(on[0]))
        if other:
            segs.append(("other outlets", other))
        for o, n in segs:
            w = plot_w * n / vmax
            parts.append(f'<rect{_attrs(agency=d["agency"], outlet=o, stories=n)} x="{x:.1f}" y="{y}" width="{w:.1f}" '
                         f'height="{bar_h}" fill="{color.get(o, OTHER_COLOR)}" stroke="#fff" stroke-width="1">'
                         f'<title>{_e(d["agency"])} in {_e(o)}: {n:,} stories</title></rect>')
            if w > 22:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar_h * 0.7:.1f}" text-anchor="middle" '
                             f'class="seg">{n:,}</text>')
            x += w
        parts.append(f'<text x="{x + 8:.1f}" y="{y + bar_h * 0.7:.1f}" class="val">{d["stories"]:,} stories · '
                     f'{d["clusters"]:,} clusters</text></g>')
    parts.append("</svg>")
    legend = "".join(f'<span class="key"><i style="background:{color[o]}"></i>{_e(o)}</span>' for o in top_outlets)
    if len(by_outlet) > len(top_outlets):
        legend += f'<span class="key"><i style="background:{OTHER_COLOR}"></i>other outlets</span>'
    return "".join(parts), legend


def _spark(values: list[float], *, width: int = 200, height: int = 46, fmt=_n) -> str:
    """A small line of one figure over the nights; the last point (tonight) stands out."""
    vals = [v if v is not None and not (isinstance(v, float) and math.isnan(v)) else 0 for v in values]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1
    pad = 6
    n = len(vals)

    def xy(i, v):
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        y = height - pad - (height - 2 * pad) * ((v - lo) / span if hi > lo else 0.5)
        return x, y

    pts = [xy(i, v) for i, v in enumerate(vals)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    lx, ly = pts[-1]
    out = [f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    if n > 1:
        out.append(f'<polyline points="{path}" fill="none" stroke="#7b8794" stroke-width="1.5"/>')
        for x, y in pts[:-1]:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#7b8794"/>')
    out.append(f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="4" fill="{PALETTE[1]}"/></svg>')
    return "".join(out)


CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--ok:#2f855a;--warn:#b7791f;--bad:#c53030}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",sans-serif}
header{background:#243b53;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header .meta{color:#bcccdc;font-size:13px;margin-top:4px}
main{max-width:1180px;margin:0 auto;padding:20px 32px 40px}
h2{font-size:16px;margin:0 0 10px;font-weight:600}
h2 small{font-weight:400;color:var(--muted);font-size:12px;margin-left:6px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:0 0 18px}
.row{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px}
.row>section{margin:0 0 18px}
.health{display:flex;gap:14px;align-items:flex-start}
.health .badge{font-weight:600;border-radius:6px;padding:6px 12px;white-space:nowrap;color:#fff}
.health.ok .badge{background:var(--ok)} .health.warn .badge{background:var(--warn)} .health.bad .badge{background:var(--bad)}
.health ul{margin:2px 0 0;padding-left:18px} .health p{margin:4px 0}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-bottom:18px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.kpi .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .v{font-size:26px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums}
.kpi .d{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px}
td.n,th.n{text-align:right;white-space:nowrap}
td.id{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;color:var(--muted)}
tr.tonight td{background:#fff8e6;font-weight:600}
.chart{display:block;font-size:12px}
.chart .lbl{fill:var(--ink)} .chart .val{fill:var(--muted)} .chart .sub{fill:#9aa5b1;font-size:11px}
.chart .seg{fill:#fff;font-size:11px;font-weight:600} .chart .axis{stroke:#cbd2d9}
.legend{margin:8px 0 0 150px;font-size:12px;color:var(--muted)}
.key{display:inline-block;margin-right:14px;white-space:nowrap}
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.note{color:var(--muted);font-size:12px;margin:8px 0 0}
.sparks{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin-bottom:12px}
.sparks>div{border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.sparks .k{font-size:12px;color:var(--muted)} .sparks .v{font-weight:600}
.empty{color:var(--muted)} .muted{color:var(--muted)}
h3{font-size:13px;margin:14px 0 4px;font-weight:600}
footer{color:var(--muted);font-size:12px}
table.compact td{font-size:12px;padding:3px 6px}
table.compact td:last-child{color:var(--muted);overflow-wrap:anywhere}
"""


def render(data: dict) -> str:
    c = data["counts"]
    hist = data["history"]
    checks_ = data["checks"]
    level = "bad" if any(x["level"] == "bad" for x in checks_) else "warn" if checks_ else "ok"
    med = {k: _median([h.get(k) for h in hist]) for k in ("read", "accepted", "rejected", "clusters", "duplicates",
                                                         "duplicate_rate", "reject_rate", "largest_cluster",
                                                         "html_bodies", "bad_dates")}

    def kpi(metric, label, value, shown, sub=""):
        m = med.get(metric)
        if m is not None and hist:
            if metric.endswith("_rate"):
                delta = f"median of last {len(hist)}: {_pct(m)}"
            else:
                delta = f"median of last {len(hist)}: {_n(m)}"
            sub = f"{sub} · {delta}" if sub else delta
        return (f'<div class="kpi"{_attrs(metric=metric, value=value)}><div class="k">{_e(label)}</div>'
                f'<div class="v">{_e(shown)}</div><div class="d">{_e(sub) or "&nbsp;"}</div></div>')

    kpis = "".join([
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
    ])

    if level == "ok":
        health = ('<section class="health ok"><span class="badge">Looks normal</span><div><p>No check fired: counts, '
                  'duplicate and reject rates, cluster sizes, chrome removal and run time are in line'
                  + (f' with the last {len(hist)} nights.' if len(hist) >= 3 else
                     f'; drift checks start once 3 earlier nights are written ({len(hist)} so far).')
                  + '</p></div></section>')
    else:
        items = "".join(f'<li{_attrs(check=x["key"], level=x["level"])}>{_e(x["text"])}</li>' for x in checks_)
        label = "Needs a look" if level == "warn" else "Something is wrong"
        health = (f'<section class="health {level}"><span class="badge">{label}</span><div>'
                  f'<ul>{items}</ul></div></section>')

    sizes = _size_chart(data["size_distribution"])
    size_note = (f" The {_n(c['earlier_clusters_joined'])} clusters from earlier nights that gained copies tonight "
                 "count their earlier members too." if c["earlier_clusters_joined"] else "")
    stage_rows = [{"label": st["stage"], "value": st["seconds"], "attrs": {"stage": st["stage"], "seconds": st["seconds"]},
                   "title": ", ".join(f"{k}={v}" for k, v in st["counts"].items())} for st in data["stages"]]
    stages = _hbars(stage_rows, label_w=110, fmt=lambda v: f"{v:.2f} s", color=PALETTE[4])
    stage_table = "".join(
        f'<tr><td>{_e(st["stage"])}</td><td class="n">{st["seconds"]:.3f}</td><td>'
        + _e(", ".join(f"{k} {_n(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v}"
                       for k, v in st["counts"].items())) + "</td></tr>" for st in data["stages"])

    largest = "".join(
        f'<tr{_attrs(cluster_id=x["cluster_id"], size=x["size"])}><td class="n">{x["size"]:,}</td>'
        f'<td>{_e(x["headline"])}</td><td>{_e(x["agency"] or "–")}</td><td class="n">{x["outlets"]}</td>'
        f'<td class="n">{_e(_span(x["first_published_at"], x["last_published_at"]))}</td>'
        f'<td class="id">{_e(x["cluster_id"])}</td></tr>' for x in data["largest_clusters"])
    largest = (f'<table><tr><th class="n">Size</th><th>Canonical headline</th><th>Agency</th><th class="n">Outlets</th>'
               f'<th class="n">Published (UTC)</th><th>Cluster</th></tr>{largest}</table>'
               if largest else '<p class="empty">No cluster has more than one story.</p>')

    agency_svg, legend = _agency_chart(data["agencies"], data["stories_by_outlet"])

    chrome_rows = [{"label": d["outlet"] or "(no outlet)", "value": d["lines"],
                    "attrs": {"chrome_outlet": d["outlet"], "lines": d["lines"], "stories": d["stories"]},
                    "title": f"{d['outlet']}: {d['stories']} stories"} for d in data["chrome_by_outlet"][:15]]
    per_story = {d["outlet"] or "(no outlet)": d["lines"] / d["stories"] for d in data["chrome_by_outlet"] if d["stories"]}
    chrome = _hbars(chrome_rows, color=PALETTE[2], value_w=120,
                    fmt=lambda v, _p=None: f"{v:,}", label_fmt=lambda r: f'{r["value"]:,} · {per_story.get(r["label"], 0):.1f}/story')
    more = len(data["chrome_by_outlet"]) - len(chrome_rows)
    per_story = f"and {more} more outlets; " if more > 0 else ""
    tops = "".join(
        f'<tr><td>{_e(d["outlet"])}</td><td>'
        + "<br>".join(f'<span class="muted">{x["stories"]:,}×</span> {_e(_short(x["line"], 50))}'
                      for x in data["chrome_top_lines"].get(d["outlet"], []))
        + "</td></tr>" for d in data["chrome_by_outlet"][:15] if data["chrome_top_lines"].get(d["outlet"]))
    tops = (f'<h3>Most removed lines<small class="muted"> (in how many stories)</small></h3>'
            f'<table class="compact">{tops}</table>' if tops else "")

    rej = "".join(
        f'<tr{_attrs(reject_reason=d["reason"], count=d["count"])}><td>{_e(d["reason"])}</td><td class="n">{d["count"]:,}</td>'
        f'<td class="id">{_e(d["where"])}</td></tr>' for d in data["reject_reasons"])
    rej = (f'<table><tr><th>Reason</th><th class="n">Records</th><th>First (file:record)</th></tr>{rej}</table>'
           if rej else '<p class="empty">No record was rejected.</p>')

    # Drift: sparklines and the table of nights.
    nights = hist + [data["tonight"]]
    spark_defs = [("accepted", "Stories", _n), ("duplicate_rate", "Duplicate rate", _pct),
                  ("reject_rate", "Reject rate", _pct), ("clusters", "Clusters", _n),
                  ("largest_cluster", "Largest cluster", _n), ("chrome_lines_per_story", "Chrome lines / story",
                                                               lambda v: f"{v:.1f}"),
                  ("bad_dates", "Unreadable dates", _n), ("seconds_total", "Run seconds", lambda v: f"{v:.1f}")]
    sparks = "".join(
        f'<div{_attrs(spark=k)}><div class="k">{_e(label)}</div><div class="v">{_e(f(nights[-1].get(k) or 0))}</div>'
        f'{_spark([x.get(k) for x in nights])}</div>' for k, label, f in spark_defs)
    drift_rows = "".join(
        f'<tr class="{"tonight" if i == len(nights) - 1 else ""}"'
        f'{_attrs(night=x["night"], read=x["read"], accepted=x["accepted"], rejected=x["rejected"], clusters=x["clusters"], duplicates=x["duplicates"], largest_cluster=x["largest_cluster"])}>'
        f'<td>{_e(x["night"])}</td><td class="n">{_n(x["read"])}</td><td class="n">{_n(x["accepted"])}</td>'
        f'<td class="n">{_n(x["clusters"])}</td><td class="n">{_pct(x["duplicate_rate"])}</td>'
        f'<td class="n">{_n(x["rejected"])}</td><td class="n">{_pct(x["reject_rate"])}</td>'
        f'<td class="n">{_n(x["largest_cluster"])}</td><td class="n">{x["chrome_lines_per_story"]:.1f}</td>'
        f'<td class="n">{_n(x["bad_dates"])}</td><td class="n">{(x["seconds_total"] or 0):.1f}</td></tr>'
        for i, x in enumerate(nights))
    drift_sub = (f"this night against the {len(hist)} night{'s' if len(hist) != 1 else ''} before it" if hist
                 else "no earlier night yet")
    drift_note = ("" if hist else
                  '<p class="note">No earlier night under this output folder yet: the lines fill in night by night.</p>')

    d = data["dedup_settings"]
    lsh = data["lsh"]
    settings = ", ".join(f"{k} {d[k]}" for k in ("threshold", "containment_threshold", "candidate_threshold",
                                                  "short_words", "num_perm", "shingle_size") if k in d)
    inputs = "; ".join(f'{_e(Path(i.get("path", "")).name)} ({_n(i.get("bytes", 0))} bytes, sha256 '
                       f'{_e((i.get("sha256") or "")[:12])})' for i in data["inputs"])
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # JSON inside <script>: no "<", ">" or "&" characters at all, so no text can close or confuse it.
    payload = (json.dumps(data, default=str, ensure_ascii=False)
               .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dedup · night {_e(data["night"])}</title><style>{CSS}</style></head>
<body data-night="{_e(data["night"])}" data-status="{_e(data["status"])}" data-health="{level}">
<header><h1>dedup · night {_e(data["night"])}</h1>
<div class="meta">status {_e(data["status"])} · run started {_e(data["started_at"] or "–")} · {(data["seconds_total"] or 0):.1f} s ·
report generated {generated}</div></header>
<main>
{health}
<div class="kpis">{kpis}</div>
<div class="row">
<section><h2>Cluster sizes<small>clusters of each size; below the axis, the stories in them</small></h2>{sizes}
<p class="note">{_n(c["singletons"])} stories stand alone; {_n(c["clusters_with_copies"])} clusters have copies.{size_note}</p></section>
<section><h2>Rejects by reason<small>{_n(c["rejected"])} records; full text in <code>rejects/</code></small></h2>{rej}</section>
</div>
<section><h2>Largest clusters<small>top {len(data["largest_clusters"])}; <code>dedup show CLUSTER</code> lists the members</small></h2>{largest}</section>
<section><h2>Agencies and the outlets that carry them<small>stories by wire credit found in the copy, split by outlet</small></h2>
{agency_svg}<div class="legend">{legend}</div></section>
<div class="row">
<section><h2>Chrome removed per outlet<small>lines of page furniture taken out</small></h2>{chrome}
<p class="note">{per_story}per story: lines removed / the outlet's stories tonight.</p>{tops}</section>
<section><h2>Stage timings<small>seconds</small></h2>{stages}
<table class="compact">{stage_table}</table></section>
</div>
<section><h2>Drift<small>{drift_sub}</small></h2>
<div class="sparks">{sparks}</div>{drift_note}
<table><tr><th>Night</th><th class="n">Read</th><th class="n">Stories</th><th class="n">Clusters</th><th class="n">Dup. rate</th>
<th class="n">Rejected</th><th class="n">Rej. rate</th><th class="n">Largest</th><th class="n">Chrome/story</th>
<th class="n">Bad dates</th><th class="n">Seconds</th></tr>{drift_rows}</table></section>
<footer><p>Settings: {_e(settings)}; LSH {_e(lsh.get("bands", "?"))} bands × {_e(lsh.get("rows", "?"))} rows.
Inputs: {inputs or "–"}.<br>Versions: {_e(versions)}.</p></footer>
</main>
<script type="application/json" id="report-data">{payload}</script>
</body></html>
"""


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
        if not layout.part_files(f):
            raise NotFound(f"night {night} has no {t} table under {output_root}")
    manifest = json.loads(layout.manifest_path(output_root, night).read_text(encoding="utf-8"))
    return write_report(output_root, night, manifest, *folders, dest=layout.report_path(output_root, night))


def _read(folder: Path, columns: list[str]):
    """A partition folder's part files as one Arrow table."""
    return layout.read_files(layout.part_files(folder), columns=columns)
