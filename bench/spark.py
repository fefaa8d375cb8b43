"""Spark benchmark: the Spark engine in local mode next to the local engine, on the same batch,
and an estimate of a 100-million-story night on a cluster from the measured per-task costs.

    .venv/bin/python bench/spark.py --n 200000                       # both engines, same batch
    .venv/bin/python bench/spark.py --n 200000 --executors 8,32,128   # other cluster sizes

Each engine runs as a child process (``dedup run --engine local|spark``), timed from outside
(wall, peak RSS of the driver process, CPU), on the builder's batch (``--chrome`` for the batch
with outlet chrome; default chrome-free bodies, as bench/speed.py). The Spark child also reads
its own application's task metrics from Spark's REST API (the local UI on 127.0.0.1) before it
exits: for every job, grouped by the engine stage that launched it (``dedup <stage>`` job
descriptions), the tasks, the summed executor run time and CPU time, and the shuffle bytes.

The estimate. For each engine stage, executor run time per story (measured here) times the
target stories, spread over ``executors x cores`` task slots, plus the shuffle bytes per story
over each executor's network share (``--net-mbps``), plus the stage's fixed cost (its wall time
here not explained by its task time: job scheduling, driver work, the rounds of the canonical
choice), which is taken as not growing with the batch. It assumes per-story task costs stay
flat with batch size (cleaning and fingerprinting are per story; candidates and verification
are sorts and joins, slightly worse than linear) and that the work spreads evenly (no skewed
bucket). It is an estimate, printed with its assumptions, not a measurement of a cluster.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

RUN_DATE = "2026-11-26"
STAGES = ["read", "state", "clean+fingerprint", "candidates", "cluster", "write"]


# -- the child: one Spark run, then its task metrics -------------------------------------------

def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:  # the driver's own UI on this machine
        return json.loads(r.read().decode())


def child(args) -> int:
    from dedup import load_config, run

    over = {"run.engine": "spark", "spark.master": args.master, "spark.partitions": args.partitions,
            "spark.conf": {"spark.ui.enabled": "true", "spark.driver.memory": args.driver_memory}}
    t0 = time.perf_counter()
    r = run(load_config(input=args.input, output=args.output, run_date=RUN_DATE, overrides=over))
    job_s = time.perf_counter() - t0
    from pyspark.sql import SparkSession

    sc = SparkSession.getActiveSession().sparkContext
    base = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"
    jobs, stages = _get(base + "/jobs"), _get(base + "/stages")
    by_stage = {s["stageId"]: s for s in stages}
    per: dict[str, dict] = {}
    for j in jobs:
        name = (j.get("description") or "other").removeprefix("dedup ")
        e = per.setdefault(name, {"jobs": 0, "tasks": 0, "executor_run_s": 0.0, "executor_cpu_s": 0.0,
                                  "shuffle_read_bytes": 0, "shuffle_write_bytes": 0})
        e["jobs"] += 1
        for sid in j.get("stageIds", []):
            s = by_stage.get(sid)
            if s is None or s.get("status") == "SKIPPED":
                continue
            e["tasks"] += s.get("numCompleteTasks", 0)
            e["executor_run_s"] += s.get("executorRunTime", 0) / 1000
            e["executor_cpu_s"] += s.get("executorCpuTime", 0) / 1e9
            e["shuffle_read_bytes"] += s.get("shuffleReadBytes", 0)
            e["shuffle_write_bytes"] += s.get("shuffleWriteBytes", 0)
    Path(args.metrics).write_text(json.dumps({
        "job_seconds": job_s, "manifest_stages": r.manifest["stages"], "counts": r.counts,
        "spark": r.manifest.get("spark"), "per_stage": per, "cores": sc.defaultParallelism}, indent=2))
    return 0


# -- the parent --------------------------------------------------------------------------------

def estimate(metrics: dict, stories: int, target: int, executors: int, cores: int, net_mbps: float) -> dict:
    """Seconds per engine stage for ``target`` stories on ``executors`` x ``cores`` (see module doc)."""
    local_slots = metrics["cores"]
    out = {}
    man = metrics["manifest_stages"]
    for name, e in metrics["per_stage"].items():
        if name == "other":
            continue
        if name == "clean+fingerprint":
            wall = man["clean"]["seconds"] + man["fingerprint"]["seconds"]
        elif name == "candidates":
            wall = man["candidates"]["seconds"] + man.get("verify", {}).get("seconds", 0.0)
        else:
            wall = man.get(name, {}).get("seconds", 0.0)
        fixed = max(0.0, wall - e["executor_run_s"] / local_slots)
        compute = e["executor_run_s"] / stories * target / (executors * cores)
        shuffle_bytes = (e["shuffle_read_bytes"] + e["shuffle_write_bytes"]) / stories * target
        network = shuffle_bytes / (executors * net_mbps * 1e6)
        out[name] = {"fixed_s": fixed, "compute_s": compute, "shuffle_gb": shuffle_bytes / 1e9,
                     "network_s": network, "total_s": fixed + compute + network}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="stories in the batch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chrome", action="store_true", help="the batch with outlet chrome")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus cache folder (as bench/speed.py)")
    ap.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "corpora" / "reuters21578")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=0, help="spark.partitions (0: 2 x default parallelism)")
    ap.add_argument("--driver-memory", default="8g", help="local mode: the executors live in the driver JVM")
    ap.add_argument("--no-local", action="store_true", help="skip the local engine run")
    ap.add_argument("--target", type=int, default=100_000_000, help="stories for the cluster estimate")
    ap.add_argument("--executors", default="8,32,128,512", help="executor counts for the estimate")
    ap.add_argument("--cores", type=int, default=4, help="cores per executor for the estimate")
    ap.add_argument("--net-mbps", type=float, default=100.0, help="shuffle MB/s per executor for the estimate")
    ap.add_argument("--json", type=Path, default=None)
    # child mode (internal)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    ap.add_argument("--metrics", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    import speed  # bench/speed.py: corpus cache, child timing, scoring

    work = Path(tempfile.mkdtemp(prefix="dedup-spark-bench-"))
    corpus = speed.get_corpus(args.n, args.seed, cache=args.corpus, workdir=work, keep=True, source=args.source,
                              log_dir=work)
    batch = corpus.batch(args.chrome)
    gold = speed.load_gold(corpus.gold)
    results = {}
    if not args.no_local:
        out = work / "local"
        m = speed.run_measured(speed.dedup_command() + ["run", "-i", str(batch), "-o", str(out), "--run-date",
                                                        RUN_DATE, "-q"], stdout=work / "local.out",
                               stderr=work / "local.log")
        if m.returncode:
            raise SystemExit(f"local engine failed:\n{speed.log_tail(work / 'local.log')}")
        results["local"] = {"wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb, "cpu_s": m.cpu_s,
                            "other_cores": m.other_cores, **_quality(out, gold, speed)}
    out = work / "spark"
    metrics = work / "spark-metrics.json"
    m = speed.run_measured([sys.executable, __file__, "--child", "--input", str(batch), "--output", str(out),
                            "--metrics", str(metrics), "--master", args.master, "--partitions", str(args.partitions),
                            "--driver-memory", args.driver_memory],
                           stdout=work / "spark.out", stderr=work / "spark.log")
    if m.returncode:
        raise SystemExit(f"spark engine failed:\n{speed.log_tail(work / 'spark.log', 40)}")
    met = json.loads(metrics.read_text())
    results["spark"] = {"wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb, "cpu_s": m.cpu_s,
                        "other_cores": m.other_cores, "job_s": met["job_seconds"], **_quality(out, gold, speed)}
    if "local" in results:
        same = _same_clusters(work / "local", out)
        results["spark"]["same_clusters_as_local"] = same

    print(f"\n{args.n:,} stories ({'with chrome' if args.chrome else 'chrome-free'}), master {args.master}, "
          f"{met['cores']} task slots, {met['spark']['partitions']} partitions\n")
    print("| engine | wall s | stories/s | driver peak RSS MB | F1 | same clusters as local |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['wall_s']:.1f} | {args.n / r['wall_s']:,.0f} | {r['peak_rss_mb']:,.0f} | {r['f1']:.4f} | "
              f"{r.get('same_clusters_as_local', '')} |")
    print("\nSpark tasks per engine stage (summed over tasks):\n")
    print("| stage | jobs | tasks | executor run s | per 1M stories s | executor CPU s | shuffle MB |")
    print("|---|---|---|---|---|---|---|")
    for name in STAGES + [k for k in met["per_stage"] if k not in STAGES]:
        e = met["per_stage"].get(name)
        if not e:
            continue
        print(f"| {name} | {e['jobs']} | {e['tasks']} | {e['executor_run_s']:.1f} | "
              f"{e['executor_run_s'] / args.n * 1e6:.1f} | {e['executor_cpu_s']:.1f} | "
              f"{(e['shuffle_read_bytes'] + e['shuffle_write_bytes']) / 1e6:,.0f} |")
    ests = {}
    print(f"\nEstimate for {args.target:,} stories, {args.cores} cores per executor, {args.net_mbps:.0f} MB/s "
          f"shuffle per executor (see the module docstring for what it assumes):\n")
    print("| executors | " + " | ".join(f"{s} s" for s in STAGES if s in met["per_stage"]) + " | total min |")
    print("|---|" + "---|" * (len([s for s in STAGES if s in met["per_stage"]]) + 1))
    for ex in [int(x) for x in args.executors.split(",")]:
        est = estimate(met, args.n, args.target, ex, args.cores, args.net_mbps)
        ests[ex] = est
        total = sum(v["total_s"] for v in est.values())
        print(f"| {ex} | " + " | ".join(f"{est[s]['total_s']:,.0f}" for s in STAGES if s in est) +
              f" | {total / 60:,.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "chrome": args.chrome, "results": results, "metrics": met,
                                         "estimates": ests}, indent=2))
    print(f"\noutputs and logs in {work}")
    return 0


def _quality(out: Path, gold, speed) -> dict:
    import pandas as pd

    pred = pd.read_parquet(out / "stories", columns=["story_id", "cluster_id"])
    return speed.scores(pred, gold)


def _same_clusters(a: Path, b: Path) -> bool:
    import pandas as pd

    x = pd.read_parquet(a / "stories", columns=["story_id", "cluster_id", "is_canonical"]).sort_values("story_id")
    y = pd.read_parquet(b / "stories", columns=["story_id", "cluster_id", "is_canonical"]).sort_values("story_id")
    return bool((x.to_numpy() == y.to_numpy()).all())


if __name__ == "__main__":
    sys.exit(main())
