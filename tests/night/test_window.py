"""The state window across settings: what its fingerprints were made under is recorded, a window
made under other settings is re-fingerprinted (both engines: the Spark side is in test_spark.py), older
states are read."""
import json
import logging

import pandas as pd
import pytest

from dedup import load_config, run

from dedup.night.state import night_dir, stale_nights
from dedup.stages.text.normalize import TEXT_VERSION
from tests.conftest import OTHER, WIRE, write_jsonl

N1, N2 = "2026-11-20", "2026-11-21"


def _run(batch, out, night, **over):
    return run(load_config(input=str(batch), output=str(out), run_date=night, overrides=over or None))


def _batches(tmp_path):
    """Night 1: the wire report and unrelated stories. Night 2: a late truncated, re-edited copy
    of the report (joins night 1's cluster only through the window) and an exact copy of one
    unrelated story."""
    n1 = write_jsonl(tmp_path / "n1.jsonl", [{"id": "wire", "body": "\n".join(WIRE)}]
                     + [{"id": f"o{i}", "body": b} for i, b in enumerate(OTHER)])
    late = WIRE[:3]
    late[1] = late[1].replace("shortly after midnight", "soon after midnight")
    n2 = write_jsonl(tmp_path / "n2.jsonl", [{"id": "late", "body": "\n".join(late)},
                                             {"id": "o0-copy", "body": OTHER[0]}])
    return n1, n2


def _stories(out, night):
    df = pd.read_parquet(out / "stories")
    df = df[df.run_date.astype(str) == night]
    return df.drop(columns=["run_date"]).sort_values("story_id").reset_index(drop=True)


@pytest.mark.parametrize("over", [{"dedup.shingle_size": 6}, {"dedup.num_perm": 128}, {"dedup.seed": 7}])
def test_a_window_made_under_other_settings_is_refingerprinted(tmp_path, over, caplog):
    n1, n2 = _batches(tmp_path)
    # Changed between nights, against the same settings from the start.
    _run(n1, tmp_path / "changed", N1)
    _run(n2, tmp_path / "changed", N2, **over)
    _run(n1, tmp_path / "same", N1, **over)
    _run(n2, tmp_path / "same", N2, **over)
    changed, same = _stories(tmp_path / "changed", N2), _stories(tmp_path / "same", N2)
    pd.testing.assert_frame_equal(changed, same)
    assert changed.set_index("story_id").loc["late", "canonical_story_id"] == "wire"
    assert "re-fingerprinted" in caplog.text
    key, value = next(iter(over.items()))
    m = json.loads((night_dir(tmp_path / "changed" / "_state", N2) / "manifest.json").read_text())
    assert m["fingerprint"][key.split(".")[1]] == value and m["fingerprint"]["text_version"] == TEXT_VERSION
    # The night written under the new settings carries the touched cluster forward re-fingerprinted:
    # the third night (same new settings) needs no re-fingerprinting of it.
    st = tmp_path / "changed" / "_state"
    assert list(stale_nights(st, [N2], m["fingerprint"])) == []
    assert list(stale_nights(st, [N1], m["fingerprint"])) == [N1]


def _drop_recorded_settings(state, night):
    mf = night_dir(state, night) / "manifest.json"
    meta = json.loads(mf.read_text())
    meta.pop("fingerprint")
    mf.write_text(json.dumps(meta))


def test_a_night_written_before_settings_were_recorded_is_spot_checked(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="dedup")
    n1, n2 = _batches(tmp_path)
    for out in ("old-same", "old-other", "ref-other"):
        _run(n1, tmp_path / out, N1, **({"dedup.shingle_size": 6} if out == "ref-other" else {}))
    for out in ("old-same", "old-other"):
        _drop_recorded_settings(tmp_path / out / "_state", N1)
    st = tmp_path / "old-same" / "_state"
    fp = json.loads((night_dir(tmp_path / "ref-other" / "_state", N1) / "manifest.json").read_text())["fingerprint"]
    assert stale_nights(st, [N1], {**fp, "shingle_size": 4}) == {}
    assert list(stale_nights(st, [N1], fp)) == [N1]
    # Same settings: read as is; other settings: re-fingerprinted, as if made under them.
    _run(n2, tmp_path / "old-same", N2)
    assert "written before fingerprint settings were recorded" in caplog.text
    assert _stories(tmp_path / "old-same", N2).set_index("story_id").loc["late", "canonical_story_id"] == "wire"
    _run(n2, tmp_path / "old-other", N2, **{"dedup.shingle_size": 6})
    _run(n2, tmp_path / "ref-other", N2, **{"dedup.shingle_size": 6})
    pd.testing.assert_frame_equal(_stories(tmp_path / "old-other", N2), _stories(tmp_path / "ref-other", N2))


