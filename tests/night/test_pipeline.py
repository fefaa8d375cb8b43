"""The whole job, through the CLI and the library, on the demo batch and on small batches."""
import json
import shutil

import pandas as pd
import pytest

from dedup import load_config, run

from tests.conftest import DEMO, DEMO_GOLD, OTHER, ROOT, WIRE, shared_path, write_jsonl

STORY_COLUMNS = ["story_id", "outlet", "url", "headline", "published_at", "cluster_id", "is_canonical", "similarity", "body_clean"]
CLUSTER_COLUMNS = ["cluster_id", "canonical_story_id", "headline", "body", "size", "outlets", "story_ids",
                   "first_published_at", "last_published_at"]
REJECT_COLUMNS = ["source", "record", "story_id", "reason", "raw"]


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    res = run(load_config(ROOT / "configs" / "demo.yaml", output=str(out)))
    return out, res


def test_demo_contract_columns_and_types(demo_out):
    out, _ = demo_out
    s = pd.read_parquet(out / "stories")
    c = pd.read_parquet(out / "clusters")
    r = pd.read_parquet(out / "rejects")
    assert set(STORY_COLUMNS + ["run_date"]) <= set(s.columns)
    assert set(CLUSTER_COLUMNS + ["run_date"]) <= set(c.columns)
    assert set(REJECT_COLUMNS + ["run_date"]) <= set(r.columns)
    assert str(s.published_at.dtype) == "datetime64[us, UTC]"
    assert s.is_canonical.dtype == bool and s.similarity.dtype == float
    assert set(s.run_date.astype(str)) == {"2026-11-26"}
    # clusters agree with stories
    assert c["size"].sum() == len(s)
    assert c.cluster_id.is_unique and s.story_id.is_unique
    for row in c.itertuples():
        members = s[s.cluster_id == row.cluster_id]
        assert sorted(members.story_id) == sorted(row.story_ids)
        assert members[members.is_canonical].story_id.tolist() == [row.canonical_story_id]
        assert sorted(set(members.outlet)) == sorted(row.outlets)


def test_demo_every_record_in_exactly_one_table(demo_out):
    out, res = demo_out
    s = pd.read_parquet(out / "stories")
    r = pd.read_parquet(out / "rejects")
    n_lines = sum(1 for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip())
    assert len(s) + len(r) == n_lines == res.counts["read"]
    keys = set(zip(s.source, s.record)) | set(zip(r.source, r.record))
    assert len(keys) == n_lines


def test_manifest_started_at_is_when_the_night_began(tmp_path, monkeypatch):
    # The manifest is written at the night's end; started_at is that moment less the night's seconds.
    import datetime as dt
    import time

    from dedup.night import manifest

    class SlowClock:  # the night appears to have taken 100 s more than it did
        @staticmethod
        def perf_counter():
            return time.perf_counter() + 100

    monkeypatch.setattr(manifest, "time", SlowClock)
    out = tmp_path / "out"
    run(load_config(ROOT / "configs" / "demo.yaml", output=str(out)))
    path = out / "runs" / "run_date=2026-11-26" / "manifest.json"
    m = json.loads(path.read_text())
    started = dt.datetime.fromisoformat(m["started_at"]).timestamp()
    assert m["seconds_total"] >= 100
    assert abs(started + m["seconds_total"] - path.stat().st_mtime) < 5


def test_demo_clusters_match_gold(demo_out):
    out, _ = demo_out
    s = pd.read_parquet(out / "stories")
    from dedup.tools.evaluate import evaluate

    gold = pd.read_csv(DEMO_GOLD, dtype=str)
    res = evaluate(s[["story_id", "cluster_id"]], gold)
    assert res.precision == 1.0
    assert res.recall >= 0.95


