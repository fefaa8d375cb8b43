"""A story id delivered more than once in a night: the latest version is kept (``dedup.stages.versions``)."""
import json
import random

import pandas as pd
import pytest

from dedup import load_config, run
from tests.conftest import OTHER, WIRE, shared_path, write_jsonl

CORRECTION = "This story has been corrected to show that the crew numbered twenty-two, not twenty."


def _rec(sid, outlet, body, published=None, headline="Grain carrier fire put out"):
    r = {"id": sid, "outlet": outlet, "headline": headline, "url": f"https://{outlet}.example/{sid}", "body": body}
    if published:
        r["published_at"] = published
    return r


def _filler(n: int, seed: int) -> list[dict]:
    """``n`` stories of their own (random words of the test paragraphs), to spread a batch over chunks."""
    rng = random.Random(seed)
    words = " ".join(WIRE + OTHER).split()
    return [_rec(f"filler-{seed}-{i}", "zeta", " ".join(rng.choice(words) for _ in range(60)) + ".",
                 "2026-11-29T03:00:00Z", f"Filler {i}") for i in range(n)]


def versions_batch(spread: int = 0):
    """(records in input order, {id: the record each id should keep}, {record: reject reason}) where
    records are numbered from 1 as in the file. ``spread``: that many stories of their own between
    two of the records of interest (chunks of 100 then split the versions of an id apart)."""
    v1 = _rec("fire-1", "alpha", "\n".join(WIRE[:3]), "2026-11-29T06:00:00Z")
    v2 = _rec("fire-1", "alpha", "\n".join(WIRE[:4]), "2026-11-29T08:00:00Z", "Grain carrier fire put out (update)")
    v3 = _rec("fire-1", "alpha", "\n".join(WIRE + [CORRECTION]), "2026-11-29T10:00:00Z",
              "Grain carrier fire put out (corrected)")
    copy = _rec("fire-beta", "beta", "\n".join(WIRE[1:]), "2026-11-29T07:00:00Z")
    library = _rec("lib-1", "gamma", "\n".join(OTHER), "2026-11-29T05:00:00Z", "Library hours")
    quiet = _rec("lib-2", "delta", "\n".join(OTHER[:2]), "2026-11-29T05:00:00Z", "Library hours")
    quiet_fixed = dict(quiet, body="\n".join(OTHER[:2]) + "\nThe library's new hours start on the first Monday of the month.")
    dated = _rec("lib-3", "epsilon", "\n".join(OTHER[1:]), "2026-11-29T04:00:00Z", "Library")
    undated = _rec("lib-3", "epsilon", "\n".join(OTHER[1:]) + "\nA later line without a date.", None, "Library")
    # A CMS that reused an id for another story, published later: not a version of the first.
    reused = _rec("fire-beta", "beta", "\n".join(OTHER[::-1]), "2026-11-29T11:00:00Z", "Library opening hours")
    # newest version first; a plain repeat (the same object twice); a correction that kept its
    # date; a re-send without a date; a reused id
    order = [v3, library, v1, copy, quiet, dated, library, v2, quiet_fixed, undated, reused]
    recs, line = [], []
    for k, r in enumerate(order):
        recs += _filler(spread, k) if k else []
        recs.append(r)
        line.append(len(recs))
    at = dict(zip(range(len(order)), line))
    keep = {"fire-1": at[0], "lib-1": at[1], "fire-beta": at[3], "lib-3": at[5], "lib-2": at[8]}
    reasons = {
        at[2]: f"duplicate id: first seen at feed.jsonl:{at[0]}",  # v1 and v2: v3 is kept and came first
        at[7]: f"duplicate id: first seen at feed.jsonl:{at[0]}",
        at[6]: f"duplicate id: first seen at feed.jsonl:{at[1]}",  # the library repeat
        at[4]: f"duplicate id: superseded by the latest version at feed.jsonl:{at[8]}",  # the quiet correction
        at[9]: f"duplicate id: first seen at feed.jsonl:{at[5]}",  # the undated re-send
        at[10]: f"duplicate id: first seen at feed.jsonl:{at[3]}",  # another story under a reused id
    }
    return recs, keep, reasons


@pytest.mark.parametrize("spread", [0, 60])
def test_the_latest_version_of_an_id_is_kept_and_the_others_name_it(tmp_path, spread):
    recs, keep, want = versions_batch(spread)
    batch = write_jsonl(tmp_path / "feed.jsonl", recs)
    res = run(load_config(input=str(batch), output=str(tmp_path / "out"), run_date="2026-11-30",
                          overrides={"run.chunk_size": 100, "input.max_reject_ratio": 0.8}))
    stories = pd.read_parquet(tmp_path / "out" / "stories")
    rejects = pd.read_parquet(tmp_path / "out" / "rejects")
    # Every record in exactly one table; one story per id, the version the rule picks.
    assert len(stories) + len(rejects) == len(recs) and stories.story_id.is_unique
    assert {k: v for k, v in zip(stories.story_id, stories.record) if not k.startswith("filler")} == keep
    by_id = stories.set_index("story_id")
    fire = by_id.loc["fire-1"]
    assert CORRECTION in fire.body_clean and fire.headline.endswith("(corrected)")
    assert fire.cluster_id == by_id.loc["fire-beta"].cluster_id
    assert "The library's new hours" in by_id.loc["lib-2"].body_clean
    assert dict(zip(rejects.record, rejects.reason)) == want
    # Each reject keeps its own text: v1's body is there to compare.
    assert rejects.set_index("record").loc[min(want), "raw"].startswith(WIRE[0][:60])
    assert res.counts["accepted"] == len(recs) - 6 and res.counts["rejected"] == 6
    assert res.manifest["reject_reasons"] == {"duplicate id": 6}
    assert res.manifest["stages"]["clean"]["emptied"] == 0
    if spread:
        assert res.manifest["stages"]["clean"]["stories"] == len(recs) - 6


