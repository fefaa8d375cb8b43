"""dedup.stages.text.repair: entities, mojibake, U+FFFD and invisible characters, for every body
(issue 13 item 2), and probe 07 end to end."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.stages import clean
from dedup.stages.text.repair import needs_repair, repair_rows, repair_text
from tests.conftest import shared_path

FR = "L'autorité portuaire a annoncé la fermeture de deux postes à quai après la tempête."


@pytest.mark.parametrize("broken", [
    "L&#39;autorit&eacute; portuaire a annonc&eacute; la fermeture de deux postes &agrave; quai apr&egrave;s la "
    "temp&ecirc;te.",
    "L&amp;#39;autorit&amp;eacute; portuaire a annonc&amp;eacute; la fermeture de deux postes &amp;agrave; quai "
    "apr&amp;egrave;s la temp&amp;ecirc;te.",
    FR.encode("utf-8").decode("latin-1"),
    FR.encode("utf-8").decode("cp1252"),
    FR.replace("autorité", "autori\u2060té").replace("fermeture", "ferme\u200bture").replace("quai", "qu\u00adai"),
])
def test_broken_forms_are_repaired_to_the_text(broken):
    assert broken != FR and needs_repair(pa.array([broken]))[0]
    assert repair_text(broken) == FR


def test_replacement_character_runs_are_dropped():
    assert repair_text("Le port \ufffd\ufffd\ufffd a rouvert.") == "Le port  a rouvert."
    assert "\ufffd" not in repair_text("caf\ufffd")


@pytest.mark.parametrize("clean_text", [
    FR, "Plain ASCII wire copy, 5% up & rising.", "中文，全角ＡＢ 报道。", "Он сказал «да».", "“Quoted” — dash",
    "déjà vu naïve Zürich Ærø", "a < b and AT&T",
])
def test_clean_text_is_left_alone(clean_text):
    fixed, changed = repair_rows(pa.array([clean_text], pa.large_string()))
    assert fixed.to_pylist() == [clean_text] and len(changed) == 0


def test_only_flagged_rows_change_and_types_are_kept():
    arr = pa.array([FR, "autorit&eacute;", None, "ok"], pa.string())
    fixed, changed = repair_rows(arr)
    assert fixed.type == pa.string() and changed.tolist() == [1]
    assert fixed.to_pylist() == [FR, "autorité", None, "ok"]


def test_the_pre_check_needs_an_ampersand_or_a_non_ascii_character():
    # prepare_sourced hands repair_rows the bodies text_flags marks FLAG_AMP or FLAG_NONASCII only.
    import numpy as np

    from dedup.stages.text.normalize import FLAG_AMP, FLAG_NONASCII, flags_of

    texts = ["L&#39;autorit&eacute;", FR.encode("utf-8").decode("cp1252"), "plain ascii & no entity", FR,
             "ferme\u200bture", "plain ascii text", "x\ufffdy", None]
    arr = pa.array(texts, pa.large_string())
    flags = flags_of(arr)
    maybe = np.flatnonzero(flags & (FLAG_AMP | FLAG_NONASCII))
    assert maybe.tolist() == [0, 1, 2, 3, 4, 6]
    assert not needs_repair(arr)[np.setdiff1d(np.arange(len(texts)), maybe)].any()
    full, rows = repair_rows(arr)
    got, got_rows = repair_rows(arr, maybe)
    assert got.equals(full) and got_rows.tolist() == rows.tolist() == [0, 1, 4, 6]
    assert repair_rows(arr, np.empty(0, np.int64))[0].equals(arr)


def test_prepare_repairs_plain_bodies_and_fragments():
    bodies = pa.array(["L&#39;autorit&eacute; a dit.", "<p>L&#39;autorit&eacute; a dit.</p>",
                       "autoritÃ© a dit.", "word\u2060joined"], pa.large_string())
    text, is_html, source = clean.prepare_sourced(bodies)
    assert text.to_pylist() == ["L'autorité a dit.", "L'autorité a dit.", "autorité a dit.", "wordjoined"]
    assert is_html.tolist() == [False, True, False, False]
    assert source.to_pylist() == ["text", "html:fragment", "text", "text"]


def test_probe_07_entity_encoded_copies_form_one_cluster(cli, tmp_path):
    src = shared_path("probes", "07-entity-encoded-text", "entity-encoded.jsonl")
    res = cli("run", "--input", src, "--output", tmp_path / "out", "--run-date", "2026-11-30")
    assert res.exit_code == 0, res.output
    s = pq.read_table(tmp_path / "out" / "stories").to_pandas()
    assert len(s) == 5 and s.cluster_id.nunique() == 1
    assert not s.body_clean.str.contains("&[a-z#0-9]+;|<", regex=True).any()
    assert s.body_clean.str.contains("autorité").all()
    assert set(s.body_source) >= {"text", "html:fragment"}
