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


def test_parquet_output_on_a_bucket_is_refused_saying_to_use_delta(tmp_path, cli):
    r = cli("run", "--input", "s3://bucket/feed/*.jsonl", "--output", "s3://bucket/out", "--run-date", NIGHT)
    assert r.exit_code == 2
    assert r.output.strip() == ("dedup: error: config key 'output.format': parquet output cannot be committed on "
                                "s3:// (object storage has no atomic rename, readers could see half a night): set "
                                "output.format: delta")


@pytest.mark.parametrize("key", ["output", "state"])
def test_the_spark_engine_on_a_cluster_refuses_an_object_store_output_or_state_in_one_line(tmp_path, cli, key):
    cfg = tmp_path / "c.yaml"
    out = "s3://bucket/out" if key == "output" else str(tmp_path / "out")
    cfg.write_text(f"input: {{path: '{tmp_path}/feed.jsonl'}}\noutput: {{path: '{out}', format: delta}}\n"
                   "spark: {master: yarn}\n" + ("state: {path: 's3a://bucket/state'}\n" if key == "state" else ""))
    r = cli("run", "--config", cfg, "--run-date", NIGHT, "--engine", "spark")
    assert r.exit_code == 2
    scheme = "s3" if key == "output" else "s3a"
    assert r.output.strip().startswith(f"dedup: error: config key '{key}.path': {scheme}:// with run.engine: spark "
                                       "needs a local master (spark.master: local[*], not yarn)")
    assert "hadoop-aws" in r.output and "mounted on every node" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_the_spark_engine_on_a_cluster_refuses_an_object_store_input_and_delta_in_one_line(tmp_path, cli):
    cfg = tmp_path / "k8s.yaml"
    cfg.write_text("input: {path: 's3://bucket/feed/*.jsonl'}\nspark: {master: 'k8s://https://k8s.example:443'}\n")
    r = cli("run", "--config", cfg, "--output", tmp_path / "out", "--run-date", NIGHT, "--engine", "spark")
    assert r.exit_code == 2, r.output
    assert r.output.strip().startswith("dedup: error: config key 'input.path': s3:// with run.engine: spark needs a "
                                       "local master")
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"input: {{path: '{tmp_path}/feed.jsonl'}}\noutput: {{path: '{tmp_path}/out', format: delta}}\n"
                   "run: {engine: spark}\nspark: {master: yarn}\n")
    r = cli("run", "--config", cfg, "--run-date", NIGHT)
    assert r.exit_code == 2 and "delta with run.engine: spark needs a local master" in r.output, r.output
    assert not (tmp_path / "out").exists()


# -- a night written to a bucket (output.format: delta, state on the bucket) ----------------------

NIGHT2 = "2026-11-27"


