"""Speed benchmark: `dedup run` end to end, against the plain datasketch pipeline.

Builds a labeled batch with the corpus builder (``bench/synth/corpus.py``), times ``dedup run`` on it as a
child process (JSONL in, Parquet out), reads the night's manifest for per-stage seconds and peak
memory, and scores the stories against gold (pairwise precision / recall / F1).

    python bench/speed.py --n 200000 --baseline            # dedup vs plain datasketch, same batch
    python bench/speed.py --n 200000 --baseline --rensa    # ... and a rensa-based pipeline (bench extra)
    python bench/speed.py --sizes 100000,300000,1000000    # dedup alone at several sizes (scaling)

Options: ``--chrome`` (the batch with outlet chrome; default: chrome-free bodies), ``--corpus DIR``
(a corpus folder written by bench/synth/corpus.py, or a cache folder: corpora are built into and reused from
DIR/n<N>-seed<S>), ``--keep DIR`` (leave generated corpora and outputs there; by default they go to
a temporary folder that is deleted), ``--workers N`` (dedup's run.workers), ``--json FILE``.

What is measured, per child process (the corpus builder is not timed):

* wall seconds, from outside (process start to exit: interpreter start, imports, JIT cache loads,
  reading JSONL, writing Parquet);
* peak RSS of that child alone (``os.wait4`` rusage; ``ru_maxrss`` is per child, so the builder's
  or the other pipeline's memory never leaks into a figure) and its CPU seconds (user + system);
* the load from *other* processes during the run: CPU seconds the whole machine spent busy
  (``/proc/stat``) minus the child's own, divided by wall time, in cores ("other cores"); and
  ``/proc/loadavg`` before the run. On a shared 2-core machine a figure taken with other cores
  well above 0 is slowed by the neighbours: rerun it, or pass ``--wait-quiet 0.3`` to wait (at most
  ``--max-wait`` seconds) before each timed run until the neighbours use under 0.3 cores.

Before the timed dedup run, a warm-up run on the first 2,000 stories loads numba's on-disk cache
(compiling it if the code changed), so the figure is the nightly steady state (``--no-warmup`` to
time a cold start). Each dedup run writes to a fresh output folder (no earlier nights in state).
``--repeat R`` runs R rounds, each pipeline once per round, and reports each pipeline's fastest run and,
per round, the ratio of that round's baseline and dedup walls with their median (all runs are in the JSON).
Run it with the project's interpreter: ``.venv/bin/python bench/speed.py ...``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
try:
    from dedup.tools.evaluate import evaluate
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(ROOT))
    from dedup.tools.evaluate import evaluate

DEFAULT_SOURCE = ROOT.parent / "shared" / "corpora" / "reuters21578"
BASELINE_SCRIPT = ROOT / "bench" / "baseline_datasketch.py"
RENSA_SCRIPT = ROOT / "bench" / "baseline_rensa.py"  # needs the bench extra (rensa)
RUN_DATE = "2026-11-26"
WARMUP_STORIES = 2_000
# Disk needed per story, with margin: corpus (batch.jsonl + batch-clean.jsonl + gold/edits csv,
# ~2.5 KB) and one night of dedup output plus its staging (~1.5 KB).
CORPUS_BYTES_PER_STORY = 3_000
OUTPUT_BYTES_PER_STORY = 2_000
MB = 1024 * 1024


# ------------------------------------------------------------------------------------------------
# Measuring a child process
# ------------------------------------------------------------------------------------------------


def read_loadavg() -> str | None:
    """The first three fields of /proc/loadavg ("1.43 1.00 0.95"), or None off Linux."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return None


