"""No story loses its own text (issue 12): each kind of line the cleaning used to take from a story,
with chrome learning off and on, next to the furniture and chrome that must still go. Invented text."""
import pyarrow as pa

from dedup.config import ChromeSettings
from dedup.stages.chrome import table_lines
from dedup.stages.clean import finish, learn_chrome, prepare
from dedup.stages.text.lines import Lines

OFF = ChromeSettings(enabled=False)

# An earnings brief whose table is followed by a note (a sentence): the table used to be cut as the
# "leading run of non-prose lines" before the story's first sentence.
BRIEF = [
    "KESTREL BAY, March 4 (Reuters) - Shr 41 cts vs 12 cts",
    "Net 2,310,000 vs 655,000",
    "Revs 48.2 mln vs 31.9 mln",
    "Year",
    "Shr loss six cts vs profit 22 cts",
    "Net loss 310,000 vs profit 1,207,000",
    "Revs 160.4 mln vs 142.7 mln",
    "NOTE: Year net includes a charge of 1,900,000 dlrs for the closing of the Tarrow mill.",
]
HEADER = ["Home | Markets | Companies", "Posted: March 4, 1987 | 10:42"]
FOOTER = ["Copy link | Facebook | Twitter | Email", "Comments (0)"]


def _clean(bodies, outlets=None, settings=OFF):
    text, _ = prepare(pa.array(bodies, pa.large_string()))
    outlets = pa.array(outlets or ["Lanmere Courier"] * len(bodies), pa.string())
    model = learn_chrome(outlets, text, settings.min_stories) if settings.enabled else None
    return finish(text, outlets, model, settings)


def _lines(body: str) -> list[str]:
    return body.split("\n") if body else []


def test_table_before_the_first_sentence_is_kept_and_page_edges_still_go():
    c = _clean(["\n".join(HEADER + BRIEF + FOOTER)])
    out = _lines(c.body_clean[0].as_py())
    # The dateline becomes a column; every table line and the note stay; header and footer go.
    assert out == ["Shr 41 cts vs 12 cts"] + BRIEF[1:]
    assert c.dateline[0].as_py() == "KESTREL BAY, March 4 (Reuters)"
    assert c.chrome_lines.tolist() == [len(HEADER) + len(FOOTER)]


def test_table_without_any_sentence_or_comparison_is_kept():
    body = ["Calgary: Shr not given", "Loss 54.9 mln", "Revs 27.2 mln", "Note: Prior year results not given"]
    c = _clean(["\n".join(HEADER + body + FOOTER)])
    assert _lines(c.body_clean[0].as_py()) == ["Shr not given"] + body[1:]


def test_dividend_table_split_by_an_advertisement_is_one_table():
    body = ["Qtly div 28 cts vs 28 cts prior", "Pay April 15", "ADVERTISEMENT", "Record March 31"]
    c = _clean(["\n".join(body + FOOTER)])
    assert _lines(c.body_clean[0].as_py()) == ["Qtly div 28 cts vs 28 cts prior", "Pay April 15", "Record March 31"]


def test_table_lines_learned_across_different_briefs_of_an_outlet_are_kept():
    # Six different briefs of one outlet: with digits folded their rows read alike, as chrome does;
    # the outlet's real chrome (a newsletter box) must still be learned and removed.
    companies = ["Ardmore", "Belcourt", "Corriston", "Dunhallow", "Eskerfield", "Fanore"]
    bodies = []
    for k, name in enumerate(companies):
        bodies.append("\n".join([
            f"{name} Holdings said its board raised the quarterly payout after a {k + 2}th record year of trading.",
            f"Qtly div {10 + k} cts vs {8 + k} cts prior",
            f"Pay April {k + 10}",
            f"Record March {k + 20}",
            "Get the Lanmere Courier business briefing in your inbox",
            "Enter your email",
        ]))
    on = ChromeSettings(min_stories=3, min_share=0.05)
    c = _clean(bodies, settings=on)
    for body, name in zip(c.body_clean.to_pylist(), companies):
        out = _lines(body)
        assert len(out) == 4 and out[0].startswith(name) and out[3].startswith("Record March")
    assert c.chrome_lines.tolist() == [2] * len(companies)


