from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "data" / "demo" / "batch.jsonl"
DEMO_GOLD = ROOT / "data" / "demo" / "gold.csv"


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test where the shared material is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared material not present: {p}")
    return p


def reuters_corpus(tmp_path_factory, n: int, seed: int) -> Path:
    """A labeled corpus of ``n`` stories built from ../shared's Reuters-21578, or skip without it."""
    src = SHARED / "corpora" / "reuters21578"
    if not src.is_dir():
        pytest.skip("shared Reuters corpus not present")
    from bench.synth.corpus import build_corpus

    d = tmp_path_factory.mktemp(f"corpus{n}")
    build_corpus(src, n, d, seed=seed)
    return d


@pytest.fixture
def cli():
    from dedup.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


def write_jsonl(path: Path, records: list) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(r if isinstance(r, str) else json.dumps(r))
            fh.write("\n")
    return path


# Original wire-style paragraphs written for the tests.
WIRE = [
    "Harbour authorities in the northern port of Tallvik said on Monday that a fire aboard a grain carrier had been "
    "brought under control after burning for nearly eleven hours, and that none of the twenty-two crew were hurt.",
    "The vessel, the Norra Ljus, was loading barley for export when smoke was seen coming from its forward hold "
    "shortly after midnight, the port operator said in a statement issued in the early morning.",
    "Firefighting tugs sprayed the hull to keep it cool while crews on board sealed the hatches to starve the fire of "
    "oxygen, a method the harbour master described as slow but the safest available option.",
    "Grain loading at the two neighbouring berths was suspended as a precaution and is expected to resume on Tuesday, "
    "the operator said, adding that an inspection of the hold would begin once it had cooled.",
    "Investigators from the national maritime safety board are due to arrive later in the week to look into the cause, "
    "which officials said could be linked to the heating of damp cargo during several days of rain.",
]
OTHER = [
    "The city library in Orrvale will extend its opening hours on weekday evenings from next month, the council said, "
    "after a survey found that most students wanted somewhere quiet to study after school closed for the day.",
    "Volunteers planted four hundred young oak trees along the river path on Saturday as part of a project to restore "
    "the flood meadow, which was drained for farmland more than a century ago and is now being rewetted.",
    "A regional orchestra announced a season of free lunchtime concerts in disused shops across the town centre, "
    "saying it hoped the performances would bring visitors back to streets that have lost many of their traders.",
]
