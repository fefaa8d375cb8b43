"""What runs on Spark executors: the project's own stage code, one Arrow batch at a time.

Each function here takes an iterator of ``pyarrow.RecordBatch`` and yields batches in the Spark
schema named beside it (``mapInArrow``). They import nothing from Spark, so the tests call
them directly. Spark has no unsigned integers: 64-bit hashes travel as int64 with the same bits
(``as_signed``); a story's shingle set and signature (uint32 runs) travel as one binary value
(``packed``).

Tables that mix kinds of rows (``kind``: record / reject / stats, story / empty / chrome_line /
timing) let one pass over the text produce everything that pass knows, instead of two passes.
"""
from __future__ import annotations

import json
import time
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.schemas import CANONICALS_SCHEMA, CHROME_REPORTS_SCHEMA, MEMBERS_SCHEMA, spark_ddl
from dedup.stages.cluster import member_scores as member_relation
from dedup.stages.reasons import EMPTIED, WALL_ONLY
from dedup.stages.tables import cluster_id

I64 = pa.int64()
TS = pa.timestamp("us", tz="UTC")

READ_FIELDS = [
    ("kind", pa.string()), ("file_idx", pa.int32()), ("source", pa.string()), ("record", I64),
    ("story_id", pa.string()), ("outlet", pa.string()), ("url", pa.string()), ("headline", pa.string()),
    ("published_at", TS), ("text", pa.string()), ("was_html", pa.bool_()), ("body_source", pa.string()),
    ("published_at_source", pa.string()), ("reason", pa.string()),
    ("raw", pa.string()), ("stats", pa.string()),
]
READ_DDL = ("kind string, file_idx int, source string, record long, story_id string, outlet string, url string, "
            "headline string, published_at timestamp, text string, was_html boolean, body_source string, "
            "published_at_source string, reason string, raw string, "
            "stats string")

CLEAN_FIELDS = [
    ("kind", pa.string()), ("file_idx", pa.int32()), ("source", pa.string()), ("record", I64),
    ("story_id", pa.string()), ("outlet", pa.string()), ("url", pa.string()), ("headline", pa.string()),
    ("published_at", TS), ("was_html", pa.bool_()), ("body_source", pa.string()),
    ("published_at_source", pa.string()), ("body_clean", pa.string()), ("agency", pa.string()),
    ("dateline", pa.string()), ("language", pa.string()), ("words", I64), ("chrome_lines_removed", I64),
    ("text_hash", I64),
    ("headline_hash", I64), ("n_shingles", I64), ("signature", pa.binary()), ("shingles", pa.binary()),
    ("numbers", pa.binary()), ("numbers_known", pa.bool_()), ("reason", pa.string()), ("raw", pa.string()), ("line", pa.string()), ("stories", I64),
    ("seconds", pa.float64()), ("fp_seconds", pa.float64()), ("kept_keys", pa.binary()), ("removed_keys", pa.binary()),
    ("lede", pa.binary()),
]
CLEAN_DDL = ("kind string, file_idx int, source string, record long, story_id string, outlet string, url string, "
             "headline string, published_at timestamp, was_html boolean, body_source string, published_at_source string, "
             "body_clean string, agency string, "
             "dateline string, language string, words long, chrome_lines_removed long, text_hash long, headline_hash long, "
             "n_shingles long, signature binary, shingles binary, numbers binary, numbers_known boolean, "
             "reason string, raw string, line string, stories long, seconds double, fp_seconds double, "
             "kept_keys binary, removed_keys binary, lede binary")

CHROME_DDL = "key long, stories long"
REPORTS_DDL = spark_ddl(CHROME_REPORTS_SCHEMA)
BAND_DDL = "band int, key long, node long"
SCORE_DDL = "l long, r long, match boolean, long_pair boolean, jaccard double, containment double"
OVERLAP_DDL = "s long, c long, inter long, con double"
DISJOINT_DDL = "c long, disjoint boolean"
MEMBER_DDL = "node long, label long, label_g int, similarity double, containment double, relation string"


