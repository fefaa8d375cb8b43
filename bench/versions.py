"""Ids delivered more than once in a night, on a realistic corpus: which record is kept?

Takes a corpus of the builder made with its ``versions`` behaviour (``dedup synth --realistic``:
behaviours.csv lists each later version of a copy and the copy it updates) and makes three kinds of
repeated ids out of it, as real feeds deliver them:

- *updates under the same id*: each later version (new top, correction, last paragraph cut) takes
  the id of the copy it updates, keeping its own later ``published_at`` (miniflux/v2#2358);
- *re-sends*: ``--resends`` records delivered again, byte for byte, later in the batch (a feed
  fetched several times a night);
- *reused ids*: ``--reused`` records take the id of an earlier, unrelated story of the same outlet
  (another gold cluster; a CMS bug).

Then it runs ``dedup run`` on the batch and reports, per kind, how often the kept record is the one
a reader wants (the latest version; the first record for re-sends and reused ids), that every record
is in exactly one table, and the night's pairwise F1 against gold. The rule this replaced (the first
occurrence wins) is scored on the same batch from the input order alone.

    .venv/bin/python bench/versions.py --corpus DIR [--resends 200 --reused 200 --seed 0]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup import load_config, run  # noqa: E402
from dedup.tools.evaluate import evaluate  # noqa: E402


def repeated_ids(corpus: Path, resends: int, reused: int, seed: int):
    """(records in input order, gold frame, {kind: [(id, the record line a reader wants kept, the
    line the first occurrence rule keeps)]})."""
    recs = [json.loads(x) for x in (corpus / "batch.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    gold = pd.read_csv(corpus / "gold.csv", dtype=str)
    beh = pd.read_csv(corpus / "behaviours.csv", dtype=str).fillna("")
    versions = beh[beh.behaviour.str.startswith("version_")]
    if versions.empty:
        raise SystemExit(f"{corpus}: no versions in behaviours.csv (build it with `dedup synth --realistic`)")
    of = dict(zip(versions.story_id, versions.of_story))

    def root(sid: str) -> str:
        while sid in of and of[sid]:
            sid = of[sid]
        return sid

    renamed = {sid: root(sid) for sid in versions.story_id}
    for r in recs:
        r["id"] = renamed.get(r["id"], r["id"])
    gold = gold[~gold.story_id.isin(renamed)]
    rng = random.Random(seed)
    # Records that should be rejected anyway (a consent wall in place of the story) are left alone.
    busy = set(renamed) | set(renamed.values()) | set(beh.story_id[beh.expect_reject == "1"])
    plain = [i for i, r in enumerate(recs) if r["id"] not in busy and r.get("published_at")]
    # Reused ids: a later record of the same outlet, another gold cluster, takes an earlier one's id.
    g = dict(zip(gold.story_id, gold.gold_cluster))
    by_outlet: dict[str, list[int]] = {}
    for i in plain:
        by_outlet.setdefault(recs[i].get("outlet") or "", []).append(i)
    pairs, used = [], set()
    for _ in range(20 * reused):
        if len(pairs) >= reused:
            break
        group = by_outlet[rng.choice(sorted(by_outlet))]
        if len(group) < 2:
            continue
        a, b = sorted(rng.sample(group, 2))
        if {a, b} & used or g.get(recs[a]["id"]) == g.get(recs[b]["id"]):
            continue
        used |= {a, b}
        pairs.append((a, b))
    for a, b in pairs:
        gold = gold[gold.story_id != recs[b]["id"]]
        recs[b]["id"] = recs[a]["id"]
    # Re-sends: the same record again, somewhere after the first.
    again = rng.sample([i for i in plain if i not in used], min(resends, len(plain) - len(used)))
    out = list(recs)
    for i in sorted(again, reverse=True):
        out.insert(rng.randrange(i + 1, len(out) + 1), dict(recs[i]))
    line = {id(r): k + 1 for k, r in enumerate(out)}
    kinds = {"updates under the same id": [], "re-sends": [], "reused ids": []}
    groups: dict[str, list[dict]] = {}
    for r in out:
        groups.setdefault(r["id"], []).append(r)
    roots = set(renamed.values())
    for sid, rs in groups.items():
        if len(rs) < 2:
            continue
        first = line[id(rs[0])]
        if sid in roots:
            latest = max(rs, key=lambda r: pd.Timestamp(r["published_at"]))
            kinds["updates under the same id"].append((sid, line[id(latest)], first))
        elif any(recs[a]["id"] == sid for a, _ in pairs):
            kinds["reused ids"].append((sid, first, first))
        else:
            kinds["re-sends"].append((sid, first, first))
    return out, gold, kinds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="a builder corpus with behaviours.csv")
    ap.add_argument("--resends", type=int, default=200)
    ap.add_argument("--reused", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    recs, gold, kinds = repeated_ids(a.corpus, a.resends, a.reused, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.jsonl"
        batch.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
        run(load_config(input=str(batch), output=str(Path(tmp) / "out"), run_date="2026-11-30",
                        overrides={"input.max_reject_ratio": 1.0}))
        stories = pd.read_parquet(Path(tmp) / "out" / "stories", columns=["story_id", "cluster_id", "record"])
        rejects = pd.read_parquet(Path(tmp) / "out" / "rejects", columns=["record", "reason"])
    print(f"records {len(recs):,}; stories {len(stories):,}; rejects {len(rejects):,}; "
          f"in exactly one table: {len(stories) + len(rejects) == len(recs) and stories.story_id.is_unique}")
    kept = dict(zip(stories.story_id, stories.record))
    print("| repeated ids | ids | wanted record kept | first occurrence rule |")
    print("|---|---|---|---|")
    for kind, rows in kinds.items():
        n = len(rows)
        ok = sum(kept.get(sid) == want for sid, want, _ in rows)
        old = sum(first == want for _, want, first in rows)
        print(f"| {kind} | {n:,} | {ok:,} ({ok / max(n, 1):.3f}) | {old:,} ({old / max(n, 1):.3f}) |")
    score = evaluate(stories[["story_id", "cluster_id"]], gold)
    print(f"pairwise F1 {score.f1:.4f} (precision {score.precision:.4f}, recall {score.recall:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
