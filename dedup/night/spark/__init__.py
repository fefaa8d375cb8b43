"""The Spark engine (``run.engine: spark``): the same stages as ``dedup.night.local``, on Spark DataFrames.

Laid out as the data flows, like the local engine:

    session.py     the SparkSession (config, spark-submit, a clear error when pyspark is missing)
    partitions.py  what runs on executors, one Arrow batch at a time: the project's own reader,
                   cleaner and fingerprinter, band keys, pair scoring (no Spark imports: testable alone)
    state.py       the state window read, and the night's state written, as Parquet through Spark
    graph.py       candidates (band-key shuffle), verification, canonical choice and rescue as
                   DataFrame operations: no edge list is ever collected to the driver
    tables.py      the output tables, written by Spark to the local engine's contract and partitions
    engine.py      ``run(settings)``: the night, stage by stage, with the local engine's staging,
                   commit, lock, manifest and report

Both engines give the same clusters, cluster ids and canonicals on the same batch and state
(``tests/test_spark.py``). Install with ``pip install 'dedup[spark]'``; Spark needs a Java 17+ runtime.
"""