def test_demo_manifest(demo_out):
    out, res = demo_out
    m = json.loads((out / "runs" / "run_date=2026-11-26" / "manifest.json").read_text())
    assert m["counts"] == res.counts
    assert {"read", "clean", "fingerprint", "candidates", "verify", "cluster", "write"} <= set(m["stages"])
    # Stages run one after another inside the night: their seconds add up to at most its total.
    assert 0 < sum(st["seconds"] for st in m["stages"].values()) <= m["seconds_total"] + 0.01
    # CPU time per stage, every thread's: the one in clean covers fingerprint too (they run at once).
    cpu = {k: st.get("cpu_seconds") for k, st in m["stages"].items()}
    assert cpu["fingerprint"] is None and m["stages"]["clean"]["cpu_seconds_include"] == "fingerprint"
    assert all(v >= 0 for k, v in cpu.items() if k != "fingerprint") and cpu["clean"] > 0
    # ... and the part of it spent in the kernel, never more than the whole.
    sys_s = {k: st.get("system_seconds") for k, st in m["stages"].items() if k != "fingerprint"}
    assert all(0 <= sys_s[k] <= cpu[k] + 0.01 for k in sys_s)
    assert m["inputs"][0]["sha256"] and m["inputs"][0]["bytes"] == DEMO.stat().st_size
    assert m["config"]["dedup"]["num_perm"] == 64
    assert m["versions"]["datasketch"] == "2.0.0"
    assert sum(m["chrome_lines_removed_by_outlet"].values()) > 0


def test_rerun_replaces_the_night_whole(tmp_path, cli):
    out = tmp_path / "out"
    batch = write_jsonl(tmp_path / "b.jsonl", [{"id": f"s{i}", "body": w} for i, w in enumerate(WIRE + OTHER)])
    assert cli("run", "--input", batch, "--output", out, "--run-date", "2026-11-20").exit_code == 0
    small = write_jsonl(tmp_path / "c.jsonl", [{"id": "only", "body": WIRE[0]}])
    assert cli("run", "--input", small, "--output", out, "--run-date", "2026-11-21").exit_code == 0
    # Night 2026-11-21's very file for 2026-11-20: refused unless asked for (test_nights: same input).
    assert cli("run", "--input", small, "--output", out, "--run-date", "2026-11-20").exit_code == 1
    assert cli("run", "--input", small, "--output", out, "--run-date", "2026-11-20",
               "--allow-same-input").exit_code == 0
    s = pd.read_parquet(out / "stories")
    assert sorted(s[s.run_date.astype(str) == "2026-11-20"].story_id) == ["only"]
    assert sorted(s[s.run_date.astype(str) == "2026-11-21"].story_id) == ["only"]
    assert not list(out.glob(".staging/*")) and not list(out.glob(".commit-*"))


def test_syndicated_copies_cluster_through_the_cli(tmp_path, cli):
    full = "\n".join(WIRE)
    chrome = "\n".join(["THE ORRVALE POST", "Subscribe today for full access to every story.", "Next Story"])
    recs = [
        {"id": "wire", "body": "TALLVIK, Nov 24 (Reuters) - " + full, "outlet": "Wire", "published_at": "2026-11-24T01:00:00Z"},
        {"id": "post", "body": chrome + "\nTallvik (Reuters): " + full.replace("twenty-two", "22") + "\n" + chrome,
         "outlet": "Post", "headline": "Fire on grain ship put out"},
        {"id": "short", "body": "\n".join(WIRE[:2]), "outlet": "Ledger"},
        *[{"id": f"o{i}", "body": o, "outlet": "Post"} for i, o in enumerate(OTHER)],
    ]
    out = tmp_path / "out"
    r = cli("run", "--input", write_jsonl(tmp_path / "b.jsonl", recs), "--output", out, "--run-date", "2026-11-24")
    assert r.exit_code == 0, r.output
    s = pd.read_parquet(out / "stories").set_index("story_id")
    assert s.loc["post", "cluster_id"] == s.loc["wire", "cluster_id"] == s.loc["short", "cluster_id"]
    assert s.loc["wire", "is_canonical"] and s.loc["short", "relation"] == "truncated"
    assert s.loc["post", "agency"] == "Reuters"
    assert len({s.loc[f"o{i}", "cluster_id"] for i in range(3)} | {s.loc["wire", "cluster_id"]}) == 4
    assert "Subscribe" not in s.loc["post", "body_clean"]


