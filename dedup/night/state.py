"""What the job remembers between nights, under ``state.path`` (default ``<output>/_state``).

Layout (format version ``STATE_VERSION``)::

    run.lock                                  one run at a time (flock; dies with its process)
    nights/run_date=YYYY-MM-DD/
        canonicals.parquet   one row per cluster the night created or touched: its id, its
                             canonical story (id, headline, body, agency, published_at, words) and
                             the canonical's fingerprint (signature list<uint32>, shingle set
                             list<uint32>, text and headline hashes)
        members.parquet      (cluster_id, story_id, outlet, published_at) of every member of those
                             clusters, earlier nights' members included
        chrome.parquet       the night's chrome counts: (outlet-line key uint64, stories int64)
        chrome_reports.parquet  report sketches of the stories carrying candidate keys (key uint64,
                             q int32, value int64: ``dedup.stages.chrome.ReportSets``), version 2 on
        outlets.parquet      stories seen per outlet that night
        chrome_lines.parquet the chrome lines removed most often per outlet, as text (outlet, line,
                             stories): what the learned chrome looks like, for people
        index/*.npy          the band-key index and fingerprints (``write_index``; local engine)
        chrome_index/*.npy   chrome.parquet and chrome_reports.parquet as sorted arrays, with each
                             key's sketch sizes per position (``write_chrome_index``; local engine)
        story_index/story_keys.npy  the members' story ids as sorted unique 64-bit hashes
                             (``write_story_index``; local engine): which ids the night wrote
        manifest.json        version, night, row counts, the sha256 of each file above, and
                             ``fingerprint``: the settings its fingerprints were made under
                             (``fingerprint_settings``: shingle_size, num_perm, seed, text_version)

A window night fingerprinted under other settings than tonight's is never compared as if alike:
the local engine re-fingerprints its canonicals from their stored text (``body`` is the cleaned
text the fingerprint was made from); the Spark engine stops before any work (``ConfigError``)
saying what changed. A night written before the settings were recorded is spot-checked: a
sample of its canonicals is fingerprinted under tonight's settings and compared with the stored
fingerprints; equal, it is read as is, otherwise treated as made under other settings.

A night is matched against the *window*: the nights before it, at most ``state.retention_days``
back. Only earlier nights count, so a rerun of a night sees exactly what its first run saw and
replaces its own partition; a backfill of an old night reads the nights before it and does not
rewrite the nights after it (they keep the ids they were given). For each cluster the latest
night's row is the truth, so a cluster touched every night never falls out of the window.

What a night holds of its window (``load_window``): per canonical its cluster id, words and
hashes; each night's band-key index is memory-mapped and searched with tonight's keys one night at
a time; fingerprints, ids, headlines and bodies are read for the candidate canonicals only
(``Window.select``), members for the clusters tonight touches (``Window.members_of``), and the
chrome model for tonight's keys plus the keys whose report sketches over the window may reach
``chrome.min_stories`` reports (``_report_bounds``), merged once. The chrome figures come from
each night's ``chrome_index/`` (memory-mapped: per key a few bytes of sketch sizes for the
bounds, then the wanted keys' story counts and sketch rows by binary search), or, for a night
without one (written by the Spark engine or a dedup before it), from its Parquet files, with the
same result.

Partitions are written in the run's staging folder and moved into place by the same journaled
commit as the output tables (``dedup.night.staging``); every load checks versions and checksums.

How a window night is checked (``_verify``), so that a night's cost does not grow with the window
while a corrupted or half-written window file is never used silently:

- The manifest is read and checked every time (version, every listed file present).
- The first load that reads a night hashes every file the manifest lists (sha256, as written)
  and, when all match, records ``verified.json`` beside them: the manifest's digest and each
  file's size and modification time (ns). Later loads compare sizes and times (one ``stat`` a
  file) and hash again only when the manifest or any file changed since; so each night hashes
  the night written before it once, not the whole window. Anything that writes a file (an
  interrupted copy, an edit, a truncation, a night rerun) changes its size or time and gets the
  full check; a mismatch stops the night (``StateError``) saying which file and how to rebuild it.
- What a size-and-time check cannot see is a file damaged in place without a write (media
  errors): the Parquet files are written with a CRC per page (``write_page_checksum``) and every
  page a night reads is checked against it (``page_checksum_verification``), so such damage in
  what is read stops the night too (``StateError``). Nights written before page CRCs (and the
  Spark engine's, whose writer may not add them) rely on the full hash when first read. The
  ``index/`` and ``chrome_index/`` ``.npy`` files are covered by the hash and the size-and-time
  check only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup import layout
from dedup.errors import StateError
from dedup.schemas import CANONICALS_SCHEMA, CHROME_REPORTS_SCHEMA, MEMBERS_SCHEMA, parquet_dictionary
from dedup.stages.chrome import REPORT_SET, SKETCH, ChromeModel, ReportSets
from dedup.stages.fingerprint import Fingerprints, fingerprint
from dedup.stages.text.normalize import TEXT_VERSION, fingerprint_text

log = logging.getLogger("dedup")

STATE_VERSION = 2
# Versions this dedup reads. Version 1 has no report sketches: its story counts are read, and its
# lines count as carried by no report (so they can only become chrome again with tonight's reports).
READABLE_VERSIONS = (1, 2)
FILES_V1 = ("canonicals.parquet", "members.parquet", "chrome.parquet", "outlets.parquet", "chrome_lines.parquet")
FILES = FILES_V1 + ("chrome_reports.parquet",)


def night_version(state_path: Path, night: str) -> int:
    """The format version of a state night (from its manifest)."""
    return int(json.loads((night_dir(state_path, night) / "manifest.json").read_text()).get("version", 1))


def files_of(version: int) -> tuple[str, ...]:
    """The files a state night of that format version holds."""
    return FILES_V1 if version == 1 else FILES



# Canonicals of a night written before fingerprint settings were recorded that are fingerprinted
# again to tell which settings made them: equal signatures and shingle sets on all of them (bar a
# hash collision) mean the same settings.
SPOT_CHECK_ROWS = 16


def fingerprint_settings(dedup) -> dict:
    """What a state night's fingerprints (signatures, shingle sets, text hashes) depend on, from a
    ``config.DedupSettings``: ``{"shingle_size", "num_perm", "seed", "text_version"}`` (ints;
    text_version is ``dedup.stages.text.normalize.TEXT_VERSION``). Recorded in each state
    night's manifest."""
    return {"shingle_size": int(dedup.shingle_size), "num_perm": int(dedup.num_perm), "seed": int(dedup.seed),
            "text_version": TEXT_VERSION}


def refingerprint(body: pa.Array | pa.ChunkedArray, fp: dict) -> Fingerprints:
    """Fingerprints of stored canonical text (the state's ``body``, the cleaned text) under the
    settings ``fp`` (``fingerprint_settings``): what the clean stage computes for a story."""
    return fingerprint(fingerprint_text(body), num_perm=fp["num_perm"], shingle_size=fp["shingle_size"], seed=fp["seed"])


