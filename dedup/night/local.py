"""The local engine: one night's stages on this machine, in order.

read -> clean -> [state window, learned chrome] -> clean(finish) + fingerprint -> candidates ->
verify -> cluster -> write. Each stage reports its own counts and seconds (``StageLog``), which
land in the night's manifest. Text is held one chunk at a time: the read stage spills prepared
chunks to the staging folder, the clean and fingerprint stages stream them back, and from then on
the batch is numbers (signatures, shingle sets, ranks, labels) until the write stage streams the
chunks once more to attach cluster ids. The lock, staging and commit are ``dedup.night.run``'s.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.config import Settings
from dedup.errors import StateError, StateFailed
from dedup.night.figures import (NightFigures, Progress, RunResult, StageLog, peak_rss_mb, release_unused_memory,
                                 system_seconds)
from dedup.night.manifest import finish_night
from dedup.night.policy import check_feed, check_reject_ratio
from dedup.night.processes import PageWorkers
from dedup.night.staging import Staging, read_spill, spilled, write_spill
from dedup.night.state import Window, fingerprint_settings, load_window, write_night
from dedup.night.write import state_rows, write_tables
from dedup.schemas import REJECT_SCHEMA
from dedup.stages import candidates as cand
from dedup.stages import clean, cluster, text_loss, verify, versions
from dedup.stages.chrome import ChromeModel, ReportSets, chrome_outlets
from dedup.stages.fingerprint import Fingerprints, fingerprint, hash_strings, number_sequences
from dedup.stages.read import ID_NUMBER, ReadStats, discover, read_chunks, sha256_file
from dedup.stages.reasons import (DUPLICATE_ID, DUPLICATE_ID_PREFIX, EMPTIED, ENDS_EARLY, REDELIVERED_PREFIX,
                                  SUPERSEDED_PREFIX, WALL_ONLY, redelivered, redelivered_counted)
from dedup.stages.text.lines import Lines
from dedup.stages.text.normalize import distinct
from dedup.stages.text.pagedate import page_dates

log = logging.getLogger("dedup")


def bounded_map(pool: ThreadPoolExecutor, fn, items, window: int):
    """``pool.map`` that keeps at most ``window`` results ahead of the consumer, so a fast
    producer never piles up chunks of text in memory. Results come in input order."""
    pending = []
    for item in items:
        pending.append(pool.submit(fn, *item) if isinstance(item, tuple) else pool.submit(fn, item))
        while len(pending) > window:
            yield pending.pop(0).result()
    for fut in pending:
        yield fut.result()


def _lines_spill(p: Path) -> Path:
    """The work file of a chunk's text split into lines (``Lines.to_table``), beside the chunk's."""
    return p.with_name(p.stem + "-lines.arrow")


def _entries_spill(p: Path) -> Path:
    """The work file of a chunk's chrome-learning entries (key, story), beside the chunk's."""
    return p.with_name(p.stem + "-entries.arrow")


def ended_early(rejects: list[pa.Table]) -> list[str]:
    """"file: reason" for each reject row saying its file ends early (at most one per file)."""
    out = []
    for t in rejects:
        if t.num_rows:
            hit = t.filter(pc.starts_with(t.column("reason"), ENDS_EARLY))
            out += [f"{s}: {r}" for s, r in zip(hit.column("source").to_pylist(), hit.column("reason").to_pylist())]
    return out


def chrome_query_keys(outlets: pa.Array, lines: Lines) -> np.ndarray:
    """Sorted unique uint64: the keys, besides the batch's learning entries (``ChromeModel.keys``
    after ``observe``), whose story counts learning looks up (``observe_reports``): each line
    longer than a chrome line under its story's outlet (the same key can be a short line on
    another night: the key folds digits and spaces). With the entries and every key holding
    report sketches (the only keys that can count as chrome in cleaning), a window model cut to
    them (``state.load_window``'s ``chrome_keys``) answers for tonight as the whole one."""
    from dedup.stages.chrome import MAX_CHROME_LINE_CHARS, _outlet_keys

    if not len(lines.text):
        return np.empty(0, np.uint64)
    long_ = np.flatnonzero(~lines.at_most_chars(MAX_CHROME_LINE_CHARS))
    return np.unique(_outlet_keys(outlets, lines.story[long_], lines.key_hash()[long_]))


def sorted_union(parts: list[np.ndarray]) -> np.ndarray:
    """``np.union1d`` of arrays that are each sorted and unique (uint64), as one merge: a stable sort
    (numpy's timsort) finds the sorted runs and merges them, where ``union1d`` sorts from scratch."""
    if not parts:
        return np.empty(0, np.uint64)
    c = np.sort(np.concatenate(parts), kind="stable")
    return c[np.r_[True, c[1:] != c[:-1]]] if c.size else c


@dataclass
class ReadOutput:
    spills: list[Path]
    rejects: list[pa.Table]
    chrome: ChromeModel
    html: int
    body_sources: Counter  # stories per text path (``clean.prepare_sourced``)
    chrome_keys: np.ndarray | None = None  # learning's keys and ``chrome_query_keys`` of the whole batch
    # Per spill: each record's ``read.ID_NUMBER`` (equal for the records of one id), for
    # ``superseded_rows`` once the chrome model is learned.
    id_numbers: list[np.ndarray] = dataclasses.field(default_factory=list)
    # Per spill: the records chrome is learned from (bool; each id's first record: ``learned_from``).
    learn: list[np.ndarray] = dataclasses.field(default_factory=list)


def learned_from(lines: Lines, sites: pa.Array, learn: np.ndarray) -> tuple[Lines, pa.Array]:
    """The lines and chrome sites of the records chrome is learned from (``learn``: bool per record):
    each id's first record only, so that a feed delivering a story again (or its versions) does not
    make its lines look like an outlet's furniture."""
    if learn.all():
        return lines, sites
    return lines.of_stories(learn), sites.filter(pa.array(learn))


def repeats(id_numbers: list[np.ndarray]) -> int:
    """How many records repeat an id an earlier record of the night has (each id's records but one):
    the records ``superseded_rows`` will reject."""
    if not id_numbers:
        return 0
    counts = np.bincount(np.concatenate(id_numbers))
    return int(counts.sum() - np.count_nonzero(counts))


def superseded_rows(spills: list[Path], id_numbers: list[np.ndarray], settings: Settings, model: ChromeModel
                    ) -> dict[int, tuple[np.ndarray, list[str]]]:
    """Of the records sharing an id (``id_numbers``: each spill's ``read.ID_NUMBER`` column), the
    ones not kept (``versions.choose`` on their texts cleaned with ``model``): {spill index: (rows,
    reasons)}. Reads back only the spills that hold an id more than once (their text hashes and
    dates; the text of an id's records only where it differs)."""
    counts = np.bincount(np.concatenate(id_numbers)) if id_numbers else np.empty(0, np.int64)
    if not counts.size or counts.max() < 2:
        return {}
    spill_of, row_of, ids, hashes, published, where = [], [], [], [], [], []
    for i, (p, idn) in enumerate(zip(spills, id_numbers)):
        rows = np.flatnonzero(counts[idn] > 1)
        if rows.size:
            # Their text's hash, not their text: a feed fetched twice a night repeats every record.
            rec = read_spill(p).select(["source", "record", "published_at", "text"]).take(pa.array(rows))
            hashes.append(hash_strings(rec.column("text").combine_chunks()))
            published.append(rec.column("published_at").cast(pa.int64()).fill_null(-(1 << 63)).to_numpy())
            where.append(pc.binary_join_element_wise(
                pc.replace_substring_regex(rec.column("source"), r"^.*/", ""),
                pc.cast(rec.column("record"), pa.string()), ":").to_numpy(zero_copy_only=False))
            spill_of.append(np.full(rows.size, i))
            row_of.append(rows)
            ids.append(idn[rows])
    spill_of, row_of, ids = np.concatenate(spill_of), np.concatenate(row_of), np.concatenate(ids)
    text_hash, published, where = np.concatenate(hashes), np.concatenate(published), np.concatenate(where)
    # Spills are in input order and a spill's rows in record order: a stable sort by id keeps it.
    by_id = np.argsort(ids, kind="stable")
    starts = np.flatnonzero(np.r_[True, ids[by_id][1:] != ids[by_id][:-1]])
    ends = np.r_[starts[1:], by_id.size]
    group_of = np.repeat(np.arange(starts.size), ends - starts)
    th, pub = text_hash[by_id], published[by_id]
    # An id whose records all carry one text keeps the latest dated, the first of equals (what
    # ``choose`` gives without cleaning or comparing: a feed fetched twice, a scraper stamping its
    # fetch time); the others are compared as the clean stage will leave them.
    mixed = np.logical_or.reduceat(th != th[starts][group_of], starts)
    at = np.arange(by_id.size)
    rank = np.lexsort((-at, pub, group_of))
    best = rank[np.r_[group_of[rank][1:] != group_of[rank][:-1], True]]  # per group, in group order
    kept = best[group_of]
    lost = ~mixed[group_of] & (kept != at)
    first_kept = kept[lost] == starts[group_of[lost]]
    lose = [by_id[lost]]
    why = [np.where(first_kept, DUPLICATE_ID_PREFIX + where[by_id[starts[group_of[lost]]]],
                    SUPERSEDED_PREFIX + where[by_id[kept[lost]]])]
    if mixed.any():
        # Two stories of one outlet share its chrome: versions are compared on their cleaned text.
        rows = np.sort(np.concatenate([by_id[a:b] for a, b in zip(starts[mixed], ends[mixed])]))
        texts: dict[int, str] = {}
        for k in np.unique(spill_of[rows]):
            mine = rows[spill_of[rows] == k]
            rec = read_spill(spills[k]).select(["text", "outlet", "url", "headline"]).take(pa.array(row_of[mine]))
            texts.update(zip(mine.tolist(), versions.cleaned(rec, model, settings.chrome, settings.language)))
        for a, b in zip(starts[mixed], ends[mixed]):
            group = by_id[a:b].tolist()
            stamp = [None if published[j] == -(1 << 63) else int(published[j]) for j in group]
            _, reasons = versions.choose(stamp, [texts[j] for j in group], [where[j] for j in group],
                                         settings.dedup.shingle_size)
            gone = [k for k, r in enumerate(reasons) if r is not None]
            lose.append(np.array([group[k] for k in gone], np.int64))
            why.append(np.array([reasons[k] for k in gone], dtype=object))
    lose, why = np.concatenate(lose), np.concatenate(why)
    order = np.argsort(lose, kind="stable")
    lose, why = lose[order], why[order]
    spill_lost = spill_of[lose]
    cut = np.flatnonzero(np.r_[True, spill_lost[1:] != spill_lost[:-1]]) if lose.size else np.empty(0, np.int64)
    return {int(spill_lost[a]): (row_of[lose[a:b]], why[a:b].tolist()) for a, b in zip(cut, np.r_[cut[1:], lose.size])}


def read_stage(settings: Settings, staging: Staging, files, stats: ReadStats, sl: StageLog) -> ReadOutput:
    """Read the batch, prepare each chunk's text (HTML, Unicode) and count chrome candidates;
    chunks are spilled to the staging folder so that only a few are in memory at once."""

    def prepare_chunk(i: int, records: pa.Table, learn: np.ndarray):
        # On a worker thread: Arrow compute and Parquet writing release the GIL.
        body = records.column("body").combine_chunks()
        text, is_html, body_source = clean.prepare_sourced(body, pages.map)
        # The page's own date where the feed gave none (counted apart: this runs on worker threads).
        date_stats = ReadStats()
        published_at, published_at_source = page_dates(records.column("published_at"), body, is_html, date_stats,
                                                       settings.input.time_zones, pages.map)
        records = (records.set_column(records.schema.get_field_index("published_at"), "published_at", published_at)
                   .drop_columns(["body"]).append_column("text", text).append_column("was_html", pa.array(is_html))
                   .append_column("body_source", body_source).append_column("published_at_source", published_at_source))
        # Split and measured once: learning chrome here and cleaning later both need the lines.
        lines = Lines.split(text)
        seen = ChromeModel()
        p = staging.work / f"read-{i:05d}.arrow"
        qk = None
        if settings.chrome.enabled:
            # The (key, story) entries are kept for the second learning pass (chrome_stage).
            sites = chrome_outlets(records.column("outlet").combine_chunks(), records.column("url").combine_chunks())
            ls, ss = learned_from(lines, sites, learn)
            ek, es = seen.observe(ss, ls)
            write_spill(pa.table({"key": ek, "story": es}), _entries_spill(p))
            qk = chrome_query_keys(ss, ls)
        write_spill(records, p)
        # The lines as positions in ``text``, which the records' work file holds already: at 1M stories
        # a GB less copied into the page cache (docs/speed.md, Session 18).
        write_spill(lines.to_table(text), _lines_spill(p))
        sources = body_source.value_counts().to_pylist()
        return p, seen, int(is_html.sum()), {d["values"]: d["counts"] for d in sources}, date_stats.bad_dates, qk

    out = ReadOutput([], [], ChromeModel(), 0, Counter())
    seen_parts: list[ChromeModel] = []

    id_numbers: list[np.ndarray] = []
    ids_seen = 0  # ids get numbers in order of first appearance: 0 .. ids_seen - 1 so far

    def chunks():
        nonlocal ids_seen
        for i, (records, rejects) in enumerate(
            read_chunks(files, settings.input, settings.output.raw_max_chars, settings.run.chunk_size, stats,
                        chunk_bytes=settings.run.chunk_bytes, keep_repeats=True)
        ):
            progress.update(records.num_rows + rejects.num_rows)
            out.rejects.append(spilled(rejects, staging.work / f"rejects-read-{i:05d}.arrow"))
            if records.num_rows:
                idn = records.column(ID_NUMBER).to_numpy()
                id_numbers.append(idn)
                # Chrome is learned from each id's first record, as when repeats were rejected here.
                first = np.zeros(idn.size, bool)
                new, at = np.unique(idn, return_index=True)
                first[at[new >= ids_seen]] = True
                ids_seen = max(ids_seen, int(new[-1]) + 1)
                out.learn.append(first)
                yield i, records.drop_columns([ID_NUMBER]), first

    with (sl.stage("read", files=len(files)) as st, PageWorkers(settings.run.workers) as pages,
          ThreadPoolExecutor(max_workers=settings.run.workers) as pool):
        progress = Progress("read", "records")
        keys: list[np.ndarray] = []
        for p, seen, nh, sources, bad_dates, qk in bounded_map(pool, prepare_chunk, chunks(), settings.run.workers):
            stats.bad_dates += bad_dates
            if qk is not None:
                keys.append(qk)
            out.spills.append(p)
            seen_parts.append(seen)
            out.html += nh
            out.body_sources.update(sources)
        progress.close()
        out.chrome = ChromeModel.combine(seen_parts)
        if settings.chrome.enabled:
            out.chrome_keys = sorted_union([out.chrome.keys, *keys])
        # Repeats of an id were read (chrome learned from the id's first record only: learned_from);
        # which of an id's records is kept is decided once chrome is learned (superseded_rows), and
        # the others are rejected by the clean stage. How many is known now.
        out.id_numbers = id_numbers
        dups = repeats(id_numbers)
        stats.accepted -= dups
        stats.rejected += dups
        if dups:
            stats.reasons["duplicate id"] += dups
        st.update(records=stats.records, accepted=stats.accepted, rejected=stats.rejected, html=out.html,
                  body_sources=dict(sorted(out.body_sources.items())))
    return out


def chrome_stage(settings: Settings, r: ReadOutput, window: ChromeModel, sl: StageLog) -> tuple[ChromeModel, ChromeModel]:
    """The second learning pass over the spilled lines, once every story count (tonight's and the
    window's) is known. Returns tonight's model (stored in the state) and the model cleaning uses
    (tonight's and the window's)."""
    ch = settings.chrome
    if not ch.enabled:
        return r.chrome, r.chrome
    # Learning asks ``known`` for story counts only: the window's report sketches are merged once,
    # into ``model`` below, not twice.
    known = ChromeModel.combine([r.chrome, ChromeModel(window.keys, window.stories, window.outlet_stories)])

    def reports_of(p: Path, learn: np.ndarray):
        rec = read_spill(p)
        outlets = chrome_outlets(rec.column("outlet").combine_chunks(), rec.column("url").combine_chunks())
        # Measurements only (the lines' text is not gathered): enough to learn from.
        lines, outlets = learned_from(Lines.from_table(read_spill(_lines_spill(p)), len(outlets)), outlets, learn)
        e = read_spill(_entries_spill(p))
        entries = (e.column("key").to_numpy(), e.column("story").to_numpy())
        return known.observe_reports(outlets, lines, ch.min_stories, entries)

    with sl.stage("chrome") as st, ThreadPoolExecutor(max_workers=settings.run.workers) as pool:
        tonight = r.chrome.with_reports(ReportSets.combine(list(bounded_map(pool, reports_of, zip(r.spills, r.learn),
                                                                           settings.run.workers))))
        model = ChromeModel.combine([tonight, window])
        st.update(candidate_keys=int((known.stories >= ch.min_stories).sum()), learned=model.n_learned(ch.min_stories))
    return tonight, model.for_cleaning(ch.min_stories)


def spill_model(model: ChromeModel, work: Path) -> Callable[[], ChromeModel]:
    """Write ``model``'s arrays (its own and its ``reports``') to the staging folder's work
    files and return a function that reads the model back, equal to it. Tonight's model is only
    stored in the state, by the write stage; held in between it sits in every later stage's peak
    (165 MB at 1M stories)."""

    def spill(obj, prefix: str):
        kept = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if isinstance(v, np.ndarray):
                path = work / f"{prefix}{f.name}.npy"
                np.save(path, v, allow_pickle=False)
                kept[f.name] = path
            elif isinstance(v, ReportSets):
                kept[f.name] = (ReportSets, spill(v, f"{prefix}{f.name}-"))
            else:
                kept[f.name] = v
        return kept

    def restore(cls, kept: dict):
        out = {}
        for name, v in kept.items():
            if isinstance(v, Path):
                out[name] = np.load(v)
                v.unlink()
            elif isinstance(v, tuple):
                out[name] = restore(*v)
            else:
                out[name] = v
        return cls(**out)

    kept = spill(model, "chrome-model-")
    return lambda: restore(ChromeModel, kept)


@dataclass
class CleanOutput:
    spills: list[Path]
    fingerprints: list[Fingerprints]
    meta: pa.Table | None  # story_id, published_at, words, text_hash, headline_hash, numbers, outlet,
    # kept_keys, removed_keys per story
    rejects: list[pa.Table]
    chrome_removed: dict[str, int]
    removed_lines: list[pa.Table]

    @property
    def n(self) -> int:
        return sum(len(f) for f in self.fingerprints)


def clean_stage(settings: Settings, staging: Staging, spills: list[Path], model: ChromeModel, total: int,
                sl: StageLog, window: Window | None = None,
                superseded_by: dict[int, tuple[np.ndarray, list[str]]] | None = None) -> CleanOutput:
    """Clean each chunk on worker threads (furniture, chrome, house style) and fingerprint it on
    this one (numba's own threads); write the cleaned chunks aside for the write stage. Rejected
    before cleaning: the records of a repeated id not kept (``superseded_by``: ``superseded_rows``), and a record whose id a night of ``window`` wrote
    (``Window.first_written``; ``reasons.redelivered``)."""
    ch, d = settings.chrome, settings.dedup
    nights = np.array(window.nights if window is not None else [], dtype=object)
    superseded_by = superseded_by or {}
    total += sum(len(rows) for rows, _ in superseded_by.values())  # read, counted as rejects already

    def clean_chunk(i: int, p: Path):
        records = read_spill(p)
        n_all = records.num_rows
        lines = Lines.from_table(read_spill(_lines_spill(p)), n_all, records.column("text"))
        # Records not cleaned tonight: older versions and repeats of an id, ids an earlier night wrote.
        skip_reason = np.full(n_all, None, dtype=object)
        rows, reasons = superseded_by.get(i, (np.empty(0, np.int64), []))
        skip_reason[rows] = reasons
        if nights.size:
            first = window.first_written(records.column("story_id"))
            again = (first >= 0) & (skip_reason == None)  # noqa: E711 (elementwise)
            skip_reason[again] = [redelivered(x) for x in nights[first[again]]]
        skip = skip_reason != None  # noqa: E711
        skipped = None
        if skip.any():
            skipped = records.filter(pa.array(skip)), skip_reason[skip]
            records, lines = records.filter(pa.array(~skip)), lines.of_stories(~skip)
        outlets = records.column("outlet").combine_chunks()
        c = clean.finish_lines(lines, chrome_outlets(outlets, records.column("url").combine_chunks()), model, ch,
                               settings.language, records.column("headline").combine_chunks())
        ok = c.words >= max(settings.input.min_body_words, 1)
        reason = np.where(c.wall_only, WALL_ONLY, EMPTIED).astype(object)
        bad = records.filter(pa.array(~ok))
        parts = [(bad, reason[~ok])] + ([skipped] if skipped is not None else [])
        rejected = pa.concat_tables([pa.table(
            {
                "source": b.column("source"),
                "record": b.column("record"),
                "story_id": b.column("story_id"),
                "reason": pa.array(r.tolist(), pa.string()),
                "raw": pc.utf8_slice_codeunits(b.column("text"), 0, settings.output.raw_max_chars).cast(pa.string()),
            },
            schema=REJECT_SCHEMA,
        ) for b, r in parts])
        keep = pa.array(ok)

        def kept(x):
            # Most chunks reject no story: Arrow's filter would still copy every text.
            return x if ok.all() else x.filter(keep)

        cleaned = (
            # Copied even so: the records are mapped from their work file, and columns kept from it
            # (the stories' ids and outlets, held to the write stage) would keep the whole file mapped
            # and its pages resident (+200 MB at 200,000 stories).
            records.drop_columns(["text"]).filter(keep)
            .append_column("body_clean", kept(c.body_clean).cast(pa.large_string()))
            .append_column("agency", kept(c.agency))
            .append_column("dateline", kept(c.dateline))
            .append_column("language", kept(c.language))
            .append_column("words", pa.array(c.words[ok]))
            .append_column("chrome_lines_removed", pa.array(c.chrome_lines[ok].astype(np.int64)))
        )
        # Lines removed from the stories kept or emptied.
        removed = pa.table({"outlet": outlets.fill_null(""), "n": pa.array(c.chrome_lines)}).group_by("outlet").aggregate(
            [("n", "sum")])
        # The line keys are copied whatever the mask (a few MB a chunk): held to the write stage, the numpy
        # arrays they wrap would pin the C heap's arenas (peak 1.10-1.14 GB against 1.09-1.11 GB at 200k).
        line_keys = pa.table({"kept_keys": c.kept_keys.filter(keep), "removed_keys": c.removed_keys.filter(keep),
                              "lede_from": pa.array(c.lede_from[ok])})
        fp_text = kept(c.fp_text)
        # Hashed here, on the worker: fingerprinting and number sequences on the main thread both want it.
        return cleaned, (fp_text, distinct(fp_text)), rejected, removed, (c.removed, c.learned_removed), line_keys

    out = CleanOutput([], [], None, [], {}, [])
    meta_parts: list[pa.Table] = []
    t_fp = 0.0
    learned_removed = 0
    t0, c0, k0 = time.perf_counter(), time.process_time(), system_seconds()
    with ThreadPoolExecutor(max_workers=settings.run.workers) as pool:
        progress = Progress("clean+fingerprint", "stories", total=total)
        for cleaned, (fp_text, fp_distinct), rejected, removed, (shown, learned), line_keys in bounded_map(
                pool, clean_chunk, enumerate(spills), settings.run.workers):
            out.removed_lines.append(shown)
            learned_removed += learned
            progress.update(cleaned.num_rows + rejected.num_rows)
            if rejected.num_rows:
                out.rejects.append(spilled(rejected, staging.work / f"rejects-clean-{len(out.spills):05d}.arrow"))
            for o, k in zip(removed.column("outlet").to_pylist(), removed.column("n_sum").to_pylist()):
                if k:
                    out.chrome_removed[o] = out.chrome_removed.get(o, 0) + k
            t1 = time.perf_counter()
            fp = fingerprint(fp_text, num_perm=d.num_perm, shingle_size=d.shingle_size, seed=d.seed,
                             lede_from=line_keys.column("lede_from").to_numpy(), distinct_texts=fp_distinct)
            nums = number_sequences(fp_text, verify.numbers_wanted(cleaned.column("words").to_numpy(), d.short_words),
                                    distinct_texts=fp_distinct)
            t_fp += time.perf_counter() - t1
            out.fingerprints.append(fp)
            meta_parts.append(pa.table({
                "story_id": cleaned.column("story_id"),
                "published_at": cleaned.column("published_at"),
                "words": cleaned.column("words"),
                "text_hash": pa.array(fp.text_hash),
                "headline_hash": pa.array(hash_strings(pc.utf8_lower(cleaned.column("headline").combine_chunks()))),
                "numbers": pa.LargeListArray.from_arrays(pa.array(nums[0]), pa.array(nums[1])),
                "outlet": cleaned.column("outlet"),
                "kept_keys": line_keys.column("kept_keys"),
                "removed_keys": line_keys.column("removed_keys"),
            }))
            p2 = staging.work / f"clean-{len(out.spills):05d}.arrow"
            write_spill(cleaned, p2)
            out.spills.append(p2)
            if len(out.spills) % 8 == 0:
                # The chunks' text, freed on the workers, otherwise stays with the allocator.
                release_unused_memory()
        progress.close()
    for p in spills:
        p.unlink()
        _lines_spill(p).unlink()
        _entries_spill(p).unlink(missing_ok=True)
    out.meta = pa.concat_tables(meta_parts) if meta_parts else None
    n, emptied = out.n, sum(r.num_rows for r in out.rejects)
    again = sum(pc.sum(pc.starts_with(r.column("reason"), REDELIVERED_PREFIX)).as_py() or 0 for r in out.rejects)
    # Counted by the read stage, as the duplicate ids it rejects were before.
    emptied -= sum(len(rows) for rows, _ in superseded_by.values())
    # The workers clean while this thread fingerprints, so the process's CPU time is not split
    # between the two: the clean stage's cpu_seconds covers both.
    sl.stages["clean"] = {"seconds": round(time.perf_counter() - t0 - t_fp, 3),
                          "cpu_seconds": round(time.process_time() - c0, 3), "cpu_seconds_include": "fingerprint",
                          "system_seconds": round(system_seconds() - k0, 3),
                          "peak_rss_mb": peak_rss_mb(),
                          "stories": n, "emptied": emptied - again, "redelivered": again,
                          # (outlet, line) keys seen in >= chrome.min_stories stories, before the min_share test
                          "learned_chrome_lines": model.n_learned(ch.min_stories),
                          "chrome_lines_removed": int(sum(out.chrome_removed.values())),
                          "chrome_lines_removed_learned": learned_removed}
    sl.stages["fingerprint"] = {"seconds": round(t_fp, 3), "peak_rss_mb": peak_rss_mb(), "stories": n,
                                "shingles": sum(int(f.values.shape[0]) for f in out.fingerprints),
                                "num_perm": d.num_perm, "shingle_size": d.shingle_size}
    log.info("stage clean: %.2fs, fingerprint: %.2fs, stories=%d", sl.stages["clean"]["seconds"], t_fp, n,
             extra={"fields": {"stage": "clean+fingerprint", "event": "finished", "clean": sl.stages["clean"],
                               "fingerprint": sl.stages["fingerprint"]}})
    return out


def _window_candidates(window: Window, fps: list[Fingerprints], meta: pa.Table | None, d, n: int):
    """The window's canonicals that share a candidate key with tonight's stories: (the window cut
    to them, their Fingerprints, counts). Keys: each LSH band (looked up in each night's
    ``NightIndex``), the text hash, and the headline hash of short stories (as ``run_night``'s
    ``extra_keys``). A bucket holding one of tonight's stories holds every window canonical with
    its key, so the pairs with tonight's stories are those of the whole window."""
    fpd = fingerprint_settings(d)
    counts = {"rows": 0, "mapped": 0, "built": 0, "stale": 0}
    if not window.n:
        return window, Fingerprints.concat([], d.num_perm), counts
    if not n:
        sub, wfp = window.select(np.empty(0, np.int64), {}, d.num_perm, np.empty(0, np.uint64))
        return sub, wfp, counts
    bands, rows = cand.lsh_params(d.candidate_threshold, d.num_perm)
    # Sorted per band once: each night's index is searched with it (NightIndex.lookup).
    tonight = np.sort(cand.band_keys(np.concatenate([f.signatures for f in fps]), bands, rows), axis=1)
    text_hash = window.canonicals.column("text_hash").to_numpy().copy()
    hit = np.zeros(window.n, bool)
    indexes = {}
    for x in range(len(window.nights)):
        live = np.flatnonzero(window.night_of == x)
        if not live.size:
            continue
        ix = window.index(x, fpd, bands, rows)
        indexes[x] = ix
        counts["mapped" if ix.mapped else "built"] += 1
        if ix.text_hash is not None:
            counts["stale"] += 1
            text_hash[live] = ix.text_hash[window.row_of[live]]
        # Rows of this night that are the latest row of their cluster, by their row in the night.
        glob = np.full(ix.keys.shape[1], -1, np.int64)
        glob[window.row_of[live]] = live
        g = glob[ix.lookup(tonight)]
        hit[g[g >= 0]] = True
        # The band keys are read through once: let their pages go before the next night's, so
        # memory holds one night's keys at a time, not the window's.
        ix.keys = ix.rows = None
    hit |= np.isin(text_hash, np.concatenate([f.text_hash for f in fps]))
    wc = window.canonicals
    # Headline keys (cand.headline_keys): a window canonical whose headline is a short story's of
    # tonight, or a short window canonical whose headline tonight's stories carry.
    w_head, t_head = wc.column("headline_hash").to_numpy(), meta.column("headline_hash").to_numpy()
    t_short = meta.column("words").to_numpy() < d.short_words
    w_short = wc.column("words").to_numpy() < d.short_words
    hit |= (w_head != 0) & (np.isin(w_head, t_head[t_short]) | (w_short & np.isin(w_head, t_head)))
    sel = np.flatnonzero(hit)
    counts["rows"] = int(sel.size)
    sub, wfp = window.select(sel, indexes, d.num_perm, text_hash)
    return sub, wfp, counts


def run_night(settings: Settings, staging: Staging, night: str) -> RunResult:
    """The local engine's night inside ``staging`` (``dedup.night.run.run`` holds the lock and commits)."""
    numba.set_num_threads(min(settings.run.workers, numba.config.NUMBA_NUM_THREADS))
    t_start = time.perf_counter()
    sl = StageLog()
    d = settings.dedup
    files = discover(settings.input)
    stats = ReadStats()
    if settings.language.detect:
        # The language model takes a second or two to unpack: load it while the input is read.
        from dedup.stages.language import model as language_model

        threading.Thread(target=language_model, name="language-model", daemon=True).start()

    r = read_stage(settings, staging, files, stats, sl)
    release_unused_memory()  # each stage from here on starts from what is live (figures.release_unused_memory)
    reject_tables = r.rejects
    feed_checks = check_feed(settings, night, stats.records, ended_early(reject_tables),
                             [f.path for f in files if f.bytes == 0])
    check_reject_ratio(stats.records, stats.rejected, stats.reasons, settings.input.max_reject_ratio, night)

    with sl.stage("state") as st:
        try:
            # The window's chrome cut to the keys tonight's lines can look up (r.chrome_keys).
            window = load_window(settings.state_path, night, settings.state.retention_days, fingerprint_settings(d),
                                 chrome_keys=r.chrome_keys, chrome_min_stories=settings.chrome.min_stories,
                                 merge_reports=False)  # merged with tonight's, once, in chrome_stage
        except StateError as e:
            raise StateFailed(str(e)) from None
        r.chrome_keys = None
        st.update(nights=len(window.nights), clusters=window.n)
    model, clean_model = chrome_stage(settings, r, window.chrome, sl)
    window.chrome = ChromeModel()  # the window's counts are in clean_model now, cut to what cleaning uses
    r.chrome = None  # tonight's first-pass counts: in model now
    read_model = spill_model(model, staging.work)  # back for the state, at the write stage
    del model
    release_unused_memory()

    with sl.stage("versions") as st:
        superseded_by = superseded_rows(r.spills, r.id_numbers, settings, clean_model)
        st.update(rejected=sum(len(rows) for rows, _ in superseded_by.values()))
    c = clean_stage(settings, staging, r.spills, clean_model, stats.accepted, sl, window, superseded_by)
    del clean_model
    release_unused_memory()
    reject_tables += c.rejects
    emptied = Counter()
    for t in c.rejects:
        vc = pc.value_counts(t.column("reason"))
        emptied.update(dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist())))
    emptied = redelivered_counted(emptied)
    for reason in [x for x in emptied if x.startswith(DUPLICATE_ID)]:
        del emptied[reason]  # versions of an id not kept: the read stage counted them
    # Cleaning can empty records too (all chrome, only a wall): they count toward the ratio
    # (records delivered again do not: check_reject_ratio).
    check_reject_ratio(stats.records, stats.rejected + emptied.total(), stats.reasons + emptied,
                       settings.input.max_reject_ratio, night)
    chrome_removed, removed_lines, spill2, meta, fps, n = (
        c.chrome_removed, c.removed_lines, c.spills, c.meta, c.fingerprints, c.n)
    del c  # its parts are held by name from here on, each let go when done with
    html_count = r.html

    # The window is matched through its band-key index: only the canonicals sharing a key (an
    # LSH band, the exact text, a short story's headline) with one of tonight's stories are read
    # and take part; the others cannot pair with tonight's stories.
    with sl.stage("window") as st:
        try:
            window, wfp, hit = _window_candidates(window, fps, meta, d, n)
        except StateError as e:  # a page of a window file that does not read as written
            raise StateFailed(str(e)) from None
        st.update(candidates=int(hit["rows"]), mapped_nights=hit["mapped"], built_nights=hit["built"],
                  refingerprinted_nights=hit["stale"])
    # Tonight's stories come after the window's candidate canonicals: rows [0, ns) are earlier
    # nights' clusters, which keep their ids and canonicals; rows [ns, ns + n) are tonight's stories.
    ns = window.n
    wc = window.canonicals
    parts = [wfp, *fps]
    del wfp
    fps.clear()  # c.fingerprints too: each chunk's is let go once copied into fp_all
    fp_all = Fingerprints.concat(parts, d.num_perm, consume=True, release=release_unused_memory)
    N = ns + n
    story_ids = np.array(wc.column("story_id").to_pylist() + (meta.column("story_id").to_pylist() if n else []), dtype=object)
    words = np.concatenate([wc.column("words").to_numpy(), meta.column("words").to_numpy() if n else np.empty(0, np.int64)])
    text_hash = fp_all.text_hash
    headline_hash = np.concatenate([wc.column("headline_hash").to_numpy(),
                                    meta.column("headline_hash").to_numpy() if n else np.empty(0, np.uint64)])
    def _ns(col):
        return pc.fill_null(col.cast(pa.int64()), np.iinfo(np.int64).max).to_numpy()
    pub_ns = np.concatenate([_ns(wc.column("published_at").combine_chunks()),
                             _ns(meta.column("published_at").combine_chunks()) if n else np.empty(0, np.int64)])
    fixed = np.arange(N) < ns
    # The manifest's input checksums, on a thread while the stages from here on leave a core idle
    # at times (the files were just read, so they come from the page cache).
    hasher = ThreadPoolExecutor(max_workers=1)
    sha256s = hasher.map(sha256_file, [f.path for f in files])
    hasher.shutdown(wait=False)

    with sl.stage("candidates") as st:
        # Earlier nights' canonicals first, then tonight's stories, each in preference order.
        # The ids as Arrow strings straight from their columns (never null: the read stage rejects
        # records without one), not through a fixed-width numpy copy of story_ids.
        rank = np.concatenate([
            cluster.preference_rank(fp_all.n_shingles[:ns], pub_ns[:ns],
                                    wc.column("story_id").combine_chunks().cast(pa.string())),
            cluster.preference_rank(fp_all.n_shingles[ns:], pub_ns[ns:],
                                    meta.column("story_id").combine_chunks().cast(pa.string())
                                    if n else pa.array([], pa.string())) + ns,
        ]).astype(np.int64)
        # Exact text always pairs; identical headlines pair among short stories only.
        head_key = cand.headline_keys(headline_hash, words, d.short_words)
        cands = cand.generate(fp_all.signatures, rank, threshold=d.candidate_threshold, max_bucket=d.max_bucket,
                              extra_keys=[text_hash, head_key] + cand.lede_keys(fp_all.lede))
        st.update(pairs=len(cands), bands=cands.bands, rows=cands.rows, big_buckets=cands.big_buckets)
        if cands.big_buckets:
            log.warning("%d LSH buckets over dedup.max_bucket=%d: chrome may have slipped through", cands.big_buckets,
                        d.max_bucket, extra={"fields": {"check": "big_buckets", "big_buckets": cands.big_buckets}})
    release_unused_memory()  # the band keys' sorts and the pair set

    with sl.stage("verify") as st:
        scores = verify.score_pairs(
            fp_all.offsets, fp_all.values, cands.left, cands.right, words=words, text_hash=text_hash,
            headline_hash=headline_hash, threshold=d.threshold, containment_threshold=d.containment_threshold,
            short_words=d.short_words,
            numbers=verify.numbers_of(meta.column("numbers") if n else None, ns, words, d.short_words),
        )
        # A live blog or roundup is not a container of the reports it quotes (verify.multi_topic_edges).
        multi = verify.multi_topic_edges(fp_all.offsets, fp_all.values, cands.left, cands.right, scores.jaccard,
                                         scores.match, d.threshold, rank=rank, lede=fp_all.lede)
        st.update(pairs=len(cands), matches=int(scores.match.sum()), multi_topic_dropped=int(multi.sum()))
    release_unused_memory()

    with sl.stage("cluster") as st:
        m = scores.match & ~multi
        label = cluster.star_clusters(N, rank, cands.left[m], cands.right[m], fixed=fixed)
        label = cluster.best_canonical(label, rank, cands.left[m], cands.right[m], scores.jaccard[m],
                                       scores.containment[m], d.threshold, fixed=fixed)

        def containment_to(s, c, fp=fp_all):  # bound now: fp_all is let go before the write stage
            inter = verify.intersections(fp.offsets, fp.values, s, c)
            return inter / np.maximum(fp.n_shingles[s], 1)

        if N:
            label = cluster.merge_versions(label, cands.left[m], cands.right[m], scores.jaccard[m], d.threshold,
                                           containment_to, d.rescue_containment, fixed)
            cl_, cr_ = cluster.containers(fp_all.n_shingles, cands.left, cands.right, scores.jaccard, d.threshold)
            label = cluster.rescue(label, cands.left, cands.right, m, containment_to,
                                   d.rescue_containment, movable=~fixed, container=cl_, container_right=cr_)
            del cl_, cr_
        # Similarity of each member to its canonical.
        idx = np.arange(N)
        inter = verify.intersections(fp_all.offsets, fp_all.values, idx, label) if N else np.empty(0)
        sz = fp_all.n_shingles
        sim, con, relation = cluster.member_scores(inter, sz, sz[label], idx == label, text_hash == text_hash[label],
                                                   d.threshold)
        tl = label[ns:]
        touched = np.unique(tl)

        st.update(clusters=int(touched.size), new_clusters=int((touched >= ns).sum()),
                  earlier_clusters_joined=int((touched < ns).sum()),
                  duplicates=int(n - (touched >= ns).sum()),
                  largest=int(np.bincount(tl).max()) if n else 0)

    release_unused_memory()

    with sl.stage("text_loss") as st:
        loss = text_loss.count(pa.table({"cluster": pa.array(tl), "outlet": meta.column("outlet"),
                                         "story_id": meta.column("story_id"), "kept_keys": meta.column("kept_keys"),
                                         "removed_keys": meta.column("removed_keys")})) if n else text_loss.TextLoss()
        st.update(removed_lines=loss.removed, kept_elsewhere=loss.found_kept)

    # The write stage needs the fingerprints of the state's rows only (a few per cluster), and
    # none of the pairs: what the batch's took goes back before tables are built.
    fp_state, shingles = fp_all.take(state_rows(label, ns)), fp_all.n_shingles[ns:]
    lsh = (cands.bands, cands.rows)
    del fp_all, containment_to, text_hash, cands, scores, multi, m, rank, head_key, meta, words, pub_ns, inter, sz, idx
    del tl
    release_unused_memory()

    with sl.stage("write") as st:
        # stories/ is finished on a thread of its own while the state is written.
        finish_stories: list = []
        try:
            counts = write_tables(staging, night, spills=spill2, label=label, sim=sim, con=con, relation=relation,
                                  story_ids=story_ids, fp_state=fp_state, shingles=shingles, window=window,
                                  reject_tables=reject_tables,
                                  headline_hash=headline_hash, finish_later=finish_stories)
        except StateError as e:  # the window's members are read here (Window.members_of)
            raise StateFailed(str(e)) from None
        try:
            state_canon, state_members = counts.pop("_state_canonicals"), counts.pop("_state_members")
            st.update(**counts)
            top_chrome = clean.top_removed(removed_lines, 50)
            model = read_model()
            state_meta = write_night(staging.state_dir, night, state_canon, state_members,
                                     model, model.outlet_stories, top_chrome, fingerprint_settings(d),
                                     lsh=lsh, fingerprints=fp_state)
            st.update(state_clusters=state_meta["rows"]["canonicals"])
        finally:
            for finish in finish_stories:
                finish()

    counts, manifest = finish_night(settings, staging, night, t_start, NightFigures(
        files=files, stats=stats, emptied=emptied, html=html_count, stages=sl.stages, removed_by_outlet=chrome_removed,
        top_chrome=top_chrome, bands=lsh[0], rows=lsh[1], window_nights=window.nights,
        state_version=state_meta["version"], sha256s=list(sha256s), text_loss=loss,
        extra={"engine": "local"}, checks=feed_checks))
    return RunResult(night, Path(settings.output.path), counts, manifest)