def as_signed(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.uint64).view(np.int64)


def as_unsigned(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64).view(np.uint64)


def _batch(fields: list, cols: dict, n: int) -> pa.RecordBatch:
    """A batch in ``fields`` order; columns not given are nulls."""
    arrays = []
    for name, typ in fields:
        v = cols.get(name)
        if v is None:
            arrays.append(pa.nulls(n, typ))
        elif isinstance(v, (pa.Array, pa.ChunkedArray)):
            v = v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v
            arrays.append(v.cast(typ))
        else:
            arrays.append(pa.array(v, typ))
    return pa.RecordBatch.from_arrays(arrays, names=[f for f, _ in fields])


def packed(offsets: np.ndarray, values: np.ndarray) -> pa.Array:
    """Runs of uint32 (story i: ``values[offsets[i]:offsets[i+1]]``) as one binary value each,
    little-endian: half the bytes of Spark's array<long> in every shuffle, and no copy to build."""
    data = np.ascontiguousarray(values, dtype="<u4")
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1,
                                 [None, pa.py_buffer(np.ascontiguousarray(offsets * 4, dtype=np.int32)),
                                  pa.py_buffer(data)])


def unpacked(col) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, uint32 values) of a column written by ``packed``."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    bufs = col.buffers()
    ob = np.frombuffer(bufs[1], dtype=np.int32)[col.offset: col.offset + len(col) + 1].astype(np.int64)
    buf = bufs[2]
    vals = np.frombuffer(buf, dtype="<u4") if buf is not None and buf.size else np.empty(0, np.uint32)
    return (ob - ob[0]) // 4, vals[ob[0] // 4: ob[-1] // 4]


def lists_to_packed(col) -> pa.Array:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    offs = np.asarray(col.offsets.to_numpy(), dtype=np.int64)
    vals = pc.list_flatten(col).to_numpy().astype(np.uint32)
    return packed(offs - offs[0], vals)


def packed_to_lists(col) -> pa.Array:
    offs, vals = unpacked(col)
    return pa.ListArray.from_arrays(pa.array(offs.astype(np.int32)), pa.array(vals.astype(np.int64)))


# -- read --------------------------------------------------------------------------------------

SPAN_DDL = "file_idx int, start long, lo long, hi long, newlines long"


def line_ranges(batches: Iterator[pa.RecordBatch]):
    """Rows (file_idx, path, start, end) of nominal byte ranges of JSONL files -> (file_idx, start,
    lo, hi, newlines): the lines each owns (``dedup.stages.read.line_range``), for the driver's
    prefix sum of first line numbers (``dedup.stages.read.number_ranges``)."""
    from dedup.stages.read import line_range

    for b in batches:
        rows = [(r["file_idx"], r["start"], *line_range(r["path"], r["start"], r["end"])) for r in b.to_pylist()]
        if rows:
            yield pa.RecordBatch.from_arrays([pa.array(c, t) for c, t in zip(zip(*rows), (pa.int32(),) + (I64,) * 4)],
                                             names=["file_idx", "start", "lo", "hi", "newlines"])