def test_the_window_index_is_looked_up_and_reads_only_candidate_canonicals(tmp_path):
    n1, n2 = _batches(tmp_path)
    for out in ("indexed", "unindexed"):
        _run(n1, tmp_path / out, N1)
    # A night without an index (as the Spark engine or an older dedup writes) is indexed in memory.
    mf = night_dir(tmp_path / "unindexed" / "_state", N1) / "manifest.json"
    meta = json.loads(mf.read_text())
    meta.pop("index")
    mf.write_text(json.dumps(meta))
    runs = {out: _run(n2, tmp_path / out, N2).manifest["stages"] for out in ("indexed", "unindexed")}
    pd.testing.assert_frame_equal(_stories(tmp_path / "indexed", N2), _stories(tmp_path / "unindexed", N2))
    w = runs["indexed"]["window"]
    assert (w["mapped_nights"], w["built_nights"]) == (1, 0)
    assert (runs["unindexed"]["window"]["mapped_nights"], runs["unindexed"]["window"]["built_nights"]) == (0, 1)
    # Tonight's two stories hit the wire report and o0, not the two other unrelated stories.
    assert runs["indexed"]["state"]["clusters"] == 4 and w["candidates"] == 2


@pytest.mark.parametrize("name", ["index/band_keys.npy", "chrome_index/keys.npy"])
def test_a_corrupted_window_index_is_refused(tmp_path, name):
    """The band-key index and the chrome index of a window night are checked before use."""
    from dedup.errors import StateFailed

    n1, n2 = _batches(tmp_path)
    _run(n1, tmp_path / "out", N1)
    p = night_dir(tmp_path / "out" / "_state", N1) / name
    data = p.read_bytes()
    p.write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:]))
    with pytest.raises(StateFailed, match=name):
        _run(n2, tmp_path / "out", N2)


