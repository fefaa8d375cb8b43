"""Unicode-class patterns narrowed to Latin text give Arrow's own answers (dedup.stages.text.latin_regex)."""
from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bench.synth.languages import REPORTS
from dedup.stages import chrome
from dedup.stages.text import latin_regex, wire
from dedup.stages.text.latin_regex import NARROW_RANGES, narrowed

# Every pattern with a Unicode class that the stages run through latin_regex.
PATTERNS = [*wire._DATELINES, chrome.TABLE_LABEL_PATTERN, chrome._TITLE_WORD, chrome._PLAIN_WORD,
            chrome.FIGURE_ROW_LABEL_PATTERN, r"[^\p{L}\p{N}]+", r"^\s*\p{Ll}"]


def _strings() -> pa.Array:
    """Our own datelines and paragraphs in many languages, and random strings over every code point
    of the narrow ranges (letters whose class is easy to get wrong: "ª", "µ", "ƻ", "ǅ") with a few
    from outside them (Greek, Cyrillic, Han), so that calls see narrow rows, wide rows and both."""
    rnd = random.Random(7)
    inside = [chr(c) for a, b in NARROW_RANGES for c in range(max(a, 1), b + 1)]
    words = ["NEW YORK", "Paris", "São Paulo", "ZÜRICH", "Łódź", "(Reuters)", "(AFP)", "/ТАСС/", "(EFE)",
             "March 3", "3 dic", "-", "–", ":", "Net", "vs", "1,234", "“Quote”", "µg", "ªb", "ƻ", "ǅemal"]
    out = [f"{rnd.choice(words)}, {rnd.choice(words)} {rnd.choice(words)} - {rnd.choice(words)} text"
           for _ in range(3000)]
    out += ["".join(rnd.choice(inside) for _ in range(rnd.randint(1, 30))) for _ in range(6000)]
    out += ["".join(rnd.choice(inside + ["Μ", "Я", "中", "ก"]) for _ in range(rnd.randint(1, 30))) for _ in range(2000)]
    out += [p for reports in REPORTS.values() for _, _, paras in reports for p in paras]
    out += ["MADRID, 3 dic (EFE).- El gobierno", "ZÜRICH, 3. Dez (dpa) - Die", "São Paulo (AFP) - Le",
            "ŁÓDŹ, 3 grudnia (PAP) - Tekst", "Qtr ended Jan 31: 27 35", "Überschuss: 27 35", "", None]
    return pa.array(out, pa.string())


STRINGS = _strings()


@pytest.mark.parametrize("pattern", PATTERNS, ids=range(len(PATTERNS)))
def test_answers_equal_the_pattern_as_written(pattern):
    for texts in (STRINGS, pc.utf8_lower(STRINGS), STRINGS.slice(3000, 6000)):  # mixed rows, and narrow rows only
        assert (latin_regex.match(texts, pattern) == pc.match_substring_regex(texts, pattern).fill_null(False).to_numpy(
            zero_copy_only=False)).all()
        assert (latin_regex.count(texts, pattern) == pc.count_substring_regex(texts, pattern).fill_null(0).to_numpy(
            zero_copy_only=False)).all()
        assert latin_regex.replace(texts, pattern, "#").equals(pc.replace_substring_regex(texts, pattern, "#"))
        if "(?P<" in pattern:
            assert latin_regex.extract(texts, pattern).equals(pc.extract_regex(texts, pattern))


def test_a_class_is_narrowed_inside_and_outside_brackets():
    got = narrowed(r"^\p{Lu}[\p{Ll}\P{L}]")
    assert "\\p" not in got and "\\P" not in got and got.startswith("^[\\x{41}-\\x{5A}")
    texts = pa.array(["Ab", "A1", "a1", "É!", "ǅx"])
    assert pc.match_substring_regex(texts, got).equals(pc.match_substring_regex(texts, r"^\p{Lu}[\p{Ll}\P{L}]"))


def test_a_class_without_members_in_the_ranges_never_matches_a_narrow_line():
    got = narrowed(r"\p{Han}+")
    texts = pa.array(["abc", "Zürich", "中文"])
    assert pc.match_substring_regex(texts, got).to_pylist() == [False, False, False]
    assert latin_regex.match(texts, r"\p{Han}+").tolist() == [False, False, True]


def test_no_class_or_a_case_insensitive_one_is_left_as_written():
    assert narrowed(r"^\d+ (vs|versus) \d+$") is None
    assert narrowed(r"(?i)\p{Lu}") is None  # "µ" folds to Greek "Μ", outside the ranges
    assert narrowed(r"\p{Lu}(?i:reuters)") is not None  # the class comes before the folding part


def test_narrow_rows_are_the_strings_made_of_narrow_code_points_only():
    def narrow(s):
        return all(any(a <= ord(c) <= b for a, b in NARROW_RANGES) for c in s or "")

    want = [narrow(s) for s in STRINGS.to_pylist()]
    assert latin_regex.narrow_rows(STRINGS).tolist() == want and 0 < sum(want) < len(want)
    for a, n in ((1, 7), (3001, 5000), (len(STRINGS) - 3, 3)):  # slices start and end inside buffers
        assert latin_regex.narrow_rows(STRINGS.slice(a, n)).tolist() == want[a : a + n]


def test_an_escaped_backslash_before_p_is_not_a_class():
    assert narrowed(r"\\p{L}") is None  # a backslash, then the letters "p{L}"
    got = narrowed(r"\\p\p{Lu}")
    assert got.startswith(r"\\p[\x{41}-\x{5A}")
