"""Clean stage: from the body as delivered to the story text the analyst sees.

Two steps, because chrome is learned over the whole batch between them:

``prepare``  (per chunk, before learning)
    HTML pages and fragments to text (``dedup.stages.text.html``), text repaired (entities, mojibake,
    U+FFFD, invisible characters: ``dedup.stages.text.repair``), Unicode NFC, control characters and NULs
    removed, exotic spaces and line breaks made plain. Output: one line per paragraph, and which path
    produced each story's text (``body_source``).
``finish``   (per chunk, after learning)
    wire furniture out (``dedup.stages.text.wire``: agency and dateline become columns), chrome out
    (``dedup.stages.chrome``), lines joined back into ``body_clean``; then the fingerprint text
    (``dedup.stages.text.normalize``) and its word count.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.config import ChromeSettings, LanguageSettings
from dedup.stages.chrome import (
    KEPT, LEARNED_OUTLET, RULE_NAMES, ChromeModel, chrome_rules, strip_widgets, wall_lines,
)
from dedup.stages import text_loss
from dedup.stages.language import detect as detect_language
from dedup.stages.text import html as _html
from dedup.stages.text.lines import Lines
from dedup.stages.text.repair import repair_rows
from dedup.stages.text.normalize import (
    FLAG_AMP, FLAG_GT, FLAG_LT, FLAG_NONASCII, FLAG_NORMALIZE, FLAG_ODD, fingerprint_text, flags_of, normalize_rows,
    replace_rows,
)
from dedup.stages.text.wire import credit_datelines, strip_furniture, strip_late_dateline


_ODD = (r"[\r\x{2028}\x{2029}\x{85}\x0b\x0c\x00-\x08\x0e-\x1f\x7f\x{200b}-\x{200d}\x{feff}\x{ad}"
        r"\t\x{a0}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]")


# ``body_source`` of a body that was not markup (the HTML paths are ``dedup.stages.text.html.SOURCES``).
PLAIN_SOURCE = "text"


def prepare(bodies: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Plain text per body (paragraphs on lines) and a mask of the bodies that were HTML."""
    text, is_html, _ = prepare_sourced(bodies)
    return text, is_html


def prepare_sourced(bodies: pa.Array, map_pages: Callable = map) -> tuple[pa.Array, np.ndarray, pa.Array]:
    """``prepare`` plus, per body, the path that produced its text (string array): ``"text"`` for a
    body that was not markup, else the extraction path (``dedup.stages.text.html.SOURCES``).

    ``map_pages(fn, pages)`` applies the extraction to the HTML bodies, in order: Python's ``map``
    here, worker processes in the local engine (``dedup.night.processes.PageWorkers.map``)."""
    if isinstance(bodies, pa.ChunkedArray):
        bodies = bodies.combine_chunks()
    # One compiled pass flags what each body needs, so each fix below (each a copy of the column)
    # touches only the bodies that need it: markup, Unicode normalization, odd characters.
    flags = flags_of(bodies, "NFC")
    # Only bodies with both "<" and ">" can be markup: the rest skip the per-body check.
    maybe = np.flatnonzero((flags & FLAG_LT) & ((flags & FLAG_GT) >> 1))
    is_html = np.zeros(len(bodies), dtype=bool)
    if maybe.size:
        cand = pc.take(bodies, pa.array(maybe))
        maybe = maybe[_html.maybe_html(cand)]
        is_html[maybe] = [_html.looks_like_html(b) for b in pc.take(bodies, pa.array(maybe)).to_pylist()]
    text = bodies
    source = np.full(len(bodies), PLAIN_SOURCE, dtype=object)
    if is_html.any():
        rows = np.flatnonzero(is_html)
        got = list(map_pages(_html.html_to_text_sourced, pc.take(bodies, pa.array(rows)).to_pylist()))
        source[rows] = [g[1] for g in got]
        text = replace_rows(bodies, rows, pa.array([g[0] for g in got], pa.large_string()))
    # Repair after extraction: entities a page escaped twice come out of the extractor escaped once.
    # Only a body with a "&" or a non-ASCII character can need repair (extracted pages are new text).
    text, repaired = repair_rows(text, np.flatnonzero((flags & (FLAG_AMP | FLAG_NONASCII)).astype(bool) | is_html))
    if is_html.any() or len(repaired):
        flags = flags_of(text, "NFC")
    rows = np.flatnonzero(flags & FLAG_NORMALIZE)
    if len(rows):
        text = normalize_rows(text, "NFC", flags)
        # Normalizing changes characters, so those strings are looked at again for odd ones.
        flags[rows] = flags_of(pc.take(text, pa.array(rows)), "NFC")
    odd = np.flatnonzero(flags & FLAG_ODD)
    if len(odd):
        fix = pc.take(text, pa.array(odd))
        fix = pc.replace_substring_regex(fix, r"\r\n?|[\x{2028}\x{2029}\x{85}\x0b\x0c]", "\n")
        fix = pc.replace_substring_regex(fix, r"[\x00-\x08\x0e-\x1f\x7f\x{200b}-\x{200d}\x{feff}\x{ad}]", "")
        fix = pc.replace_substring_regex(fix, r"[\t\x{a0}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]+", " ")
        text = replace_rows(text, odd, fix)
    return text, is_html, pa.array(source.tolist(), pa.string())


