"""The language column: py3langid's shipped model, scored in compiled code (issue 14)."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from bench.synth.languages import REPORTS
from dedup.config import load_config
from dedup.night.run import run
from dedup.stages.language import detect
from tests.conftest import OTHER, WIRE, write_jsonl

PARAGRAPHS = [(lang, p) for lang, reports in REPORTS.items() for _, _, paras in reports for p in paras]


def test_labels_equal_the_package_classifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    texts = [p for _, p in PARAGRAPHS] + WIRE + OTHER + ["SHR 47 CTS VS 31 CTS NET 4,757,000 VS 2,466,000", "12 34 56", ""]
    got = detect(pa.array(texts), 300).to_pylist()
    want = [ident.classify(t[:300])[0] if t.strip(" 0123456789") else None for t in texts]
    assert got[:-1] == want[:-1] and got[-1] is None


@pytest.mark.parametrize("lang", sorted(REPORTS))
def test_each_language_of_the_corpus_is_recognized(lang):
    paras = [p for code, p in PARAGRAPHS if code == lang]
    got = detect(pa.array(paras), 300).to_pylist()
    # "wuu" (Wu Chinese) for one Mandarin paragraph is the model's own confusion: at most one miss
    assert sum(g == lang for g in got) >= len(paras) - 1


def test_stories_carry_the_language_column(tmp_path):
    recs = [{"id": "en", "outlet": "a", "headline": "h", "body": "\n".join(WIRE[:2]), "published_at": "2026-11-30T08:00:00Z"}]
    for lang in ("zh", "ar", "ru"):
        recs.append({"id": lang, "outlet": "b", "headline": "h", "body": "\n".join(REPORTS[lang][1][2]),
                     "published_at": "2026-11-30T08:00:00Z"})
    out = tmp_path / "out"
    run(load_config(input=str(write_jsonl(tmp_path / "in.jsonl", recs)), output=str(out), run_date="2026-11-30"))
    s = pd.read_parquet(out / "stories").set_index("story_id")
    assert s["language"].to_dict() == {"en": "en", "zh": "zh", "ar": "ar", "ru": "ru"}
    off = tmp_path / "off"
    run(load_config(input=str(tmp_path / "in.jsonl"), output=str(off), run_date="2026-11-30",
                    overrides={"language.detect": False}))
    assert pd.read_parquet(off / "stories")["language"].isna().all()


def test_labels_restrict_what_can_be_detected():
    texts = pa.array([p for code, p in PARAGRAPHS if code in ("fr", "es")])
    assert set(detect(texts, 300).to_pylist()) == {"fr", "es"}
    assert set(detect(texts, 300, ["fr", "de"]).to_pylist()) <= {"fr", "de"}
    assert detect(texts, 300, ["fr", "de"]).to_pylist().count("fr") >= len(texts) // 2
    with pytest.raises(ValueError, match="xx"):
        detect(texts, 300, ["fr", "xx"])


def test_repeated_samples_get_their_own_label():
    # Each distinct sample is scored once (detect's distinct): repeats, a repeat differing only
    # past the sample and an all-capitals copy get the label they get alone.
    texts = [p for _, p in PARAGRAPHS[:12]]
    batch = texts + texts[::-1] + [texts[0] + " tail beyond the sample " * 30, texts[0].upper(), None, ""]
    got = detect(pa.array(batch), 300).to_pylist()
    alone = [detect(pa.array([t], pa.string()), 300).to_pylist()[0] for t in batch]
    assert got == alone
    assert got[:len(texts)] == got[len(texts):2 * len(texts)][::-1]


@pytest.fixture
def fresh_model(monkeypatch, tmp_path):
    """``_load`` with its per-process memo cleared and dedup's cache folders under ``tmp_path``."""
    import dedup.stages.language as language

    for var in ("CACHE_DIRECTORY", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    language._load.cache_clear()
    yield language
    language._load.cache_clear()


def _same_model(a, b) -> bool:
    import numpy as np

    from dedup.stages.language import _FIELDS

    return all(np.array_equal(getattr(a, f), getattr(b, f)) and getattr(a, f).dtype == getattr(b, f).dtype
               for f in _FIELDS)


def _unpacked():
    from pathlib import Path

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from dedup.stages.language import _unpack

    return _unpack(Path(MODEL_DIR) / MODEL_FILE)


def test_the_unpacked_model_is_kept_and_read_back_unchanged(fresh_model, tmp_path):
    first = fresh_model._load()
    kept = list((tmp_path / "home" / ".cache" / "dedup" / "language").glob("py3langid-*.npz"))
    assert len(kept) == 1
    fresh_model._load.cache_clear()
    again = fresh_model._load()
    assert _same_model(first, _unpacked()) and _same_model(again, first)
    assert fresh_model._read_cached(kept[0]) is not None  # the second load read the kept copy


def test_a_damaged_kept_model_is_unpacked_again_and_replaced(fresh_model, tmp_path):
    fresh_model._load()
    kept = next((tmp_path / "home" / ".cache" / "dedup" / "language").glob("py3langid-*.npz"))
    kept.write_bytes(kept.read_bytes()[:1000])  # a run killed while another wrote it, a full disk
    assert fresh_model._read_cached(kept) is None
    fresh_model._load.cache_clear()
    assert _same_model(fresh_model._load(), _unpacked())
    assert fresh_model._read_cached(kept) is not None


def test_without_a_writable_cache_folder_the_model_still_loads(fresh_model, monkeypatch):
    monkeypatch.setattr("dedup._startup.choose_cache_dir", lambda env, name: (None, "none writable"))
    assert fresh_model._cache_path(__import__("pathlib").Path(__file__)) is None
    assert _same_model(fresh_model._load(), _unpacked())


def test_installs_of_one_model_share_one_kept_file_and_earlier_formats_go(fresh_model, tmp_path):
    import shutil
    from pathlib import Path

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    shipped = Path(MODEL_DIR) / MODEL_FILE
    # Another virtualenv: the same model file, written later.
    other = tmp_path / "venv2" / MODEL_FILE
    other.parent.mkdir(parents=True)
    shutil.copyfile(shipped, other)
    assert fresh_model._cache_path(other) == fresh_model._cache_path(shipped)
    folder = fresh_model._cache_path(shipped).parent
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / "py3langid-0.4.0-4586720-1796280349176817657-v1.npz"  # the mtime-keyed name of format 1
    stale.write_bytes(b"97 MB once")
    fresh_model._load()
    assert [p.name for p in folder.glob("py3langid-*.npz")] == [fresh_model._cache_path(shipped).name]


def test_a_label_does_not_depend_on_the_block_its_sample_is_scored_in(monkeypatch):
    """Samples are scored a block at a time (``_classify``); blocks end at BLOCK samples or BLOCK_BYTES.
    Run as plain Python with blocks of 3 samples or 1,200 bytes, every label equals the compiled
    kernel's with its default blocks."""
    import pyarrow.compute as pc

    import dedup.stages.language as language
    from dedup.stages.text.normalize import string_buffers

    texts = [p for _, p in PARAGRAPHS][:40] + ["x" * 5000, "", "12 34", "日本語のテキストです。" * 40]
    sample = pc.utf8_lower(pc.utf8_slice_codeunits(pa.array(texts), 0, 2000))
    m = language.model()
    args = (*string_buffers(sample), m.moves, m.start, m.ptc, m.pc)
    compiled = language._classify(*args)
    monkeypatch.setattr(language, "BLOCK", 3)
    monkeypatch.setattr(language, "BLOCK_BYTES", 1200)
    assert (language._classify.py_func(*args) == compiled).all()
    assert (compiled[:40] >= 0).all() and compiled[41] == -1  # an empty sample has no feature
