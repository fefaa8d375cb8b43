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
    import warnings

    # pyspark 4.3 warns that it does not fully support pandas 3; the engine moves data as Arrow
    # (mapInArrow), never through pandas, so the warning says nothing about this job.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    sp = settings.spark
    builder = SparkSession.builder
    # Under spark-submit the driver finds its JVM through PYSPARK_GATEWAY_PORT, and what was
    # submitted (--master, --conf) wins over the config; run directly, the config decides.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if active is None and not submitted:
        builder = builder.master(sp.master or "local[*]")
    given = set()
    if submitted:
        from pyspark import SparkConf

        given = {k for k, _ in SparkConf().getAll()}
    for k, v in {"spark.app.name": sp.app_name, **DEFAULTS, **sp.conf}.items():
        if k not in given:
            builder = builder.config(k, v)
    spark = active or builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def partitions(spark, settings: Settings) -> int:
    return settings.spark.partitions or max(2, 2 * spark.sparkContext.defaultParallelism)