def cpu_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    v = [int(x) for x in fields[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
    busy = v[0] + v[1] + v[2] + sum(v[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """One child process: how it ended and what it cost."""

    cmd: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float  # ru_maxrss of the child alone
    cpu_s: float  # user + system seconds of the child
    other_cores: float | None  # mean cores busy with other processes during the run
    loadavg_before: str | None
    loadavg_after: str | None


def run_measured(cmd: list[str], *, stdout: Path, stderr: Path | None = None,
                 env: dict | None = None) -> Measured:
    """Run ``cmd`` to completion, output to files; wall time from outside, rusage of this child only."""
    busy0, load0 = cpu_busy_seconds(), read_loadavg()
    with open(stdout, "wb") as out, (open(stderr, "wb") if stderr else open(os.devnull, "wb")) as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err if stderr else subprocess.STDOUT, env=env,
                                cwd=ROOT)
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: do not leave the child running
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    busy1 = cpu_busy_seconds()
    cpu = ru.ru_utime + ru.ru_stime
    rss_mb = ru.ru_maxrss / (MB if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    other = None
    if busy0 is not None and busy1 is not None and wall > 0:
        other = max(0.0, (busy1 - busy0) - cpu) / wall
    return Measured([str(c) for c in cmd], proc.returncode, wall, rss_mb, cpu, other, load0, read_loadavg())


def busy_cores(window_s: float = 5.0) -> float | None:
    """Mean CPU cores busy over the next ``window_s`` seconds (this process sleeps meanwhile)."""
    b0 = cpu_busy_seconds()
    time.sleep(window_s)
    b1 = cpu_busy_seconds()
    return None if b0 is None or b1 is None else (b1 - b0) / window_s


def wait_for_quiet(max_cores: float | None, max_wait_s: float) -> None:
    """With ``--wait-quiet``: before a timed run, wait until other processes use under ``max_cores``
    cores (5 s windows), for at most ``max_wait_s``; then run anyway (the figure records the load)."""
    if max_cores is None:
        return
    t0 = time.monotonic()
    while True:
        busy = busy_cores()
        if busy is None or busy < max_cores:
            return
        waited = time.monotonic() - t0
        if waited >= max_wait_s:
            print(f"  still {busy:.2f} other cores busy after {waited:.0f} s; running anyway", flush=True)
            return
        print(f"  {busy:.2f} other cores busy; waiting for < {max_cores} ...", flush=True)
        time.sleep(10)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


# ------------------------------------------------------------------------------------------------
# Corpora
# ------------------------------------------------------------------------------------------------


@dataclass
class Corpus:
    dir: Path
    stories: int
    seed: int
    temporary: bool  # built for this invocation and to be deleted after use
    build_s: float | None = None  # None: reused

    def batch(self, chrome: bool) -> Path:
        return self.dir / ("batch.jsonl" if chrome else "batch-clean.jsonl")

    @property
    def gold(self) -> Path:
        return self.dir / "gold.csv"


def corpus_stories(d: Path) -> int | None:
    """Story count of a complete corpus folder (stats.json is written last), else None."""
    try:
        stats = json.loads((d / "stats.json").read_text())
    except (OSError, ValueError):
        return None
    if not all((d / f).is_file() for f in ("batch.jsonl", "batch-clean.jsonl", "gold.csv")):
        return None
    return int(stats["stories"])


def check_disk(folder: Path, need_bytes: int, what: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < need_bytes:
        raise SystemExit(f"speed: not enough disk in {folder} for {what}: need ~{need_bytes / 1e9:.1f} GB, "
                         f"{free / 1e9:.1f} GB free (use --keep/--corpus on a roomier filesystem)")


def get_corpus(n: int, seed: int, *, cache: Path | None, workdir: Path, keep: bool, source: Path,
               log_dir: Path) -> Corpus:
    """The corpus of ``n`` stories: reused from ``cache`` when there, else built (into the cache or workdir)."""
    if cache is not None and (cache / "stats.json").exists():  # --corpus names one ready corpus
        have = corpus_stories(cache)
        if have is None:
            raise SystemExit(f"speed: {cache} is not a complete corpus (batch.jsonl, batch-clean.jsonl, "
                             f"gold.csv, stats.json)")
        if have != n:
            raise SystemExit(f"speed: the corpus in {cache} has {have:,} stories, not {n:,}; pass a cache "
                             f"folder instead (corpora are kept in it as n<N>-seed<S>/)")
        return Corpus(cache, have, seed, temporary=False)
    d = (cache or workdir) / f"n{n}-seed{seed}"
    if corpus_stories(d) == n:
        return Corpus(d, n, seed, temporary=False)
    if not source.is_dir():
        raise SystemExit(f"speed: Reuters-21578 source folder not found: {source} (--source)")
    check_disk(d.parent, n * (CORPUS_BYTES_PER_STORY + OUTPUT_BYTES_PER_STORY), f"a {n:,}-story corpus and its output")
    print(f"building a {n:,}-story corpus in {d} ...", flush=True)
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "synth" / "corpus.py"), "--n", str(n), "--out", str(d), "--seed", str(seed),
           "--source", str(source)]
    m = run_measured(cmd, stdout=log_dir / f"synth-n{n}.out", stderr=log_dir / f"synth-n{n}.log")
    if m.returncode != 0 or corpus_stories(d) != n:
        raise SystemExit(f"speed: corpus builder failed (exit {m.returncode}):\n"
                         f"{log_tail(log_dir / f'synth-n{n}.log')}")
    print(f"  built in {m.wall_s:.0f} s", flush=True)
    return Corpus(d, n, seed, temporary=cache is None and not keep, build_s=round(m.wall_s, 1))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# The two pipelines
# ------------------------------------------------------------------------------------------------


def dedup_command() -> list[str]:
    """The ``dedup`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "dedup"
    if script.exists():
        return [str(script)]
    found = shutil.which("dedup")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from dedup.cli import app; sys.argv[0] = 'dedup'; app()"]


def load_gold(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def scores(pred: pd.DataFrame, gold: pd.DataFrame) -> dict:
    r = evaluate(pred, gold, max_examples=0)
    return {"precision": r.precision, "recall": r.recall, "f1": r.f1, "ari": r.ari,
            "pred_clusters": r.n_pred_clusters, "gold_clusters": r.n_gold_clusters,
            "missing_from_pred": r.n_missing_from_pred}


def stage_table(manifest: dict) -> dict[str, dict]:
    """``stages`` of a manifest as {stage: {seconds, cpu_seconds, system_seconds, peak_rss_mb, counts}}
    (cpu_seconds, system_seconds and peak_rss_mb None when absent).

    Only scalar numeric entries are kept as counts; keys starting with "_" and anything else
    (strings, lists) are left out.
    """
    out: dict[str, dict] = {}
    for name, info in (manifest.get("stages") or {}).items():
        if not isinstance(info, dict):
            continue
        peak, cpu, sys_s = info.get("peak_rss_mb"), info.get("cpu_seconds"), info.get("system_seconds")
        counts = {k: v for k, v in info.items()
                  if k not in ("seconds", "cpu_seconds", "system_seconds", "peak_rss_mb") and not k.startswith("_")
                  and isinstance(v, (int, float)) and not isinstance(v, bool)}
        out[name] = {"seconds": float(info.get("seconds") or 0.0),
                     "cpu_seconds": float(cpu) if isinstance(cpu, (int, float)) else None,
                     "system_seconds": float(sys_s) if isinstance(sys_s, (int, float)) else None,
                     # a stage whose CPU time also covers another that ran at the same time (clean's: fingerprint)
                     "cpu_include": [info["cpu_seconds_include"]] if isinstance(info.get("cpu_seconds_include"), str)
                     else [],
                     "peak_rss_mb": float(peak) if isinstance(peak, (int, float)) else None,
                     "counts": counts}
    return out


@dataclass
class Result:
    """One timed pipeline run on one batch."""

    pipeline: str  # "dedup" or "datasketch"
    stories: int
    batch: str
    batch_mb: float
    wall_s: float
    stories_per_s: float
    peak_rss_mb: float
    cpu_s: float
    other_cores: float | None
    loadavg_before: str | None
    loadavg_after: str | None
    ok: bool
    quality: dict = field(default_factory=dict)  # precision, recall, f1, ari, ...
    internal_s: float | None = None  # the pipeline's own total (manifest seconds_total / baseline total)
    stages: dict = field(default_factory=dict)  # dedup: stage_table(manifest); datasketch: its timings
    manifest_peak_rss_mb: float | None = None  # dedup: highest peak_rss_mb among the manifest's stages
    code: dict = field(default_factory=dict)  # commit and source hash when this run started (code changes)
    error: str | None = None


def _result(pipeline: str, corpus: Corpus, batch: Path, m: Measured, code: dict) -> Result:
    return Result(pipeline=pipeline, code=code, stories=corpus.stories, batch=str(batch),
                  batch_mb=round(batch.stat().st_size / MB, 1), wall_s=round(m.wall_s, 2),
                  stories_per_s=round(corpus.stories / m.wall_s, 1), peak_rss_mb=round(m.peak_rss_mb, 1),
                  cpu_s=round(m.cpu_s, 1), other_cores=None if m.other_cores is None else round(m.other_cores, 2),
                  loadavg_before=m.loadavg_before, loadavg_after=m.loadavg_after, ok=m.returncode == 0)


def best_of(runs: list[Result]) -> Result:
    """The fastest successful run (the one least slowed by other work); a failed one when none succeeded."""
    ok = [r for r in runs if r.ok]
    return min(ok, key=lambda r: r.wall_s) if ok else runs[0]


def run_dedup(corpus: Corpus, *, chrome: bool, workers: int, workdir: Path, keep: bool, warmup: bool,
              gold: pd.DataFrame, quiet: tuple[float | None, float] = (None, 0.0)) -> Result:
    batch = corpus.batch(chrome)
    tag = f"n{corpus.stories}"
    base = dedup_command() + ["run", "--run-date", RUN_DATE, "--workers", str(workers)]
    if warmup:
        head = workdir / f"warmup-{tag}.jsonl"
        with open(batch, "rb") as src, open(head, "wb") as dst:
            for i, line in enumerate(src):
                if i >= WARMUP_STORIES:
                    break
                dst.write(line)
        out = workdir / f"warmup-{tag}-out"
        m = run_measured(base + ["--input", str(head), "--output", str(out)], stdout=workdir / f"warmup-{tag}.log")
        remove(out)
        head.unlink()
        if m.returncode != 0:
            print(f"  warm-up run failed (exit {m.returncode}); timing anyway:\n"
                  f"{log_tail(workdir / f'warmup-{tag}.log', 10)}", flush=True)
    out = workdir / f"dedup-{tag}-out"
    remove(out)
    check_disk(workdir, corpus.stories * OUTPUT_BYTES_PER_STORY, "dedup's output")
    wait_for_quiet(*quiet)
    print(f"timing dedup run on {corpus.stories:,} stories ({batch.name}) ...", flush=True)
    log, code = workdir / f"dedup-{tag}.log", code_version()
    m = run_measured(base + ["--input", str(batch), "--output", str(out)], stdout=log)
    res = _result("dedup", corpus, batch, m, code)
    try:
        if not res.ok:
            res.error = f"dedup run exited {m.returncode}:\n{log_tail(log)}"
            return res
        manifest = json.loads((out / "runs" / f"run_date={RUN_DATE}" / "manifest.json").read_text())
        res.internal_s = manifest.get("seconds_total")
        res.stages = stage_table(manifest)
        stage_peaks = [s["peak_rss_mb"] for s in res.stages.values() if s["peak_rss_mb"] is not None]
        if stage_peaks:  # the process's own view of its peak, for comparison with rusage
            res.manifest_peak_rss_mb = max(stage_peaks)
        pred = pd.read_parquet(out / "stories" / f"run_date={RUN_DATE}", columns=["story_id", "cluster_id"])
        res.quality.update(scores(pred, gold))
    finally:
        if not keep:
            remove(out)
    return res


def run_baseline(corpus: Corpus, *, chrome: bool, workdir: Path, keep: bool, gold: pd.DataFrame,
                 quiet: tuple[float | None, float] = (None, 0.0), pipeline: str = "datasketch",
                 script: Path = BASELINE_SCRIPT) -> Result:
    """Time a baseline script (``bench/baseline_*.py``: --input, --out, --json) as a child process."""
    batch = corpus.batch(chrome)
    tag = f"n{corpus.stories}"
    clusters = workdir / f"{pipeline}-{tag}-clusters.csv"
    wait_for_quiet(*quiet)
    slow = " (slow: ~3,000 stories/s)" if pipeline == "datasketch" else ""
    print(f"timing the {pipeline} baseline on {corpus.stories:,} stories{slow} ...", flush=True)
    out, log, code = workdir / f"{pipeline}-{tag}.json", workdir / f"{pipeline}-{tag}.log", code_version()
    m = run_measured([sys.executable, str(script), "--input", str(batch), "--out", str(clusters), "--json"],
                     stdout=out, stderr=log)
    res = _result(pipeline, corpus, batch, m, code)
    try:
        if not res.ok:
            res.error = f"baseline exited {m.returncode}:\n{log_tail(log)}"
            return res
        timings = json.loads(out.read_text())["timings"]
        res.internal_s = round(timings["total"], 2)
        res.stages = {k: {"seconds": round(timings[k], 2), "cpu_seconds": None, "peak_rss_mb": None, "counts": {}}
                      for k in ("read", "minhash", "index", "query_and_cluster") if k in timings}
        res.quality.update(scores(load_gold(clusters), gold))
    finally:
        if not keep:
            clusters.unlink(missing_ok=True)
    return res


# ------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------


def fmt_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """Plain-text table. ``align``: one letter a column, "l" or "r" (default: first column left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def _f(x, spec: str):
    return None if x is None else format(x, spec)


def comparison_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        q = r.quality
        rows.append([r.pipeline, f"{r.stories:,}", _f(r.wall_s, ".1f"), _f(r.stories_per_s, ",.0f"),
                     _f(r.peak_rss_mb, ",.0f"), _f(r.cpu_s, ".1f"), _f(q.get("f1"), ".4f"),
                     _f(q.get("precision"), ".4f"), _f(q.get("recall"), ".4f"), _f(r.other_cores, ".2f"),
                     r.loadavg_before, "ok" if r.ok else "FAILED"])
    return fmt_table(["pipeline", "stories", "wall s", "stories/s", "peak RSS MB", "CPU s", "F1", "precision",
                      "recall", "other cores", "loadavg before", "status"], rows)


def stages_table(r: Result) -> str:
    total = r.internal_s or sum(s["seconds"] for s in r.stages.values()) or 1.0
    rows = []
    for name, s in r.stages.items():
        shown = list(s["counts"].items())[:5]
        counts = " ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v:g}" for k, v in shown)
        cpu = s.get("cpu_seconds")
        over = s["seconds"] + sum(r.stages[o]["seconds"] for o in s.get("cpu_include", []) if o in r.stages)
        rows.append([name, f"{s['seconds']:.2f}", f"{100 * s['seconds'] / total:.0f}%", _f(cpu, ".2f"),
                     _f(s.get("system_seconds"), ".2f"), _f(cpu / over if cpu is not None and over > 0.05 else None, ".1f"),
                     _f(s["peak_rss_mb"], ",.0f"), counts])
    table = fmt_table(["stage", "seconds", "share", "CPU s", "sys s", "cores", "peak RSS MB", "counts"], rows,
                      align="lrrrrrrl")
    staged = sum(s["seconds"] for s in r.stages.values())
    notes = f"sum of stages {staged:.2f} s"
    if r.internal_s is not None:
        notes += f"; seconds_total {r.internal_s:.2f} s; wall {r.wall_s:.2f} s " \
                 f"(process start, imports and exit: {r.wall_s - r.internal_s:.2f} s)"
    if any(s.get("cpu_seconds") is not None for s in r.stages.values()):
        notes += "\nCPU s: the process's CPU time in the stage (every thread), of which sys s in the kernel; cores: " \
                 "CPU s / seconds. Clean and fingerprint run at once: clean's CPU s covers both, and its cores are " \
                 "over both stages' seconds."
    return table + "\n" + notes


def scaling_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        rows.append([f"{r.stories:,}", _f(r.batch_mb, ",.0f"), _f(r.wall_s, ".1f"), _f(r.stories_per_s, ",.0f"),
                     _f(r.peak_rss_mb, ",.0f"), _f(r.cpu_s, ".1f"), _f(r.quality.get("f1"), ".4f"),
                     _f(r.other_cores, ".2f"), r.loadavg_before, "ok" if r.ok else "FAILED"])
    return fmt_table(["stories", "batch MB", "wall s", "stories/s", "peak RSS MB", "CPU s", "F1", "other cores",
                      "loadavg before", "status"], rows, align="r" * 10)


def stage_scaling_table(results: list[Result]) -> str:
    """Stage seconds (rows) by batch size (columns)."""
    names: list[str] = []
    for r in results:
        names += [s for s in r.stages if s not in names]
    rows = [[name] + [_f(r.stages[name]["seconds"], ".2f") if name in r.stages else None for r in results]
            for name in names]
    rows.append(["wall"] + [f"{r.wall_s:.2f}" for r in results])
    return fmt_table(["stage seconds"] + [f"{r.stories:,}" for r in results], rows)


# ------------------------------------------------------------------------------------------------
# Provenance
# ------------------------------------------------------------------------------------------------


def machine() -> dict:
    info: dict = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def code_version() -> dict:
    """The git commit (read-only ``rev-parse``) and a hash of the package source and the baseline
    script as they are on disk, since the working tree can differ from the commit."""
    commit = None
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    h = hashlib.sha256()
    for p in sorted((ROOT / "dedup").rglob("*.py")) + [BASELINE_SCRIPT]:
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes())
    return {"commit": commit, "source_sha256": h.hexdigest()[:12]}


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes wants comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("--sizes wants positive integers")
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/speed.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="stories in the batch (default: %(default)s)")
    ap.add_argument("--sizes", type=parse_sizes, help="comma-separated sizes: dedup alone at each (scaling table)")
    ap.add_argument("--baseline", action="store_true", help="also time the plain datasketch pipeline (with --n)")
    ap.add_argument("--rensa", action="store_true", help="also time the rensa-based pipeline (with --n; the "
                    "bench extra: rensa)")
    ap.add_argument("--chrome", action="store_true", help="the batch with outlet chrome (default: clean bodies)")
    ap.add_argument("--corpus", type=Path, help="a ready corpus folder, or a cache folder of n<N>-seed<S>/ corpora")
    ap.add_argument("--keep", type=Path, help="keep generated corpora, outputs and logs in this folder")
    ap.add_argument("--tmp", type=Path, help="parent of the temporary work folder (default: the system's)")
    ap.add_argument("--workers", type=int, default=2, help="dedup's run.workers (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="corpus builder seed (default: %(default)s)")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Reuters-21578 folder for the builder")
    ap.add_argument("--no-warmup", action="store_true", help="time dedup cold (no warm-up run to load numba's cache)")
    ap.add_argument("--repeat", type=int, default=1, help="time each pipeline this many times and report the "
                    "fastest run, the one least slowed by other work (default: %(default)s)")
    ap.add_argument("--wait-quiet", type=float, metavar="CORES",
                    help="before each timed run, wait until other processes use fewer than CORES cores")
    ap.add_argument("--max-wait", type=float, default=900, help="give up waiting after this many seconds, "
                    "then run anyway (default: %(default)s)")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    args = ap.parse_args(argv)
    if args.sizes and (args.baseline or args.rensa):
        ap.error("--baseline and --rensa compare at one size (--n); --sizes runs dedup alone")
    if args.n < 1 or args.repeat < 1:
        ap.error("--n and --repeat must be positive")
    sizes = args.sizes or [args.n]
    quiet = (args.wait_quiet, args.max_wait)

    if args.keep:
        workdir = args.keep.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        if args.tmp:
            args.tmp.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="dedup-speed-", dir=args.tmp))
    cache = args.corpus.resolve() if args.corpus else None

    version, mach = code_version(), machine()
    free_gb = shutil.disk_usage(workdir).free / 1e9
    print(f"dedup speed benchmark: commit {version['commit']} (source {version['source_sha256']}), "
          f"{mach.get('nproc')} cores, {mach.get('mem_total_gb')} GB RAM, {free_gb:.0f} GB free in {workdir}, "
          f"loadavg {read_loadavg()}", flush=True)

    results: list[Result] = []  # per size and pipeline, the best of --repeat runs
    all_runs: list[Result] = []
    corpora: list[dict] = []
    round_ratios: dict[str, list[float]] = {"datasketch": [], "rensa": []}  # per round: its wall ratio
    try:
        for n in sizes:
            corpus = get_corpus(n, args.seed, cache=cache, workdir=workdir, keep=bool(args.keep), source=args.source,
                                log_dir=workdir)
            corpora.append({"dir": str(corpus.dir), "stories": corpus.stories, "build_s": corpus.build_s,
                            "kept": not corpus.temporary})
            try:
                gold = load_gold(corpus.gold)
                # Rounds: each pipeline once per round, one after the other, so that a round's ratios
                # compare runs taken minutes apart (this machine's speed drifts by 25% over a benchmark).
                runs: dict[str, list[Result]] = {"dedup": [], "datasketch": [], "rensa": []}
                for i in range(args.repeat):
                    runs["dedup"].append(run_dedup(corpus, chrome=args.chrome, workers=args.workers, workdir=workdir,
                                                   keep=bool(args.keep), warmup=i == 0 and not args.no_warmup,
                                                   gold=gold, quiet=quiet))
                    if args.baseline:
                        runs["datasketch"].append(run_baseline(corpus, chrome=args.chrome, workdir=workdir,
                                                               keep=bool(args.keep), gold=gold, quiet=quiet))
                    if args.rensa:
                        runs["rensa"].append(run_baseline(corpus, chrome=args.chrome, workdir=workdir,
                                                          keep=bool(args.keep), gold=gold, quiet=quiet,
                                                          pipeline="rensa", script=RENSA_SCRIPT))
                    all_runs += [timed[-1] for timed in runs.values() if len(timed) == i + 1]  # in the order run
                for name, timed in runs.items():
                    if timed:
                        results.append(best_of(timed))
                    if name != "dedup":
                        round_ratios[name] += [b.wall_s / o.wall_s for o, b in zip(runs["dedup"], timed)
                                               if o.ok and b.ok]
            finally:
                if corpus.temporary:
                    remove(corpus.dir)
    finally:
        if not args.keep:
            remove(workdir)

    for r in all_runs:
        if r.error:
            print(f"\n{r.pipeline} at {r.stories:,} stories FAILED: {r.error}")
    variant = "with outlet chrome" if args.chrome else "chrome-free"
    seen = {(r.code.get("commit"), r.code.get("source_sha256")) for r in all_runs}
    if len(seen) > 1:
        print("\nnote: the code changed during this benchmark; runs were timed on "
              + ", ".join(f"commit {c} (source {h})" for c, h in sorted(seen, key=str)))
    best = f"; fastest of {args.repeat} runs each" if args.repeat > 1 else ""
    print(f"\nBatch: {variant} bodies; dedup --workers {args.workers}; commit {version['commit']}{best}; "
          f"loadavg now {read_loadavg()}")
    dedup_runs = [r for r in results if r.pipeline == "dedup"]
    ratio = None
    ratios = {}
    if args.baseline or args.rensa:
        print()
        print(comparison_table(results))
        ours = next((r for r in dedup_runs if r.ok), None)
        for name in [p for p, on in (("datasketch", args.baseline), ("rensa", args.rensa)) if on]:
            base = next((r for r in results if r.pipeline == name and r.ok), None)
            if base and ours:
                ratios[name] = base.wall_s / ours.wall_s
                line = f"speed ratio, {name} wall / dedup wall: {ratios[name]:.2f}x"
                if base.internal_s and ours.internal_s:
                    line += (f" (pipeline time alone, without process start and imports: "
                             f"{base.internal_s / ours.internal_s:.2f}x)")
                print(line)
                if len(round_ratios[name]) > 1:
                    per = round_ratios[name]
                    print(f"  per round (that round's {name} wall / that round's dedup wall): "
                          + ", ".join(f"{x:.2f}x" for x in per) + f"; median {statistics.median(per):.2f}x")
            if base:
                print(f"{name}'s own split: " + ", ".join(f"{k} {v['seconds']:.2f} s" for k, v in base.stages.items())
                      + (f" (total {base.internal_s:.2f} s)" if base.internal_s is not None else ""))
        ratio = ratios.get("datasketch")
    elif len(dedup_runs) > 1:
        print()
        print(scaling_table(dedup_runs))
        print()
        print(stage_scaling_table([r for r in dedup_runs if r.ok]))
    else:
        print()
        print(comparison_table(results))
    for r in dedup_runs:
        if r.ok:
            print(f"\ndedup stages at {r.stories:,} stories (from the manifest)")
            print(stages_table(r))
    print("\n'other cores': mean CPU cores busy with other processes during the run (from /proc/stat).")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"code": version, "machine": mach, "args": {k: (str(v) if isinstance(v, Path) else v)
                                                            for k, v in vars(args).items()},
               "run_date": RUN_DATE, "corpora": corpora, "results": [asdict(r) for r in results],
               "all_runs": [asdict(r) for r in all_runs],
               "speed_ratio": ratio, "speed_ratios": ratios, "round_ratios": round_ratios}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if all_runs and all(r.ok for r in all_runs) else 1


if __name__ == "__main__":
    sys.exit(main())
