"""The rule that picks which record of a repeated id a night keeps (``dedup.stages.versions``)."""
import pytest

from dedup.stages.versions import choose, is_version
from tests.conftest import OTHER, WIRE

K = 4
CORRECTION = "This story has been corrected to show that the crew numbered twenty-two, not twenty."
V1 = "\n".join(WIRE[:3])
V2 = "\n".join(WIRE[:4])
V3 = "\n".join(WIRE + [CORRECTION])
CHROME = ["Northline News", "Local | Canada | World | Business", "Share: Facebook | X | Email", "© 2026 Northline Inc."]


def _choose(rows):
    """rows: (published or None, text) in input order -> (kept index, reasons); records named r1, r2, ..."""
    return choose([r[0] for r in rows], [r[1] for r in rows], [f"f:{i + 1}" for i in range(len(rows))], K)


def test_versions_of_one_report_share_text_other_stories_do_not():
    assert is_version(V1, V3, K) and is_version(V3, V2, K)
    assert is_version(V1, V1, K)
    assert not is_version(V1, "\n".join(OTHER), K)
    # Two stories of one outlet share its page chrome: short chrome lines do not make them versions.
    assert not is_version("\n".join(CHROME[:3] + WIRE[:2] + CHROME[3:]), "\n".join(CHROME[:1] + OTHER[:1] + CHROME[3:]), K)
    # A new top paragraph and a cut last one: still a version.
    assert is_version("\n".join(WIRE), "\n".join([OTHER[0]] + WIRE[:4]), K)
    assert is_version("", V1, K) and not is_version(V1, "", K)  # a first record without text says nothing


def test_the_latest_published_version_is_kept_whatever_the_input_order():
    versions = [(600, V1), (800, V2), (1000, V3)]
    for order in ([2, 0, 1], [0, 1, 2], [1, 2, 0]):
        kept, why = _choose([versions[k] for k in order])
        assert kept == order.index(2)
        if kept == 0:
            assert why == [None, "duplicate id: first seen at f:1", "duplicate id: first seen at f:1"]
        else:
            assert why[kept] is None
            assert set(why) - {None} == {f"duplicate id: superseded by the latest version at f:{kept + 1}"}


def test_a_correction_that_kept_its_date_wins_by_coming_later():
    assert _choose([(500, V2), (500, V3)])[0] == 1
    # ... and a later plain repeat of the original does not bring the original back
    assert _choose([(500, V2), (500, V3), (500, V2)])[0] == 1


def test_identical_records_keep_the_first():
    kept, why = _choose([(100, V1), (100, V1), (None, V1)])
    assert kept == 0 and why == [None, "duplicate id: first seen at f:1", "duplicate id: first seen at f:1"]


def test_a_dated_version_is_newer_than_an_undated_one():
    assert _choose([(None, V1), (50, V3)])[0] == 1
    assert _choose([(50, V1), (None, V3)])[0] == 0


def test_another_story_under_a_reused_id_never_replaces_the_first():
    # Published later, but not a version of the first record: the first stays.
    kept, why = _choose([(100, V1), (900, "\n".join(OTHER))])
    assert kept == 0 and why == [None, "duplicate id: first seen at f:1"]
    # With a real update after it, the update wins and the other story still names the first.
    kept, why = _choose([(100, V1), (900, "\n".join(OTHER)), (300, V3)])
    assert kept == 2
    assert why == ["duplicate id: superseded by the latest version at f:3", "duplicate id: first seen at f:1", None]


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="one published"):
        choose([1], ["a", "b"], ["f:1", "f:2"], K)
    with pytest.raises(ValueError):
        choose([], [], [], K)
