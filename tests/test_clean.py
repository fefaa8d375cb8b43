import pyarrow as pa

from dedup.chrome import ChromeModel
from dedup.clean import finish, observe_chrome, prepare
from dedup.fingerprint import shingle_hashes
from dedup.normalize import fingerprint_text
from tests.conftest import OTHER, WIRE, shared_path

CHROME = ["THE ORRVALE POST", "Sign in | Register", "Our readers get three free articles each month. Subscribe today to keep reading every story.",
          "Share on Facebook | X | WhatsApp", "Copyright 2026 Orrvale Post Media"]


def _clean(bodies, outlets, learn=True):
    text, html = prepare(pa.array(bodies, pa.large_string()))
    model = None
    if learn:
        model = ChromeModel()
        observe_chrome(model, pa.array(outlets), text)
    return finish(text, pa.array(outlets), model, min_stories=3), html


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
    assert c.dateline.to_pylist()[:3] == ["TALLVIK, Nov 24 (Reuters)", None, "Tallvik (PTI)"]
    assert c.body_clean[0].as_py() == WIRE[0] + "\n" + WIRE[1]
    assert c.body_clean[2].as_py() == WIRE[0]


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