def test_table_lines_only_in_a_run_with_a_comparison_or_a_figure():
    lines = Lines.split(pa.array([
        "\n".join(["Smart Monthly", "9 euros", "1 Month", "Smart Yearly", "1 Year"]),  # a price box: no table
        "\n".join(["Cinram Ltd 4th Qtr Net", "Jan 31 end", "Shr 12.3p vs 10.5p", "Year", "Facebook Twitter"]),
    ]))
    got = table_lines(lines)
    assert got.tolist() == [False] * 5 + [False, True, True, True, False]


def test_bulleted_items_of_a_sentence_are_kept_headline_lists_go():
    body = [
        "The company said it would redeem three issues of its bonds on June 1, at par:",
        "- 8 pct bonds due July 1, 1990,",
        "- 8-1/4 pct bonds due March 1, 1994,",
        "- 9 pct bonds due May 1, 1997.",
        "The redemption will be financed from cash on hand, the company said.",
        "• Harbour board names new chair",
        "• Ferry fares to rise in spring",
    ]
    c = _clean(["\n".join(body)])
    assert _lines(c.body_clean[0].as_py()) == body[:5]


def test_a_list_inside_the_story_is_kept_headline_lists_still_go():
    """A list between the story's paragraphs (after an introduction, a heading or a sentence in plain
    case) is the story's own; a title-case list hung under a paragraph, a list under a chrome heading
    and a list at the page's end are other headlines (issue 13 item 3)."""
    intro = ["The harbour board set out three changes to the ferry timetable for the winter:",
             "- earlier first sailing on weekdays",
             "- one late boat on Fridays",
             "- no service on the outer islands in January"]
    steps = ["Pickling onions", "- 2 kg small onions, peeled", "- 1 litre malt vinegar",
             "Boil the vinegar with the spices for five minutes and pour it over the onions in the jars."]
    numbered = ["The council gave two reasons for the delay to the bridge works this year.",
                "1. Costs of steel went up", "The price of steel beams rose by a third since the spring, it said."]
    related = ["The board will meet again in March to review the winter timetable and the fares.",
               "- Harbour Board Names New Chair After Long Search",
               "- Ferry Fares Set to Rise Across the Islands",
               "- Storm Damage Closes the Northern Pier for Repairs",
               "The board's chair said the changes would be reviewed after the first month of service."]
    trending = ["Trending now", "- council buys two electric buses", "- school roof repairs begin",
                "Officials said the timetable would be published on the board's website on Monday."]
    tail = ["- Outer islands regatta moved to June", "- Lifeboat crew honoured"]
    body = intro + ["The changes start on 1 November, the board said in a statement on Tuesday."] + steps + numbered
    c = _clean(["\n".join(body + related + trending + tail)])
    got = _lines(c.body_clean[0].as_py())
    assert got == body + [related[0], related[4], trending[3]]


def test_a_schedule_after_the_last_sentence_is_kept():
    """Tour dates or a race calendar closing a story are its text, as a table is; the page's
    furniture after them still goes, and two date lines alone are no schedule (issue 13 item 3)."""
    story = ["The Lanmere Players will take their new production of the harbour play on the road next summer.",
             "Tour dates:",
             "June 9 – Kestrel Bay, Town Hall",
             "June 12 – Redcliff, The Old Granary",
             "3 de julho – Porto, Teatro do Cais",
             "July 20 – Ashford, Corn Exchange"]
    c = _clean(["\n".join(story + ["Tags", "Theatre | Touring"])])
    assert _lines(c.body_clean[0].as_py()) == story
    posted = ["Posted: June 9, 2019 | 10:42", "Updated: June 10, 2019 | 08:00"]
    c = _clean(["\n".join(story[:1] + posted)])
    assert _lines(c.body_clean[0].as_py()) == story[:1]


