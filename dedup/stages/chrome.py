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


def _outlet_keys(outlets: pa.Array, stories: np.ndarray, key_hash: np.ndarray) -> np.ndarray:
    """One uint64 per (outlet of the line's story, line key)."""
    from dedup.stages.fingerprint import hash_strings

    oh = hash_strings(outlets.fill_null(""))
    return (oh[stories] * np.uint64(0x9E3779B97F4A7C15)) ^ key_hash


@dataclass
class ChromeModel:
    """Per (outlet, line key): how many stories carried the line; per outlet: stories seen.

    Keys are 64-bit hashes (``Lines.key_hash`` mixed with the outlet), so counting is sorting
    numbers, not grouping strings.
    """

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    outlet_stories: dict[str, int] = field(default_factory=dict)

    def observe(self, outlets: pa.Array, lines: Lines) -> None:
        """Count each (outlet, line key) once per story."""
        short = lines.at_most_chars(MAX_CHROME_LINE_CHARS)
        k = _outlet_keys(outlets, lines.story[short], lines.key_hash()[short])
        # Once per story: sort (key, story) pairs, keep the first of each, count per key.
        st = lines.story[short].astype(np.uint64)
        # Lines come in story order, so a stable sort by key alone orders by (key, story).
        order = np.argsort(k, kind="stable") if np.all(st[1:] >= st[:-1]) else np.lexsort((st, k))
        k, st = k[order], st[order]
        first = np.ones(k.size, bool)
        first[1:] = (k[1:] != k[:-1]) | (st[1:] != st[:-1])
        k = k[first]
        # Already sorted: runs of equal keys are counted without np.unique sorting them again.
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if k.size else np.empty(0, np.int64)
        uk, cnt = k[starts], np.diff(np.r_[starts, k.size])
        if self.keys.size:
            self._add(uk, cnt)
        else:
            self.keys, self.counts = uk, cnt.astype(np.int64)
        for vc in pc.value_counts(outlets.fill_null("")).to_pylist():
            o = vc["values"]
            self.outlet_stories[o] = self.outlet_stories.get(o, 0) + vc["counts"]

    def _add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        allk = np.concatenate([self.keys, keys])
        allc = np.concatenate([self.counts, counts.astype(np.int64)])
        uk, inv = np.unique(allk, return_inverse=True)
        self.keys, self.counts = uk, np.bincount(inv, weights=allc, minlength=uk.size).astype(np.int64)

    def merge(self, other: "ChromeModel") -> "ChromeModel":
        return ChromeModel.combine([self, other])

    @staticmethod
    def combine(models: list["ChromeModel"]) -> "ChromeModel":
        """One model from many (chunks, nights), summing counts in a single pass."""
        out = ChromeModel()
        if models:
            out._add(np.concatenate([m.keys for m in models]), np.concatenate([m.counts for m in models]))
        for m in models:
            for o, n in m.outlet_stories.items():
                out.outlet_stories[o] = out.outlet_stories.get(o, 0) + n
        return out

    def n_learned(self, min_stories: int) -> int:
        return int((self.counts >= min_stories).sum())

    def count_of(self, keys: np.ndarray) -> np.ndarray:
        """Stories that carried each (outlet, key); 0 for keys never seen."""
        if not self.keys.size:
            return np.zeros(keys.size, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.where(self.keys[pos] == keys, self.counts[pos], 0)


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
) -> tuple[Lines, np.ndarray, int]:
    """Lines with chrome removed, a boolean mask (over the input lines) of what was removed, and
    how many of those the learned chrome removed (the rest: generic patterns and edges)."""
    keep = np.ones(len(lines.text), dtype=bool)
    learned_hits = 0
    words = lines.words()
    if model is not None and model.keys.size:
        n = model.count_of(_outlet_keys(outlets, lines.story, lines.key_hash()))
        hit = n >= min_stories
        if min_share > 0 and hit.any():
            # Stories seen per outlet, looked up for each story (an unseen outlet counts 0: index -1).
            names = pa.array(list(model.outlet_stories), pa.string())
            seen = np.append(np.array(list(model.outlet_stories.values()), np.float64), 0.0)
            at = pc.fill_null(pc.index_in(outlets.fill_null("").cast(pa.string()), value_set=names), -1)
            per_outlet = seen[at.to_numpy()]
            hit &= n >= min_share * per_outlet[lines.story]
        keep &= ~hit
        learned_hits = int(hit.sum())
    if generic:
        short_idx = np.flatnonzero(words <= MAX_GENERIC_WORDS)
        low = pc.utf8_lower(pc.take(lines.text, pa.array(short_idx)))
        keep[short_idx[pc.match_substring_regex(low, _GENERIC_RE).to_numpy(zero_copy_only=False)]] = False
        keep &= ~lines.is_headline_bullet()
    keep = _edge_trim(lines.story, lines.is_prose(), keep)
    return lines.filter(keep), ~keep, learned_hits
