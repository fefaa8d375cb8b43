"""The 181 real pages of the article-extraction benchmark through the whole job (skips where absent)."""
import re
import subprocess
import sys

from tests.conftest import ROOT, shared_path


def test_real_pages_extracted_and_never_clustered_together():
    corpus = shared_path("corpora", "article-extraction-benchmark")
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "html_batch.py"), "--corpus", str(corpus)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "clusters with more than one page: 0" in r.stdout
    f1 = float(re.search(r"F1 ([0-9.]+)", r.stdout).group(1))
    assert f1 >= 0.93, r.stdout
    assert "html detected 181" in r.stdout
