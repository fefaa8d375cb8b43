import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dedup.config import ChromeSettings
from dedup.stages.clean import finish, learn_chrome, prepare
from dedup.stages.fingerprint import shingle_hashes
from dedup.stages.text.normalize import fingerprint_text, inert_table, replace_rows
from tests.conftest import OTHER, WIRE, shared_path

CHROME = ["THE ORRVALE POST", "Sign in | Register", "Our readers get three free articles each month. Subscribe today to keep reading every story.",
          "Share on Facebook | X | WhatsApp", "Copyright 2026 Orrvale Post Media"]


def _clean(bodies, outlets, learn=True):
    text, html = prepare(pa.array(bodies, pa.large_string()))
    model = None
    if learn:
        model = learn_chrome(pa.array(outlets), text, 3)
    return finish(text, pa.array(outlets), model, ChromeSettings(min_stories=3, min_share=0.0)), html


def test_learned_chrome_removed_story_text_kept():
    stories = [[WIRE[0], WIRE[1]], [OTHER[0]], [OTHER[1]], [OTHER[2]]]
    bodies = ["\n".join(CHROME[:3] + s + CHROME[3:]) for s in stories]
    c, _ = _clean(bodies, ["post"] * 4)
    for s, out in zip(stories, c.body_clean.to_pylist()):
        assert out == "\n".join(s)
    assert c.chrome_lines.tolist() == [5, 5, 5, 5]


def test_line_repeated_twice_in_one_outlet_is_not_chrome():
    # The same story run twice by one outlet: its paragraphs recur, but only twice.
    bodies = ["\n".join(WIRE[:3]), "\n".join(WIRE[:3]), OTHER[0]]
    c, _ = _clean(bodies, ["post"] * 3)
    assert c.body_clean.to_pylist()[:2] == ["\n".join(WIRE[:3])] * 2


def test_chrome_is_per_outlet():
    note = "Residents near the harbour were told to keep their windows closed."
    bodies = ["\n".join([note, w]) for w in WIRE[:3]] + [WIRE[3]]
    c, _ = _clean(bodies, ["a", "b", "c", "a"])
    assert all(note in b for b in c.body_clean.to_pylist()[:3])
    c, _ = _clean(bodies, ["a", "a", "a", "a"])
    assert not any(note in b for b in c.body_clean.to_pylist())


def test_generic_chrome_and_edges_for_a_lone_story():
    body = "\n".join(["Image", "Last Updated : Nov 26 2026 | 10:42 PM IST", WIRE[0], WIRE[1],
                      "Disclaimer: No Orrvale Post journalist was involved in creation of this content",
                      "Smart Quarterly", "₹900", "3 Months", "SAVE 25%", "Next Story"])
    c, _ = _clean([body], ["solo"], learn=False)
    assert c.body_clean[0].as_py() == WIRE[0] + "\n" + WIRE[1]


def test_dateline_and_agency_become_columns():
    bodies = [
        "TALLVIK, Nov 24 (Reuters) - " + WIRE[0] + "\n" + WIRE[1] + "\n(Reporting by Ann Berg; Editing by Tom Lee)",
        "AFP Tallvik\n" + WIRE[0],
        "Tallvik (PTI): " + WIRE[0],
        "Disclaimer: this is a line that is not a dateline at all, really.\n" + WIRE[0],
        WIRE[0],
    ]
    c, _ = _clean(bodies, ["a", "b", "c", "d", "e"], learn=False)
    assert c.agency.to_pylist() == ["Reuters", "AFP", "PTI", None, None]
    # "AFP Tallvik" on its own line names the place too (issue 13 item 10: it used to give no dateline).
    assert c.dateline.to_pylist()[:3] == ["TALLVIK, Nov 24 (Reuters)", "AFP Tallvik", "Tallvik (PTI)"]
    assert c.body_clean[0].as_py() == WIRE[0] + "\n" + WIRE[1]
    assert c.body_clean[2].as_py() == WIRE[0]