def observe_chrome(model: ChromeModel, outlets: pa.Array, text: pa.Array) -> None:
    """``ChromeModel.observe`` (the first learning pass) on prepared text."""
    model.observe(outlets, Lines.split(text))


def observe_reports(model: ChromeModel, outlets: pa.Array, text: pa.Array, min_stories: int):
    """``ChromeModel.observe_reports`` (the second learning pass) on prepared text."""
    return model.observe_reports(outlets, Lines.split(text), min_stories)


def learn_chrome(outlets: pa.Array, text: pa.Array, min_stories: int) -> ChromeModel:
    """Both learning passes over one batch of prepared text (a night makes them over all its
    chunks: ``dedup.night.local.chrome_stage``)."""
    lines = Lines.split(text)
    model = ChromeModel()
    model.observe(outlets, lines)
    return model.with_reports(model.observe_reports(outlets, lines, min_stories))


@dataclass
class Cleaned:
    body_clean: pa.Array
    fp_text: pa.Array
    agency: pa.Array
    dateline: pa.Array
    chrome_lines: np.ndarray  # lines removed as chrome, per story
    words: np.ndarray  # words in body_clean, per story
    removed: pa.Table  # (outlet, line, stories): the chrome lines removed, for people to inspect
    learned_removed: int = 0  # lines removed because the outlet's learned chrome had them
    # per story: it had a consent/JavaScript/paywall/bot wall and nothing else was left (bool)
    wall_only: np.ndarray | None = None
    # per story, list<uint32> keys of the lines kept and removed (``dedup.stages.text_loss``)
    kept_keys: pa.Array | None = None
    removed_keys: pa.Array | None = None
    language: pa.Array | None = None  # ISO 639 code per story (string), all null when not detected
    # per story, int64: byte offset in body_clean where its lede begins (``_lede_from``), 0 = the start
    lede_from: np.ndarray | None = None


