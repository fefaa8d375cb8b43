"""Language of each story: py3langid's model (shipped inside the package), scored in compiled code.

py3langid (a maintained fork of langid.py, Lui & Baldwin 2012) is a multinomial naive Bayes classifier
over byte n-gram features, 142 labels, ISO 639 codes ("en", "zh", "ar" ...; "zxx" for text without
linguistic content, such as a table of figures). Its model file ships in the wheel
(``py3langid/data/model.npz.xz``); nothing is downloaded.

The package walks its feature automaton in a Python loop, byte by byte: about 0.5 ms a story on a
200-character sample, 5 s for 10,000 stories on this machine, more than the rest of cleaning. This
module loads the package's own model once and runs the same computation (automaton walk, log1p of
feature counts times the per-class table, plus the class priors, argmax) in numba over Arrow buffers;
labels equal ``LanguageIdentifier.classify`` of the same bytes (``tests/stages/test_language.py``). Like
the package, a sample whose letters are all capitals is lowercased first. Both halves of the work wait
on memory (the automaton is 78 MB, the per-class table 57 MB), so four walks run side by side and a
block of samples reads each table row once (``_walk``, ``_classify``): 200,000 distinct 300-character
samples take ~2.8 s of one core (~7 s walking and scoring one sample at a time), 8,405 samples of real
pages in 25 languages 0.16 s (0.73 s); the model takes ~1 s once per process to unpack (kept unpacked
in dedup's cache folder for the next run, 135 MB).

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
    moves: np.ndarray  # uint64 per (automaton row, byte): next row's offset << 32 | (next state's feature + 1)
    start: np.ndarray  # int64 (1,): the offset of the start state's row in ``moves``
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
# every run, on the core the input is being read with. The file name carries py3langid's version and
# a hash of its model file's bytes, so every install of one version shares one file (a name from the
# file's mtime, as before, left 97 MB behind for each new virtualenv) and another version writes its
# own. Files of earlier formats are removed when the current one is written.
_CACHE_FORMAT = 2  # 2: the automaton as ``moves``
_FIELDS = ("moves", "start", "ptc", "pc", "labels")


def _cache_path(model_file: Path) -> Path | None:
    """Where the unpacked copy of ``model_file`` lives (None: no writable cache folder)."""
    import hashlib
    from importlib.metadata import version

    from dedup._startup import choose_cache_dir

    folder, _ = choose_cache_dir(os.environ, "language")
    try:
        digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:16]  # 4.5 MB: ~10 ms
    except OSError:
        return None  # py3langid's own load says what is missing
    if folder is None:
        return None
    return Path(folder) / f"py3langid-{version('py3langid')}-{digest}-v{_CACHE_FORMAT}.npz"


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
    return LangModel(a["moves"], a["start"], a["ptc"], a["pc"], a["labels"].astype(object))


def _write_cached(path: Path, m: LangModel) -> None:
    """Keep ``m`` at ``path``: written to a temporary file and renamed, so that a reader never sees
    half a file; a failure to write only loses the cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, moves=m.moves, start=m.start, ptc=m.ptc, pc=m.pc,
                     labels=m.labels.astype(str))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return
    for fmt in range(1, _CACHE_FORMAT):
        for old in path.parent.glob(f"py3langid-*-v{fmt}.npz"):
            old.unlink(missing_ok=True)  # no version of dedup that reads this folder's format reads them


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
    nextmove = np.asarray(ident.tk_nextmove, np.int64)  # the state entered on (row, byte)
    rowbase = np.asarray(ident._rowbase, np.int64)  # per state, its row's offset (rows are shared)
    output = np.asarray(ident.tk_output, np.int64)  # per state, the feature it emits (-1: none)
    if rowbase.max() + 256 > 2**32 or output.max() + 1 >= 2**32:
        raise ValueError("py3langid's model is too large for dedup's 32-bit automaton offsets")
    # One load per byte instead of two dependent ones (the next state, then its row's offset): each
    # entry holds the next state's row offset and the feature entering it emits.
    moves = (rowbase[nextmove].astype(np.uint64) << np.uint64(32)) | (output[nextmove] + 1).astype(np.uint64)
    return LangModel(
        moves=moves,
        start=np.array([rowbase[0]], np.int64),
        ptc=np.ascontiguousarray(np.asarray(ident.nb_ptc, np.float32)),
        pc=np.asarray(ident.nb_pc, np.float32),
        labels=np.array(ident.nb_classes, dtype=object),
    )


