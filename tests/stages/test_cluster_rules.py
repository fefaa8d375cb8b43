"""Issue 12 items 4-6: multi-topic pages, best-match membership, table briefs.

Every text here is invented for the tests (the probe test reads ../shared and skips without it).
"""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa

from dedup import load_config, run
from dedup.config import DedupSettings
from dedup.stages import cluster
from dedup.stages import verify
from dedup.stages.fingerprint import fingerprint, number_sequences
from dedup.stages.text.normalize import fingerprint_text
from tests.conftest import shared_path, write_jsonl

_SYLLABLES = ["ka", "lo", "mer", "vin", "tas", "ro", "bel", "dun", "sai", "pol", "tre", "ven", "mor", "gal",
              "ris", "ton", "ha", "quel", "bra", "sel", "nor", "fi", "lun", "dar"]


def _paragraphs(seed: int, n: int, words: int = 32) -> list[str]:
    """``n`` invented paragraphs of ``words`` made-up words each (no two paragraphs share 4-word runs)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ws = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(words)]
        out.append(ws[0].capitalize() + " " + " ".join(ws[1:words // 2]) + ". "
                   + ws[words // 2].capitalize() + " " + " ".join(ws[words // 2 + 1:]) + ".")
    return out


def _run(tmp_path, records: list[dict]) -> pd.DataFrame:
    inp = write_jsonl(tmp_path / "batch.jsonl", records)
    run(load_config(input=str(inp), output=str(tmp_path / "out"), run_date="2026-11-30"))
    return pd.read_parquet(tmp_path / "out" / "stories").set_index("story_id")


def _scores(texts: list[str], pairs: list[tuple[int, int]], headlines: list[str] | None = None,
            numbers: bool = True):
    fp = fingerprint(fingerprint_text(pa.array(texts, pa.large_string())), num_perm=64, shingle_size=4, seed=1)
    words = np.array([len(t.split()) for t in texts], np.int64)
    left = np.array([p[0] for p in pairs], np.int64)
    right = np.array([p[1] for p in pairs], np.int64)
    heads = np.array([hash(h) & 0xFFFFFFFF | 1 for h in headlines], np.uint64) if headlines else np.zeros(len(texts), np.uint64)
    nums = None
    if numbers:
        known = verify.numbers_wanted(words, 30)
        off, val = number_sequences(fingerprint_text(pa.array(texts, pa.large_string())), known)
        nums = (off, val, known)
    s = verify.score_pairs(fp.offsets, fp.values, left, right, words=words, text_hash=fp.text_hash,
                           headline_hash=heads, threshold=0.5, containment_threshold=0.8, short_words=30,
                           numbers=nums)
    return fp, left, right, s


# --- 4. multi-topic pages ------------------------------------------------------------------

def _assert_roundup_expectation(s: pd.DataFrame, page: str, reports: list[tuple[str, str]]) -> None:
    """What a user expects of a live blog among full and short copies of the reports it quotes:
    each report's copies together, the page alone or with at most one report, never two reports in one cluster."""
    for full, short in reports:
        assert s.loc[full, "cluster_id"] == s.loc[short, "cluster_id"], (full, short)
    clusters = [s.loc[full, "cluster_id"] for full, _ in reports]
    assert len(set(clusters)) == len(reports)
    assert sum(s.loc[page, "cluster_id"] == c for c in clusters) <= 1


def test_probe_16_live_blog_keeps_each_report_with_its_own_copies(tmp_path):
    src = shared_path("probes", "16-live-blog-roundup", "live-blog.jsonl")
    out = tmp_path / "out"
    run(load_config(input=str(src), output=str(out), run_date="2026-11-30"))
    s = pd.read_parquet(out / "stories").set_index("story_id")
    _assert_roundup_expectation(s, "live-blog", [("a-full", "a-short"), ("b-full", "b-short"), ("c-full", "c-short")])


