"""The Spark engine: same clusters, ids, canonicals and state as the local engine.

The executor functions (``dedup.night.spark.partitions``) are tested without Spark; the rest runs on
Spark in local mode (``local[2]``). Without pyspark or Java these are skipped, except in CI
(``CI`` set), where a missing Spark is a failure: CI must prove the engine.
"""
import json
import os
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup import load_config, run
from dedup.stages import verify
from dedup.stages.candidates import band_keys, lsh_params
from dedup.stages.cluster import best_canonical, star_clusters
from dedup.tools.evaluate import evaluate
from dedup.stages.fingerprint import fingerprint, number_sequences
from dedup.stages.text.normalize import fingerprint_text
from dedup.night.spark import partitions as P
from tests.conftest import DEMO, OTHER, WIRE, reuters_corpus, write_jsonl


def _spark_available() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark not installed (pip install 'dedup[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None


@pytest.fixture(scope="module")
def spark():
    why = _spark_available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {why}")
        pytest.skip(why)
    from dedup.night.spark.session import get_session

    s = get_session(load_config(input=str(DEMO), output="/tmp/unused", overrides={
        "spark.master": "local[2]", "spark.partitions": 4}))
    yield s
    s.stop()


def _run(engine, batch, out, night, **over):
    over = {"run.engine": engine, "spark.master": "local[2]", "spark.partitions": 4, **over}
    return run(load_config(input=str(batch), output=str(out), run_date=night, overrides=over))


def _table(out, table, night):
    t = pq.read_table(Path(out) / table / f"run_date={night}")
    t = pa.table([c.cast(pa.string()) if pa.types.is_large_string(c.type) else c for c in t.columns],
                 names=t.column_names)
    key = {"stories": [("story_id", "ascending")], "clusters": [("cluster_id", "ascending")],
           "rejects": [("source", "ascending"), ("record", "ascending")]}[table]
    return t.sort_by(key)


def assert_same_night(a, b, night, skip_reject_raw=False):
    for table in ("stories", "clusters", "rejects"):
        x, y = _table(a, table, night), _table(b, table, night)
        assert x.column_names == y.column_names, table
        assert x.num_rows == y.num_rows, table
        for name in x.column_names:
            if table == "rejects" and name == "raw" and skip_reject_raw:
                continue
            xc, yc = x.column(name).combine_chunks(), y.column(name).combine_chunks()
            assert xc.equals(yc.cast(xc.type)), f"{table}.{name} differs between engines"


# -- executor functions, without Spark -----------------------------------------------------------

def _fp(texts):
    return fingerprint(pa.array(texts, pa.large_string()), num_perm=64, shingle_size=4, seed=1)


BRIEF = ["Shr 47 cts vs 31 cts", "Net 4,757,000 vs 2,466,000", "Revs 32.8 mln vs 33.5 mln",
         "Avg shrs 12,638,000 vs 8,941,000"]


def test_score_partition_equals_verify_on_the_same_pairs():
    """Scores, and the number rules: rows 6-8 are table briefs (a copy with a line dropped, another
    company's table under the same headline); row 9 is row 6 as an earlier night's canonical, whose
    numbers are not known."""
    texts = [" ".join(WIRE), " ".join(WIRE[:3]), " ".join(WIRE[1:]), " ".join(OTHER), OTHER[0], " ".join(WIRE[:1]),
             "\n".join(BRIEF), "\n".join(BRIEF[:2] + BRIEF[3:]), "\n".join(BRIEF).replace("4,757,000", "4,575,000"),
             "\n".join(BRIEF)]
    fp_text = fingerprint_text(pa.array(texts, pa.large_string()))
    fp = fingerprint(fp_text, num_perm=64, shingle_size=4, seed=1)
    words = np.array([len(t.split()) for t in texts], np.int64)
    known = verify.numbers_wanted(words, 30)
    known[9] = False
    n_off, n_val = number_sequences(fp_text, known)
    hh = np.array([7, 7, 0, 9, 9, 7, 5, 5, 5, 5], np.uint64)
    left, right = np.array([0, 0, 0, 3, 1, 0, 6, 6, 9], np.int64), np.array([1, 2, 3, 4, 5, 5, 7, 8, 8], np.int64)
    want = verify.score_pairs(fp.offsets, fp.values, left, right, words=words, text_hash=fp.text_hash,
                              headline_hash=hh, threshold=0.5, containment_threshold=0.8, short_words=30,
                              numbers=(n_off, n_val, known))

    def side(rows, pre):
        sub = fp.take(rows)
        nums = [n_val[n_off[i]:n_off[i + 1]] for i in rows]
        return {pre + "shingles": P.packed(sub.offsets, sub.values), pre + "words": pa.array(words[rows]),
                pre + "text_hash": pa.array(P.as_signed(fp.text_hash[rows])),
                pre + "headline_hash": pa.array(P.as_signed(hh[rows])),
                pre + "numbers": P.packed(np.r_[0, np.cumsum([len(x) for x in nums])], np.concatenate(nums)),
                pre + "numbers_known": pa.array(known[rows])}

    batch = pa.RecordBatch.from_pydict({"l": pa.array(left), "r": pa.array(right), **side(left, "l_"), **side(right, "r_")})
    got = pa.Table.from_batches(list(P.score(iter([batch]), 0.5, 0.8, 30)))
    assert got.column("match").to_pylist() == want.match.tolist()
    assert got.column("jaccard").to_pylist() == want.jaccard.tolist()
    assert got.column("containment").to_pylist() == want.containment.tolist()
    assert any(want.match) and not all(want.match)  # the pairs exercise both outcomes
    # the brief rule matches the copy, the veto keeps the other table apart; unknown numbers veto nothing
    assert want.match[6:].tolist() == [True, False, True]


def test_disjoint_parts_partition_is_the_verify_rule():
    a, b = " ".join(WIRE[:2]), " ".join(OTHER[:2])
    fp = _fp([a, " ".join(WIRE[:3]), b])
    p, b = fp.take(np.array([0, 0])), fp.take(np.array([1, 2]))
    batch = pa.RecordBatch.from_pydict({"c": pa.array([5, 6], pa.int64()),
                                        "p_shingles": P.packed(p.offsets, p.values),
                                        "b_shingles": P.packed(b.offsets, b.values)})
    got = pa.Table.from_batches(list(P.disjoint_parts(iter([batch]))))
    assert got.column("c").to_pylist() == [5, 6]
    assert got.column("disjoint").to_pylist() == [False, True]  # a lede of the same report; another report


def test_band_rows_are_the_local_band_keys():
    fp = _fp([" ".join(WIRE), " ".join(OTHER), WIRE[2]])
    bands, rows = lsh_params(0.2, 64)
    sig = fp.signatures
    batch = pa.RecordBatch.from_pydict({"node": pa.array([10, 11, 12], pa.int64()),
                                        "signature": P.packed(np.arange(4) * sig.shape[1], sig.reshape(-1))})
    got = pa.Table.from_batches(list(P.band_rows(iter([batch]), bands, rows)))
    want = band_keys(fp.signatures, bands, rows)
    assert got.num_rows == 3 * bands
    keys = P.as_unsigned(got.column("key").to_numpy()).reshape(bands, 3)
    assert (keys == want).all()
    assert got.column("node").to_pylist()[:3] == [10, 11, 12]


def test_missing_pyspark_is_a_usage_error_that_says_what_to_install(cli, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyspark(name, *a, **k):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    r = cli("run", "--input", DEMO, "--output", tmp_path / "out", "--engine", "spark")
    assert r.exit_code == 2
    assert "dedup[spark]" in r.output
    assert not (tmp_path / "out" / "stories").exists()


# -- on Spark -------------------------------------------------------------------------------------

def test_canonical_rounds_equal_the_sequential_star_clustering(spark, tmp_path):
    """Random match graphs (chains, stars, fixed nodes): the rounds pick the same canonicals as
    ``dedup.stages.cluster.star_clusters``, which takes stories one by one in rank order, and each
    member joins the canonical ``dedup.stages.cluster.best_canonical`` gives it (scores drawn from a
    few values, so that every key of its order decides some member)."""
    from dedup.night.spark import graph as G

    rng = np.random.default_rng(7)
    for trial in range(2):
        n = 300
        rank = rng.permutation(n)
        fixed = np.zeros(n, bool)
        fixed[rng.choice(n, 20, replace=False)] = True
        # Fixed nodes rank first, as earlier nights' canonicals do.
        rank = np.argsort(np.argsort(np.where(fixed, rank - n, rank)))
        a, b = rng.integers(0, n, 900), rng.integers(0, n, 900)
        chain = np.arange(25) + 100  # a long chain: the worst case for the rounds
        a, b = np.r_[a, chain[:-1]], np.r_[b, chain[1:]]
        keep = a != b
        a, b = a[keep], b[keep]
        left = np.where(rank[a] < rank[b], a, b)
        right = np.where(rank[a] < rank[b], b, a)
        pairs = np.unique(np.stack([left, right], 1), axis=0)
        jac = rng.choice([0.3, 0.45, 0.5, 0.7, 0.9], pairs.shape[0])
        con = rng.choice([0.8, 0.85, 0.95, 1.0], pairs.shape[0])
        star = star_clusters(n, rank, pairs[:, 0], pairs[:, 1], fixed=fixed)
        want = best_canonical(star, rank, pairs[:, 0], pairs[:, 1], jac, con, 0.5, fixed=fixed)
        assert (want != star).sum() > 10  # best match moves members away from the first canonical
        # Node ids increase in rank order (``graph.rank_nodes``): story i is node rank[i].
        nodes = G.rank_nodes(spark.createDataFrame(
            [(int(i), bool(fixed[i]), int(not fixed[i]), int(rank[i]), 0, "", "") for i in range(n)],
            "story long, fixed boolean, g int, neg_shingles long, pub long, story_id string, tie string"))
        node_of = {r.story: r.node for r in nodes.select("story", "node").collect()}
        story_of = {v: k for k, v in node_of.items()}
        edges = spark.createDataFrame([(node_of[int(x)], node_of[int(y)], float(j), float(c))
                                       for (x, y), j, c in zip(pairs, jac, con)],
                                      "l long, r long, jaccard double, containment double")
        labels, rounds = G.canonicals(spark, nodes, edges, max_rounds=500, workdir=tmp_path / f"t{trial}",
                                      threshold=0.5)
        got = np.full(n, -1)
        for r in labels.collect():
            got[story_of[r.node]] = story_of[r.label]
        assert (got == want).all(), f"trial {trial}"
        assert rounds >= 2


def test_local_state_read_by_spark_keeps_every_bit(spark, tmp_path):
    """Spark reads the local engine's uint64 hashes as decimal(20,0); they come back as int64 with
    the same bits, and the uint32 lists as packed runs with the same values."""
    from dedup.night.spark import state as S

    out = tmp_path / "out"
    run(load_config(input=str(DEMO), output=str(out), run_date="2026-11-20"))
    state = out / "_state"
    d = state / "nights" / "run_date=2026-11-20"
    local = pq.read_table(d / "canonicals.parquet").sort_by("cluster_id")
    got = S._read(spark, state, ["2026-11-20"], "canonicals.parquet", P.STATE_CANON_DDL).toArrow().sort_by("cluster_id")
    assert got.num_rows == local.num_rows > 0
    assert (P.as_unsigned(got.column("text_hash").to_numpy()) == local.column("text_hash").to_numpy()).all()
    assert (P.as_unsigned(got.column("headline_hash").to_numpy()) == local.column("headline_hash").to_numpy()).all()
    assert P.packed_to_lists(got.column("shingles").combine_chunks()).to_pylist() == local.column("shingles").to_pylist()
    _, vals = P.unpacked(got.column("signature").combine_chunks())
    assert (vals.reshape(got.num_rows, -1) == np.array(local.column("signature").to_pylist())).all()
    keys = pq.read_table(d / "chrome.parquet").column("key").to_numpy()
    assert (keys >= 2 ** 63).any()  # the decimal path is exercised
    got_keys = S._read(spark, state, ["2026-11-20"], "chrome.parquet", P.STATE_CHROME_DDL).toArrow().column("key")
    assert sorted(P.as_unsigned(got_keys.to_numpy()).tolist()) == sorted(keys.tolist())


def test_demo_batch_same_tables_as_local(spark, tmp_path):
    lo = _run("local", DEMO, tmp_path / "local", "2026-11-20")
    sp = _run("spark", DEMO, tmp_path / "spark", "2026-11-20")
    assert sp.counts == lo.counts
    assert lo.counts["rejected"] > 0 and lo.counts["html_bodies"] > 0  # the demo's bad and HTML records
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-20")
    m = sp.manifest
    assert m["engine"] == "spark" and m["spark"]["master"] == "local[2]"
    assert m["reject_reasons"] == lo.manifest["reject_reasons"]
    assert m["chrome_lines_removed_by_outlet"] == lo.manifest["chrome_lines_removed_by_outlet"]
    assert m["text_loss"] == lo.manifest["text_loss"] and m["text_loss"]["removed_lines"] > 0
    assert (tmp_path / "spark" / "runs" / "run_date=2026-11-20" / "report.html").is_file()
    _tools_read_the_same(tmp_path / "local", tmp_path / "spark", "2026-11-20")


def _tools_read_the_same(local_out: Path, spark_out: Path, night: str) -> None:
    """report, show and explain on a night Spark wrote (part files, no part-0.parquet) give what
    they give on the local engine's night."""
    from dedup.tools.explain import explain, show
    from dedup.tools.report import collect, report_for_night

    parts = sorted(p.name for p in (spark_out / "stories" / f"run_date={night}").glob("*.parquet"))
    assert parts and "part-0.parquet" not in parts  # Spark's own part files
    st = pq.read_table(local_out / "stories" / f"run_date={night}").to_pandas()
    big = st.groupby("cluster_id").size().idxmax()
    members = sorted(st[st.cluster_id == big].story_id)
    for tool_out in (local_out, spark_out):
        assert report_for_night(tool_out, night).is_file()
    figures = [collect(o, night, json.loads((o / "runs" / f"run_date={night}" / "manifest.json").read_text()),
                       *(o / t / f"run_date={night}" for t in ("stories", "clusters", "rejects")))
               for o in (local_out, spark_out)]
    assert figures[0]["counts"] == figures[1]["counts"] and figures[0]["counts"]["accepted"] > 0
    views = [show(o, big, run_date=night) for o in (local_out, spark_out)]
    assert [sorted(m["story_id"] for m in v.members) for v in views] == [members, members]
    pair = [explain(o, members[0], members[1], night, with_removed=False).to_dict() for o in (local_out, spark_out)]
    assert pair[0]["figures"] == pair[1]["figures"] and pair[0]["same_cluster"] and pair[1]["same_cluster"]


def test_ids_duplicated_across_files_rejected_as_locally(spark, tmp_path, cli):
    src = tmp_path / "in"
    src.mkdir()
    a = [{"id": "a0", "outlet": "Alpha", "headline": "Port fire", "body": "\n".join(WIRE)},
         {"id": "a1", "outlet": "Alpha", "headline": "Library", "body": "\n".join(OTHER)}]
    b = [{"id": "a1", "outlet": "Beta", "headline": "Fire", "body": "\n".join(WIRE[:4])},
         {"id": "b1", "outlet": "Beta", "headline": "Fire", "body": "\n".join(WIRE[1:])}]
    write_jsonl(src / "a.jsonl", a)
    write_jsonl(src / "b.jsonl", b)
    lo = _run("local", src, tmp_path / "local", "2026-11-20")
    # Through the command line: --engine and --spark-master reach the run's config.
    r = cli("run", "--input", src, "--output", tmp_path / "spark", "--run-date", "2026-11-20", "--engine", "spark",
            "--spark-master", "local[2]")
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "spark" / "runs" / "run_date=2026-11-20" / "manifest.json").read_text())
    assert m["config"]["run"]["engine"] == "spark" and m["config"]["spark"]["master"] == "local[2]"
    assert lo.counts == m["counts"] and lo.counts["rejected"] == 1
    # The raw text of a cross-file duplicate is its body on Spark, the whole JSON line locally.
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-20", skip_reject_raw=True)
    r = _table(tmp_path / "spark", "rejects", "2026-11-20").to_pylist()
    # Another story under a reused id: the first stays (dedup.stages.versions).
    assert r[0]["reason"] == "duplicate id: first seen at a.jsonl:2"
    assert m["counts"]["clusters"] == 2 and m["counts"]["duplicates"] == 1


