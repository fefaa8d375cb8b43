"""Chrome is what recurs across *different* stories, never a report's own text (issue 12)."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dedup.stages.chrome import ChromeModel
from dedup.config import ChromeSettings
from dedup.stages.clean import finish, learn_chrome, observe_chrome, prepare
from tests.conftest import shared_path

# One invented report (six paragraphs) and unrelated stories of one paragraph each.
REPORT = [
    "The river authority of Lanmere said on Friday it would lower the weir at Cobb Mill by half a metre to ease flooding upstream.",
    "Engineers will start the work next month and expect it to take about ten weeks, the authority said in a statement.",
    "Farmers along the upper valley have lost two harvests in three years to floods that reached the village of Tarrow twice.",
    "The authority said the lower weir would cut the risk of a repeat by about a third without harming the fish ladder.",
    "A local action group welcomed the decision but said it came several years later than residents had asked for it.",
    "The cost of the work, about four million crowns, will be shared between the authority and the regional council.",
]
OTHERS = [
    "A ferry ran aground on a sandbank off Kestrel Point on Sunday and was pulled free by two tugs after six hours.",
    "The city library will stay open until midnight during the exam season, the council said on Tuesday morning.",
    "Shares in the Vossberg brewery rose nine percent after it reported record summer sales of its pale lager.",
    "Police closed the coast road for three hours after a lorry shed its load of timber near the harbour bridge.",
    "The orchestra of Dunmere named a new conductor, a violinist who has led the youth ensemble for ten years.",
    "A heat wave pushed power demand to a record on Wednesday, and the grid operator asked firms to cut use.",
]


def _clean(bodies, outlets, min_stories=3):
    text, _ = prepare(pa.array(bodies, pa.large_string()))
    model = learn_chrome(pa.array(outlets, pa.string()), text, min_stories)
    return finish(text, pa.array(outlets, pa.string()), model, ChromeSettings(min_stories=min_stories, min_share=0.05)), model


def test_updates_of_one_report_under_new_ids_keep_their_text():
    new_top = "The river authority of Lanmere confirmed on Saturday that the weir at Cobb Mill will be lowered."
    newer_top = "Work to lower the Cobb Mill weir will begin in May, the Lanmere river authority said on Sunday."
    correction = "Correction: an earlier version of this story gave the wrong height for the weir."
    bodies = ["\n".join(REPORT), "\n".join([new_top] + REPORT[1:]), "\n".join([newer_top] + REPORT[1:] + [correction]),
              "\n".join([newer_top] + REPORT[1:-1])] + OTHERS[:2]
    c, _ = _clean(bodies, ["post"] * len(bodies))
    for out in c.body_clean.to_pylist()[:4]:
        assert all(p in out for p in REPORT[1:-1])
    assert c.chrome_lines.tolist()[:4] == [0, 0, 0, 0]


def test_aggregator_and_missing_outlet_copies_keep_their_text():
    # An aggregator carries the report four times (with others), and records without outlet pool it.
    bodies = ["\n".join(REPORT)] * 2 + ["\n".join(REPORT[:5]), "\n".join(REPORT[:4])] + OTHERS
    for outlets in (["aggregator"] * len(bodies), [None] * len(bodies)):
        c, _ = _clean(bodies, outlets)
        assert c.body_clean.to_pylist()[:4] == bodies[:4]
        assert (c.words > 0).all()


def test_chrome_block_longer_than_the_story_is_learned():
    block = ["Subscribe to The Lanmere Courier", "Smart Monthly", "€9", "1 Month", "Smart Yearly", "€90", "1 Year",
             "SAVE 20%", "What you get", "• Every story, every day", "• The morning newsletter", "• The e-paper",
             "• No adverts", "Renews automatically, cancel anytime", "Next Story"]
    stories = [[o] for o in OTHERS[:4]]
    bodies = ["\n".join(s + block) for s in stories]
    c, model = _clean(bodies, ["courier"] * 4)
    assert c.body_clean.to_pylist() == [s[0] for s in stories]
    assert model.n_learned(3) >= len(block) - 2


def test_wall_shared_across_a_media_group():
    wall = ("We value your privacy. We and our partners store and access information on your device, such as cookies, "
            "to show you personalised content. You can accept or reject your choices at any time in Privacy Settings.")
    teasers = OTHERS[:4]
    bodies = [wall] * 4 + [wall + "\n" + t for t in teasers] + ["JavaScript is disabled in your browser. Please enable it "
                                                                 "to read this article."]
    c, _ = _clean(bodies, ["group-a", "group-b", "group-c", "group-d"] * 2 + ["other"])
    out = c.body_clean.to_pylist()
    assert out[:4] == [""] * 4 and out[8] == ""
    assert c.wall_only.tolist() == [True] * 4 + [False] * 4 + [True]
    assert out[4:8] == teasers


def test_variable_link_lists_and_weather_widget():
    bodies = [f"23°F Partly cloudy LANMERE (AP) — {OTHERS[i]}\n{REPORT[i]}\n"
              f"More from the Courier: {OTHERS[(i + 1) % 6][:30]} | {OTHERS[(i + 2) % 6][:25]} | {OTHERS[(i + 3) % 6][:20]}"
              for i in range(5)]
    c, _ = _clean(bodies, ["courier"] * 5)
    for i, out in enumerate(c.body_clean.to_pylist()):
        assert out == OTHERS[i] + "\n" + REPORT[i]
    assert c.dateline.to_pylist() == ["LANMERE (AP)"] * 5
    # A one-off lead-in of known wording is recognised without learning.
    c, _ = _clean([OTHERS[0] + "\nREAD MORE: " + OTHERS[1][:60]], ["solo"])
    assert c.body_clean.to_pylist() == [OTHERS[0]]


def test_report_counts_do_not_depend_on_chunks_or_their_order():
    # The same report seen in two chunks counts once; different stories add up; how the batch is
    # split (local chunks, Spark partitions) and the order parts merge in change nothing.
    from dedup.stages.chrome import ReportSets, _outlet_keys
    from dedup.stages.clean import observe_reports
    from dedup.stages.text.lines import Lines

    line = "Sign up for the Courier briefing"
    bodies = ["\n".join(REPORT + [line]), OTHERS[0] + "\n" + line, "\n".join(REPORT + [line]), OTHERS[1] + "\n" + line]
    text, _ = prepare(pa.array(bodies, pa.large_string()))
    outlets = pa.array(["c"] * 4)
    whole = learn_chrome(outlets, text, 3)
    key = _outlet_keys(pa.array(["c"]), [0], Lines.split(pa.array([line])).key_hash())
    assert whole.count_of(key).tolist() == [3] and whole.stories_of(key).tolist() == [4]
    for split in ([[0, 1], [2, 3]], [[2, 3], [0, 1]], [[0, 2], [1, 3]], [[3], [1], [0, 2]]):
        parts = [(outlets.take(pa.array(ix)), text.take(pa.array(ix))) for ix in split]
        counted = []
        for o, t in parts:
            m = ChromeModel()
            observe_chrome(m, o, t)
            counted.append(m)
        known = ChromeModel.combine(counted)
        sets = ReportSets.combine([observe_reports(known, o, t, 3) for o, t in parts])
        model = known.with_reports(sets)
        assert np.array_equal(model.keys, whole.keys) and np.array_equal(model.counts, whole.counts), split


def test_combining_report_sets_equals_keeping_them_from_all_rows():
    # ``combine`` merges its parts as sorted runs (parts from ``from_rows``, a window's nights one
    # after the other) and sorts rows in no useful order; either way its kept sets are those of
    # ``from_rows`` over every row. Keys repeat across parts, values repeat within and across
    # them, sets overflow REPORT_SET, and rows past the sketch's positions are left out.
    from dedup.stages import chrome
    from dedup.stages.chrome import REPORT_SET, SKETCH, ReportSets

    rng = np.random.default_rng(7)

    def rows(n, keys):
        return (rng.choice(keys, n).astype(np.uint64), rng.integers(0, SKETCH + 1, n).astype(np.uint8),
                rng.integers(0, 2**20, n).astype(np.uint64))

    def same(a, b):
        return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("key", "q", "value"))

    def kept(key, q, value):  # the definition, row by row: per (key, q < SKETCH) the REPORT_SET smallest distinct values
        sets: dict = {}
        for kk, qq, v in zip(key.tolist(), q.tolist(), value.tolist()):
            if qq < SKETCH:
                sets.setdefault((kk, qq), set()).add(v)
        out = [(kk, qq, v) for (kk, qq), vs in sorted(sets.items()) for v in sorted(vs)[:REPORT_SET]]
        return ReportSets(*(np.array(c, t) for c, t in zip(zip(*out), (np.uint64, np.uint8, np.uint64))))

    keys = rng.integers(0, 2**64, 300, dtype=np.uint64)
    hot = keys[:3]  # a few keys with far more than REPORT_SET values per position
    for n_parts in (1, 2, 7, 40):
        raw = [rows(int(rng.integers(0, 3000)), keys if i % 2 else hot) for i in range(n_parts)]
        whole = ReportSets.from_rows(*(np.concatenate(c) for c in zip(*raw)))
        assert same(whole, kept(*(np.concatenate(c) for c in zip(*raw)))), n_parts
        parts = [ReportSets.from_rows(*r) for r in raw]  # each sorted by key
        assert same(ReportSets.combine(parts), whole), n_parts
        assert same(ReportSets.combine(parts[::-1]), whole), n_parts
        # A window's nights one after the other, as one part: several sorted runs in one array.
        nights = ReportSets(*(np.concatenate([getattr(p, f) for p in parts[1:]] or [np.empty(0, t)])
                              for f, t in (("key", np.uint64), ("q", np.uint8), ("value", np.uint64))))
        assert same(ReportSets.combine([parts[0], nights]), whole), n_parts
        assert same(ReportSets.combine([ReportSets(*r) for r in raw]), whole), n_parts  # unsorted rows
    # The run merge itself, on rows of many runs (``combine`` sorts those instead).
    raw = [rows(50, keys) for _ in range(200)]
    parts = [ReportSets.from_rows(*r) for r in raw]
    key, q, value = (np.concatenate([getattr(p, f) for p in parts]) for f in ("key", "q", "value"))
    runs = np.cumsum([0] + [p.key.size for p in parts]).astype(np.int64)
    k, qq, v, m = chrome._bottom_k_runs(key, q, value, runs, REPORT_SET, SKETCH)
    assert same(ReportSets(k[:m], qq[:m], v[:m]), ReportSets.from_rows(key, q, value))
    assert ReportSets.combine([]).key.size == 0 and ReportSets.combine([ReportSets()]).key.size == 0


def test_report_count_estimate_past_the_kept_set():
    # More different reports than REPORT_SET: the bottom-k estimate stays within 35% of the truth.
    from dedup.stages.chrome import REPORT_SET, ReportSets

    rng = np.random.default_rng(1)
    for n in (REPORT_SET - 1, 200, 2000):
        v = rng.integers(0, 2**63, size=(n, 6), dtype=np.uint64)
        sets = ReportSets.from_rows(np.full(n * 6, 7, np.uint64), np.tile(np.arange(6, dtype=np.uint8), n), v.reshape(-1))
        (k,), (est,) = sets.estimates()
        assert k == 7 and (est == n if n < REPORT_SET else abs(est - n) / n < 0.35), (n, est)


def _run(cli, tmp_path, path):
    out = tmp_path / "out"
    res = cli("run", "--input", path, "--output", out, "--run-date", "2026-11-30")
    return res, out


def test_probe_15_identical_one_outlet(cli, tmp_path):
    res, out = _run(cli, tmp_path, shared_path("probes", "15-degenerate-batches", "identical-one-outlet.jsonl"))
    assert res.exit_code == 0, res.output
    s = pq.read_table(out / "stories").to_pandas()
    assert len(s) == 5 and s.cluster_id.nunique() == 1 and (s.chrome_lines_removed == 0).all()
    assert pq.read_table(out / "rejects").num_rows == 0


def test_probe_11_flat_no_outlet_copies_keep_their_text(cli, tmp_path):
    path = shared_path("probes", "11-nested-or-missing-outlet", "flat-no-outlet.jsonl")
    res, out = _run(cli, tmp_path, path)
    assert res.exit_code == 0, res.output
    bodies = {json.loads(l)["id"]: json.loads(l)["body"] for l in open(path)}
    s = pq.read_table(out / "stories").to_pandas()
    assert len(s) == len(bodies) and (s.chrome_lines_removed == 0).all()
    for sid, body in zip(s.story_id, s.body_clean):
        assert body.split("\n") == bodies[sid].split("\n")
    a = s[s.story_id.str.contains("/a")]
    assert len(a) == 4 and a.cluster_id.nunique() == 1


def test_probe_02_walls_do_not_merge_different_stories(cli, tmp_path):
    res, out = _run(cli, tmp_path, shared_path("probes", "02-consent-and-js-wall-bodies", "scrape-walls.jsonl"))
    assert res.exit_code == 0, res.output
    s = pq.read_table(out / "stories").to_pandas()
    r = pq.read_table(out / "rejects").to_pandas()
    assert sorted(r.story_id) == sorted([f"consent-only-{i}" for i in range(4)] + [f"js-wall-{i}" for i in range(3)])
    assert r.reason.str.contains("wall").all()
    teasers = s[s.story_id.str.startswith("consent-teaser")]
    assert len(teasers) == 4 and teasers.cluster_id.nunique() == 4
    assert not teasers.body_clean.str.contains("privacy").any()
    assert s[~s.story_id.str.startswith("consent")].cluster_id.nunique() == 3


def test_night_that_loses_every_record_to_cleaning_fails(cli, tmp_path):
    path = tmp_path / "walls.jsonl"
    wall = "JavaScript is disabled in your browser. Please enable JavaScript to read this article on our website."
    path.write_text("".join(json.dumps({"id": f"w{i}", "outlet": f"o{i}", "headline": f"h{i}", "body": wall,
                                        "published_at": "2026-11-29T08:00:00Z"}) + "\n" for i in range(4)))
    res, out = _run(cli, tmp_path, path)
    assert res.exit_code == 1
    assert "max_reject_ratio" in res.output


def test_page_edges_keep_a_pipe_table_and_sentences_wrapped_over_lines():
    """Page-edge trimming drops non-sentence lines outside a story's first and last sentence. A
    standings table drawn with pipes, and a paragraph broken into lines mid-sentence (<br>), are
    story text: they stay. A share bar with pipes but no figure, and a lone menu word, still go."""
    from dedup.stages.chrome import chrome_rules, wrapped_prose
    from dedup.stages.text.lines import Lines

    table = ["Standings after round 12", "| Pos. | Driver | Points | Wins |", "| 1 | A. Moreau | 412 | 3 |",
             "| 2 | L. Varga | 398 | 2 |", "| 3 | T. Okafor | 377 | 4 |", "Share | Facebook | X | Email",
             "The championship resumes in two weeks at the coastal circuit."]
    wrapped = ["Menu", "Officials in the valley said on Tuesday that the new bridge",
               "would open to traffic in the spring, two months later than",
               "planned, because of the floods.", "Subscribe"]
    text, _ = prepare(pa.array(["\n".join(table), "\n".join(wrapped)], pa.large_string()))
    lines = Lines.split(text)
    r = chrome_rules(lines, pa.array(["x", "y"], pa.string()), None, ChromeSettings())
    kept = [t for t, k in zip(lines.text.to_pylist(), r.rule == 0) if k]
    for row in table[2:5] + wrapped[1:4]:
        assert row in kept, row
    assert "Share | Facebook | X | Email" not in kept and "Menu" not in kept and "Subscribe" not in kept
    assert wrapped_prose(lines).sum() == 3


def test_page_edges_of_a_known_outlet_keep_the_reports_own_lines():
    """Once the model has seen an outlet's chrome (EDGE_KNOWN_STORIES stories), a line at the page
    edge that recurs in no other report of it is the report's own (a live blog's title and entry
    headlines, a note under a table) and stays; the page's headline (the record's headline field,
    also with a section before it), times and list items still go. An outlet the model has seen
    too little of loses its short ones to the page edges, as before, except the title of a live blog's first
    entry under its time stamp (``_edge_trim``) and a line naming two of its entries
    (``_entry_summaries``). A live blog that keeps its titles still opens, for the lede sketch, with
    the first report it quotes."""
    from dedup.stages.chrome import EDGE_KNOWN_STORIES

    towns = ["Arden", "Bexley", "Corran", "Dunmore", "Eskdale", "Fenwick", "Garvie", "Holt", "Innis", "Jura",
             "Kells", "Lorne", "Moray", "Nairn", "Oban", "Perth", "Quoich", "Rannoch", "Skye", "Tain", "Ullapool",
             "Vaila"]
    things = ["library", "harbour", "bridge", "school", "market", "museum", "station", "theatre", "hospital",
              "stadium", "airport", "ferry pier", "bus depot", "fire station", "town hall", "swimming pool",
              "cinema", "lighthouse", "brewery", "sawmill", "dairy", "quarry"]
    filler = [f"The council of {t} said on Monday it would rebuild the {x} by spring at a cost the {t} "
              f"ratepayers will share over {len(t)} years." for t, x in zip(towns, things)]
    blog_head = "Markets live: Cobb Mill weir to be lowered and more"
    blog = ["Markets live: Cobb Mill weir to be lowered and more", "Live: Cobb Mill weir to be lowered, Ferry pulled "
            "free off Kestrel Point and more", "17:07 GMT", "Cobb Mill weir to be lowered", REPORT[0], REPORT[1], "17:29 GMT",
            "Ferry pulled free off Kestrel Point", OTHERS[0], "• Brewery shares rise on record sales"]
    brief_head = "Vossberg Brewery 4th Qtr Net"
    trending = ["Harbour Board Names New Chair", "Ferry fares to rise in spring", "COUNCIL BACKS WIND FARM PLAN"]
    brief = ["World News: Vossberg Brewery 4th Qtr Net", "Shr 42 cts vs 37 cts", "Net 1,200,000 vs 1,050,000",
             "1986 net includes a gain on the sale of the Tarrow maltings of 300,000 crowns", "Pay April 15"] + trending
    bodies = ["\n".join(blog), "\n".join(brief)] + filler
    heads = [blog_head, brief_head] + [f"{t} rebuilds its {x}" for t, x in zip(towns, things)]
    for outlet, n, known in (("post", len(bodies), True), ("tiny", 3, False)):
        assert (len(bodies) >= EDGE_KNOWN_STORIES) == known or n < EDGE_KNOWN_STORIES
        text, _ = prepare(pa.array(bodies[:n], pa.large_string()))
        outlets = pa.array([outlet] * n, pa.string())
        model = learn_chrome(outlets, text, 3)
        c = finish(text, outlets, model, ChromeSettings(), headlines=pa.array(heads[:n], pa.string()))
        out_blog, out_brief = c.body_clean.to_pylist()[:2]
        # (a time inside the text is not an edge; other headlines in a row are a list, not the report's)
        for gone in (blog[0], "17:07 GMT", blog[-1], brief[0], *trending):
            assert gone not in (out_blog + "\n" + out_brief).split("\n"), (outlet, gone)
        # A short line of the report at the edge stays only where the outlet is known; a long one
        # (EDGE_LONG_WORDS) at any outlet.
        assert (brief[4] in out_brief.split("\n")) == known, outlet
        assert brief[3] in out_brief, outlet
        # The first entry's title under its time stamp, and a line naming two of the entries (the
        # blog's summary of itself), are the blog's, whatever the model knows.
        assert all(line in (out_blog + out_brief) for line in (blog[1], blog[3], REPORT[0],
                                                               "Ferry pulled free off Kestrel Point",
                                                               "Shr 42 cts vs 37 cts"))
        assert out_blog.encode()[c.lede_from[0]:].decode().startswith(REPORT[0])
        # Without headlines the edges do not know the page's headline: every edge line goes but the
        # blog's summary and first entry's title, and the lede still starts after them.
        c0 = finish(text, outlets, model, ChromeSettings())
        b0 = c0.body_clean.to_pylist()[0]
        assert b0.startswith(blog[1] + "\n" + blog[3] + "\n") and blog[0] not in b0
        assert b0.encode()[c0.lede_from[0]:].decode().startswith(REPORT[0])


def test_a_newsletter_email_box_is_generic_chrome():
    from dedup.stages.chrome import chrome_rules
    from dedup.stages.text.lines import Lines

    lines = Lines.split(pa.array(["Get our briefing\nEnter your email\n" + REPORT[0] + "\nEnter your e-mail address"],
                                 pa.large_string()))
    r = chrome_rules(lines, pa.array(["x"], pa.string()), None, ChromeSettings())
    assert r.rule.tolist()[1] != 0 and r.rule.tolist()[3] != 0 and r.rule.tolist()[2] == 0


def test_a_table_briefs_first_lines_are_its_text_not_the_page_edge():
    """A table brief's first lines are not sentences, so the page edges once took them: the line a
    dateline naming its agency or date was cut from starts the report ("Periods end ..."), it opens
    a paragraph (the lower-case rest does not continue the headline above it), a row with nothing
    to compare ("(no comparison)") is a table row, and a label after a place the page kept
    ("Toronto: ended January 31") is a table label. A bare place and a colon with a figure after
    it, below the story's first paragraph, labels a row ("Parana: 40 pct"), no dateline."""
    from dedup.stages.text.wire import strip_furniture
    from dedup.stages.text.lines import Lines

    bodies = [
        "Westmoor Traders 1st Qtr Net\nLARKHILL, March 9 (Reuters) - Periods end January 31, 1987 and 1986\n"
        "Shr 12 cts vs nine cts\nNet 507,000 vs 362,000\nNOTE: Westmoor Traders Inc is the full name of the company.",
        "Kestrel Ferries Year Net\nKestrel Ferries Year Net\nLarkhill, March 9 (Reuters) - kestrel ferries said its "
        "profit rose for the third year running as passenger numbers recovered across its routes.\n" + REPORT[1],
        "Advertisement\nShr loss 17.4 H.K. cents (no comparison)\nDividend nil (no comparison)\nNet loss 11.49 mln dlrs.\n"
        + REPORT[0],
        "Sign up\nToronto: ended January 31\nOper shr profit 3.98 dlrs vs profit 4.35 dlrs\nRevs 1.88 billion vs 1.76 billion",
        "SAO PAULO, March 20 (Reuters) - " + REPORT[0] + "\nParana: 40 pct\n" + REPORT[1],
    ]
    text, _ = prepare(pa.array(bodies, pa.large_string()))
    c = finish(text, pa.array(["a", "b", "c", "d", "e"], pa.string()), None, ChromeSettings(),
               headlines=pa.array(["Westmoor Traders 1st Qtr Net", "Kestrel Ferries Year Net", None, None, None],
                                  pa.string()))
    out = c.body_clean.to_pylist()
    assert out[0].startswith("Periods end January 31, 1987 and 1986\nShr 12 cts")
    assert out[1].startswith("kestrel ferries said") and "Year Net" not in out[1]
    assert out[2].startswith("Shr loss 17.4 H.K. cents (no comparison)\nDividend nil")
    assert out[3].startswith("Toronto: ended January 31\nOper shr")
    assert "\nParana: 40 pct\n" in out[4] and c.dateline.to_pylist()[4] == "SAO PAULO, March 20 (Reuters)"
    # Only a dateline naming an agency or a date marks where the text begins.
    lines = Lines.split(pa.array(["Added: Thu, Mar 19, 1987 | 04.02 AEST\nLARKHILL, March 9 (Reuters) - Net 5 vs 4",
                                  "Pasadena: Avery said its board approved a split."], pa.large_string()))
    kept, _, dateline, _, dated = strip_furniture(lines)
    assert dateline.tolist() == ["LARKHILL, March 9 (Reuters)", "Pasadena"]
    assert [t for t, d in zip(kept.text.to_pylist(), dated) if d] == ["Net 5 vs 4"]