def test_roundup_of_three_reports_does_not_absorb_their_short_copies(tmp_path):
    reports = {k: _paragraphs(seed, 5) for k, seed in (("a", 1), ("b", 2), ("c", 3))}
    own = _paragraphs(9, 2)
    page = ["Live: the day in brief", "08:10", *reports["a"][:2], "09:40", *reports["b"][:2],
            "11:05", *reports["c"][:2], *own]
    recs = [{"id": "roundup", "outlet": "omega", "headline": "The day in brief", "body": "\n".join(page),
             "published_at": "2026-11-30T12:00:00Z"}]
    for k, paras in reports.items():
        recs.append({"id": f"{k}-full", "outlet": "beta", "headline": f"Report {k}", "body": "\n".join(paras),
                     "published_at": "2026-11-30T08:00:00Z"})
        recs.append({"id": f"{k}-short", "outlet": "gamma", "headline": f"Report {k} in short",
                     "body": "\n".join(paras[:2]), "published_at": "2026-11-30T08:30:00Z"})
    s = _run(tmp_path, recs)
    _assert_roundup_expectation(s, "roundup", [(f"{k}-full", f"{k}-short") for k in reports])
    # The page is longer than every full copy: without the rule it would have been their canonical.
    assert s.loc["roundup", "words"] > max(s.loc[f"{k}-full", "words"] for k in reports)


def test_one_report_cut_at_several_lengths_keeps_its_containment_matches():
    paras = _paragraphs(4, 10)
    texts = ["\n".join(paras), "\n".join(paras[:2]), "\n".join(paras[:3]), "\n".join(paras[:4])]
    fp, left, right, s = _scores(texts, [(0, 1), (0, 2), (0, 3)])
    assert s.match.all() and (s.jaccard < 0.5).all()  # three containment matches of one container
    assert not verify.multi_topic_edges(fp.offsets, fp.values, left, right, s.jaccard, s.match, 0.5).any()


def test_container_of_two_unrelated_ledes_loses_only_its_containment_matches():
    a, b = _paragraphs(5, 4), _paragraphs(6, 4)
    page = "\n".join(a[:2] + b[:2] + _paragraphs(7, 1))
    texts = [page, "\n".join(a[:2]), "\n".join(b[:2]), page.replace("Live", "live") + "\nUpdated."]
    fp, left, right, s = _scores(texts, [(0, 1), (0, 2), (0, 3)])
    assert s.match.all()
    drop = verify.multi_topic_edges(fp.offsets, fp.values, left, right, s.jaccard, s.match, 0.5)
    # the two ledes go; the page's own copy (a Jaccard match) stays
    assert drop.tolist() == [True, True, False]


# --- 5. best match, not first match ------------------------------------------------------------

def test_member_joins_the_canonical_it_matches_best(tmp_path):
    core, extra, other = _paragraphs(11, 4), _paragraphs(12, 2), _paragraphs(13, 6)
    texts = {"copy": core, "x": core + extra, "y": core + other}
    fp, left, right, s = _scores(["\n".join(texts[k]) for k in ("copy", "x", "y")], [(0, 1), (0, 2), (1, 2)])
    # copy ~ x by resemblance, copy inside y by containment, x and y apart: the set-up of item 5
    assert s.match.tolist() == [True, True, False]
    assert s.jaccard[0] >= 0.5 and s.jaccard[1] < 0.5 and s.containment[1] >= 0.8

    # x's own full copy (it does not match y) keeps x a report of its own, not a version of y
    # (``merge_versions``)
    texts["x-copy"] = core + extra
    recs = [{"id": k, "outlet": f"o-{k}", "headline": f"Story {k}", "body": "\n".join(v),
             "published_at": "2026-11-30T08:00:00Z"} for k, v in texts.items()]
    st = _run(tmp_path, recs)
    assert st.loc["y", "is_canonical"] and st.loc["x", "is_canonical"]  # y is longest: ranked first
    assert st.loc["x-copy", "cluster_id"] == st.loc["x", "cluster_id"]
    assert st.loc["copy", "cluster_id"] == st.loc["x", "cluster_id"]
    assert st.loc["copy", "relation"] == "near"