@pytest.mark.parametrize("head,agency,dateline", [
    ("PARIS (AFP) - ", "AFP", "PARIS (AFP)"),
    ("MADRID, 3 dic (EFE).- ", "EFE", "MADRID, 3 dic (EFE)."),
    ("BERLIN (dpa) - ", "dpa", "BERLIN (dpa)"),
    ("ROMA, 3 dicembre (ANSA) - ", "ANSA", "ROMA, 3 dicembre (ANSA)"),
    ("新华社北京12月3日电 ", "Xinhua", "新华社北京12月3日电"),
    ("新华社北港12月3日电（记者 王明）", "Xinhua", "新华社北港12月3日电（记者 王明）"),
    ("القاهرة (رويترز) - ", "Reuters", "القاهرة (رويترز)"),
    ("NEW DELHI, Dec 3 (IANS) ", "IANS", "NEW DELHI, Dec 3 (IANS)"),
    ("BEIJING, Dec. 3 /Xinhua/ -- ", "Xinhua", "BEIJING, Dec. 3 /Xinhua/"),
    ("МОСКВА, 3 декабря. /ТАСС/. ", "TASS", "МОСКВА, 3 декабря. /ТАСС/."),
    ("नई दिल्ली, 3 दिसंबर (भाषा) ", "PTI", "नई दिल्ली, 3 दिसंबर (भाषा)"),
    ("【北浜共同】", "Kyodo", "【北浜共同】"),
])
def test_datelines_of_other_languages_become_columns(head, agency, dateline):
    first = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor."
    c, _ = _clean([head + first, "(ANSA)\n" + first, "Prime Minister said (Reuters) - " + first], ["a", "b", "c"], learn=False)
    assert c.agency[0].as_py() == agency and c.dateline[0].as_py() == dateline
    assert c.body_clean[0].as_py() == first  # out of the text the fingerprint sees
    assert c.agency[1].as_py() == "ANSA" and c.body_clean[1].as_py() == first  # a credit line
    assert c.dateline[2].as_py() is None and c.agency[2].as_py() is None  # a sentence, not a place


def test_dateline_is_a_place_and_credits_come_from_bylines_and_end_lines():
    """Issue 17 item 7: "FILE -", "The Latest:", "Purchase -", a titled name are no datelines (the text keeps
    them); bylines "By ..., Associated Press" and "... contributed to this report." name the agency."""
    first = WIRE[0]
    heads = ["FILE - ", "The Latest: ", "Purchase - ", "Sen. Ben Sasse: "]
    c, _ = _clean([h + first for h in heads]
                  + ["By Ann Berg, Associated Press\nTALLVIK - " + first,
                     first + "\nThe Associated Press contributed to this report.",
                     "St. Louis (AP) - " + first],
                  list("abcdefg"), learn=False)
    assert c.dateline.to_pylist() == [None] * 4 + ["TALLVIK", None, "St. Louis (AP)"]
    assert [b.startswith(h) for b, h in zip(c.body_clean.to_pylist(), heads)] == [True] * 4
    assert c.agency.to_pylist()[4:] == ["AP", "AP", "AP"]


def test_credits_from_tails_and_copyright_lines_and_datelines_of_real_pages():
    """Issue 17 item 7, forms bench/datelines.py found on real pages: a credit after the last sentence is
    cut off it (the sentence stays), a copyright line names the agency, an outlet's own credit before a
    dash leaves a dateline without agency, "(Reuters) -" credits without a place, and several title-case
    words before a colon are a headline, while one word ("Calgary:") is still a place."""
    first, second = WIRE[0], WIRE[1]
    c, _ = _clean([f"NEW DELHI: {first}\n{second} PTI",
                   f"{first}\nCopyright 2018 The Associated Press. All rights reserved.",
                   f"HONOLULU, Hawaii (HawaiiNewsNow) - {first}",
                   f"(Reuters) - {first}",
                   f"Julian Assange: Sweden drops inquiry\n{first}",
                   f"Calgary: {first}"], list("abcdef"), learn=False)
    assert c.agency.to_pylist() == ["PTI", "AP", None, "Reuters", None, None]
    assert c.dateline.to_pylist() == ["NEW DELHI", None, "HONOLULU, Hawaii (HawaiiNewsNow)", None, None, "Calgary"]
    assert c.body_clean[0].as_py() == f"{first}\n{second}"
    assert c.body_clean[2].as_py() == c.body_clean[3].as_py() == c.body_clean[5].as_py() == first