def test_versions_and_an_earlier_night(tmp_path):
    """An id an earlier night wrote stays that night's (first night wins); tonight's versions of it
    are all rejected, the latest as delivered again, the others as its older versions."""
    recs, _, _ = versions_batch()
    first = write_jsonl(tmp_path / "n1.jsonl", [recs[2]])  # v1 of fire-1 on the first night
    run(load_config(input=str(first), output=str(tmp_path / "out"), run_date="2026-11-29"))
    second = write_jsonl(tmp_path / "n2.jsonl", recs)
    res = run(load_config(input=str(second), output=str(tmp_path / "out"), run_date="2026-11-30",
                          overrides={"input.max_reject_ratio": 0.8}))
    stories = pd.read_parquet(tmp_path / "out" / "stories")
    assert stories.story_id.is_unique and len(stories) == 5
    tonight = pd.read_parquet(tmp_path / "out" / "rejects")
    fire = tonight[tonight.story_id == "fire-1"].set_index("record").reason.to_dict()
    assert fire == {1: "duplicate id: first seen at night 2026-11-29",
                    3: "duplicate id: first seen at n2.jsonl:1", 8: "duplicate id: first seen at n2.jsonl:1"}
    assert res.manifest["reject_reasons"] == {"duplicate id": 6, "duplicate id of an earlier night": 1}


def test_probe_same_guid_updated_body_keeps_the_corrected_version(tmp_path):
    """../shared probe 13: three versions of one id, oldest first; the user expects one story,
    ideally the latest, clustered with the other outlet's copy."""
    src = shared_path("probes", "13-same-guid-updated-body", "versions-same-id.jsonl")
    recs = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines() if x.strip()]
    ids = [r["id"] for r in recs]
    sid = max(set(ids), key=ids.count)
    newest = max((r for r in recs if r["id"] == sid), key=lambda r: r["published_at"])
    run(load_config(input=str(src), output=str(tmp_path / "out"), run_date="2026-11-30"))
    stories = pd.read_parquet(tmp_path / "out" / "stories")
    rejects = pd.read_parquet(tmp_path / "out" / "rejects")
    assert len(stories) + len(rejects) == len(recs) and stories.story_id.is_unique
    kept = stories.set_index("story_id").loc[sid]
    assert kept.headline == newest["headline"] and kept.record == recs.index(newest) + 1
    assert newest["body"].split("\n")[-1].strip() in kept.body_clean
    assert (stories.cluster_id == kept.cluster_id).sum() >= 2
    assert set(rejects[rejects.story_id == sid].reason) == {
        f"duplicate id: superseded by the latest version at {src.name}:{recs.index(newest) + 1}"}


def test_every_id_keeps_what_choose_picks(tmp_path):
    """Random nights of repeated ids (identical re-sends, versions, reused ids, dates or none, over
    chunks): the night keeps, for every id, the record ``versions.choose`` picks from its records in
    input order, and rejects the others with its reasons."""
    from dedup.stages.versions import choose

    texts = ["\n".join(WIRE[:3]), "\n".join(WIRE), "\n".join(WIRE + [CORRECTION]), "\n".join(OTHER),
             "\n".join(OTHER[:2])]
    dates = [None, "2026-11-29T06:00:00Z", "2026-11-29T08:00:00Z"]
    for seed in range(4):
        rng = random.Random(seed)
        recs = _filler(150, 100 + seed)
        for k in range(40):
            sid = f"s{rng.randrange(8)}"
            recs.insert(rng.randrange(len(recs) + 1), _rec(sid, "alpha", rng.choice(texts), rng.choice(dates)))
        # A scraper stamping its fetch time: one text, dates that differ (the latest kept, the first of equals).
        at = sorted(rng.sample(range(len(recs) + 1), 3))
        for k, when in zip(reversed(at), reversed(dates[1:] + dates[2:])):
            recs.insert(k, _rec("stamped", "beta", texts[3], when))
        batch = write_jsonl(tmp_path / f"feed{seed}.jsonl", recs)
        out = tmp_path / f"out{seed}"
        run(load_config(input=str(batch), output=str(out), run_date="2026-11-30",
                        overrides={"run.chunk_size": 100, "input.max_reject_ratio": 1.0}))
        stories = pd.read_parquet(out / "stories")
        rejects = pd.read_parquet(out / "rejects")
        assert len(stories) + len(rejects) == len(recs) and stories.story_id.is_unique
        got = dict(zip(rejects.record, rejects.reason))
        kept = dict(zip(stories.story_id, stories.record))
        for sid in {r["id"] for r in recs if not r["id"].startswith("filler")}:
            lines = [i + 1 for i, r in enumerate(recs) if r["id"] == sid]
            pub = [None if recs[i - 1].get("published_at") is None
                   else pd.Timestamp(recs[i - 1]["published_at"]).value for i in lines]
            k, why = choose(pub, [recs[i - 1]["body"] for i in lines], [f"{batch.name}:{i}" for i in lines], 4)
            assert kept[sid] == lines[k], (seed, sid)
            assert {i: got[i] for i in lines if i != lines[k]} == {i: w for i, w in zip(lines, why) if w}, (seed, sid)
