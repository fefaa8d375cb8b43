"""What must happen before numba compiles anything or Arrow allocates: a writable folder for numba's
on-disk cache (and the same choice of folder for dedup's other caches: ``choose_cache_dir``), and
Arrow's allocator told not to ask for transparent huge pages (``configure_allocator``).

The jitted functions are declared ``@numba.njit(cache=True)``. numba keeps their machine code in
``__pycache__`` beside the source when it can write there, else in ``~/.cache/numba``, and raises
``RuntimeError: cannot cache function ...: no locator available`` at *import* when it can write
neither. That is the normal case for a service user (``User=dedup`` with its home in the
root-owned ``/opt/dedup``, or a wheel installed into a read-only ``site-packages``), so dedup
picks a writable per-user folder itself and hands it to numba through ``NUMBA_CACHE_DIR``, which
numba reads when it starts and re-reads before each compilation.

This module imports nothing outside the standard library, so ``import dedup`` cannot fail here.
"""
from __future__ import annotations

import atexit
import datetime as _dt
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from typing import Iterable, Mapping, Optional

#: Where the cache went and why, e.g. ("/var/cache/dedup/numba", "CACHE_DIRECTORY"); set on import.
NUMBA_CACHE: tuple[Optional[str], str] = (None, "not configured")


def _writable_dir(path: str) -> bool:
    """Create ``path`` (mode 0700 for new folders) and prove a file can be written in it."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _private_dir(path: str) -> bool:
    """True when ``path`` is a real folder owned by this user that nobody else can write.

    Needed for the shared temp folder: numba's cache files are pickles, so a folder another
    user created first (or can write into) would let them run code as the service user.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def cache_candidates(env: Mapping[str, str], name: str) -> list[tuple[str, str]]:
    """The folders tried for dedup's cache ``name`` ("numba", "language"), in order, as (path,
    where it came from).

    1. ``$CACHE_DIRECTORY/<name>``: systemd's ``CacheDirectory=dedup`` (jobs/dedup.service);
       the first entry when systemd lists several, colon-separated.
    2. ``$XDG_CACHE_HOME/dedup/<name>`` when ``XDG_CACHE_HOME`` is an absolute path.
    3. ``~/.cache/dedup/<name>`` (``$HOME``).
    """
    out = []
    systemd = env.get("CACHE_DIRECTORY", "").split(":")[0]
    if os.path.isabs(systemd):
        out.append((os.path.join(systemd, name), "CACHE_DIRECTORY"))
    xdg = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        out.append((os.path.join(xdg, "dedup", name), "XDG_CACHE_HOME"))
    home = env.get("HOME") or os.path.expanduser("~")
    if os.path.isabs(home):
        out.append((os.path.join(home, ".cache", "dedup", name), "HOME"))
    return out