def test_html_bodies_are_extracted():
    page = ("<!doctype html><html><head><title>t</title><script>var x=1;</script></head><body><nav>Home | News</nav>"
            "<article><h1>Fire</h1>" + "".join(f"<p>{w}</p>" for w in WIRE) + "</article><footer>Contact us</footer></body></html>")
    c, html = _clean([page, WIRE[0]], ["a", "b"], learn=False)
    assert html.tolist() == [True, False]
    out = c.body_clean[0].as_py()
    assert WIRE[0] in out and WIRE[4] in out
    assert "var x" not in out and "<p>" not in out


def test_house_style_folds_to_one_fingerprint_text():
    variants = [
        "Profits rose 5.5 pct to 1,200 mln dlrs in the U.S. versus last year's figure.",
        "Profits rose 5.5 per cent to $1,200 million in the US versus last year’s figure.",
        "Profits rose 5.5% to 1200 million dollars in the US vs last year's figure.",
    ]
    shingles = [shingle_hashes(t, 4).tolist() for t in fingerprint_text(pa.array(variants)).to_pylist()]
    assert shingles[0] == shingles[1] == shingles[2]
    assert shingle_hashes("the year's figure", 1).tolist() == shingle_hashes("the year’s figure", 1).tolist()
    assert shingle_hashes("US$5 million", 3).tolist() == shingle_hashes("5 mln dlrs", 3).tolist()


def test_tokenizer_keeps_real_differences():
    assert shingle_hashes("rose 5 pct", 3).tolist() != shingle_hashes("rose 6 pct", 3).tolist()
    assert shingle_hashes("the us economy", 3).tolist() != shingle_hashes("the uk economy", 3).tolist()


def test_control_characters_and_nul_removed():
    c, _ = _clean(["The harbour\x00 fire\u200b was contained.\r\nIt burned for eleven hours, officials said on Monday."],
                  ["a"], learn=False)
    assert c.body_clean[0].as_py() == "The harbour fire was contained.\nIt burned for eleven hours, officials said on Monday."


def test_real_seed_copy_loses_its_chrome():
    seed = shared_path("seeds", "000_0571628a3c700f2a.txt").read_text(encoding="utf-8")
    body = seed.split("\n", 1)[1]
    c, _ = _clean([body], ["Business Standard"], learn=False)
    out = c.body_clean[0].as_py()
    assert c.agency[0].as_py() == "AFP"
    for chrome in ("Subscribe", "Disclaimer", "Next Story", "₹", "Last Updated", "First Published", "Smart Quarterly"):
        assert chrome not in out
    assert out.startswith("Russian President Vladimir Putin")
    assert out.rstrip().endswith("Konstantin Kalachev said.")


# --- The shortcuts of prepare and fingerprint_text give what the whole-column passes gave ----------

_TRICKY = ["plain ascii, nothing to do", "“Quoted” – dashed — café’s", "e\u0301 and A\u030a compose",
           "\u212b\u2126 are singletons", "ﬁ ligature ½ Ｆ full-width ² super", "tab\there\r\nCRLF\x0bVT\x0cFF",
           "nbsp\u00a0thin\u2009ideographic\u3000space", "zero\u200bwidth\ufeffBOM soft\u00adhyphen", "NUL\x00 DEL\x7f",
           "line\u2028sep\u2029para\u0085nel", "Hangul \u1100\u1161 가", "emoji 😀 İ ß Σ", "", None,
           "a < b > c", "x <b>bold y", "U+2000\u2000 U+2001\u2001 U+205F\u205f"]


def _whole_column_prepare(bodies: pa.Array) -> pa.Array:
    text = bodies
    if not pc.all(pc.string_is_ascii(text)).as_py():
        text = pc.utf8_normalize(text, "NFC")
    text = pc.replace_substring_regex(text, r"\r\n?|[\x{2028}\x{2029}\x{85}\x0b\x0c]", "\n")
    text = pc.replace_substring_regex(text, r"[\x00-\x08\x0e-\x1f\x7f\x{200b}-\x{200d}\x{feff}\x{ad}]", "")
    return pc.replace_substring_regex(text, r"[\t\x{a0}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]+", " ")


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_prepare_and_fingerprint_text_equal_whole_column_passes(typ):
    bodies = pa.array(_TRICKY + ["x"] * 3, typ)
    for arr in (bodies, bodies.slice(2), bodies.slice(5, 4)):
        text, _ = prepare(arr)
        assert text.to_pylist() == _whole_column_prepare(arr).to_pylist()
        assert text.type == arr.type
        expect = pc.utf8_lower(pc.utf8_normalize(text, "NFKC"))
        assert fingerprint_text(text).to_pylist() == expect.to_pylist()


