"""dedup.synth: the labeled syndication corpus built from the Reuters-21578 files.

Needs the Reuters SGML files (default ../shared/corpora/reuters21578 from the repo
root); every test that reads them is skipped when they are absent.
"""
from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from bench.synth import corpus as synth

SOURCE = synth.DEFAULT_SOURCE
N = 300


def _need_source():
    if not SOURCE.is_dir() or not list(SOURCE.glob("reut2-*.sgm")):
        pytest.skip(f"Reuters-21578 files not found in {SOURCE}")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def originals():
    _need_source()
    kept, stats = synth.load_originals(SOURCE)
    return {o.newid: o for o in kept}, stats


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, originals):
    out = tmp_path_factory.mktemp("corpus")
    stats = synth.build_corpus(SOURCE, N, out, seed=3)
    return {
        "dir": out,
        "stats": stats,
        "chrome": _read_jsonl(out / "batch.jsonl"),
        "clean": _read_jsonl(out / "batch-clean.jsonl"),
        "gold": _read_csv(out / "gold.csv"),
        "edits": {r["story_id"]: r for r in _read_csv(out / "edits.csv")},
    }


# ---------------------------------------------------------------- parsing


def test_parses_first_reuters_report(originals):
    _need_source()
    parsed, stats = synth.parse_reuters(SOURCE)
    assert stats["reports"] == 11000 if len(list(SOURCE.glob("reut2-*.sgm"))) == 11 else stats["reports"] > 0
    assert stats["no_body"] > 0 and stats["parsed"] == len(parsed)
    first = next(o for o in parsed if o.newid == 1)
    assert first.title == "BAHIA COCOA REVIEW"
    assert (first.city, first.day) == ("SALVADOR", "Feb 26")
    assert first.date == dt.datetime(1987, 2, 26, 15, 1, 1, tzinfo=dt.timezone.utc)
    assert first.paragraphs[0].startswith("Showers continued throughout the week in the Bahia cocoa zone,")
    assert first.paragraphs[1] == "The dry period means the temporao will be late this year."
    assert len(first.paragraphs) > 10
    for o in parsed[:2000]:
        text = "\n".join(o.paragraphs)
        assert not re.search(r"\breuter\s*$", text, re.I), o.newid
        assert not re.search(r"[\x00-\x08\x0b-\x1f]|&lt;|&#\d+;", text), o.newid
        assert all(p == " ".join(p.split()) and p for p in o.paragraphs)


def test_dateline_split():
    assert synth._parse_dateline("    BASKING RIDGE, N.J., March 4 - ") == ("BASKING RIDGE, N.J.", "March 4")
    assert synth._parse_dateline("    NEW YORK, Feb 26 - ") == ("NEW YORK", "Feb 26")
    assert synth._parse_dateline("   ") == ("", "")


def test_resends_collapsed(originals):
    by_id, stats = originals
    assert stats["resends_dropped"] > 100 and stats["kept"] == len(by_id)
    assert stats["parsed"] - stats["resends_dropped"] == stats["kept"]


def test_similarity_join_is_exact():
    rnd = random.Random(5)
    universe = list(range(60))
    docs = [set(rnd.sample(universe, rnd.randint(1, 25))) for _ in range(40)]
    docs += [set(list(d)[: max(1, len(d) - 2)]) for d in docs[:10]]  # near-copies
    views = [(i, True, s) for i, s in enumerate(docs)]
    from collections import Counter
    df = Counter(x for s in docs for x in s)
    common = {k: v for k, v in df.items() if v > 1}
    got = {(min(a, b), max(a, b)) for a, b, _ in synth._similar_pairs(views, (0.5, 0.8), common)}
    want = set()
    for a, b in itertools.combinations(range(len(docs)), 2):
        s, v = sorted((docs[a], docs[b]), key=len)
        inter = len(s & v)
        if inter >= 0.8 * len(s) or inter >= 0.5 * len(s | v):
            want.add((a, b))
    assert got == want and want


def test_plan_cluster_sizes():
    rng = np.random.default_rng(0)
    s = synth.plan_cluster_sizes(1000, 9000, rng)
    assert s.sum() == 1000 and s.min() >= 1 and len(s) < 1000
    assert (s == 1).mean() > 0.3 and s.max() >= 6
    big = synth.plan_cluster_sizes(500_000, 1000, np.random.default_rng(0))
    assert big.sum() == 500_000 and len(big) == 1000 and big.min() >= 1
    assert (big == 1).sum() > 300  # singletons stay singletons
    assert big.max() > 2000  # the rest scaled up


# ---------------------------------------------------------------- the corpus


def test_ids_unique_and_gold_covers_every_story(corpus):
    ids = [r["id"] for r in corpus["chrome"]]
    assert len(ids) == N == len(set(ids))
    gold = {r["story_id"]: r["gold_cluster"] for r in corpus["gold"]}
    assert set(gold) == set(ids) and len(corpus["gold"]) == N
    assert len(set(gold.values())) == corpus["stats"]["gold_clusters"]
    assert 1 < corpus["stats"]["gold_clusters"] < N


def test_records_have_all_fields(corpus):
    urls = set()
    for r in corpus["chrome"]:
        assert set(r) == {"id", "outlet", "url", "headline", "published_at", "body"}
        assert r["outlet"] in synth.OUTLET_NAMES
        assert re.match(r"https://(www\.)?[a-z]+\.example/", r["url"])
        assert dt.datetime.fromisoformat(r["published_at"].replace("Z", "+00:00")).year == 1987
        assert r["headline"].strip()
        urls.add(r["url"])
    assert len(urls) == N
    assert len({r["outlet"] for r in corpus["chrome"]}) > 20