def test_config_errors_are_one_line_exit_2(tmp_path, cli):
    bad = tmp_path / "c.yaml"
    bad.write_text("input:\n  path: x.jsonl\n  colour: blue\noutput:\n  path: out\n")
    r = cli("run", "--config", bad)
    assert r.exit_code == 2 and "input.colour" in r.output and "Traceback" not in r.output
    bad.write_text("input:\n  path: x.jsonl\noutput:\n  path: out\ndedup:\n  num_perm: many\n")
    r = cli("run", "--config", bad)
    assert r.exit_code == 2 and "dedup.num_perm" in r.output
    good = tmp_path / "g.yaml"
    good.write_text(f"input:\n  path: {tmp_path / 'missing.jsonl'}\noutput:\n  path: {tmp_path / 'out'}\n")
    r = cli("run", "--config", good)
    assert r.exit_code == 2 and "input.path not found" in r.output
    r = cli("run", "--config", tmp_path / "nope.yaml")
    assert r.exit_code == 2 and "config file not found" in r.output


def test_mostly_garbage_fails_and_writes_nothing(tmp_path, cli):
    recs = ["{broken"] * 8 + [{"id": "a", "body": WIRE[0]}, {"id": "b", "body": WIRE[1]}]
    out = tmp_path / "out"
    r = cli("run", "--input", write_jsonl(tmp_path / "b.jsonl", recs), "--output", out, "--run-date", "2026-11-24")
    assert r.exit_code == 1 and "max_reject_ratio" in r.output
    assert not (out / "stories").exists()


def test_empty_batch_fails_unless_allowed_then_writes_empty_tables(tmp_path, cli):
    (tmp_path / "e.jsonl").write_text("")
    out = tmp_path / "out"
    r = cli("run", "--input", tmp_path / "e.jsonl", "--output", out, "--run-date", "2026-11-24")
    assert r.exit_code == 1 and "no records were read" in r.output and not (out / "stories").exists()
    (tmp_path / "c.yaml").write_text("input: {allow_empty: true}\n")
    r = cli("run", "--config", tmp_path / "c.yaml", "--input", tmp_path / "e.jsonl", "--output", out,
            "--run-date", "2026-11-24")
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(out / "stories")) == 0 and len(pd.read_parquet(out / "clusters")) == 0


def test_seed_copy_and_its_republication_form_one_cluster(tmp_path):
    """The real Business Standard/AFP page plus the copy another outlet would run, in the demo batch."""
    seed = shared_path("seeds", "000_0571628a3c700f2a.txt").read_text(encoding="utf-8")
    headline, body = seed.split("\n", 1)
    paras = [p for p in body.split("\n") if len(p.split()) > 15][:4]
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(DEMO, batch / "demo.jsonl")
    write_jsonl(batch / "extra.jsonl", [
        {"id": "seed-bs", "body": body, "headline": headline, "outlet": "Business Standard"},
        {"id": "seed-copy", "body": "VLADIVOSTOK (AFP) - " + "\n".join(paras), "outlet": "Orrvale Post",
         "headline": "Putin and Abe fail to break island deadlock"},
    ])
    out = tmp_path / "out"
    run(load_config(input=str(batch), output=str(out), run_date="2026-11-26"))
    s = pd.read_parquet(out / "stories").set_index("story_id")
    cid = s.loc["seed-bs", "cluster_id"]
    assert sorted(s.index[s.cluster_id == cid]) == ["seed-bs", "seed-copy"]
    clean = s.loc["seed-bs", "body_clean"]
    for chrome in ("Subscribe", "Disclaimer", "Next Story", "₹", "Smart Quarterly", "Last Updated"):
        assert chrome not in clean
    assert s.loc["seed-copy", "relation"] == "truncated"


