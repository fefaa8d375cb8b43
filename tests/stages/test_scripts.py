"""Every script the wires write in: shingles, word counts and normal forms (issue 14)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bench.synth.languages import REPORTS
from dedup.config import load_config
from dedup.night.run import run
from dedup.stages import verify
from dedup.stages.fingerprint import fingerprint, shingle_hashes
from dedup.stages.text.lines import Lines
from dedup.stages.text.normalize import fingerprint_text
from dedup.stages.text.scripts import CP_CLASS, DENSE, SEPARATOR
from tests.conftest import shared_path


def _fp(text: str) -> str:
    return fingerprint_text(pa.array([text]))[0].as_py()


def _tokens(text: str) -> int:
    return int(fingerprint(pa.array([_fp(text)]), num_perm=8, shingle_size=4, seed=1).n_tokens[0])


def _words(text: str) -> int:
    return int(Lines.split(pa.array([text])).words().sum())


def _synthetic(lo: int, n: int, seed: int) -> str:
    """n letters drawn from the class-2 letters of one block starting at lo (tokenizer behaviour only)."""
    letters = [cp for cp in range(lo, lo + 0x80) if CP_CLASS[cp] == DENSE]
    rng = np.random.default_rng(seed)
    return "".join(chr(letters[i]) for i in rng.integers(0, len(letters), n))


@pytest.mark.parametrize("lang", ["zh", "ja", "th"])
def test_a_paragraph_without_spaces_is_many_tokens_and_words(lang):
    para = REPORTS[lang][0][2][0]
    dense = sum(CP_CLASS[ord(c)] == DENSE for c in _fp(para))
    # one token per character of the script (plus the few spaced words and numbers)
    assert _tokens(para) >= dense
    per_word = 4 if lang == "th" else 2
    assert abs(_words(para) - dense / per_word) <= 1 + para.count(" ") + sum(c.isdigit() for c in para)
    assert _words(para) >= 20  # it used to be one or two "words"


@pytest.mark.parametrize("lo", [0x0E80, 0x1000, 0x1780])  # Lao, Burmese, Khmer
def test_lao_burmese_khmer_are_shingled_by_character(lo):
    text = _synthetic(lo, 120, seed=lo)
    assert _tokens(text) == len(_fp(text))
    assert 25 <= _words(text) <= 35  # 120 characters at 4 a word


def test_cjk_punctuation_separates_like_spaces():
    a = "中央银行宣布，下调存款准备金率。「市场」反应积极！"
    b = "中央银行宣布 下调存款准备金率 市场 反应积极"
    assert np.array_equal(shingle_hashes(_fp(a), 4), shingle_hashes(_fp(b), 4))
    for ch in "。、「」・〈〉":
        assert CP_CLASS[ord(ch)] == SEPARATOR
    assert Lines.split(pa.array(["下调存款准备金率。"]))._line_stats()[1][0]  # 。 ends a sentence


def test_mixed_latin_and_han_keep_latin_words_whole():
    toks_mixed = _tokens("NTT东日本宣布")
    assert toks_mixed == 1 + 5  # "ntt" and five characters


def test_english_shingles_are_what_they_were_without_the_script_tables():
    """English (typographic quotes, dashes, accents, $, %) shingles as the tokenizer did before it knew scripts."""
    from dedup.stages.fingerprint import TABLES, _shingles

    no_scripts = TABLES[:-1] + (np.zeros_like(TABLES[-1]),)
    for text in ["Harbour authorities said on Monday the fire – brought under control – burned for 11 hours.",
                 "“We’re cautious,” the café owner said; sales rose 5% to US$5 mln… in the U.S. (per cent)",
                 "Zürich-based Nestlé S.A. — señor Muñoz’s 1,000,000 naïve coöperation • résumé"]:
        data = np.frombuffer(_fp(text).encode(), np.uint8)
        new, old = _shingles(data, 0, data.size, 4, TABLES), _shingles(data, 0, data.size, 4, no_scripts)
        assert np.array_equal(new[0], old[0]) and new[1] == old[1] and new[2] == old[2]


@pytest.mark.parametrize("lang", sorted(REPORTS))
def test_truncated_copy_matches_and_other_report_does_not(lang):
    """Per language: the first 2 paragraphs are a truncated copy (containment), the other report is apart."""
    (h0, d0, p0), (h1, d1, p1) = REPORTS[lang][:2]
    texts = ["\n".join(p0), "\n".join(p0[:2]), "\n".join(p1), "\n".join(p1[:2])]
    fp = fingerprint(fingerprint_text(pa.array(texts)), num_perm=128, shingle_size=4, seed=1)
    words = np.array([_words(t) for t in texts])
    left, right = np.array([0, 0, 0, 1, 2]), np.array([1, 2, 3, 3, 3])
    s = verify.score_pairs(fp.offsets, fp.values, left, right, words=words, text_hash=fp.text_hash,
                           headline_hash=np.zeros(4, np.uint64), threshold=0.5, containment_threshold=0.8,
                           short_words=30)
    assert list(s.match) == [True, False, False, False, True]
    assert s.jaccard[1] < 0.2 and s.jaccard[3] < 0.2


def test_lede_rule_counts_words_in_scripts_without_spaces():
    # 14 characters (11 shingles at 4) is contained but is 7 words: not a lede
    short = "中央银行宣布下调存款准备金率"
    longer = short + "零点五个百分点预计将释放长期资金约八千亿元" * 2
    fp = fingerprint(fingerprint_text(pa.array([longer, short + "零"])), num_perm=128, shingle_size=4, seed=1)
    words = np.array([_words(longer), _words(short + "零")])
    s = verify.score_pairs(fp.offsets, fp.values, np.array([0]), np.array([1]), words=words, text_hash=fp.text_hash,
                           headline_hash=np.zeros(2, np.uint64), threshold=0.5, containment_threshold=0.8,
                           short_words=30)
    assert s.containment[0] == 1.0 and fp.n_shingles[1] >= verify.MIN_LEDE_SHINGLES
    assert words[1] < verify.MIN_LEDE_WORDS and not s.match[0]


def test_probe_04_chinese_copies_form_two_clusters(tmp_path):
    src = shared_path("probes", "04-chinese-no-spaces", "chinese-copies.jsonl")
    out = tmp_path / "out"
    run(load_config(input=str(src), output=str(out), run_date="2026-11-30"))
    s = pd.read_parquet(out / "stories").set_index("story_id")
    a = s.loc[[f"zh-a{i}" for i in range(5)], "cluster_id"]
    b = s.loc[["zh-b0", "zh-b1", "zh-b2"], "cluster_id"]
    assert a.nunique() == 1 and b.nunique() == 1 and a.iloc[0] != b.iloc[0]


# --- Normal forms copies of one wire differ in -----------------------------------------------

@pytest.mark.parametrize("a,b", [
    ("ＡＢＣ銀行は１２月３日、利益が５％増えた", "ABC銀行は12月3日、利益が5%増えた"),  # full-width forms
    ("ｶﾀｶﾅのニュース", "カタカナのニュース"),  # half-width katakana
    ("البنك المركـــزي يبقي الفائدة", "البنك المركزي يبقي الفائدة"),  # tatweel
    ("أَبْقَى البَنْكُ المَرْكَزِيُّ", "أبقى البنك المركزي"),  # harakat
    ("שָׁלוֹם לְכֻלָּם", "שלום לכלם"),  # niqqud
    ("\u095B\u0930\u0942\u0930 \u095E\u0948\u0938\u0932\u093E", "\u091C\u0930\u0942\u0930 \u092B\u0948\u0938\u0932\u093E"),  # precomposed nukta letters vs plain
    ("\u091C\u093C\u0930\u0942\u0930", "\u091C\u0930\u0942\u0930"),  # letter + nukta vs plain
    ("İSTANBUL'DA DİYARBAKIR", "istanbul'da diyarbakır"),  # Turkish dotted / dotless i
    ("Istanbul", "ıstanbul"),
])
def test_forms_of_one_wire_fold_to_one_fingerprint(a, b):
    assert _fp(a) == _fp(b)
    assert np.array_equal(shingle_hashes(_fp(a), 4), shingle_hashes(_fp(b), 4))


def test_folding_keeps_letters_that_differ():
    assert _fp("مرحبا") != _fp("مرحبي")
    assert _fp("שלום") != _fp("שלוש")
    assert _fp("जरूर") != _fp("ज़रा")
    assert _fp("café") == "café" and _fp("naïve") == "naïve"  # marks outside the folded scripts stay


@pytest.mark.parametrize("a, b, same", [
    ("Las ventas subieron un 3,5 por ciento hasta 4 millones de euros", "Las ventas subieron un 3,5% hasta 4 millón de euros", True),
    ("Der Umsatz stieg um 2,1 Prozent auf 5 Milliarden Euro", "Der Umsatz stieg um 2,1 % auf 5 Mrd. Euro", True),
    ("Le chiffre d'affaires a augmenté de 3,5 pour cent", "Le chiffre d'affaires a augmenté de 3,5 %", True),
    ("Il fatturato è cresciuto del 3,5 per cento a 2 miliardi", "Il fatturato è cresciuto del 3,5% a 2 miliardi", True),
    ("Выручка выросла на 3,5 процента до 4 млрд рублей", "Выручка выросла на 3,5% до 4 млрд рублей", True),
    # numbers are never folded into each other: another figure, or the decimal comma read another way
    ("Las ventas subieron un 3,5 por ciento", "Las ventas subieron un 3,6%", False),
    ("Der Umsatz stieg um 2,1 Prozent", "Der Umsatz stieg um 21 Prozent", False),
])
def test_house_style_of_other_languages_folds_words_never_numbers(a, b, same):
    fp = fingerprint(fingerprint_text(pa.array([a, b], pa.large_string())), num_perm=64, shingle_size=4, seed=1)
    assert bool(fp.text_hash[0] == fp.text_hash[1]) == same
