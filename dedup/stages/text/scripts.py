"""Which characters separate words, and which belong to scripts written without spaces.

The tokenizer (``dedup.stages.fingerprint``) and the line measurements (``dedup.stages.text.lines``)
read one table, ``CP_CLASS``, indexed by code point:

* 0: a letter (or digit, mark) of a script that separates words with spaces, or not covered here;
* 1: a separator: punctuation, symbols and spaces of the blocks below (CJK 。、「」・, full-width
  forms left after NFKC, Arabic ، ؛ ؟ ٪, the Devanagari danda । ॥, Thai ฯ, Burmese ၊ ။, Khmer ។);
* 2: a character of a script written without spaces between words: Han (CJK ideographs, their
  extensions and compatibility forms), hiragana and katakana, Thai, Lao, Khmer, Burmese (Myanmar).

Text in class-2 scripts is shingled on characters, and its length counted in *word equivalents*:
``DENSE_CHARS_PER_WORD[script]`` characters make one word for ``dedup.short_words``, the exact-match
floor and the lede rule. Sources of the constants: the mean word length of segmented Chinese text is
about 1.6-1.7 characters (SIGHAN bakeoff corpora), Japanese text runs about 2 characters a word
(kanji compounds with kana inflections); Thai, Lao, Khmer and Burmese words average about 3-4 code
points counting vowel signs and tone marks (Thai BEST/InterBEST corpus: about 3.7 characters a word).
Rounded to 2 and 4: a slight undercount only makes a story count as short a little sooner, which
asks for stricter evidence, never looser.

Only code points below ``CP_CLASS.shape[0]`` are classed; ``CP_LEADS`` are the UTF-8 lead bytes under
which a class 1 or 2 character can start (the compiled code decodes a character only after one of
them, so English text pays nothing). ``CP_CLASS`` reaches the compiled kernels as an argument, but the
tokenizer's byte table (``fingerprint._CLS``) is built from ``CP_LEADS`` into that module's compiled code:
a change here that adds a lead byte (a block under a new one) must also touch ``stages/fingerprint.py``, or
numba's on-disk cache keeps the old table.
"""
from __future__ import annotations

import unicodedata

import numpy as np

LETTER, SEPARATOR, DENSE = 0, 1, 2

# (first, last) code points whose letters are class 2, by script.
DENSE_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF),
            (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303C)),
    "kana": ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF), (0x3031, 0x3035)),
    "thai": ((0x0E00, 0x0E7F),),
    "lao": ((0x0E80, 0x0EFF),),
    "burmese": ((0x1000, 0x109F),),
    "khmer": ((0x1780, 0x17FF),),
}
# Characters per word equivalent, by script (module docstring).
DENSE_CHARS_PER_WORD = {"han": 2, "kana": 2, "thai": 4, "lao": 4, "burmese": 4, "khmer": 4}
# Blocks whose punctuation, symbols and spaces separate words (class 1); their letters stay class 0
# unless a DENSE_RANGES entry covers them.
SEPARATOR_BLOCKS = (
    (0x0590, 0x05FF),  # Hebrew: maqaf, sof pasuq, geresh
    (0x0600, 0x06FF),  # Arabic: comma, semicolon, question mark, per cent sign, full stop
    (0x0900, 0x097F),  # Devanagari: danda, double danda, abbreviation sign
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF),
    (0x3000, 0x30FF),  # CJK symbols and punctuation, kana middle dot
    (0xFE30, 0xFE6F),  # CJK compatibility and small forms
    (0xFF00, 0xFFEF),  # full-width forms (NFKC folds most of them to ASCII first)
)
_SIZE = 0x323B0


def _build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cls = np.zeros(_SIZE, np.uint8)
    weight = np.zeros(_SIZE, np.uint8)  # 12 / chars-per-word of a class-2 character: 12 units = 1 word
    for lo, hi in SEPARATOR_BLOCKS:
        for cp in range(lo, hi + 1):
            cat = unicodedata.category(chr(cp))
            if cat[0] in "PSZ":
                cls[cp] = SEPARATOR
    for script, ranges in DENSE_RANGES.items():
        for lo, hi in ranges:
            for cp in range(lo, hi + 1):
                cat = unicodedata.category(chr(cp))
                if cat[0] in "LMN" or (cat == "Cn" and script == "han"):
                    cls[cp] = DENSE
                    weight[cp] = WORD_UNITS // DENSE_CHARS_PER_WORD[script]
    leads = sorted({chr(cp).encode("utf-8")[0] for cp in np.flatnonzero(cls)} - {0xC2, 0xE2})
    return cls, weight, np.array(leads, np.uint8)


# A class-2 character counts WORD_UNITS / chars-per-word units; WORD_UNITS units are one word.
WORD_UNITS = 12
CP_CLASS, CP_WEIGHT, CP_LEADS = _build()
