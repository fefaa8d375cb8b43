"""Scheduling as shipped in jobs/: the wrapper, the cron line, the systemd units, the Airflow DAG."""
import ast
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import types

import pytest

from tests.conftest import DEMO, ROOT

JOBS = ROOT / "jobs"
WRAPPER = JOBS / "dedup-nightly.sh"
PROD_CONFIG = "/etc/dedup/prod.yaml"
INSTALL = "/opt/dedup"


def _wrapper(*args, env=None, cwd=None, script=WRAPPER):
    e = {"PATH": "/usr/bin:/bin", "HOME": str(cwd or ROOT)}
    e.update(env or {})
    return subprocess.run(["bash", str(script), *map(str, args)], capture_output=True, text=True, env=e,
                          cwd=cwd, timeout=120)


@pytest.fixture
def fake_dedup(tmp_path):
    """A stand-in dedup that records its arguments and exits with $FAKE_RC."""
    calls = tmp_path / "calls"
    p = tmp_path / "fake-dedup"
    p.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "fake dedup says hello" >&2\nexit "${{FAKE_RC:-0}}"\n')
    p.chmod(0o755)
    return p, calls


def test_wrapper_is_executable_bash():
    assert os.access(WRAPPER, os.X_OK)
    assert WRAPPER.read_text().startswith("#!/usr/bin/env bash\n")
    assert subprocess.run(["bash", "-n", str(WRAPPER)]).returncode == 0