def read_files(batches: Iterator[pa.RecordBatch], input_json: str, raw_max_chars: int, chunk_size: int,
               chunk_bytes: int):
    """Rows (file_idx, path, format, bytes, start, end, first_line, source) -> the records and
    rejects of those files, with HTML turned to text (``dedup.stages.read.read_chunks`` then
    ``dedup.stages.clean.prepare``, as the local engine). A row with ``start`` set is the byte range
    [start, end) of a JSONL file, its first line numbered ``first_line`` (``dedup.stages.read.Span``);
    otherwise the whole file. ``source``, when it differs from ``path`` (a local copy of a bucket
    input), is what the records' and rejects' ``source`` column says."""
    from dedup.stages import clean
    from dedup.config import InputSettings
    from dedup.stages.read import InputFile, ReadStats, Span, read_chunks
    from dedup.stages.text.pagedate import page_dates

    settings = InputSettings.model_validate_json(input_json)
    for b in batches:
        for row in b.to_pylist():
            stats = ReadStats()
            f = InputFile(row["path"], row["format"], row["bytes"])
            idx = row["file_idx"]
            span = Span(row["start"], row["end"], row["first_line"]) if row.get("start") is not None else None
            source = row.get("source") or row["path"]
            # Every record of an id is kept (the engine chooses the latest version over all readers).
            for records, rejects in read_chunks([f], settings, raw_max_chars, chunk_size, stats, span=span,
                                                chunk_bytes=chunk_bytes, keep_repeats=True):
                if source != row["path"]:
                    records, rejects = _with_source(records, source), _with_source(rejects, source)
                if rejects.num_rows:
                    cols = {c: rejects.column(c) for c in rejects.column_names}
                    yield _batch(READ_FIELDS, {**cols, "kind": ["reject"] * rejects.num_rows,
                                               "file_idx": [idx] * rejects.num_rows}, rejects.num_rows)
                if records.num_rows:
                    body = records.column("body").combine_chunks()
                    text, is_html, body_source = clean.prepare_sourced(body)
                    published_at, published_at_source = page_dates(records.column("published_at"), body, is_html,
                                                                   stats, settings.time_zones)
                    cols = {c: records.column(c) for c in records.column_names if c != "body"}
                    cols.update(published_at=published_at, published_at_source=published_at_source)
                    yield _batch(READ_FIELDS, {**cols, "kind": ["record"] * records.num_rows,
                                               "file_idx": [idx] * records.num_rows, "text": text,
                                               "was_html": is_html, "body_source": body_source}, records.num_rows)
            info = {"records": stats.records, "accepted": stats.accepted, "rejected": stats.rejected,
                    "reasons": dict(stats.reasons), "bad_dates": stats.bad_dates, "reencoded": stats.reencoded}
            yield _batch(READ_FIELDS, {"kind": ["stats"], "file_idx": [idx], "stats": [json.dumps(info)]}, 1)


def _with_source(t: pa.Table, source: str) -> pa.Table:
    """``t`` with its ``source`` column set to ``source`` (one file's rows)."""
    i = t.schema.get_field_index("source")
    return t.set_column(i, t.schema.field(i), pa.array([source] * t.num_rows, t.schema.field(i).type))


SUPERSEDED_DDL = "file_idx int, record long, reason string"


def superseded_groups(pdf, model_bc, chrome, language, shingle_size: int):
    """One ``story_id``'s records (file_idx, record, source, published_at, text, outlet, url,
    headline; a pandas frame, as ``groupBy().applyInPandas`` hands it) -> the records not kept and
    their reasons (``SUPERSEDED_DDL``), by ``dedup.stages.versions.choose`` on their texts cleaned
    with the broadcast model (``versions.cleaned``), as the local engine's ``superseded_rows``."""
    import os

    import pandas as pd

    from dedup.stages import versions
    from dedup.stages.chrome import ChromeModel

    pdf = pdf.sort_values(["file_idx", "record"], kind="stable").reset_index(drop=True)
    published = [None if pd.isna(x) else int(pd.Timestamp(x).value) for x in pdf["published_at"]]
    where = [f"{os.path.basename(s)}:{r}" for s, r in zip(pdf["source"], pdf["record"])]
    texts = ["" if pd.isna(t) else t for t in pdf["text"]]
    if len(set(texts)) == 1:  # one text: cleaning cannot change what ``choose`` gives
        _, why = versions.choose(published, texts, where, shingle_size)
    else:
        model = None
        if model_bc is not None:
            keys, counts, outlet_stories = model_bc.value
            model = ChromeModel.learned(as_unsigned(keys), counts, outlet_stories)
        table = pa.table({c: pa.Array.from_pandas(pdf[c], type=pa.string()) for c in ("text", "outlet", "url", "headline")})
        _, why = versions.choose(published, versions.cleaned(table, model, chrome, language), where, shingle_size)
    lose = [i for i, r in enumerate(why) if r is not None]
    return pd.DataFrame({"file_idx": pdf["file_idx"].iloc[lose].astype("int32").to_numpy(),
                         "record": pdf["record"].iloc[lose].astype("int64").to_numpy(),
                         "reason": [why[i] for i in lose]})


