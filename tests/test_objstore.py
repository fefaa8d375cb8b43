"""input.path as an object-store URL (issue 16): the local engine reads a night's feed from a bucket
through fsspec exactly as from disk. The bucket is moto's S3 server, started here on a free local
port (no network, no credentials of anyone's)."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import OTHER, WIRE
from tests.test_urls import _night_tables

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

NIGHT = "2026-11-26"
BUCKET = "nightly-feeds"


@pytest.fixture(scope="module")
def s3():
    """A boto3 S3 client on a moto server; AWS_* variables point fsspec/s3fs at it for the module."""
    import boto3
    import s3fs

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def _story(i, outlet, paras, **extra):
    return {"id": f"{outlet}-{i}", "outlet": outlet, "headline": paras[0][:60],
            "body": "\n\n".join(paras), "published_at": f"{NIGHT}T0{i % 10}:15:00Z", **extra}


def _feed(folder):
    """Tonight's feed in three formats, written by us: a JSONL.gz (with one bad line), a CSV and a
    Parquet file, holding copies of the same wire story across them and unrelated stories."""
    folder.mkdir(parents=True)
    jsonl = [_story(1, "herald", WIRE), _story(2, "herald", OTHER), _story(3, "courier", WIRE[:4])]
    lines = [json.dumps(r) for r in jsonl] + ["{not json"]
    (folder / "wire.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    csv_rows = [_story(4, "gazette", WIRE[1:]), _story(5, "gazette", OTHER[1:] + WIRE[:1])]
    with open(folder / "regional.csv", "w", encoding="utf-8", newline="") as fh:
        import csv

        w = csv.DictWriter(fh, fieldnames=list(csv_rows[0]))
        w.writeheader()
        w.writerows(csv_rows)
    pq.write_table(pa.Table.from_pylist([_story(6, "ledger", WIRE), _story(7, "ledger", OTHER[:2]),
                                         _story(1, "herald", OTHER)]),  # a duplicate id across files
                   folder / "partner.parquet")
    return sorted(folder.iterdir())


def _upload(client, files, prefix):
    for p in files:
        client.upload_file(str(p), BUCKET, f"{prefix}/{p.name}")


def _tables(out, state):
    return _night_tables(out, state, NIGHT)


def test_a_night_read_from_a_bucket_equals_the_same_files_read_from_disk(tmp_path, s3, cli):
    files = _feed(tmp_path / "feed" / NIGHT)
    _upload(s3, files, f"feed/{NIGHT}")
    runs = {}
    for name, template in (("disk", f"{tmp_path}/feed/{{run_date}}/*"), ("s3", f"s3://{BUCKET}/feed/{{run_date}}/*")):
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(f"input: {{path: '{template}'}}\noutput: {{path: '{tmp_path / name / 'out'}'}}\n"
                       f"state: {{path: '{tmp_path / name / 'state'}'}}\n")
        r = cli("run", "--config", cfg, "--run-date", NIGHT, "-q")
        assert r.exit_code == 0, r.output
        runs[name] = _tables(tmp_path / name / "out", tmp_path / name / "state")
    disk, url = runs["disk"], runs["s3"]
    assert disk.keys() == url.keys() and any(k.startswith("out/stories/") for k in disk)
    stories = disk[f"out/stories/run_date={NIGHT}/part-0.parquet"]
    assert stories.num_rows == 7  # 8 records: one bad JSON line, one duplicate id
    assert len(set(stories.column("cluster_id").to_pylist())) < stories.num_rows  # the wire copies met
    for k, t in disk.items():
        u = url[k]
        if "source" in t.column_names:
            # the one difference: where a record came from is the object's URL
            want = [f"s3://{BUCKET}/feed/{NIGHT}/{os.path.basename(s)}" for s in t.column("source").to_pylist()]
            assert u.column("source").to_pylist() == want, k
            t, u = t.drop_columns(["source"]), u.drop_columns(["source"])
        assert t.equals(u), k
    rejects = disk[f"out/rejects/run_date={NIGHT}/part-0.parquet"]
    assert sorted(rejects.column("reason").to_pylist())[0].startswith("duplicate id")
    m = json.loads((tmp_path / "s3" / "out" / "runs" / f"run_date={NIGHT}" / "manifest.json").read_text())
    want = {f"s3://{BUCKET}/feed/{NIGHT}/{p.name}": (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
            for p in files}
    assert {i["path"]: (i["sha256"], i["bytes"]) for i in m["inputs"]} == want


def test_strftime_folders_and_text_folders_read_from_a_bucket_as_from_disk(tmp_path, s3):
    from dedup.config import load_config
    from dedup.stages.read import ReadStats, discover, read_chunks

    pages = tmp_path / "pages" / "2026" / "11" / "26" / "tribune"
    pages.mkdir(parents=True)
    (pages / "fire.txt").write_text("Fire on a grain ship\n" + "\n\n".join(WIRE), encoding="utf-8")
    (pages / "trees.txt").write_bytes(("Oaks by the river \u2013 planted\n" + OTHER[1]).encode("cp1252"))
    (pages / ".hidden.txt").write_text("not an input\nignored")
    _upload(s3, sorted(pages.iterdir()), "pages/2026/11/26/tribune")
    got = {}
    for name, template in (("disk", f"{tmp_path}/pages/%Y/%m/%d"), ("s3", f"s3://{BUCKET}/pages/%Y/%m/%d/")):
        inp = load_config(input=template, output=str(tmp_path / "out"), run_date=NIGHT,
                          overrides={"input.format": "text"}).input
        files = discover(inp)
        stats = ReadStats()
        chunks = list(read_chunks(files, inp, 2000, 100, stats))
        got[name] = (files, pa.concat_tables([c[0] for c in chunks]), stats)
    (dfiles, dt, dstats), (ufiles, ut, ustats) = got["disk"], got["s3"]
    assert [f.path for f in ufiles] == [f"s3://{BUCKET}/pages/2026/11/26/tribune/{n}" for n in ("fire.txt", "trees.txt")]
    assert [(f.format, f.bytes) for f in ufiles] == [(f.format, f.bytes) for f in dfiles]
    assert dt.num_rows == 2 and ut.column("outlet").to_pylist() == ["tribune", "tribune"]
    assert ut.drop_columns(["source"]).equals(dt.drop_columns(["source"]))
    assert (ustats.records, ustats.accepted, ustats.reencoded) == (dstats.records, dstats.accepted, dstats.reencoded) == (2, 2, 1)
    one = discover(load_config(input=ufiles[0].path, output=str(tmp_path / "out"), run_date=NIGHT).input)
    assert [(f.path, f.format, f.bytes) for f in one] == [(ufiles[0].path, "text", (pages / "fire.txt").stat().st_size)]


@pytest.mark.parametrize("url,expect", [
    (f"s3://no-such-bucket-{NIGHT}/feed.jsonl", "input.path not found: s3://no-such-bucket"),
    (f"s3://{BUCKET}/feed/1999-01-01/*.jsonl", "input.path matches no files: s3://"),
    (f"s3://{BUCKET}/missing/feed.jsonl.gz", "input.path not found: s3://"),
])
def test_a_missing_bucket_or_object_is_one_line(tmp_path, s3, cli, url, expect):
    r = cli("run", "--input", url, "--output", tmp_path / "out", "--run-date", NIGHT)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dedup: error: {expect}"), r.output
    assert not (tmp_path / "out" / "stories").exists()


def test_a_store_error_is_one_line(tmp_path, s3, cli, monkeypatch):
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: connection refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        r = cli("run", "--input", f"s3://{BUCKET}/feed/*.jsonl", "--output", tmp_path / "out", "--run-date", NIGHT)
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dedup: error: input.path s3://{BUCKET}/feed/*.jsonl cannot be listed: ")


def test_a_missing_file_system_names_the_pip_extra(tmp_path, cli, monkeypatch):
    import importlib

    registry = importlib.import_module("fsspec.registry")  # the module (fsspec.registry is its mapping)
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as where dedup[s3] is not installed: import fails
    monkeypatch.delitem(registry._registry, "s3", raising=False)
    r = cli("run", "--input", "s3://bucket/feed/*.jsonl", "--output", tmp_path / "out", "--run-date", NIGHT)
    assert r.exit_code == 2
    assert r.output.strip() == ("dedup: error: config key 'input.path': reading s3:// needs fsspec's file system "
                                "for it, which is not installed: pip install 'dedup[s3]'")
    assert not (tmp_path / "out").exists()


def test_a_store_without_our_extra_names_its_fsspec_package(tmp_path, cli):
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here")
    r = cli("run", "--input", "gs://bucket/feed/{run_date}/*.jsonl", "--output", tmp_path / "out", "--run-date", NIGHT)
    assert r.exit_code == 2
    assert r.output.strip() == ("dedup: error: config key 'input.path': reading gs:// needs fsspec's file system "
                                "for it, which is not installed: pip install gcsfs")


@pytest.mark.parametrize("flag", ["--output", "--state"])
def test_output_and_state_stay_local_because_the_commit_is_a_rename(tmp_path, cli, flag):
    args = ["--output", "s3://bucket/out"] if flag == "--output" else ["--output", tmp_path / "out"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("input: {path: 's3://bucket/feed/*.jsonl'}\n" + ("state: {path: 's3://bucket/state'}\n"
                                                                     if flag == "--state" else ""))
    r = cli("run", "--config", cfg, *args, "--run-date", NIGHT)
    assert r.exit_code == 2
    key = "output.path" if flag == "--output" else "state.path"
    assert r.output.strip().startswith(f"dedup: error: config key '{key}': s3:// URLs are not supported yet")
    assert "renames on a POSIX file system" in r.output and len(r.output.strip().splitlines()) == 1


def test_the_spark_engine_refuses_an_object_store_input_in_one_line(tmp_path, cli):
    r = cli("run", "--input", "s3://bucket/feed/*.jsonl", "--output", tmp_path / "out", "--run-date", NIGHT,
            "--engine", "spark")
    assert r.exit_code == 2
    assert r.output.strip().startswith("dedup: error: config key 'input.path': the spark engine cannot read s3:// "
                                       "inputs")
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
