"""Every error the job raises on purpose, in one place, with the exit code the CLI gives it.

Exit codes (README, "Exit codes"): 2 for usage (the config, the input as a whole, the command
line: the operator must change something), 1 for a night that could not be produced
trustworthily (the operator may rerun). Any other exception is a bug.
"""
from __future__ import annotations

from dedup.config import ConfigError


class InputError(Exception):
    """The input as a whole cannot be read (missing path, unknown format). Exit code 2."""


class RunFailed(Exception):
    """The run could not produce a trustworthy night (exit code 1)."""


class LockBusy(RunFailed):
    """Another run holds the state folder's lock."""


class StateError(Exception):
    """The state on disk cannot be trusted: missing files, wrong checksum or version."""


class StateFailed(RunFailed):
    """A night stopped because of a ``StateError`` (exit code 1)."""


class NotFound(Exception):
    """A tool (explain, show, report) was asked for a night, story or cluster that is not there."""


__all__ = ["ConfigError", "InputError", "RunFailed", "LockBusy", "StateError", "StateFailed", "NotFound"]