def chrome_sites(batches: Iterator[pa.RecordBatch]):
    """Records (outlet, url) -> the site each story's chrome is learned over (``chrome_outlets``;
    "" for none, as ``ChromeModel.outlet_stories`` names the pool)."""
    from dedup.stages.chrome import chrome_outlets

    for b in batches:
        yield pa.RecordBatch.from_arrays([chrome_outlets(b.column("outlet"), b.column("url")).fill_null("")],
                                         names=["outlet"])


def chrome_counts(batches: Iterator[pa.RecordBatch]):
    """Prepared records -> (outlet-line key, stories) partial counts (``ChromeModel.observe``)."""
    from dedup.stages import clean
    from dedup.stages.chrome import ChromeModel, chrome_outlets

    for b in batches:
        m = ChromeModel()
        clean.observe_chrome(m, chrome_outlets(b.column("outlet"), b.column("url")), b.column("text"))
        yield pa.RecordBatch.from_arrays([pa.array(as_signed(m.keys)), pa.array(m.stories, I64)], names=["key", "stories"])


def chrome_reports(batches: Iterator[pa.RecordBatch], known_bc, min_stories: int):
    """Prepared records -> report-sketch rows (key, q, value) of the candidate chrome keys
    (``ChromeModel.observe_reports``), given every key's story count (broadcast: keys carried by at
    least ``min_stories`` stories, sorted, with their counts)."""
    from dedup.stages import clean
    from dedup.stages.chrome import ChromeModel, chrome_outlets

    keys, stories = known_bc.value
    known = ChromeModel(as_unsigned(keys), stories)
    for b in batches:
        r = clean.observe_reports(known, chrome_outlets(b.column("outlet"), b.column("url")), b.column("text"), min_stories)
        yield pa.RecordBatch.from_arrays([pa.array(as_signed(r.key)), pa.array(r.q.astype(np.int32)),
                                          pa.array(r.value.astype(np.int64))], names=["key", "q", "value"])


# -- clean + fingerprint -----------------------------------------------------------------------

