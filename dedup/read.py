"""Read stage: input files to chunks of valid records, and a reject for everything else.

Formats (``input.format``, or by extension): JSONL (``.jsonl``, ``.jsonl.gz``, ``.json``,
``.ndjson``), CSV (``.csv``, ``.csv.gz``), Parquet (``.parquet``), and a directory of plain
text files as scrapers save them (``.txt``: headline on the first line, then the page text;
id = file name without extension, outlet = folder name unless ``input.outlet`` says otherwise).

A record is rejected, never dropped, when it cannot be read (invalid JSON, not an object), has
no usable id or body, has a body over ``input.max_body_bytes``, or repeats an id already seen
in the batch. Text in an odd encoding is decoded as cp1252/latin-1 rather than rejected.
Unreadable dates do not reject a story: ``published_at`` is left empty and counted.
"""
from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from dedup.config import InputSettings

RECORD_COLUMNS = ("source", "record", "story_id", "outlet", "url", "headline", "published_at", "body")
REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("record", pa.int64()),
        ("story_id", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)
_EXT_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
    ".txt": "text",
}


class InputError(Exception):
    """The input as a whole cannot be read (missing path, unknown format)."""


@dataclass
class InputFile:
    path: str
    format: str
    bytes: int
    sha256: str = ""

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "bytes": self.bytes, "sha256": self.sha256}


@dataclass
class ReadStats:
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    bad_dates: int = 0
    reencoded: int = 0


def _format_of(path: Path, configured: str) -> str:
    if configured != "auto":
        return configured
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = _EXT_FORMATS.get(os.path.splitext(name)[1])
    if fmt is None:
        raise InputError(f"cannot tell the format of {path}: set input.format (jsonl, csv, parquet, text)")
    return fmt


def discover(settings: InputSettings) -> list[InputFile]:
    """The input files, sorted, with sizes. A directory of .txt files is one text input."""
    raw = settings.path
    p = Path(raw)
    if any(ch in raw for ch in "*?["):
        paths = sorted(Path(x) for x in glob.glob(raw, recursive=True) if Path(x).is_file())
        if not paths:
            raise InputError(f"input.path matches no files: {raw}")
    elif p.is_dir():
        paths = sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith("."))
        if settings.format in ("auto", "text"):
            txt = [x for x in paths if x.suffix.lower() == ".txt"]
            if settings.format == "text" or (txt and len(txt) == len(paths)):
                paths = txt
        paths = [x for x in paths if settings.format != "auto" or _known(x)]
        if not paths:
            raise InputError(f"input.path is a directory with no readable input files: {raw}")
    elif p.is_file():
        paths = [p]
    else:
        raise InputError(f"input.path not found: {raw}")
    return [InputFile(str(x), _format_of(x, settings.format), x.stat().st_size) for x in paths]


def _known(p: Path) -> bool:
    try:
        _format_of(p, "auto")
        return True
    except InputError:
        return False


def _open_binary(path: str):
    return gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")


def _decode(b: bytes, stats: ReadStats) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        stats.reencoded += 1
        try:
            return b.decode("cp1252")
        except UnicodeDecodeError:
            return b.decode("latin-1")


# A raw item: (source, record number, raw text for rejects, parsed object or None, error or None)
RawItem = tuple[str, int, str, object, str | None]


def _jsonl_blocks(f: InputFile, size: int) -> Iterator[tuple[list[tuple[int, bytes]], str | None]]:
    """Blocks of (line number, line) of at most ``size`` non-blank lines; the last block carries
    the error that ended the file early, if any (a truncated gzip, an I/O error)."""
    block: list[tuple[int, bytes]] = []
    n = 0
    with _open_binary(f.path) as fh:
        try:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    block.append((n, line.rstrip(b"\r\n")))
                    if len(block) >= size:
                        yield block, None
                        block = []
        except Exception as e:  # noqa: BLE001 - the file ends here, the run goes on
            yield block, f"file ends early or is unreadable after record {n}: {type(e).__name__}: {e}"
            return
    yield block, None


