"""Read stage: input files to chunks of valid records, and a reject for everything else.

Formats (``input.format``, or by extension): JSONL (``.jsonl``, ``.jsonl.gz``, ``.json``,
``.ndjson``), CSV (``.csv``, ``.csv.gz``), Parquet (``.parquet``), and a directory of plain
text files as scrapers save them (``.txt``: headline on the first line, then the page text;
id = file name without extension, outlet = folder name unless ``input.outlet`` says otherwise).

``input.path`` may also be an object-store URL (s3://, gs://, abfs://, ...: ``dedup.config.OBJECT_STORES``):
the same files are then listed and read through fsspec, byte for byte as from disk, and each
``InputFile.path`` (hence a record's ``source`` and the manifest's inputs) is the object's URL.

A record is rejected, never dropped, when it cannot be read (invalid JSON, not an object), has
no usable id or body, has a body over ``input.max_body_bytes``, or repeats an id already seen
in the batch (unless the caller keeps repeats to choose the latest version: ``read_chunks``). Text in an odd encoding is decoded as cp1252/latin-1 rather than rejected.
Unreadable dates do not reject a story: ``published_at`` is left empty and counted.
"""
from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from dedup.config import InputSettings, is_object_store, url_scheme
from dedup.errors import InputError
from dedup.schemas import REJECT_SCHEMA
from dedup.stages.reasons import ENDS_EARLY, duplicate_id
from dedup.stages.text.normalize import string_buffers

#: The column ``read_chunks(keep_repeats=True)`` adds: int64, one number per distinct story id.
ID_NUMBER = "_id_number"

_EXT_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
    ".txt": "text",
}


@dataclass
class InputFile:
    path: str
    format: str
    bytes: int

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "bytes": self.bytes}


@dataclass
class ReadStats:
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    bad_dates: int = 0
    reencoded: int = 0