def test_a_feed_without_outlets_learns_chrome_per_site_from_the_urls(cli, tmp_path):
    """Records without an outlet are grouped by their URL's host for chrome (``chrome_outlets``):
    each site's own footer is learned as that site's chrome, and a site the model knows (20 stories
    or more) keeps a report's own line at its page edge (a note under a table) that the pooled
    group, never "known", loses. Output tables keep the records' (missing) outlet."""
    from dedup.stages.chrome import EDGE_KNOWN_STORIES, chrome_outlets

    assert chrome_outlets(pa.array(["Post", None, "", None]), pa.array(
        ["https://post.example/a", "https://WWW.Ledger.example:443/x?y=1", "http://user@gazette.example/", "nope"])
    ).to_pylist() == ["Post", "ledger.example", "gazette.example", None]
    towns = ["Arden", "Bexley", "Corran", "Dunmore", "Eskdale", "Fenwick", "Garvie", "Holt", "Innis", "Jura",
             "Kells", "Lorne", "Moray", "Nairn", "Oban", "Perth", "Quoich", "Rannoch", "Skye", "Tain", "Ullapool",
             "Vaila", "Wick", "Yell"]
    assert len(towns) > EDGE_KNOWN_STORIES
    note = "Figures for the spring quarter of the Tarrow maltings unaudited"
    rows = []
    for site, footer in (("ledger.example", "Ledger Media 2026 all rights kept here"),
                         ("gazette.example", "Read the Gazette on our app every day")):
        for i, t in enumerate(towns):
            body = [f"The council of {t} said on Monday it would rebuild the {site[:6]} hall by spring at a cost the "
                    f"ratepayers will share over {i + 2} years.", footer]
            if i == 0:
                body = ["The Tarrow maltings of Vossberg Brewery sold a record 4,100 tonnes of malt in the spring "
                        f"quarter, the company said in {site[:6]} on Monday.", "Shr 42 cts vs 37 cts",
                        "Net 1,200,000 vs 1,050,000", note, footer]
            rows.append({"id": f"{site[:6]}-{i}", "url": f"https://www.{site}/news/{i}", "headline": f"{t} hall",
                         "body": "\n".join(body), "published_at": "2026-11-29T08:00:00Z"})
    for with_url in (True, False):
        path = tmp_path / f"feed-{with_url}.jsonl"
        path.write_text("".join(json.dumps({k: v for k, v in r.items() if with_url or k != "url"}) + "\n"
                                for r in rows))
        res, out = _run(cli, tmp_path / str(with_url), path)
        assert res.exit_code == 0, res.output
        s = pq.read_table(out / "stories").to_pandas().set_index("story_id")
        assert s.outlet.isna().all()
        assert not s.body_clean.str.contains("Ledger Media|Read the Gazette").any()
        assert (note in s.loc["ledger-0", "body_clean"]) == with_url
        assert (note in s.loc["gazett-0", "body_clean"]) == with_url


