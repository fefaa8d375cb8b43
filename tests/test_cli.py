"""Every option of `dedup run`, `dedup synth` and `dedup eval`, through typer's runner."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import DEMO, DEMO_GOLD, OTHER, ROOT, WIRE, shared_path, write_jsonl

DEDUP = str(Path(sys.executable).with_name("dedup"))


def _batch(tmp_path):
    return write_jsonl(tmp_path / "b.jsonl", [{"id": f"s{i}", "body": w} for i, w in enumerate(WIRE + OTHER)])


def test_log_formats_and_levels(tmp_path):
    batch, out = _batch(tmp_path), tmp_path / "out"
    base = [DEDUP, "run", "--input", str(batch), "--output", str(out), "--run-date", "2026-11-20"]
    r = subprocess.run(base + ["--log-format", "json"], capture_output=True, text=True, check=True)
    lines = [json.loads(x) for x in r.stderr.splitlines() if x.strip()]
    assert lines and all({"time", "level", "message"} <= set(x) for x in lines)
    assert any("stage fingerprint" in x["message"] or "stage clean" in x["message"] for x in lines)
    r = subprocess.run(base + ["--quiet"], capture_output=True, text=True, check=True)
    assert r.stderr.strip() == "" and "2026-11-20: 8 records" in r.stdout
    r = subprocess.run(base + ["--verbose"], capture_output=True, text=True, check=True)
    assert " INFO " in r.stderr and "stage read" in r.stderr
    r = subprocess.run(base + ["--log-format", "xml"], capture_output=True, text=True)
    assert r.returncode == 2 and "--log-format" in r.stderr


def test_workers_and_run_date_reach_the_manifest(tmp_path, cli):
    out = tmp_path / "out"
    r = cli("run", "--input", _batch(tmp_path), "--output", out, "--run-date", "2026-11-19", "--workers", "1")
    assert r.exit_code == 0, r.output
    m = json.loads((out / "runs" / "run_date=2026-11-19" / "manifest.json").read_text())
    assert m["config"]["run"]["workers"] == 1 and m["run_date"] == "2026-11-19"


def test_config_file_with_flag_overrides(tmp_path, cli):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"input:\n  path: {tmp_path / 'nowhere.jsonl'}\noutput:\n  path: {tmp_path / 'ignored'}\n"
                   "dedup:\n  threshold: 0.6\n")
    out = tmp_path / "out"
    r = cli("run", "--config", cfg, "--input", _batch(tmp_path), "--output", out, "--run-date", "2026-11-20")
    assert r.exit_code == 0, r.output
    assert (out / "stories").exists() and not (tmp_path / "ignored").exists()
    m = json.loads((out / "runs" / "run_date=2026-11-20" / "manifest.json").read_text())
    assert m["config"]["dedup"]["threshold"] == 0.6


def test_run_needs_a_config_or_an_input(cli):
    r = cli("run")
    assert r.exit_code == 2 and "--config" in r.output


def test_bad_run_date_is_a_usage_error(tmp_path, cli):
    r = cli("run", "--input", _batch(tmp_path), "--output", tmp_path / "o", "--run-date", "26/11/2026")
    assert r.exit_code == 2 and "run_date" in r.output


def test_eval_command_on_the_demo(tmp_path, cli):
    out = tmp_path / "out"
    assert cli("run", "--input", DEMO, "--output", out, "--run-date", "2026-11-26", "-q").exit_code == 0
    r = cli("eval", "--stories", out / "stories", "--gold", DEMO_GOLD, "--run-date", "2026-11-26", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["precision"] == 1.0 and res["f1"] >= 0.95
    r = cli("eval", "--stories", out / "stories", "--gold", DEMO_GOLD, "--examples", "2")
    assert r.exit_code == 0 and "F1" in r.output
    r = cli("eval", "--stories", tmp_path / "missing", "--gold", DEMO_GOLD)
    assert r.exit_code == 2 and "--stories not found" in r.output
    # The demo batch holds lines that are not JSON objects (the run rejected them): the line
    # figures score the records that are.
    r = cli("eval", "--stories", out / "stories", "--gold", DEMO_GOLD, "--batch", DEMO, "--json")
    assert r.exit_code == 0, r.output
    lines = json.loads(r.output)["lines"]
    assert lines["n_lost_copies"] == 0 and lines["n_rejected"] == 3


def test_synth_command(tmp_path, cli):
    src = shared_path("corpora", "reuters21578")
    out = tmp_path / "c"
    r = cli("synth", "--n", "300", "--out", out, "--source", src, "--seed", "4")
    assert r.exit_code == 0, r.output
    gold = pd.read_csv(out / "gold.csv")
    assert len(gold) == 300 == sum(1 for _ in open(out / "batch.jsonl"))
    assert (out / "batch-clean.jsonl").exists()
    r = cli("synth", "--n", "10", "--out", out, "--source", tmp_path / "nope")
    assert r.exit_code == 2 and "--source" in r.output
    r = cli("synth", "--n", "200", "--out", tmp_path / "r", "--source", src, "--realistic")
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)["behaviour_counts"]) >= {"aggregator", "live_blog", "no_outlet"}
    r = cli("synth", "--n", "100", "--out", tmp_path / "v", "--source", src, "--behaviours", "versions")
    beh = pd.read_csv(tmp_path / "v" / "behaviours.csv")
    assert r.exit_code == 0 and beh["behaviour"].str.startswith("version_").all() and len(beh) == 6
    r = cli("synth", "--n", "10", "--out", tmp_path / "x", "--source", src, "--behaviours", "walls")
    assert r.exit_code == 2 and "unknown behaviour" in r.output
    # eval's line figures on a run of the realistic corpus
    run = cli("run", "--input", tmp_path / "r" / "batch.jsonl", "--output", tmp_path / "o", "--run-date", "2026-11-26")
    assert run.exit_code == 0, run.output
    r = cli("eval", "--stories", tmp_path / "o" / "stories", "--gold", tmp_path / "r" / "gold.csv",
            "--batch", tmp_path / "r" / "batch.jsonl", "--json")
    assert r.exit_code == 0, r.output
    lines = json.loads(r.output)["lines"]
    assert lines["gold_lines"] and lines["n_input_lines"] > 1000 and 0 <= lines["text_loss"] <= 1
    r = cli("eval", "--stories", tmp_path / "o" / "stories", "--gold", tmp_path / "r" / "gold.csv",
            "--batch", tmp_path / "nope.jsonl")
    assert r.exit_code == 2 and "--batch" in r.output


def test_library_api_matches_the_cli(tmp_path):
    from dedup import load_config, run

    res = run(load_config(ROOT / "configs" / "demo.yaml", output=str(tmp_path / "lib")))
    assert res.counts["read"] == 59 and res.run_date == "2026-11-26"


def _json_lines(stderr: str) -> list[dict]:
    """Every stderr line parsed as JSON (fails on the first line that is not one object)."""
    out = []
    for line in stderr.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and {"time", "level", "logger", "message"} <= set(obj), line
        out.append(obj)
    return out


def test_json_logs_every_stderr_line_is_one_object_errors_included(tmp_path):
    """--log-format json: a night, then each kind of failure (config, reject ratio, lock, an unknown
    option, a broken install at startup): every stderr line parses; stage figures are fields."""
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    dedup = [sys.executable, "-m", "dedup"]
    batch, out = _batch(tmp_path), tmp_path / "out"
    base = dedup + ["run", "--log-format", "json", "--output", str(out), "--run-date", "2026-11-20"]

    def run(*args, env=env):
        return subprocess.run(base + list(args), capture_output=True, text=True, env=env, cwd=tmp_path)

    r = run("--input", str(batch))
    assert r.returncode == 0, r.stderr
    lines = _json_lines(r.stderr)
    done = {x["stage"]: x for x in lines if x.get("event") == "finished" and "stage" in x}
    assert {"read", "candidates", "verify", "cluster", "write"} <= set(done)
    assert done["read"]["records"] == 8 and isinstance(done["verify"]["seconds"], float)
    written = [x for x in lines if x.get("event") == "written"]
    assert len(written) == 1 and written[0]["accepted"] == 8 and written[0]["night"] == "2026-11-20"

    def one_error(r, code, *words):
        assert r.returncode == code, r.stderr
        errs = [x for x in _json_lines(r.stderr) if x["level"] == "ERROR"]
        assert len(errs) == 1 and errs[0]["exit_code"] == code and errs[0]["message"].startswith("dedup: error: ")
        for w in words:
            assert w in errs[0]["error"], (w, errs[0])

    bad = tmp_path / "bad.yaml"
    bad.write_text("input: {path: x, max_reject_ratio: lots}\n")
    one_error(run("--config", str(bad)), 2, "input.max_reject_ratio")
    garbage = write_jsonl(tmp_path / "g.jsonl", ["nope"] * 9 + [{"id": "a", "body": WIRE[0]}])
    one_error(run("--input", str(garbage)), 1, "max_reject_ratio")
    one_error(run("--input", str(batch), "--no-such-flag"), 2, "--no-such-flag")
    # the lock: held by another process for the duration of the run
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from dedup.night.run import state_lock\n"
        f"with state_lock(Path({str(out / '_state')!r})):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        one_error(run("--input", str(batch)), 1, "holds")
    finally:
        holder.kill()
        holder.wait()
    # a broken install: the CLI's own imports fail before any command runs
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "typer.py").write_text("raise ImportError('typer is broken in this test')\n")
    one_error(run("--input", str(batch), env=dict(env, PYTHONPATH=f"{broken}:{ROOT}")), 1, "cannot start",
              "typer is broken")


def test_version_help_and_workers_say_what_is_true(cli):
    from importlib import metadata

    r = cli("--version")
    assert r.exit_code == 0 and r.output.strip().startswith(f"dedup {metadata.version('dedup')} (python ")
    r = cli("run", "--help")
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "pip install 'dedup[spark]'" in text  # markup must not eat [spark]
    assert "<bool>" not in text and "--allow-future Accept" in text  # flags take no value
    assert "threads" in text.split("--workers", 1)[1][:120] and "process" in text.split("--workers", 1)[1][:120]
    # run.workers are threads of one process: the local engine starts no worker processes
    from dedup.config import RunSettings

    desc = RunSettings.model_fields["workers"].description
    assert desc.startswith("Threads") and "Processes" not in desc
    src = (ROOT / "dedup" / "night" / "local.py").read_text()
    assert "ThreadPoolExecutor(max_workers=settings.run.workers)" in src and "ProcessPool" not in src
    assert "multiprocessing" not in src


def test_default_night_is_yesterday_utc_as_the_wrappers(tmp_path):
    """dedup run without --run-date and jobs/dedup-nightly.sh without --date pick the same night."""
    import datetime as dt

    from dedup import load_config

    wrapper = subprocess.run(["bash", "-c", "date -u -d yesterday +%F"], capture_output=True, text=True).stdout.strip()
    assert "date -u -d yesterday +%F" in (ROOT / "jobs" / "dedup-nightly.sh").read_text()
    night = load_config(None, input="x.jsonl", output=str(tmp_path)).run_date
    assert night.isoformat() == wrapper == (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()


def test_the_process_ends_as_a_normal_exit_would(tmp_path):
    """``dedup.__main__`` skips the interpreter's teardown after a command (``_leave``): exit status,
    atexit handlers, threads still writing and buffered output must all be as after a normal exit."""
    out = tmp_path / "out"
    script = (
        "import atexit, sys, threading, time\n"
        f"atexit.register(lambda: open({str(tmp_path / 'atexit')!r}, 'w').write('ran'))\n"
        f"threading.Thread(target=lambda: (time.sleep(0.5), open({str(tmp_path / 'thread')!r}, 'w').write('done'))).start()\n"
        "sys.stdout.write('buffered, no newline')\n"
        "from dedup.__main__ import main\n"
        "main()\n")
    base = [sys.executable, "-c", script, "run", "--output", str(out), "--run-date", "2026-11-20", "-q"]
    r = subprocess.run(base + ["--input", str(_batch(tmp_path))], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("buffered, no newline") and "2026-11-20: 8 records" in r.stdout
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "done"
    r = subprocess.run(base + ["--input", str(tmp_path / "missing.jsonl")], capture_output=True, text=True)
    assert r.returncode == 2 and "not found" in r.stderr


def test_an_internal_error_in_any_command_shows_its_traceback_with_the_global_verbose(tmp_path, cli):
    out = tmp_path / "out"
    assert cli("run", "--input", DEMO, "--output", out, "--run-date", "2026-11-26", "-q").exit_code == 0
    # A bug in the scoring (here: made to divide by zero), reached through the console script's main.
    code = ("import sys, dedup.tools.evaluate as e; e.evaluate = lambda *a, **k: 1 / 0; "
            "sys.argv = ['dedup', *sys.argv[1:]]; from dedup.__main__ import main; main()")
    args = ["eval", "--stories", str(out / "stories"), "--gold", str(DEMO_GOLD)]
    plain = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    line = plain.stderr.strip().splitlines()[-1]
    assert line.startswith("dedup: error: internal error: ZeroDivisionError") and "dedup --verbose" in line
    loud = subprocess.run([sys.executable, "-c", code, "--verbose", *args], capture_output=True, text=True)
    assert loud.returncode == 1 and "Traceback" in loud.stderr and "ZeroDivisionError" in loud.stderr


def test_synth_without_its_source_says_what_to_give(tmp_path, cli):
    r = cli("synth", "--n", "10", "--out", tmp_path / "c", "--source", tmp_path / "nowhere")
    assert r.exit_code == 2 and "--source folder not found" in r.output and "reut2-*.sgm" in r.output