def test_the_latest_version_of_an_id_is_kept_as_locally(spark, tmp_path):
    """Versions of one id within a file and across two files (newest first, a plain repeat, a
    correction that kept its date, an undated re-send): the same story kept and the same rejects."""
    from tests.night.test_versions import CORRECTION, versions_batch

    recs, _, _ = versions_batch(spread=3)
    # one text re-sent with a later date (a scraper stamping its fetch time): the later one is kept
    stamped = {"id": "stamped", "outlet": "beta", "headline": "Library", "body": "\n".join(OTHER)}
    recs += [dict(stamped, published_at="2026-11-29T06:00:00Z"), dict(stamped, published_at="2026-11-29T09:00:00Z")]
    src = tmp_path / "in"
    src.mkdir()
    write_jsonl(src / "a.jsonl", recs[:17])
    write_jsonl(src / "b.jsonl", recs[17:])
    lo = _run("local", src, tmp_path / "local", "2026-11-20")
    sp = _run("spark", src, tmp_path / "spark", "2026-11-20")
    assert sp.counts == lo.counts and sp.manifest["reject_reasons"] == lo.manifest["reject_reasons"] == {
        "duplicate id": 7}
    assert sp.manifest["stages"]["versions"]["rejected"] == lo.manifest["stages"]["versions"]["rejected"] == 7
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-20")
    stories = _table(tmp_path / "spark", "stories", "2026-11-20").to_pylist()
    fire = [r for r in stories if r["story_id"] == "fire-1"]
    assert len(fire) == 1 and CORRECTION in fire[0]["body_clean"]
    reasons = [r["reason"] for r in _table(tmp_path / "spark", "rejects", "2026-11-20").to_pylist()]
    assert any(r.startswith("duplicate id: superseded by the latest version at b.jsonl:") for r in reasons)
    assert f"duplicate id: superseded by the latest version at b.jsonl:{len(recs) - 17}" in reasons


