"""The run report: its figures equal the night's Parquet tables, it shows only earlier nights for
drift, it is self-contained, and it renders in headless Chromium."""
import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from dedup import load_config, run
from dedup.tools.report import DRIFT_NIGHTS, build_report, reason_key, report_for_night, write_report

from tests.conftest import DEMO, OTHER, ROOT, WIRE, write_jsonl

NIGHT = "2026-11-26"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """Two nights: the first 30 demo records on 2026-11-25, the whole demo batch on 2026-11-26
    (so the second night also joins clusters from the first)."""
    tmp = tmp_path_factory.mktemp("report")
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    first = tmp / "first.jsonl"
    first.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    root = tmp / "out"
    run(load_config(ROOT / "configs" / "demo.yaml", input=str(first), output=str(root), run_date="2026-11-25"))
    run(load_config(ROOT / "configs" / "demo.yaml", input=str(DEMO), output=str(root), run_date=NIGHT))
    report_for_night(root)  # the latest night
    return root


class _Data(HTMLParser):
    """Every element's data-* attributes (with its text for KPI values), and the JSON block."""

    def __init__(self):
        super().__init__()
        self.elements: list[dict] = []
        self.json = ""
        self._in_json = False
        self._kpi_value = None
        self._stack: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        data = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
        if data:
            data["_tag"] = tag
            self.elements.append(data)
        if tag == "script" and a.get("id") == "report-data":
            self._in_json = True
        if data.get("metric"):
            self._kpi_value = data
        if tag == "div" and a.get("class") == "v" and self._kpi_value is not None:
            self._kpi_value["_text"] = ""
            self._stack.append(self._kpi_value)
            self._kpi_value = None

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json = False
        if tag == "div" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._in_json:
            self.json += data
        if self._stack:
            self._stack[-1]["_text"] += data

    def having(self, key):
        return [e for e in self.elements if key in e]


def _parse(html_text: str) -> _Data:
    p = _Data()
    p.feed(html_text)
    return p


def _tables(root: Path, night: str):
    part = f"run_date={night}"
    s = pd.read_parquet(root / "stories" / part / "part-0.parquet")
    c = pd.read_parquet(root / "clusters" / part / "part-0.parquet")
    r = pd.read_parquet(root / "rejects" / part / "part-0.parquet")
    m = json.loads((root / "runs" / part / "manifest.json").read_text())
    return s, c, r, m


