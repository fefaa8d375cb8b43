"""One night: orchestration and durability around the stages.

    run.py        run(settings): the lock, recovery, staging, engine choice, commit, state retention
    local.py      the local engine: the stages on this machine, chunk by chunk
    spark/        the Spark engine: the same stages on Spark DataFrames
    write.py      the local engine's write stage (stories streamed, clusters, rejects, state rows)
    staging.py    the staging folder, the journaled commit, recovery, work files
    state.py      what is remembered between nights (window of canonicals, chrome counts)
    policy.py     when a night is refused; record accounting
    figures.py    StageLog, Progress, RunResult
    manifest.py   the night's manifest.json and report.html, for either engine
"""
