"""Throughput and memory of the experiment runner.

1. Throughput: ``--runs`` (default 200) default runs (baseline scenario, 217 providers, 120
   months) through the full runner path (batching, worker, Parquet encoding, atomic store
   writes) on the serial executor, a 2-worker process pool and a Dask LocalCluster(2).
   Reports runs/s and parallel efficiency = (parallel rate / serial rate) / workers, both
   for the work phase alone and including the executor's start-up, and where the workers' wall
   time went: inside batches (of which each worker's first batch above the rate of its later
   ones), idle before the first, between and after the last batch (each batch carries when its
   worker began and finished it).
2. Memory: a ``--memory-runs`` (default 1000) run experiment on the 2-worker pool, sampling
   the resident memory (RSS) of the parent and of each worker after every batch, to show it
   does not grow with the number of runs (batches are streamed to disk).

Usage: ``python benchmarks/bench_runner.py [--runs 200] [--memory-runs 1000] [--repeat 3]``.
Executors are timed in interleaved rounds and each one's best round is shown (the round least
disturbed by other processes); the machine's load average is printed too: other processes on
a shared 2-core machine lower the measured efficiency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from analysis.executors import DaskExecutor, PoolExecutor, SerialExecutor
from analysis.plan import plan_from_scenarios
from analysis.runner import run_experiment
from analysis.scenario import load_scenario
from analysis.store import read_runs

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def plan(runs: int, seed: int = 1):  # type: ignore[no-untyped-def]
    scen = load_scenario(ROOT / "scenarios" / "baseline.toml")
    return plan_from_scenarios([scen], replicates=runs, master_seed=seed)


def once(name: str, make, runs: int, workdir: Path, seed: int) -> dict:  # type: ignore[no-untyped-def]
    """One timed experiment of ``runs`` default runs on the executor ``make()`` builds."""
    results: list = []  # the batches as they came back: CPU and wall-clock times in their worker

    t0 = time.perf_counter()
    ex = make()
    t1, wall1 = time.perf_counter(), time.time()
    c1 = time.process_time()
    out = workdir / f"{name}-{seed}"
    try:
        run_experiment(plan(runs, seed=seed), out, executor=ex, progress=False, on_batch=results.append)
    finally:
        t2, wall2 = time.perf_counter(), time.time()
        parent_cpu = time.process_time() - c1
        ex.close()
    batch_cpu = sum(r.cpu_seconds for r in results)
    stored = read_runs(out)
    shutil.rmtree(out, ignore_errors=True)
    run_cpu = float(stored["cpu_seconds"].sum())
    # batching, conversion, Parquet encoding (workers) + receiving and writing (parent), vs the runs' own CPU
    extra = batch_cpu - run_cpu + (parent_cpu if name != "serial" else 0.0)
    return {
        "workers": ex.workers,
        "startup": t1 - t0,
        "work": t2 - t1,
        "total": t2 - t0,
        "in_runs": float(stored["seconds"].sum()) / ((t2 - t1) * ex.workers),
        "overhead": extra / run_cpu,
        "losses": losses(results, wall1, wall2),
    }


def losses(results: list, start: float, end: float) -> dict[str, float]:
    """Where the workers' wall time of the work phase went, as shares of ``workers x (end - start)``.

    Each batch carries when its worker began and finished it (``time.time()`` there). Per worker:
    ``batches`` is the time inside batches (runs, conversion, encoding); ``first extra`` the part of
    its first batch above the CPU per run of its later ones (a fresh process faults its heap in
    and starts with cold caches); ``idle start`` before its first batch; ``idle between`` waiting for
    the next batch; ``idle end`` after its last batch while another worker still ran.
    """
    by_worker: dict[str, list] = {}
    for r in results:
        if r.started:  # (a batch whose task failed never ran in a worker)
            by_worker.setdefault(r.runs[0].worker, []).append(r)
    span = (end - start) * max(len(by_worker), 1)
    out = dict.fromkeys(("batches", "first extra", "idle start", "idle between", "idle end"), 0.0)
    for batches in by_worker.values():
        batches.sort(key=lambda r: r.started)
        out["batches"] += sum(r.finished - r.started for r in batches)
        out["idle start"] += batches[0].started - start
        out["idle between"] += sum(b.started - a.finished for a, b in zip(batches, batches[1:], strict=False))
        out["idle end"] += end - batches[-1].finished
        if len(batches) > 1:
            later = statistics.median(r.cpu_seconds / len(r.runs) for r in batches[1:])
            out["first extra"] += max(0.0, batches[0].cpu_seconds - later * len(batches[0].runs))
    return {k: v / span for k, v in out.items()}


def throughput(runs: int, repeat: int, workdir: Path) -> None:
    """Time the executors in interleaved rounds and keep each one's best round (least disturbed)."""
    run_experiment(plan(4), workdir / "warm", executor=SerialExecutor(), progress=False)  # imports, caches
    shutil.rmtree(workdir / "warm")
    makers = {
        "serial": SerialExecutor,
        "pool (2 workers)": lambda: PoolExecutor(2),
        "dask LocalCluster(2)": lambda: DaskExecutor("local", 2),
    }
    results: dict[str, list[dict]] = {name: [] for name in makers}
    for i in range(repeat):
        for name, make in makers.items():
            results[name].append(once(name, make, runs, workdir, seed=100 + i))
    best = {name: min(rs, key=lambda r: r["work"]) for name, rs in results.items()}
    serial = best["serial"]
    print(f"\nThroughput: {runs} default runs (217 providers x 120 months), best of {repeat} interleaved rounds")
    head = (
        f"{'executor':<22}{'start-up s':>11}{'work s':>9}{'runs/s':>9}{'efficiency':>12}{'in runs':>9}"
        f"{'overhead':>10}{'total s':>10}{'runs/s':>9}{'efficiency':>12}"
    )
    print(f"{'':<33}{'-- work phase --':^49}{'-- including start-up --':^31}")
    print(head)
    print("-" * len(head))
    for name, r in best.items():
        rate_w, rate_t = runs / r["work"], runs / r["total"]
        eff_w = (rate_w / (runs / serial["work"])) / r["workers"]
        eff_t = (rate_t / (runs / serial["total"])) / r["workers"]
        print(
            f"{name:<22}{r['startup']:>11.2f}{r['work']:>9.2f}{rate_w:>9.2f}{eff_w:>12.0%}{r['in_runs']:>9.0%}"
            f"{r['overhead']:>10.1%}{r['total']:>10.2f}{rate_t:>9.2f}{eff_t:>12.0%}"
        )
    print("\nwhere the workers' wall time went (work phase, best round; shares of workers x work s):")
    for name, r in best.items():
        parts = ", ".join(f"{k} {v:.1%}" for k, v in r["losses"].items())
        print(f"   {name:<22}{parts}")
    print("   (first extra is part of batches: CPU of each worker's first batch above its later batches' rate)")
    if repeat > 1:
        print(
            "all rounds, work s: "
            + "; ".join(f"{n} " + ", ".join(f"{r['work']:.1f}" for r in rs) for n, rs in results.items())
        )
        for name, rs in results.items():  # each round's executor against the serial run just before it
            if name == "serial":
                continue
            paired = [s["work"] / (r["work"] * r["workers"]) for s, r in zip(results["serial"], rs, strict=True)]
            print(
                f"efficiency, work phase, paired by round: {name} "
                + ", ".join(f"{e:.0%}" for e in paired)
                + f" (median {statistics.median(paired):.0%})"
            )
    print(
        "efficiency = (runs/s of the executor / runs/s serial) / workers; target >= 85% on 2 workers.\n"
        "in runs = share of the workers' wall time spent inside runs (the rest is batching, encoding,\n"
        "transfer, scheduling and idle tail); per-run times include any slow-down from sharing the CPUs.\n"
        "overhead = CPU spent outside the runs (batching, conversion, Parquet encoding in workers; receiving and\n"
        "writing in the parent for pool/dask) as a share of the runs' own CPU: unaffected by other load."
    )


