"""The SparkSession for a run: master and settings from the config, or from spark-submit."""
from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dedup.config import SPARK_KEYS, ConfigError, Settings, default_driver_memory, is_local_master, size_bytes

log = logging.getLogger("dedup")


class SparkMissing(ConfigError):
    """``run.engine: spark`` was asked for but pyspark or a Java runtime is missing (exit code 2)."""


def require_pyspark():
    """pyspark, imported; raises SparkMissing (one line) when it is not installed, or when the engine
    would have to start Spark's JVM itself and finds no Java (``$JAVA_HOME/bin/java``, else ``java``
    on PATH, as Spark's launcher looks)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkMissing(
            "run.engine is 'spark' but pyspark is not installed: pip install 'dedup[spark]' "
            "(and a Java 17+ runtime), or set run.engine: local"
        ) from None
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # under spark-submit the JVM is already running
        why = java_missing()
        if why:
            raise SparkMissing(f"run.engine is 'spark' but {why}: Spark needs a Java 17+ runtime (e.g. apt-get "
                               "install openjdk-17-jre-headless), or set run.engine: local")
    return pyspark


def java_missing() -> str | None:
    """Why Spark's launcher would find no ``java`` (None when it would): it runs ``$JAVA_HOME/bin/java``
    when JAVA_HOME is set, else the ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        exe = Path(home) / "bin" / "java"
        return None if os.access(exe, os.X_OK) else f"JAVA_HOME is {home} and {exe} is not an executable"
    return None if shutil.which("java") else "no Java runtime was found (JAVA_HOME is not set and no java on PATH)"


# Settings the engine relies on; a user's spark.conf, and under spark-submit a submitted --conf,
# override them.
DEFAULTS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Hive-style partitions hold plain part files: no _SUCCESS marker, timestamps as microseconds.
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
    # The iterative canonical choice builds long plans; adaptive execution keeps shuffles small.
    "spark.sql.adaptive.enabled": "true",
}
# Key families whose names are free (environment variables, Hadoop and catalog settings): not warned about.
_FREE_PREFIXES = ("spark.hadoop.", "spark.executorEnv.", "spark.yarn.", "spark.kubernetes.", "spark.sql.catalog.",
                  "spark.driverEnv.", "spark.eventLog.", "spark.history.", "spark.metrics.")
SPARK_DEFAULT_DRIVER_MEMORY = "1g"  # Spark's own, when neither spark-submit nor the config sets one


@dataclass
class SessionPlan:
    """What the session is built with: ``master`` (None: spark-submit's stands), ``conf`` to set
    (submitted keys never appear), the driver memory the JVM has or gets, and warnings to log."""

    master: str | None
    conf: dict[str, str]
    driver_memory: str
    warnings: list[str] = field(default_factory=list)


def plan_session(settings: Settings, submitted: dict[str, str] | None, total_bytes: int | None = None) -> SessionPlan:
    """The session's settings by precedence: what spark-submit was given (``submitted``: the JVM's
    SparkConf, None when the engine starts Spark itself) wins, then the config's ``spark`` section,
    then ``DEFAULTS``. ``spark.driver.memory`` only works before the JVM starts: run directly, the
    config's (or, in local mode, ``default_driver_memory(total_bytes)``) is set on the builder;
    under spark-submit a config value the JVM did not get is warned about (it cannot change)."""
    sp = settings.spark
    warnings = [f"spark.conf: '{k}' is not a Spark setting this job knows; it is passed to Spark as it is "
                "(check the spelling: Spark ignores unknown keys)"
                for k in sp.conf if k not in SPARK_KEYS and not k.startswith(_FREE_PREFIXES)]
    wanted = {"spark.app.name": sp.app_name, **DEFAULTS, **sp.conf}
    if submitted is None:
        master = sp.master or "local[*]"
        if "spark.driver.memory" not in wanted and is_local_master(master):
            wanted["spark.driver.memory"] = default_driver_memory(total_bytes)
        memory = wanted.get("spark.driver.memory", SPARK_DEFAULT_DRIVER_MEMORY)
        return SessionPlan(master, wanted, memory, warnings)
    got = submitted.get("spark.master")
    if sp.master and got and sp.master != got:
        warnings.append(f"spark.master '{sp.master}' in the config is not used: spark-submit's --master ({got}) "
                        "decides (jobs/spark-submit.sh passes the config's when given no --master)")
    memory = submitted.get("spark.driver.memory")
    mine = wanted.pop("spark.driver.memory", None)
    if mine and (memory is None or size_bytes(memory) != size_bytes(mine)):
        warnings.append(f"spark.driver.memory {mine} in the config cannot take effect: the driver JVM that "
                        f"spark-submit started has {memory or SPARK_DEFAULT_DRIVER_MEMORY}; pass --driver-memory "
                        f"{mine} to spark-submit (jobs/spark-submit.sh passes the config's)")
    elif memory is None and is_local_master(got):
        warnings.append(f"the driver JVM has Spark's default heap ({SPARK_DEFAULT_DRIVER_MEMORY}), which runs out "
                        "near 200k stories in local mode: pass --driver-memory to spark-submit (jobs/spark-submit.sh "
                        f"passes spark.driver.memory, default {default_driver_memory(total_bytes)} on this machine)")
    conf = {k: v for k, v in wanted.items() if k not in submitted}
    return SessionPlan(None, conf, memory or SPARK_DEFAULT_DRIVER_MEMORY, warnings)