def test_best_canonical_keys_and_star():
    # rows: 0, 1 canonicals; 2 matches both; 3 matches only canonical 0; 4 alone
    rank = np.array([0, 1, 2, 3, 4])
    left, right = np.array([0, 1, 0]), np.array([2, 2, 3])
    label = cluster.star_clusters(5, rank, left, right)
    assert label.tolist() == [0, 1, 0, 0, 4]
    # resemblance beats containment, whatever the containment
    out = cluster.best_canonical(label, rank, left, right, np.array([0.3, 0.6, 0.9]), np.array([1.0, 0.7, 1.0]), 0.5)
    assert out.tolist() == [0, 1, 1, 0, 4]
    # among containment matches the higher containment wins, then the higher Jaccard
    out = cluster.best_canonical(label, rank, left, right, np.array([0.3, 0.2, 0.9]), np.array([0.85, 0.95, 1.0]), 0.5)
    assert out.tolist() == [0, 1, 1, 0, 4]
    out = cluster.best_canonical(label, rank, left, right, np.array([0.3, 0.2, 0.9]), np.array([1.0, 1.0, 1.0]), 0.5)
    assert out.tolist() == [0, 1, 0, 0, 4]
    # a full tie keeps the better-ranked canonical
    out = cluster.best_canonical(label, rank, left, right, np.array([0.3, 0.3, 0.9]), np.array([1.0, 1.0, 1.0]), 0.5)
    assert out.tolist() == [0, 1, 0, 0, 4]


# --- 6. table briefs ----------------------------------------------------------------------------

BRIEF = ["Shr 47 cts vs 31 cts", "Net 4,757,000 vs 2,466,000", "Revs 32.8 mln vs 33.5 mln",
         "Avg shrs 12,638,000 vs 8,941,000"]


def test_number_sequences_fold_house_style():
    texts = ["Shr seven cts vs 31 cts Net $4,757,000 Revs 32.8 mln", "Shr 7 cents versus 31 cents Net 4757000 dlrs Revs 32.8 million",
             "No figures here at all.", "Shr 7 cts"]
    off, val = number_sequences(fingerprint_text(pa.array(texts)), np.array([True, True, True, False]))
    seqs = [val[off[i]:off[i + 1]].tolist() for i in range(4)]
    assert seqs[0] == seqs[1] and len(seqs[0]) == 4
    assert seqs[2] == [] and seqs[3] == []  # no numbers; not wanted


def test_number_sequences_of_repeated_texts_are_each_rows_own():
    # Copies are tokenized once per distinct text (fingerprint.number_sequences): each row must get
    # what tokenizing it alone gives, an unwanted copy of a wanted text included.
    texts = ["Shr seven cts vs 31 cts Net $4,757,000", "Revs 32.8 mln vs 33.5 mln", "No figures.", None]
    rows = [texts[i % 4] for i in range(41)]
    want = np.array([i % 3 != 0 for i in range(41)])
    fp = fingerprint_text(pa.array(rows, pa.large_string()))
    off, val = number_sequences(fp, want)
    assert off.dtype == np.int64 and val.dtype == np.uint32 and off.shape == (42,)
    for i in range(41):
        one_off, one_val = number_sequences(fp.slice(i, 1), want[i:i + 1])
        assert val[off[i]:off[i + 1]].tolist() == one_val.tolist()
        assert (off[i + 1] > off[i]) == (want[i] and i % 4 < 2)
    off, val = number_sequences(fp, np.zeros(41, bool))
    assert off.tolist() == [0] * 42 and val.size == 0