def test_report_figures_equal_the_tables(out):
    page = (out / "runs" / f"run_date={NIGHT}" / "report.html").read_text(encoding="utf-8")
    d = _parse(page)
    s, c, r, m = _tables(out, NIGHT)

    kpi = {e["metric"]: e for e in d.having("metric")}
    expect = {
        "read": len(s) + len(r),
        "accepted": len(s),
        "rejected": len(r),
        "clusters": len(c),
        "duplicates": int((~s.is_canonical).sum()),
        "largest_cluster": int(c["size"].max()),
        "html_bodies": m["counts"]["html_bodies"],
    }
    for k, v in expect.items():
        assert int(kpi[k]["value"]) == v, k
        assert kpi[k]["_text"].strip() == f"{v:,}", k  # what a person reads is the same number
    assert float(kpi["duplicate_rate"]["value"]) == pytest.approx((~s.is_canonical).mean(), abs=1e-6)
    assert kpi["duplicate_rate"]["_text"].strip() == f"{(~s.is_canonical).mean() * 100:.1f}%"
    # ... and agree with the manifest of the run
    for k in ("read", "accepted", "rejected", "clusters", "duplicates"):
        assert expect[k] == m["counts"][k], k
    # this night joined clusters of the night before, and the report says so
    assert expect["clusters"] > int(s.is_canonical.sum())

    # cluster-size distribution
    for e in d.having("size-bucket"):
        lo, _, hi = e["size-bucket"].replace("+", "–").partition("–")
        lo, hi = int(lo), (int(hi) if hi else (int(lo) if "–" not in e["size-bucket"] and "+" not in e["size-bucket"] else 10 ** 9))
        sel = c[(c["size"] >= lo) & (c["size"] <= hi)]
        assert int(e["clusters"]) == len(sel), e
        assert int(e["stories"]) == int(sel["size"].sum()), e
    assert sum(int(e["clusters"]) for e in d.having("size-bucket")) == len(c)

    # largest clusters, in order
    top = c.sort_values(["size", "cluster_id"], ascending=[False, True])
    top = top[top["size"] > 1].head(10)
    shown = [(e["cluster-id"], int(e["size"])) for e in d.having("cluster-id")]
    assert shown == list(zip(top.cluster_id, top["size"]))

    # agencies and the outlets that carry them
    agency = s.agency.fillna("(no agency credit)")
    for e in d.having("agency-total"):
        assert int(e["stories"]) == int((agency == e["agency-total"]).sum())
        assert int(e["clusters"]) == s[agency == e["agency-total"]].cluster_id.nunique()
    cross = pd.crosstab(agency, s.outlet)
    segs = [e for e in d.having("agency") if "outlet" in e]
    assert segs
    for e in segs:
        if e["outlet"] != "other outlets":
            assert int(e["stories"]) == int(cross.loc[e["agency"], e["outlet"]])
    assert sum(int(e["stories"]) for e in segs) == len(s)

    # stories and clusters per language
    language = s.language.fillna("(not detected)")
    langs = {e["language"]: (int(e["stories"]), int(e["clusters"])) for e in d.having("language")}
    assert langs == {g: (int((language == g).sum()), s[language == g].cluster_id.nunique()) for g in language.unique()}
    assert sum(n for n, _ in langs.values()) == len(s)

    # chrome removed per outlet
    by_outlet = s.groupby("outlet").chrome_lines_removed.sum()
    chrome = {e["chrome-outlet"]: int(e["lines"]) for e in d.having("chrome-outlet")}
    assert chrome == {o: int(n) for o, n in by_outlet.items() if n} == m["chrome_lines_removed_by_outlet"]
    for outlet, top in (m.get("chrome_top_lines_by_outlet") or {}).items():
        assert f'{top[0]["stories"]}×</span> {html.escape(top[0]["line"][:40])}' in page

    # rejects by reason
    reasons = r.reason.map(reason_key).value_counts().to_dict()
    shown = {e["reject-reason"]: int(e["count"]) for e in d.having("reject-reason")}
    assert shown == reasons == m["reject_reasons"]

    # stage timings
    assert {e["stage"]: float(e["seconds"]) for e in d.having("stage")} == {
        k: v["seconds"] for k, v in m["stages"].items()}

    # drift: the night before and tonight, each equal to its own tables
    rows = {e["night"]: e for e in d.having("night") if e["_tag"] == "tr"}
    assert list(rows) == ["2026-11-25", NIGHT]
    for night, e in rows.items():
        s2, c2, r2, _ = _tables(out, night)
        assert (int(e["accepted"]), int(e["rejected"]), int(e["clusters"]), int(e["duplicates"])) == (
            len(s2), len(r2), len(c2), int((~s2.is_canonical).sum()))

    # the embedded JSON carries the same counts
    data = json.loads(d.json)
    assert {k: data["counts"][k] for k in expect} == expect
    assert data["night"] == NIGHT


