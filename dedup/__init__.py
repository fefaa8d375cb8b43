"""dedup: find syndicated copies of wire stories, cluster them, pick a canonical, write Parquet.

Library use (what the CLI does)::

    from dedup import load_config, run
    result = run(load_config("configs/prod.yaml", run_date="2026-11-26"))
    result.counts, result.manifest
"""
from dedup.config import ConfigError, Settings, load_config


def run(settings: Settings):
    """Run one night; see ``dedup.night.run.run``."""
    from dedup.night.run import run as _run

    return _run(settings)


__all__ = ["run", "load_config", "Settings", "ConfigError"]
