"""Story bodies as Arrow columns of lines: split, measure and join back, without Python loops.

Cleaning works line by line (a scraped page puts each paragraph and each piece of chrome on a
line of its own). ``Lines`` is the flat view: one row per non-empty line, with the row of the
story it came from, in order. What cleaning asks of a line (its words, whether it ends a
sentence, whether it is a bullet, its identity key) comes from one compiled pass over the
Arrow buffers (``_line_stats``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.stages.text.normalize import string_buffers
from dedup.stages.text.scripts import CP_CLASS, CP_LEADS, CP_WEIGHT, WORD_UNITS

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(inline="always")
def _is_space(c):
    return c == 32 or c == 9 or c == 10 or c == 13


# One thread, without the GIL: cleaning already runs a chunk per worker thread, and a parallel
# kernel launched from each of them only added thread hand-offs.
def _lead_table() -> np.ndarray:
    lead = np.zeros(256, np.bool_)
    lead[CP_LEADS] = True
    return lead


# Passed to the kernel as arguments, not read as globals, so numba's cache follows the tables.
_SCRIPT_TABLES = (_lead_table(), CP_CLASS, CP_WEIGHT, np.int64(WORD_UNITS))


def _line_stats(data, offsets):
    """``_line_stats_kernel`` with the script tables of ``dedup.stages.text.scripts``."""
    return _line_stats_kernel(data, offsets, *_SCRIPT_TABLES)


@numba.njit(inline="always")
def _is_sentence_end(data, s, p):
    """Whether the character ending at byte p ends a sentence: . ! ? or 。！？ ؟ । ॥ ။ ។."""
    c = data[p]
    if c == 46 or c == 33 or c == 63:
        return True
    if p - 1 >= s and data[p - 1] == 0xD8 and c == 0x9F:  # ؟
        return True
    if p - 2 < s:
        return False
    a, b = data[p - 2], data[p - 1]
    return ((a == 0xE3 and b == 0x80 and c == 0x82)  # 。
            or (a == 0xEF and b == 0xBC and (c == 0x81 or c == 0x9F or c == 0x8E))  # ！ ？ ．
            or (a == 0xE0 and b == 0xA5 and (c == 0xA4 or c == 0xA5))  # । ॥
            or (a == 0xE1 and b == 0x81 and c == 0x8B)  # ။
            or (a == 0xE1 and b == 0x9F and c == 0x94))  # ។


@numba.njit(cache=True, nogil=True)
def _line_stats_kernel(data, offsets, leads, cps, weights, word_units):
    """Per line: word count, sentence ending, bullet start, and a key hash.

    Words are runs between spaces; characters of scripts written without spaces
    (``dedup.stages.text.scripts``: Han, kana, Thai ...) count ``weights[cp]`` units each,
    ``word_units`` units a word (rounded), and their punctuation separates words.

    The key ignores ASCII case, collapses runs of digits to one "0" and runs of spaces to one
    space, so "Last Updated : Sep 02 2016 | 10:42 PM" recurs across stories as one line.
    A sentence ends in . ! or ? (optionally followed by closing quotes or brackets), or in a
    closing quote. Bullets: • · ▪ ► ◦ * + > - at the start, or a number and "." or ")" ("1. ").
    """
    n = offsets.shape[0] - 1
    words = np.zeros(n, np.int64)
    ends = np.zeros(n, np.bool_)
    bullet = np.zeros(n, np.bool_)
    key = np.zeros(n, np.uint64)
    for i in range(n):
        s = offsets[i]
        e = offsets[i + 1]
        h = _FNV_OFFSET
        w = 0
        in_word = False
        prev_digit = False
        prev_space = False
        units = 0
        skip = 0
        for p in range(s, e):
            c = data[p]
            if skip > 0:  # the rest of a character of a script without spaces (see below)
                skip -= 1
                h = (h ^ np.uint64(c)) * _FNV_PRIME
                continue
            # one comparison for ASCII bytes; a character is decoded only after a lead byte of a script table
            if c >= 0xC0 and leads[c]:
                nb = 3 if c >= 0xF0 else (2 if c >= 0xE0 else 1)  # continuation bytes after the lead
                k = 0
                if p + nb < e:
                    cp = np.int64(c) & (0x07 if nb == 3 else (0x0F if nb == 2 else 0x1F))
                    for q in range(p + 1, p + nb + 1):
                        cp = (cp << 6) | (np.int64(data[q]) & 0x3F)
                    k = cps[cp] if 0 <= cp < cps.shape[0] else 0
                if k != 0:
                    # a separator, or a character counted in units: either way it ends a word
                    units += np.int64(weights[cp])
                    in_word = False
                    prev_digit = False
                    prev_space = False
                    skip = nb
                    h = (h ^ np.uint64(c)) * _FNV_PRIME
                    continue
            if _is_space(c):
                in_word = False
                prev_digit = False
                if not prev_space:
                    h = (h ^ np.uint64(32)) * _FNV_PRIME
                prev_space = True
                continue
            prev_space = False
            if not in_word:
                w += 1
                in_word = True
            if 48 <= c <= 57:
                if not prev_digit:
                    h = (h ^ np.uint64(48)) * _FNV_PRIME
                prev_digit = True
                continue
            prev_digit = False
            if 65 <= c <= 90:
                c += 32
            h = (h ^ np.uint64(c)) * _FNV_PRIME
        words[i] = w + (units + word_units // 2) // word_units
        key[i] = h
        if e > s:
            c0 = data[s]
            if c0 == 42 or c0 == 43 or c0 == 45 or c0 == 62:  # * + - >
                bullet[i] = True
            elif 48 <= c0 <= 57:  # a numbered item: "1. ", "12) "
                q = s + 1
                if q < e and 48 <= data[q] <= 57:
                    q += 1
                if q + 1 < e and (data[q] == 46 or data[q] == 41) and data[q + 1] == 32:
                    bullet[i] = True
            elif e - s >= 2 and c0 == 0xC2 and data[s + 1] == 0xB7:  # ·
                bullet[i] = True
            elif e - s >= 3 and c0 == 0xE2 and (
                (data[s + 1] == 0x80 and data[s + 2] == 0xA2)  # •
                or (data[s + 1] == 0x96 and (data[s + 2] == 0xAA or data[s + 2] == 0xBA))  # ▪ ►
                or (data[s + 1] == 0x97 and data[s + 2] == 0xA6)  # ◦
            ):
                bullet[i] = True
            # Sentence end: skip closing quotes/brackets from the end, then look for . ! ?
            p = e - 1
            quote = False
            while p >= s:
                c = data[p]
                if c == 34 or c == 39 or c == 41 or c == 93:  # " ' ) ]
                    quote = quote or c == 34 or c == 39
                    p -= 1
                elif p - 2 >= s and data[p - 2] == 0xE2 and data[p - 1] == 0x80 and (c == 0x9D or c == 0x99):  # ” ’
                    quote = True
                    p -= 3
                elif p - 2 >= s and data[p - 2] == 0xE3 and data[p - 1] == 0x80 and (c == 0x8D or c == 0x8F):  # 」』
                    quote = True
                    p -= 3
                else:
                    break
            # ". ! ?" before any closing marks, or a line that ends in a closing quote (speech).
            if (p >= s and _is_sentence_end(data, s, p)) or quote:
                ends[i] = True
    return words, ends, bullet, key


@numba.njit(cache=True, nogil=True)
def _first_of_ids(ids, n_ids):
    """(positions in ``ids`` of the first occurrence of each id, in order; per position, the rank of
    its id among those firsts), int64: one pass, ids below ``n_ids``."""
    slot = np.full(n_ids, -1, np.int64)
    first = np.empty(ids.shape[0], np.int64)
    inverse = np.empty(ids.shape[0], np.int64)
    m = 0
    for j in range(ids.shape[0]):
        s = slot[ids[j]]
        if s < 0:
            s = m
            slot[ids[j]] = m
            first[m] = j
            m += 1
        inverse[j] = s
    return first[:m], inverse


@numba.njit(cache=True, nogil=True)
def _line_starts(data, offsets, story, line_data, line_offsets):
    """Where each line begins in its story's text: ``(starts, found)``, ``starts`` int64 byte
    offsets from the story's first byte (``data``/``offsets``: the stories' UTF-8 buffers;
    ``story``: each line's story row, non-decreasing; ``line_data``/``line_offsets``: the lines').

    A line is looked for from where the story's previous line ended: what lies between is
    whitespace and newlines, and a trimmed line begins with a character that is neither, so the
    first match is the line itself. ``found`` is False if a line is not in its story (the lines
    were not split from these texts)."""
    n = story.size
    starts = np.zeros(n, np.int64)
    prev = -1
    cursor = 0
    for j in range(n):
        s = story[j]
        if s != prev:
            prev = s
            cursor = offsets[s]
        a = line_offsets[j]
        m = line_offsets[j + 1] - a
        end = offsets[s + 1]
        p = cursor
        found = -1
        while p + m <= end:
            if m == 0 or data[p] == line_data[a]:
                # Slices, and no early exit: numba then vectorizes the comparison (10x faster than
                # indexing data[p + k], whose negative-index check it cannot hoist). The whitespace
                # before a line fails on its first byte, so a full comparison is rarely wasted.
                x = data[p : p + m]
                y = line_data[a : a + m]
                diff = 0
                for k in range(m):
                    diff |= x[k] ^ y[k]
                if diff == 0:
                    found = p
                    break
            p += 1
        if found < 0:
            return starts, False
        starts[j] = found - offsets[s]
        cursor = found + m
    return starts, True


@numba.njit(cache=True, nogil=True)
def _gather_lines(data, offsets, story, start, out_offsets, out):
    """Write the lines' bytes one after the other into ``out`` (uint8, ``out_offsets[-1]`` of them):
    line ``j`` is ``out_offsets[j+1] - out_offsets[j]`` bytes of story ``story[j]`` from its byte
    ``start[j]``."""
    for j in range(story.size):
        src = offsets[story[j]] + start[j]
        a = out_offsets[j]
        b = out_offsets[j + 1]
        out[a:b] = data[src : src + (b - a)]


def _lines_array(typ: pa.DataType, data: np.ndarray, offsets: np.ndarray, story: np.ndarray, start: np.ndarray,
                 length: np.ndarray) -> pa.Array:
    """The lines (``_gather_lines``) as an Arrow array of type ``typ`` (string or large_string), their
    bytes in a buffer of Arrow's memory pool, as the chunk's other text buffers are."""
    out_offsets = np.zeros(story.size + 1, np.int64)
    np.cumsum(length, out=out_offsets[1:])
    buf = pa.allocate_buffer(int(out_offsets[-1]))
    _gather_lines(data, offsets, story, start, out_offsets, np.frombuffer(buf, np.uint8))
    wide = typ in (pa.large_string(), pa.large_binary())
    return pa.Array.from_buffers(typ, story.size,
                                 [None, pa.py_buffer(out_offsets if wide else out_offsets.astype(np.int32)), buf])


def without_prefix(strings: pa.Array, nbytes: np.ndarray) -> pa.Array:
    """Each string of ``strings`` (string or large_string; a null reads as "") without its first
    ``nbytes[i]`` bytes (int64, one per string, on a character boundary; more than the string holds
    leaves it empty), in one compiled copy: Arrow's slicing kernels take one start for all rows."""
    data, offsets = string_buffers(strings)
    size = np.diff(offsets)
    start = np.minimum(np.asarray(nbytes, np.int64), size)
    return _lines_array(strings.type, data, offsets, np.arange(len(strings), dtype=np.int64), start, size - start)


