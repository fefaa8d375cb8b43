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

Partitions are written in the run's staging folder and moved into place by the same journaled
commit as the output tables (``dedup.night.staging``); every load checks versions and checksums.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup import layout
from dedup.errors import ConfigError, StateError
from dedup.schemas import CANONICALS_SCHEMA, CHROME_REPORTS_SCHEMA, MEMBERS_SCHEMA
from dedup.stages.chrome import ChromeModel, ReportSets
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


def refuse_stale(state_path: Path, nights: list[str], fp: dict, engine: str) -> None:
    """For an engine that cannot re-fingerprint a window: raise ``ConfigError`` (exit 2, one
    line) when a night of ``nights`` was fingerprinted under other settings than ``fp``."""
    stale = stale_nights(state_path, nights, fp)
    if stale:
        first = sorted(stale)[0]
        raise ConfigError(
            f"state night(s) {', '.join(sorted(stale))} were fingerprinted under other settings: {stale[first]}; "
            f"the {engine} engine does not re-fingerprint a window: restore those dedup settings, run this night "
            f"with run.engine: local (it re-fingerprints the window from the stored text), or use a new state.path")


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


@dataclass
class Window:
    nights: list[str]
    canonicals: pa.Table  # latest row per cluster_id, CANONICALS_SCHEMA
    members: pa.Table  # unique (cluster_id, story_id), MEMBERS_SCHEMA
    chrome: ChromeModel

    @property
    def n(self) -> int:
        return self.canonicals.num_rows

    def signatures(self, num_perm: int) -> np.ndarray:
        if not self.n:
            return np.empty((0, num_perm), np.uint32)
        flat = pc.list_flatten(self.canonicals.column("signature").combine_chunks()).to_numpy()
        return flat.reshape(self.n, -1).astype(np.uint32, copy=False)

    def shingle_sets(self) -> tuple[np.ndarray, np.ndarray]:
        col = self.canonicals.column("shingles").combine_chunks()
        offsets = np.asarray(col.offsets.to_numpy(), dtype=np.int64) - int(col.offsets[0].as_py()) if self.n \
            else np.zeros(1, np.int64)
        values = pc.list_flatten(col).to_numpy().astype(np.uint32, copy=False) if self.n else np.empty(0, np.uint32)
        return offsets, values


def empty_window() -> Window:
    return Window([], CANONICALS_SCHEMA.empty_table(), MEMBERS_SCHEMA.empty_table(), ChromeModel())


def load_window(state_path: Path, night: str, retention_days: int, fp: dict | None = None) -> Window:
    """The nights before ``night`` within the retention window, checked and merged.

    With ``fp`` (``fingerprint_settings`` of this run), the canonicals of nights fingerprinted
    under other settings are re-fingerprinted from their stored text (logged as a warning)."""
    nights = window_nights(state_path, night, retention_days)
    if not nights:
        return empty_window()
    stale = stale_nights(state_path, nights, fp) if fp is not None else {}
    if stale:
        log.warning("state night(s) %s were fingerprinted under other settings (%s): their canonicals are "
                    "re-fingerprinted from the stored text under this run's, every night until they leave the window",
                    ", ".join(sorted(stale)), stale[sorted(stale)[0]])
    canon, members, chromes = [], [], []
    for x in nights:
        d = night_dir(state_path, x)
        # Unsafe casts: the Spark engine stores unsigned hashes as int64 with the same bits.
        t = _read(d / "canonicals.parquet", CANONICALS_SCHEMA)
        canon.append(_with_fingerprints(t, refingerprint(t.column("body"), fp)) if x in stale else t)
        members.append(_read(d / "members.parquet", MEMBERS_SCHEMA))
        chromes.append(_read_chrome(d))
    c = pa.concat_tables(canon)
    # Latest night's row per cluster: sort by night descending, keep first occurrence.
    c = c.sort_by([("cluster_id", "ascending"), ("night", "descending")])
    cid = c.column("cluster_id").to_numpy(zero_copy_only=False)
    first = np.ones(len(cid), bool)
    first[1:] = cid[1:] != cid[:-1]
    c = c.filter(pa.array(first)).sort_by([("cluster_id", "ascending")])
    m = pa.concat_tables(members)
    m = m.group_by(["cluster_id", "story_id"], use_threads=False).aggregate([("outlet", "first"), ("published_at", "min")]).rename_columns(
        ["cluster_id", "story_id", "outlet", "published_at"]).cast(MEMBERS_SCHEMA)
    return Window(nights, c, m, ChromeModel.combine(chromes))


def _with_fingerprints(t: pa.Table, f: Fingerprints) -> pa.Table:
    """``t`` (CANONICALS_SCHEMA) with its signature, shingles and text_hash columns replaced by ``f``'s."""
    n = len(f)
    sig = pa.FixedSizeListArray.from_arrays(pa.array(f.signatures.reshape(-1), pa.uint32()),
                                            f.signatures.shape[1]).cast(pa.list_(pa.uint32()))
    sets = pa.LargeListArray.from_arrays(pa.array(f.offsets), pa.array(f.values, pa.uint32()))
    assert n == t.num_rows
    for name, col in (("signature", sig), ("shingles", sets), ("text_hash", pa.array(f.text_hash, pa.uint64()))):
        t = t.set_column(t.schema.get_field_index(name), name, col)
    return t


