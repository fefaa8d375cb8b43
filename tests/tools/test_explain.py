"""dedup explain / dedup show: figures recomputed from a written night agree with what the run wrote,
and the verdicts follow the rules (thresholds, star clustering)."""
import json

import pandas as pd
import pytest

from dedup import load_config, run
from dedup.tools.explain import explain, mark_shared, removed_lines, show

from tests.conftest import DEMO, OTHER, ROOT, WIRE, write_jsonl

EXTRA = ("Shipping analysts said the incident was unlikely to move freight rates, since the port handles a small share "
         "of the region's grain exports and neighbouring terminals have spare capacity this season.")


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """The demo batch as night 2026-11-26, and a small star-clustering batch as night 2026-11-27.

    The star batch: A has paragraphs W0..W4, B is W3 W4 (wholly inside A), C is W3 W4 + four
    other paragraphs (longer than A). A~B and B~C match, A~C do not. C is taken first (most
    complete) and A opens its own cluster; B, wholly inside both, joins the one it matches best:
    A, the tighter container (higher Jaccard). C and B match but stay apart.
    """
    tmp = tmp_path_factory.mktemp("explain")
    out = tmp / "out"
    run(load_config(ROOT / "configs" / "demo.yaml", input=str(DEMO), output=str(out)))
    t = "2026-11-27T0{}:00:00Z"
    demo = pd.read_parquet(out / "stories")
    late_copy = demo[demo.is_canonical].sort_values("words").iloc[-1]  # a canonical of night 1, rerun next day
    batch = write_jsonl(tmp / "star.jsonl", [
        {"id": "late-copy", "outlet": "Delta Wire Digest", "headline": "Late copy", "published_at": t.format(4),
         "body": late_copy.body_clean},
        {"id": "star-a", "outlet": "Alpha Post", "headline": "Grain carrier fire under control", "published_at": t.format(1),
         "body": "\n".join(WIRE)},
        {"id": "star-b", "outlet": "Beta Daily", "headline": "Port work to resume", "published_at": t.format(2),
         "body": "\n".join(WIRE[3:])},
        {"id": "star-c", "outlet": "Gamma News", "headline": "Port round-up", "published_at": t.format(3),
         "body": "\n".join(WIRE[3:] + OTHER + [EXTRA])},
    ])
    run(load_config(None, input=str(batch), output=str(out), run_date="2026-11-27"))
    stories = pd.read_parquet(out / "stories")
    return out, stories


def _night(stories, night):
    return stories[stories.run_date.astype(str) == night]


def test_canonical_and_member_figures_equal_the_run(nights):
    out, stories = nights
    s = _night(stories, "2026-11-26")
    checked = 0
    for m in s[~s.is_canonical].itertuples():
        e = explain(out, m.canonical_story_id, m.story_id)
        f = e.figures
        assert e.same_cluster
        if f.match and f.candidates:
            assert "because it matches the canonical itself" in e.verdict
        else:  # joined through another member
            assert "rescue pass" in e.verdict and any("rescued through member" in r for r in e.reasons)
        # the run's similarity/containment columns are exactly these figures
        assert f.jaccard_exact == pytest.approx(m.similarity, abs=1e-4)
        assert f.containment == pytest.approx(m.containment, abs=1e-4)
        # the MinHash estimate is within 4 standard errors of the exact value (128 permutations)
        assert abs(f.jaccard_estimated - f.jaccard_exact) <= 4 * 0.5 / 128 ** 0.5
        assert "canonical" in e.verdict and m.canonical_story_id in e.verdict
        checked += 1
    assert checked >= 10


