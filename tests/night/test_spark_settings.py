"""Spark settings without starting Spark: precedence (spark-submit, config, defaults), the driver's
memory, missing Java, out-of-memory failures, and jobs/spark-submit.sh's command line and exit codes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dedup.config import load_config
from dedup.night.spark.session import DEFAULTS, plan_session, spark_failure, submit_options
from tests.conftest import DEMO, ROOT

GIB = 2**30


def _settings(**over):
    return load_config(input=str(DEMO), output="/tmp/unused", overrides=over)


def test_run_directly_the_config_wins_over_defaults_and_sets_the_driver_memory():
    s = _settings(**{"spark.master": "local[2]", "spark.conf": {
        "spark.sql.adaptive.enabled": "false", "spark.driver.memory": "3g"}})
    p = plan_session(s, None, total_bytes=64 * GIB)
    assert p.master == "local[2]"
    assert p.conf["spark.sql.adaptive.enabled"] == "false"  # the config over the engine's default
    assert p.conf["spark.driver.memory"] == "3g" and p.driver_memory == "3g"
    assert p.conf["spark.sql.session.timeZone"] == DEFAULTS["spark.sql.session.timeZone"]


def test_run_directly_in_local_mode_without_a_memory_setting_gets_half_the_machine():
    p = plan_session(_settings(), None, total_bytes=16 * GIB)
    assert p.master == "local[*]" and p.conf["spark.driver.memory"] == "8g"
    # On a cluster master the driver is not the executor: Spark's own default stands.
    p = plan_session(_settings(**{"spark.master": "yarn"}), None, total_bytes=16 * GIB)
    assert "spark.driver.memory" not in p.conf


def test_under_spark_submit_what_was_submitted_wins_and_the_config_fills_in():
    s = _settings(**{"spark.master": "local[1]", "spark.conf": {
        "spark.executor.memory": "2g", "spark.sql.adaptive.enabled": "false", "spark.ui.enabled": "true"}})
    submitted = {"spark.master": "local[2]", "spark.app.name": "dedup 2026-11-20", "spark.executor.memory": "6g",
                 "spark.driver.memory": "4g"}
    p = plan_session(s, submitted, total_bytes=16 * GIB)
    assert p.master is None  # spark-submit's local[2] stands
    assert not set(p.conf) & set(submitted)  # nothing submitted is set again
    assert p.conf["spark.sql.adaptive.enabled"] == "false" and p.conf["spark.ui.enabled"] == "true"
    assert p.driver_memory == "4g"
    assert any("spark.master 'local[1]'" in w and "local[2]" in w for w in p.warnings)


def test_under_spark_submit_a_config_driver_memory_the_jvm_did_not_get_is_warned_about():
    s = _settings(**{"spark.conf": {"spark.driver.memory": "8g"}})
    p = plan_session(s, {"spark.master": "local[*]"}, total_bytes=16 * GIB)
    assert "spark.driver.memory" not in p.conf and p.driver_memory == "1g"
    assert any("spark.driver.memory 8g" in w and "--driver-memory 8g" in w for w in p.warnings)
    # Given to spark-submit in another spelling of the same size: no warning.
    p = plan_session(s, {"spark.master": "local[*]", "spark.driver.memory": "8192m"}, total_bytes=16 * GIB)
    assert not [w for w in p.warnings if "driver.memory" in w]


def test_unknown_spark_keys_are_warned_about_but_free_families_are_not():
    s = _settings(**{"spark.conf": {"spark.sql.files.openCostInBytes": "1", "spark.hadoop.fs.x": "y"}})
    w = plan_session(s, None, total_bytes=16 * GIB).warnings
    assert len(w) == 1 and "spark.sql.files.openCostInBytes" in w[0]


def test_submit_options_carry_the_config_master_and_driver_memory():
    s = _settings(**{"spark.master": "local[3]", "spark.conf": {"spark.driver.memory": "5g"}})
    assert submit_options(s) == ["--master", "local[3]", "--conf", "spark.driver.memory=5g"]
    assert submit_options(s, "yarn") == ["--master", "yarn", "--conf", "spark.driver.memory=5g"]
    assert submit_options(_settings(), total_bytes=10 * GIB) == ["--master", "local[*]", "--conf",
                                                                  "spark.driver.memory=5g"]
    assert submit_options(_settings(), "yarn") == ["--master", "yarn"]


class Py4JJavaError(Exception):
    """Stands in for py4j's (matched by what it says, as the real one is built by py4j)."""


class Py4JNetworkError(Exception):
    pass


def test_java_heap_exhaustion_becomes_one_line_naming_driver_memory():
    from dedup.errors import RunFailed

    err = Py4JJavaError("An error occurred while calling o123.collectToPython.\n: org.apache.spark.SparkException: "
                        "Job aborted due to stage failure: ... java.lang.OutOfMemoryError: Java heap space\n\tat ...")
    f = spark_failure(err)
    assert isinstance(f, RunFailed) and "\n" not in str(f) and "spark.driver.memory" in str(f)
    try:
        try:
            raise Py4JNetworkError("Answer from Java side is empty")
        except Py4JNetworkError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        gone = spark_failure(outer)
    assert isinstance(gone, RunFailed) and "spark.driver.memory" in str(gone)
    assert spark_failure(ValueError("a bug")) is None