def test_wrapper_runs_the_night_with_the_real_dedup_and_keeps_a_log(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    r = _wrapper("--config", ROOT / "configs" / "demo.yaml", "--date", "2026-11-26", "--log-dir", logs,
                 "--", "--input", DEMO, "--output", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    log = logs / "dedup-2026-11-26.log"
    assert r.stdout.strip() == f"dedup-nightly: night 2026-11-26 written (log: {log})"
    text = log.read_text()
    assert f"run --config {ROOT / 'configs' / 'demo.yaml'} --run-date 2026-11-26 --input" in text
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* INFO stage read", text, re.M)  # dedup's own log lines
    assert re.search(r"=== \S+ exit 0 after \d+ s$", text.strip())
    assert (out / "stories" / "run_date=2026-11-26" / "part-0.parquet").is_file()


def test_wrapper_defaults_and_exit_codes(tmp_path, fake_dedup):
    bin_, calls = fake_dedup
    logs = tmp_path / "logs"
    yesterday = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()
    r = _wrapper(env={"DEDUP_BIN": str(bin_), "DEDUP_LOG_DIR": str(logs)})
    assert r.returncode == 0, r.stderr
    assert calls.read_text().split() == ["run", "--config", PROD_CONFIG, "--run-date", yesterday]
    assert "fake dedup says hello" in (logs / f"dedup-{yesterday}.log").read_text()
    for rc, words in ((1, "run failed, nothing was changed"), (2, "bad usage or config"), (3, "unexpected exit")):
        r = _wrapper("--date", "2026-11-20", "-c", "x.yaml",
                     env={"DEDUP_BIN": str(bin_), "DEDUP_LOG_DIR": str(logs), "FAKE_RC": str(rc)})
        assert r.returncode == rc
        assert r.stdout == ""
        assert f"dedup-nightly: night 2026-11-20: exit {rc}, {words}" in r.stderr
        assert "fake dedup says hello" in r.stderr  # the end of the log comes along
    assert calls.read_text().splitlines()[-1] == "run --config x.yaml --run-date 2026-11-20"
    # the date can come from the environment (as a scheduler may set it)
    r = _wrapper(env={"DEDUP_BIN": str(bin_), "DEDUP_LOG_DIR": str(logs), "DEDUP_RUN_DATE": "2026-02-28"})
    assert r.returncode == 0 and calls.read_text().splitlines()[-1].endswith("--run-date 2026-02-28")


def test_wrapper_usage_errors(tmp_path, fake_dedup):
    bin_, calls = fake_dedup
    env = {"DEDUP_BIN": str(bin_), "DEDUP_LOG_DIR": str(tmp_path / "logs")}
    for args in (["--date", "2026-02-30"], ["--date", "yesterday"], ["--bogus"], ["--config"]):
        r = _wrapper(*args, env=env)
        assert r.returncode == 2, args
        assert r.stderr.startswith("dedup-nightly: ")
    assert not calls.exists()
    r = _wrapper("--help", env=env)
    assert r.returncode == 0 and "dedup-nightly.sh [--config FILE]" in r.stderr
    # no dedup to be found: a copy of the wrapper away from the checkout, nothing on PATH
    lone = tmp_path / "elsewhere" / "dedup-nightly.sh"
    lone.parent.mkdir()
    shutil.copy(WRAPPER, lone)
    r = _wrapper("--date", "2026-11-20", env={"DEDUP_LOG_DIR": str(tmp_path / "logs")}, script=lone)
    assert r.returncode == 1 and "cannot find dedup" in r.stderr
    # DEDUP_BIN naming nothing, or a dedup whose interpreter is gone: 1 (documented), never 127/126
    for missing in (tmp_path / "no-such-dedup", "no-such-dedup-on-path"):
        r = _wrapper("--date", "2026-11-20", env={"DEDUP_BIN": str(missing), "DEDUP_LOG_DIR": str(tmp_path / "logs")})
        assert r.returncode == 1 and "cannot run dedup" in r.stderr, r.stderr
    orphan = tmp_path / "orphan-dedup"
    orphan.write_text("#!/nonexistent/python\n")
    orphan.chmod(0o755)
    r = _wrapper("--date", "2026-11-20", env={"DEDUP_BIN": str(orphan), "DEDUP_LOG_DIR": str(tmp_path / "logs")})
    assert r.returncode == 1 and "could not be started" in (tmp_path / "logs" / "dedup-2026-11-20.log").read_text()
    # a log folder it cannot write
    (tmp_path / "file").write_text("")
    r = _wrapper("--date", "2026-11-20", "--log-dir", tmp_path / "file" / "logs", env={"DEDUP_BIN": str(bin_)})
    assert r.returncode == 1 and "cannot write logs" in r.stderr


def test_wrapper_drops_old_logs(tmp_path, fake_dedup):
    bin_, _ = fake_dedup
    logs = tmp_path / "logs"
    logs.mkdir()
    old, recent, other = logs / "dedup-2026-09-01.log", logs / "dedup-2026-11-01.log", logs / "keep-me.txt"
    for p in (old, recent, other):
        p.write_text("x\n")
    ago = (dt.datetime.now() - dt.timedelta(days=40)).timestamp()
    os.utime(old, (ago, ago))
    os.utime(other, (ago, ago))
    r = _wrapper("--date", "2026-11-26", env={"DEDUP_BIN": str(bin_), "DEDUP_LOG_DIR": str(logs),
                                             "DEDUP_LOG_KEEP_DAYS": "30"})
    assert r.returncode == 0, r.stderr
    assert not old.exists() and recent.exists() and other.exists()
    assert (logs / "dedup-2026-11-26.log").exists()


def _cron_jobs() -> list[str]:
    lines = [ln.strip() for ln in (JOBS / "crontab").read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#") and not re.match(r"^[A-Z_]+=", ln)]


def test_crontab_line(tmp_path, fake_dedup):
    text = (JOBS / "crontab").read_text()
    assert text.endswith("\n")  # cron ignores a last line without a newline
    jobs = _cron_jobs()
    assert len(jobs) == 1
    fields = jobs[0].split(None, 6)
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for f, (lo, hi) in zip(fields[:5], ranges):
        assert f == "*" or lo <= int(f) <= hi, f
    assert fields[5] == "dedup"  # /etc/cron.d format: a user column
    command = fields[6]
    assert command.startswith(f"{INSTALL}/jobs/dedup-nightly.sh --config {PROD_CONFIG}")
    # the line as cron would run it, with the checkout here instead of /opt/dedup
    bin_, calls = fake_dedup
    shell = re.search(r"^SHELL=(\S+)", text, re.M).group(1)
    env = {"PATH": "/usr/bin:/bin", "DEDUP_BIN": str(bin_), "DEDUP_LOG_DIR": str(tmp_path / "logs")}
    r = subprocess.run([shell, "-c", command.replace(INSTALL, str(ROOT))], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert calls.read_text().split()[:3] == ["run", "--config", PROD_CONFIG]


def _unit(name: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    cur = None
    for ln in (JOBS / name).read_text().splitlines():
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        if ln.startswith("["):
            cur = sections.setdefault(ln.strip("[]"), {})
        else:
            k, _, v = ln.partition("=")
            cur[k] = v
    return sections


def test_systemd_units_say_what_they_run():
    svc, timer = _unit("dedup.service"), _unit("dedup.timer")
    assert svc["Service"]["Type"] == "oneshot"
    assert svc["Service"]["ExecStart"] == f"{INSTALL}/jobs/dedup-nightly.sh --config {PROD_CONFIG}"
    assert timer["Timer"]["Unit"] == "dedup.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    # As installed, with the checkout here instead of /opt/dedup (verify checks ExecStart exists).
    for name in ("dedup.service", "dedup.timer"):
        (tmp_path / name).write_text((JOBS / name).read_text().replace(INSTALL, str(ROOT)))
    r = subprocess.run([exe, "verify", "dedup.service", "dedup.timer"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    noise = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip() and "dbus" not in ln.lower()]
    assert r.returncode == 0 and noise == [], r.stdout + r.stderr
    cal = subprocess.run([exe, "calendar", _unit("dedup.timer")["Timer"]["OnCalendar"]], capture_output=True,
                         text=True, timeout=60)
    assert cal.returncode == 0 and "02:30:00 UTC" in cal.stdout


DAG = JOBS / "airflow_dag.py"


def _load_dag_with_stubs(env: dict) -> tuple[dict, dict]:
    """Execute the DAG file against minimal stand-ins for airflow; returns (DAG kwargs, operator kwargs)."""
    seen: dict = {}

    class DAGStub:
        def __init__(self, **kw):
            seen["dag"] = kw

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    class BashOperatorStub:
        def __init__(self, **kw):
            seen["task"] = kw

    class Timetable:
        def __init__(self, cron, timezone):
            self.cron, self.timezone = cron, timezone

    mods = {
        "airflow": types.SimpleNamespace(DAG=DAGStub),
        "airflow.providers.standard.operators.bash": types.SimpleNamespace(BashOperator=BashOperatorStub),
        "airflow.timetables.interval": types.SimpleNamespace(CronDataIntervalTimetable=Timetable),
    }
    old_env = {k: os.environ.get(k) for k in env}
    saved = {k: sys.modules.get(k) for k in mods}
    try:
        os.environ.update(env)
        sys.modules.update(mods)
        exec(compile(DAG.read_text(), str(DAG), "exec"), {"__name__": "airflow_dag"})
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return seen["dag"], seen["task"]


def test_airflow_dag_runs_the_wrapper_for_the_logical_date(tmp_path, fake_dedup):
    tree = ast.parse(DAG.read_text())  # a valid Python file that imports what Airflow needs
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {"airflow", "airflow.providers.standard.operators.bash", "airflow.timetables.interval"} <= imported
    dag, task = _load_dag_with_stubs({})
    assert dag["dag_id"] == "dedup_nightly" and dag["catchup"] is False and dag["max_active_runs"] == 1
    assert (dag["schedule"].cron, dag["schedule"].timezone) == ("30 2 * * *", "UTC")
    assert task["bash_command"] == f"{INSTALL}/jobs/dedup-nightly.sh --config {PROD_CONFIG} --date {{{{ ds }}}}"
    assert not task["bash_command"].endswith(".sh")  # Airflow would take it for a template file
    # the command as Airflow renders and runs it, against this checkout and a stand-in dedup
    _, task = _load_dag_with_stubs({"DEDUP_HOME": str(ROOT)})
    bin_, calls = fake_dedup
    command = task["bash_command"].replace("{{ ds }}", "2026-11-26")
    env = {"PATH": "/usr/bin:/bin", "DEDUP_BIN": str(bin_), **task["env"]}
    env["DEDUP_LOG_DIR"] = str(tmp_path / "logs")
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert calls.read_text().split() == ["run", "--config", PROD_CONFIG, "--run-date", "2026-11-26"]


def test_airflow_dag_start_date_and_catchup_come_from_configuration():
    """No Airflow needed: the DAG's settings function, and the DAG built from it (stubs)."""
    ns: dict = {}
    tree = ast.parse(DAG.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "dag_settings")
    head = ast.parse("import os\nfrom datetime import datetime, timezone").body
    exec(compile(ast.Module(head + [fn], []), str(DAG), "exec"), ns)
    dag_settings = ns["dag_settings"]
    default = dag_settings({})
    # a backfill of any real night (the 2018 archive included) is inside the default window
    assert default["start_date"] <= dt.datetime(2018, 1, 1, tzinfo=dt.timezone.utc) and default["catchup"] is False
    got = dag_settings({"DEDUP_START_DATE": "2018-07-01", "DEDUP_CATCHUP": "true"})
    assert got == {"start_date": dt.datetime(2018, 7, 1, tzinfo=dt.timezone.utc), "catchup": True}
    for bad in ({"DEDUP_START_DATE": "1 July 2018"}, {"DEDUP_CATCHUP": "sometimes"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            dag_settings(bad)
    dag, _ = _load_dag_with_stubs({"DEDUP_START_DATE": "2018-07-01", "DEDUP_CATCHUP": "yes"})
    assert dag["start_date"] == dt.datetime(2018, 7, 1, tzinfo=dt.timezone.utc) and dag["catchup"] is True


def _airflow_python() -> str | None:
    try:
        import airflow  # noqa: F401
        return sys.executable
    except ImportError:
        return os.environ.get("DEDUP_AIRFLOW_PYTHON")  # a separate venv with apache-airflow


def test_airflow_dag_imports_in_airflow(tmp_path):
    py = _airflow_python()
    if not py:
        pytest.skip("apache-airflow not installed here (set DEDUP_AIRFLOW_PYTHON to a python that has it)")
    code = f"""
import importlib.util, pendulum
spec = importlib.util.spec_from_file_location("airflow_dag", {str(DAG)!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
t = m.dag.get_task("dedup_run")
print(type(t).__name__)
print(t.render_template(t.bash_command, {{"ds": "2026-11-26"}}))
print(m.dag.timetable.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 27, 2, 30, tz="UTC")).start.date())
print(m.dag.start_date.date(), m.dag.catchup)
"""
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               DEDUP_START_DATE="2018-07-01", DEDUP_CATCHUP="false")
    r = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    kind, command, interval_start, start = r.stdout.strip().splitlines()[-4:]
    assert start == "2018-07-01 False"
    assert kind == "BashOperator"
    assert command == f"{INSTALL}/jobs/dedup-nightly.sh --config {PROD_CONFIG} --date 2026-11-26"
    assert interval_start == "2026-11-26"  # the run at 02:30 on the 27th processes the 26th


def test_airflow_dags_test_runs_a_night_after_the_start_date_and_none_before(tmp_path, fake_dedup):
    """Issue 17 item 5, in a real Airflow (``airflow dags test``, the DAG copied into a DAGs folder, a
    fresh SQLite metadata database): with DEDUP_START_DATE=2018-07-01 a night after it runs the wrapper
    for that night; a night before it creates a run that Airflow marks successful without running the
    task (what docs/operations.md warns about); without DEDUP_START_DATE the earlier night runs."""
    py = _airflow_python()
    if not py:
        pytest.skip("apache-airflow not installed here (set DEDUP_AIRFLOW_PYTHON to a python that has it)")
    bin_, calls = fake_dedup
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAG, dags / DAG.name)
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(dags), DEDUP_HOME=str(ROOT),
               DEDUP_CONFIG=str(ROOT / "configs" / "demo.yaml"), DEDUP_LOG_DIR=str(tmp_path / "logs"),
               DEDUP_BIN=str(bin_), DEDUP_START_DATE="2018-07-01", DEDUP_CATCHUP="false")

    def airflow(*args, **extra):
        r = subprocess.run([py, "-m", "airflow", *args], capture_output=True, text=True, env={**env, **extra},
                           timeout=300)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
        return r.stdout + r.stderr

    airflow("db", "migrate")
    out = airflow("dags", "test", "dedup_nightly", "2018-07-15")
    assert calls.read_text().split() == ["run", "--config", env["DEDUP_CONFIG"], "--run-date", "2018-07-15"]
    assert "dedup-nightly: night 2018-07-15 written" in out
    calls.unlink()
    out = airflow("dags", "test", "dedup_nightly", "2018-06-15")
    assert not calls.exists()  # before the start date: no task ran...
    assert re.search(r"DagRun Finished: dag_id=dedup_nightly, logical_date=2018-06-15.*state=success", out)  # ...yet "success"
    airflow("dags", "test", "dedup_nightly", "2018-06-15", DEDUP_START_DATE="")
    assert calls.read_text().split()[-1] == "2018-06-15"  # the default start date lets any real night run
