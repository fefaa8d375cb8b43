"""Text-loss (dedup.stages.text_loss): a line removed from one copy of a report that another outlet's
copy of the same cluster kept; counted in the night's manifest."""
import json

import numpy as np
import pyarrow as pa

from dedup import load_config, run
from dedup.stages import text_loss

from tests.conftest import write_jsonl
from tests.stages.test_cluster_rules import _paragraphs


def _lists(rows):
    return pa.array(rows, pa.large_list(pa.uint32()))


def _table(cluster, outlet, kept, removed):
    return pa.table({"cluster": pa.array(cluster), "outlet": pa.array(outlet, pa.string()),
                     "story_id": pa.array([f"s{i}" for i in range(len(cluster))]),
                     "kept_keys": _lists(kept), "removed_keys": _lists(removed)})


def test_removed_line_counts_only_when_another_outlet_of_the_cluster_kept_it():
    t = _table(
        cluster=[0, 0, 0, 1, 1],
        outlet=["a", "b", "a", "c", None],
        kept=[[1, 2], [2, 7], [7], [9], [5]],
        # s0 lost 7: b kept it (same cluster, other outlet) -> counts
        # s1 lost 1: a kept it in s0 -> counts; s1 lost 8: nobody kept it
        # s2 lost 2: b (s1) kept it -> counts, although a (s0) kept it too
        # s3 lost 5: kept in cluster 1 by the no-outlet story -> counts
        # s4 lost 3: kept nowhere
        removed=[[7], [1, 8], [2], [5], [3]],
    )
    r = text_loss.count(t)
    assert (r.removed, r.found_kept) == (6, 4)
    assert r.examples == ["s0", "s1", "s2", "s3"]
    assert abs(r.share - 4 / 6) < 1e-12


def test_same_outlet_or_other_cluster_is_not_text_loss():
    t = _table(cluster=[0, 0, 1], outlet=["a", "a", "b"], kept=[[1], [], [2]], removed=[[], [1, 2], []])
    # s1 lost 1 (kept only by its own outlet) and 2 (kept only in another cluster).
    r = text_loss.count(t)
    assert (r.removed, r.found_kept, r.examples) == (2, 0, [])


def test_split_over_calls_gives_the_same_figures():
    rng = np.random.default_rng(3)
    n = 400
    cluster = rng.integers(0, 60, n)
    outlet = [f"o{x}" for x in rng.integers(0, 5, n)]
    kept = [sorted(set(rng.integers(0, 40, 6).tolist())) for _ in range(n)]
    removed = [sorted(set(rng.integers(0, 40, 2).tolist())) for _ in range(n)]
    whole = text_loss.count(_table(cluster, outlet, kept, removed))
    assert whole.found_kept > 0
    parts = text_loss.TextLoss()
    for c in (cluster % 3 == 0, cluster % 3 == 1, cluster % 3 == 2):  # whole clusters in each call
        idx = np.flatnonzero(c)
        sub = _table(cluster[idx], [outlet[i] for i in idx], [kept[i] for i in idx], [removed[i] for i in idx])
        sub = sub.set_column(2, "story_id", pa.array([f"s{i}" for i in idx]))
        parts = parts.add(text_loss.count(sub))
    assert (parts.removed, parts.found_kept, parts.examples) == (whole.removed, whole.found_kept, whole.examples)


def test_manifest_reports_wire_text_learned_as_one_outlets_chrome(tmp_path):
    """Alpha runs a wire sentence under every story it carries (so it is learned as Alpha's chrome);
    Beta's copy of Alpha's first report keeps it as story text: the night's manifest says so."""
    wire_line = "Officials in the capital said the measures would stay in place until the spring review."
    reports = [_paragraphs(40 + i, 3) for i in range(6)]
    recs = [{"id": f"alpha-{i}", "outlet": "Alpha", "headline": f"Report {i}", "body": "\n".join(p + [wire_line])}
            for i, p in enumerate(reports)]
    recs.append({"id": "beta-0", "outlet": "Beta", "headline": "Report 0", "body": "\n".join(reports[0] + [wire_line])})
    out = tmp_path / "out"
    run(load_config(input=str(write_jsonl(tmp_path / "b.jsonl", recs)), output=str(out), run_date="2026-11-20"))
    m = json.loads((out / "runs" / "run_date=2026-11-20" / "manifest.json").read_text())
    tl = m["text_loss"]
    assert tl["removed_lines"] >= 6 and tl["removed_lines_kept_elsewhere"] == 1
    assert tl["examples"] == ["alpha-0"] and tl["text_loss"] > 0


def test_a_removed_copy_of_the_records_own_headline_is_no_text_loss():
    """The page's own headline repeated in its body goes to the ``headline`` column; a live blog
    that quotes it as an entry title keeps it: neither is text lost. Another removed line is."""
    from dedup.config import ChromeSettings
    from dedup.stages.clean import finish, prepare

    head = "Harbour Board Names New Chair"
    body = [head, "Font size: A- A+", "The harbour board of Lanmere named a new chair on Friday, a former ferry captain."]
    text, _ = prepare(pa.array(["\n".join(body)] * 2, pa.large_string()))
    c = finish(text, pa.array(["a", "b"], pa.string()), None, ChromeSettings(),
               headlines=pa.array([head, "Other"], pa.string()))
    assert c.body_clean.to_pylist()[0] == body[2]
    removed = [len(x) for x in c.removed_keys.to_pylist()]
    assert removed == [1, 2]  # story 0: the font widget only; story 1: the widget and the line