def clean_fingerprint(batches: Iterator[pa.RecordBatch], model_bc, chrome, language, dedup: dict,
                      min_body_words: int, raw_max_chars: int):
    """Prepared records -> cleaned stories with fingerprints, emptied stories (rejects), the chrome
    lines removed, and one timing row per batch (``dedup.stages.clean.finish`` + ``dedup.stages.fingerprint``).
    A story's ``numbers`` are its number sequence (``number_sequences``, packed), computed where
    ``numbers_known`` (``verify.numbers_wanted``), as the local engine's clean stage does."""
    from dedup.stages import clean, verify
    from dedup.stages.chrome import ChromeModel, chrome_outlets
    from dedup.stages.fingerprint import fingerprint, hash_strings, number_sequences

    keys, counts, outlet_stories = model_bc.value if model_bc is not None else (None, None, None)
    model = ChromeModel.learned(as_unsigned(keys), counts, outlet_stories) if keys is not None else None
    for b in batches:
        t0 = time.perf_counter()
        text = b.column("text")
        c = clean.finish(text, chrome_outlets(b.column("outlet"), b.column("url")), model, chrome, language,
                         b.column("headline"))
        ok = c.words >= max(min_body_words, 1)
        t1 = time.perf_counter()
        keep = pa.array(ok)
        fp_text = c.fp_text.filter(keep)
        fp = fingerprint(fp_text, num_perm=dedup["num_perm"], shingle_size=dedup["shingle_size"], seed=dedup["seed"],
                         lede_from=c.lede_from[ok])
        known = verify.numbers_wanted(c.words[ok], dedup["short_words"])
        numbers = number_sequences(fp_text, known)
        t2 = time.perf_counter()
        g = b.filter(keep)
        n = g.num_rows
        if n:
            sig = fp.signatures.astype(np.int64)
            cols = {name: g.column(name) for name in ("file_idx", "source", "record", "story_id", "outlet", "url",
                                                      "headline", "published_at", "was_html", "body_source",
                                                      "published_at_source")}
            cols.update({
                "kind": ["story"] * n, "body_clean": c.body_clean.filter(keep), "agency": c.agency.filter(keep),
                "dateline": c.dateline.filter(keep), "language": c.language.filter(keep), "words": c.words[ok], "chrome_lines_removed": c.chrome_lines[ok],
                "text_hash": as_signed(fp.text_hash),
                "headline_hash": as_signed(hash_strings(pc.utf8_lower(g.column("headline")))),
                "n_shingles": np.diff(fp.offsets),
                "signature": packed(np.arange(n + 1) * sig.shape[1], sig.reshape(-1)),
                "shingles": packed(fp.offsets, fp.values),
                "numbers": packed(*numbers), "numbers_known": known,
                "lede": packed(np.arange(n + 1) * fp.lede.shape[1], fp.lede.reshape(-1)),
                "kept_keys": lists_to_packed(c.kept_keys.filter(keep)),
                "removed_keys": lists_to_packed(c.removed_keys.filter(keep)),
            })
            yield _batch(CLEAN_FIELDS, cols, n)
        bad = b.filter(pa.array(~ok))
        if bad.num_rows:
            k = bad.num_rows
            yield _batch(CLEAN_FIELDS, {"kind": ["empty"] * k, "file_idx": bad.column("file_idx"),
                                        "source": bad.column("source"), "record": bad.column("record"),
                                        "story_id": bad.column("story_id"), "outlet": bad.column("outlet"),
                                        "chrome_lines_removed": c.chrome_lines[~ok],
                                        "reason": np.where(c.wall_only[~ok], WALL_ONLY, EMPTIED).tolist(),
                                        "raw": pc.utf8_slice_codeunits(bad.column("text"), 0, raw_max_chars)}, k)
        if c.removed.num_rows:
            r = c.removed
            yield _batch(CLEAN_FIELDS, {"kind": ["chrome_line"] * r.num_rows, "outlet": r.column("outlet"),
                                        "line": r.column("line"), "stories": r.column("stories")}, r.num_rows)
        # A timing row: stories in the batch, seconds cleaning and fingerprinting, and (in
        # chrome_lines_removed) the lines the learned chrome removed.
        yield _batch(CLEAN_FIELDS, {"kind": ["timing"], "stories": [b.num_rows], "seconds": [t1 - t0],
                                    "fp_seconds": [t2 - t1], "chrome_lines_removed": [c.learned_removed]}, 1)


def refingerprint_rows(batches: Iterator[pa.RecordBatch], fp: dict, stale: list[str]):
    """Window canonicals (``STATE_CANON_DDL`` plus ``night``) -> the same rows, those of the
    ``stale`` nights with signature, shingles and text hash made again from their stored body
    under this run's settings ``fp`` (``dedup.night.state.refingerprint``, as the local engine
    does for such nights)."""
    from dedup.night.state import refingerprint

    for b in batches:
        redo = np.isin(np.asarray(b.column("night").to_pylist(), dtype=object), stale)
        if not redo.any():
            yield b
            continue
        if (~redo).any():
            yield b.filter(pa.array(~redo))
        r = b.filter(pa.array(redo))
        f = refingerprint(r.column("body"), fp)
        n = r.num_rows
        new = {"signature": packed(np.arange(n + 1) * f.signatures.shape[1], f.signatures.reshape(-1)),
               "shingles": packed(f.offsets, f.values), "text_hash": pa.array(as_signed(f.text_hash))}
        yield pa.RecordBatch.from_arrays(
            [new[name].cast(r.schema.field(i).type) if name in new else r.column(i)
             for i, name in enumerate(r.schema.names)], schema=r.schema)


