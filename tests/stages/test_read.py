import gzip
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dedup.config import load_config
from dedup.stages.read import InputError, ReadStats, discover, read_chunks
from tests.conftest import WIRE, write_jsonl


def _read(tmp_path, path, **inp):
    s = load_config(overrides={"input": {"path": str(path), **inp}, "output": {"path": str(tmp_path / "out")}})
    stats = ReadStats()
    recs, rejs = [], []
    for r, j in read_chunks(discover(s.input), s.input, 2000, 3, stats):
        recs.append(r.to_pandas())
        rejs.append(j.to_pandas())
    return pd.concat(recs), pd.concat(rejs), stats


def test_bad_records_are_rejected_with_reasons(tmp_path):
    lines = [
        {"id": "ok1", "body": WIRE[0], "published_at": "2026-11-26T06:00:00+05:30"},
        '{"id": "trunc", "body": "cut',
        "[1, 2, 3]",
        {"id": None, "body": "x"},
        {"id": 3.5, "body": "x"},
        {"id": "nobody"},
        {"id": "num", "body": 17},
        {"id": "empty", "body": "   "},
        {"id": "ok1", "body": "again"},
        {"id": 42, "body": WIRE[1], "published_at": "not a date"},
        {"id": "big", "body": "x" * 3000},
    ]
    p = write_jsonl(tmp_path / "b.jsonl", lines)
    recs, rejs, stats = _read(tmp_path, p, max_body_bytes=2000)
    assert recs.story_id.tolist() == ["ok1", "42"]
    reasons = dict(zip(rejs.record, rejs.reason))
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "record is not an object (got list)"
    assert reasons[4].startswith("missing id")
    assert reasons[5].startswith("id is not a string")
    assert reasons[6].startswith("missing body")
    assert reasons[7].startswith("body is not a string")
    assert reasons[8] == "empty body"
    assert reasons[9].startswith("duplicate id: first seen at b.jsonl:1")
    assert reasons[11].startswith("body too large")
    assert stats.records == 11 and stats.accepted == 2 and stats.rejected == 9
    assert stats.bad_dates == 1
    assert recs.published_at.iloc[0] == pd.Timestamp("2026-11-26T00:30:00Z")
    assert pd.isna(recs.published_at.iloc[1])


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    data = "".join(json.dumps({"id": f"s{i}", "body": WIRE[i % 5]}) + "\n" for i in range(200)).encode()
    blob = gzip.compress(data)
    p = tmp_path / "b.jsonl.gz"
    p.write_bytes(blob[: len(blob) // 2])
    recs, rejs, _ = _read(tmp_path, p)
    assert 0 < len(recs) < 200
    assert any("ends early" in r for r in rejs.reason)


def test_invalid_utf8_is_decoded_not_lost(tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_bytes(b'{"id": "a", "body": "Caf\xe9 owners in Tallvik said trade was up."}\n')
    recs, rejs, stats = _read(tmp_path, p)
    assert recs.body.iloc[0].startswith("Café owners")
    assert stats.reencoded == 1 and rejs.empty


def test_csv_parquet_and_field_mapping(tmp_path):
    df = pd.DataFrame({"guid": ["a", "b"], "text": [WIRE[0], WIRE[1]], "source": ["Post", "Ledger"]})
    df.to_csv(tmp_path / "b.csv", index=False)
    df.to_parquet(tmp_path / "b.parquet")
    for name in ("b.csv", "b.parquet"):
        recs, rejs, _ = _read(tmp_path, tmp_path / name, fields={"id": "guid", "body": "text", "outlet": "source"})
        assert recs.story_id.tolist() == ["a", "b"] and recs.outlet.tolist() == ["Post", "Ledger"]
        assert rejs.empty


def test_text_folder_like_a_scraper_saves_it(tmp_path):
    d = tmp_path / "Orrvale Post"
    d.mkdir()
    (d / "0001.txt").write_text("Harbour fire contained\n\n" + WIRE[0], encoding="utf-8")
    (d / "0002.txt").write_text("Library hours\n" + WIRE[1], encoding="utf-8")
    recs, _, _ = _read(tmp_path, d)
    assert recs.story_id.tolist() == ["0001", "0002"]
    assert recs.headline.tolist() == ["Harbour fire contained", "Library hours"]
    assert set(recs.outlet) == {"Orrvale Post"}


def test_missing_input_is_an_input_error(tmp_path):
    s = load_config(overrides={"input": {"path": str(tmp_path / "nope.jsonl")}, "output": {"path": str(tmp_path)}})
    with pytest.raises(InputError, match="input.path not found"):
        discover(s.input)


def test_jsonl_lines_blank_crlf_and_no_final_newline(tmp_path):
    recs = [json.dumps({"id": f"s{i}", "body": WIRE[i % 5]}) for i in range(7)]
    raw = (recs[0] + "\r\n\r\n" + recs[1] + "\n   \n" + recs[2] + "\n\t\n" + recs[3] + "\n" + recs[4] + "\n"
           + recs[5] + "\r\n" + recs[6])
    p = tmp_path / "b.jsonl"
    p.write_bytes(raw.encode())
    for size in (1, 3, 100):
        s = load_config(overrides={"input": {"path": str(p)}, "output": {"path": str(tmp_path / "out")}})
        got = [r for r, _ in read_chunks(discover(s.input), s.input, 2000, size, ReadStats())]
        t = pa.concat_tables(got)
        assert t.column("story_id").to_pylist() == [f"s{i}" for i in range(7)]
        assert t.column("record").to_pylist() == [1, 3, 5, 7, 8, 9, 10]


def test_duplicate_ids_across_chunks_and_formats(tmp_path):
    lines = [{"id": f"s{i % 4}", "body": WIRE[i % 5]} for i in range(10)] + ["not json", {"id": " s1 ", "body": "x y z"}]
    p = write_jsonl(tmp_path / "b.jsonl", lines)
    recs, rejs, stats = _read(tmp_path, p)
    assert recs.story_id.tolist() == ["s0", "s1", "s2", "s3"]
    dup = rejs[rejs.reason.str.startswith("duplicate id")]
    assert dup.record.tolist() == [5, 6, 7, 8, 9, 10, 12]
    assert dup.reason.tolist()[0] == "duplicate id: first seen at b.jsonl:1"
    assert dup.reason.tolist()[-1] == "duplicate id: first seen at b.jsonl:2"
    assert rejs.record.tolist() == sorted(rejs.record.tolist())  # rejects in input order


def test_seen_ids_compare_whole_ids():
    from dedup.stages.read import SeenIds

    seen = SeenIds()
    ids = [f"id-{i}" for i in range(5000)]
    first = seen.add(pa.array(ids), np.ones(5000, bool), ["a.jsonl"], np.arange(1, 5001))
    assert (first < 0).all() and len(seen) == 5000
    again = seen.add(pa.array(["id-7", "id-70000", "", "id-4999"]), np.array([True, True, True, False]), ["b.jsonl"],
                     np.array([1, 2, 3, 4]))
    assert again.tolist() == [7, -1, -1, -1]
    assert seen.where(7) == "a.jsonl:8"


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "csv"])
def test_a_byte_order_mark_is_not_data(tmp_path, fmt):
    # Excel's "CSV UTF-8" and Notepad's JSONL start with EF BB BF: the first record and the first
    # column name must read as without it (probe 14).
    rows = [{"id": f"b{i}", "body": WIRE[i], "outlet": "o"} for i in range(3)]
    if fmt == "csv":
        text = "id,body,outlet\r\n" + "".join(f'{r["id"]},"{r["body"]}",o\r\n' for r in rows)
    else:
        text = "".join(json.dumps(r) + "\r\n" for r in rows)
    data = b"\xef\xbb\xbf" + text.encode("utf-8")
    p = tmp_path / f"feed.{fmt}"
    p.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    recs, rejs, stats = _read(tmp_path, p)
    assert recs.story_id.tolist() == ["b0", "b1", "b2"] and rejs.empty
    assert recs.body.tolist() == WIRE[:3]


# --------------------------------------------------------------------------- feed dates (issue 13 item 5)

_PROBE_09_UTC = {
    "rfc-minus0400": "2016-04-27 23:25:14", "rfc-plus0200": "2022-10-02 10:11:52", "rfc-plus0530": "2016-09-02 05:12:00",
    "rfc-wrong-weekday": "2016-09-02 05:12:00", "rfc-gmt": "2015-09-17 21:52:02", "rfc-z": "2014-06-19 17:00:00",
    "rfc-est": "2013-10-08 23:30:00", "rfc-edt": "2013-10-08 22:30:00", "rfc-pst": "2013-10-09 02:30:00",
    "rfc-ist": None, "month-first": "2020-05-25 04:45:26", "italian-names": None,
    "epoch-seconds-int": "2016-09-02 05:12:00", "epoch-seconds-str": "2016-09-02 05:12:00",
    "epoch-millis-int": "2016-09-02 05:12:00", "iso-offset": "2016-09-02 05:12:00",
}


def _utc(v):
    return None if v is None else pd.Timestamp(v, tz="UTC")


def test_probe_09_feed_dates(tmp_path):
    from tests.conftest import shared_path

    recs, _, stats = _read(tmp_path, shared_path("probes", "09-feed-date-formats", "feed-dates.jsonl"))
    got = {k: (None if pd.isna(v) else v) for k, v in zip(recs.story_id, recs.published_at)}
    assert got == {k: _utc(v) for k, v in _PROBE_09_UTC.items()}
    assert stats.bad_dates == 2  # the ambiguous IST and the Italian names: null and counted


def test_feed_date_forms_and_configured_zones(tmp_path):
    dates = ["Tue, 08 Oct 2013 18:30:00 CET", "08 Oct 2013 18:30 (JST)", 1381253400.0, "1381253400000",
             "Sep 02 2016 10:42 PM IST", "Mon, 02 Sep 2016 10:42:00 XYZ", 12345, "99999999999999999"]
    lines = [{"id": f"d{i}", "body": WIRE[0], "published_at": d} for i, d in enumerate(dates)]
    p = write_jsonl(tmp_path / "d.jsonl", lines)
    expect = ["2013-10-08 17:30:00", "2013-10-08 09:30:00", "2013-10-08 17:30:00", "2013-10-08 17:30:00", None,
              None, None, None]
    recs, _, stats = _read(tmp_path, p)
    assert [None if pd.isna(v) else v for v in recs.published_at] == [_utc(v) for v in expect]
    assert stats.bad_dates == 4  # IST unconfigured, an unknown zone, numbers outside 1990-2100: never guessed
    expect[4] = "2016-09-02 17:12:00"
    recs, _, stats = _read(tmp_path, p, time_zones={"ist": "+05:30"})
    assert [None if pd.isna(v) else v for v in recs.published_at] == [_utc(v) for v in expect]
    assert stats.bad_dates == 3


@pytest.mark.parametrize("bad", [{"IST": "5:30"}, {"IST": "+25:00"}, {"India Time": "+05:30"}])
def test_time_zones_must_be_offsets(tmp_path, bad):
    with pytest.raises(Exception, match="time zone"):
        load_config(overrides={"input": {"path": str(tmp_path), "time_zones": bad}, "output": {"path": str(tmp_path)}})


def test_typed_parquet_timestamps_are_carried_over(tmp_path):
    import pyarrow.parquet as pq

    aware = pa.array([pd.Timestamp("2016-09-02 10:42", tz="Asia/Kolkata"), None], pa.timestamp("ms", tz="Asia/Kolkata"))
    naive = pa.array([pd.Timestamp("2016-09-02 05:12"), pd.Timestamp("2020-01-01")], pa.timestamp("ns"))
    for i, col in enumerate((aware, naive)):
        t = pa.table({"id": [f"a{i}", f"b{i}"], "body": [WIRE[0], WIRE[1]], "published_at": col})
        pq.write_table(t, tmp_path / f"t{i}.parquet")
    recs, _, stats = _read(tmp_path, tmp_path / "t*.parquet")
    assert [None if pd.isna(v) else v for v in recs.published_at] == [
        _utc("2016-09-02 05:12"), None, _utc("2016-09-02 05:12"), _utc("2020-01-01")]
    assert stats.bad_dates == 0


# --------------------------------------------------------------------------- nested fields (issue 13 item 6)

def test_dotted_fields_read_nested_objects_on_both_jsonl_paths(tmp_path):
    good = [{"url": f"u{i}", "content": WIRE[i], "source": {"id": None, "name": f"Outlet {i}", "meta": {"lang": "en"}},
             "publishedAt": "2026-11-26T06:00:00Z"} for i in range(3)]
    good.append({"url": "u3", "content": WIRE[3], "source": "not an object"})
    good.append({"url": "u4", "content": WIRE[4], "source.name": "Literal key"})
    fields = {"id": "url", "body": "content", "outlet": "source.name", "headline": "source.meta.lang",
              "published_at": "publishedAt"}
    fast = write_jsonl(tmp_path / "fast.jsonl", good[:3])
    slow = write_jsonl(tmp_path / "slow.jsonl", good[3:] + ["{broken"])  # a bad line: the per-line path
    for p, ids in ((fast, ["u0", "u1", "u2"]), (slow, ["u3", "u4"])):
        recs, _, _ = _read(tmp_path, p, fields=fields)
        assert recs.story_id.tolist() == ids
        want = {"u0": "Outlet 0", "u1": "Outlet 1", "u2": "Outlet 2", "u3": None, "u4": "Literal key"}
        assert [None if pd.isna(o) else o for o in recs.outlet] == [want[i] for i in ids]
    recs, _, _ = _read(tmp_path, fast, fields=fields)
    assert recs.headline.tolist() == ["en"] * 3


def test_dotted_fields_read_parquet_structs(tmp_path):
    import pyarrow.parquet as pq

    t = pa.table({"id": ["p1", "p2"], "body": [WIRE[0], WIRE[1]],
                  "source": pa.array([{"name": "Harbour Herald"}, None], pa.struct([("name", pa.string())]))})
    pq.write_table(t, tmp_path / "n.parquet")
    recs, _, _ = _read(tmp_path, tmp_path / "n.parquet", fields={"outlet": "source.name"})
    assert [None if pd.isna(o) else o for o in recs.outlet] == ["Harbour Herald", None]


def test_probe_11_newsapi_outlet_is_read(cli, tmp_path, monkeypatch):
    from tests.conftest import shared_path

    folder = shared_path("probes", "11-nested-or-missing-outlet")
    monkeypatch.chdir(folder)
    out = tmp_path / "out"
    res = cli("run", "--config", "config.yaml", "--output", out, "--run-date", "2026-11-30")
    assert res.exit_code == 0, res.output
    s = pd.read_parquet(out / "stories")
    assert s.outlet.notna().all() and s.outlet.nunique() == 4 and s.published_at.notna().all()


# --------------------------------------------------------------------------- huge lines (issue 13 item 8)

def test_a_huge_line_is_skipped_while_streaming(tmp_path):
    """A small .jsonl.gz holding a 40 MB line: rejected as too large without being held whole
    (the peak stays far below the line's size), and the records around it are read as usual."""

    from dedup.stages.read import line_limit

    p = tmp_path / "huge.jsonl.gz"
    with gzip.open(p, "wt", encoding="utf-8", compresslevel=1) as fh:
        fh.write(json.dumps({"id": "before", "body": WIRE[0]}) + "\n")
        fh.write('{"id": "huge", "body": "' + "a" * (40 << 20) + '"}\n')  # longer than a read piece
        fh.write('{"id": "big", "body": "' + "c" * (2 << 20) + '"}\n')  # inside one piece
        fh.write(json.dumps({"id": "after", "body": WIRE[1]}) + "\n")
        fh.write('{"id": "tail", "body": "' + "b" * (3 << 20))  # the file also ends inside a long line
    assert p.stat().st_size < 1 << 20 and line_limit(100_000) < 30 << 20
    recs, rejs, stats = _read(tmp_path, p, max_body_bytes=100_000)
    assert recs.story_id.tolist() == ["before", "after"] and recs.record.tolist() == [1, 4]
    assert sorted(rejs.record.tolist()) == [2, 3, 5] and stats.records == 5
    assert rejs.reason.str.startswith("body too large").all()
    assert rejs.raw.iloc[0].startswith('{"id": "huge"') and len(rejs.raw.iloc[0]) <= 2000
    # Peak memory of reading it in a fresh process: a whole line would add 30 MB (and its copies).
    grown_kb = _read_growth_kb(p)
    # Reading normal 32 MB pieces costs about 110 MB here; holding the line whole cost 370 MB.
    assert grown_kb < 160 * 1024, grown_kb


def _read_growth_kb(path) -> int:
    """Peak memory (KB, ru_maxrss) that reading ``path`` (max_body_bytes 100,000) adds in a fresh process."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import resource,sys; sys.path.insert(0, sys.argv[2]);"
            "from dedup.config import load_config; from dedup.stages.read import *;"
            "s = load_config(overrides={'input': {'path': sys.argv[1], 'max_body_bytes': 100000},"
            " 'output': {'path': '/tmp/x'}});"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
            "[None for _ in read_chunks(discover(s.input), s.input, 2000, 1000, ReadStats())];"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)")
    return int(subprocess.run([sys.executable, "-c", code, str(path), str(ROOT)], capture_output=True, text=True,
                              check=True).stdout.split()[-1])


def test_a_huge_csv_field_is_skipped_while_streaming(tmp_path):
    """A CSV whose one quoted field is 50 MB (over many lines, with doubled quotes): that record
    gets one "too large" reject with its record number, the rows around it are stories, and the
    peak memory of reading it stays far below the field's size."""

    from dedup.stages.read import record_limit

    p = tmp_path / "huge.csv"
    line = 'A "quoted" word and a comma, then more text to fill the line.\n'.replace('"', '""')
    with open(p, "w", encoding="utf-8", newline="") as fh:
        fh.write("id,body,outlet\r\n")
        fh.write(f'before,"{WIRE[0]}",o\r\n')
        fh.write('huge,"')
        for _ in range((50 << 20) // len(line)):
            fh.write(line)
        fh.write('",o\r\n')
        fh.write(f'after,"{WIRE[1]}",o\r\n')
        fh.write("flat," + "x" * (3 << 20) + ",o\r\n")  # unquoted, on one line
        fh.write(f'last,"{WIRE[2]}",o\r\n')
    assert p.stat().st_size > 50 << 20 and record_limit(100_000) < 2 << 20
    recs, rejs, stats = _read(tmp_path, p, max_body_bytes=100_000)
    assert recs.story_id.tolist() == ["before", "after", "last"] and recs.record.tolist() == [2, 4, 6]
    assert recs.body.tolist() == WIRE[:3]
    assert rejs.record.tolist() == [3, 5] and stats.records == 5
    assert rejs.reason.str.startswith("body too large").all() and rejs.raw.iloc[0].startswith('huge,"')
    grown_kb = _read_growth_kb(p)
    # The field held whole costs over 250 MB (its bytes, its text, the csv module's 4-byte characters).
    assert grown_kb < 40 * 1024, grown_kb


def test_a_csv_body_over_the_csv_modules_own_cap_is_read(tmp_path):
    # csv's default field cap is 131,072 characters: a 300 KB story under max_body_bytes is a story.
    body = ("Word " * 60_000).strip()
    p = tmp_path / "long.csv"
    p.write_text(f'id,body\nlong,"{body}"\nshort,"{WIRE[0]}"\n', encoding="utf-8")
    recs, rejs, _ = _read(tmp_path, p)
    assert recs.story_id.tolist() == ["long", "short"] and rejs.empty and recs.body.iloc[0] == body


def test_csv_lines_in_cp1252_are_read(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes('id,body\na,"Caf\u00e9 prices rose sharply on Monday."\nb,"Plain text."\n'.encode("cp1252"))
    recs, rejs, stats = _read(tmp_path, p)
    assert recs.body.tolist() == ["Caf\u00e9 prices rose sharply on Monday.", "Plain text."] and stats.reencoded == 1


@pytest.mark.parametrize("gz", [False, True])
def test_a_huge_text_page_is_rejected_unread(tmp_path, gz):
    """A text page larger than max_body_bytes plus the headline allowance is rejected "too large"
    without being read (plain: its size decides; .gz: reading stops past the limit)."""
    from dedup.stages.read import _TEXT_EXTRA

    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "small.txt").write_text("Headline\n" + WIRE[0], encoding="utf-8")
    big = "Headline\n" + "word " * ((100_000 + _TEXT_EXTRA) // 5 + 10)
    if gz:  # a folder reads .txt files only: the .gz page is given as the input itself
        (folder / "big.txt.gz").write_bytes(gzip.compress(big.encode()))
        recs, rejs, _ = _read(tmp_path, folder / "big.txt.gz", max_body_bytes=100_000, format="text")
        assert recs.empty
    else:
        (folder / "big.txt").write_text(big, encoding="utf-8")
        recs, rejs, _ = _read(tmp_path, folder, max_body_bytes=100_000, format="text")
        assert recs.story_id.tolist() == ["small"]
    assert len(rejs) == 1 and rejs.record.iloc[0] == 1 and "skipped unread" in rejs.reason.iloc[0]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_csv_line_ends_of_every_system(tmp_path, eol):
    # Old Mac exports end lines with a lone CR; a quoted field may hold line breaks of its own.
    p = tmp_path / "eol.csv"
    p.write_bytes(eol.join(["id,body", 'a,"First line.', 'Second line."', 'b,"Plain."', ""]).encode())
    recs, rejs, _ = _read(tmp_path, p)
    assert recs.story_id.tolist() == ["a", "b"] and rejs.empty
    assert recs.body.tolist() == [f"First line.{eol}Second line.", "Plain."]


def _read_in_ranges(s, f, cuts):
    """Records and rejects of ``f`` read as byte ranges cut at ``cuts`` (one reader per range, as
    Spark's tasks read them), in range order."""
    from dedup.stages.read import line_range, number_ranges

    spans = number_ranges([line_range(f.path, a, b) for a, b in zip([0, *cuts], [*cuts, None])])
    stats, recs, rejs = ReadStats(), [], []
    for sp in spans:
        for r, j in read_chunks([f], s.input, 2000, 3, stats, span=sp):
            recs.append(r)
            rejs.append(j)
    return pa.concat_tables(recs), pa.concat_tables(rejs), stats, spans


def _same_read(whole, ranged):
    (r1, j1, s1), (r2, j2, s2) = whole, ranged[:3]
    assert r2.column("story_id").to_pylist() == r1.column("story_id").to_pylist()
    assert r2.column("record").to_pylist() == r1.column("record").to_pylist()
    assert r2.column("body").to_pylist() == r1.column("body").to_pylist()
    assert j2.select(["record", "reason", "raw"]).to_pylist() == j1.select(["record", "reason", "raw"]).to_pylist()
    assert (s2.records, s2.accepted, s2.rejected) == (s1.records, s1.accepted, s1.rejected)


def test_byte_ranges_read_each_line_once_numbered_as_in_the_file(tmp_path):
    """A JSONL file cut into two byte ranges at every byte (so exactly at a line start, exactly at
    a "\\n", inside a "\\r\\n", inside a line and on blank lines) reads as the whole file does: each
    line by the range it starts in, with its line number in the whole file, rejects included."""
    recs = [json.dumps({"id": f"s{i}", "body": WIRE[i % 5][:40]}) for i in range(6)]
    raw = ("\ufeff" + recs[0] + "\r\n\n" + recs[1] + "\n" + '{"id": "cut", "body": "x' + "\n   \n" + recs[2] + "\n"
           + "[1, 2]\n" + recs[3] + "\r\n" + json.dumps({"id": "e", "body": " "}) + "\n" + recs[4] + "\n" + recs[5])
    p = tmp_path / "b.jsonl"
    data = raw.encode()
    p.write_bytes(data)
    s = load_config(overrides={"input": {"path": str(p)}, "output": {"path": str(tmp_path / "out")}})
    f = discover(s.input)[0]
    stats = ReadStats()
    got = list(read_chunks([f], s.input, 2000, 3, stats))
    whole = (pa.concat_tables([r for r, _ in got]), pa.concat_tables([j for _, j in got]), stats)
    assert whole[0].column("record").to_pylist() == [1, 3, 6, 8, 10, 11]
    assert whole[1].column("record").to_pylist() == [4, 7, 9]
    newline = data.index(b"\n", len(recs[0]))
    for cut in range(len(data) + 2):
        _same_read(whole, _read_in_ranges(s, f, [cut]))
    # the two cases named: a cut exactly at a line start goes to the next range, at a "\n" too
    *_, spans = _read_in_ranges(s, f, [newline + 1])
    assert (spans[1].start, spans[1].first_line) == (newline + 1, 2)
    *_, spans = _read_in_ranges(s, f, [newline])
    assert (spans[0].end, spans[1].start, spans[1].first_line) == (newline + 1, newline + 1, 2)
    # many small ranges, some owning no line at all
    _same_read(whole, _read_in_ranges(s, f, list(range(7, len(data), 7))))


def test_byte_ranges_skip_a_huge_line_once(tmp_path):
    """An oversize line crossing several ranges is one reject, from the range it starts in; the
    ranges inside it own nothing; the next line keeps its number."""
    p = tmp_path / "b.jsonl"
    head = json.dumps({"id": "before", "body": WIRE[0]}) + "\n"
    huge = '{"id": "huge", "body": "' + "a" * (2 << 20) + '"}\n'
    p.write_text(head + huge + json.dumps({"id": "after", "body": WIRE[1]}) + "\n")
    s = load_config(overrides={"input": {"path": str(p), "max_body_bytes": 1000}, "output": {"path": str(tmp_path / "o")}})
    f = discover(s.input)[0]
    stats = ReadStats()
    got = list(read_chunks([f], s.input, 2000, 3, stats))
    whole = (pa.concat_tables([r for r, _ in got]), pa.concat_tables([j for _, j in got]), stats)
    assert whole[1].column("record").to_pylist() == [2]
    cuts = [len(head), len(head) + 10, len(head) + (1 << 20), len(head) + len(huge) - 1]
    r, j, st, spans = _read_in_ranges(s, f, cuts)
    _same_read(whole, (r, j, st))
    assert [sp.end - sp.start for sp in spans[2:4]] == [0, 0]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_chunks_end_at_chunk_bytes_and_every_record_is_read_once(tmp_path, monkeypatch, fmt):
    import dedup.stages.read as read_mod

    monkeypatch.setattr(read_mod, "_READ_BYTES", 5000)  # a block spans many pieces of the file
    sizes = np.random.default_rng(0).integers(50, 3000, 200)
    sizes[17] = 20_000  # one record larger than the cap: a chunk of its own
    rows = [{"id": f"s{i}", "body": " ".join(["word"] * int(n // 5)) + f" {i}."} for i, n in enumerate(sizes)]
    if fmt == "jsonl":
        p = write_jsonl(tmp_path / "b.jsonl", rows)
    else:
        p = tmp_path / "b.csv"
        pd.DataFrame(rows).to_csv(p, index=False)
    s = load_config(overrides={"input": {"path": str(p)}, "output": {"path": str(tmp_path / "out")}})
    cap = 8000

    def chunks(**kw):
        return [r for r, _ in read_chunks(discover(s.input), s.input, 2000, 50, ReadStats(), **kw)]

    capped, plain = chunks(chunk_bytes=cap), chunks()
    assert len(plain) == 4  # 200 records, 50 a chunk
    assert pa.concat_tables(capped).column("story_id").to_pylist() == [r["id"] for r in rows]
    assert pa.concat_tables(capped).column("body").equals(pa.concat_tables(plain).column("body"))
    held = [sum(len(b) for b in c.column("body").to_pylist()) for c in capped]
    assert all(h <= cap or c.num_rows == 1 for h, c in zip(held, capped))
    assert all(c.num_rows <= 50 for c in capped) and len(capped) > 40  # the cap ended most chunks
    assert [c.num_rows for c in capped if c.column("story_id")[0].as_py() == "s17"] == [1]


def test_pieces_read_into_a_reused_buffer_keep_every_record_whole(tmp_path, monkeypatch):
    """The file is read piece by piece into one buffer, the unfinished lines moved to its front each
    time: every record comes out whole, on the one-pass path and line by line (an invalid line
    sends its block there)."""
    import dedup.stages.read as read_mod

    monkeypatch.setattr(read_mod, "_READ_BYTES", 4096)
    rng = np.random.default_rng(1)
    words = ["caf\u00e9", "\u4f60\u597d", "wire", "copy", "\u0645\u0631\u062d\u0628\u0627", "report"]
    rows = [{"id": f"s{i}", "body": " ".join(rng.choice(words, int(n))) + f" {i}."}
            for i, n in enumerate(rng.integers(5, 900, 300))]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[150] = '{"id": "bad", "body": '
    p = tmp_path / "b.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    buffers = []
    real = read_mod._read_piece

    def spy(*a):
        out = real(*a)
        buffers.append(out[0].obj)
        return out

    monkeypatch.setattr(read_mod, "_read_piece", spy)
    s = load_config(overrides={"input": {"path": str(p)}, "output": {"path": str(tmp_path / "out")}})
    got = list(read_chunks(discover(s.input), s.input, 2000, 7, ReadStats()))
    recs = pa.concat_tables([r for r, _ in got])
    want = [r for i, r in enumerate(rows) if i != 150]
    assert recs.column("story_id").to_pylist() == [r["id"] for r in want]
    assert recs.column("body").to_pylist() == [r["body"] for r in want]
    assert pa.concat_tables([j for _, j in got]).column("record").to_pylist() == [151]
    assert len(buffers) > 30 and len({id(b) for b in buffers}) < len(buffers) / 4  # mostly one buffer, reused
