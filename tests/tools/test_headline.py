"""A feed without headlines: the report's "Canonical headline" column and ``dedup show`` show the
canonical's lede (its first sentence), marked as such, instead of a blank."""
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from dedup import load_config, run
from dedup.tools.headline import LEDE_CHARS, lede, shown_headline
from dedup.tools.report import report_for_night

from tests.conftest import OTHER, WIRE, write_jsonl


def test_lede_is_the_first_sentence_of_the_first_line():
    body = "\n  \nMr. Smith of the U.S. Navy said on Monday the ship was safe. He left.\nSecond paragraph."
    assert lede(body) == "Mr. Smith of the U.S. Navy said on Monday the ship was safe."
    assert lede('He said "no." Then he left.') == 'He said "no."'
    assert lede("No full stop in this line\nNext line.") == "No full stop in this line"
    assert lede(None) == "" and lede(" \n ") == ""


def test_a_long_lede_is_cut_at_a_word_and_marked():
    body = " ".join(["syndication"] * 40)  # 479 characters, no sentence end
    got = lede(body)
    assert len(got) <= LEDE_CHARS and got.endswith("…")
    assert got[:-1] == " ".join(["syndication"] * (len(got[:-1].split())))  # whole words only
    one_sentence = lede(WIRE[0])  # a 210-character first sentence
    assert one_sentence.endswith("…") and len(one_sentence) <= LEDE_CHARS
    assert WIRE[0].startswith(one_sentence[:-1]) and WIRE[0][len(one_sentence) - 1] == " "


def test_a_headline_wins_over_the_lede():
    assert shown_headline("Fire at the port", WIRE[0]) == ("Fire at the port", False)
    assert shown_headline("  ", "A body. More.") == ("A body.", True)
    assert shown_headline(None, None) == ("", False)


class _Cells(HTMLParser):
    """The largest-clusters rows: cluster id -> (headline cell text, its data-headline-from)."""

    def __init__(self):
        super().__init__()
        self.rows, self._cid, self._cell, self._n = {}, None, None, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-cluster-id" in a:
            self._cid, self._n = a["data-cluster-id"], 0
        elif tag == "td" and self._cid:
            self._n += 1
            if self._n == 2:
                self._cell = {"text": "", "from": a.get("data-headline-from")}

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._cid] = self._cell
            self._cell = None
        if tag == "tr":
            self._cid = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    """Night 1: a wire story without headline and one with; night 2: a copy of each (no headlines),
    so night 2's largest clusters have canonicals written the night before."""
    tmp = tmp_path_factory.mktemp("headless")
    out = tmp / "out"
    b1 = write_jsonl(tmp / "n1.jsonl", [
        {"id": "w1", "outlet": "Alpha Post", "body": "\n".join(WIRE)},
        {"id": "o1", "outlet": "Alpha Post", "headline": "Library opens late", "body": "\n".join(OTHER)},
    ])
    b2 = write_jsonl(tmp / "n2.jsonl", [
        {"id": "w2", "outlet": "Beta Daily", "body": "\n".join(WIRE[:4])},
        {"id": "o2", "outlet": "Beta Daily", "body": "\n".join(OTHER[:2])},
        {"id": "w3", "outlet": "Gamma News", "body": "\n".join(WIRE)},
    ])
    run(load_config(None, input=str(b1), output=str(out), run_date="2026-11-25"))
    run(load_config(None, input=str(b2), output=str(out), run_date="2026-11-26"))
    return out


def test_report_shows_the_canonical_lede_marked_when_no_headline(headless):
    out = headless
    s = pd.read_parquet(out / "stories")
    page = report_for_night(out, "2026-11-26").read_text(encoding="utf-8")
    cells = _Cells()
    cells.feed(page)
    by_canon = s[s.is_canonical].set_index("story_id")
    wire = s.set_index("story_id").loc["w2", "cluster_id"]
    other = s.set_index("story_id").loc["o2", "cluster_id"]
    assert wire == s.set_index("story_id").loc["w1", "cluster_id"]  # the copy joined night 1's cluster
    # no headline: the lede of the canonical (written the night before), marked
    assert cells.rows[wire]["from"] == "first line"
    canon_body = by_canon.loc["w1", "body_clean"]
    assert cells.rows[wire]["text"] == lede(canon_body) + "(first line)"
    assert cells.rows[wire]["text"].startswith("Harbour authorities in the northern port of Tallvik")
    # a headline: as it is, unmarked
    assert cells.rows[other] == {"text": "Library opens late", "from": None}
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    row = next(x for x in data["largest_clusters"] if x["cluster_id"] == wire)
    assert row["headline"] is None and row["headline_is_lede"] and row["headline_shown"] == lede(canon_body)


def test_show_marks_the_lede_as_first_line(headless, cli):
    r = cli("show", "--story", "w2", "--output", headless, "--width", "200")
    assert r.exit_code == 0, r.output
    s = pd.read_parquet(headless / "stories").set_index("story_id")
    canon_line = next(ln for ln in r.output.splitlines() if ln.startswith("  headline: "))
    assert canon_line == f"  headline: [first line] {lede(s.loc['w1', 'body_clean'])}"
    member = next(ln for ln in r.output.splitlines() if ln.split()[1:2] == ["w3"])  # after the night column
    assert "[first line] " + lede(s.loc["w3", "body_clean"])[:30] in member
    # headline variants still say there was none: the lede is not a headline
    assert "(none)" in r.output.split("Headline variants")[1]
    r = cli("show", "--story", "o1", "--output", headless, "--width", "200")
    assert "  headline: Library opens late" in r.output.splitlines()