def test_inert_characters_are_their_own_normal_form():
    for form in ("NFC", "NFKC"):
        table = inert_table(form)
        inert = [chr(cp) for cp in np.flatnonzero(table)]
        assert inert and all(unicodedata.normalize(form, c) == c and not unicodedata.combining(c) for c in inert)
        # Next to any other inert character or ASCII, still unchanged.
        s = "".join(inert) + "a" + "".join(reversed(inert))
        assert unicodedata.normalize(form, s) == s
    assert not inert_table("NFC")[0x2000] and not inert_table("NFKC")[0xA0]


def test_replace_rows_equals_a_take():
    rng = np.random.default_rng(0)
    for typ in (pa.string(), pa.large_string()):
        texts = pa.array([f"s{i}" * int(rng.integers(0, 4)) for i in range(50)], typ).slice(3)
        rows = np.sort(rng.choice(len(texts), 12, replace=False))
        new = pa.array([f"new{i}" for i in range(12)], typ)
        out = replace_rows(texts, rows, new)
        expect = texts.to_pylist()
        for r, v in zip(rows, new.to_pylist()):
            expect[r] = v
        assert out.to_pylist() == expect and out.type == typ


def test_lines_measurements_survive_replacing_and_work_files():
    from dedup.stages.text.lines import Lines

    text, _ = prepare(pa.array(["\n".join(WIRE[:3]), "  Short line  \n\nTwo  words", "é" * 300 + "\nx"], pa.large_string()))
    lines = Lines.split(text)
    fresh = Lines(lines.text, lines.story, lines.n_stories)
    for a, b in zip(lines._line_stats(), fresh._line_stats()):
        np.testing.assert_array_equal(a, b)
    back = Lines.from_table(lines.to_table(), lines.n_stories)
    assert back.text.equals(lines.text)
    for a, b in zip(back._line_stats(), lines._line_stats()):
        np.testing.assert_array_equal(a, b)
    changed = np.array([0, 3])
    new_text = replace_rows(lines.text, changed, pa.array(["NEW 1. words here.", "- bullet"], lines.text.type))
    kept = lines.with_text(new_text, changed)
    for a, b in zip(kept._line_stats(), Lines(new_text, lines.story, lines.n_stories)._line_stats()):
        np.testing.assert_array_equal(a, b)
    for limit in (3, 10, 299, 300, 301):
        expect = pc.utf8_length(lines.text).to_numpy() <= limit
        np.testing.assert_array_equal(lines.at_most_chars(limit), expect)


@pytest.mark.parametrize("typ", [pa.large_string(), pa.string()])
def test_lines_kept_as_positions_in_their_stories_come_back_as_the_same_text(typ):
    from dedup.stages.text.lines import Lines

    # Whitespace Arrow trims (ideographic, no-break, em spaces, line separators) around and between
    # lines, a line repeated within a story, a null and empty bodies, lines that start with the byte
    # a whitespace character starts with (U+3001 after U+3000).
    bodies = pa.array(["\n".join(WIRE[:3]), "  a \n\u3000\u3001x\u3000 \n\n \u00a0 b\u2003\n", None, "", "\n\n",
                       "\u2028x\u2029 y ", "ab\nab\n ab", "é" * 300 + "\nx", OTHER[0]], typ)
    lines = Lines.split(bodies)
    t = lines.to_table(bodies)
    assert "text" not in t.column_names  # the text is not written twice
    back = Lines.from_table(t, lines.n_stories, bodies)
    assert back.text.type == lines.text.type and back.text.equals(lines.text)
    np.testing.assert_array_equal(back.story, lines.story)
    for a, b in zip(back._line_stats(), lines._line_stats()):
        np.testing.assert_array_equal(a, b)
    # Without the stories' texts: measurements only, which learning chrome needs.
    bare = Lines.from_table(t, lines.n_stories).of_stories(np.arange(len(bodies)) % 2 == 0)
    assert bare.text is None and bare.story.size == lines.of_stories(np.arange(len(bodies)) % 2 == 0).story.size
    # Lines that are not in the texts given are written as text.
    other = pa.array(["nothing of the above"] * len(bodies), typ)
    assert Lines.from_table(lines.to_table(other), lines.n_stories).text.equals(lines.text)