def test_two_members_are_joined_through_their_canonical(nights):
    out, stories = nights
    s = _night(stories, "2026-11-26")
    big = s.groupby("cluster_id").filter(lambda g: len(g) >= 3)
    members = big[~big.is_canonical].groupby("cluster_id").head(2)
    cid = members.cluster_id.value_counts().index[0]
    a, b = members[members.cluster_id == cid].story_id.tolist()[:2]
    e = explain(out, a, b)
    canon = s[(s.cluster_id == cid) & s.is_canonical].story_id.item()
    assert e.same_cluster
    assert f"canonical {canon}" in e.verdict and "not to each other" in e.verdict
    for sid in (a, b):
        assert f"{sid} joined {canon} because it matches the canonical itself" in e.verdict or (
            f"{sid} does not match {canon}" in e.verdict or f"{sid} matches {canon} by the rules" in e.verdict)


def test_different_stories_are_not_joined_and_the_rule_says_why(nights):
    out, stories = nights
    s = _night(stories, "2026-11-26")
    canon = s[s.is_canonical].sort_values("story_id")
    a, b = canon.story_id.iloc[0], canon.story_id.iloc[1]
    e = explain(out, a, b)
    assert not e.same_cluster and not e.figures.match
    assert e.verdict.startswith("Not joined: they are not the same story by the rules")
    assert "dedup.threshold 0.5" in e.figures.rule
    assert e.figures.jaccard_exact < 0.5 and e.figures.containment < 0.8


def test_star_clustering_keeps_a_matching_pair_apart(nights):
    out, stories = nights
    s = _night(stories, "2026-11-27").set_index("story_id")
    # the run did what the fixture says
    assert s.loc["star-b", "canonical_story_id"] == "star-a"
    assert s.loc["star-c", "canonical_story_id"] == "star-c"
    e = explain(out, "star-c", "star-b")
    f = e.figures
    assert f.match and f.candidates and not e.same_cluster
    assert f.containment == pytest.approx(1.0)  # B is wholly inside C
    assert "although they match" in e.verdict
    assert any("star-b matches both canonicals and joined the one it matches best, star-a" in r for r in e.reasons)
    assert any("star-c vs the other canonical star-a: no match" in r for r in e.reasons)


def test_a_later_nights_copy_joins_the_earlier_cluster(nights, cli):
    out, stories = nights
    late = _night(stories, "2026-11-27").set_index("story_id").loc["late-copy"]
    canon = late.canonical_story_id
    assert _night(stories, "2026-11-26").set_index("story_id").loc[canon, "is_canonical"]
    e = explain(out, canon, "late-copy")
    assert e.same_cluster and e.a["night"] == "2026-11-26" and e.b["night"] == "2026-11-27"
    assert f"late-copy joined {canon} (a cluster from 2026-11-26, kept in the state window)" in e.verdict
    r = cli("show", "--story", "late-copy", "--output", out, "--json")
    d = json.loads(r.output)
    assert d["night"] == "2026-11-27"
    assert {(m["story_id"], m["night"]) for m in d["members"]} >= {(canon, "2026-11-26"), ("late-copy", "2026-11-27")}
    assert sorted(m["story_id"] for m in d["members"]) == sorted(d["cluster"]["story_ids"])
    assert d["members"][0]["story_id"] == canon


def test_stories_of_different_nights(nights):
    out, _ = nights
    e = explain(out, "kt-88319", "star-a")
    assert e.a["night"] == "2026-11-26" and e.b["night"] == "2026-11-27"
    assert not e.same_cluster
    assert e.verdict.startswith("Not joined: a story of a later night joins an earlier cluster only by matching")
    assert "kt-88319 was written on 2026-11-26, star-a on 2026-11-27 (1 nights later)" in e.reasons


def test_removed_lines_come_back_from_the_input_record(nights):
    out, stories = nights
    s = _night(stories, "2026-11-26")
    row = s[s.outlet == "Kestrel Times"].sort_values("chrome_lines_removed").iloc[-1]
    manifest = json.loads((out / "runs" / "run_date=2026-11-26" / "manifest.json").read_text())
    rem = removed_lines(row.to_dict() | {"night": "2026-11-26"}, manifest)
    assert rem.available, rem.note
    assert "Sign In | Register | e-Paper" in rem.removed
    assert len(rem.removed) >= row.chrome_lines_removed
    body_lines = set(row.body_clean.split("\n"))
    assert not body_lines & set(rem.removed)
    assert rem.rules == []  # no state given: no rules