def test_consent_buttons_are_walls_but_a_sentence_saying_allow_all_is_not():
    sentence = ("The inquiry opened by the ministry will allow all interested parties to state their cases "
                "to the authority.")
    c = _clean(["\n".join(["The ministry opened an inquiry into steel imports on Monday.", sentence,
                           "Accept all | Reject all", "Accept all cookies"])])
    assert _lines(c.body_clean[0].as_py()) == ["The ministry opened an inquiry into steel imports on Monday.", sentence]


def test_a_line_introducing_a_list_is_kept():
    body = ["The following proposed securities offerings were filed recently with the commission:",
            "Harbour Lights Corp is offering 25 mln dlrs of notes due 1997 through Kestrel Securities."]
    c = _clean(["\n".join(HEADER + body)])
    assert _lines(c.body_clean[0].as_py()) == body


def test_credit_lines_are_furniture_and_a_glued_sign_off_is_cut_from_its_sentence():
    body = ["The Army said it would renegotiate the radio contract after new tests.",
            "The Army said recent tests showed better reliability. REUTERS",
            "(Reporting by Ada Quill; Editing by Tom Reeve)"]
    c = _clean(["\n".join(body)])
    assert _lines(c.body_clean[0].as_py()) == [body[0], "The Army said recent tests showed better reliability."]
    assert c.agency[0].as_py() == "Reuters"
    # A sentence that merely names the agency keeps it.
    c = _clean(["Officials at the port told Reuters the ship had left on Monday."])
    assert c.body_clean[0].as_py() == "Officials at the port told Reuters the ship had left on Monday."
    assert c.agency[0].as_py() is None


def test_end_credits_and_agency_bylines_are_furniture_learning_or_not():
    # An outlet with too few stories to learn its chrome still loses its copy's credit lines, so two
    # word-for-word copies of a report differ in nothing.
    body = ["MOBILE, Ala. (AP) - A late-season storm came ashore near the state line early Thursday.",
            "Crews from three states were waiting to restore power to about 180,000 customers."]
    ends = ["This story was distributed by Associated Press.", "The Associated Press contributed to this report.",
            "Distributed by Reuters.", "Associated Press writer Ann Roe in Chicago contributed to this report."]
    c = _clean(["\n".join(body + [e]) for e in ends]
               + ["Written By: Press Trust of India | Edited By: Daily Quill Desk\n" + "\n".join(body[1:])])
    assert len(set(c.body_clean.to_pylist()[:4])) == 1 and c.body_clean[4].as_py() == body[1]
    assert c.agency.to_pylist() == ["AP", "AP", "Reuters", "AP", "PTI"]  # a byline before the dateline
    # A sentence opening with an agency's name stays.
    c = _clean(["By AFP's count, 12 people died in the flooding on Monday.\n" + body[1]])
    assert c.body_clean[0].as_py().startswith("By AFP's count")


def test_story_lines_kept_on_the_synthetic_corpus(tmp_path):
    """End to end on a small corpus with per-line gold, learning off: at most a few story lines
    removed (the corpus labels a bare "Reuter..." sign-off story text), and no furniture kept."""
    import json

    import pandas as pd

    from bench.synth.corpus import build_corpus
    from tests.conftest import shared_path

    build_corpus(shared_path("corpora", "reuters21578"), 300, tmp_path, seed=3, chrome=False)
    recs = [json.loads(x) for x in (tmp_path / "batch.jsonl").read_text(encoding="utf-8").splitlines()]
    c = _clean([r["body"] for r in recs], [r["outlet"] for r in recs])
    gold = pd.read_parquet(tmp_path / "gold-lines.parquet")
    kept = {r["id"]: _lines(b) for r, b in zip(recs, c.body_clean.to_pylist())}
    story = gold[gold["kind"] == "story"]
    # A line is kept whole, or with its dateline or sign-off cut off (a kept line it holds).
    lost = [t for s, t in zip(story["story_id"], story["text"]) if not any(k and k in t for k in kept[s])]
    assert len(lost) <= 0.005 * len(story), lost[:5]
    furn = gold[gold["kind"] == "furniture"]
    assert len(furn) and not any(t in kept[s] for s, t in zip(furn["story_id"], furn["text"]))