def test_brief_with_a_dropped_line_and_house_style_matches():
    styled = "\n".join(BRIEF[:2] + BRIEF[3:]).replace(" vs ", " versus ").replace("cts", "cents")
    _, _, _, s = _scores(["\n".join(BRIEF), styled], [(0, 1)])
    assert s.containment[0] < 0.999 and s.jaccard[0] < 0.5  # none of the older short-story rules applies
    assert s.match.tolist() == [True]
    _, _, _, s = _scores(["\n".join(BRIEF), styled], [(0, 1)], numbers=False)
    assert s.match.tolist() == [False]


def test_briefs_whose_numbers_differ_never_match():
    changed = "\n".join(BRIEF).replace("12,638,000", "12,683,000")
    swapped = "\n".join(BRIEF).replace("47 cts vs 31 cts", "31 cts vs 47 cts")
    dropped_and_changed = "\n".join(BRIEF[:2] + BRIEF[3:]).replace("2,466,000", "2,446,000")
    texts = ["\n".join(BRIEF), changed, swapped, dropped_and_changed]
    pairs = [(0, 1), (0, 2), (0, 3)]
    # the same headline on every copy: the headline rule alone would merge the first two
    _, _, _, s = _scores(texts, pairs, headlines=["Acme Corp 1st qtr net"] * 4)
    assert s.match.tolist() == [False, False, False]
    _, _, _, s = _scores(texts, pairs, headlines=["Acme Corp 1st qtr net"] * 4, numbers=False)
    assert s.match[0]  # what the veto prevents


def test_brief_rule_needs_a_table_not_a_few_figures():
    a = "Qtly div 4-1/2 cts vs 4-1/2 cts prior\nPay April 15\nRecord March 24"
    pairs = [(0, 1), (0, 2), (0, 3)]
    texts = [a,
             "Qtly div 4-1/2 cts vs 4-1/2 cts prior\nRecord March 24",  # a line dropped; 4, 1, 2, 24
             "Qtly div 4-1/2 cts vs 4-1/2 cts prior",  # 4, 1, 2: any company's identical dividend
             "Qtly div 4-1/2 cts vs 4-1/2 cts prior\nRecord March 26"]  # a figure changed
    _, _, _, s = _scores(texts, pairs)
    assert s.match.tolist() == [True, False, False]
    _, _, _, s = _scores(texts, pairs, numbers=False)
    assert s.match.tolist() == [False, False, False]


def test_two_companies_stock_split_notices_are_no_table_brief():
    """Two companies' notices of a split with the same dates share the stock sentence and every
    figure in order ("three-for-two", April 30, March 31); half the shorter's shingles is no copy
    (``BRIEF_CONTAINMENT``)."""
    texts = ["Harwick Tools Inc said its board declared a three-for-two stock split and kept its quarterly "
             "dividend at six cts a share on the new shares.\nThe split and the dividend are payable April 30 to "
             "holders of record March 31.",
             "Lindell Foods Inc said its board declared a three-for-two stock split, payable April 30, record March 31."]
    _, _, _, s = _scores(texts, [(0, 1)])
    assert s.containment[0] >= 0.5 and s.match.tolist() == [False]


def test_brief_copies_cluster_and_another_companys_table_stays_apart(tmp_path):
    other = "\n".join(BRIEF).replace("4,757,000", "4,575,000")
    styled = "\n".join(BRIEF[:2] + BRIEF[3:]).replace(" vs ", " versus ")
    recs = [
        {"id": "wire", "outlet": "wire", "headline": "Acme Corp 1st qtr net", "body": "\n".join(BRIEF)},
        {"id": "copy", "outlet": "post", "headline": "Acme Corp 1st qtr net", "body": styled},
        {"id": "other", "outlet": "ledger", "headline": "Acme Corp 1st qtr net", "body": other},
    ]
    s = _run(tmp_path, recs)
    assert s.loc["wire", "cluster_id"] == s.loc["copy", "cluster_id"] != s.loc["other", "cluster_id"]


# --- teasers: a first paragraph of a long story ------------------------------------------------

