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

from dedup.lines import Lines

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


@dataclass
class ChromeModel:
    """Per outlet: how many stories each line key appeared in, and how many stories were seen."""

    line_counts: pa.Table = field(
        default_factory=lambda: pa.table(
            {"outlet": pa.array([], pa.string()), "key": pa.array([], pa.string()), "stories": pa.array([], pa.int64())}
        )
    )
    outlet_stories: dict[str, int] = field(default_factory=dict)

    def observe(self, outlets: pa.Array, lines: Lines) -> None:
        """Count each (outlet, line key) once per story."""
        short = pc.less_equal(pc.utf8_length(lines.text), MAX_CHROME_LINE_CHARS).to_numpy(zero_copy_only=False)
        sub = lines.filter(short)
        outlet_col = pc.take(outlets.fill_null(""), pa.array(sub.story))
        t = pa.table({"outlet": outlet_col, "key": sub.key(), "story": sub.story})
        per_story = t.group_by(["outlet", "key", "story"]).aggregate([])
        counts = per_story.group_by(["outlet", "key"]).aggregate([("story", "count")]).rename_columns(
            ["outlet", "key", "stories"]
        )
        self.line_counts = _sum_counts(pa.concat_tables([self.line_counts, counts.cast(self.line_counts.schema)]))
        for vc in pc.value_counts(outlets.fill_null("")).to_pylist():
            o = vc["values"]
            self.outlet_stories[o] = self.outlet_stories.get(o, 0) + vc["counts"]

    def merge(self, other: "ChromeModel") -> "ChromeModel":
        merged = ChromeModel(
            _sum_counts(pa.concat_tables([self.line_counts, other.line_counts])), dict(self.outlet_stories)
        )
        for o, n in other.outlet_stories.items():
            merged.outlet_stories[o] = merged.outlet_stories.get(o, 0) + n
        return merged

    def learned(self, min_stories: int, min_share: float) -> pa.Table:
        """The (outlet, key) pairs that count as chrome, with how many stories carried them."""
        t = self.line_counts
        n_outlet = pa.array([self.outlet_stories.get(o, 0) for o in t.column("outlet").to_pylist()], pa.int64()) \
            if min_share > 0 else None
        mask = pc.and_(pc.greater_equal(t.column("stories"), min_stories), pc.not_equal(t.column("outlet"), ""))
        if n_outlet is not None:
            share = pc.divide(pc.cast(t.column("stories"), pa.float64()), pc.cast(n_outlet, pa.float64()))
            mask = pc.and_(mask, pc.greater_equal(share, min_share))
        return t.filter(mask)


def _sum_counts(t: pa.Table) -> pa.Table:
    return t.group_by(["outlet", "key"]).aggregate([("stories", "sum")]).rename_columns(["outlet", "key", "stories"])


def chrome_lookup_keys(outlets: pa.Array, keys: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(outlets.cast(pa.string()), keys.cast(pa.string()), "\x1f")


@numba.njit(cache=True)
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
    lines: Lines, outlets: pa.Array, learned: pa.Array | None, *, generic: bool
) -> tuple[Lines, np.ndarray]:
    """Lines with chrome removed, and a boolean mask (over the input lines) of what was removed.

    ``learned`` is the set of "outlet\\x1fkey" strings from ``ChromeModel.learned``.
    """
    keep = np.ones(len(lines.text), dtype=bool)
    keys = lines.key()
    words = lines.words()
    if learned is not None and len(learned):
        outlet_col = pc.take(outlets.fill_null(""), pa.array(lines.story))
        hit = pc.is_in(chrome_lookup_keys(outlet_col, keys), value_set=learned).to_numpy(zero_copy_only=False)
        keep &= ~hit
    if generic:
        short_idx = np.flatnonzero(words <= MAX_GENERIC_WORDS)
        gen = pc.match_substring_regex(pc.take(keys, pa.array(short_idx)), _GENERIC_RE).to_numpy(zero_copy_only=False)
        keep[short_idx[gen]] = False
        keep &= ~lines.is_headline_bullet(words)
    keep = _edge_trim(lines.story, lines.is_prose(words), keep)
    return lines.filter(keep), ~keep
