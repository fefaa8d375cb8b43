"""The SparkSession for a run: master and settings from the config, or from spark-submit."""
from __future__ import annotations

import os
import sys

from dedup.config import ConfigError, Settings


class SparkMissing(ConfigError):
    """``run.engine: spark`` was asked for but pyspark is not installed (exit code 2)."""


def require_pyspark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkMissing(
            "run.engine is 'spark' but pyspark is not installed: pip install 'dedup[spark]' "
            "(and a Java 17+ runtime), or set run.engine: local"
        ) from None
    return pyspark


# Settings the engine relies on; a user's spark.conf can still override them.
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


def get_session(settings: Settings):
    """The active session (spark-submit's), or a new one from ``settings.spark``.

    Executors must run the same Python as the driver (numba, pyarrow, dedup itself), so
    PYSPARK_PYTHON defaults to this interpreter unless the environment sets it.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    sp = settings.spark
    builder = SparkSession.builder.appName(sp.app_name)
    # Under spark-submit the driver finds its JVM through PYSPARK_GATEWAY_PORT, and the submitted
    # --master must win; run directly, there is no master unless we give one.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if active is None and sp.master:
        builder = builder.master(sp.master)
    elif active is None and not submitted:
        builder = builder.master("local[*]")
    for k, v in {**DEFAULTS, **sp.conf}.items():
        builder = builder.config(k, v)
    spark = active or builder.getOrCreate()
    if active is not None:
        for k, v in sp.conf.items():
            spark.conf.set(k, v)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def partitions(spark, settings: Settings) -> int:
    return settings.spark.partitions or max(2, 2 * spark.sparkContext.defaultParallelism)