def test_teasers_of_long_stories_join_them(tmp_path):
    """A teaser (the first paragraph of a ten-paragraph story, as a wall's teaser or a feed summary
    carries it) holds under a tenth of the story's shingles: the signature's bands make such a pair
    a candidate about one time in five. The lede sketch makes it one every time: all five join."""
    recs = []
    for k in range(5):
        paras = _paragraphs(300 + k, 10)
        recs.append({"id": f"full-{k}", "outlet": "Alpha", "headline": f"Report {k}", "body": "\n".join(paras)})
        recs.append({"id": f"teaser-{k}", "outlet": "Beta", "headline": f"Teaser {k}", "body": paras[0]})
    st = _run(tmp_path, recs)
    for k in range(5):
        assert st.loc[f"teaser-{k}", "cluster_id"] == st.loc[f"full-{k}", "cluster_id"], k
        assert st.loc[f"teaser-{k}", "relation"] == "truncated"
    assert st["cluster_id"].nunique() == 5


def test_lede_keys_pair_equal_ledes_and_never_rows_without_one():
    from dedup.stages.candidates import LEDE_BANDS, lede_keys
    from dedup.stages.fingerprint import LEDE_SHINGLES

    paras = _paragraphs(7, 6)
    texts = ["\n".join(paras), paras[0], _paragraphs(8, 1)[0]]
    fp = fingerprint(fingerprint_text(pa.array(texts, pa.large_string())), num_perm=64, shingle_size=4, seed=1)
    assert paras[0].count(" ") + 1 - 3 >= LEDE_SHINGLES  # the teaser holds the whole lede
    keys = lede_keys(fp.lede)
    assert len(keys) == LEDE_BANDS
    assert all(k[0] == k[1] for k in keys) and not any(k[0] == k[2] for k in keys)
    none = fp.lede.copy()
    none[:2] = 0xFFFFFFFF  # rows without a lede (earlier nights' canonicals)
    keys = lede_keys(none)
    assert not any(k[0] == k[1] for k in keys)


# --- versions of one report: a new top, a correction ----------------------------------------

def test_versions_of_one_report_form_one_cluster(tmp_path):
    """A correction (the report plus a correction line) is the most complete copy; an update with a
    new top holds only the first paragraphs: under the containment threshold
    against the correction. Short copies of the first paragraphs resemble the update more than
    they are contained in the correction, so they join the update: without ``merge_versions`` the
    report splits in two. A follow-up that quotes the report but whose own copy does not match the
    correction stays apart, although it is as much contained in it."""
    p = _paragraphs(500, 5)
    new_top, correction_line = _paragraphs(501, 1)[0], _paragraphs(502, 1)[0]
    follow, = _paragraphs(503, 1)
    recs = [
        {"id": "correction", "outlet": "Alpha", "headline": "R (corrected)", "body": "\n".join(p + [correction_line])},
        {"id": "update", "outlet": "Alpha", "headline": "R (update)", "body": "\n".join([new_top] + p[:2])},
        {"id": "follow-up", "outlet": "Gamma", "headline": "R follow-up", "body": "\n".join([follow] + p[:3])},
        {"id": "follow-copy", "outlet": "Delta", "headline": "R follow-up", "body": "\n".join([follow, p[0]])},
    ] + [{"id": f"copy-{k}", "outlet": f"Beta{k}", "headline": "R", "body": "\n".join(p[:2])} for k in range(3)]
    st = _run(tmp_path, recs)
    cid = st["cluster_id"]
    assert {cid["update"], *(cid[f"copy-{k}"] for k in range(3))} == {cid["correction"]}
    assert st.loc["correction", "is_canonical"] and not st.loc["update", "is_canonical"]
    assert cid["follow-up"] == cid["follow-copy"] != cid["correction"]


