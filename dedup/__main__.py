"""The ``dedup`` console script (and ``python -m dedup``): the CLI, with startup failures as one line.

``dedup.cli`` and the modules its commands import (numba, pyarrow, pandas, the jitted stages)
can fail before any command runs: a broken install, or numba unable to cache. Those reach the
operator as ``dedup: error: cannot start: ...`` with exit code 1 (the run failed, nothing was
changed), not as a traceback; ``--verbose`` adds the traceback.
"""
from __future__ import annotations

import sys


def _startup_failed(err: BaseException) -> None:
    from dedup._startup import startup_error_line

    if any(a in ("-v", "--verbose") for a in sys.argv[1:]):
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    print(f"dedup: error: {startup_error_line(err)}", file=sys.stderr)
    sys.exit(1)  # EXIT_FAILED of dedup.cli, which may be what failed to import


def main() -> None:
    """Run the ``dedup`` command line; exits 0, 1 or 2 (see ``dedup.cli``), never with a traceback."""
    try:
        from dedup.cli import app
    except Exception as err:  # noqa: BLE001 - anything at import is a startup failure
        _startup_failed(err)
    try:
        app()
    except Exception as err:  # noqa: BLE001 - commands import their stages lazily; those errors land here
        _startup_failed(err)


if __name__ == "__main__":
    main()
