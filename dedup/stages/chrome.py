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
   figures) keeps its lines. Edges stand in for learning: in an outlet the model knows
   (``EDGE_KNOWN_STORIES``), an edge line found in no other of its reports stays, unless it is the
   page's headline, a date or time, or a list item.

Whatever the layers say, the table of an earnings or dividend brief ("Shr 27 cts vs 29 cts",
"Revs 11.3 mln vs 8.1 mln", "Year", "Pay April 15") is story text (``table_lines``): its rows hold
no sentence, and with digits folded they read alike across an outlet's different briefs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.config import ChromeSettings
from dedup.stages.text import latin_regex
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
    r"^\W*(enter|type) (your )?e-?mail( address)?( here)?\W*$",
]
_GENERIC_RE = "(" + ")|(".join(GENERIC_PATTERNS) + ")"
REPORTED_SPEECH_PATTERN = r"\b(said|says|added|adds|told|according to)\b"

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
    r"\b(manage (cookies|cookie settings|preferences|options|choices|consent)|"
    r"cookie (settings|preferences|consent)|privacy settings at the bottom)\b",
    # Consent buttons: "Accept all cookies", "Accept all | Reject all", a button alone at the line's end.
    # Not "... will allow all interested parties to state their cases" or "refused to accept all of it".
    r"\b(accept|reject|allow) all( cookies\b|\s*[|/·•]|\s*$)",
    r"\bjavascript\b.{0,60}\b(disabled|turned off|switched off|not enabled|is off|not supported|required)\b",
    r"\b(enable|switch on|turn on|activate|allow) (your )?javascript\b",
    # An order to the reader ("Please enable cookies to continue"), not a report's "will enable
    # operators to use the exchange".
    r"(^|\bplease |[.!:]\s+)(enable|switch it on|turn it on)\b.{0,60}\b(to (read|view|use|continue))\b",
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
        hit = lines.per_distinct(lambda t: pc.match_substring_regex(pc.utf8_lower(t), _WALL_RE), idx)
        out[idx[hit.to_numpy(zero_copy_only=False)]] = True
    return out


# Each story's report identity is a MinHash of this many values over the lines that are its own
# (``_story_sketch``). Versions of one report that share half their lines agree on each value with
# probability 1/2, so the smallest number of distinct values over the SKETCH positions counts them
# once with probability about 1 - 0.5**SKETCH; different stories differ on every position.
SKETCH = 6
# Per (key, sketch position) the REPORT_SET smallest distinct values are kept (a bottom-k sketch,
# Bar-Yossef et al. 2002, "Counting distinct elements in a data stream"): the union of two kept sets
# cut to REPORT_SET is the kept set of the union, so chunks, Spark partitions and nights merge in
# any order to the same model, and counts past REPORT_SET are estimated as (k - 1) / v_k.
REPORT_SET = 32
# Learning across outlets (walls one media group shares over its sites) looks only at long prose
# lines: short labels ("Net 0 vs 0 mln", "Year") recur across different reports of every wire.
CROSS_MIN_WORDS = 12
# ...and needs many different reports: copies of one wire report in many outlets, each with its own
# dateline and house style, can look like several reports to the line-level identity, and walls are
# mostly caught by ``WALL_PATTERNS`` anyway.
CROSS_MIN_REPORTS = 16
# Learned lead-ins apply to lines that list several items after them ("From our network: A | B | C"):
# a recurring label before one sentence or figure ("Note: ...") is text.
_LIST_SEPARATORS = r"[;|•·»]"
_ALL_OUTLETS = "\x00all outlets"
# Lead-in keys ("more stories:") live beside line keys in one model: a salt keeps them apart.
_PREFIX_SALT = np.uint64(0x5BD1E9955BD1E995)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


# The host of a URL ("https://www.Example.com/a" -> "example.com"; RFC 3986 scheme, user info, port).
_URL_HOST = r"^\s*[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(?:[wW]{3}\d?\.)?(?P<host>[^/:?#\s]+)"


def chrome_outlets(outlets: pa.Array, urls: pa.Array | None) -> pa.Array:
    """The site whose stories a story's chrome is learned over (string array, one per story): its
    outlet, or, for a story without one (null or empty), the host of its URL in lower case with
    "www." dropped. A feed without an outlet field still names the site in each URL; pooled as one
    outlet, many sites' stories hide each site's chrome and make a report's own lines look common.
    Null where neither is given (those stories are pooled, as before). Both engines call this
    wherever chrome is learned or applied; output tables keep the record's ``outlet``."""
    outlets = outlets.cast(pa.string())
    if urls is None:
        return outlets
    missing = pc.fill_null(pc.equal(outlets, ""), True)
    if not pc.any(missing).as_py():
        return outlets
    host = pc.utf8_lower(pc.struct_field(pc.extract_regex(urls.cast(pa.string()), _URL_HOST), "host"))
    return pc.if_else(missing, host, outlets)


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

    pk = lines.per_distinct(lambda t: _prefix_keys(*string_buffers(t), 4))
    return np.where(pk != 0, pk ^ _PREFIX_SALT, np.uint64(0))


def _is_list(text: pa.Array, idx: np.ndarray) -> np.ndarray:
    """Whether each of the lines ``idx`` holds at least two list separators (bool)."""
    if not idx.size:
        return np.zeros(0, bool)
    n = pc.count_substring_regex(pc.take(text, pa.array(idx)), _LIST_SEPARATORS).to_numpy(zero_copy_only=False)
    return n >= 2


def _entries(outlets: pa.Array, lines: Lines) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (key, story) pairs a batch of lines contributes to learning, each pair once, sorted by
    key then story: short lines under their outlet, long prose lines under all outlets, and the
    lead-ins of list lines ("More stories: A; B; C") under their outlet. Also returns each line's
    own (outlet, key), uint64 per line."""
    words, ends, _, kh = lines._line_stats()
    story = lines.story
    okeys = _outlet_keys(outlets, story, kh)
    short = lines.at_most_chars(MAX_CHROME_LINE_CHARS)
    cross = lines.is_prose() & (words >= CROSS_MIN_WORDS) & short
    pk = prefix_keys(lines)
    lead = short & (pk != 0) & ~ends
    lead[lead] = _is_list(lines.text, np.flatnonzero(lead))
    ek = np.concatenate([okeys[short], _all_outlet_keys(story[cross], kh[cross]),
                         _outlet_keys(outlets, story[lead], pk[lead])])
    es = np.concatenate([story[short], story[cross], story[lead]]).astype(np.int64)
    order = np.lexsort((es, ek))
    ek, es = ek[order], es[order]
    first = np.r_[True, (ek[1:] != ek[:-1]) | (es[1:] != es[:-1])] if ek.size else np.zeros(0, bool)
    return ek[first], es[first], okeys


# Buckets of at most this many values are insertion-sorted (most hold a few values, often in
# sorted runs from the nights merged): measured 2x faster than the general sort on a 14-night window.
_INSERTION_SORT = 32


@numba.njit(inline="always")
def _keep_key(kk, seg_s, seg_e, g, q, value, k, positions, start, cur, buf, ok, oq, ov, m):
    """One key's rows, the segments ``seg_s[:g]``..``seg_e[:g]`` of (q, value): bucketed by q in
    one pass (a counting sort into ``buf``), each bucket sorted (insertion sort up to
    ``_INSERTION_SORT`` values), and its ``k`` smallest distinct values written as rows from
    ``m`` on. Returns the new ``m``."""
    start[:] = 0
    for s in range(g):
        for t in range(seg_s[s], seg_e[s]):
            if q[t] < positions:
                start[q[t] + 1] += 1
    for p in range(positions):
        start[p + 1] += start[p]
        cur[p] = start[p]
    for s in range(g):
        for t in range(seg_s[s], seg_e[s]):
            p = q[t]
            if p < positions:
                buf[cur[p]] = value[t]
                cur[p] += 1
    for p in range(positions):
        a, b = start[p], start[p + 1]
        if a == b:
            continue
        if b - a > _INSERTION_SORT:
            buf[a:b].sort()
        else:
            for x in range(a + 1, b):
                y = buf[x]
                z = x - 1
                while z >= a and buf[z] > y:
                    buf[z + 1] = buf[z]
                    z -= 1
                buf[z + 1] = y
        kept = 0
        for t in range(a, b):
            if t > a and buf[t] == buf[t - 1]:
                continue
            ok[m] = kk
            oq[m] = p
            ov[m] = buf[t]
            m += 1
            kept += 1
            if kept == k:
                break
    return m


@numba.njit(inline="always")
def _before(key, cur, a, b):
    """Heap order of runs a and b: the smaller key at the run's cursor, then the earlier run."""
    ka, kb = key[cur[a]], key[cur[b]]
    return ka < kb or (ka == kb and a < b)


