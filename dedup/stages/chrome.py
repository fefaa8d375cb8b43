"""Outlet chrome: the page furniture an outlet wraps around every story it runs.

Three layers, each cheap and columnar:

1. *Learned* chrome. A line (compared by ``Lines.key``: case, digits, spacing ignored) that
   recurs in at least ``chrome.min_stories`` different stories of one outlet is that outlet's
   chrome, whatever its wording: subscription blocks, disclaimers, share bars, newsletters.
   A story's own paragraph recurs only as often as the outlet ran the story, so the default of 3
   keeps a story that an outlet ran twice intact. Counts are per batch (and, with state, across
   nights: ``ChromeModel.merge``).
2. *Generic* chrome. Short lines of the kinds every outlet has ("Subscribe ...", "Disclaimer:",
   "First Published", "Next Story", "Also read:", "Share on ..."), recognised by pattern, for
   outlets too small in the batch for learning to see them.
3. *Edges.* Leading and trailing runs of non-prose lines (labels, prices, bullets, dates) around
   the story's first and last sentences are dropped. A body with no prose line at all (a table of
   figures) keeps its lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.stages.text.lines import Lines

# Only lines up to this many characters are counted for learning: chrome lines are short, and
# skipping long paragraphs keeps the counting pass small.
MAX_CHROME_LINE_CHARS = 400
# Generic patterns apply to lines of at most this many words, so a story paragraph that merely
# mentions "subscribe" is never touched.
MAX_GENERIC_WORDS = 25

GENERIC_PATTERNS = [
    r"^\W*subscribe\b",
    r"\bsubscri(be|ption)\b.*\b(now|today|plans?|access|digital|offer)\b",
    r"^\W*disclaimer\b",
    r"^\W*(first )?published\s*(on|at)?\s*:",
    r"^\W*(last )?updated\s*(on|at)?\s*:",
    r"^\W*next story\W*$",
    r"^\W*(previous|prev) story\W*$",
    r"^\W*(also read|read also|read more|related|recommended|see also|more from this section|trending( now)?|"
    r"most read|most popular|top stories|editor'?s picks?|you may also like|don'?t miss)\b",
    r"^\W*(share|follow us|like us)\b.*\b(facebook|twitter|whatsapp|linkedin|telegram|email|x)\b",
    r"^\W*(facebook|twitter|whatsapp|linkedin|telegram|email|print)(\W+(facebook|twitter|whatsapp|linkedin|telegram|email|print|x))*\W*$",
    r"^\W*(advertisement|sponsored|image|photo|video|file photo|representational image|click here\b.*)\W*$",
    r"^\W*(copyright|©|\(c\))\s*\d*",
    r"\ball rights reserved\b",
    r"^\W*(sign up|sign in|log ?in|register)\b.*\b(newsletter|account|free|now)\b",
    r"\b(renews automatically|cancel anytime)\b",
    r"^\W*(save \d+%|[₹$€£]\s?[\d,.]+(/month|/year)?|\d+ (months?|years?)|[\d,.]+\s?/\s?month)\W*$",
    r"^\W*(comments?|\d+ comments?|leave a comment|post a comment)\W*$",
]
_GENERIC_RE = "(" + ")|(".join(GENERIC_PATTERNS) + ")"

# A fixed lead-in before a list of other headlines or links ("More stories: A; B; C", "READ MORE |
# ...", "Related: ..."): chrome at any length when the line does not end a sentence.
LEADIN_PATTERN = (
    r"^\W*(more (stories|news|headlines|from [\w .'-]{1,40}|on this( story| topic)?|like this)|read more|also read|"
    r"read also|related( (stories|articles|news|coverage|links|content|topics))?|recommended( (for you|stories|reading))?|"
    r"see also|top (stories|headlines)|latest( (news|stories|headlines))?|trending( (now|stories))?|"
    r"most (read|popular|viewed|shared)|in other news|you may also like|editor'?s picks?|don'?t miss|"
    r"(also )?(watch|listen)( now)?|topics|tags|filed under|more on|lire aussi|à lire aussi|mehr zum thema|lesen sie auch|lee también|leia também)"
    r"\s*[:|»›>–—-]")

# Walls: what a scraper returns instead of the article (consent dialogs, JavaScript, paywall and bot
# walls, error pages). Strong phrases alone; the word "cookie(s)" only with a choice addressed to the
# reader, so a story *about* cookie rules keeps its sentences.
WALL_PATTERNS = [
    r"\bwe (value|care about|respect) your privacy\b",
    r"\b(we|our( \d+)? (partners|vendors)) (and our( \d+)? partners )?(use|store|access|set|process)\b.*\b(cookies?|personal data|your device)\b",
    r"\b(accept all|reject all|allow all( cookies)?|manage (cookies|cookie settings|preferences|options|choices|consent)|"
    r"cookie (settings|preferences|consent)|privacy settings at the bottom)\b",
    r"\bjavascript\b.{0,60}\b(disabled|turned off|switched off|not enabled|is off|not supported|required)\b",
    r"\b(enable|switch on|turn on|activate|allow) (your )?javascript\b",
    r"\b(please )?(enable|switch it on|turn it on)\b.{0,60}\b(to (read|view|use|continue))\b",
    r"\b(your|this) browser\b.{0,40}\b(is )?(not supported|out of date|outdated|blocking)\b",
    r"\b(subscribe|subscription|subscribers?|sign in|log in)\b.{0,60}\b(to (continue|keep) reading|to read (this|the full|the rest)|"
    r"to unlock|for (full|unlimited) access)\b",
    r"\bthis (article|story|content|page) is (only )?(available|reserved|exclusive) (only )?(to|for) (subscribers|members|premium)\b",
    r"\byou('ve| have) (reached|used( up)?|exceeded) (your|all your|the)( monthly)? (limit|free (articles?|stories)|article limit|\d+ free)\b",
    r"\b(are you a (robot|human)|verify (that )?you are (a )?human|unusual traffic (from|on) your|complete the (captcha|security check)|"
    r"checking your browser|enable cookies and reload|access to this page has been denied)\b",
    r"\b(page not found|404 (error|not found)|the page you (are|were|have been) looking for|this page (does not|doesn't|could not|cannot) "
    r"(exist|be found))\b",
    # German, French, Spanish, Italian, Portuguese: the same dialogs.
    r"\b(wir verwenden cookies|wir und unsere partner|datenschutzeinstellungen|alle akzeptieren|javascript ist deaktiviert|"
    r"bitte aktivieren sie javascript|nous utilisons des cookies|nos partenaires|accepter et fermer|tout accepter|"
    r"javascript est désactivé|veuillez activer javascript|utilizamos cookies|usamos cookies|aceptar todas|aceptar y cerrar|"
    r"javascript está desactivado|habilita javascript|utilizziamo (i )?cookie|accetta tutti|javascript è disabilitato|"
    r"aceitar todos|o javascript está desativado)\b",
]
_WALL_RE = "(" + ")|(".join(WALL_PATTERNS) + ")"
# Walls are a paragraph or two: longer lines are stories that quote one.
MAX_WALL_WORDS = 150
# A weather widget glued before the first line ("23°F Partly cloudy WASHINGTON (AP) - ...").
WIDGET_PATTERN = (
    r"(?i)^\s*-?\d{1,3}\s?°\s?[CF]?\s*(?:(?:mostly |partly )?(?:cloudy|sunny|clear|fair|rain|light rain|showers|snow|"
    r"fog|thunderstorms?|overcast|drizzle|windy|haze|smoke|sleet)\s*)?[|·,–-]?\s*")
WIDGET_LINES = 3


def strip_widgets(lines: Lines) -> Lines:
    """Cut a weather widget off the start of each story's first lines (a line that is only the
    widget becomes empty and is dropped)."""
    from dedup.stages.text.wire import _first_per_story

    idx = _first_per_story(np.arange(len(lines.story)), lines.story, WIDGET_LINES)
    if not len(idx):
        return lines
    head = pc.take(lines.text, pa.array(idx))
    hit = pc.match_substring_regex(head, r"^\s*-?\d{1,3}\s?°").to_numpy(zero_copy_only=False)
    if not hit.any():
        return lines
    from dedup.stages.text.normalize import replace_rows

    rows = idx[hit]
    cut = pc.replace_substring_regex(pc.take(lines.text, pa.array(rows)), WIDGET_PATTERN, "", max_replacements=1)
    out = lines.with_text(replace_rows(lines.text, rows, cut), rows)
    nonempty = pc.greater(pc.binary_length(out.text), 0).to_numpy(zero_copy_only=False)
    return out if nonempty.all() else out.filter(nonempty)


def wall_lines(lines: Lines) -> np.ndarray:
    """Lines that are a consent, JavaScript, paywall or bot wall, or an error page (bool mask)."""
    idx = np.flatnonzero(lines.words() <= MAX_WALL_WORDS)
    out = np.zeros(len(lines.text), bool)
    if len(idx):
        low = pc.utf8_lower(pc.take(lines.text, pa.array(idx)))
        out[idx[pc.match_substring_regex(low, _WALL_RE).to_numpy(zero_copy_only=False)]] = True
    return out


# Each story's report identity is a MinHash of this many values over the lines that are its own
# (``_story_sketch``); two stories are one report when any value agrees, so versions of a report
# that share half their lines still agree with probability 1 - 0.5**SKETCH.
SKETCH = 6
# Distinct reports kept per (outlet, line key), so that chunks and nights merge exactly. A line
# carried by more different reports than this is chrome whatever the exact number; further stories
# that match none of the kept ones are only counted.
MAX_REPORTS = 16
# Learning across outlets (walls one media group shares over its sites) looks only at long prose
# lines: short labels ("Net 0 vs 0 mln", "Year") recur across different reports of every wire.
CROSS_MIN_WORDS = 12
# ...and needs as many different reports as are kept: copies of one wire report in many outlets,
# each with its own dateline and house style, can look like several reports to the line-level
# identity, and walls are mostly caught by ``WALL_PATTERNS`` anyway.
CROSS_MIN_REPORTS = MAX_REPORTS
# Learned lead-ins apply to lines that list several items after them ("From our network: A | B | C"):
# a recurring label before one sentence or figure ("Note: ...") is text.
_LIST_SEPARATORS = r"[;|•·»]"
_ALL_OUTLETS = "\x00all outlets"
# Lead-in keys ("more stories:") live beside line keys in one model: a salt keeps them apart.
_PREFIX_SALT = np.uint64(0x5BD1E9955BD1E995)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


def _outlet_keys(outlets: pa.Array, stories: np.ndarray, key_hash: np.ndarray) -> np.ndarray:
    """One uint64 per (outlet of the line's story, line key)."""
    from dedup.stages.fingerprint import hash_strings

    oh = hash_strings(outlets.fill_null(""))
    return (oh[stories] * np.uint64(0x9E3779B97F4A7C15)) ^ key_hash


def _all_outlet_keys(stories: np.ndarray, key_hash: np.ndarray) -> np.ndarray:
    """As ``_outlet_keys`` with every story under one outlet: keys for learning across outlets."""
    return _outlet_keys(pa.array([_ALL_OUTLETS]), np.zeros(stories.size, np.int64), key_hash)


@numba.njit(inline="always")
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _story_sketch(story, key, words, prose, cand, n_stories, k):
    """Per story, ``k`` minimums of seeded line-key hashes over the lines that identify its report.

    Those are its prose lines (all its lines when it has none), less the *candidate* chrome lines
    (recurring in enough stories of the outlet) - unless that leaves under half of its words: then
    the story is mostly repeated text (a copy or a new version of a report the outlet ran before)
    and all of them count, so copies agree. A story with no lines gets the same empty sketch as
    every other such story."""
    out = np.full((n_stories, k), _EMPTY)
    n = story.shape[0]
    i = 0
    while i < n:
        s = story[i]
        j = i
        any_prose = False
        while j < n and story[j] == s:
            any_prose = any_prose or prose[j]
            j += 1
        wp = 0
        wo = 0
        for t in range(i, j):
            if prose[t] or not any_prose:
                wp += words[t]
                if not cand[t]:
                    wo += words[t]
        own = wo > 0 and 2 * wo >= wp
        for t in range(i, j):
            if (prose[t] or not any_prose) and not (own and cand[t]):
                for q in range(k):
                    h = _mix(key[t] + np.uint64(q + 1) * np.uint64(0x9E3779B97F4A7C15))
                    if h < out[s, q]:
                        out[s, q] = h
        i = j
    return out


@numba.njit(cache=True, nogil=True)
def _reports(keys, sk, has, extra, cap):
    """Distinct reports per key over rows sorted by key: greedy against up to ``cap`` kept
    representatives (a row is a known report when any sketch value agrees). Rows without a sketch
    (``has`` False) only add ``extra``. Returns unique keys, report counts, and the kept
    representatives (offsets per key, sketches)."""
    n = keys.shape[0]
    k = sk.shape[1]
    ukeys = np.empty(n, np.uint64)
    counts = np.zeros(n, np.int64)
    off = np.zeros(n + 1, np.int64)
    reps = np.empty((n, k), np.uint64)
    g = 0
    m = 0
    i = 0
    while i < n:
        j = i
        while j < n and keys[j] == keys[i]:
            j += 1
        start = m
        over = 0
        for t in range(i, j):
            over += extra[t]
            if not has[t]:
                continue
            known = False
            for r in range(start, m):
                for q in range(k):
                    if reps[r, q] == sk[t, q]:
                        known = True
                        break
                if known:
                    break
            if not known:
                if m - start < cap:
                    reps[m, :] = sk[t, :]
                    m += 1
                else:
                    over += 1
        ukeys[g] = keys[i]
        counts[g] = (m - start) + over
        off[g + 1] = m
        g += 1
        i = j
    return ukeys[:g], counts[:g], off[:g + 1], reps[:m]


@numba.njit(cache=True, nogil=True)
def _prefix_keys(data, offsets, max_words):
    """Per line, the key of its lead-in: the text up to a ":", "|" or "»" that follows at most
    ``max_words`` words and is followed by more text ("More stories: ...", "READ MORE | ...");
    0 when it has none. Normalized as ``Lines.key_hash`` (case, digits, spaces)."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, np.uint64)
    for i in range(n):
        s = offsets[i]
        e = offsets[i + 1]
        h = np.uint64(0xCBF29CE484222325)
        w = 0
        in_word = False
        prev_digit = False
        prev_space = False
        p = s
        while p < e and p < s + 80:
            c = data[p]
            delim = c == 58 or c == 124 or (c == 0xC2 and p + 1 < e and data[p + 1] == 0xBB)
            if delim:
                if w >= 1 and e - p > 6:
                    out[i] = _mix(h ^ np.uint64(c))
                break
            if c == 32:
                in_word = False
                prev_digit = False
                if not prev_space:
                    h = (h ^ np.uint64(32)) * np.uint64(0x100000001B3)
                prev_space = True
                p += 1
                continue
            prev_space = False
            if not in_word:
                w += 1
                in_word = True
                if w > max_words:
                    break
            if 48 <= c <= 57:
                if not prev_digit:
                    h = (h ^ np.uint64(48)) * np.uint64(0x100000001B3)
                prev_digit = True
                p += 1
                continue
            prev_digit = False
            if 65 <= c <= 90:
                c += 32
            h = (h ^ np.uint64(c)) * np.uint64(0x100000001B3)
            p += 1
    return out


def prefix_keys(lines: Lines) -> np.ndarray:
    """Lead-in key per line (uint64, 0 for none), already salted apart from line keys."""
    from dedup.stages.text.normalize import string_buffers

    pk = _prefix_keys(*string_buffers(lines.text), 4)
    return np.where(pk != 0, pk ^ _PREFIX_SALT, np.uint64(0))


def _is_list(text: pa.Array, idx: np.ndarray) -> np.ndarray:
    """Whether each of the lines ``idx`` holds at least two list separators (bool)."""
    if not idx.size:
        return np.zeros(0, bool)
    n = pc.count_substring_regex(pc.take(text, pa.array(idx)), _LIST_SEPARATORS).to_numpy(zero_copy_only=False)
    return n >= 2


def _count_candidates(okeys: np.ndarray, story: np.ndarray) -> np.ndarray:
    """Per line: how many stories carry its (outlet, line key) in this batch."""
    if not okeys.size:
        return np.zeros(0, np.int64)
    o = np.argsort(okeys, kind="stable")  # lines come in story order: ties stay in story order
    ks, ss = okeys[o], story[o]
    new_key = np.r_[True, ks[1:] != ks[:-1]]
    first = new_key | np.r_[True, ss[1:] != ss[:-1]]
    run = np.cumsum(new_key) - 1
    per_run = np.bincount(run, weights=first).astype(np.int64)
    out = np.empty(okeys.size, np.int64)
    out[o] = per_run[run]
    return out


@dataclass
class ChromeModel:
    """Per (outlet, line key): how many *different reports* carried the line; per outlet: stories
    seen. A line is chrome when it recurs across stories that are otherwise different: copies of
    one report (reruns, updates under new ids, the same page scraped twice) count once.

    Keys are 64-bit hashes (``Lines.key_hash`` mixed with the outlet), so counting is sorting
    numbers, not grouping strings. Besides the outlets' own keys the model holds keys of one
    pseudo-outlet for all outlets (long prose lines only: walls shared across a media group) and
    lead-in keys (``prefix_keys``). ``rep_offsets``/``reps`` keep up to ``MAX_REPORTS`` report
    sketches per key (uint64, ``SKETCH`` per report) so chunks and nights merge without counting
    one report twice; a model without them (an older state, the Spark engine's partial counts)
    merges by summing.
    """

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    outlet_stories: dict[str, int] = field(default_factory=dict)
    rep_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    reps: np.ndarray = field(default_factory=lambda: np.empty((0, SKETCH), np.uint64))

    @property
    def has_reps(self) -> bool:
        return self.rep_offsets.size == self.keys.size + 1

    def observe(self, outlets: pa.Array, lines: Lines, min_stories: int = 3) -> None:
        """Count, per (outlet, line key), the distinct reports among the stories carrying it.

        A story's report is judged on its own lines (``_story_sketch``): lines recurring in at
        least ``min_stories`` stories of its outlet in this batch are left out of that judgement,
        so that two different stories sharing a long subscription block still differ."""
        if not len(lines.text):
            self._count_outlets(outlets)
            return
        words, ends, _, kh = lines._line_stats()
        story = lines.story
        okeys = _outlet_keys(outlets, story, kh)
        cand = _count_candidates(okeys, story) >= min_stories
        prose = lines.is_prose()
        sk = _story_sketch(story, kh, words, prose, cand, lines.n_stories, SKETCH)
        short = lines.at_most_chars(MAX_CHROME_LINE_CHARS)
        cross = prose & (words >= CROSS_MIN_WORDS) & short
        pk = prefix_keys(lines)
        lead = short & (pk != 0) & ~ends
        lead[lead] = _is_list(lines.text, np.flatnonzero(lead))
        ek = np.concatenate([okeys[short], _all_outlet_keys(story[cross], kh[cross]),
                             _outlet_keys(outlets, story[lead], pk[lead])])
        es = np.concatenate([story[short], story[cross], story[lead]])
        order = np.lexsort((es, ek))
        ek, es = ek[order], es[order]
        first = np.r_[True, (ek[1:] != ek[:-1]) | (es[1:] != es[:-1])]
        ek, es = ek[first], es[first]
        ones = np.ones(ek.size, np.bool_)
        part = ChromeModel(*_reports_model(ek, sk[es], ones, np.zeros(ek.size, np.int64)))
        merged = ChromeModel.combine([self, part]) if self.keys.size else part
        self.keys, self.counts, self.rep_offsets, self.reps = merged.keys, merged.counts, merged.rep_offsets, merged.reps
        self._count_outlets(outlets)

    def _count_outlets(self, outlets: pa.Array) -> None:
        for vc in pc.value_counts(outlets.fill_null("")).to_pylist():
            o = vc["values"]
            self.outlet_stories[o] = self.outlet_stories.get(o, 0) + vc["counts"]

    def merge(self, other: "ChromeModel") -> "ChromeModel":
        return ChromeModel.combine([self, other])

    @staticmethod
    def combine(models: list["ChromeModel"]) -> "ChromeModel":
        """One model from many (chunks, nights) in a single pass: the kept report sketches of a
        key are merged greedily (one report seen in two chunks counts once); counts beyond them,
        and the counts of models without sketches, are summed."""
        out = ChromeModel()
        keys, sks, has, extra = [], [], [], []
        for m in models:
            if not m.keys.size:
                continue
            if m.has_reps:
                nrep = np.diff(m.rep_offsets)
                keys.append(np.repeat(m.keys, nrep))
                sks.append(m.reps)
                has.append(np.ones(m.reps.shape[0], np.bool_))
                extra.append(np.zeros(m.reps.shape[0], np.int64))
                over = m.counts - nrep
                rest = over > 0
            else:
                rest = np.ones(m.keys.size, np.bool_)
                over = m.counts
            keys.append(m.keys[rest])
            sks.append(np.full((int(rest.sum()), SKETCH), _EMPTY))
            has.append(np.zeros(int(rest.sum()), np.bool_))
            extra.append(over[rest].astype(np.int64))
        if keys:
            k = np.concatenate(keys)
            o = np.argsort(k, kind="stable")
            out.keys, out.counts, _, out.rep_offsets, out.reps = _reports_model(
                k[o], np.concatenate(sks)[o], np.concatenate(has)[o], np.concatenate(extra)[o])
        for m in models:
            for o_, n in m.outlet_stories.items():
                out.outlet_stories[o_] = out.outlet_stories.get(o_, 0) + n
        return out

    def n_learned(self, min_stories: int) -> int:
        return int((self.counts >= min_stories).sum())

    def count_of(self, keys: np.ndarray) -> np.ndarray:
        """Distinct reports that carried each (outlet, key); 0 for keys never seen."""
        if not self.keys.size:
            return np.zeros(keys.size, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.where(self.keys[pos] == keys, self.counts[pos], 0)


def _reports_model(keys, sk, has, extra):
    """(keys, counts, outlet_stories, rep_offsets, reps) from rows sorted by key (``_reports``)."""
    uk, cnt, off, reps = _reports(keys, np.ascontiguousarray(sk, dtype=np.uint64), has, extra, MAX_REPORTS)
    return uk, cnt, {}, off, reps


@numba.njit(cache=True, nogil=True)
def _edge_trim(story, prose, keep):
    """Drop non-prose lines before a story's first prose line and after its last one."""
    n = story.shape[0]
    i = 0
    while i < n:
        j = i
        while j < n and story[j] == story[i]:
            j += 1
        first = -1
        last = -1
        for t in range(i, j):
            if keep[t] and prose[t]:
                if first < 0:
                    first = t
                last = t
        if first >= 0:
            for t in range(i, first):
                keep[t] = False
            for t in range(last + 1, j):
                keep[t] = False
        i = j
    return keep




def remove_chrome(
    lines: Lines,
    outlets: pa.Array,
    model: ChromeModel | None,
    *,
    min_stories: int = 3,
    min_share: float = 0.0,
    generic: bool = True,
    walls: np.ndarray | None = None,
) -> tuple[Lines, np.ndarray, int]:
    """Lines with chrome removed, a boolean mask (over the input lines) of what was removed, and
    how many of those the learned chrome removed (the rest: walls, generic patterns and edges).

    Learned chrome: a line whose (outlet, key) was carried by at least ``min_stories`` different
    reports (and ``min_share`` of the outlet's stories); a long prose line carried by that many
    different reports across all outlets; a line that does not end a sentence and whose lead-in
    recurs across that many reports while the line itself does not (a list of other headlines).
    ``walls``: a mask from ``wall_lines``, computed here when not given."""
    keep = np.ones(len(lines.text), dtype=bool)
    learned_hits = 0
    words = lines.words()
    if model is not None and model.keys.size:
        kh = lines.key_hash()
        n = model.count_of(_outlet_keys(outlets, lines.story, kh))
        hit = n >= min_stories
        if min_share > 0 and hit.any():
            # Stories seen per outlet, looked up for each story (an unseen outlet counts 0: index -1).
            names = pa.array(list(model.outlet_stories), pa.string())
            seen = np.append(np.array(list(model.outlet_stories.values()), np.float64), 0.0)
            at = pc.fill_null(pc.index_in(outlets.fill_null("").cast(pa.string()), value_set=names), -1)
            per_outlet = seen[at.to_numpy()]
            hit &= n >= min_share * per_outlet[lines.story]
        cross = np.flatnonzero(lines.is_prose() & (words >= CROSS_MIN_WORDS))
        if cross.size:
            hit[cross] |= model.count_of(_all_outlet_keys(lines.story[cross], kh[cross])) >= max(
                min_stories, CROSS_MIN_REPORTS)
        pk = prefix_keys(lines)
        lead = np.flatnonzero((pk != 0) & ~lines._line_stats()[1] & (n <= 1))
        lead = lead[_is_list(lines.text, lead)]
        if lead.size:
            hit[lead] |= model.count_of(_outlet_keys(outlets, lines.story[lead], pk[lead])) >= min_stories
        keep &= ~hit
        learned_hits = int(hit.sum())
    if generic:
        keep &= ~(wall_lines(lines) if walls is None else walls)
        short_idx = np.flatnonzero(words <= MAX_GENERIC_WORDS)
        low = pc.utf8_lower(pc.take(lines.text, pa.array(short_idx)))
        keep[short_idx[pc.match_substring_regex(low, _GENERIC_RE).to_numpy(zero_copy_only=False)]] = False
        open_idx = np.flatnonzero(~lines._line_stats()[1])
        if open_idx.size:
            low = pc.utf8_lower(pc.take(lines.text, pa.array(open_idx)))
            keep[open_idx[pc.match_substring_regex(low, LEADIN_PATTERN).to_numpy(zero_copy_only=False)]] = False
        keep &= ~lines.is_headline_bullet()
    keep = _edge_trim(lines.story, lines.is_prose(), keep)
    return lines.filter(keep), ~keep, learned_hits