@pytest.mark.parametrize("typ", [pa.large_string(), pa.string()])
def test_without_prefix_cuts_each_string_at_its_own_byte_count(typ):
    from dedup.stages.text.lines import without_prefix

    strings = pa.array(["NEW YORK (Reuters) - Shares", "МОСКВА, 3 декабря. /ТАСС/. Текст", "", None, "ab", "x"],
                       typ).slice(0, 5)
    cut = np.array([len("NEW YORK (Reuters) - "), len("МОСКВА, 3 декабря. /ТАСС/. ".encode()), 0, 0, 9])
    out = without_prefix(strings, cut)
    assert out.type == typ and out.to_pylist() == ["Shares", "Текст", "", "", ""]


def test_markup_only_bodies_are_rejected_and_template_code_never_kept(cli, tmp_path):
    """Issue 13 item 1: markup-only bodies are rejected, not one-word stories; pages that open with a
    comment and a script block (no <html> at the top) are pages: their code never reaches body_clean,
    so two different stories of one site do not merge on their template."""
    import pyarrow.parquet as pq

    from dedup.stages.reasons import EMPTIED
    from tests.conftest import OTHER, WIRE, write_jsonl

    template = ("<!-- site template v7 -->\n<script>" + "window.cfg = {menu: ['a', 'b'], ads: true};\n" * 300
                + "</script>\n<form><select><option>World</option><option>Business</option></select></form>\n")
    records = [{"id": "m1", "body": "<p>&nbsp;</p>"}, {"id": "m2", "body": "<br><br/>"},
               {"id": "m3", "body": "<div class='story'></div>"},
               {"id": "page-a", "outlet": "site", "body": template + "".join(f"<p>{p}</p>" for p in WIRE)},
               {"id": "page-b", "outlet": "site", "body": template + "".join(f"<p>{p}</p>" for p in OTHER)}]
    records += [{"id": f"w{i}", "body": p} for i, p in enumerate(WIRE + OTHER)]
    out = tmp_path / "out"
    res = cli("run", "--input", write_jsonl(tmp_path / "in.jsonl", records), "--output", out, "--run-date", "2026-11-30")
    assert res.exit_code == 0, res.output
    rej = pq.read_table(out / "rejects").to_pandas().set_index("story_id")
    assert sorted(rej.index) == ["m1", "m2", "m3"] and (rej.reason == EMPTIED).all()
    s = pq.read_table(out / "stories").to_pandas().set_index("story_id")
    assert not s.body_clean.str.contains("window.cfg|<|Business", regex=True).any()
    assert s.loc["page-a", "cluster_id"] != s.loc["page-b", "cluster_id"]
    assert s.loc["page-a", "body_source"].startswith("html:") and s.loc["w0", "body_source"] == "text"


def test_credit_line_with_a_place_is_the_dateline():
    """Issue 13 item 10: "AFP Vladivostok" on a line of its own gives agency AFP and a dateline."""
    bodies = ["Image\nAFP Vladivostok\n" + WIRE[0] + "\nAFP Moscow", "AFP Photo\n" + WIRE[1],
              "By Reuters\n" + WIRE[2], "TALLVIK (AFP) - " + WIRE[3] + "\nAFP Moscow",
              # A dateline buried under page lines is found after chrome removal; the credit does not hide it.
              "Reuters | Santa Cruz\nText size A A A\nSANTA CRUZ, Calif., Feb 26 (Reuters) - " + WIRE[4]]
    c, _ = _clean(bodies, ["a", "b", "c", "d", "e"], learn=False)
    assert c.agency.to_pylist() == ["AFP", "AFP", "Reuters", "AFP", "Reuters"]
    assert c.dateline.to_pylist() == ["AFP Vladivostok", None, None, "TALLVIK (AFP)",
                                      "SANTA CRUZ, Calif., Feb 26 (Reuters)"]
    assert c.body_clean[4].as_py() == WIRE[4]


