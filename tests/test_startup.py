"""What ``import dedup`` sets up before the stages run: Arrow's allocator without huge pages
(``dedup._startup.configure_allocator``), and the numba cache folder kept to the installs in use
(``prune_numba_cache``). The choice of the numba cache folder is tested in
``tests/night/test_readonly_install.py``."""
from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from dedup._startup import MIMALLOC_THP
from tests.conftest import ROOT

needs_mimalloc = pytest.mark.skipif(pa.default_memory_pool().backend_name != "mimalloc",
                                    reason="this pyarrow's default memory pool is not mimalloc")

# A fresh interpreter (mimalloc reads its options once): import dedup, then make Arrow allocate.
PROBE = "import dedup, pyarrow as pa; pa.array(range(100_000)).sum()"


def mimalloc_option(name: str, env: dict) -> str:
    """The value mimalloc reports for its option ``name`` in a fresh interpreter running PROBE
    (``MIMALLOC_VERBOSE=1`` makes it print each option it reads to stderr)."""
    env = {**env, "MIMALLOC_VERBOSE": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    for line in done.stderr.splitlines():
        if line.strip().startswith(f"option '{name}':"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"mimalloc printed no option {name!r}:\n{done.stderr[-2000:]}")


@needs_mimalloc
def test_arrow_allocates_without_transparent_huge_pages_after_import_dedup():
    env = {k: v for k, v in os.environ.items() if k != MIMALLOC_THP}
    assert mimalloc_option("allow_thp", env) == "0"


@needs_mimalloc
def test_an_operators_own_huge_page_setting_is_kept():
    env = {k: v for k, v in os.environ.items() if k != MIMALLOC_THP}
    assert mimalloc_option("allow_thp", {**env, MIMALLOC_THP: "1"}) == "1"


def test_the_cache_folder_named_for_a_module_folder_is_the_one_numba_uses():
    from numba.core.caching import _CacheLocator

    import dedup.night.state
    import dedup.stages.fingerprint
    import dedup.stages.text.lines
    from dedup._startup import _package_dirs, numba_cache_subdir

    for mod in (dedup.stages.text.lines, dedup.stages.fingerprint, dedup.night.state):
        assert numba_cache_subdir(os.path.dirname(mod.__file__)) == _CacheLocator.get_suitable_cache_subpath(mod.__file__)
        assert os.path.dirname(os.path.abspath(mod.__file__)) in _package_dirs()


def _folder(root, name: str, age_days: float, now: float, read_days: float | None = None):
    """A cache folder with one index file, written ``age_days`` ago and read ``read_days`` ago."""
    d = root / name
    d.mkdir()
    f = d / "lines._gather_lines-244.py311.nbi"
    f.write_bytes(b"x")
    written = now - age_days * 86400
    os.utime(f, (now - (read_days if read_days is not None else age_days) * 86400, written))
    os.utime(d, (written, written))
    return d


def test_cache_folders_of_installs_gone_for_a_month_are_removed_and_nothing_else(tmp_path, monkeypatch):
    """Issue 15 (left out since session 17): every path dedup was installed at kept its compiled
    kernels in the cache for good. Folders of other installs unused for STALE_CACHE_DAYS go; this
    install's, recently read ones and anything that is not a folder stay."""
    import time

    from dedup._startup import STALE_CACHE_DAYS, prune_numba_cache

    now = time.time()
    own = _folder(tmp_path, "text_" + "a" * 40, 400, now)
    gone = _folder(tmp_path, "text_" + "b" * 40, STALE_CACHE_DAYS + 1, now)
    fresh = _folder(tmp_path, "text_" + "c" * 40, STALE_CACHE_DAYS - 1, now)
    read = _folder(tmp_path, "night_" + "d" * 40, 400, now, read_days=2)  # another install, still loading it
    unreadable = _folder(tmp_path, "text_" + "9" * 40, 400, now)  # cannot be listed: never taken for unused
    scandir = os.scandir

    def denied(path="."):
        if not isinstance(path, int) and os.fspath(path) == str(unreadable):  # shutil.rmtree passes fds
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)  # chmod would not stop root
    (tmp_path / "note.txt").write_text("x")
    os.utime(tmp_path / "note.txt", (now - 400 * 86400,) * 2)
    assert prune_numba_cache(str(tmp_path), {own.name}, now=now) == [gone.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([own.name, fresh.name, read.name, unreadable.name,
                                                                 "note.txt"])
    assert prune_numba_cache(str(tmp_path / "missing"), set(), now=now) == []


def test_import_dedup_prunes_its_cache_folder_at_most_once_a_day(tmp_path):
    """In a fresh interpreter with NUMBA_CACHE_DIR unset and HOME at tmp_path: a stale folder of another
    install goes on import, and a second import within the day does not look again."""
    import time

    from dedup._startup import PRUNE_MARKER, STALE_CACHE_DAYS

    cache = tmp_path / ".cache" / "dedup" / "numba"
    cache.mkdir(parents=True)
    now = time.time()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "CACHE_DIRECTORY")}
    env["HOME"] = str(tmp_path)

    def import_dedup():
        done = subprocess.run([sys.executable, "-c", "import dedup"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    _folder(cache, "stages_" + "e" * 40, STALE_CACHE_DAYS + 5, now)
    import_dedup()
    assert not (cache / ("stages_" + "e" * 40)).exists() and (cache / PRUNE_MARKER).exists()
    _folder(cache, "stages_" + "f" * 40, STALE_CACHE_DAYS + 5, now)
    import_dedup()  # the marker is fresh: no second look today
    assert (cache / ("stages_" + "f" * 40)).exists()
    os.utime(cache / PRUNE_MARKER, (now - 2 * 86400,) * 2)
    import_dedup()
    assert not (cache / ("stages_" + "f" * 40)).exists()
