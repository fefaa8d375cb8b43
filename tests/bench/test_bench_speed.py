"""bench/speed.py: end to end on a tiny corpus (structure of the output, never timings), and its helpers."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "speed.py"
N = 500


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("bench_speed", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


def run_script(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A corpus cache shared by the end-to-end tests (the first one builds it)."""
    shared_path("corpora", "reuters21578")
    return tmp_path_factory.mktemp("corpora")


def test_compare_with_baseline_end_to_end(cache, tmp_path):
    work, out = tmp_path / "work", tmp_path / "res.json"
    p = run_script("--n", N, "--baseline", "--corpus", cache, "--tmp", work, "--json", out, "--workers", 1)
    assert p.returncode == 0, p.stdout + p.stderr
    # The printed tables.
    assert "pipeline" in p.stdout and "stories/s" in p.stdout and "peak RSS MB" in p.stdout
    assert "speed ratio, datasketch wall / dedup wall:" in p.stdout and "datasketch's own split: read " in p.stdout
    assert "dedup stages at 500 stories" in p.stdout
    for stage in ("read", "clean", "fingerprint", "candidates", "verify", "cluster", "write"):
        assert f"\n{stage} " in p.stdout
    # The JSON figures.
    doc = json.loads(out.read_text())
    assert doc["code"]["source_sha256"] and doc["machine"]["nproc"] >= 1
    assert [r["pipeline"] for r in doc["results"]] == ["dedup", "datasketch"]
    for r in doc["results"]:
        assert r["ok"] and r["error"] is None
        assert r["stories"] == N
        assert r["wall_s"] > 0 and r["stories_per_s"] > 0 and r["peak_rss_mb"] > 0 and r["cpu_s"] >= 0
        assert 0.0 <= r["quality"]["precision"] <= 1.0 and 0.0 <= r["quality"]["recall"] <= 1.0
        assert 0.0 < r["quality"]["f1"] <= 1.0
    ours, base = doc["results"]
    assert {"read", "clean", "fingerprint", "candidates", "verify", "cluster", "write"} <= set(ours["stages"])
    # Stages are timed one after another inside the job's own wall time.
    assert sum(s["seconds"] for s in ours["stages"].values()) <= ours["internal_s"] + 0.01
    assert set(base["stages"]) == {"read", "minhash", "index", "query_and_cluster"}
    assert doc["speed_ratio"] > 0
    # The corpus stays in the cache; the temporary work folder is gone.
    assert (cache / f"n{N}-seed0" / "stats.json").exists()
    assert list(work.iterdir()) == []


def test_repeats_run_in_rounds_and_each_round_gives_its_own_ratio(cache, tmp_path):
    out = tmp_path / "res.json"
    p = run_script("--n", N, "--baseline", "--repeat", 2, "--no-warmup", "--corpus", cache, "--tmp", tmp_path / "w",
                   "--json", out, "--workers", 1)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(out.read_text())
    # dedup and the baseline alternate, so a round's two runs are minutes apart at most.
    assert [r["pipeline"] for r in doc["all_runs"]] == ["dedup", "datasketch", "dedup", "datasketch"]
    runs = doc["all_runs"]
    assert doc["round_ratios"]["datasketch"] == pytest.approx([runs[1]["wall_s"] / runs[0]["wall_s"],
                                                               runs[3]["wall_s"] / runs[2]["wall_s"]])
    assert doc["round_ratios"]["rensa"] == []
    assert "per round (that round's datasketch wall / that round's dedup wall): " in p.stdout and "; median " in p.stdout


def test_sizes_reuses_cached_corpus_and_keeps_outputs(cache, tmp_path):
    keep, out = tmp_path / "keep", tmp_path / "res.json"
    p = run_script("--sizes", f"{N},{N}", "--corpus", cache, "--keep", keep, "--workers", 1, "--no-warmup",
                   "--repeat", 2, "--json", out)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(out.read_text())
    assert len(doc["results"]) == 2 and len(doc["all_runs"]) == 4  # the fastest of 2 runs at each size
    assert all(r["pipeline"] == "dedup" for r in doc["all_runs"])
    assert "fastest of 2 runs each" in p.stdout
    assert "building" not in p.stdout  # built by the test above (or reused within this run)
    head = p.stdout.split("stage seconds")[0]
    assert "batch MB" in head and "status" in head and head.count(" ok\n") == 2
    assert "stage seconds" in p.stdout and "\nwall " in p.stdout
    assert (keep / f"dedup-n{N}-out" / "stories").is_dir()