def test_run_date_reads_back_as_the_readme_says(tmp_path):
    """README: in pandas run_date is a categorical of strings; the string filters select one night."""
    out = tmp_path / "out"
    for night, k in (("2026-11-20", 0), ("2026-11-21", 1)):
        run(load_config(input=str(write_jsonl(tmp_path / f"{night}.jsonl", [
            {"id": f"{night}-{i}", "body": OTHER[(i + k) % 3] + f" No {i}."} for i in range(3)])),
            output=str(out), run_date=night))
    s = pd.read_parquet(out / "stories")
    assert isinstance(s.run_date.dtype, pd.CategoricalDtype) and set(map(type, s.run_date.cat.categories)) == {str}
    assert sorted(s[s.run_date == "2026-11-21"].story_id.str[:10].unique()) == ["2026-11-21"]
    one = pd.read_parquet(out / "stories", filters=[("run_date", "=", "2026-11-20")])
    assert len(one) == 3 and set(one.run_date.astype(str)) == {"2026-11-20"}
    assert pd.to_datetime(s.run_date.astype(str)).dt.date.min().isoformat() == "2026-11-20"



def test_the_clusters_file_lists_the_largest_first_then_by_id(tmp_path, monkeypatch):
    """clusters/ is written in slices (``staging.WRITE_SLICE``); the file still holds its rows
    largest first, ties by cluster id, whichever slice a row falls in."""
    import pyarrow.parquet as pq

    from dedup.night import staging

    monkeypatch.setattr(staging, "WRITE_SLICE", 2)
    wire = "\n".join(WIRE)
    records = ([{"id": f"w{i}", "outlet": f"o{i}", "body": wire} for i in range(3)]
               + [{"id": f"a{i}", "outlet": f"o{i}", "body": OTHER[0]} for i in range(2)]
               + [{"id": f"s{i}", "body": b} for i, b in enumerate(OTHER[1:])])
    out = tmp_path / "out"
    run(load_config(input=str(write_jsonl(tmp_path / "b.jsonl", records)), output=str(out), run_date="2026-11-26"))
    (part,) = (out / "clusters").rglob("*.parquet")
    c = pq.read_table(part).to_pandas()
    assert list(c["size"][:2]) == [3, 2] and len(c) == 2 + len(OTHER) - 1
    assert [(s, i) for s, i in zip(c["size"], c.cluster_id)] == sorted(zip(c["size"], c.cluster_id),
                                                                      key=lambda r: (-r[0], r[1]))
    assert pq.ParquetFile(part).metadata.num_row_groups == -(-len(c) // 2)


def test_a_night_of_mostly_rejects_keeps_each_in_order_when_allowed(tmp_path):
    """A feed that renamed its id field for most of a night (rejects from many chunks, held on disk
    until the write stage): with input.max_reject_ratio 1.0 the night is written, every record is in
    exactly one table, and the rejects keep their read order and raw text."""
    body = " ".join(WIRE)
    recs = [{"id": f"ok-{i}", "body": body} if i % 10 == 0 else {"ident": f"bad-{i}", "body": f"{i} {body}"}
            for i in range(250)]
    out = tmp_path / "out"
    res = run(load_config(input=str(write_jsonl(tmp_path / "b.jsonl", recs)), output=str(out), run_date="2026-11-26",
                          overrides={"input.max_reject_ratio": 1.0, "run.chunk_size": 100}))
    s, r = pd.read_parquet(out / "stories"), pd.read_parquet(out / "rejects")
    assert len(s) == 25 and len(r) == 225 == res.counts["rejected"]
    assert r.record.tolist() == [i + 1 for i in range(250) if i % 10]  # line numbers, in order
    assert set(r.reason) == {"missing id (field 'id')"}
    assert all(raw.startswith(f'{{"ident": "bad-{n - 1}"') for raw, n in zip(r.raw, r.record))