def _night2(folder):
    """The next night: a further copy of the wire story (it joins night 1's cluster) and a new one."""
    folder.mkdir(parents=True)
    rows = [_story(8, "tribune", WIRE[:5]), _story(9, "tribune", OTHER[2:] + OTHER[:1])]
    (folder / "wire.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return sorted(folder.iterdir())


def _delta_night(uri, night):
    """One night of a Delta table as Arrow, sorted by its id column, without run_date."""
    from deltalake import DeltaTable

    from dedup.night.remote import storage_options

    t = DeltaTable(uri, storage_options=storage_options() or None).to_pyarrow_table()
    t = t.filter(pa.compute.equal(t.column("run_date"), night)).drop_columns(["run_date"])
    key = "story_id" if "story_id" in t.column_names and "record" not in t.column_names else "cluster_id"
    key = ["source", "record"] if "record" in t.column_names else [key]
    return t.sort_by([(k, "ascending") for k in key])


def _disk_night(out, table, night, like):
    t = pq.read_table(out / table / f"run_date={night}")
    t = t.select([c for c in like.column_names]).cast(like.schema)
    key = ["source", "record"] if "record" in t.column_names else ["story_id" if table == "stories" else "cluster_id"]
    return t.sort_by([(k, "ascending") for k in key])


def _same_but_source(disk, bucket, prefix):
    if "source" in disk.column_names:
        want = [f"{prefix}/{os.path.basename(s)}" for s in disk.column("source").to_pylist()]
        assert bucket.column("source").to_pylist() == want
        disk, bucket = disk.drop_columns(["source"]), bucket.drop_columns(["source"])
    assert disk.equals(bucket)


@pytest.fixture()
def two_nights(tmp_path, s3, cli):
    """Two nights run on disk (parquet, local state) and on the bucket (input, delta output and
    state all on it); returns (runner, disk output, bucket output URL, feeds)."""
    import uuid

    feeds = {NIGHT: _feed(tmp_path / "feed" / NIGHT), NIGHT2: _night2(tmp_path / "feed" / NIGHT2)}
    run = uuid.uuid4().hex[:8]
    for night, files in feeds.items():
        _upload(s3, files, f"{run}/feed/{night}")
    bucket_out = f"s3://{BUCKET}/{run}/out"
    disk = tmp_path / "disk.yaml"
    disk.write_text(f"input: {{path: '{tmp_path}/feed/{{run_date}}/*'}}\noutput: {{path: '{tmp_path / 'out'}'}}\n")
    bucket = tmp_path / "bucket.yaml"
    bucket.write_text(f"input: {{path: 's3://{BUCKET}/{run}/feed/{{run_date}}/*'}}\n"
                      f"output: {{path: '{bucket_out}', format: delta}}\n")

    def night(which, n, *extra, code=0):
        r = cli("run", "--config", disk if which == "disk" else bucket, "--run-date", n, "-q", *extra)
        assert r.exit_code == code, r.output
        return r

    return night, tmp_path / "out", bucket_out, f"s3://{BUCKET}/{run}/feed"


def test_two_nights_on_a_bucket_equal_the_same_nights_on_disk_and_a_rerun_replaces_its_night(two_nights, s3):
    from deltalake import DeltaTable

    from dedup.night.remote import remote_nights, storage_options

    night, disk_out, bucket_out, feed = two_nights
    for n in (NIGHT, NIGHT2):
        night("disk", n)
        r = night("bucket", n)
        assert r.output.strip().endswith(f"-> {bucket_out}")
    for n in (NIGHT, NIGHT2):
        for table in ("stories", "clusters", "rejects"):
            b = _delta_night(f"{bucket_out}/{table}", n)
            _same_but_source(_disk_night(disk_out, table, n, b), b, f"{feed}/{n}")
    # night 2's copy joined night 1's cluster through the state on the bucket, with night 1's id
    s1, s2 = _delta_night(f"{bucket_out}/stories", NIGHT), _delta_night(f"{bucket_out}/stories", NIGHT2)
    joined = set(s1.column("cluster_id").to_pylist()) & set(s2.column("cluster_id").to_pylist())
    assert joined
    state = remote_nights(f"{bucket_out}/_state")
    assert list(state) == [NIGHT, NIGHT2]
    # the state night on the bucket holds the same canonicals as on disk
    import s3fs

    fs = s3fs.S3FileSystem()
    key = f"{bucket_out[5:]}/_state/nights/run_date={NIGHT2}/{state[NIGHT2]}/canonicals.parquet"
    with fs.open(key, "rb") as fh:
        assert pq.read_table(fh).equals(pq.read_table(disk_out / "_state" / "nights" / f"run_date={NIGHT2}"
                                                      / "canonicals.parquet"))
    # a rerun replaces its night: same rows, no duplicates, one state version of the night
    before = {t: _delta_night(f"{bucket_out}/{t}", NIGHT2) for t in ("stories", "clusters", "rejects")}
    # the earlier nights' manifests on the bucket are checked: another night reading night 2's objects fails
    r = night("bucket", "2026-11-28", "--input", f"{feed}/{NIGHT2}/*", code=1)
    assert NIGHT2 in r.output and "2026-11-28" not in remote_nights(f"{bucket_out}/_state"), r.output
    night("bucket", NIGHT2)
    for t, b in before.items():
        after = _delta_night(f"{bucket_out}/{t}", NIGHT2)
        assert after.num_rows == b.num_rows and after.equals(b), t
    ids = pa.concat_tables([_delta_night(f"{bucket_out}/stories", n) for n in (NIGHT, NIGHT2)]).column("story_id")
    assert len(set(ids.to_pylist())) == len(ids)
    assert DeltaTable(f"{bucket_out}/stories", storage_options=storage_options() or None).version() == 2
    versions = fs.ls(f"{bucket_out[5:]}/_state/nights/run_date={NIGHT2}", refresh=True)
    assert len(versions) == 1 and versions[0].endswith(remote_nights(f"{bucket_out}/_state")[NIGHT2])
    assert not fs.exists(f"{bucket_out[5:]}/_state/run.lock")
    m = json.loads(fs.cat_file(f"{bucket_out[5:]}/runs/run_date={NIGHT2}/manifest.json"))
    assert m["output"] == {"format": "delta", "delta_versions": {"stories": 2, "clusters": 2, "rejects": 2}}
    assert m["state"]["path"] == f"{bucket_out}/_state"


def _commit_dies_after_one_table(monkeypatch):
    """Make a night's publish die after its first Delta table (KeyboardInterrupt, where a SIGKILL
    would stop the process): returns the list of tables written and a function that puts the real
    writer back."""
    from dedup.night import remote

    real, calls = remote.write_delta, []

    def dies_after_one(*a, **k):
        if calls:
            raise KeyboardInterrupt("killed mid-commit")
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(remote, "write_delta", dies_after_one)
    return calls, lambda: monkeypatch.setattr(remote, "write_delta", real)


def test_a_commit_killed_after_one_table_leaves_whole_nights_and_a_rerun_finishes_it(two_nights, s3, monkeypatch,
                                                                                      tmp_path):
    night, _, bucket_out, feed = two_nights
    import s3fs

    night("bucket", NIGHT)
    old = {t: _delta_night(f"{bucket_out}/{t}", NIGHT) for t in ("stories", "clusters", "rejects")}
    fs = s3fs.S3FileSystem()
    runs = f"{bucket_out[5:]}/runs/run_date={NIGHT}/manifest.json"
    read = json.loads(fs.cat_file(runs))["counts"]["read"]
    # the feed grows by one story (so the new night differs from the old), and the commit dies
    # after the first table
    extra = tmp_path / "late.jsonl"
    extra.write_text(json.dumps(_story(10, "tribune", OTHER[1:])) + "\n", encoding="utf-8")
    _upload(s3, [extra], feed[len(f"s3://{BUCKET}/"):] + f"/{NIGHT}")
    calls, restore = _commit_dies_after_one_table(monkeypatch)
    from dedup.config import load_config
    from dedup.night.run import run

    settings = load_config(input=f"{feed}/{{run_date}}/*", output=bucket_out, run_date=NIGHT,
                           overrides={"output.format": "delta", "input.same_input": "allow"})
    with pytest.raises(KeyboardInterrupt):
        run(settings)
    half = {t: _delta_night(f"{bucket_out}/{t}", NIGHT) for t in old}
    assert half["stories"].num_rows == old["stories"].num_rows + 1  # the new night, whole
    assert half["clusters"].equals(old["clusters"]) and half["rejects"].equals(old["rejects"])  # the old, whole
    assert json.loads(fs.cat_file(runs))["counts"]["read"] == read  # the run's manifest is still the old run's
    assert not fs.exists(f"{bucket_out[5:]}/_state/run.lock")
    restore()
    night("bucket", NIGHT, "--allow-same-input")
    new = {t: _delta_night(f"{bucket_out}/{t}", NIGHT) for t in old}
    assert new["stories"].equals(half["stories"])
    # the three tables now hold the one new night: each story's cluster is in clusters/, sizes add up
    assert set(new["stories"].column("cluster_id").to_pylist()) == set(new["clusters"].column("cluster_id").to_pylist())
    assert sum(new["clusters"].column("size").to_pylist()) == new["stories"].num_rows
    assert not new["clusters"].equals(old["clusters"])
    for t, tab in new.items():
        ids = tab.column("story_id" if t == "stories" else "cluster_id" if t == "clusters" else "record").to_pylist()
        if t != "rejects":
            assert len(set(ids)) == len(ids), t
    assert json.loads(fs.cat_file(runs))["counts"]["read"] == read + 1


def test_a_run_sigkilled_mid_commit_leaves_whole_nights_and_its_lock_which_the_next_run_here_takes_over(
        two_nights, s3, tmp_path, caplog):
    """A real SIGKILL after the first Delta table of the night: no cleanup runs, the lock object
    stays; readers still see whole nights; the next run on this host finds the holder's process gone,
    takes the lock over (with a warning) and finishes the night."""
    import signal
    import socket
    import subprocess
    import sys

    import s3fs

    night, _, bucket_out, feed = two_nights
    night("bucket", NIGHT)
    old = {t: _delta_night(f"{bucket_out}/{t}", NIGHT) for t in ("stories", "clusters", "rejects")}
    extra = tmp_path / "late.jsonl"
    extra.write_text(json.dumps(_story(10, "tribune", OTHER[1:])) + "\n", encoding="utf-8")
    _upload(s3, [extra], feed[len(f"s3://{BUCKET}/"):] + f"/{NIGHT}")
    script = (
        "import os, signal, sys\n"
        "from dedup.night import remote\n"
        "real, calls = remote.write_delta, []\n"
        "def dies(*a, **k):\n"
        "    if calls:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    calls.append(1)\n"
        "    return real(*a, **k)\n"
        "remote.write_delta = dies\n"
        "from dedup.__main__ import main\n"
        "sys.argv = ['dedup'] + sys.argv[1:]\n"
        "main()\n")
    p = subprocess.run([sys.executable, "-c", script, "run", "--input", f"{feed}/{NIGHT}/*", "--output", bucket_out,
                        "--run-date", NIGHT, "--format", "delta", "--allow-same-input", "-q"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr
    fs = s3fs.S3FileSystem()
    lock = f"{bucket_out[5:]}/_state/run.lock"
    assert fs.cat_file(lock).decode().startswith(f"host {socket.gethostname()} pid ")
    half = {t: _delta_night(f"{bucket_out}/{t}", NIGHT) for t in old}
    assert half["stories"].num_rows == old["stories"].num_rows + 1 and half["clusters"].equals(old["clusters"])
    r = night("bucket", NIGHT, "--allow-same-input")
    assert "was killed on this host" in r.output + caplog.text and not fs.exists(lock)
    new = {t: _delta_night(f"{bucket_out}/{t}", NIGHT) for t in old}
    assert new["stories"].equals(half["stories"]) and not new["clusters"].equals(old["clusters"])
    assert set(new["stories"].column("cluster_id").to_pylist()) == set(new["clusters"].column("cluster_id").to_pylist())


def test_a_second_run_on_the_same_bucket_state_is_refused_while_the_lock_object_exists(two_nights, s3, cli):
    night, _, bucket_out, feed = two_nights
    key = f"{bucket_out[len(f's3://{BUCKET}/'):]}/_state/run.lock"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"host elsewhere pid 7 since 2026-11-27T01:00:00+00:00")
    r = cli("run", "--input", f"{feed}/{NIGHT}/*", "--output", bucket_out, "--run-date", NIGHT, "--format", "delta")
    assert r.exit_code == 1, r.output
    assert f"another dedup run holds {bucket_out}/_state/run.lock (host elsewhere pid 7" in r.output
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().startswith(b"host elsewhere")  # not taken over
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key.rsplit("/", 2)[0] + "/stories")


def test_delta_on_local_disk_equals_parquet_and_the_tools_read_it(tmp_path, cli):
    from tests.conftest import DEMO

    outs = {}
    for fmt in ("parquet", "delta"):
        cfg = tmp_path / f"{fmt}.yaml"
        cfg.write_text(f"input: {{path: '{DEMO}'}}\noutput: {{path: '{tmp_path / fmt}', format: {fmt}}}\n")
        r = cli("run", "--config", cfg, "--run-date", NIGHT, "-q")
        assert r.exit_code == 0, r.output
        outs[fmt] = tmp_path / fmt
    for table in ("stories", "clusters", "rejects"):
        d = _delta_night(str(outs["delta"] / table), NIGHT)
        assert _disk_night(outs["parquet"], table, NIGHT, d).equals(d), table
    # our tools read the Delta tables through dedup.layout: the same report figures
    from dedup import layout

    for table in ("stories", "clusters"):
        a = layout.read_partition(outs["parquet"], table, NIGHT)
        b = layout.read_partition(outs["delta"], table, NIGHT)
        assert a.num_rows == b.num_rows
    r = cli("report", "--output", outs["delta"], "--run-date", NIGHT)
    assert r.exit_code == 0, r.output


def test_each_object_is_downloaded_once_its_checksum_taken_while_it_is_read(tmp_path, s3, monkeypatch):
    from dedup.config import load_config
    from dedup.stages import read as rd

    files = _feed(tmp_path / "once")
    _upload(s3, files, "once")
    opened = []
    real = rd._open_raw
    monkeypatch.setattr(rd, "_open_raw", lambda p: opened.append(p) or real(p))
    inp = load_config(input=f"s3://{BUCKET}/once/", output=str(tmp_path / "out"), run_date=NIGHT).input
    found = rd.discover(inp)
    list(rd.read_chunks(found, inp, 2000, 100, rd.ReadStats()))
    sums = {f.path: rd.sha256_file(f.path) for f in found}
    assert sums == {f"s3://{BUCKET}/once/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    # JSONL.gz and CSV are read front to back: one download each; Parquet is read by ranges, then hashed
    assert sorted(opened) == sorted([f.path for f in found] + [f"s3://{BUCKET}/once/partner.parquet"])


def test_a_delta_night_without_rejects_reads_as_empty_and_its_report_rebuilds(tmp_path, cli):
    from dedup import layout

    files = _night2(tmp_path / "feed")
    r = cli("run", "--input", files[0], "--output", tmp_path / "out", "--format", "delta", "--run-date", NIGHT2, "-q")
    assert r.exit_code == 0, r.output
    assert layout.part_files(layout.partition_dir(tmp_path / "out", "rejects", NIGHT2)) == []
    t = layout.read_partition(tmp_path / "out", "rejects", NIGHT2, columns=["reason"])
    assert t.num_rows == 0 and t.column_names == ["reason"]
    assert layout.read_partition(tmp_path / "out", "stories", NIGHT2).num_rows == 2
    r = cli("report", "--output", tmp_path / "out", "--run-date", NIGHT2)
    assert r.exit_code == 0, r.output
    # a night that was never written is still not found
    r = cli("report", "--output", tmp_path / "out", "--run-date", NIGHT)
    assert r.exit_code != 0 and "no night" in r.output


def test_a_local_parquet_output_with_its_state_on_the_bucket_equals_the_same_nights_on_disk(two_nights, tmp_path,
                                                                                             cli):
    from dedup.night.remote import remote_nights

    night, disk_out, bucket_out, feed = two_nights
    cfg = tmp_path / "mixed.yaml"
    cfg.write_text(f"input: {{path: '{feed}/{{run_date}}/*'}}\noutput: {{path: '{tmp_path / 'mixed'}'}}\n"
                   f"state: {{path: '{bucket_out}/state'}}\n")
    for n in (NIGHT, NIGHT2):
        night("disk", n)
        r = cli("run", "--config", cfg, "--run-date", n, "-q")
        assert r.exit_code == 0, r.output
        a = pq.read_table(disk_out / "stories" / f"run_date={n}")
        b = pq.read_table(tmp_path / "mixed" / "stories" / f"run_date={n}")
        assert a.drop_columns(["source"]).equals(b.drop_columns(["source"]))
    assert list(remote_nights(f"{bucket_out}/state")) == [NIGHT, NIGHT2]
    assert not (tmp_path / "mixed" / "_state").exists()


# -- the Spark engine in local mode on a bucket (input copied to the driver, night published by remote.py)

def test_spark_local_mode_nights_on_a_bucket_equal_the_local_engines_and_continue_the_state(two_nights, tmp_path,
                                                                                            cli, monkeypatch):
    import s3fs

    from dedup.night.remote import remote_nights
    from tests.night.test_spark import _spark_available

    why = _spark_available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {why}")
        pytest.skip(why)
    night, _, bucket_out, feed = two_nights
    spark_out = bucket_out.rsplit("/", 1)[0] + "/spark-out"
    cfg = tmp_path / "spark.yaml"
    cfg.write_text(f"input: {{path: '{feed}/{{run_date}}/*'}}\noutput: {{path: '{spark_out}', format: delta}}\n"
                   "run: {engine: spark}\nspark: {master: 'local[2]', partitions: 2}\n")
    fs = s3fs.S3FileSystem()
    for n in (NIGHT, NIGHT2):
        night("bucket", n)
        r = cli("run", "--config", cfg, "--run-date", n, "-q")
        assert r.exit_code == 0, r.output
        for table in ("stories", "clusters", "rejects"):
            a, b = _delta_night(f"{bucket_out}/{table}", n), _delta_night(f"{spark_out}/{table}", n)
            assert a.num_rows == b.num_rows and a.column_names == b.column_names, table
            for c in a.column_names:  # the objects' URLs as sources, as the local engine reads them
                if table == "rejects" and c == "raw":
                    # a cross-file duplicate's raw is its body on Spark, the whole record locally
                    # (as on disk, tests/night/test_spark.py); the other rejects' raw text is the same
                    dup = pa.compute.starts_with(a.column("reason"), "duplicate id")
                    a, b = a.filter(pa.compute.invert(dup)), b.filter(pa.compute.invert(dup))
                assert a.column(c).combine_chunks().equals(b.column(c).combine_chunks()), f"{table}.{c}"
        ml, ms = (json.loads(fs.cat_file(f"{o[5:]}/runs/run_date={n}/manifest.json")) for o in (bucket_out, spark_out))
        assert ms["engine"] == "spark" and ms["inputs"] == ml["inputs"] and ms["counts"] == ml["counts"]
    # night 2 matched against night 1's clusters through the Spark state on the bucket
    s1, s2 = (_delta_night(f"{spark_out}/stories", n) for n in (NIGHT, NIGHT2))
    assert set(s1.column("cluster_id").to_pylist()) & set(s2.column("cluster_id").to_pylist())
    assert list(remote_nights(f"{spark_out}/_state")) == [NIGHT, NIGHT2]
    assert not fs.exists(f"{spark_out[5:]}/_state/run.lock")

    # A rerun of night 2 killed after its first table is published, then run again: readers see
    # whole nights throughout, no lock is left, and the finished rerun gives the night it gave before.
    from dedup.config import load_config
    from dedup.night.run import run

    tables = ("stories", "clusters", "rejects")
    before = {t: _delta_night(f"{spark_out}/{t}", NIGHT2) for t in tables}
    calls, restore = _commit_dies_after_one_table(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run(load_config(cfg, run_date=NIGHT2, overrides={"input.same_input": "allow"}))
    assert calls and not fs.exists(f"{spark_out[5:]}/_state/run.lock")
    for t in tables:
        assert _delta_night(f"{spark_out}/{t}", NIGHT2).equals(before[t]), t
    restore()
    r = cli("run", "--config", cfg, "--run-date", NIGHT2, "--allow-same-input", "-q")
    assert r.exit_code == 0, r.output
    for t in tables:
        assert _delta_night(f"{spark_out}/{t}", NIGHT2).equals(before[t]), t


def test_report_show_and_explain_read_a_bucket_output_as_the_same_night_on_disk(two_nights, s3, cli):
    night, disk_out, bucket_out, feed = two_nights
    for n in (NIGHT, NIGHT2):
        night("disk", n)
        night("bucket", n)
    # rerun night 2 on the bucket: its replaced files stay in the table until a vacuum, unread
    night("bucket", NIGHT2, "--allow-same-input")
    stories = pq.read_table(disk_out / "stories" / f"run_date={NIGHT2}")
    joined = [r for r in stories.to_pylist() if not r["is_canonical"]][0]
    cid, copy, canon = joined["cluster_id"], joined["story_id"], joined["canonical_story_id"]

    def out(*args, where):
        r = cli(*args, "--output", where, "--json")
        assert r.exit_code == 0, r.output
        return json.loads(r.output)

    def no_paths(x):
        # the bucket's records name their objects, the disk's their files: compare file names
        if isinstance(x, dict):
            return {k: (os.path.basename(v) if k == "source" and v else no_paths(v)) for k, v in x.items()}
        return [no_paths(v) for v in x] if isinstance(x, list) else x

    a, b = out("show", cid, where=disk_out), out("show", cid, where=bucket_out)
    assert no_paths(a) == no_paths(b) and len(b["members"]) >= 2
    a, b = out("explain", canon, copy, where=disk_out), out("explain", canon, copy, where=bucket_out)
    for k in ("verdict", "figures", "reasons", "same_cluster"):
        assert no_paths(a.get(k)) == no_paths(b.get(k)), k
    # the records are re-read from their objects for the removed lines, as from the files on disk
    for side in ("a", "b"):
        ra, rb = a[side]["removed_lines"], b[side]["removed_lines"]
        assert rb["available"] and ra["removed"] == rb["removed"] and ra["trimmed"] == rb["trimmed"], rb
    # the report is rebuilt from the bucket's tables and put beside the night's manifest there
    key = f"{bucket_out[len(f's3://{BUCKET}/'):]}/runs/run_date={NIGHT2}/report.html"
    s3.delete_object(Bucket=BUCKET, Key=key)
    r = cli("report", "--output", bucket_out, "--run-date", NIGHT2)
    assert r.exit_code == 0 and r.output.strip() == f"{bucket_out}/runs/run_date={NIGHT2}/report.html", r.output
    html = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    n_stories = json.loads(s3.get_object(Bucket=BUCKET, Key=key.replace("report.html", "manifest.json"))["Body"]
                           .read())["counts"]["accepted"]
    assert n_stories == stories.num_rows and "status" in html
    # dedup eval reads the bucket's Delta stories table (live files only: the rerun is not counted twice)
    gold = disk_out.parent / "gold.csv"
    gold.write_text("story_id,gold_cluster\n" + "".join(f"{sid},g{i % 2}\n" for i, sid in
                                                         enumerate(stories.column("story_id").to_pylist())))
    evals = {}
    for where in (disk_out / "stories", f"{bucket_out}/stories"):
        r = cli("eval", "--stories", where, "--gold", gold, "--run-date", NIGHT2, "--json")
        assert r.exit_code == 0, r.output
        evals[str(where)] = json.loads(r.output)
    a, b = evals.values()
    assert a == b and a["n_pred_stories"] == stories.num_rows, a
    # a bucket path without any night is one line, exit 2
    r = cli("show", cid, "--output", f"{bucket_out}-nothing-here")
    assert r.exit_code == 2 and "no night with a manifest under" in r.output, r.output


# -- Delta maintenance: a rerun's replaced files until a vacuum ---------------------------------------

def test_vacuum_removes_a_reruns_replaced_files_and_the_tables_read_the_same(two_nights, s3, cli):
    night, _, bucket_out, _ = two_nights
    for n in (NIGHT, NIGHT2, NIGHT2):
        night("bucket", n, "--allow-same-input")
    prefix = bucket_out[len(f"s3://{BUCKET}/"):]

    def parts(table):
        got = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/{table}/run_date=").get("Contents", [])
        return sorted(o["Key"] for o in got if o["Key"].endswith(".parquet"))

    before = {t: parts(t) for t in ("stories", "clusters")}
    rows = {(t, n): _delta_night(f"{bucket_out}/{t}", n) for t in ("stories", "clusters", "rejects")
            for n in (NIGHT, NIGHT2)}
    assert len([k for k in before["stories"] if f"run_date={NIGHT2}/" in k]) == 2  # the rerun's and the first run's
    r = cli("vacuum", "--output", bucket_out, "--retention-hours", "0", "--dry-run")
    assert r.exit_code == 0 and "stories: would remove 1 unreferenced file(s)" in r.output, r.output
    r = cli("vacuum", "--output", bucket_out)  # the tables' own retention (7 days): nothing is that old
    assert r.exit_code == 0 and "stories: removed 0 " in r.output, r.output
    assert {t: parts(t) for t in before} == before
    r = cli("vacuum", "--output", bucket_out, "--retention-hours", "0")
    assert r.exit_code == 0 and "stories: removed 1 " in r.output and "clusters: removed 1 " in r.output, r.output
    for t, keys in before.items():
        after = parts(t)
        assert len(after) == len(keys) - 1 and set(after) < set(keys), t
    for (t, n), tab in rows.items():
        assert _delta_night(f"{bucket_out}/{t}", n).equals(tab), (t, n)
    r = cli("report", "--output", bucket_out, "--run-date", NIGHT2)  # the tools read the night's version
    assert r.exit_code == 0, r.output


def test_vacuum_retention_hours_vacuums_after_each_night_and_is_delta_only(tmp_path, cli):
    from dedup import layout

    files = _night2(tmp_path / "feed")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"input: {{path: '{files[0]}', same_input: allow}}\n"
                   f"output: {{path: '{tmp_path / 'out'}', format: delta, vacuum_retention_hours: 0}}\n")
    for _ in range(2):
        r = cli("run", "--config", cfg, "--run-date", NIGHT2, "-q")
        assert r.exit_code == 0, r.output
    # the first run's files went after the rerun was published: one file, the live one
    on_disk = sorted((tmp_path / "out" / "stories" / f"run_date={NIGHT2}").glob("*.parquet"))
    assert on_disk == layout.part_files(layout.partition_dir(tmp_path / "out", "stories", NIGHT2))
    assert len(on_disk) == 1 and layout.read_partition(tmp_path / "out", "stories", NIGHT2).num_rows == 2
    cfg.write_text(f"input: {{path: '{files[0]}'}}\noutput: {{path: '{tmp_path / 'p'}', vacuum_retention_hours: 0}}\n")
    r = cli("run", "--config", cfg, "--run-date", NIGHT2)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "vacuum_retention_hours applies to output.format: delta only" in r.output
    r = cli("vacuum", "--output", tmp_path / "feed")
    assert r.exit_code == 2 and "no Delta table under" in r.output, r.output


def test_a_cluster_master_chosen_by_spark_submit_is_refused_once_the_session_is_up(tmp_path):
    from types import SimpleNamespace

    from dedup.config import ConfigError, load_config
    from dedup.night.spark.engine import _require_local_master

    def session(master):
        return SimpleNamespace(sparkContext=SimpleNamespace(master=master))

    local = load_config(input=str(tmp_path / "feed.jsonl"), output=str(tmp_path / "out"), run_date=NIGHT,
                        overrides={"run.engine": "spark"})
    bucket = load_config(input=f"s3://{BUCKET}/feed/*.jsonl", output=f"s3://{BUCKET}/out", run_date=NIGHT,
                         overrides={"run.engine": "spark", "output.format": "delta"})
    for settings in (local, bucket):
        _require_local_master(session("local[2]"), settings)  # local mode: fine
    _require_local_master(session("yarn"), local)  # a cluster on paths every node sees: fine
    with pytest.raises(ConfigError, match=r"^config key 'input.path': s3:// with run.engine: spark needs a local "
                                          r"master \(spark.master: local\[\*\], not yarn\)"):
        _require_local_master(session("yarn"), bucket)
