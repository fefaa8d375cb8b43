"""Worker processes for the per-record work that holds Python's GIL: the text and date of HTML pages.

The local engine's worker threads run Arrow and compiled kernels, which release the GIL; HTML
extraction (trafilatura and lxml, ``dedup.stages.text.html``) is Python walking element trees, so
two threads extracting pages run about one core between them (10,000 real pages: 318 CPU s in 315 s
of wall, ~25 ms a page). ``PageWorkers.map`` hands a chunk's pages to ``run.workers`` processes
instead, and so does the page's own date (``dedup.stages.text.pagedate.html_page_date``: htmldate
parses the page again). The rules are the same functions either way (``clean.prepare_sourced`` and
``pagedate.page_dates`` take the ``map`` to call them with; the Spark engine calls them in its
executors as they are).

The processes are started the first time a chunk brings ``MIN_PAGES`` pages or more (a batch of
plain text never starts one; a handful of pages are cheaper done in place than a process start,
~1 s), with the ``spawn`` start method: the parent runs threads, and a ``fork`` of a threaded
process can inherit a lock held by another thread. Each process holds the extraction libraries and
its pages, ~200 MB on the extraction benchmark's pages: not in the manifest's ``peak_rss_mb``, which
is the dedup process's own.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable

log = logging.getLogger("dedup")

#: Pages in one call below which the work is done in the calling thread.
MIN_PAGES = 64


def _exit_with_parent(parent: int) -> None:
    """Initializer of each worker process: end it when the dedup process is gone. A night killed by
    its scheduler (SIGTERM, SIGKILL) would otherwise leave the workers extracting the pages already
    queued to them, and its rerun would start beside them. Ctrl-C is the parent's to handle: it
    stops the pool, where a worker interrupted mid-page would break it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class PageWorkers:
    """A lazily started pool of ``workers`` processes; ``workers`` 1 never starts one.

    Use as a context manager: leaving it stops the processes. Thread-safe: the read stage's
    threads call ``map`` at once."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._broken = False

    def __enter__(self) -> "PageWorkers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _get_pool(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._broken:
                return None
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                                 mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_exit_with_parent, initargs=(os.getpid(),))
            return self._pool

    def map(self, fn: Callable, items: Iterable) -> list:
        """``[fn(x) for x in items]``, in order, on the processes when there are enough items.
        ``fn`` must be a module-level function (it is pickled by name). Should the processes die
        (killed, out of memory), the items are done in this thread and later calls stay here."""
        items = list(items)
        pool = self._get_pool() if self.workers > 1 and len(items) >= MIN_PAGES else None
        if pool is None:
            return [fn(x) for x in items]
        try:
            return list(pool.map(fn, items, chunksize=max(1, len(items) // (4 * self.workers))))
        except BrokenProcessPool:
            log.warning("the HTML extraction processes stopped; extracting in the main process from here on")
            with self._lock:
                self._broken = True
            return [fn(x) for x in items]
