"""dedup/stages/tables.py: canonical_reason says why *this* story was chosen, with its own figures."""
import datetime as dt

import pyarrow as pa

from dedup.stages.tables import REASON_INPUTS, canonical_reasons, next_members

T0 = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.timezone.utc)


def _row(cid, sid, words, shingles, pub, nxt=None, night=None):
    n = nxt or (None, None, None, None)
    return {"cluster_id": cid, "night": night, "story_id": sid, "words": words, "shingles": shingles,
            "published_at": pub, "next_story_id": n[0], "next_words": n[1], "next_shingles": n[2],
            "next_published_at": n[3]}


def _reasons(rows):
    return canonical_reasons(pa.Table.from_pylist(rows, schema=REASON_INPUTS)).to_pylist()


def test_each_case_names_its_own_figures():
    later = T0 + dt.timedelta(hours=2)
    got = _reasons([
        _row("c1", "a", 412, 400, T0, ("b", 389, 380, T0)),           # more text
        _row("c2", "a", 300, 290, T0, ("b", 300, 290, later)),        # tie, published first
        _row("c3", "a", 300, 290, None, ("b", 300, 290, None)),       # tie, no times: smallest id
        _row("c4", "x", 150, 140, T0),                                 # alone
        _row("c5", "z", 200, 190, T0, night="2026-11-18"),             # earlier night's cluster
        _row("c6", "m", 200, 190, T0, ("n", 260, 250, T0)),           # a member ranks higher (joined later)
        _row("c7", "a", 300, 290, T0, ("b", 310, 200, T0)),           # more distinct text, fewer words
    ])
    assert got[0] == "most complete copy: 412 words, 23 more than the next member"
    assert got[1] == "as complete as the next member (300 words) and published first (2026-11-20 08:30 UTC)"
    assert got[2] == ("as complete as the next member (300 words) and published at the same time; "
                      "smallest story id")
    assert got[3] == "only story in its cluster (150 words after cleaning)"
    assert "earlier night" in got[4] and "2026-11-18" in got[4]
    assert got[5].startswith("canonical since the cluster opened (200 words); member n (260 words)")
    assert got[6].startswith("most complete copy: 300 words with 290 distinct shingles, 90 more")
    assert len(set(got)) == len(got)


def test_next_member_is_the_best_ranked_other_member():
    t = pa.table({
        "cluster_id": ["c", "c", "c", "c", "d"],
        "story_id": ["k", "p", "q", "r", "s"],
        "words": [500, 300, 300, 310, 10],
        "shingles": [480, 290, 290, 280, 9],
        "published_at": pa.array([T0, T0 + dt.timedelta(hours=1), T0, None, T0], pa.timestamp("us", tz="UTC")),
        "is_canonical": [True, False, False, False, True],
    })
    n = next_members(t).to_pylist()
    # q ties p on shingles and was published earlier; r has more words but fewer distinct shingles
    assert [(r["cluster_id"], r["next_story_id"]) for r in n] == [("c", "q")]
