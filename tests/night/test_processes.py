"""dedup.night.processes: HTML pages extracted on worker processes, the same text as in place."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dedup import load_config, run
from dedup.night.processes import MIN_PAGES, PageWorkers
from dedup.stages.text.html import html_to_text_sourced

ROOT = Path(__file__).resolve().parents[2]


def _pages(n: int) -> list[str]:
    return [f"<html><head><title>Page {i}</title><meta property='article:published_time' "
            f"content='2026-11-{1 + i % 25:02d}T08:30:00+00:00'></head><body><nav><a href='/'>Home</a></nav><article>"
            f"<h1>Report {i}</h1>"
            + "".join(f"<p>Paragraph {j} of report {i} says the council met on day {i + j} and voted on the "
                      f"budget for the coming year, with {i * j} members in favour.</p>" for j in range(4))
            + "</article><footer>All rights reserved.</footer></body></html>" for i in range(n)]


def test_pages_on_processes_come_back_in_order_as_in_place():
    pages = _pages(MIN_PAGES + 5)
    with PageWorkers(2) as w:
        got = w.map(html_to_text_sourced, pages)
        assert w._pool is not None  # worker processes did the work
    assert got == [html_to_text_sourced(p) for p in pages]
    assert all(src.startswith("html:") and f"report {i} says" in text for i, (text, src) in enumerate(got))


def test_few_pages_or_one_worker_start_no_process():
    with PageWorkers(2) as w:
        assert w.map(len, ["x"] * (MIN_PAGES - 1)) == [1] * (MIN_PAGES - 1)
        assert w._pool is None
    with PageWorkers(1) as w:
        w.map(len, ["x"] * (2 * MIN_PAGES))
        assert w._pool is None


def test_a_night_of_pages_reads_the_same_with_one_worker_or_two(tmp_path):
    batch = tmp_path / "pages.jsonl"
    batch.write_text("".join(json.dumps({"id": f"p{i}", "outlet": f"site {i % 5}", "headline": f"Report {i}",
                                         "body": page}) + "\n" for i, page in enumerate(_pages(2 * MIN_PAGES))))
    stories = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        run(load_config(None, input=str(batch), output=str(out), run_date="2026-11-26",
                        overrides={"run": {"workers": workers}}))
        stories[workers] = pd.read_parquet(out / "stories", columns=["story_id", "body_clean", "body_source", "published_at",
                                                                  "published_at_source"]) \
            .sort_values("story_id").reset_index(drop=True)
    assert len(stories[2]) == 2 * MIN_PAGES and stories[2].body_source.str.startswith("html:").all()
    assert (stories[2].published_at_source == "page:html").all()  # the page's own date, read on the processes
    assert str(stories[2].published_at[stories[2].story_id == "p3"].iloc[0]) == "2026-11-04 08:30:00+00:00"
    pd.testing.assert_frame_equal(stories[1], stories[2])


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_the_dedup_process_is_killed():
    script = ("import os, sys, time\n"
              "from dedup.night.processes import PageWorkers\n"
              "pool = PageWorkers(2)._get_pool()\n"
              "pids = {pool.submit(os.getpid).result() for _ in range(20)}\n"
              "[pool.submit(time.sleep, 60) for _ in range(4)]\n"
              "print(' '.join(map(str, pids)), flush=True)\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and all(_running(p) for p in workers)
        parent.kill()  # SIGKILL: nothing of the parent runs after it
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_running(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_running(p) for p in workers), "worker processes outlived the killed parent"
    finally:
        parent.kill()