def test_a_jsonl_file_read_in_byte_ranges_gives_the_local_tables(spark, tmp_path):
    """The demo batch as one file read by 4 KiB byte ranges (about 30 tasks; some lines longer than
    a range, so some ranges own no line): the same tables as the local engine's, rejects numbered
    as in the whole file. Added: a blank line, bad lines, an id repeated in the same range and in
    later ranges (the first in the file is named), a line crossing every range boundary."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    again = dict(json.loads(lines[5]), id=first["id"], outlet="Copy Desk")
    p = tmp_path / "big.jsonl"
    short = json.dumps({"id": first["id"], "body": "A short wire line about the port fire."})
    body = lines[:3] + ["", '{"id": "cut", "body": "no end', lines[3], lines[3]] + lines[4:30] + [
        json.dumps(again), "[1, 2]"] + lines[30:] + [json.dumps(again), '{"id": "none", "body": "  "}', short, short]
    p.write_text("\n".join(body) + "\n", encoding="utf-8")
    lo = _run("local", p, tmp_path / "local", "2026-11-20")
    sp = _run("spark", p, tmp_path / "spark", "2026-11-20", **{"spark.split_bytes": 4096})
    assert sp.manifest["spark"]["read_ranges"] > 20
    assert sp.counts == lo.counts and sp.manifest["reject_reasons"] == lo.manifest["reject_reasons"]
    # A duplicate found across ranges carries its text as raw on Spark, the JSON line locally (as across files).
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-20", skip_reject_raw=True)
    a, b = (_table(o, "rejects", "2026-11-20").to_pylist() for o in (tmp_path / "local", tmp_path / "spark"))
    dup = "duplicate id: first seen at big.jsonl:1"
    # 67 and 68 are one range's: its reader sees 68 repeat 67, the first in the file is line 1
    assert {(7, "duplicate id: first seen at big.jsonl:6"), (34, dup), (65, dup), (67, dup), (68, dup)} <= {
        (r["record"], r["reason"]) for r in b if r["reason"].startswith("duplicate")}
    assert {5, 35, 66} <= {r["record"] for r in b if not r["reason"].startswith("duplicate")}
    assert [r["raw"] for r in a if not r["reason"].startswith("duplicate")] == [
        r["raw"] for r in b if not r["reason"].startswith("duplicate")]
    assert m_inputs(sp) == m_inputs(lo)


def m_inputs(result):
    return [(x["path"], x["bytes"], x["sha256"]) for x in result.manifest["inputs"]]


def test_cluster_rules_same_as_local(spark, tmp_path):
    """Issue 12's rules on invented text, over two nights: a roundup page that quotes the ledes of
    three reports (multi-topic: it absorbs none of their short copies), a copy that resembles one
    canonical and is contained in another (best match), table briefs (a copy with a line dropped
    matches on its numbers; another company's table under the same headline is vetoed). Night 2
    brings copies of night-1 stories, whose numbers the state does not keep."""
    from tests.stages.test_cluster_rules import _paragraphs

    reports = {k: _paragraphs(seed, 5) for k, seed in (("a", 1), ("b", 2), ("c", 3))}
    page = ["Live: the day in brief", "08:10", *reports["a"][:2], "09:40", *reports["b"][:2],
            "11:05", *reports["c"][:2], *_paragraphs(9, 2)]
    core, extra, other = _paragraphs(11, 4), _paragraphs(12, 2), _paragraphs(13, 6)
    day = "2026-11-20T08:00:00Z"
    recs = [{"id": "roundup", "outlet": "omega", "headline": "The day in brief", "body": "\n".join(page),
             "published_at": day}]
    for k, paras in reports.items():
        recs.append({"id": f"{k}-full", "outlet": "beta", "headline": f"Report {k}", "body": "\n".join(paras),
                     "published_at": day})
        recs.append({"id": f"{k}-short", "outlet": "gamma", "headline": f"Report {k} in short",
                     "body": "\n".join(paras[:2]), "published_at": day})
    recs += [{"id": k, "outlet": f"o-{k}", "headline": f"Story {k}", "body": "\n".join(v), "published_at": day}
             for k, v in (("copy", core), ("x", core + extra), ("x-copy", core + extra), ("y", core + other))]
    heading = "Acme Corp 1st qtr net"
    recs += [{"id": "brief", "outlet": "wire", "headline": heading, "body": "\n".join(BRIEF), "published_at": day},
             {"id": "brief-copy", "outlet": "post", "headline": heading, "published_at": day,
              "body": "\n".join(BRIEF[:2] + BRIEF[3:]).replace(" vs ", " versus ")},
             {"id": "brief-other", "outlet": "ledger", "headline": heading, "published_at": day,
              "body": "\n".join(BRIEF).replace("4,757,000", "4,575,000")}]
    night2 = [{"id": "copy-2", "outlet": "o-z", "headline": "Story z", "body": "\n".join(core),
               "published_at": "2026-11-21T08:00:00Z"},
              {"id": "a-short-2", "outlet": "delta", "headline": "Report a", "body": "\n".join(reports["a"][:2]),
               "published_at": "2026-11-21T08:00:00Z"},
              {"id": "brief-copy-2", "outlet": "tribune", "headline": heading, "published_at": "2026-11-21T08:00:00Z",
               "body": "\n".join(BRIEF[:3])}]
    # versions of one report (merge_versions), and a live blog quoting one report (never rescued)
    vp, vtop, vfix = _paragraphs(30, 5), _paragraphs(31, 1)[0], _paragraphs(32, 1)[0]
    recs += [{"id": "v-correction", "outlet": "alpha", "headline": "V", "body": "\n".join(vp + [vfix]), "published_at": day},
             {"id": "v-update", "outlet": "alpha", "headline": "V", "body": "\n".join([vtop] + vp[:2]), "published_at": day}]
    recs += [{"id": f"v-copy-{k}", "outlet": f"v{k}", "headline": "V", "body": "\n".join(vp[:2]), "published_at": day}
             for k in range(3)]
    bp, bown = _paragraphs(33, 6), _paragraphs(34, 3)
    recs += [{"id": "b-report", "outlet": "alpha", "headline": "B", "body": "\n".join(bp), "published_at": day},
             {"id": "b-copy", "outlet": "beta", "headline": "B", "body": "\n".join(bp[:2]), "published_at": day},
             {"id": "b-blog", "outlet": "gamma", "headline": "Live", "body": "\n".join(bp[:4] + bown),
              "published_at": day}]
    # a live blog opening with report L's lede and quoting report M's, whose copies are that lede alone
    lp, mp, lown = _paragraphs(35, 6), _paragraphs(36, 6), _paragraphs(37, 2)
    recs += [{"id": "l-full", "outlet": "alpha", "headline": "L", "body": "\n".join(lp), "published_at": day},
             {"id": "lm-blog", "outlet": "gamma", "headline": "Live", "body": "\n".join(lp[:2] + lown + mp[:1]),
              "published_at": day}]
    recs += [{"id": f"m-short-{k}", "outlet": f"m{k}", "headline": "M", "body": mp[0], "published_at": day}
             for k in range(2)]
    long_story = _paragraphs(21, 10)  # and a teaser of it: found through the lede keys
    recs += [{"id": "long", "outlet": "alpha", "headline": "Long report", "body": "\n".join(long_story),
              "published_at": day},
             {"id": "teaser", "outlet": "beta", "headline": "Teaser", "body": long_story[0], "published_at": day},
             # a teaser line under the report's headline: found through the headline keys
             {"id": "teaser-line", "outlet": "gamma", "headline": "Long report",
              "body": " ".join(long_story[0].split()[:8]), "published_at": day}]
    b1, b2 = write_jsonl(tmp_path / "n1.jsonl", recs), write_jsonl(tmp_path / "n2.jsonl", night2)
    results = {}
    for engine in ("local", "spark"):
        results[engine] = [_run(engine, b1, tmp_path / engine, "2026-11-20"),
                           _run(engine, b2, tmp_path / engine, "2026-11-21")]
    for night in ("2026-11-20", "2026-11-21"):
        assert_same_night(tmp_path / "local", tmp_path / "spark", night)
    st = _table(tmp_path / "spark", "stories", "2026-11-20").to_pandas().set_index("story_id")
    cid = st["cluster_id"]
    for k in reports:
        assert cid[f"{k}-full"] == cid[f"{k}-short"]
    assert len({cid[f"{k}-full"] for k in reports}) == 3
    assert sum(cid["roundup"] == cid[f"{k}-full"] for k in reports) <= 1
    assert cid["copy"] == cid["x"] != cid["y"] and st.loc["copy", "relation"] == "near"
    assert cid["brief"] == cid["brief-copy"] != cid["brief-other"]
    assert cid["long"] == cid["teaser"] == cid["teaser-line"]
    assert {cid["v-update"], *(cid[f"v-copy-{k}"] for k in range(3))} == {cid["v-correction"]}
    assert cid["b-copy"] == cid["b-report"] != cid["b-blog"]
    assert cid["m-short-0"] == cid["m-short-1"] != cid["lm-blog"] != cid["l-full"]
    dropped = [r[0].manifest["stages"]["verify"]["multi_topic_dropped"] for r in (results["local"], results["spark"])]
    assert dropped[0] == dropped[1] > 0
    assert results["spark"][1].counts["duplicates"] >= 1


@pytest.fixture(scope="module")
def corpus20k(tmp_path_factory):
    return reuters_corpus(tmp_path_factory, 20_000, seed=21)


def test_20k_stories_over_two_nights_same_clusters_ids_canonicals_and_state(spark, corpus20k, tmp_path):
    """A labeled 20,000-story batch (with outlet chrome), split over two nights: both engines
    write the same tables each night, the same state, and either engine can read the other's."""
    _assert_two_nights_same(corpus20k, "batch.jsonl", tmp_path)


def test_20k_chrome_free_stories_over_two_nights_same_as_local(spark, corpus20k, tmp_path):
    """The same 20,000 stories without outlet chrome (``batch-clean.jsonl``) and with chrome learning
    off: the clustering rules alone (numbers, multi-topic pages, best match, rescue), apart from how
    chrome is learned. (Learning is off because it finds lines even here: an outlet's recurring
    table rows such as "Year" or "Revs ... mln" reach ``chrome.min_stories``.)"""
    _assert_two_nights_same(corpus20k, "batch-clean.jsonl", tmp_path, **{"chrome.enabled": False})


def _assert_two_nights_same(corpus20k: Path, batch: str, tmp_path: Path, **over) -> None:
    lines = (corpus20k / batch).read_text(encoding="utf-8").splitlines()
    random.Random(3).shuffle(lines)
    cut = int(len(lines) * 0.6)
    n1 = tmp_path / "n1.jsonl"
    n2 = tmp_path / "n2.jsonl"
    n1.write_text("\n".join(lines[:cut]) + "\n", encoding="utf-8")
    n2.write_text("\n".join(lines[cut:]) + "\n", encoding="utf-8")
    verify_figures = {}
    for engine in ("local", "spark"):
        for f, night in ((n1, "2026-11-20"), (n2, "2026-11-21")):
            v = _run(engine, f, tmp_path / engine, night, **over).manifest["stages"]["verify"]
            verify_figures[engine, night] = (v["pairs"], v["matches"], v["multi_topic_dropped"])
    for night in ("2026-11-20", "2026-11-21"):
        assert_same_night(tmp_path / "local", tmp_path / "spark", night)
        # Same matches; the local engine scores no pair of two window canonicals that no story of
        # tonight shares a key with (its window index reads only the canonicals tonight hits).
        assert verify_figures["local", night][1:] == verify_figures["spark", night][1:]
        assert verify_figures["local", night][0] <= verify_figures["spark", night][0]
    assert verify_figures["local", "2026-11-20"] == verify_figures["spark", "2026-11-20"]
    # Night 2 really used the state: some of its copies joined night-1 clusters.
    s2 = _table(tmp_path / "spark", "stories", "2026-11-21")
    c1 = set(_table(tmp_path / "spark", "clusters", "2026-11-20").column("cluster_id").to_pylist())
    joined = sum(c in c1 for c in s2.column("cluster_id").to_pylist())
    assert joined > 1000
    # Same state content (each engine's own layout).
    for night in ("2026-11-20", "2026-11-21"):
        for name, key in (("canonicals", "cluster_id"), ("members", "story_id")):
            x = pq.read_table(tmp_path / "local" / "_state" / "nights" / f"run_date={night}" / f"{name}.parquet")
            y = pq.read_table(tmp_path / "spark" / "_state" / "nights" / f"run_date={night}" / f"{name}.parquet")
            x = x.sort_by([("cluster_id", "ascending"), ("story_id", "ascending")])
            y = y.sort_by([("cluster_id", "ascending"), ("story_id", "ascending")])
            assert x.column(key).to_pylist() == y.column(key).to_pylist()
            if name == "canonicals":
                assert x.column("shingles").to_pylist() == y.column("shingles").to_pylist()
                assert x.column("signature").to_pylist() == y.column("signature").to_pylist()
    # Quality is the local engine's, against the builder's gold clusters.
    import pandas as pd

    gold = pd.read_csv(corpus20k / "gold.csv", dtype=str)
    both = pd.concat([_table(tmp_path / "spark", "stories", n).to_pandas() for n in ("2026-11-20", "2026-11-21")])
    assert evaluate(both[["story_id", "cluster_id"]], gold).f1 > 0.95
    # The local engine continues from Spark's state exactly as from its own.
    shutil.copytree(tmp_path / "spark", tmp_path / "mixed")
    shutil.rmtree(tmp_path / "mixed" / "_state" / "nights" / "run_date=2026-11-21")
    for t in ("stories", "clusters", "rejects", "runs"):
        shutil.rmtree(tmp_path / "mixed" / t / "run_date=2026-11-21")
    _run("local", n2, tmp_path / "mixed", "2026-11-21", **over)
    assert_same_night(tmp_path / "local", tmp_path / "mixed", "2026-11-21")


def test_spark_submit_script_runs_a_night(spark, tmp_path):
    """jobs/spark-submit.sh: spark-submit starts the driver, the engine joins its session, and the
    night lands with the submitted master (not the config's)."""
    import subprocess

    submit = Path(sys.executable).with_name("spark-submit")
    if not submit.exists():
        pytest.skip("spark-submit not installed beside this interpreter")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"input: {{path: {DEMO}}}\noutput: {{path: {tmp_path / 'out'}}}\n"
                   f"spark: {{master: 'local[1]', partitions: 2}}\n")
    env = {**os.environ, "SPARK_SUBMIT": str(submit), "PYSPARK_PYTHON": sys.executable}
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(["bash", str(root / "jobs" / "spark-submit.sh"), "--config", str(cfg), "--date", "2026-11-20",
                        "--master", "local[2]", "--", "--driver-memory", "1g"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2026-11-20: 59 records, 54 stories" in r.stdout
    m = json.loads((tmp_path / "out" / "runs" / "run_date=2026-11-20" / "manifest.json").read_text())
    assert m["engine"] == "spark" and m["spark"]["master"] == "local[2]"
    bad = subprocess.run(["bash", str(root / "jobs" / "spark-submit.sh"), "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option --bogus" in bad.stderr


def test_driver_memory_reaches_the_jvm_the_engine_starts(spark):
    """spark.driver.memory is set before the JVM starts: the fixture's session (local mode, no memory
    setting) has the documented default heap, not Spark's 1g."""
    from dedup.config import default_driver_memory, size_bytes

    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    want = size_bytes(default_driver_memory())
    assert 0.85 * want <= heap <= want, (heap, want)
    assert spark.sparkContext.getConf().get("spark.driver.memory") == default_driver_memory()


def test_text_folder_input_same_as_local(spark, tmp_path):
    """A folder of .txt pages (headline on line 1, outlet = folder name), several files per task."""
    for outlet in ("harbour-daily", "river-post"):
        d = tmp_path / "pages" / outlet
        d.mkdir(parents=True)
        (d / f"fire-{outlet}.txt").write_text("Port fire under control\n\n" + "\n\n".join(WIRE), encoding="utf-8")
        (d / f"oaks-{outlet}.txt").write_text("Oaks planted\n\n" + "\n\n".join(OTHER[1:] + WIRE[:1]), encoding="utf-8")
    (tmp_path / "pages" / "river-post" / "short.txt").write_text("Fire\n\n" + WIRE[0][:120], encoding="utf-8")
    lo = _run("local", tmp_path / "pages", tmp_path / "local", "2026-11-20")
    sp = _run("spark", tmp_path / "pages", tmp_path / "spark", "2026-11-20")
    assert sp.counts == lo.counts and lo.counts["read"] == 5 and lo.counts["duplicates"] >= 2
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-20")


def test_spark_refingerprints_a_window_made_under_other_settings(spark, tmp_path):
    """Night 1 under shingle_size 4 (local), night 2 under 6: the Spark engine fingerprints the
    window again from its stored text, as the local engine does; both write the same night 2."""
    from tests.night.test_window import _batches

    n1, n2 = _batches(tmp_path)
    for engine in ("local", "spark"):
        _run("local", n1, tmp_path / engine, "2026-11-20")
        _run(engine, n2, tmp_path / engine, "2026-11-21", **{"dedup.shingle_size": 6})
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-21")
    st = _table(tmp_path / "spark", "stories", "2026-11-21").to_pandas().set_index("story_id")
    assert st.loc["late", "canonical_story_id"] == "wire"


def test_records_delivered_again_on_a_later_night_rejected_as_locally(spark, tmp_path):
    # Night 2 repeats some of night 1's ids (one with its text updated) beside new copies.
    recs = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except ValueError:  # the demo's deliberately broken line
            continue
        if isinstance(r, dict) and isinstance(r.get("id"), str) and r.get("body"):
            recs.append(r)
    ids = list(dict.fromkeys(r["id"] for r in recs))
    one = {r["id"]: r for r in reversed(recs)}  # first occurrence of each id
    first, later = [one[i] for i in ids[:30]], [one[i] for i in ids[30:]]
    again = first[:6] + [dict(first[6], body=first[6]["body"] + "\nUpdated with a correction.")]
    n1 = write_jsonl(tmp_path / "n1.jsonl", first)
    n2 = write_jsonl(tmp_path / "n2.jsonl", later + again)
    for engine in ("local", "spark"):
        _run(engine, n1, tmp_path / engine, "2026-11-20")
        res = _run(engine, n2, tmp_path / engine, "2026-11-21")
        assert res.manifest["reject_reasons"]["duplicate id of an earlier night"] == 7, engine
    assert_same_night(tmp_path / "local", tmp_path / "spark", "2026-11-21")
    rejects = _table(tmp_path / "spark", "rejects", "2026-11-21").to_pandas()
    assert (rejects.reason == "duplicate id: first seen at night 2026-11-20").sum() == 7