# Samples scored together: their feature rows are read once per block in ascending order, and a
# block's scores (BLOCK x 142 float32, 2.3 MB) stay in cache. Blocks of 2,048 to 16,384 samples
# take the same time. A block also ends at BLOCK_BYTES of samples (one sample at least): its scratch
# arrays take 20 bytes per byte of sample, and ``language.sample_chars`` may be up to 100,000.
BLOCK = 4096
BLOCK_BYTES = 4 << 20
_SHIFT = np.uint64(32)
_LOW = np.uint64(0xFFFFFFFF)


@numba.njit(cache=True, nogil=True)
def _walk(data, offsets, d0, d1, moves, start, feats, nfeat):
    """The features each of samples ``d0 .. d1`` emits, in text order: sample d's go to ``feats``
    from ``offsets[d] - offsets[d0]`` (at most one a byte), ``nfeat[d - d0]`` of them. Four samples
    are walked side by side: each step of one walk waits on a table read, so four independent walks
    keep four reads in flight (2.2x on 200,000 distinct samples against one walk at a time)."""
    base = offsets[d0]
    for g in range(d0, d1, 4):
        lanes = min(4, d1 - g)
        # Unused lanes walk an empty range.
        e0 = offsets[g + 1]
        e1 = offsets[g + 2] if lanes > 1 else offsets[g + 1]
        e2 = offsets[g + 3] if lanes > 2 else offsets[g + 1]
        e3 = offsets[g + 4] if lanes > 3 else offsets[g + 1]
        p0 = offsets[g]
        p1 = offsets[g + 1] if lanes > 1 else e1
        p2 = offsets[g + 2] if lanes > 2 else e2
        p3 = offsets[g + 3] if lanes > 3 else e3
        w0, w1, w2, w3 = p0 - base, p1 - base, p2 - base, p3 - base
        s0 = s1 = s2 = s3 = start
        common = min(e0 - p0, e1 - p1, e2 - p2, e3 - p3)
        for _ in range(common):
            v0 = moves[s0 + data[p0]]
            v1 = moves[s1 + data[p1]]
            v2 = moves[s2 + data[p2]]
            v3 = moves[s3 + data[p3]]
            s0, s1, s2, s3 = np.int64(v0 >> _SHIFT), np.int64(v1 >> _SHIFT), np.int64(v2 >> _SHIFT), np.int64(v3 >> _SHIFT)
            f0, f1, f2, f3 = np.int64(v0 & _LOW), np.int64(v1 & _LOW), np.int64(v2 & _LOW), np.int64(v3 & _LOW)
            # Written whether or not a feature was emitted (no branch to mispredict); a slot moves on
            # only past a feature, so a -1 is overwritten or lies past the sample's count.
            feats[w0], feats[w1], feats[w2], feats[w3] = f0 - 1, f1 - 1, f2 - 1, f3 - 1
            w0, w1, w2, w3 = w0 + (f0 > 0), w1 + (f1 > 0), w2 + (f2 > 0), w3 + (f3 > 0)
            p0 += 1
            p1 += 1
            p2 += 1
            p3 += 1
        # The rest of the longer walks, one at a time.
        for lane in range(lanes):
            if lane == 0:
                p, e, st, w = p0, e0, s0, w0
            elif lane == 1:
                p, e, st, w = p1, e1, s1, w1
            elif lane == 2:
                p, e, st, w = p2, e2, s2, w2
            else:
                p, e, st, w = p3, e3, s3, w3
            while p < e:
                v = moves[st + data[p]]
                st = np.int64(v >> _SHIFT)
                f = np.int64(v & _LOW)
                if f:
                    feats[w] = f - 1
                    w += 1
                p += 1
            nfeat[g + lane - d0] = w - (offsets[g + lane] - base)