@numba.njit(inline="always")
def _sift_down(heap, h, i, key, cur):
    while True:
        c = 2 * i + 1
        if c >= h:
            return
        if c + 1 < h and _before(key, cur, heap[c + 1], heap[c]):
            c += 1
        if not _before(key, cur, heap[c], heap[i]):
            return
        heap[i], heap[c] = heap[c], heap[i]
        i = c


@numba.njit(inline="always")
def _sift_up(heap, i, key, cur):
    while i > 0:
        parent = (i - 1) // 2
        if not _before(key, cur, heap[i], heap[parent]):
            return
        heap[i], heap[parent] = heap[parent], heap[i]
        i = parent


@numba.njit(cache=True, nogil=True)
def _bottom_k_runs(key, q, value, runs, k, positions):
    """Rows made of sorted runs (``runs``: int64 offsets, each run's rows sorted by key) -> per
    (key, q) the ``k`` smallest distinct values, as rows sorted by (key, q, value); returns the
    output arrays and how many of their rows are used. Rows with ``q >= positions`` are left out.
    The runs are merged by key without sorting them whole (a heap of runs, one step per key a run
    holds), and each key's rows, a segment of each run that has it, go to ``_keep_key`` as they
    lie; rows already sorted by key are one run ``[0, n]``. The result is that of the rows stably
    sorted by key."""
    n = key.shape[0]
    ok = np.empty(n, np.uint64)
    oq = np.empty(n, np.uint8)
    ov = np.empty(n, np.uint64)
    n_runs = runs.shape[0] - 1
    cur = runs[:-1].copy()
    heap = np.empty(n_runs, np.int64)
    h = 0
    for r in range(n_runs):
        if cur[r] < runs[r + 1]:
            heap[h] = r
            _sift_up(heap, h, key, cur)
            h += 1
    seg_s = np.empty(n_runs, np.int64)
    seg_e = np.empty(n_runs, np.int64)
    start = np.zeros(positions + 1, np.int64)
    pos = np.zeros(positions, np.int64)
    buf = np.empty(1024, np.uint64)
    m = 0
    while h > 0:
        kk = key[cur[heap[0]]]
        g = 0
        size = 0
        while h > 0 and key[cur[heap[0]]] == kk:
            r = heap[0]
            s = cur[r]
            e = s + 1
            while e < runs[r + 1] and key[e] == kk:
                e += 1
            seg_s[g], seg_e[g] = s, e
            g += 1
            size += e - s
            cur[r] = e
            if e < runs[r + 1]:
                _sift_down(heap, h, 0, key, cur)  # the run's next key is larger: it sinks
            else:
                h -= 1
                heap[0] = heap[h]
                _sift_down(heap, h, 0, key, cur)
        if size > buf.shape[0]:
            buf = np.empty(max(size, 2 * buf.shape[0]), np.uint64)
        m = _keep_key(kk, seg_s, seg_e, g, q, value, k, positions, start, pos, buf, ok, oq, ov, m)
    return ok, oq, ov, m


# Rows with more sorted runs than this (one in this many rows) are sorted whole instead: a merge
# of many short runs costs a heap step per few rows.
_RUN_ROWS = 64


