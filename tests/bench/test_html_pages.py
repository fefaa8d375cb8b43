"""bench/html_pages.py: whole HTML pages under new ids, each copy its own bytes."""
from __future__ import annotations

import json

from bench.html_pages import main
from tests.conftest import shared_path


def test_pages_are_written_in_turn_under_new_ids(tmp_path):
    corpus = shared_path("corpora", "article-extraction-benchmark")  # skips where the shared material is absent
    out = tmp_path / "pages.jsonl"
    assert main(["--n", "190", "--out", str(out), "--corpus", str(corpus)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 190 and len({r["id"] for r in rows}) == 190 and len({r["body"] for r in rows}) == 190
    assert rows[181]["body"].split("\n", 1)[1] == rows[0]["body"].split("\n", 1)[1]  # the 182nd is the first again
    assert all("<html" in r["body"].lower() or "<!doctype" in r["body"].lower() for r in rows)