@dataclass
class Lines:
    text: pa.Array | None  # the line, whitespace-trimmed (None: measurements only, ``from_table``)
    story: np.ndarray  # int64 row of the story in its chunk
    n_stories: int
    _stats: tuple | None = field(default=None, repr=False)
    # Per line, an id shared by the lines of equal text (int64, below ``_n_ids``): what lets a per-line
    # computation run once per distinct line (``per_distinct``); None until first asked for.
    _ids: np.ndarray | None = field(default=None, repr=False)
    _n_ids: int = field(default=0, repr=False)

    @staticmethod
    def split(bodies: pa.Array) -> "Lines":
        if isinstance(bodies, pa.ChunkedArray):
            bodies = bodies.combine_chunks()
        parts = pc.split_pattern(bodies.fill_null(""), "\n")
        flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
        story = pc.list_parent_indices(parts).to_numpy().astype(np.int64)
        keep = pc.greater(pc.binary_length(flat), 0)  # bytes: no scan of the text, unlike characters
        return Lines(flat.filter(keep), story[keep.to_numpy(zero_copy_only=False)], len(bodies))

    def to_table(self, bodies: pa.Array | None = None) -> pa.Table:
        """The lines, their measurements and distinct-line ids as one table (for a work file);
        ``from_table`` back.

        With ``bodies`` (the texts these lines were split from, ``split(bodies)``), a line is kept
        as where it lies in its story (``start``, int64 byte offset from the story's first byte;
        ``length``, int32 bytes) instead of as text: the work file then holds the text once, in
        the stories' own spill, and is about a third of the size (12 against 32 MB for 20,000
        builder stories). Lines not found in ``bodies`` are kept as text."""
        words, ends, bullet, key = self._line_stats()
        cols = {"text": self.text}
        if bodies is not None:
            data, offsets = string_buffers(bodies)
            line_data, line_offsets = string_buffers(self.text)
            starts, found = _line_starts(data, offsets, self.story, line_data, line_offsets)
            if found:
                cols = {"start": starts, "length": np.diff(line_offsets).astype(np.int32)}
        return pa.table({**cols, "story": self.story, "words": words, "ends": ends, "bullet": bullet,
                         "key": key, "line_id": self.distinct_ids()})

    @staticmethod
    def from_table(t: pa.Table, n_stories: int, bodies: pa.Array | pa.ChunkedArray | None = None) -> "Lines":
        """The lines of a ``to_table`` table. A table of positions needs the same ``bodies`` it
        was written with to give the lines' text; without them ``text`` is None: the lines'
        stories and measurements only (what learning chrome reads), and ``filter`` and
        ``of_stories`` still work."""
        def col(name):
            return t.column(name).combine_chunks()

        def np_col(name):
            return col(name).to_numpy(zero_copy_only=False)

        story = np_col("story")
        text = None
        if "text" in t.column_names:
            text = col("text")
        elif bodies is not None:
            text = _lines_array(bodies.type, *string_buffers(bodies), story, np_col("start"), np_col("length"))
        out = Lines(text, story, n_stories, (np_col("words"), np_col("ends"), np_col("bullet"), np_col("key")))
        if "line_id" in t.column_names:
            out._ids = np_col("line_id")
            out._n_ids = int(out._ids.max()) + 1 if out._ids.size else 0
        return out

    def _line_stats(self) -> tuple:
        if self._stats is None:
            # Measured once per distinct line: a chunk's copies of a story repeat most of their lines.
            self._stats = self.per_distinct(lambda t: _line_stats(*string_buffers(t)))
        return self._stats

    def distinct_ids(self) -> np.ndarray:
        """Per line (int64, below ``_n_ids``): two lines with the same id have the same text. Computed
        once (Arrow's ``dictionary_encode``: equal texts share an id), then carried by ``filter`` and
        ``with_text``, which gives each changed line an id of its own."""
        if self._ids is None:
            text = self.text.combine_chunks() if isinstance(self.text, pa.ChunkedArray) else self.text
            enc = pc.dictionary_encode(text, null_encoding="encode")  # a null is its own value
            self._ids = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            self._n_ids = len(enc.dictionary)
        return self._ids

    def distinct_rows(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(first, inverse)`` over the lines at ``rows`` (int64 indices; default all): ``first``, the
        line index of the first of each distinct id among them, in order; ``inverse`` (int64, one
        per row), the position in ``first`` of the row's text, so ``text[first][inverse]`` equals
        ``text[rows]``. One compiled pass over ``distinct_ids``, no hashing of the text."""
        ids = self.distinct_ids()
        rows = np.arange(len(ids), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        first, inverse = _first_of_ids(ids[rows], self._n_ids)
        return rows[first], inverse

    def per_distinct(self, fn, rows: np.ndarray | None = None, min_ratio: float = 1.5):
        """``fn(text[rows])`` (``rows``: int64 line indices, default all) computed on one line of each
        distinct text and spread back: ``fn`` takes an Arrow string array and returns, per string,
        an Arrow array, a numpy array or a tuple of numpy arrays, and must compute each string's
        value from that string alone. Runs ``fn`` on all the rows when they hold fewer than
        ``min_ratio`` rows a distinct text (spreading back would not pay)."""
        if rows is not None and not len(rows):
            return fn(self.text.slice(0, 0))
        first, inverse = self.distinct_rows(rows)
        n = len(self.text) if rows is None else len(rows)
        if len(first) * min_ratio > n:
            return fn(self.text if rows is None else pc.take(self.text, pa.array(rows)))
        got = fn(pc.take(self.text, pa.array(first)))
        if isinstance(got, tuple):
            return tuple(a[inverse] for a in got)
        if isinstance(got, np.ndarray):
            return got[inverse]
        return got.take(pa.array(inverse))

    def key_hash(self) -> np.ndarray:
        """What makes two lines "the same line": case, digits and spacing ignored (uint64)."""
        return self._line_stats()[3]

    def words(self) -> np.ndarray:
        return self._line_stats()[0]

    def is_headline_bullet(self) -> np.ndarray:
        """A bulleted line with no sentence ending: an item of a list of other headlines."""
        words, ends, bullet, _ = self._line_stats()
        return bullet & ~ends & (words <= 15)

    def is_prose(self) -> np.ndarray:
        """A sentence of the story rather than a label, price, bullet, menu item or button."""
        words, ends, bullet, _ = self._line_stats()
        return ~bullet & (((words >= 3) & ends) | (words >= 20))

    def at_most_chars(self, limit: int) -> np.ndarray:
        """Lines of at most ``limit`` characters. A line of at most that many bytes is; only the
        longer ones have their characters counted."""
        out = (pc.binary_length(self.text).to_numpy(zero_copy_only=False) <= limit)
        longer = np.flatnonzero(~out)
        if len(longer):
            out[longer] = pc.utf8_length(pc.take(self.text, pa.array(longer))).to_numpy(zero_copy_only=False) <= limit
        return out

    def with_text(self, text: pa.Array, changed: np.ndarray) -> "Lines":
        """These lines with ``text`` instead, which differs from theirs only at rows ``changed``:
        the measurements of the other lines are kept, not computed again."""
        out = Lines(text, self.story, self.n_stories)
        if self._ids is not None:
            # A changed line gets an id of its own (equal texts among them are then not shared: few lines).
            out._ids = self._ids.copy()
            out._ids[changed] = self._n_ids + np.arange(len(changed), dtype=np.int64)
            out._n_ids = self._n_ids + len(changed)
        if self._stats is not None:
            stats = tuple(a.copy() for a in self._stats)
            if len(changed):
                new = _line_stats(*string_buffers(pc.take(text, pa.array(changed))))
                for a, b in zip(stats, new):
                    a[changed] = b
            out._stats = stats
        return out

    def filter(self, mask: np.ndarray) -> "Lines":
        text = self.text.filter(pa.array(mask)) if self.text is not None else None
        out = Lines(text, self.story[mask], self.n_stories)
        if self._ids is not None:
            out._ids, out._n_ids = self._ids[mask], self._n_ids  # ids need not be dense
        if self._stats is not None:
            out._stats = tuple(a[mask] for a in self._stats)
        return out

    def of_stories(self, keep: np.ndarray) -> "Lines":
        """The lines of the stories where ``keep`` (bool, one per story) is set, the stories
        numbered again in order (as ``records.filter(keep)`` numbers its rows)."""
        renumber = np.cumsum(keep) - 1
        out = self.filter(keep[self.story])
        out.story = renumber[out.story]
        out.n_stories = int(keep.sum())
        return out

    def join(self) -> pa.Array:
        """One string per story: its remaining lines joined with newlines ("" when none left)."""
        counts = np.bincount(self.story, minlength=self.n_stories)
        offsets = np.zeros(self.n_stories + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        text = self.text.cast(pa.large_string())
        lists = pa.LargeListArray.from_arrays(pa.array(offsets), text)
        return pc.binary_join(lists, pa.scalar("\n", pa.large_string()))

    def count_per_story(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.story[mask], minlength=self.n_stories)