def _differences(recorded: dict, fp: dict) -> str:
    return ", ".join(f"{k}={recorded.get(k)} (this run: {fp[k]})" for k in fp if recorded.get(k) != fp[k])


def _spot_check(d: Path, fp: dict) -> bool:
    """True when the first ``SPOT_CHECK_ROWS`` canonicals of the night in ``d`` fingerprint under
    ``fp`` exactly as stored."""
    import pyarrow.dataset as ds

    t = ds.dataset(d / "canonicals.parquet", format="parquet").head(
        SPOT_CHECK_ROWS, columns=["body", "signature", "shingles", "text_hash"])
    if not t.num_rows:
        return True
    f = refingerprint(t.column("body"), fp)
    stored_sig = pc.list_flatten(t.column("signature").combine_chunks()).to_numpy()
    col = t.column("shingles").combine_chunks()
    stored_sets = pc.list_flatten(col).to_numpy().astype(np.uint32)
    stored_off = np.asarray(col.offsets.to_numpy(), np.int64) - int(col.offsets[0].as_py())
    return (stored_sig.size == f.signatures.size and np.array_equal(stored_sig.astype(np.uint32), f.signatures.reshape(-1))
            and np.array_equal(stored_off, f.offsets) and np.array_equal(stored_sets, f.values)
            and np.array_equal(t.column("text_hash").to_numpy().astype(np.uint64), f.text_hash))


def stale_nights(state_path: Path, nights: list[str], fp: dict) -> dict[str, str]:
    """The nights of ``nights`` whose fingerprints were not made under ``fp``
    (``fingerprint_settings``), each with what differs (one phrase). Nights written before the
    settings were recorded are spot-checked (``SPOT_CHECK_ROWS``) and logged once."""
    out = {}
    for x in nights:
        d = night_dir(state_path, x)
        recorded = json.loads((d / "manifest.json").read_text()).get("fingerprint")
        if recorded is not None:
            if any(recorded.get(k) != fp[k] for k in fp):
                out[x] = _differences(recorded, fp)
            continue
        if _spot_check(d, fp):
            log.info("state night %s was written before fingerprint settings were recorded; its canonicals "
                     "fingerprint as stored under this run's settings (%s): read as is", x, fp)
        else:
            out[x] = "settings not recorded (written by an older dedup) and its canonicals do not fingerprint as " \
                     "stored under this run's"
    return out


# Paths come from ``dedup.layout``; these names are what the rest of the night imports.
night_dir = layout.state_night_dir
list_nights = layout.state_nights


def _sha256(path: Path) -> str:
    """Of a file, or of a folder of part files (as the Spark engine writes each table): the
    names and contents of its visible files in name order."""
    h = hashlib.sha256()
    path = Path(path)
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    for f in files:
        if f != path:
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


# The window's columns held in memory: what finds a night's candidates among every canonical
# (cluster id, words and hashes: tens of bytes a row). Story ids, headlines, dates, bodies,
# signatures and shingle sets stay on disk and are read for candidate rows only (``Window.select``).
LIGHT_COLUMNS = ["cluster_id", "words", "text_hash", "headline_hash"]
LIGHT_SCHEMA = pa.schema([CANONICALS_SCHEMA.field(n) for n in LIGHT_COLUMNS])
# Read by row group for the candidate rows.
ROW_COLUMNS = [n for n in CANONICALS_SCHEMA.names if n not in LIGHT_COLUMNS + ["signature", "shingles"]]
# Rows per Parquet row group of canonicals.parquet (local engine): the bodies of a few candidate
# rows are read by row group.
CANON_ROW_GROUP = 8192
INDEX_DIR = "index"  # beside a night's files: its band-key index and fingerprints as .npy (``write_index``)
# Beside a night's manifest once its files were hashed in full: what they looked like then (``_verify``).
VERIFIED = "verified.json"
INDEX_FILES = ("band_keys.npy", "band_rows.npy", "signatures.npy", "shingle_offsets.npy", "shingle_values.npy")
# Beside a night's files (local engine): its chrome model as sorted arrays (``write_chrome_index``),
# memory-mapped by later nights instead of decoding chrome.parquet and chrome_reports.parquet.
CHROME_INDEX_DIR = "chrome_index"
CHROME_INDEX_VERSION = 1
CHROME_INDEX_FILES = ("keys.npy", "stories.npy", "report_keys.npy", "report_sizes.npy", "report_starts.npy",
                      "report_q.npy", "report_values.npy")
# Beside a night's files (local engine): its members' story ids hashed (``write_story_index``), so
# that a later night finds the ids it already wrote without reading members.parquet.
STORY_INDEX_DIR = "story_index"
STORY_INDEX_FILES = ("story_keys.npy",)


@dataclass
class NightIndex:
    """One window night's canonicals as numbers: per LSH band the band keys sorted with the row
    each came from, and the rows' fingerprints. Memory-mapped from the night's ``index/`` when
    it was written under tonight's settings and LSH; else built in memory (once a night)."""
    keys: np.ndarray | None  # (bands, n) uint64, each band's keys sorted (None once looked up and let go)
    rows: np.ndarray  # (bands, n) int32, the row (in canonicals.parquet) of each key
    signatures: np.ndarray  # (n, num_perm) uint32
    offsets: np.ndarray  # (n + 1,) int64
    values: np.ndarray  # uint32 shingle sets (CSR)
    mapped: bool
    text_hash: np.ndarray | None = None  # (n,) uint64 when re-fingerprinted (the stored ones are stale)

    def lookup(self, tonight: np.ndarray) -> np.ndarray:
        """Rows (int64, unique, sorted) sharing a band key with any column of ``tonight`` ((bands, m)
        uint64, each band's keys sorted: ``np.sort(keys, axis=1)``). Per band the smaller side is
        searched in the other's sorted keys: O(min log max), not tonight's size times the nights."""
        hits = []
        m = tonight.shape[1]
        for b in range(tonight.shape[0]):
            k = self.keys[b]
            if k.shape[0] <= m:
                if not m:
                    continue
                t = tonight[b]
                k = np.asarray(k)
                pos = np.minimum(np.searchsorted(t, k), m - 1)
                sel = np.flatnonzero(t[pos] == k)
                if sel.size:
                    hits.append(np.asarray(self.rows[b])[sel])
                continue
            lo = np.searchsorted(k, tonight[b], "left")
            hi = np.searchsorted(k, tonight[b], "right")
            cnt = hi - lo
            tot = int(cnt.sum())
            if not tot:
                continue
            # Every position in [lo, hi) of every hit, without a Python loop.
            starts = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
            hits.append(np.asarray(self.rows[b])[starts + np.arange(tot)])
        return np.unique(np.concatenate(hits)).astype(np.int64) if hits else np.empty(0, np.int64)