def test_merge_versions_needs_every_member_and_no_chain():
    from dedup.stages.cluster import merge_versions

    # rows: 0 = canonical A, 1 = canonical B (members 2, 3), 4 = canonical C (member 5), 6 = canonical D (member 7)
    label = np.array([0, 1, 1, 1, 4, 4, 6, 6])
    # 2 and 3 match A (all of B's members): B joins A. Only 5 of C... C has one member, 5, matching A,
    # but C is contained less than the floor. D's member 7 matches B, which itself moves: no chain.
    left = np.array([2, 3, 5, 7])
    right = np.array([0, 0, 0, 1])
    con = {(1, 0): 0.6, (4, 0): 0.3, (6, 1): 0.9}
    jac = np.full(4, 0.9)  # every member a copy of its own canonical
    got = merge_versions(label, left, right, jac, 0.5, lambda s, c: np.array([con[(a, b)] for a, b in zip(s, c)]),
                         0.5, np.zeros(8, bool))
    assert got.tolist() == [0, 0, 0, 0, 4, 4, 6, 6]
    # an earlier night's canonical (fixed) never moves; then it stays a canonical D can join
    fixed = np.zeros(8, bool)
    fixed[1] = True
    got = merge_versions(label, left, right, jac, 0.5, lambda s, c: np.array([con[(a, b)] for a, b in zip(s, c)]),
                         0.5, fixed)
    assert got.tolist() == [0, 1, 1, 1, 4, 4, 1, 1]


def test_a_container_left_alone_is_not_rescued_into_the_report_it_quotes(tmp_path):
    """A page holding a report's first four paragraphs whole, then its own text (a live blog whose
    other entries have no copy in the batch, so it is not dropped as multi-topic) matches the
    report's short copy only as its container. Rescue would put it in the report's cluster (57% of
    it is in the report); it stays apart."""
    p, own = _paragraphs(600, 6), _paragraphs(601, 3)
    recs = [
        {"id": "report", "outlet": "Alpha", "headline": "R", "body": "\n".join(p)},
        {"id": "copy", "outlet": "Beta", "headline": "R", "body": "\n".join(p[:2])},
        {"id": "blog", "outlet": "Gamma", "headline": "Live", "body": "\n".join(p[:4] + own)},
    ]
    st = _run(tmp_path, recs)
    cid = st["cluster_id"]
    assert cid["copy"] == cid["report"] != cid["blog"]


def test_rescue_skips_matches_in_which_the_lone_story_is_the_container():
    from dedup.stages.cluster import containers, rescue

    label = np.array([0, 0, 2])  # 0 canonical, 1 its member, 2 alone
    left, right = np.array([1]), np.array([2])
    n_shingles = np.array([100, 40, 70])
    con = lambda s, c: np.full(len(s), 0.6)  # noqa: E731 - 60% of the lone story is in the canonical
    match = np.array([True])
    # 2 holds all of 1 (containment match, Jaccard 0.4): 2 is the container and stays alone
    cl, cr = containers(n_shingles, left, right, np.array([0.4]), 0.5)
    assert (cl.tolist(), cr.tolist()) == ([False], [True])
    assert rescue(label, left, right, match, con, 0.5, container=cl, container_right=cr).tolist() == [0, 0, 2]
    # the same pair as a resemblance match (an edited copy): rescued
    cl, cr = containers(n_shingles, left, right, np.array([0.55]), 0.5)
    assert rescue(label, left, right, match, con, 0.5, container=cl, container_right=cr).tolist() == [0, 0, 0]


def test_a_short_teaser_matching_only_a_member_is_rescued_into_its_cluster(tmp_path):
    """A teaser of under ``dedup.short_words`` words (a report's first sentence behind a wall) whose
    LSH pair is a short copy of the report, not the report's canonical (an update with a new top:
    its lede is another sentence, so the lede keys do not pair them). The teaser is a whole lede of
    that copy, and all of it is in the canonical: it joins the report's cluster, not a cluster of its own."""
    p, top = _paragraphs(700, 8, words=24), _paragraphs(701, 1, words=24)[0]
    recs = [{"id": "update", "outlet": "Alpha", "headline": "R", "body": "\n".join([top] + p)}]
    recs += [{"id": f"copy-{k}", "outlet": f"o{k}", "headline": "R", "body": "\n".join(p[:2])} for k in range(3)]
    teaser = p[0]
    assert len(teaser.split()) < DedupSettings().short_words
    recs.append({"id": "teaser", "outlet": "Beta", "headline": "R", "body": teaser})
    cid = _run(tmp_path, recs)["cluster_id"]
    assert cid["teaser"] == cid["copy-0"] == cid["update"]


