"""bench/window_costs.py: bytes and seconds of a state window, read from a state."""
import json

from dedup import load_config, run
from tests.conftest import OTHER, WIRE, write_jsonl


def test_window_costs_reads_rows_bytes_and_windows_of_a_state(tmp_path):
    from bench.window_costs import main

    out = tmp_path / "out"
    nights = ["2026-11-20", "2026-11-21", "2026-11-22"]
    batches = [[{"id": "wire", "body": "\n".join(WIRE)}], [{"id": f"o{i}", "body": b} for i, b in enumerate(OTHER)],
               [{"id": "late", "body": "\n".join(WIRE[:3])}]]
    for night, recs in zip(nights, batches):
        run(load_config(input=str(write_jsonl(tmp_path / f"{night}.jsonl", recs)), output=str(out), run_date=night))
    assert main([str(out / "_state"), "--tonight-keys", "100", "--repeat", "1", "--json", str(tmp_path / "c.json")]) == 0
    doc = json.loads((tmp_path / "c.json").read_text())
    d = doc["disk"]
    assert d["nights"] == 3 and d["canonical_rows"] == 1 + len(OTHER) + 1
    assert d["parquet_bytes_per_canonical"] > 0 and d["index_bytes_per_canonical"] > 0
    assert d["chrome_index_bytes_per_night"] > 0
    w = doc["windows"]
    # A window of k nights: the clusters of its first k nights (night 3's late copy joined night 1's).
    assert [x["canonicals"] for x in w] == [1, 1 + len(OTHER), 1 + len(OTHER)]
    assert all(x["bytes_held_per_canonical"] > 0 and x["load_s"] >= 0 for x in w)
