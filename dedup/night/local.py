"""The local engine: one night's stages on this machine, in order.

read -> clean -> [state window, learned chrome] -> clean(finish) + fingerprint -> candidates ->
verify -> cluster -> write. Each stage reports its own counts and seconds (``StageLog``), which
land in the night's manifest. Text is held one chunk at a time: the read stage spills prepared
chunks to the staging folder, the clean and fingerprint stages stream them back, and from then on
the batch is numbers (signatures, shingle sets, ranks, labels) until the write stage streams the
chunks once more to attach cluster ids. The lock, staging and commit are ``dedup.night.run``'s.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.config import Settings
from dedup.errors import StateError, StateFailed
from dedup.night.figures import NightFigures, Progress, RunResult, StageLog, peak_rss_mb
from dedup.night.manifest import finish_night
from dedup.night.policy import check_reject_ratio
from dedup.night.staging import Staging, read_spill, write_spill
from dedup.night.state import load_window, write_night
from dedup.night.write import write_tables
from dedup.schemas import REJECT_SCHEMA
from dedup.stages import candidates as cand
from dedup.stages import clean, cluster, verify
from dedup.stages.chrome import ChromeModel, ReportSets
from dedup.stages.fingerprint import Fingerprints, fingerprint, hash_strings, number_sequences
from dedup.stages.read import ReadStats, discover, read_chunks, sha256_file
from dedup.stages.reasons import EMPTIED, WALL_ONLY
from dedup.stages.text.lines import Lines

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


@dataclass
class ReadOutput:
    spills: list[Path]
    rejects: list[pa.Table]
    chrome: ChromeModel
    html: int


def read_stage(settings: Settings, staging: Staging, files, stats: ReadStats, sl: StageLog) -> ReadOutput:
    """Read the batch, prepare each chunk's text (HTML, Unicode) and count chrome candidates;
    chunks are spilled to the staging folder so that only a few are in memory at once."""

    def prepare_chunk(i: int, records: pa.Table):
        # On a worker thread: Arrow compute and Parquet writing release the GIL.
        text, is_html = clean.prepare(records.column("body").combine_chunks())
        records = records.drop_columns(["body"]).append_column("text", text).append_column("was_html", pa.array(is_html))
        # Split and measured once: learning chrome here and cleaning later both need the lines.
        lines = Lines.split(text)
        seen = ChromeModel()
        p = staging.work / f"read-{i:05d}.arrow"
        if settings.chrome.enabled:
            # The (key, story) entries are kept for the second learning pass (chrome_stage).
            ek, es = seen.observe(records.column("outlet").combine_chunks(), lines)
            write_spill(pa.table({"key": ek, "story": es}), _entries_spill(p))
        write_spill(records, p)
        write_spill(lines.to_table(), _lines_spill(p))
        return p, seen, int(is_html.sum())

    out = ReadOutput([], [], ChromeModel(), 0)
    seen_parts: list[ChromeModel] = []

    def chunks():
        for i, (records, rejects) in enumerate(
            read_chunks(files, settings.input, settings.output.raw_max_chars, settings.run.chunk_size, stats)
        ):
            progress.update(records.num_rows + rejects.num_rows)
            out.rejects.append(rejects)
            if records.num_rows:
                yield i, records

    with sl.stage("read", files=len(files)) as st, ThreadPoolExecutor(max_workers=settings.run.workers) as pool:
        progress = Progress("read", "records")
        for p, seen, nh in bounded_map(pool, prepare_chunk, chunks(), settings.run.workers):
            out.spills.append(p)
            seen_parts.append(seen)
            out.html += nh
        progress.close()
        out.chrome = ChromeModel.combine(seen_parts)
        st.update(records=stats.records, accepted=stats.accepted, rejected=stats.rejected, html=out.html)
    return out


def chrome_stage(settings: Settings, r: ReadOutput, window: ChromeModel, sl: StageLog) -> tuple[ChromeModel, ChromeModel]:
    """The second learning pass over the spilled lines, once every story count (tonight's and the
    window's) is known. Returns tonight's model (stored in the state) and the model cleaning uses
    (tonight's and the window's)."""
    ch = settings.chrome
    if not ch.enabled:
        return r.chrome, r.chrome
    known = ChromeModel.combine([r.chrome, window])

    def reports_of(p: Path):
        outlets = read_spill(p).column("outlet").combine_chunks()
        lines = Lines.from_table(read_spill(_lines_spill(p)), len(outlets))
        e = read_spill(_entries_spill(p))
        entries = (e.column("key").to_numpy(), e.column("story").to_numpy())
        return known.observe_reports(outlets, lines, ch.min_stories, entries)

    with sl.stage("chrome") as st, ThreadPoolExecutor(max_workers=settings.run.workers) as pool:
        tonight = r.chrome.with_reports(ReportSets.combine(list(bounded_map(pool, reports_of, r.spills,
                                                                           settings.run.workers))))
        model = ChromeModel.combine([tonight, window])
        st.update(candidate_keys=int((known.stories >= ch.min_stories).sum()), learned=model.n_learned(ch.min_stories))
    return tonight, model


@dataclass
class CleanOutput:
    spills: list[Path]
    fingerprints: list[Fingerprints]
    meta: pa.Table | None  # story_id, published_at, words, text_hash, headline_hash, numbers per story
    rejects: list[pa.Table]
    chrome_removed: dict[str, int]
    removed_lines: list[pa.Table]

    @property
    def n(self) -> int:
        return sum(len(f) for f in self.fingerprints)


def clean_stage(settings: Settings, staging: Staging, spills: list[Path], model: ChromeModel, total: int,
                sl: StageLog) -> CleanOutput:
    """Clean each chunk on worker threads (furniture, chrome, house style) and fingerprint it on
    this one (numba's own threads); write the cleaned chunks aside for the write stage."""
    ch, d = settings.chrome, settings.dedup

    def clean_chunk(p: Path):
        records = read_spill(p)
        outlets = records.column("outlet").combine_chunks()
        lines = Lines.from_table(read_spill(_lines_spill(p)), records.num_rows)
        c = clean.finish_lines(lines, outlets, model, ch, settings.language)
        ok = c.words >= max(settings.input.min_body_words, 1)
        bad = records.filter(pa.array(~ok))
        rejected = pa.table(
            {
                "source": bad.column("source"),
                "record": bad.column("record"),
                "story_id": bad.column("story_id"),
                "reason": pa.array(np.where(c.wall_only[~ok], WALL_ONLY, EMPTIED).tolist(), pa.string()),
                "raw": pc.utf8_slice_codeunits(bad.column("text"), 0, settings.output.raw_max_chars).cast(pa.string()),
            },
            schema=REJECT_SCHEMA,
        )
        keep = pa.array(ok)
        cleaned = (
            records.drop_columns(["text"]).filter(keep)
            .append_column("body_clean", c.body_clean.filter(keep).cast(pa.large_string()))
            .append_column("agency", c.agency.filter(keep))
            .append_column("dateline", c.dateline.filter(keep))
            .append_column("language", c.language.filter(keep))
            .append_column("words", pa.array(c.words[ok]))
            .append_column("chrome_lines_removed", pa.array(c.chrome_lines[ok].astype(np.int64)))
        )
        removed = pa.table({"outlet": outlets.fill_null(""), "n": pa.array(c.chrome_lines)}).group_by("outlet").aggregate(
            [("n", "sum")])
        return cleaned, c.fp_text.filter(keep), rejected, removed, (c.removed, c.learned_removed)

    out = CleanOutput([], [], None, [], {}, [])
    meta_parts: list[pa.Table] = []
    t_fp = 0.0
    learned_removed = 0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.run.workers) as pool:
        progress = Progress("clean+fingerprint", "stories", total=total)
        for cleaned, fp_text, rejected, removed, (shown, learned) in bounded_map(
                pool, clean_chunk, spills, settings.run.workers):
            out.removed_lines.append(shown)
            learned_removed += learned
            progress.update(cleaned.num_rows + rejected.num_rows)
            if rejected.num_rows:
                out.rejects.append(rejected)
            for o, k in zip(removed.column("outlet").to_pylist(), removed.column("n_sum").to_pylist()):
                if k:
                    out.chrome_removed[o] = out.chrome_removed.get(o, 0) + k
            t1 = time.perf_counter()
            fp = fingerprint(fp_text, num_perm=d.num_perm, shingle_size=d.shingle_size, seed=d.seed)
            nums = number_sequences(fp_text, verify.numbers_wanted(cleaned.column("words").to_numpy(), d.short_words))
            t_fp += time.perf_counter() - t1
            out.fingerprints.append(fp)
            meta_parts.append(pa.table({
                "story_id": cleaned.column("story_id"),
                "published_at": cleaned.column("published_at"),
                "words": cleaned.column("words"),
                "text_hash": pa.array(fp.text_hash),
                "headline_hash": pa.array(hash_strings(pc.utf8_lower(cleaned.column("headline").combine_chunks()))),
                "numbers": pa.LargeListArray.from_arrays(pa.array(nums[0]), pa.array(nums[1])),
            }))
            p2 = staging.work / f"clean-{len(out.spills):05d}.arrow"
            write_spill(cleaned, p2)
            out.spills.append(p2)
        progress.close()
    for p in spills:
        p.unlink()
        _lines_spill(p).unlink()
        _entries_spill(p).unlink(missing_ok=True)
    out.meta = pa.concat_tables(meta_parts) if meta_parts else None
    n, emptied = out.n, sum(r.num_rows for r in out.rejects)
    sl.stages["clean"] = {"seconds": round(time.perf_counter() - t0 - t_fp, 3), "peak_rss_mb": peak_rss_mb(),
                          "stories": n, "emptied": emptied,
                          # (outlet, line) keys seen in >= chrome.min_stories stories, before the min_share test
                          "learned_chrome_lines": model.n_learned(ch.min_stories),
                          "chrome_lines_removed": int(sum(out.chrome_removed.values())),
                          "chrome_lines_removed_learned": learned_removed}
    sl.stages["fingerprint"] = {"seconds": round(t_fp, 3), "peak_rss_mb": peak_rss_mb(), "stories": n,
                                "shingles": sum(int(f.values.shape[0]) for f in out.fingerprints),
                                "num_perm": d.num_perm, "shingle_size": d.shingle_size}
    log.info("stage clean: %.2fs, fingerprint: %.2fs, stories=%d", sl.stages["clean"]["seconds"], t_fp, n)
    return out


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
    reject_tables = r.rejects
    check_reject_ratio(stats.records, stats.rejected, stats.reasons, settings.input.max_reject_ratio, night)

    with sl.stage("state") as st:
        try:
            window = load_window(settings.state_path, night, settings.state.retention_days)
        except StateError as e:
            raise StateFailed(str(e)) from None
        st.update(nights=len(window.nights), clusters=window.n)
    model, clean_model = chrome_stage(settings, r, window.chrome, sl)

    c = clean_stage(settings, staging, r.spills, clean_model, stats.accepted, sl)
    reject_tables += c.rejects
    emptied = Counter()
    for t in c.rejects:
        vc = pc.value_counts(t.column("reason"))
        emptied.update(dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist())))
    # Cleaning can empty records too (all chrome, only a wall): they count toward the ratio.
    check_reject_ratio(stats.records, stats.rejected + emptied.total(), stats.reasons + emptied,
                       settings.input.max_reject_ratio, night)
    chrome_removed, removed_lines, spill2, meta, fps, n = (
        c.chrome_removed, c.removed_lines, c.spills, c.meta, c.fingerprints, c.n)
    html_count = r.html

    # Tonight's stories come after the window's canonicals: rows [0, ns) are earlier nights'
    # clusters, which keep their ids and canonicals; rows [ns, ns + n) are tonight's stories.
    ns = window.n
    wc = window.canonicals
    fp_all = Fingerprints.concat(
        [Fingerprints(window.signatures(d.num_perm), *window.shingle_sets(), wc.column("words").to_numpy(),
                      wc.column("text_hash").to_numpy())] + fps, d.num_perm)
    fps.clear()  # one copy of the batch's fingerprints from here on
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
        rank = np.concatenate([
            cluster.preference_rank(fp_all.n_shingles[:ns], pub_ns[:ns], story_ids[:ns].astype(str)),
            cluster.preference_rank(fp_all.n_shingles[ns:], pub_ns[ns:], story_ids[ns:].astype(str)) + ns,
        ]).astype(np.int64)
        # Exact text always pairs; identical headlines pair among short stories only.
        short = words < d.short_words
        head_key = np.where(short & (headline_hash != 0), headline_hash, np.arange(N, dtype=np.uint64) | np.uint64(1 << 63))
        cands = cand.generate(fp_all.signatures, rank, threshold=d.candidate_threshold, max_bucket=d.max_bucket,
                              extra_keys=[text_hash, head_key])
        st.update(pairs=len(cands), bands=cands.bands, rows=cands.rows, big_buckets=cands.big_buckets)
        if cands.big_buckets:
            log.warning("%d LSH buckets over dedup.max_bucket=%d: chrome may have slipped through", cands.big_buckets, d.max_bucket)

    with sl.stage("verify") as st:
        scores = verify.score_pairs(
            fp_all.offsets, fp_all.values, cands.left, cands.right, words=words, text_hash=text_hash,
            headline_hash=headline_hash, threshold=d.threshold, containment_threshold=d.containment_threshold,
            short_words=d.short_words,
            numbers=verify.numbers_of(meta.column("numbers") if n else None, ns, words, d.short_words),
        )
        # A live blog or roundup is not a container of the reports it quotes (verify.multi_topic_edges).
        multi = verify.multi_topic_edges(fp_all.offsets, fp_all.values, cands.left, cands.right, scores.jaccard,
                                         scores.match, d.threshold, rank=rank)
        st.update(pairs=len(cands), matches=int(scores.match.sum()), multi_topic_dropped=int(multi.sum()))

    with sl.stage("cluster") as st:
        m = scores.match & ~multi
        label = cluster.star_clusters(N, rank, cands.left[m], cands.right[m], fixed=fixed)
        label = cluster.best_canonical(label, rank, cands.left[m], cands.right[m], scores.jaccard[m],
                                       scores.containment[m], d.threshold, fixed=fixed)

        def containment_to(s, c):
            inter = verify.intersections(fp_all.offsets, fp_all.values, s, c)
            return inter / np.maximum(fp_all.n_shingles[s], 1)

        if N:
            long_pair = (words[cands.left] >= d.short_words) & (words[cands.right] >= d.short_words)
            label = cluster.rescue(label, cands.left, cands.right, m & long_pair, containment_to,
                                   d.rescue_containment, movable=~fixed)
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

    with sl.stage("write") as st:
        # stories/ is finished on a thread of its own while the state is written.
        finish_stories: list = []
        counts = write_tables(staging, night, spills=spill2, label=label, sim=sim, con=con, relation=relation,
                              story_ids=story_ids, fp_all=fp_all, window=window, reject_tables=reject_tables,
                              headline_hash=headline_hash, finish_later=finish_stories)
        try:
            state_canon, state_members = counts.pop("_state_canonicals"), counts.pop("_state_members")
            st.update(**counts)
            top_chrome = clean.top_removed(removed_lines, 50)
            state_meta = write_night(staging.state_dir, night, state_canon, state_members,
                                     model, model.outlet_stories, top_chrome)
            st.update(state_clusters=state_meta["rows"]["canonicals"])
        finally:
            for finish in finish_stories:
                finish()

    counts, manifest = finish_night(settings, staging, night, t_start, NightFigures(
        files=files, stats=stats, emptied=emptied, html=html_count, stages=sl.stages, removed_by_outlet=chrome_removed,
        top_chrome=top_chrome, bands=cands.bands, rows=cands.rows, window_nights=window.nights,
        state_version=state_meta["version"], sha256s=list(sha256s), extra={"engine": "local"}))
    return RunResult(night, Path(settings.output.path), counts, manifest)