TEXT_LOSS_DDL = "removed long, found_kept long, examples array<string>"


def text_loss_rows(batches: Iterator[pa.RecordBatch]):
    """(label, outlet, story_id, kept_keys, removed_keys) rows of whole clusters (the input is
    partitioned by label) -> one row: ``dedup.stages.text_loss.count`` of the partition."""
    from dedup.stages import text_loss

    parts = list(batches)
    if not parts:
        return
    t = pa.Table.from_batches(parts)

    def lists(name):
        offs, vals = unpacked(t.column(name))
        return pa.LargeListArray.from_arrays(pa.array(offs), pa.array(vals, pa.uint32()))

    r = text_loss.count(pa.table({"cluster": t.column("label"), "outlet": t.column("outlet"),
                                  "story_id": t.column("story_id"), "kept_keys": lists("kept_keys"),
                                  "removed_keys": lists("removed_keys")}))
    yield pa.RecordBatch.from_pydict({"removed": [r.removed], "found_kept": [r.found_kept], "examples": [r.examples]},
                                     schema=pa.schema([("removed", I64), ("found_kept", I64),
                                                       ("examples", pa.list_(pa.string()))]))


# -- candidates, verify, cluster ---------------------------------------------------------------

# Band ids of the lede keys (``dedup.stages.candidates.lede_keys``): apart from the signature's
# bands (0..bands-1), the text hash (-1) and the headline hash (-2).
LEDE_BAND_BASE = -10


def lede_rows(batches: Iterator[pa.RecordBatch]):
    """(node, lede) of rows that have a lede sketch -> one (band, key, node) row per lede band."""
    from dedup.stages.candidates import LEDE_BANDS, lede_keys

    for b in batches:
        n = b.num_rows
        if not n:
            continue
        _, vals = unpacked(b.column("lede"))
        keys = np.stack(lede_keys(vals.reshape(n, -1)))  # (LEDE_BANDS, n)
        node = b.column("node").to_numpy()
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.repeat(LEDE_BAND_BASE - np.arange(LEDE_BANDS, dtype=np.int32), n)),
             pa.array(as_signed(keys.reshape(-1))), pa.array(np.tile(node, LEDE_BANDS))], names=["band", "key", "node"])


def band_rows(batches: Iterator[pa.RecordBatch], bands: int, rows: int):
    """(node, signature) -> one (band, key, node) row per band (``dedup.stages.candidates.band_keys``)."""
    from dedup.stages.candidates import band_keys

    for b in batches:
        n = b.num_rows
        if not n:
            continue
        _, vals = unpacked(b.column("signature"))
        sigs = vals.reshape(n, -1)
        keys = band_keys(np.ascontiguousarray(sigs), bands, rows)  # (bands, n)
        node = b.column("node").to_numpy()
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.repeat(np.arange(bands, dtype=np.int32), n)), pa.array(as_signed(keys.reshape(-1))),
             pa.array(np.tile(node, bands))], names=["band", "key", "node"])