def test_a_teaser_line_under_its_reports_headline_matches_only_when_whole_and_long_enough():
    """A wall teaser is often the report's first line alone, too short for the lede rule (12 shingles).
    Under the same headline, wholly contained in the report and at least ``MIN_EXACT_WORDS`` words, it
    matches; another headline, a line cut short of that floor, or figures that differ do not."""
    report = ("Shr 42 cts vs 76 cts\nNet 2.3 mln vs 3.3 mln\nRevs 72.3 mln vs 59.8 mln\n"
              "Year shr 1.48 dlrs vs 2.59 dlrs\nNet 7.6 mln vs 11.1 mln\nRevs 261.7 mln vs 224.7 mln\n"
              "Note: the prior year's net includes an extraordinary gain of 1.5 mln dlrs from the sale of the tool unit "
              "in the western region, the company said in a statement released after the close of trading today.")
    texts = [report, "Shr 42 cts vs 76 cts", "Shr 42 cts vs 76 cts", "Shr 42 cts", "Shr 42 cts vs 67 cts"]
    heads = ["Willcox Gibbs 4th qtr net", "Willcox Gibbs 4th qtr net", "Harlow Mills 4th qtr net",
             "Willcox Gibbs 4th qtr net", "Willcox Gibbs 4th qtr net"]
    _, _, _, s = _scores(texts, [(0, 1), (0, 2), (0, 3), (0, 4)], headlines=heads)
    assert s.match.tolist() == [True, False, False, False]


def test_headline_keys_pair_a_short_story_with_the_long_ones_under_its_headline():
    from dedup.stages.candidates import headline_keys

    heads = np.array([7, 7, 9, 9, 0, 5], np.uint64)
    words = np.array([200, 8, 200, 150, 5, 4], np.int64)
    keys = headline_keys(heads, words, 30)
    # headline 7 has a short story: both stories share the key; headline 9 has none; 0 is no headline
    assert keys[0] == keys[1] == 7
    assert len({int(k) for k in keys[2:]}) == 4 and not {int(k) for k in keys[2:]} & {7, 9}


def test_a_live_blog_opening_with_one_report_does_not_absorb_the_copies_of_another(tmp_path):
    """A live blog opens with report A's first two paragraphs (A's only copy in the batch is its
    full text, which the blog does not contain) and quotes report B's lede further down; B's
    copies are that lede alone, so every part the blog holds is B's and the parts alone do not show
    two topics. Its opening does: the blog begins as A does and A is disjoint from B, so the blog is
    no container of B's copies, which stay together without it."""
    a, b, own = _paragraphs(800, 6), _paragraphs(801, 6), _paragraphs(802, 2)
    recs = [{"id": "a-full", "outlet": "Alpha", "headline": "A", "body": "\n".join(a)},
            {"id": "blog", "outlet": "Gamma", "headline": "Live", "body": "\n".join(a[:2] + own + b[:1])}]
    recs += [{"id": f"b-short-{k}", "outlet": f"o{k}", "headline": "B", "body": b[0]} for k in range(2)]
    cid = _run(tmp_path, recs)["cluster_id"]
    assert cid["b-short-0"] == cid["b-short-1"] != cid["blog"]
    assert cid["a-full"] != cid["blog"]


def test_lede_agreement_needs_both_ledes_and_most_values_equal():
    lede = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [1, 2, 8, 9], [0xFFFFFFFF] * 4], np.uint32)
    a, b = np.array([0, 0, 0, 3]), np.array([1, 2, 0, 3])
    assert verify.lede_agreement(lede, a, b).tolist() == [True, False, True, False]