@dataclass
class ReportSets:
    """Per (key, sketch position q) the ``REPORT_SET`` smallest distinct report-sketch values of the
    stories that carried the key, as sorted rows: ``key`` uint64, ``q`` uint8 (0..SKETCH-1),
    ``value`` uint64 below 2**63 (so that Spark's signed longs sort them the same way)."""

    key: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    q: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint8))
    value: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))

    @staticmethod
    def from_rows(key: np.ndarray, q: np.ndarray, value: np.ndarray, *, key_sorted: bool = False) -> "ReportSets":
        """The kept sets of any rows (repeats and more than ``REPORT_SET`` values allowed);
        ``key_sorted``: the rows already come grouped by key (saves the sort)."""
        key, q, value = (np.asarray(key, np.uint64), np.asarray(q, np.uint8), np.asarray(value, np.uint64))
        if not key.size:
            return ReportSets()
        if not key_sorted:
            o = np.argsort(key, kind="stable")
            key, q, value = key[o], q[o], value[o]
        k, qq, v, n = _bottom_k_runs(key, q, value, np.array([0, key.size], np.int64), REPORT_SET, SKETCH)
        return ReportSets(k[:n], qq[:n], v[:n])

    @staticmethod
    def combine(parts: list["ReportSets"]) -> "ReportSets":
        """The kept sets of all the parts' rows together: ``from_rows`` of their concatenation.
        Parts are usually sorted by key (a ``from_rows`` result, a night of the state, or several
        such one after the other), so they are merged as sorted runs (``_bottom_k_runs``) rather
        than sorted whole; rows in no useful order are sorted as ``from_rows`` does."""
        key = np.concatenate([p.key for p in parts] or [np.empty(0, np.uint64)])
        q = np.concatenate([p.q for p in parts] or [np.empty(0, np.uint8)])
        value = np.concatenate([p.value for p in parts] or [np.empty(0, np.uint64)])
        descents = np.flatnonzero(key[1:] < key[:-1]) + 1
        if not key.size or descents.size * _RUN_ROWS > key.size:
            return ReportSets.from_rows(key, q, value)
        runs = np.concatenate(([0], descents, [key.size])).astype(np.int64)
        k, qq, v, n = _bottom_k_runs(key, q, value, runs, REPORT_SET, SKETCH)
        return ReportSets(k[:n], qq[:n], v[:n])

    def estimates(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys uint64 sorted unique, distinct reports int64): per key the smallest, over the
        sketch positions, of the distinct values seen there; a full set of ``REPORT_SET`` values
        estimates the distinct count as (k - 1) * 2**63 / (v_k + 1) (bottom-k estimator)."""
        if not self.key.size:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        new_group = np.r_[True, (self.key[1:] != self.key[:-1]) | (self.q[1:] != self.q[:-1])]
        starts = np.flatnonzero(new_group)
        size = np.diff(np.r_[starts, self.key.size])
        last = self.value[starts + size - 1].astype(np.float64)
        est = np.where(size < REPORT_SET, size, np.floor((REPORT_SET - 1) * 2.0 ** 63 / (last + 1.0))).astype(np.int64)
        gkey = self.key[starts]
        new_key = np.r_[True, gkey[1:] != gkey[:-1]]
        kstarts = np.flatnonzero(new_key)
        return gkey[kstarts], np.minimum.reduceat(est, kstarts)


@dataclass
class ChromeModel:
    """What learning knows about recurring lines, per key (``Lines.key_hash`` mixed with the outlet;
    also one pseudo-outlet for all outlets, and lead-in keys: see ``_entries``):

    - ``stories``: how many stories carried the key (int64, summed over chunks and nights);
    - ``reports``: the report sketches of those stories (``ReportSets``), kept only for keys carried
      by at least ``chrome.min_stories`` stories: only they can be chrome;
    - ``counts``: how many *different reports* carried the key (int64, from ``reports``). A line is
      chrome when it recurs across stories that are otherwise different: copies of one report
      (reruns, updates under new ids, the same page scraped twice) count once.

    Learning takes two passes over the lines (``observe``, then ``observe_reports`` once every
    story count is known), so the result does not depend on how the batch was split into chunks
    or partitions, nor on the order they are merged in: both engines get the same model.
    """

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    stories: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    outlet_stories: dict[str, int] = field(default_factory=dict)
    reports: ReportSets = field(default_factory=ReportSets)
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def observe(self, outlets: pa.Array, lines: Lines) -> tuple[np.ndarray, np.ndarray]:
        """First pass: count the stories carrying each key (and the stories per outlet). Returns
        the batch's (key, story) entries (``_entries``), for the second pass to reuse."""
        for vc in pc.value_counts(outlets.fill_null("")).to_pylist():
            self.outlet_stories[vc["values"]] = self.outlet_stories.get(vc["values"], 0) + vc["counts"]
        if not len(lines.text):
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        ek, es, _ = _entries(outlets, lines)
        starts = np.flatnonzero(np.r_[True, ek[1:] != ek[:-1]]) if ek.size else np.empty(0, np.int64)
        part = ChromeModel(ek[starts], np.diff(np.r_[starts, ek.size]).astype(np.int64))
        merged = ChromeModel.combine([self, part]) if self.keys.size else part
        self.keys, self.stories = merged.keys, merged.stories
        return ek, es

    def observe_reports(self, outlets: pa.Array, lines: Lines, min_stories: int,
                        entries: tuple[np.ndarray, np.ndarray] | None = None) -> ReportSets:
        """Second pass, with every story count known (``self``: tonight's and the window's): the
        report sketches of the stories carrying each candidate key (>= ``min_stories`` stories).

        A story's report is judged on its own lines (``_story_sketch``): its candidate lines are
        left out, so two different stories sharing a long subscription block still differ, unless
        that leaves under half its words (a copy or a new version of a report: then all count).
        ``entries``: what ``observe`` returned for the same batch (computed again when absent)."""
        if not lines.story.size or not self.keys.size:
            return ReportSets()
        words, _, _, kh = lines._line_stats()
        if entries is None:
            ek, es, okeys = _entries(outlets, lines)
        else:
            (ek, es), okeys = entries, _outlet_keys(outlets, lines.story, kh)
        cand = self.stories_of(okeys) >= min_stories
        sk = _story_sketch(lines.story, kh, words, lines.is_prose(), cand, lines.n_stories, SKETCH) >> np.uint64(1)
        want = self.stories_of(ek) >= min_stories
        ek, es = ek[want], es[want]
        return ReportSets.from_rows(np.repeat(ek, SKETCH), np.tile(np.arange(SKETCH, dtype=np.uint8), ek.size),
                                    sk[es].reshape(-1), key_sorted=True)

    def with_reports(self, reports: ReportSets) -> "ChromeModel":
        """This model's story counts with ``reports`` (and the report counts they give)."""
        out = ChromeModel(self.keys, self.stories, dict(self.outlet_stories), reports)
        out._count_reports()
        return out

    def _count_reports(self) -> None:
        rk, rn = self.reports.estimates()
        counts = np.zeros(self.keys.size, np.int64)
        if rk.size and self.keys.size:
            pos = np.minimum(np.searchsorted(self.keys, rk), self.keys.size - 1)
            hit = self.keys[pos] == rk
            # Never more reports than stories (the estimate can overshoot past REPORT_SET).
            counts[pos[hit]] = np.minimum(rn[hit], self.stories[pos[hit]])
        self.counts = counts

    def for_cleaning(self, min_stories: int) -> "ChromeModel":
        """Only the keys cleaning can act on: carried by at least ``min_stories`` different reports
        (every rule of ``chrome_rules`` tests counts against ``min_stories`` or more, and an absent
        key counts 0). The same decisions from a fraction of the memory: a window's model holds
        every short line of its nights, most of them seen once."""
        keep = self.counts >= min_stories
        return ChromeModel.learned(self.keys[keep], self.counts[keep], dict(self.outlet_stories))

    @staticmethod
    def learned(keys: np.ndarray, counts: np.ndarray, outlet_stories: dict) -> "ChromeModel":
        """A model of report counts alone (what cleaning needs), e.g. broadcast to Spark executors."""
        return ChromeModel(keys, counts.copy(), outlet_stories, ReportSets(), counts)

    @staticmethod
    def combine(models: list["ChromeModel"]) -> "ChromeModel":
        """One model from many (chunks, nights): story counts summed, report sets merged."""
        models = [m for m in models if m.keys.size or m.outlet_stories]
        if len(models) == 1:  # nothing to merge (a first night, one chunk)
            m = models[0]
            return ChromeModel(m.keys, m.stories, dict(m.outlet_stories), m.reports, m.counts)
        out = ChromeModel()
        keys = np.concatenate([m.keys for m in models] or [np.empty(0, np.uint64)])
        if keys.size:
            # Each model's keys are sorted and unique: a stable sort merges them as runs (twice
            # as fast as np.unique's inverse at 1M stories), and each key's counts are summed.
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            st = np.concatenate([m.stories for m in models]).astype(np.int64)[order]
            out.keys, out.stories = keys[starts], np.add.reduceat(st, starts)
        out.reports = ReportSets.combine([m.reports for m in models if m.reports.key.size])
        for m in models:
            for o_, n in m.outlet_stories.items():
                out.outlet_stories[o_] = out.outlet_stories.get(o_, 0) + n
        out._count_reports()
        return out

    def n_learned(self, min_stories: int) -> int:
        """Keys carried by at least ``min_stories`` different reports (before the ``min_share`` test)."""
        return int((self.counts >= min_stories).sum())

    def _lookup(self, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
        if not self.keys.size:
            return np.zeros(keys.size, np.int64)
        # Searched once per distinct key, in order: numpy's binary search then starts from the last
        # answer (keys in line order jump about millions of sorted keys, and repeat).
        uk, inv = np.unique(keys, return_inverse=True)
        pos = np.minimum(np.searchsorted(self.keys, uk), self.keys.size - 1)
        return np.where(self.keys[pos] == uk, values[pos], 0)[inv.reshape(-1)]

    def count_of(self, keys: np.ndarray) -> np.ndarray:
        """Distinct reports that carried each key (int64; 0 for keys never seen)."""
        return self._lookup(self.counts, keys)

    def stories_of(self, keys: np.ndarray) -> np.ndarray:
        """Stories that carried each key (int64; 0 for keys never seen)."""
        return self._lookup(self.stories, keys)


# Earnings and dividend tables. A row compares two figures ("Shr 27 cts vs 29 cts", "Net profit
# 1,353,000 vs loss 5,551,000", "Qtly div six cts vs six cts prior"); Reuters spells numbers under ten.
_WORD_NUM = "nil|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_NUM = rf"(?:[$€£]?\.?\d[\d,./-]*|{_WORD_NUM})"
TABLE_ROW_PATTERN = (rf"(?:^|[\s(:])({_NUM})\S*(?:\s+\S+){{0,6}}?\s+(?:vs\.?|versus)\s+(?:\S+\s+){{0,2}}?"
                     rf"(?:{_NUM}[a-z%]{{0,3}}(?:\W|$)|not given|not reported|n/?a\b)")
MAX_TABLE_ROW_WORDS = 16
# A row whose figure has nothing to compare with: "Shr loss 17.4 H.K. cents (no comparison)".
TABLE_UNCOMPARED_PATTERN = rf"(?:^|[\s(:])(?:{_NUM})\S*(?:\s+\S+){{0,6}}?\s+\(?no comparisons?\)?\W*$"
# Three cell separators and a figure in a cell: a results or standings table drawn with pipes. A menu
# or share bar ("Terms | Privacy | Contact") has no figure.
PIPE_ROW_PATTERN = r"^\s*\|?(?:[^|]*\|){3,}"
PIPE_FIGURE_PATTERN = r"\|\s*[-+]?\d[\d.,:]*\s*\|"
# A table's labels ("Year", "Nine mths", "1st half", "Revs 45.6 mln", "Pay April 15", "Shr not given",
# "Period ended December 31, 1986"): short lines made only of figures and these words. Other short lines
# (a page headline "Cinram Ltd 4th Qtr Net", "Posted: February 26, 1987 | 16:40", a price "€90") are not.
TABLE_WORDS = (
    "year|years|yr|qtr|qtrs|quarter|quarters|half|mth|mths|month|months|wk|wks|week|weeks|period|periods|ended|"
    "end|ends|ending|fiscal|ytd|first|second|third|fourth|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|"
    "dec|january|february|march|april|june|july|august|september|october|november|december|pay|payable|record|"
    "div|qtly|qtrly|dividend|shr|shrs|net|revs|sales|oper|avg|loss|profit|not|given|cts|ct|dlrs|mln|billion|"
    "million|prior|loans|deposits|assets|mths|avg|shares|and|to"
)
# A label with a figure in money or shares ("Loss 54.9 million", "Revs 27.2 mln") is a row as well.
TABLE_FIGURE_PATTERN = rf"(?:\d|\b(?:{_WORD_NUM})\b)\S*\s+(?:cts|ct|dlrs|dollars|mln|million|billion|pct)\b"
# A label may follow the place of a dateline the page did not cut ("Toronto: ended January 31").
TABLE_LABEL_PATTERN = (rf"^(?:\p{{L}}[\p{{L}} .'-]{{1,30}}:\s+)?"
                       rf"(?:(?:\d[\d,./-]*|\d+(?:st|nd|rd|th)|{_WORD_NUM}|{TABLE_WORDS})[\s,.:;()-]*){{1,8}}$")
# ("Chicago: Periods end January 31, 1987 and 1986")
MAX_TABLE_LABEL_WORDS = 8
# A note under a table ("NOTE: 1986 share data adjusted for a stock split") belongs to it, also
# glued to the table's last label ("Record March 31 NOTE: Full name is ...").
TABLE_NOTE_PATTERN = rf"^\W*(?:(?:(?:\d[\d,./-]*|{TABLE_WORDS})[\s,.:;()-]*){{1,6}})?notes?\s*:"
# A table stays one table across this many lines of chrome put inside it (an advertisement, a
# newsletter box between "Pay April 15" and "Record March 20").
TABLE_GAP = 3
# A line of at least this many words that ends in ":" introduces the story's next lines: it anchors
# the edges as a sentence does.
INTRO_MIN_WORDS = 8
# ...and so does a bulleted sentence longer than a headline in a list ("• Fujitsu May Assemble Its
# Own Computers In U.S." ends in a full stop too): one of the story's points.
BULLET_SENTENCE_MIN_WORDS = 16


def _table_members(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Rows (bool mask) and every line that can belong to a table: rows, labels and notes (bool
    mask); only lines of stories that have a row can be labels or notes."""
    n = len(lines.text)
    words = lines.words()
    row = np.zeros(n, bool)

    def matching(idx: np.ndarray, pattern: str) -> np.ndarray:
        if not idx.size:
            return idx
        return idx[lines.per_distinct(lambda t: latin_regex.match(pc.utf8_lower(t), pattern), idx)]

    # Most chunks hold few tables: the row pattern runs only on lines that say "vs" or "versus", the
    # label pattern on short lines with a figure in money first.
    row[matching(matching(np.flatnonzero(words <= MAX_TABLE_ROW_WORDS), r"\s(vs\.?|versus)\s"), TABLE_ROW_PATTERN)] = True
    row[matching(matching(np.flatnonzero((words <= MAX_TABLE_ROW_WORDS) & ~row), r"no comparison"), TABLE_UNCOMPARED_PATTERN)] = True
    short = words <= MAX_TABLE_LABEL_WORDS
    row[matching(matching(np.flatnonzero(short & ~row), TABLE_FIGURE_PATTERN), TABLE_LABEL_PATTERN)] = True
    # A row of a table the page drew with pipes ("| 1 | Kyle Busch | 5040 | 5 |"): cells and a figure.
    row[matching(matching(np.flatnonzero(~row), PIPE_FIGURE_PATTERN), PIPE_ROW_PATTERN)] = True
    member = row.copy()
    if row.any():
        has_row = np.zeros(lines.n_stories, bool)
        has_row[lines.story[row]] = True
        idx = np.flatnonzero(has_row[lines.story] & ~row)
        member[matching(idx[short[idx]], TABLE_LABEL_PATTERN)] = True
        member[matching(idx, TABLE_NOTE_PATTERN)] = True
    return row, member


@numba.njit(cache=True, nogil=True)
def _table_runs(story, row, member, skip, max_gap):
    """Runs of ``member`` lines within a story, each holding a row, across at most ``max_gap``
    consecutive ``skip`` lines (chrome inside the table): the member lines of those runs."""
    n = story.shape[0]
    out = np.zeros(n, np.bool_)
    i = 0
    while i < n:
        if not member[i]:
            i += 1
            continue
        last = i
        has = row[i]
        gap = 0
        k = i + 1
        while k < n and story[k] == story[i]:
            if member[k]:
                last = k
                has = has or row[k]
                gap = 0
            elif skip[k] and gap < max_gap:
                gap += 1
            else:
                break
            k += 1
        if has:
            for t in range(i, last + 1):
                if member[t]:
                    out[t] = True
        i = last + 1
    return out


# A sentence wrapped over several lines (a page that breaks its paragraphs with <br>): a line of at
# least this many words that does not end a sentence, followed in its story by a line that starts in
# lower case. Both count as story text for the page edges.
WRAPPED_MIN_WORDS = 6


def wrapped_prose(lines: Lines, starts: np.ndarray | None = None) -> np.ndarray:
    """Lines of sentences wrapped over several lines (bool mask): see ``WRAPPED_MIN_WORDS``.
    ``starts`` (bool per line, optional): lines known to open a paragraph (a dateline was cut from
    them, leaving "ecuador's union federations called ..."), which continue no line above."""
    words, ends, _, _ = lines._line_stats()
    n = len(lines.text)
    out = np.zeros(n, bool)
    if n < 2:
        return out
    cont = lines.story[:-1] == lines.story[1:]
    if starts is not None:
        cont &= ~starts[1:]
    cand = np.flatnonzero((words[:-1] >= WRAPPED_MIN_WORDS) & ~ends[:-1] & cont)
    if not cand.size:
        return out
    nxt = pc.take(lines.text, pa.array(cand + 1))
    lower = latin_regex.match(nxt, r"^\s*\p{Ll}")
    out[cand[lower]] = True
    out[cand[lower] + 1] = True
    return out


# A schedule (tour dates, a race calendar, fixtures): at least SCHEDULE_MIN_ROWS lines in a row, each
# of at most MAX_TABLE_ROW_WORDS words with a date (a month's name next to a day) within its first
# three words ("June 9 – Tampa, FL @ ...", "3a etapa: 22 de abril – Velopark"). Story text without a
# sentence: it anchors the edges as a table does. Month names of the languages the extraction
# benchmark's pages are written in most (en, pt, es, fr, de, it), abbreviations of English.
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|"
           "apr|jun|jul|aug|sep|sept|oct|nov|dec|janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|"
           "outubro|novembro|dezembro|enero|febrero|marzo|mayo|junio|julio|septiembre|octubre|noviembre|"
           "diciembre|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|"
           "januar|februar|märz|juni|juli|oktober|dezember|gennaio|febbraio|aprile|maggio|giugno|luglio|"
           "settembre|ottobre|dicembre")
SCHEDULE_ROW_PATTERN = (rf"^\W*(?:\S+\s+){{0,2}}?(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|"
                        rf"\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:de\s+|of\s+)?(?:{_MONTHS})\b)")
SCHEDULE_MIN_ROWS = 3


@numba.njit(cache=True, nogil=True)
def _runs_of(story, member, min_len):
    """``member`` lines in runs of at least ``min_len`` consecutive lines of one story."""
    n = story.shape[0]
    out = np.zeros(n, np.bool_)
    i = 0
    while i < n:
        j = i
        while j < n and member[j] and story[j] == story[i]:
            j += 1
        if j - i >= min_len:
            for t in range(i, j):
                out[t] = True
        i = max(j, i + 1)
    return out


def schedule_lines(lines: Lines) -> np.ndarray:
    """The rows of schedules (bool mask over ``lines``; see ``SCHEDULE_ROW_PATTERN``)."""
    cand = np.flatnonzero(lines.words() <= MAX_TABLE_ROW_WORDS)
    row = np.zeros(len(lines.text), bool)
    if cand.size:
        row[cand[lines.per_distinct(lambda t: pc.match_substring_regex(pc.utf8_lower(t), SCHEDULE_ROW_PATTERN).to_numpy(
            zero_copy_only=False), cand)]] = True
    return _runs_of(lines.story, row, SCHEDULE_MIN_ROWS) if row.any() else row


# Rows of a table of figures without "vs" ("Goods -7.1 (-8.7)", "Due: 27 35", "Direct Investment N/A
# (-6.3)", "2/26 2/27"): a short line that ends in a figure, with a label or a second figure before
# it, SCHEDULE_MIN_ROWS or more in a row. A price or a plan ("$4.99/month", "SAVE 40%") and a time
# ("| 03:41 AM") end otherwise; a page number alone has neither label nor second figure.
_FIGURE = r"[-+]?\(?[-+]?\d[\d,./]*\)?|n/a|--"
FIGURE_ROW_PATTERN = rf"(?:^|\s)(?:{_FIGURE})\s*$"
FIGURE_ROW_LABEL_PATTERN = rf"\p{{L}}|^\W*(?:{_FIGURE})\s+(?:{_FIGURE})\s*$"
MAX_FIGURE_ROW_WORDS = 10


def figure_table_lines(lines: Lines) -> np.ndarray:
    """The rows of tables of figures (bool mask over ``lines``; see ``FIGURE_ROW_PATTERN``)."""
    cand = np.flatnonzero(lines.words() <= MAX_FIGURE_ROW_WORDS)
    row = np.zeros(len(lines.text), bool)
    for pattern in (FIGURE_ROW_PATTERN, FIGURE_ROW_LABEL_PATTERN):
        if cand.size:
            cand = cand[lines.per_distinct(lambda t: latin_regex.match(pc.utf8_lower(t), pattern), cand)]
    row[cand] = True
    return _runs_of(lines.story, row, SCHEDULE_MIN_ROWS) if row.any() else row


def table_lines(lines: Lines, chrome: np.ndarray | None = None) -> np.ndarray:
    """The lines of earnings and dividend tables (bool mask over ``lines``): story text.

    A table is a run of lines of one story, each a row (two figures compared with "vs" /
    "versus", at most ``MAX_TABLE_ROW_WORDS`` words), a label (``TABLE_LABEL_PATTERN``) or a note,
    holding at least one row; ``chrome`` (bool mask, optional): lines found to be chrome, which
    the run passes over (``TABLE_GAP`` at most in a row), as it does over short lines with a
    figure. Labels alone (a "1 Year" in a subscription block) are not a table."""
    row, member = _table_members(lines)
    if not row.any():
        return row
    skip = np.zeros(len(row), bool) if chrome is None else (chrome & ~member)
    # A short line with a figure that no pattern reads ("Pay Apirl 10", a typo) does not end the table.
    odd = np.flatnonzero(~member & ~skip & (lines.words() <= MAX_TABLE_LABEL_WORDS))
    if odd.size:
        skip[odd[pc.match_substring_regex(pc.take(lines.text, pa.array(odd)), r"\d").to_numpy(zero_copy_only=False)]] = True
    return _table_runs(lines.story, row, member, skip, TABLE_GAP)


@numba.njit(cache=True, nogil=True)
def _edge_trim(story, prose, keep, stamp, title_out):
    """Drop non-prose lines before a story's first prose line and after its last one (``prose``:
    the lines that anchor a story's text, prose sentences and table lines). A page of timed entries
    (a live blog: a ``stamp`` line, a title, the entry) keeps its first entry's title: when a stamp
    (removed or not: its digits vary, its form recurs and is learned) lies after the first prose
    line, the kept line just above the first prose line is kept if a stamp is above it, with
    removed lines and at most one other between (and marked in ``title_out``: the page opens with it, its report's lede
    does not)."""
    n = story.shape[0]
    i = 0
    while i < n:
        j = i
        while j < n and story[j] == story[i]:
            j += 1
        first = -1
        last = -1
        timed = False
        for t in range(i, j):
            if keep[t] and prose[t]:
                if first < 0:
                    first = t
                last = t
            elif stamp[t] and first >= 0:
                timed = True
        if first >= 0:
            title = -1
            if timed:
                p = first - 1
                while p >= i and not keep[p]:
                    p -= 1
                # Removed lines between stamp and title do not part them, nor does one line more
                # (an advertisement the model has not learned).
                q = p - 1
                between = 0
                while q >= i and not stamp[q]:
                    if keep[q]:
                        between += 1
                        if between > 1:
                            break
                    q -= 1
                if p > i and q >= i and stamp[q] and not stamp[p]:
                    title = p
            for t in range(i, first):
                if t != title:
                    keep[t] = False
            if title >= 0:
                title_out[title] = True
            for t in range(last + 1, j):
                keep[t] = False
        i = j
    return keep


@numba.njit(cache=True, nogil=True)
def _inner_lists(story, listed, kept, anchor, ends, titled):
    """Runs of ``listed`` lines (a bulleted or numbered list) that are the story's own: the line
    just before the run is kept text of the same story, a kept ``anchor`` line follows the run in
    that story, and the run is not other headlines hung under a paragraph (the line before ends a
    sentence, ``ends``, and most items are in title case, ``titled``). A story's list (ingredients,
    points, steps) follows an introduction ("...are:"), a heading or a sentence in plain case; a list
    of other headlines sits at a page edge, under a heading found to be chrome, or after a paragraph."""
    n = story.shape[0]
    out = np.zeros(n, np.bool_)
    i = 0
    while i < n:
        if not listed[i]:
            i += 1
            continue
        j = i
        titles = 1 if titled[i] else 0
        while j + 1 < n and listed[j + 1] and story[j + 1] == story[i]:
            j += 1
            if titled[j]:
                titles += 1
        inside = i > 0 and story[i - 1] == story[i] and kept[i - 1]
        if inside and ends[i - 1] and 2 * titles > j - i + 1:
            inside = False
        if inside:
            inside = False
            t = j + 1
            while t < n and story[t] == story[i]:
                if kept[t] and anchor[t]:
                    inside = True
                    break
                t += 1
        if inside:
            for t in range(i, j + 1):
                out[t] = True
        i = j + 1
    return out


# An item in title case ("- 15 Amazing Images of Stars"): a headline. Words of four letters or more
# start in capitals, at least three of them (a capitalised first word alone says nothing).
_TITLE_WORD = r"(?:^|[\s(“\"'‘])\p{Lu}\p{L}{3,}"
_PLAIN_WORD = r"(?:^|[\s(“\"'‘])\p{Ll}\p{L}{3,}"


def _titled(text: pa.Array, idx: np.ndarray) -> np.ndarray:
    """Which of the lines ``idx`` are in title case (bool array over ``idx``)."""
    sel = pc.take(text, pa.array(idx))
    up = latin_regex.count(sel, _TITLE_WORD)
    low = latin_regex.count(sel, _PLAIN_WORD)
    return (up >= 3) & (low == 0)


# A line that is a time alone ("15:36 GMT", "9.05am", "2 min ago"): the stamp over a live blog's entry
# (a figure alone, "12.50", is no time: the dotted form needs its "am" or zone).
STAMP_PATTERN = (r"^\W*(?:\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?|[a-z]{2,4})?"
                 r"|\d{1,2}\.\d{2}\s*(?:[ap]\.?m\.?|gmt|utc|[a-z]{1,3}t)"
                 r"|\d{1,3}\s*(?:min|mins|minutes?|hours?|hrs?)\s+ago)\W*$")


def _stamps(lines: Lines, words: np.ndarray) -> np.ndarray:
    """Which lines are a time stamp alone (STAMP_PATTERN; bool per line)."""
    out = np.zeros(len(words), bool)
    idx = np.flatnonzero(words <= 3)
    if idx.size:
        low = pc.utf8_lower(pc.take(lines.text, pa.array(idx)))
        out[idx[pc.match_substring_regex(low, STAMP_PATTERN).to_numpy(zero_copy_only=False)]] = True
    return out


def _entry_summaries(lines: Lines, stamp: np.ndarray, keep: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Edge lines of a live blog that name two or more of its own entries' titles ("Live: A, B and
    more"; a title is the kept line under a ``stamp``, of at least ENTRY_TITLE_MIN_CHARS
    characters, compared in lower case): the blog's summary of itself, which no chrome can know
    (bool mask over the lines ``cut``). Only stories with timed entries are looked at."""
    out = np.zeros(len(cut), bool)
    st = lines.story
    t = np.flatnonzero(stamp[:-1] & ~stamp[1:] & (st[:-1] == st[1:])) + 1
    t = t[keep[t]]
    if not t.size:
        return out
    cand = np.flatnonzero(cut & np.isin(st, np.unique(st[t])))
    if not cand.size:
        return out
    titles: dict = {}
    for s_, x in zip(st[t].tolist(), pc.utf8_lower(pc.take(lines.text, pa.array(t))).to_pylist()):
        if len(x) >= ENTRY_TITLE_MIN_CHARS:
            titles.setdefault(s_, []).append(x)
    for i, x in zip(cand.tolist(), pc.utf8_lower(pc.take(lines.text, pa.array(cand))).to_pylist()):
        out[i] = sum(y in x for y in titles.get(int(st[i]), ())) >= 2
    return out


ENTRY_TITLE_MIN_CHARS = 12


# The page edges stand in for learning where learning cannot see an outlet's chrome. Once the model
# has seen EDGE_KNOWN_STORIES stories of an outlet, a fixed chrome line of it (one in a third of its
# pages or more) has recurred past ``chrome.min_stories``; a line at the edge that recurs in no other
# report of the outlet is then the report's own text (a note under a table, a correction, a live
# blog's entry headlines), unless it is one of the kinds that change on every page: the page's own
# headline (``_is_headline``), a date or time (DATE_TIME_PATTERN), an item of a list (LIST_ITEM_PATTERN),
# or one of EDGE_LIST_LINES or more edge lines in a row (a list of other headlines without bullets).
# Stories with neither an outlet nor a URL (``chrome_outlets``) are pooled from many sites and never count as known.
EDGE_KNOWN_STORIES = 20
EDGE_LIST_LINES = 3
EDGE_LIST_TITLE_WORDS = 6
EDGE_LONG_WORDS = 12
_MONTH_ABBR = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
DATE_TIME_PATTERN = (rf"\b\d{{1,2}}:\d{{2}}\b|\b\d{{1,2}}\.\d{{2}}\s*(?:[ap]\.?m\b|gmt|utc|[a-z]{{2,4}}t\b)|"
                     rf"\b{_MONTH_ABBR}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|\b\d{{1,2}}\s+{_MONTH_ABBR}\s+\d{{4}}\b|"
                     r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:min|mins|minutes?|hours?|hrs?) ago\b")
LIST_ITEM_PATTERN = r"^\W*?(?:[•·▪►‣◦*]|\d{1,2}[.)])\s"


def _words_of(text: pa.Array) -> list:
    """Each string as its words in lower case, one space apart (punctuation dropped): a list of str."""
    low = pc.utf8_lower(text.fill_null(""))
    return pc.utf8_trim_whitespace(latin_regex.replace(low, r"[^\p{L}\p{N}]+", " ")).to_pylist()


def _is_headline(a: str, b: str) -> bool:
    """Line ``a`` is the page's headline ``b`` (both as ``_words_of`` gives them): the story's
    ``headline`` field, or the field with a section before it or the site after it ("World News:
    X", "X | Site"), or the line so decorated. A live blog's entry headline sits inside its title
    ("Live: X and more"), not at one end of it."""
    if not a or not b:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return short == long_ or (short.count(" ") >= 2 and (long_.startswith(short + " ") or long_.endswith(" " + short)))


def _own_edge_lines(lines: Lines, outlets: pa.Array, model: "ChromeModel", n: np.ndarray, min_stories: int,
                    headlines: pa.Array, cut: np.ndarray, rule: np.ndarray, stamps: np.ndarray,
                    pk: np.ndarray) -> np.ndarray:
    """Which of the edge lines ``cut`` (bool mask over ``lines``) are the report's own text (bool
    mask): see ``EDGE_KNOWN_STORIES``. ``n``: per line, the different reports of its outlet that
    carried it (``ChromeModel.count_of``); ``headlines``: per story (string, null = none); ``rule``:
    int8 per line, the rules applied so far (``RULE_NAMES``); ``stamps``: bool per line, time stamps
    (``_stamps``); ``pk``: uint64 per line, lead-in keys (``prefix_keys``)."""
    names = pa.array(list(model.outlet_stories), pa.string())
    seen = np.append(np.array(list(model.outlet_stories.values()), np.float64), 0.0)
    at = pc.fill_null(pc.index_in(outlets.cast(pa.string()), value_set=names), -1).to_numpy()
    known = (seen[at] >= EDGE_KNOWN_STORIES) & outlets.is_valid().to_numpy(zero_copy_only=False)
    # A long line is judged so at any site: chrome of a site this little known is short (labels,
    # buttons, bylines) or a list, which the tests below catch.
    long_ = lines.words() >= EDGE_LONG_WORDS
    idx = np.flatnonzero(cut & (known[lines.story] | long_) & (n < min_stories))
    if idx.size:
        idx = idx[~_is_list(lines.text, idx)]
    if not idx.size:
        return np.zeros(len(cut), bool)
    low = pc.utf8_lower(pc.take(lines.text, pa.array(idx)))
    # A date in a long line is part of what it says ("... stock split on April 28, 1986 and ...").
    varies = ((pc.match_substring_regex(low, DATE_TIME_PATTERN).to_numpy(zero_copy_only=False) & ~long_[idx])
              | pc.match_substring_regex(low, LIST_ITEM_PATTERN).to_numpy(zero_copy_only=False))
    idx = idx[~varies]
    heads = _words_of(pc.take(headlines.cast(pa.string()), pa.array(lines.story[idx])))
    texts = _words_of(pc.take(lines.text, pa.array(idx)))
    idx = idx[[not _is_headline(t, h) for t, h in zip(texts, heads)]]
    own = np.zeros(len(cut), bool)
    if not idx.size:
        return own
    # A run of EDGE_LIST_LINES or more such lines in a row, most of them without a figure, is a list
    # of other headlines (trending, most read) whose lines each recur on too few pages to be
    # learned; a report's own edge line stands alone, and its own rows ("Parana: 40 pct", "Sales
    # 36,557 38,678") and notes next to such a list ("... a gain of 300,000 crowns") hold figures.
    same_story = lines.story[idx[1:]] == lines.story[idx[:-1]]
    brk = np.r_[True, (np.diff(idx) != 1) | ~same_story]
    run = np.cumsum(brk) - 1
    figures = pc.match_substring_regex(pc.take(lines.text, pa.array(idx)), r"\d").to_numpy(zero_copy_only=False)
    size = np.bincount(run)
    # A block of edge lines under its title ("Don't miss", "Most read today"), the items that recur
    # at the outlet among them, is a list whatever figures its headlines hold ("Farmers group <FGRP>
    # 4th qtr net"); a line with a lead-in removed inside the text ("READ MORE: X", then the report's
    # own rows) is no title. A block with a time stamp is a live blog's entries.
    cand = np.zeros(len(cut), bool)
    cand[idx] = True
    block = cand | (cut & (n >= min_stories))
    on = np.flatnonzero(block)
    bstart = np.r_[True, (np.diff(on) != 1) | (lines.story[on[1:]] != lines.story[on[:-1]])]
    bid = np.cumsum(bstart) - 1
    first = on[bstart]
    above = np.maximum(first - 1, 0)
    titled = ((first >= 1) & (lines.story[above] == lines.story[first]) & (rule[above] != KEPT)
              & (lines.words()[above] <= EDGE_LIST_TITLE_WORDS) & (pk[above] == 0))
    in_list = np.zeros(len(cut), bool)
    timed = np.bincount(bid, weights=stamps[on]) > 0
    in_list[on] = (titled & ~timed & (np.bincount(bid) >= EDGE_LIST_LINES))[bid]
    listed = (in_list[idx]
              | ((size[run] >= EDGE_LIST_LINES) & (2 * np.bincount(run, weights=figures)[run] < size[run]) & ~figures))
    own[idx[~listed]] = True
    return own


# Why a line was removed (``chrome_rules``): codes in the order the rules are applied; a line
# carries the first that removed it. ``dedup explain`` prints these words.
KEPT, WALL, GENERIC, LEADIN, BULLET_LIST, LEARNED_OUTLET, LEARNED_CROSS, LEARNED_LIST, EDGE = range(9)
RULE_NAMES = (
    "kept",
    "wall (consent, JavaScript, paywall or bot wall, error page: WALL_PATTERNS)",
    "generic chrome pattern (subscribe, share, next story...: GENERIC_PATTERNS)",
    "lead-in of a link list (LEADIN_PATTERN: 'More stories:', 'READ MORE:', 'Related:')",
    "bulleted list of other headlines",
    "learned chrome of this outlet",
    "long line carried by many different reports across outlets",
    "list whose lead-in recurs across this outlet's reports",
    "outside the story's first and last sentence (page edge)",
)


@dataclass
class ChromeRules:
    """Per input line of a ``Lines``: ``rule`` int8 (``KEPT`` or the code of the rule that removed
    it, see ``RULE_NAMES``), ``reports`` int64 (for the learned rules: the number of different
    reports found carrying the line, or its lead-in; else 0), and ``learned_hits`` (lines removed by
    a learned rule)."""

    rule: np.ndarray
    reports: np.ndarray
    learned_hits: int
    # Edge lines kept as the report's own (``EDGE_KNOWN_STORIES``) and live-blog entry titles
    # (``_edge_trim``): bool per line, None when none. The lede is taken after a leading run of them.
    own_edge: np.ndarray | None = None

    @property
    def removed(self) -> np.ndarray:
        return self.rule != KEPT


def chrome_rules(
    lines: Lines,
    outlets: pa.Array,
    model: ChromeModel | None,
    chrome: ChromeSettings,
    *,
    walls: np.ndarray | None = None,
    headlines: pa.Array | None = None,
    dated: np.ndarray | None = None,
) -> ChromeRules:
    """Which lines are chrome and by which rule (``ChromeRules``).

    Learned chrome: a line whose (outlet, key) was carried by at least ``min_stories`` different
    reports (and ``min_share`` of the outlet's stories); a long prose line carried by that many
    different reports across all outlets; a line that does not end a sentence and whose lead-in
    recurs across that many reports while the line itself does not (a list of other headlines).
    Lines of a table (``table_lines``) are never learned chrome and anchor the edges as sentences do.
    A bulleted list is removed as other headlines only outside the story's text (``_inner_lists``).
    ``walls``: a mask from ``wall_lines``, computed here when not given. ``headlines``: per story,
    the record's headline (string, null = none); with a model, an edge line of a known outlet that
    is neither its headline nor recurs in the outlet is kept (``EDGE_KNOWN_STORIES``). Without
    headlines every edge line goes, as it did before that rule. ``dated``: bool per line, the lines
    a wire dateline was cut from (``strip_furniture``); the report's text begins there, so such a
    line anchors the edges as a sentence does (a table brief's "CHICAGO (Reuters) - Periods end
    January 31" is its first line, not page furniture)."""
    min_stories, min_share, generic = chrome.min_stories, chrome.min_share, chrome.generic
    n_lines = len(lines.text)
    rule = np.zeros(n_lines, dtype=np.int8)
    reports = np.zeros(n_lines, dtype=np.int64)
    words = lines.words()

    def mark(idx_or_mask, code):
        sel = np.zeros(n_lines, bool)
        sel[idx_or_mask] = True
        rule[sel & (rule == KEPT)] = code

    learned = np.zeros(n_lines, dtype=bool)
    learned_code = np.zeros(n_lines, dtype=np.int8)
    n = pk = None
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
        learned_code[hit] = LEARNED_OUTLET
        reports[hit] = n[hit]
        cross = np.flatnonzero(lines.is_prose() & (words >= CROSS_MIN_WORDS))
        if cross.size:
            nc = model.count_of(_all_outlet_keys(lines.story[cross], kh[cross]))
            ok = nc >= max(min_stories, CROSS_MIN_REPORTS)
            new = ok & ~hit[cross]
            learned_code[cross[new]] = LEARNED_CROSS
            reports[cross[new]] = nc[new]
            hit[cross] |= ok
        pk = prefix_keys(lines)
        # The line itself is not chrome (both engines know report counts only from min_stories up).
        lead = np.flatnonzero((pk != 0) & ~lines._line_stats()[1] & (n < min_stories))
        lead = lead[_is_list(lines.text, lead)]
        if lead.size:
            nl = model.count_of(_outlet_keys(outlets, lines.story[lead], pk[lead]))
            ok = nl >= min_stories
            new = ok & ~hit[lead]
            learned_code[lead[new]] = LEARNED_LIST
            reports[lead[new]] = nl[new]
            hit[lead] |= ok
        learned = hit
    if generic:
        mark(wall_lines(lines) if walls is None else walls, WALL)
        short_idx = np.flatnonzero(words <= MAX_GENERIC_WORDS)
        generic_idx = short_idx[lines.per_distinct(lambda t: pc.match_substring_regex(
            pc.utf8_lower(t), _GENERIC_RE).to_numpy(zero_copy_only=False), short_idx)]
        if generic_idx.size:
            # A sentence that reports what someone said is a report's ("The subscription period for
            # the offer runs from March 26, it added."), whatever chrome words it holds.
            said = lines._line_stats()[1][generic_idx] & pc.match_substring_regex(
                pc.utf8_lower(pc.take(lines.text, pa.array(generic_idx))), REPORTED_SPEECH_PATTERN).to_numpy(
                zero_copy_only=False)
            mark(generic_idx[~said], GENERIC)
        open_idx = np.flatnonzero(~lines._line_stats()[1])
        if open_idx.size:
            mark(open_idx[lines.per_distinct(lambda t: pc.match_substring_regex(
                pc.utf8_lower(t), LEADIN_PATTERN).to_numpy(zero_copy_only=False), open_idx)], LEADIN)
        bullets = np.flatnonzero(lines.is_headline_bullet())
        if bullets.size:
            # An item that ends in "," or ";" continues a sentence of the story ("- 8 pct bonds due
            # July 1, 1990,"); a list of other headlines does not.
            ends_open = pc.match_substring_regex(pc.take(lines.text, pa.array(bullets)), r"[,;]$").to_numpy(
                zero_copy_only=False)
            mark(bullets[~ends_open], BULLET_LIST)
    # With digits folded, "Revs 38.0 mln vs 31.6 mln" and "Record March 20" recur across an outlet's
    # different briefs: table lines are kept whatever learning says (not what the patterns say).
    table = table_lines(lines, learned | (rule != KEPT))
    learned &= ~table
    # ...and so is a label between its rows that a subscription plan could also read ("12 months").
    rule[table & (rule == GENERIC)] = KEPT
    learned_hits = int(learned.sum())
    take = learned & (rule == KEPT)
    rule[take] = learned_code[take]
    reports[rule < LEARNED_OUTLET] = 0
    # A long line that introduces what follows ("The following offerings were filed with the SEC:"),
    # and a long bulleted sentence ("-- shares issued in a merger where ... proxy material.").
    anchor = lines.is_prose() | table | wrapped_prose(lines, dated) | schedule_lines(lines) | figure_table_lines(lines)
    if dated is not None:
        anchor |= dated
    intro = np.flatnonzero(~anchor & (words >= INTRO_MIN_WORDS))
    if intro.size:
        anchor[intro] = (pc.match_substring_regex(pc.take(lines.text, pa.array(intro)), r":$").to_numpy(
            zero_copy_only=False) | (lines._line_stats()[1][intro] & (words[intro] >= BULLET_SENTENCE_MIN_WORDS)))
    listed = rule == BULLET_LIST
    if listed.any():
        titled = np.zeros(n_lines, bool)
        idx = np.flatnonzero(listed)
        titled[idx] = lines.per_distinct(lambda t: _titled(t, np.arange(len(t))), idx)
        rule[_inner_lists(lines.story, listed, rule == KEPT, anchor, lines._line_stats()[1], titled)] = KEPT
    titles = np.zeros(n_lines, bool)
    stamps = _stamps(lines, words)
    keep = _edge_trim(lines.story, anchor, rule == KEPT, stamps, titles)
    cut = ~keep & (rule == KEPT)
    if stamps.any() and cut.any():
        summary = _entry_summaries(lines, stamps, keep, cut)
        keep |= summary
        cut &= ~summary
        titles |= summary
    own = titles if titles.any() else None
    if n is not None and headlines is not None and cut.any():
        own = _own_edge_lines(lines, outlets, model, n, min_stories, headlines, cut, rule, stamps, pk) | titles
        keep |= own
    rule[~keep & (rule == KEPT)] = EDGE
    return ChromeRules(rule, reports, learned_hits, own)


def remove_chrome(
    lines: Lines,
    outlets: pa.Array,
    model: ChromeModel | None,
    chrome: ChromeSettings,
    *,
    walls: np.ndarray | None = None,
    headlines: pa.Array | None = None,
) -> tuple[Lines, np.ndarray, int]:
    """Lines with chrome removed, a boolean mask (over the input lines) of what was removed, and
    how many of those the learned chrome removed (the rest: walls, generic patterns and edges).
    The rules are ``chrome_rules``'."""
    r = chrome_rules(lines, outlets, model, chrome, walls=walls, headlines=headlines)
    removed = r.removed
    return lines.filter(~removed), removed, r.learned_hits