def test_clean_and_chrome_variants_match(corpus):
    for c, k in zip(corpus["chrome"], corpus["clean"]):
        assert {f: v for f, v in c.items() if f != "body"} == {f: v for f, v in k.items() if f != "body"}
        assert len(c["body"]) > len(k["body"])
        # chrome only adds lines: the clean lines appear, in order, among the chrome lines
        it = iter(c["body"].split("\n"))
        assert all(line in it for line in k["body"].split("\n"))


def test_copies_of_a_cluster_come_from_one_original(corpus, originals):
    by_id, _ = originals
    edits = corpus["edits"]
    for g in corpus["gold"]:
        e = edits[g["story_id"]]
        assert e["gold_cluster"] == g["gold_cluster"] == f"r{int(e['original_newid']):05d}"
        assert int(e["original_newid"]) in by_id


def test_exact_copies_and_published_times(corpus, originals):
    by_id, _ = originals
    n_exact = 0
    for r in corpus["clean"]:
        e = corpus["edits"][r["id"]]
        o = by_id[int(e["original_newid"])]
        pub = dt.datetime.fromisoformat(r["published_at"].replace("Z", "+00:00"))
        delay = (pub - o.date).total_seconds()
        assert 0 < delay <= 5 * 86400 + 900
        if e["late"] == "0":
            assert delay <= 21 * 3600
        if e["exact"] == "1":
            n_exact += 1
            assert r["body"] == "\n".join(o.paragraphs)
    assert n_exact > 10


def _strip_edits(body: str, o: synth.Original, e: dict) -> list[str]:
    paras = body.split("\n")
    if e["credit_line"] == "1":
        assert paras[-1].startswith("(Reporting by ")
        paras = paras[:-1]
    if e["dateline"] != "none":
        head, sep, rest = paras[0].partition(" (Reuters) - ") if "(Reuters)" in paras[0] else paras[0].partition(": ")
        assert sep, paras[0]
        paras[0] = rest
    return paras


def test_truncated_copies_are_prefixes(corpus, originals):
    by_id, _ = originals
    seen = plain = 0
    for r in corpus["clean"]:
        e = corpus["edits"][r["id"]]
        if e["truncated"] != "1":
            continue
        seen += 1
        o = by_id[int(e["original_newid"])]
        n_words = len(r["body"].split())
        assert n_words >= 0.4 * o.n_words * 0.85  # house style may join "5 pct" -> "5%"
        assert n_words < o.n_words + 60
        if e["house_style"] == e["merged_paragraphs"] == e["dropped_paragraph"] == "0":
            plain += 1
            paras = _strip_edits(r["body"], o, e)
            k = len(paras)
            assert paras == list(o.paragraphs[:k]) and k < len(o.paragraphs)
            assert sum(len(p.split()) for p in paras) >= 0.4 * o.n_words
    assert seen > 10 and plain > 0


def test_edits_show_up(corpus):
    bodies = "\n".join(r["body"] for r in corpus["clean"])
    heads = [r["headline"] for r in corpus["clean"]]
    assert "(Reuters) - " in bodies and "(Reporting by " in bodies
    assert re.search(r"\b(million|percent|per cent|dollars)\b|\$\d|\d%", bodies)
    assert any(h.isupper() for h in heads) and any(not h.isupper() for h in heads)
    chrome = "\n".join(r["body"] for r in corpus["chrome"])
    for s in ("Trending", "Renews automatically", "Disclaimer: No ", "Share", "SAVE "):
        assert s in chrome, s
    ed = corpus["stats"]["edits"]
    for k in ("exact", "truncated", "house_style", "merged_paragraphs", "credit_line", "late"):
        assert ed[k] > 0, k


def test_gold_clusters_are_distinct_stories(corpus, originals):
    """No two originals used as different gold clusters are near-duplicates by the job's own
    thresholds (Jaccard >= 0.5 or containment >= 0.8 on word 4-shingles)."""
    by_id, _ = originals
    used = sorted({int(e["original_newid"]) for e in corpus["edits"].values()})
    sh = {i: synth.shingles(" ".join(by_id[i].paragraphs)) for i in used}
    for a, b in itertools.combinations(used, 2):
        s, v = sorted((sh[a], sh[b]), key=len)
        inter = len(s & v)
        assert inter < 0.8 * len(s) and inter < 0.5 * len(s | v), (a, b)


def test_deterministic_for_a_seed(corpus, tmp_path):
    synth.build_corpus(SOURCE, N, tmp_path / "again", seed=3)
    for f in ("batch.jsonl", "batch-clean.jsonl", "gold.csv", "edits.csv"):
        assert (tmp_path / "again" / f).read_bytes() == (corpus["dir"] / f).read_bytes(), f
    synth.build_corpus(SOURCE, N, tmp_path / "other", seed=4)
    assert (tmp_path / "other" / "batch.jsonl").read_bytes() != (corpus["dir"] / "batch.jsonl").read_bytes()


def test_no_chrome_option_and_cli(tmp_path, originals, capsys):
    out = tmp_path / "plain"
    assert synth.main(["--n", "40", "--out", str(out), "--source", str(SOURCE), "--no-chrome", "--seed", "1"]) == 0
    assert (out / "batch.jsonl").read_bytes() == (out / "batch-clean.jsonl").read_bytes()
    stats = json.loads(capsys.readouterr().out)
    assert stats["stories"] == 40 and stats["originals"]["resends_dropped"] > 0
    assert len(_read_jsonl(out / "batch.jsonl")) == 40


def test_missing_source_fails_cleanly(tmp_path):
    assert synth.main(["--n", "5", "--out", str(tmp_path / "x"), "--source", str(tmp_path / "nope")]) == 2
