"""The ``dedup`` console script (and ``python -m dedup``): the CLI, with startup failures as one line.

``dedup.cli`` and the modules its commands import (numba, pyarrow, pandas, the jitted stages)
can fail before any command runs: a broken install, or numba unable to cache. Those reach the
operator as ``dedup: error: cannot start: ...`` with exit code 1 (the run failed, nothing was
changed), not as a traceback; ``--verbose`` adds the traceback.
"""
from __future__ import annotations

import sys


def _startup_failed(err: BaseException, as_json: bool = False) -> None:
    from dedup._startup import json_log_line, startup_error_line

    verbose = any(a in ("-v", "--verbose") for a in sys.argv[1:])
    line = startup_error_line(err)
    if as_json:
        fields = {"error": line, "exit_code": 1}
        if verbose:
            import traceback

            fields["traceback"] = "".join(traceback.format_exception(err))
        print(json_log_line("ERROR", f"dedup: error: {line}", **fields), file=sys.stderr)
        sys.exit(1)
    if verbose:
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    print(f"dedup: error: {line}", file=sys.stderr)
    sys.exit(1)  # EXIT_FAILED of dedup.cli, which may be what failed to import


def _main_json() -> None:
    """``app()`` for ``--log-format json``: command-line usage errors (an unknown option, a bad
    value), which the CLI library prints as text boxes, become one JSON line too (exit 2)."""
    import typer

    from dedup._startup import json_log_line
    from dedup.cli import app

    try:
        rv = app(standalone_mode=False)
    except typer.TyperException as e:  # the CLI library's usage errors (typer's ClickException)
        msg = e.format_message() if hasattr(e, "format_message") else str(e)
        code = getattr(e, "exit_code", 2)
        print(json_log_line("ERROR", f"dedup: error: {msg}", error=msg, exit_code=code), file=sys.stderr)
        sys.exit(code)
    except typer.Abort:
        print(json_log_line("ERROR", "dedup: error: aborted", error="aborted", exit_code=1), file=sys.stderr)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


def _leave(code) -> None:
    """Exit with ``code`` (``SystemExit.code``) as the interpreter would, minus its teardown.

    Non-daemon threads are joined and the ``atexit`` handlers run (log handlers flushed, a
    temporary cache folder removed, a Spark gateway stopped), then the process ends with
    ``os._exit``: after a night the interpreter would otherwise free every object one by one
    (about 0.6 s at 200,000 stories and 3 s at 1M) for nothing. Outputs are closed and committed
    before a command returns, so nothing is lost. Falls back to a normal exit if any step fails.
    (mypy ends its runs the same way, ``mypy.util.hard_exit``.)"""
    import atexit
    import os
    import threading

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, exit status 1
        print(code, file=sys.stderr)
        code = 1
    try:
        threading._shutdown()  # what the interpreter does first at exit: join non-daemon threads
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a closed pipe, a handler that failed: the usual exit
        raise SystemExit(code) from None
    os._exit(code)


def main() -> None:
    """Run the ``dedup`` command line; exits 0, 1 or 2 (see ``dedup.cli``), never with a traceback.

    With ``--log-format json`` every line on stderr is one JSON object, failures at startup and
    usage errors included."""
    from dedup._startup import json_requested

    as_json = json_requested(sys.argv[1:])
    try:
        from dedup.cli import app
    except Exception as err:  # noqa: BLE001 - anything at import is a startup failure
        _startup_failed(err, as_json)
    try:
        if as_json:
            _main_json()
        else:
            app()
    except SystemExit as done:
        _leave(done.code)
    except Exception as err:  # noqa: BLE001 - commands import their stages lazily; those errors land here
        _startup_failed(err, as_json)


if __name__ == "__main__":
    main()