def _read_chrome(d: Path) -> ChromeModel:
    ou = pq.read_table(d / "outlets.parquet", columns=["outlet", "stories"])
    outlets = dict(zip(ou.column("outlet").to_pylist(), ou.column("stories").to_pylist()))
    ck = pq.read_table(d / "chrome.parquet", columns=["key", "stories"])
    m = ChromeModel(ck.column("key").cast(pa.uint64(), safe=False).to_numpy(),
                    ck.column("stories").cast(pa.int64()).to_numpy(), outlets)
    if json.loads((d / "manifest.json").read_text()).get("version", 1) >= 2:
        r = _read(d / "chrome_reports.parquet", CHROME_REPORTS_SCHEMA)
        m.reports = ReportSets(r.column("key").to_numpy(), r.column("q").to_numpy().astype(np.uint8),
                               r.column("value").to_numpy().astype(np.uint64))
    return m


def window_nights(state_path: Path, night: str, retention_days: int) -> list[str]:
    """The nights before ``night`` within the retention window, each checked (``StateError``)."""
    end = dt.date.fromisoformat(night)
    start = end - dt.timedelta(days=retention_days)
    nights = [x for x in list_nights(state_path) if start <= dt.date.fromisoformat(x) < end]
    for x in nights:
        _verify(night_dir(state_path, x), x)
    return nights


def _read(path: Path, schema: pa.Schema) -> pa.Table:
    t = pq.read_table(path, columns=schema.names)
    return t.cast(schema, safe=False)


def _verify(d: Path, night: str) -> None:
    how = (f"delete {d} and rerun night {night} (dedup run --run-date {night}) to rebuild it; "
           f"later nights keep their ids")
    mf = d / "manifest.json"
    if not mf.is_file():
        raise StateError(f"state night {night} has no manifest.json (an interrupted write?): {how}")
    try:
        meta = json.loads(mf.read_text())
    except json.JSONDecodeError:
        raise StateError(f"state night {night}: manifest.json is not valid JSON: {how}") from None
    if meta.get("version") not in READABLE_VERSIONS:
        raise StateError(f"state night {night} has format version {meta.get('version')}, this dedup reads "
                         f"{STATE_VERSION}: {how}")
    for name in files_of(meta.get("version")):
        p = d / name
        if not p.exists() or _sha256(p) != meta.get("sha256", {}).get(name):
            raise StateError(f"state night {night}: {name} is missing or its checksum does not match: {how}")


def write_night(
    dest: Path, night: str, canonicals: pa.Table, members: pa.Table, chrome: ChromeModel, outlet_stories: dict,
    chrome_lines: pa.Table, fp: dict | None = None,
) -> dict:
    """Write the night's state tables under ``dest`` and then its manifest; ``fp``
    (``fingerprint_settings``) is what the canonicals' fingerprints were made under."""
    dest.mkdir(parents=True, exist_ok=True)
    pq.write_table(canonicals.cast(CANONICALS_SCHEMA), dest / "canonicals.parquet", compression="zstd")
    pq.write_table(members.cast(MEMBERS_SCHEMA), dest / "members.parquet", compression="zstd")
    pq.write_table(pa.table({"key": pa.array(chrome.keys, pa.uint64()), "stories": pa.array(chrome.stories, pa.int64())}),
                   dest / "chrome.parquet", compression="zstd")
    r = chrome.reports
    pq.write_table(pa.table({"key": pa.array(r.key, pa.uint64()), "q": pa.array(r.q.astype(np.int32)),
                             "value": pa.array(r.value.astype(np.int64))}, schema=CHROME_REPORTS_SCHEMA),
                   dest / "chrome_reports.parquet", compression="zstd")
    pq.write_table(pa.table({"outlet": pa.array(list(outlet_stories), pa.string()),
                             "stories": pa.array(list(outlet_stories.values()), pa.int64())}),
                   dest / "outlets.parquet", compression="zstd")
    pq.write_table(chrome_lines, dest / "chrome_lines.parquet", compression="zstd")
    return write_manifest(dest, night, {"canonicals": canonicals.num_rows, "members": members.num_rows,
                                        "chrome_keys": int(chrome.keys.size)}, fp)


def write_manifest(dest: Path, night: str, rows: dict, fp: dict | None = None) -> dict:
    """The night's manifest, written last: its checksums vouch for the files beside it. ``fp``
    (``fingerprint_settings``) is recorded as ``fingerprint``; without it the night reads as
    written by an older dedup (spot-checked)."""
    meta = {
        "version": STATE_VERSION,
        "night": night,
        "rows": rows,
        "sha256": {name: _sha256(dest / name) for name in FILES},
    }
    if fp is not None:
        meta["fingerprint"] = dict(fp)
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