def _jsonl_item(path: str, n: int, line: bytes, stats: ReadStats) -> RawItem:
    text = _decode(line, stats)
    try:
        return path, n, text, json.loads(text), None
    except json.JSONDecodeError as e:
        return path, n, text, None, f"invalid JSON: {e.msg} at column {e.colno}"


def _jsonl_fast(lines: list[tuple[int, bytes]], fields: dict[str, str]) -> pa.Table | None:
    """Parse a block with Arrow's multithreaded JSON reader, or None when any line needs the
    careful per-line path (invalid JSON, a non-object, a field of another type, bad UTF-8)."""
    if not lines or any(not ln.startswith(b"{") for _, ln in lines):
        return None
    buf = b"\n".join(ln for _, ln in lines)
    schema = pa.schema([(theirs, pa.string()) for theirs in dict.fromkeys(fields.values())])
    try:
        t = pajson.read_json(
            io.BytesIO(buf),
            read_options=pajson.ReadOptions(block_size=max(1 << 20, len(buf) // 2 + 1)),
            parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
        t.validate(full=True)  # Arrow's reader does not check UTF-8; the careful path decodes it
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return t if t.num_rows == len(lines) else None


def _csv_items(f: InputFile, stats: ReadStats) -> Iterator[RawItem]:
    with _open_binary(f.path) as fh:
        data = fh.read()
    text = _decode(data, stats)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        yield f.path, 1, text[:200], None, f"invalid CSV header: {e}"
        return
    n = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            n += 1
            yield f.path, n, "", None, f"invalid CSV row: {e}"
            continue
        n += 1
        raw = ",".join(row)
        if len(row) != len(header):
            yield f.path, n, raw, None, f"CSV row has {len(row)} fields, header has {len(header)}"
            continue
        yield f.path, n, raw, dict(zip(header, row)), None


def _parquet_items(f: InputFile, stats: ReadStats) -> Iterator[RawItem]:
    try:
        pf = pq.ParquetFile(f.path)
    except Exception as e:  # noqa: BLE001
        yield f.path, 0, "", None, f"unreadable Parquet file: {e}"
        return
    n = 0
    for batch in pf.iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            n += 1
            yield f.path, n, "", row, None


def _text_items(f: InputFile, stats: ReadStats, outlet: str | None) -> Iterator[RawItem]:
    p = Path(f.path)
    with _open_binary(f.path) as fh:
        text = _decode(fh.read(), stats)
    headline, _, body = text.lstrip("\ufeff").partition("\n")
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    obj = {"id": os.path.splitext(name)[0], "headline": headline.strip(), "body": body, "outlet": outlet or p.parent.name}
    yield f.path, 1, text, obj, None


def iter_items(files: list[InputFile], settings: InputSettings, stats: ReadStats) -> Iterator[RawItem]:
    for f in files:
        if f.format == "jsonl":
            for block, err in _jsonl_blocks(f, 10_000):
                for n, line in block:
                    yield _jsonl_item(f.path, n, line, stats)
                if err:
                    yield f.path, (block[-1][0] + 1 if block else 1), "", None, err
        elif f.format == "csv":
            yield from _csv_items(f, stats)
        elif f.format == "parquet":
            yield from _parquet_items(f, stats)
        else:
            yield from _text_items(f, stats, settings.outlet)


def _as_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes
            v = v.encode("utf-8", "replace").decode("utf-8")
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return None


def _as_id(v) -> tuple[str | None, str | None]:
    """A story id, or the reason it is not one. Whole numbers are taken as ids (many feeds use them)."""
    if v is None:
        return None, "missing id"
    if isinstance(v, bool) or isinstance(v, float) or not isinstance(v, (str, int)):
        return None, f"id is not a string (got {type(v).__name__})"
    s = _as_text(v).strip()
    if not s:
        return None, "empty id"
    return s, None


class Validator:
    """Turns raw items into record columns and reject rows; remembers the ids seen in the batch."""

    def __init__(self, settings: InputSettings, raw_max_chars: int, stats: ReadStats):
        self.fields = {name: settings.fields.get(name, name) for name in ("id", "body", "outlet", "url", "headline", "published_at")}
        self.default_outlet = settings.outlet
        self.max_body = settings.max_body_bytes
        self.raw_max = raw_max_chars
        self.stats = stats
        self.seen: dict[str, str] = {}

    def reject(self, rejects: list, source: str, record: int, story_id: str | None, reason: str, raw: str) -> None:
        self.stats.rejected += 1
        self.stats.reasons[reason.split(":")[0]] += 1
        rejects.append((source, record, story_id, reason, raw[: self.raw_max] if raw else raw))

    def columns(self, source: str, block: list[tuple[int, bytes]], t: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Vectorized checks of a block Arrow parsed as string columns (same rules as ``chunk``)."""
        return _columns_impl(self, source, block, t)

    def chunk(self, items: list[RawItem]) -> tuple[pa.Table, pa.Table]:
        cols = {c: [] for c in RECORD_COLUMNS}
        rejects: list[tuple] = []
        F = self.fields
        for source, record, raw, obj, err in items:
            self.stats.records += 1
            if err is not None:
                self.reject(rejects, source, record, None, err, raw)
                continue
            if not isinstance(obj, dict):
                self.reject(rejects, source, record, None, f"record is not an object (got {type(obj).__name__})", raw)
                continue
            if not raw:
                raw = json.dumps(obj, default=str, ensure_ascii=False)[: self.raw_max]
            sid, why = _as_id(obj.get(F["id"]))
            if why:
                self.reject(rejects, source, record, None, f"{why} (field '{F['id']}')", raw)
                continue
            body = obj.get(F["body"])
            if not isinstance(body, str):
                what = "missing body" if body is None else f"body is not a string (got {type(body).__name__})"
                self.reject(rejects, source, record, sid, f"{what} (field '{F['body']}')", raw)
                continue
            body = _as_text(body)
            if not body.strip():
                self.reject(rejects, source, record, sid, "empty body", raw)
                continue
            if len(body) > self.max_body and len(body.encode("utf-8")) > self.max_body:
                self.reject(rejects, source, record, sid, f"body too large: over input.max_body_bytes={self.max_body}", raw)
                continue
            first = self.seen.get(sid)
            if first is not None:
                self.reject(rejects, source, record, sid, f"duplicate id: first seen at {first}", raw)
                continue
            self.seen[sid] = f"{os.path.basename(source)}:{record}"
            cols["source"].append(source)
            cols["record"].append(record)
            cols["story_id"].append(sid)
            cols["outlet"].append(_as_text(obj.get(F["outlet"])) or self.default_outlet)
            cols["url"].append(_as_text(obj.get(F["url"])))
            cols["headline"].append(_as_text(obj.get(F["headline"])))
            cols["published_at"].append(_as_text(obj.get(F["published_at"])))
            cols["body"].append(body)
        table = pa.table(
            {
                "source": pa.array(cols["source"], pa.string()),
                "record": pa.array(cols["record"], pa.int64()),
                "story_id": pa.array(cols["story_id"], pa.string()),
                "outlet": pa.array(cols["outlet"], pa.string()),
                "url": pa.array(cols["url"], pa.string()),
                "headline": pa.array(cols["headline"], pa.string()),
                "published_at": parse_dates(cols["published_at"], self.stats),
                "body": pa.array(cols["body"], pa.large_string()),
            }
        )
        self.stats.accepted += table.num_rows
        rej = pa.Table.from_pylist(
            [dict(zip(REJECT_SCHEMA.names, r)) for r in rejects], schema=REJECT_SCHEMA
        )
        return table, rej


def _columns_impl(v: "Validator", source: str, block: list[tuple[int, bytes]], t: pa.Table) -> tuple[pa.Table, pa.Table]:
    F = v.fields
    n = t.num_rows
    v.stats.records += n
    ids = pc.utf8_trim_whitespace(t.column(F["id"]))
    body = t.column(F["body"])
    reason = np.full(n, None, dtype=object)
    def mark(mask, text):
        m = np.asarray(mask, dtype=bool) & (reason == None)  # noqa: E711 - elementwise on object array
        reason[m] = text
    mark(pc.is_null(ids).to_numpy(zero_copy_only=False), f"missing id (field '{F['id']}')")
    mark(pc.equal(ids, "").fill_null(False).to_numpy(zero_copy_only=False), f"empty id (field '{F['id']}')")
    mark(pc.is_null(body).to_numpy(zero_copy_only=False), f"missing body (field '{F['body']}')")
    blen = pc.binary_length(body.fill_null(""))
    mark(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(body.fill_null(""))), 0).to_numpy(zero_copy_only=False), "empty body")
    mark(pc.greater(blen, v.max_body).to_numpy(zero_copy_only=False),
         f"body too large: over input.max_body_bytes={v.max_body}")
    id_list = ids.to_pylist()
    base = os.path.basename(source)
    for i, sid in enumerate(id_list):
        if reason[i] is not None:
            continue
        first = v.seen.get(sid)
        if first is not None:
            reason[i] = f"duplicate id: first seen at {first}"
        else:
            v.seen[sid] = f"{base}:{block[i][0]}"
    bad = np.flatnonzero(reason != None)  # noqa: E711
    rejects = []
    for i in bad:
        v.reject(rejects, source, block[i][0], id_list[i], reason[i], block[i][1].decode("utf-8", "replace"))
    ok = pa.array(reason == None)  # noqa: E711
    g = t.filter(ok)
    lines_ok = np.array([ln for ln, _ in block], dtype=np.int64)[reason == None]  # noqa: E711

    def col(name):
        theirs = F[name]
        return g.column(theirs) if theirs in g.column_names else pa.nulls(g.num_rows, pa.string())

    outlet = col("outlet")
    if v.default_outlet is not None:
        outlet = pc.fill_null(outlet, v.default_outlet)
    table = pa.table(
        {
            "source": pa.array([source] * g.num_rows, pa.string()),
            "record": pa.array(lines_ok),
            "story_id": pc.utf8_trim_whitespace(col("id")),
            "outlet": outlet,
            "url": col("url"),
            "headline": col("headline"),
            "published_at": parse_dates(col("published_at"), v.stats),
            "body": col("body").cast(pa.large_string()),
        }
    )
    v.stats.accepted += table.num_rows
    rej = pa.Table.from_pylist([dict(zip(REJECT_SCHEMA.names, r)) for r in rejects], schema=REJECT_SCHEMA)
    return table, rej


def parse_dates(values, stats: ReadStats) -> pa.Array:
    """ISO 8601 (any offset) or common feed formats, to UTC; unreadable ones become null.

    Arrow parses the usual case (every value ISO 8601 with an offset or Z) in one vectorized
    cast; anything else goes through pandas, which also reads naive times as UTC.
    """
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    try:
        return arr.cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    s = pd.Series(arr.to_pylist(), dtype="object")
    parsed = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    retry = parsed.isna() & s.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(s[retry], utc=True, errors="coerce", format="mixed")
    stats.bad_dates += int((parsed.isna() & s.notna() & (s.astype(str).str.strip() != "")).sum())
    return pa.array(parsed.astype("datetime64[us, UTC]"), pa.timestamp("us", tz="UTC"))


def read_chunks(
    files: list[InputFile], settings: InputSettings, raw_max_chars: int, chunk_size: int, stats: ReadStats
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield (records, rejects) tables of at most ``chunk_size`` items each.

    JSONL blocks that parse cleanly go through Arrow's JSON reader and vectorized checks; a
    block with anything odd in it is read line by line, so every bad line gets its own reason.
    """
    v = Validator(settings, raw_max_chars, stats)
    for f in files:
        if f.format != "jsonl":
            buf: list[RawItem] = []
            for item in iter_items([f], settings, stats):
                buf.append(item)
                if len(buf) >= chunk_size:
                    yield v.chunk(buf)
                    buf = []
            if buf:
                yield v.chunk(buf)
            continue
        for block, err in _jsonl_blocks(f, chunk_size):
            fast = _jsonl_fast(block, v.fields) if err is None else None
            if fast is not None:
                yield v.columns(f.path, block, fast)
                continue
            items = [_jsonl_item(f.path, n, line, stats) for n, line in block]
            if err:
                items.append((f.path, (block[-1][0] + 1 if block else 1), "", None, err))
            if items:
                yield v.chunk(items)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