def test_per_distinct_equals_the_kernel_on_every_row():
    # Regexes over lines run once per distinct line (normalize.per_distinct): the rows must be
    # the kernel's own, repeats, nulls and the too-few-repeats fallback included.
    from dedup.stages.text.normalize import distinct, per_distinct

    lines = ["NEW YORK (Reuters) - Shares rose.", "Shares rose.", "", "LONDON - Oil fell."] * 30 + ["x"]
    for arr in (pa.array(lines, pa.large_string()), pa.array(lines + [None], pa.string()),
                pa.array([f"line {i}" for i in range(100)])):
        for fn in (lambda t: pc.match_substring_regex(t, r"^[A-Z]+ "),
                   lambda t: pc.extract_regex(t, r"^(?P<place>[A-Z ]+?)\s*(?:\(|-)")):
            assert per_distinct(fn, arr).equals(fn(arr))
    values, index = distinct(pa.array(lines))
    assert len(values) == 5 and values.take(pa.array(index)).to_pylist() == lines


def test_lines_per_distinct_equals_the_kernel_on_every_row():
    # Cleaning's line patterns run once per distinct line (Lines.per_distinct, ids carried through
    # filter and with_text and the lines work file): each row must get the kernel's own answer.
    from dedup.stages.text.lines import Lines

    body = "NEW YORK (Reuters) - Shares rose.\nShares rose.\nLONDON - Oil fell.\nShares rose."
    lines = Lines.split(pa.array([body] * 40 + ["x\nShares rose."], pa.large_string()))
    first, inverse = lines.distinct_rows()
    assert len(first) == 4 and pc.take(lines.text, pa.array(first)).take(pa.array(inverse)).equals(lines.text)
    fns = (lambda t: pc.match_substring_regex(t, r"^[A-Z]+ "),
           lambda t: pc.extract_regex(t, r"^(?P<place>[A-Z ]+?)\s*(?:\(|-)"),
           lambda t: pc.match_substring_regex(t, "rose").to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(lines.story % 3 == 0)

    def same(a, b):
        return a.equals(b) if isinstance(a, pa.Array) else np.array_equal(a, b)

    # A changed line keeps no id it shared: it now says something else.
    changed = Lines.from_table(lines.to_table(), lines.n_stories)
    changed = changed.with_text(pc.if_else(pa.array(np.arange(len(lines.text)) == 1), "OSLO - Oil rose.", lines.text),
                                np.array([1]))
    for ls in (lines, lines.filter(lines.story != 2), changed):
        for fn in fns:
            assert same(ls.per_distinct(fn), fn(ls.text))
            r = rows[rows < len(ls.text)]
            assert same(ls.per_distinct(fn, r), fn(pc.take(ls.text, pa.array(r))))
            assert len(ls.per_distinct(fn, np.empty(0, np.int64))) == 0
    assert changed.text[1].as_py() == "OSLO - Oil rose." and changed.per_distinct(fns[0]).to_pylist()[:5] == [
        True, True, True, False, True]
    # Measured per distinct line: the same figures as the kernel on every line.
    from dedup.stages.text.lines import _line_stats
    from dedup.stages.text.normalize import string_buffers

    for a, b in zip(lines._line_stats(), _line_stats(*string_buffers(lines.text))):
        assert np.array_equal(a, b)


def test_top_removed_keeps_each_outlets_most_removed_lines_ties_by_line():
    from dedup.stages.clean import top_removed

    # Two chunks' removed lines: counts add up per (outlet, line) across chunks.
    a = pa.table({"outlet": ["post", "post", "post", "wire", None], "line": ["Share", "Menu", "Ad", "Share", "Top"],
                  "stories": [5, 2, 2, 1, 7]})
    b = pa.table({"outlet": ["post", "post", "wire", None], "line": ["Menu", "Zoo", "Login", "Top"],
                  "stories": [4, 2, 1, 1]})
    got = top_removed([a, b], 2)
    # post: Menu 6, Share 5 (Ad 2 and Zoo 2 dropped); wire: a tie at 1, broken by the line; the null outlet last.
    assert got.to_pylist() == [
        {"outlet": "post", "line": "Menu", "stories": 6}, {"outlet": "post", "line": "Share", "stories": 5},
        {"outlet": "wire", "line": "Login", "stories": 1}, {"outlet": "wire", "line": "Share", "stories": 1},
        {"outlet": None, "line": "Top", "stories": 8},
    ]
    # A tie at the cut: the line order decides which lines stay.
    three = top_removed([a, b], 3)
    assert three.filter(pc.equal(three.column("outlet"), "post")).column("line").to_pylist() == ["Menu", "Share", "Ad"]