def format_of(path: Path, configured: str) -> str:
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
    """The input files, sorted, with sizes. A directory of .txt files is one text input.

    ``settings.path`` is a file, a directory or a glob, on disk or behind an object-store URL (the
    same rules; hidden files, names starting with ".", are skipped in a directory). Raises
    InputError (one line) when nothing matches or the store cannot be listed.
    """
    raw = settings.path
    if is_object_store(raw):
        return _discover_url(settings)
    p = Path(raw)
    if any(ch in raw for ch in "*?["):
        paths = sorted(Path(x) for x in glob.glob(raw, recursive=True) if Path(x).is_file())
        if not paths:
            raise InputError(f"input.path matches no files: {raw}")
    elif p.is_dir():
        paths = _folder_inputs(sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")), settings)
    elif p.is_file():
        paths = [p]
    else:
        raise InputError(f"input.path not found: {raw}")
    return [InputFile(str(x), format_of(x, settings.format), x.stat().st_size) for x in paths]


def _folder_inputs(paths: list, settings: InputSettings) -> list:
    """The files of an input folder that are read: only the .txt ones when the folder is all text
    (or ``input.format: text``), and with ``format: auto`` only those of a known extension."""
    if settings.format in ("auto", "text"):
        txt = [x for x in paths if x.suffix.lower() == ".txt"]
        if settings.format == "text" or (txt and len(txt) == len(paths)):
            paths = txt
    paths = [x for x in paths if settings.format != "auto" or _known(x)]
    if not paths:
        raise InputError(f"input.path is a directory with no readable input files: {settings.path}")
    return paths


def _discover_url(settings: InputSettings) -> list[InputFile]:
    """``discover`` for an object-store URL, through fsspec: a glob, a "folder" (a key prefix) or one
    object. A missing bucket or object is "not found"; an error of the store (credentials, access,
    network) is one line naming it."""
    import fsspec

    raw = settings.path
    scheme = url_scheme(raw)
    try:
        fs, root = fsspec.core.url_to_fs(raw)
        fs.invalidate_cache()  # tonight's feed may have landed since an earlier listing in this process
        folder = False
        if any(ch in root for ch in "*?["):
            found = {k: v for k, v in fs.glob(root, detail=True).items() if v.get("type") == "file"}
            if not found:
                raise InputError(f"input.path matches no files: {raw}")
        elif fs.isdir(root):
            folder = True
            found = {k: v for k, v in fs.find(root, detail=True).items() if not PurePosixPath(k).name.startswith(".")}
        elif fs.isfile(root):
            found = {fs._strip_protocol(root): fs.info(root)}
        else:
            raise InputError(f"input.path not found: {raw}")
        # Keys as paths for the name rules (extension, text folder); the key itself makes the URL.
        keys = {PurePosixPath(k): k for k in found}
        names = sorted(keys)
        if folder:
            names = _folder_inputs(names, settings)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - the store's own errors (credentials, access, network), as one line
        msg = " ".join(str(e).split()) or type(e).__name__
        raise InputError(f"input.path {raw} cannot be listed: {type(e).__name__}: {msg[:300]}") from None
    return [InputFile(f"{scheme}://{keys[x]}", format_of(x, settings.format), int(found[keys[x]].get("size") or 0))
            for x in names]


def _known(p: Path) -> bool:
    try:
        format_of(p, "auto")
        return True
    except InputError:
        return False


def _open_raw(path: str):
    """The file's bytes as stored (no decompression): on disk, or an object-store URL through fsspec."""
    if is_object_store(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open(path, "rb")


class _RawWrapper(io.RawIOBase):
    """A raw reader over an open binary file ``self._fh`` that closes it with itself; subclasses
    define ``readinto``."""

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            self._fh.close()
        finally:
            super().close()


class _HashingReader(_RawWrapper):
    """An object read front to back once, its sha256 taken on the way: when the reader reaches
    its end, ``sha256_file`` has the checksum without downloading the object a second time. A
    read that stops early (an error, a truncated gzip) leaves no checksum; ``sha256_file`` then
    reads the object itself."""

    def __init__(self, path: str):
        self._path = path
        _SHA256_SEEN.pop((path,), None)  # the object may have changed since an earlier read
        self._fh = _open_raw(path)
        self._h = hashlib.sha256()

    def readinto(self, b) -> int:
        n = self._fh.readinto(b)
        if n:
            self._h.update(memoryview(b)[:n])
        elif n == 0 and len(b):
            _SHA256_SEEN[(self._path,)] = self._h.hexdigest()
        return n


def _open_sequential(path: str):
    """``_open_raw`` for a file read front to back: an object's checksum is taken while it is read."""
    return io.BufferedReader(_HashingReader(path), 1 << 20) if is_object_store(path) else _open_raw(path)


def copy_object(url: str, dest: Path) -> Path:
    """Stream the object at ``url`` (an object-store URL, through fsspec as the reader opens it) to the
    local file ``dest``, its bytes as stored (a .gz stays compressed), in 8 MiB blocks; its sha256 is
    taken on the way, so ``sha256_file(url)`` does not download it again. Returns ``dest``. Raises
    the store's own errors (OSError and the like)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with io.BufferedReader(_HashingReader(url), 1 << 20) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 8 << 20)
    return dest


def _open_binary(path: str):
    """The file's content: ``.gz`` files decompressed (gzip), from disk or an object-store URL."""
    if not path.lower().endswith(".gz"):
        return _open_sequential(path)
    if not is_object_store(path):
        return gzip.open(path, "rb")
    raw = _open_sequential(path)
    gz = gzip.GzipFile(fileobj=raw, mode="rb")
    close = gz.close

    def close_both():  # GzipFile does not close a file object it was given
        try:
            close()
        finally:
            raw.close()

    gz.close = close_both
    return gz


def _decode(b: bytes, stats: ReadStats) -> str:
    """UTF-8 (a leading byte-order mark is not data: utf-8-sig drops it), else cp1252, else latin-1."""
    try:
        return b.decode("utf-8-sig")
    except UnicodeDecodeError:
        stats.reencoded += 1
        try:
            return b.decode("cp1252")
        except UnicodeDecodeError:
            return b.decode("latin-1")


# A raw item: (source, record number, raw text for rejects, parsed object or None, error or None)
RawItem = tuple[str, int, str, object, str | None]


# Bytes read from a file at a time: big enough that Python touches each block of lines once,
# small enough that memory stays about one chunk of text.
_READ_BYTES = 32 << 20


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)


@numba.njit(cache=True, nogil=True)
def _newlines(buf, start):
    """Positions of the "\n" bytes in buf[start:]. Eight bytes are tested at a time (a word has
    a newline iff ``x ^ 0x0a..`` has a zero byte): over twice as fast as a loop over bytes."""
    n = buf.shape[0]
    nw = n // 8
    words = buf[: nw * 8].view(np.uint64)
    out = np.empty(0, np.int64)
    for fill in range(2):  # count, then fill
        k = 0
        for i in range(start // 8, nw):
            x = words[i] ^ _NEWLINES
            if (x - _ONES) & ~x & _HIGHS:
                for j in range(max(i * 8, start), i * 8 + 8):
                    if buf[j] == 10:
                        if fill:
                            out[k] = j
                        k += 1
        for j in range(max(nw * 8, start), n):
            if buf[j] == 10:
                if fill:
                    out[k] = j
                k += 1
        if not fill:
            out = np.empty(k, np.int64)
    return out


@numba.njit(cache=True, nogil=True)
def _scan_lines(buf, start, final):
    """The lines of buf[start:] (split at "\n"; the last one only when ``final``, otherwise it
    may still be incomplete): start, end without trailing "\r"/"\n", and index among all lines
    of the non-blank ones (blank: only ASCII whitespace, as ``bytes.strip`` sees it); the number
    of lines, blank ones included; and where the unscanned rest begins."""
    n = buf.shape[0]
    nl = _newlines(buf, start)
    total = nl.shape[0]
    last = final and n > start and buf[n - 1] != 10
    if last:
        total += 1
    starts = np.empty(total, np.int64)
    ends = np.empty(total, np.int64)
    index = np.empty(total, np.int64)
    m = 0
    s = start
    for k in range(total):
        i = nl[k] if k < nl.shape[0] else n
        e = i
        while e > s and (buf[e - 1] == 13 or buf[e - 1] == 10):
            e -= 1
        blank = True
        for j in range(s, e):
            c = buf[j]
            if not (c == 32 or c == 9 or c == 10 or c == 13 or c == 11 or c == 12):
                blank = False
                break
        if not blank:
            starts[m] = s
            ends[m] = e
            index[m] = k
            m += 1
        s = min(i + 1, n)
    return starts[:m], ends[:m], index[:m], total, s


@dataclass
class _Block:
    """Non-blank lines of a JSONL file as positions in one buffer read from it."""

    buf: memoryview
    numbers: np.ndarray  # int64 line number in the file (1-based, blank lines counted)
    starts: np.ndarray
    ends: np.ndarray  # end of the line without its "\r\n"
    # Lines over the size limit, skipped while streaming: (line number, their first bytes, their size).
    skipped: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.numbers)

    def line(self, i: int) -> bytes:
        return bytes(self.buf[self.starts[i] : self.ends[i]])

    def lines(self) -> list[tuple[int, bytes]]:
        return [(int(n), bytes(self.buf[s:e])) for n, s, e in zip(self.numbers, self.starts, self.ends)]

    def next_record(self) -> int:
        """The record number given to an error after this block (1 for an empty block)."""
        return int(self.numbers[-1]) + 1 if len(self) else 1


_BOM = b"\xef\xbb\xbf"


def _read_piece(fh, gz: bool, carry: memoryview,
                spare: np.ndarray | None = None) -> tuple[memoryview, int, Exception | None]:
    """``carry`` followed by up to _READ_BYTES more of the file, in one buffer; the number of
    bytes read; and the error that stopped the reading, if any. A plain file is read straight into
    the buffer (no second copy of the data), which is ``spare`` (uint8) when that is large enough:
    the previous piece's buffer, whose lines were all handed on except ``carry``, its tail. A
    gzip file is read in the small pieces its decompressor yields, so that a truncated one keeps all
    that could be decompressed."""
    if not gz:
        need = len(carry) + _READ_BYTES
        # Reused, not allocated anew: a new buffer is fresh pages, each a page fault to map and
        # zero: reusing it saves 60,000-80,000 faults at 200,000 stories (docs/speed.md, Session 20).
        # Not a bytearray: it zero-fills memory that readinto overwrites (0.9 s of a 1.3 GB read).
        buf = spare if spare is not None and spare.size >= need else np.empty(need + need // 4, np.uint8)
        view = memoryview(buf)
        view[: len(carry)] = carry  # a memmove: the carry may be the tail of this same buffer
        try:
            got = fh.readinto(view[len(carry) : need])
        except Exception as e:  # noqa: BLE001 - the file ends here, the run goes on
            return view[: len(carry)], 0, e  # the carry's old place may be overwritten
        return view[: len(carry) + got], got, None
    parts: list = [carry]
    got = 0
    err = None
    try:
        while got < _READ_BYTES:
            d = fh.read1(_READ_BYTES - got)
            if not d:
                break
            parts.append(d)
            got += len(d)
    except Exception as e:  # noqa: BLE001
        err = e
    return memoryview(b"".join(parts)), got, err


# Bytes of a skipped line kept for its reject's ``raw`` (``output.raw_max_chars`` cuts it further).
_SKIPPED_PREFIX = 4096


def line_limit(max_body_bytes: int) -> int:
    """The longest JSONL line read whole: a body of ``max_body_bytes`` JSON-escaped (at most 6 bytes
    per byte, ``\\u0001``) plus 1 MiB for the record's other fields. A longer line cannot hold an
    acceptable body, so it is skipped while streaming instead of being held in memory."""
    return 6 * max_body_bytes + (1 << 20)


def _skip_line(fh, gz: bool, seen: int) -> tuple[bytes, int, Exception | None, bool]:
    """Read on, without keeping it, to the end of a line of which ``seen`` bytes were read: the
    bytes after its "\n" (the start of the next line), the line's total size, the error that
    stopped the reading (if any), and whether the file ended inside the line."""
    size = seen
    while True:
        try:
            d = fh.read1(_READ_BYTES) if gz else fh.read(_READ_BYTES)
        except Exception as e:  # noqa: BLE001 - the file ends here, the run goes on
            return b"", size, e, True
        if not d:
            return b"", size, None, True
        k = d.find(b"\n")
        if k >= 0:
            return d[k + 1:], size + k, None, False
        size += len(d)


def _block_lines(starts: np.ndarray, ends: np.ndarray, k: int, size: int, max_bytes: int | None) -> int:
    """How many of the lines from ``k`` on make the next block: ``size`` at most, and no more than fit
    in ``max_bytes`` from the start of line ``k`` (always at least one line)."""
    n = min(size, len(starts) - k)
    if max_bytes is None or n <= 1:
        return n
    fit = int(np.searchsorted(ends[k:k + n] - starts[k], max_bytes, side="right"))
    return max(1, min(n, fit))


def _jsonl_blocks(f: InputFile, size: int, limit: int | None = None,
                  span: "Span | None" = None, max_bytes: int | None = None) -> Iterator[tuple[_Block, str | None]]:
    """Blocks of at most ``size`` non-blank lines and (with ``max_bytes``) at most that many bytes,
    one line always; the last block carries the error that ended the
    file early, if any (a truncated gzip, an I/O error). The file is read in large pieces and split
    into lines in compiled code; a block is handed on as positions in its piece, and Arrow parses
    the block's bytes where they are (iterating, stripping and joining lines in Python cost more).

    A line longer than ``limit`` bytes is not held whole: once that much of it is read, the rest is
    read past in pieces and dropped, and the line is listed in the next block's ``skipped`` (its line
    number, first bytes and size), so memory stays that of the pieces whatever the line's length.

    With ``span`` (an uncompressed file only), only the span's bytes are read, its lines numbered
    from ``span.first_line`` as in the whole file."""
    gz = f.path.lower().endswith(".gz")
    if span is not None and gz:
        raise ValueError(f"a byte range of a compressed file cannot be read: {f.path}")
    skipped: list = []
    with (_open_binary(f.path) if span is None else _SpanReader(f.path, span.start, span.end)) as fh:
        buf = memoryview(b"")
        starts = ends = numbers = np.empty(0, np.int64)
        scanned = 0  # buf[:scanned] is split into lines already
        lines = 0 if span is None else span.first_line - 1  # lines of the file up to buf[scanned]
        first = span is None or span.start == 0  # only the file's first bytes can be a byte-order mark
        spare = None  # the buffer of the previous piece, read into again
        while True:
            buf, got, err = _read_piece(fh, gz, buf, spare)
            spare = buf.obj if isinstance(buf.obj, np.ndarray) else None
            final = err is not None or not got
            s, e_, idx, total, scanned = _scan_lines(np.frombuffer(buf, np.uint8), scanned, final and err is None)
            if first and len(s) and s[0] == 0 and bytes(buf[:3]) == _BOM:
                s[0] = 3  # a byte-order mark (Excel, Notepad) is not part of the first record
            first = False
            if limit is not None and len(s) and int((e_ - s).max()) > limit:
                # Whole lines too long to hold an acceptable record: listed, never parsed.
                big = (e_ - s) > limit
                skipped.extend((int(n) + lines + 1, bytes(buf[a : a + _SKIPPED_PREFIX]), int(b - a))
                               for n, a, b in zip(idx[big], s[big], e_[big]))
                s, e_, idx = s[~big], e_[~big], idx[~big]
            starts, ends = np.concatenate([starts, s]), np.concatenate([ends, e_])
            numbers = np.concatenate([numbers, idx + lines + 1])
            lines += total
            k = 0
            while len(numbers) > k:
                take = _block_lines(starts, ends, k, size, max_bytes)
                if k + take == len(numbers) and (final or take < size):
                    # The rest may take more lines (read on), or is the file's last block, handed on
                    # below with the error that ended the file.
                    break
                yield _Block(buf, numbers[k : k + take], starts[k : k + take], ends[k : k + take], skipped), None
                skipped = []
                k += take
            if not final and limit is not None and len(buf) - scanned > limit:
                # The unfinished last line is already longer than any acceptable record: read past it.
                prefix = bytes(buf[scanned : scanned + _SKIPPED_PREFIX])
                rest, total_size, err, eof = _skip_line(fh, gz, len(buf) - scanned)
                lines += 1
                skipped.append((lines, prefix, total_size))
                buf = memoryview(bytes(buf[:scanned]) + rest)
                if eof:
                    # The file ended inside the long line (or an error stopped it): no more lines.
                    final = True
                    s, e_, idx, total, scanned = _scan_lines(np.frombuffer(buf, np.uint8), scanned, err is None)
                    starts, ends = np.concatenate([starts, s]), np.concatenate([ends, e_])
                    numbers = np.concatenate([numbers, idx + lines + 1])
                    lines += total
            if final:
                msg = None if err is None else (
                    f"{ENDS_EARLY} after record {lines}: {type(err).__name__}: {err}")
                yield _Block(buf, numbers[k:], starts[k:], ends[k:], skipped), msg
                return
            # Keep only the lines not yet handed out and the incomplete last line.
            cut = int(starts[k]) if k < len(starts) else scanned
            buf = buf[cut:]
            starts, ends, numbers = starts[k:] - cut, ends[k:] - cut, numbers[k:]
            scanned -= cut


@dataclass(frozen=True)
class Span:
    """A byte range [start, end) of an uncompressed JSONL file that begins at a line start and ends
    at one (or at the end of the file), and the number in the whole file (1-based, blank lines
    counted) of its first line: what one Spark task reads of a large file."""

    start: int
    end: int
    first_line: int


class _SpanReader(_RawWrapper):
    """The bytes [start, end) of a file on disk, as a file object that ends at ``end``."""

    def __init__(self, path: str, start: int, end: int):
        self._fh = open(path, "rb")
        self._fh.seek(start)
        self._left = max(0, end - start)

    def readinto(self, b) -> int:
        view = memoryview(b)[: self._left]
        n = self._fh.readinto(view) if len(view) else 0
        self._left -= n
        return n


def _line_start(fh, pos: int, size: int) -> int:
    """The first line start at or after byte ``pos`` of an open file of ``size`` bytes: ``pos``
    itself when the byte before it is a "\n" (or ``pos`` is 0), else the byte after the next
    "\n"; ``size`` when no line starts there (Hadoop's LineRecordReader convention)."""
    if pos <= 0:
        return 0
    if pos >= size:
        return size
    fh.seek(pos - 1)
    at = pos - 1
    while True:
        d = fh.read(1 << 16)
        if not d:
            return size
        k = d.find(b"\n")
        if k >= 0:
            return at + k + 1
        at += len(d)


def split_ranges(size: int, split_bytes: int) -> list[tuple[int, int | None]]:
    """Nominal byte ranges [start, end) of ``split_bytes`` each covering a file of ``size`` bytes,
    the last one's end None (the file's end when it is read: a file grown since it was listed is
    read to its end, as the local engine reads it); ``line_range`` moves them to line starts."""
    starts = list(range(0, size, split_bytes)) or [0]
    return [(s, e) for s, e in zip(starts, starts[1:] + [None])]


def line_range(path: str, start: int, end: int | None) -> tuple[int, int, int]:
    """The lines a nominal byte range [start, end) of a JSONL file on disk owns: those that start
    in it (a line crossing ``end`` is read whole by this range, and skipped by the next). Returns
    (first byte, end byte, number of "\n" in between): the ranges of consecutive nominal ranges
    tile the file, so a prefix sum of the counts numbers every range's first line
    (``number_ranges``). ``end`` None: the file's end."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        lo = _line_start(fh, start, size)
        hi = size if end is None else _line_start(fh, end, size)
        newlines = 0
        if hi > lo:
            fh.seek(lo)
            left = hi - lo
            while left:
                d = fh.read(min(left, _READ_BYTES))
                if not d:
                    break
                newlines += d.count(b"\n")
                left -= len(d)
    return lo, max(lo, hi), newlines


def number_ranges(ranges: list[tuple[int, int, int]]) -> list[Span]:
    """``line_range`` results of one file's consecutive nominal ranges, in order, as Spans: each
    range's first line is 1 + the newlines of the ranges before it."""
    out, seen = [], 0
    for lo, hi, newlines in ranges:
        out.append(Span(lo, hi, seen + 1))
        seen += newlines
    return out


def _jsonl_item(path: str, n: int, line: bytes, stats: ReadStats) -> RawItem:
    text = _decode(line, stats)
    try:
        return path, n, text, json.loads(text), None
    except json.JSONDecodeError as e:
        return path, n, text, None, f"invalid JSON: {e.msg} at column {e.colno}"


def _jsonl_fast(block: _Block, fields: dict[str, str]) -> pa.Table | None:
    """Parse a block with Arrow's multithreaded JSON reader, or None when any line needs the
    careful per-line path (invalid JSON, a non-object, a field of another type, bad UTF-8)."""
    if not len(block):
        return None
    data = np.frombuffer(block.buf, np.uint8)
    if not (data[block.starts] == ord("{")).all():
        return None
    # The block's bytes as they are in the file: Arrow skips the blank lines and "\r" between.
    buf = pa.py_buffer(block.buf[int(block.starts[0]) : int(block.ends[-1])])
    paths = list(dict.fromkeys(fields.values()))
    schema = _nested_schema(paths)
    try:
        t = pajson.read_json(
            pa.BufferReader(buf),
            read_options=pajson.ReadOptions(block_size=max(1 << 20, buf.size // 2 + 1)),
            parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
        t.validate(full=True)  # Arrow's reader does not check UTF-8; the careful path decodes it
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if t.num_rows != len(block):
        return None
    return t if all("." not in p for p in paths) else _flatten_paths(t, paths)


def _nested_schema(paths: list[str]) -> pa.Schema:
    """The explicit JSON schema for the fields we read: a string column per plain name and, per
    dotted path (``source.name``), the literal key as a string column and the nested objects as
    structs down to a string leaf."""
    tree: dict = {}
    for p in paths:
        tree[p] = pa.string()
        if "." in p:
            node = tree
            parts = p.split(".")
            for part in parts[:-1]:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = node[part] = {}
                node = nxt
            node.setdefault(parts[-1], pa.string())

    def typ(v):
        return v if isinstance(v, pa.DataType) else pa.struct([(k, typ(x)) for k, x in v.items()])

    return pa.schema([(k, typ(v)) for k, v in tree.items()])


def _flatten_paths(t: pa.Table, paths: list[str]) -> pa.Table:
    """Per dotted path, one string column named by the path: the literal key when the record has it,
    else the value the path reaches through nested objects (null when it reaches nothing)."""
    cols = {}
    for p in paths:
        col = t.column(p).combine_chunks()
        if "." in p:
            parts = p.split(".")
            nested = t.column(parts[0]).combine_chunks()
            for part in parts[1:]:
                nested = pc.struct_field(nested, part)
            col = pc.coalesce(col, nested)
        cols[p] = col
    return pa.table(cols)


def field_value(obj: dict, path: str):
    """``obj[path]`` when the record has that key, else the value the dotted path (``source.name``)
    reaches through nested objects (Parquet structs read as dicts too); None when it reaches nothing."""
    if path in obj or "." not in path:
        return obj.get(path)
    v = obj
    for part in path.split("."):
        if not isinstance(v, dict):
            return None
        v = v.get(part)
    return v


def record_limit(max_body_bytes: int) -> int:
    """The largest CSV record read whole: a body of ``max_body_bytes`` with every byte a doubled
    quote (2 bytes per byte) plus 1 MiB for the record's other fields. A larger record cannot hold
    an acceptable body, so it is skipped while streaming instead of being held in memory."""
    return 2 * max_body_bytes + (1 << 20)


_EOL = re.compile(rb"\r\n|\r|\n")
_CSV_PIECE = 1 << 20  # bytes read from a CSV file at a time


class _TooLarge(Exception):
    """A CSV record grew past ``record_limit`` while it was being read."""


class _CsvLines:
    """The lines of a CSV file for ``csv.reader``, read and decoded one at a time, never more than
    ``limit`` bytes of one record: past that, ``__next__`` raises ``_TooLarge`` and ``skip_record``
    reads on to the record's end without keeping it. A record ends at a line end outside quotes
    (an even count of ``"`` since it began: quotes inside a quoted field come doubled). A line ends
    at "\\r\\n", "\\n" or a lone "\\r" (old Mac files), as in universal-newline text. Each line is
    UTF-8, else cp1252, else latin-1 (``stats.reencoded`` counts the file once); a byte-order mark
    at the start is dropped."""

    def __init__(self, fh, limit: int, stats: ReadStats):
        self.fh, self.limit, self.stats = fh, limit, stats
        self.size = self.quotes = 0  # bytes and quote characters of the record being read
        self.first, self.reencoded = True, False
        self.head = b""  # the record's first bytes, for its reject's raw text
        self.piece = b""  # the line that made the record too large
        self.buf, self.pos, self.scanned, self.eof = bytearray(), 0, 0, False

    def _line(self, cap: int) -> bytes:
        """The next line with its end, or its first ``cap`` bytes when it is longer; b"" at the end."""
        while True:
            m = _EOL.search(self.buf, max(self.pos, self.scanned))
            # A "\r" closing the buffer may be the first half of a "\r\n" still unread.
            if m and (m.end() < len(self.buf) or self.eof or m.group() != b"\r"):
                if m.end() - self.pos <= cap:
                    line = bytes(self.buf[self.pos:m.end()])
                    self.pos = m.end()
                    return line
            if len(self.buf) - self.pos > cap or (self.eof and not m):
                line = bytes(self.buf[self.pos:self.pos + cap])
                self.pos += len(line)
                return line
            self.scanned = max(len(self.buf) - 1, self.pos) - self.pos
            del self.buf[:self.pos]
            self.pos = 0
            more = self.fh.read(_CSV_PIECE)
            self.buf += more
            self.eof = not more

    def __iter__(self):
        return self

    def __next__(self) -> str:
        b = self._line(self.limit + 1)
        if not b:
            raise StopIteration
        if self.first:
            self.first = False
            b = b.removeprefix(b"\xef\xbb\xbf")
        if not self.size:
            self.head = b[:_SKIPPED_PREFIX]
        self.size += len(b)
        self.quotes += b.count(b'"')
        if self.size > self.limit:
            self.piece = b
            raise _TooLarge()
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            if not self.reencoded:
                self.reencoded = True
                self.stats.reencoded += 1
            try:
                return b.decode("cp1252")
            except UnicodeDecodeError:
                return b.decode("latin-1")

    def record_done(self) -> None:
        self.size = self.quotes = 0

    def skip_record(self) -> tuple[bytes, int]:
        """Read on, one line (of at most 1 MiB) at a time, to the end of the record that grew too
        large: the record's first bytes (for the reject's raw text) and its size in bytes."""
        head, b = self.head, self.piece
        self.piece = b""
        while not (b.endswith((b"\n", b"\r")) and self.quotes % 2 == 0):
            b = self._line(1 << 20)
            if not b:
                break
            self.size += len(b)
            self.quotes += b.count(b'"')
        size = self.size
        self.record_done()
        return head, size


def _csv_items(f: InputFile, stats: ReadStats, max_body_bytes: int) -> Iterator[RawItem]:
    """The records of a CSV file, streamed: a record larger than ``record_limit(max_body_bytes)``
    is rejected "body too large" with its record number and skipped unread (see ``_CsvLines``)."""
    limit = record_limit(max_body_bytes)
    # The csv module's own cap (128 Ki characters by default, process-wide) would turn an acceptable
    # long body into an "invalid CSV row"; the byte count above is the cap that matters.
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)
    too_large = f"body too large: a record of {{}} bytes, over input.max_body_bytes={max_body_bytes} (skipped unread)"
    with _open_binary(f.path) as fh:
        src = _CsvLines(fh, limit, stats)
        reader = csv.reader(src)
        try:
            header = next(reader)
        except StopIteration:
            return
        except _TooLarge:
            head, size = src.skip_record()
            yield f.path, 1, head.decode("utf-8", "replace"), None, f"invalid CSV header: a line of {size} bytes"
            return
        except csv.Error as e:
            yield f.path, 1, "", None, f"invalid CSV header: {e}"
            return
        src.record_done()
        n = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except _TooLarge:
                n += 1
                head, size = src.skip_record()
                yield f.path, n, head.decode("utf-8", "replace"), None, too_large.format(size)
                continue
            except csv.Error as e:
                n += 1
                src.record_done()
                yield f.path, n, "", None, f"invalid CSV row: {e}"
                continue
            src.record_done()
            n += 1
            raw = ",".join(row)
            if len(row) != len(header):
                yield f.path, n, raw, None, f"CSV row has {len(row)} fields, header has {len(header)}"
                continue
            yield f.path, n, raw, dict(zip(header, row)), None


def _parquet_items(f: InputFile, stats: ReadStats) -> Iterator[RawItem]:
    # Arrow opens a local path itself; an object is handed over as fsspec's file (ranged reads).
    with _open_raw(f.path) if is_object_store(f.path) else contextlib.nullcontext(f.path) as src:
        try:
            pf = pq.ParquetFile(src)
        except Exception as e:  # noqa: BLE001
            yield f.path, 0, "", None, f"unreadable Parquet file: {e}"
            return
        n = 0
        for batch in pf.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                n += 1
                yield f.path, n, "", row, None


# Bytes a text page may hold besides its body (the headline line) and still be read whole.
_TEXT_EXTRA = 1 << 20


def _text_items(f: InputFile, stats: ReadStats, outlet: str | None, max_body_bytes: int) -> Iterator[RawItem]:
    """One record per text page (first line the headline, the rest the body). A page larger than
    ``max_body_bytes`` plus ``_TEXT_EXTRA`` is rejected "body too large" unread: its stored size
    decides for a plain file, at most that many bytes are read of a ``.gz`` one."""
    p = Path(f.path)
    limit = max_body_bytes + _TEXT_EXTRA
    too_large = f"body too large: a page of over {limit} bytes, over input.max_body_bytes={max_body_bytes} (skipped unread)"
    if not f.path.lower().endswith(".gz") and f.bytes > limit:
        yield f.path, 1, "", None, too_large
        return
    with _open_binary(f.path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        yield f.path, 1, "", None, too_large
        return
    text = _decode(data, stats)
    headline, _, body = text.lstrip("\ufeff").partition("\n")
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    obj = {"id": os.path.splitext(name)[0], "headline": headline.strip(), "body": body, "outlet": outlet or p.parent.name}
    yield f.path, 1, text, obj, None


def iter_items(files: list[InputFile], settings: InputSettings, stats: ReadStats) -> Iterator[RawItem]:
    for f in files:
        if f.format == "jsonl":
            for block, err in _jsonl_blocks(f, 10_000):
                for n, line in block.lines():
                    yield _jsonl_item(f.path, n, line, stats)
                if err:
                    yield f.path, block.next_record(), "", None, err
        elif f.format == "csv":
            yield from _csv_items(f, stats, settings.max_body_bytes)
        elif f.format == "parquet":
            yield from _parquet_items(f, stats)
        else:
            yield from _text_items(f, stats, settings.outlet, settings.max_body_bytes)


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


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(cache=True, nogil=True)
def _ids_add(table, keys, store, offs, n, data, offsets, check):
    """Look up each checked string (in order) in an open-addressing table of the strings seen so
    far (``keys``: their hashes; ``store``/``offs``: their bytes, compared in full on a hash hit).
    Returns the index of the earlier equal string per row (-1: new, and added) and the new count."""
    mask = np.uint64(table.shape[0] - 1)
    m = offsets.shape[0] - 1
    first = np.full(m, -1, np.int64)
    for i in range(m):
        if not check[i]:
            continue
        s = offsets[i]
        size = offsets[i + 1] - s
        h = _FNV_OFFSET
        for q in range(size):
            h = (h ^ np.uint64(data[s + q])) * _FNV_PRIME
        j = h & mask
        while True:
            t = table[j]
            if t < 0:
                table[j] = n
                keys[n] = h
                o = offs[n]
                store[o : o + size] = data[s : s + size]
                offs[n + 1] = o + size
                n += 1
                break
            if keys[t] == h and offs[t + 1] - offs[t] == size:
                o = offs[t]
                same = True
                for q in range(size):
                    if store[o + q] != data[s + q]:
                        same = False
                        break
                if same:
                    first[i] = t
                    break
            j = (j + np.uint64(1)) & mask
    return first, n


@numba.njit(cache=True, nogil=True)
def _ids_rehash(table, keys, n):
    mask = np.uint64(table.shape[0] - 1)
    for t in range(n):
        j = keys[t] & mask
        while table[j] >= 0:
            j = (j + np.uint64(1)) & mask
        table[j] = t


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if a.shape[0] >= need:
        return a
    out = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    out[: a.shape[0]] = a
    return out


class SeenIds:
    """The story ids accepted so far in the batch and where each was first seen: a hash table in
    compiled code, so that checking a chunk of ids for duplicates takes no Python per id."""

    def __init__(self):
        self.table = np.full(1 << 12, -1, np.int64)
        self.keys = np.empty(1 << 11, np.uint64)
        self.store = np.empty(1 << 16, np.uint8)
        self.offs = np.zeros((1 << 11) + 1, np.int64)
        self.source = np.empty(1 << 11, np.int32)
        self.record = np.empty(1 << 11, np.int64)
        self.sources: list[str] = []
        self._source_index: dict[str, int] = {}
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def add(self, ids: pa.Array, check: np.ndarray, sources: list[str], records: np.ndarray) -> np.ndarray:
        """For each id with ``check`` set, in order: the index of its first occurrence when it was
        seen before (a duplicate), else -1 and it is remembered with its source and record (under
        the next index: ``numbers`` turns the result into every row's index)."""
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        data, offsets = string_buffers(ids.cast(pa.large_string()) if ids.type != pa.string() else ids)
        m = len(ids)
        need = self.n + m
        self.keys = _grow(self.keys, need)
        self.offs = _grow(self.offs, need + 1)
        self.source = _grow(self.source, need)
        self.record = _grow(self.record, need)
        self.store = _grow(self.store, int(self.offs[self.n]) + int(offsets[-1] - offsets[0]))
        if 2 * need > self.table.shape[0]:
            size = self.table.shape[0]
            while 2 * need > size:
                size *= 2
            self.table = np.full(size, -1, np.int64)
            _ids_rehash(self.table, self.keys, self.n)
        before = self.n
        first, self.n = _ids_add(self.table, self.keys, self.store, self.offs, self.n, data, offsets,
                                 np.ascontiguousarray(check, dtype=np.bool_))
        added = np.flatnonzero(np.asarray(check, bool) & (first < 0))
        idx = np.array([self._source_id(sources[i]) for i in added] if len(sources) != 1 else
                       [self._source_id(sources[0])] * len(added), np.int32)
        self.source[before : self.n] = idx
        self.record[before : self.n] = np.asarray(records)[added]
        return first

    @staticmethod
    def numbers(first: np.ndarray, check: np.ndarray, before: int) -> np.ndarray:
        """int64 per row: the index of its id (equal for every row of one id), from what ``add``
        returned for a table when the table held ``before`` ids; -1 where ``check`` was unset."""
        out = np.asarray(first, np.int64).copy()
        new = np.flatnonzero(np.asarray(check, bool) & (out < 0))
        out[new] = before + np.arange(new.size)
        return out

    def _source_id(self, source: str) -> int:
        k = self._source_index.get(source)
        if k is None:
            k = self._source_index[source] = len(self.sources)
            self.sources.append(os.path.basename(source))
        return k

    def where(self, k: int) -> str:
        """"file:record" of the first occurrence of id number ``k``."""
        return f"{self.sources[self.source[k]]}:{self.record[k]}"


class Validator:
    """Turns raw items into record columns and reject rows; remembers the ids seen in the batch."""

    def __init__(self, settings: InputSettings, raw_max_chars: int, stats: ReadStats, keep_repeats: bool = False):
        self.fields = {name: settings.fields.get(name, name) for name in ("id", "body", "outlet", "url", "headline", "published_at")}
        self.default_outlet = settings.outlet
        self.max_body = settings.max_body_bytes
        self.zones = settings.time_zones
        self.raw_max = raw_max_chars
        self.stats = stats
        self.seen = SeenIds()
        # Repeats of an id kept (numbered by ``ID_NUMBER``) for the night to choose the latest
        # version (``dedup.stages.versions``), instead of rejected here as the first one wins.
        self.keep_repeats = keep_repeats

    def reject(self, rejects: list, source: str, record: int, story_id: str | None, reason: str, raw: str) -> None:
        self.stats.rejected += 1
        self.stats.reasons[reason.split(":")[0]] += 1
        rejects.append((source, record, story_id, reason, raw[: self.raw_max] if raw else raw))

    def columns(self, source: str, block: _Block, t: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Vectorized checks of a block Arrow parsed as string columns (same rules as ``chunk``)."""
        return _columns_impl(self, source, block, t)

    def chunk(self, items: list[RawItem]) -> tuple[pa.Table, pa.Table]:
        rows: list[tuple] = []  # (item, source, record, raw, sid, body, obj) passing every check but the last
        rejects: list[tuple] = []
        at: list[int] = []  # item of each reject, to keep rejects in input order
        F = self.fields
        for k, (source, record, raw, obj, err) in enumerate(items):
            self.stats.records += 1
            n_rej = len(rejects)
            if err is not None:
                self.reject(rejects, source, record, None, err, raw)
            elif not isinstance(obj, dict):
                self.reject(rejects, source, record, None, f"record is not an object (got {type(obj).__name__})", raw)
            else:
                if not raw:
                    raw = json.dumps(obj, default=str, ensure_ascii=False)[: self.raw_max]
                sid, why = _as_id(field_value(obj, F["id"]))
                body = field_value(obj, F["body"])
                if why:
                    self.reject(rejects, source, record, None, f"{why} (field '{F['id']}')", raw)
                elif not isinstance(body, str):
                    what = "missing body" if body is None else f"body is not a string (got {type(body).__name__})"
                    self.reject(rejects, source, record, sid, f"{what} (field '{F['body']}')", raw)
                else:
                    body = _as_text(body)
                    if not body.strip():
                        self.reject(rejects, source, record, sid, "empty body", raw)
                    elif len(body) > self.max_body and len(body.encode("utf-8")) > self.max_body:
                        self.reject(rejects, source, record, sid,
                                    f"body too large: over input.max_body_bytes={self.max_body}", raw)
                    else:
                        rows.append((k, source, record, raw, sid, body, obj))
            at.extend([k] * (len(rejects) - n_rej))
        # Duplicate ids last: against every id accepted before, in this chunk or an earlier one.
        before = len(self.seen)
        first = self.seen.add(pa.array([r[4] for r in rows], pa.string()), np.ones(len(rows), bool),
                              [r[1] for r in rows], np.array([r[2] for r in rows], np.int64))
        if self.keep_repeats:
            numbers = SeenIds.numbers(first, np.ones(len(rows), bool), before)
        else:
            for (k, source, record, raw, sid, _, _), f in zip(rows, first):
                if f >= 0:
                    self.reject(rejects, source, record, sid, duplicate_id(self.seen.where(f)), raw)
                    at.append(k)
            rows = [r for r, f in zip(rows, first) if f < 0]
        table = pa.table(
            {
                "source": pa.array([r[1] for r in rows], pa.string()),
                "record": pa.array([r[2] for r in rows], pa.int64()),
                "story_id": pa.array([r[4] for r in rows], pa.string()),
                "outlet": pa.array([_as_text(field_value(r[6], F["outlet"])) or self.default_outlet for r in rows],
                                   pa.string()),
                "url": pa.array([_as_text(field_value(r[6], F["url"])) for r in rows], pa.string()),
                "headline": pa.array([_as_text(field_value(r[6], F["headline"])) for r in rows], pa.string()),
                "published_at": parse_dates([_date_value(field_value(r[6], F["published_at"])) for r in rows], self.stats,
                                            self.zones),
                "body": pa.array([r[5] for r in rows], pa.large_string()),
            }
        )
        if self.keep_repeats:
            table = table.append_column(ID_NUMBER, pa.array(numbers, pa.int64()))
        self.stats.accepted += table.num_rows
        order = np.argsort(np.array(at, np.int64), kind="stable")
        rej = pa.Table.from_pylist(
            [dict(zip(REJECT_SCHEMA.names, rejects[i])) for i in order], schema=REJECT_SCHEMA
        )
        return table, rej


def _blank(body: pa.Array) -> np.ndarray:
    """Bodies that are empty or only whitespace (Arrow's Unicode trim). Only a body whose first
    byte is a control, a space or non-ASCII can be: the rest skip the trim, which copies text."""
    data, offs = string_buffers(body)
    first = data[np.minimum(offs[:-1], data.shape[0] - 1)]
    maybe = np.flatnonzero((offs[1:] == offs[:-1]) | (first <= 0x20) | (first >= 0x7F))
    out = np.zeros(len(body), bool)
    if maybe.size:
        sub = pc.take(body, pa.array(maybe)).fill_null("")
        out[maybe] = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(sub)), 0).to_numpy(zero_copy_only=False)
    return out


def _columns_impl(v: "Validator", source: str, block: _Block, t: pa.Table) -> tuple[pa.Table, pa.Table]:
    F = v.fields
    n = t.num_rows
    v.stats.records += n
    ids = pc.utf8_trim_whitespace(t.column(F["id"]).combine_chunks())
    body = t.column(F["body"]).combine_chunks()

    def mask(a: pa.Array) -> np.ndarray:
        return a.fill_null(False).to_numpy(zero_copy_only=False)

    # The first rule a record breaks is its reason (same order as Validator.chunk).
    rules = [
        (mask(pc.is_null(ids)), f"missing id (field '{F['id']}')"),
        (mask(pc.equal(ids, "")), f"empty id (field '{F['id']}')"),
        (mask(pc.is_null(body)), f"missing body (field '{F['body']}')"),
        (_blank(body), "empty body"),
        (mask(pc.greater(pc.binary_length(body.fill_null("")), v.max_body)),
         f"body too large: over input.max_body_bytes={v.max_body}"),
    ]
    rule = np.zeros(n, np.int8)  # 0: fine so far, k: broke rules[k - 1]
    for k, (m, _) in enumerate(rules, 1):
        rule[(rule == 0) & m] = k
    before = len(v.seen)
    first = v.seen.add(ids, rule == 0, [source], block.numbers)
    dup = (first >= 0) & (not v.keep_repeats)
    ok = (rule == 0) & ~dup
    rejects = []
    for i in np.flatnonzero(~ok):
        why = rules[rule[i] - 1][1] if rule[i] else duplicate_id(v.seen.where(first[i]))
        v.reject(rejects, source, int(block.numbers[i]), ids[i].as_py(), why, block.line(i).decode("utf-8", "replace"))
    all_ok = bool(ok.all())
    g = t if all_ok else t.filter(pa.array(ok))
    lines_ok = block.numbers if all_ok else block.numbers[ok]

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
            "story_id": ids if all_ok else ids.filter(pa.array(ok)),
            "outlet": outlet,
            "url": col("url"),
            "headline": col("headline"),
            "published_at": parse_dates(col("published_at"), v.stats, v.zones),
            "body": (body if all_ok else body.filter(pa.array(ok))).cast(pa.large_string()),
        }
    )
    if v.keep_repeats:
        numbers = SeenIds.numbers(first, rule == 0, before)
        table = table.append_column(ID_NUMBER, pa.array(numbers if all_ok else numbers[ok], pa.int64()))
    v.stats.accepted += table.num_rows
    rej = pa.Table.from_pylist([dict(zip(REJECT_SCHEMA.names, r)) for r in rejects], schema=REJECT_SCHEMA)
    return table, rej


# Named zones read as RFC 822 defines them (UT, GMT, Z and the US zones) plus abbreviations that name
# one zone only. Ambiguous ones (IST: India, Israel or Ireland; BST; AST...) are unreadable unless
# ``input.time_zones`` says what they mean: a date is never read in a guessed zone. Hours east of UTC.
NAMED_ZONES: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "PKT": 5, "NPT": 5.75, "WIB": 7, "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8, "JST": 9, "KST": 9,
    "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
    "HST": -10, "AKST": -9, "AKDT": -8,
}

# A date ending in a zone name ("... 18:30:00 EST", "... 10:42 PM (IST)").
_ZONE_NAME_RE = re.compile(r"^(.*\d.*?)\s*\(?([A-Za-z]{1,5})\)?\s*$")
# Unix epoch seconds, milliseconds or microseconds, as a number or a string of digits.
_EPOCH = r"^\s*\d{9,17}(?:\.\d+)?\s*$"
# Epoch values are taken as dates only between these (UTC), so that a stray id or count is not.
_EPOCH_RANGE = ("1990-01-01", "2100-01-01")


def _offset(hours: float) -> str:
    sign = "-" if hours < 0 else "+"
    m = round(abs(hours) * 60)
    return f"{sign}{m // 60:02d}{m % 60:02d}"


def _date_value(v) -> str | None:
    """A published_at value as text for ``parse_dates``: a typed timestamp (Parquet, an aware or naive
    datetime; naive is UTC) or date as ISO 8601, numbers as their digits, strings as they are."""
    import datetime as _dt

    if isinstance(v, _dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=_dt.timezone.utc)).isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return _as_text(v)


def parse_dates(values, stats: ReadStats, zones: dict[str, str] | None = None) -> pa.Array:
    """Feed dates to UTC timestamps (``timestamp[us, UTC]``); unreadable ones become null and are
    counted in ``stats.bad_dates``.

    Read: ISO 8601 with any offset (naive times as UTC); typed timestamp columns as they are; RFC 822 /
    RSS ``pubDate`` with a numeric offset or a zone name (``NAMED_ZONES``, plus ``zones``: the
    configured ``input.time_zones``, abbreviation -> ``+HH:MM``); Unix epoch seconds, milliseconds or
    microseconds (number or string, 1990-2100); other common forms through pandas' parser. A zone
    name not known here makes the date unreadable rather than read in a guessed zone.

    Arrow parses the usual case (every value ISO 8601 with an offset or Z) in one vectorized cast;
    the rest go through pandas, vectorized per form.
    """
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_timestamp(arr.type):
        return (arr if arr.type.tz else pc.assume_timezone(arr, "UTC")).cast(pa.timestamp("us", tz="UTC"))
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pa.array([_date_value(v) for v in arr.to_pylist()], pa.string())
    try:
        return arr.cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    import pandas as pd  # deferred: a quarter second to import, and feeds with ISO dates never need it

    s = pd.Series(arr.to_pylist(), dtype="object").str.strip()
    given = s.notna() & (s != "")
    parsed = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601").astype("datetime64[us, UTC]")
    retry = parsed.isna() & given
    epoch = retry & s.str.match(_EPOCH).fillna(False).astype(bool)
    if epoch.any():
        v = pd.to_numeric(s[epoch], errors="coerce")
        unit_scale = np.where(v < 1e11, 1e6, np.where(v < 1e14, 1e3, 1.0))  # to microseconds
        us = (v * unit_scale).round()
        lo, hi = (pd.Timestamp(x, tz="UTC").value // 1000 for x in _EPOCH_RANGE)
        ok = (us >= lo) & (us < hi)
        parsed[epoch] = pd.to_datetime(us.where(ok).astype("float64"), unit="us", utc=True)
    retry = parsed.isna() & given & ~epoch
    if retry.any():
        table = {k.upper(): _offset(h) for k, h in NAMED_ZONES.items()}
        table.update({k.upper(): v.replace(":", "") for k, v in (zones or {}).items()})
        index, text = [], []
        for i, value in s[retry].items():
            m = _ZONE_NAME_RE.match(value)
            if m and m.group(2).upper() not in ("AM", "PM"):
                off = table.get(m.group(2).upper())
                if off is None:
                    continue  # an unknown or ambiguous zone name: unreadable, never a guessed zone
                value = f"{m.group(1)} {off}"
            index.append(i)
            text.append(value)
        if text:
            parsed[index] = pd.to_datetime(pd.Series(text, dtype="object"), utc=True, errors="coerce",
                                           format="mixed").astype("datetime64[us, UTC]").to_numpy()
    stats.bad_dates += int((parsed.isna() & given).sum())
    return pa.array(parsed.astype("datetime64[us, UTC]"), pa.timestamp("us", tz="UTC"))


def _item_bytes(item: RawItem) -> int:
    """About the bytes an item holds: the characters of its parsed record's text fields, else of its raw text."""
    obj = item[3]
    if isinstance(obj, dict):
        return sum(len(v) for v in obj.values() if isinstance(v, str))
    return len(item[2])


def read_chunks(
    files: list[InputFile], settings: InputSettings, raw_max_chars: int, chunk_size: int, stats: ReadStats,
    span: Span | None = None, chunk_bytes: int | None = None, keep_repeats: bool = False,
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield (records, rejects) tables of at most ``chunk_size`` items each and, with ``chunk_bytes``,
    of about that many bytes of input at most (one item always): 20,000 whole HTML pages are ~3.5 GB.

    JSONL blocks that parse cleanly go through Arrow's JSON reader and vectorized checks; a
    block with anything odd in it is read line by line, so every bad line gets its own reason.
    ``span``: read only that byte range of the one uncompressed JSONL file in ``files`` (records
    numbered as in the whole file; ids checked for duplicates within the range only).

    A record whose id an earlier record had is rejected (``duplicate id: first seen at ...``), or,
    with ``keep_repeats``, kept: every records table then has an int64 ``ID_NUMBER`` column, equal
    for the records of one id across the whole read, for the caller to choose one
    (``dedup.stages.versions.latest``).
    """
    if span is not None and (len(files) != 1 or files[0].format != "jsonl"):
        raise ValueError("a span is a byte range of one JSONL file")
    v = Validator(settings, raw_max_chars, stats, keep_repeats)
    for f in files:
        if f.format != "jsonl":
            buf: list[RawItem] = []
            held = 0
            for item in iter_items([f], settings, stats):
                size = _item_bytes(item) if chunk_bytes is not None else 0
                if buf and chunk_bytes is not None and held + size > chunk_bytes:
                    yield v.chunk(buf)
                    buf, held = [], 0
                buf.append(item)
                held += size
                if len(buf) >= chunk_size:
                    yield v.chunk(buf)
                    buf, held = [], 0
            if buf:
                yield v.chunk(buf)
            continue
        for block, err in _jsonl_blocks(f, chunk_size, line_limit(settings.max_body_bytes), span, chunk_bytes):
            if block.skipped:
                yield v.chunk([(f.path, n, prefix.decode("utf-8", "replace"), None,
                                f"body too large: a line of {nbytes} bytes, over input.max_body_bytes="
                                f"{settings.max_body_bytes} (skipped unread)") for n, prefix, nbytes in block.skipped])
            fast = _jsonl_fast(block, v.fields) if err is None else None
            if fast is not None:
                yield v.columns(f.path, block, fast)
                continue
            items = [_jsonl_item(f.path, n, line, stats) for n, line in block.lines()]
            if err:
                items.append((f.path, block.next_record(), "", None, err))
            if items:
                yield v.chunk(items)


# Checksums of local files already taken this process, by (path, size, mtime): the same-input check
# takes them before the night and the manifest needs them after it. Objects read front to back by
# the reader, by (url,) (``_HashingReader``).
_SHA256_SEEN: dict[tuple, str] = {}


def sha256_file(path: str) -> str:
    """Hex sha256 of the file's stored bytes (a .gz as compressed), on disk or at an object-store URL.
    A local file unchanged since its last checksum in this process (same size and mtime) is not read
    again."""
    key = None
    if is_object_store(str(path)) and (str(path),) in _SHA256_SEEN:
        return _SHA256_SEEN[(str(path),)]
    if "://" not in str(path):
        st = os.stat(path)
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key in _SHA256_SEEN:
            return _SHA256_SEEN[key]
    h = hashlib.sha256()
    with _open_raw(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if key is not None:
        _SHA256_SEEN[key] = h.hexdigest()
    return h.hexdigest()