def test_a_time_stamp_is_a_time_alone_not_a_figure():
    """A live blog's stamps ("15:36 GMT", "9.05am", "2 min ago") mark its entries; a figure alone on
    a line ("12.50", a price under a table) is no time and makes no page a live blog."""
    import pyarrow.compute as pc

    from dedup.stages.chrome import STAMP_PATTERN

    lines = ["15:36 gmt", "9.05am", "7.15 bst", "11:32:05 utc", "2 min ago", "12.50", "1.5", "15:36 gmt kestrel"]
    assert pc.match_substring_regex(pa.array(lines), STAMP_PATTERN).to_pylist() == [True] * 5 + [False] * 3


def test_a_titled_list_of_other_headlines_goes_whatever_figures_they_hold():
    """Below the page footer of a known outlet, a list under its title ("Don't miss") is other
    stories' headlines even when most of them hold a figure, as wire headlines do ("4th qtr net");
    an item that recurs at the outlet splits the list without ending it. Rows of the report's own
    under a link line inside its text ("READ MORE: ...") stay, figures or not."""
    from dedup.stages.chrome import EDGE_KNOWN_STORIES

    foot = ["© 1987 Harbour Courier. All rights reserved.", "Don't miss"]
    heads = [f"{name} <{name[:3].upper()}> {q} qtr net" for name, q in
             zip(["Arden Mills", "Bexley Foods", "Corran Steel", "Dunmore Gas", "Eskdale Paper", "Fenwick Tools",
                  "Garvie Oil", "Holt Marine", "Innis Bank", "Jura Power", "Kells Wire", "Lorne Glass"],
                 ["1st", "2nd", "3rd", "4th"] * 3)]
    recurring = "Ferry fares to rise 5 pct in spring"
    bodies = []
    for i in range(EDGE_KNOWN_STORIES + 4):
        lede = (f"The council of Tarrow said on day {i} of the session that its budget for road {i} would grow "
                f"by {i + 3} percent next year, the treasurer told reporters.")
        items = [heads[(i + j) % len(heads)] for j in range(3)] + ([recurring] if i % 7 == 0 else [])
        bodies.append("\n".join([lede, OTHERS[i % len(OTHERS)]] + foot + items))
    story = [REPORT[0], REPORT[1]] + foot + [heads[0], heads[5], recurring, heads[9], heads[10]]
    rows = [REPORT[2], "READ MORE: Arden Mills <ARD> 1st qtr net", "Pay April 15", "Record April 1",
            "Daily .067 cts vs .067 cts prior"] + foot + [heads[3], heads[4], heads[6]]
    bodies += ["\n".join(story), "\n".join(rows)]
    text, _ = prepare(pa.array(bodies, pa.large_string()))
    outlets = pa.array(["courier"] * len(bodies), pa.string())
    c = finish(text, outlets, learn_chrome(outlets, text, 3), ChromeSettings(),
               headlines=pa.array([f"Story {i}" for i in range(len(bodies))], pa.string()))
    out_story, out_rows = (x.split("\n") for x in c.body_clean.to_pylist()[-2:])
    assert out_story == [REPORT[0], REPORT[1]]
    assert out_rows == [REPORT[2], "Pay April 15", "Record April 1", "Daily .067 cts vs .067 cts prior"]


