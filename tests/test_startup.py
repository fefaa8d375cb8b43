"""What ``import dedup`` sets up before the stages run: Arrow's allocator without huge pages
(``dedup._startup.configure_allocator``). The numba cache folder is tested in
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