def score(batches: Iterator[pa.RecordBatch], threshold: float, containment_threshold: float, short_words: int):
    """Candidate pairs with both sides' fingerprints and number sequences -> jaccard, containment,
    match (``dedup.stages.verify.score_pairs``). ``{l,r}_numbers`` packed (null where not known),
    ``{l,r}_numbers_known`` bool (false for earlier nights' canonicals: the state keeps no numbers)."""
    from dedup.stages import verify

    for b in batches:
        m = b.num_rows
        if not m:
            continue
        offsets, values = _pair_csr(b, "l_shingles", "r_shingles")
        idx = np.arange(m, dtype=np.int64)

        def both(name):
            return np.concatenate([b.column("l_" + name).to_numpy(), b.column("r_" + name).to_numpy()])

        words = both("words")
        n_off, n_val = _pair_csr(b, "l_numbers", "r_numbers")
        known = np.concatenate([b.column("l_numbers_known").fill_null(False).to_numpy(zero_copy_only=False),
                                b.column("r_numbers_known").fill_null(False).to_numpy(zero_copy_only=False)])
        s = verify.score_pairs(offsets, values, idx, idx + m, words=words, text_hash=as_unsigned(both("text_hash")),
                               headline_hash=as_unsigned(both("headline_hash")), threshold=threshold,
                               containment_threshold=containment_threshold, short_words=short_words,
                               numbers=(n_off, n_val, known))
        long_pair = (words[:m] >= short_words) & (words[m:] >= short_words)
        yield pa.RecordBatch.from_arrays([b.column("l"), b.column("r"), pa.array(s.match), pa.array(long_pair),
                                          pa.array(s.jaccard), pa.array(s.containment)],
                                         names=["l", "r", "match", "long_pair", "jaccard", "containment"])


def _pair_csr(b: pa.RecordBatch, a: str, c: str) -> tuple[np.ndarray, np.ndarray]:
    """Both sides' packed sets as one CSR (``verify``'s layout): side ``a`` of pair p is row p,
    side ``c`` is row p + m."""
    ao, av = unpacked(b.column(a))
    co, cv = unpacked(b.column(c))
    return np.concatenate([ao, co[1:] + ao[-1]]), np.concatenate([av, cv]).astype(np.uint32)


