"""Story bodies as Arrow columns of lines: split, measure and join back, without Python loops.

Cleaning works line by line (a scraped page puts each paragraph and each piece of chrome on a
line of its own). ``Lines`` is the flat view: one row per non-empty line, with the row of the
story it came from, in order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Sentence-final punctuation, possibly followed by closing quotes or brackets.
_SENTENCE_END = r"[.!?][\"'”’)\]]*$|[\"'”’]$"
_BULLET = r"^[•·▪►◦*+>-]\s?"


@dataclass
class Lines:
    text: pa.Array  # the line, whitespace-trimmed
    story: np.ndarray  # int64 row of the story in its chunk
    n_stories: int

    @staticmethod
    def split(bodies: pa.Array) -> "Lines":
        if isinstance(bodies, pa.ChunkedArray):
            bodies = bodies.combine_chunks()
        parts = pc.split_pattern(bodies.fill_null(""), "\n")
        flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
        story = pc.list_parent_indices(parts).to_numpy().astype(np.int64)
        keep = pc.greater(pc.utf8_length(flat), 0)
        return Lines(flat.filter(keep), story[keep.to_numpy(zero_copy_only=False)], len(bodies))

    def key(self) -> pa.Array:
        """What makes two lines "the same line": case, digits and spacing ignored.

        Digits are blanked so that "Last Updated : Sep 02 2016 | 10:42 PM" recurs across
        stories as one line.
        """
        k = pc.utf8_lower(self.text)
        k = pc.replace_substring_regex(k, r"\d+", "0")
        return pc.replace_substring_regex(k, r"\s+", " ")

    def words(self) -> np.ndarray:
        return pc.count_substring_regex(self.text, r"\S+").to_numpy().astype(np.int64)

    def is_headline_bullet(self, words: np.ndarray) -> np.ndarray:
        """A bulleted line with no sentence ending: an item of a list of other headlines."""
        ends = pc.match_substring_regex(self.text, _SENTENCE_END).to_numpy(zero_copy_only=False)
        bullet = pc.match_substring_regex(self.text, _BULLET).to_numpy(zero_copy_only=False)
        return bullet & ~ends & (words <= 15)

    def is_prose(self, words: np.ndarray | None = None) -> np.ndarray:
        """A sentence of the story rather than a label, price, bullet, menu item or button."""
        words = self.words() if words is None else words
        ends = pc.match_substring_regex(self.text, _SENTENCE_END).to_numpy(zero_copy_only=False)
        bullet = pc.match_substring_regex(self.text, _BULLET).to_numpy(zero_copy_only=False)
        return ~bullet & (((words >= 3) & ends) | (words >= 20))

    def filter(self, mask: np.ndarray) -> "Lines":
        return Lines(self.text.filter(pa.array(mask)), self.story[mask], self.n_stories)

    def join(self) -> pa.Array:
        """One string per story: its remaining lines joined with newlines ("" when none left)."""
        counts = np.bincount(self.story, minlength=self.n_stories)
        offsets = np.zeros(self.n_stories + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        text = self.text.cast(pa.large_string())
        lists = pa.LargeListArray.from_arrays(pa.array(offsets), text)
        return pc.binary_join(lists, pa.scalar("\n", pa.large_string()))

    def count_per_story(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.story[mask], minlength=self.n_stories)
