"""Text-loss: lines cleaning removed from one copy of a report that another outlet's copy kept.

Chrome is what recurs across *different* stories of an outlet; a report's own sentences are not.
When cleaning removes a line from outlet A's copy and outlet B's copy of the same report (the
same cluster) kept that line as story text, the line was almost certainly wire text, wrongly
removed. Without gold labels this is the run's own measure of that fault:

    text_loss = removed lines found kept in another outlet's copy of the same cluster
                / removed lines

Goal 0. Stories without an outlet count as one outlet (""). A removed line that repeats the
record's own headline field is not counted as removed (``clean._own_headline``): the page's title is
in the ``headline`` column, and a live blog in the cluster that quotes it as an entry title keeps it
rightly.
Lines are compared by ``Lines.key_hash`` (case, digits and spacing ignored), cut to its high
32 bits (``line_keys``): a collision between two different lines of one cluster has probability
about 2**-32 per pair.

Both engines call ``count``: the local engine on the whole night, the Spark engine on partitions
that each hold whole clusters, summing the results (``TextLoss.add``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Story ids of examples kept in the manifest (for ``dedup explain``): the smallest ids, so that
# the result does not depend on how the clusters were split between calls.
MAX_EXAMPLES = 10


def line_keys(key_hash: np.ndarray, story: np.ndarray, mask: np.ndarray, n_stories: int) -> pa.LargeListArray:
    """Per story, the keys (uint32: ``key_hash >> 32``) of its lines where ``mask`` is true.

    ``key_hash`` uint64 (lines,), ``story`` int (lines,) sorted, ``mask`` bool (lines,).
    Returns a large_list<uint32> array of ``n_stories`` rows."""
    sel = np.flatnonzero(mask)
    counts = np.bincount(story[sel], minlength=n_stories) if sel.size else np.zeros(n_stories, np.int64)
    offsets = np.zeros(n_stories + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return pa.LargeListArray.from_arrays(pa.array(offsets), pa.array((key_hash[sel] >> np.uint64(32)).astype(np.uint32)))


@dataclass
class TextLoss:
    """Removed lines, and how many of them another outlet's copy of the same cluster kept."""

    removed: int = 0
    found_kept: int = 0
    examples: list = field(default_factory=list)  # story ids that lost such a line (at most MAX_EXAMPLES)

    @property
    def share(self) -> float:
        return self.found_kept / self.removed if self.removed else 0.0

    def add(self, other: "TextLoss") -> "TextLoss":
        return TextLoss(self.removed + other.removed, self.found_kept + other.found_kept,
                        sorted(set(self.examples) | set(other.examples))[:MAX_EXAMPLES])

    def to_dict(self) -> dict:
        return {"text_loss": round(self.share, 6), "removed_lines": self.removed,
                "removed_lines_kept_elsewhere": self.found_kept, "examples": self.examples}


def _flat(col) -> tuple[np.ndarray, np.ndarray]:
    """(row of each value, values) of a list<uint32> column."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    lengths = pc.list_value_length(col).fill_null(0).to_numpy()
    rows = np.repeat(np.arange(len(col)), lengths)
    return rows, pc.list_flatten(col).to_numpy().astype(np.uint64)


def count(t: pa.Table) -> TextLoss:
    """Text-loss over ``t``, which must hold whole clusters: one row per story with ``cluster``
    (any integer or string id), ``outlet`` (string, null = none), ``story_id`` (string),
    ``kept_keys`` and ``removed_keys`` (list<uint32> from ``line_keys``)."""
    n = t.num_rows
    if n == 0:
        return TextLoss()
    cl = t.column("cluster").combine_chunks()
    cluster = pc.dictionary_encode(cl).indices.to_numpy().astype(np.uint64) if not pa.types.is_integer(cl.type) \
        else cl.to_numpy().astype(np.uint64)
    outlet = pc.dictionary_encode(t.column("outlet").combine_chunks().fill_null("")).indices.to_numpy().astype(np.int64)
    r_row, r_key = _flat(t.column("removed_keys"))
    if r_row.size == 0:
        return TextLoss()
    k_row, k_key = _flat(t.column("kept_keys"))
    # (cluster, key) in one uint64: clusters number below 2**32 in any one call.
    r_ck = (cluster[r_row] << np.uint64(32)) | r_key
    k_ck = (cluster[k_row] << np.uint64(32)) | k_key
    # np.isin sorts both sides together (0.9 s at 200k stories); a sorted r_ck searched by each
    # kept key gives the same mask in a tenth of that.
    r_sorted = np.sort(r_ck)
    at = np.minimum(np.searchsorted(r_sorted, k_ck), r_sorted.size - 1)
    want = r_sorted[at] == k_ck
    k_ck, k_out = k_ck[want], outlet[k_row[want]]
    found = np.zeros(r_ck.size, bool)
    if k_ck.size:
        order = np.lexsort((k_out, k_ck))
        k_ck, k_out = k_ck[order], k_out[order]
        first = np.r_[True, k_ck[1:] != k_ck[:-1]]
        starts = np.flatnonzero(first)
        g_ck = k_ck[starts]
        lo = k_out[starts]  # smallest and largest outlet keeping the line in that cluster
        hi = k_out[np.r_[starts[1:], k_ck.size] - 1]
        pos = np.minimum(np.searchsorted(g_ck, r_ck), g_ck.size - 1)
        hit = g_ck[pos] == r_ck
        own = outlet[r_row]
        found = hit & ((lo[pos] != own) | (hi[pos] != own))
    ids = pc.take(t.column("story_id").combine_chunks(), pa.array(np.unique(r_row[found])))
    ex = sorted(str(x) for x in ids.to_pylist())[:MAX_EXAMPLES]
    return TextLoss(int(r_ck.size), int(found.sum()), ex)