def test_a_report_saying_enable_to_use_is_no_javascript_wall():
    """The wall patterns ask the reader to act ("Please enable cookies to continue"); a report's
    sentence that something "will enable operators to use" a service is its text."""
    from dedup.stages.chrome import wall_lines
    from dedup.stages.text.lines import Lines

    text = ["The Kobe Rubber Exchange said it will extend its trading hours from May 1 to enable more operators "
            "to use the exchange.",
            "The cash fund will enable Equity Silver to continue to pay dividends on its preferred shares.",
            "Please enable cookies to continue.", "Enable JavaScript to view this page",
            "This site needs JavaScript. Enable it to read the article."]
    got = wall_lines(Lines.split(pa.array(["\n".join(text)], pa.large_string())))
    assert got.tolist() == [False, False, True, True, True]


def _alone(body: list[str], headline: str = "A headline of the page") -> list[str]:
    """body_clean's lines of one page from a site the model knows nothing else of (page edges apply
    in full)."""
    text, _ = prepare(pa.array(["\n".join(body)], pa.large_string()))
    outlets = pa.array(["tiny.example"], pa.string())
    c = finish(text, outlets, learn_chrome(outlets, text, 3), ChromeSettings(), headlines=pa.array([headline]))
    return c.body_clean.to_pylist()[0].split("\n")