def test_each_removed_line_says_which_rule_removed_it(nights):
    out, stories = nights
    s = _night(stories, "2026-11-26")
    row = s[s.outlet == "Kestrel Times"].sort_values("chrome_lines_removed").iloc[-1]
    manifest = json.loads((out / "runs" / "run_date=2026-11-26" / "manifest.json").read_text())
    rem = removed_lines(row.to_dict() | {"night": "2026-11-26"}, manifest, out / "_state")
    why = dict(zip(rem.removed, rem.rules))
    assert len(rem.rules) == len(rem.removed) and all(rem.rules), why
    learned = why["Sign In | Register | e-Paper"]
    # The evidence is the run's own: the number of different reports the night's model counted.
    n = int(learned.split("(")[1].split()[0])
    assert learned.startswith("learned chrome of this outlet") and n >= load_config(
        ROOT / "configs" / "demo.yaml").chrome.min_stories
    assert why["Next Story"].startswith("generic chrome pattern")


def test_mark_shared_flags_only_common_word_runs():
    a = "The harbour fire was put out on Monday. Nobody was hurt."
    b = "Officials said the harbour fire was put out on Monday morning."
    ma, mb = mark_shared(a, b, k=4)
    flags_a = {w: f for w, f in ma[0]}
    assert flags_a["harbour"] and flags_a["Monday."] and flags_a["put"]
    assert not flags_a["Nobody"] and not flags_a["hurt."]
    assert not dict(mb[0])["Officials"] and not dict(mb[0])["morning."]


def test_explain_cli_text_json_and_html(nights, cli, tmp_path):
    out, _ = nights
    r = cli("explain", "star-c", "star-b", "--output", out, "--no-color", "--width", "100")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Verdict: Not joined although they match")
    assert "Jaccard exact" in r.output and "estimated (MinHash)" in r.output
    assert "[[" in r.output and "]]" in r.output and "\x1b[" not in r.output
    assert "candidates yes" in r.output
    assert max(len(line) for line in r.output.split("Cleaned texts")[1].splitlines()) <= 100
    page = tmp_path / "pair.html"
    r = cli("explain", "star-c", "star-b", "--output", out, "--json", "--html", page)
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["figures"]["match"] is True and d["same_cluster"] is False
    assert d["a"]["story_id"] == "star-c" and d["b"]["canonical_story_id"] == "star-a"
    assert 0 < d["b"]["shared_word_share"] <= 1
    assert "<mark>" in page.read_text()
    r = cli("explain", "star-c", "star-b", "--output", out, "--color", "--width", "100")
    assert "\x1b[32m" in r.output


def test_explain_cli_usage_errors_exit_2(nights, cli, tmp_path):
    out, _ = nights
    assert cli("explain", "star-a", "no-such-story", "--output", out).exit_code == 2
    assert cli("explain", "star-a", "star-a", "--output", out).exit_code == 2
    assert cli("explain", "star-a", "star-b", "--output", out, "--run-date", "2026-11-26").exit_code == 2
    assert cli("explain", "star-a", "star-b", "--output", tmp_path / "nothing").exit_code == 2


def test_show_cluster_and_story(nights, cli):
    out, stories = nights
    s = _night(stories, "2026-11-26")
    clusters = pd.read_parquet(out / "clusters")
    c = clusters[clusters.run_date.astype(str) == "2026-11-26"].sort_values(["size", "cluster_id"]).iloc[-1]
    r = cli("show", c.cluster_id, "--output", out, "--width", "160", "--run-date", "2026-11-26")
    assert r.exit_code == 0, r.output
    assert f"Canonical {c.canonical_story_id}" in r.output
    members = s[s.cluster_id == c.cluster_id]
    for m in members.itertuples():
        line = next(ln for ln in r.output.splitlines() if ln.startswith(m.story_id + " "))
        assert m.outlet in line and m.relation in line and f"{m.similarity:.3f}" in line
    assert f"Headline variants ({members.headline.nunique()})" in r.output
    member = members[~members.is_canonical].story_id.iloc[0]
    r2 = cli("show", "--story", member, "--output", out, "--json")
    assert r2.exit_code == 0, r2.output
    d = json.loads(r2.output)
    assert d["cluster"]["cluster_id"] == c.cluster_id
    assert sorted(m["story_id"] for m in d["members"]) == sorted(c.story_ids)
    assert d["members"][0]["is_canonical"] and d["members"][0]["story_id"] == c.canonical_story_id
    assert sum(len(v["outlets"]) for v in d["headline_variants"]) == c["size"]