def _inter(b: pa.RecordBatch, a: str, c: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|A ∩ C| per pair, and the sizes of A and C."""
    from dedup.stages import verify

    m = b.num_rows
    offsets, values = _pair_csr(b, a, c)
    idx = np.arange(m, dtype=np.int64)
    sizes = np.diff(offsets)
    return verify.intersections(offsets, values, idx, idx + m), sizes[:m], sizes[m:]


def containment(batches: Iterator[pa.RecordBatch]):
    """(s, c, s_shingles, c_shingles) -> containment of s in c (the rescue pass's test)."""
    for b in batches:
        if not b.num_rows:
            continue
        inter, sa, _ = _inter(b, "s_shingles", "c_shingles")
        yield pa.RecordBatch.from_arrays(
            [b.column("s"), b.column("c"), pa.array(inter), pa.array(inter / np.maximum(sa, 1))],
            names=["s", "c", "inter", "con"])


def disjoint_parts(batches: Iterator[pa.RecordBatch]):
    """(c, p_shingles, b_shingles): a part of container c and c's largest part -> whether they are
    disjoint (``dedup.stages.verify.disjoint_parts``, the multi-topic test)."""
    from dedup.stages import verify

    for b in batches:
        if not b.num_rows:
            continue
        inter, sp, sb = _inter(b, "p_shingles", "b_shingles")
        yield pa.RecordBatch.from_arrays([b.column("c"), pa.array(verify.disjoint_parts(inter, sp, sb))],
                                         names=["c", "disjoint"])


def _ledes(col, width: int) -> np.ndarray:
    """A packed lede column -> (n, width) uint32, rows without a lede all 0xFFFFFFFF (as locally)."""
    offs, vals = unpacked(col)
    out = np.full((len(offs) - 1, width), 0xFFFFFFFF, np.uint32)
    has = np.flatnonzero(np.diff(offs) == width)
    if has.size:
        out[has] = vals[(offs[has][:, None] + np.arange(width)).reshape(-1)].reshape(-1, width)
    return out


def lede_parts(batches: Iterator[pa.RecordBatch], width: int):
    """(c, c_lede, q_lede, c_shingles, q_shingles, b_shingles): a container c, a candidate partner q
    and c's largest part b -> (c, disjoint): whether q opens as c does, shares a lede's worth of
    shingles with it and is disjoint from b (the lede half of ``dedup.stages.verify.multi_topic_edges``)."""
    from dedup.stages import verify
    from dedup.stages.fingerprint import LEDE_SHINGLES

    for b in batches:
        m = b.num_rows
        if not m:
            continue
        lede = np.concatenate([_ledes(b.column("c_lede"), width), _ledes(b.column("q_lede"), width)])
        idx = np.arange(m, dtype=np.int64)
        agree = verify.lede_agreement(lede, idx, idx + m)
        shared, _, _ = _inter(b, "c_shingles", "q_shingles")
        inter, sq, sb = _inter(b, "q_shingles", "b_shingles")
        flag = agree & (shared >= LEDE_SHINGLES) & verify.disjoint_parts(inter, sq, sb)
        yield pa.RecordBatch.from_arrays([b.column("c"), pa.array(flag)], names=["c", "disjoint"])


def member_scores(batches: Iterator[pa.RecordBatch], threshold: float):
    """(node, label, shingles, canonical shingles, text hashes) -> similarity, containment and
    relation to the canonical, computed as the local engine's cluster stage does."""
    for b in batches:
        if not b.num_rows:
            continue
        inter, sz, szl = _inter(b, "shingles", "c_shingles")
        node, label = b.column("node").to_numpy(), b.column("label").to_numpy()
        same = b.column("text_hash").to_numpy() == b.column("c_text_hash").to_numpy()
        sim, con, relation = member_relation(inter, sz, szl, node == label, same, threshold)
        yield pa.RecordBatch.from_arrays(
            [b.column("node"), b.column("label"), b.column("label_g"), pa.array(np.round(sim, 4)),
             pa.array(np.round(con, 4)), pa.array(relation, pa.string())],
            names=["node", "label", "label_g", "similarity", "containment", "relation"])


def cluster_ids(batches: Iterator[pa.RecordBatch]):
    """(node, story_id) of new canonicals -> (node, cluster_id), the local engine's id rule."""
    for b in batches:
        ids = [cluster_id(s) for s in b.column("story_id").to_pylist()]
        yield pa.RecordBatch.from_arrays([b.column("node"), pa.array(ids, pa.string())], names=["node", "cluster_id"])


# -- state files -------------------------------------------------------------------------------

# The engine holds signatures and shingle sets packed as binary; as written to a state night they
# are lists, the local engine's layout.
STATE_CANON_DDL = spark_ddl(CANONICALS_SCHEMA, overrides={"signature": "binary", "shingles": "binary"})
STATE_CANON_OUT_DDL = spark_ddl(CANONICALS_SCHEMA)
STATE_MEMBERS_DDL = spark_ddl(MEMBERS_SCHEMA, extra="night string")
STATE_CHROME_DDL = "key long, stories long, night string"
STATE_REPORTS_DDL = spark_ddl(CHROME_REPORTS_SCHEMA, extra="night string")
STATE_OUTLETS_DDL = "outlet string, stories long, night string"


def pack_columns(batches: Iterator[pa.RecordBatch]):
    """List columns of uint32 values (state files as Spark reads them) -> packed binary."""
    for b in batches:
        cols = [lists_to_packed(c) if pa.types.is_list(c.type) or pa.types.is_large_list(c.type) else c
                for c in b.columns]
        yield pa.RecordBatch.from_arrays(cols, names=b.schema.names)


def ddl_fields(ddl: str) -> list[tuple[str, str]]:
    out = []
    for part in ddl.split(", "):
        name, typ = part.split(" ", 1)
        out.append((name, typ))
    return out


def state_canonicals_out(batches: Iterator[pa.RecordBatch]):
    """Canonicals in the engine's packed form -> the state layout (signature and shingles as lists)."""
    for b in batches:
        cols = [packed_to_lists(b.column(n)) if n in ("signature", "shingles") else b.column(n) for n in b.schema.names]
        yield pa.RecordBatch.from_arrays(cols, names=b.schema.names)
