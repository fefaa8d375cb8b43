"""Fingerprint text: the cleaned body folded so that house style does not look like an edit.

Outlets rewrite wire copy to their style: "pct" becomes "percent", "per cent" or "%",
"mln dlrs" becomes "million dollars" or "$... million", "U.S." becomes "US", quotes turn
typographic. Each rule below maps all the spellings to one form, applied to whole Arrow columns
(RE2 regexes in C++), lowercased first. The result is only hashed, never shown.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# (pattern, replacement), applied in order on lowercased NFKC text.
RULES: list[tuple[str, str]] = [
    (r"[‘’‚‛′`´]", "'"),
    (r"[“”„‟″«»]", '"'),
    (r"[‐‑‒–—―−]", "-"),
    (r"\bu\.\s?s\.(\s?a\.)?", "us"),
    (r"\bu\.\s?k\.", "uk"),
    (r"\be\.\s?u\.", "eu"),
    (r"(\d),(\d{3})\b", "\\1\\2"),  # 1,000 -> 1000 (twice, for 1,000,000)
    (r"(\d),(\d{3})\b", "\\1\\2"),
    (r"(\d)\s*%", "\\1 pct"),
    (r"\bper\s?cent(age)?\b", "pct"),
    (r"\bpercent(age)?\b", "pct"),
    (r"\bpct\b", "pct"),
    (r"\bmlns?\b", "million"),
    (r"\bblns?\b", "billion"),
    (r"\btrln\b", "trillion"),
    (r"\bbn\b", "billion"),
    (r"(\d)\s?m\b", "\\1 million"),
    (r"\b(dlrs?|dollar)\b", "dollars"),
    (r"\bus\s?\$\s?", "$"),
    # "$5 million" and "5 million dollars" -> "5 million dollars"
    (r"\$\s?(\d[\d.]*)\s*(million|billion|trillion)", "\\1 \\2 dollars"),
    (r"\$\s?(\d[\d.]*)", "\\1 dollars"),
    (r"\bvs\.?\b", "versus"),
    (r"\bcts\b", "cents"),
    (r"\bshr\b", "share"),
    (r"\bqtr\b", "quarter"),
    (r"\byr\b", "year"),
    (r"\bgovt\b", "government"),
    (r"\bintl\b", "international"),
    (r"\b(inc|corp|co|ltd|plc)\.", "\\1"),
    (r"\b(jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.", "\\1"),
    (r"\bone\b", "1"), (r"\btwo\b", "2"), (r"\bthree\b", "3"), (r"\bfour\b", "4"), (r"\bfive\b", "5"),
    (r"\bsix\b", "6"), (r"\bseven\b", "7"), (r"\beight\b", "8"), (r"\bnine\b", "9"), (r"\bten\b", "10"),
    (r"'s\b", ""),  # possessive: "company's" vs "companys" after quote folding
    (r"(\d)\.0+\b", "\\1"),
]


def fingerprint_text(body_clean: pa.Array) -> pa.Array:
    """The string each story is shingled from."""
    t = pc.utf8_lower(pc.utf8_normalize(body_clean, "NFKC"))
    for pattern, repl in RULES:
        t = pc.replace_substring_regex(t, pattern, repl)
    return t