HEADER = ["Support business journalism at the Gazette", "Student plan  $2.99/month", "Insider plan  $4.99/month",
          "Renews automatically. Cancel anytime.", "Already a subscriber? Sign in", "Image for representation only"]


def test_a_table_of_figures_without_vs_is_the_reports_text():
    """Three or more short rows ending in figures ("Goods -7.1 (-8.7)", "Due: 27 35") are a table
    of the report at any site; a price plan, a page number or one counter is not."""
    rows = ["Goods -7.1 (-8.7)", "Services +10.1 (+9.8)", "Direct Investment N/A (-6.3)",
            "Average waiting time tomorrow --"]
    lede = "The harbour board of Lanmere gave the following figures for the year (1985 in brackets), made up of:"
    assert _alone(HEADER + [REPORT[0], lede] + rows + ["Share this article", "Comments 12", "1", "2", "3"]) == \
        [REPORT[0], lede] + rows
    # Not a table: the plans above, and pages numbered under the story.
    assert _alone(HEADER + [REPORT[0], "1", "2", "3", "Next"]) == [REPORT[0]]


def test_table_briefs_keep_labels_patterns_and_typos_would_take():
    """A table's label that a subscription plan could read ("12 months"), a label with "and" or
    "to" ("Periods end January 31, 1987 and 1986", "Year to September 30, 1986"), a row whose
    figures start with a point (".067 cts vs .067 cts prior") and a label with a typo between
    rows ("Pay Apirl 10") all stay with the table, across up to ``TABLE_GAP`` lines of chrome."""
    brief = ["Periods end January 31, 1987 and 1986", "Shr loss 51 cts vs loss three cts", "12 months",
             "Net loss 7,041,000 vs loss 467,000", "Year to September 30, 1986", "Daily .067 cts vs .067 cts prior",
             "Pay Apirl 10", "Record March 30"]
    assert _alone(HEADER + brief + ["Most read", "• Harbour board names new chair"]) == brief
    # Three lines of chrome inside the table (a link, a newsletter box), and a note glued to its
    # last label, do not end it.
    div = ["Qtly div 25 cts vs 25 cts prior", "Pay April 17"]
    box = ["Related: Harbour board names new chair | Ferry fares rise", "Subscribe now for digital access",
           "ADVERTISEMENT"]
    end = "Record March 30 NOTE: Full name is Lanmere Harbour Holdings Inc"
    assert _alone(HEADER + div + box + [end, "Advertise with us · Careers · Sitemap"]) == div + [end]