def test_report_is_self_contained_and_escapes_text(tmp_path):
    batch = write_jsonl(tmp_path / "b.jsonl", [
        {"id": "x1", "outlet": "Tom & Jerry's <Gazette>", "headline": "<script>alert(1)</script> fire",
         "body": "\n".join(WIRE)},
        {"id": "x2", "outlet": "Other", "headline": "Fire", "body": "\n".join(WIRE[:3])},
        {"id": "x3", "outlet": "Other", "headline": "Library", "body": "\n".join(OTHER)},
    ])
    root = tmp_path / "out"
    run(load_config(None, input=str(batch), output=str(root), run_date=NIGHT))
    page = report_for_night(root, NIGHT).read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the outlet is escaped everywhere it shows, the JSON block included (' may be &#39; or &#x27;)
    assert "Tom & Jerry" not in page and "<Gazette>" not in page
    assert re.search(r"Tom &amp; Jerry(&#39;|&#x27;)s &lt;Gazette&gt;", page)
    # nothing loaded from anywhere: no src/href, no stylesheet links, only the JSON data block
    assert not re.search(r"\s(src|href)\s*=", page, re.I)
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert re.findall(r"<script[^>]*>", page) == ['<script type="application/json" id="report-data">']
    d = _parse(page)
    assert json.loads(d.json)["counts"]["accepted"] == 3
    assert d.having("health")[0]["health"] == "ok"


def test_drift_reads_only_earlier_nights_at_most_14_and_flags_change(out, tmp_path):
    """build_report as the pipeline calls it: the night's files in a staging folder, earlier nights'
    manifests under the output root (a later night there must not show, nor nights older than the
    14-day window)."""
    s, c, r, m = _tables(out, NIGHT)
    root = tmp_path / "root"
    for day in range(5, 26):  # 2026-11-05 .. 2026-11-25: quiet nights with few duplicates
        night = f"2026-11-{day:02d}"
        fake = json.loads(json.dumps(m))
        fake["run_date"] = night
        fake["counts"].update(accepted=200, read=200, rejected=0, duplicates=10, clusters=190)
        (root / "runs" / f"run_date={night}").mkdir(parents=True)
        (root / "runs" / f"run_date={night}" / "manifest.json").write_text(json.dumps(fake))
    later = root / "runs" / "run_date=2026-11-30"
    later.mkdir(parents=True)
    (later / "manifest.json").write_text(json.dumps(dict(m, run_date="2026-11-30")))
    staging = tmp_path / "staging"
    files = []
    for t in ("stories", "clusters", "rejects"):
        f = staging / t / f"run_date={NIGHT}" / "part-0.parquet"
        f.parent.mkdir(parents=True)
        shutil.copy(out / t / f"run_date={NIGHT}" / "part-0.parquet", f)
        files.append(f.parent)
    page = build_report(root, NIGHT, m, *files)
    d = _parse(page)
    nights = [e["night"] for e in d.having("night") if e["_tag"] == "tr"]
    assert nights == [f"2026-11-{day:02d}" for day in range(12, 26)] + [NIGHT]
    assert len(nights) == DRIFT_NIGHTS + 1
    # a duplicate rate of ~50% after nights of 5% is drift, and the page says so at the top
    assert d.having("health")[0]["health"] == "warn"
    assert {e["check"] for e in d.having("check")} >= {"duplicate_rate", "accepted"}
    dest = write_report(root, NIGHT, m, *files, dest=tmp_path / "r" / "report.html")
    assert dest.read_text(encoding="utf-8").count('data-metric="accepted"') == 1


def test_report_cli(out, cli, tmp_path):
    r = cli("report", "--output", out, "--run-date", "2026-11-25")
    assert r.exit_code == 0, r.output
    path = out / "runs" / "run_date=2026-11-25" / "report.html"
    assert r.output.strip() == str(path) and path.is_file()
    assert _parse(path.read_text(encoding="utf-8")).having("metric")[1]["value"] == str(
        len(pd.read_parquet(out / "stories" / "run_date=2026-11-25")))
    r = cli("report", "--output", out)
    assert r.exit_code == 0 and r.output.strip().endswith(f"run_date={NIGHT}/report.html")
    assert cli("report", "--output", out, "--run-date", "2026-01-01").exit_code == 2
    assert cli("report", "--output", tmp_path / "empty").exit_code == 2


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def _png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of the decoded scanlines."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", raw[16:24])
    idat, pos = b"", 8
    while pos < len(raw):
        n = struct.unpack(">I", raw[pos:pos + 4])[0]
        kind = raw[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += raw[pos + 8:pos + 8 + n]
        pos += 12 + n
    pixels = zlib.decompress(idat)
    return w, h, len(set(pixels[:: 97]))


def test_report_renders_in_headless_chromium(out, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    page = out / "runs" / f"run_date={NIGHT}" / "report.html"
    url = page.resolve().as_uri()
    dom = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p1'}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Chromium parsed the whole page: the data block at the end, every chart and figure
    assert 'id="report-data"' in dom.stdout
    assert dom.stdout.count("<svg") == page.read_text(encoding="utf-8").count("<svg") >= 5
    assert 'data-metric="accepted"' in dom.stdout
    shot = tmp_path / "report.png"
    res = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p2'}", f"--screenshot={shot}",
                          "--window-size=1280,1600", url], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    w, h, colours = _png_size_and_colours(shot)
    assert (w, h) == (1280, 1600)
    assert colours > 20  # text and charts drawn, not a blank page


def _fake_nights(root: Path, manifest: dict, nights: dict[str, dict]) -> None:
    """Earlier nights' manifests under root/runs: night -> counts to set on a copy of ``manifest``."""
    for night, counts in nights.items():
        fake = json.loads(json.dumps(manifest))
        fake["run_date"] = night
        fake["counts"].update(counts)
        (root / "runs" / f"run_date={night}").mkdir(parents=True)
        (root / "runs" / f"run_date={night}" / "manifest.json").write_text(json.dumps(fake))


def _night_folders(out: Path, night: str) -> list[Path]:
    return [out / t / f"run_date={night}" for t in ("stories", "clusters", "rejects")]


def test_drift_counts_only_nights_inside_the_state_window(out, tmp_path):
    """Nights older than the window (a gap in the schedule, an old test run) never reach the table,
    the sparklines or the medians, even when they are all the history there is."""
    s, c, r, m = _tables(out, NIGHT)
    same = {k: m["counts"][k] for k in ("read", "accepted", "rejected", "duplicates", "clusters")}
    root = tmp_path / "root"
    # a month back: ten times tonight's volume, no duplicates; inside the window: like tonight
    _fake_nights(root, m, {f"2026-10-{d:02d}": dict(same, accepted=10 * len(s), read=10 * len(s), duplicates=0)
                           for d in range(1, 8)})
    _fake_nights(root, m, {n: same for n in ("2026-11-20", "2026-11-22", "2026-11-24")})
    d = _parse(build_report(root, NIGHT, m, *_night_folders(out, NIGHT)))
    data = json.loads(d.json)
    assert data["window_days"] == 14
    assert [h["night"] for h in data["history"]] == ["2026-11-20", "2026-11-22", "2026-11-24"]
    assert [e["night"] for e in d.having("night") if e["_tag"] == "tr"] == ["2026-11-20", "2026-11-22", "2026-11-24", NIGHT]
    # with October counted the median would be 10x tonight and "accepted" and "duplicate_rate" would fire
    assert not {"accepted", "duplicate_rate"} & {x["key"] for x in data["checks"]}
    kpi = {e["metric"]: e for e in d.having("metric")}
    assert f"median of last 3: {len(s):,}" in build_report(root, NIGHT, m, *_night_folders(out, NIGHT))
    assert int(kpi["accepted"]["value"]) == len(s)

    # a shorter state window (state.retention_days 3) narrows the drift window with it
    short = json.loads(json.dumps(m))
    short["config"].setdefault("state", {})["retention_days"] = 3
    data = json.loads(_parse(build_report(root, NIGHT, short, *_night_folders(out, NIGHT))).json)
    assert data["window_days"] == 3 and [h["night"] for h in data["history"]] == ["2026-11-24"]

    # without the in-window nights, October alone is no history at all
    for n in ("2026-11-20", "2026-11-22", "2026-11-24"):
        shutil.rmtree(root / "runs" / f"run_date={n}")
    data = json.loads(_parse(build_report(root, NIGHT, m, *_night_folders(out, NIGHT))).json)
    assert data["history"] == [] and not data["checks"]


def test_sparklines_carry_their_scale(out, tmp_path):
    s, c, r, m = _tables(out, NIGHT)
    root = tmp_path / "root"
    accepted = {"2026-11-22": 7, "2026-11-23": 1_234_567, "2026-11-24": 41}
    _fake_nights(root, m, {n: {"accepted": v, "read": v} for n, v in accepted.items()})
    page = build_report(root, NIGHT, m, *_night_folders(out, NIGHT))
    d = _parse(page)
    spark = {e["spark"]: e for e in d.having("spark")}
    assert len(spark) == 8
    # each spark's svg: data-min/data-max equal to the figure over the rows of the drift table
    blocks = re.findall(r'<div data-spark="([a-z_]+)">(.*?)</svg>', page, re.S)
    assert [k for k, _ in blocks] == list(spark)
    rows = [e for e in d.having("night") if e["_tag"] == "tr"]
    for key, block in blocks:
        lo = float(re.search(r'data-min="([^"]+)"', block).group(1))
        hi = float(re.search(r'data-max="([^"]+)"', block).group(1))
        labels = re.findall(r'class="scale">([^<]*)</text>', block)
        if key == "accepted":
            values = [int(x["accepted"]) for x in rows]
            assert (lo, hi) == (min(values), max(values)) == (7, 1_234_567)
            assert labels == ["1.2M", "7"]  # max at the top, min at the bottom; short enough for the gutter
        if key == "largest_cluster":
            values = [int(x["largest-cluster"]) for x in rows]
            assert (lo, hi) == (min(values), max(values))
        assert lo <= hi and labels, key
        if lo == hi:
            assert len(labels) == 1  # a flat line has one value to name
    rate = dict(blocks)["duplicate_rate"]
    assert all(re.fullmatch(r"\d+\.\d%", t) for t in re.findall(r'class="scale">([^<]*)</text>', rate))


@pytest.mark.parametrize("case", ["empty", "normal"])
def test_header_status_is_the_worst_check(case, out, tmp_path):
    """The header's status never says ok above a check that fired: it is the worst check level."""
    if case == "empty":
        batch = write_jsonl(tmp_path / "empty.jsonl", [])
        root = tmp_path / "out"
        # An empty feed fails the night unless input.allow_empty (test_nights); allowed, its report says bad.
        run(load_config(None, input=str(batch), output=str(root), run_date=NIGHT,
                        overrides={"input.allow_empty": True}))
        page = report_for_night(root, NIGHT).read_text(encoding="utf-8")
    else:
        page = (out / "runs" / f"run_date={NIGHT}" / "report.html").read_text(encoding="utf-8")
    d = _parse(page)
    levels = {e["level"] for e in d.having("check")}
    worst = "bad" if "bad" in levels else "warn" if levels else "ok"
    header = d.having("header-status")
    assert len(header) == 1 and header[0]["header-status"] == worst == d.having("health")[0]["health"]
    assert f"status {worst}</span>" in page
    if case == "empty":
        assert worst == "bad" and "no records were read" in page
        assert "status ok" not in page
    data = json.loads(d.json)
    assert data["health"] == worst and data["status"] == "ok"  # the run itself did finish


def test_text_loss_and_emptied_stories_are_warned(tmp_path):
    """Wire text learned as one outlet's chrome (another outlet's copy kept it) and a story emptied
    by cleaning each fire a check, so the header does not say all is well."""
    from tests.stages.test_cluster_rules import _paragraphs

    wire_line = "Officials in the capital said the measures would stay in place until the spring review."
    reports = [_paragraphs(40 + i, 3) for i in range(6)]
    recs = [{"id": f"alpha-{i}", "outlet": "Alpha", "headline": f"Report {i}", "body": "\n".join(p + [wire_line])}
            for i, p in enumerate(reports)]
    recs.append({"id": "beta-0", "outlet": "Beta", "headline": "Report 0", "body": "\n".join(reports[0] + [wire_line])})
    recs.append({"id": "gamma-0", "outlet": "Gamma", "headline": "Menu", "body": "Subscribe now\nAdvertisement\nNext Story"})
    root = tmp_path / "out"
    run(load_config(None, input=str(write_jsonl(tmp_path / "b.jsonl", recs)), output=str(root), run_date=NIGHT))
    d = _parse(report_for_night(root, NIGHT).read_text(encoding="utf-8"))
    checks = {x["key"]: x for x in json.loads(d.json)["checks"]}
    assert "alpha-0" in checks["text_loss"]["text"] and checks["text_loss"]["level"] == "warn"
    assert checks["emptied"]["text"].startswith("1 stories were rejected for having no story text left")
    assert d.having("header-status")[0]["header-status"] == "warn"


def test_chrome_jump_per_outlet_against_earlier_nights(tmp_path):
    """An outlet whose chrome lines removed per story jumps against its earlier nights is named;
    an outlet as usual, or one with too few nights or stories, is not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup import layout
    from dedup.tools.report import JUMP_MIN_NIGHTS, JUMP_MIN_STORIES, chrome_jumps

    root = tmp_path / "out"
    nights = ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert len(nights) >= JUMP_MIN_NIGHTS
    for i, n in enumerate(nights):
        k = JUMP_MIN_STORIES
        outlets = ["X"] * k + ["Y"] * k + (["Z"] * k if i == 0 else [])  # Z: one earlier night only
        removed = [1] * k + [3] * k + ([1] * k if i == 0 else [])
        d = layout.partition_dir(root, "stories", n)
        d.mkdir(parents=True)
        pq.write_table(pa.table({"outlet": outlets, "chrome_lines_removed": removed}), d / "part-0.parquet")
    k = JUMP_MIN_STORIES
    tonight = [{"outlet": "X", "lines_in_stories": 4 * k, "stories": k},   # 4 per story against 1: a jump
               {"outlet": "Y", "lines_in_stories": 3 * k, "stories": k},   # as usual
               {"outlet": "Z", "lines_in_stories": 9 * k, "stories": k},   # no history to compare with
               {"outlet": "W", "lines_in_stories": 90, "stories": k - 1}]  # too few stories tonight
    got = chrome_jumps(root, nights, tonight)
    assert got == [{"outlet": "X", "per_story": 4.0, "median": 1.0, "nights": 3}]
    assert chrome_jumps(root, nights[:2], tonight) == []  # fewer earlier nights than JUMP_MIN_NIGHTS


def test_largest_clusters_and_reject_reasons_are_those_of_the_rows(out, tmp_path):
    # The report reads clusters and rejects in Arrow (a night can have as many clusters as
    # stories); its figures are still the row-by-row ones: the ten largest by size then id, ties at
    # the tenth size included, and per reason the count and its first reject as the example.
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.tools.report import collect

    part = f"run_date={NIGHT}"
    clusters = pq.read_table(out / "clusters" / part / "part-0.parquet")
    rng = np.random.default_rng(3)
    n = 400
    sizes = np.concatenate([np.full(14, 5), np.ones(n - 16, np.int64), [9, 2]])
    rng.shuffle(sizes)
    ids = [f"c{i:04d}" for i in rng.permutation(n)]
    first = clusters.slice(0, 1).to_pylist()[0]
    rows = [dict(first, cluster_id=cid, canonical_story_id=f"s-{cid}", size=int(k), headline=f"h {cid}")
            for cid, k in zip(ids, sizes)]
    cdir = tmp_path / "clusters" / part
    cdir.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=clusters.schema), cdir / "part-0.parquet")
    rejects = pq.read_table(out / "rejects" / part / "part-0.parquet")
    reasons = ["invalid JSON: line 3", "empty body", "invalid JSON: bad escape", "empty body", "invalid JSON: line 3"]
    rrows = [{"source": f"/in/f{i}.jsonl", "record": i + 1, "story_id": None, "reason": t, "raw": "x"}
             for i, t in enumerate(reasons)]
    rdir = tmp_path / "rejects" / part
    rdir.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rrows, schema=rejects.schema), rdir / "part-0.parquet")
    m = json.loads((out / "runs" / part / "manifest.json").read_text())
    data = collect(out, NIGHT, m, out / "stories" / part, cdir, rdir)

    want_all = [x for x in sorted(rows, key=lambda x: (-x["size"], x["cluster_id"])) if x["size"] > 1]
    want = want_all[:10]
    assert [(x["cluster_id"], x["size"]) for x in data["largest_clusters"]] == [(x["cluster_id"], x["size"]) for x in want]
    assert (data["counts"]["clusters"], data["counts"]["singletons"], data["counts"]["clusters_with_copies"],
            data["counts"]["largest_cluster"]) == (n, n - 16, 16, 9)
    from dedup.tools.report import _largest_rows

    table = pa.Table.from_pylist(rows, schema=clusters.schema)
    for k in (1, 3, 10, 16, 17, 50):
        got = _largest_rows(table, np.asarray(sizes, np.int64), k)
        assert [x["cluster_id"] for x in got] == [x["cluster_id"] for x in want_all[:k]], k
    assert _largest_rows(table, np.ones(n, np.int64), 10) == []  # singletons are never the largest
    assert data["reject_reasons"] == [
        {"reason": "invalid JSON", "count": 3, "example": "invalid JSON: line 3", "where": "f0.jsonl:1"},
        {"reason": "empty body", "count": 2, "example": "empty body", "where": "f1.jsonl:2"},
    ]


def test_report_counts_take_the_noun_for_their_number(out):
    import re

    page = (out / "runs" / f"run_date={NIGHT}" / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"(?<![\d,.])1 (stories|clusters|records)\b", page)
    assert re.search(r"\b\d[\d,]* (story|stories)\b", page)


def test_records_delivered_again_are_counted_but_do_not_raise_the_reject_check(out):
    # The fixture's second night reads the first night's 30 records again.
    s, c, r, m = _tables(out, NIGHT)
    page = (out / "runs" / f"run_date={NIGHT}" / "report.html").read_text(encoding="utf-8")
    data = json.loads(_parse(page).json)
    again = int(r.reason.str.startswith("duplicate id: first seen at night 2026-11-25").sum())
    assert again == data["counts"]["redelivered"] == m["reject_reasons"]["duplicate id of an earlier night"] > 20
    assert data["counts"]["reject_rate"] > 0.2  # what the KPI shows: every reject
    assert "reject_rate" not in {x["key"] for x in data["checks"]}