def numba_cache_candidates(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``cache_candidates(env, "numba")``. A user's own ``NUMBA_CACHE_DIR`` is not in the list:
    it is never replaced."""
    return cache_candidates(env, "numba")


def choose_cache_dir(env: Mapping[str, str], name: str) -> tuple[Optional[str], str]:
    """The first writable folder of ``cache_candidates(env, name)``, else ``<tmp>/dedup-<uid>/<name>``
    when that folder is this user's alone: (path, source), source "CACHE_DIRECTORY", "XDG_CACHE_HOME",
    "HOME" or "temp"; (None, "none writable") when none is. Creates the folder it returns; never raises."""
    for path, source in cache_candidates(env, name):
        if _writable_dir(path):
            return path, source
    shared = os.path.join(tempfile.gettempdir(), f"dedup-{os.getuid()}")
    try:
        os.mkdir(shared, 0o700)
    except OSError:
        pass
    if _private_dir(shared) and _writable_dir(os.path.join(shared, name)):
        return os.path.join(shared, name), "temp"
    return None, "none writable"


def choose_numba_cache_dir(env: Mapping[str, str]) -> tuple[Optional[str], str]:
    """Pick the folder for numba's cache: (path, source), path None when the user set their own.

    Source is one of "NUMBA_CACHE_DIR" (the user's setting, kept as it is), "CACHE_DIRECTORY",
    "XDG_CACHE_HOME", "HOME", "temp" (``<tmp>/dedup-<uid>/numba``, when no per-user folder is
    writable) or "temp-private" (a fresh folder for this process, removed at exit, when even
    the temp one is taken by someone else). Creates the folder it returns; never raises.
    """
    if env.get("NUMBA_CACHE_DIR"):
        return None, "NUMBA_CACHE_DIR"
    path, source = choose_cache_dir(env, "numba")
    if path is not None:
        return path, source
    try:
        fresh = tempfile.mkdtemp(prefix="dedup-numba-")
    except OSError:
        return None, "none writable"
    atexit.register(shutil.rmtree, fresh, True)
    return fresh, "temp-private"


#: mimalloc's option (Arrow's default memory pool on Linux) that lets it ask the kernel for
#: transparent huge pages; read from the environment when mimalloc first looks at it.
MIMALLOC_THP = "MIMALLOC_ALLOW_THP"


def configure_allocator() -> None:
    """Set ``MIMALLOC_ALLOW_THP=0`` for this process (and the workers it starts) unless the user
    set it.

    A night allocates and frees Arrow buffers of tens of MB chunk after chunk. With huge pages
    allowed, mimalloc (bundled by pyarrow as its default pool, which reads its options from the
    environment on first use: https://microsoft.github.io/mimalloc/environment.html) returns
    freed spans to the kernel and the next buffer faults in fresh 2 MB pages, each zeroed by the
    kernel in full. At 200,000 stories that zeroing took 3-6 CPU s of the read stage's 7-9 and
    2-4 s of the night's wall (``docs/speed.md``, Session 18); with 4 KB pages only the bytes
    written are faulted in. Called by ``dedup/__init__.py`` before pyarrow is imported; if the
    caller imported and used pyarrow first, mimalloc keeps the choice it already made.
    """
    os.environ.setdefault(MIMALLOC_THP, "0")


#: A cache folder of another install of dedup (another path) unused for this many days is removed.
STALE_CACHE_DAYS = 30
#: At most one look for such folders a day per cache folder (the marker file's age says when).
PRUNE_MARKER = ".pruned"
PRUNE_EVERY_SECONDS = 86400


def numba_cache_subdir(module_dir: str) -> str:
    """The folder numba caches the functions of the modules in ``module_dir`` under, inside
    ``NUMBA_CACHE_DIR``: the folder's name and the SHA-1 of its absolute path, as
    ``numba.core.caching._CacheLocator.get_suitable_cache_subpath`` names it (numba 0.6x). So each
    path dedup is installed at (a release folder, a CI checkout, a virtualenv) gets folders of its own."""
    path = os.path.abspath(module_dir)
    return "_".join([os.path.basename(path), hashlib.sha1(path.encode()).hexdigest()])


def _package_dirs() -> list[str]:
    """The folders of this install's dedup package that hold modules."""
    top = os.path.dirname(os.path.abspath(__file__))
    return [d for d, subdirs, files in os.walk(top) if os.path.basename(d) != "__pycache__"
            and any(f.endswith(".py") for f in files)]


def _last_used(folder: str) -> float:
    """The newest access or change time (epoch seconds) of ``folder`` and the files in it; infinity
    if any of it cannot be read (a folder it cannot judge is never taken for unused)."""
    newest = 0.0
    try:
        for entry in os.scandir(folder):
            st = entry.stat(follow_symlinks=False)
            newest = max(newest, st.st_atime, st.st_mtime)
        st = os.stat(folder)
        newest = max(newest, st.st_mtime)
    except OSError:
        return float("inf")
    return newest


def prune_numba_cache(cache_dir: str, keep: Iterable[str], days: float = STALE_CACHE_DAYS,
                      now: Optional[float] = None) -> list[str]:
    """Remove the folders in ``cache_dir`` (dedup's own numba cache) that are not in ``keep`` (this
    install's, ``numba_cache_subdir``) and whose files nobody read or wrote for ``days`` days (the
    newest of their access and change times: numba reads a function's index file each time it
    loads it). Returns the names removed; never raises.

    numba never removes a cache folder, so without this each path dedup was ever installed at
    kept its compiled kernels (4 MB each) for good: 82 MB from 20 checkouts on the development
    machine. Another install still in use keeps its folder: reading it counts as use (on a file
    system mounted ``noatime``, only numba's writes do, and an unused month costs that install one
    compilation, ~30 s)."""
    keep = set(keep)
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return removed
    for entry in entries:
        try:
            if entry.name in keep or not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        if now - _last_used(entry.path) > days * 86400:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _prune_now(cache_dir: str) -> None:
    """``prune_numba_cache`` for this install, at most once every ``PRUNE_EVERY_SECONDS`` per folder."""
    marker = os.path.join(cache_dir, PRUNE_MARKER)
    try:
        if time.time() - os.stat(marker).st_mtime < PRUNE_EVERY_SECONDS:
            return
    except OSError:
        pass
    try:
        with open(marker, "w"):
            pass
    except OSError:
        return
    prune_numba_cache(cache_dir, {numba_cache_subdir(d) for d in _package_dirs()})


def configure_numba_cache() -> None:
    """Set ``NUMBA_CACHE_DIR`` for this process (and the workers it starts) unless the user did.

    Called once by ``dedup/__init__.py``, before any module with a jitted function is imported.
    If numba was imported earlier (by the caller's own code), its configuration is reloaded so
    the functions declared afterwards see the folder.
    """
    global NUMBA_CACHE
    path, source = choose_numba_cache_dir(os.environ)
    NUMBA_CACHE = (path or os.environ.get("NUMBA_CACHE_DIR"), source)
    if path is None:
        return
    os.environ["NUMBA_CACHE_DIR"] = path
    if source != "temp-private":  # a fresh folder, removed at exit, holds nothing older
        _prune_now(path)
    if "numba" in sys.modules:
        try:
            from numba.core import config

            config.reload_config()
        except Exception:  # noqa: BLE001 - a numba without this API compiles without the cache
            pass


def startup_error_line(err: BaseException) -> str:
    """The one line (no newline) for an error that escaped the CLI: at import, numba's cache, or a bug."""
    first = (str(err).strip().splitlines() or [""])[0]
    cache = isinstance(err, RuntimeError) and "cannot cache function" in first
    what = "cannot start" if cache or isinstance(err, ImportError) else "internal error"
    msg = f"{what}: {type(err).__name__}: {first}"
    if cache:
        where = os.environ.get("NUMBA_CACHE_DIR") or "none was writable"
        msg += (f" (numba's compiled-code cache needs a folder this user can write; NUMBA_CACHE_DIR: {where}:"
                " set NUMBA_CACHE_DIR, XDG_CACHE_HOME or HOME to a writable folder)")
    elif isinstance(err, ImportError):
        msg += " (the installation is incomplete: reinstall dedup, e.g. make setup, or pip install dedup)"
    return msg + " (rerun as dedup --verbose ... for the traceback)"


def json_log_line(level: str, message: str, **fields) -> str:
    """One log line as ``--log-format json`` writes it: ``{"time", "level", "logger", "message", ...fields}``.

    Used for lines written outside ``logging`` (``dedup: error: ...``, startup failures) so that
    in JSON mode every stderr line is one JSON object; the keys match ``dedup.cli``'s formatter.
    """
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
    obj = {"time": now, "level": level, "logger": "dedup", "message": message}
    for k, v in fields.items():
        obj.setdefault(k, v)
    return json.dumps(obj, default=str, ensure_ascii=False)


def json_requested(argv: list[str]) -> bool:
    """True when the command line asks for ``--log-format json`` (either spelling), read before
    the CLI parses it, so that failures before parsing are JSON too."""
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a == "--log-format=json" or (a == "--log-format" and argv[i + 1:i + 2] == ["json"]):
            return True
    return False