def submit_options(settings: Settings, master: str | None = None, total_bytes: int | None = None) -> list[str]:
    """spark-submit options that must be set before the driver JVM starts, as jobs/spark-submit.sh
    passes them: ``--master`` (``master`` if given, else the config's, else local[*]) and, when the
    config sets it or the master is local, ``--conf spark.driver.memory=...`` (options after these
    on spark-submit's command line win)."""
    sp = settings.spark
    master = master or sp.master or "local[*]"
    out = ["--master", master]
    memory = sp.conf.get("spark.driver.memory") or (default_driver_memory(total_bytes) if is_local_master(master) else None)
    if memory:
        out += ["--conf", f"spark.driver.memory={memory}"]
    return out


_DRIVER_MEMORY = [SPARK_DEFAULT_DRIVER_MEMORY]  # the running driver's, for the out-of-memory hint


def get_session(settings: Settings):
    """The active session (spark-submit's), or a new one from ``settings.spark`` (``plan_session``).

    Executors must run the same Python as the driver (numba, pyarrow, dedup itself), so
    PYSPARK_PYTHON defaults to this interpreter unless the environment sets it. Raises SparkMissing
    when the JVM does not start (no Java, a broken runtime).
    """
    require_pyspark()
    import warnings

    # pyspark 4.3 warns that it does not fully support pandas 3; the engine moves data as Arrow
    # (mapInArrow), never through pandas, so the warning says nothing about this job.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    # Under spark-submit the driver finds its JVM through PYSPARK_GATEWAY_PORT; SparkConf() reads the
    # submitted settings (--master, --conf, --driver-memory) from it only once the gateway is up.
    submitted = None
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        SparkContext._ensure_initialized()
        submitted = dict(SparkConf().getAll())
    plan = plan_session(settings, submitted)
    for w in plan.warnings:
        log.warning(w)
    builder = SparkSession.builder
    if active is None and plan.master:
        builder = builder.master(plan.master)
    for k, v in plan.conf.items():
        builder = builder.config(k, v)
    if active is None:
        try:
            active = builder.getOrCreate()
        except Exception as e:  # noqa: BLE001 - pyspark's launcher error is a bare PySparkRuntimeError
            if "JAVA_GATEWAY_EXITED" in str(e) or "Java gateway process exited" in str(e):
                raise SparkMissing("Spark's JVM did not start (Java gateway exited): check the Java 17+ runtime "
                                   "(JAVA_HOME, java on PATH) and the spark.driver.* settings") from None
            raise
        _DRIVER_MEMORY[0] = plan.driver_memory
    active.sparkContext.setLogLevel("ERROR")
    return active


# Text of the JVM's out-of-memory failures, as py4j and Spark's task failures carry it.
_OOM = ("java.lang.OutOfMemoryError", "Java heap space", "GC overhead limit exceeded")


def spark_failure(err: BaseException) -> Exception | None:
    """The one-line error for a Spark failure an operator can act on, or None: the JVM out of heap
    (RunFailed naming spark.driver.memory), or the JVM gone mid-night (likely killed for memory)."""
    from dedup.errors import RunFailed

    if isinstance(err, (ConfigError, RunFailed)):  # already one line of ours
        return None
    chain, e = [], err
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    text = " ".join(f"{type(x).__name__} {x}" for x in chain)
    mem = _DRIVER_MEMORY[0]
    if any(s in text for s in _OOM):
        return RunFailed(f"Spark ran out of Java heap (spark.driver.memory is {mem}): raise spark.driver.memory in "
                         "the config's spark.conf (under spark-submit: --driver-memory), or spark.executor.memory "
                         "on a cluster; nothing was written")
    if any(type(x).__name__ in ("Py4JNetworkError", "ConnectionRefusedError", "ConnectionResetError") for x in chain):
        return RunFailed(f"Spark's driver JVM went away mid-night (most often killed for memory; spark.driver.memory "
                         f"is {mem}): check its log, raise spark.driver.memory or lower spark.partitions; nothing was "
                         "written")
    return None


def partitions(spark, settings: Settings) -> int:
    return settings.spark.partitions or max(2, 2 * spark.sparkContext.defaultParallelism)


def _main(argv: list[str]) -> int:
    """``python -m dedup.night.spark.session --config FILE --run-date D [--master URL]``: print
    ``submit_options`` one a line for jobs/spark-submit.sh; a bad config is one line and exit 2."""
    import argparse

    from dedup.config import load_config

    ap = argparse.ArgumentParser(prog="dedup.night.spark.session")
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-date")
    ap.add_argument("--master")
    a = ap.parse_args(argv)
    try:
        settings = load_config(a.config, run_date=a.run_date, overrides={"run.engine": "spark"})
    except ConfigError as e:
        print(f"dedup: error: {e}", file=sys.stderr)
        return 2
    print("\n".join(submit_options(settings, a.master or None)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
