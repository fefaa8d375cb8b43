"""What a state window costs per window canonical and per window night, measured on a state.

For a state written by ``dedup run`` (e.g. by ``bench/nights.py --keep DIR``: ``DIR/out-0/_state``),
prints, from its files:

- bytes on disk per canonical row (canonicals.parquet, and the band-key index under ``index/``),
  per member row (members.parquet), and per night (the chrome files, and ``chrome_index/``);

and for a window of 1, 2, ... of its nights (the nights before the one after each), loaded as a
night loads it (``dedup.night.state.load_window`` with the chrome cut to ``--tonight-keys``
random keys standing in for tonight's lines, and ``chrome.min_stories``):

- bytes held in memory per window canonical (its light row, night and row), and the chrome model
  held (story counts and report sketches);
- seconds: the checks (``window_nights``: manifests, sizes and times, the one night not yet
  hashed), and the whole load.

    python bench/window_costs.py /tmp/h6-window/sbs14/out-0/_state --json costs.json

Each load is run twice (``--repeat``) and the smaller time kept: the first read of a night hashes
its files once (``state._verify``), the second is what every later night pays.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dedup.config import ChromeSettings  # noqa: E402
from dedup.night import state  # noqa: E402


def disk_costs(st: Path) -> dict:
    """Bytes on disk of a state's nights: per canonical row (Parquet, index), per member row, per night (chrome)."""
    nights = state.list_nights(st)
    canon = members = 0
    size = {"canonicals": 0, "index": 0, "members": 0, "chrome": 0, "chrome_index": 0}
    for x in nights:
        d = state.night_dir(st, x)
        m = json.loads((d / "manifest.json").read_text())
        canon += m["rows"]["canonicals"]
        members += m["rows"]["members"]
        size["canonicals"] += (d / "canonicals.parquet").stat().st_size
        size["index"] += sum(p.stat().st_size for p in (d / state.INDEX_DIR).iterdir()) if (d / state.INDEX_DIR).is_dir() else 0
        size["members"] += (d / "members.parquet").stat().st_size
        size["chrome"] += sum((d / f).stat().st_size for f in ("chrome.parquet", "chrome_reports.parquet"))
        ci = d / state.CHROME_INDEX_DIR
        size["chrome_index"] += sum(p.stat().st_size for p in ci.iterdir()) if ci.is_dir() else 0
    return {"nights": len(nights), "canonical_rows": canon, "member_rows": members,
            "parquet_bytes_per_canonical": round(size["canonicals"] / max(canon, 1), 1),
            "index_bytes_per_canonical": round(size["index"] / max(canon, 1), 1),
            "bytes_per_member_row": round(size["members"] / max(members, 1), 1),
            "chrome_bytes_per_night": round(size["chrome"] / max(len(nights), 1)),
            "chrome_index_bytes_per_night": round(size["chrome_index"] / max(len(nights), 1))}


def window_costs(st: Path, k: int, keys: np.ndarray, min_stories: int, repeat: int) -> dict:
    """Memory held and seconds of loading the window of the first ``k`` nights of the state."""
    nights = state.list_nights(st)
    night = (dt.date.fromisoformat(nights[k - 1]) + dt.timedelta(days=1)).isoformat()
    check = load = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        state.window_nights(st, night, len(nights) + 1)
        check = min(check, time.perf_counter() - t)
        t = time.perf_counter()
        # As a night loads it: the sketch rows are merged with tonight's in the chrome stage.
        w = state.load_window(st, night, len(nights) + 1, None, chrome_keys=keys, chrome_min_stories=min_stories,
                              merge_reports=False)
        load = min(load, time.perf_counter() - t)
    held = w.canonicals.nbytes + w.night_of.nbytes + w.row_of.nbytes
    r = w.chrome.reports
    chrome = w.chrome.keys.nbytes + w.chrome.stories.nbytes + r.key.nbytes + r.q.nbytes + r.value.nbytes
    return {"window_nights": k, "canonicals": w.n, "bytes_held_per_canonical": round(held / max(w.n, 1), 1),
            "chrome_bytes_held": chrome, "sketch_rows": int(r.key.size), "check_s": round(check, 3),
            "load_s": round(load, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("state", type=Path, help="a state folder (``<output>/_state``)")
    ap.add_argument("--tonight-keys", type=int, default=1_000_000,
                    help="random chrome keys standing in for tonight's lines (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=2, help="loads per window, the fastest kept (default: %(default)s)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args(argv)
    min_stories = ChromeSettings().min_stories
    keys = np.unique(np.random.default_rng(0).integers(0, 2**63, args.tonight_keys, dtype=np.uint64))
    disk = disk_costs(args.state)
    print(f"{disk['nights']} nights, {disk['canonical_rows']:,} canonical rows, {disk['member_rows']:,} member rows; "
          f"on disk per canonical row {disk['parquet_bytes_per_canonical']:.0f} B Parquet + "
          f"{disk['index_bytes_per_canonical']:.0f} B index; {disk['bytes_per_member_row']:.1f} B per member row; "
          f"chrome {disk['chrome_bytes_per_night'] / 1e6:.1f} MB per night "
          f"(+ {disk['chrome_index_bytes_per_night'] / 1e6:.1f} MB chrome index)", flush=True)
    rows = []
    for k in range(1, disk["nights"] + 1):
        r = window_costs(args.state, k, keys, min_stories, args.repeat)
        rows.append(r)
        print(f"window of {k:2d} nights: {r['canonicals']:8,} canonicals, {r['bytes_held_per_canonical']:.0f} B held "
              f"per canonical, chrome {r['chrome_bytes_held'] / 1e6:6.1f} MB held ({r['sketch_rows']:,} sketch rows); "
              f"checks {r['check_s']:.2f} s, load {r['load_s']:.2f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"state": str(args.state), "disk": disk, "windows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