def test_a_window_night_is_hashed_once_then_checked_by_size_and_time(tmp_path, monkeypatch):
    """Each window night's files are hashed in full by the first night that reads them; later
    nights compare sizes and times, and a file written since (same size, other bytes) is hashed
    again and refused."""
    from dedup.errors import StateFailed
    from dedup.night import state

    n1, n2 = _batches(tmp_path)
    n3 = write_jsonl(tmp_path / "n3.jsonl", [{"id": "o1-copy", "body": OTHER[1]}])
    n4 = write_jsonl(tmp_path / "n4.jsonl", [{"id": "o2-copy", "body": OTHER[2]}])
    out = tmp_path / "out"
    st = out / "_state"
    hashed = []
    real = state._sha256
    monkeypatch.setattr(state, "_sha256", lambda p: hashed.append(p) or real(p))
    _run(n1, out, N1)
    _run(n2, out, N2)
    d1 = night_dir(st, N1)
    assert (d1 / state.VERIFIED).is_file() and any(p.parent == d1 for p in hashed)
    hashed.clear()
    _run(n3, out, "2026-11-22")
    # Night 1 was checked by its sizes and times; night 2 (read for the first time) was hashed.
    assert not [p for p in hashed if d1 in p.parents]
    assert [p for p in hashed if night_dir(st, N2) in p.parents]
    p = d1 / "canonicals.parquet"
    p.write_bytes(p.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(StateFailed, match="canonicals.parquet is missing or its checksum does not match"):
        _run(n4, out, "2026-11-23")


def test_a_damaged_page_of_an_unchanged_window_file_is_refused(tmp_path):
    """Damage that leaves a file's size and time as recorded (a media error) is caught by the
    Parquet page CRCs of what a night reads."""
    import os

    import pyarrow.parquet as pq

    from dedup.errors import StateFailed
    from dedup.night import state

    n1, n2 = _batches(tmp_path)
    out = tmp_path / "out"
    _run(n1, out, N1)
    _run(n2, out, N2)
    d1 = night_dir(out / "_state", N1)
    assert (d1 / state.VERIFIED).is_file()
    p = d1 / "outlets.parquet"
    col = pq.ParquetFile(p).metadata.row_group(0).column(1)
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    at = start + col.total_compressed_size - 1  # the last byte of the stories column's data page
    before = p.stat()
    b = bytearray(p.read_bytes())
    b[at] ^= 0xFF
    p.write_bytes(bytes(b))
    os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(StateFailed, match=r"state night 2026-11-20: outlets.parquet cannot be read as written.*rerun night") as e:
        _run(write_jsonl(tmp_path / "n3.jsonl", [{"id": "o1-copy", "body": OTHER[1]}]), out, "2026-11-22")
    assert "CRC" in str(e.value)  # the page checksum, not the size-and-time check, caught it


def _demo_nights(tmp_path, k=3):
    """The demo batch (outlets with page chrome) split into ``k`` nights, record i on night i % k."""
    from tests.conftest import ROOT

    lines = (ROOT / "data" / "demo" / "batch.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    paths = []
    for i in range(k):
        p = tmp_path / f"demo-{i}.jsonl"
        p.write_text("".join(lines[i::k]), encoding="utf-8")
        paths.append(p)
    return paths


def _all_stories(out):
    df = pd.read_parquet(out / "stories")
    return df.sort_values(["run_date", "story_id"]).reset_index(drop=True)


def test_the_window_chrome_cut_to_tonights_keys_cleans_as_the_whole_window(tmp_path, monkeypatch):
    """Each night reads only the window's chrome keys its own lines can look up, and the window's
    members only for the clusters it touches: every table comes out as from the whole window."""
    import dedup.night.local as local
    import dedup.night.state as state

    nights = ["2026-11-20", "2026-11-21", "2026-11-22"]
    batches = _demo_nights(tmp_path)
    for b, night in zip(batches, nights):
        _run(b, tmp_path / "cut", night)
    whole_load = state.load_window
    monkeypatch.setattr(local, "load_window", lambda *a, chrome_keys=None, **k: whole_load(*a, **k))
    for b, night in zip(batches, nights):
        _run(b, tmp_path / "whole", night)
    # Without a window at all, the last night cleans otherwise: the window's chrome matters.
    _run(batches[-1], tmp_path / "alone", nights[-1])
    cut, whole = _all_stories(tmp_path / "cut"), _all_stories(tmp_path / "whole")
    pd.testing.assert_frame_equal(cut, whole)
    for t in ("clusters", "rejects"):
        a = pd.read_parquet(tmp_path / "cut" / t)
        b = pd.read_parquet(tmp_path / "whole" / t)
        assert a.shape == b.shape and a.astype(str).sort_values(list(a.columns)).values.tolist() == \
            b.astype(str).sort_values(list(b.columns)).values.tolist()
    last = cut[cut.run_date.astype(str) == nights[-1]].set_index("story_id")
    alone = _all_stories(tmp_path / "alone").set_index("story_id")
    assert (last.chrome_lines_removed.sum(), last.body_clean.tolist()) != \
        (alone.chrome_lines_removed.sum(), alone.body_clean.tolist())


def test_the_chrome_query_keys_cover_every_key_learning_and_cleaning_look_up(tmp_path, monkeypatch):
    """A window model cut to the batch's learning keys, ``chrome_query_keys`` and the keys with
    report sketches is exact only if learning never asks for another key's story count: record
    every key looked up while the demo batch is learned and cleaned."""
    import numpy as np

    from dedup.night.local import chrome_query_keys
    from dedup.stages import clean
    from dedup.stages.chrome import ChromeModel
    from dedup.stages.text.lines import Lines

    import pyarrow as pa

    b = _demo_nights(tmp_path, 1)[0]
    recs = []
    for line in b.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:  # the demo carries broken records on purpose
            continue
        if isinstance(r, dict) and isinstance(r.get("body"), str):
            recs.append(r)
    outlets = pa.array([r.get("outlet") for r in recs], pa.string())
    text = clean.prepare_sourced(pa.array([r["body"] for r in recs], pa.large_string()))[0]
    lines = Lines.split(text)
    cfg = load_config(input=str(b), output=str(tmp_path / "o"))
    m = ChromeModel()
    entries = m.observe(outlets, lines)
    asked = {"count_of": [], "stories_of": []}
    for name in asked:
        orig = getattr(ChromeModel, name)
        monkeypatch.setattr(ChromeModel, name, lambda self, keys, _o=orig, _n=name: (
            asked[_n].append(np.asarray(keys)), _o(self, keys))[1])
    model = m.with_reports(m.observe_reports(outlets, lines, cfg.chrome.min_stories, entries))
    learn = np.unique(np.concatenate(asked["stories_of"]))
    c = clean.finish_lines(lines, outlets, model.for_cleaning(cfg.chrome.min_stories), cfg.chrome)
    assert int(c.chrome_lines.sum()) > 0 and len(asked["count_of"]) >= 2
    q = np.union1d(m.keys, chrome_query_keys(outlets, lines))
    assert learn.size and np.isin(learn, q).all()
    # The long lines' keys are needed: learning asks for them too.
    assert not np.isin(learn, m.keys).all()
    # Cleaning also asks for keys of lines the furniture rules cut, which no raw line gives: the
    # window keeps every key with report sketches for them (test above: tables as the whole window).
    cleaning = np.unique(np.concatenate(asked["count_of"]))
    assert not np.isin(cleaning, q).all()


def test_window_members_read_for_the_asked_clusters_equal_the_whole_merge(tmp_path):
    import pyarrow as pa

    from dedup.night.state import MEMBERS_SCHEMA, _read, _unique_members, load_window, window_nights

    nights = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    for b, night in zip(_demo_nights(tmp_path, 4), nights):
        _run(b, tmp_path / "out", night)
    st = tmp_path / "out" / "_state"
    w = load_window(st, "2026-11-24", 14)
    assert w.members is None and len(w.nights) == 4
    whole = _unique_members(pa.concat_tables([_read(night_dir(st, x) / "members.parquet", MEMBERS_SCHEMA)
                                              for x in window_nights(st, "2026-11-24", 14)]))
    ids = pa.array(sorted(set(whole.column("cluster_id").to_pylist()))[::3])
    want = whole.filter(pa.compute.is_in(whole.column("cluster_id"), value_set=ids))
    got = w.members_of(ids)
    key = [("cluster_id", "ascending"), ("story_id", "ascending")]
    assert got.num_rows == want.num_rows > len(ids)
    assert got.sort_by(key).equals(want.sort_by(key))
    assert w.members_of(pa.array([], pa.string())).num_rows == 0


def test_window_chrome_merged_night_by_night_equals_all_nights_at_once(tmp_path):
    import numpy as np

    from dedup.night.state import _read_chrome, load_window, window_nights
    from dedup.stages.chrome import ChromeModel, ReportSets

    nights = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    for b, night in zip(_demo_nights(tmp_path, 4), nights):
        _run(b, tmp_path / "out", night)
    st = tmp_path / "out" / "_state"
    whole = ChromeModel.combine([_read_chrome(night_dir(st, x)) for x in window_nights(st, "2026-11-24", 14)])
    got = load_window(st, "2026-11-24", 14).chrome
    assert whole.reports.key.size and got.reports.key.size >= whole.reports.key.size
    r = ReportSets.from_rows(got.reports.key, got.reports.q, got.reports.value)
    for a, b in ((r.key, whole.reports.key), (r.q, whole.reports.q), (r.value, whole.reports.value),
                 (got.keys, whole.keys), (got.stories, whole.stories)):
        assert np.array_equal(a, b)
    assert got.outlet_stories == whole.outlet_stories


def test_window_report_sketches_cut_to_keys_that_can_count_clean_as_the_whole(tmp_path):
    """With ``chrome_min_stories`` the window keeps the report sketches of tonight's keys and of the
    keys whose sketches may reach the count: the cleaning model is the whole window's, from fewer rows."""
    import numpy as np

    from dedup.night.state import load_window

    nights = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    for b, night in zip(_demo_nights(tmp_path, 4), nights):
        _run(b, tmp_path / "out", night)
    st = tmp_path / "out" / "_state"
    whole = load_window(st, "2026-11-24", 14).chrome
    min_stories = load_config(input=str(tmp_path), output=str(tmp_path / "out")).chrome.min_stories
    tonight = whole.reports.key[::97]  # a few keys "tonight's lines carry": kept whatever their count
    cut = load_window(st, "2026-11-24", 14, chrome_keys=np.unique(tonight), chrome_min_stories=min_stories).chrome
    assert 0 < cut.reports.key.size < whole.reports.key.size
    # (counts from the sketches, as the chrome stage makes them)
    a = whole.with_reports(whole.reports).for_cleaning(min_stories)
    b = cut.with_reports(cut.reports).for_cleaning(min_stories)
    assert a.keys.size and np.array_equal(a.keys, b.keys) and np.array_equal(a.counts, b.counts)
    for k in np.unique(tonight):  # tonight's keys keep every row of their sketches
        assert np.array_equal(whole.reports.value[whole.reports.key == k], cut.reports.value[cut.reports.key == k])


@pytest.mark.parametrize("m", [0, 3, 40, 400])
def test_index_lookup_finds_every_row_sharing_a_band_key(m):
    """Whichever side is searched in the other (fewer window keys than tonight's or more), the
    rows are exactly those with a band key among tonight's."""
    import numpy as np

    from dedup.night.state import build_index
    from dedup.stages.candidates import band_keys

    rng = np.random.default_rng(m)
    sig = rng.integers(0, 6, (100, 8), dtype=np.uint32)  # few values: many shared band keys
    ix = build_index(sig, np.zeros(101, np.int64), np.empty(0, np.uint32), bands=4, rows=2)
    tsig = rng.integers(0, 6, (m, 8), dtype=np.uint32)
    tonight = np.sort(band_keys(tsig, 4, 2) if m else np.empty((4, 0), np.uint64), axis=1)
    wk = band_keys(sig, 4, 2)
    want = np.flatnonzero(np.array([np.isin(wk[b], tonight[b]) for b in range(4)]).any(axis=0))
    got = ix.lookup(tonight)
    assert np.array_equal(got, want)
    if m >= 40:
        assert got.size


def _without_chrome_index(st, night):
    """Make a state night look written by a dedup before chrome indexes: no folder, no manifest entry."""
    import shutil

    d = night_dir(st, night)
    shutil.rmtree(d / "chrome_index")
    meta = json.loads((d / "manifest.json").read_text())
    del meta["chrome_index"]
    (d / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")


def test_window_chrome_from_the_chrome_index_equals_the_parquet_files(tmp_path, monkeypatch):
    """Each night's chrome index (.npy written beside its Parquet files) gives the same sketch bounds
    and the same cut window model as the Parquet files, also when some nights of the window have none."""
    import numpy as np

    import dedup.night.state as state
    from dedup.stages.chrome import ReportSets

    nights = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    for b, night in zip(_demo_nights(tmp_path, 4), nights):
        _run(b, tmp_path / "out", night)
    st = tmp_path / "out" / "_state"
    dirs = [night_dir(st, x) for x in nights]
    for d in dirs:  # the index holds what the Parquet files hold
        assert json.loads((d / "manifest.json").read_text())["chrome_index"]["version"] == state.CHROME_INDEX_VERSION
        whole = state._read_chrome(d)
        ix = state._chrome_index(d)
        assert np.array_equal(ix["keys"], whole.keys) and np.array_equal(ix["stories"], whole.stories)
        starts = np.asarray(ix["report_starts"])
        assert np.array_equal(np.repeat(ix["report_keys"], np.diff(starts)), whole.reports.key)
        assert np.array_equal(ix["report_q"], whole.reports.q) and np.array_equal(ix["report_values"], whole.reports.value)
        k, sizes = state._parquet_set_sizes(d)
        assert np.array_equal(k, ix["report_keys"]) and np.array_equal(sizes, ix["report_sizes"])
    min_stories = load_config(input=str(tmp_path), output=str(tmp_path / "out")).chrome.min_stories
    keys = state._read_chrome(dirs[-1]).keys[::5]  # some keys "tonight's lines" look up

    def window(**kw):
        w = state.load_window(st, "2026-11-24", 14, chrome_keys=keys, chrome_min_stories=min_stories, **kw).chrome
        return w.keys, w.stories, w.outlet_stories, ReportSets.combine([w.reports])

    indexed_bounds, indexed = state._report_bounds(dirs), window()
    unmerged = window(merge_reports=False)
    with monkeypatch.context() as m:
        m.setattr(state, "_chrome_index", lambda d: None)
        parquet_bounds, parquet = state._report_bounds(dirs), window()
    # Bounds on both sides of the threshold: some keys are cut, some kept.
    assert (indexed_bounds[1] >= min_stories).any() and (indexed_bounds[1] < min_stories).any()
    assert all(np.array_equal(a, b) for a, b in zip(indexed_bounds, parquet_bounds))
    for got in (indexed, unmerged):  # story counts, outlets, sketches (merged as the chrome stage does)
        assert got[2] == parquet[2]
        assert all(np.array_equal(a, b) for a, b in zip(got[:2], parquet[:2]))
        assert parquet[3].key.size and all(np.array_equal(getattr(got[3], f), getattr(parquet[3], f))
                                           for f in ("key", "q", "value"))
    # Nights without an index (older dedup, Spark engine) mixed with indexed ones: the same window.
    for x in nights[::2]:
        _without_chrome_index(st, x)
    mixed_bounds, mixed = state._report_bounds(dirs), window()
    assert all(np.array_equal(a, b) for a, b in zip(mixed_bounds, parquet_bounds))
    assert all(np.array_equal(getattr(mixed[3], f), getattr(parquet[3], f)) for f in ("key", "q", "value"))
    assert all(np.array_equal(a, b) for a, b in zip(mixed[:2], parquet[:2]))


def test_a_state_without_chrome_indexes_runs_the_next_night_as_with_them(tmp_path):
    """A window written before chrome indexes (no chrome_index/ on any night) is read from its
    Parquet files: the next night's tables are those of a window with indexes."""
    import shutil

    nights = ["2026-11-20", "2026-11-21", "2026-11-22"]
    batches = _demo_nights(tmp_path, 3)
    for b, night in zip(batches[:2], nights[:2]):
        _run(b, tmp_path / "new", night)
    shutil.copytree(tmp_path / "new", tmp_path / "old")
    for x in nights[:2]:
        _without_chrome_index(tmp_path / "old" / "_state", x)
    for out in ("new", "old"):
        _run(batches[2], tmp_path / out, nights[2])
    pd.testing.assert_frame_equal(_all_stories(tmp_path / "new"), _all_stories(tmp_path / "old"))
    # The night written tonight carries its own index again.
    assert (night_dir(tmp_path / "old" / "_state", nights[2]) / "chrome_index" / "report_sizes.npy").is_file()


def test_sorted_union_is_union1d_of_sorted_unique_parts():
    # The read stage merges tonight's learning keys with each chunk's query keys (already sorted
    # and unique) instead of sorting them all again.
    import numpy as np

    from dedup.night.local import sorted_union

    rng = np.random.default_rng(5)
    base = np.unique(rng.integers(0, 2**64 - 1, 5000, dtype=np.uint64))
    parts = [base] + [np.unique(np.concatenate([rng.choice(base, 300), rng.integers(0, 2**64 - 1, 300, dtype=np.uint64)]))
                      for _ in range(4)] + [np.empty(0, np.uint64)]
    got = sorted_union(parts)
    assert got.dtype == np.uint64 and np.array_equal(got, np.union1d(base, np.concatenate(parts[1:])))
    assert sorted_union([np.empty(0, np.uint64)]).size == 0 and sorted_union([]).dtype == np.uint64


def test_spill_model_reads_back_the_same_model(tmp_path):
    # Tonight's chrome model waits on disk from the chrome stage to the write stage: what comes
    # back is the model, field for field, and the work files are gone.
    import numpy as np

    from dedup.night.local import spill_model
    from dedup.stages.chrome import ChromeModel, ReportSets

    rng = np.random.default_rng(6)
    keys = np.unique(rng.integers(0, 2**64 - 1, 1000, dtype=np.uint64))
    reports = ReportSets(np.repeat(keys[:50], 3), np.tile(np.arange(3, dtype=np.uint8), 50),
                         rng.integers(0, 2**63 - 1, 150, dtype=np.uint64))
    model = ChromeModel(keys, rng.integers(1, 9, keys.size), {"wire.example": 7, "": 2}, reports,
                        rng.integers(0, 5, keys.size))
    read = spill_model(model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["chrome-model-keys.npy", "chrome-model-stories.npy", "chrome-model-counts.npy",
         "chrome-model-reports-key.npy", "chrome-model-reports-q.npy", "chrome-model-reports-value.npy"])
    back = read()
    for name in ("keys", "stories", "counts"):
        a, b = getattr(model, name), getattr(back, name)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for name in ("key", "q", "value"):
        a, b = getattr(model.reports, name), getattr(back.reports, name)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert back.outlet_stories == model.outlet_stories
    assert not list(tmp_path.iterdir())


def test_the_index_written_from_tonights_fingerprints_equals_one_from_the_canonicals_file(tmp_path):
    """The write stage indexes the night from the fingerprint arrays it holds; the files are those
    an index built from canonicals.parquet's own columns would be."""
    import pyarrow.parquet as pq

    from dedup.night.state import write_index

    n1, _ = _batches(tmp_path)
    _run(n1, tmp_path / "out", N1)
    d = night_dir(tmp_path / "out" / "_state", N1)
    ix = json.loads((d / "manifest.json").read_text())["index"]
    (tmp_path / "again").mkdir()
    again = write_index(tmp_path / "again", pq.read_table(d / "canonicals.parquet"), ix["fingerprint"], ix["bands"],
                        ix["rows"])
    assert again["sha256"] == ix["sha256"]