def memory(runs: int, workdir: Path) -> None:
    me = psutil.Process()
    samples: list[tuple[int, float, float, float]] = []
    done = 0
    ex = PoolExecutor(2)

    def sample(result) -> None:  # type: ignore[no-untyped-def]
        nonlocal done
        done += len(result.runs)
        kids = me.children(recursive=True)
        rss = [k.memory_info().rss / MB for k in kids if k.is_running()]
        samples.append((done, me.memory_info().rss / MB, max(rss, default=0.0), sum(rss)))

    out = workdir / "memory"
    t0 = time.perf_counter()
    try:
        run_experiment(plan(runs, seed=7), out, executor=ex, progress=False, on_batch=sample)
    finally:
        ex.close()
    seconds = time.perf_counter() - t0
    stored = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / MB
    print(f"\nMemory: {runs}-run experiment on 2 workers ({seconds:.0f} s; {stored:.1f} MB stored on disk)")
    head = f"{'runs done':>10}{'parent RSS MB':>15}{'largest worker MB':>19}{'all workers MB':>16}"
    print(head)
    print("-" * len(head))
    marks = sorted({max(1, round(runs * q)) for q in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)})
    shown = list(dict.fromkeys(next(x for x in samples if x[0] >= m) for m in marks))
    for s in shown:
        print(f"{s[0]:>10}{s[1]:>15.1f}{s[2]:>19.1f}{s[3]:>16.1f}")
    peak_parent = max(s[1] for s in samples)
    peak_worker = max(s[2] for s in samples)
    early = next(x for x in samples if x[0] >= runs * 0.1)
    print(
        f"peak parent RSS {peak_parent:.1f} MB, peak worker RSS {peak_worker:.1f} MB; "
        f"growth from 10% to 100% of runs: parent {samples[-1][1] - early[1]:+.1f} MB, "
        f"largest worker {samples[-1][2] - early[2]:+.1f} MB"
    )
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--memory-runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds; the best of each is shown")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    print(f"CPUs: {os.cpu_count()}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench_runner_") as tmp:
        throughput(args.runs, args.repeat, Path(tmp))
        if not args.skip_memory:
            memory(args.memory_runs, Path(tmp))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
