"""Paths as URLs (issue 16, first item): file:// works like the local path, other schemes are
refused before any work, with one line and exit 2, leaving nothing behind (object-store inputs,
which the local engine reads, are in tests/test_objstore.py)."""
from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest

from tests.conftest import DEMO

NIGHT = "2026-11-26"
TABLES = ("stories", "clusters", "rejects")


def _night_tables(out, state, night=NIGHT):
    """Every table the night wrote, output and state, by relative path."""
    found = {}
    for top, base in (("out", out), ("state", state)):
        for p in sorted(base.rglob("*.parquet")):
            if f"run_date={night}" in str(p) and ".staging" not in p.parts:
                found[f"{top}/{p.relative_to(base)}"] = pq.read_table(p)
    return found


def test_file_urls_work_end_to_end_like_local_paths(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)  # where a URL taken for a relative path would have made its folders
    a, b = tmp_path / "plain", tmp_path / "url dir"  # a space, percent-encoded in the URLs
    url = lambda p: "file://" + str(p).replace(" ", "%20")  # noqa: E731
    plain, urls = tmp_path / "plain.yaml", tmp_path / "urls.yaml"
    plain.write_text(f"input: {{path: '{DEMO}'}}\noutput: {{path: '{a / 'out'}'}}\nstate: {{path: '{a / 'state'}'}}\n")
    urls.write_text(f"input: {{path: '{url(DEMO)}'}}\noutput: {{path: '{url(b / 'out')}'}}\n"
                    f"state: {{path: 'file://localhost{str(b / 'state').replace(' ', '%20')}'}}\n")
    for cfg, d in ((plain, a), (urls, b)):
        r = cli("run", "--config", cfg, "--run-date", NIGHT, "-q")
        assert r.exit_code == 0, r.output
        assert r.output.strip().endswith(f"-> {d / 'out'}")
    ta, tb = _night_tables(a / "out", a / "state"), _night_tables(b / "out", b / "state")
    for name in TABLES:
        assert f"out/{name}/run_date={NIGHT}/part-0.parquet" in ta
    assert any(k.startswith("state/nights/") for k in ta)
    assert ta.keys() == tb.keys()
    for k, t in ta.items():
        assert t.equals(tb[k]), k
    ma = json.loads((a / "out" / "runs" / f"run_date={NIGHT}" / "manifest.json").read_text())
    mb = json.loads((b / "out" / "runs" / f"run_date={NIGHT}" / "manifest.json").read_text())
    assert ma["counts"] == mb["counts"] and mb["counts"]["accepted"] > 0
    # nothing landed in a folder named after the URL, relative to where the job ran
    assert not list(tmp_path.glob("file:*"))
    # the analyst's commands take the URL too
    r = cli("report", "--output", url(b / "out"), "--run-date", NIGHT)
    assert r.exit_code == 0 and r.output.strip() == str(b / "out" / "runs" / f"run_date={NIGHT}" / "report.html")


@pytest.mark.parametrize("flag,url,key,extra", [
    # s3:// output and state (either engine in local mode; spark on a cluster refused): tests/test_objstore.py
    ("--output", "gs://bucket/dedup", "output.path", ()),
    ("--output", "abfs://container@account.dfs.core.windows.net/dedup", "output.path", ()),
    ("--output", "hdfs://namenode:8020/dedup", "output.path", ()),
    ("--input", "hdfs://namenode:8020/feed/*.jsonl", "input.path", ()),
    ("--input", "https://example.org/feed.jsonl", "input.path", ()),
])
def test_other_urls_are_refused_before_any_work(tmp_path, monkeypatch, cli, flag, url, key, extra):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # where a URL taken for a relative path would have made its folders
    args = {"--input": str(DEMO), "--output": str(tmp_path / "out")}
    cfg = tmp_path / "c.yaml"
    if flag == "--state":
        cfg.write_text(f"input: {{path: '{DEMO}'}}\noutput: {{path: '{tmp_path / 'out'}'}}\nstate: {{path: '{url}'}}\n")
        r = cli("run", "--config", cfg, "--run-date", NIGHT, *extra)
    else:
        args[flag] = url
        r = cli("run", "--input", args["--input"], "--output", args["--output"], "--run-date", NIGHT, *extra)
    assert r.exit_code == 2, r.output
    scheme = url.split(":", 1)[0]
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    assert lines[0].startswith(f"dedup: error: config key '{key}': {scheme}:// URLs are not supported yet")
    assert "mount" in lines[0] and "local path" in lines[0]
    assert os.listdir(work) == [] and not (tmp_path / "out").exists()


def test_analyst_commands_refuse_other_urls(cli):
    for cmd in (("report",), ("show", "c0000000000000000"), ("explain", "a", "b")):
        # s3:// is read (tests/test_objstore.py); other stores are refused in one line
        r = cli(*cmd, "--output", "gs://bucket/dedup")
        assert r.exit_code == 2 and r.output.startswith("dedup: error: --output: gs:// URLs are not supported yet")
