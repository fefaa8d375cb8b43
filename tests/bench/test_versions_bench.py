"""bench/versions.py: repeated ids made from a realistic corpus (skips without ../shared's Reuters)."""
import re
import subprocess
import sys

from tests.conftest import ROOT, shared_path


def test_the_latest_version_is_kept_and_reused_ids_keep_their_first(tmp_path):
    from bench.synth import corpus as synth

    synth.build_corpus(shared_path("corpora", "reuters21578"), 2000, tmp_path, seed=4, behaviours=("versions",))
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "versions.py"), "--corpus", str(tmp_path),
                        "--resends", "40", "--reused", "40"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "in exactly one table: True" in r.stdout
    rows = dict(re.findall(r"\| (updates under the same id|re-sends|reused ids) \| [\d,]+ \| [\d,]+ \(([0-9.]+)\)", r.stdout))
    assert set(rows) == {"updates under the same id", "re-sends", "reused ids"}, r.stdout
    assert float(rows["updates under the same id"]) >= 0.95 and float(rows["re-sends"]) == 1.0, r.stdout
    assert float(rows["reused ids"]) >= 0.95, r.stdout