def build_index(signatures: np.ndarray, offsets: np.ndarray, values: np.ndarray, bands: int, rows: int,
                mapped: bool = False) -> NightIndex:
    """A ``NightIndex`` of fingerprints in memory: ``band_keys`` of the signatures, sorted per band."""
    from dedup.stages.candidates import band_keys

    n = signatures.shape[0]
    keys = band_keys(signatures, bands, rows) if n else np.empty((bands, 0), np.uint64)
    order = np.argsort(keys, axis=1, kind="stable")
    return NightIndex(np.take_along_axis(keys, order, 1), order.astype(np.int32), signatures, offsets, values, mapped)


@dataclass
class Window:
    nights: list[str]
    canonicals: pa.Table  # latest row per cluster_id (LIGHT_SCHEMA, or CANONICALS_SCHEMA for a subset)
    # Unique (cluster_id, story_id), MEMBERS_SCHEMA, when held in memory; None when read from the
    # state nights for the clusters asked for (``members_of``).
    members: pa.Table | None
    # Story counts and report sketches merged (sketch rows unmerged with ``load_window``'s
    # merge_reports=False); ``counts`` not set (the chrome stage's).
    chrome: ChromeModel
    night_of: np.ndarray | None = None  # (n,) int64 index into ``nights`` of each canonical's row
    row_of: np.ndarray | None = None  # (n,) int64 its row in that night's canonicals.parquet
    state_path: Path | None = None
    stale: dict | None = None  # nights made under other fingerprint settings (``stale_nights``)
    written: list | None = None  # per night, the keys of the story ids it wrote (``first_written``)

    @property
    def n(self) -> int:
        return self.canonicals.num_rows

    def index(self, x: int, fp: dict, bands: int, rows: int) -> NightIndex:
        """Night ``nights[x]``'s index under this run's settings ``fp`` and LSH (bands, rows)."""
        night = self.nights[x]
        d = night_dir(self.state_path, night)
        if night in (self.stale or {}):
            t = _read(d / "canonicals.parquet", pa.schema([CANONICALS_SCHEMA.field("body")]))
            f = refingerprint(t.column("body"), fp)
            ix = build_index(f.signatures, f.offsets, f.values, bands, rows)
            ix.text_hash = f.text_hash
            return ix
        meta = json.loads((d / "manifest.json").read_text()).get("index")
        if meta and meta.get("bands") == bands and meta.get("rows") == rows and meta.get("fingerprint") == fp:
            a = {name: np.load(d / INDEX_DIR / name, mmap_mode="r") for name in INDEX_FILES}
            return NightIndex(a["band_keys.npy"], a["band_rows.npy"], a["signatures.npy"], a["shingle_offsets.npy"],
                              a["shingle_values.npy"], True)
        # No index (written by Spark or an older dedup) or other LSH settings: built here.
        t = _read(d / "canonicals.parquet", pa.schema([CANONICALS_SCHEMA.field("signature"),
                                                       CANONICALS_SCHEMA.field("shingles")]))
        sig, off, val = _fingerprint_arrays(t, fp["num_perm"])
        return build_index(sig, off, val, bands, rows)

    def select(self, rows: np.ndarray, indexes: dict[int, NightIndex], num_perm: int,
               text_hash: np.ndarray) -> tuple["Window", Fingerprints]:
        """The window cut to ``rows`` (sorted int64 rows of ``canonicals``): a Window whose
        canonicals carry every CANONICALS_SCHEMA column (bodies read by row group), and their
        fingerprints in that order (signatures and shingle sets gathered from the indexes;
        ``text_hash`` (n,) uint64 the whole window's, as of this run's settings)."""
        k = len(rows)
        sig = np.empty((k, num_perm), np.uint32)
        lens = np.zeros(k, np.int64)
        nof, rof = self.night_of[rows], self.row_of[rows]
        for x in np.unique(nof):
            at = np.flatnonzero(nof == x)
            ix = indexes[int(x)]
            sig[at] = ix.signatures[rof[at]]
            lens[at] = np.asarray(ix.offsets[rof[at] + 1]) - np.asarray(ix.offsets[rof[at]])
        off = np.zeros(k + 1, np.int64)
        np.cumsum(lens, out=off[1:])
        val = np.empty(int(off[-1]), np.uint32)
        for x in np.unique(nof):
            at = np.flatnonzero(nof == x)
            ix = indexes[int(x)]
            _gather_sets(np.asarray(ix.offsets), np.asarray(ix.values), rof[at], off, at, val)
        light = self.canonicals.take(pa.array(rows, pa.int64())).select(LIGHT_COLUMNS)
        light = light.set_column(light.schema.get_field_index("text_hash"), "text_hash",
                                 pa.array(text_hash[rows], pa.uint64()))
        canon = light
        for name, col in zip(ROW_COLUMNS, self._row_columns(nof, rof, ROW_COLUMNS) if k else
                             [pa.chunked_array([pa.array([], CANONICALS_SCHEMA.field(c).type)]) for c in ROW_COLUMNS]):
            canon = canon.append_column(name, col)
        canon = canon.append_column("signature", pa.FixedSizeListArray.from_arrays(
            pa.array(sig.reshape(-1), pa.uint32()), num_perm).cast(pa.list_(pa.uint32())))
        canon = canon.append_column("shingles", pa.LargeListArray.from_arrays(pa.array(off), pa.array(val, pa.uint32())))
        canon = canon.select(CANONICALS_SCHEMA.names).cast(CANONICALS_SCHEMA)
        th = canon.column("text_hash").to_numpy()
        fp = Fingerprints(sig, off, val, canon.column("words").to_numpy(), th)
        return Window(self.nights, canon, self.members, self.chrome, state_path=self.state_path), fp

    def first_written(self, story_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """For each of ``story_ids`` (strings; n,) the index into ``nights`` (int64) of the first
        window night that wrote a story with that id, -1 for none: a record the feed delivers again
        on a later night. Ids are compared by their 64-bit FNV-1a hash (``story_id_keys``): a
        false match needs two ids of the window with equal hashes, ~1e-6 a night at 1M stories a
        night and a 14-night window. Each night's ids come from its ``story_index/`` (memory-mapped),
        or, for a night written without one (the Spark engine, an older dedup), from the
        ``story_id`` column of its members.parquet (read once, 8 bytes an id)."""
        keys = story_id_keys(story_ids)
        out = np.full(keys.shape[0], -1, np.int64)
        if not keys.size or self.state_path is None:
            return out
        if self.written is None:  # once per night, not per chunk (a race only computes it twice)
            self.written = [_written_keys(night_dir(self.state_path, name)) for name in self.nights]
        for x, written in enumerate(self.written):
            todo = np.flatnonzero(out < 0)
            if not todo.size:
                break
            if not written.size:
                continue
            q = keys[todo]
            pos = np.minimum(np.searchsorted(written, q), written.shape[0] - 1)
            out[todo[np.asarray(written[pos]) == q]] = x
        return out

    def members_of(self, cluster_ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Every member (unique ``(cluster_id, story_id)``, ``MEMBERS_SCHEMA``: the first night's
        outlet, the earliest ``published_at``) of the window's clusters ``cluster_ids`` (strings).
        Read night by night from the state with a filter on ``cluster_id``, so memory follows the
        clusters asked for (those tonight touched), not the window."""
        ids = pa.chunked_array([cluster_ids]) if isinstance(cluster_ids, pa.Array) else cluster_ids
        ids = ids.combine_chunks().cast(pa.string()) if ids.num_chunks else pa.array([], pa.string())
        if self.members is not None:
            return self.members.filter(pc.is_in(self.members.column("cluster_id"), value_set=ids))
        parts = [MEMBERS_SCHEMA.empty_table()]
        if len(ids):
            for name in self.nights:
                parts.append(_read_members(night_dir(self.state_path, name) / "members.parquet", ids))
        return _unique_members(pa.concat_tables(parts))

    def _row_columns(self, nof: np.ndarray, rof: np.ndarray, names: list[str]) -> list[pa.ChunkedArray]:
        """The columns ``names`` of canonicals.parquet at each (night, row), read by Parquet row
        group, as CANONICALS_SCHEMA types."""
        types = pa.schema([CANONICALS_SCHEMA.field(c) for c in names])
        parts, where = [], []
        for x in np.unique(nof):
            at = np.flatnonzero(nof == x)
            path = night_dir(self.state_path, self.nights[int(x)]) / "canonicals.parquet"
            if path.is_dir():  # the Spark engine's part files: read whole, no row-group arithmetic
                parts.append(_read(path, types).take(pa.array(rof[at], pa.int64())))
                where.append(at)
                continue
            with _checked(path):
                f = pq.ParquetFile(path, page_checksum_verification=True)
                starts = np.cumsum([0] + [f.metadata.row_group(g).num_rows for g in range(f.num_row_groups)])
                rg = np.searchsorted(starts, rof[at], "right") - 1
                groups = np.unique(rg)
                t = f.read_row_groups(groups.tolist(), columns=names)
            # Row of each wanted row inside the concatenation of the groups read.
            base = np.cumsum([0] + [starts[g + 1] - starts[g] for g in groups])[:-1]
            local = rof[at] - starts[rg] + base[np.searchsorted(groups, rg)]
            parts.append(t.take(pa.array(local, pa.int64())).cast(types, safe=False))
            where.append(at)
        allt = pa.concat_tables(parts).combine_chunks()
        inv = np.empty(len(nof), np.int64)
        inv[np.concatenate(where)] = np.arange(len(nof))
        allt = allt.take(pa.array(inv))
        return [pa.chunked_array([allt.column(c).combine_chunks()]) for c in names]


def _fingerprint_arrays(t: pa.Table, num_perm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signatures (n, num_perm) uint32, offsets int64, values uint32) of a canonicals table."""
    n = t.num_rows
    if not n:
        return np.empty((0, num_perm), np.uint32), np.zeros(1, np.int64), np.empty(0, np.uint32)
    sig = pc.list_flatten(t.column("signature").combine_chunks()).to_numpy().reshape(n, -1).astype(np.uint32, copy=False)
    col = t.column("shingles").combine_chunks()
    offsets = np.asarray(col.offsets.to_numpy(), dtype=np.int64) - int(col.offsets[0].as_py())
    values = pc.list_flatten(col).to_numpy().astype(np.uint32, copy=False)
    return sig, offsets, values


@numba.njit(cache=True, nogil=True)
def _gather_sets(src_off, src_val, src_rows, dst_off, dst_at, dst_val):
    """Copy the shingle sets of ``src_rows`` into ``dst_val`` at rows ``dst_at`` of ``dst_off``
    (touches only those rows' pages of a memory-mapped ``src_val``)."""
    for i in range(src_rows.shape[0]):
        r, a = src_rows[i], dst_at[i]
        dst_val[dst_off[a]:dst_off[a + 1]] = src_val[src_off[r]:src_off[r + 1]]


def empty_window() -> Window:
    return Window([], CANONICALS_SCHEMA.empty_table(), MEMBERS_SCHEMA.empty_table(), ChromeModel())


def load_window(state_path: Path, night: str, retention_days: int, fp: dict | None = None,
                chrome_keys: np.ndarray | None = None, chrome_min_stories: int | None = None,
                merge_reports: bool = True) -> Window:
    """The nights before ``night`` within the retention window, checked and merged: the latest
    row per cluster of their canonicals (``LIGHT_SCHEMA``: cluster id, words and hashes;
    ``Window.index`` and ``Window.select`` read fingerprints, ids, headlines and bodies for the
    rows a night needs) and their chrome.

    With ``fp`` (``fingerprint_settings`` of this run), nights fingerprinted under other settings
    are listed in ``Window.stale`` (logged as a warning): ``Window.index`` re-fingerprints them
    from their stored text.

    With ``chrome_keys`` (sorted unique uint64: every chrome key tonight's lines can look up, as
    ``dedup.night.local.chrome_query_keys`` gives), the window's chrome model holds the story
    counts of those keys and of the keys with report sketches (the only ones that can count as
    chrome), every report sketch and every outlet's story count: what tonight's learning and
    cleaning read of it, without the window's lines seen too rarely to matter. Members stay on
    disk (``Window.members_of``).

    With ``chrome_keys`` and ``chrome_min_stories`` (``chrome.min_stories``) the report sketches
    are cut too: kept are those of tonight's keys (tonight's sketches merge with them) and of the
    keys whose sketches over the window may reach ``chrome_min_stories`` different reports
    (``_report_bounds``: per sketch position the nights' set sizes summed, the smallest over
    positions, bounds the merged count). Any other key counts fewer reports than cleaning acts on
    (``ChromeModel.for_cleaning``) whichever night it comes from, so the model cleans as the
    whole one, and a night holds the sketches of the lines that recur, not of every report
    of the window (most of them, each report's own lines).

    ``merge_reports=False``: the window's report sketches are left as the nights' kept rows one
    after the other (each night's sorted by key, q and value; not cut to ``REPORT_SET``), for a
    caller that merges them with its own anyway (``ReportSets.combine`` takes rows in any
    grouping): the chrome stage merges the window's and tonight's in one pass instead of two.
    ``ReportSets.estimates`` of such rows are not counts until merged."""
    nights = window_nights(state_path, night, retention_days)
    if not nights:
        return empty_window()
    stale = stale_nights(state_path, nights, fp) if fp is not None else {}
    if stale:
        log.warning("state night(s) %s were fingerprinted under other settings (%s): their canonicals are "
                    "re-fingerprinted from the stored text under this run's, every night until they leave the window",
                    ", ".join(sorted(stale)), stale[sorted(stale)[0]])
    canon, chrome, counts = [], ChromeModel(), []
    merged, pending = ReportSets(), []
    cut_reports = chrome_keys is not None and chrome_min_stories is not None
    if cut_reports:
        # Cleaning looks up the keys of lines after their wire furniture is cut, which tonight's
        # raw lines do not give; but only a key whose merged sketches may reach the count can act.
        uk, bound = _report_bounds([night_dir(state_path, x) for x in nights])
        chrome_keys = _union_sorted(chrome_keys, uk[bound >= min(chrome_min_stories, REPORT_SET)])
        del uk, bound
    elif chrome_keys is not None:
        # Cleaning looks up the keys of lines after their wire furniture is cut, which tonight's
        # raw lines do not give; but only a key with report sketches (on some night) can count
        # as chrome, so with every such key kept the cut model cleans as the whole one.
        chrome_keys = np.unique(np.concatenate([chrome_keys] + [_report_keys(night_dir(state_path, x)) for x in nights]))
    for x, name in enumerate(nights):
        d = night_dir(state_path, name)
        # Unsafe casts: the Spark engine stores unsigned hashes as int64 with the same bits.
        t = _read(d / "canonicals.parquet", LIGHT_SCHEMA)
        canon.append(t.append_column("_night", pa.array(np.full(t.num_rows, x, np.int64)))
                     .append_column("_row", pa.array(np.arange(t.num_rows, dtype=np.int64))))
        # Story counts merged night by night; report sketches merged whenever the nights read
        # since the last merge hold as many rows as the merged ones (bottom-k sets merge exactly in
        # any grouping): memory holds about twice the merged sketches, not every night's rows, and
        # each row is merged a few times at most.
        part = _read_chrome(d, chrome_keys, cut_reports)
        pending.append(part.reports)
        part.reports = ReportSets()
        if cut_reports:
            # Cut to tonight's keys, each night's counts are a slice of them: summed once, below.
            counts.append(part)
        else:
            chrome = ChromeModel.combine([chrome, part])
        # Cut to the keys that can count (``cut_reports``), the nights' sketches barely shrink when
        # merged: merged once, at the end, in one pass.
        if not cut_reports and sum(r.key.size for r in pending) >= merged.key.size:
            merged, pending = ReportSets.combine([merged] + pending), []
    c = pa.concat_tables(canon)
    # Latest night's row per cluster: sort by night descending, keep first occurrence (``_night``
    # follows the nights' dates; each row's ``night`` is the night it was written in).
    c = c.sort_by([("cluster_id", "ascending"), ("_night", "descending")])
    cid = c.column("cluster_id").to_numpy(zero_copy_only=False)
    first = np.ones(len(cid), bool)
    first[1:] = cid[1:] != cid[:-1]
    c = c.filter(pa.array(first)).sort_by([("cluster_id", "ascending")])
    night_of, row_of = c.column("_night").to_numpy(), c.column("_row").to_numpy()
    c = c.drop_columns(["_night", "_row"])
    if counts:
        chrome = ChromeModel.combine([chrome] + counts)
        del counts
    if not merge_reports:
        rows = [r for r in [merged] + pending if r.key.size]
        chrome.reports = rows[0] if len(rows) == 1 else ReportSets(
            np.concatenate([r.key for r in rows] or [np.empty(0, np.uint64)]),
            np.concatenate([r.q for r in rows] or [np.empty(0, np.uint8)]),
            np.concatenate([r.value for r in rows] or [np.empty(0, np.uint64)]))
    else:  # merged whole here, so that a later merge with tonight's holds no more than it
        chrome.reports = ReportSets.combine([merged] + pending) if pending else merged
    # Members stay on disk: the write stage reads those of the clusters tonight touched (members_of).
    return Window(nights, c, None, chrome, night_of, row_of, Path(state_path), stale)


def _CHECKED_FORMAT():
    """Parquet format of a dataset scan that checks each page read against its CRC."""
    import pyarrow.dataset as ds

    return ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
        page_checksum_verification=True))


