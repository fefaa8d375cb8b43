"""Language of each story: py3langid's model (shipped inside the package), scored in compiled code.

py3langid (a maintained fork of langid.py, Lui & Baldwin 2012) is a multinomial naive Bayes classifier
over byte n-gram features, 142 labels, ISO 639 codes ("en", "zh", "ar" ...; "zxx" for text without
linguistic content, such as a table of figures). Its model file ships in the wheel
(``py3langid/data/model.npz.xz``); nothing is downloaded.

The package walks its feature automaton in a Python loop, byte by byte: about 0.5 ms a story on a
200-character sample, 5 s for 10,000 stories on this machine, more than the rest of cleaning; here 10,000
300-character samples take about 0.3 s of CPU (0.2 s with ``language.labels`` of 17 languages), plus
about 1 s once per process to unpack the model (97 MB; kept unpacked in dedup's cache folder for the
next run). This module
loads the package's own model once and runs the same computation (automaton walk, log1p of feature
counts times the per-class table, plus the class priors, argmax) in numba over Arrow buffers; labels
equal ``LanguageIdentifier.classify`` of the same bytes (``tests/stages/test_language.py``). Like the
package, a sample whose letters are all capitals is lowercased first.

Only the first ``sample_chars`` characters of the cleaned body are read: a few sentences decide the
language of a news story, and the cost stays flat in the story length.
"""
from __future__ import annotations

import functools
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.stages.text.normalize import distinct, string_buffers


@dataclass(frozen=True)
class LangModel:
    nextmove: np.ndarray  # uint32, flattened 256-wide transition rows
    rowbase: np.ndarray  # int64 per state: offset of its row in nextmove
    output: np.ndarray  # int32 per state: feature index, -1 for none
    ptc: np.ndarray  # float32 (features, classes) log P(feature | class)
    pc: np.ndarray  # float32 (classes,) log prior
    labels: np.ndarray  # object (classes,) ISO 639 code per column


_LOCK = threading.Lock()


def model() -> LangModel:
    """py3langid's shipped model as numpy arrays, loaded once per process: from dedup's cache folder
    (~0.1 s), else unpacked from the package (~1 s: LZMA-compressed, 97 MB unpacked) and kept there
    for the next run; the clean stage's worker threads wait for the one load."""
    with _LOCK:
        return _load()


# The unpacked arrays, kept in dedup's cache folder (``dedup._startup.choose_cache_dir``) as an
# uncompressed .npz: reading it takes ~0.1 s where unpacking the shipped model takes ~1 s of CPU,
# every run, on the core the input is being read with. The file name carries the model file's size
# and mtime and py3langid's version, so another install or version writes its own file.
_CACHE_FORMAT = 1
_FIELDS = ("nextmove", "rowbase", "output", "ptc", "pc", "labels")


def _cache_path(model_file: Path) -> Path | None:
    """Where the unpacked copy of ``model_file`` lives (None: no writable cache folder)."""
    from importlib.metadata import version

    from dedup._startup import choose_cache_dir

    folder, _ = choose_cache_dir(os.environ, "language")
    try:
        st = model_file.stat()
    except OSError:
        return None  # py3langid's own load says what is missing
    if folder is None:
        return None
    return Path(folder) / f"py3langid-{version('py3langid')}-{st.st_size}-{st.st_mtime_ns}-v{_CACHE_FORMAT}.npz"


def _read_cached(path: Path) -> LangModel | None:
    """The model kept at ``path``, or None when it is absent or does not read whole (a cache never
    stops a run: the caller unpacks the shipped model again)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if set(z.files) != set(_FIELDS):
                return None
            a = {f: z[f] for f in _FIELDS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    return LangModel(a["nextmove"], a["rowbase"], a["output"], a["ptc"], a["pc"], a["labels"].astype(object))


def _write_cached(path: Path, m: LangModel) -> None:
    """Keep ``m`` at ``path``: written to a temporary file and renamed, so that a reader never sees
    half a file; a failure to write only loses the cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, nextmove=m.nextmove, rowbase=m.rowbase, output=m.output, ptc=m.ptc, pc=m.pc,
                     labels=m.labels.astype(str))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