def test_show_usage_errors_exit_2(nights, cli):
    out, _ = nights
    assert cli("show", "--output", out).exit_code == 2
    assert cli("show", "c0000000000000000", "--output", out).exit_code == 2
    assert cli("show", "--story", "nope", "--output", out).exit_code == 2


def test_show_library_orders_canonical_first(nights):
    out, _ = nights
    v = show(out, story_id="star-b")
    assert [m["story_id"] for m in v.members] == ["star-a", "star-b"]


def _rejected_ids(out):
    """(story_id, reason) of rejected records whose id is in no night's stories."""
    rej = pd.read_parquet(out / "rejects")
    stories = set(pd.read_parquet(out / "stories", columns=["story_id"]).story_id)
    rej = rej[rej.story_id.notna() & ~rej.story_id.isin(stories)]
    return list(zip(rej.story_id, rej.reason, rej.run_date.astype(str)))


def test_a_rejected_story_says_why_in_one_line_exit_2(nights, cli):
    out, _ = nights
    rejected = _rejected_ids(out)
    assert len(rejected) >= 2  # the demo batch has a record without body and one with an empty body
    for sid, reason, night in rejected:
        for args in (("show", "--story", sid), ("explain", sid, "star-a")):
            r = cli(*args, "--output", out)
            assert r.exit_code == 2, r.output
            line = r.output.strip()
            assert "\n" not in line
            assert line.startswith(f"dedup: error: story '{sid}' was rejected on night {night}: {reason}")
            assert "not in any night" not in line
    # the night given is the night looked in: another night did not reject it
    sid = rejected[0][0]
    r = cli("show", "--story", sid, "--output", out, "--run-date", "2026-11-27")
    assert r.exit_code == 2 and "is not in night 2026-11-27" in r.output
    # an id nobody sent is still "not in any night"
    r = cli("show", "--story", "never-sent", "--output", out)
    assert r.exit_code == 2 and "is not in any night" in r.output


def test_tools_take_the_output_folder_from_config(nights, cli, tmp_path):
    out, stories = nights
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"input:\n  path: {tmp_path / 'feed.jsonl'}\noutput:\n  path: {out}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(f"input:\n  path: x.jsonl\noutput:\n  path: {tmp_path / 'nothing'}\n", encoding="utf-8")

    by_output = cli("show", "--story", "star-b", "--output", out, "--json")
    by_config = cli("show", "--story", "star-b", "--config", cfg, "--json")
    assert by_config.exit_code == 0, by_config.output
    assert json.loads(by_config.output) == json.loads(by_output.output)
    r = cli("explain", "star-a", "star-b", "--config", cfg, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["b"]["canonical_story_id"] == "star-a"
    r = cli("report", "-c", cfg, "--run-date", "2026-11-27")
    assert r.exit_code == 0 and r.output.strip() == str(out / "runs" / "run_date=2026-11-27" / "report.html")
    # --output wins over the config's output.path, both ways
    assert cli("show", "--story", "star-b", "--config", elsewhere, "--output", out).exit_code == 0
    assert cli("show", "--story", "star-b", "--config", cfg, "--output", tmp_path / "nothing").exit_code == 2
    assert cli("report", "--config", elsewhere).exit_code == 2
    # a config that cannot be read: one line, exit 2
    r = cli("show", "--story", "star-b", "--config", tmp_path / "missing.yaml")
    assert r.exit_code == 2 and "config file not found" in r.output