def _unique_members(m: pa.Table) -> pa.Table:
    """One row per (cluster_id, story_id) of members of several nights (in night order): the
    first outlet, the earliest published_at."""
    return m.group_by(["cluster_id", "story_id"], use_threads=False).aggregate(
        [("outlet", "first"), ("published_at", "min")]).rename_columns(
        ["cluster_id", "story_id", "outlet", "published_at"]).cast(MEMBERS_SCHEMA)


def _read_members(path: Path, ids: pa.Array) -> pa.Table:
    """The rows of a night's members (a file, or the Spark engine's folder of part files) whose
    cluster_id is in ``ids``, scanned batch by batch (``MEMBERS_SCHEMA``)."""
    import pyarrow.dataset as ds

    with _checked(path):
        d = ds.dataset(path, format=_CHECKED_FORMAT())
        want = ids.cast(d.schema.field("cluster_id").type)
        t = d.to_table(columns=MEMBERS_SCHEMA.names, filter=pc.field("cluster_id").isin(want))
    return t.cast(MEMBERS_SCHEMA, safe=False)


def story_id_keys(story_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Story ids (strings; n,) as the 64-bit keys ``story_index/`` holds (uint64 FNV-1a,
    ``dedup.stages.fingerprint.hash_strings``)."""
    from dedup.stages.fingerprint import hash_strings

    if isinstance(story_ids, pa.ChunkedArray):
        story_ids = story_ids.combine_chunks() if story_ids.num_chunks else pa.array([], pa.string())
    return hash_strings(story_ids.cast(pa.string()))


def _written_keys(d: Path) -> np.ndarray:
    """Sorted unique uint64 keys of the story ids a (checked) state night wrote: its
    ``story_index/`` memory-mapped, else its members' ``story_id`` column hashed."""
    f = d / STORY_INDEX_DIR / STORY_INDEX_FILES[0]
    try:
        listed = STORY_INDEX_FILES[0] in (json.loads((d / "manifest.json").read_text()).get("story_index") or {}).get(
            "sha256", {})
    except (OSError, ValueError):
        listed = False
    if listed and f.is_file():
        return np.load(f, mmap_mode="r")
    import pyarrow.dataset as ds

    path = d / "members.parquet"
    with _checked(path):
        ids = ds.dataset(path, format=_CHECKED_FORMAT()).to_table(columns=["story_id"]).column("story_id")
    return np.unique(story_id_keys(ids))


def write_story_index(dest: Path, members: pa.Table) -> dict:
    """Write ``dest/story_index/story_keys.npy``: the sorted unique keys (``story_id_keys``) of the
    night's members' story ids (every story of the clusters it wrote, earlier nights' included).
    Returns the manifest's ``story_index`` entry (sha256 of each file)."""
    d = dest / STORY_INDEX_DIR
    d.mkdir(exist_ok=True)
    np.save(d / STORY_INDEX_FILES[0], np.unique(story_id_keys(members.column("story_id"))))
    return {"sha256": {name: _sha256(d / name) for name in STORY_INDEX_FILES}}


def _union_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted unique union of two uint64 arrays: a sort and a compare (``np.union1d`` hashes, several
    times slower on a million keys)."""
    c = np.concatenate([np.asarray(a, np.uint64), np.asarray(b, np.uint64)])
    c.sort()
    return c[np.r_[True, c[1:] != c[:-1]]] if c.size else c


def _in_sorted(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Mask of ``values`` (uint64) found in ``keys`` (sorted unique uint64)."""
    if not keys.size:
        return np.zeros(values.size, bool)
    pos = np.minimum(np.searchsorted(keys, values), keys.size - 1)
    return keys[pos] == values


def _chrome_index(d: Path) -> dict[str, np.ndarray] | None:
    """A state night's chrome index (``write_chrome_index``), memory-mapped, by file stem; None
    when the night has none (written by the Spark engine or an older dedup: read from Parquet)."""
    meta = (json.loads((d / "manifest.json").read_text()).get("chrome_index") or {})
    if meta.get("version") != CHROME_INDEX_VERSION:
        return None
    return {name[:-4]: np.load(d / CHROME_INDEX_DIR / name, mmap_mode="r") for name in CHROME_INDEX_FILES}


def _found(sorted_keys: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Positions (int64, ascending) in ``sorted_keys`` (sorted unique uint64, possibly
    memory-mapped) of the keys also in ``want`` (sorted unique uint64): the smaller side is
    searched in the other, so a few wanted keys touch a few pages of a large file."""
    if not sorted_keys.size or not want.size:
        return np.empty(0, np.int64)
    if want.size < sorted_keys.size:
        pos = np.minimum(np.searchsorted(sorted_keys, want), sorted_keys.size - 1)
        return pos[np.asarray(sorted_keys[pos]) == want].astype(np.int64)
    return np.flatnonzero(_in_sorted(np.asarray(sorted_keys), want))


def _report_keys(d: Path) -> np.ndarray:
    """The keys a state night holds report sketches for (uint64, unique; none before version 2)."""
    if json.loads((d / "manifest.json").read_text()).get("version", 1) < 2:
        return np.empty(0, np.uint64)
    ix = _chrome_index(d)
    if ix is not None:
        return np.array(ix["report_keys"])
    with _checked(d / "chrome_reports.parquet"):
        k = pq.read_table(d / "chrome_reports.parquet", columns=["key"], page_checksum_verification=True).column("key")
    return np.unique(k.cast(pa.uint64(), safe=False).to_numpy())


def _set_sizes(d: Path) -> tuple[np.ndarray, np.ndarray]:
    """(keys uint64 sorted unique, sizes (n, SKETCH) uint8): per key of a state night's report
    sketches the values kept at each sketch position (0: none there); none before version 2.
    From the night's chrome index when it has one, else counted in chrome_reports.parquet."""
    if json.loads((d / "manifest.json").read_text()).get("version", 1) < 2:
        return np.empty(0, np.uint64), np.zeros((0, SKETCH), np.uint8)
    ix = _chrome_index(d)
    if ix is not None:
        return ix["report_keys"], ix["report_sizes"]
    return _parquet_set_sizes(d)


def _parquet_set_sizes(d: Path) -> tuple[np.ndarray, np.ndarray]:
    """``_set_sizes`` counted in the night's chrome_reports.parquet (a file or part files)."""
    r = _read(d / "chrome_reports.parquet", pa.schema([("key", pa.uint64()), ("q", pa.int32())]))
    k, q = r.column("key").to_numpy(), r.column("q").to_numpy()
    del r
    if k.size and not ((k[1:] > k[:-1]) | ((k[1:] == k[:-1]) & (q[1:] >= q[:-1]))).all():
        o = np.lexsort((q, k))  # written unsorted (another writer): grouped here
        k, q = k[o], q[o]
    kstarts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if k.size else np.empty(0, np.int64)
    sizes = np.zeros((kstarts.size, SKETCH), np.int64)
    if k.size:
        np.add.at(sizes, (np.repeat(np.arange(kstarts.size), np.diff(np.r_[kstarts, k.size])), q), 1)
    return k[kstarts], np.minimum(sizes, np.iinfo(np.uint8).max).astype(np.uint8)


def _report_bounds(dirs: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(keys uint64 sorted unique, bound int64) of the report sketches of the state nights in
    ``dirs``: per key the smallest, over the sketch positions holding values, of the values kept
    there summed over the nights. A merged set holds at most the values of the nights' sets, so
    below ``REPORT_SET`` the bound is at least the count the merged sketches give
    (``ReportSets.estimates``: the smallest over positions); at ``REPORT_SET`` or more it is no
    bound, and the caller keeps such keys whatever ``chrome.min_stories``.

    Per night only (key, sizes per position) is read (``_set_sizes``: the night's chrome index,
    ~14 bytes a key, or its Parquet file when it has none), not the sketch rows."""
    parts = [_set_sizes(d) for d in dirs]
    k = np.concatenate([np.asarray(p[0], np.uint64) for p in parts] or [np.empty(0, np.uint64)])
    if not k.size:
        return k, np.empty(0, np.int64)
    size = np.concatenate([np.asarray(p[1]) for p in parts])
    del parts
    o = np.argsort(k, kind="stable")
    k = k[o]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    total = np.add.reduceat(size[o].astype(np.int64), starts, axis=0)
    # A position no night holds values at does not bound the count (``estimates`` skips it).
    total[total == 0] = np.iinfo(np.int64).max
    return k[starts], total.min(axis=1)


def _read_chrome(d: Path, keys: np.ndarray | None = None, cut_reports: bool = False) -> ChromeModel:
    """A state night's chrome model; with ``keys`` (sorted unique uint64) only those keys' story
    counts (every figure is per key, so a model merged from such cuts answers for those keys
    exactly as the whole models merged would). Report sketches are read whole, or with
    ``cut_reports`` only those of ``keys``. With ``keys``, a night's chrome index
    (``write_chrome_index``) is read where it has one: only the wanted keys' entries."""
    ou = _read(d / "outlets.parquet", pa.schema([("outlet", pa.string()), ("stories", pa.int64())]))
    outlets = dict(zip(ou.column("outlet").to_pylist(), ou.column("stories").to_pylist()))
    ix = _chrome_index(d) if keys is not None else None
    if ix is not None:
        at = _found(ix["keys"], keys)
        m = ChromeModel(np.asarray(ix["keys"][at]), np.asarray(ix["stories"][at]), outlets)
        rkeys, starts = ix["report_keys"], np.asarray(ix["report_starts"])
        at = _found(rkeys, keys) if cut_reports else np.arange(rkeys.shape[0])
        lo, cnt = starts[at], starts[at + 1] - starts[at]
        tot = int(cnt.sum())
        # Every row of each kept key, without a Python loop.
        rows = np.repeat(lo - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(tot)
        m.reports = ReportSets(np.repeat(np.asarray(rkeys[at]), cnt), np.asarray(ix["report_q"][rows]),
                               np.asarray(ix["report_values"][rows]))
        return m
    ck = _read(d / "chrome.parquet", pa.schema([("key", pa.uint64()), ("stories", pa.int64())]))
    k, st = ck.column("key").to_numpy(), ck.column("stories").to_numpy()
    del ck
    if keys is not None:
        keep = _in_sorted(k, keys)
        k, st = k[keep], st[keep]
    m = ChromeModel(k, st, outlets)
    if json.loads((d / "manifest.json").read_text()).get("version", 1) >= 2:
        r = _read(d / "chrome_reports.parquet", CHROME_REPORTS_SCHEMA)
        rk, rq, rv = (r.column("key").to_numpy(), r.column("q").to_numpy().astype(np.uint8),
                      r.column("value").to_numpy().astype(np.uint64))
        del r
        if cut_reports and keys is not None:
            keep = _in_sorted(rk, keys)
            rk, rq, rv = rk[keep], rq[keep], rv[keep]
        m.reports = ReportSets(rk, rq, rv)
    return m


def chrome_model_at(state_path: Path, night: str, retention_days: int) -> ChromeModel | None:
    """The chrome model a night's cleaning used: its own counts and report sketches with its
    window's (as the run combines them). None when the night is not in the state. Raises
    ``StateError`` on a damaged night. For ``dedup explain`` (which line which rule removed)."""
    own = night_dir(state_path, night)
    if not (own / "manifest.json").is_file():
        return None
    _verify(own, night)
    nights = window_nights(state_path, night, retention_days)
    m = ChromeModel.combine([_read_chrome(own)] + [_read_chrome(night_dir(state_path, x)) for x in nights])
    return m.with_reports(m.reports)  # report counts, also when there was a single night to combine


def window_nights(state_path: Path, night: str, retention_days: int) -> list[str]:
    """The nights before ``night`` within the retention window, each checked (``StateError``)."""
    end = dt.date.fromisoformat(night)
    start = end - dt.timedelta(days=retention_days)
    nights = [x for x in list_nights(state_path) if start <= dt.date.fromisoformat(x) < end]
    for x in nights:
        _verify(night_dir(state_path, x), x)
    return nights


def _read(path: Path, schema: pa.Schema) -> pa.Table:
    with _checked(path):
        t = pq.read_table(path, columns=schema.names, page_checksum_verification=True)
    return t.cast(schema, safe=False)


@contextmanager
def _checked(path: Path):
    """Reads of a state night's file inside: a page whose CRC does not match (or a file Parquet
    cannot parse) becomes a ``StateError`` naming the file and the way out."""
    try:
        yield
    except (OSError, pa.ArrowInvalid) as e:
        d = Path(path).parent
        while d.name and not d.name.startswith("run_date="):
            d = d.parent
        night = layout.night_of(d.name) if d.name else "?"
        raise StateError(f"state night {night}: {Path(path).name} cannot be read as written ({str(e).strip().splitlines()[0]}): "
                         f"{_how(d, night)}") from None


def _how(d: Path, night: str) -> str:
    return (f"delete {d} and rerun night {night} (dedup run --run-date {night}) to rebuild it; "
            f"later nights keep their ids")


def _file_stats(path: Path) -> list:
    """[[relative name, size, mtime_ns], ...] of a file, or of the visible files of a folder of part
    files (those ``_sha256`` reads), in name order."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    out = []
    for f in files:
        st = f.stat()
        out.append([f.relative_to(path).as_posix() if f != path else "", st.st_size, st.st_mtime_ns])
    return out


def _verify(d: Path, night: str) -> None:
    """Check a state night before it is read (``StateError`` with the way out when it cannot be
    trusted): its manifest, then its files: sizes and modification times against the night's
    ``VERIFIED`` record when the manifest is the one recorded, else (first read, or anything
    changed) every file's sha256 against the manifest, recording ``VERIFIED`` when all match.
    The module docstring says what each check guarantees."""
    how = _how(d, night)
    mf = d / "manifest.json"
    if not mf.is_file():
        raise StateError(f"state night {night} has no manifest.json (an interrupted write?): {how}")
    raw = mf.read_bytes()
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StateError(f"state night {night}: manifest.json is not valid JSON: {how}") from None
    if meta.get("version") not in READABLE_VERSIONS:
        raise StateError(f"state night {night} has format version {meta.get('version')}, this dedup reads "
                         f"{STATE_VERSION}: {how}")
    want = {name: meta.get("sha256", {}).get(name) for name in files_of(meta.get("version"))}
    want.update({f"{INDEX_DIR}/{name}": sha for name, sha in (meta.get("index") or {}).get("sha256", {}).items()})
    want.update({f"{CHROME_INDEX_DIR}/{name}": sha
                 for name, sha in (meta.get("chrome_index") or {}).get("sha256", {}).items()})
    want.update({f"{STORY_INDEX_DIR}/{name}": sha
                 for name, sha in (meta.get("story_index") or {}).get("sha256", {}).items()})
    for name in want:
        if not (d / name).exists():
            raise StateError(f"state night {night}: {name} is missing or its checksum does not match: {how}")
    seen = {"manifest": hashlib.sha256(raw).hexdigest(), "files": {name: _file_stats(d / name) for name in want}}
    try:
        if json.loads((d / VERIFIED).read_text()) == seen:
            return
    except (OSError, ValueError):
        pass  # no record yet (or a damaged one): the full check below
    for name, sha in want.items():
        if _sha256(d / name) != sha:
            raise StateError(f"state night {night}: {name} is missing or its checksum does not match: {how}")
    # Best effort: a state readable but not writable (``dedup explain`` on another's output) is
    # checked in full each time instead.
    tmp = d / f".{VERIFIED}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps(seen) + "\n")
        os.replace(tmp, d / VERIFIED)
    except OSError:
        tmp.unlink(missing_ok=True)


def write_night(
    dest: Path, night: str, canonicals: pa.Table, members: pa.Table, chrome: ChromeModel, outlet_stories: dict,
    chrome_lines: pa.Table, fp: dict | None = None, lsh: tuple[int, int] | None = None,
    fingerprints: Fingerprints | None = None,
) -> dict:
    """Write the night's state tables under ``dest`` and then its manifest; ``fp``
    (``fingerprint_settings``) is what the canonicals' fingerprints were made under. With ``fp``
    and ``lsh`` (bands, rows), the night's band-key index is written too (``write_index``), from
    ``fingerprints`` (the canonicals' rows, in order) where given, else from the table's columns."""
    dest.mkdir(parents=True, exist_ok=True)
    # canonicals.parquet, the largest file (every canonical's text, signature and shingles), is
    # written on a second thread while this one writes the members and builds the index (Parquet
    # encoding and compression, numpy's sorts and the index's numba code release the GIL).
    with ThreadPoolExecutor(max_workers=1) as side:
        canon_done = side.submit(pq.write_table, canonicals.cast(CANONICALS_SCHEMA), dest / "canonicals.parquet",
                                 compression="zstd", row_group_size=CANON_ROW_GROUP, write_page_checksum=True,
                                 use_dictionary=parquet_dictionary(CANONICALS_SCHEMA))
        try:
            pq.write_table(members.cast(MEMBERS_SCHEMA), dest / "members.parquet", compression="zstd",
                           write_page_checksum=True, use_dictionary=parquet_dictionary(MEMBERS_SCHEMA))
            index = (write_index(dest, canonicals, fp, *lsh, fingerprints=fingerprints)
                     if fp is not None and lsh is not None else None)
        finally:
            canon_done.result()
    pq.write_table(pa.table({"key": pa.array(chrome.keys, pa.uint64()), "stories": pa.array(chrome.stories, pa.int64())}),
                   dest / "chrome.parquet", compression="zstd", write_page_checksum=True)
    r = chrome.reports
    pq.write_table(pa.table({"key": pa.array(r.key, pa.uint64()), "q": pa.array(r.q.astype(np.int32)),
                             "value": pa.array(r.value.astype(np.int64))}, schema=CHROME_REPORTS_SCHEMA),
                   dest / "chrome_reports.parquet", compression="zstd", write_page_checksum=True)
    pq.write_table(pa.table({"outlet": pa.array(list(outlet_stories), pa.string()),
                             "stories": pa.array(list(outlet_stories.values()), pa.int64())}),
                   dest / "outlets.parquet", compression="zstd", write_page_checksum=True)
    pq.write_table(chrome_lines, dest / "chrome_lines.parquet", compression="zstd", write_page_checksum=True)
    chrome_index = write_chrome_index(dest, chrome)
    story_index = write_story_index(dest, members)
    return write_manifest(dest, night, {"canonicals": canonicals.num_rows, "members": members.num_rows,
                                        "chrome_keys": int(chrome.keys.size)}, fp, index, chrome_index, story_index)


def write_chrome_index(dest: Path, chrome: ChromeModel) -> dict:
    """Write the night's chrome model (as in chrome.parquet and chrome_reports.parquet) under
    ``dest/chrome_index/`` as .npy (``CHROME_INDEX_FILES``), so that later nights memory-map it
    and take the keys they need instead of decoding both Parquet files whole:

    - ``keys`` (n,) uint64 sorted unique, ``stories`` (n,) int64: the story counts;
    - ``report_keys`` (u,) uint64 sorted unique: the keys holding report sketches;
      ``report_sizes`` (u, SKETCH) uint8: per key and sketch position how many values are kept
      there (0 = none, at most ``REPORT_SET``), what ``_report_bounds`` sums over the nights;
      ``report_starts`` (u + 1,) int64: each key's rows in ``report_q`` (uint8) and
      ``report_values`` (uint64), sorted by (key, q, value) as ``ReportSets`` holds them.

    Returns the manifest's ``chrome_index`` entry (version, sha256 of each file)."""
    keys = np.asarray(chrome.keys, np.uint64)
    stories = np.asarray(chrome.stories, np.int64)
    if keys.size > 1 and not (keys[1:] > keys[:-1]).all():  # not expected: models are merged sorted
        o = np.argsort(keys, kind="stable")
        keys, stories = keys[o], stories[o]
    r = chrome.reports
    rk, rq, rv = np.asarray(r.key, np.uint64), np.asarray(r.q, np.uint8), np.asarray(r.value, np.uint64)
    if rk.size > 1 and not ((rk[1:] > rk[:-1]) | ((rk[1:] == rk[:-1]) & (rq[1:] >= rq[:-1]))).all():
        o = np.lexsort((rv, rq, rk))
        rk, rq, rv = rk[o], rq[o], rv[o]
    kstarts = np.flatnonzero(np.r_[True, rk[1:] != rk[:-1]]) if rk.size else np.empty(0, np.int64)
    sizes = np.zeros((kstarts.size, SKETCH), np.uint8)
    if rk.size:
        # One count per (key, q) cell; np.bincount does in one pass what np.add.at did ten times slower.
        cell = np.repeat(np.arange(kstarts.size), np.diff(np.r_[kstarts, rk.size])) * SKETCH + rq
        sizes += np.bincount(cell, minlength=sizes.size).reshape(sizes.shape).astype(np.uint8)
    d = dest / CHROME_INDEX_DIR
    d.mkdir(exist_ok=True)
    arrays = (keys, stories, rk[kstarts], sizes, np.r_[kstarts, rk.size].astype(np.int64), rq, rv)
    for name, a in zip(CHROME_INDEX_FILES, arrays):
        np.save(d / name, np.ascontiguousarray(a))
    return {"version": CHROME_INDEX_VERSION, "sha256": {name: _sha256(d / name) for name in CHROME_INDEX_FILES}}


def write_index(dest: Path, canonicals: pa.Table, fp: dict, bands: int, rows: int,
                fingerprints: Fingerprints | None = None) -> dict:
    """Write the night's canonicals as numbers under ``dest/index/`` (``INDEX_FILES``, .npy, row
    order of canonicals.parquet): per LSH band the sorted band keys and their rows, signatures,
    shingle offsets and values. Built once, when the night is written, so later nights look
    their keys up (``NightIndex.lookup``) instead of banding the window again. ``fingerprints``:
    the same rows' fingerprints as arrays, if at hand (saves reading them back out of the table).
    Returns the manifest's ``index`` entry (bands, rows, fingerprint settings, sha256 of each file).
    Raises ``ValueError`` if ``fingerprints`` has another number of rows than ``canonicals``."""
    if fingerprints is not None:
        if len(fingerprints) != canonicals.num_rows:
            raise ValueError(f"{len(fingerprints)} fingerprints for {canonicals.num_rows} canonicals")
        sig, off, val = fingerprints.signatures, fingerprints.offsets, fingerprints.values
    else:
        sig, off, val = _fingerprint_arrays(canonicals.select(["signature", "shingles"]), fp["num_perm"])
    ix = build_index(sig, off, val, bands, rows)
    d = dest / INDEX_DIR
    d.mkdir(exist_ok=True)
    for name, a in zip(INDEX_FILES, (ix.keys, ix.rows, ix.signatures, ix.offsets, ix.values)):
        np.save(d / name, np.ascontiguousarray(a))
    return {"bands": bands, "rows": rows, "fingerprint": dict(fp),
            "sha256": {name: _sha256(d / name) for name in INDEX_FILES}}


def write_manifest(dest: Path, night: str, rows: dict, fp: dict | None = None, index: dict | None = None,
                   chrome_index: dict | None = None, story_index: dict | None = None) -> dict:
    """The night's manifest, written last: its checksums vouch for the files beside it. ``fp``
    (``fingerprint_settings``) is recorded as ``fingerprint``; without it the night reads as
    written by an older dedup (spot-checked). ``index``, ``chrome_index`` and ``story_index``: the
    entries ``write_index``, ``write_chrome_index`` and ``write_story_index`` return (a night
    without them is read from its Parquet files)."""
    meta = {
        "version": STATE_VERSION,
        "night": night,
        "rows": rows,
        "sha256": {name: _sha256(dest / name) for name in FILES},
    }
    if fp is not None:
        meta["fingerprint"] = dict(fp)
    if index is not None:
        meta["index"] = index
    if chrome_index is not None:
        meta["chrome_index"] = chrome_index
    if story_index is not None:
        meta["story_index"] = story_index
    (dest / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def prune(state_path: Path, retention_days: int) -> list[str]:
    """Drop nights no rerun can need: a rerun of any night inside the newest night's window reads
    that night's own window, so nights up to twice the retention before the newest are kept."""
    nights = list_nights(state_path)
    if not nights:
        return []
    cutoff = dt.date.fromisoformat(nights[-1]) - dt.timedelta(days=2 * retention_days)
    gone = [x for x in nights if dt.date.fromisoformat(x) < cutoff]
    for x in gone:
        shutil.rmtree(night_dir(state_path, x), ignore_errors=True)
    return gone