def _leading_run(story: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per story (int64, indexed by story number): how many of its first lines are ``mask`` lines
    in a row (``story`` sorted, one entry per line)."""
    n_stories = int(story[-1]) + 1 if story.size else 0
    out = np.zeros(n_stories, np.int64)
    if not mask.any():
        return out
    first = np.searchsorted(story, np.arange(n_stories))
    pos = np.arange(story.size) - first[story]  # a line's place in its story
    # The run ends at a story's first line that is not a mask line.
    breaks = np.flatnonzero(~mask)
    end = np.full(n_stories, np.iinfo(np.int64).max)
    np.minimum.at(end, story[breaks], pos[breaks])
    size = np.bincount(story, minlength=n_stories)
    return np.minimum(end, size)


def _lede_from(kept: Lines, leading: np.ndarray) -> np.ndarray:
    """Per story (int64): the byte offset in ``kept.join()`` after its first ``leading`` lines
    (edge lines kept as the report's own: a live blog's title and first entry headline, a label over a
    table; ``chrome.EDGE_KNOWN_STORIES``). The lede sketch (``dedup.stages.fingerprint.LEDE_SHINGLES``)
    starts there, where it started before such lines were kept, so a page still opens, for
    ``verify.multi_topic_edges``, with the lede of the report it quotes first."""
    out = np.zeros(kept.n_stories, np.int64)
    leading = np.pad(leading, (0, max(0, kept.n_stories - len(leading))))[:kept.n_stories]
    if not leading.any() or not len(kept.text):
        return out
    size = pc.binary_length(kept.text).to_numpy(zero_copy_only=False).astype(np.int64) + 1  # with its newline
    start = np.append(np.cumsum(size) - size, size.sum())
    first = np.searchsorted(kept.story, np.arange(kept.n_stories))
    count = np.bincount(kept.story, minlength=kept.n_stories)
    take = np.minimum(leading, count)
    has = np.flatnonzero((take > 0) & (take < count))  # a story of nothing but such lines keeps 0
    out[has] = start[first[has] + take[has]] - start[first[has]]
    return out


def finish(text: pa.Array, outlets: pa.Array, model: ChromeModel | None, chrome: ChromeSettings,
           language: LanguageSettings | None = None, headlines: pa.Array | None = None) -> Cleaned:
    """``finish_lines`` on prepared text (one story per string)."""
    return finish_lines(Lines.split(text), outlets, model, chrome, language, headlines)


def _own_headline(lines: Lines, headlines: pa.Array | None) -> np.ndarray:
    """Lines that repeat their record's headline field (bool per line; ``Lines.key_hash`` equality).
    Removing them is not text-loss: the page's title is in the ``headline`` column, and a live blog
    that quotes it as an entry title keeps it rightly."""
    out = np.zeros(len(lines.text), bool)
    if headlines is None or not len(lines.text):
        return out
    heads = Lines.split(headlines.cast(pa.large_string()))
    key = np.zeros(lines.n_stories, np.uint64)
    one = np.r_[True, heads.story[1:] != heads.story[:-1]] if len(heads.story) else np.zeros(0, bool)
    has = np.zeros(lines.n_stories, bool)
    key[heads.story[one]] = heads.key_hash()[one]
    has[heads.story[one]] = True
    return has[lines.story] & (lines.key_hash() == key[lines.story])


def finish_lines(lines: Lines, outlets: pa.Array, model: ChromeModel | None, chrome: ChromeSettings,
                 language: LanguageSettings | None = None, headlines: pa.Array | None = None) -> Cleaned:
    """``finish`` from the text already split into lines (and measured, when the caller kept the
    measurements from ``observe_chrome``: they are a third of the work). ``language``: the
    detector's settings (None or ``detect`` off: ``Cleaned.language`` is all null). ``headlines``:
    the records' headlines (string per story, null = none), which tell the page's headline from the
    report's own lines at the page edges (``chrome.chrome_rules``). Both engines call this."""
    generic = chrome.generic
    if generic:
        lines = strip_widgets(lines)
    credited = credit_datelines(lines)
    lines, agency, dateline, _, dated = strip_furniture(lines)
    walls = wall_lines(lines) if generic else np.zeros(len(lines.text), bool)
    rules = chrome_rules(lines, outlets, model if chrome.enabled else None, chrome, walls=walls, headlines=headlines,
                         dated=dated)
    removed, learned_hits = rules.removed, rules.learned_hits
    kept = strip_late_dateline(lines.filter(~removed), agency, dateline)
    none = np.equal(dateline, None)
    dateline[none] = credited[none]
    body_clean = kept.join()
    lede_from = (_lede_from(kept, _leading_run(lines.story[~removed], rules.own_edge[~removed]))
                 if rules.own_edge is not None else np.zeros(lines.n_stories, np.int64))
    # Words per story from the per-line counts already computed, not another pass over the text.
    words = np.bincount(kept.story, weights=kept.words(), minlength=kept.n_stories).astype(np.int64)
    short = removed & lines.at_most_chars(200)
    shown = pa.table({
        "outlet": pc.take(outlets.fill_null(""), pa.array(lines.story[short])).cast(pa.string()),
        "line": lines.text.filter(pa.array(short)).cast(pa.string()),
    }).group_by(["outlet", "line"]).aggregate([("line", "count")]).rename_columns(["outlet", "line", "stories"])
    fp_text = fingerprint_text(body_clean)
    if lede_from.any():
        # Normalising non-ASCII text can move bytes: such a story keeps its lede at the start.
        moved = pc.not_equal(pc.binary_length(fp_text), pc.binary_length(body_clean)).to_numpy(zero_copy_only=False)
        lede_from[moved] = 0
    return Cleaned(
        body_clean=body_clean,
        fp_text=fp_text,
        agency=pa.array(agency, pa.string()),
        dateline=pa.array(dateline, pa.string()),
        chrome_lines=lines.count_per_story(removed),
        words=words,
        removed=shown,
        learned_removed=learned_hits,
        wall_only=(lines.count_per_story(walls) > 0) & (words == 0),
        kept_keys=text_loss.line_keys(lines.key_hash(), lines.story, ~removed, lines.n_stories),
        removed_keys=text_loss.line_keys(lines.key_hash(), lines.story, removed & ~_own_headline(lines, headlines),
                                         lines.n_stories),
        lede_from=lede_from,
        language=(detect_language(body_clean, language.sample_chars, language.labels)
                  if language is not None and language.detect
                  else pa.nulls(len(body_clean), pa.string())),
    )


FURNITURE_RULE = "wire furniture (a credit, byline or dateline line: dedup.stages.text.wire)"


def why_removed(text: str, outlet: str | None, model: ChromeModel | None, chrome: ChromeSettings,
                headline: str | None = None) -> list[dict]:
    """Each line ``finish`` removes from one prepared story, and why: a list of
    ``{"line": str, "rule": str, "reports": int}`` in text order. ``rule`` is a ``RULE_NAMES``
    entry, or ``FURNITURE_RULE`` for a line that went with the wire furniture; ``reports`` is, for
    a learned rule, the number of different reports the run found carrying the line (or its
    lead-in), else 0. Runs the same steps as ``finish_lines`` with the model the night used, so
    it says what the run did (``dedup explain``)."""
    lines = Lines.split(pa.array([text], pa.large_string()))
    before = lines.text.to_pylist()
    outlets = pa.array([outlet], pa.string())
    if chrome.generic:
        lines = strip_widgets(lines)
    lines, _, _, _, dated = strip_furniture(lines)
    walls = wall_lines(lines) if chrome.generic else np.zeros(len(lines.text), bool)
    r = chrome_rules(lines, outlets, model if chrome.enabled else None, chrome, walls=walls,
                     headlines=pa.array([headline], pa.string()), dated=dated)
    after = lines.text.to_pylist()
    out, j = [], 0
    # Furniture drops whole lines or cuts a piece off one; walk both lists in order.
    for t in before:
        if j < len(after) and (after[j] == t or (after[j] and after[j] in t)):
            if r.rule[j] != KEPT:
                out.append({"line": after[j], "rule": RULE_NAMES[r.rule[j]],
                            "reports": int(r.reports[j]) if r.rule[j] >= LEARNED_OUTLET else 0})
            j += 1
        else:
            out.append({"line": t, "rule": FURNITURE_RULE, "reports": 0})
    return out


def top_removed(parts: list[pa.Table], per_outlet: int) -> pa.Table:
    """The chrome lines removed most often, per outlet (outlet, line, stories)."""
    if not parts:
        return pa.table({"outlet": pa.array([], pa.string()), "line": pa.array([], pa.string()),
                         "stories": pa.array([], pa.int64())})
    t = pa.concat_tables(parts).group_by(["outlet", "line"]).aggregate([("stories", "sum")]).rename_columns(
        ["outlet", "line", "stories"])
    if len(t) > per_outlet and not t.column("stories").null_count:
        # Sorting every (outlet, line) by its strings cost more than the rest (0.23 s at 200k stories):
        # only lines with at least their outlet's per_outlet-th largest count can be kept, so the
        # others are dropped first (ties kept: the line order decides among them below).
        code = pc.dictionary_encode(t.column("outlet").combine_chunks(), null_encoding="encode").indices.to_numpy()
        stories = t.column("stories").to_numpy()
        o = np.lexsort((-stories, code))
        c = code[o]
        starts = np.r_[0, np.flatnonzero(c[1:] != c[:-1]) + 1]
        nth = np.arange(len(o)) - np.repeat(starts, np.diff(np.r_[starts, len(o)]))
        least = np.full(int(code.max()) + 1, np.iinfo(np.int64).max)
        np.minimum.at(least, c[nth < per_outlet], stories[o][nth < per_outlet])
        t = t.filter(pa.array(stories >= least[code]))
    t = t.sort_by([("outlet", "ascending"), ("stories", "descending"), ("line", "ascending")])
    o = t.column("outlet").to_numpy(zero_copy_only=False)
    starts = np.r_[0, np.flatnonzero(o[1:] != o[:-1]) + 1] if len(o) else np.empty(0, np.int64)
    nth = np.arange(len(o)) - np.repeat(starts, np.diff(np.r_[starts, len(o)])) if len(o) else np.empty(0, np.int64)
    return t.filter(pa.array(nth < per_outlet))