def test_missing_java_is_a_usage_error_naming_java(cli, tmp_path, monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    r = cli("run", "--input", DEMO, "--output", tmp_path / "out", "--engine", "spark", "--run-date", "2026-11-20")
    assert r.exit_code == 2, r.output
    assert "Java" in r.output and "internal error" not in r.output
    assert not (tmp_path / "out" / "stories").exists()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH either
    r = cli("run", "--input", DEMO, "--output", tmp_path / "out", "--engine", "spark", "--run-date", "2026-11-20")
    assert r.exit_code == 2 and "no Java runtime" in r.output


# -- jobs/spark-submit.sh ------------------------------------------------------------------------

def _wrapper(args, tmp_path, env_over=None, path=None):
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_SUBMIT", "PYSPARK_PYTHON", "SPARK_MASTER",
                                                              "PYSPARK_DRIVER_PYTHON", "DEDUP_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(env_over or {})
    if path is not None:
        env["PATH"] = path
    return subprocess.run(["bash", str(ROOT / "jobs" / "spark-submit.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=120)


def _config(tmp_path, spark: str) -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"input: {{path: {DEMO}}}\noutput: {{path: {tmp_path / 'out'}}}\nspark: {spark}\n")
    return cfg


def test_wrapper_passes_the_config_master_and_memory_unless_given(tmp_path):
    cfg = _config(tmp_path, "{master: 'local[1]', conf: {spark.driver.memory: 3g}}")
    env = {"PYSPARK_PYTHON": sys.executable, "SPARK_SUBMIT": "/bin/true"}
    r = _wrapper(["-c", cfg, "-d", "2026-11-20", "--dry-run"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert "--master local\\[1\\] --conf spark.driver.memory=3g" in r.stdout
    r = _wrapper(["-c", cfg, "-d", "2026-11-20", "--dry-run", "--master", "local[2]", "--", "--driver-memory", "1g"],
                 tmp_path, env)
    # the given master; a --driver-memory after -- comes later on the line, where spark-submit takes it
    assert "--master local\\[2\\]" in r.stdout and r.stdout.index("spark.driver.memory=3g") < r.stdout.index(
        "--driver-memory 1g")
    bad = _config(tmp_path, "{conf: {spark.driver.memory: 8 GB}}")
    r = _wrapper(["-c", bad, "-d", "2026-11-20", "--dry-run"], tmp_path, env)
    assert r.returncode == 2 and "8g or 512m" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_wrapper_without_a_venv_finds_spark_submit_inside_pyspark(tmp_path):
    """A checkout without .venv, no spark-submit on PATH: the python3 on PATH that has pyspark is used,
    with the spark-submit inside its pyspark package (not exit 127)."""
    pytest.importorskip("pyspark")
    if (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("this checkout has its own .venv")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (bindir / "python3").chmod(0o755)
    cfg = _config(tmp_path, "{master: 'local[1]'}")
    r = _wrapper(["-c", cfg, "-d", "2026-11-20", "--dry-run"], tmp_path, path=f"{bindir}:/usr/bin:/bin")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0].endswith("pyspark/bin/spark-submit")
    nopy = tmp_path / "empty"
    nopy.mkdir()
    r = _wrapper(["-c", cfg, "-d", "2026-11-20"], tmp_path, {"PYSPARK_PYTHON": "/bin/false"}, path=f"{nopy}:/usr/bin:/bin")
    assert r.returncode == 1 and "PYSPARK_PYTHON" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("code, expected, says", [(0, 0, None), (1, 1, None), (2, 2, None),
                                                   (52, 1, "ran out of memory"), (137, 1, "exited 137")])
def test_wrapper_exit_codes_stay_within_0_1_2(tmp_path, code, expected, says):
    fake = tmp_path / "fake-submit"
    fake.write_text(f"#!/bin/sh\nexit {code}\n")
    fake.chmod(0o755)
    cfg = _config(tmp_path, "{}")
    r = _wrapper(["-c", cfg, "-d", "2026-11-20"], tmp_path, {"PYSPARK_PYTHON": sys.executable, "SPARK_SUBMIT": str(fake)})
    assert r.returncode == expected, r.stderr
    if says:
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    if code == 52:
        assert "spark.driver.memory" in r.stderr


def test_heap_exhaustion_in_the_night_is_exit_1_with_one_line(cli, tmp_path, monkeypatch):
    """The engine's own wrapper turns the JVM's OutOfMemoryError into RunFailed (not 'internal error')."""
    pytest.importorskip("pyspark")
    from dedup.night.spark import engine
    from dedup.night.spark.session import java_missing

    if java_missing():
        pytest.skip(java_missing())

    def oom(*a, **k):
        raise Py4JJavaError("An error occurred while calling o77.count.\n: java.lang.OutOfMemoryError: Java heap space")

    monkeypatch.setattr(engine, "_run_night", oom)
    r = cli("run", "--input", DEMO, "--output", tmp_path / "out", "--engine", "spark", "--run-date", "2026-11-20")
    assert r.exit_code == 1, r.output
    line = r.output.strip().splitlines()[-1]
    assert line.startswith("dedup: error: Spark ran out of Java heap") and "spark.driver.memory" in line
    assert "internal error" not in r.output
    assert not list((tmp_path / "out").glob("stories/run_date=*"))