@numba.njit(cache=True, nogil=True)
def _classify(data, offsets, moves, start, ptc, prior):
    """Best class per string (int64, -1 when it has no feature), py3langid's naive Bayes: the class
    priors plus, for each distinct feature of the string, log1p(its count) times the feature's row of
    ``ptc``; argmax. Strings are scored a block at a time: the (feature, string) pairs of a block are
    sorted by feature (a counting sort), so each row of ``ptc`` (57 MB in all) is read once per block,
    in order, instead of once per string in text order: 2x on strings of distinct features. Each
    string's sum runs over its features in ascending order whatever the block, so its label depends
    on its bytes alone."""
    n = offsets.shape[0] - 1
    k = prior.shape[0]
    nf = ptc.shape[0]
    out = np.full(n, -1, np.int64)
    # Block boundaries: BLOCK samples, fewer where they would pass BLOCK_BYTES.
    ends = np.empty(n + 1, np.int64)
    nb = 0
    most = 1
    d0 = 0
    while d0 < n:
        d1 = d0 + 1
        while d1 < n and d1 - d0 < BLOCK and offsets[d1 + 1] - offsets[d0] <= BLOCK_BYTES:
            d1 += 1
        most = max(most, offsets[d1] - offsets[d0])
        ends[nb] = d1
        nb += 1
        d0 = d1
    feats = np.empty(most, np.int32)
    nfeat = np.zeros(BLOCK, np.int64)
    pair_f = np.empty(most, np.int32)
    pair_s = np.empty(most, np.int32)
    pair_w = np.empty(most, np.float32)
    sort_s = np.empty(most, np.int32)
    sort_w = np.empty(most, np.float32)
    count = np.zeros(nf, np.int32)
    first = np.zeros(nf + 1, np.int64)  # counting sort: pairs per feature, then where each feature's pairs start
    score = np.empty((BLOCK, k), np.float32)
    for b in range(nb):
        d0 = ends[b - 1] if b else 0
        d1 = ends[b]
        _walk(data, offsets, d0, d1, moves, start[0], feats, nfeat)
        npair = 0
        lo, hi = nf, -1
        for d in range(d0, d1):
            at = offsets[d] - offsets[d0]
            m0 = npair
            for j in range(at, at + nfeat[d - d0]):
                f = feats[j]
                if count[f] == 0:
                    pair_f[npair] = f
                    npair += 1
                count[f] += 1
            for j in range(m0, npair):
                f = pair_f[j]
                pair_s[j] = d - d0
                pair_w[j] = np.float32(np.log1p(np.float32(count[f])))
                count[f] = 0
                first[f] += 1
                lo = min(lo, f)
                hi = max(hi, f)
        if npair == 0:
            continue
        acc = 0
        for f in range(lo, hi + 1):
            c = first[f]
            first[f] = acc
            acc += c
        for j in range(npair):
            f = pair_f[j]
            at = first[f]
            first[f] = at + 1
            sort_s[at] = pair_s[j]
            sort_w[at] = pair_w[j]
        for s in range(d1 - d0):
            score[s, :] = prior
        # first[f] is now where feature f's pairs end: walk the features in order again.
        j = 0
        for f in range(lo, hi + 1):
            end = first[f]
            first[f] = 0
            while j < end:
                s = sort_s[j]
                w = sort_w[j]
                for c in range(k):
                    score[s, c] += w * ptc[f, c]
                j += 1
        for s in range(d1 - d0):
            if nfeat[s] > 0:
                out[d0 + s] = np.argmax(score[s])
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
    return LangModel(m.moves, m.start, np.ascontiguousarray(m.ptc[:, cols]), m.pc[cols], m.labels[cols])


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
    best = _classify(*string_buffers(values), m.moves, m.start, m.ptc, m.pc)[index]
    labels = pa.array(list(m.labels), pa.string())
    idx = pa.array(np.where(best >= 0, best, 0), pa.int64())
    out = pc.take(labels, idx)
    return pc.if_else(pa.array(best >= 0), out, pa.scalar(None, pa.string()))