def test_stage_table_without_peak_rss_and_with_odd_values(speed):
    manifest = {"stages": {
        "read": {"seconds": 1.5, "records": 10, "accepted": 9},
        "write": {"seconds": 0.2, "cpu_seconds": 0.3, "system_seconds": 0.1, "peak_rss_mb": 512.5, "stories": 9,
                  "_debug": "text", "flag": True,
                  "note": "x"},
        "broken": "not a dict",
    }}
    st = speed.stage_table(manifest)
    assert list(st) == ["read", "write"]
    assert st["read"] == {"seconds": 1.5, "cpu_seconds": None, "system_seconds": None, "cpu_include": [], "peak_rss_mb": None,
                          "counts": {"records": 10, "accepted": 9}}
    assert st["write"] == {"seconds": 0.2, "cpu_seconds": 0.3, "system_seconds": 0.1, "cpu_include": [], "peak_rss_mb": 512.5,
                           "counts": {"stories": 9}}
    assert speed.stage_table({}) == {}


def test_tables_render_missing_values(speed):
    r = speed.Result(pipeline="dedup", stories=1000, batch="b.jsonl", batch_mb=1.0, wall_s=2.0, stories_per_s=500.0,
                     peak_rss_mb=300.0, cpu_s=3.0, other_cores=None, loadavg_before=None, loadavg_after=None, ok=True,
                     internal_s=1.5, stages=speed.stage_table({"stages": {"read": {"seconds": 1.0}}}))
    text = speed.stages_table(r)
    assert text.splitlines()[0].split() == ["stage", "seconds", "share", "CPU", "s", "sys", "s", "cores", "peak", "RSS",
                                            "MB", "counts"]
    assert text.splitlines()[2].split() == ["read", "1.00", "67%", "-", "-", "-", "-"]  # no cpu, system, peak_rss_mb
    r.stages = speed.stage_table({"stages": {
        "read": {"seconds": 2.0, "cpu_seconds": 3.0, "system_seconds": 0.5, "peak_rss_mb": 10},
        "clean": {"seconds": 1.0, "cpu_seconds": 6.0, "cpu_seconds_include": "fingerprint"},
        "fingerprint": {"seconds": 2.0}}})
    rows = [line.split() for line in speed.stages_table(r).splitlines()[2:5]]
    assert rows[0] == ["read", "2.00", "133%", "3.00", "0.50", "1.5", "10"]
    assert rows[1][:6] == ["clean", "1.00", "67%", "6.00", "-", "2.0"]  # 6 CPU s over clean's and fingerprint's 3 s
    assert rows[2][3:6] == ["-", "-", "-"]
    assert "1,000" in speed.comparison_table([r]) and "1,000" in speed.scaling_table([r])
    assert speed.fmt_table(["a", "b"], [["x", 1], ["yy", 22]]).splitlines() == ["a    b", "--  --", "x    1", "yy  22"]


def test_measured_child_and_sizes(speed, tmp_path):
    m = speed.run_measured([sys.executable, "-c", "x = bytearray(64 * 1024 * 1024); print('hi')"],
                           stdout=tmp_path / "o.txt")
    assert m.returncode == 0 and (tmp_path / "o.txt").read_text().strip() == "hi"
    assert m.peak_rss_mb >= 64 and m.wall_s > 0
    assert speed.run_measured([sys.executable, "-c", "raise SystemExit(3)"], stdout=tmp_path / "e").returncode == 3
    assert speed.parse_sizes("100000, 300_000,1000000") == [100000, 300000, 1000000]
    with pytest.raises(Exception):
        speed.parse_sizes("10k")