@functools.lru_cache(maxsize=1)
def _load() -> LangModel:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    model_file = Path(MODEL_DIR) / MODEL_FILE  # as py3langid resolves it (MODEL_FILE is relative)
    cache = _cache_path(model_file)
    m = _read_cached(cache) if cache is not None else None
    if m is None:
        m = _unpack(model_file)
        if cache is not None:
            _write_cached(cache, m)
    return m


def _unpack(model_file) -> LangModel:
    """py3langid's shipped model file (LZMA-compressed) as numpy arrays."""
    from py3langid.langid import LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(model_file)
    return LangModel(
        nextmove=np.asarray(ident.tk_nextmove, np.uint32),
        rowbase=np.asarray(ident._rowbase, np.int64),
        output=np.asarray(ident.tk_output, np.int32),
        ptc=np.ascontiguousarray(np.asarray(ident.nb_ptc, np.float32)),
        pc=np.asarray(ident.nb_pc, np.float32),
        labels=np.array(ident.nb_classes, dtype=object),
    )


@numba.njit(cache=True, nogil=True)
def _classify(data, offsets, nextmove, rowbase, output, ptc, prior):
    """Best class per string (-1 when it has no feature). Feature counts go to one scratch array
    (reset after each string) instead of a sort per string."""
    n = offsets.shape[0] - 1
    k = prior.shape[0]
    out = np.full(n, -1, np.int64)
    count = np.zeros(ptc.shape[0], np.int32)
    seen = np.empty(max(offsets[n] - offsets[0], 1), np.int64)
    score = np.empty(k, np.float32)
    for d in range(n):
        m = 0
        state = 0
        for p in range(offsets[d], offsets[d + 1]):
            state = nextmove[rowbase[state] + data[p]]
            f = output[state]
            if f >= 0:
                if count[f] == 0:
                    seen[m] = f
                    m += 1
                count[f] += 1
        if m == 0:
            continue
        score[:] = prior
        for i in range(m):
            row = seen[i]
            w = np.float32(np.log1p(np.float32(count[row])))
            count[row] = 0
            for c in range(k):
                score[c] += w * ptc[row, c]
        out[d] = np.argmax(score)
    return out


@functools.lru_cache(maxsize=8)
def _restricted(labels: tuple[str, ...] | None) -> LangModel:
    """The model with only the columns of ``labels`` (py3langid's ``set_languages``). Raises
    ValueError naming a code the model does not know."""
    m = model()
    if labels is None:
        return m
    unknown = sorted(set(labels) - set(m.labels))
    if unknown:
        raise ValueError(f"language.labels: unknown code(s) {unknown}; the model knows {', '.join(sorted(set(m.labels)))}")
    cols = np.flatnonzero(np.isin(m.labels, list(labels)))
    return LangModel(m.nextmove, m.rowbase, m.output, np.ascontiguousarray(m.ptc[:, cols]), m.pc[cols], m.labels[cols])


def detect(texts: pa.Array, sample_chars: int, labels: list[str] | None = None) -> pa.Array:
    """ISO 639 code of each text's language (string; null for null, empty or featureless text),
    from its first ``sample_chars`` characters; only ``labels`` (ISO codes) when given."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not len(texts):
        return pa.array([], pa.string())
    sample = pc.utf8_slice_codeunits(texts.fill_null(""), 0, sample_chars)
    upper = pc.utf8_is_upper(sample).to_numpy(zero_copy_only=False)
    if upper.any():
        rows = np.flatnonzero(upper)
        from dedup.stages.text.normalize import replace_rows

        sample = replace_rows(sample, rows, pc.utf8_lower(pc.take(sample, pa.array(rows))))
    m = _restricted(tuple(sorted(set(labels))) if labels else None)
    # Copies of a story share their opening: each distinct sample is scored once (the label is a
    # function of the sample's bytes alone).
    values, index = distinct(sample)
    best = _classify(*string_buffers(values), m.nextmove, m.rowbase, m.output, m.ptc, m.pc)[index]
    labels = pa.array(list(m.labels), pa.string())
    idx = pa.array(np.where(best >= 0, best, 0), pa.int64())
    out = pc.take(labels, idx)
    return pc.if_else(pa.array(best >= 0), out, pa.scalar(None, pa.string()))