def test_a_credited_dateline_under_a_long_page_header_opens_the_report():
    """A dateline that credits an agency ("HOUSTON, March 17 (Reuters) - Qtr ended Jan 31") is
    found below a long page header too, and the line it opens is the report's."""
    body = HEADER + ["Reading time: 1 min", "Font size: A- A+", "Share this article", "Wire Desk",
                     "HOUSTON, March 17 (Reuters) - Qtr ended Jan 31", "Shr 92 cts vs 1.28 dlrs",
                     "Net 5,415,000 vs 7,730,000"]
    assert _alone(body) == ["Qtr ended Jan 31", "Shr 92 cts vs 1.28 dlrs", "Net 5,415,000 vs 7,730,000"]


def test_a_reported_sentence_is_no_generic_chrome():
    """A sentence reporting what someone said keeps chrome words ("subscription ... offer")."""
    said = "The subscription period for the offer runs from March 26 to April eight, it added."
    assert _alone([REPORT[0], said, "Subscribe now for digital access"]) == [REPORT[0], said]


def test_a_live_blogs_first_entry_title_survives_an_advertisement_under_its_stamp():
    """The first entry's title stays when an advertisement sits between its time stamp and it."""
    body = HEADER + ["10:15 GMT", "Story continues below advertisement", "Cobb Mill weir to be lowered", REPORT[0],
                     "10:33 GMT", "Ferry pulled free off Kestrel Point", OTHERS[0]]
    got = _alone(body, "Live: Cobb Mill weir and more")
    assert got[:2] == ["Cobb Mill weir to be lowered", REPORT[0]]
