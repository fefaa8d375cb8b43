"""dedup: find syndicated copies of wire stories, cluster them, pick a canonical, write Parquet.

Library use (what the CLI does)::

    from dedup import load_config, run
    result = run(load_config("configs/prod.yaml", run_date="2026-11-26"))
    result.counts, result.manifest
"""
from dedup._startup import configure_allocator, configure_numba_cache

# First, before any jitted module is imported: numba needs a writable cache folder, and a
# read-only install (a service user, a wheel in a root-owned site-packages) has none by default.
configure_numba_cache()
# And before pyarrow allocates: its allocator's huge pages cost more to zero than they save.
configure_allocator()


def run(settings):
    """Run one night; see ``dedup.night.run.run``."""
    from dedup.night.run import run as _run

    return _run(settings)


def __getattr__(name):
    # Imported on first use so that `import dedup` (the console script's first step) cannot fail
    # on a broken dependency before dedup.__main__ can report it as one line.
    if name in ("load_config", "Settings", "ConfigError"):
        from dedup import config

        return getattr(config, name)
    raise AttributeError(f"module 'dedup' has no attribute {name!r}")


__all__ = ["run", "load_config", "Settings", "ConfigError"]
